//! Replays every file of fuzz/corpus/<target>/ through the same logic the cargo-fuzz targets
//! run, so `cargo test` checks the fuzzers' invariants on stable Rust without a fuzzer. The
//! targets' corpora are seeds plus every crash ever found (each crash also gets a named test).

#[path = "../fuzz/logic/codec_targets.rs"]
mod codec;
mod corpus_support;

use corpus_support::replay;
use std::path::Path;

#[test]
fn utf8_corpus() {
    assert!(replay("utf8", codec::utf8) >= 10);
}

#[test]
fn mask_corpus() {
    assert!(replay("mask", codec::mask) >= 5);
}

/// A cheap stand-in for the fuzzer on stable: pseudo-random byte strings biased towards UTF-8
/// lead and continuation bytes, and random mask layouts.
#[test]
fn codec_targets_hold_for_generated_inputs() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const PICKS: [u8; 12] = [
        b'a', 0x80, 0xbf, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xa0,
    ];
    for _ in 0..400 {
        let len = (next() % 24) as usize;
        let data: Vec<u8> = (0..len)
            .map(|_| PICKS[(next() % PICKS.len() as u64) as usize])
            .collect();
        codec::utf8(&data);
        let len = (next() % 120) as usize;
        let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        codec::mask(&data);
    }
}

#[test]
fn codec_targets_survive_edge_inputs() {
    let edge: &[&[u8]] = &[b"", b"\x00", &[0xff; 13], &[0xff; 64], b"\xf4\x8f\xbf\xbf"];
    for d in edge {
        codec::utf8(d);
        codec::mask(d);
    }
}

/// Every target declared in fuzz/Cargo.toml has a checked-in seed corpus (replayed by this
/// file or by its owner's `tests/*fuzz_corpus.rs`).
#[test]
fn every_fuzz_target_has_a_seed_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let targets: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "ws6455-fuzz")
        .collect();
    assert!(targets.len() >= 6, "{targets:?}");
    for t in targets {
        let n = std::fs::read_dir(root.join("corpus").join(t))
            .map(|d| d.count())
            .unwrap_or(0);
        assert!(n >= 5, "fuzz target {t} has {n} seed inputs");
    }
}
