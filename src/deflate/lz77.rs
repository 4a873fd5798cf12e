//! The DEFLATE compressor (RFC 1951) for permessage-deflate (RFC 7692 §7.2.1): LZ77 over hash
//! chains, greedy at the fast levels and lazy at the others, with every match distance capped
//! at the negotiated window (2^8..=2^15 bytes), and each block written as fixed Huffman,
//! dynamic Huffman or stored, whichever is smallest for that block.

use super::huffman::{
    canonical_codes, code_lengths, FIXED_DIST_CODES, FIXED_LIT_CODES, FIXED_LIT_LENS,
};
use super::tables::{
    dist_symbol, fixed_lit_len, CODE_LENGTH_ORDER, DIST_BASE, DIST_EXTRA, LENGTH_BASE,
    LENGTH_EXTRA, LENGTH_SYMBOL,
};

const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
/// Input appended to the buffer at a time: the transient memory of a long message.
const CHUNK: usize = 64 * 1024;
/// Tokens (literals and matches) per block at most.
const MAX_TOKENS: usize = 16 * 1024;
/// A length-3 match further back than this usually costs more than three literals.
const TOO_FAR: usize = 4096;
/// The fixed distance code's lengths.
const FIXED_DIST_LENS: [u8; 30] = [5; 30];

/// A compression level, from [`Level::FASTEST`] (1: greedy matching, one probe per position)
/// to [`Level::BEST`] (9: lazy matching, long hash chains).
///
/// ```
/// # #[cfg(feature = "internals")] {
/// use ws6455::deflate::Level;
/// assert_eq!(Level::new(0), Level::FASTEST);
/// assert_eq!(Level::new(42), Level::BEST);
/// assert_eq!(Level::DEFAULT.get(), 6);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Level(u8);

impl Level {
    /// Level 1: greedy, a single hash probe.
    pub const FASTEST: Level = Level(1);
    /// Level 6: lazy matching, chains of up to 16 probes.
    pub const DEFAULT: Level = Level(6);
    /// Level 9: lazy matching, chains of up to 256 probes.
    pub const BEST: Level = Level(9);

    /// Level `n`, clamped to 1..=9.
    pub fn new(n: u8) -> Level {
        Level(n.clamp(1, 9))
    }

    /// The level's number, 1..=9.
    pub fn get(self) -> u8 {
        self.0
    }

    fn params(self) -> Params {
        // (chain, nice, lazy, max_lazy, good, insert_limit)
        let (chain, nice, lazy, max_lazy, good, insert_limit) = match self.0 {
            1 => (1, 32, false, 0, 0, 4),
            2 => (2, 32, false, 0, 0, 8),
            3 => (4, 64, false, 0, 0, 16),
            4 => (4, 32, true, 8, 8, MAX_MATCH),
            5 => (8, 64, true, 16, 16, MAX_MATCH),
            6 => (16, 128, true, 32, 32, MAX_MATCH),
            // Level 7 is the one within 2 % of zlib's level 6 on both bench data sets.
            7 => (24, 128, true, 64, 32, MAX_MATCH),
            8 => (64, 258, true, 128, 64, MAX_MATCH),
            // 256 probes: on the bench data, 1024 gave the same sizes to within 0.01 %.
            _ => (256, 258, true, 258, 128, MAX_MATCH),
        };
        // Blocks covering fewer bytes than this are written with the fixed code (or stored)
        // without building a dynamic one: on chat traffic below 256 bytes the dynamic code
        // almost never wins (measured: 0.02 % of output), and building it is most of a small
        // message's cost. Level 1 trades a little more ratio for speed.
        let fixed_below = if self.0 == 1 { 512 } else { 256 };
        Params {
            fixed_below,
            chain,
            nice,
            lazy,
            max_lazy,
            good,
            insert_limit,
        }
    }
}

#[derive(Clone, Copy)]
struct Params {
    /// Blocks of fewer input bytes skip the dynamic Huffman code.
    fixed_below: usize,
    /// Hash-chain probes per search.
    chain: u32,
    /// Stop searching at a match this long.
    nice: usize,
    /// Lazy matching: keep a match only if the next position has no longer one.
    lazy: bool,
    /// Lazy: a match at least this long is taken without looking at the next position.
    max_lazy: usize,
    /// Lazy: search a quarter of the chain when the previous match is at least this long.
    good: usize,
    /// Greedy: positions inside a match longer than this are not hashed.
    insert_limit: usize,
}

