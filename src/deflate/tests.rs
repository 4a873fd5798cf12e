//! Tests of the codec as a whole: RFC 7692 §7.2.3 vectors, round trips over sizes, window bits,
//! levels, context modes and splits, every malformed-stream class, the output limit and bombs.

use super::huffman::canonical_codes;
use super::tables::CODE_LENGTH_ORDER;
use super::{Deflater, InflateError, Inflater, Level, Status, TAIL};

/// xorshift64: deterministic pseudo-random numbers for the tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Text-like data: words from a small vocabulary, with some random bytes mixed in.
fn sample(rng: &mut Rng, len: usize) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "{\"type\":",
        "\"chat\"",
        ",\"user\":",
        "\"alice\"",
        "\"bob\"",
        ",\"text\":\"",
        "hello",
        " world",
        " websocket",
        " deflate",
        "\"}",
        "\n",
    ];
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        match rng.below(10) {
            0 => v.push(rng.next() as u8),
            1 => {
                let n = rng.below(8);
                v.extend((0..n).map(|_| rng.next() as u8));
            }
            _ => v.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes()),
        }
    }
    v.truncate(len);
    v
}

/// Inflates one message given in pieces between random cut points.
fn inflate_split(
    inf: &mut Inflater,
    z: &[u8],
    rng: &mut Rng,
    limit: usize,
) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < z.len() {
        let n = 1 + rng.below(z.len() - at).min(rng.below(40));
        let left = limit - out.len();
        inf.inflate(&z[at..at + n], &mut out, left)?;
        at += n;
    }
    let left = limit - out.len();
    inf.finish_message(&mut out, left)?;
    Ok(out)
}

fn inflate_whole(inf: &mut Inflater, z: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    inf.inflate(z, &mut out, limit)?;
    let left = limit - out.len();
    inf.finish_message(&mut out, left)?;
    Ok(out)
}

fn compress(def: &mut Deflater, m: &[u8]) -> Vec<u8> {
    let mut z = Vec::new();
    def.compress_message(m, &mut z);
    z
}

