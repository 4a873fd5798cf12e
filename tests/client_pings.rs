//! A client answers every ping with its own pong, in order, however it reads: whole messages,
//! frame by frame, or through the reading half of a split connection.

use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use ws6455::protocol::Chunk;
use ws6455::server::Server;
use ws6455::{client, Message};

const PINGS: u8 = 10;

/// A server that sends ten pings in one write, collects the pongs, then says whether they
/// were the right ones in the right order and closes.
fn pinging_server() -> SocketAddr {
    let server = Server::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    thread::spawn(move || {
        server.serve(|mut ws| {
            ws.get_ref()
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            for i in 0..PINGS {
                ws.write(Message::Ping(vec![i; i as usize + 1])).unwrap();
            }
            ws.flush().unwrap();
            let mut pongs = Vec::new();
            while pongs.len() < PINGS as usize {
                match ws.read() {
                    Ok(Message::Pong(p)) => pongs.push(p),
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
            let want: Vec<Vec<u8>> = (0..PINGS).map(|i| vec![i; i as usize + 1]).collect();
            let verdict = if pongs == want {
                "ok".to_string()
            } else {
                format!("{pongs:?}")
            };
            let _ = ws.send(Message::text(verdict));
            let _ = ws.close(ws6455::CloseCode::Normal, "");
            while ws.read().is_ok() {}
        })
    });
    addr
}

#[test]
fn whole_message_reads_answer_every_ping() {
    let (mut ws, _) = client::connect(&format!("ws://{}/", pinging_server())).unwrap();
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut pings = 0;
    let verdict = loop {
        match ws.read().unwrap() {
            Message::Ping(_) => pings += 1,
            Message::Text(t) => break t,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(verdict, "ok");
    assert_eq!(pings, PINGS);
}

#[test]
fn frame_by_frame_reads_answer_every_ping() {
    let (mut ws, _) = client::connect(&format!("ws://{}/", pinging_server())).unwrap();
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 64];
    let mut text = Vec::new();
    loop {
        match ws.read_chunk(&mut buf).unwrap() {
            Chunk::Data {
                len,
                end_of_message,
                ..
            } => {
                text.extend_from_slice(&buf[..len]);
                if end_of_message {
                    break;
                }
            }
            Chunk::FrameStart { .. } | Chunk::Control(Message::Ping(_)) => {}
            Chunk::Control(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(text, b"ok");
}

#[test]
fn a_split_reader_answers_every_ping() {
    let (ws, _) = client::connect(&format!("ws://{}/", pinging_server())).unwrap();
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let (mut reader, _writer) = ws.split().unwrap();
    let verdict = loop {
        match reader.read().unwrap() {
            Message::Ping(_) => {}
            Message::Text(t) => break t,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(verdict, "ok");
}
