//! The catalogue of cases, one module per section; each case maps to a rule of RFC 6455.
//!
//! | prefix | section | rule |
//! |---|---|---|
//! | `frame` | 1 framing | §5.2 lengths, masking (§5.3), partial reads |
//! | `ping` | 2 ping/pong | §5.5.2, §5.5.3 |
//! | `rsv` | 3 reserved bits | §5.2 RSV1-3 |
//! | `opcode` | 4 reserved opcodes | §5.2 opcodes 3-7, 11-15 |
//! | `frag` | 5 fragmentation | §5.4 |
//! | `utf8` | 6 UTF-8 | §5.6, §8.1 |
//! | `close` | 7 close | §5.5.1, §7.1.1, §7.4 |
//! | `limit` | 8 limits and load | §10.4, message order, many fragments/messages, throughput |
//! | `hs` | 9 opening handshake | §4.1, §4.2 |
//! | `pmd` | 10 permessage-deflate | RFC 7692 §5-§7 |
//!
//! Ids are `PREFIX.GROUP.NUMBER`; they used to be numeric (`6.4.1`), which read like another
//! suite's ids with other meanings. `--cases` still accepts the numeric form.

pub mod client_handshake;
pub mod close;
pub mod deflate;
mod deflate_run;
pub mod fragmentation;
pub mod framing;
pub mod handshake;
pub mod limits;
pub mod ping;
pub mod reserved;
pub mod utf8;

use crate::case::{Applies, Case};
use crate::cli;

/// Every case of both modes, in id order.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(framing::cases());
    cases.extend(ping::cases());
    cases.extend(reserved::cases());
    cases.extend(fragmentation::cases());
    cases.extend(utf8::cases());
    cases.extend(close::cases());
    cases.extend(limits::cases());
    cases.extend(handshake::cases());
    cases.extend(client_handshake::cases());
    cases.extend(deflate::cases());
    cases
}

/// The cases for a mode (`client`: the peer is a client), filtered by `--cases` patterns.
pub fn select(cases: Vec<Case>, testing_client: bool, patterns: &[String]) -> Vec<Case> {
    cases
        .into_iter()
        .filter(|c| match c.applies {
            Applies::Both => true,
            Applies::Server => !testing_client,
            Applies::Client => testing_client,
        })
        .filter(|c| patterns.is_empty() || patterns.iter().any(|p| cli::matches(p, &c.id)))
        .collect()
}