/// Window, hash chains and the pending block, allocated on first use.
struct Work {
    /// History (at most `window` bytes before `cur`), then input not yet compressed.
    buf: Vec<u8>,
    /// Next position of `buf` to compress.
    cur: usize,
    /// Next position of `buf` to enter into the hash chains.
    ins: usize,
    /// Absolute stream position of `buf[0]` (its low 16 bits are what `head` stores).
    base: u64,
    /// Per hash: low 16 bits of the absolute position last seen with it.
    head: Vec<u16>,
    /// Per position (mod window): distance to the previous position with the same hash, 0 if
    /// none within the window.
    prev: Vec<u16>,
    hash_shift: u32,
    /// Start of the bytes the pending tokens cover.
    block_start: usize,
    tokens: Vec<u32>,
    lit_freq: [u32; 286],
    dist_freq: [u32; 30],
}

/// A DEFLATE compressor for the sending side of permessage-deflate, with match distances of at
/// most 2^`window_bits` bytes.
///
/// [`compress_message`](Deflater::compress_message) compresses one whole message and ends it
/// with a sync flush whose `00 00 FF FF` is removed (RFC 7692 §7.2.1); it never sets BFINAL.
/// The window carries over to the next message (context takeover) unless you call
/// [`reset`](Deflater::reset).
///
/// State is allocated on the first message: `2^window_bits` bytes of window, 2 bytes per window
/// position of hash chain and 2 bytes per hash bucket (2^(window_bits+1) buckets, at most
/// 2^15); see [`memory`](Deflater::memory).
///
/// ```
/// # #[cfg(feature = "internals")] {
/// use ws6455::deflate::{Deflater, Level};
/// let mut def = Deflater::new(15, Level::DEFAULT);
/// let mut out = Vec::new();
/// def.compress_message(b"Hello", &mut out);
/// assert_eq!(out, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]); // RFC 7692 §7.2.3.1
/// let mut out = Vec::new();
/// def.compress_message(b"", &mut out);
/// assert_eq!(out, [0x00]); // RFC 7692 §7.2.3.6
/// # }
/// ```
pub struct Deflater {
    window_bits: u8,
    level: Level,
    work: Option<Box<Work>>,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("window_bits", &self.window_bits)
            .field("level", &self.level)
            .field("memory", &self.memory())
            .finish()
    }
}

impl Deflater {
    /// A compressor whose matches reach back at most 2^`window_bits` bytes. Allocates nothing.
    ///
    /// # Panics
    /// If `window_bits` is not in 8..=15.
    ///
    /// ```
    /// # #[cfg(feature = "internals")] {
    /// use ws6455::deflate::{Deflater, Level};
    /// assert_eq!(Deflater::new(8, Level::FASTEST).memory(), 0);
    /// # }
    /// ```
    pub fn new(window_bits: u8, level: Level) -> Deflater {
        assert!(
            (8..=15).contains(&window_bits),
            "window_bits must be 8..=15, not {window_bits}"
        );
        Deflater {
            window_bits,
            level,
            work: None,
        }
    }

    /// The window size this compressor keeps to (8..=15).
    pub fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// The compression level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Bytes of heap memory held now: 0 before the first message and after
    /// [`reset`](Deflater::reset).
    ///
    /// ```
    /// # #[cfg(feature = "internals")] {
    /// use ws6455::deflate::{Deflater, Level};
    /// let mut def = Deflater::new(12, Level::DEFAULT);
    /// def.compress_message(b"hi there", &mut Vec::new());
    /// // 4 KiB window, 8 KiB of chains, 16 KiB of hash heads, plus the block being built.
    /// assert!(def.memory() < 40 * 1024, "{}", def.memory());
    /// def.reset();
    /// assert_eq!(def.memory(), 0);
    /// # }
    /// ```
    pub fn memory(&self) -> usize {
        self.work.as_ref().map_or(0, |w| {
            std::mem::size_of::<Work>()
                + w.buf.capacity()
                + 2 * (w.head.capacity() + w.prev.capacity())
                + 4 * w.tokens.capacity()
        })
    }

    /// Forgets the window and frees all state (for `*_no_context_takeover`: call it after each
    /// message).
    pub fn reset(&mut self) {
        self.work = None;
    }

