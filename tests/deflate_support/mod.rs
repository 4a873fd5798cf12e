//! Shared by the permessage-deflate tests: payloads that do not compress.

/// Pseudo-random bytes (xorshift) that do not compress; the same `seed` gives the same bytes.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
