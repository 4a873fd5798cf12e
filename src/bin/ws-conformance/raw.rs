//! The tester's own frame writer and reader (RFC 6455 §5.2).
//!
//! Unlike a WebSocket library, the writer produces whatever frame a case asks for, including
//! frames a correct endpoint never sends: reserved bits and opcodes, oversized or fragmented
//! control frames, a length field that lies, a missing or unexpected mask. The reader decodes
//! whatever the peer sends without judging it; judging is the session's job.

use std::io::{self, Read};

use ws6455::mask::apply_mask;

/// Opcode of a continuation frame.
pub const CONTINUATION: u8 = 0x0;
/// Opcode of a text frame.
pub const TEXT: u8 = 0x1;
/// Opcode of a binary frame.
pub const BINARY: u8 = 0x2;
/// Opcode of a close frame.
pub const CLOSE: u8 = 0x8;
/// Opcode of a ping frame.
pub const PING: u8 = 0x9;
/// Opcode of a pong frame.
pub const PONG: u8 = 0xA;

/// A frame to send, valid or not.
#[derive(Debug, Clone)]
pub struct RawFrame {
    /// The FIN bit.
    pub fin: bool,
    /// RSV1..RSV3 as a 3-bit number (RSV1 = 4).
    pub rsv: u8,
    /// The 4-bit opcode, reserved values included.
    pub opcode: u8,
    /// The payload actually written after the header.
    pub payload: Vec<u8>,
    /// A length to announce in the header instead of the payload's (a lie, for limit tests).
    pub declared_len: Option<u64>,
    /// Forces the mask on or off; `None` masks exactly when the tester plays the client.
    pub masked: Option<bool>,
}

impl RawFrame {
    /// A final frame with the given opcode and payload.
    pub fn new(opcode: u8, payload: impl Into<Vec<u8>>) -> RawFrame {
        RawFrame {
            fin: true,
            rsv: 0,
            opcode,
            payload: payload.into(),
            declared_len: None,
            masked: None,
        }
    }

    /// A final text frame.
    pub fn text(payload: impl Into<Vec<u8>>) -> RawFrame {
        RawFrame::new(TEXT, payload)
    }

    /// A final binary frame.
    pub fn binary(payload: impl Into<Vec<u8>>) -> RawFrame {
        RawFrame::new(BINARY, payload)
    }

    /// A final continuation frame.
    pub fn continuation(payload: impl Into<Vec<u8>>) -> RawFrame {
        RawFrame::new(CONTINUATION, payload)
    }

    /// A ping frame.
    pub fn ping(payload: impl Into<Vec<u8>>) -> RawFrame {
        RawFrame::new(PING, payload)
    }

    /// A pong frame.
    pub fn pong(payload: impl Into<Vec<u8>>) -> RawFrame {
        RawFrame::new(PONG, payload)
    }

    /// A close frame: no body when `code` is `None`, else the code and the reason bytes.
    pub fn close(code: Option<u16>, reason: &[u8]) -> RawFrame {
        let mut body = Vec::new();
        if let Some(code) = code {
            body.extend_from_slice(&code.to_be_bytes());
            body.extend_from_slice(reason);
        }
        RawFrame::new(CLOSE, body)
    }

    /// Sets the FIN bit.
    pub fn fin(mut self, fin: bool) -> RawFrame {
        self.fin = fin;
        self
    }

    /// Sets the reserved bits (RSV1 = 4, RSV2 = 2, RSV3 = 1).
    pub fn rsv(mut self, rsv: u8) -> RawFrame {
        self.rsv = rsv;
        self
    }

    /// Announces `len` bytes in the header whatever the payload's real length.
    pub fn declared_len(mut self, len: u64) -> RawFrame {
        self.declared_len = Some(len);
        self
    }

    /// Forces masking on or off.
    pub fn masked(mut self, masked: bool) -> RawFrame {
        self.masked = Some(masked);
        self
    }

    /// The bytes of the frame. `client` says whether the tester plays the client (and so masks
    /// by default); each masked frame gets a fresh key.
    pub fn encode(&self, client: bool) -> Vec<u8> {
        let key = self.masked.unwrap_or(client).then(crate::random::mask_key);
        let len = self.declared_len.unwrap_or(self.payload.len() as u64);
        let mut out = Vec::with_capacity(14 + self.payload.len());
        out.push(u8::from(self.fin) << 7 | (self.rsv & 7) << 4 | (self.opcode & 0xf));
        let mask_bit = if key.is_some() { 0x80 } else { 0 };
        if len < 126 {
            out.push(mask_bit | len as u8);
        } else if len <= 0xffff {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(mask_bit | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
        let start = match key {
            Some(key) => {
                out.extend_from_slice(&key);
                out.len()
            }
            None => out.len(),
        };
        out.extend_from_slice(&self.payload);
        if let Some(key) = key {
            apply_mask(&mut out[start..], key, 0);
        }
        out
    }
}

/// A frame received from the peer, unmasked, not yet judged.
#[derive(Debug, Clone)]
pub struct PeerFrame {
    /// The FIN bit.
    pub fin: bool,
    /// The reserved bits.
    pub rsv: u8,
    /// The opcode.
    pub opcode: u8,
    /// The masking key, if the frame was masked.
    pub mask: Option<[u8; 4]>,
    /// The payload, already unmasked.
    pub payload: Vec<u8>,
}

/// Reads one frame. `Ok(None)` is a clean end of stream before the first byte of a frame; an end
/// of stream inside a frame is an `UnexpectedEof` error. Frames announcing more than `max_len`
/// bytes are refused with `InvalidData` rather than buffered.
pub fn read_frame(r: &mut impl Read, max_len: u64) -> io::Result<Option<PeerFrame>> {
    let mut head = [0u8; 2];
    loop {
        match r.read(&mut head[..1]) {
            Ok(0) => return Ok(None),
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    r.read_exact(&mut head[1..])?;
    let len = match head[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    if len > max_len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the peer announced a frame of {len} bytes, more than the tester accepts"),
        ));
    }
    let mask = if head[1] & 0x80 != 0 {
        let mut key = [0u8; 4];
        r.read_exact(&mut key)?;
        Some(key)
    } else {
        None
    };
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    if let Some(key) = mask {
        apply_mask(&mut payload, key, 0);
    }
    Ok(Some(PeerFrame {
        fin: head[0] & 0x80 != 0,
        rsv: (head[0] >> 4) & 7,
        opcode: head[0] & 0xf,
        mask,
        payload,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_frames_read_back() {
        for len in [0usize, 5, 125, 126, 127, 65535, 65536, 70000] {
            for client in [false, true] {
                let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let frame = RawFrame::binary(payload.clone()).fin(false).rsv(5);
                let bytes = frame.encode(client);
                let back = read_frame(&mut &bytes[..], u64::MAX).unwrap().unwrap();
                assert_eq!(back.payload, payload);
                assert!(!back.fin);
                assert_eq!(back.rsv, 5);
                assert_eq!(back.opcode, BINARY);
                assert_eq!(back.mask.is_some(), client);
            }
        }
    }

    #[test]
    fn rfc_unmasked_hello() {
        assert_eq!(
            RawFrame::text("Hello").encode(false),
            [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
        );
    }

    #[test]
    fn lying_length_and_limits() {
        let bytes = RawFrame::binary("abc").declared_len(1 << 62).encode(false);
        assert_eq!(bytes.len(), 2 + 8 + 3);
        let err = read_frame(&mut &bytes[..], 1 << 20).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(read_frame(&mut &[][..], 10).unwrap().is_none());
        assert_eq!(
            read_frame(&mut &[0x81][..], 10).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
