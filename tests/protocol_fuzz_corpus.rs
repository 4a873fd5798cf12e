//! Replays every input of the `protocol` fuzz target's checked-in corpus through the same
//! checks the fuzzer runs, so `cargo test` covers them on stable Rust.

use std::path::Path;

#[test]
fn fuzz_corpus_inputs_pass_the_protocol_checks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/protocol");
    let mut count = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("fuzz/corpus/protocol exists")
        .map(|e| e.expect("readable entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let data = std::fs::read(&path).expect("readable corpus file");
        let outcome = std::panic::catch_unwind(|| ws6455::protocol::fuzzing::run(&data));
        assert!(outcome.is_ok(), "corpus input {} failed", path.display());
        count += 1;
    }
    assert!(count >= 10, "only {count} corpus inputs");
}

#[test]
fn fuzz_checks_hold_for_generated_inputs() {
    // A cheap stand-in for the fuzzer on stable: pseudo-random mutations of a valid stream.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut base = vec![0u8];
    for op in [0x81u8, 0x01, 0x89, 0x80, 0x82, 0x8A] {
        base.extend_from_slice(&[op, 0x83, 1, 2, 3, 4, b'a' ^ 1, b'b' ^ 2, b'c' ^ 3]);
    }
    for _ in 0..300 {
        let mut data = base.clone();
        for _ in 0..(next() % 4) {
            let i = (next() as usize) % data.len();
            data[i] = next() as u8;
        }
        ws6455::protocol::fuzzing::run(&data);
    }
}
