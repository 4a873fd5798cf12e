//! Replays every file of fuzz/corpus/<target>/ through the fuzz targets' logic, so `cargo test`
//! checks the same invariants the fuzzers do (no panics, incremental == whole buffer, round
//! trips).

mod corpus_support;
#[path = "../fuzz/logic/handshake_targets.rs"]
mod logic;

use corpus_support::replay;

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
