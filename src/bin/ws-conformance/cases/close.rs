//! Section 7, closing (§5.5.1, §7.1.1, §7.4): close payload forms, valid and invalid codes,
//! invalid reasons, nothing after close, and who closes TCP first.

use crate::case::Case;
use crate::raw::RawFrame;

/// Codes that must never appear on the wire (§7.4.1, §7.4.2).
const INVALID_CODES: [u16; 11] = [
    0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 5000, 65535,
];
/// Codes an endpoint may send (§7.4.1 defined ones, and the registered/private ranges).
const VALID_CODES: [u16; 16] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
];

/// Section 7's cases.
pub fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case::script("close.1.1", "close without a body", |s| {
            s.send(RawFrame::close(None, b""));
            s.close_reply(None);
        }),
        Case::script("close.1.2", "close 1000 without a reason", |s| {
            s.send(RawFrame::close(Some(1000), b""));
            s.close_reply(Some(1000));
        }),
        Case::script("close.1.3", "close 1000 with a reason", |s| {
            s.send(RawFrame::close(Some(1000), "bye, κόσμε".as_bytes()));
            s.close_reply(Some(1000));
        }),
        Case::script(
            "close.1.4",
            "close 1000 with a 123-byte reason (125-byte payload)",
            |s| {
                s.send(RawFrame::close(Some(1000), &[b'r'; 123]));
                s.close_reply(Some(1000));
            },
        ),
        Case::script("close.1.5", "close with a 1-byte payload", |s| {
            s.send(RawFrame::new(crate::raw::CLOSE, vec![0x03]));
            s.fail(1002);
        }),
        Case::script(
            "close.1.6",
            "close 1000 with a 124-byte reason (126-byte payload)",
            |s| {
                s.send(RawFrame::close(Some(1000), &[b'r'; 124]));
                s.fail(1002);
            },
        ),
        Case::script(
            "close.1.7",
            "close 1000 with a reason that is not UTF-8",
            |s| {
                s.send(RawFrame::close(
                    Some(1000),
                    b"bad \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80 reason",
                ));
                s.fail(1007);
            },
        ),
        Case::script(
            "close.1.8",
            "text message after the close frame (not echoed)",
            |s| {
                s.send(RawFrame::close(Some(1000), b""));
                s.send(RawFrame::text("after close"));
                s.close_reply(Some(1000));
            },
        ),
        Case::script(
            "close.1.9",
            "ping after the close frame (not answered)",
            |s| {
                s.send(RawFrame::close(Some(1000), b""));
                s.send(RawFrame::ping("after close"));
                s.close_reply(Some(1000));
            },
        ),
        Case::script("close.1.10", "two close frames in one write", |s| {
            let mut bytes = s.encode(&RawFrame::close(Some(1000), b""));
            bytes.extend(s.encode(&RawFrame::close(Some(1001), b"")));
            s.write(bytes, 0);
            s.close_reply(Some(1000));
        }),
        Case::script(
            "close.1.11",
            "text message, then close, in one write: echo then close (or the close at once, \
             which §5.5.1 permits)",
            |s| {
                let mut bytes = s.encode(&RawFrame::text("last words"));
                bytes.extend(s.encode(&RawFrame::close(Some(1000), b"")));
                s.expect_text("last words");
                s.expect.replies_optional = true;
                s.write(bytes, 0);
                s.close_reply(Some(1000));
            },
        ),
        Case::script("close.1.12", "close written in 1-byte pieces", |s| {
            s.send_chopped(RawFrame::close(Some(1000), b"chopped"), 1);
            s.close_reply(Some(1000));
        }),
    ];
    for (i, code) in INVALID_CODES.into_iter().enumerate() {
        cases.push(Case::script(
            format!("close.2.{}", i + 1),
            format!("close with invalid code {code}"),
            move |s| {
                s.send(RawFrame::close(Some(code), b""));
                s.fail(1002);
            },
        ));
    }
    for (i, code) in VALID_CODES.into_iter().enumerate() {
        cases.push(Case::script(
            format!("close.3.{}", i + 1),
            format!("close with valid code {code}"),
            move |s| {
                s.send(RawFrame::close(Some(code), b""));
                s.close_reply(Some(code));
            },
        ));
    }
    cases.push(Case::script(
        "close.2.12",
        "close with code 1015 (reserved for TLS failures, never on the wire)",
        |s| {
            s.send(RawFrame::close(Some(1015), b""));
            s.fail(1002);
        },
    ));
    cases.push(
        Case::script(
            "close.4.1",
            "echo, then the tester closes with 1000 and waits: the server must close TCP first",
            |s| {
                s.echo(RawFrame::text("then close"));
                s.expect.tcp_order = true;
            },
        )
        .server_only(),
    );
    cases.push(
        Case::script(
            "close.4.2",
            "echo, then the tester closes with 1000: the client must wait for the server to \
             close TCP",
            |s| {
                s.echo(RawFrame::text("then close"));
                s.expect.tcp_order = true;
            },
        )
        .client_only(),
    );
    cases
}
