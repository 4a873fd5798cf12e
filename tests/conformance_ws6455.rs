//! Runs ws-conformance against our own echo server and our own client and expects every case
//! to be OK (INFORMATIONAL for the throughput cases).

mod conformance_support;

use conformance_support::{ClientModeRun, RunResult};
use ws6455::server::Server;
use ws6455::{client, Message};

/// Generous time limits so that a loaded machine cannot turn a slow answer into a verdict other
/// than OK (they cost nothing when the peer answers at once, as a conformant one does).
const ROBUST: &[&str] = &["--timeout", "20", "--pause", "3000"];

fn assert_all_ok(run: &RunResult) {
    eprintln!("{:?}\n{}", run.counts(), run.table());
    let bad: Vec<&str> = run
        .cases
        .iter()
        .filter(|c| c.verdict != "OK" && c.verdict != "INFORMATIONAL")
        .map(|c| c.json.as_str())
        .collect();
    assert!(
        bad.is_empty(),
        "{} case(s) not OK:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn our_server_is_fully_conformant() {
    let server = Server::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    std::thread::spawn(move || {
        server.serve(|mut ws| {
            while let Ok(msg) = ws.read() {
                if matches!(msg, Message::Text(_) | Message::Binary(_)) && ws.send(msg).is_err() {
                    break;
                }
            }
        })
    });
    let run = conformance_support::run_server_mode(&format!("ws://{addr}/"), ROBUST);
    assert_all_ok(&run);
    assert_eq!(run.exit_code, Some(0));
}

#[test]
fn our_client_is_fully_conformant() {
    let tester = ClientModeRun::start(ROBUST);
    let base = tester.base_url.clone();
    let (mut ws, _) = client::connect(&format!("{base}/getCaseCount")).unwrap();
    let count: usize = match ws.read().unwrap() {
        Message::Text(n) => n.parse().unwrap(),
        other => panic!("{other:?}"),
    };
    while ws.read().is_ok() {}
    for case in 1..=count {
        if let Ok((mut ws, _)) =
            client::connect(&format!("{base}/runCase?case={case}&agent=ws6455"))
        {
            while let Ok(msg) = ws.read() {
                if matches!(msg, Message::Text(_) | Message::Binary(_)) && ws.send(msg).is_err() {
                    break;
                }
            }
        }
    }
    assert_all_ok(&tester.finish());
}
