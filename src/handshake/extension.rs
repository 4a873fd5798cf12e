//! permessage-deflate (RFC 7692) negotiation: the `Sec-WebSocket-Extensions` grammar, the
//! server's choice among the client's offers, the client's offer and its checks on the answer,
//! and the agreement both sides work from.
//!
//! The grammar is RFC 6455 §9.1: a comma-separated list of extensions (over one or several header
//! lines), each a token followed by `;`-separated parameters, each a token with an optional value
//! that is a token or a quoted string. Names compare case-insensitively. A value is taken after
//! quoted-string unescaping (RFC 7692 §5), so `client_max_window_bits="10"` is `10`.

use std::borrow::Cow;

use super::HandshakeError;
use crate::config::DeflateConfig;
use crate::http::is_tchar;

/// The extension's registered name.
const NAME: &str = "permessage-deflate";

/// The permessage-deflate parameters a server accepted, as both sides apply them.
///
/// Window bits are 8..=15 (15 when the response named none). `server_*` is the direction the
/// server compresses in, `client_*` the direction the client compresses in.
///
/// ```
/// let a = ws6455::PerMessageDeflate::default();
/// assert_eq!(a.server_max_window_bits, 15);
/// assert!(!a.client_no_context_takeover);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerMessageDeflate {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// Largest window the server compresses with, 8..=15.
    pub server_max_window_bits: u8,
    /// Largest window the client compresses with, 8..=15.
    pub client_max_window_bits: u8,
}

impl Default for PerMessageDeflate {
    fn default() -> PerMessageDeflate {
        PerMessageDeflate {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Grammar.

/// One element of an extension list: its name and its parameters (values unescaped).
#[derive(Debug)]
struct Element<'a> {
    name: &'a str,
    params: Vec<(&'a str, Option<Cow<'a, str>>)>,
}

/// Parses one `Sec-WebSocket-Extensions` header value, appending its elements to `out`. Empty
/// list elements (`a, , b`) are skipped, as RFC 9110 §5.6.1 asks of recipients. `Err` names the
/// first syntax error.
fn parse_list<'a>(value: &'a str, out: &mut Vec<Element<'a>>) -> Result<(), &'static str> {
    let mut p = Scanner { s: value, i: 0 };
    loop {
        p.skip_ows();
        match p.peek() {
            None => return Ok(()),
            Some(b',') => {
                p.i += 1;
                continue;
            }
            Some(_) => {}
        }
        let name = p.token().ok_or("expected an extension name")?;
        let mut params = Vec::new();
        loop {
            p.skip_ows();
            match p.peek() {
                None | Some(b',') => break,
                Some(b';') => p.i += 1,
                Some(_) => return Err("expected `;` or `,` after an extension parameter"),
            }
            p.skip_ows();
            let pname = p.token().ok_or("expected a parameter name after `;`")?;
            p.skip_ows();
            let value = if p.peek() == Some(b'=') {
                p.i += 1;
                p.skip_ows();
                let v = if p.peek() == Some(b'"') {
                    p.quoted()?
                } else {
                    Cow::Borrowed(p.token().ok_or("expected a parameter value after `=`")?)
                };
                Some(v)
            } else {
                None
            };
            params.push((pname, value));
        }
        out.push(Element { name, params });
    }
}

struct Scanner<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<&'a str> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        // Token characters are ASCII, so both ends are character boundaries.
        (self.i > start).then(|| &self.s[start..self.i])
    }

