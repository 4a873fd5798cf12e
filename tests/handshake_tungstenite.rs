//! Interop of the sans-IO handshake with an independent implementation (tungstenite), over
//! real loopback sockets, including bytes that arrive right after the head.

// tungstenite's callback type fixes the (large) error type.
#![allow(clippy::result_large_err)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::Role;
use tungstenite::Message as TMessage;
use ws6455::handshake::{
    parse_url, server_handshake, Accept, ClientHandshake, ClientOutcome, Decision, HandshakeError,
    Request, Response, ServerHandshake,
};
use ws6455::http::Limits;
use ws6455::Error;

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn timeouts(s: &TcpStream) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
}

#[test]
fn tungstenite_client_against_our_server() {
    let (listener, port) = listener();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        timeouts(&stream);
        let mut hs = ServerHandshake::new(Limits::default());
        let mut buf = [0u8; 512];
        let incoming = loop {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "eof during handshake");
            if let Some(incoming) = hs.feed(&buf[..n]).unwrap() {
                break incoming;
            }
        };
        assert!(incoming.request.is_websocket_upgrade());
        assert_eq!(incoming.request.path(), "/chat");
        assert_eq!(
            incoming.request.query_param("token").as_deref(),
            Some("a b")
        );
        let hook = |r: &Request| {
            assert_eq!(r.protocols(), ["superchat", "chat"]);
            Decision::Accept(Accept::new().subprotocol("chat"))
        };
        let out = server_handshake(&incoming.request, &hook);
        assert!(out.accepted);
        stream.write_all(&out.response.to_bytes()).unwrap();
        // Hand the stream, and any bytes read past the head, to a frame layer.
        let mut ws = tungstenite::WebSocket::from_partially_read(
            stream,
            incoming.leftover,
            Role::Server,
            None,
        );
        let msg = ws.read().unwrap();
        assert_eq!(msg, TMessage::text("hello"));
        ws.send(TMessage::text("hi back")).unwrap();
        out.subprotocol
    });

    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    timeouts(&stream);
    let mut req = format!("ws://127.0.0.1:{port}/chat?token=a+b")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "superchat, chat".parse().unwrap());
    let (mut ws, resp) = tungstenite::client(req, stream).unwrap();
    assert_eq!(
        resp.headers().get("sec-websocket-protocol").unwrap(),
        "chat"
    );
    ws.send(TMessage::text("hello")).unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::text("hi back"));
    assert_eq!(server.join().unwrap().as_deref(), Some("chat"));
}

/// Runs our client handshake over `stream`; on success returns the outcome and the stream.
fn our_client(
    port: u16,
    protocols: &[String],
    read_size: usize,
) -> (Result<ClientOutcome, Error>, TcpStream) {
    let url = parse_url(&format!("ws://127.0.0.1:{port}/feed")).unwrap();
    let mut hs = ClientHandshake::new(&url, protocols, &[], Limits::default()).unwrap();
    let mut stream = TcpStream::connect((url.host.as_str(), url.port)).unwrap();
    timeouts(&stream);
    stream.write_all(hs.request()).unwrap();
    let mut buf = vec![0u8; read_size];
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            return (Err(hs.finish()), stream);
        }
        match hs.feed(&buf[..n]) {
            Ok(None) => {}
            Ok(Some(outcome)) => return (Ok(outcome), stream),
            Err(e) => return (Err(e), stream),
        }
    }
}

#[test]
fn our_client_against_tungstenite_server_with_eager_frame() {
    let (listener, port) = listener();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        timeouts(&stream);
        let cb = |req: &tungstenite::handshake::server::Request,
                  mut resp: tungstenite::handshake::server::Response| {
            assert_eq!(req.uri().path(), "/feed");
            resp.headers_mut()
                .insert("Sec-WebSocket-Protocol", "chat".parse().unwrap());
            Ok(resp)
        };
        let mut ws = tungstenite::accept_hdr(stream, cb).unwrap();
        // Sent at once after the 101: may arrive in the same read as the head.
        ws.send(TMessage::text("welcome")).unwrap();
        assert_eq!(ws.read().unwrap(), TMessage::text("thanks"));
    });
    // Small reads: the head arrives in pieces.
    let (outcome, stream) = our_client(port, &["chat".into()], 7);
    let outcome = outcome.unwrap();
    assert_eq!(outcome.subprotocol.as_deref(), Some("chat"));
    assert_eq!(outcome.response.status, 101);
    let mut ws =
        tungstenite::WebSocket::from_partially_read(stream, outcome.leftover, Role::Client, None);
    assert_eq!(ws.read().unwrap(), TMessage::text("welcome"));
    ws.send(TMessage::text("thanks")).unwrap();
    server.join().unwrap();
}

#[test]
fn our_client_gets_the_refusal_body() {
    let (listener, port) = listener();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        timeouts(&stream);
        let cb = |_: &tungstenite::handshake::server::Request,
                  _: tungstenite::handshake::server::Response| {
            let mut e = tungstenite::handshake::server::ErrorResponse::new(Some(
                "missing token".to_string(),
            ));
            *e.status_mut() = tungstenite::http::StatusCode::FORBIDDEN;
            Err(e)
        };
        assert!(tungstenite::accept_hdr(stream, cb).is_err());
    });
    // tungstenite sends no Content-Length: the body is what arrives with the head.
    let (outcome, _stream) = our_client(port, &[], 4096);
    match outcome {
        Err(Error::Handshake(HandshakeError::Rejected { status, body, .. })) => {
            assert_eq!(status, 403);
            assert_eq!(body, b"missing token");
        }
        other => panic!("{other:?}"),
    }
    server.join().unwrap();
}

#[test]
fn our_server_refuses_tungstenite_with_a_readable_response() {
    let (listener, port) = listener();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        timeouts(&stream);
        let mut hs = ServerHandshake::new(Limits::default());
        let mut buf = [0u8; 1024];
        let incoming = loop {
            let n = stream.read(&mut buf).unwrap();
            if let Some(i) = hs.feed(&buf[..n]).unwrap() {
                break i;
            }
        };
        let hook = |_: &Request| Decision::Reject(Response::text(403, "go away"));
        let out = server_handshake(&incoming.request, &hook);
        stream.write_all(&out.response.to_bytes()).unwrap();
    });
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    timeouts(&stream);
    match tungstenite::client(format!("ws://127.0.0.1:{port}/"), stream) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
            assert_eq!(resp.status().as_u16(), 403);
            assert_eq!(resp.body().as_deref(), Some(&b"go away"[..]));
        }
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("accepted"),
    }
    server.join().unwrap();
}
