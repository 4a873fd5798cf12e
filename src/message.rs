//! Messages, close codes and roles: the vocabulary shared by every layer.

use std::fmt;

/// Which end of the connection we are. It decides masking (RFC 6455 §5.3):
/// clients mask every frame they send, servers never do.
///
/// ```
/// use ws6455::Role;
/// assert_ne!(Role::Client, Role::Server);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection; masks outgoing frames.
    Client,
    /// The end that accepted the connection; never masks.
    Server,
}

/// A complete WebSocket message, or a control frame, as the application sees it.
///
/// ```
/// use ws6455::Message;
/// let m = Message::text("hello");
/// assert!(m.is_text());
/// assert_eq!(m.len(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message: always valid UTF-8.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping (at most 125 bytes of payload).
    Ping(Vec<u8>),
    /// A pong (at most 125 bytes of payload).
    Pong(Vec<u8>),
    /// A close frame, with its code and reason if the peer sent one.
    Close(Option<CloseFrame>),
}

impl Message {
    /// A text message.
    ///
    /// ```
    /// assert_eq!(ws6455::Message::text("hi"), ws6455::Message::Text("hi".into()));
    /// ```
    pub fn text(s: impl Into<String>) -> Message {
        Message::Text(s.into())
    }

    /// A binary message.
    ///
    /// ```
    /// assert_eq!(ws6455::Message::binary([1u8, 2]), ws6455::Message::Binary(vec![1, 2]));
    /// ```
    pub fn binary(b: impl Into<Vec<u8>>) -> Message {
        Message::Binary(b.into())
    }

    /// True for [`Message::Text`].
    ///
    /// ```
    /// assert!(ws6455::Message::text("").is_text());
    /// ```
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// True for [`Message::Binary`].
    ///
    /// ```
    /// assert!(ws6455::Message::binary(vec![]).is_binary());
    /// ```
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// True for ping, pong and close.
    ///
    /// ```
    /// assert!(ws6455::Message::Ping(vec![]).is_control());
    /// ```
    pub fn is_control(&self) -> bool {
        matches!(
            self,
            Message::Ping(_) | Message::Pong(_) | Message::Close(_)
        )
    }

    /// True for [`Message::Close`].
    ///
    /// ```
    /// assert!(ws6455::Message::Close(None).is_close());
    /// ```
    pub fn is_close(&self) -> bool {
        matches!(self, Message::Close(_))
    }

    /// Payload length in bytes (for a close frame: code and reason as on the wire).
    ///
    /// ```
    /// use ws6455::{CloseCode, CloseFrame, Message};
    /// assert_eq!(Message::Close(Some(CloseFrame::new(CloseCode::Normal, "bye"))).len(), 5);
    /// ```
    pub fn len(&self) -> usize {
        match self {
            Message::Text(s) => s.len(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
            Message::Close(None) => 0,
            Message::Close(Some(f)) => 2 + f.reason.len(),
        }
    }

    /// True when the payload is empty.
    ///
    /// ```
    /// assert!(ws6455::Message::text("").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload as bytes (empty for a close frame).
    ///
    /// ```
    /// assert_eq!(ws6455::Message::text("ab").as_bytes(), b"ab");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(s) => s.as_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(_) => &[],
        }
    }

    /// The text of a text message.
    ///
    /// ```
    /// assert_eq!(ws6455::Message::text("ab").as_text(), Some("ab"));
    /// assert_eq!(ws6455::Message::binary(vec![]).as_text(), None);
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(s) => Some(s),
            _ => None,
        }
    }

    /// A borrowed view of this message.
    ///
    /// ```
    /// use ws6455::{Message, MessageRef};
    /// assert_eq!(Message::text("hi").as_ref(), MessageRef::Text("hi"));
    /// ```
    pub fn as_ref(&self) -> MessageRef<'_> {
        match self {
            Message::Text(s) => MessageRef::Text(s),
            Message::Binary(b) => MessageRef::Binary(b),
            Message::Ping(b) => MessageRef::Ping(b),
            Message::Pong(b) => MessageRef::Pong(b),
            Message::Close(f) => MessageRef::Close(f.as_ref()),
        }
    }
}

