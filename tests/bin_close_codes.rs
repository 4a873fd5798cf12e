//! Every way the shipped `ws-server` ends a connection because of what the peer did sends a
//! close frame with the right code before TCP closes, in every app: protocol errors (1002),
//! invalid UTF-8 (1007), a message over the limit (1009), the idle timeout and keepalive
//! (1001).

mod bin_common;

use std::io::Write;
use std::net::TcpStream;

use bin_common::*;
use ws6455::client::ClientBuilder;
use ws6455::socket::WebSocket;
use ws6455::{CloseCode, Config, DeflateConfig, Message};

/// A connection without permessage-deflate (so that RSV1 is a protocol error).
fn connect(server: &Server) -> WebSocket<TcpStream> {
    connect_with(server, DeflateConfig::off())
}

fn connect_with(server: &Server, deflate: DeflateConfig) -> WebSocket<TcpStream> {
    let (ws, _) = ClientBuilder::new(format!("{}/?name=t", server.url()))
        .config(Config::default().deflate(deflate))
        .connect()
        .expect("connect");
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    ws
}

/// Reads until the server's close frame and returns its code (panics if TCP ends first).
fn close_code(ws: &mut WebSocket<TcpStream>) -> CloseCode {
    loop {
        match ws.read() {
            Ok(Message::Close(Some(f))) => return f.code,
            Ok(Message::Close(None)) => panic!("close without a code"),
            Ok(_) => {}
            Err(e) => panic!("no close frame before the end: {e}"),
        }
    }
}

/// Writes raw bytes past the library's sender (to send what it never would).
fn raw(ws: &mut WebSocket<TcpStream>, bytes: &[u8]) {
    ws.get_mut().write_all(bytes).unwrap();
}

const APPS: [&str; 3] = ["chat", "echo", "room"];

#[test]
fn protocol_errors_close_with_1002() {
    for app in APPS {
        let server = Server::start(&["--app", app]);
        for bad in [
            &[0x81, 0x02, b'h', b'i'][..], // unmasked client frame
            &[0xC1, 0x80, 0, 0, 0, 0],     // RSV1 without an extension
            &[0x83, 0x80, 0, 0, 0, 0],     // reserved opcode
            &[0x09, 0x80, 0, 0, 0, 0],     // fragmented ping
            &[0x80, 0x80, 0, 0, 0, 0],     // continuation with no message
        ] {
            let mut ws = connect(&server);
            raw(&mut ws, bad);
            assert_eq!(close_code(&mut ws), CloseCode::Protocol, "{app} {bad:x?}");
        }
    }
}

#[test]
fn rsv1_where_compression_forbids_it_closes_with_1002() {
    // With permessage-deflate negotiated (the binaries' default), RSV1 is allowed on the first
    // frame of a data message only (RFC 7692 §6.1).
    for app in APPS {
        let server = Server::start(&["--app", app]);
        for bad in [
            &[0xC9, 0x80, 0, 0, 0, 0][..],                     // RSV1 on a ping
            &[0x41, 0x80, 0, 0, 0, 0, 0xC0, 0x80, 0, 0, 0, 0], // RSV1 on a continuation
        ] {
            let mut ws = connect_with(&server, DeflateConfig::default());
            assert!(ws.deflate().is_some(), "{app}: negotiated");
            raw(&mut ws, bad);
            assert_eq!(close_code(&mut ws), CloseCode::Protocol, "{app} {bad:x?}");
        }
    }
}

#[test]
fn invalid_utf8_closes_with_1007() {
    for app in APPS {
        let server = Server::start(&["--app", app]);
        let mut ws = connect(&server);
        raw(&mut ws, &[0x81, 0x81, 0, 0, 0, 0, 0xFF]);
        assert_eq!(close_code(&mut ws), CloseCode::Invalid, "{app}");
    }
}

#[test]
fn a_message_over_the_limit_closes_with_1009() {
    for app in APPS {
        let server = Server::start(&["--app", app, "--max-message-size", "1K"]);
        let mut ws = connect(&server);
        ws.send(Message::text("x".repeat(2048))).unwrap();
        assert_eq!(close_code(&mut ws), CloseCode::Size, "{app}");
    }
}

#[test]
fn the_idle_timeout_closes_with_1001() {
    for app in APPS {
        let server = Server::start(&["--app", app, "--idle-timeout", "1"]);
        let mut ws = connect(&server);
        assert_eq!(close_code(&mut ws), CloseCode::Away, "{app}");
    }
}