#[test]
fn rfc7692_vectors_compress() {
    let mut def = Deflater::new(15, Level::DEFAULT);
    assert_eq!(
        compress(&mut def, b"Hello"),
        [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    );
    // With context takeover the second "Hello" is one match of 5 at distance 5; zlib writes a
    // literal and a match of 4 (f2 00 11 00 00), we write the match alone, a byte shorter.
    let second = compress(&mut def, b"Hello");
    assert_eq!(second, [0x02, 0x13, 0x00, 0x00]);
    let mut inf = Inflater::new(15);
    inflate_whole(&mut inf, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 5).unwrap();
    assert_eq!(inflate_whole(&mut inf, &second, 5).unwrap(), b"Hello");
    assert_eq!(compress(&mut def, b""), [0x00]);
    for level in 1..=9 {
        let mut def = Deflater::new(8, Level::new(level));
        assert_eq!(
            compress(&mut def, b"Hello"),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
        assert_eq!(compress(&mut def, b""), [0x00]);
    }
}

#[test]
fn rfc7692_vectors_inflate() {
    let forms: [&[u8]; 4] = [
        &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        &[
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ],
        &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
        &[
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ],
    ];
    let mut rng = Rng(1);
    for z in forms {
        for bits in 8..=15 {
            assert_eq!(
                inflate_whole(&mut Inflater::new(bits), z, 5).unwrap(),
                b"Hello",
                "{z:x?}"
            );
            for _ in 0..20 {
                assert_eq!(
                    inflate_split(&mut Inflater::new(bits), z, &mut rng, 5).unwrap(),
                    b"Hello"
                );
            }
        }
    }
    let mut inf = Inflater::new(15);
    assert_eq!(inflate_whole(&mut inf, forms[0], 5).unwrap(), b"Hello");
    assert_eq!(
        inflate_whole(&mut inf, &[0xf2, 0x00, 0x11, 0x00, 0x00], 5).unwrap(),
        b"Hello"
    );
    assert_eq!(inflate_whole(&mut inf, &[0x00], 0).unwrap(), b"");
    // After a BFINAL message the next message is a new stream over the same history.
    assert_eq!(inflate_whole(&mut inf, forms[2], 5).unwrap(), b"Hello");
    assert_eq!(
        inflate_whole(&mut inf, &[0xf2, 0x00, 0x11, 0x00, 0x00], 5).unwrap(),
        b"Hello"
    );
    // A BFINAL block without the sync flush after it: the rest (our tail) is ignored.
    let mut out = Vec::new();
    let st = inf
        .inflate(&[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 5)
        .unwrap();
    assert_eq!(st, Status::StreamEnd);
    inf.finish_message(&mut out, 0).unwrap();
    assert_eq!(out, b"Hello");
}

#[test]
fn round_trips_over_sizes_windows_levels_and_context_modes() {
    let mut rng = Rng(0x1234_5678);
    let sizes = [
        0usize, 1, 2, 3, 4, 7, 100, 255, 256, 257, 1000, 4095, 4096, 33000, 70000, 140_000,
    ];
    for bits in 8..=15u8 {
        for level in [1u8, 2, 3, 4, 6, 9] {
            for takeover in [true, false] {
                let mut def = Deflater::new(bits, Level::new(level));
                let mut inf = Inflater::new(bits);
                for (k, &size) in sizes.iter().enumerate() {
                    // Big messages only for a few combinations, to keep the test quick.
                    if size > 4096 && (bits + level + k as u8) % 4 != 0 {
                        continue;
                    }
                    let m = sample(&mut rng, size);
                    let z = compress(&mut def, &m);
                    assert!(!z.ends_with(&TAIL));
                    let back = if k % 2 == 0 {
                        inflate_split(&mut inf, &z, &mut rng, size)
                    } else {
                        inflate_whole(&mut inf, &z, size)
                    };
                    assert!(
                        back.as_deref() == Ok(&m[..]),
                        "bits {bits} level {level} size {size}: {:?}",
                        back.err()
                    );
                    if !takeover {
                        def.reset();
                        inf.reset();
                    }
                }
            }
        }
    }
}

#[test]
fn compresses_redundant_data_and_keeps_incompressible_data_small() {
    let mut rng = Rng(99);
    let text = sample(&mut rng, 100_000);
    for level in 1..=9 {
        let z = compress(&mut Deflater::new(15, Level::new(level)), &text);
        assert!(z.len() < text.len() / 2, "level {level}: {} bytes", z.len());
    }
    // Random bytes go out as stored blocks: 5 bytes of overhead per 64 KiB block at most.
    let noise: Vec<u8> = (0..200_000).map(|_| rng.next() as u8).collect();
    let z = compress(&mut Deflater::new(15, Level::DEFAULT), &noise);
    assert!(
        z.len() <= noise.len() + 5 * (noise.len() / 16384 + 2),
        "{}",
        z.len()
    );
    assert_eq!(
        inflate_whole(&mut Inflater::new(15), &z, noise.len()).unwrap(),
        noise
    );
    // Long runs exercise overlapping copies and the longest matches.
    let runs: Vec<u8> = (0..50_000).map(|i| (i / 1000) as u8).collect();
    let z = compress(&mut Deflater::new(9, Level::BEST), &runs);
    assert!(z.len() < 1000, "{}", z.len());
    assert_eq!(
        inflate_whole(&mut Inflater::new(9), &z, runs.len()).unwrap(),
        runs
    );
}

#[test]
fn higher_levels_compress_at_least_about_as_well() {
    let mut rng = Rng(5);
    let text = sample(&mut rng, 60_000);
    let size = |l| compress(&mut Deflater::new(15, Level::new(l)), &text).len();
    let (fast, default, best) = (size(1), size(6), size(9));
    assert!(default < fast, "{default} vs {fast}");
    assert!(best <= default + default / 100, "{best} vs {default}");
}

#[test]
fn context_takeover_shrinks_repeated_messages() {
    let msg = br#"{"type":"chat","user":"alice","text":"the same message again"}"#;
    let mut with = Deflater::new(12, Level::DEFAULT);
    let first = compress(&mut with, msg).len();
    let again = compress(&mut with, msg).len();
    assert!(again < first / 3, "{again} vs {first}");
    let mut without = Deflater::new(12, Level::DEFAULT);
    compress(&mut without, msg);
    without.reset();
    assert_eq!(compress(&mut without, msg).len(), first);
}

#[test]
fn distances_stay_within_the_window() {
    // A repeat at distance 300: a 9-bit window may use it, an 8-bit one must not.
    let mut rng = Rng(3);
    let block: Vec<u8> = (0..300).map(|_| rng.next() as u8).collect();
    let data = [block.clone(), block].concat();
    let z9 = compress(&mut Deflater::new(9, Level::BEST), &data);
    assert!(z9.len() < 400, "{}", z9.len());
    assert_eq!(
        inflate_whole(&mut Inflater::new(8), &z9, data.len()),
        Err(InflateError::DistanceBeyondWindow)
    );
    let z8 = compress(&mut Deflater::new(8, Level::BEST), &data);
    assert!(z8.len() > 590, "{}", z8.len());
    assert_eq!(
        inflate_whole(&mut Inflater::new(8), &z8, data.len()).unwrap(),
        data
    );
    // Same across messages: history older than the window is not referenced.
    for bits in 8..=15u8 {
        let mut def = Deflater::new(bits, Level::BEST);
        let mut inf = Inflater::new(bits);
        let far: Vec<u8> = (0..(1usize << bits) + 10)
            .map(|_| rng.next() as u8)
            .collect();
        for m in [&far[..], &far[..]] {
            let z = compress(&mut def, m);
            assert_eq!(
                inflate_whole(&mut inf, &z, m.len()).unwrap(),
                m,
                "bits {bits}"
            );
        }
    }
}

/// Writes bits least significant first, and Huffman codes most significant bit first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, v: u64, n: u32) -> &mut Self {
        self.acc |= v << self.n;
        self.n += n;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
        self
    }
    /// A Huffman code `code` of `len` bits.
    fn code(&mut self, code: u32, len: u32) -> &mut Self {
        self.put(super::huffman::reverse_bits(code, len) as u64, len)
    }
    fn finish(&mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        std::mem::take(&mut self.out)
    }
}

/// A dynamic block header for the given code lengths, each length sent as a plain code-length
/// symbol (0..=15, four bits each) or, for `repeat`, the listed raw code-length symbols.
fn dynamic_header(
    b: &mut Bits,
    last: bool,
    lit: &[u8],
    dist: &[u8],
    raw_syms: Option<&[(u8, u64)]>,
) {
    b.put(last as u64 | 2 << 1, 3);
    b.put((lit.len() - 257) as u64, 5)
        .put((dist.len() - 1) as u64, 5)
        .put(15, 4);
    // Code-length code: symbols 0..=12 four bits, 13..=18 five bits (complete).
    let clen: [u8; 19] = std::array::from_fn(|s| if s < 13 { 4 } else { 5 });
    for &s in &CODE_LENGTH_ORDER {
        b.put(clen[s] as u64, 3);
    }
    let mut codes = [0u16; 19];
    canonical_codes(&clen, &mut codes);
    let send = |b: &mut Bits, s: u8, extra: u64| {
        b.put(codes[s as usize] as u64, clen[s as usize] as u32);
        let xb = match s {
            16 => 2,
            17 => 3,
            18 => 7,
            _ => 0,
        };
        b.put(extra, xb);
    };
    match raw_syms {
        Some(syms) => syms.iter().for_each(|&(s, x)| send(b, s, x)),
        None => lit.iter().chain(dist).for_each(|&l| send(b, l, 0)),
    }
}

#[track_caller]
fn err(z: &[u8]) -> InflateError {
    let r = inflate_whole(&mut Inflater::new(15), z, 1 << 20);
    let e = r.expect_err("malformed stream accepted");
    // Split delivery finds the same error.
    let mut rng = Rng(z.len() as u64 + 1);
    assert_eq!(
        inflate_split(&mut Inflater::new(15), z, &mut rng, 1 << 20),
        Err(e)
    );
    e
}

#[test]
fn every_malformed_stream_class_has_its_error() {
    use InflateError::*;
    assert_eq!(err(&[0x06]), InvalidBlockType);
    assert_eq!(err(&[0x07]), InvalidBlockType);
    assert_eq!(
        err(&[0x00, 0x05, 0x00, 0xfa, 0xfe, b'H']),
        StoredLengthMismatch
    );
    // HLIT = 287 and HDIST = 31.
    assert_eq!(
        err(&Bits::default()
            .put(4, 3)
            .put(30, 5)
            .put(0, 5)
            .put(15, 4)
            .finish()),
        TooManyCodes
    );
    assert_eq!(
        err(&Bits::default()
            .put(4, 3)
            .put(0, 5)
            .put(30, 5)
            .put(15, 4)
            .finish()),
        TooManyCodes
    );
    // A repeat (16) as the first code length, and a run of zeros past the end.
    let mut lit = vec![0u8; 257];
    lit[256] = 1;
    lit[0] = 1;
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &lit, &[1], Some(&[(16, 0)]));
    assert_eq!(err(&b.finish()), BadCodeLengths);
    let mut b = Bits::default();
    dynamic_header(
        &mut b,
        true,
        &lit,
        &[1],
        Some(&[(18, 127), (18, 127), (18, 127)]),
    );
    assert_eq!(err(&b.finish()), BadCodeLengths);
    // Over-subscribed and incomplete literal/length codes; no end-of-block code.
    let mut over = lit.clone();
    over[1] = 1;
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &over, &[1], None);
    assert_eq!(err(&b.finish()), OverSubscribedCode);
    let mut incomplete = lit.clone();
    incomplete[0] = 2;
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &incomplete, &[1], None);
    assert_eq!(err(&b.finish()), IncompleteCode);
    let mut no_eob = lit.clone();
    no_eob[256] = 0;
    no_eob[1] = 1;
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &no_eob, &[1], None);
    assert_eq!(err(&b.finish()), MissingEndOfBlock);
    // Incomplete distance code (one code of length 2).
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &lit, &[2], None);
    assert_eq!(err(&b.finish()), IncompleteCode);
    // Over-subscribed code-length code: every code-length code length 1.
    let mut b = Bits::default();
    b.put(5, 3).put(0, 5).put(0, 5).put(15, 4);
    for _ in 0..19 {
        b.put(1, 3);
    }
    assert_eq!(err(&b.finish()), OverSubscribedCode);
    // Fixed block: literal/length symbol 286, distance symbol 30.
    assert_eq!(
        err(&Bits::default().put(3, 3).code(0xc0 + 6, 8).finish()),
        InvalidSymbol
    );
    let z = Bits::default()
        .put(3, 3)
        .code(0x30 + b'a' as u32, 8)
        .code(1, 7)
        .code(30, 5)
        .finish();
    assert_eq!(err(&z), InvalidSymbol);
    // A match before any output, and one beyond a 9-bit window.
    assert_eq!(err(&[0xf2, 0x00, 0x11, 0x00, 0x00]), DistanceTooFarBack);
    let mut inf = Inflater::new(9);
    let mut rng = Rng(8);
    let data: Vec<u8> = (0..1000).map(|_| rng.next() as u8).collect();
    let z = compress(
        &mut Deflater::new(15, Level::DEFAULT),
        &[&data[..], &data[..]].concat(),
    );
    assert_eq!(inflate_whole(&mut inf, &z, 4000), Err(DistanceBeyondWindow));
    // Truncated messages.
    assert_eq!(err(&[0xf2, 0x48, 0xcd]), UnexpectedEnd);
    assert_eq!(err(&[0x00, 0x0a, 0x00, 0xf5, 0xff, b'H']), UnexpectedEnd);
    // Errors stick until reset.
    let mut inf = Inflater::new(15);
    let mut out = Vec::new();
    assert_eq!(inf.inflate(&[0x06], &mut out, 10), Err(InvalidBlockType));
    assert_eq!(inf.inflate(&[0x00], &mut out, 10), Err(InvalidBlockType));
    inf.reset();
    assert_eq!(
        inflate_whole(&mut inf, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 5).unwrap(),
        b"Hello"
    );
    // Close codes.
    assert_eq!(TooLarge.close_code(), 1009);
    for e in [
        InvalidBlockType,
        StoredLengthMismatch,
        InvalidSymbol,
        DistanceTooFarBack,
        UnexpectedEnd,
    ] {
        assert_eq!(e.close_code(), 1007);
    }
}