    /// Compresses one message, appending it to `out`: DEFLATE blocks, then a sync flush with
    /// its final `00 00 FF FF` left off (RFC 7692 §7.2.1). BFINAL is never set. Matches may
    /// refer to earlier messages unless [`reset`](Deflater::reset) was called.
    ///
    /// ```
    /// # #[cfg(feature = "internals")] {
    /// use ws6455::deflate::{Deflater, Inflater, Level};
    /// let mut def = Deflater::new(10, Level::FASTEST);
    /// let text = b"{\"type\":\"chat\",\"text\":\"hello hello hello\"}";
    /// let mut z = Vec::new();
    /// def.compress_message(text, &mut z);
    /// assert!(z.len() < text.len());
    /// let mut inf = Inflater::new(10);
    /// let mut back = Vec::new();
    /// inf.inflate(&z, &mut back, text.len()).unwrap();
    /// inf.finish_message(&mut back, 0).unwrap();
    /// assert_eq!(back, text);
    /// # }
    /// ```
    pub fn compress_message(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let window = 1usize << self.window_bits;
        let params = self.level.params();
        let bits = self.window_bits;
        let chains = params.chain > 1;
        let work = self.work.get_or_insert_with(|| Work::new(bits, chains));
        let mut w = BitWriter { out, buf: 0, n: 0 };
        let mut rest = input;
        while !rest.is_empty() {
            let take = rest.len().min(CHUNK);
            work.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            // Leave a maximal match of look-ahead for the next chunk, unless this is the last.
            let end = if rest.is_empty() {
                work.buf.len()
            } else {
                work.buf.len() - MAX_MATCH
            };
            work.compress(end, window, params, &mut w);
            work.emit_block(&mut w, params.fixed_below);
            work.slide(window);
        }
        // Sync flush: an empty stored block (BFINAL = 0, BTYPE = 00), byte aligned; its
        // LEN/NLEN `00 00 FF FF` is what the receiver appends.
        w.put(0, 3);
        w.align();
        work.shrink(window);
    }
}

impl Work {
    /// `chains`: keep the per-position chains (every level but 1, which only ever looks at a
    /// hash's most recent position and needs the heads alone).
    fn new(window_bits: u8, chains: bool) -> Box<Work> {
        let hash_bits = (window_bits as u32 + 1).min(15);
        Box::new(Work {
            buf: Vec::with_capacity(2 << window_bits),
            cur: 0,
            ins: 0,
            base: 0,
            head: vec![0; 1 << hash_bits],
            prev: if chains {
                vec![0; 1 << window_bits]
            } else {
                Vec::new()
            },
            hash_shift: 32 - hash_bits,
            block_start: 0,
            tokens: Vec::new(),
            lit_freq: [0; 286],
            dist_freq: [0; 30],
        })
    }

    #[inline(always)]
    fn hash(&self, i: usize) -> usize {
        let b = &self.buf[i..i + 3];
        let v = b[0] as u32 | (b[1] as u32) << 8 | (b[2] as u32) << 16;
        (v.wrapping_mul(0x9E37_79B1) >> self.hash_shift) as usize
    }

    /// Enters positions `ins..=upto` into the hash chains (those with three bytes to hash).
    #[inline(always)]
    fn insert_upto(&mut self, upto: usize, window: usize) {
        if self.buf.len() < MIN_MATCH {
            return;
        }
        let last = upto.min(self.buf.len() - MIN_MATCH);
        while self.ins <= last {
            let i = self.ins;
            let h = self.hash(i);
            let abs = self.base + i as u64;
            let d = (abs as u16).wrapping_sub(self.head[h]) as usize;
            self.prev[abs as usize & (window - 1)] =
                if d != 0 && d <= window { d as u16 } else { 0 };
            self.head[h] = abs as u16;
            self.ins += 1;
        }
    }

    /// Length of the common prefix of `buf[a..]` and `buf[b..]`, `a < b`, at most `max`.
    #[inline(always)]
    fn match_len(buf: &[u8], a: usize, b: usize, max: usize) -> usize {
        let mut n = 0;
        while n + 8 <= max {
            let x = u64::from_le_bytes(buf[a + n..a + n + 8].try_into().unwrap());
            let y = u64::from_le_bytes(buf[b + n..b + n + 8].try_into().unwrap());
            let diff = x ^ y;
            if diff != 0 {
                return n + (diff.trailing_zeros() / 8) as usize;
            }
            n += 8;
        }
        while n < max && buf[a + n] == buf[b + n] {
            n += 1;
        }
        n
    }

