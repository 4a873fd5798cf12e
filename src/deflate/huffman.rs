//! Canonical Huffman codes (RFC 1951 §3.2.2): the decoding table used by the inflater, and the
//! length-limited code construction used by the deflater.
//!
//! Decoding is table driven: one look-up of the next [`FAST_BITS`] bits resolves every code of
//! that length or shorter (the common case); longer codes, and bit patterns that belong to no
//! code, fall back to a canonical walk over the per-length counts.

/// Bits resolved by one look-up in the fast table.
pub(crate) const FAST_BITS: u32 = 10;
const FAST_SIZE: usize = 1 << FAST_BITS;
/// Longest code DEFLATE allows.
pub(crate) const MAX_BITS: usize = 15;
/// Most symbols of any alphabet (literal/length: 288).
pub(crate) const MAX_SYMBOLS: usize = 288;

/// [`Decoder::decode`]: the input ends before the code does.
pub(crate) const NEED_BITS: u32 = 0;
/// [`Decoder::decode`]: the bits are no code of this table.
pub(crate) const INVALID: u32 = u32::MAX;

/// Why a list of code lengths is not a usable prefix code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BuildError {
    /// More codes than the lengths leave room for (Kraft sum above 1).
    OverSubscribed,
    /// Fewer codes than the lengths leave room for (Kraft sum below 1), in a case RFC 1951 does
    /// not allow.
    Incomplete,
}

/// A decoding table for one canonical Huffman code.
#[derive(Clone)]
pub(crate) struct Decoder {
    /// Indexed by the next `FAST_BITS` input bits: `symbol << 4 | length` for codes of at most
    /// `FAST_BITS` bits, 0 where the slow path must decide.
    fast: [u16; FAST_SIZE],
    /// Number of codes of each length.
    counts: [u16; MAX_BITS + 1],
    /// Symbols ordered by (code length, symbol value): canonical code order.
    symbols: [u16; MAX_SYMBOLS],
}

impl Decoder {
    /// An empty table (no codes); fill it with [`Decoder::build`].
    pub(crate) const fn empty() -> Decoder {
        Decoder {
            fast: [0; FAST_SIZE],
            counts: [0; MAX_BITS + 1],
            symbols: [0; MAX_SYMBOLS],
        }
    }

    /// Builds the table for the code lengths `lengths` (index = symbol, 0 = unused).
    ///
    /// `allow_single`: a lone code of length 1 (and no codes at all) is accepted, as RFC 1951
    /// §3.2.7 allows for distance codes and zlib for literal/length codes; any other
    /// incomplete code is refused.
    pub(crate) const fn build(
        &mut self,
        lengths: &[u8],
        allow_single: bool,
    ) -> Result<(), BuildError> {
        let mut i = 0;
        while i <= MAX_BITS {
            self.counts[i] = 0;
            i += 1;
        }
        let mut used = 0;
        let mut s = 0;
        while s < lengths.len() {
            if lengths[s] != 0 {
                self.counts[lengths[s] as usize] += 1;
                used += 1;
            }
            s += 1;
        }
        let mut left: i32 = 1;
        let mut len = 1;
        while len <= MAX_BITS {
            left = (left << 1) - self.counts[len] as i32;
            if left < 0 {
                return Err(BuildError::OverSubscribed);
            }
            len += 1;
        }
        if left > 0 {
            let single = used == 1 && self.counts[1] == 1;
            if !(allow_single && (single || used == 0)) {
                return Err(BuildError::Incomplete);
            }
        }
        // Offsets of each length's first symbol in `symbols`.
        let mut offs = [0u16; MAX_BITS + 2];
        let mut len = 1;
        while len <= MAX_BITS {
            offs[len + 1] = offs[len] + self.counts[len];
            len += 1;
        }
        let mut s = 0;
        while s < lengths.len() {
            let l = lengths[s] as usize;
            if l != 0 {
                self.symbols[offs[l] as usize] = s as u16;
                offs[l] += 1;
            }
            s += 1;
        }
        let mut i = 0;
        while i < FAST_SIZE {
            self.fast[i] = 0;
            i += 1;
        }
        // Canonical codes, shortest first; each code of up to FAST_BITS bits fills every table
        // slot whose low bits are its bit-reversed form (codes are sent most significant bit
        // first, the table is indexed least significant bit first).
        let mut code: u32 = 0;
        let mut index = 0usize;
        let mut len = 1;
        while len <= FAST_BITS as usize {
            let mut k = 0;
            while k < self.counts[len] {
                let sym = self.symbols[index];
                let rev = reverse_bits(code, len as u32) as usize;
                let entry = (sym << 4) | len as u16;
                let mut slot = rev;
                while slot < FAST_SIZE {
                    self.fast[slot] = entry;
                    slot += 1 << len;
                }
                code += 1;
                index += 1;
                k += 1;
            }
            code <<= 1;
            len += 1;
        }
        Ok(())
    }

