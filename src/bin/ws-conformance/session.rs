//! One WebSocket connection seen from the tester: a writer, a reader thread that turns the
//! peer's bytes into timestamped frames, and a record of everything the peer did.
//!
//! The session plays a minimal but correct endpoint while the case runs: it answers the peer's
//! pings, answers the peer's close, and notes every rule the peer breaks (§5.1-§5.6).

use std::io::{BufReader, Cursor, Read};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::case::{preview, Reply};
use crate::raw::{self, PeerFrame, RawFrame};
use crate::wire::{Dir, OutParser, WireFrame, WireLog};

/// The largest single write; bigger ones are split so the write log has a useful grain.
const WRITE_GRAIN: usize = 64 * 1024;

/// What the reader thread reports.
enum Event {
    Frame(PeerFrame),
    /// Clean end of stream.
    Eof,
    /// Reset, end of stream inside a frame, oversized frame...
    Error(String),
}

/// The peer's close frame, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseBody {
    /// No payload.
    Empty,
    /// A code and a reason (lossily decoded; `reason_utf8` says whether it was valid).
    Code {
        /// The status code.
        code: u16,
        /// The reason text.
        reason: String,
        /// Whether the reason was valid UTF-8.
        reason_utf8: bool,
    },
    /// A one-byte payload (never valid).
    Malformed(Vec<u8>),
}

impl CloseBody {
    /// The code, if any.
    pub fn code(&self) -> Option<u16> {
        match self {
            CloseBody::Code { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl std::fmt::Display for CloseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseBody::Empty => f.write_str("close without code"),
            CloseBody::Code { code, reason, .. } if reason.is_empty() => write!(f, "close {code}"),
            CloseBody::Code { code, reason, .. } => write!(f, "close {code} {reason:?}"),
            CloseBody::Malformed(b) => write!(f, "malformed close {b:02x?}"),
        }
    }
}

/// Everything the peer did, with times.
#[derive(Debug, Default)]
pub struct Observed {
    /// Complete data messages, in order.
    pub replies: Vec<(Instant, Reply)>,
    /// Pong payloads, in order.
    pub pongs: Vec<(Instant, Vec<u8>)>,
    /// The peer's first close frame.
    pub close: Option<(Instant, CloseBody)>,
    /// When the peer's side of TCP ended (clean end of stream or error).
    pub tcp_closed: Option<Instant>,
    /// Why it ended, when it was not a clean end of stream.
    pub tcp_error: Option<String>,
    /// The first rule the peer broke.
    pub violation: Option<String>,
    /// Frames received after the peer's close frame.
    pub after_close: Vec<String>,
    /// Masking keys of the peer's frames.
    pub mask_keys: Vec<[u8; 4]>,
    /// The peer's close came before the tester sent one (the peer started the closing).
    pub peer_closed_first: bool,
}

impl Observed {
    /// The peer has ended the conversation (close frame or TCP).
    pub fn ended(&self) -> bool {
        self.close.is_some() || self.tcp_closed.is_some()
    }

