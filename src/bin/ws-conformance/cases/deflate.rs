//! Section 10, permessage-deflate (RFC 7692), in both modes: negotiation with each parameter
//! combination and many messages under it (`pmd.1`), offers a server must decline (`pmd.2`),
//! messages of 16 B to 128 KiB whole and split after compression (`pmd.3`), RSV1 misuse and bad
//! compressed data (`pmd.4`), bombs (`pmd.5`), and responses a client must fail on (`pmd.6`).
//! Modelled on the well-known suite's sections 12 and 13, written from the RFC.
//!
//! A peer that declines compression altogether is INFORMATIONAL ("not supported") for every
//! case that needs it, never FAILED: RFC 7692 makes the extension optional. The running of the
//! cases (handshakes both ways, the session with an inflater) is in [`super::deflate_run`].

use crate::case::{Applies, Body, Case, Script};
use crate::cases::{size_name, text_payload};
use crate::pmd::{self, Params, Tx};
use crate::raw::{RawFrame, BINARY, CONTINUATION, TEXT};

pub use super::deflate_run::{run_client, run_server};

/// What a server must do with the case's offer (server mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nego {
    /// A valid offer: accepting it (validly) or declining it are both allowed; declining skips
    /// the exchange (INFO).
    Accept,
    /// An offer the server must decline (RFC 7692 §5); accepting it is FAILED.
    Decline,
    /// No offer at all: the server must not answer with the extension.
    Plain,
}

/// How the tester, as a server, answers the client's offer (client mode).
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// Accept with these parameters, built from the client's first valid offer; `Err` says
    /// why the offer does not allow them (INFO, not applicable).
    Accept(fn(&Params) -> Result<Params, String>),
    /// A response the client must fail the connection on, built from its offer (if any).
    Bad(fn(Option<&Params>) -> Result<String, String>),
    /// A 101 without the extension, whatever the client offered.
    Plain,
}

/// What a permessage-deflate case does.
pub struct DeflateCase {
    /// Server mode: the `Sec-WebSocket-Extensions` value offered (empty: no header).
    pub offer: &'static str,
    /// Server mode: what the server must do with it.
    pub nego: Nego,
    /// Client mode: the tester's answer.
    pub answer: Answer,
    /// The exchange after the handshake, over what was agreed.
    pub exchange: Box<dyn Fn(&mut Flow) + Send + Sync>,
    /// Client mode: the answer is valid but may be one the client cannot honour (8-bit
    /// windows, which zlib cannot compress with): failing the connection before any message
    /// is then right (RFC 7692 §5), and INFO.
    pub may_refuse: bool,
}

/// A script being built over an agreement: the tester's compressor follows it.
pub struct Flow<'a> {
    /// The script.
    pub script: &'a mut Script,
    /// The tester's compressor (present when agreed).
    pub tx: Option<Tx>,
    /// Set by an exchange that cannot run under this agreement (INFO, with the reason).
    pub skip: Option<String>,
}

impl Flow<'_> {
    /// Sends a message (compressed when agreed and `compress`), its bytes split into `frames`
    /// frames after compression, RSV1 on the first only; expects its echo.
    pub fn echo(&mut self, opcode: u8, payload: Vec<u8>, frames: usize, compress: bool) {
        self.send(opcode, &payload, frames, compress, None);
        if opcode == TEXT {
            self.script.expect_text(payload);
        } else {
            self.script.expect_binary(payload);
        }
    }

    /// Sends a message without expecting anything; `bad_rsv`: (frame index, rsv) to set on
    /// one frame whatever the rules say.
    pub fn send(
        &mut self,
        opcode: u8,
        payload: &[u8],
        frames: usize,
        compress: bool,
        bad_rsv: Option<(usize, u8)>,
    ) {
        let (wire, rsv1) = match (&mut self.tx, compress) {
            (Some(tx), true) => (tx.compress(payload), 4),
            _ => (payload.to_vec(), 0),
        };
        self.send_raw(opcode, &wire, frames, rsv1, bad_rsv);
    }

    /// Sends `wire` as one message of `frames` frames, `rsv` on the first.
    pub fn send_raw(
        &mut self,
        opcode: u8,
        wire: &[u8],
        frames: usize,
        rsv: u8,
        bad_rsv: Option<(usize, u8)>,
    ) {
        let frames = frames.clamp(1, wire.len().max(1));
        let size = wire.len().div_ceil(frames).max(1);
        let pieces: Vec<&[u8]> = if wire.is_empty() {
            vec![wire]
        } else {
            wire.chunks(size).collect()
        };
        let last = pieces.len() - 1;
        for (i, piece) in pieces.into_iter().enumerate() {
            let op = if i == 0 { opcode } else { CONTINUATION };
            let mut r = if i == 0 { rsv } else { 0 };
            if let Some((at, bits)) = bad_rsv {
                if at == i {
                    r |= bits;
                }
            }
            self.script
                .send(RawFrame::new(op, piece.to_vec()).fin(i == last).rsv(r));
        }
    }
}

