//! Defects of the connection layer, each over real sockets: a split connection answering a
//! ping during a long send, the close timeout, keepalive, and control frames held behind a
//! frame sent piece by piece.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ws6455::client::ClientBuilder;
use ws6455::frame::OpCode;
use ws6455::protocol::{Chunk, Sender};
use ws6455::server::Server;
use ws6455::socket::WebSocket;
use ws6455::{CloseCode, Config, Error, Message, ProtocolError, Role};

const WAIT: Duration = Duration::from_secs(30);

fn spawn_server(
    config: Config,
    handler: impl Fn(WebSocket<std::net::TcpStream>) + Send + Sync + 'static,
) -> SocketAddr {
    let server = Server::bind_with_config("127.0.0.1:0", config).unwrap();
    let addr = server.local_addr().unwrap();
    thread::spawn(move || server.serve(handler));
    addr
}

/// An echo that forwards frame by frame as it reads (as `ws-server --app echo` does) and pings
/// once, between frames, after 1 MiB; it reports the pongs it gets.
fn streaming_echo_that_pings(pongs: mpsc::Sender<Vec<u8>>) -> SocketAddr {
    spawn_server(Config::default(), move |mut ws| {
        let mut buf = vec![0u8; 64 << 10];
        let (mut total, mut pinged) = (0usize, false);
        loop {
            match ws.read_chunk(&mut buf) {
                Ok(Chunk::FrameStart { opcode, fin, len }) => {
                    ws.write_frame_start(opcode, fin, len).unwrap()
                }
                Ok(Chunk::Data {
                    len, end_of_frame, ..
                }) => {
                    ws.write_chunk(&buf[..len]).unwrap();
                    total += len;
                    if end_of_frame && total >= 1 << 20 && !pinged {
                        ws.ping(b"after 1 MiB").unwrap();
                        pinged = true;
                    }
                }
                Ok(Chunk::Control(Message::Pong(p))) => {
                    let _ = pongs.send(p);
                }
                Ok(Chunk::Control(_)) => {}
                Err(_) => return,
            }
            let _ = ws.flush();
        }
    })
}

#[test]
fn a_split_connection_answers_a_ping_during_a_long_send() {
    let (tx, pongs) = mpsc::channel();
    let addr = streaming_echo_that_pings(tx);
    // Fragmented, so that the echo (and its ping) come back frame by frame while we send.
    let config = Config::default()
        .fragment_size(256 << 10)
        .write_timeout(Some(Duration::from_secs(10)));
    let (ws, _) = ClientBuilder::new(format!("ws://{addr}/"))
        .config(config)
        .connect()
        .unwrap();
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    let (mut reader, writer) = ws.split().unwrap();
    let payload: Vec<u8> = (0..(32u32 << 20)).map(|i| (i % 253) as u8).collect();
    let expected = payload.clone();
    let sending = thread::spawn(move || writer.send_binary(&payload).map(|()| writer));
    let echoed = loop {
        match reader.read().expect("read the echo") {
            Message::Binary(b) => break b,
            Message::Ping(_) => {}
            other => panic!("{other:?}"),
        }
    };
    assert!(echoed == expected, "echo differs");
    let writer = sending
        .join()
        .unwrap()
        .expect("the long send completes (no stall until the write timeout)");
    assert_eq!(pongs.recv_timeout(WAIT).unwrap(), b"after 1 MiB");
    writer.close(CloseCode::Normal, "").unwrap();
    while reader.read().is_ok() {}
}

/// A server that reads and drops everything after the handshake and never answers a close.
fn silent_server() -> SocketAddr {
    spawn_server(Config::default(), |ws| {
        let mut stream = ws.into_inner();
        let mut scratch = [0u8; 4096];
        while matches!(std::io::Read::read(&mut stream, &mut scratch), Ok(n) if n > 0) {}
    })
}

fn client_with(addr: SocketAddr, config: Config) -> WebSocket<std::net::TcpStream> {
    let (ws, _) = ClientBuilder::new(format!("ws://{addr}/"))
        .config(config)
        .connect()
        .unwrap();
    // Without the fix, a read after our close would block until this caller's timeout and
    // return Error::Timeout.
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    ws
}

#[test]
fn read_after_our_close_ends_at_the_close_timeout() {
    let addr = silent_server();
    let config = Config::default().close_timeout(Some(Duration::from_millis(300)));
    let mut ws = client_with(addr, config.clone());
    ws.close(CloseCode::Normal, "bye").unwrap();
    assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
    assert!(ws.is_closed());

    // Frame by frame, and on a split connection, likewise.
    let mut ws = client_with(addr, config.clone());
    ws.close(CloseCode::Normal, "bye").unwrap();
    let mut buf = [0u8; 16];
    assert!(matches!(
        ws.read_chunk(&mut buf),
        Err(Error::ConnectionClosed)
    ));

    let ws = client_with(addr, config);
    let (mut reader, writer) = ws.split().unwrap();
    writer.close(CloseCode::Normal, "bye").unwrap();
    assert!(matches!(reader.read(), Err(Error::ConnectionClosed)));
}

