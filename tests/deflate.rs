//! The DEFLATE codec (src/deflate/, exposed by the `internals` feature) against a mature
//! implementation, miniz_oxide: our messages inflate with it, its sync-flushed messages inflate
//! with ours, with and without context takeover; and the fuzz targets' seed corpora replay
//! through the same logic the fuzzers run (fuzz/logic/deflate_targets.rs).

mod corpus_support;
#[path = "../fuzz/logic/deflate_targets.rs"]
mod logic;

use corpus_support::replay;

use miniz_oxide::deflate::core::{
    compress_to_output, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
};
use ws6455::deflate::{Deflater, Inflater, Level, TAIL};

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Chat-like JSON messages of 20..2000 bytes.
fn messages(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut s = seed;
    (0..n)
        .map(|i| {
            let len = 20 + (rng(&mut s) % 1980) as usize;
            let mut m = format!(
                "{{\"id\":{i},\"type\":\"message\",\"user\":\"user{}\",\"text\":\"",
                rng(&mut s) % 50
            )
            .into_bytes();
            while m.len() < len {
                let w = [
                    "hello", "world", "the", "quick", "brown", "fox", "json", "socket",
                ];
                m.extend_from_slice(w[(rng(&mut s) % 8) as usize].as_bytes());
                m.push(if rng(&mut s) % 9 == 0 {
                    b'0' + (rng(&mut s) % 10) as u8
                } else {
                    b' '
                });
            }
            m.extend_from_slice(b"\"}");
            m
        })
        .collect()
}

/// miniz_oxide raw DEFLATE of one message, ended by a sync flush whose `00 00 FF FF` is removed.
fn miniz_message(c: &mut CompressorOxide, m: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let (status, used) = compress_to_output(c, m, TDEFLFlush::Sync, |b| {
        out.extend_from_slice(b);
        true
    });
    assert_eq!((status, used), (TDEFLStatus::Okay, m.len()));
    assert!(out.ends_with(&TAIL), "sync flush");
    out.truncate(out.len() - 4);
    out
}

fn ours_inflate(inf: &mut Inflater, z: &[u8], limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    inf.inflate(z, &mut out, limit).expect("inflates");
    let left = limit - out.len();
    inf.finish_message(&mut out, left)
        .expect("ends on a block boundary");
    out
}

#[test]
fn our_messages_inflate_with_miniz_oxide() {
    let msgs = messages(200, 1);
    let doc: Vec<u8> = msgs.concat();
    for bits in [8u8, 9, 12, 15] {
        for level in [1u8, 3, 6, 9] {
            // Context takeover: one stream of messages, each ended by its sync flush.
            let mut def = Deflater::new(bits, Level::new(level));
            let mut stream = Vec::new();
            for m in msgs.iter().chain([&doc]) {
                def.compress_message(m, &mut stream);
                stream.extend_from_slice(&TAIL);
            }
            stream.extend_from_slice(&[0x03, 0x00]);
            let back = miniz_oxide::inflate::decompress_to_vec(&stream).expect("miniz inflates");
            assert!(
                back == [&doc[..], &doc[..]].concat(),
                "bits {bits} level {level}"
            );
            // No context takeover: every message on its own.
            let mut def = Deflater::new(bits, Level::new(level));
            for m in msgs.iter().take(20) {
                let mut z = Vec::new();
                def.compress_message(m, &mut z);
                def.reset();
                z.extend_from_slice(&TAIL);
                z.extend_from_slice(&[0x03, 0x00]);
                assert_eq!(&miniz_oxide::inflate::decompress_to_vec(&z).unwrap(), m);
            }
        }
    }
}

