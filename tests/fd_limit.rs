//! Out of file descriptors: `ws-server` under `ulimit -n 64` refuses the connections it has no
//! descriptor for with a quick `503` (instead of leaving them in the accept backlog until the
//! client's handshake times out), and serves again once connections close.
#![cfg(target_os = "linux")]

mod bin_common;

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use bin_common::*;
use ws6455::handshake::HandshakeError;
use ws6455::socket::WebSocket;
use ws6455::{client, CloseCode, Config, Error, Message};

/// The process's open-files limit for the server.
const FD_LIMIT: usize = 64;
/// A refusal must come well within the client's handshake timeout (10 s by default; 5 s
/// here, so that a regression fails rather than hangs). Generous: the machine may be busy.
const FAST: Duration = Duration::from_secs(3);

fn start_limited() -> Server {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {FD_LIMIT} && exec \"$0\" \"$@\""))
        .arg(server_bin())
        .args(["--app", "echo", "--listen", "127.0.0.1:0"])
        .env_remove("WS_AUTH_KEY");
    Server::spawn(cmd)
}

fn connect(server: &Server) -> (Result<WebSocket<TcpStream>, Error>, Duration) {
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
    let t0 = Instant::now();
    let r = client::ClientBuilder::new(format!("{}/", server.url()))
        .config(config)
        .connect()
        .map(|(ws, _)| ws);
    (r, t0.elapsed())
}

fn echo_once(ws: &mut WebSocket<TcpStream>, text: &str) {
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    ws.send_text(text).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text(text));
}

#[test]
fn out_of_descriptors_refuses_fast_with_503_and_recovers() {
    let mut server = start_limited();
    let mut open = Vec::new();
    let mut refused = 0;
    // Each connection costs the server one descriptor (no shutdown clones this close to the
    // limit), so it runs out before FD_LIMIT connections.
    for _ in 0..2 * FD_LIMIT {
        let (r, took) = connect(&server);
        match r {
            Ok(ws) => open.push(ws),
            Err(Error::Handshake(HandshakeError::Rejected { status, .. })) => {
                assert_eq!(status, 503);
                assert!(took < FAST, "a refusal took {took:?}");
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
            Err(e) => panic!(
                "connect #{} failed after {took:?}: {e}; server stderr: {:#?}",
                open.len() + refused + 1,
                server.stderr.so_far()
            ),
        }
    }
    assert_eq!(refused, 3, "never refused; {} connections open", open.len());
    assert!(
        (FD_LIMIT / 2..FD_LIMIT).contains(&open.len()),
        "{} connections before the first refusal",
        open.len()
    );
    server.stderr.wait_for("the refusal logged", |l| {
        l.contains("refused with 503: out of file descriptors")
    });
    // The connections the server kept still work.
    echo_once(&mut open[0], "still here");

    // Closing a few frees descriptors: new connections are served again (once the server has
    // seen the closes, hence the retries).
    for mut ws in open.drain(..4) {
        let _ = ws.close(CloseCode::Normal, "");
        let _ = ws.get_ref().set_read_timeout(Some(WAIT));
        while ws.read().is_ok() {}
    }
    let deadline = Instant::now() + WAIT;
    let mut fresh = loop {
        match connect(&server) {
            (Ok(ws), _) => break ws,
            (Err(Error::Handshake(HandshakeError::Rejected { status: 503, .. })), took) => {
                assert!(took < FAST, "a refusal took {took:?}");
                assert!(Instant::now() < deadline, "still refused after closes");
                std::thread::sleep(Duration::from_millis(50));
            }
            (Err(e), took) => panic!("reconnect failed after {took:?}: {e}"),
        }
    };
    echo_once(&mut fresh, "hello again");
    let (second, _) = connect(&server);
    echo_once(&mut second.expect("a second new connection"), "and again");
}
