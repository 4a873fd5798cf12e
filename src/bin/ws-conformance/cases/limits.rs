//! Section 8, limits and load (§10.4): messages over the peer's limit (`--max-message-size`)
//! must fail with 1009 without the peer buffering them; many messages keep their order; large
//! messages round-trip, with throughput reported.

use super::{binary_payload, size_name, text_payload};
use crate::case::Case;
use crate::raw::{RawFrame, BINARY, CONTINUATION, TEXT};

const MIB: usize = 1 << 20;

/// Section 8's cases.
pub fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case::script(
            "limit.1.1",
            "frame header announcing 2^62 bytes, followed by only 1 KiB",
            |s| {
                s.send(RawFrame::binary(binary_payload(1024)).declared_len(1 << 62));
                s.limit(1009);
            },
        ),
        Case::script(
            "limit.1.2",
            "text frame header announcing the limit + 1 bytes, followed by only 64 KiB",
            |s| {
                let limit = s.ctx().max_message_size;
                s.send(RawFrame::text(text_payload(65536)).declared_len(limit + 1));
                s.limit(1009);
            },
        ),
        Case::script(
            "limit.1.3",
            "1 MiB fragment, then a continuation header taking the message past the limit, \
             followed by only 1 KiB",
            |s| {
                let limit = s.ctx().max_message_size;
                s.send(RawFrame::binary(binary_payload(MIB)).fin(false));
                s.send(RawFrame::continuation(binary_payload(1024)).declared_len(limit));
                s.limit(1009);
            },
        ),
        Case::script(
            "limit.1.4",
            "message of the limit + 1 MiB, fully sent in 1 MiB fragments",
            |s| {
                let limit = s.ctx().max_message_size as usize;
                let piece = binary_payload(MIB);
                // First + middle + last fragments add up to more than the limit by at most 1 MiB.
                let middle = (limit / MIB).saturating_sub(1);
                s.send(RawFrame::binary(piece.clone()).fin(false));
                let bytes = s.encode(&RawFrame::continuation(piece.clone()).fin(false));
                s.repeat(bytes, middle);
                s.send(RawFrame::continuation(piece));
                s.limit(1009);
            },
        ),
        Case::script(
            "limit.2.1",
            "1000 small text messages in a single write",
            |s| {
                let mut bytes = Vec::new();
                for i in 0..1000 {
                    let msg = format!("message {i}");
                    bytes.extend(s.encode(&RawFrame::text(msg.clone())));
                    s.expect_text(msg);
                }
                s.write(bytes, 0);
            },
        ),
        Case::script(
            "limit.2.2",
            "1000 binary messages of 1 to 1000 bytes, one write each, without waiting",
            |s| {
                for i in 1..=1000 {
                    s.echo(RawFrame::binary(binary_payload(i)));
                }
                s.expect.may_hit_limit = true;
            },
        ),
    ];
    for (i, size) in [MIB, 4 * MIB, 16 * MIB].into_iter().enumerate() {
        cases.push(Case::script(
            format!("limit.3.{}", i + 1),
            format!(
                "binary message of {} in frames of 4 KiB, 64 KiB, 1 MiB, 100 bytes (cycled); \
                 throughput",
                size_name(size as u64)
            ),
            move |s| {
                let payload = binary_payload(size);
                let sizes = [4096, 65536, MIB, 100];
                let mut rest = &payload[..];
                let mut j = 0;
                let mut bytes = Vec::with_capacity(size + 4096);
                while !rest.is_empty() {
                    let (piece, tail) = rest.split_at(sizes[j % sizes.len()].min(rest.len()));
                    let op = if j == 0 { BINARY } else { CONTINUATION };
                    bytes.extend(s.encode(&RawFrame::new(op, piece).fin(tail.is_empty())));
                    rest = tail;
                    j += 1;
                }
                s.write(bytes, 0);
                s.expect_binary(payload);
                s.expect.informational = true;
                s.expect.may_hit_limit = true;
            },
        ));
    }
    cases.extend(load_cases());
    cases
}