/// The rule each group of cases checks, with the section and the RFC's words. Looked up by the
/// longest prefix of the id (`frame.5.2` before `frame`).
static RULES: &[(&str, &str)] = &[
    ("frame", "§5.2: the payload length \"if 0-125, that is the payload length. If 126, the following 2 bytes interpreted as a 16-bit unsigned integer are the payload length. If 127, the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant bit MUST be 0) are the payload length.\" The echo must carry the same bytes."),
    ("frame.5.2", "§5.1: \"The server MUST close the connection upon receiving a frame that is not masked.\""),
    ("frame.5.3", "§5.1: \"A client MUST close a connection if it detects a masked frame.\""),
    ("frame.5.4", "§5.2: in the 64-bit length form \"the most significant bit MUST be 0\"."),
    ("frame.5.5", "§5.3: \"When sending a frame, the client MUST pick a fresh masking key from the set of allowed 32-bit values.\""),
    ("ping", "§5.5.2: \"Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless it already received a Close frame.\" §5.5.3: the Pong \"must have identical 'Application data' as found in the message body of the Ping frame being replied to.\""),
    ("ping.4", "§5.5: \"All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented.\""),
    ("ping.11", "§5.5: \"All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented.\""),
    ("ping.5", "§5.5.3: \"A Pong frame MAY be sent unsolicited. ... A response to an unsolicited Pong frame is not expected.\""),
    ("ping.6", "§5.5.3: \"A Pong frame MAY be sent unsolicited. ... A response to an unsolicited Pong frame is not expected.\""),
    ("ping.7", "§5.5.2: an endpoint \"MUST send a Pong frame in response\"; §5.5.3: one that \"has not yet sent Pong frame(s) in response to previous Ping frame(s) ... MAY elect to send a Pong frame for only the most recently processed Ping frame.\""),
    ("ping.9", "§5.5.2: an endpoint \"MUST send a Pong frame in response\"; §5.5.3: one that \"has not yet sent Pong frame(s) in response to previous Ping frame(s) ... MAY elect to send a Pong frame for only the most recently processed Ping frame.\""),
    ("rsv", "§5.2: RSV1-3 \"MUST be 0 unless an extension is negotiated that defines meanings for non-zero values. If a nonzero value is received and none of the negotiated extensions defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the WebSocket Connection_.\""),
    ("opcode", "§5.2: \"If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_.\""),
    ("frag", "§5.4: \"A fragmented message consists of a single frame with the FIN bit clear and an opcode other than 0, followed by zero or more frames with the FIN bit clear and the opcode set to 0, and terminated by a single frame with the FIN bit set and an opcode of 0.\" Any fragment may be empty."),
    ("frag.2", "§5.4: \"An endpoint MUST be capable of handling control frames in the middle of a fragmented message.\""),
    ("frag.3", "§5.4: a fragmented message starts with \"a single frame with the FIN bit clear and an opcode other than 0\" and \"The fragments of one message MUST NOT be interleaved between the fragments of another message\"; §5.5: control frames \"MUST NOT be fragmented\". The receiver MUST _Fail the WebSocket Connection_ (§7.1.7)."),
    ("utf8", "§5.6: \"a particular text frame might include a partial UTF-8 sequence; however, the whole message MUST contain valid UTF-8.\" Valid text, split anywhere, must be accepted and echoed."),
    ("utf8.4", "§8.1: \"When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_.\""),
    ("utf8.5", "§8.1: \"When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_.\""),
    ("utf8.6", "§8.1: an endpoint that \"finds that the byte stream is not, in fact, a valid UTF-8 stream ... MUST _Fail the WebSocket Connection_.\" Failing before the rest of the frame arrives (fail-fast) has no RFC keyword: a late failure is graded NON-STRICT, as the established suite does."),
    ("utf8.7", "§8.1: an endpoint that \"finds that the byte stream is not, in fact, a valid UTF-8 stream ... MUST _Fail the WebSocket Connection_.\" Failing before the last fragment arrives (fail-fast) has no RFC keyword: a late failure is graded NON-STRICT, as the established suite does."),
    ("close", "§5.5.1: \"If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response. (When sending a Close frame in response, the endpoint typically echos the status code it received.)\""),
    ("close.1.5", "§5.5.1: \"If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer (in network byte order) representing a status code\"."),
    ("close.1.6", "§5.5: \"All control frames MUST have a payload length of 125 bytes or less\"."),
    ("close.1.7", "§5.5.1: after the code \"the body MAY contain UTF-8-encoded data\"; §8.1: invalid UTF-8 means the endpoint \"MUST _Fail the WebSocket Connection_\"."),
    ("close.1.8", "§5.5.1: after sending a Close frame an endpoint \"MUST NOT send any further data frames\"; data after the peer's Close is not to be echoed."),
    ("close.1.9", "§5.5.2: an endpoint MUST answer a Ping \"unless it already received a Close frame\"."),
    ("close.1.11", "§5.5.1: the Close reply \"SHOULD\" come \"as soon as practical. An endpoint MAY delay sending a Close frame until its current message is sent\": echoing the message first and answering the close at once are both right."),
    ("close.2", "§7.4.2: codes 0-999 \"are not used\"; 1004-1006 and 1015 are reserved and 1005, 1006, 1015 \"MUST NOT be set as a status code in a Close control frame by an endpoint\"; 1016-2999 are reserved for the protocol, 5000+ are not defined. The receiver fails the connection with 1002 (protocol error, §7.4.1)."),
    ("close.3", "§7.4: defined codes (1000-1003, 1007-1011), codes registered since (1012-1014), and the ranges for libraries and applications (3000-3999) and private use (4000-4999) are valid; the Close reply is a MUST (§5.5.1) and \"typically echos the status code it received\"."),
    ("close.4", "§7.1.1: \"The underlying TCP connection, in most normal cases, SHOULD be closed first by the server, so that it holds the TIME_WAIT state and not the client\"."),
    ("limit", "§10.4: \"Implementations that have implementation- and/or platform-specific limitations regarding the frame size or total message size after reassembly from multiple frames MUST protect themselves against exceeding those limits.\" A limit met (close 1009 or 1008) is reported as INFO, with where it happened."),
    ("limit.1", "§10.4: implementations with size limits \"MUST protect themselves against exceeding those limits\"; §7.4.1: 1009 means \"it has received a message that is too big for it to process\". Refusing on the header alone is not required: waiting for the data, or a higher limit, is INFO."),
    ("hs.1", "§4.2.2: a server accepting the connection answers 101 with |Upgrade|, |Connection| and a |Sec-WebSocket-Accept| that is the base64 SHA-1 of the key and the GUID (§1.3); how the request is split into TCP segments is not the server's business."),
    ("hs.1.5", "§4.1: the client \"MUST NOT\" send data before the server's response, so the server owes an eager client nothing: only a 101 with a wrong accept key is FAILED."),
    ("hs.2", "§4.2.1: on a request that does not match the handshake the server \"MUST stop processing the client's handshake and return an HTTP response with an appropriate error code (such as 400 Bad Request)\"; §10.7: it \"MAY drop the TCP connection\"."),
    ("hs.2.6", "§4.2.2: if the version \"does not match a version understood by the server, the server MUST abort the WebSocket handshake ... and instead send an appropriate HTTP error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version| header field indicating the version(s) the server is capable of understanding\"; a server that understands version 8 may accept it."),
    ("hs.3", "§4.2.2: the server's |Sec-WebSocket-Protocol| is one of the subprotocols the client offered, or absent; the extensions it accepts are among those the client offered (§9.1), and a client facing any other MUST _Fail the WebSocket Connection_ (§4.1). Claiming to support an unknown subprotocol is the server's choice (INFO)."),
    ("hs.4", "§4.1: the client's opening request \"MUST\" be a valid HTTP GET with |Host|, |Upgrade: websocket|, |Connection: Upgrade|, a |Sec-WebSocket-Key| that is \"a randomly selected 16-byte value\" \"selected randomly for each connection\", and |Sec-WebSocket-Version: 13|."),
    ("hs.5", "§4.1: \"If the server's response does not conform to the requirements for the server's handshake ..., the client MUST _Fail the WebSocket Connection_.\""),
    ("pmd", "RFC 7692 (permessage-deflate) is optional: a peer that declines every offer is INFORMATIONAL (\"not supported\"), never FAILED."),
    ("pmd.1", "RFC 7692 §5: the server accepts an offer by answering with one element that is a valid answer to it (§7.1: server_no_context_takeover echoed, server_max_window_bits ≤ offered, client_max_window_bits only \"if the offer has\" it and ≤ offered, no unknown parameter); §7.1.1, §7.1.2: each side then compresses within its agreed window and resets its context only as agreed, so every echo inflates with the agreed parameters."),
    ("pmd.2", "RFC 7692 §5: \"A server MUST decline an extension negotiation offer for this extension if any of the following conditions are met: The negotiation offer contains an extension parameter not defined for use in an offer. The negotiation offer contains an extension parameter with an invalid value. The negotiation offer contains multiple extension parameters with the same name.\""),
    ("pmd.3", "RFC 7692 §6.1: a compressed message sets RSV1 on its first frame; it may be fragmented like any message (§6.1, RFC 6455 §5.4), and §7.2.2: the receiver appends 00 00 FF FF and inflates the whole payload; with context takeover the window carries over (§7.1.1). Throughput is reported (INFO)."),
    ("pmd.4", "RFC 7692 §6.1: RSV1 is set only on the first frame of a compressed message (\"the RSV1 bit is set only on the first frame\"); RFC 6455 §5.2: a reserved bit no negotiated extension defines \"MUST _Fail the WebSocket Connection_\" (1002); RFC 7692 §6.2: data that does not inflate fails the connection (the RFC names no code: 1007 or 1002); RFC 6455 §8.1: text invalid as UTF-8 after inflation fails it with 1007."),
    ("pmd.4.7", "RFC 7692 §7.2.3.4: a compressed message may end with a final (BFINAL) block; the receiver must still inflate it, and the next message too."),
    ("pmd.5", "RFC 6455 §10.4: implementations with size limits \"MUST protect themselves against exceeding those limits\"; §7.4.1: 1009 for a message too big. A bomb inflates past the limit only in the peer's memory: closing 1009, or echoing within its own limit, are right."),
    ("pmd.6.6", "RFC 7692 §5: \"A client that received a response accepting a PMCE extension negotiation offer together with [an extension that conflicts on the use of the RSV1 bit] MUST _Fail the WebSocket Connection_\": two permessage-deflate elements both claim RSV1."),
    ("pmd.6", "RFC 7692 §5: \"If a received extension negotiation response ... contains an extension parameter not defined ..., an extension parameter with an invalid value, multiple parameters with the same name, or ... the client MUST _Fail the WebSocket Connection_\"; RFC 6455 §9.1: an extension the client did not offer also fails it."),
];

