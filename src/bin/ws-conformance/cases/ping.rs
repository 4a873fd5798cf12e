//! Section 2, ping and pong (§5.5.2, §5.5.3): pongs echo the ping's payload exactly, control
//! frames are at most 125 bytes, unsolicited pongs are ignored.

use super::binary_payload;
use crate::case::Case;
use crate::raw::RawFrame;

/// Section 2's cases.
pub fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case::script("ping.1", "ping without payload", |s| {
            s.send(RawFrame::ping(""));
            s.expect_pong("");
        }),
        Case::script("ping.2", "ping with 125 bytes of binary payload", |s| {
            s.send(RawFrame::ping(binary_payload(125)));
            s.expect_pong(binary_payload(125));
        }),
        Case::script("ping.3", "ping with a short text payload", |s| {
            s.send(RawFrame::ping("Hello, pong"));
            s.expect_pong("Hello, pong");
        }),
        Case::script(
            "ping.4",
            "ping with 126 bytes (control frames are at most 125)",
            |s| {
                s.send(RawFrame::ping(binary_payload(126)));
                s.fail(1002);
            },
        ),
        Case::script(
            "ping.5",
            "unsolicited empty pong, then a text message",
            |s| {
                s.send(RawFrame::pong(""));
                s.echo(RawFrame::text("after pong"));
            },
        ),
        Case::script(
            "ping.6",
            "unsolicited 125-byte pong, then a text message",
            |s| {
                s.send(RawFrame::pong(binary_payload(125)));
                s.echo(RawFrame::text("after pong"));
            },
        ),
        Case::script("ping.7", "ten pings in a single write", |s| {
            let mut bytes = Vec::new();
            for i in 0..10 {
                let payload = format!("ping {i}");
                bytes.extend(s.encode(&RawFrame::ping(payload.clone())));
                s.expect_pong(payload);
            }
            s.write(bytes, 0);
            s.expect.pongs_may_coalesce = true;
        }),
        Case::script("ping.8", "ping written in 1-byte pieces", |s| {
            s.send_chopped(RawFrame::ping("chopped ping"), 1);
            s.expect_pong("chopped ping");
        }),
        Case::script("ping.9", "ten pings, each written in 1-byte pieces", |s| {
            for i in 0..10 {
                let payload = format!("ping {i}");
                s.send_chopped(RawFrame::ping(payload.clone()), 1);
                s.expect_pong(payload);
            }
            s.expect.pongs_may_coalesce = true;
        }),
        Case::script("ping.10", "ping between two text messages", |s| {
            s.echo(RawFrame::text("before"));
            s.send(RawFrame::ping("between"));
            s.expect_pong("between");
            s.echo(RawFrame::text("after"));
        }),
    ];
    cases.push(Case::script(
        "ping.11",
        "126-byte ping written in 1-byte pieces",
        |s| {
            s.send_chopped(RawFrame::ping(binary_payload(126)), 1);
            s.fail(1002);
        },
    ));
    cases
}