    /// When the peer first reacted by closing (frame or TCP), whichever came first.
    pub fn end_time(&self) -> Option<Instant> {
        match (self.close.as_ref().map(|c| c.0), self.tcp_closed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A live connection under test.
pub struct Session {
    stream: TcpStream,
    events: Receiver<(Instant, Event)>,
    /// The tester plays the client: it masks, and the peer must not.
    client: bool,
    /// The first write error (the peer may legitimately have closed).
    pub write_error: Option<String>,
    /// The tester has sent a close frame.
    pub close_sent: bool,
    /// What the peer did.
    pub seen: Observed,
    /// A text or binary message being reassembled: (opcode, bytes, RSV1 set on its first frame).
    partial: Option<(u8, Vec<u8>, bool)>,
    /// permessage-deflate, when negotiated: inflates the peer's compressed messages.
    pub inflate: Option<crate::pmd::Rx>,
    /// Frames in both directions.
    pub wire: WireLog,
    out: OutParser,
    /// After each write: when, bytes and frame headers written so far.
    writes: Vec<(Instant, u64, u64)>,
}

impl Session {
    /// Starts a session on an upgraded stream; `leftover` are bytes read past the handshake.
    /// `max_frame` bounds the frames the reader accepts.
    pub fn new(
        stream: TcpStream,
        leftover: Vec<u8>,
        client: bool,
        timeout: Duration,
        max_frame: u64,
    ) -> std::io::Result<Session> {
        stream.set_read_timeout(None)?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        let reader = stream.try_clone()?;
        let (tx, events) = mpsc::channel();
        thread::Builder::new()
            .name("ws-conformance-reader".into())
            .spawn(move || {
                let mut input =
                    BufReader::with_capacity(64 * 1024, Cursor::new(leftover).chain(reader));
                loop {
                    let event = match raw::read_frame(&mut input, max_frame) {
                        Ok(Some(frame)) => Event::Frame(frame),
                        Ok(None) => Event::Eof,
                        Err(e) => Event::Error(e.to_string()),
                    };
                    let last = !matches!(event, Event::Frame(_));
                    if tx.send((Instant::now(), event)).is_err() || last {
                        return;
                    }
                }
            })?;
        Ok(Session {
            stream,
            events,
            client,
            write_error: None,
            close_sent: false,
            seen: Observed::default(),
            partial: None,
            inflate: None,
            wire: WireLog::default(),
            out: OutParser::default(),
            writes: Vec::new(),
        })
    }

    /// Writes bytes in pieces of `chunk` (0: at once). After a first failure nothing more is
    /// written; the error is kept for the report.
    pub fn write(&mut self, bytes: &[u8], chunk: usize) {
        if self.write_error.is_some() {
            return;
        }
        let grain = if chunk == 0 { WRITE_GRAIN } else { chunk };
        for piece in bytes.chunks(grain) {
            if let Err(e) = std::io::Write::write_all(&mut self.stream, piece) {
                self.write_error = Some(e.to_string());
                return;
            }
            let now = Instant::now();
            self.out.feed(piece, now, &mut self.wire);
            let total = self.bytes_written() + piece.len() as u64;
            self.writes.push((now, total, self.out.frames));
        }
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.writes.last().map_or(0, |w| w.1)
    }

    /// Frame headers written so far.
    pub fn frames_written(&self) -> u64 {
        self.out.frames
    }

    /// Bytes and frame headers that had been written at `at`.
    pub fn written_by(&self, at: Instant) -> (u64, u64) {
        let n = self.writes.partition_point(|w| w.0 <= at);
        n.checked_sub(1)
            .map_or((0, 0), |i| (self.writes[i].1, self.writes[i].2))
    }

    /// Ends the wire log (a frame cut short is logged as far as it went) and hands it over.
    pub fn take_wire(&mut self) -> WireLog {
        self.out.finish(&mut self.wire);
        std::mem::take(&mut self.wire)
    }

    /// Sends a frame, masked as the tester's role requires.
    pub fn send(&mut self, frame: &RawFrame) {
        let bytes = frame.encode(self.client);
        self.write(&bytes, 0);
    }

    /// Sends a close frame once.
    pub fn send_close(&mut self, code: Option<u16>) {
        if !self.close_sent {
            self.close_sent = true;
            self.send(&RawFrame::close(code, b""));
        }
    }

    /// Handles the peer's frames until `done` holds or `deadline` passes. Returns `done`'s value.
    pub fn pump_until(&mut self, deadline: Instant, done: impl Fn(&Observed) -> bool) -> bool {
        loop {
            if done(&self.seen) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.events.recv_timeout(left) {
                Ok((at, event)) => self.handle(at, event),
                Err(RecvTimeoutError::Timeout) => return done(&self.seen),
                Err(RecvTimeoutError::Disconnected) => {
                    // The reader has reported the end of the stream; nothing more will come.
                    if done(&self.seen) {
                        return true;
                    }
                    thread::sleep(left.min(Duration::from_millis(20)));
                }
            }
        }
    }

    /// Whether the tester plays the client on this connection.
    pub fn is_client(&self) -> bool {
        self.client
    }

    /// Closes the tester's side of TCP.
    pub fn shutdown(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    fn violation(&mut self, what: String) {
        if self.seen.violation.is_none() {
            self.seen.violation = Some(what);
        }
    }

    fn handle(&mut self, at: Instant, event: Event) {
        let frame = match event {
            Event::Frame(f) => f,
            Event::Eof => {
                self.seen.tcp_closed.get_or_insert(at);
                self.wire
                    .tcp_end
                    .get_or_insert((at, "the peer closed TCP".into()));
                return;
            }
            Event::Error(e) => {
                self.seen.tcp_closed.get_or_insert(at);
                self.wire
                    .tcp_end
                    .get_or_insert((at, format!("TCP ended: {e}")));
                self.seen.tcp_error.get_or_insert(e);
                return;
            }
        };
        self.wire.push(WireFrame {
            at,
            dir: Dir::Received,
            fin: frame.fin,
            rsv: frame.rsv,
            opcode: frame.opcode,
            masked: frame.mask.is_some(),
            len: frame.payload.len() as u64,
            head: frame.payload[..frame.payload.len().min(crate::wire::PREVIEW)].to_vec(),
        });
        if self.seen.close.is_some() {
            self.seen.after_close.push(format!(
                "opcode {} ({} bytes)",
                frame.opcode,
                frame.payload.len()
            ));
            return;
        }
        if let Some(key) = frame.mask {
            self.seen.mask_keys.push(key);
        }
        match (self.client, frame.mask.is_some()) {
            (true, true) => self.violation("the server sent a masked frame (§5.1)".into()),
            (false, false) => self.violation("the client sent an unmasked frame (§5.1)".into()),
            _ => {}
        }
        let compressed_start = self.inflate.is_some()
            && frame.rsv == 4
            && matches!(frame.opcode, raw::TEXT | raw::BINARY);
        if frame.rsv & 4 != 0 && self.inflate.is_some() && !compressed_start {
            self.violation(format!(
                "the peer set RSV1 on a frame with opcode {} (RFC 7692 §6.1: only the first \
                 frame of a compressed message carries it)",
                frame.opcode
            ));
        } else if frame.rsv != 0 && !compressed_start {
            self.violation(format!(
                "the peer set reserved bits {:03b} (§5.2)",
                frame.rsv
            ));
        }
        match frame.opcode {
            raw::CLOSE | raw::PING | raw::PONG if !frame.fin || frame.payload.len() > 125 => {
                self.violation(format!(
                    "the peer sent a control frame (opcode {}) that is fragmented or over 125 bytes (§5.5)",
                    frame.opcode
                ));
            }
            raw::CLOSE => {
                let body = decode_close(&frame.payload);
                self.seen.peer_closed_first = !self.close_sent;
                if !self.close_sent {
                    // Answer like a well-behaved endpoint: echo the code if there is one.
                    let code = body.code().filter(|c| is_valid_code(*c));
                    self.send_close(code);
                }
                self.seen.close = Some((at, body));
            }
            raw::PING => {
                if !self.close_sent {
                    self.send(&RawFrame::pong(frame.payload));
                }
            }
            raw::PONG => self.seen.pongs.push((at, frame.payload)),
            raw::TEXT | raw::BINARY => {
                if self.partial.is_some() {
                    self.violation(
                        "the peer started a new message inside a fragmented one (§5.4)".into(),
                    );
                }
                self.partial = Some((frame.opcode, frame.payload, compressed_start));
                if frame.fin {
                    self.finish_message(at);
                }
            }
            raw::CONTINUATION => match &mut self.partial {
                Some((_, buf, _)) => {
                    buf.extend_from_slice(&frame.payload);
                    if frame.fin {
                        self.finish_message(at);
                    }
                }
                None => {
                    self.violation("the peer sent a continuation without a message (§5.4)".into())
                }
            },
            op => self.violation(format!("the peer used reserved opcode {op} (§5.2)")),
        }
    }

    fn finish_message(&mut self, at: Instant) {
        let Some((opcode, mut payload, compressed)) = self.partial.take() else {
            return;
        };
        if let Some(rx) = self.inflate.as_mut() {
            if compressed {
                match rx.message(&payload) {
                    Ok(inflated) => payload = inflated,
                    Err(e) => {
                        let n = self.seen.replies.len() + 1;
                        self.violation(format!(
                            "the peer's compressed message #{n} does not inflate: {e}"
                        ));
                        return;
                    }
                }
            } else {
                rx.plain += 1;
            }
        }
        if opcode == raw::TEXT {
            if std::str::from_utf8(&payload).is_err() {
                self.violation(format!(
                    "the peer sent a text message that is not UTF-8: {}",
                    preview(&payload[..payload.len().min(32)])
                ));
            }
            self.seen.replies.push((at, Reply::Text(payload)));
        } else {
            self.seen.replies.push((at, Reply::Binary(payload)));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Decodes a close payload.
fn decode_close(payload: &[u8]) -> CloseBody {
    match payload.len() {
        0 => CloseBody::Empty,
        1 => CloseBody::Malformed(payload.to_vec()),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            let reason = &payload[2..];
            CloseBody::Code {
                code,
                reason: String::from_utf8_lossy(reason).into_owned(),
                reason_utf8: std::str::from_utf8(reason).is_ok(),
            }
        }
    }
}

/// Whether a close code may appear on the wire (§7.4).
pub fn is_valid_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}