    /// The longest match for position `i` (already inserted) longer than `better_than`:
    /// `(length, distance)`, length 0 if none.
    #[inline(always)]
    fn longest(
        &self,
        i: usize,
        window: usize,
        mut chain: u32,
        nice: usize,
        better_than: usize,
    ) -> (usize, usize) {
        let max = (self.buf.len() - i).min(MAX_MATCH);
        if max < MIN_MATCH {
            return (0, 0);
        }
        let nice = nice.min(max);
        let mask = window - 1;
        // `prev` is indexed by absolute position (`buf` slides by arbitrary amounts).
        let base = self.base as usize;
        let mut best = better_than.max(MIN_MATCH - 1);
        if best >= max {
            return (0, 0);
        }
        let mut best_d = 0;
        let mut d = self.prev[(base + i) & mask] as usize;
        let buf = &self.buf[..];
        // The budget counts full comparisons as 4 and candidates refused by their first
        // differing byte as 1: a chain of `chain` probes may look at up to 4 times as many
        // candidates when most are quick refusals.
        // Level 1's single probe stays one candidate, whatever it costs.
        chain = if chain == 1 {
            1
        } else {
            chain.saturating_mul(4)
        };
        while d != 0 && d <= window && d <= i && chain > 0 {
            let j = i - d;
            chain = chain.saturating_sub(1);
            if buf[j + best] == buf[i + best] && buf[j] == buf[i] {
                chain = chain.saturating_sub(3);
                let l = Self::match_len(buf, j, i, max);
                if l > best {
                    best = l;
                    best_d = d;
                    if l >= nice {
                        break;
                    }
                }
            }
            let step = self.prev[(base + j) & mask] as usize;
            if step == 0 {
                break;
            }
            d += step;
        }
        if best_d == 0 || (best == MIN_MATCH && best_d > TOO_FAR) {
            return (0, 0);
        }
        (best, best_d)
    }

    #[inline(always)]
    fn literal(&mut self, b: u8) {
        self.tokens.push(b as u32);
        self.lit_freq[b as usize] += 1;
    }

    #[inline(always)]
    fn matched(&mut self, len: usize, dist: usize) {
        self.tokens
            .push((dist as u32) << 8 | (len - MIN_MATCH) as u32);
        self.lit_freq[257 + LENGTH_SYMBOL[len - MIN_MATCH] as usize] += 1;
        self.dist_freq[dist_symbol(dist as u32)] += 1;
    }

    /// Turns `buf[cur..end]` (and possibly a little beyond, for the last match) into tokens,
    /// writing a block whenever enough tokens are pending.
    fn compress(&mut self, end: usize, window: usize, p: Params, w: &mut BitWriter<'_>) {
        if p.chain == 1 {
            self.compress_fastest(end, window, p, w);
            return;
        }
        let mut i = self.cur;
        if !p.lazy {
            while i < end {
                self.insert_upto(i, window);
                let (len, dist) = self.longest(i, window, p.chain, p.nice, 0);
                if len >= MIN_MATCH {
                    self.matched(len, dist);
                    if len > p.insert_limit {
                        self.ins = self.ins.max(i + len);
                    }
                    i += len;
                } else {
                    self.literal(self.buf[i]);
                    i += 1;
                }
                if self.tokens.len() >= MAX_TOKENS {
                    self.cur = i;
                    self.emit_block(w, p.fixed_below);
                }
            }
            self.cur = i;
            return;
        }
        // Lazy: a match found at `i - 1` (`prev_len`, `prev_dist`) is emitted only if position
        // `i` has no longer one; otherwise `i - 1` becomes a literal.
        let mut pending = false;
        let (mut prev_len, mut prev_dist) = (0, 0);
        while i < end {
            self.insert_upto(i, window);
            let (len, dist) = if pending && prev_len >= p.max_lazy {
                (0, 0)
            } else {
                let chain = if prev_len >= p.good {
                    p.chain / 4
                } else {
                    p.chain
                };
                self.longest(i, window, chain.max(1), p.nice, prev_len)
            };
            if pending {
                if prev_len >= MIN_MATCH && len <= prev_len {
                    self.matched(prev_len, prev_dist);
                    i = i - 1 + prev_len;
                    pending = false;
                    prev_len = 0;
                    if self.tokens.len() >= MAX_TOKENS {
                        self.cur = i;
                        self.emit_block(w, p.fixed_below);
                    }
                    continue;
                }
                self.literal(self.buf[i - 1]);
                if self.tokens.len() >= MAX_TOKENS {
                    self.cur = i;
                    self.emit_block(w, p.fixed_below);
                }
            }
            pending = true;
            prev_len = len;
            prev_dist = dist;
            i += 1;
        }
        if pending {
            if prev_len >= MIN_MATCH {
                self.matched(prev_len, prev_dist);
                i = i - 1 + prev_len;
            } else {
                self.literal(self.buf[i - 1]);
            }
        }
        self.cur = i;
    }

