//! permessage-deflate (RFC 7692) in the sans-IO core: client and server `Protocol`s with an
//! agreement applied, talking through byte buffers. Every direction and parameter, the RFC's
//! wire examples, fragmentation, context takeover, bombs, RSV1 misuse, corrupt streams, the
//! per-message opt-out, the threshold and chunk reads.

mod deflate_support;
use deflate_support::noise;

use std::io::Write;

use ws6455::frame::{FrameHeader, OpCode, RSV1};
use ws6455::mask::apply_mask;
use ws6455::protocol::{Chunk, Protocol, Receiver, Sender};
use ws6455::{
    CloseCode, Config, DeflateConfig, Error, Message, PerMessageDeflate, ProtocolError, Role,
};

/// A frame as it crossed the wire: header (RSV bits included) and unmasked payload.
#[derive(Debug)]
struct Wire {
    header: FrameHeader,
    payload: Vec<u8>,
}

/// The frames in `wire`, all whole (RSV1 allowed where permessage-deflate allows it).
fn frames(mut wire: &[u8]) -> Vec<Wire> {
    let mut out = Vec::new();
    while !wire.is_empty() {
        let (header, n) = FrameHeader::parse_with(wire, true).unwrap().unwrap();
        let len = header.payload_len as usize;
        let mut payload = wire[n..n + len].to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        out.push(Wire { header, payload });
        wire = &wire[n + len..];
    }
    out
}

/// A frame from a server (unmasked) with the given first byte.
fn server_raw(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = FrameHeader::new(
        b0 & 0x80 != 0,
        OpCode::try_from(b0 & 0x0F).unwrap(),
        None,
        payload.len() as u64,
    );
    h.rsv = (b0 >> 4) & 7;
    let mut out = Vec::new();
    h.write_to(&mut out);
    out.extend_from_slice(payload);
    out
}

/// The same frame from a client (masked).
fn client_raw(b0: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut h = FrameHeader::new(
        b0 & 0x80 != 0,
        OpCode::try_from(b0 & 0x0F).unwrap(),
        Some(key),
        payload.len() as u64,
    );
    h.rsv = (b0 >> 4) & 7;
    let mut out = Vec::new();
    h.write_to(&mut out);
    let mut p = payload.to_vec();
    apply_mask(&mut p, key, 0);
    out.extend_from_slice(&p);
    out
}

fn pair(agreement: &PerMessageDeflate, client: Config, server: Config) -> (Protocol, Protocol) {
    let mut c = Protocol::new(Role::Client, client.clone());
    let mut s = Protocol::new(Role::Server, server.clone());
    c.set_deflate(agreement, &client);
    s.set_deflate(agreement, &server);
    (c, s)
}

/// Moves what `from` queued to `to`, returning the bytes.
fn pump(from: &mut Protocol, to: &mut Protocol) -> Vec<u8> {
    let wire = from.pending().to_vec();
    from.consume(wire.len());
    to.receive(&wire);
    wire
}

fn all_messages(p: &mut Protocol) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(m) = p.next_message().unwrap() {
        out.push(m);
    }
    out
}

/// Deterministic text of `len` bytes, JSON-like so that it compresses.
fn chat(len: usize, seed: u64) -> String {
    let words = [
        "hello",
        "world",
        "deflate",
        "message",
        "{\"type\":\"chat\"}",
        "42",
        "ws6455",
        " ",
    ];
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut s = String::with_capacity(len + 16);
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(words[(x % words.len() as u64) as usize]);
        s.push(' ');
    }
    s.truncate(len);
    s
}

fn agreements() -> Vec<PerMessageDeflate> {
    let mut out = Vec::new();
    for (sb, cb) in [(15, 15), (8, 8), (9, 15), (15, 9), (12, 12), (10, 13)] {
        for (snct, cnct) in [(false, false), (true, false), (false, true), (true, true)] {
            out.push(PerMessageDeflate {
                server_no_context_takeover: snct,
                client_no_context_takeover: cnct,
                server_max_window_bits: sb,
                client_max_window_bits: cb,
            });
        }
    }
    out
}

