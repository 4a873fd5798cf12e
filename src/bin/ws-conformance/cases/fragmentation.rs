//! Section 5, fragmentation (§5.4): messages in many frames, control frames between fragments,
//! and every way of getting the fragment sequence wrong.

use super::{binary_payload, text_payload};
use crate::case::{Case, Script};
use crate::raw::{RawFrame, BINARY, CONTINUATION, TEXT};

/// Splits `payload` into frames of the given sizes (cycled; the last frame takes the rest).
fn fragments(opcode: u8, payload: &[u8], sizes: &[usize]) -> Vec<RawFrame> {
    let mut frames = Vec::new();
    let mut rest = payload;
    let mut i = 0;
    loop {
        let take = sizes[i % sizes.len()].min(rest.len());
        let (piece, tail) = rest.split_at(take);
        rest = tail;
        let op = if frames.is_empty() {
            opcode
        } else {
            CONTINUATION
        };
        frames.push(RawFrame::new(op, piece).fin(rest.is_empty()));
        if rest.is_empty() {
            return frames;
        }
        i += 1;
    }
}

/// Sends a fragmented message (each frame in pieces of `chunk`) and expects the whole echo.
fn echo_fragmented(s: &mut Script, opcode: u8, payload: Vec<u8>, sizes: &[usize], chunk: usize) {
    for f in fragments(opcode, &payload, sizes) {
        s.send_chopped(f, chunk);
    }
    if opcode == TEXT {
        s.expect_text(payload);
    } else {
        s.expect_binary(payload);
    }
}

