//! The frame header codec (RFC 6455 §5.2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! | Masking-key (continued)       |          Payload Data         |
//! +-------------------------------- - - - - - - - - - - - - - - - +
//! ```
//!
//! [`FrameHeader::parse`] works on any prefix of the input: it answers `Ok(None)` until the whole
//! header is there, and rejects a bad header at the first byte that shows it is bad. The
//! role-dependent masking rule and the size limits are checked by [`crate::protocol::Receiver`].
//!
//! ```
//! use ws6455::frame::{FrameHeader, OpCode};
//! // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
//! let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
//! let (h, len) = FrameHeader::parse(&wire).unwrap().unwrap();
//! assert_eq!((h.fin, h.opcode, h.mask, h.payload_len, len), (true, OpCode::Text, None, 5, 2));
//! assert_eq!(FrameHeader::parse(&wire[..1]).unwrap(), None); // need more bytes
//! ```

use crate::error::ProtocolError;
use crate::mask::apply_mask;

/// The largest encoded header: 2 bytes, a 64-bit length and a masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload of a control frame (§5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The RSV1 bit of [`FrameHeader::rsv`]: with permessage-deflate negotiated, set on the first
/// frame of a compressed message (RFC 7692 §6).
///
/// ```
/// use ws6455::frame::{FrameHeader, OpCode, RSV1};
/// let mut h = FrameHeader::new(true, OpCode::Text, None, 7);
/// h.rsv = RSV1;
/// let mut out = [0u8; 14];
/// h.encode(&mut out);
/// assert_eq!(out[0], 0xC1);
/// ```
pub const RSV1: u8 = 0b100;

/// A frame opcode (§5.2). The reserved opcodes 0x3-0x7 and 0xB-0xF have no variant: converting
/// them fails with [`ProtocolError::ReservedOpcode`].
///
/// ```
/// use ws6455::frame::OpCode;
/// assert_eq!(OpCode::try_from(0x9), Ok(OpCode::Ping));
/// assert!(OpCode::try_from(0x3).is_err());
/// assert_eq!(OpCode::Binary.as_u8(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: a continuation of a fragmented message.
    Continuation,
    /// 0x1: the first (or only) frame of a text message.
    Text,
    /// 0x2: the first (or only) frame of a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// True for close, ping and pong (opcodes with the high bit set).
    ///
    /// ```
    /// use ws6455::frame::OpCode;
    /// assert!(OpCode::Close.is_control());
    /// assert!(!OpCode::Continuation.is_control());
    /// ```
    #[inline]
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }

    /// The 4-bit wire value.
    ///
    /// ```
    /// assert_eq!(ws6455::frame::OpCode::Pong.as_u8(), 0xA);
    /// ```
    #[inline]
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }
}

impl TryFrom<u8> for OpCode {
    type Error = ProtocolError;

    /// Decodes the low four bits' value; anything else is [`ProtocolError::ReservedOpcode`].
    ///
    /// ```
    /// use ws6455::{frame::OpCode, ProtocolError};
    /// assert_eq!(OpCode::try_from(0xB), Err(ProtocolError::ReservedOpcode(0xB)));
    /// ```
    #[inline]
    fn try_from(v: u8) -> Result<OpCode, ProtocolError> {
        Ok(match v {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => return Err(ProtocolError::ReservedOpcode(other)),
        })
    }
}

