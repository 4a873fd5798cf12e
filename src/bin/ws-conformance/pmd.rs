//! permessage-deflate (RFC 7692) for the tester: parsing offers and responses, checking that a
//! response is a valid answer to what was offered (§5, §7.1), and the tester's side of the
//! codec (our own `src/deflate`, compiled into this binary): a compressor for what it sends, an
//! inflater for what the peer sends, and DEFLATE streams (bombs, corrupt data) that
//! no compressor would produce.

use crate::deflate::{Deflater, Inflater, Level};

/// The extension's registered name.
pub const NAME: &str = "permessage-deflate";

/// One element of a `Sec-WebSocket-Extensions` value: a name and its parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The extension token, lower-cased.
    pub name: String,
    /// `(name, value)` pairs; a value in quotes is unquoted.
    pub params: Vec<(String, Option<String>)>,
}

/// Splits a header value into elements (`a; p=1, b` → two elements).
pub fn parse_elements(value: &str) -> Vec<Element> {
    value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let mut parts = e.split(';').map(str::trim);
            let name = parts.next().unwrap_or("").to_ascii_lowercase();
            let params = parts
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (
                        k.trim().to_ascii_lowercase(),
                        Some(v.trim().trim_matches('"').to_string()),
                    ),
                    None => (p.to_ascii_lowercase(), None),
                })
                .collect();
            Element { name, params }
        })
        .collect()
}

/// The permessage-deflate parameters of one element, validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Params {
    /// `server_no_context_takeover`.
    pub snct: bool,
    /// `client_no_context_takeover`.
    pub cnct: bool,
    /// `server_max_window_bits=N`.
    pub smwb: Option<u8>,
    /// `client_max_window_bits`, bare (`Some(None)`) or with a value.
    pub cmwb: Option<Option<u8>>,
}

fn window_value(name: &str, v: &Option<String>, required: bool) -> Result<Option<u8>, String> {
    match v {
        None if required => Err(format!("`{name}` without a value")),
        None => Ok(None),
        Some(s) => {
            let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0');
            match s.parse::<u8>() {
                Ok(n @ 8..=15) if ok => Ok(Some(n)),
                _ => Err(format!("`{name}={s}` (the value must be 8 to 15)")),
            }
        }
    }
}

impl Params {
    /// Validates an element's parameters. `response`: a server's answer, where
    /// `client_max_window_bits` needs a value (§7.1.2.2); in an offer it may be bare.
    pub fn parse(e: &Element, response: bool) -> Result<Params, String> {
        let mut p = Params::default();
        let mut seen: Vec<&str> = Vec::new();
        for (k, v) in &e.params {
            if seen.contains(&k.as_str()) {
                return Err(format!("`{k}` appears twice"));
            }
            seen.push(k);
            match k.as_str() {
                "server_no_context_takeover" | "client_no_context_takeover" => {
                    if let Some(v) = v {
                        return Err(format!("`{k}={v}` (this parameter takes no value)"));
                    }
                    if k.starts_with("server") {
                        p.snct = true;
                    } else {
                        p.cnct = true;
                    }
                }
                "server_max_window_bits" => p.smwb = window_value(k, v, true)?,
                "client_max_window_bits" => p.cmwb = Some(window_value(k, v, response)?),
                other => return Err(format!("unknown parameter `{other}`")),
            }
        }
        Ok(p)
    }

    /// The element as a header value.
    pub fn header(&self) -> String {
        let mut s = NAME.to_string();
        if self.snct {
            s.push_str("; server_no_context_takeover");
        }
        if self.cnct {
            s.push_str("; client_no_context_takeover");
        }
        if let Some(n) = self.smwb {
            s.push_str(&format!("; server_max_window_bits={n}"));
        }
        match self.cmwb {
            Some(Some(n)) => s.push_str(&format!("; client_max_window_bits={n}")),
            Some(None) => s.push_str("; client_max_window_bits"),
            None => {}
        }
        s
    }
}

