//! A resumable DEFLATE (RFC 1951) decoder for permessage-deflate (RFC 7692 §7.2.2).
//!
//! Compressed bytes may arrive in any split; the decoder keeps its position (bit buffer,
//! block state, code tables) between calls and suspends only at whole symbols, so a split never
//! changes the output. Output is bounded by the caller's `limit` on every call, checked before
//! each byte is produced, so a decompression bomb stops at the limit without allocating past it.

use super::huffman::{BuildError, Decoder, FIXED_DIST, FIXED_LIT, INVALID, NEED_BITS};
use super::tables::{CODE_LENGTH_ORDER, DIST_BASE, DIST_EXTRA, LENGTH_BASE, LENGTH_EXTRA};
use std::fmt;

/// The bytes a permessage-deflate receiver appends to every message before inflating it
/// (RFC 7692 §7.2.2): the LEN/NLEN of the empty stored block the sender's sync flush ended with.
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Output kept beyond the window before old history is discarded: bigger means fewer moves of
/// the window during long messages, at the cost of that much transient memory.
const SLACK: usize = 32 * 1024;

/// Scratch bytes after the output that match copies may overwrite (they copy 8 at a time).
const GUARD: usize = 8;

/// Why a compressed stream was refused. Every variant ends the stream: the inflater returns the
/// same error from then on, until [`Inflater::reset`].
///
/// For the WebSocket close code, see [`InflateError::close_code`]: 1009 for
/// [`TooLarge`](InflateError::TooLarge), 1007 for everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// A block header with BTYPE = 3 (reserved).
    InvalidBlockType,
    /// A stored block whose LEN is not the one's complement of NLEN.
    StoredLengthMismatch,
    /// A dynamic block declaring more than 286 literal/length or 30 distance codes.
    TooManyCodes,
    /// A code-length sequence that repeats a length before any was given, or runs past the
    /// declared number of codes.
    BadCodeLengths,
    /// Code lengths that describe more codes than fit (an over-subscribed prefix code).
    OverSubscribedCode,
    /// Code lengths that leave codes unassigned, other than the single one-bit code RFC 1951
    /// allows.
    IncompleteCode,
    /// A dynamic block whose literal/length code has no end-of-block symbol.
    MissingEndOfBlock,
    /// Bits that are no code of the block's table, or the reserved symbols (literal/length 286
    /// and 287, distance 30 and 31).
    InvalidSymbol,
    /// A match reaching back before the first byte of the history.
    DistanceTooFarBack,
    /// A match reaching back further than the negotiated window (2^window_bits bytes).
    DistanceBeyondWindow,
    /// The message ended inside a block (after the tail of RFC 7692 §7.2.2 was appended).
    UnexpectedEnd,
    /// The output would exceed the caller's limit.
    TooLarge,
}

impl InflateError {
    /// The RFC 6455 §7.4.1 close code a WebSocket endpoint should fail the connection with:
    /// 1009 (message too big) for [`TooLarge`](InflateError::TooLarge), otherwise 1007
    /// (invalid frame payload data): the frames were well formed, the data they carried is not
    /// valid for the negotiated extension.
    ///
    /// ```
    /// # #[cfg(feature = "internals")] {
    /// use ws6455::deflate::InflateError;
    /// assert_eq!(InflateError::TooLarge.close_code(), 1009);
    /// assert_eq!(InflateError::InvalidBlockType.close_code(), 1007);
    /// # }
    /// ```
    pub fn close_code(self) -> u16 {
        match self {
            InflateError::TooLarge => 1009,
            _ => 1007,
        }
    }
}

impl InflateError {
    /// What was wrong, in a few words (also what `Display` writes).
    pub fn as_str(self) -> &'static str {
        match self {
            InflateError::InvalidBlockType => "invalid DEFLATE block type",
            InflateError::StoredLengthMismatch => {
                "stored block length does not match its complement"
            }
            InflateError::TooManyCodes => "too many literal/length or distance codes",
            InflateError::BadCodeLengths => "invalid code length sequence",
            InflateError::OverSubscribedCode => "over-subscribed Huffman code",
            InflateError::IncompleteCode => "incomplete Huffman code",
            InflateError::MissingEndOfBlock => "literal/length code without end-of-block",
            InflateError::InvalidSymbol => "invalid Huffman code or symbol",
            InflateError::DistanceTooFarBack => "distance too far back",
            InflateError::DistanceBeyondWindow => "distance beyond the negotiated window",
            InflateError::UnexpectedEnd => "compressed message ends inside a block",
            InflateError::TooLarge => "decompressed message too large",
        }
    }
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for InflateError {}