/// A decoded frame header.
///
/// ```
/// use ws6455::frame::{FrameHeader, OpCode};
/// let h = FrameHeader::new(true, OpCode::Binary, None, 256);
/// let mut out = [0u8; 14];
/// let n = h.encode(&mut out);
/// assert_eq!(&out[..n], &[0x82, 0x7E, 0x01, 0x00]); // RFC 6455 §5.7, 256 bytes
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Last frame of its message.
    pub fin: bool,
    /// RSV1-3 as the low three bits (RSV1 = 0b100, [`RSV1`]). Zero unless permessage-deflate
    /// was negotiated, which sets RSV1 on the first frame of a compressed message.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// A header with the RSV bits clear.
    ///
    /// ```
    /// use ws6455::frame::{FrameHeader, OpCode};
    /// let h = FrameHeader::new(false, OpCode::Text, Some([1, 2, 3, 4]), 3);
    /// assert_eq!(h.rsv, 0);
    /// assert_eq!(h.encoded_len(), 6);
    /// ```
    pub fn new(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask,
            payload_len,
        }
    }

    /// Parses a header from the start of `buf`.
    ///
    /// `Ok(Some((header, n)))`: a complete header of `n` bytes (the payload follows);
    /// `Ok(None)`: `buf` is a valid prefix of a header, more bytes are needed;
    /// `Err(_)`: the header breaks §5.2/§5.5 — RSV bits set, reserved opcode, a fragmented or
    /// over-long control frame, a non-minimal length or a 64-bit length with its top bit set.
    /// Errors are reported as soon as the offending byte is in `buf`, so feeding a prefix never
    /// gives a different answer than feeding the whole header, only `Ok(None)` earlier.
    ///
    /// ```
    /// use ws6455::{frame::FrameHeader, ProtocolError};
    /// // RFC 6455 §5.7: masked "Hello".
    /// let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    /// let (h, n) = FrameHeader::parse(&wire).unwrap().unwrap();
    /// assert_eq!((h.mask, n), (Some([0x37, 0xfa, 0x21, 0x3d]), 6));
    /// // A 16-bit length that would have fit in 7 bits.
    /// assert_eq!(FrameHeader::parse(&[0x82, 0x7E, 0x00, 0x05]), Err(ProtocolError::NonMinimalLength));
    /// // RSV1 set: rejected from the first byte alone.
    /// assert_eq!(FrameHeader::parse(&[0xC1]), Err(ProtocolError::ReservedBits(0b100)));
    /// ```
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        FrameHeader::parse_with(buf, false)
    }

    /// [`FrameHeader::parse`] on a connection that may have negotiated permessage-deflate
    /// (RFC 7692 §6): with `compression` true, RSV1 ("per-message compressed") is accepted on
    /// the first frame of a data message, a text or binary frame. RSV1 on a control frame is
    /// [`ProtocolError::CompressedControlFrame`], on a continuation frame
    /// [`ProtocolError::CompressedContinuation`]; RSV2 and RSV3 are still
    /// [`ProtocolError::ReservedBits`], as is RSV1 with `compression` false. Each error is
    /// reported from the first byte.
    ///
    /// ```
    /// use ws6455::{frame::FrameHeader, ProtocolError};
    /// // RFC 7692 §7.2.3.1: a compressed "Hello".
    /// let wire = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    /// let (h, n) = FrameHeader::parse_with(&wire, true).unwrap().unwrap();
    /// assert_eq!((h.rsv, h.payload_len, n), (0b100, 7, 2));
    /// assert_eq!(FrameHeader::parse_with(&wire, false), Err(ProtocolError::ReservedBits(0b100)));
    /// assert_eq!(FrameHeader::parse_with(&[0xC9], true), Err(ProtocolError::CompressedControlFrame));
    /// assert_eq!(FrameHeader::parse_with(&[0xC0], true), Err(ProtocolError::CompressedContinuation));
    /// assert_eq!(FrameHeader::parse_with(&[0xE1], true), Err(ProtocolError::ReservedBits(0b110)));
    /// ```
    #[inline]
    pub fn parse_with(
        buf: &[u8],
        compression: bool,
    ) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let Some(&b0) = buf.first() else {
            return Ok(None);
        };
        let rsv = (b0 >> 4) & 0x7;
        if rsv != 0 {
            if !compression || rsv != RSV1 {
                return Err(ProtocolError::ReservedBits(rsv));
            }
            match b0 & 0x0F {
                0x0 => return Err(ProtocolError::CompressedContinuation),
                op if op >= 0x8 && OpCode::try_from(op).is_ok() => {
                    return Err(ProtocolError::CompressedControlFrame)
                }
                _ => {}
            }
        }
        let opcode = OpCode::try_from(b0 & 0x0F)?;
        let fin = b0 & 0x80 != 0;
        if opcode.is_control() && !fin {
            return Err(ProtocolError::FragmentedControlFrame);
        }
        let Some(&b1) = buf.get(1) else {
            return Ok(None);
        };
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        let (payload_len, mut at) = match len7 {
            126 => {
                let Some(b) = buf.get(2..4) else {
                    return Ok(None);
                };
                let len = u16::from_be_bytes([b[0], b[1]]);
                if len < 126 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (u64::from(len), 4)
            }
            127 => {
                if let Some(&top) = buf.get(2) {
                    if top & 0x80 != 0 {
                        return Err(ProtocolError::LengthOverflow);
                    }
                }
                let Some(b) = buf.get(2..10) else {
                    return Ok(None);
                };
                let len = u64::from_be_bytes(b.try_into().expect("8 bytes"));
                if len <= 0xFFFF {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (len, 10)
            }
            n => (u64::from(n), 2),
        };
        if opcode.is_control() && payload_len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(ProtocolError::ControlFrameTooLong(payload_len));
        }
        let mask = if masked {
            let Some(k) = buf.get(at..at + 4) else {
                return Ok(None);
            };
            at += 4;
            Some([k[0], k[1], k[2], k[3]])
        } else {
            None
        };
        Ok(Some((
            FrameHeader {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            at,
        )))
    }

    /// The number of bytes [`FrameHeader::encode`] writes: 2, 4 or 10, plus 4 with a mask.
    ///
    /// ```
    /// use ws6455::frame::{FrameHeader, OpCode};
    /// assert_eq!(FrameHeader::new(true, OpCode::Binary, None, 125).encoded_len(), 2);
    /// assert_eq!(FrameHeader::new(true, OpCode::Binary, None, 126).encoded_len(), 4);
    /// assert_eq!(FrameHeader::new(true, OpCode::Binary, Some([0; 4]), 65536).encoded_len(), 14);
    /// ```
    #[inline]
    pub fn encoded_len(&self) -> usize {
        let len = match self.payload_len {
            0..=125 => 2,
            126..=0xFFFF => 4,
            _ => 10,
        };
        len + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Writes the header into `out` in the minimal length form and returns its length.
    /// RSV bits are written as given (only their low three bits); a payload length above
    /// 2^63 - 1 is written with the top bit cleared, which no real payload reaches.
    ///
    /// ```
    /// use ws6455::frame::{FrameHeader, OpCode};
    /// let mut out = [0u8; 14];
    /// let n = FrameHeader::new(true, OpCode::Binary, None, 65536).encode(&mut out);
    /// // RFC 6455 §5.7: a 64 KiB binary frame.
    /// assert_eq!(&out[..n], &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
    /// ```
    #[inline]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x7) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut at = match self.payload_len {
            n @ 0..=125 => {
                out[1] = mask_bit | n as u8;
                2
            }
            n @ 126..=0xFFFF => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&(n & (u64::MAX >> 1)).to_be_bytes());
                10
            }
        };
        if let Some(k) = self.mask {
            out[at..at + 4].copy_from_slice(&k);
            at += 4;
        }
        at
    }

    /// Appends the encoded header to `out`.
    ///
    /// ```
    /// use ws6455::frame::{FrameHeader, OpCode};
    /// let mut out = Vec::new();
    /// FrameHeader::new(true, OpCode::Ping, None, 5).write_to(&mut out);
    /// assert_eq!(out, [0x89, 0x05]);
    /// ```
    #[inline]
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut tmp = [0u8; MAX_HEADER_LEN];
        let n = self.encode(&mut tmp);
        out.extend_from_slice(&tmp[..n]);
    }
}