    /// A quoted string (RFC 9110 §5.6.4), the opening quote at `self.i`; returns its content
    /// unescaped.
    fn quoted(&mut self) -> Result<Cow<'a, str>, &'static str> {
        const UNTERMINATED: &str = "unterminated quoted string";
        let b = self.s.as_bytes();
        self.i += 1;
        let start = self.i;
        let mut owned: Option<String> = None;
        loop {
            let Some(&c) = b.get(self.i) else {
                return Err(UNTERMINATED);
            };
            match c {
                b'"' => {
                    let raw = &self.s[start..self.i];
                    self.i += 1;
                    return Ok(owned.map_or(Cow::Borrowed(raw), Cow::Owned));
                }
                b'\\' => {
                    let esc = *b.get(self.i + 1).ok_or(UNTERMINATED)?;
                    if esc != b'\t' && (esc < 0x20 || esc == 0x7f) {
                        return Err("invalid escape in a quoted string");
                    }
                    let o = owned.get_or_insert_with(|| self.s[start..self.i].to_owned());
                    // A non-ASCII escaped character: copy the whole character.
                    let ch = self.s[self.i + 1..].chars().next().ok_or(UNTERMINATED)?;
                    o.push(ch);
                    self.i += 1 + ch.len_utf8();
                }
                c if c != b'\t' && (c < 0x20 || c == 0x7f) => {
                    return Err("control character in a quoted string");
                }
                _ => {
                    let ch = self.s[self.i..].chars().next().ok_or(UNTERMINATED)?;
                    if let Some(o) = owned.as_mut() {
                        o.push(ch);
                    }
                    self.i += ch.len_utf8();
                }
            }
        }
    }
}

/// The parameters of one permessage-deflate element, checked (RFC 7692 §7.1).
#[derive(Debug, Default)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: named without a value (allowed in an offer only).
    client_max_window_bits: Option<Option<u8>>,
}

/// A window-bits value: `8` ..= `15` exactly (decimal, no sign, no leading zero).
fn window_bits(v: &str) -> Option<u8> {
    let ok = match v.len() {
        1 => matches!(v.as_bytes()[0], b'8' | b'9'),
        2 => v.as_bytes()[0] == b'1' && matches!(v.as_bytes()[1], b'0'..=b'5'),
        _ => false,
    };
    ok.then(|| v.parse().ok()).flatten()
}

/// Checks the parameters of an element: `in_response` for a server's answer (where
/// `client_max_window_bits` needs a value). `Err` says what is wrong.
fn read_params(
    params: &[(&str, Option<Cow<'_, str>>)],
    in_response: bool,
) -> Result<Params, &'static str> {
    let mut p = Params::default();
    for (name, value) in params {
        let value = value.as_deref();
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("server_no_context_takeover") || is("client_no_context_takeover") {
            if value.is_some() {
                return Err("a *_no_context_takeover parameter takes no value");
            }
            let flag = if is("server_no_context_takeover") {
                &mut p.server_no_context_takeover
            } else {
                &mut p.client_no_context_takeover
            };
            if *flag {
                return Err("duplicated parameter");
            }
            *flag = true;
        } else if is("server_max_window_bits") {
            if p.server_max_window_bits.is_some() {
                return Err("duplicated parameter");
            }
            let v = value.ok_or("server_max_window_bits needs a value")?;
            p.server_max_window_bits = Some(window_bits(v).ok_or("window bits must be 8..=15")?);
        } else if is("client_max_window_bits") {
            if p.client_max_window_bits.is_some() {
                return Err("duplicated parameter");
            }
            p.client_max_window_bits = Some(match value {
                Some(v) => Some(window_bits(v).ok_or("window bits must be 8..=15")?),
                None if in_response => return Err("client_max_window_bits needs a value"),
                None => None,
            });
        } else {
            return Err("unknown parameter");
        }
    }
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// Server side.

/// The server's choice (RFC 7692 §5, §7.1): among the permessage-deflate offers in the request's
/// `Sec-WebSocket-Extensions` header values (in order), the first one it can honour, answered
/// within `config`. Returns the agreement and the response header value, or `None`: compression
/// disabled, no offer, or every offer declined.
///
/// An offer is declined (skipped) for an unknown parameter, a duplicated one, a value on
/// `*_no_context_takeover`, a missing or invalid window-bits value (not exactly `8` ..= `15`).
/// Every valid offer can be honoured: our compressor works with every window down to 8 bits.
/// Other extensions are ignored. A header value that does not follow the grammar declines every
/// offer (the connection goes on uncompressed): its elements cannot be told apart reliably.
///
/// How the answer is formed (see [`DeflateConfig`] for the settings):
/// - `server_no_context_takeover` when offered or when the settings ask for it;
/// - `server_max_window_bits=N`, N the smaller of the offered value and the server's window,
///   when offered or when the server's window is below 15;
/// - `client_max_window_bits=N`, only if offered (bare, or with a cap), N the smaller of the
///   cap and the window the server accepts from the client;
/// - `client_no_context_takeover` when offered (the client says it can; we then free our
///   inflater after each message), when the settings ask for it, or when the server wants a
///   smaller client window than 15 but the client did not offer `client_max_window_bits`
///   (a bare Firefox offer): without a bound on the window, not keeping it between messages is
///   what bounds an idle connection's memory.
///
/// ```
/// use ws6455::{handshake::negotiate_deflate, DeflateConfig};
/// let cfg = DeflateConfig::default();
/// // Chromium's offer.
/// let (a, header) = negotiate_deflate(["permessage-deflate; client_max_window_bits"], &cfg).unwrap();
/// assert_eq!(header, "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12");
/// assert_eq!((a.server_max_window_bits, a.client_max_window_bits), (12, 12));
/// // Firefox's offer: the client's window cannot be bounded, so it may not be kept.
/// let (a, header) = negotiate_deflate(["permessage-deflate"], &cfg).unwrap();
/// assert_eq!(header, "permessage-deflate; client_no_context_takeover; server_max_window_bits=12");
/// assert!(a.client_no_context_takeover);
/// // An offer with an unknown parameter is declined; the next one is taken.
/// let (_, header) = negotiate_deflate(["permessage-deflate; x=1, permessage-deflate; \
///     server_max_window_bits=10; client_max_window_bits"], &cfg).unwrap();
/// assert_eq!(header, "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12");
/// assert!(negotiate_deflate(["x-other"], &cfg).is_none());
/// assert!(negotiate_deflate(["permessage-deflate"], &DeflateConfig::off()).is_none());
/// ```
pub fn negotiate_deflate<'a>(
    header_values: impl IntoIterator<Item = &'a str>,
    config: &DeflateConfig,
) -> Option<(PerMessageDeflate, String)> {
    if !config.enabled {
        return None;
    }
    let mut elements = Vec::new();
    for v in header_values {
        parse_list(v, &mut elements).ok()?;
    }
    elements
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(NAME))
        .find_map(|e| read_params(&e.params, false).ok())
        .map(|offer| answer(&offer, config))
}

