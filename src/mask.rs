//! Fast XOR masking (RFC 6455 §5.3).
//!
//! Payload byte `i` of a frame is XORed with `key[i % 4]`. [`apply_mask`] takes the offset of the
//! slice within the payload, so a payload can be unmasked piece by piece as it arrives.

/// XORs `buf` in place with the masking `key`, as if `buf` started at byte `offset` of the frame
/// payload. Applying it twice restores the input.
///
/// ```
/// use ws6455::mask::apply_mask;
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut whole = *b"Hello";
/// apply_mask(&mut whole, key, 0);
/// assert_eq!(whole, [0x7f, 0x9f, 0x4d, 0x51, 0x58]); // RFC 6455 §5.7
///
/// // The same, in two pieces.
/// let mut parts = *b"Hello";
/// let (a, b) = parts.split_at_mut(3);
/// apply_mask(a, key, 0);
/// apply_mask(b, key, 3);
/// assert_eq!(parts, whole);
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let rotated = rotate(key, offset);
    if buf.len() < 32 {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= rotated[i & 3];
        }
        return;
    }
    let wide = u64::from_ne_bytes([
        rotated[0], rotated[1], rotated[2], rotated[3], rotated[0], rotated[1], rotated[2],
        rotated[3],
    ]);
    // Blocks of 32 bytes; 32 is a multiple of 4, so every block starts at key phase 0. Working
    // on fixed-size arrays lets the compiler keep the loop in vector registers.
    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        for word in block.chunks_exact_mut(8) {
            let w = u64::from_ne_bytes(word.try_into().expect("8-byte chunk"));
            word.copy_from_slice(&(w ^ wide).to_ne_bytes());
        }
    }
    for (i, b) in blocks.into_remainder().iter_mut().enumerate() {
        *b ^= rotated[i & 3];
    }
}

/// The key as seen from payload byte `offset`: its first byte is the one that masks that byte.
#[inline]
fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    let o = offset & 3;
    [key[o], key[(o + 1) & 3], key[(o + 2) & 3], key[(o + 3) & 3]]
}

/// XORs `src` with the key into `dst` (same length), as [`apply_mask`] does in place; used to
/// copy and mask in one pass.
///
/// ```
/// use ws6455::mask::{apply_mask, mask_into};
/// let key = [1, 2, 3, 4];
/// let src = [9u8; 70];
/// let mut dst = [0u8; 70];
/// mask_into(&src, &mut dst, key, 1);
/// let mut expected = src;
/// apply_mask(&mut expected, key, 1);
/// assert_eq!(dst, expected);
/// ```
#[inline]
pub fn mask_into(src: &[u8], dst: &mut [u8], key: [u8; 4], offset: usize) {
    assert_eq!(src.len(), dst.len(), "mask_into: lengths differ");
    let rotated = rotate(key, offset);
    // One pass: each 32-byte block is read, XORed with the key repeated and written, in
    // vector registers (a copy, then `apply_mask`, would go over the bytes twice).
    let mut pattern = [0u8; 32];
    for (i, p) in pattern.iter_mut().enumerate() {
        *p = rotated[i & 3];
    }
    let mut from = src.chunks_exact(32);
    let mut to = dst.chunks_exact_mut(32);
    for (s, d) in (&mut from).zip(&mut to) {
        let s: &[u8; 32] = s.try_into().expect("32-byte block");
        let d: &mut [u8; 32] = d.try_into().expect("32-byte block");
        for i in 0..32 {
            d[i] = s[i] ^ pattern[i];
        }
    }
    let tail = from.remainder();
    for (i, (d, s)) in to.into_remainder().iter_mut().zip(tail).enumerate() {
        *d = s ^ rotated[i & 3];
    }
}

/// The reference byte-at-a-time loop, kept for tests, fuzzing and benchmarks (with the
/// `internals` feature; not part of the API).
#[cfg(any(test, feature = "internals"))]
#[doc(hidden)]
///
/// ```
/// let mut b = [0u8; 5];
/// ws6455::mask::apply_mask_naive(&mut b, [1, 2, 3, 4], 2);
/// assert_eq!(b, [3, 4, 1, 2, 3]);
/// ```
pub fn apply_mask_naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        // Wrapping: only `offset % 4` matters, and 2^64 is a multiple of 4.
        *b ^= key[offset.wrapping_add(i) & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_mask_equals_naive_for_every_length_offset_and_alignment() {
        let key = [0xa1, 0x5c, 0x03, 0xfe];
        let data: Vec<u8> = (0..400u32).map(|i| (i * 31 + 7) as u8).collect();
        for start in 0..8 {
            for len in 0..=300 {
                for offset in 0..=3 {
                    let mut fast = data[start..start + len].to_vec();
                    let mut naive = fast.clone();
                    apply_mask(&mut fast, key, offset);
                    apply_mask_naive(&mut naive, key, offset);
                    assert_eq!(fast, naive, "start {start} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn mask_into_equals_naive_for_every_length_offset_and_alignment() {
        let key = [0x3c, 0x91, 0xe7, 0x08];
        let data: Vec<u8> = (0..400u32).map(|i| (i * 17 + 3) as u8).collect();
        let mut out = vec![0u8; 400];
        for start in 0..8 {
            for len in 0..=300 {
                for offset in 0..=3 {
                    let src = &data[start..start + len];
                    // The destination at another alignment than the source.
                    let dst = &mut out[(start + 3) % 8..(start + 3) % 8 + len];
                    mask_into(src, dst, key, offset);
                    let mut naive = src.to_vec();
                    apply_mask_naive(&mut naive, key, offset);
                    assert_eq!(dst, &naive[..], "start {start} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn offsets_near_usize_max_do_not_overflow() {
        // The `mask` fuzz target uses offsets up to usize::MAX; the reference loop used to
        // overflow on `offset + i` there (a panic in debug builds).
        let key = [1, 2, 3, 4];
        for offset in [usize::MAX, usize::MAX - 1, usize::MAX - 5] {
            let mut fast = [7u8; 40];
            let mut naive = fast;
            apply_mask(&mut fast, key, offset);
            apply_mask_naive(&mut naive, key, offset);
            assert_eq!(fast, naive, "offset {offset}");
            assert_eq!(naive[0], 7 ^ key[offset & 3]);
        }
    }

    #[test]
    fn masking_in_pieces_equals_masking_whole() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..=255).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        for cut in 0..data.len() {
            let mut parts = data.clone();
            let (a, b) = parts.split_at_mut(cut);
            apply_mask(a, key, 0);
            apply_mask(b, key, cut);
            assert_eq!(parts, whole, "cut at {cut}");
        }
    }
}
