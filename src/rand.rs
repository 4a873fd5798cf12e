//! Unpredictable bytes for masking keys and `Sec-WebSocket-Key` (RFC 6455 §10.3), on `std` alone.
//!
//! Each thread seeds a ChaCha20 keystream (RFC 8439 block function) once from the operating
//! system (`/dev/urandom`, with std's randomly keyed hasher as a fallback where that file does not
//! exist) and then draws from it, so a masking key costs a few nanoseconds instead of a syscall.

use std::cell::RefCell;

struct ChaCha {
    state: [u32; 16],
    block: [u8; 64],
    used: usize,
}

fn quarter_round(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

fn chacha20_block(input: &[u32; 16]) -> [u8; 64] {
    let mut x = *input;
    for _ in 0..10 {
        quarter_round(&mut x, 0, 4, 8, 12);
        quarter_round(&mut x, 1, 5, 9, 13);
        quarter_round(&mut x, 2, 6, 10, 14);
        quarter_round(&mut x, 3, 7, 11, 15);
        quarter_round(&mut x, 0, 5, 10, 15);
        quarter_round(&mut x, 1, 6, 11, 12);
        quarter_round(&mut x, 2, 7, 8, 13);
        quarter_round(&mut x, 3, 4, 9, 14);
    }
    let mut out = [0u8; 64];
    for i in 0..16 {
        out[i * 4..i * 4 + 4].copy_from_slice(&x[i].wrapping_add(input[i]).to_le_bytes());
    }
    out
}

fn os_seed() -> [u8; 44] {
    let mut seed = [0u8; 44];
    let from_os = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed));
    if from_os.is_err() {
        use std::hash::{BuildHasher, Hasher};
        for chunk in seed.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            let v = h.finish().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    seed
}

impl ChaCha {
    fn from_os() -> ChaCha {
        let seed = os_seed();
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
        for i in 0..8 {
            state[4 + i] = u32::from_le_bytes(seed[i * 4..i * 4 + 4].try_into().unwrap());
        }
        // state[12] is the block counter; 13..16 the nonce.
        for i in 0..3 {
            state[13 + i] = u32::from_le_bytes(seed[32 + i * 4..36 + i * 4].try_into().unwrap());
        }
        ChaCha {
            state,
            block: [0; 64],
            used: 64,
        }
    }

    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            if self.used == 64 {
                self.block = chacha20_block(&self.state);
                self.state[12] = self.state[12].wrapping_add(1);
                if self.state[12] == 0 {
                    // 256 GiB drawn: rekey rather than repeat the keystream.
                    *self = ChaCha::from_os();
                    self.block = chacha20_block(&self.state);
                    self.state[12] = 1;
                }
                self.used = 0;
            }
            *b = self.block[self.used];
            self.used += 1;
        }
    }
}

thread_local! {
    static RNG: RefCell<ChaCha> = RefCell::new(ChaCha::from_os());
}

/// Fills `out` with unpredictable bytes.
///
/// ```
/// let mut a = [0u8; 16];
/// let mut b = [0u8; 16];
/// ws6455::rand::fill(&mut a);
/// ws6455::rand::fill(&mut b);
/// assert_ne!(a, b);
/// ```
pub fn fill(out: &mut [u8]) {
    RNG.with(|r| r.borrow_mut().fill(out));
}

/// A fresh masking key.
///
/// ```
/// let keys: std::collections::HashSet<[u8; 4]> = (0..100).map(|_| ws6455::rand::mask_key()).collect();
/// assert!(keys.len() > 90);
/// ```
pub fn mask_key() -> [u8; 4] {
    let mut k = [0u8; 4];
    fill(&mut k);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chacha20_block_matches_rfc8439_test_vector() {
        // RFC 8439 §2.3.2.
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
        for i in 0..8 {
            let b = (i * 4) as u8;
            state[4 + i] = u32::from_le_bytes([b, b + 1, b + 2, b + 3]);
        }
        state[12] = 1;
        state[13] = 0x0900_0000;
        state[14] = 0x4a00_0000;
        state[15] = 0;
        let out = chacha20_block(&state);
        assert_eq!(&out[..8], &[0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15]);
        assert_eq!(
            &out[8..16],
            &[0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4]
        );
    }

    #[test]
    fn threads_get_different_streams() {
        let a = std::thread::spawn(mask_key_batch).join().unwrap();
        let b = std::thread::spawn(mask_key_batch).join().unwrap();
        assert_ne!(a, b);
    }

    fn mask_key_batch() -> Vec<u8> {
        let mut v = vec![0u8; 64];
        fill(&mut v);
        v
    }
}