    /// Level 1: greedy, one candidate per position (the hash's most recent position, from the
    /// heads alone: no chains), 4-byte loads for hashing and comparing. Positions inside a
    /// match longer than `insert_limit` are not hashed. The last three bytes of the buffer are
    /// always literals.
    fn compress_fastest(&mut self, end: usize, window: usize, p: Params, w: &mut BitWriter<'_>) {
        let mut i = self.cur;
        let len = self.buf.len();
        let shift = self.hash_shift;
        let hash = |v: u32| (v.wrapping_mul(0x9E37_79B1) >> shift) as usize;
        // Positions before `ins` were hashed by the previous message or chunk.
        while self.ins < i && self.ins + 4 <= len {
            let v = u32::from_le_bytes(self.buf[self.ins..self.ins + 4].try_into().unwrap());
            self.head[hash(v)] = (self.base + self.ins as u64) as u16;
            self.ins += 1;
        }
        while i < end {
            if i + 4 > len {
                self.literal(self.buf[i]);
                i += 1;
                continue;
            }
            let v = u32::from_le_bytes(self.buf[i..i + 4].try_into().unwrap());
            let h = hash(v);
            let abs = (self.base + i as u64) as u16;
            let d = abs.wrapping_sub(self.head[h]) as usize;
            self.head[h] = abs;
            let mut found = 0;
            if d != 0 && d <= window && d <= i {
                let j = i - d;
                let c = u32::from_le_bytes(self.buf[j..j + 4].try_into().unwrap());
                if (c ^ v) & 0x00ff_ffff == 0 {
                    let max = (len - i).min(MAX_MATCH);
                    let l = 3 + Self::match_len(&self.buf, j + 3, i + 3, max - 3);
                    if l > MIN_MATCH || d <= TOO_FAR {
                        found = l;
                    }
                }
                if found > 0 {
                    self.matched(found, d);
                }
            }
            if found == 0 {
                self.literal(self.buf[i]);
                i += 1;
            } else {
                let next = i + found;
                if found <= p.insert_limit {
                    let mut k = i + 1;
                    while k < next && k + 4 <= len {
                        let v = u32::from_le_bytes(self.buf[k..k + 4].try_into().unwrap());
                        self.head[hash(v)] = (self.base + k as u64) as u16;
                        k += 1;
                    }
                }
                i = next;
            }
            if self.tokens.len() >= MAX_TOKENS {
                self.cur = i;
                self.emit_block(w, p.fixed_below);
            }
        }
        // The last positions (fewer than 4 bytes left) get hashed once more input is there.
        self.ins = i.min(len.saturating_sub(3));
        self.cur = i;
    }

    /// Keeps `window` bytes of history before `cur` and drops the rest, once at least half a
    /// window can go (moving the window costs a copy of it).
    fn slide(&mut self, window: usize) {
        debug_assert_eq!(self.block_start, self.cur);
        let cut = self.cur.saturating_sub(window);
        if cut > window / 2 {
            self.buf.drain(..cut);
            self.base += cut as u64;
            self.cur -= cut;
            self.ins -= cut.min(self.ins);
            self.block_start -= cut;
        }
    }

