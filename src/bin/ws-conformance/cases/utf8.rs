//! Section 6, UTF-8 in text messages (§5.6, §8.1): valid text in any split must be echoed;
//! invalid text must fail the connection with 1007, and a strict endpoint does so as soon as
//! the bytes received so far cannot be the start of valid UTF-8 (fail-fast), not only once the
//! frame or message is complete.

use crate::case::{Case, Script};
use crate::raw::RawFrame;

/// Valid texts covering every sequence length and the boundary code points.
const VALID: &[(&str, &str)] = &[
    ("ASCII", "Hello, World!"),
    ("2-byte sequences", "Hello-µ@ßöäüàá-UTF-8!!"),
    ("Greek kosme", "κόσμε"),
    ("3-byte sequences", "€ ∞ ≠ 日本語"),
    ("4-byte sequences", "𝄞 😀 𐍈"),
    ("U+0000", "\u{0}"),
    ("U+007F", "\u{7f}"),
    ("U+0080", "\u{80}"),
    ("U+07FF", "\u{7ff}"),
    ("U+0800", "\u{800}"),
    ("U+D7FF (below the surrogates)", "\u{d7ff}"),
    ("U+E000 (above the surrogates)", "\u{e000}"),
    ("U+FFFD and U+FFFF", "\u{fffd}\u{ffff}"),
    ("U+10000", "\u{10000}"),
    ("U+10FFFF (the last code point)", "\u{10ffff}"),
    ("byte order mark", "\u{feff}BOM"),
];

/// Invalid sequences; each is sent between a valid prefix and suffix.
const INVALID: &[(&str, &[u8])] = &[
    ("lone continuation byte 80", b"\x80"),
    ("lone continuation byte bf", b"\xbf"),
    ("byte fe", b"\xfe"),
    ("byte ff", b"\xff"),
    ("overlong 2-byte '/' (c0 af)", b"\xc0\xaf"),
    ("overlong 2-byte U+007F (c1 bf)", b"\xc1\xbf"),
    ("overlong 3-byte '/' (e0 80 af)", b"\xe0\x80\xaf"),
    ("overlong 4-byte '/' (f0 80 80 af)", b"\xf0\x80\x80\xaf"),
    ("surrogate U+D800 (ed a0 80)", b"\xed\xa0\x80"),
    ("surrogate U+DFFF (ed bf bf)", b"\xed\xbf\xbf"),
    (
        "surrogate pair in CESU-8 (ed a0 b4 ed b4 9e)",
        b"\xed\xa0\xb4\xed\xb4\x9e",
    ),
    ("U+110000 (f4 90 80 80)", b"\xf4\x90\x80\x80"),
    ("lead byte f5 (f5 80 80 80)", b"\xf5\x80\x80\x80"),
    ("old 5-byte form (f8 88 80 80 80)", b"\xf8\x88\x80\x80\x80"),
    ("2-byte sequence cut by ASCII (c3 41)", b"\xc3A"),
    ("3-byte sequence cut by ASCII (e2 82 41)", b"\xe2\x82A"),
    (
        "4-byte sequence cut by ASCII (f0 9f 98 41)",
        b"\xf0\x9f\x98A",
    ),
];

/// Messages that end in the middle of a code point: invalid only once the message ends.
const TRUNCATED: &[(&str, &[u8])] = &[
    ("message ending inside a 2-byte sequence (c3)", b"\xc3"),
    (
        "message ending inside a 3-byte sequence (e2 82)",
        b"\xe2\x82",
    ),
    (
        "message ending inside a 4-byte sequence (f0 9f 98)",
        b"\xf0\x9f\x98",
    ),
];

const PREFIX: &[u8] = "é".as_bytes();
const SUFFIX: &[u8] = b"!";

fn invalid_payload(bad: &[u8]) -> Vec<u8> {
    [PREFIX, bad, SUFFIX].concat()
}

fn truncated_payload(bad: &[u8]) -> Vec<u8> {
    [PREFIX, bad].concat()
}

/// Length of the shortest prefix that can no longer become valid UTF-8.
pub fn fail_point(payload: &[u8]) -> Option<usize> {
    (1..=payload.len())
        .find(|&k| std::str::from_utf8(&payload[..k]).is_err_and(|e| e.error_len().is_some()))
}

