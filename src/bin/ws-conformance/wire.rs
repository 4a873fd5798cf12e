//! The wire log: every frame the tester wrote and every frame the peer sent, with opcode,
//! flags, length and the first bytes of the payload, for the reports.
//!
//! Outgoing frames are recovered by parsing the bytes as they are written (a case may write
//! anything, including frames whose length field lies), so the log shows what went on the wire,
//! not what the case meant to send.

use std::time::Instant;

/// How many frames of each direction the log keeps; the rest are only counted.
pub const KEEP: usize = 200;
/// How many payload bytes a log entry keeps for its preview.
pub const PREVIEW: usize = 32;

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Written by the tester.
    Sent,
    /// Sent by the peer.
    Received,
}

/// One frame on the wire.
#[derive(Debug, Clone)]
pub struct WireFrame {
    /// When its header was written or its last byte arrived.
    pub at: Instant,
    /// Direction.
    pub dir: Dir,
    /// FIN bit.
    pub fin: bool,
    /// RSV1-3 as a 3-bit number.
    pub rsv: u8,
    /// Opcode.
    pub opcode: u8,
    /// Whether a masking key was present.
    pub masked: bool,
    /// The payload length field.
    pub len: u64,
    /// The first payload bytes, unmasked.
    pub head: Vec<u8>,
}

impl WireFrame {
    /// The opcode's name.
    pub fn opcode_name(&self) -> String {
        match self.opcode {
            0 => "CONT".into(),
            1 => "TEXT".into(),
            2 => "BINARY".into(),
            8 => "CLOSE".into(),
            9 => "PING".into(),
            10 => "PONG".into(),
            op => format!("OP{op}"),
        }
    }

    /// `FIN`, `RSV1`.. and `MASK`, space separated (`-` for none).
    pub fn flags(&self) -> String {
        let mut f = Vec::new();
        if self.fin {
            f.push("FIN".to_string());
        }
        for (bit, name) in [(4, "RSV1"), (2, "RSV2"), (1, "RSV3")] {
            if self.rsv & bit != 0 {
                f.push(name.into());
            }
        }
        if self.masked {
            f.push("MASK".into());
        }
        if f.is_empty() {
            "-".into()
        } else {
            f.join(" ")
        }
    }

    /// The payload's first bytes: as text when they are UTF-8 (a cut at the end is allowed),
    /// else as hex; `…` when the payload is longer.
    pub fn preview(&self) -> String {
        let more = if (self.head.len() as u64) < self.len {
            "…"
        } else {
            ""
        };
        let text = match std::str::from_utf8(&self.head) {
            Ok(s) => Some(s),
            Err(e) if e.error_len().is_none() => {
                std::str::from_utf8(&self.head[..e.valid_up_to()]).ok()
            }
            Err(_) => None,
        };
        match text {
            Some(t) if t.chars().all(|c| !c.is_control() || c == ' ') => format!("{t:?}{more}"),
            _ => {
                let hex: Vec<String> = self.head.iter().map(|b| format!("{b:02x}")).collect();
                format!("{}{more}", hex.join(" "))
            }
        }
    }
}

/// Frames in both directions, bounded.
#[derive(Debug, Default)]
pub struct WireLog {
    /// Kept frames, in order of time.
    pub frames: Vec<WireFrame>,
    /// Frames per direction, kept or not: (sent, received).
    pub counts: (u64, u64),
    /// When and how the peer's side of TCP ended, if it did.
    pub tcp_end: Option<(Instant, String)>,
}

impl WireLog {
    /// Adds a frame (kept while there is room for its direction).
    pub fn push(&mut self, frame: WireFrame) {
        let n = match frame.dir {
            Dir::Sent => &mut self.counts.0,
            Dir::Received => &mut self.counts.1,
        };
        *n += 1;
        if *n <= KEEP as u64 {
            self.frames.push(frame);
        }
    }

    /// Frames seen but not kept: (sent, received).
    pub fn omitted(&self) -> (u64, u64) {
        (
            self.counts.0.saturating_sub(KEEP as u64),
            self.counts.1.saturating_sub(KEEP as u64),
        )
    }
}

/// Recovers frames from the bytes the tester writes, across writes.
#[derive(Debug, Default)]
pub struct OutParser {
    header: Vec<u8>,
    current: Option<WireFrame>,
    key: Option<[u8; 4]>,
    remaining: u64,
    offset: u64,
    /// Frame headers written so far.
    pub frames: u64,
}