    /// Between messages: keep just the window.
    fn shrink(&mut self, window: usize) {
        self.slide(window);
        // Up to 1.5 windows of history stay between messages; 2 windows of capacity leave
        // room for small messages without reallocating.
        if self.buf.capacity() > 2 * window + 4096 {
            self.buf.shrink_to(2 * window);
        }
        if self.tokens.capacity() > 512 {
            self.tokens = Vec::new();
        }
    }

    /// Writes the pending tokens as one block, covering `buf[block_start..cur]`.
    fn emit_block(&mut self, w: &mut BitWriter<'_>, fixed_below: usize) {
        if self.tokens.is_empty() {
            self.block_start = self.cur;
            return;
        }
        self.lit_freq[256] += 1;
        let raw = &self.buf[self.block_start..self.cur];
        write_block(
            w,
            &self.tokens,
            &self.lit_freq,
            &self.dist_freq,
            raw,
            raw.len() >= fixed_below,
        );
        self.tokens.clear();
        self.lit_freq = [0; 286];
        self.dist_freq = [0; 30];
        self.block_start = self.cur;
    }
}

/// Bits written least significant first (RFC 1951 §3.1.1).
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    buf: u64,
    n: u32,
}

impl BitWriter<'_> {
    /// Appends the low `bits` bits of `v` (`bits` ≤ 32).
    #[inline(always)]
    fn put(&mut self, v: u64, bits: u32) {
        self.buf |= v << self.n;
        self.n += bits;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.buf as u32).to_le_bytes());
            self.buf >>= 32;
            self.n -= 32;
        }
    }

    /// Pads with zero bits to a byte boundary and writes out everything.
    fn align(&mut self) {
        while self.n > 0 {
            self.out.push(self.buf as u8);
            self.buf >>= 8;
            self.n = self.n.saturating_sub(8);
        }
        self.buf = 0;
    }

    /// Bits written so far modulo 8.
    fn bit_phase(&self) -> u32 {
        self.n % 8
    }
}

/// Code-length symbols (with their extra-bit values) describing `lens` (RFC 1951 §3.2.7),
/// written to `items`; returns how many.
fn rle_lengths(lens: &[u8], items: &mut [(u8, u8); 316], freq: &mut [u32; 19]) -> usize {
    let mut n = 0;
    let mut push = |item: (u8, u8)| {
        items[n] = item;
        freq[item.0 as usize] += 1;
        n += 1;
    };
    let mut i = 0;
    while i < lens.len() {
        let v = lens[i];
        let mut run = 1;
        while i + run < lens.len() && lens[i + run] == v {
            run += 1;
        }
        i += run;
        if v == 0 {
            while run >= 11 {
                let r = run.min(138);
                push((18, (r - 11) as u8));
                run -= r;
            }
            if run >= 3 {
                push((17, (run - 3) as u8));
                run = 0;
            }
        } else {
            push((v, 0));
            run -= 1;
            while run >= 3 {
                let r = run.min(6);
                push((16, (r - 3) as u8));
                run -= r;
            }
        }
        for _ in 0..run {
            push((v, 0));
        }
    }
    n
}