/// A JSON-like chat message of exactly `len` bytes (ASCII), different for each `seq`.
pub fn json_text(seq: usize, len: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "hello", "world", "deflate", "window", "message", "frame", "context", "takeover", "server",
        "client", "the", "a", "of", "chat", "room", "again", "quick", "brown",
    ];
    let mut x = (seq as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::with_capacity(len + 128);
    let mut n = 0;
    while out.len() < len {
        let words: Vec<&str> = (0..3 + next() % 8)
            .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
            .collect();
        out.extend_from_slice(
            format!(
                "{{\"seq\":{},\"n\":{n},\"user\":\"user{}\",\"room\":\"general\",\"text\":\"{}\",\
                 \"ts\":{}}}",
                seq,
                next() % 50,
                words.join(" "),
                1_764_000_000 + seq * 7 + n
            )
            .as_bytes(),
        );
        n += 1;
    }
    out.truncate(len);
    out
}

/// A binary message of `len` bytes, partly compressible (counters, a small alphabet, noise).
pub fn binary_data(seq: usize, len: usize) -> Vec<u8> {
    let mut x = (seq as u64 ^ 0x5151_2323).wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
    let mut out = Vec::with_capacity(len + 8);
    let mut i = 0u32;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&i.to_le_bytes());
        out.extend_from_slice(&[b"ACGT"[(x & 3) as usize], (x >> 8) as u8 & 0x0f]);
        out.extend_from_slice(&(x >> 32).to_le_bytes()[..2]);
        i = i.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// `n` messages of mixed sizes (16 B to 4 KiB), text and binary, some split into 8 frames after
/// compression, every tenth sent uncompressed (RSV1 clear, allowed by §6).
fn mixed(flow: &mut Flow, n: usize) {
    const SIZES: [usize; 7] = [16, 64, 256, 1024, 4096, 300, 40];
    for i in 0..n {
        let len = SIZES[i % SIZES.len()];
        let frames = if i % 3 == 2 { 8 } else { 1 };
        let compress = i % 10 != 9;
        if i % 2 == 0 {
            flow.echo(TEXT, json_text(i, len), frames, compress);
        } else {
            flow.echo(BINARY, binary_data(i, len), frames, compress);
        }
    }
}

/// Messages per size: 1 000 up to 4 KiB, then 4 MiB per case (it keeps the group within seconds).
pub fn count_for(size: usize) -> usize {
    if size <= 4096 {
        1000
    } else {
        (4 << 20) / size
    }
}

fn case(id: String, description: String, applies: Applies, body: DeflateCase) -> Case {
    Case {
        id,
        description,
        applies,
        body: Body::Deflate(body),
    }
}

/// The smallest valid acceptance of a client's offer: what must be echoed, nothing more.
pub fn base(o: &Params) -> Params {
    Params {
        snct: o.snct,
        cnct: false,
        smwb: o.smwb,
        cmwb: None,
    }
}

fn with_smwb(o: &Params, n: u8) -> Result<Params, String> {
    match o.smwb {
        Some(m) if m < n => Err(format!(
            "the client's offer asks for server_max_window_bits={m}, below {n}"
        )),
        _ => Ok(Params {
            smwb: Some(n),
            ..base(o)
        }),
    }
}

fn with_cmwb(o: &Params, n: u8) -> Result<Params, String> {
    match o.cmwb {
        None => Err(
            "the client's offer has no client_max_window_bits, so the response may not name it \
             (§7.1.2.2)"
                .into(),
        ),
        Some(Some(m)) if m < n => Err(format!(
            "the client's offer limits client_max_window_bits to {m}, below {n}"
        )),
        Some(_) => Ok(Params {
            cmwb: Some(Some(n)),
            ..base(o)
        }),
    }
}