    /// Decodes the code at the bottom of `bits`, of which `avail` are real input. Returns
    /// `length << 16 | symbol`, [`NEED_BITS`] when more than `avail` bits would be needed to
    /// decide, or [`INVALID`].
    #[inline(always)]
    pub(crate) fn decode(&self, bits: u64, avail: u32) -> u32 {
        let e = self.fast[(bits as usize) & (FAST_SIZE - 1)];
        if e != 0 {
            let len = (e & 15) as u32;
            return if len <= avail {
                (len << 16) | (e >> 4) as u32
            } else {
                NEED_BITS
            };
        }
        self.decode_slow(bits, avail)
    }

    /// Canonical decoding one bit at a time: the code of length `len` is valid when it lies in
    /// `[first, first + counts[len])`.
    #[cold]
    fn decode_slow(&self, bits: u64, avail: u32) -> u32 {
        let mut code: u32 = 0;
        let mut first: u32 = 0;
        let mut index: u32 = 0;
        for len in 1..=MAX_BITS as u32 {
            if len > avail {
                return NEED_BITS;
            }
            code |= ((bits >> (len - 1)) & 1) as u32;
            let count = self.counts[len as usize] as u32;
            if code.wrapping_sub(first) < count {
                let sym = self.symbols[(index + code - first) as usize] as u32;
                return (len << 16) | sym;
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        INVALID
    }
}

/// The low `len` bits of `code`, in reverse order.
pub(crate) const fn reverse_bits(code: u32, len: u32) -> u32 {
    if len == 0 {
        return 0;
    }
    code.reverse_bits() >> (32 - len)
}

/// The fixed literal/length code of RFC 1951 §3.2.6, built at compile time.
pub(crate) static FIXED_LIT: Decoder = fixed_lit();
/// The fixed distance code (32 five-bit codes; symbols 30 and 31 are invalid in a stream).
pub(crate) static FIXED_DIST: Decoder = fixed_dist();

const fn fixed_lit() -> Decoder {
    let mut lengths = [0u8; 288];
    let mut s = 0;
    while s < 288 {
        lengths[s] = super::tables::fixed_lit_len(s);
        s += 1;
    }
    let mut d = Decoder::empty();
    match d.build(&lengths, false) {
        Ok(()) => d,
        Err(_) => panic!("the fixed literal/length code is complete"),
    }
}

const fn fixed_dist() -> Decoder {
    let mut d = Decoder::empty();
    match d.build(&[5u8; 32], false) {
        Ok(()) => d,
        Err(_) => panic!("the fixed distance code is complete"),
    }
}

/// Computes code lengths of at most `limit` bits for `freqs` (a Huffman code, then lengthened
/// where it exceeds the limit), writing them to `lens`. At least two symbols always get a code
/// (unused ones are added with weight 0) so that every code is complete, as strict decoders
/// (zlib) require.
pub(crate) fn code_lengths(freqs: &[u32], limit: u32, lens: &mut [u8]) {
    debug_assert!(lens.len() == freqs.len() && freqs.len() >= 2);
    lens.fill(0);
    // (weight, symbol), lightest first.
    let mut leaves = [(0u32, 0u16); MAX_SYMBOLS];
    let mut n = 0;
    for (s, &f) in freqs.iter().enumerate() {
        if f > 0 {
            leaves[n] = (f, s as u16);
            n += 1;
        }
    }
    let mut extra = 0u16;
    while n < 2 {
        if freqs[extra as usize] == 0 {
            leaves[n] = (0, extra);
            n += 1;
        }
        extra += 1;
    }
    let leaves = &mut leaves[..n];
    leaves.sort_unstable();
    // Two-queue Huffman construction: leaves in weight order, internal nodes are created in
    // weight order too, so the two lightest are always at the front of one of the queues.
    // 64-bit sums: symbol counts of a block fit 32 bits, their totals need not.
    let mut weight = [0u64; 2 * MAX_SYMBOLS];
    let mut parent = [0u16; 2 * MAX_SYMBOLS];
    for (w, &(f, _)) in weight.iter_mut().zip(leaves.iter()) {
        *w = u64::from(f);
    }
    let (mut next_leaf, mut next_inner, mut created) = (0usize, n, n);
    for _ in 0..n - 1 {
        let mut pick = || {
            if next_leaf < n && (next_inner >= created || weight[next_leaf] <= weight[next_inner]) {
                next_leaf += 1;
                next_leaf - 1
            } else {
                next_inner += 1;
                next_inner - 1
            }
        };
        let a = pick();
        let b = pick();
        weight[created] = weight[a] + weight[b];
        parent[a] = created as u16;
        parent[b] = created as u16;
        created += 1;
    }
    // Depths from the root (the last node) down; parents always have higher indices.
    let mut depth = [0u8; 2 * MAX_SYMBOLS];
    for node in (0..2 * n - 2).rev() {
        depth[node] = depth[parent[node] as usize] + 1;
    }
    let mut count = [0u32; MAX_BITS + 2];
    for &d in &depth[..n] {
        count[(d as u32).min(limit) as usize] += 1;
    }
    // Clamping overlong codes over-subscribes the code; each step moves one leaf from the
    // limit to a shorter level's split, lowering the Kraft sum (in units of 2^-limit) by one.
    let mut kraft: u64 = (1..=limit as usize)
        .map(|l| (count[l] as u64) << (limit as usize - l))
        .sum();
    while kraft > 1u64 << limit {
        let mut l = limit as usize - 1;
        while count[l] == 0 {
            l -= 1;
        }
        count[l] -= 1;
        count[l + 1] += 2;
        count[limit as usize] -= 1;
        kraft -= 1;
    }
    // The lightest leaves get the longest codes.
    let mut leaf = 0;
    for l in (1..=limit as usize).rev() {
        for _ in 0..count[l] {
            lens[leaves[leaf].1 as usize] = l as u8;
            leaf += 1;
        }
    }
}

/// Canonical codes for `lens`, bit-reversed so they can be written least significant bit first.
pub(crate) const fn canonical_codes(lens: &[u8], codes: &mut [u16]) {
    let mut count = [0u16; MAX_BITS + 1];
    let mut s = 0;
    while s < lens.len() {
        count[lens[s] as usize] += 1;
        s += 1;
    }
    count[0] = 0;
    let mut next = [0u32; MAX_BITS + 2];
    let mut code = 0u32;
    let mut l = 1;
    while l <= MAX_BITS {
        code = (code + count[l - 1] as u32) << 1;
        next[l] = code;
        l += 1;
    }
    let mut s = 0;
    while s < lens.len() {
        let l = lens[s] as usize;
        codes[s] = if l != 0 {
            next[l] += 1;
            reverse_bits(next[l] - 1, l as u32) as u16
        } else {
            0
        };
        s += 1;
    }
}

/// The fixed literal/length code's lengths (§3.2.6), for the encoder.
pub(crate) static FIXED_LIT_LENS: [u8; 288] = fixed_lit_lens();
/// The fixed literal/length code's bit-reversed codes, for the encoder.
pub(crate) static FIXED_LIT_CODES: [u16; 288] = fixed_lit_codes();
/// The fixed distance code's bit-reversed codes (all five bits long).
pub(crate) static FIXED_DIST_CODES: [u16; 30] = fixed_dist_codes();

const fn fixed_lit_lens() -> [u8; 288] {
    let mut lens = [0u8; 288];
    let mut s = 0;
    while s < 288 {
        lens[s] = super::tables::fixed_lit_len(s);
        s += 1;
    }
    lens
}

const fn fixed_lit_codes() -> [u16; 288] {
    let mut codes = [0u16; 288];
    canonical_codes(&fixed_lit_lens(), &mut codes);
    codes
}

const fn fixed_dist_codes() -> [u16; 30] {
    let mut codes = [0u16; 30];
    canonical_codes(&[5u8; 30], &mut codes);
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kraft(lens: &[u8]) -> f64 {
        lens.iter()
            .filter(|&&l| l > 0)
            .map(|&l| 0.5f64.powi(l as i32))
            .sum()
    }

    #[test]
    fn build_rejects_over_subscribed_and_incomplete_codes() {
        let mut d = Decoder::empty();
        assert_eq!(d.build(&[1, 1, 1], false), Err(BuildError::OverSubscribed));
        assert_eq!(d.build(&[1, 2], false), Err(BuildError::Incomplete));
        assert_eq!(d.build(&[2, 0, 0], true), Err(BuildError::Incomplete));
        assert_eq!(d.build(&[1, 0], false), Err(BuildError::Incomplete));
        assert_eq!(d.build(&[0, 1], true), Ok(()));
        assert_eq!(d.build(&[0, 0], true), Ok(()));
        assert_eq!(d.build(&[1, 2, 2], false), Ok(()));
    }

    #[test]
    fn decode_finds_short_and_long_codes_and_asks_for_bits() {
        // Lengths 1, 2, ..., 14, 15, 15: a complete code with codes longer than FAST_BITS.
        let mut lens: Vec<u8> = (1..=15).collect();
        lens.push(15);
        let mut d = Decoder::empty();
        d.build(&lens, false).unwrap();
        let mut codes = vec![0u16; lens.len()];
        canonical_codes(&lens, &mut codes);
        for (sym, (&code, &len)) in codes.iter().zip(&lens).enumerate() {
            let bits = code as u64;
            assert_eq!(d.decode(bits, 64), (len as u32) << 16 | sym as u32);
            assert_eq!(d.decode(bits, len as u32 - 1), NEED_BITS, "sym {sym}");
        }
        // An incomplete single code: the unused pattern is invalid.
        d.build(&[0, 1], true).unwrap();
        assert_eq!(d.decode(0, 64), 1 << 16 | 1);
        assert_eq!(d.decode(1, 64), INVALID);
    }

    #[test]
    fn fixed_tables_decode_the_rfc_codes() {
        // 'H' (0x48) is literal code 0x30 + 0x48 (8 bits), sent most significant bit first.
        let bits = reverse_bits(0x30 + 0x48, 8) as u64;
        assert_eq!(FIXED_LIT.decode(bits, 8), 8 << 16 | 0x48);
        // End of block: seven zero bits.
        assert_eq!(FIXED_LIT.decode(0, 7), 7 << 16 | 256);
        // Literal 255: 9 bits 1_1111_1111.
        assert_eq!(FIXED_LIT.decode(0x1ff, 9), 9 << 16 | 255);
        assert_eq!(
            FIXED_DIST.decode(reverse_bits(29, 5) as u64, 5),
            5 << 16 | 29
        );
    }

    #[test]
    fn code_lengths_are_complete_limited_and_ordered() {
        let mut seed = 7u64;
        for round in 0..300 {
            let n = 2 + round % 287;
            let freqs: Vec<u32> = (0..n)
                .map(|i| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    match round % 3 {
                        0 => (seed >> 40) as u32 % 1000,
                        // Fibonacci-like weights force long codes.
                        1 => 1u32 << (i % 30),
                        _ => (seed >> 60) as u32,
                    }
                })
                .collect();
            for limit in [7u32, 15] {
                if n > 1 << limit {
                    continue;
                }
                let mut lens = vec![0u8; n];
                code_lengths(&freqs, limit, &mut lens);
                assert!(lens.iter().all(|&l| l as u32 <= limit));
                assert!(lens.iter().filter(|&&l| l > 0).count() >= 2);
                assert!((kraft(&lens) - 1.0).abs() < 1e-12, "complete: {lens:?}");
                for (i, &f) in freqs.iter().enumerate() {
                    if f > 0 {
                        assert!(lens[i] > 0);
                    }
                }
                let mut d = Decoder::empty();
                assert_eq!(d.build(&lens, false), Ok(()));
            }
        }
    }
}