/// Writes one non-final block holding `tokens`, as whichever of dynamic Huffman, fixed Huffman
/// or stored costs the fewest bits (dynamic only considered when `try_dynamic`). `lit_freq`
/// includes the end-of-block symbol.
fn write_block(
    w: &mut BitWriter<'_>,
    tokens: &[u32],
    lit_freq: &[u32; 286],
    dist_freq: &[u32; 30],
    raw: &[u8],
    try_dynamic: bool,
) {
    // Extra bits are the same in both Huffman forms.
    let mut extra = 0u64;
    for k in 0..29 {
        extra += lit_freq[257 + k] as u64 * LENGTH_EXTRA[k] as u64;
    }
    let mut dist_count = 0u64;
    for k in 0..30 {
        extra += dist_freq[k] as u64 * DIST_EXTRA[k] as u64;
        dist_count += dist_freq[k] as u64;
    }
    let mut fixed_cost = 3 + extra + 5 * dist_count;
    for (&f, &l) in lit_freq.iter().zip(FIXED_LIT_LENS.iter()) {
        fixed_cost += f as u64 * l as u64;
    }
    let stored_cost: u64 = {
        let pieces = raw.len().div_ceil(65535).max(1) as u64;
        // The first header sits at the current bit phase; later ones are byte aligned.
        let first_pad = (8 - (w.bit_phase() + 3) % 8) % 8;
        3 + first_pad as u64 + (pieces - 1) * 8 + pieces * 32 + 8 * raw.len() as u64
    };
    if !try_dynamic {
        if stored_cost <= fixed_cost {
            write_stored(w, raw);
        } else {
            w.put(0b010, 3);
            write_tokens(
                w,
                tokens,
                &FIXED_LIT_LENS,
                &FIXED_DIST_LENS,
                &FIXED_LIT_CODES,
                &FIXED_DIST_CODES,
            );
        }
        return;
    }

    // 288 entries: the fixed code's canonical order counts symbols 286 and 287.
    let mut lit_lens = [0u8; 288];
    let mut dist_lens = [0u8; 30];
    code_lengths(lit_freq, 15, &mut lit_lens[..286]);
    code_lengths(dist_freq, 15, &mut dist_lens);
    let hlit = 257.max(
        286 - lit_lens[..286]
            .iter()
            .rev()
            .take_while(|&&l| l == 0)
            .count(),
    );
    let hdist = 1.max(30 - dist_lens.iter().rev().take_while(|&&l| l == 0).count());
    let mut all = [0u8; 316];
    all[..hlit].copy_from_slice(&lit_lens[..hlit]);
    all[hlit..hlit + hdist].copy_from_slice(&dist_lens[..hdist]);
    let mut items = [(0u8, 0u8); 316];
    let mut clen_freq = [0u32; 19];
    let n_items = rle_lengths(&all[..hlit + hdist], &mut items, &mut clen_freq);
    let mut clen_lens = [0u8; 19];
    code_lengths(&clen_freq, 7, &mut clen_lens);
    let hclen = 4.max(
        19 - CODE_LENGTH_ORDER
            .iter()
            .rev()
            .take_while(|&&s| clen_lens[s] == 0)
            .count(),
    );
    let dyn_cost: u64 = 3
        + 14
        + 3 * hclen as u64
        + (0..19)
            .map(|s| clen_freq[s] as u64 * clen_lens[s] as u64)
            .sum::<u64>()
        + (clen_freq[16] as u64 * 2 + clen_freq[17] as u64 * 3 + clen_freq[18] as u64 * 7)
        + extra
        + (0..286)
            .map(|s| lit_freq[s] as u64 * lit_lens[s] as u64)
            .sum::<u64>()
        + (0..30)
            .map(|s| dist_freq[s] as u64 * dist_lens[s] as u64)
            .sum::<u64>();

    if stored_cost <= fixed_cost.min(dyn_cost) {
        write_stored(w, raw);
        return;
    }
    if fixed_cost <= dyn_cost {
        w.put(0b010, 3);
        write_tokens(
            w,
            tokens,
            &FIXED_LIT_LENS,
            &FIXED_DIST_LENS,
            &FIXED_LIT_CODES,
            &FIXED_DIST_CODES,
        );
        return;
    }
    w.put(0b100, 3);
    w.put((hlit - 257) as u64, 5);
    w.put((hdist - 1) as u64, 5);
    w.put((hclen - 4) as u64, 4);
    for &s in &CODE_LENGTH_ORDER[..hclen] {
        w.put(clen_lens[s] as u64, 3);
    }
    let mut clen_codes = [0u16; 19];
    canonical_codes(&clen_lens, &mut clen_codes);
    for &(s, x) in &items[..n_items] {
        let s = s as usize;
        let xbits = match s {
            16 => 2,
            17 => 3,
            18 => 7,
            _ => 0,
        };
        w.put(
            clen_codes[s] as u64 | (x as u64) << clen_lens[s],
            clen_lens[s] as u32 + xbits,
        );
    }
    let mut lit_codes = [0u16; 288];
    let mut dist_codes = [0u16; 30];
    canonical_codes(&lit_lens[..hlit], &mut lit_codes[..hlit]);
    canonical_codes(&dist_lens[..hdist], &mut dist_codes[..hdist]);
    write_tokens(w, tokens, &lit_lens, &dist_lens, &lit_codes, &dist_codes);
}

/// Stored blocks of at most 65 535 bytes each holding `raw`.
fn write_stored(w: &mut BitWriter<'_>, raw: &[u8]) {
    for chunk in raw.chunks(65535) {
        w.put(0, 3);
        w.align();
        let len = chunk.len() as u16;
        w.out.extend_from_slice(&len.to_le_bytes());
        w.out.extend_from_slice(&(!len).to_le_bytes());
        w.out.extend_from_slice(chunk);
    }
}