/// An offer, its client-mode counterpart, a description.
type Combo = (
    &'static str,
    fn(&Params) -> Result<Params, String>,
    &'static str,
);

const COMBOS: &[Combo] = &[
    ("permessage-deflate", |o| Ok(base(o)), "no parameters"),
    (
        "permessage-deflate; client_no_context_takeover",
        |o| {
            Ok(Params {
                cnct: true,
                ..base(o)
            })
        },
        "client_no_context_takeover",
    ),
    (
        "permessage-deflate; server_no_context_takeover",
        |o| {
            Ok(Params {
                snct: true,
                ..base(o)
            })
        },
        "server_no_context_takeover",
    ),
    (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        |o| {
            Ok(Params {
                snct: true,
                cnct: true,
                ..base(o)
            })
        },
        "both no_context_takeover",
    ),
    (
        "permessage-deflate; client_max_window_bits",
        |o| with_cmwb(o, 12),
        "client_max_window_bits bare (client mode: answered with 12)",
    ),
    (
        "permessage-deflate; server_max_window_bits=9",
        |o| with_smwb(o, 9),
        "server_max_window_bits=9",
    ),
    (
        "permessage-deflate; server_max_window_bits=15",
        |o| with_smwb(o, 15),
        "server_max_window_bits=15",
    ),
    (
        "permessage-deflate; client_max_window_bits=9",
        |o| with_cmwb(o, 9),
        "client_max_window_bits=9",
    ),
    (
        "permessage-deflate; client_max_window_bits=15",
        |o| with_cmwb(o, 15),
        "client_max_window_bits=15",
    ),
    (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=9; client_max_window_bits=9",
        |o| {
            let mut p = with_smwb(o, 9)?;
            p.snct = true;
            p.cnct = true;
            if o.cmwb.is_some_and(|v| v.is_none_or(|m| m >= 9)) {
                p.cmwb = Some(Some(9));
            }
            Ok(p)
        },
        "everything: both no_context_takeover, both windows 9 bits",
    ),
    (
        "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8",
        |o| {
            let mut p = with_smwb(o, 8)?;
            if o.cmwb.is_some() {
                p.cmwb = Some(Some(8));
            }
            Ok(p)
        },
        "8-bit windows (zlib cannot compress with 8; a server may answer 9 or decline)",
    ),
];

/// Section 10's cases.
pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    const PLAIN: &str = "permessage-deflate; client_max_window_bits";
    // pmd.1: each parameter combination, 1 000 messages over it.
    for (i, (offer, answer, what)) in COMBOS.iter().enumerate() {
        out.push(case(
            format!("pmd.1.{}", i + 1),
            format!("negotiation with {what}; 1000 mixed messages with the agreed windows"),
            Applies::Both,
            DeflateCase {
                offer,
                nego: Nego::Accept,
                answer: Answer::Accept(*answer),
                exchange: Box::new(|f| mixed(f, 1000)),
                may_refuse: offer.contains("=8"),
            },
        ));
    }
    for (n, offer, what) in [
        (
            12,
            "permessage-deflate; x-unknown-param=1, permessage-deflate; client_max_window_bits",
            "two offers, the first with an unknown parameter: only the second can be accepted",
        ),
        (
            13,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9, \
             permessage-deflate; server_no_context_takeover, permessage-deflate",
            "three offers, most demanding first: the answer matches one of them",
        ),
    ] {
        out.push(case(
            format!("pmd.1.{n}"),
            format!("{what}; 1000 mixed messages"),
            Applies::Server,
            DeflateCase {
                offer,
                nego: Nego::Accept,
                answer: Answer::Plain,
                exchange: Box::new(|f| mixed(f, 1000)),
                may_refuse: false,
            },
        ));
    }
    // pmd.2: offers the server must decline.
    for (i, offer) in [
        "permessage-deflate; x-unknown-param",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_no_context_takeover=1",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=010",
    ]
    .into_iter()
    .enumerate()
    {
        out.push(case(
            format!("pmd.2.{}", i + 1),
            format!("offer `{offer}` must be declined; then an uncompressed echo"),
            Applies::Server,
            DeflateCase {
                offer,
                nego: Nego::Decline,
                answer: Answer::Plain,
                exchange: Box::new(|f| f.echo(TEXT, b"declined, uncompressed".to_vec(), 1, false)),
                may_refuse: false,
            },
        ));
    }
    // pmd.3: sizes, text and binary, whole and split after compression.
    let mut n = 0;
    for size in [16usize, 64, 256, 1024, 4096, 16384, 65536, 131072] {
        for binary in [false, true] {
            n += 1;
            let count = count_for(size);
            out.push(case(
                format!("pmd.3.{n}"),
                format!(
                    "{count} {} messages of {}, every other one split into 16 frames after \
                     compression, context carried over",
                    if binary { "binary" } else { "JSON-like text" },
                    size_name(size as u64)
                ),
                Applies::Both,
                DeflateCase {
                    offer: PLAIN,
                    nego: Nego::Accept,
                    answer: Answer::Accept(|o| Ok(base(o))),
                    exchange: Box::new(move |f| {
                        for i in 0..count {
                            let frames = if i % 2 == 1 { 16 } else { 1 };
                            if binary {
                                f.echo(BINARY, binary_data(i, size), frames, true);
                            } else {
                                f.echo(TEXT, json_text(i, size), frames, true);
                            }
                        }
                        f.script.expect.informational = true;
                    }),
                    may_refuse: false,
                },
            ));
        }
    }
    out.extend(misuse_cases());
    out.extend(bomb_cases());
    out.extend(client_refusals());
    out
}

