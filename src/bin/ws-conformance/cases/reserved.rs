//! Sections 3 and 4: reserved bits and reserved opcodes (§5.2). Without a negotiated extension
//! any of them fails the connection with 1002; valid messages before them are still echoed.

use super::binary_payload;
use crate::case::{Case, Script};
use crate::raw::RawFrame;

/// Valid text, the bad frame, then valid text that must not be echoed.
fn sandwich(s: &mut Script, bad: RawFrame, chunk: usize) {
    let first = RawFrame::text("valid before");
    let mut bytes = s.encode(&first);
    bytes.extend(s.encode(&bad));
    bytes.extend(s.encode(&RawFrame::text("valid after")));
    s.expect_text("valid before");
    s.write(bytes, chunk);
    s.fail(1002);
}

/// Sections 3 and 4.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for rsv in 1..=7u8 {
        cases.push(Case::script(
            format!("rsv.1.{rsv}"),
            format!("text frame with payload and reserved bits {rsv:03b}"),
            move |s| {
                s.send(RawFrame::text("Hello").rsv(rsv));
                s.fail(1002);
            },
        ));
    }
    type Make = fn() -> RawFrame;
    let kinds: [(&str, Make); 4] = [
        ("empty binary frame with RSV1", || {
            RawFrame::binary("").rsv(4)
        }),
        ("ping with RSV2", || RawFrame::ping("ping").rsv(2)),
        ("pong with RSV3", || RawFrame::pong("").rsv(1)),
        ("close 1000 with RSV1", || {
            RawFrame::close(Some(1000), b"").rsv(4)
        }),
    ];
    for (i, (what, make)) in kinds.into_iter().enumerate() {
        cases.push(Case::script(format!("rsv.2.{}", i + 1), what, move |s| {
            s.send(make());
            s.fail(1002);
        }));
    }
    cases.push(Case::script(
        "rsv.2.5",
        "second fragment of a text message with RSV2",
        |s| {
            s.send(RawFrame::text("frag").fin(false));
            s.send(RawFrame::continuation("ment").rsv(2));
            s.fail(1002);
        },
    ));
    cases.push(Case::script(
        "rsv.3.1",
        "valid text, text with RSV1, valid text, as separate writes",
        |s| {
            s.echo(RawFrame::text("valid before"));
            s.send(RawFrame::text("bad").rsv(4));
            s.send(RawFrame::text("valid after"));
            s.fail(1002);
        },
    ));
    cases.push(Case::script(
        "rsv.3.2",
        "valid text, text with RSV2, valid text, in one write",
        |s| sandwich(s, RawFrame::text("bad").rsv(2), 0),
    ));
    cases.push(Case::script(
        "rsv.3.3",
        "valid text, text with RSV3, valid text, in 1-byte pieces",
        |s| sandwich(s, RawFrame::text("bad").rsv(1), 1),
    ));
    cases.push(Case::script(
        "rsv.3.4",
        "64 KiB binary message, then a binary frame with RSV1+RSV3",
        |s| {
            s.echo(RawFrame::binary(binary_payload(65536)));
            s.send(RawFrame::binary(binary_payload(100)).rsv(5));
            s.fail(1002);
        },
    ));

    for (group, range) in [(1, 3u8..=7), (3, 11u8..=15)] {
        for op in range.clone() {
            let n = op - range.start() + 1;
            cases.push(Case::script(
                format!("opcode.{group}.{n}"),
                format!("frame with reserved opcode {op}, no payload"),
                move |s| {
                    s.send(RawFrame::new(op, ""));
                    s.fail(1002);
                },
            ));
            cases.push(Case::script(
                format!("opcode.{}.{n}", group + 1),
                format!("valid text, frame with reserved opcode {op} and payload, valid text"),
                move |s| sandwich(s, RawFrame::new(op, "reserved opcode"), 0),
            ));
        }
    }
    cases
}
