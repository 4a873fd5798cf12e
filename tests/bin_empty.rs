//! Every app of the shipped `ws-server` survives empty messages and empty frames, and answers
//! every ping with its own pong, in order: over real sockets, against the binary.

mod bin_common;

use std::net::TcpStream;

use bin_common::*;
use ws6455::frame::OpCode;
use ws6455::socket::WebSocket;
use ws6455::{client, CloseCode, Message};

fn connect(url: &str) -> WebSocket<TcpStream> {
    let (ws, _) = client::connect(url).expect("connect");
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    ws
}

/// The next data message (pongs skipped); panics on a close.
fn next_data(ws: &mut WebSocket<TcpStream>) -> Message {
    loop {
        match ws.read().expect("read") {
            m @ (Message::Text(_) | Message::Binary(_)) => return m,
            Message::Close(f) => panic!("closed: {f:?}"),
            _ => {}
        }
    }
}

/// We close with 1000; the server must answer with 1000 (a clean close, not a dropped TCP).
fn close_cleanly(mut ws: WebSocket<TcpStream>) {
    ws.close(CloseCode::Normal, "").unwrap();
    loop {
        match ws.read() {
            Ok(Message::Close(Some(f))) => {
                assert_eq!(f.code, CloseCode::Normal);
                return;
            }
            Ok(Message::Close(None)) => panic!("close without a code"),
            Ok(_) => {}
            Err(e) => panic!("no close reply: {e}"),
        }
    }
}

/// Sends one message as frames of the given payload sizes (the first frame carries `opcode`).
fn send_frames(ws: &mut WebSocket<TcpStream>, opcode: OpCode, payload: &[u8], sizes: &[usize]) {
    assert_eq!(sizes.iter().sum::<usize>(), payload.len());
    let mut at = 0;
    for (i, &n) in sizes.iter().enumerate() {
        let op = if i == 0 { opcode } else { OpCode::Continuation };
        ws.write_frame_start(op, i + 1 == sizes.len(), n as u64)
            .unwrap();
        ws.write_chunk(&payload[at..at + n]).unwrap();
        at += n;
    }
    ws.flush().unwrap();
}

#[test]
fn echo_echoes_empty_messages_and_empty_fragments() {
    let server = Server::start(&["--app", "echo"]);
    let mut ws = connect(&server.url());
    for msg in [Message::binary(Vec::new()), Message::text("")] {
        ws.send(msg.clone()).unwrap();
        assert_eq!(next_data(&mut ws), msg);
    }
    let data: Vec<u8> = (0..(256u32 << 10)).map(|i| (i % 251) as u8).collect();
    let k64 = 64 << 10;
    // An exact multiple of the fragment size, with the empty last frame fragmenting senders emit.
    send_frames(&mut ws, OpCode::Binary, &data, &[k64, k64, k64, k64, 0]);
    assert_eq!(next_data(&mut ws), Message::binary(data.clone()));
    // Empty first fragments, then the data.
    send_frames(&mut ws, OpCode::Binary, &data[..10], &[0, 0, 10]);
    assert_eq!(next_data(&mut ws), Message::binary(data[..10].to_vec()));
    // Only empty frames: an empty message in three frames.
    send_frames(&mut ws, OpCode::Text, b"", &[0, 0, 0]);
    assert_eq!(next_data(&mut ws), Message::text(""));
    // Text whose length is a multiple of the fragment size.
    let text = "abcd".repeat(32 << 10); // 128 KiB
    send_frames(&mut ws, OpCode::Text, text.as_bytes(), &[k64, k64, 0]);
    assert_eq!(next_data(&mut ws), Message::text(text));
    close_cleanly(ws);
}

#[test]
fn echo_echoes_a_4_mib_message_sent_in_64_kib_fragments() {
    let server = Server::start(&["--app", "echo"]);
    let mut ws = connect(&server.url());
    let data: Vec<u8> = (0..(4u32 << 20)).map(|i| (i * 7 % 256) as u8).collect();
    let mut sizes = vec![64 << 10; 64];
    sizes.push(0);
    send_frames(&mut ws, OpCode::Binary, &data, &sizes);
    assert_eq!(next_data(&mut ws), Message::binary(data));
    close_cleanly(ws);
}

#[test]
fn chat_answers_an_empty_text_from_its_table() {
    let server = Server::start(&[]);
    let mut ws = connect(&server.url());
    let Message::Text(_greeting) = next_data(&mut ws) else {
        panic!("no greeting")
    };
    ws.send(Message::text("")).unwrap();
    assert_eq!(
        next_data(&mut ws),
        Message::text("Sorry, I am unable to understand you.")
    );
    ws.send(Message::binary(Vec::new())).unwrap();
    assert_eq!(
        next_data(&mut ws),
        Message::text("Sorry, I only understand text messages.")
    );
    close_cleanly(ws);
}

#[test]
fn room_broadcasts_an_empty_text_like_any_other() {
    let server = Server::start(&["--app", "room"]);
    let mut alice = connect(&format!("{}/?name=alice", server.url()));
    assert_eq!(next_data(&mut alice), Message::text("* alice joined"));
    let mut bob = connect(&format!("{}/?name=bob", server.url()));
    assert_eq!(next_data(&mut alice), Message::text("* bob joined"));
    assert_eq!(next_data(&mut bob), Message::text("* bob joined"));
    alice.send(Message::text("")).unwrap();
    for ws in [&mut alice, &mut bob] {
        assert_eq!(next_data(ws), Message::text("alice: "));
    }
    // The connection goes on: an empty binary message gets the note any binary gets, and
    // the next text still arrives.
    alice.send(Message::binary(Vec::new())).unwrap();
    assert_eq!(
        next_data(&mut alice),
        Message::text("* only text messages are shared in this room")
    );
    alice.send(Message::text("still here")).unwrap();
    for ws in [&mut alice, &mut bob] {
        assert_eq!(next_data(ws), Message::text("alice: still here"));
    }
    close_cleanly(bob);
    assert_eq!(next_data(&mut alice), Message::text("* bob left"));
    close_cleanly(alice);
}

#[test]
fn every_app_answers_ten_pings_in_a_row_with_ten_pongs_in_order() {
    for args in [
        &["--app", "echo"][..],
        &["--app", "chat"],
        &["--app", "room"],
    ] {
        let server = Server::start(args);
        let mut ws = connect(&server.url());
        for i in 0..10u8 {
            ws.write(Message::Ping(vec![i; i as usize])).unwrap();
        }
        ws.flush().unwrap();
        let mut pongs = Vec::new();
        while pongs.len() < 10 {
            match ws.read().expect("read") {
                Message::Pong(p) => pongs.push(p),
                Message::Close(f) => panic!("{args:?}: closed: {f:?}"),
                _ => {}
            }
        }
        let want: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; i as usize]).collect();
        assert_eq!(pongs, want, "{args:?}");
        close_cleanly(ws);
    }
}