#[test]
fn every_direction_and_parameter_round_trips() {
    let sizes = [0usize, 1, 5, 100, 300, 4000, 70_000];
    for a in agreements() {
        for fragment in [0usize, 7, 1000] {
            let cfg = Config::default().fragment_size(fragment);
            let (mut c, mut s) = pair(&a, cfg.clone(), cfg);
            let mut sent = Vec::new();
            for (i, &n) in sizes.iter().enumerate() {
                let m = if i % 2 == 0 {
                    Message::text(chat(n, i as u64))
                } else {
                    Message::binary(noise(n, i as u64))
                };
                c.send(&m).unwrap();
                s.send(&m).unwrap();
                sent.push(m);
            }
            let up = pump(&mut c, &mut s);
            let down = pump(&mut s, &mut c);
            assert_eq!(
                all_messages(&mut s),
                sent,
                "{a:?} fragment {fragment}: client to server"
            );
            assert_eq!(
                all_messages(&mut c),
                sent,
                "{a:?} fragment {fragment}: server to client"
            );
            for wire in [&up, &down] {
                let fs = frames(wire);
                // RSV1 on the first frame of each message, never on continuations.
                let mut first = true;
                let mut starts = 0;
                for f in &fs {
                    if first {
                        assert_eq!(f.header.rsv, RSV1, "{a:?}: first frame compressed");
                        starts += 1;
                    } else {
                        assert_eq!(f.header.rsv, 0, "{a:?}: continuation without RSV1");
                    }
                    first = f.header.fin;
                }
                assert_eq!(starts, sizes.len());
            }
            // The text messages shrank.
            assert!(
                up.len() < sizes.iter().sum::<usize>(),
                "{a:?}: {} bytes",
                up.len()
            );
        }
    }
}

#[test]
fn rfc7692_examples_are_accepted_on_the_wire() {
    let hello = Message::text("Hello");
    let cases: [&[&[u8]]; 5] = [
        // §7.2.3.1: one frame, then the same message in two fragments.
        &[&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]],
        &[
            &[0x41, 0x03, 0xf2, 0x48, 0xcd],
            &[0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00],
        ],
        // §7.2.3.3: a stored block.
        &[&[
            0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ]],
        // §7.2.3.4: a final (BFINAL) block.
        &[&[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00]],
        // §7.2.3.5: two DEFLATE blocks in one message.
        &[&[
            0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07,
            0x00,
        ]],
    ];
    for parts in cases {
        let mut c = Protocol::new(Role::Client, Config::default());
        c.set_deflate(&PerMessageDeflate::default(), &Config::default());
        for p in parts {
            c.receive(p);
        }
        assert_eq!(c.next_message().unwrap(), Some(hello.clone()), "{parts:x?}");
        // And the same bytes arriving one by one.
        let mut c = Protocol::new(Role::Client, Config::default());
        c.set_deflate(&PerMessageDeflate::default(), &Config::default());
        let mut got = Vec::new();
        for b in parts.concat() {
            c.receive(&[b]);
            got.extend(c.next_message().unwrap());
        }
        assert_eq!(got, std::slice::from_ref(&hello));
    }
    // §7.2.3.2: with context takeover the second "Hello" refers to the first.
    let mut c = Protocol::new(Role::Client, Config::default());
    c.set_deflate(&PerMessageDeflate::default(), &Config::default());
    c.receive(&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    c.receive(&[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]);
    assert_eq!(all_messages(&mut c), [hello.clone(), hello.clone()]);
    // What we send: §7.2.3.1 byte for byte, then a back reference.
    let mut s = Protocol::new(Role::Server, Config::default());
    s.set_deflate(&PerMessageDeflate::default(), &Config::default());
    s.send_text("Hello").unwrap();
    assert_eq!(
        s.pending(),
        &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    );
    s.consume(9);
    s.send_text("Hello").unwrap();
    assert_eq!(s.pending(), &[0xc1, 0x04, 0x02, 0x13, 0x00, 0x00]);
    // An empty message compresses to one byte.
    s.consume(6);
    s.send_binary(&[]).unwrap();
    assert_eq!(s.pending(), &[0xc2, 0x01, 0x00]);
}