/// Writes a text frame cut after `cut` payload bytes, pauses for the fail-fast window, then
/// writes the rest in 1-byte pieces.
fn send_cut_frame(s: &mut Script, payload: Vec<u8>, cut: usize) {
    let len = payload.len();
    let bytes = s.encode(&RawFrame::text(payload));
    let split = bytes.len() - len + cut;
    s.write(bytes[..split].to_vec(), 0);
    s.checkpoint();
    s.write(bytes[split..].to_vec(), 1);
}

/// Section 6's cases.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (i, &(name, text)) in VALID.iter().enumerate() {
        let n = i + 1;
        cases.push(Case::script(
            format!("utf8.1.{n}"),
            format!("valid text ({name}) in one frame"),
            move |s| s.echo(RawFrame::text(text)),
        ));
        cases.push(Case::script(
            format!("utf8.2.{n}"),
            format!(
                "valid text ({name}) split into 2 fragments at every byte, one message per split"
            ),
            move |s| {
                let b = text.as_bytes();
                for k in 1..b.len() {
                    s.send(RawFrame::text(&b[..k]).fin(false));
                    s.send(RawFrame::continuation(&b[k..]));
                    s.expect_text(b);
                }
                if b.len() <= 1 {
                    s.echo(RawFrame::text(b));
                }
            },
        ));
        cases.push(Case::script(
            format!("utf8.3.{n}"),
            format!("valid text ({name}) in one frame written in 1-byte pieces"),
            move |s| s.echo_chopped(RawFrame::text(text), 1),
        ));
    }

    let whole = INVALID
        .iter()
        .map(|&(name, bad)| (name, invalid_payload(bad)))
        .chain(
            TRUNCATED
                .iter()
                .map(|&(name, bad)| (name, truncated_payload(bad))),
        );
    for (i, (name, payload)) in whole.enumerate() {
        let n = i + 1;
        let p = payload.clone();
        cases.push(Case::script(
            format!("utf8.4.{n}"),
            format!("invalid text ({name}) in one frame"),
            move |s| {
                s.send(RawFrame::text(p.clone()));
                s.fail(1007);
            },
        ));
        for k in 1..payload.len() {
            let p = payload.clone();
            cases.push(Case::script(
                format!("utf8.5.{n}.{k}"),
                format!("invalid text ({name}) in 2 fragments split after byte {k}"),
                move |s| {
                    s.send(RawFrame::text(&p[..k]).fin(false));
                    s.send(RawFrame::continuation(&p[k..]));
                    s.fail(1007);
                },
            ));
        }
    }

    for (i, &(name, bad)) in INVALID.iter().enumerate() {
        let n = i + 1;
        let payload = invalid_payload(bad);
        let cut = fail_point(&payload).expect("invalid payload");
        let p = payload.clone();
        cases.push(Case::script(
            format!("utf8.6.{n}"),
            format!(
                "fail-fast, one frame: invalid text ({name}); the frame stops after the first \
                 invalid byte, pauses, then the rest follows in 1-byte pieces"
            ),
            move |s| {
                send_cut_frame(s, p.clone(), cut);
                s.fail(1007);
            },
        ));
        cases.push(Case::script(
            format!("utf8.7.{n}"),
            format!(
                "fail-fast, fragments: invalid text ({name}); the first fragment ends after the \
                 first invalid byte, pause, then the last fragment"
            ),
            move |s| {
                s.send(RawFrame::text(&payload[..cut]).fin(false));
                s.checkpoint();
                s.send(RawFrame::continuation(&payload[cut..]));
                s.fail(1007);
            },
        ));
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_what_they_claim() {
        for (_, t) in VALID {
            assert!(std::str::from_utf8(t.as_bytes()).is_ok());
        }
        for (name, bad) in INVALID {
            let p = invalid_payload(bad);
            let cut = fail_point(&p).unwrap_or_else(|| panic!("{name}"));
            assert!(
                cut > PREFIX.len() && cut <= PREFIX.len() + bad.len(),
                "{name}"
            );
        }
        for (name, bad) in TRUNCATED {
            let p = truncated_payload(bad);
            assert!(std::str::from_utf8(&p).is_err(), "{name}");
            assert_eq!(fail_point(&p), None, "{name}");
        }
    }
}
