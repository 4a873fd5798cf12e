//! The fixed tables of RFC 1951 §3.2.5–3.2.7: length and distance bases with their extra bits,
//! the order in which code-length code lengths are sent, and reverse look-ups for the encoder.

/// Base match length of length symbols 257..=285 (index = symbol - 257).
pub(crate) const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];

/// Extra bits after length symbols 257..=285.
pub(crate) const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];

/// Base distance of distance symbols 0..=29.
pub(crate) const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];

/// Extra bits after distance symbols 0..=29.
pub(crate) const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// The order in which the code lengths of the code-length alphabet are transmitted.
pub(crate) const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Code length of literal/length symbol `sym` in the fixed Huffman code (§3.2.6).
pub(crate) const fn fixed_lit_len(sym: usize) -> u8 {
    match sym {
        0..=143 => 8,
        144..=255 => 9,
        256..=279 => 7,
        _ => 8,
    }
}

/// Length symbol offset (symbol - 257) for every match length 3..=258, indexed by length - 3.
pub(crate) static LENGTH_SYMBOL: [u8; 256] = length_symbols();

const fn length_symbols() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut code = 0;
    while code < 29 {
        let base = LENGTH_BASE[code] as usize - 3;
        let n = 1usize << LENGTH_EXTRA[code];
        let mut i = 0;
        while i < n && base + i < 256 {
            t[base + i] = code as u8;
            i += 1;
        }
        code += 1;
    }
    // Length 258 has its own symbol (285), not 284 + 31 extra.
    t[255] = 28;
    t
}

/// Distance symbol for a distance 1..=32768.
#[inline]
pub(crate) fn dist_symbol(dist: u32) -> usize {
    debug_assert!((1..=32768).contains(&dist));
    let d = dist - 1;
    if d < 4 {
        d as usize
    } else {
        // Two symbols per power of two: the top bit picks the pair, the next bit the symbol.
        let top = 31 - d.leading_zeros();
        (2 * top + ((d >> (top - 1)) & 1)) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_symbol_table_matches_bases() {
        for len in 3..=258usize {
            let code = LENGTH_SYMBOL[len - 3] as usize;
            let base = LENGTH_BASE[code] as usize;
            assert!(base <= len, "len {len}");
            assert!(len - base < (1 << LENGTH_EXTRA[code]) || (code == 28 && len == 258));
        }
        assert_eq!(LENGTH_SYMBOL[0], 0);
        assert_eq!(LENGTH_SYMBOL[255], 28);
        assert_eq!(LENGTH_SYMBOL[254], 27);
    }

    #[test]
    fn dist_symbol_matches_bases() {
        for dist in 1..=32768u32 {
            let s = dist_symbol(dist);
            let base = DIST_BASE[s] as u32;
            assert!(
                base <= dist && dist - base < (1 << DIST_EXTRA[s]),
                "dist {dist}"
            );
        }
    }
}
