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