/// Section 5's cases.
pub fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case::script("frag.1.1", "text message in 2 fragments", |s| {
            echo_fragmented(s, TEXT, text_payload(20), &[10], 0)
        }),
        Case::script("frag.1.2", "binary message in 2 fragments", |s| {
            echo_fragmented(s, BINARY, binary_payload(20), &[10], 0)
        }),
        Case::script("frag.1.3", "text message in 10 fragments", |s| {
            echo_fragmented(s, TEXT, text_payload(100), &[10], 0)
        }),
        Case::script(
            "frag.1.4",
            "binary message of 64 KiB in 100 fragments of mixed sizes",
            |s| {
                echo_fragmented(
                    s,
                    BINARY,
                    binary_payload(65536),
                    &[1, 1000, 125, 126, 0, 65],
                    0,
                )
            },
        ),
        Case::script(
            "frag.1.5",
            "text message of 64 bytes in 1-byte fragments",
            |s| echo_fragmented(s, TEXT, text_payload(64), &[1], 0),
        ),
        Case::script(
            "frag.1.6",
            "text message in 3 fragments, each written in 1-byte pieces",
            |s| echo_fragmented(s, TEXT, text_payload(30), &[10], 1),
        ),
        Case::script(
            "frag.1.7",
            "fragmented message whose first and last fragments are empty",
            |s| {
                s.send(RawFrame::text("").fin(false));
                s.send(RawFrame::continuation("middle").fin(false));
                s.send(RawFrame::continuation(""));
                s.expect_text("middle");
            },
        ),
        Case::script("frag.1.8", "empty text message in 3 empty fragments", |s| {
            for f in [
                RawFrame::text("").fin(false),
                RawFrame::continuation("").fin(false),
                RawFrame::continuation(""),
            ] {
                s.send(f);
            }
            s.expect_text("");
        }),
        Case::script(
            "frag.1.9",
            "two fragmented messages in a single write",
            |s| {
                let mut bytes = Vec::new();
                for (op, payload) in [(TEXT, text_payload(9)), (BINARY, binary_payload(9))] {
                    for f in fragments(op, &payload, &[3]) {
                        bytes.extend(s.encode(&f));
                    }
                    if op == TEXT {
                        s.expect_text(payload);
                    } else {
                        s.expect_binary(payload);
                    }
                }
                s.write(bytes, 0);
            },
        ),
        Case::script("frag.2.1", "ping between two fragments", |s| {
            s.send(RawFrame::text("frag").fin(false));
            s.send(RawFrame::ping("between"));
            s.send(RawFrame::continuation("ment"));
            s.expect_pong("between");
            s.expect_text("fragment");
        }),
        Case::script("frag.2.2", "pong between two fragments", |s| {
            s.send(RawFrame::text("frag").fin(false));
            s.send(RawFrame::pong("unsolicited"));
            s.send(RawFrame::continuation("ment"));
            s.expect_text("fragment");
        }),
        Case::script(
            "frag.2.3",
            "ping between fragments, all frames written in 1-byte pieces",
            |s| {
                s.send_chopped(RawFrame::text("frag").fin(false), 1);
                s.send_chopped(RawFrame::ping("between"), 1);
                s.send_chopped(RawFrame::continuation("ment"), 1);
                s.expect_pong("between");
                s.expect_text("fragment");
            },
        ),
        Case::script("frag.2.4", "a ping between each of 10 fragments", |s| {
            let frames = fragments(TEXT, &text_payload(50), &[5]);
            let n = frames.len();
            for (i, f) in frames.into_iter().enumerate() {
                s.send(f);
                if i + 1 < n {
                    s.send(RawFrame::ping(format!("ping {i}")));
                    s.expect_pong(format!("ping {i}"));
                }
            }
            s.expect_text(text_payload(50));
            s.expect.pongs_may_coalesce = true;
        }),
        Case::script(
            "frag.2.5",
            "close 1000 between two fragments (the partial message is dropped)",
            |s| {
                s.send(RawFrame::text("frag").fin(false));
                s.send(RawFrame::close(Some(1000), b""));
                s.send(RawFrame::continuation("ment"));
                s.close_reply(Some(1000));
            },
        ),
    ];
    type Make = fn() -> Vec<RawFrame>;
    let bad: [(&str, Make); 10] = [
        ("final continuation frame without a message", || {
            vec![RawFrame::continuation("orphan")]
        }),
        ("non-final continuation frame without a message", || {
            vec![RawFrame::continuation("orphan").fin(false)]
        }),
        ("complete message, then a continuation frame", || {
            vec![RawFrame::text("complete"), RawFrame::continuation("orphan")]
        }),
        (
            "new text frame before the fragmented text message ended",
            || vec![RawFrame::text("frag").fin(false), RawFrame::text("new")],
        ),
        (
            "new binary fragment before the fragmented text message ended",
            || {
                vec![
                    RawFrame::text("frag").fin(false),
                    RawFrame::binary("new").fin(false),
                    RawFrame::continuation("end"),
                ]
            },
        ),
        ("fragmented ping", || {
            vec![
                RawFrame::ping("frag").fin(false),
                RawFrame::continuation("ment"),
            ]
        }),
        ("fragmented pong", || {
            vec![
                RawFrame::pong("frag").fin(false),
                RawFrame::continuation("ment"),
            ]
        }),
        ("fragmented close", || {
            vec![
                RawFrame::close(Some(1000), b"").fin(false),
                RawFrame::continuation(""),
            ]
        }),
        ("fragmented ping inside a fragmented text message", || {
            vec![
                RawFrame::text("a").fin(false),
                RawFrame::ping("p").fin(false),
                RawFrame::continuation("q"),
                RawFrame::continuation("b"),
            ]
        }),
        (
            "continuation frames split across two messages in one write",
            || {
                vec![
                    RawFrame::text("one").fin(false),
                    RawFrame::continuation("two"),
                    RawFrame::continuation("three"),
                ]
            },
        ),
    ];
    for (i, (what, make)) in bad.into_iter().enumerate() {
        cases.push(Case::script(format!("frag.3.{}", i + 1), what, move |s| {
            let frames = make();
            let mut bytes = Vec::new();
            for f in &frames {
                bytes.extend(s.encode(f));
            }
            // Complete messages before the violation must still be echoed.
            match i {
                2 => s.expect_text("complete"),
                9 => s.expect_text("onetwo"),
                _ => {}
            }
            s.write(bytes, 0);
            s.fail(1002);
        }));
    }
    cases.extend(empty_and_exact_cases());
    cases
}

