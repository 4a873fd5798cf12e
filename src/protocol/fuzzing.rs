//! The logic of the `protocol` fuzz target (`fuzz/fuzz_targets/protocol.rs`), kept here so that
//! a plain `#[test]` can replay the checked-in corpus on stable Rust. Not part of the API.

use super::{Chunk, Protocol};
use crate::frame::{Frame, FrameHeader, OpCode};
use crate::frame::{MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::{Config, Error, Message, PerMessageDeflate, ProtocolError, Role};

/// One fuzz case. The first byte picks limits and the split pattern; the rest is fed to a
/// server-role and a client-role core, whole, byte by byte and in pseudo-random pieces.
/// Panics if a core panics, exceeds its memory bounds, or if splitting changes what comes
/// out (messages, errors and the bytes queued for the peer). The same input is also read
/// as a list of messages sent from a client to a server and back, which must arrive intact.
///
/// With the first byte's top bit set, permessage-deflate is negotiated: the next byte picks
/// the window bits of each direction (8..=15) and their context takeover, and all of the
/// above runs with that agreement applied to every core (compressed messages sent in the
/// round trip, RSV1 frames inflated as they arrive).
pub fn run(data: &[u8]) {
    let Some((&ctl, input)) = data.split_first() else {
        return;
    };
    let (deflate, input) = match input {
        [d, rest @ ..] if ctl & 0x80 != 0 => (Some(agreement_for(*d)), rest),
        _ => (None, input),
    };
    let config = config_for(ctl);
    for role in [Role::Server, Role::Client] {
        let whole = drive(
            role,
            &config,
            input,
            &mut std::iter::once(usize::MAX),
            Feed::Receive,
            deflate,
        );
        let bytewise = drive(
            role,
            &config,
            input,
            &mut std::iter::repeat(1),
            Feed::ReadBuf,
            deflate,
        );
        assert_eq!(whole, bytewise, "{role:?}: byte-by-byte differs from whole");
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ u64::from(ctl) ^ (input.len() as u64) << 8);
        let mut sizes = std::iter::from_fn(|| Some(rng.size()));
        let pieces = drive(role, &config, input, &mut sizes, Feed::Mixed, deflate);
        assert_eq!(whole, pieces, "{role:?}: pieces differ from whole");
        let chunks = drive(role, &config, input, &mut sizes, Feed::Chunks, deflate);
        assert_eq!(
            whole, chunks,
            "{role:?}: frame-by-frame reading differs from whole"
        );
    }
    round_trip(ctl, input, deflate);
}

/// The agreement a fuzz input's second byte picks: window bits 8..=15 per direction and
/// context takeover per direction.
fn agreement_for(d: u8) -> PerMessageDeflate {
    PerMessageDeflate {
        server_max_window_bits: 8 + (d & 7),
        client_max_window_bits: 8 + ((d >> 3) & 7),
        server_no_context_takeover: d & 0x40 != 0,
        client_no_context_takeover: d & 0x80 != 0,
    }
}

/// A core for `role`, with `deflate` applied if given.
fn core(role: Role, config: Config, deflate: Option<PerMessageDeflate>) -> Protocol {
    let mut p = Protocol::new(role, config.clone());
    if let Some(a) = deflate {
        p.set_deflate(&a, &config);
    }
    p
}

