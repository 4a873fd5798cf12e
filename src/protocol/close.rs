//! Close frame payloads (RFC 6455 §5.5.1, §7.4): decoding and encoding the code and reason.

use crate::error::{Error, ProtocolError, Result};
use crate::frame::MAX_CONTROL_PAYLOAD;
use crate::message::{CloseCode, CloseFrame};

/// The most a close reason may take on the wire: 125 bytes less the 2-byte code.
pub const MAX_CLOSE_REASON: usize = MAX_CONTROL_PAYLOAD - 2;

/// Decodes a close frame's payload (§5.5.1, §7.4).
///
/// ```
/// use ws6455::protocol::parse_close;
/// use ws6455::{CloseCode, CloseFrame, ProtocolError};
/// assert_eq!(parse_close(&[]), Ok(None));
/// assert_eq!(parse_close(&[0x03, 0xE8, b'o', b'k']), Ok(Some(CloseFrame::new(CloseCode::Normal, "ok"))));
/// assert_eq!(parse_close(&[0x03]), Err(ProtocolError::InvalidClosePayload));
/// assert_eq!(parse_close(&[0x03, 0xED]), Err(ProtocolError::InvalidCloseCode(1005)));
/// assert_eq!(parse_close(&[0x03, 0xE8, 0xFF]), Err(ProtocolError::InvalidUtf8));
/// ```
pub fn parse_close(payload: &[u8]) -> Result<Option<CloseFrame>, ProtocolError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ProtocolError::InvalidClosePayload),
        [hi, lo, reason @ ..] => {
            let raw = u16::from_be_bytes([*hi, *lo]);
            let code = CloseCode::from(raw);
            if !code.is_allowed_on_wire() {
                return Err(ProtocolError::InvalidCloseCode(raw));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Some(CloseFrame::new(code, reason)))
        }
    }
}

/// Encodes a close frame's payload into `out` and returns its length: nothing for `None`, else
/// the code and the reason cut to [`MAX_CLOSE_REASON`] bytes at a character boundary.
/// A code that may not be sent ([`CloseCode::is_allowed_on_wire`]) is refused.
///
/// ```
/// use ws6455::protocol::encode_close;
/// use ws6455::{CloseCode, CloseFrame, Error};
/// let mut out = [0u8; 125];
/// let n = encode_close(Some(&CloseFrame::new(CloseCode::Away, "bye")), &mut out).unwrap();
/// assert_eq!(&out[..n], &[0x03, 0xE9, b'b', b'y', b'e']);
/// let long = CloseFrame::new(CloseCode::Normal, "é".repeat(100)); // 200 bytes
/// assert_eq!(encode_close(Some(&long), &mut out).unwrap(), 2 + 122);
/// assert!(matches!(
///     encode_close(Some(&CloseFrame::new(CloseCode::Abnormal, "")), &mut out),
///     Err(Error::InvalidCloseCode(1006))
/// ));
/// ```
pub fn encode_close(
    frame: Option<&CloseFrame>,
    out: &mut [u8; MAX_CONTROL_PAYLOAD],
) -> Result<usize> {
    let Some(frame) = frame else {
        return Ok(0);
    };
    if !frame.code.is_allowed_on_wire() {
        return Err(Error::InvalidCloseCode(frame.code.into()));
    }
    out[..2].copy_from_slice(&u16::from(frame.code).to_be_bytes());
    let reason = truncate_at_char_boundary(&frame.reason, MAX_CLOSE_REASON);
    out[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
    Ok(2 + reason.len())
}

fn truncate_at_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
