//! The conformance gate on what ships: `ws-conformance` (the binary) against the `ws-server`
//! binary in its echo mode, and `ws-conformance client` against the client example as a user
//! runs it (`cargo run --example conformance_client -- ws://ADDR`). Any verdict other than OK or
//! information fails, and so does a connection dropped without a close frame (the tester
//! grades that FAILED).

mod bin_common;
mod conformance_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use conformance_support::{ClientModeRun, RunResult};

/// Generous time limits, so that a loaded machine cannot turn a slow answer into a verdict
/// other than OK (they cost nothing when the peer answers at once, as a conformant one does).
const ROBUST: &[&str] = &["--timeout", "20", "--pause", "3000"];

fn assert_all_ok(run: &RunResult) {
    assert!(
        run.cases.len() > 100,
        "too few cases ran: {}",
        run.cases.len()
    );
    let bad: Vec<&str> = run
        .cases
        .iter()
        .filter(|c| !matches!(c.verdict.as_str(), "OK" | "INFO" | "INFORMATIONAL"))
        .map(|c| c.json.as_str())
        .collect();
    assert!(
        bad.is_empty(),
        "{} case(s) not OK:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert_eq!(run.exit_code, Some(0), "{}", run.summary);
}

#[test]
fn the_shipped_echo_server_passes_every_case() {
    let server = bin_common::Server::start(&["--app", "echo", "--quiet"]);
    let run = conformance_support::run_server_mode(&server.url(), ROBUST);
    assert_all_ok(&run);
}

#[test]
fn the_client_example_passes_every_case() {
    let tester = ClientModeRun::start(ROBUST);
    let mut adapter = bin_common::Guard(Some(
        Command::new(bin_common::example("conformance_client"))
            .arg(&tester.base_url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("run the conformance_client example"),
    ));
    let status = adapter.wait(Duration::from_secs(600));
    assert!(status.success(), "adapter exited with {status}");
    assert_all_ok(&tester.finish());
}
