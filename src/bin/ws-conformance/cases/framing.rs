//! Section 1, framing (§5.2, §5.3): payload lengths around every length-encoding boundary,
//! frames written at once and in small pieces, and masking in both directions.

use super::{binary_payload, chunk_for, size_name, text_payload};
use crate::case::Case;
use crate::raw::{RawFrame, BINARY, TEXT};

/// Payload sizes around the 7-bit, 16-bit and 64-bit length forms, plus a large one.
const SIZES: [usize; 8] = [0, 125, 126, 127, 128, 65535, 65536, 16 << 20];

/// Section 1's cases.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let groups = [(TEXT, false), (BINARY, false), (TEXT, true), (BINARY, true)];
    for (g, &(opcode, chopped)) in groups.iter().enumerate() {
        for (i, &len) in SIZES.iter().enumerate() {
            let kind = if opcode == TEXT { "text" } else { "binary" };
            let how = if chopped {
                format!("written in {}-byte pieces", chunk_for(len))
            } else {
                "written at once".to_string()
            };
            cases.push(Case::script(
                format!("frame.{}.{}", g + 1, i + 1),
                format!(
                    "{kind} message of {} in one frame, {how}",
                    size_name(len as u64)
                ),
                move |s| {
                    let payload = if opcode == TEXT {
                        text_payload(len)
                    } else {
                        binary_payload(len)
                    };
                    let chunk = if chopped { chunk_for(len) } else { 0 };
                    s.echo_chopped(RawFrame::new(opcode, payload), chunk);
                    s.expect.may_hit_limit = len > 65536;
                },
            ));
        }
    }

    cases.push(Case::script(
        "frame.5.1",
        "five messages (text and binary, 0 to 300 bytes) in a single write",
        |s| {
            let mut bytes = Vec::new();
            for (i, len) in [5usize, 0, 300, 126, 1].into_iter().enumerate() {
                let frame = if i % 2 == 0 {
                    RawFrame::text(text_payload(len))
                } else {
                    RawFrame::binary(binary_payload(len))
                };
                bytes.extend(s.encode(&frame));
                match i % 2 {
                    0 => s.expect_text(frame.payload),
                    _ => s.expect_binary(frame.payload),
                }
            }
            s.write(bytes, 0);
        },
    ));
    cases.push(
        Case::script(
            "frame.5.2",
            "a client frame without a mask (a server must fail, §5.1)",
            |s| {
                s.send(RawFrame::text("unmasked").masked(false));
                s.fail(1002);
            },
        )
        .server_only(),
    );
    cases.push(
        Case::script(
            "frame.5.3",
            "a server frame with a mask (a client must fail, §5.1)",
            |s| {
                s.send(RawFrame::text("masked").masked(true));
                s.fail(1002);
            },
        )
        .client_only(),
    );
    cases.push(Case::script(
        "frame.5.4",
        "a 64-bit length with the most significant bit set (§5.2)",
        |s| {
            s.send(RawFrame::binary("Hello").declared_len(1 << 63 | 5));
            s.fail(1002);
        },
    ));
    cases.push(
        Case::script(
            "frame.5.5",
            "twenty echoes: the client must mask each frame with a fresh key (§5.3, §10.3)",
            |s| {
                for i in 0..20 {
                    s.echo(RawFrame::text(format!("message {i}")));
                }
                s.expect.fresh_masks = true;
            },
        )
        .client_only(),
    );
    cases
}