#[test]
fn distance_code_with_one_unused_pattern_is_refused_when_used() {
    // Literal/length: 0 -> "0", 256 -> "10", 257 (length 3) -> "11"; distance: only symbol 0
    // with code "0"; the pattern "1" is no code.
    let mut lit = vec![0u8; 258];
    lit[0] = 1;
    lit[256] = 2;
    lit[257] = 2;
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &lit, &[1], None);
    b.code(0, 1).code(3, 2).code(1, 1);
    assert_eq!(err(&b.finish()), InflateError::InvalidSymbol);
    // With the valid pattern it is a match of 3 at distance 1 after one literal.
    let mut b = Bits::default();
    dynamic_header(&mut b, true, &lit, &[1], None);
    b.code(0, 1).code(3, 2).code(0, 1).code(2, 2);
    let z = b.finish();
    assert_eq!(inflate_whole(&mut Inflater::new(8), &z, 4).unwrap(), [0; 4]);
}

#[test]
fn output_limit_is_exact() {
    let mut rng = Rng(77);
    for size in [1usize, 5, 258, 259, 3000, 100_000] {
        let m = sample(&mut rng, size);
        for level in [1, 6] {
            let z = compress(&mut Deflater::new(15, Level::new(level)), &m);
            assert_eq!(inflate_whole(&mut Inflater::new(15), &z, size).unwrap(), m);
            assert_eq!(
                inflate_whole(&mut Inflater::new(15), &z, size - 1),
                Err(InflateError::TooLarge),
                "size {size}"
            );
            assert_eq!(
                inflate_split(&mut Inflater::new(15), &z, &mut rng, size).unwrap(),
                m
            );
            assert_eq!(
                inflate_split(&mut Inflater::new(15), &z, &mut rng, size - 1),
                Err(InflateError::TooLarge)
            );
        }
        // Stored blocks too.
        let noise: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
        let z = compress(&mut Deflater::new(15, Level::DEFAULT), &noise);
        assert_eq!(
            inflate_whole(&mut Inflater::new(15), &z, size).unwrap(),
            noise
        );
        assert_eq!(
            inflate_whole(&mut Inflater::new(15), &z, size - 1),
            Err(InflateError::TooLarge)
        );
    }
}