#[test]
fn compressed_messages_split_into_many_frames_with_empty_ones() {
    let text = chat(5000, 7);
    let mut z = Vec::new();
    let mut tx = Sender::new(Role::Client, &Config::default());
    tx.set_deflate(&PerMessageDeflate::default(), &Config::default());
    tx.send_text(&text).unwrap();
    let f = &frames(tx.pending())[0];
    z.extend_from_slice(&f.payload);
    for step in [1usize, 3, 100, 1000] {
        let mut wire = Vec::new();
        let mut pieces: Vec<&[u8]> = z.chunks(step).collect();
        pieces.insert(0, &[]); // an empty first frame (RSV1 on it)
        pieces.insert(2.min(pieces.len()), &[]);
        pieces.push(&[]); // an empty last frame
        let last = pieces.len() - 1;
        for (i, p) in pieces.iter().enumerate() {
            let op = if i == 0 { 0x41 } else { 0x00 };
            let fin = if i == last { 0x80 } else { 0 };
            wire.extend(client_raw(op | fin, p));
        }
        let mut s = Protocol::new(Role::Server, Config::default().max_fragments(100_000));
        s.set_deflate(&PerMessageDeflate::default(), &Config::default());
        s.receive(&wire);
        assert_eq!(
            s.next_message().unwrap(),
            Some(Message::text(text.clone())),
            "step {step}"
        );
        // Frame by frame with a small buffer, too.
        let mut s = Protocol::new(Role::Server, Config::default().max_fragments(100_000));
        s.set_deflate(&PerMessageDeflate::default(), &Config::default());
        s.receive(&wire);
        assert_eq!(read_chunked(&mut s, 64), vec![Message::text(text.clone())]);
    }
    // A compressed message without any payload is taken as empty (we send `00` for one).
    let mut s = Protocol::new(Role::Server, Config::default());
    s.set_deflate(&PerMessageDeflate::default(), &Config::default());
    s.receive(&client_raw(0xc1, &[]));
    s.receive(&[client_raw(0x41, &[]), client_raw(0x80, &[])].concat());
    s.receive(&client_raw(
        0xc1,
        &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
    ));
    assert_eq!(
        all_messages(&mut s),
        [Message::text(""), Message::text(""), Message::text("Hello")]
    );
    let mut buf = [0u8; 8];
    s.receive(&client_raw(0xc2, &[]));
    assert_eq!(
        s.next_chunk(&mut buf).unwrap(),
        Some(Chunk::FrameStart {
            opcode: OpCode::Binary,
            fin: true,
            len: 0
        })
    );
}

/// Reads every whole message with `next_chunk` into a `size`-byte buffer, checking that each
/// frame start announces exactly the data that follows it.
fn read_chunked(p: &mut Protocol, size: usize) -> Vec<Message> {
    ChunkReader::default().read(p, size)
}

/// A message being read chunk by chunk, across calls.
#[derive(Default)]
struct ChunkReader {
    current: Option<(OpCode, Vec<u8>)>,
    announced: u64,
}

impl ChunkReader {
    fn read(&mut self, p: &mut Protocol, size: usize) -> Vec<Message> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; size];
        let ChunkReader { current, announced } = self;
        loop {
            match p.next_chunk(&mut buf).unwrap() {
                None => return out,
                Some(Chunk::FrameStart { opcode, len, .. }) => {
                    assert!(len as usize <= size);
                    *announced = len;
                    if opcode != OpCode::Continuation {
                        assert!(current.is_none());
                        *current = Some((opcode, Vec::new()));
                    }
                }
                Some(Chunk::Data {
                    len,
                    end_of_frame,
                    end_of_message,
                }) => {
                    assert_eq!(
                        len as u64, *announced,
                        "a frame's data is what its start announced"
                    );
                    assert!(end_of_frame);
                    let (op, data) = current.as_mut().unwrap();
                    data.extend_from_slice(&buf[..len]);
                    if end_of_message {
                        let op = *op;
                        let data = std::mem::take(data);
                        *current = None;
                        out.push(if op == OpCode::Text {
                            Message::Text(String::from_utf8(data).unwrap())
                        } else {
                            Message::Binary(data)
                        });
                    }
                }
                Some(Chunk::Control(m)) => out.push(m),
            }
        }
    }
}

#[test]
fn chunk_reads_hand_out_decompressed_data_as_it_is_inflated() {
    for a in [PerMessageDeflate::default(), agreements()[7]] {
        for size in [1usize, 7, 4096, 1 << 16] {
            let (mut c, mut s) = pair(&a, Config::default().fragment_size(777), Config::default());
            let msgs = [
                Message::text(chat(100_000, 1)),
                Message::binary(vec![]),
                Message::Ping(b"between".to_vec()),
                Message::binary(noise(3000, 2)),
                Message::text(""),
                Message::text(chat(10, 3)),
            ];
            for m in &msgs {
                c.send(m).unwrap();
            }
            let wire = c.pending().to_vec();
            c.consume(wire.len());
            // Fed in pieces, read in between.
            let mut got = Vec::new();
            let mut reader = ChunkReader::default();
            for piece in wire.chunks(1000) {
                s.receive(piece);
                got.extend(reader.read(&mut s, size));
            }
            assert_eq!(got, msgs, "buffer {size}");
        }
    }
    // Data comes out before the message is complete: the first piece of a 100 KB text.
    let (mut c, mut s) = pair(
        &PerMessageDeflate::default(),
        Config::default(),
        Config::default(),
    );
    let text = noise(100_000, 9);
    c.send_binary(&text).unwrap();
    let wire = c.pending().to_vec();
    s.receive(&wire[..wire.len() / 2]);
    let mut buf = vec![0u8; 1 << 16];
    let Some(Chunk::FrameStart {
        opcode: OpCode::Binary,
        fin: false,
        len,
    }) = s.next_chunk(&mut buf).unwrap()
    else {
        panic!("a frame start")
    };
    assert!(len > 0);
    assert!(matches!(
        s.next_chunk(&mut buf).unwrap(),
        Some(Chunk::Data {
            end_of_message: false,
            ..
        })
    ));
}