impl From<BuildError> for InflateError {
    fn from(e: BuildError) -> Self {
        match e {
            BuildError::OverSubscribed => InflateError::OverSubscribedCode,
            BuildError::Incomplete => InflateError::IncompleteCode,
        }
    }
}

/// What [`Inflater::inflate`] reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// All input was used; more may follow.
    NeedsInput,
    /// A block with BFINAL set has ended. The rest of this message's input is ignored (as
    /// zlib-based peers do); the next message starts a new stream over the same history.
    StreamEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a block header.
    Header,
    /// Aligned, before LEN/NLEN of a stored block.
    StoredLen,
    /// Inside a stored block, with this many bytes to copy.
    Stored(u16),
    /// Before HLIT/HDIST/HCLEN.
    DynHeader,
    /// Reading code-length code lengths (3 bits each).
    CodeLenLens,
    /// Reading the literal/length and distance code lengths.
    Lens,
    /// Decoding symbols of a fixed (`false`) or dynamic (`true`) block.
    Block(bool),
    /// After a final block: the rest of the message is ignored.
    Done,
}

/// Tables of the current dynamic block, allocated when the first dynamic block arrives.
struct Dynamic {
    lit: Decoder,
    dist: Decoder,
    clen: Decoder,
    lens: [u8; 286 + 30],
    clen_lens: [u8; 19],
    hlit: usize,
    hdist: usize,
    hclen: usize,
    idx: usize,
}

/// A resumable raw-DEFLATE decoder with a history window of 2^`window_bits` bytes, for the
/// receiving side of permessage-deflate.
///
/// Feed a message's payload with [`inflate`](Inflater::inflate) in any number of pieces, then
/// call [`finish_message`](Inflater::finish_message), which appends the `00 00 FF FF` tail of
/// RFC 7692 §7.2.2. The history carries over to the next message (context takeover) unless you
/// call [`reset`](Inflater::reset).
///
/// Memory is allocated on first use and grows with the output produced: between messages at
/// most 1.5 × 2^`window_bits` bytes of history are kept (the window is moved once per half
/// window of output rather than after every message) in a buffer of at most 2 × 2^`window_bits`
/// bytes, plus about 5 KiB of code tables while a
/// dynamic block is being decoded, freed at the end of each message; see
/// [`memory`](Inflater::memory).
///
/// ```
/// # #[cfg(feature = "internals")] {
/// use ws6455::deflate::Inflater;
/// let mut inf = Inflater::new(15);
/// let mut out = Vec::new();
/// // RFC 7692 §7.2.3.1: "Hello", compressed, split across two frames.
/// inf.inflate(&[0xf2, 0x48, 0xcd], &mut out, 1024).unwrap();
/// let left = 1024 - out.len();
/// inf.inflate(&[0xc9, 0xc9, 0x07, 0x00], &mut out, left).unwrap();
/// let left = 1024 - out.len();
/// inf.finish_message(&mut out, left).unwrap();
/// assert_eq!(out, b"Hello");
/// // Context takeover: the second "Hello" refers back to the first.
/// let mut out = Vec::new();
/// inf.inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut out, 1024).unwrap();
/// inf.finish_message(&mut out, 1024).unwrap();
/// assert_eq!(out, b"Hello");
/// # }
/// ```
pub struct Inflater {
    window_bits: u8,
    o: Output,
    bitbuf: u64,
    bitcount: u32,
    state: State,
    last_block: bool,
    dynamic: Option<Box<Dynamic>>,
    failed: Option<InflateError>,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("window_bits", &self.window_bits)
            .field("history", &self.o.end)
            .field("state", &self.state)
            .field("failed", &self.failed)
            .finish()
    }
}

impl Inflater {
    /// A decoder accepting match distances up to 2^`window_bits` bytes. Allocates nothing.
    ///
    /// # Panics
    /// If `window_bits` is not in 8..=15 (the range RFC 7692 §7.1.2 negotiates).
    ///
    /// ```
    /// # #[cfg(feature = "internals")] {
    /// let inf = ws6455::deflate::Inflater::new(9);
    /// assert_eq!(inf.memory(), 0);
    /// # }
    /// ```
    pub fn new(window_bits: u8) -> Inflater {
        assert!(
            (8..=15).contains(&window_bits),
            "window_bits must be 8..=15, not {window_bits}"
        );
        Inflater {
            window_bits,
            o: Output {
                hist: Vec::new(),
                end: 0,
                out_mark: 0,
                window: 1 << window_bits,
            },
            bitbuf: 0,
            bitcount: 0,
            state: State::Header,
            last_block: false,
            dynamic: None,
            failed: None,
        }
    }

