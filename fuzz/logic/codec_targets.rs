//! Fuzz target logic for the UTF-8 validator and masking, shared by the cargo-fuzz binaries
//! (fuzz/fuzz_targets/utf8.rs, mask.rs) and by `cargo test`, which replays every file of
//! fuzz/corpus/<target>/ through the same functions (tests/fuzz_corpus.rs).
//!
//! Each function panics only on a broken invariant:
//! - `utf8`: same verdict as `std::str::from_utf8` on the whole input, whatever the split points;
//!   fails fast (no later than the piece holding the byte that makes the input invalid) and
//!   never early (never while the bytes seen so far are a valid prefix); `is_complete` agrees
//!   with std on every prefix; `finish` resets for the next message.
//! - `mask`: `apply_mask` and `mask_into` equal `apply_mask_naive` for any key, any payload
//!   offset (including offsets near `usize::MAX`), any start alignment and any split into pieces;
//!   masking twice restores the input.
#![allow(dead_code)]

use ws6455::mask::{apply_mask, apply_mask_naive, mask_into};
use ws6455::utf8::Utf8Validator;

/// Split points chosen by the input itself (its first byte picks a stride), plus the ends.
fn split_points(len: usize, seed: &[u8]) -> Vec<usize> {
    let mut cuts = vec![0];
    let mut at = 0usize;
    let mut i = 0usize;
    while at < len {
        let step = seed
            .get(i % seed.len().max(1))
            .map_or(1, |&b| b as usize % 7 + 1);
        at = (at + step).min(len);
        cuts.push(at);
        i += 1;
    }
    if *cuts.last().unwrap() != len {
        cuts.push(len);
    }
    cuts
}

/// Feeds `data` in the pieces between consecutive `cuts`; returns the index of the piece that
/// failed, or `None` if every piece was accepted and `finish` succeeded (`Some(cuts.len())`
/// when only `finish` failed).
fn feed_pieces(v: &mut Utf8Validator, data: &[u8], cuts: &[usize]) -> Option<usize> {
    for (k, w) in cuts.windows(2).enumerate() {
        if v.feed(&data[w[0]..w[1]]).is_err() {
            v.reset();
            return Some(k);
        }
    }
    if v.finish().is_err() {
        return Some(cuts.len());
    }
    None
}

fn check_utf8_split(data: &[u8], cuts: &[usize]) {
    let whole = std::str::from_utf8(data);
    let mut v = Utf8Validator::new();
    let failed = feed_pieces(&mut v, data, cuts);
    assert!(v.is_complete(), "validator reset after the message");
    match (&whole, failed) {
        (Ok(_), None) => {}
        (Ok(_), Some(k)) => panic!("valid input refused at piece {k} of {cuts:?}: {data:x?}"),
        (Err(e), None) => panic!("invalid input accepted ({e}) with cuts {cuts:?}: {data:x?}"),
        (Err(e), Some(k)) => match e.error_len() {
            // Truncated at the end: only `finish` can tell.
            None => assert_eq!(k, cuts.len(), "truncated input failed early: {data:x?}"),
            Some(n) => {
                let good = e.valid_up_to();
                // The byte at `good + n` (or the last one) settles it.
                let decisive = (good + n).min(data.len() - 1);
                assert!(
                    k < cuts.len(),
                    "invalid bytes only caught by finish: {data:x?}"
                );
                let (start, end) = (cuts[k], cuts[k + 1]);
                assert!(
                    end > good,
                    "failed inside the valid prefix: {data:x?} {cuts:?}"
                );
                assert!(start <= decisive, "failed late: {data:x?} {cuts:?}");
            }
        },
    }
}

/// Target `utf8`.
pub fn utf8(data: &[u8]) {
    // Whole input in one piece, then byte by byte (short inputs), then input-chosen splits.
    check_utf8_split(data, &[0, data.len()]);
    if data.len() <= 256 {
        let every: Vec<usize> = (0..=data.len()).collect();
        check_utf8_split(data, &every);
    }
    check_utf8_split(data, &split_points(data.len(), data));
    check_utf8_split(
        data,
        &split_points(data.len(), data.get(1..).unwrap_or(&[])),
    );

    // `is_complete` agrees with std on every prefix of a valid input.
    if let Ok(s) = std::str::from_utf8(data) {
        let mut v = Utf8Validator::new();
        for (i, b) in data.iter().enumerate() {
            v.feed(std::slice::from_ref(b)).expect("valid input");
            assert_eq!(
                v.is_complete(),
                s.is_char_boundary(i + 1),
                "is_complete after {} bytes",
                i + 1
            );
        }
    }

    // Two messages back to back on one validator: the second is judged on its own.
    let mid = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let (a, b) = data.split_at(mid);
    let mut v = Utf8Validator::new();
    let first_ok = v.feed(a).is_ok() && v.finish().is_ok();
    v.reset();
    let second_ok = v.feed(b).is_ok() && v.finish().is_ok();
    assert_eq!(first_ok, std::str::from_utf8(a).is_ok(), "first message");
    assert_eq!(second_ok, std::str::from_utf8(b).is_ok(), "second message");
}

/// Target `mask`. Layout: 4 key bytes, 8 offset bytes (little endian), 1 alignment byte, then
/// the payload; a short input uses defaults for what is missing.
pub fn mask(data: &[u8]) {
    let mut key = [0x5a, 0xa5, 0x0f, 0xf0];
    for (k, b) in key.iter_mut().zip(data) {
        *k = *b;
    }
    let mut off = [0u8; 8];
    for (o, b) in off.iter_mut().zip(data.get(4..).unwrap_or(&[])) {
        *o = *b;
    }
    let raw_offset = u64::from_le_bytes(off);
    let align = data.get(12).map_or(0, |&b| b as usize % 16);
    let payload = data.get(13..).unwrap_or(&[]);

    for offset in [
        raw_offset as usize,
        (raw_offset & 0xffff) as usize,
        usize::MAX - (raw_offset as usize & 7),
    ] {
        // Place the payload at every alignment the input asks for, inside a larger buffer.
        let mut backing = vec![0xeeu8; payload.len() + 32];
        backing[align..align + payload.len()].copy_from_slice(payload);
        let slice = &mut backing[align..align + payload.len()];
        let mut naive = payload.to_vec();
        apply_mask_naive(&mut naive, key, offset);
        apply_mask(slice, key, offset);
        assert_eq!(
            &slice[..],
            &naive[..],
            "apply_mask offset {offset} align {align}"
        );
        // Bytes around the slice are untouched.
        assert!(backing[..align].iter().all(|&b| b == 0xee));
        assert!(backing[align + payload.len()..].iter().all(|&b| b == 0xee));

        // Masking twice restores the payload.
        let mut twice = naive.clone();
        apply_mask(&mut twice, key, offset);
        assert_eq!(twice, payload, "involution");

        // mask_into agrees.
        let mut dst = vec![0u8; payload.len()];
        mask_into(payload, &mut dst, key, offset);
        assert_eq!(dst, naive, "mask_into");

        // In pieces (sizes chosen by the payload), each at its running offset.
        let mut pieces = payload.to_vec();
        let cuts = split_points(pieces.len(), payload);
        for w in cuts.windows(2) {
            apply_mask(&mut pieces[w[0]..w[1]], key, offset.wrapping_add(w[0]));
        }
        assert_eq!(pieces, naive, "pieces at {cuts:?}");
    }
}