/// A whole frame: header and (unmasked) payload. The streaming paths of
/// [`crate::protocol`] do not build these; they are handy for tests and tools.
///
/// ```
/// use ws6455::frame::{Frame, OpCode};
/// let f = Frame::new(true, OpCode::Text, b"Hello".to_vec());
/// let mut wire = Vec::new();
/// f.write_to(&mut wire);
/// assert_eq!(wire, [0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
/// let (back, used) = Frame::parse(&wire).unwrap().unwrap();
/// assert_eq!((back, used), (f, 7));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The header; `header.payload_len` equals `payload.len()`.
    pub header: FrameHeader,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl Frame {
    /// An unmasked frame carrying `payload`.
    ///
    /// ```
    /// use ws6455::frame::{Frame, OpCode};
    /// let f = Frame::new(false, OpCode::Binary, vec![1, 2, 3]);
    /// assert_eq!(f.header.payload_len, 3);
    /// assert!(!f.header.fin);
    /// ```
    pub fn new(fin: bool, opcode: OpCode, payload: Vec<u8>) -> Frame {
        Frame {
            header: FrameHeader::new(fin, opcode, None, payload.len() as u64),
            payload,
        }
    }

    /// The same frame, to be masked with `key` when written (as a client sends it).
    ///
    /// ```
    /// use ws6455::frame::{Frame, OpCode};
    /// let f = Frame::new(true, OpCode::Text, b"Hello".to_vec()).masked([0x37, 0xfa, 0x21, 0x3d]);
    /// let mut wire = Vec::new();
    /// f.write_to(&mut wire);
    /// // RFC 6455 §5.7: a single-frame masked text message.
    /// assert_eq!(wire, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    /// ```
    #[must_use]
    pub fn masked(mut self, key: [u8; 4]) -> Frame {
        self.header.mask = Some(key);
        self
    }

    /// Parses one whole frame from the start of `buf` and unmasks its payload. `Ok(None)` when
    /// `buf` holds less than a whole frame. Only the header rules of [`FrameHeader::parse`] are
    /// checked; the payload is not.
    ///
    /// ```
    /// use ws6455::frame::{Frame, OpCode};
    /// // RFC 6455 §5.7: masked "Hello" pong.
    /// let wire = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    /// let (f, n) = Frame::parse(&wire).unwrap().unwrap();
    /// assert_eq!((f.header.opcode, &f.payload[..], n), (OpCode::Pong, &b"Hello"[..], 11));
    /// assert_eq!(Frame::parse(&wire[..10]).unwrap(), None);
    /// ```
    pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, ProtocolError> {
        let Some((header, hlen)) = FrameHeader::parse(buf)? else {
            return Ok(None);
        };
        let rest = &buf[hlen..];
        if (rest.len() as u64) < header.payload_len {
            return Ok(None);
        }
        let n = header.payload_len as usize;
        let mut payload = rest[..n].to_vec();
        if let Some(k) = header.mask {
            apply_mask(&mut payload, k, 0);
        }
        Ok(Some((Frame { header, payload }, hlen + n)))
    }

    /// Appends the frame to `out`, masking the payload if the header has a key.
    /// The header's length is taken from the payload.
    ///
    /// ```
    /// use ws6455::frame::{Frame, OpCode};
    /// let mut wire = Vec::new();
    /// Frame::new(true, OpCode::Ping, b"Hello".to_vec()).write_to(&mut wire);
    /// // RFC 6455 §5.7: unmasked ping.
    /// assert_eq!(wire, [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    /// ```
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut header = self.header;
        header.payload_len = self.payload.len() as u64;
        header.write_to(out);
        let start = out.len();
        out.extend_from_slice(&self.payload);
        if let Some(k) = header.mask {
            apply_mask(&mut out[start..], k, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(bytes: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        FrameHeader::parse(bytes)
    }

    #[test]
    fn rfc_example_unmasked_hello() {
        let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let (f, n) = Frame::parse(&wire).unwrap().unwrap();
        assert_eq!(n, 7);
        assert_eq!(f, Frame::new(true, OpCode::Text, b"Hello".to_vec()));
        let mut out = Vec::new();
        f.write_to(&mut out);
        assert_eq!(out, wire);
    }

    #[test]
    fn rfc_example_masked_hello() {
        let wire = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (f, n) = Frame::parse(&wire).unwrap().unwrap();
        assert_eq!(n, 11);
        assert_eq!(f.payload, b"Hello");
        assert_eq!(f.header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        let mut out = Vec::new();
        f.write_to(&mut out);
        assert_eq!(out, wire);
    }

    #[test]
    fn rfc_example_fragmented_hello() {
        let wire = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
        let (a, n) = Frame::parse(&wire).unwrap().unwrap();
        assert_eq!(n, 5);
        assert_eq!(
            (a.header.fin, a.header.opcode, &a.payload[..]),
            (false, OpCode::Text, &b"Hel"[..])
        );
        let (b, m) = Frame::parse(&wire[n..]).unwrap().unwrap();
        assert_eq!(m, 4);
        assert_eq!(
            (b.header.fin, b.header.opcode, &b.payload[..]),
            (true, OpCode::Continuation, &b"lo"[..])
        );
    }

    #[test]
    fn rfc_example_unmasked_ping_and_masked_pong() {
        let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let (f, _) = Frame::parse(&ping).unwrap().unwrap();
        assert_eq!(
            (f.header.opcode, &f.payload[..]),
            (OpCode::Ping, &b"Hello"[..])
        );
        let pong = [
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (f, _) = Frame::parse(&pong).unwrap().unwrap();
        assert_eq!(
            (f.header.opcode, &f.payload[..]),
            (OpCode::Pong, &b"Hello"[..])
        );
        let mut out = Vec::new();
        f.write_to(&mut out);
        assert_eq!(out, pong);
    }

    #[test]
    fn rfc_example_256_byte_and_64k_binary_headers() {
        let mut out = Vec::new();
        Frame::new(true, OpCode::Binary, vec![7; 256]).write_to(&mut out);
        assert_eq!(&out[..4], &[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!(out.len(), 4 + 256);
        let (f, n) = Frame::parse(&out).unwrap().unwrap();
        assert_eq!((f.payload.len(), n), (256, 260));

        let mut out = Vec::new();
        Frame::new(true, OpCode::Binary, vec![7; 65536]).write_to(&mut out);
        assert_eq!(
            &out[..10],
            &[0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]
        );
        let (f, n) = Frame::parse(&out).unwrap().unwrap();
        assert_eq!((f.payload.len(), n), (65536, 65546));
    }

    #[test]
    fn encode_uses_minimal_length_form_at_every_boundary() {
        for (len, hlen) in [
            (0u64, 2),
            (125, 2),
            (126, 4),
            (0xFFFF, 4),
            (0x1_0000, 10),
            (u64::MAX >> 1, 10),
        ] {
            for mask in [None, Some([9, 8, 7, 6])] {
                let h = FrameHeader::new(true, OpCode::Binary, mask, len);
                let mut out = [0u8; 14];
                let n = h.encode(&mut out);
                let expect = hlen + if mask.is_some() { 4 } else { 0 };
                assert_eq!(n, expect, "len {len}");
                assert_eq!(h.encoded_len(), expect);
                assert_eq!(FrameHeader::parse(&out[..n]), Ok(Some((h, n))), "len {len}");
            }
        }
    }

    #[test]
    fn header_prefixes_give_need_more_then_the_same_header() {
        let h = FrameHeader::new(false, OpCode::Binary, Some([1, 2, 3, 4]), 70_000);
        let mut out = [0u8; 14];
        let n = h.encode(&mut out);
        for cut in 0..n {
            assert_eq!(FrameHeader::parse(&out[..cut]), Ok(None), "cut {cut}");
        }
        assert_eq!(FrameHeader::parse(&out[..n]), Ok(Some((h, n))));
    }

    #[test]
    fn rsv_bits_are_rejected() {
        for rsv in 1..8u8 {
            assert_eq!(
                header(&[0x80 | (rsv << 4) | 0x1]),
                Err(ProtocolError::ReservedBits(rsv))
            );
        }
    }

    #[test]
    fn reserved_opcodes_are_rejected() {
        for op in (0x3..=0x7).chain(0xB..=0xF) {
            assert_eq!(
                header(&[0x80 | op, 0x00]),
                Err(ProtocolError::ReservedOpcode(op))
            );
            assert!(OpCode::try_from(op).is_err());
        }
        for op in [0x0, 0x1, 0x2, 0x8, 0x9, 0xA] {
            assert_eq!(OpCode::try_from(op).unwrap().as_u8(), op);
        }
    }

    #[test]
    fn fragmented_control_frames_are_rejected() {
        for op in [0x8, 0x9, 0xA] {
            assert_eq!(header(&[op]), Err(ProtocolError::FragmentedControlFrame));
        }
    }

    #[test]
    fn control_frames_over_125_bytes_are_rejected() {
        assert_eq!(
            header(&[0x89, 126, 0, 126]),
            Err(ProtocolError::ControlFrameTooLong(126))
        );
        assert_eq!(
            header(&[0x88, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
            Err(ProtocolError::ControlFrameTooLong(65536))
        );
        assert!(matches!(header(&[0x8A, 125]), Ok(Some((h, 2))) if h.payload_len == 125));
    }

    #[test]
    fn non_minimal_lengths_are_rejected() {
        assert_eq!(
            header(&[0x82, 126, 0, 125]),
            Err(ProtocolError::NonMinimalLength)
        );
        assert_eq!(
            header(&[0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]),
            Err(ProtocolError::NonMinimalLength)
        );
        assert!(header(&[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0])
            .unwrap()
            .is_some());
    }

    #[test]
    fn length_with_top_bit_set_is_rejected_at_its_first_byte() {
        assert_eq!(
            header(&[0x82, 127, 0x80]),
            Err(ProtocolError::LengthOverflow)
        );
        assert_eq!(
            header(&[0x82, 127, 0xFF, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::LengthOverflow)
        );
    }

    #[test]
    fn every_two_byte_prefix_is_consistent_with_longer_input() {
        // Whatever the first two bytes, an error on the prefix stays the same error when more
        // bytes follow, and a header found in the prefix is found again.
        let tails: [&[u8]; 3] = [&[], &[0; 12], &[0xFF; 12]];
        for b0 in 0..=255u8 {
            for b1 in 0..=255u8 {
                let short = header(&[b0, b1]);
                for tail in tails {
                    let mut long = vec![b0, b1];
                    long.extend_from_slice(tail);
                    let full = header(&long);
                    match &short {
                        Ok(None) => {}
                        other => assert_eq!(&full, other, "{b0:#x} {b1:#x}"),
                    }
                }
            }
        }
    }
}