    /// The window size this decoder accepts, as negotiated (8..=15).
    ///
    /// ```
    /// # #[cfg(feature = "internals")] {
    /// assert_eq!(ws6455::deflate::Inflater::new(12).window_bits(), 12);
    /// # }
    /// ```
    pub fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Bytes of heap memory held now (history buffer and code tables).
    ///
    /// ```
    /// # #[cfg(feature = "internals")] {
    /// use ws6455::deflate::{Deflater, Inflater, Level};
    /// let mut def = Deflater::new(10, Level::DEFAULT);
    /// let mut z = Vec::new();
    /// def.compress_message(&[b'x'; 5000], &mut z);
    /// let mut inf = Inflater::new(10);
    /// let mut out = Vec::new();
    /// inf.inflate(&z, &mut out, usize::MAX).unwrap();
    /// inf.finish_message(&mut out, usize::MAX).unwrap();
    /// assert_eq!(out.len(), 5000);
    /// // Between messages at most 2 windows (here 2 KiB) are held.
    /// assert!(inf.memory() <= 2048, "{}", inf.memory());
    /// # }
    /// ```
    pub fn memory(&self) -> usize {
        self.o.hist.capacity()
            + self
                .dynamic
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<Dynamic>())
    }

    /// Forgets the history and frees all memory (for `*_no_context_takeover`, call it after each
    /// message), and clears any error.
    ///
    /// ```
    /// # #[cfg(feature = "internals")] {
    /// use ws6455::deflate::{Inflater, InflateError};
    /// let mut inf = Inflater::new(15);
    /// let mut out = Vec::new();
    /// inf.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100).unwrap();
    /// inf.finish_message(&mut out, 100).unwrap();
    /// inf.reset();
    /// // Without the history, the second "Hello" of RFC 7692 §7.2.3.2 refers to nothing.
    /// let err = inf.inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut out, 100).unwrap_err();
    /// assert_eq!(err, InflateError::DistanceTooFarBack);
    /// # }
    /// ```
    pub fn reset(&mut self) {
        *self = Inflater::new(self.window_bits);
    }

    /// Inflates the next piece of a message's compressed payload, appending at most `limit`
    /// bytes to `out` (pass what the message may still grow by). Producing more is
    /// [`InflateError::TooLarge`]; the output is checked before each byte, so nothing past the
    /// limit is ever allocated.
    ///
    /// ```
    /// # #[cfg(feature = "internals")] {
    /// use ws6455::deflate::{Inflater, InflateError};
    /// let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    /// let mut out = Vec::new();
    /// assert_eq!(Inflater::new(15).inflate(&hello, &mut out, 4), Err(InflateError::TooLarge));
    /// let mut out = Vec::new();
    /// let mut inf = Inflater::new(15);
    /// inf.inflate(&hello, &mut out, 5).unwrap();
    /// inf.finish_message(&mut out, 0).unwrap();
    /// assert_eq!(out, b"Hello");
    /// # }
    /// ```
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<Status, InflateError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let result = self.run(input, out, limit);
        self.o.flush(out);
        match result {
            Ok(()) if self.state == State::Done => Ok(Status::StreamEnd),
            Ok(()) => Ok(Status::NeedsInput),
            Err(e) => {
                self.failed = Some(e);
                Err(e)
            }
        }
    }

    /// Ends a message: inflates the `00 00 FF FF` tail (RFC 7692 §7.2.2), appending at most
    /// `limit` bytes to `out`, and checks that the message ended on a block boundary (or after a
    /// final block). The history is kept for the next message; code tables are freed.
    ///
    /// ```
    /// # #[cfg(feature = "internals")] {
    /// use ws6455::deflate::{Inflater, InflateError};
    /// let mut inf = Inflater::new(15);
    /// let mut out = Vec::new();
    /// // "Hello" cut off before its end-of-block code.
    /// inf.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07], &mut out, 100).unwrap();
    /// assert_eq!(inf.finish_message(&mut out, 100), Err(InflateError::UnexpectedEnd));
    /// # }
    /// ```
    pub fn finish_message(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        self.inflate(&TAIL, out, limit)?;
        match self.state {
            State::Header | State::Done => {}
            _ => {
                self.failed = Some(InflateError::UnexpectedEnd);
                return Err(InflateError::UnexpectedEnd);
            }
        }
        // Messages are whole bytes: drop the padding bits and start the next one afresh.
        self.bitbuf = 0;
        self.bitcount = 0;
        self.state = State::Header;
        self.last_block = false;
        self.dynamic = None;
        // Moving the window costs a copy of it: do it once per half window of output, not
        // once per message, so between messages up to 1.5 windows of history are held.
        if self.o.end > self.o.window + self.o.window / 2 {
            self.o.trim_history();
        }
        if self.o.hist.len() > 2 * self.o.window {
            self.o
                .hist
                .truncate((2 * self.o.window).max(self.o.end + GUARD));
            self.o.hist.shrink_to_fit();
        }
        Ok(())
    }

    fn run(&mut self, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        let mut pos = 0usize;
        let mut produced = 0usize;
        // Loads whole bytes into the bit buffer until it holds at least 56 bits or the input
        // ends. Bits above `bitcount` are either zero or the next input bits (the 8-byte load).
        macro_rules! refill {
            () => {
                if pos + 8 <= input.len() {
                    let v = u64::from_le_bytes(input[pos..pos + 8].try_into().unwrap());
                    self.bitbuf |= v << self.bitcount;
                    pos += ((63 - self.bitcount) >> 3) as usize;
                    self.bitcount |= 56;
                } else {
                    while self.bitcount <= 56 && pos < input.len() {
                        self.bitbuf |= (input[pos] as u64) << self.bitcount;
                        pos += 1;
                        self.bitcount += 8;
                    }
                }
            };
        }
        macro_rules! consume {
            ($n:expr) => {{
                let n = $n;
                self.bitbuf >>= n;
                self.bitcount -= n;
            }};
        }
        loop {
            match self.state {
                State::Done => return Ok(()),
                State::Header => {
                    refill!();
                    if self.bitcount < 3 {
                        return Ok(());
                    }
                    let h = self.bitbuf as u32;
                    consume!(3);
                    self.last_block = h & 1 != 0;
                    self.state = match (h >> 1) & 3 {
                        0 => {
                            consume!(self.bitcount % 8);
                            State::StoredLen
                        }
                        1 => State::Block(false),
                        2 => State::DynHeader,
                        _ => return Err(InflateError::InvalidBlockType),
                    };
                }
                State::StoredLen => {
                    refill!();
                    if self.bitcount < 32 {
                        return Ok(());
                    }
                    let len = self.bitbuf as u16;
                    let nlen = (self.bitbuf >> 16) as u16;
                    if len != !nlen {
                        return Err(InflateError::StoredLengthMismatch);
                    }
                    consume!(32);
                    self.state = State::Stored(len);
                }
                State::Stored(mut left) => {
                    while left > 0 {
                        if produced == limit {
                            return Err(InflateError::TooLarge);
                        }
                        self.o.room(out);
                        let space = (self.o.hist.len() - GUARD - self.o.end)
                            .min(self.o.window + SLACK - self.o.end)
                            .min(limit - produced);
                        if self.bitcount >= 8 {
                            // Whole bytes already in the bit buffer come first.
                            self.o.hist[self.o.end] = self.bitbuf as u8;
                            self.o.end += 1;
                            consume!(8);
                            left -= 1;
                            produced += 1;
                            continue;
                        }
                        // The bit buffer is empty (stored data is byte aligned): drop the
                        // look-ahead bits of the 8-byte load, they are copied directly now.
                        self.bitbuf = 0;
                        self.bitcount = 0;
                        let n = (left as usize).min(space).min(input.len() - pos);
                        if n == 0 {
                            self.state = State::Stored(left);
                            return Ok(());
                        }
                        self.o.hist[self.o.end..self.o.end + n]
                            .copy_from_slice(&input[pos..pos + n]);
                        self.o.end += n;
                        pos += n;
                        left -= n as u16;
                        produced += n;
                    }
                    self.end_block();
                }
                State::DynHeader => {
                    refill!();
                    if self.bitcount < 14 {
                        return Ok(());
                    }
                    let h = self.bitbuf as usize;
                    consume!(14);
                    let hlit = 257 + (h & 31);
                    let hdist = 1 + ((h >> 5) & 31);
                    let hclen = 4 + ((h >> 10) & 15);
                    if hlit > 286 || hdist > 30 {
                        return Err(InflateError::TooManyCodes);
                    }
                    let d = self.dynamic.get_or_insert_with(|| {
                        Box::new(Dynamic {
                            lit: Decoder::empty(),
                            dist: Decoder::empty(),
                            clen: Decoder::empty(),
                            lens: [0; 316],
                            clen_lens: [0; 19],
                            hlit: 0,
                            hdist: 0,
                            hclen: 0,
                            idx: 0,
                        })
                    });
                    d.hlit = hlit;
                    d.hdist = hdist;
                    d.hclen = hclen;
                    d.idx = 0;
                    d.clen_lens = [0; 19];
                    self.state = State::CodeLenLens;
                }
                State::CodeLenLens => {
                    let d = self.dynamic.as_mut().expect("dynamic tables");
                    while d.idx < d.hclen {
                        refill!();
                        if self.bitcount < 3 {
                            return Ok(());
                        }
                        d.clen_lens[CODE_LENGTH_ORDER[d.idx]] = (self.bitbuf & 7) as u8;
                        consume!(3);
                        d.idx += 1;
                    }
                    d.clen.build(&d.clen_lens, false)?;
                    d.idx = 0;
                    self.state = State::Lens;
                }
                State::Lens => {
                    let d = self.dynamic.as_mut().expect("dynamic tables");
                    let total = d.hlit + d.hdist;
                    while d.idx < total {
                        refill!();
                        let e = d.clen.decode(self.bitbuf, self.bitcount);
                        if e == NEED_BITS {
                            return Ok(());
                        }
                        if e == INVALID {
                            return Err(InflateError::InvalidSymbol);
                        }
                        let (len, sym) = (e >> 16, e & 0xffff);
                        if sym < 16 {
                            consume!(len);
                            d.lens[d.idx] = sym as u8;
                            d.idx += 1;
                            continue;
                        }
                        let (extra, base) = match sym {
                            16 => (2, 3),
                            17 => (3, 3),
                            _ => (7, 11),
                        };
                        if self.bitcount < len + extra {
                            return Ok(());
                        }
                        let count = base + ((self.bitbuf >> len) as usize & ((1 << extra) - 1));
                        let value = if sym == 16 {
                            if d.idx == 0 {
                                return Err(InflateError::BadCodeLengths);
                            }
                            d.lens[d.idx - 1]
                        } else {
                            0
                        };
                        if d.idx + count > total {
                            return Err(InflateError::BadCodeLengths);
                        }
                        consume!(len + extra);
                        d.lens[d.idx..d.idx + count].fill(value);
                        d.idx += count;
                    }
                    if d.lens[256] == 0 {
                        return Err(InflateError::MissingEndOfBlock);
                    }
                    let (lit, dist) = d.lens[..total].split_at(d.hlit);
                    d.lit.build(lit, true)?;
                    d.dist.build(dist, true)?;
                    self.state = State::Block(true);
                }
                State::Block(dynamic) => {
                    let (lit, dist) = match (dynamic, self.dynamic.as_deref()) {
                        (true, Some(d)) => (&d.lit, &d.dist),
                        _ => (&FIXED_LIT, &FIXED_DIST),
                    };
                    let window = self.o.window;
                    loop {
                        self.o.room(out);
                        refill!();
                        let bits = self.bitbuf;
                        let avail = self.bitcount;
                        let e = lit.decode(bits, avail);
                        if e == NEED_BITS {
                            return Ok(());
                        }
                        if e == INVALID {
                            return Err(InflateError::InvalidSymbol);
                        }
                        let (l1, sym) = (e >> 16, (e & 0xffff) as usize);
                        if sym < 256 {
                            if produced == limit {
                                return Err(InflateError::TooLarge);
                            }
                            consume!(l1);
                            self.o.hist[self.o.end] = sym as u8;
                            self.o.end += 1;
                            produced += 1;
                            // Literals come in runs: try a second one before refilling (the
                            // room check above left space for far more than one byte).
                            let e = lit.decode(self.bitbuf, self.bitcount);
                            if e != NEED_BITS && e != INVALID && e & 0xffff < 256 {
                                if produced == limit {
                                    return Err(InflateError::TooLarge);
                                }
                                consume!(e >> 16);
                                self.o.hist[self.o.end] = e as u8;
                                self.o.end += 1;
                                produced += 1;
                            }
                            continue;
                        }
                        if sym == 256 {
                            consume!(l1);
                            break;
                        }
                        let li = sym - 257;
                        if li >= 29 {
                            return Err(InflateError::InvalidSymbol);
                        }
                        let e1 = LENGTH_EXTRA[li] as u32;
                        if avail < l1 + e1 {
                            return Ok(());
                        }
                        let len = LENGTH_BASE[li] as usize
                            + ((bits >> l1) as usize & ((1usize << e1) - 1));
                        let bits2 = bits >> (l1 + e1);
                        let avail2 = avail - l1 - e1;
                        let e = dist.decode(bits2, avail2);
                        if e == NEED_BITS {
                            return Ok(());
                        }
                        if e == INVALID {
                            return Err(InflateError::InvalidSymbol);
                        }
                        let (l2, dsym) = (e >> 16, (e & 0xffff) as usize);
                        if dsym >= 30 {
                            return Err(InflateError::InvalidSymbol);
                        }
                        let e2 = DIST_EXTRA[dsym] as u32;
                        if avail2 < l2 + e2 {
                            return Ok(());
                        }
                        let distance = DIST_BASE[dsym] as usize
                            + ((bits2 >> l2) as usize & ((1usize << e2) - 1));
                        if distance > window {
                            return Err(InflateError::DistanceBeyondWindow);
                        }
                        if distance > self.o.end {
                            return Err(InflateError::DistanceTooFarBack);
                        }
                        if len > limit - produced {
                            return Err(InflateError::TooLarge);
                        }
                        consume!(l1 + e1 + l2 + e2);
                        copy_match(&mut self.o.hist, self.o.end, distance, len);
                        self.o.end += len;
                        produced += len;
                    }
                    self.end_block();
                }
            }
        }
    }

    /// After an end-of-block: the next block, or the end of the stream after a final block.
    fn end_block(&mut self) {
        self.state = if self.last_block {
            State::Done
        } else {
            State::Header
        };
    }
}