#[test]
fn a_buffer_smaller_after_the_frame_start_gets_the_frame_in_pieces() {
    // An application may give a smaller buffer for a frame's data than for its start (the
    // shipped echo gives its grown buffer back between frames): the frame the start announced
    // comes in pieces of the buffer, its bytes intact. (This used to panic: the whole frame
    // was copied into the smaller buffer.)
    let (mut c, mut s) = pair(
        &PerMessageDeflate::default(),
        Config::default(),
        Config::default(),
    );
    let payload = noise(50_000, 4);
    c.send_binary(&payload).unwrap();
    let wire = c.pending().to_vec();
    s.receive(&wire);
    let mut big = vec![0u8; 1 << 16];
    let mut small = [0u8; 100];
    let mut got = Vec::new();
    let mut pieces = 0;
    loop {
        let Some(Chunk::FrameStart { len, .. }) = s.next_chunk(&mut big).unwrap() else {
            panic!("a frame start")
        };
        let mut left = len as usize;
        loop {
            let Some(Chunk::Data {
                len: n,
                end_of_frame,
                end_of_message,
            }) = s.next_chunk(&mut small).unwrap()
            else {
                panic!("data")
            };
            assert!(n <= small.len());
            got.extend_from_slice(&small[..n]);
            left -= n;
            pieces += 1;
            assert_eq!(
                end_of_frame,
                left == 0,
                "end of frame exactly when its bytes are out"
            );
            if end_of_frame {
                if end_of_message {
                    assert_eq!(got, payload);
                    assert!(pieces >= payload.len() / small.len());
                    return;
                }
                break;
            }
            assert!(!end_of_message);
        }
    }
}

#[test]
fn chunks_written_back_make_a_valid_stream() {
    // An echo that forwards frame by frame: what `next_chunk` yields for a compressed message
    // can be written back with `write_frame_start` / `write_chunk` (sent uncompressed).
    let a = PerMessageDeflate::default();
    let (mut c, mut s) = pair(&a, Config::default(), Config::default());
    let msgs = [
        Message::text(chat(50_000, 4)),
        Message::binary(noise(5000, 5)),
    ];
    for m in &msgs {
        c.send(m).unwrap();
    }
    pump(&mut c, &mut s);
    let mut buf = vec![0u8; 1000];
    let mut ends = 0;
    while ends < msgs.len() {
        match s.next_chunk(&mut buf).unwrap().unwrap() {
            Chunk::FrameStart { opcode, fin, len } => {
                s.sender_mut().write_frame_start(opcode, fin, len).unwrap()
            }
            Chunk::Data {
                len,
                end_of_message,
                ..
            } => {
                s.sender_mut().write_chunk(&buf[..len]).unwrap();
                ends += usize::from(end_of_message);
            }
            Chunk::Control(_) => unreachable!(),
        }
    }
    let back = pump(&mut s, &mut c);
    assert!(frames(&back).iter().all(|f| f.header.rsv == 0));
    assert_eq!(all_messages(&mut c), msgs);
}

#[test]
fn context_takeover_carries_over_a_thousand_messages() {
    for a in [
        PerMessageDeflate::default(),
        PerMessageDeflate {
            server_max_window_bits: 9,
            client_max_window_bits: 8,
            ..Default::default()
        },
    ] {
        let (mut c, mut s) = pair(&a, Config::default(), Config::default());
        let mut total_wire = 0;
        let mut total = 0;
        for i in 0..1000u64 {
            let m = Message::text(chat(30 + (i as usize * 37) % 1800, i % 50));
            total += m.len();
            c.send(&m).unwrap();
            total_wire += pump(&mut c, &mut s).len();
            assert_eq!(s.next_message().unwrap(), Some(m.clone()));
            s.send(&m).unwrap();
            pump(&mut s, &mut c);
            assert_eq!(c.next_message().unwrap(), Some(m));
        }
        assert!(total_wire * 2 < total, "{a:?}: {total_wire} of {total}");
    }
    // The same message twice: the second is much smaller with takeover.
    let (mut c, mut s) = pair(
        &PerMessageDeflate::default(),
        Config::default(),
        Config::default(),
    );
    let m = Message::binary(noise(2000, 1));
    c.send(&m).unwrap();
    let first = pump(&mut c, &mut s).len();
    c.send(&m).unwrap();
    let second = pump(&mut c, &mut s).len();
    assert!(second * 10 < first, "{first} then {second}");
    assert_eq!(all_messages(&mut s), [m.clone(), m]);
}

