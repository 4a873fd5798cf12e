//! Random bytes for the tester's masking keys and `Sec-WebSocket-Key`s. Not for secrets: a peer
//! only must not be able to assume them constant. Drawn from std's randomly seeded hasher
//! (fresh keys per call), so the tester needs nothing from the library's internals.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn next_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// Fills `out` with random bytes.
pub fn fill(out: &mut [u8]) {
    for chunk in out.chunks_mut(8) {
        chunk.copy_from_slice(&next_u64().to_le_bytes()[..chunk.len()]);
    }
}

/// A random masking key.
pub fn mask_key() -> [u8; 4] {
    let v = next_u64().to_le_bytes();
    [v[0], v[1], v[2], v[3]]
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_differ() {
        let keys: std::collections::HashSet<[u8; 4]> =
            (0..100).map(|_| super::mask_key()).collect();
        assert!(keys.len() > 95, "{}", keys.len());
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        super::fill(&mut a);
        super::fill(&mut b);
        assert_ne!(a, b);
    }
}