/// Empty frames where senders emit them, and messages whose length is an exact multiple of the
/// fragment size (a fragmenting sender either ends them with a full final fragment or with an
/// empty one). An implementation that mishandles a 0-byte frame fails these.
fn empty_and_exact_cases() -> Vec<Case> {
    const KIB: usize = 1024;
    let mut cases = vec![
        Case::script(
            "frag.4.1",
            "empty binary message, then a 5-byte binary message",
            |s| {
                s.echo(RawFrame::binary(""));
                s.echo(RawFrame::binary("after"));
            },
        ),
        Case::script(
            "frag.4.2",
            "empty text message, then a 5-byte text message",
            |s| {
                s.echo(RawFrame::text(""));
                s.echo(RawFrame::text("after"));
            },
        ),
        Case::script(
            "frag.4.3",
            "binary message in 2 fragments whose final fragment is empty",
            |s| {
                s.send(RawFrame::binary(binary_payload(10)).fin(false));
                s.send(RawFrame::continuation(""));
                s.expect_binary(binary_payload(10));
            },
        ),
        Case::script(
            "frag.4.4",
            "text message in 2 fragments whose final fragment is empty",
            |s| {
                s.send(RawFrame::text(text_payload(10)).fin(false));
                s.send(RawFrame::continuation(""));
                s.expect_text(text_payload(10));
            },
        ),
        Case::script(
            "frag.4.5",
            "binary message whose first two fragments are empty",
            |s| {
                s.send(RawFrame::binary("").fin(false));
                s.send(RawFrame::continuation("").fin(false));
                s.send(RawFrame::continuation(binary_payload(10)));
                s.expect_binary(binary_payload(10));
            },
        ),
        Case::script(
            "frag.4.6",
            "text message whose first two fragments are empty",
            |s| {
                s.send(RawFrame::text("").fin(false));
                s.send(RawFrame::continuation("").fin(false));
                s.send(RawFrame::continuation(text_payload(10)));
                s.expect_text(text_payload(10));
            },
        ),
        Case::script(
            "frag.4.7",
            "empty binary message in 3 empty fragments, then a binary message",
            |s| {
                s.send(RawFrame::binary("").fin(false));
                s.send(RawFrame::continuation("").fin(false));
                s.send(RawFrame::continuation(""));
                s.expect_binary("");
                s.echo(RawFrame::binary("after"));
            },
        ),
        Case::script(
            "frag.4.8",
            "ten empty binary and text messages in a single write",
            |s| {
                let mut bytes = Vec::new();
                for i in 0..10 {
                    let frame = if i % 2 == 0 {
                        s.expect_binary("");
                        RawFrame::binary("")
                    } else {
                        s.expect_text("");
                        RawFrame::text("")
                    };
                    bytes.extend(s.encode(&frame));
                }
                s.write(bytes, 0);
            },
        ),
    ];
    // (total, fragment, trailing empty final fragment)
    let exact = [
        (256 * KIB, 64 * KIB, false),
        (256 * KIB, 64 * KIB, true),
        (4 * KIB * KIB, 64 * KIB, false),
        (4 * KIB * KIB, 64 * KIB, true),
    ];
    let mut n = cases.len();
    for (total, piece, trailing) in exact {
        for opcode in [BINARY, TEXT] {
            n += 1;
            let kind = if opcode == TEXT { "text" } else { "binary" };
            let how = if trailing {
                format!(
                    "{} full fragments of {} KiB, then an empty final fragment",
                    total / piece,
                    piece / KIB
                )
            } else {
                format!(
                    "{} fragments of {} KiB, the last one final",
                    total / piece,
                    piece / KIB
                )
            };
            cases.push(Case::script(
                format!("frag.4.{n}"),
                format!(
                    "{kind} message of {} (an exact multiple of the fragment size): {how}",
                    if total >= KIB * KIB {
                        format!("{} MiB", total / (KIB * KIB))
                    } else {
                        format!("{} KiB", total / KIB)
                    }
                ),
                move |s| {
                    let payload = if opcode == TEXT {
                        text_payload(total)
                    } else {
                        binary_payload(total)
                    };
                    let mut bytes = Vec::with_capacity(total + 16 * (total / piece + 1));
                    let count = total / piece;
                    for (i, chunk) in payload.chunks(piece).enumerate() {
                        let op = if i == 0 { opcode } else { CONTINUATION };
                        let fin = !trailing && i + 1 == count;
                        bytes.extend(s.encode(&RawFrame::new(op, chunk).fin(fin)));
                    }
                    if trailing {
                        bytes.extend(s.encode(&RawFrame::continuation("")));
                    }
                    s.write(bytes, 0);
                    if opcode == TEXT {
                        s.expect_text(payload);
                    } else {
                        s.expect_binary(payload);
                    }
                    s.expect.may_hit_limit = total > 256 * KIB;
                },
            ));
        }
    }
    cases
}