/// What both sides agreed on, per direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreement {
    /// The server resets its compressor after each message.
    pub snct: bool,
    /// The client resets its compressor after each message.
    pub cnct: bool,
    /// The server's LZ77 window (bits).
    pub smwb: u8,
    /// The client's LZ77 window (bits).
    pub cmwb: u8,
}

impl Agreement {
    /// From a validated response's parameters.
    pub fn from_response(p: &Params) -> Agreement {
        Agreement {
            snct: p.snct,
            cnct: p.cnct,
            smwb: p.smwb.unwrap_or(15),
            cmwb: p.cmwb.flatten().unwrap_or(15),
        }
    }

    /// (window bits, no context takeover) of the side that sends as a client (`client`) or
    /// as the server.
    pub fn sender(&self, client: bool) -> (u8, bool) {
        if client {
            (self.cmwb, self.cnct)
        } else {
            (self.smwb, self.snct)
        }
    }

    /// One line for reports.
    pub fn describe(&self) -> String {
        let takeover = |no: bool| {
            if no {
                "no context takeover"
            } else {
                "context takeover"
            }
        };
        format!(
            "server {} bits, {}; client {} bits, {}",
            self.smwb,
            takeover(self.snct),
            self.cmwb,
            takeover(self.cnct)
        )
    }
}

/// Whether `resp` is a valid acceptance of `offer` (§7.1): the reasons it is not.
pub fn answer_problems(offer: &Params, resp: &Params) -> Vec<String> {
    let mut problems = Vec::new();
    if offer.snct && !resp.snct {
        problems.push(
            "the offer asks for server_no_context_takeover and the response leaves it out \
             (§7.1.1.1: the server accepts it by including it)"
                .to_string(),
        );
    }
    match (offer.smwb, resp.smwb) {
        (Some(n), None) => problems.push(format!(
            "the offer asks for server_max_window_bits={n} and the response leaves it out \
             (§7.1.2.1: the server accepts it by including a value ≤ {n})"
        )),
        (Some(n), Some(m)) if m > n => problems.push(format!(
            "server_max_window_bits={m} answers an offer of {n} (§7.1.2.1: the value must not \
             be larger than offered)"
        )),
        _ => {}
    }
    match (offer.cmwb, resp.cmwb) {
        (None, Some(_)) => problems.push(
            "client_max_window_bits in the response, not in the offer (§7.1.2.2: the server \
             \"MUST NOT include\" it then)"
                .to_string(),
        ),
        (Some(Some(n)), Some(Some(m))) if m > n => problems.push(format!(
            "client_max_window_bits={m} answers an offer of {n} (§7.1.2.2: the value must not \
             be larger than offered)"
        )),
        _ => {}
    }
    problems
}

/// Checks a server's `Sec-WebSocket-Extensions` against the offers the tester sent (as header
/// values, possibly several elements, possibly invalid on purpose). `Ok(None)`: declined;
/// `Ok(Some((index, agreement)))`: the offer accepted; `Err`: not a valid answer.
pub fn check_response(
    offers: &[Element],
    response: Option<&str>,
) -> Result<Option<(usize, Agreement)>, String> {
    let elements = response.map(parse_elements).unwrap_or_default();
    if elements.is_empty() {
        return Ok(None);
    }
    if let Some(e) = elements.iter().find(|e| e.name != NAME) {
        return Err(format!(
            "the response names extension `{}`, which was not offered (RFC 6455 §9.1)",
            e.name
        ));
    }
    if elements.len() > 1 {
        return Err(format!(
            "the response accepts {} permessage-deflate elements (RFC 7692 §5: the server \
             accepts one offer, answering with one element)",
            elements.len()
        ));
    }
    let resp = Params::parse(&elements[0], true).map_err(|e| {
        format!(
            "invalid response `{}`: {e} (RFC 7692 §7.1)",
            response.unwrap_or("")
        )
    })?;
    let mut why = Vec::new();
    for (i, offer) in offers.iter().enumerate() {
        if offer.name != NAME {
            continue;
        }
        match Params::parse(offer, false) {
            Err(e) => why.push(format!(
                "offer #{} is invalid ({e}) and must be declined",
                i + 1
            )),
            Ok(o) => {
                let problems = answer_problems(&o, &resp);
                if problems.is_empty() {
                    return Ok(Some((i, Agreement::from_response(&resp))));
                }
                why.push(format!("offer #{}: {}", i + 1, problems.join("; ")));
            }
        }
    }
    Err(format!(
        "the response `{}` accepts none of the offers: {}",
        response.unwrap_or(""),
        why.join(" / ")
    ))
}