/// Writes `tokens` and the end-of-block code with the given codes.
#[inline(always)]
fn write_tokens(
    w: &mut BitWriter<'_>,
    tokens: &[u32],
    lit_lens: &[u8; 288],
    dist_lens: &[u8; 30],
    lit_codes: &[u16; 288],
    dist_codes: &[u16; 30],
) {
    for &t in tokens {
        if t < 256 {
            w.put(lit_codes[t as usize] as u64, lit_lens[t as usize] as u32);
            continue;
        }
        let len = (t & 0xff) as usize + MIN_MATCH;
        let dist = (t >> 8) as usize;
        let ls = LENGTH_SYMBOL[len - MIN_MATCH] as usize;
        let l1 = lit_lens[257 + ls] as u32;
        let e1 = LENGTH_EXTRA[ls] as u32;
        w.put(
            lit_codes[257 + ls] as u64 | ((len - LENGTH_BASE[ls] as usize) as u64) << l1,
            l1 + e1,
        );
        let ds = dist_symbol(dist as u32);
        let l2 = dist_lens[ds] as u32;
        w.put(
            dist_codes[ds] as u64 | ((dist - DIST_BASE[ds] as usize) as u64) << l2,
            l2 + DIST_EXTRA[ds] as u32,
        );
    }
    w.put(lit_codes[256] as u64, lit_lens[256] as u32);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_chains_find_the_nearest_longest_match() {
        let mut seed = 1u64;
        let words = ["hello ", "world ", "the ", "quick ", "brown ", "fox "];
        let mut data = Vec::new();
        while data.len() < 20_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            data.extend_from_slice(words[(seed >> 33) as usize % 6].as_bytes());
        }
        let bits = 12;
        let window = 1 << bits;
        let mut w = Work::new(bits, true);
        w.buf.extend_from_slice(&data);
        for i in (0..data.len() - 300).step_by(7) {
            w.insert_upto(i, window);
            let (len, dist) = w.longest(i, window, u32::MAX, MAX_MATCH, 0);
            // Brute force: longest, then nearest.
            let (mut bl, mut bd) = (0, 0);
            for d in 1..=window.min(i) {
                let l = Work::match_len(&w.buf, i - d, i, MAX_MATCH);
                if l > bl {
                    (bl, bd) = (l, d);
                }
            }
            if bl < MIN_MATCH || (bl == MIN_MATCH && bd > TOO_FAR) {
                (bl, bd) = (0, 0);
            }
            assert_eq!((len, dist), (bl, bd), "at {i}");
        }
    }

    /// The same after the window has slid by arbitrary amounts between messages (the chains
    /// are indexed by absolute position).
    #[test]
    fn hash_chains_survive_sliding_between_messages() {
        let mut seed = 1u64;
        let words = [
            "hello", "world", "the", "quick", "brown", "fox", "json", "socket",
        ];
        let mut msg = || {
            let mut m = Vec::new();
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let len = 20 + (seed >> 40) as usize % 1980;
            while m.len() < len {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                m.extend_from_slice(words[(seed >> 33) as usize % 8].as_bytes());
                m.push(b' ');
            }
            m
        };
        let window = 1 << 15;
        let mut def = Deflater::new(15, Level::BEST);
        for _ in 0..60 {
            def.compress_message(&msg(), &mut Vec::new());
        }
        let m = msg();
        let w = def.work.as_mut().unwrap();
        let start = w.buf.len();
        w.buf.extend_from_slice(&m);
        for i in start..w.buf.len() - 3 {
            w.insert_upto(i, window);
            let (len, dist) = w.longest(i, window, 1 << 20, MAX_MATCH, 0);
            let (mut bl, mut bd) = (0, 0);
            for d in 1..=window.min(i) {
                let l = Work::match_len(&w.buf, i - d, i, (w.buf.len() - i).min(MAX_MATCH));
                if l > bl {
                    (bl, bd) = (l, d);
                }
            }
            if bl < MIN_MATCH || (bl == MIN_MATCH && bd > TOO_FAR) {
                (bl, bd) = (0, 0);
            }
            assert_eq!((len, dist), (bl, bd), "at {i}");
        }
    }
}
