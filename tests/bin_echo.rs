//! `ws-server --app echo`, subprotocols and the server's limits, through the library client
//! and `ws-client`.

mod bin_common;

use bin_common::*;
use ws6455::client::ClientBuilder;
use ws6455::{client, CloseCode, Message};

#[test]
fn echoes_text_as_text_and_binary_as_binary() {
    let mut server = Server::start(&["--app", "echo"]);
    let (mut ws, _) = client::connect(&server.url()).unwrap();
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    let big = "é".repeat(100_000);
    for msg in [
        Message::text("hello"),
        Message::binary(vec![0u8, 1, 2, 255]),
        Message::text(""),
        Message::text(big.clone()),
        Message::binary(vec![7u8; 70_000]),
    ] {
        ws.send(msg.clone()).unwrap();
        assert_eq!(ws.read().unwrap(), msg);
    }
    ws.close(CloseCode::Normal, "").unwrap();
    loop {
        match ws.read() {
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    server
        .stdout
        .wait_line("[1] Connection closed by client ...");
    // No per-message logging without --verbose.
    assert!(
        !server.stdout.so_far().iter().any(|l| l.contains(">>")),
        "{:#?}",
        server.stdout.so_far()
    );
}

#[test]
fn verbose_echo_logs_messages() {
    let mut server = Server::start(&["--app", "echo", "--verbose"]);
    let run = run_client(&["--quiet", &server.url()], "ping me\n");
    assert_eq!(run.stdout, "ping me\n");
    server.stdout.wait_line("[1] CLIENT >> ping me");
    server.stdout.wait_line("[1] SERVER >> ping me");
}

#[test]
fn ws_client_scripting_with_quiet_and_binary() {
    let server = Server::start(&["--app", "echo"]);
    let run = run_client(&["--quiet", &server.url()], "one\ntwo\n");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stdout, "one\ntwo\n");
    let run = run_client(&["--quiet", "--binary", &server.url()], "raw\n");
    assert_eq!(run.stdout, "raw\n");
    let run = run_client(&["--binary", &server.url()], "hi\nexit\n");
    assert!(
        run.stdout
            .contains("Client >> hi\nSERVER >> [binary, 2 bytes] 6869\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn subprotocol_is_the_first_offered_that_we_support() {
    let server = Server::start(&["--app", "echo"]);
    let url = server.url();
    let offer = |protos: &[&str]| {
        let mut b = ClientBuilder::new(url.as_str());
        for p in protos {
            b = b.subprotocol(*p);
        }
        let (ws, _) = b.connect().unwrap();
        ws.subprotocol().map(str::to_string)
    };
    assert_eq!(offer(&["mqtt", "echo", "chat"]).as_deref(), Some("echo"));
    assert_eq!(offer(&["chat", "echo"]).as_deref(), Some("chat"));
    assert_eq!(offer(&["mqtt"]), None);
    assert_eq!(offer(&[]), None);
    let run = run_client(&["--subprotocol", "x", "--subprotocol", "chat", &url], "");
    assert!(run.stderr.contains("subprotocol: chat"), "{run:?}");
}

#[test]
fn message_size_limit_closes_with_1009() {
    let server = Server::start(&["--app", "echo", "--max-message-size", "16"]);
    let (mut ws, _) = client::connect(&server.url()).unwrap();
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    ws.send_text("sixteen bytes!!!").unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("sixteen bytes!!!"));
    ws.send_text("seventeen bytes!!").unwrap();
    match ws.read() {
        Ok(Message::Close(Some(f))) => assert_eq!(f.code, CloseCode::Size),
        other => panic!("expected close 1009, got {other:?}"),
    }
}

#[test]
fn idle_connections_are_closed() {
    let mut server = Server::start(&["--idle-timeout", "0.3"]);
    let (mut ws, _) = client::connect(&server.url()).unwrap();
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text(HI));
    match ws.read() {
        Ok(Message::Close(Some(f))) => assert_eq!(f.code, CloseCode::Away),
        other => panic!("expected close 1001, got {other:?}"),
    }
    server
        .stdout
        .wait_line("[1] Connection closed by server ...");
}

#[test]
fn connection_limit_refuses_with_503() {
    let server = Server::start(&["--app", "echo", "--max-connections", "1"]);
    let (mut first, _) = client::connect(&server.url()).unwrap();
    let run = run_client(&[&server.url()], "");
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert!(run.stderr.contains("503"), "{}", run.stderr);
    first.send_text("still here").unwrap();
    first.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(first.read().unwrap(), Message::text("still here"));
}

/// Reads one binary message frame by frame into a buffer of `buf_len` bytes, checking it
/// piece by piece against `expected`; returns the sizes of its frames.
fn read_frames_checked(
    reader: &mut ws6455::socket::WsReader,
    expected: &[u8],
    buf_len: usize,
) -> Vec<u64> {
    let mut buf = vec![0u8; buf_len];
    let (mut at, mut frames) = (0usize, Vec::new());
    loop {
        match reader.read_chunk(&mut buf).unwrap() {
            ws6455::protocol::Chunk::FrameStart { len, .. } => frames.push(len),
            ws6455::protocol::Chunk::Data {
                len,
                end_of_message,
                ..
            } => {
                assert!(buf[..len] == expected[at..at + len], "bytes differ at {at}");
                at += len;
                if end_of_message {
                    break;
                }
            }
            ws6455::protocol::Chunk::Control(m) => panic!("unexpected {m:?}"),
        }
    }
    assert_eq!(at, expected.len());
    frames
}

/// Peak resident memory of a process, in KiB (`VmHWM` in `/proc/PID/status`).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_large_binary_message_is_echoed_as_it_arrives_without_being_held_whole() {
    // 48 MiB in 4 MiB frames (the default frame limit is 16 MiB), sent by one thread while
    // another reads: the echo streams each frame back as it arrives, so the writer and the
    // reader must run at the same time (a split connection whose reader waited for the
    // writer's lock used to stall here until the write timeout).
    // Uncompressed (the client offers no permessage-deflate), so that the server's frames
    // mirror the client's exactly; the compressed case is the next test.
    let server = Server::start(&["--app", "echo"]);
    let config = ws6455::Config::default()
        .fragment_size(4 << 20)
        .deflate(ws6455::DeflateConfig::off());
    let (ws, _) = ClientBuilder::new(server.url())
        .config(config)
        .connect()
        .unwrap();
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    let (mut reader, writer) = ws.split().unwrap();
    let payload: Vec<u8> = (0..48u32 << 20).map(|i| (i % 251) as u8).collect();
    let sent = payload.clone();
    let sending = std::thread::spawn(move || {
        writer.send_binary(&sent).unwrap();
        writer
    });
    match reader.read().unwrap() {
        Message::Binary(got) => assert!(got == payload, "echo differs ({} bytes)", got.len()),
        other => panic!("expected the binary echo, got {other:?}"),
    }
    let writer = sending.join().unwrap();
    // The same echo read frame by frame on the split reader, checked piece by piece.
    let expected: Vec<u8> = (0..9u32 << 20).map(|i| (i % 241) as u8).collect();
    let sent = expected.clone();
    let sending = std::thread::spawn(move || {
        writer.send_binary(&sent).unwrap();
        writer
    });
    let frames = read_frames_checked(&mut reader, &expected, 100_000);
    assert_eq!(frames.len(), 3); // the client's 4 MiB frames, mirrored
    let writer = sending.join().unwrap();
    // A frame sent piece by piece in the middle of which a ping arrives: the pong waits for
    // the end of the frame, and the echo is still whole.
    writer.ping(b"between").unwrap();
    writer.send_binary([9u8; 100_000]).unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let m = reader.read().unwrap();
        if matches!(m, Message::Pong(_) | Message::Binary(_)) {
            seen.push(m);
        }
    }
    assert_eq!(seen[0], Message::Pong(b"between".to_vec()));
    assert_eq!(seen[1], Message::binary(vec![9u8; 100_000]));
    // The server never held the message: its peak memory stays far below 48 MiB.
    if let Some(peak) = peak_rss_kib(server.guard.id()) {
        assert!(peak < 24 << 10, "server peak RSS {peak} KiB");
    }
    writer.close(CloseCode::Normal, "").unwrap();
}