#[test]
fn no_context_takeover_resets_each_message() {
    let a = PerMessageDeflate {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..Default::default()
    };
    let (mut c, mut s) = pair(&a, Config::default(), Config::default());
    let m = Message::binary(noise(2000, 1));
    let mut sizes = Vec::new();
    for _ in 0..3 {
        s.send(&m).unwrap();
        sizes.push(pump(&mut s, &mut c).len());
        assert_eq!(c.next_message().unwrap(), Some(m.clone()));
    }
    assert!(sizes.iter().all(|&n| n == sizes[0]), "{sizes:?}");
    // The compressor's memory is freed after each message.
    assert_eq!(s.sender().deflate_memory(), 0);
    // Our inflater forgets too: a peer that refers back across messages is refused (1007).
    let mut rx = Protocol::new(Role::Client, Config::default());
    rx.set_deflate(&a, &Config::default());
    rx.receive(&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    assert_eq!(rx.next_message().unwrap(), Some(Message::text("Hello")));
    assert_eq!(rx.receiver().deflate_memory(), 0);
    rx.receive(&[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]);
    let err = rx.next_message().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Protocol(ProtocolError::InvalidCompressedData(_))
        ),
        "{err}"
    );
    assert_eq!(err.close_code(), Some(CloseCode::Invalid));
    assert_eq!(close_code(rx.pending()), Some(1007));
    // With takeover on one side only: the other still keeps its history.
    let a = PerMessageDeflate {
        client_no_context_takeover: true,
        ..Default::default()
    };
    let (mut c, mut s) = pair(&a, Config::default(), Config::default());
    c.send(&m).unwrap();
    c.send(&m).unwrap();
    let up = pump(&mut c, &mut s);
    let fs = frames(&up);
    assert_eq!(fs[0].payload, fs[1].payload, "the client resets");
    s.send(&m).unwrap();
    s.send(&m).unwrap();
    let down = pump(&mut s, &mut c);
    let fs = frames(&down);
    assert!(
        fs[1].payload.len() * 10 < fs[0].payload.len(),
        "the server keeps its history"
    );
    assert_eq!(all_messages(&mut s), [m.clone(), m.clone()]);
    assert_eq!(all_messages(&mut c), [m.clone(), m]);
}

/// The close code in the close frame at the end of `wire`.
fn close_code(wire: &[u8]) -> Option<u16> {
    let fs = frames(wire);
    let last = fs.last()?;
    (last.header.opcode == OpCode::Close)
        .then(|| u16::from_be_bytes([last.payload[0], last.payload[1]]))
}

/// A raw DEFLATE stream (sync-flushed, tail removed) of `zeros` zero bytes, from flate2's
/// default backend: what a zlib-style peer sends.
fn zeros_stream(zeros: usize) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![0u8; 1 << 20];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(block.len());
        e.write_all(&block[..n]).unwrap();
        left -= n;
    }
    e.flush().unwrap();
    let mut z = e.get_ref().clone();
    assert_eq!(&z[z.len() - 4..], &[0, 0, 0xff, 0xff]);
    z.truncate(z.len() - 4);
    z
}

#[test]
fn a_bomb_stops_at_the_limit_with_bounded_memory() {
    // 16 MiB of zeros compress to about 16 KiB; 64 of those in a row (about 1 MiB) would
    // inflate to 1 GiB. The limit is 16 MiB: 1009, and memory stays near the limit.
    let unit = zeros_stream(16 << 20);
    let limit = 16 << 20;
    let cfg = Config::default().max_message_size(limit);
    for chunked in [false, true] {
        let mut s = Protocol::new(Role::Server, cfg.clone());
        s.set_deflate(&PerMessageDeflate::default(), &cfg);
        let mut result = Ok(None);
        let mut buf = vec![0u8; 1 << 16];
        let mut peak = 0;
        for i in 0..64 {
            let b0 = if i == 0 { 0x42 } else { 0x00 } | if i == 63 { 0x80 } else { 0 };
            let mut payload = unit.clone();
            if i < 63 {
                payload.extend_from_slice(&[0, 0, 0xff, 0xff]); // the flush, between units
            }
            s.receive(&client_raw(b0, &payload));
            result = if chunked {
                loop {
                    match s.next_chunk(&mut buf) {
                        Ok(Some(_)) => {}
                        Ok(None) => break Ok(None),
                        Err(e) => break Err(e),
                    }
                }
            } else {
                s.next_message().map(|m| m.map(|_| ()))
            };
            peak = peak.max(s.receiver().capacity());
            if result.is_err() {
                assert!(i <= 1, "stopped at frame {i}");
                break;
            }
        }
        let err = result.unwrap_err();
        assert!(
            matches!(err, Error::Protocol(ProtocolError::MessageTooLarge { .. })),
            "{err}"
        );
        assert_eq!(close_code(s.pending()), Some(1009));
        if chunked {
            // Handed out as inflated: never more than the buffer and a piece's worth staged.
            assert!(peak < 2 << 20, "chunked: peak {peak}");
        } else {
            assert!(peak < 2 * limit + (2 << 20), "whole: peak {peak}");
        }
    }
}