/// A dynamic block that turns two bits into 258 zero bytes: `matches` of them after one literal.
fn bomb(matches: usize) -> Vec<u8> {
    // Literal/length: 285 (258) -> "0", 0 -> "10", 256 -> "11"; distance: symbol 0 -> "0".
    let mut lit = vec![0u8; 286];
    lit[0] = 2;
    lit[256] = 2;
    lit[285] = 1;
    let mut b = Bits::default();
    dynamic_header(&mut b, false, &lit, &[1], None);
    b.code(2, 2);
    for _ in 0..matches {
        b.code(0, 1).code(0, 1);
    }
    // End of block, then the sync flush's empty stored block header.
    b.code(3, 2).put(0, 3);
    b.finish()
}

#[test]
fn bombs_stop_at_the_limit_with_bounded_memory() {
    // 1 MiB of compressed input that would expand to 1 GiB.
    let z = bomb(4 * 1024 * 1024);
    assert!(z.len() < (1 << 20) + 400);
    let limit = 16 << 20;
    let mut inf = Inflater::new(15);
    let mut out = Vec::new();
    assert_eq!(
        inf.inflate(&z, &mut out, limit),
        Err(InflateError::TooLarge)
    );
    assert!(
        out.len() <= limit && out.len() > limit - 300,
        "{}",
        out.len()
    );
    assert!(out.iter().all(|&b| b == 0));
    assert!(inf.memory() <= 80 * 1024, "{}", inf.memory());
    // In small pieces, with a small limit: the same.
    let mut inf = Inflater::new(10);
    let mut out = Vec::new();
    let mut res = Ok(Status::NeedsInput);
    for piece in z.chunks(1000) {
        let left = 100_000 - out.len();
        res = inf.inflate(piece, &mut out, left);
        if res.is_err() {
            break;
        }
    }
    assert_eq!(res, Err(InflateError::TooLarge));
    assert!(out.len() <= 100_000);
    // Exactly the limit is accepted: 1 + 258 * 10 bytes.
    let z = bomb(10);
    assert_eq!(
        inflate_whole(&mut Inflater::new(15), &z, 2581)
            .unwrap()
            .len(),
        2581
    );
    assert_eq!(
        inflate_whole(&mut Inflater::new(15), &z, 2580),
        Err(InflateError::TooLarge)
    );
}