#[test]
fn a_peer_that_does_not_answer_a_keepalive_ping_is_closed_with_1001() {
    let (tx, outcome) = mpsc::channel();
    let config = Config::default()
        .ping_interval(Some(Duration::from_millis(200)))
        .ping_timeout(Some(Duration::from_millis(300)));
    let addr = spawn_server(config, move |mut ws| {
        let _ = tx.send(ws.read());
    });
    // A client that reads nothing, so answers nothing.
    let (mut ws, _) = ClientBuilder::new(format!("ws://{addr}/"))
        .config(Config::default().ping_interval(None))
        .connect()
        .unwrap();
    match outcome.recv_timeout(WAIT).unwrap() {
        Err(Error::PingTimeout) => {}
        other => panic!("server read: {other:?}"),
    }
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Ping(Vec::new()));
    match ws.read().unwrap() {
        Message::Close(Some(f)) => assert_eq!(f.code, CloseCode::Away),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_peer_that_answers_keepalive_pings_stays_connected() {
    let (tx, outcome) = mpsc::channel();
    let config = Config::default()
        .ping_interval(Some(Duration::from_millis(100)))
        .ping_timeout(Some(Duration::from_millis(2000)));
    let addr = spawn_server(config, move |mut ws| {
        // Three pongs to our keepalive pings, then the client's text.
        let mut pongs = 0;
        let result = loop {
            match ws.read() {
                Ok(Message::Pong(_)) => pongs += 1,
                Ok(Message::Text(t)) => break Ok((pongs, t)),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        let _ = tx.send(result);
        let _ = ws.close(CloseCode::Normal, "");
        while ws.read().is_ok() {}
    });
    let (ws, _) = ClientBuilder::new(format!("ws://{addr}/"))
        .config(Config::default().ping_interval(None))
        .connect()
        .unwrap();
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    let (mut reader, writer) = ws.split().unwrap();
    let mut pings = 0;
    while pings < 3 {
        if let Message::Ping(_) = reader.read().unwrap() {
            pings += 1;
        }
    }
    writer.send_text("still here").unwrap();
    let (pongs, text) = outcome.recv_timeout(WAIT).unwrap().expect("no failure");
    assert!(pongs >= 3, "{pongs}");
    assert_eq!(text, "still here");
    while reader.read().is_ok() {}
}

#[test]
fn control_frames_held_behind_an_open_frame_count_against_the_write_bound() {
    let config = Config::default().max_write_buffer(4096);
    let mut tx = Sender::new(Role::Server, &config);
    tx.write_frame_start(OpCode::Binary, true, 10).unwrap();
    tx.write_chunk(&[0; 5]).unwrap();
    let mut failed_at = None;
    for i in 0..100_000 {
        tx.respond(&Ok(Some(Message::Ping(vec![1; 10]))));
        if tx.pending().len() > 4096 + 200 {
            panic!("queue passed the bound: {}", tx.pending().len());
        }
        if tx.close_sent() {
            failed_at = Some(i);
            break;
        }
    }
    let i = failed_at.expect("the ping flood failed the connection");
    assert!(
        (300..400).contains(&i),
        "held {i} pongs of 12 bytes in 4096"
    );
    assert!(matches!(tx.ping(b""), Err(Error::AlreadyClosed)));
    let _ = ProtocolError::PongBacklog { limit: 4096 };
}

/// A server that starts a 64 KiB frame piece by piece, reads the client's close (whose echo
/// waits behind the open frame), waits `pause`, then tries to finish the frame.
fn frame_open_at_close(pause: Duration) -> (SocketAddr, mpsc::Receiver<Result<(), Error>>) {
    let (tx, rx) = mpsc::channel();
    let config = Config::default().close_timeout(Some(Duration::from_millis(300)));
    let addr = spawn_server(config, move |mut ws| {
        ws.write_frame_start(OpCode::Binary, true, 64 << 10)
            .unwrap();
        ws.write_chunk(&[7; 1024]).unwrap();
        ws.flush().unwrap();
        loop {
            match ws.read() {
                Ok(Message::Close(_)) => break,
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        thread::sleep(pause);
        let mut result = Ok(());
        for _ in 0..63 {
            if let Err(e) = ws.write_chunk(&[7; 1024]) {
                result = Err(e);
                break;
            }
        }
        let _ = ws.flush();
        let _ = tx.send(result);
        while ws.read().is_ok() {}
    });
    (addr, rx)
}

#[test]
fn a_close_echo_held_behind_an_open_frame_goes_out_when_the_frame_ends() {
    let (addr, outcome) = frame_open_at_close(Duration::ZERO);
    let mut ws = client_with(addr, Config::default());
    ws.close(CloseCode::Normal, "bye").unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(vec![7u8; 64 << 10]));
    match ws.read().unwrap() {
        Message::Close(Some(f)) => assert_eq!(f.code, CloseCode::Normal),
        other => panic!("{other:?}"),
    }
    outcome.recv_timeout(WAIT).unwrap().unwrap();
}

#[test]
fn a_frame_still_open_past_the_close_timeout_is_abandoned() {
    let (addr, outcome) = frame_open_at_close(Duration::from_millis(600));
    let mut ws = client_with(addr, Config::default());
    ws.close(CloseCode::Normal, "bye").unwrap();
    match outcome.recv_timeout(WAIT).unwrap() {
        Err(Error::ConnectionClosed) => {}
        other => panic!("server's write_chunk after the close timeout: {other:?}"),
    }
    // The frame never completes: the client sees the connection end without a message.
    assert!(ws.read().is_err());
}