#[test]
fn the_limit_counts_decompressed_bytes_exactly() {
    for limit in [1usize, 1000, 70_000] {
        let cfg = Config::default().max_message_size(limit);
        for (len, ok) in [(limit, true), (limit + 1, false)] {
            for chunked in [false, true] {
                let mut c = Protocol::new(Role::Client, Config::default());
                c.set_deflate(&PerMessageDeflate::default(), &Config::default());
                c.send_binary(&vec![7u8; len]).unwrap();
                let mut s = Protocol::new(Role::Server, cfg.clone());
                s.set_deflate(&PerMessageDeflate::default(), &cfg);
                pump(&mut c, &mut s);
                let got = if chunked {
                    let mut buf = vec![0; 100];
                    let mut total = 0;
                    loop {
                        match s.next_chunk(&mut buf) {
                            Ok(Some(Chunk::Data {
                                len,
                                end_of_message,
                                ..
                            })) => {
                                total += len;
                                if end_of_message {
                                    break Ok(total);
                                }
                            }
                            Ok(Some(_)) => {}
                            Ok(None) => panic!("stalled"),
                            Err(e) => break Err(e),
                        }
                    }
                } else {
                    s.next_message().map(|m| m.unwrap().len())
                };
                match got {
                    Ok(n) => assert!(ok && n == len, "limit {limit}, len {len}"),
                    Err(e) => {
                        assert!(!ok, "limit {limit}, len {len}: {e}");
                        assert_eq!(e.close_code(), Some(CloseCode::Size));
                    }
                }
            }
        }
    }
    // max_frame_size applies to the compressed frame on the wire.
    let cfg = Config::default().max_frame_size(100);
    let mut c = Protocol::new(Role::Client, Config::default());
    c.set_deflate(&PerMessageDeflate::default(), &Config::default());
    c.send_binary(&vec![0u8; 10_000]).unwrap(); // compresses to far less than 100 bytes
    c.send_binary(&noise(200, 3)).unwrap(); // does not
    let mut s = Protocol::new(Role::Server, cfg.clone());
    s.set_deflate(&PerMessageDeflate::default(), &cfg);
    pump(&mut c, &mut s);
    assert_eq!(s.next_message().unwrap().unwrap().len(), 10_000);
    assert!(matches!(
        s.next_message(),
        Err(Error::Protocol(ProtocolError::FrameTooLarge { .. }))
    ));
}

#[test]
fn rsv1_misuse_fails_with_1002() {
    let z = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let cases: Vec<(bool, Vec<u8>, ProtocolError)> = vec![
        // Without the extension, RSV1 is a reserved bit.
        (
            false,
            server_raw(0xc1, &z),
            ProtocolError::ReservedBits(0b100),
        ),
        // On control frames.
        (
            true,
            server_raw(0xc9, b""),
            ProtocolError::CompressedControlFrame,
        ),
        (
            true,
            server_raw(0xca, b"x"),
            ProtocolError::CompressedControlFrame,
        ),
        (
            true,
            server_raw(0xc8, &[3, 232]),
            ProtocolError::CompressedControlFrame,
        ),
        // On a continuation frame, of a compressed message or not.
        (
            true,
            [server_raw(0x41, &z[..3]), server_raw(0xc0, &z[3..])].concat(),
            ProtocolError::CompressedContinuation,
        ),
        (
            true,
            [server_raw(0x01, b"He"), server_raw(0xc0, b"llo")].concat(),
            ProtocolError::CompressedContinuation,
        ),
        // RSV2 and RSV3 stay reserved.
        (
            true,
            server_raw(0xa1, b"x"),
            ProtocolError::ReservedBits(0b010),
        ),
        (
            true,
            server_raw(0x91, b"x"),
            ProtocolError::ReservedBits(0b001),
        ),
        (
            true,
            server_raw(0xe1, &z),
            ProtocolError::ReservedBits(0b110),
        ),
    ];
    for (negotiated, wire, want) in cases {
        for chunked in [false, true] {
            let mut c = Protocol::new(Role::Client, Config::default());
            if negotiated {
                c.set_deflate(&PerMessageDeflate::default(), &Config::default());
            }
            c.receive(&wire);
            let mut buf = [0u8; 64];
            let err = loop {
                let r = if chunked {
                    c.next_chunk(&mut buf).map(|x| x.map(|_| ()))
                } else {
                    c.next_message().map(|x| x.map(|_| ()))
                };
                match r {
                    Ok(Some(())) => {}
                    Ok(None) => panic!("{wire:x?}: no error"),
                    Err(e) => break e,
                }
            };
            assert_eq!(err.to_string(), Error::Protocol(want.clone()).to_string());
            assert_eq!(err.close_code(), Some(CloseCode::Protocol));
            assert_eq!(close_code(c.pending()), Some(1002));
        }
    }
}