#[test]
fn a_large_compressed_binary_message_is_streamed_back_too() {
    // With permessage-deflate (negotiated by default): the server inflates the 48 MiB as it
    // arrives and streams it back in frames of at most 64 KiB (uncompressed: frames sent one by
    // one never are), never holding it whole, and in few enough frames for the peers' fragment
    // limits (Python websockets: 4096 per message).
    let server = Server::start(&["--app", "echo"]);
    let (ws, resp) = client::connect(&server.url()).unwrap();
    assert!(resp.get_header("sec-websocket-extensions").is_some());
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    let (mut reader, writer) = ws.split().unwrap();
    let payload: Vec<u8> = (0..48u32 << 20).map(|i| (i % 251) as u8).collect();
    let sent = payload.clone();
    let sending = std::thread::spawn(move || {
        writer.send_binary(&sent).unwrap();
        writer
    });
    let frames = read_frames_checked(&mut reader, &payload, 1 << 20);
    assert!(frames.iter().all(|&len| len <= 64 << 10), "{frames:?}");
    assert!(frames.len() <= 4096, "{} frames", frames.len());
    let writer = sending.join().unwrap();
    if let Some(peak) = peak_rss_kib(server.guard.id()) {
        assert!(peak < 24 << 10, "server peak RSS {peak} KiB");
    }
    writer.close(CloseCode::Normal, "").unwrap();
}