fn accepted(
    id: &str,
    description: &str,
    offer: &'static str,
    exchange: impl Fn(&mut Flow) + Send + Sync + 'static,
) -> Case {
    case(
        id.into(),
        description.into(),
        Applies::Both,
        DeflateCase {
            offer,
            nego: Nego::Accept,
            answer: Answer::Accept(|o| Ok(base(o))),
            exchange: Box::new(exchange),
            may_refuse: false,
        },
    )
}

/// pmd.4: RSV1 misuse and compressed data that is wrong.
fn misuse_cases() -> Vec<Case> {
    const OFFER: &str = "permessage-deflate; client_max_window_bits";
    let warm = |f: &mut Flow| {
        f.echo(TEXT, json_text(1, 200), 1, true);
        f.script.await_replies();
    };
    let mut v = vec![
        accepted(
            "pmd.4.1",
            "a compressed message whose continuation frame also has RSV1",
            OFFER,
            move |f| {
                warm(f);
                f.send(TEXT, &json_text(2, 3000), 3, true, Some((1, 4)));
                f.script.fail(1002);
            },
        ),
        accepted("pmd.4.2", "a ping with RSV1", OFFER, move |f| {
            warm(f);
            f.script.send(RawFrame::ping("rsv1 ping").rsv(4));
            f.script.fail(1002);
        }),
        accepted("pmd.4.3", "a close frame with RSV1", OFFER, move |f| {
            warm(f);
            f.script.send(RawFrame::close(Some(1000), b"").rsv(4));
            f.script.fail(1002);
        }),
        accepted(
            "pmd.4.4",
            "a compressed binary message whose first frame lacks RSV1 but its continuation has it",
            OFFER,
            move |f| {
                warm(f);
                // Binary: as an uncompressed message its first frame is valid whatever its
                // bytes (a text one could rightly fail on UTF-8 first).
                let z = f.tx.as_mut().map(|t| t.compress(&binary_data(3, 2000)));
                f.send_raw(BINARY, &z.unwrap_or_default(), 2, 0, Some((1, 4)));
                f.script.fail(1002);
            },
        ),
        accepted(
            "pmd.4.5",
            "corrupt DEFLATE data (a block of the reserved type 3) with RSV1",
            OFFER,
            move |f| {
                warm(f);
                f.send_raw(BINARY, &pmd::corrupt(), 1, 4, None);
                f.script.fail(1007);
                f.script.expect.also_codes = vec![1002];
            },
        ),
        accepted(
            "pmd.4.6",
            "a compressed text message that is not UTF-8 once inflated",
            OFFER,
            move |f| {
                warm(f);
                let mut bad = text_payload(100);
                bad.extend_from_slice(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xed\xa0\x80edited");
                f.send(TEXT, &bad, 1, true, None);
                f.script.fail(1007);
            },
        ),
        accepted(
            "pmd.4.7",
            "a compressed message with BFINAL set (§7.2.3.4), then another: both must be \
             accepted",
            OFFER,
            |f| {
                // `Hello` in a final fixed block, as the RFC's example.
                f.send_raw(
                    TEXT,
                    &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
                    1,
                    4,
                    None,
                );
                f.script.expect_text("Hello");
                f.echo(TEXT, json_text(4, 100), 1, true);
            },
        ),
        accepted(
            "pmd.4.10",
            "a compressed message and, in the same write, a ping with RSV1 (the peer may still \
             be inflating when it must fail)",
            OFFER,
            |f| {
                f.echo(TEXT, json_text(6, 3000), 1, true);
                f.script.send(RawFrame::ping("rsv1 ping").rsv(4));
                f.script.fail(1002);
                f.script.expect.replies_optional = true;
            },
        ),
    ];
    // RSV1 without the extension: not offered, or offered invalidly (and so declined).
    for (id, offer, nego, what) in [
        (
            "pmd.4.8",
            "",
            Nego::Plain,
            "a message with RSV1 when the extension was not offered",
        ),
        (
            "pmd.4.9",
            "permessage-deflate; x-unknown-param",
            Nego::Decline,
            "a message with RSV1 after an offer the server had to decline",
        ),
    ] {
        v.push(case(
            id.into(),
            what.into(),
            if nego == Nego::Plain {
                Applies::Both
            } else {
                Applies::Server
            },
            DeflateCase {
                offer,
                nego,
                answer: Answer::Plain,
                exchange: Box::new(|f| {
                    f.echo(TEXT, b"uncompressed first".to_vec(), 1, false);
                    f.script.await_replies();
                    let z = Tx::new((15, false)).compress(&json_text(5, 100));
                    f.send_raw(TEXT, &z, 1, 4, None);
                    f.script.fail(1002);
                }),
                may_refuse: false,
            },
        ));
    }
    v
}

/// pmd.5: compression bombs.
fn bomb_cases() -> Vec<Case> {
    const OFFER: &str = "permessage-deflate; client_max_window_bits";
    vec![
        accepted(
            "pmd.5.1",
            "1 MiB of zeros compressed to about 1.2 KiB: echo it, or close 1009 at the peer's \
             limit",
            OFFER,
            |f| {
                f.send_raw(BINARY, &pmd::zeros(1 << 20), 1, 4, None);
                f.script.expect_binary(vec![0u8; 1 << 20]);
                f.script.expect.may_hit_limit = true;
            },
        ),
        accepted(
            "pmd.5.2",
            "zeros inflating to one byte more than the assumed limit (--max-message-size), \
             in 16 frames: close 1009, never an echo past the limit",
            OFFER,
            |f| {
                let len = f.script.ctx().max_message_size as usize + 1;
                f.send_raw(BINARY, &pmd::zeros(len), 16, 4, None);
                f.script.limit(1009);
                f.script.expect.fully_sent = true;
            },
        ),
        accepted(
            "pmd.5.3",
            "100 messages of 64 KiB of zeros (about 64 B each compressed), context carried over",
            OFFER,
            |f| {
                let z = pmd::zeros(64 << 10);
                for _ in 0..100 {
                    f.send_raw(BINARY, &z, 1, 4, None);
                    f.script.expect_binary(vec![0u8; 64 << 10]);
                }
                f.script.expect.may_hit_limit = true;
            },
        ),
    ]
}

/// pmd.6: responses a client must fail the connection on (RFC 7692 §5: "the client MUST
/// _Fail the WebSocket Connection_").
fn client_refusals() -> Vec<Case> {
    let refusal = |n: usize, what: &str, make: fn(Option<&Params>) -> Result<String, String>| {
        case(
            format!("pmd.6.{n}"),
            format!("{what}: the client must fail the connection"),
            Applies::Client,
            DeflateCase {
                offer: "",
                nego: Nego::Plain,
                answer: Answer::Bad(make),
                exchange: Box::new(|_| {}),
                may_refuse: false,
            },
        )
    };
    vec![
        refusal(1, "permessage-deflate with an unknown parameter", |o| {
            Ok(format!("{}; x-unknown-param", accept_any(o)))
        }),
        refusal(
            2,
            "client_max_window_bits=10 although the client did not offer it",
            |o| match o {
                Some(o) if o.cmwb.is_some() => {
                    Err("not applicable: the client's offer has client_max_window_bits".to_string())
                }
                o => Ok(format!("{}; client_max_window_bits=10", accept_any(o))),
            },
        ),
        refusal(3, "a duplicate server_no_context_takeover", |o| {
            let mut p = o.map_or_else(Params::default, base);
            p.snct = false;
            Ok(format!(
                "{}; server_no_context_takeover; server_no_context_takeover",
                p.header()
            ))
        }),
        refusal(4, "server_max_window_bits=16", |o| {
            let mut p = o.map_or_else(Params::default, base);
            p.smwb = None;
            Ok(format!("{}; server_max_window_bits=16", p.header()))
        }),
        refusal(5, "server_max_window_bits=7", |o| {
            let mut p = o.map_or_else(Params::default, base);
            p.smwb = None;
            Ok(format!("{}; server_max_window_bits=7", p.header()))
        }),
        refusal(6, "two permessage-deflate elements", |o| {
            let one = accept_any(o);
            Ok(format!("{one}, {one}"))
        }),
        refusal(
            7,
            "a bare client_max_window_bits in the response (it needs a value there)",
            |o| {
                let mut p = o.map_or_else(Params::default, base);
                p.cmwb = Some(None);
                Ok(p.header())
            },
        ),
        refusal(
            8,
            "server_max_window_bits larger than the client offered",
            |o| match o.and_then(|o| o.smwb) {
                Some(n) if n < 15 => {
                    let mut p = base(o.unwrap_or(&Params::default()));
                    p.smwb = Some(n + 1);
                    Ok(p.header())
                }
                _ => Err(
                    "not applicable: the client's offer has no server_max_window_bits below 15"
                        .into(),
                ),
            },
        ),
        refusal(
            9,
            "no server_no_context_takeover although the client asked for it",
            |o| match o {
                Some(o) if o.snct => Ok(Params {
                    snct: false,
                    ..base(o)
                }
                .header()),
                _ => Err(
                    "not applicable: the client's offer has no server_no_context_takeover".into(),
                ),
            },
        ),
    ]
}

/// A valid acceptance of the client's offer, or a bare `permessage-deflate` when it offered
/// none (an extension it did not offer: also a reason to fail, RFC 6455 §9.1).
fn accept_any(o: Option<&Params>) -> String {
    o.map_or_else(|| pmd::NAME.to_string(), |o| base(o).header())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Ctx, Step};

    #[test]
    fn every_exchange_builds_in_both_roles_with_and_without_compression() {
        for client in [false, true] {
            let ctx = Ctx {
                client,
                max_message_size: 1 << 20,
                pause: std::time::Duration::from_millis(10),
            };
            for c in cases() {
                let Body::Deflate(d) = &c.body else {
                    panic!("{} is not a deflate case", c.id)
                };
                for tx in [Some(Tx::new((9, true))), None] {
                    let mut script = Script::new(ctx);
                    let mut flow = Flow {
                        script: &mut script,
                        tx,
                        skip: None,
                    };
                    (d.exchange)(&mut flow);
                    let refusal = matches!(d.answer, Answer::Bad(_));
                    assert_eq!(script.steps.is_empty(), refusal, "{}", c.id);
                }
            }
        }
    }

    #[test]
    fn split_messages_carry_rsv1_on_the_first_frame_only() {
        let ctx = Ctx {
            client: true,
            max_message_size: 1 << 20,
            pause: std::time::Duration::from_millis(10),
        };
        let mut script = Script::new(ctx);
        let mut flow = Flow {
            script: &mut script,
            tx: Some(Tx::new((15, false))),
            skip: None,
        };
        flow.echo(TEXT, json_text(0, 4096), 16, true);
        assert_eq!(script.steps.len(), 16);
        for (i, step) in script.steps.iter().enumerate() {
            let Step::Write { bytes, .. } = step else {
                panic!()
            };
            let rsv1 = bytes[0] & 0x40 != 0;
            let fin = bytes[0] & 0x80 != 0;
            let opcode = bytes[0] & 0x0f;
            assert_eq!(rsv1, i == 0, "frame {i}");
            assert_eq!(fin, i == 15, "frame {i}");
            assert_eq!(opcode, if i == 0 { TEXT } else { CONTINUATION });
        }
        assert_eq!(json_text(3, 777).len(), 777);
        assert!(std::str::from_utf8(&json_text(3, 777)).is_ok());
        assert_eq!(binary_data(3, 777).len(), 777);
    }
}