#[test]
fn corrupt_streams_and_bad_text_fail_with_1007() {
    let cases: [&[u8]; 4] = [
        &[0xff, 0xff, 0xff],             // BTYPE 3
        &[0x00, 0x05, 0x00, 0x00, 0x00], // stored LEN / NLEN mismatch
        &[0xf2, 0x48, 0xcd],             // ends inside a block
        &[0x02, 0x13, 0x00, 0x00],       // a match with no history
    ];
    for z in cases {
        for chunked in [false, true] {
            let mut s = Protocol::new(Role::Server, Config::default());
            s.set_deflate(&PerMessageDeflate::default(), &Config::default());
            s.receive(&client_raw(0xc2, z));
            let mut buf = [0u8; 16];
            let err = if chunked {
                loop {
                    match s.next_chunk(&mut buf) {
                        Ok(Some(_)) => {}
                        Ok(None) => panic!("{z:x?}: no error"),
                        Err(e) => break e,
                    }
                }
            } else {
                s.next_message().unwrap_err()
            };
            assert!(
                matches!(
                    err,
                    Error::Protocol(ProtocolError::InvalidCompressedData(_))
                ),
                "{z:x?}: {err}"
            );
            assert_eq!(close_code(s.pending()), Some(1007));
        }
    }
    // Text that is not UTF-8 once inflated: 1007, whole or chunk by chunk.
    let mut tx = Sender::new(Role::Client, &Config::default());
    tx.set_deflate(&PerMessageDeflate::default(), &Config::default());
    tx.send_binary(&[b'o', b'k', 0xff, 0xfe]).unwrap();
    let mut wire = tx.pending().to_vec();
    wire[0] = 0xc1; // as text
    for chunked in [false, true] {
        let mut s = Protocol::new(Role::Server, Config::default());
        s.set_deflate(&PerMessageDeflate::default(), &Config::default());
        s.receive(&wire);
        let mut buf = [0u8; 16];
        let err = if chunked {
            loop {
                match s.next_chunk(&mut buf) {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("no error"),
                    Err(e) => break e,
                }
            }
        } else {
            s.next_message().unwrap_err()
        };
        assert!(
            matches!(err, Error::Protocol(ProtocolError::InvalidUtf8)),
            "{err}"
        );
        assert_eq!(close_code(s.pending()), Some(1007));
    }
}

#[test]
fn the_opt_out_sends_uncompressed_and_keeps_the_history() {
    let (mut c, mut s) = pair(
        &PerMessageDeflate::default(),
        Config::default(),
        Config::default(),
    );
    let secret = Message::text(format!("token=abc123 {}", chat(200, 1)));
    let normal = Message::text(chat(200, 1));
    c.send(&normal).unwrap();
    c.send_uncompressed(&secret).unwrap();
    c.sender_mut()
        .send_uncompressed(&Message::binary(vec![1, 2, 3]))
        .unwrap();
    c.send_uncompressed(&Message::Ping(b"p".to_vec())).unwrap();
    c.send(&normal).unwrap();
    let wire = pump(&mut c, &mut s);
    let fs = frames(&wire);
    let rsv: Vec<u8> = fs.iter().map(|f| f.header.rsv).collect();
    assert_eq!(rsv, [RSV1, 0, 0, 0, RSV1]);
    assert_eq!(fs[1].payload, secret.as_bytes());
    assert!(
        fs[4].payload.len() < 20,
        "the second copy refers back to the first"
    );
    assert_eq!(
        all_messages(&mut s),
        [
            normal.clone(),
            secret,
            Message::binary(vec![1, 2, 3]),
            Message::Ping(b"p".to_vec()),
            normal
        ]
    );
}