/// The output window: history (at most `window` bytes before `out_mark`) followed by output
/// not yet handed to the caller, in `hist[..end]`; the rest of `hist` is scratch space that lets
/// matches be copied eight bytes at a time. Grown as output is produced, up to
/// `window + SLACK + GUARD` bytes.
struct Output {
    hist: Vec<u8>,
    end: usize,
    out_mark: usize,
    window: usize,
}

impl Output {
    /// Appends the output produced since the last flush to `out`.
    fn flush(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hist[self.out_mark..self.end]);
        self.out_mark = self.end;
    }

    /// Keeps only the last `window` bytes of history (everything must have been flushed).
    fn trim_history(&mut self) {
        debug_assert_eq!(self.out_mark, self.end);
        if self.end > self.window {
            self.hist.copy_within(self.end - self.window..self.end, 0);
            self.end = self.window;
        }
        self.out_mark = self.end;
    }

    /// Makes room for at least 258 more bytes of output plus `GUARD` of scratch in `hist`
    /// (history + output stays within `window + SLACK`), flushing to `out` when the history
    /// must move.
    #[inline(always)]
    fn room(&mut self, out: &mut Vec<u8>) {
        if self.end + 258 > self.window + SLACK {
            self.flush(out);
            self.trim_history();
        }
        if self.hist.len() < self.end + 258 + GUARD {
            let want = (self.hist.len() * 2).clamp(1024, self.window + SLACK + GUARD);
            self.hist.reserve_exact(want - self.hist.len());
            self.hist.resize(want, 0);
        }
    }
}

/// Writes `len` bytes at `end` copied from `distance` back (the regions may overlap: a run).
/// May write up to `GUARD - 1` scratch bytes past `end + len`.
#[inline(always)]
fn copy_match(hist: &mut [u8], end: usize, distance: usize, len: usize) {
    let mut src = end - distance;
    let mut dst = end;
    let stop = end + len;
    if distance >= GUARD {
        // Eight bytes at a time: each chunk's source lies wholly before its destination.
        while dst < stop {
            let chunk: [u8; GUARD] = hist[src..src + GUARD].try_into().unwrap();
            hist[dst..dst + GUARD].copy_from_slice(&chunk);
            src += GUARD;
            dst += GUARD;
        }
    } else if distance == 1 {
        let b = hist[src];
        hist[dst..stop].fill(b);
    } else {
        while dst < stop {
            hist[dst] = hist[src];
            src += 1;
            dst += 1;
        }
    }
}