/// The rule case `id` checks (section and the RFC's words).
pub fn rule_for(id: &str) -> &'static str {
    RULES
        .iter()
        .filter(|(p, _)| id == *p || id.strip_prefix(p).is_some_and(|r| r.starts_with('.')))
        .max_by_key(|(p, _)| p.len())
        .map_or("", |(_, r)| r)
}

/// `len` bytes of printable ASCII (valid UTF-8 whatever the length).
pub fn text_payload(len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789.";
    (0..len).map(|i| ALPHABET[i % ALPHABET.len()]).collect()
}

/// `len` pseudo-random bytes (a fixed xorshift sequence, so failures are reproducible).
pub fn binary_payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ len as u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Piece size for chopped writes: 1 byte for small frames, a little more for large ones so the
/// run stays fast; odd sizes so piece boundaries fall at every offset of the header and key.
pub fn chunk_for(len: usize) -> usize {
    match len {
        0..=1024 => 1,
        1025..=65536 => 61,
        _ => 4093,
    }
}

/// A human size: `16 MiB`, `65536 bytes`.
pub fn size_name(len: u64) -> String {
    if len >= 1 << 20 && len % (1 << 20) == 0 {
        format!("{} MiB", len >> 20)
    } else if len >= 1 << 10 && len % (1 << 10) == 0 {
        format!("{} KiB", len >> 10)
    } else {
        format!("{len} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_sections_are_known() {
        let cases = all();
        let mut seen = HashSet::new();
        for c in &cases {
            assert!(seen.insert(c.id.clone()), "duplicate id {}", c.id);
            let section = crate::report::id_key(&c.id)[0];
            assert!((1..=10).contains(&section), "{}", c.id);
            // Nothing that reads like another suite's numeric x.y.z id.
            assert!(
                !c.id.starts_with(|ch: char| ch.is_ascii_digit()),
                "{}",
                c.id
            );
            assert!(!c.description.is_empty());
            assert!(rule_for(&c.id).contains('§'), "{} has no rule", c.id);
        }
    }

    #[test]
    fn scripts_build_in_both_roles() {
        for client in [false, true] {
            let ctx = crate::case::Ctx {
                client,
                max_message_size: 1 << 20,
                pause: std::time::Duration::from_millis(10),
            };
            for c in all() {
                if let crate::case::Body::Script(build) = &c.body {
                    if c.id.starts_with("frame.") || c.id.starts_with("limit.") {
                        continue; // big payloads; built in the integration tests
                    }
                    let mut s = crate::case::Script::new(ctx);
                    build(&mut s);
                    assert!(!s.steps.is_empty(), "{}", c.id);
                }
            }
        }
    }

    #[test]
    fn payloads() {
        assert!(std::str::from_utf8(&text_payload(1000)).is_ok());
        assert_eq!(binary_payload(13).len(), 13);
        assert_eq!(size_name(16 << 20), "16 MiB");
        assert_eq!(size_name(125), "125 bytes");
        assert_eq!(size_name(65536), "64 KiB");
        assert_eq!(size_name(65535), "65535 bytes");
    }
}