fn config_for(ctl: u8) -> Config {
    Config::default()
        .max_frame_size(if ctl & 1 == 0 { 300 } else { 1 << 16 })
        .max_message_size(if ctl & 2 == 0 { 1000 } else { 1 << 17 })
        .max_fragments(if ctl & 4 == 0 { 8 } else { 10_000 })
        .auto_pong(ctl & 8 == 0)
        .max_write_buffer(if ctl & 16 == 0 { 300 } else { 1 << 16 })
        .read_buffer_size(if ctl & 32 == 0 { 16 } else { 4096 })
        .fragment_size(if ctl & 64 == 0 { 7 } else { usize::MAX })
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Mostly small pieces, sometimes large ones.
    fn size(&mut self) -> usize {
        let r = self.next();
        if r & 7 == 0 {
            (r >> 8) as usize % 5000 + 1
        } else {
            (r >> 8) as usize % 17 + 1
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Feed {
    Receive,
    ReadBuf,
    Mixed,
    /// Pieces, read with `next_chunk` into small buffers and reassembled.
    Chunks,
}

/// What came out of a core: its events and the frames it queued for the peer (unmasked, so
/// that the random masking keys of a client do not make two runs differ).
#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<Result<Message, ProtocolError>>,
    output: Vec<Frame>,
}

fn drive(
    role: Role,
    config: &Config,
    input: &[u8],
    sizes: &mut dyn Iterator<Item = usize>,
    feed: Feed,
    deflate: Option<PerMessageDeflate>,
) -> Outcome {
    let mut p = core(role, config.clone(), deflate);
    let mut events = Vec::new();
    let mut assembly = (false, Vec::new());
    let mut rest = input;
    let mut turn = 0usize;
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(usize::MAX).clamp(1, rest.len());
        let (part, tail) = rest.split_at(n);
        rest = tail;
        turn += 1;
        if feed == Feed::ReadBuf || (feed == Feed::Mixed && turn % 2 == 0) {
            let buf = p.read_buf(n);
            assert!(buf.len() >= n);
            buf[..n].copy_from_slice(part);
            p.commit(n);
        } else {
            p.receive(part);
        }
        if feed == Feed::Chunks {
            read_chunks(&mut p, &mut assembly, &mut events, turn);
            check_bounds(&p, config, true, input.len() - rest.len());
            continue;
        }
        loop {
            // The mixed feed reads through the zero-copy API: it must give the same
            // messages, errors and replies as the owned one.
            let got = if feed == Feed::Mixed {
                p.next_message_ref().map(|m| m.map(|m| m.to_message()))
            } else {
                p.next_message()
            };
            match got {
                Ok(Some(m)) => events.push(Ok(m)),
                Ok(None) => break,
                Err(e) => {
                    record_error(e, &mut events);
                    break;
                }
            }
            check_bounds(&p, config, false, input.len() - rest.len());
        }
        check_bounds(&p, config, true, input.len() - rest.len());
        if feed == Feed::Mixed && turn % 3 == 0 {
            p.shrink();
        }
    }
    if let Some(Err(e)) = events.last() {
        assert!(p.is_done(), "failed but not done: {e}");
    }
    Outcome {
        events,
        output: parse_output(p.pending()),
    }
}

/// Reads everything available with `next_chunk` into a buffer of 1 to 23 bytes, gathering
/// data into `assembly` (is text, bytes) and pushing whole messages and errors to `events`
/// as the whole-message reads would.
fn read_chunks(
    p: &mut Protocol,
    assembly: &mut (bool, Vec<u8>),
    events: &mut Vec<Result<Message, ProtocolError>>,
    turn: usize,
) {
    let mut buf = vec![0u8; 1 + turn * 7 % 23];
    loop {
        match p.next_chunk(&mut buf) {
            Ok(Some(Chunk::FrameStart { opcode, .. })) => {
                if opcode != OpCode::Continuation {
                    *assembly = (opcode == OpCode::Text, Vec::new());
                }
            }
            Ok(Some(Chunk::Data {
                len,
                end_of_message,
                ..
            })) => {
                assert!(len <= buf.len());
                assembly.1.extend_from_slice(&buf[..len]);
                if end_of_message {
                    let bytes = std::mem::take(&mut assembly.1);
                    events.push(Ok(if assembly.0 {
                        Message::Text(String::from_utf8(bytes).expect("checked text"))
                    } else {
                        Message::Binary(bytes)
                    }));
                }
            }
            Ok(Some(Chunk::Control(m))) => events.push(Ok(m)),
            Ok(None) => break,
            Err(e) => {
                record_error(e, events);
                break;
            }
        }
    }
}

/// An error that ends a turn's reads: a protocol error is an event, the end of the
/// connection is not, and anything else is a bug.
fn record_error(e: Error, events: &mut Vec<Result<Message, ProtocolError>>) {
    match e {
        Error::Protocol(e) => events.push(Err(e)),
        Error::ConnectionClosed => {}
        e => panic!("unexpected error: {e}"),
    }
}

fn check_bounds(p: &Protocol, config: &Config, drained: bool, fed: usize) {
    let rx = &p.receiver;
    if drained && !rx.is_failed() && !rx.close_received() {
        // Between calls only a partial header or a partial control frame waits.
        assert!(
            rx.buffered() <= MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD,
            "{} bytes buffered",
            rx.buffered()
        );
    }
    assert!(rx.message.len() <= config.max_message_size);
    // The message buffer grows with what arrived, not with what headers announced; with
    // compression, with what was inflated (at most the limit).
    let grown = if rx.deflate().is_some() {
        fed.max(config.max_message_size)
    } else {
        fed
    };
    assert!(
        rx.message.capacity() <= 2 * grown + super::receiver::GROW_MIN,
        "message buffer capacity {} after {fed} bytes",
        rx.message.capacity()
    );
    // The inflater's window and tables, and what chunk reads stage (at most their buffer
    // and one piece's output), whatever the stream claims.
    assert!(
        rx.deflate_memory() <= 512 << 10,
        "decompressor holds {} bytes",
        rx.deflate_memory()
    );
    let bound = config.max_write_buffer + 2 * (MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD);
    assert!(
        p.pending().len() <= bound,
        "{} bytes pending",
        p.pending().len()
    );
}

fn parse_output(mut wire: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    while !wire.is_empty() {
        let (mut header, n) = FrameHeader::parse_with(wire, true)
            .expect("our own output parses")
            .expect("our own output holds whole frames");
        let end = n + header.payload_len as usize;
        let mut payload = wire[n..end].to_vec();
        if let Some(key) = header.mask.take() {
            crate::mask::apply_mask(&mut payload, key, 0);
        }
        frames.push(Frame { header, payload });
        wire = &wire[end..];
    }
    frames
}

/// Reads `input` as messages (kind byte, length byte, payload), sends them from a client to
/// a server and back, and checks they arrive unchanged.
fn round_trip(ctl: u8, mut input: &[u8], deflate: Option<PerMessageDeflate>) {
    let config = Config::default().fragment_size(if ctl & 64 == 0 { 7 } else { 1000 });
    let mut sent = Vec::new();
    while let [kind, len, rest @ ..] = input {
        let n = usize::from(*len).min(rest.len());
        let payload = &rest[..n];
        input = &rest[n..];
        let msg = match kind % 4 {
            0 => Message::Text(String::from_utf8_lossy(payload).into_owned()),
            1 => Message::Binary(payload.to_vec()),
            2 => Message::Ping(payload[..n.min(125)].to_vec()),
            _ => Message::Pong(payload[..n.min(125)].to_vec()),
        };
        sent.push(msg);
    }
    for (from, to) in [(Role::Client, Role::Server), (Role::Server, Role::Client)] {
        let mut tx = core(from, config.clone(), deflate);
        let mut rx = core(to, Config::default().auto_pong(false), deflate);
        for m in &sent {
            tx.send(m).expect("send");
        }
        let wire = tx.pending().to_vec();
        for op in parse_output(&wire).iter().map(|f| f.header.opcode) {
            assert_ne!(op, OpCode::Close);
        }
        rx.receive(&wire);
        let mut got = Vec::new();
        while let Some(m) = rx.next_message().expect("our own frames are valid") {
            got.push(m);
        }
        assert_eq!(got, sent, "{from:?} to {to:?}");

        // The same messages sent frame by frame, in pieces, with a ping queued in the
        // middle of every frame (held until the frame is complete).
        let mut tx = core(from, config.clone(), deflate);
        let mut expected = Vec::new();
        for m in &sent {
            let (opcode, payload) = match m {
                Message::Text(t) => (OpCode::Text, t.as_bytes()),
                Message::Binary(b) => (OpCode::Binary, &b[..]),
                _ => continue,
            };
            let cut = payload.len() / 2;
            let piece = (usize::from(ctl) % 5) + 1;
            tx.sender
                .write_frame_start(opcode, false, cut as u64)
                .expect("begin");
            for part in payload[..cut].chunks(piece) {
                tx.sender.write_chunk(part).expect("first frame's data");
                tx.ping(b"mid").expect("ping");
            }
            let rest = &payload[cut..];
            tx.sender
                .write_frame_start(OpCode::Continuation, true, rest.len() as u64)
                .expect("continue");
            for part in rest.chunks(piece) {
                tx.sender.write_chunk(part).expect("second frame's data");
            }
            for _ in payload[..cut].chunks(piece) {
                expected.push(Message::Ping(b"mid".to_vec()));
            }
            expected.push(m.clone());
        }
        let mut rx = core(to, Config::default().auto_pong(false), deflate);
        rx.receive(tx.pending());
        let mut got = Vec::new();
        while let Some(m) = rx
            .next_message()
            .expect("frames sent piece by piece are valid")
        {
            got.push(m);
        }
        assert_eq!(got, expected, "{from:?} to {to:?}, frame by frame");

        // The same messages with data sent in pieces, each written out (drained) after
        // it is queued; one write fails, which queues the rest of that message whole.
        let mut tx = core(from, config.clone(), deflate);
        let mut wire = Vec::new();
        let piece = (usize::from(ctl) % 5) + 1;
        let mut writes_left = usize::from(ctl % 16);
        for m in &sent {
            let (opcode, payload) = match m {
                Message::Text(t) => (OpCode::Text, t.as_bytes()),
                Message::Binary(b) => (OpCode::Binary, &b[..]),
                _ => {
                    tx.send(m).expect("control");
                    continue;
                }
            };
            let result = tx.sender.send_data_in_pieces(opcode, payload, piece, |s| {
                if writes_left == 0 {
                    return Err(Error::Timeout);
                }
                writes_left -= 1;
                wire.extend_from_slice(s.pending());
                s.consume(s.pending().len());
                Ok(())
            });
            assert!(matches!(result, Ok(()) | Err(Error::Timeout)));
        }
        wire.extend_from_slice(tx.pending());
        let mut rx = core(to, Config::default().auto_pong(false), deflate);
        rx.receive(&wire);
        let mut got = Vec::new();
        while let Some(m) = rx.next_message().expect("frames sent in pieces are valid") {
            got.push(m);
        }
        assert_eq!(got, sent, "{from:?} to {to:?}, in pieces");
    }
}