fn answer(offer: &Params, config: &DeflateConfig) -> (PerMessageDeflate, String) {
    let own_server = config.server_window_bits_as_server();
    let own_client = config.client_window_bits_as_server();
    let server_bits = offer
        .server_max_window_bits
        .map_or(own_server, |n| n.min(own_server));
    let client_bits = match offer.client_max_window_bits {
        Some(cap) => own_client.min(cap.unwrap_or(15)),
        None => 15,
    };
    let agreement = PerMessageDeflate {
        server_no_context_takeover: offer.server_no_context_takeover
            || config.server_no_context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover
            || config.client_no_context_takeover
            || (offer.client_max_window_bits.is_none() && own_client < 15),
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    };
    let mut header = String::from(NAME);
    if agreement.server_no_context_takeover {
        header.push_str("; server_no_context_takeover");
    }
    if agreement.client_no_context_takeover {
        header.push_str("; client_no_context_takeover");
    }
    if offer.server_max_window_bits.is_some() || server_bits < 15 {
        header.push_str(&format!("; server_max_window_bits={server_bits}"));
    }
    if offer.client_max_window_bits.is_some() {
        header.push_str(&format!("; client_max_window_bits={client_bits}"));
    }
    (agreement, header)
}

// ---------------------------------------------------------------------------------------------
// Client side.