#[test]
fn invalid_text_is_refused_before_any_of_it_is_echoed() {
    // Text is gathered, not streamed: a message whose last byte breaks UTF-8 gets 1007 and
    // no echo of its first part.
    use std::io::{Read, Write};
    let server = Server::start(&["--app", "echo"]);
    let (ws, _) = client::connect(&server.url()).unwrap();
    let mut stream = ws.into_inner();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut payload = vec![b'a'; 70_000];
    payload.push(0xFF);
    let key = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0xFF];
    frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    stream.write_all(&frame).unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    assert!(reply.len() >= 4, "{reply:?}");
    assert_eq!(
        reply[0],
        0x88,
        "first frame back is the close: {:?}",
        &reply[..4]
    );
    assert_eq!(&reply[2..4], &1007u16.to_be_bytes());
}

#[test]
fn keepalive_flags_ping_a_silent_client_then_close_it_with_1001() {
    let server = Server::start(&[
        "--app",
        "echo",
        "--ping-interval",
        "1",
        "--ping-timeout",
        "1",
    ]);
    // Connect and read nothing for a while: the server pings, then gives up on us.
    let (mut ws, _) = client::connect(&server.url()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Ping(Vec::new()));
    match ws.read().unwrap() {
        Message::Close(Some(f)) => assert_eq!(f.code, CloseCode::Away),
        other => panic!("{other:?}"),
    }
}

#[test]
fn keepalive_off_leaves_a_silent_client_alone() {
    let server = Server::start(&["--app", "echo", "--ping-interval", "0"]);
    let (mut ws, _) = client::connect(&server.url()).unwrap();
    ws.get_ref()
        .set_read_timeout(Some(std::time::Duration::from_millis(1500)))
        .unwrap();
    assert!(matches!(ws.read(), Err(ws6455::Error::Timeout)));
    ws.send(Message::text("still open")).unwrap();
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("still open"));
}