/// A message borrowed from a receiver's buffer, from
/// [`Receiver::next_message_ref`](crate::protocol::Receiver::next_message_ref): the same
/// variants as [`Message`], without an allocation per message. Valid until the receiver is
/// used again; [`MessageRef::to_message`] makes an owned copy.
///
/// ```
/// use ws6455::{Message, MessageRef};
/// let m = MessageRef::Binary(&[1, 2, 3]);
/// assert_eq!(m.len(), 3);
/// assert_eq!(m.to_message(), Message::binary(vec![1, 2, 3]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRef<'a> {
    /// A text message: always valid UTF-8.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
    /// A ping (at most 125 bytes of payload).
    Ping(&'a [u8]),
    /// A pong (at most 125 bytes of payload).
    Pong(&'a [u8]),
    /// A close frame, with its code and reason if the peer sent one.
    Close(Option<&'a CloseFrame>),
}

impl MessageRef<'_> {
    /// An owned copy.
    ///
    /// ```
    /// use ws6455::{Message, MessageRef};
    /// assert_eq!(MessageRef::Text("hi").to_message(), Message::text("hi"));
    /// ```
    pub fn to_message(&self) -> Message {
        match *self {
            MessageRef::Text(s) => Message::Text(s.to_owned()),
            MessageRef::Binary(b) => Message::Binary(b.to_vec()),
            MessageRef::Ping(b) => Message::Ping(b.to_vec()),
            MessageRef::Pong(b) => Message::Pong(b.to_vec()),
            MessageRef::Close(f) => Message::Close(f.cloned()),
        }
    }

    /// Payload length in bytes (for a close frame: code and reason as on the wire).
    ///
    /// ```
    /// assert_eq!(ws6455::MessageRef::Text("héllo").len(), 6);
    /// ```
    pub fn len(&self) -> usize {
        match *self {
            MessageRef::Text(s) => s.len(),
            MessageRef::Binary(b) | MessageRef::Ping(b) | MessageRef::Pong(b) => b.len(),
            MessageRef::Close(None) => 0,
            MessageRef::Close(Some(f)) => 2 + f.reason.len(),
        }
    }

    /// True when the payload is empty.
    ///
    /// ```
    /// assert!(ws6455::MessageRef::Binary(&[]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<String> for Message {
    fn from(s: String) -> Message {
        Message::Text(s)
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Message {
        Message::Text(s.to_owned())
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Message {
        Message::Binary(b)
    }
}

impl From<&[u8]> for Message {
    fn from(b: &[u8]) -> Message {
        Message::Binary(b.to_vec())
    }
}

/// The code and reason of a close frame (RFC 6455 §5.5.1, §7.4).
///
/// ```
/// use ws6455::{CloseCode, CloseFrame};
/// let f = CloseFrame::new(CloseCode::Away, "shutting down");
/// assert_eq!(u16::from(f.code), 1001);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// A human-readable reason (UTF-8, at most 123 bytes on the wire).
    pub reason: String,
}

impl CloseFrame {
    /// A close frame with a code and a reason.
    ///
    /// ```
    /// let f = ws6455::CloseFrame::new(ws6455::CloseCode::Normal, "bye");
    /// assert_eq!(f.reason, "bye");
    /// ```
    pub fn new(code: CloseCode, reason: impl Into<String>) -> CloseFrame {
        CloseFrame {
            code,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for CloseFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{} ({})", self.code, self.reason)
        }
    }
}

/// A close status code (RFC 6455 §7.4). Named variants for the registered codes,
/// [`CloseCode::Other`] for everything else.
///
/// ```
/// use ws6455::CloseCode;
/// assert_eq!(CloseCode::from(1002), CloseCode::Protocol);
/// assert_eq!(u16::from(CloseCode::Other(4000)), 4000);
/// assert!(CloseCode::from(3000).is_allowed_on_wire());
/// assert!(!CloseCode::from(1005).is_allowed_on_wire());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: normal closure.
    Normal,
    /// 1001: going away (server shutdown, page navigated away).
    Away,
    /// 1002: protocol error.
    Protocol,
    /// 1003: unsupported data type.
    Unsupported,
    /// 1005: no status code was present (never sent on the wire).
    Status,
    /// 1006: closed abnormally, without a close frame (never sent on the wire).
    Abnormal,
    /// 1007: invalid payload data (e.g. bad UTF-8 in a text message).
    Invalid,
    /// 1008: policy violation.
    Policy,
    /// 1009: message too big.
    Size,
    /// 1010: the client expected an extension the server did not negotiate.
    Extension,
    /// 1011: the server met an unexpected condition.
    Error,
    /// 1012: the service is restarting.
    Restart,
    /// 1013: try again later.
    Again,
    /// 1014: bad gateway.
    BadGateway,
    /// 1015: TLS handshake failure (never sent on the wire).
    Tls,
    /// Any other code (application codes 3000-4999, reserved or invalid codes).
    Other(u16),
}

impl CloseCode {
    /// Whether an endpoint may send this code in a close frame, and accept it from a peer:
    /// 1000-1003, 1007-1014 and 3000-4999 (RFC 6455 §7.4.1, IANA registry).
    ///
    /// ```
    /// use ws6455::CloseCode;
    /// assert!(CloseCode::Normal.is_allowed_on_wire());
    /// assert!(!CloseCode::Other(2999).is_allowed_on_wire());
    /// ```
    pub fn is_allowed_on_wire(self) -> bool {
        matches!(u16::from(self), 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        match code {
            1000 => CloseCode::Normal,
            1001 => CloseCode::Away,
            1002 => CloseCode::Protocol,
            1003 => CloseCode::Unsupported,
            1005 => CloseCode::Status,
            1006 => CloseCode::Abnormal,
            1007 => CloseCode::Invalid,
            1008 => CloseCode::Policy,
            1009 => CloseCode::Size,
            1010 => CloseCode::Extension,
            1011 => CloseCode::Error,
            1012 => CloseCode::Restart,
            1013 => CloseCode::Again,
            1014 => CloseCode::BadGateway,
            1015 => CloseCode::Tls,
            other => CloseCode::Other(other),
        }
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        match code {
            CloseCode::Normal => 1000,
            CloseCode::Away => 1001,
            CloseCode::Protocol => 1002,
            CloseCode::Unsupported => 1003,
            CloseCode::Status => 1005,
            CloseCode::Abnormal => 1006,
            CloseCode::Invalid => 1007,
            CloseCode::Policy => 1008,
            CloseCode::Size => 1009,
            CloseCode::Extension => 1010,
            CloseCode::Error => 1011,
            CloseCode::Restart => 1012,
            CloseCode::Again => 1013,
            CloseCode::BadGateway => 1014,
            CloseCode::Tls => 1015,
            CloseCode::Other(c) => c,
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", u16::from(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_code_round_trips_every_u16() {
        for c in 0..=u16::MAX {
            assert_eq!(u16::from(CloseCode::from(c)), c);
        }
    }

    #[test]
    fn close_codes_allowed_on_wire_match_rfc_table() {
        let allowed: Vec<u16> = (0..=u16::MAX)
            .filter(|&c| CloseCode::from(c).is_allowed_on_wire())
            .collect();
        let expected: Vec<u16> = (1000..=1003)
            .chain(1007..=1014)
            .chain(3000..=4999)
            .collect();
        assert_eq!(allowed, expected);
    }
}