/// The client's offer for `config`: the `Sec-WebSocket-Extensions` value, or `None` when
/// compression is disabled. With the default settings it is exactly
/// `permessage-deflate; client_max_window_bits` (what Chromium sends): "you may bound my
/// window", and nothing asked of the server.
///
/// ```
/// use ws6455::{handshake::deflate_offer, DeflateConfig};
/// assert_eq!(deflate_offer(&DeflateConfig::default()).as_deref(), Some("permessage-deflate; client_max_window_bits"));
/// let cfg = DeflateConfig::default().server_max_window_bits(10).server_no_context_takeover(true);
/// assert_eq!(deflate_offer(&cfg).as_deref(),
///     Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits"));
/// assert_eq!(deflate_offer(&DeflateConfig::off()), None);
/// ```
pub fn deflate_offer(config: &DeflateConfig) -> Option<String> {
    if !config.enabled {
        return None;
    }
    let mut offer = String::from(NAME);
    if config.server_no_context_takeover {
        offer.push_str("; server_no_context_takeover");
    }
    if config.client_no_context_takeover {
        offer.push_str("; client_no_context_takeover");
    }
    if let Some(n) = config.server_max_window_bits {
        offer.push_str(&format!("; server_max_window_bits={}", n.clamp(8, 15)));
    }
    match config.client_max_window_bits {
        None => offer.push_str("; client_max_window_bits"),
        Some(n) => offer.push_str(&format!("; client_max_window_bits={}", n.clamp(8, 15))),
    }
    Some(offer)
}

