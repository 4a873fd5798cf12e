//! Fuzz target logic for the DEFLATE codec (src/deflate/), shared by the cargo-fuzz binaries
//! (fuzz/fuzz_targets/inflate_diff.rs, deflate_roundtrip.rs) and by `cargo test`, which replays
//! every file of fuzz/corpus/<target>/ through the same functions (tests/deflate.rs).
//!
//! Each function panics only on a broken invariant:
//! - `inflate_diff`: our inflater and miniz_oxide's agree on every input taken as one raw
//!   DEFLATE stream: both accept it with the same output, or both refuse it; and our output does
//!   not depend on how the input is split. Both decoders are pinned to what they share: a
//!   32 KiB window (ours: 15 bits; miniz_oxide: its fixed 32 KiB), a stream that must reach a
//!   final block (bytes after it are ignored by both), and the same output limit. The one
//!   legitimate difference left is an output of exactly the limit, which miniz_oxide cannot tell
//!   from a longer one; those inputs are only checked on our side.
//! - `deflate_roundtrip`: for any data, window bits (8..=15), level (1..=9), context mode and
//!   split into messages, our inflater (same window bits, so every distance is checked against
//!   2^window_bits) gives back every message exactly, whatever the split of the compressed
//!   bytes; the output never has BFINAL blocks or a trailing `00 00 FF FF`; and miniz_oxide
//!   inflates the same messages (each with the RFC 7692 tail appended) to the same data.
#![allow(dead_code)]

use ws6455::deflate::{Deflater, Inflater, Level, Status, TAIL};

/// Output bound for the differential (both sides).
const LIMIT: usize = 1 << 20;

/// Cut points for `len` bytes driven by `seed` (1..=16-byte pieces), plus the ends.
fn cuts(len: usize, seed: &[u8]) -> Vec<usize> {
    let mut v = vec![0];
    let mut at = 0;
    let mut i = 0;
    while at < len {
        let step = seed
            .get(i % seed.len().max(1))
            .map_or(len, |&b| b as usize % 16 + 1);
        at = (at + step).min(len);
        v.push(at);
        i += 1;
    }
    v
}

/// Our inflater on `stream` as one raw DEFLATE stream fed in the pieces between `cuts`:
/// the output if a final block was reached, else `None`.
fn ours_raw(stream: &[u8], cuts: &[usize]) -> Option<Vec<u8>> {
    let mut inf = Inflater::new(15);
    let mut out = Vec::new();
    let mut ended = false;
    for w in cuts.windows(2) {
        let left = LIMIT - out.len();
        match inf.inflate(&stream[w[0]..w[1]], &mut out, left) {
            Ok(Status::StreamEnd) => ended = true,
            Ok(Status::NeedsInput) => {}
            Err(_) => return None,
        }
        assert!(out.len() <= LIMIT, "output past the limit");
    }
    if cuts.len() < 2 {
        // Empty input: nothing fed.
        return None;
    }
    ended.then_some(out)
}

/// Differential: ours against miniz_oxide on `data` (first byte: split seed).
pub fn inflate_diff(data: &[u8]) {
    let (seed, stream) = match data.split_first() {
        Some((&s, rest)) => (s, rest),
        None => return,
    };
    let whole = ours_raw(stream, &[0, stream.len()]);
    let split = ours_raw(
        stream,
        &cuts(stream.len(), &[seed, seed.rotate_left(3), seed ^ 0x5a]),
    );
    assert_eq!(whole, split, "split changed the result");
    let theirs = miniz_oxide::inflate::decompress_to_vec_with_limit(stream, LIMIT).ok();
    if whole.as_ref().is_some_and(|o| o.len() == LIMIT) {
        return;
    }
    match (&whole, &theirs) {
        (Some(a), Some(b)) => assert!(
            a == b,
            "different output ({} vs {} bytes)",
            a.len(),
            b.len()
        ),
        (None, None) => {}
        (a, b) => panic!(
            "accept/reject differs: ours {:?}, miniz_oxide {:?}",
            a.as_ref().map(Vec::len),
            b.as_ref().map(Vec::len)
        ),
    }
}

/// Round trip: header bytes choose window bits, level, context mode, the message split and
/// the split of the compressed bytes; the rest is the data.
pub fn deflate_roundtrip(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let bits = 8 + data[0] % 8;
    let level = Level::new(1 + data[1] % 9);
    let takeover = data[2] & 1 == 0;
    let seed = [data[3], data[2] >> 1, data[1] ^ data[3]];
    let payload = &data[4..];
    // Message boundaries: up to 8 messages, sizes driven by the data itself.
    let mut msgs = Vec::new();
    let mut rest = payload;
    let mut k = 0;
    while !rest.is_empty() && msgs.len() < 7 {
        let n = (seed[k % 3] as usize * 7 + rest[0] as usize) % (rest.len() + 1);
        let (m, r) = rest.split_at(n);
        msgs.push(m);
        rest = r;
        k += 1;
    }
    msgs.push(rest);

    let mut def = Deflater::new(bits, level);
    let mut inf = Inflater::new(bits);
    // Everything the sender produced, as one raw stream for miniz_oxide (context takeover).
    let mut stream = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let mut z = Vec::new();
        def.compress_message(m, &mut z);
        assert!(!z.is_empty(), "a message compresses to at least one byte");
        assert!(!z.ends_with(&TAIL), "tail left on");
        let mut back = Vec::new();
        let cut = cuts(z.len(), &[seed[i % 3], m.len() as u8, bits]);
        for w in cut.windows(2) {
            let left = m.len() - back.len();
            let st = inf
                .inflate(&z[w[0]..w[1]], &mut back, left)
                .expect("our own output inflates");
            assert_eq!(st, Status::NeedsInput, "BFINAL emitted");
        }
        let left = m.len() - back.len();
        inf.finish_message(&mut back, left)
            .expect("our own output ends on a block boundary");
        assert!(
            back == *m,
            "message {i} changed ({} vs {} bytes)",
            back.len(),
            m.len()
        );
        if takeover {
            stream.extend_from_slice(&z);
            stream.extend_from_slice(&TAIL);
        } else {
            let mut one = z.clone();
            one.extend_from_slice(&TAIL);
            one.extend_from_slice(&[0x03, 0x00]);
            let theirs =
                miniz_oxide::inflate::decompress_to_vec(&one).expect("miniz_oxide inflates it");
            assert!(theirs == *m, "miniz_oxide disagrees on message {i}");
            def.reset();
            inf.reset();
        }
    }
    if takeover {
        // A final empty fixed block ends the stream.
        stream.extend_from_slice(&[0x03, 0x00]);
        let theirs =
            miniz_oxide::inflate::decompress_to_vec(&stream).expect("miniz_oxide inflates it");
        let all: Vec<u8> = msgs.concat();
        assert!(theirs == all, "miniz_oxide disagrees");
    }
}