#[test]
fn the_threshold_leaves_small_messages_uncompressed() {
    let cfg = Config::default().deflate(DeflateConfig::default().threshold(64).level(9));
    let (mut c, mut s) = pair(&PerMessageDeflate::default(), cfg.clone(), cfg);
    c.send_text(&"a".repeat(63)).unwrap();
    c.send_text(&"a".repeat(64)).unwrap();
    c.send_binary(&[]).unwrap();
    let fs = frames(&pump(&mut c, &mut s));
    assert_eq!(
        fs.iter().map(|f| f.header.rsv).collect::<Vec<_>>(),
        [0, RSV1, 0]
    );
    assert_eq!(fs[0].payload.len(), 63);
    assert!(fs[1].payload.len() < 10);
    assert_eq!(all_messages(&mut s).len(), 3);
}

#[test]
fn zero_copy_reads_and_split_halves_see_compressed_messages() {
    let (mut c, mut s) = pair(
        &PerMessageDeflate::default(),
        Config::default(),
        Config::default(),
    );
    c.send_text("Hello").unwrap();
    c.send_binary(&[1, 2, 3]).unwrap();
    pump(&mut c, &mut s);
    assert_eq!(
        s.next_message_ref().unwrap(),
        Some(ws6455::MessageRef::Text("Hello"))
    );
    assert_eq!(
        s.next_message_ref().unwrap(),
        Some(ws6455::MessageRef::Binary(&[1, 2, 3]))
    );
    // The halves of a Protocol keep the agreement.
    let (rx, tx): (Receiver, Sender) = s.into_parts();
    assert_eq!(rx.deflate(), Some(PerMessageDeflate::default()));
    assert_eq!(tx.deflate(), Some(PerMessageDeflate::default()));
}

#[test]
fn a_zlib_peer_interoperates() {
    // Messages compressed by flate2 (sync flush, tail removed, context kept) arrive; ours
    // inflate with flate2.
    let mut c = Protocol::new(Role::Client, Config::default());
    c.set_deflate(&PerMessageDeflate::default(), &Config::default());
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    let mut sent = Vec::new();
    for i in 0..50u64 {
        let text = chat(10 + (i as usize * 97) % 3000, i % 5);
        let start = enc.get_ref().len();
        enc.write_all(text.as_bytes()).unwrap();
        enc.flush().unwrap();
        let z = enc.get_ref()[start..enc.get_ref().len() - 4].to_vec();
        c.receive(&server_raw(0xc1, &z));
        sent.push(Message::text(text));
    }
    assert_eq!(all_messages(&mut c), sent);

    let mut s = Protocol::new(Role::Server, Config::default());
    s.set_deflate(&PerMessageDeflate::default(), &Config::default());
    let mut dec = flate2::Decompress::new(false);
    for m in &sent {
        s.send(m).unwrap();
        let f = frames(s.pending()).remove(0);
        let n = s.pending().len();
        s.consume(n);
        let mut z = f.payload;
        z.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = Vec::with_capacity(m.len() + 64);
        dec.decompress_vec(&z, &mut out, flate2::FlushDecompress::Sync)
            .unwrap();
        assert_eq!(out, m.as_bytes());
    }
}

#[test]
fn the_protocol_fuzz_checks_hold_with_compression() {
    // A cheap stand-in for the fuzzer on stable: mutations of valid compressed streams, run
    // through the protocol target's checks with an agreement applied (first byte's top bit).
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..200u64 {
        let d = next() as u8;
        let a = PerMessageDeflate {
            server_max_window_bits: 8 + (d & 7),
            client_max_window_bits: 8 + ((d >> 3) & 7),
            server_no_context_takeover: d & 0x40 != 0,
            client_no_context_takeover: d & 0x80 != 0,
        };
        let role = if round % 2 == 0 {
            Role::Client
        } else {
            Role::Server
        };
        let cfg = Config::default().fragment_size(1 + (next() % 40) as usize);
        let mut tx = Sender::new(role, &cfg);
        tx.set_deflate(&a, &cfg);
        for i in 0..(1 + next() % 4) {
            match next() % 3 {
                0 => tx.send_text(&chat((next() % 300) as usize, i)).unwrap(),
                1 => tx.send_binary(&noise((next() % 100) as usize, i)).unwrap(),
                _ => tx.ping(b"x").unwrap(),
            }
        }
        let ctl = 0x80 | (next() as u8 & 0x7f);
        let mut data = vec![ctl, d];
        data.extend_from_slice(tx.pending());
        for _ in 0..(next() % 3) {
            let at = 2 + (next() as usize) % (data.len() - 2);
            data[at] ^= 1 << (next() % 8);
        }
        ws6455::protocol::fuzzing::run(&data);
    }
}
