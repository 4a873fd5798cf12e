//! The catalogue of cases, one module per section; each case maps to a rule of RFC 6455.
//!
//! | prefix | section | rule |
//! |---|---|---|
//! | `frame` | 1 framing | §5.2 lengths, masking (§5.3), partial reads |
//! | `ping` | 2 ping/pong | §5.5.2, §5.5.3 |
//! | `rsv` | 3 reserved bits | §5.2 RSV1-3 |
//! | `opcode` | 4 reserved opcodes | §5.2 opcodes 3-7, 11-15 |
//! | `frag` | 5 fragmentation | §5.4 |
//! | `utf8` | 6 UTF-8 | §5.6, §8.1 |
//! | `close` | 7 close | §5.5.1, §7.1.1, §7.4 |
//! | `limit` | 8 limits and load | §10.4, message order, many fragments/messages, throughput |
//! | `hs` | 9 opening handshake | §4.1, §4.2 |
//!
//! Ids are `PREFIX.GROUP.NUMBER`; they used to be numeric (`6.4.1`), which read like another
//! suite's ids with other meanings. `--cases` still accepts the numeric form.

pub mod client_handshake;
pub mod close;
pub mod fragmentation;
pub mod framing;
pub mod handshake;
pub mod limits;
pub mod ping;
pub mod reserved;
pub mod utf8;

use crate::case::{Applies, Case};
use crate::cli;

/// Every case of both modes, in id order.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(framing::cases());
    cases.extend(ping::cases());
    cases.extend(reserved::cases());
    cases.extend(fragmentation::cases());
    cases.extend(utf8::cases());
    cases.extend(close::cases());
    cases.extend(limits::cases());
    cases.extend(handshake::cases());
    cases.extend(client_handshake::cases());
    cases
}

/// The cases for a mode (`client`: the peer is a client), filtered by `--cases` patterns.
pub fn select(cases: Vec<Case>, testing_client: bool, patterns: &[String]) -> Vec<Case> {
    cases
        .into_iter()
        .filter(|c| match c.applies {
            Applies::Both => true,
            Applies::Server => !testing_client,
            Applies::Client => testing_client,
        })
        .filter(|c| patterns.is_empty() || patterns.iter().any(|p| cli::matches(p, &c.id)))
        .collect()
}

/// `len` bytes of printable ASCII (valid UTF-8 whatever the length).
pub fn text_payload(len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789.";
    (0..len).map(|i| ALPHABET[i % ALPHABET.len()]).collect()
}

/// `len` pseudo-random bytes (a fixed xorshift sequence, so failures are reproducible).
pub fn binary_payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ len as u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Piece size for chopped writes: 1 byte for small frames, a little more for large ones so the
/// run stays fast; odd sizes so piece boundaries fall at every offset of the header and key.
pub fn chunk_for(len: usize) -> usize {
    match len {
        0..=1024 => 1,
        1025..=65536 => 61,
        _ => 4093,
    }
}

/// A human size: `16 MiB`, `65536 bytes`.
pub fn size_name(len: u64) -> String {
    if len >= 1 << 20 && len % (1 << 20) == 0 {
        format!("{} MiB", len >> 20)
    } else {
        format!("{len} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_sections_are_known() {
        let cases = all();
        let mut seen = HashSet::new();
        for c in &cases {
            assert!(seen.insert(c.id.clone()), "duplicate id {}", c.id);
            let section = crate::report::id_key(&c.id)[0];
            assert!((1..=9).contains(&section), "{}", c.id);
            // Nothing that reads like another suite's numeric x.y.z id.
            assert!(
                !c.id.starts_with(|ch: char| ch.is_ascii_digit()),
                "{}",
                c.id
            );
            assert!(!c.description.is_empty());
        }
    }

    #[test]
    fn scripts_build_in_both_roles() {
        for client in [false, true] {
            let ctx = crate::case::Ctx {
                client,
                max_message_size: 1 << 20,
                pause: std::time::Duration::from_millis(10),
            };
            for c in all() {
                if let crate::case::Body::Script(build) = &c.body {
                    if c.id.starts_with("frame.") || c.id.starts_with("limit.") {
                        continue; // big payloads; built in the integration tests
                    }
                    let mut s = crate::case::Script::new(ctx);
                    build(&mut s);
                    assert!(!s.steps.is_empty(), "{}", c.id);
                }
            }
        }
    }

    #[test]
    fn payloads() {
        assert!(std::str::from_utf8(&text_payload(1000)).is_ok());
        assert_eq!(binary_payload(13).len(), 13);
        assert_eq!(size_name(16 << 20), "16 MiB");
        assert_eq!(size_name(125), "125 bytes");
    }
}