/// `payload` as frames of `piece` bytes (the last one final), encoded as the tester sends them.
fn fragmented(s: &crate::case::Script, opcode: u8, payload: &[u8], piece: usize) -> Vec<u8> {
    let count = payload.len().div_ceil(piece).max(1);
    let mut bytes = Vec::with_capacity(payload.len() + count * 14);
    for (i, chunk) in payload.chunks(piece).enumerate() {
        let op = if i == 0 { opcode } else { CONTINUATION };
        bytes.extend(s.encode(&RawFrame::new(op, chunk).fin(i + 1 == count)));
    }
    bytes
}

/// Group 4: many fragments, many messages, large messages whole and fragmented. Each reports
/// the time taken (INFO); a limit the peer meets (1009/1008) is INFO with where it happened.
fn load_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let many_fragments = [(BINARY, "binary"), (TEXT, "text")];
    for (i, (opcode, kind)) in many_fragments.into_iter().enumerate() {
        cases.push(Case::script(
            format!("limit.4.{}", i + 1),
            format!("{kind} message of 4 MiB in 65536 fragments of 64 bytes; time taken"),
            move |s| {
                let payload = if opcode == TEXT {
                    text_payload(4 * MIB)
                } else {
                    binary_payload(4 * MIB)
                };
                let bytes = fragmented(s, opcode, &payload, 64);
                s.write(bytes, 0);
                if opcode == TEXT {
                    s.expect_text(payload);
                } else {
                    s.expect_binary(payload);
                }
                s.expect.informational = true;
                s.expect.may_hit_limit = true;
            },
        ));
    }
    type Msg = fn(usize) -> RawFrame;
    let many_messages: [(&str, Msg); 3] = [
        (
            "1000 empty text messages back to back, in one write",
            |_| RawFrame::text(""),
        ),
        (
            "1000 empty binary messages back to back, in one write",
            |_| RawFrame::binary(""),
        ),
        (
            "1000 small messages (0 to 15 bytes, text and binary alternating), in one write",
            |i| {
                if i % 2 == 0 {
                    RawFrame::text(text_payload(i % 16))
                } else {
                    RawFrame::binary(binary_payload(i % 16))
                }
            },
        ),
    ];
    for (i, (what, make)) in many_messages.into_iter().enumerate() {
        cases.push(Case::script(
            format!("limit.4.{}", i + 3),
            format!("{what}; time taken"),
            move |s| {
                let mut bytes = Vec::new();
                for n in 0..1000 {
                    let frame = make(n);
                    bytes.extend(s.encode(&frame));
                    if frame.opcode == TEXT {
                        s.expect_text(frame.payload);
                    } else {
                        s.expect_binary(frame.payload);
                    }
                }
                s.write(bytes, 0);
                s.expect.informational = true;
                s.expect.may_hit_limit = true;
            },
        ));
    }
    // Large messages: (opcode, fragment size or 0 for one frame).
    let large = [(TEXT, 0), (BINARY, 0), (TEXT, 64 * 1024), (BINARY, MIB)];
    for (i, (opcode, piece)) in large.into_iter().enumerate() {
        let kind = if opcode == TEXT { "text" } else { "binary" };
        let how = match piece {
            0 => "in one frame".to_string(),
            p => format!("in {} fragments of {}", (16 * MIB) / p, size_name(p as u64)),
        };
        cases.push(Case::script(
            format!("limit.4.{}", i + 6),
            format!("{kind} message of 16 MiB {how}; time taken"),
            move |s| {
                let payload = if opcode == TEXT {
                    text_payload(16 * MIB)
                } else {
                    binary_payload(16 * MIB)
                };
                let bytes = if piece == 0 {
                    s.encode(&RawFrame::new(opcode, payload.clone()))
                } else {
                    fragmented(s, opcode, &payload, piece)
                };
                s.write(bytes, 0);
                if opcode == TEXT {
                    s.expect_text(payload);
                } else {
                    s.expect_binary(payload);
                }
                s.expect.informational = true;
                s.expect.may_hit_limit = true;
            },
        ));
    }
    cases
}