/// The first valid permessage-deflate offer of a client's request, with all its elements.
pub fn client_offer(value: Option<&str>) -> Option<Params> {
    parse_elements(value.unwrap_or(""))
        .iter()
        .filter(|e| e.name == NAME)
        .find_map(|e| Params::parse(e, false).ok())
}

/// The tester's compressor for one direction.
pub struct Tx {
    def: Deflater,
    reset: bool,
    /// Bytes before and after compression.
    pub bytes: (u64, u64),
}

impl Tx {
    /// A compressor with the agreed window and takeover.
    pub fn new((bits, no_takeover): (u8, bool)) -> Tx {
        Tx {
            def: Deflater::new(bits, Level::DEFAULT),
            reset: no_takeover,
            bytes: (0, 0),
        }
    }

    /// One message, compressed (tail removed).
    pub fn compress(&mut self, msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(msg.len() / 2 + 16);
        self.def.compress_message(msg, &mut out);
        if self.reset {
            self.def.reset();
        }
        self.bytes.0 += msg.len() as u64;
        self.bytes.1 += out.len() as u64;
        out
    }
}

/// The tester's inflater for the peer's messages.
#[derive(Debug)]
pub struct Rx {
    inf: Inflater,
    reset: bool,
    limit: usize,
    /// The agreed window bits and takeover, for messages.
    pub what: String,
    /// Compressed messages received, and their bytes before and after inflating.
    pub compressed: (u64, u64, u64),
    /// Uncompressed messages received (RSV1 clear: a sender may skip compressing, §6).
    pub plain: u64,
}

impl Rx {
    /// An inflater with the peer's agreed window and takeover; no message may exceed `limit`.
    pub fn new((bits, no_takeover): (u8, bool), limit: usize) -> Rx {
        Rx {
            inf: Inflater::new(bits),
            reset: no_takeover,
            limit,
            what: format!(
                "{bits} window bits, {}",
                if no_takeover {
                    "no context takeover"
                } else {
                    "context takeover"
                }
            ),
            compressed: (0, 0, 0),
            plain: 0,
        }
    }

    /// Inflates one whole compressed message.
    pub fn message(&mut self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let result = self
            .inf
            .inflate(payload, &mut out, self.limit)
            .and_then(|_| {
                let left = self.limit - out.len();
                self.inf.finish_message(&mut out, left)
            });
        if self.reset {
            self.inf.reset();
        }
        result.map_err(|e| match e {
            crate::deflate::InflateError::DistanceBeyondWindow => format!(
                "{e}: a match reaches further back than the negotiated window allows \
                 ({}; RFC 7692 §7.1.2)",
                self.what
            ),
            crate::deflate::InflateError::DistanceTooFarBack if self.reset => format!(
                "{e}: a match reaches into an earlier message although the agreement says no \
                 context takeover ({}; RFC 7692 §7.1.1)",
                self.what
            ),
            other => format!("{other} ({})", self.what),
        })?;
        self.compressed.0 += 1;
        self.compressed.1 += payload.len() as u64;
        self.compressed.2 += out.len() as u64;
        Ok(out)
    }
}