/// The client's checks (RFC 7692 §5, §7.1) on the `Sec-WebSocket-Extensions` values of a 101
/// answering our offer for `config` (see [`deflate_offer`]). `Ok(None)`: the server declined
/// (no extension); `Ok(Some(_))`: the agreement to apply. Anything we did not ask for or cannot
/// honour fails the handshake (RFC 6455 §4.1: the client must then fail the connection):
/// an extension other than permessage-deflate, or one at all when we offered none
/// ([`HandshakeError::UnexpectedExtension`]); a malformed header, more than one
/// permessage-deflate, an unknown or duplicated parameter, an invalid value, a
/// `client_max_window_bits` without a value or above the one we offered, a missing or larger
/// `server_max_window_bits` than we asked for, a `server_no_context_takeover` we asked for and
/// that is missing ([`HandshakeError::InvalidExtension`]).
///
/// `client_no_context_takeover` in our settings holds even if the server did not answer it:
/// a sender may always drop its history.
///
/// ```
/// use ws6455::{handshake::{accept_deflate_response, HandshakeError}, DeflateConfig};
/// let cfg = DeflateConfig::default();
/// let a = accept_deflate_response(["permessage-deflate; server_max_window_bits=12; \
///     client_max_window_bits=12"], &cfg).unwrap().unwrap();
/// assert_eq!((a.server_max_window_bits, a.client_max_window_bits), (12, 12));
/// assert_eq!(accept_deflate_response([], &cfg), Ok(None));
/// assert!(matches!(accept_deflate_response(["permessage-deflate; x=1"], &cfg),
///     Err(HandshakeError::InvalidExtension { .. })));
/// assert!(matches!(accept_deflate_response(["permessage-deflate"], &DeflateConfig::off()),
///     Err(HandshakeError::UnexpectedExtension(_))));
/// ```
pub fn accept_deflate_response<'a>(
    header_values: impl IntoIterator<Item = &'a str>,
    config: &DeflateConfig,
) -> Result<Option<PerMessageDeflate>, HandshakeError> {
    let values: Vec<&str> = header_values.into_iter().collect();
    let whole = || values.join(", ");
    let invalid = |reason: &'static str| HandshakeError::InvalidExtension {
        value: whole(),
        reason,
    };
    let mut elements = Vec::new();
    for v in &values {
        parse_list(v, &mut elements).map_err(invalid)?;
    }
    let Some(first) = elements.first() else {
        return Ok(None);
    };
    if !config.enabled || elements.iter().any(|e| !e.name.eq_ignore_ascii_case(NAME)) {
        return Err(HandshakeError::UnexpectedExtension(whole()));
    }
    if elements.len() > 1 {
        return Err(invalid("more than one permessage-deflate in the response"));
    }
    let p = read_params(&first.params, true).map_err(invalid)?;
    if config.server_no_context_takeover && !p.server_no_context_takeover {
        return Err(invalid(
            "server_no_context_takeover was offered and not accepted",
        ));
    }
    if let Some(asked) = config.server_max_window_bits {
        match p.server_max_window_bits {
            None => {
                return Err(invalid(
                    "server_max_window_bits was offered and not answered",
                ))
            }
            Some(n) if n > asked.clamp(8, 15) => {
                return Err(invalid(
                    "server_max_window_bits is larger than the one offered",
                ))
            }
            Some(_) => {}
        }
    }
    let own_client = config.client_max_window_bits.map_or(15, |n| n.clamp(8, 15));
    let client_bits = match p.client_max_window_bits.flatten() {
        Some(n) if n > own_client => {
            return Err(invalid(
                "client_max_window_bits is larger than the one offered",
            ))
        }
        Some(n) => n,
        None => own_client,
    };
    Ok(Some(PerMessageDeflate {
        server_no_context_takeover: p.server_no_context_takeover,
        client_no_context_takeover: p.client_no_context_takeover
            || config.client_no_context_takeover,
        server_max_window_bits: p.server_max_window_bits.unwrap_or(15),
        client_max_window_bits: client_bits,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Owned = (String, Vec<(String, Option<String>)>);

    fn parse(v: &str) -> Result<Vec<Owned>, &'static str> {
        let mut out = Vec::new();
        parse_list(v, &mut out)?;
        Ok(out
            .into_iter()
            .map(|e| {
                let params = e
                    .params
                    .into_iter()
                    .map(|(n, v)| (n.to_owned(), v.map(Cow::into_owned)))
                    .collect();
                (e.name.to_owned(), params)
            })
            .collect())
    }

    #[test]
    fn grammar() {
        let got = parse(" a ; b = 1 ;c=\"x\\\"y\" , ,d;e\t").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "a");
        assert_eq!(
            got[0].1,
            vec![
                ("b".to_owned(), Some("1".to_owned())),
                ("c".to_owned(), Some("x\"y".to_owned()))
            ]
        );
        assert_eq!(got[1], ("d".to_owned(), vec![("e".to_owned(), None)]));
        assert!(parse("").unwrap().is_empty());
        for bad in [
            "a;",
            "a;=1",
            "a;b=",
            "a b",
            "a;b=\"x",
            "a;b=\"x\\",
            "a;b=\"\u{1}\"",
            ";a",
            "a;b=1 2",
            "a;b=\"x\"y",
            "\"a\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse("a;b=\"é\\é\"").unwrap()[0].1[0].1.as_deref(),
            Some("éé")
        );
    }

    /// Random header values built from the grammar's own pieces never panic, and whatever the
    /// server answers is an answer its own client accepts.
    #[test]
    fn random_values_never_panic_and_answers_are_accepted() {
        const PIECES: &[&str] = &[
            "permessage-deflate",
            "PerMessage-Deflate",
            "x-foo",
            ";",
            ",",
            " ",
            "\t",
            "=",
            "\"",
            "\\",
            "server_no_context_takeover",
            "client_no_context_takeover",
            "server_max_window_bits",
            "client_max_window_bits",
            "8",
            "9",
            "10",
            "15",
            "16",
            "08",
            "é",
            "\u{1}",
            "a",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let configs = [
            DeflateConfig::default(),
            DeflateConfig::default()
                .server_max_window_bits(9)
                .client_max_window_bits(10)
                .server_no_context_takeover(true),
        ];
        for _ in 0..20_000 {
            let n = (next() % 12) as usize;
            let v: String = (0..n)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            for cfg in &configs {
                let _ = accept_deflate_response([v.as_str()], cfg);
                if let Some((agreement, answer)) = negotiate_deflate([v.as_str()], cfg) {
                    let seen =
                        accept_deflate_response([answer.as_str()], &DeflateConfig::default());
                    let seen = seen.unwrap_or_else(|e| panic!("{v:?} -> {answer:?}: {e}"));
                    assert_eq!(
                        seen.map(|s| s.server_max_window_bits),
                        Some(agreement.server_max_window_bits),
                        "{v:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn window_bits_values() {
        for (v, want) in [
            ("8", Some(8)),
            ("9", Some(9)),
            ("10", Some(10)),
            ("15", Some(15)),
        ] {
            assert_eq!(window_bits(v), want);
        }
        for v in ["7", "16", "08", "010", "+9", "-9", "", "1", "0", "9a", "٩"] {
            assert_eq!(window_bits(v), None, "{v:?}");
        }
    }
}