#[test]
fn miniz_oxide_messages_inflate_with_ours() {
    let msgs = messages(300, 2);
    let mut seed = 3u64;
    let noise: Vec<u8> = (0..100_000).map(|_| rng(&mut seed) as u8).collect();
    let big: Vec<u8> = msgs.concat();
    for level in [0, 1, 2, 6, 9] {
        let flags = create_comp_flags_from_zip_params(level, -15, 0);
        // With context takeover.
        let mut c = CompressorOxide::new(flags);
        let mut inf = Inflater::new(15);
        for m in msgs.iter().chain([&noise, &big, &Vec::new()]) {
            let z = miniz_message(&mut c, m);
            assert!(ours_inflate(&mut inf, &z, m.len()) == *m, "level {level}");
        }
        // Without: a fresh compressor per message, and our inflater reset.
        for m in msgs.iter().take(30) {
            let z = miniz_message(&mut CompressorOxide::new(flags), m);
            inf.reset();
            assert_eq!(&ours_inflate(&mut inf, &z, m.len()), m);
        }
    }
}

#[test]
fn same_ratio_ballpark_as_miniz_oxide() {
    // Not a speed test: a sanity check that our sizes are in the same range as a mature
    // compressor's on chat traffic with context takeover (the figures are in the bench).
    let msgs = messages(500, 4);
    let ours = |level: u8| {
        let mut def = Deflater::new(15, Level::new(level));
        msgs.iter()
            .map(|m| {
                let mut z = Vec::new();
                def.compress_message(m, &mut z);
                z.len()
            })
            .sum::<usize>()
    };
    let theirs = |level: i32| {
        let mut c = CompressorOxide::new(create_comp_flags_from_zip_params(level, -15, 0));
        msgs.iter()
            .map(|m| miniz_message(&mut c, m).len())
            .sum::<usize>()
    };
    let (o1, o6, t1, t6) = (ours(1), ours(6), theirs(1), theirs(6));
    assert!(o6 <= t6 + t6 / 20, "level 6: ours {o6}, miniz_oxide {t6}");
    assert!(o1 <= t1 + t1 / 5, "level 1: ours {o1}, miniz_oxide {t1}");
}

#[test]
fn inflate_diff_corpus() {
    assert!(replay("inflate_diff", logic::inflate_diff) >= 5);
}

#[test]
fn deflate_roundtrip_corpus() {
    assert!(replay("deflate_roundtrip", logic::deflate_roundtrip) >= 5);
}

/// A cheap stand-in for the fuzzers on stable: our own compressed streams with bytes flipped,
/// cut or appended go through the differential; random data through the round trip.
#[test]
fn deflate_targets_hold_for_generated_inputs() {
    let mut seed = 0x5eed_u64;
    let msgs = messages(40, 9);
    for (i, m) in msgs.iter().enumerate() {
        let mut def = Deflater::new(15, Level::new(1 + (i % 9) as u8));
        let mut z = Vec::new();
        def.compress_message(m, &mut z);
        z.extend_from_slice(&TAIL);
        z.extend_from_slice(&[0x03, 0x00]);
        let mut input = vec![rng(&mut seed) as u8];
        input.extend_from_slice(&z);
        logic::inflate_diff(&input);
        for _ in 0..40 {
            let mut bad = input.clone();
            match rng(&mut seed) % 3 {
                0 => {
                    let at = 1 + (rng(&mut seed) as usize) % (bad.len() - 1);
                    bad[at] ^= 1 << (rng(&mut seed) % 8);
                }
                1 => bad.truncate(1 + (rng(&mut seed) as usize) % (bad.len() - 1)),
                _ => bad.extend((0..8).map(|_| rng(&mut seed) as u8)),
            }
            logic::inflate_diff(&bad);
        }
        let mut data: Vec<u8> = (0..4).map(|_| rng(&mut seed) as u8).collect();
        data.extend_from_slice(m);
        logic::deflate_roundtrip(&data);
    }
    for _ in 0..200 {
        let len = (rng(&mut seed) % 600) as usize;
        let data: Vec<u8> = (0..len)
            .map(|_| (rng(&mut seed) % 7) as u8 + b'a')
            .collect();
        logic::deflate_roundtrip(&data);
        logic::inflate_diff(&data);
    }
}
