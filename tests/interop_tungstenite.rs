//! Interop with a peer written by others: our client against a `tungstenite` server, and our
//! server against a `tungstenite` client, over loopback, for every boundary message size.

use std::net::TcpListener;
use std::thread;

use tungstenite::Message as TMessage;
use ws6455::server::Server;
use ws6455::{CloseCode, Message};

const SIZES: [usize; 9] = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 16 << 20];

fn payload(size: usize) -> String {
    (0..size).map(|i| (b'a' + (i % 26) as u8) as char).collect()
}

#[test]
fn our_client_against_tungstenite_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept_with_config(
            stream,
            Some(
                tungstenite::protocol::WebSocketConfig::default()
                    .max_message_size(Some(64 << 20))
                    .max_frame_size(Some(64 << 20)),
            ),
        )
        .unwrap();
        loop {
            match ws.read() {
                Ok(m @ (TMessage::Text(_) | TMessage::Binary(_))) => ws.send(m).unwrap(),
                Ok(TMessage::Close(_)) => {
                    let _ = ws.flush();
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let (mut ws, _) = ws6455::client::connect(&format!("ws://{addr}/")).unwrap();
    for size in SIZES {
        let text = payload(size);
        ws.send_text(&text).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text(text), "text {size}");
        let bin: Vec<u8> = (0..size).map(|i| i as u8).collect();
        ws.send_binary(&bin).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Binary(bin), "binary {size}");
    }
    ws.ping(b"p").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Pong(b"p".to_vec()));
    ws.close(CloseCode::Normal, "bye").unwrap();
    match ws.read().unwrap() {
        Message::Close(Some(f)) => assert_eq!(f.code, CloseCode::Normal),
        other => panic!("expected close, got {other:?}"),
    }
}

#[test]
fn tungstenite_client_against_our_server() {
    let server = Server::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    thread::spawn(move || {
        server.serve(|mut ws| loop {
            match ws.read() {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                    if ws.send(m).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        })
    });
    let (mut ws, resp) = tungstenite::connect(format!("ws://{addr}/")).unwrap();
    assert_eq!(resp.status().as_u16(), 101);
    for size in SIZES {
        let text = payload(size);
        ws.send(TMessage::text(text.clone())).unwrap();
        match ws.read().unwrap() {
            TMessage::Text(t) => assert_eq!(t.as_str(), text, "text {size}"),
            other => panic!("unexpected {other:?}"),
        }
        let bin: Vec<u8> = (0..size).map(|i| i as u8).collect();
        ws.send(TMessage::binary(bin.clone())).unwrap();
        match ws.read().unwrap() {
            TMessage::Binary(b) => assert_eq!(&b[..], &bin[..], "binary {size}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    ws.send(TMessage::Ping(b"p".to_vec().into())).unwrap();
    loop {
        match ws.read().unwrap() {
            TMessage::Pong(p) => {
                assert_eq!(&p[..], b"p");
                break;
            }
            TMessage::Ping(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    ws.close(Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: "bye".into(),
    }))
    .unwrap();
    loop {
        match ws.read() {
            Ok(TMessage::Close(Some(f))) => {
                assert_eq!(u16::from(f.code), 1000);
            }
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
}
