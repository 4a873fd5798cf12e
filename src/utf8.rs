//! Incremental, fail-fast UTF-8 validation (RFC 6455 §8.1).
//!
//! A text message may arrive in many pieces (fragments, or one frame read in chunks) and a code
//! point may be split between two pieces. [`Utf8Validator`] accepts the pieces one by one and
//! fails as soon as the bytes seen so far cannot be the start of valid UTF-8: an overlong form,
//! a surrogate (U+D800..U+DFFF) or a code point above U+10FFFF is rejected at its first
//! impossible byte, not at the end of the message.

use std::fmt;

/// The bytes seen so far are not, and cannot become, valid UTF-8.
///
/// ```
/// let mut v = ws6455::utf8::Utf8Validator::new();
/// let e = v.feed(b"\xff").unwrap_err();
/// assert_eq!(e.to_string(), "invalid UTF-8");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl std::error::Error for InvalidUtf8 {}

/// An incremental UTF-8 validator. It keeps at most three bytes of an unfinished code point
/// between calls, so it costs nothing to hold one per connection.
///
/// ```
/// use ws6455::utf8::Utf8Validator;
/// let euro = "€".as_bytes(); // e2 82 ac
/// let mut v = Utf8Validator::new();
/// v.feed(&euro[..1]).unwrap();
/// v.feed(&euro[1..2]).unwrap();
/// assert!(!v.is_complete());
/// v.feed(&euro[2..]).unwrap();
/// assert!(v.finish().is_ok());
///
/// // A surrogate is refused at its second byte, long before the message ends.
/// let mut v = Utf8Validator::new();
/// assert!(v.feed(b"ok \xed").is_ok());
/// assert!(v.feed(b"\xa0").is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

/// Length of the sequence that a valid leading byte starts.
fn sequence_width(lead: u8) -> usize {
    match lead {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

impl Utf8Validator {
    /// A validator at the start of a message.
    ///
    /// ```
    /// assert!(ws6455::utf8::Utf8Validator::new().is_complete());
    /// ```
    pub fn new() -> Utf8Validator {
        Utf8Validator::default()
    }

    /// Validates the next piece. `Err` means the bytes so far can never be valid UTF-8; `Ok` means
    /// they are valid UTF-8 or a valid prefix of it.
    ///
    /// ```
    /// let mut v = ws6455::utf8::Utf8Validator::new();
    /// assert!(v.feed(b"\xf0\x9f").is_ok());   // first half of an emoji
    /// assert!(v.feed(b"\x98\x80").is_ok());   // second half
    /// assert!(v.feed(b"\xc0\xaf").is_err());  // overlong '/'
    /// ```
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let have = self.partial_len as usize;
            let need = sequence_width(self.partial[0]) - have;
            let take = need.min(data.len());
            let mut tmp = self.partial;
            tmp[have..have + take].copy_from_slice(&data[..take]);
            match std::str::from_utf8(&tmp[..have + take]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => {
                    self.partial = tmp;
                    self.partial_len = (have + take) as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
            data = &data[take..];
        }
        match std::str::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                Some(_) => Err(InvalidUtf8),
                None => {
                    let tail = &data[e.valid_up_to()..];
                    self.partial[..tail.len()].copy_from_slice(tail);
                    self.partial_len = tail.len() as u8;
                    Ok(())
                }
            },
        }
    }

    /// True when no code point is left unfinished.
    ///
    /// ```
    /// let mut v = ws6455::utf8::Utf8Validator::new();
    /// v.feed(b"\xc3").unwrap();
    /// assert!(!v.is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.partial_len == 0
    }

    /// Ends the message: `Err` if it stopped in the middle of a code point. The validator is reset
    /// either way, ready for the next message.
    ///
    /// ```
    /// let mut v = ws6455::utf8::Utf8Validator::new();
    /// v.feed(b"caf\xc3").unwrap();
    /// assert!(v.finish().is_err());
    /// v.feed(b"caf\xc3\xa9").unwrap();
    /// assert!(v.finish().is_ok());
    /// ```
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.is_complete();
        self.reset();
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }

    /// Forgets any unfinished code point.
    ///
    /// ```
    /// let mut v = ws6455::utf8::Utf8Validator::new();
    /// v.feed(b"\xe2").unwrap();
    /// v.reset();
    /// assert!(v.is_complete());
    /// ```
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `data` split at every pair of points and checks the verdict matches std's on the
    /// whole input, and that an invalid input fails no later than std's error position.
    fn check_all_splits(data: &[u8]) {
        let whole = std::str::from_utf8(data);
        for a in 0..=data.len() {
            for b in a..=data.len() {
                let mut v = Utf8Validator::new();
                let mut failed_at = None;
                for (start, piece) in [(0, &data[..a]), (a, &data[a..b]), (b, &data[b..])] {
                    if v.feed(piece).is_err() {
                        failed_at = Some(start + piece.len());
                        break;
                    }
                }
                let ok = failed_at.is_none() && v.finish().is_ok();
                assert_eq!(ok, whole.is_ok(), "{data:x?} split {a} {b}");
                if let (Err(e), Some(at)) = (whole, failed_at) {
                    if let Some(len) = e.error_len() {
                        // Fail fast: the piece that completed the bad bytes is the one refused.
                        assert!(at > e.valid_up_to(), "{data:x?} split {a} {b}");
                        let _ = len;
                    }
                }
            }
        }
    }

    #[test]
    fn boundary_code_points_are_valid_at_every_split() {
        for cp in [
            0x0, 0x7f, 0x80, 0x7ff, 0x800, 0xfff, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff,
        ] {
            let c = char::from_u32(cp).unwrap();
            let s = format!("a{c}b{c}");
            check_all_splits(s.as_bytes());
        }
    }

    #[test]
    fn invalid_sequences_are_rejected_at_every_split() {
        let cases: &[&[u8]] = &[
            b"\xc0\x80",         // overlong NUL
            b"\xc1\xbf",         // overlong
            b"\xe0\x80\xaf",     // overlong 3-byte
            b"\xf0\x80\x80\xaf", // overlong 4-byte
            b"\xed\xa0\x80",     // surrogate D800
            b"\xed\xbf\xbf",     // surrogate DFFF
            b"\xf4\x90\x80\x80", // > U+10FFFF
            b"\xf5\x80\x80\x80", // invalid lead
            b"\xff",
            b"\x80", // lone continuation
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", // §6.4.x style
            b"\xe2\x82", // truncated
            b"\xf0\x9f\x98", // truncated emoji
        ];
        for c in cases {
            check_all_splits(c);
        }
    }

    #[test]
    fn surrogate_fails_at_its_second_byte() {
        let mut v = Utf8Validator::new();
        v.feed(b"\xed").unwrap();
        assert_eq!(v.feed(b"\xa0"), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        v.feed(b"\xf4").unwrap();
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8));
    }

    #[test]
    fn matches_std_on_every_two_byte_sequence() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let data = [a, b];
                let mut v = Utf8Validator::new();
                let ok =
                    v.feed(&data[..1]).is_ok() && v.feed(&data[1..]).is_ok() && v.finish().is_ok();
                assert_eq!(ok, std::str::from_utf8(&data).is_ok(), "{data:x?}");
            }
        }
    }
}