impl OutParser {
    fn header_len(h: &[u8]) -> Option<usize> {
        if h.len() < 2 {
            return None;
        }
        let ext = match h[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        Some(2 + ext + if h[1] & 0x80 != 0 { 4 } else { 0 })
    }

    /// Feeds bytes just written at `at`.
    pub fn feed(&mut self, mut bytes: &[u8], at: Instant, log: &mut WireLog) {
        while !bytes.is_empty() {
            if let Some(frame) = self.current.as_mut() {
                let n = (bytes.len() as u64).min(self.remaining) as usize;
                for &b in &bytes[..n] {
                    if frame.head.len() >= PREVIEW {
                        break;
                    }
                    let k = self.key.map_or(0, |k| k[(self.offset % 4) as usize]);
                    frame.head.push(b ^ k);
                    self.offset += 1;
                }
                self.remaining -= n as u64;
                bytes = &bytes[n..];
                if self.remaining == 0 {
                    if let Some(done) = self.current.take() {
                        log.push(done);
                    }
                }
                continue;
            }
            self.header.push(bytes[0]);
            bytes = &bytes[1..];
            let h = &self.header;
            if Self::header_len(h) != Some(h.len()) {
                continue;
            }
            let len = match h[1] & 0x7f {
                126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
                127 => u64::from_be_bytes(h[2..10].try_into().unwrap_or([0; 8])),
                n => u64::from(n),
            };
            let masked = h[1] & 0x80 != 0;
            self.key = masked.then(|| {
                let k = &h[h.len() - 4..];
                [k[0], k[1], k[2], k[3]]
            });
            let frame = WireFrame {
                at,
                dir: Dir::Sent,
                fin: h[0] & 0x80 != 0,
                rsv: (h[0] >> 4) & 0x7,
                opcode: h[0] & 0x0f,
                masked,
                len,
                head: Vec::new(),
            };
            self.header.clear();
            self.frames += 1;
            self.offset = 0;
            self.remaining = len;
            if len == 0 {
                log.push(frame);
            } else {
                self.current = Some(frame);
            }
        }
    }

    /// Ends the log: a frame whose payload was never fully written is logged as it is.
    pub fn finish(&mut self, log: &mut WireLog) {
        if let Some(frame) = self.current.take() {
            log.push(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::RawFrame;

    #[test]
    fn recovers_frames_across_writes() {
        let mut bytes = RawFrame::text("hello").encode(true);
        bytes.extend(RawFrame::binary(vec![0u8; 70000]).fin(false).encode(true));
        bytes.extend(RawFrame::continuation("").encode(false));
        let (mut p, mut log) = (OutParser::default(), WireLog::default());
        let now = Instant::now();
        for piece in bytes.chunks(7) {
            p.feed(piece, now, &mut log);
        }
        p.finish(&mut log);
        assert_eq!(p.frames, 3);
        assert_eq!(log.frames.len(), 3);
        let f = &log.frames;
        assert_eq!(
            (f[0].opcode_name(), f[0].flags()),
            ("TEXT".into(), "FIN MASK".into())
        );
        assert_eq!(f[0].preview(), "\"hello\"");
        assert_eq!((f[1].len, f[1].fin), (70000, false));
        assert!(f[1].preview().starts_with("00 00"), "{}", f[1].preview());
        assert_eq!(
            (f[2].opcode_name(), f[2].flags(), f[2].len),
            ("CONT".into(), "FIN".into(), 0)
        );
    }

    #[test]
    fn a_lying_length_is_logged_once_the_run_ends() {
        let bytes = RawFrame::binary("abc").declared_len(1 << 62).encode(true);
        let (mut p, mut log) = (OutParser::default(), WireLog::default());
        p.feed(&bytes, Instant::now(), &mut log);
        assert!(log.frames.is_empty());
        p.finish(&mut log);
        assert_eq!(log.frames[0].len, 1 << 62);
        assert_eq!(log.frames[0].preview(), "\"abc\"…");
    }

    #[test]
    fn the_log_is_bounded() {
        let mut log = WireLog::default();
        for _ in 0..KEEP + 5 {
            log.push(WireFrame {
                at: Instant::now(),
                dir: Dir::Received,
                fin: true,
                rsv: 0,
                opcode: 1,
                masked: false,
                len: 0,
                head: Vec::new(),
            });
        }
        assert_eq!(log.frames.len(), KEEP);
        assert_eq!(log.omitted(), (0, 5));
    }
}