#[test]
fn memory_is_allocated_on_use_and_bounded_between_messages() {
    for bits in 8..=15u8 {
        let mut def = Deflater::new(bits, Level::DEFAULT);
        let mut inf = Inflater::new(bits);
        assert_eq!((def.memory(), inf.memory()), (0, 0));
        let mut rng = Rng(bits as u64);
        let m = sample(&mut rng, 200_000);
        let z = compress(&mut def, &m);
        assert_eq!(inflate_whole(&mut inf, &z, m.len()).unwrap(), m);
        let w = 1usize << bits;
        assert!(
            inf.memory() <= 2 * w,
            "bits {bits}: inflater {}",
            inf.memory()
        );
        let hash = 2 << (bits + 1).min(15);
        assert!(
            // Buffer, chains, hash heads, the Work struct and the token buffer.
            def.memory() <= 2 * w + 2 * w + hash + 2048 + 4 * 512,
            "bits {bits}: deflater {}",
            def.memory()
        );
        // A small message afterwards does not grow them.
        let z = compress(&mut def, b"small");
        assert_eq!(inflate_whole(&mut inf, &z, 5).unwrap(), b"small");
        assert!(inf.memory() <= 2 * w);
        def.reset();
        inf.reset();
        assert_eq!((def.memory(), inf.memory()), (0, 0));
    }
}

#[test]
fn long_codes_decode_through_the_slow_path() {
    // Skewed frequencies give literal codes longer than the 10-bit fast table.
    let mut rng = Rng(11);
    let mut data = Vec::new();
    for i in 0..40_000u32 {
        let r = rng.next();
        let b = match r % 1000 {
            0..=899 => b'a',
            900..=989 => b'b' + (r % 5) as u8,
            _ => (r >> 20) as u8,
        };
        data.push(b);
        if i % 97 == 0 {
            data.push((r >> 8) as u8);
        }
    }
    let z = compress(&mut Deflater::new(15, Level::FASTEST), &data);
    assert_eq!(
        inflate_whole(&mut Inflater::new(15), &z, data.len()).unwrap(),
        data
    );
    let mut rng2 = Rng(12);
    assert_eq!(
        inflate_split(&mut Inflater::new(15), &z, &mut rng2, data.len()).unwrap(),
        data
    );
}
