//! Replays every file of fuzz/corpus/<target>/ through the fuzz targets' logic, so `cargo test`
//! checks the same invariants the fuzzers do (no panics, incremental == whole buffer, round
//! trips).

#[path = "../fuzz/logic/handshake_targets.rs"]
mod logic;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            let ok = std::panic::catch_unwind(|| run(&data));
            assert!(ok.is_ok(), "{} failed", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn http_request_corpus() {
    assert!(replay("http_request", logic::http_request) >= 5);
}

#[test]
fn http_response_corpus() {
    assert!(replay("http_response", logic::http_response) >= 5);
}

#[test]
fn client_handshake_corpus() {
    assert!(replay("client_handshake", logic::client_handshake) >= 5);
}

#[test]
fn targets_survive_edge_inputs() {
    let edge: &[&[u8]] = &[
        b"",
        b"\r",
        b"\n",
        b"\r\n\r\n\r\n",
        b"GET",
        b"HTTP/1.1",
        b"HTTP/1.1 101\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        &[0xff; 40],
    ];
    for d in edge {
        logic::http_request(d);
        logic::http_response(d);
        logic::client_handshake(d);
    }
}
