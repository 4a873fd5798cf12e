//! The benchmark load generator (`examples/loadgen`), run the way `scripts/bench-servers.sh`
//! runs it, against a library server that checks every message it receives: the lean client's
//! frames (batched small ones, large ones masked in one pass and prepared ahead of their send)
//! must carry exactly the payload, under a mask the server undoes.

mod bin_common;

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use ws6455::server::Server;
use ws6455::Message;

/// The load generator's payload: byte `i` is `i * 7 + 3`.
fn expected(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 7 + 3) as u8).collect()
}

#[derive(Default)]
struct Counts {
    good: AtomicU64,
    bad: AtomicU64,
}

/// An echo server that counts the binary messages equal to the load generator's payload, and
/// the others.
fn checking_echo(size: usize) -> (String, Arc<Counts>) {
    let server = Server::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    let want = Arc::new(expected(size));
    thread::spawn(move || {
        server.serve(move |mut ws| {
            while let Ok(msg) = ws.read() {
                let Message::Binary(b) = msg else { continue };
                let ok = b[..] == want[..];
                (if ok { &c.good } else { &c.bad }).fetch_add(1, Ordering::Relaxed);
                if ws.send_binary(&b).is_err() {
                    break;
                }
            }
        })
    });
    (url, counts)
}

/// Runs the load generator for `msgs` messages; returns its RESULT line's fields.
fn run(args: &[&str], size: usize, msgs: u64) -> (Vec<(String, String)>, Arc<Counts>) {
    let (url, counts) = checking_echo(size);
    let out = Command::new(bin_common::example("loadgen"))
        .args(["--url", &url, "--size", &size.to_string()])
        .args(["--max-msgs", &msgs.to_string(), "--secs", "30"])
        .args(args)
        .output()
        .expect("run the loadgen example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("RESULT"))
        .unwrap_or_else(|| panic!("no RESULT line: {stdout} {:?}", out.stderr));
    let fields = line
        .split_whitespace()
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (fields, counts)
}

fn field(fields: &[(String, String)], key: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key} in {fields:?}"))
        .1
        .clone()
}

/// Every message the load generator reports was echoed, arrived intact at the server, and no
/// connection failed.
fn assert_all_intact(args: &[&str], size: usize, msgs: u64) {
    let (fields, counts) = run(args, size, msgs);
    assert_eq!(field(&fields, "errors"), "0", "{fields:?}");
    let echoed: u64 = field(&fields, "msgs").parse().unwrap();
    assert!(echoed >= msgs, "{echoed} of {msgs} echoes: {fields:?}");
    assert_eq!(counts.bad.load(Ordering::Relaxed), 0, "corrupted messages");
    assert!(counts.good.load(Ordering::Relaxed) >= echoed);
}

#[test]
fn big_messages_are_masked_and_prepared_ahead_correctly() {
    assert_all_intact(&["--scenario", "big"], 1 << 20, 5);
}

#[test]
fn a_window_of_large_frames_arrives_intact() {
    assert_all_intact(
        &["--scenario", "stream", "--conns", "2", "--window", "16"],
        64 << 10,
        96,
    );
}

#[test]
fn batched_small_frames_arrive_intact() {
    assert_all_intact(
        &["--scenario", "stream", "--conns", "2", "--window", "64"],
        1 << 10,
        2000,
    );
}

#[test]
fn pingpong_frames_arrive_intact() {
    assert_all_intact(&["--scenario", "pingpong", "--conns", "3"], 1 << 10, 150);
}
