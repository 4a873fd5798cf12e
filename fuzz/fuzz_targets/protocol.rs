//! Arbitrary bytes, split at arbitrary points, into a server-role and a client-role core.
//! The checks live in `ws6455::protocol::fuzzing::run`, which `tests/protocol_fuzz_corpus.rs`
//! also replays over `fuzz/corpus/protocol` on stable Rust.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ws6455::protocol::fuzzing::run(data);
});