/// A permessage-deflate payload inflating to `len` zero bytes (about 1 KiB per MiB): our
/// compressor over 1 MiB pieces of one message, each piece's sync flush kept but the last's
/// `00 00 FF FF`, so the bomb costs the tester no more than 1 MiB to build.
pub fn zeros(len: usize) -> Vec<u8> {
    let mut def = Deflater::new(15, Level::DEFAULT);
    let chunk = vec![0u8; len.clamp(1, 1 << 20)];
    let mut out = Vec::new();
    let mut left = len;
    loop {
        let n = left.min(chunk.len());
        def.compress_message(&chunk[..n], &mut out);
        left -= n;
        if left == 0 {
            return out;
        }
        out.extend_from_slice(&crate::deflate::TAIL);
    }
}

/// A payload that is not DEFLATE: the first block has the reserved type 3 (RFC 1951 §3.2.3).
pub fn corrupt() -> Vec<u8> {
    vec![0x07, 0x5a, 0xa5, 0x12, 0x34]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate(bits: u8, z: &[u8]) -> Result<Vec<u8>, String> {
        Rx::new((bits, false), 1 << 24).message(z)
    }

    #[test]
    fn hand_built_streams_inflate() {
        for n in [0, 1, 5, 258, 259, 1000, 1 << 20] {
            assert_eq!(inflate(15, &zeros(n)).unwrap(), vec![0; n], "{n}");
        }
        let bomb = zeros(1 << 20);
        assert!(bomb.len() < 1300, "{}", bomb.len());
        assert_eq!(inflate(15, &zeros(3 << 20)).unwrap().len(), 3 << 20);
        assert!(inflate(15, &corrupt()).is_err());
        // A match 1000 bytes back: fine in a 15-bit window, refused in a 9-bit one.
        let mut tx = Tx::new((15, false));
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let first: Vec<u8> = (0..1200)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut msg = first.clone();
        msg.extend_from_slice(&first[200..260]);
        let z = tx.compress(&msg);
        assert_eq!(inflate(15, &z).unwrap(), msg);
        let err = inflate(9, &z).unwrap_err();
        assert!(err.contains("window"), "{err}");
    }

    #[test]
    fn responses_are_checked_against_offers() {
        let offers = |v: &str| parse_elements(v);
        let ok = |o: &str, r: &str| check_response(&offers(o), Some(r));
        assert_eq!(check_response(&offers(NAME), None), Ok(None));
        let (i, a) = ok(NAME, "permessage-deflate").unwrap().unwrap();
        assert_eq!((i, a.smwb, a.cmwb, a.snct), (0, 15, 15, false));
        assert!(ok(NAME, "permessage-deflate; client_max_window_bits=10").is_err());
        let a = ok(
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=10; server_max_window_bits=12",
        )
        .unwrap()
        .unwrap()
        .1;
        assert_eq!((a.cmwb, a.smwb), (10, 12));
        assert!(ok(
            "permessage-deflate; server_max_window_bits=9",
            "permessage-deflate; server_max_window_bits=10"
        )
        .is_err());
        assert!(ok(
            "permessage-deflate; server_no_context_takeover",
            "permessage-deflate"
        )
        .is_err());
        assert!(ok(NAME, "permessage-deflate; x=1").is_err());
        assert!(ok(NAME, "permessage-deflate, permessage-deflate").is_err());
        assert!(ok(NAME, "x-other").is_err());
        assert!(ok(
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits"
        )
        .is_err());
        // An invalid first offer cannot be the one accepted; the second can.
        let two = "permessage-deflate; x-unknown=1, permessage-deflate";
        assert_eq!(ok(two, "permessage-deflate").unwrap().unwrap().0, 1);
        for bad in [
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=010",
        ] {
            assert!(
                Params::parse(&parse_elements(bad)[0], false).is_err(),
                "{bad}"
            );
            assert!(ok(bad, "permessage-deflate").is_err(), "{bad}");
        }
        assert_eq!(
            client_offer(Some("permessage-deflate; client_max_window_bits")),
            Some(Params {
                cmwb: Some(None),
                ..Params::default()
            })
        );
    }
}
