//! The crate's error type.

use std::{fmt, io};

use crate::message::CloseCode;

/// A shorthand for `Result<T, ws6455::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
///
/// ```
/// use ws6455::{Error, ProtocolError, CloseCode};
/// let e = Error::Protocol(ProtocolError::ReservedOpcode(3));
/// assert_eq!(e.close_code(), Some(CloseCode::Protocol));
/// assert!(e.to_string().contains("reserved opcode"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    Io(io::Error),
    /// A read or the idle timer ran out (`TimedOut`/`WouldBlock` from a socket with a timeout).
    /// No bytes were lost: the next read resumes where this one stopped.
    Timeout,
    /// The peer broke RFC 6455; the connection is failed with [`ProtocolError::close_code`].
    Protocol(ProtocolError),
    /// A malformed HTTP head.
    Http(crate::http::HttpError),
    /// The opening handshake failed (a check on either side, or the server refused).
    Handshake(crate::handshake::HandshakeError),
    /// A `ws://` URL that cannot be used.
    Url(String),
    /// The close handshake has completed; the connection is over.
    ConnectionClosed,
    /// We already sent a close frame; no more data may be sent.
    AlreadyClosed,
    /// The outgoing buffer is at its configured bound ([`crate::Config::max_write_buffer`]);
    /// flush (or wait for the peer to read) before sending more.
    WriteBufferFull,
    /// The application asked to send a ping, pong or close whose payload is over 125 bytes
    /// (RFC 6455 §5.5). Holds the payload length. Nothing was queued.
    ControlPayloadTooLong(usize),
    /// The application asked to send a close code that may not appear on the wire
    /// (1005, 1006, 1015, or outside 1000-4999; see [`CloseCode::is_allowed_on_wire`]).
    /// Nothing was queued.
    InvalidCloseCode(u16),
    /// Frame-by-frame sending was used out of order (see
    /// [`crate::protocol::Sender::write_frame_start`]): a frame started while another is open, more
    /// payload than the frame announced, a continuation with no message open, a new message
    /// (or a whole-message send) while a fragmented one is open. Nothing was queued.
    FrameSequence(&'static str),
    /// Keepalive: the peer sent nothing for [`crate::Config::ping_timeout`] after our ping;
    /// the connection was closed with 1001.
    PingTimeout,
    /// Whole-message reads ([`crate::protocol::Receiver::next_message`],
    /// [`crate::socket::WebSocket::read`]) and chunk reads (`next_chunk`, `read_chunk`) were
    /// mixed within one message: a message begun by one kind must be finished by the same
    /// kind (between messages either may be used). Nothing was consumed; the connection is
    /// unharmed, and the read of the right kind goes on where it stopped.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Error, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.receive(&[0x01, 0x01, b'a']); // first fragment of a text message, read whole
    /// assert_eq!(rx.next_message().unwrap(), None);
    /// let err = rx.next_chunk(&mut [0u8; 8]).unwrap_err();
    /// assert!(matches!(err, Error::ReadMode(_)));
    /// assert_eq!(err.close_code(), None);
    /// ```
    ReadMode(&'static str),
}

impl Error {
    /// The close code this error calls for, when it is a protocol error.
    ///
    /// ```
    /// use ws6455::{Error, ProtocolError, CloseCode};
    /// assert_eq!(Error::Protocol(ProtocolError::InvalidUtf8).close_code(), Some(CloseCode::Invalid));
    /// assert_eq!(Error::Timeout.close_code(), None);
    /// ```
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::Protocol(p) => Some(p.close_code()),
            _ => None,
        }
    }

    /// True for [`Error::Timeout`].
    ///
    /// ```
    /// assert!(ws6455::Error::Timeout.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Timeout => f.write_str("timed out"),
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Http(e) => write!(f, "bad HTTP: {e}"),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::Url(e) => write!(f, "bad URL: {e}"),
            Error::ConnectionClosed => f.write_str("connection closed"),
            Error::AlreadyClosed => f.write_str("close frame already sent; cannot send more"),
            Error::WriteBufferFull => f.write_str("write buffer full"),
            Error::ControlPayloadTooLong(n) => {
                write!(f, "control frame payload of {n} bytes (max 125)")
            }
            Error::InvalidCloseCode(c) => {
                write!(f, "close code {c} may not be sent on the wire")
            }
            Error::FrameSequence(what) => write!(f, "frame-by-frame send out of order: {what}"),
            Error::PingTimeout => f.write_str("the peer did not answer a keepalive ping in time"),
            Error::ReadMode(what) => write!(f, "read mode switched mid-message: {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Http(e) => Some(e),
            Error::Handshake(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::Timeout,
            _ => Error::Io(e),
        }
    }
}

/// So that `?` works in functions returning `std::io::Result`: [`Error::Io`] gives its error
/// back, anything else becomes an `io::Error` of a fitting kind carrying the error.
///
/// ```
/// fn run() -> std::io::Result<()> {
///     let server = ws6455::server::Server::bind("127.0.0.1:0")?;
///     assert!(server.local_addr()?.port() > 0);
///     Ok(())
/// }
/// run().unwrap();
/// let e: std::io::Error = ws6455::Error::Timeout.into();
/// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
/// ```
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match e {
            Error::Io(inner) => return inner,
            Error::Timeout => io::ErrorKind::TimedOut,
            Error::ConnectionClosed | Error::AlreadyClosed => io::ErrorKind::NotConnected,
            Error::Url(_) => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        Error::Protocol(e)
    }
}

impl From<crate::http::HttpError> for Error {
    fn from(e: crate::http::HttpError) -> Error {
        Error::Http(e)
    }
}

impl From<crate::handshake::HandshakeError> for Error {
    fn from(e: crate::handshake::HandshakeError) -> Error {
        Error::Handshake(e)
    }
}

/// A violation of RFC 6455 by the peer. Each maps to the close code the connection is
/// failed with ([`ProtocolError::close_code`]).
///
/// ```
/// use ws6455::{ProtocolError, CloseCode};
/// assert_eq!(ProtocolError::MessageTooLarge { limit: 10 }.close_code(), CloseCode::Size);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV1-3 set without a negotiated extension (§5.2), or RSV2/RSV3 with permessage-deflate
    /// (which only defines RSV1). Holds the three bits.
    ReservedBits(u8),
    /// RSV1 ("compressed") on a control frame, with permessage-deflate negotiated (RFC 7692
    /// §6.1: only data messages are compressed).
    CompressedControlFrame,
    /// RSV1 ("compressed") on a continuation frame, with permessage-deflate negotiated (RFC
    /// 7692 §6.1: it belongs on the first frame of a message only).
    CompressedContinuation,
    /// A compressed message whose payload is not a valid DEFLATE stream for the negotiated
    /// parameters (RFC 7692 §6.2; closed with 1007). Holds what was wrong.
    InvalidCompressedData(&'static str),
    /// Opcode 0x3-0x7 or 0xB-0xF (§5.2).
    ReservedOpcode(u8),
    /// A control frame with more than 125 bytes of payload (§5.5).
    ControlFrameTooLong(u64),
    /// A control frame with FIN=0 (§5.5).
    FragmentedControlFrame,
    /// A 16- or 64-bit length that should have used a shorter form (§5.2).
    NonMinimalLength,
    /// A 64-bit length with the most significant bit set (§5.2).
    LengthOverflow,
    /// A continuation frame with no message in progress (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress (§5.4).
    ExpectedContinuation,
    /// A server received an unmasked frame (§5.1).
    UnmaskedFrame,
    /// A client received a masked frame (§5.1).
    MaskedFrame,
    /// A text message or close reason that is not UTF-8 (§8.1).
    InvalidUtf8,
    /// A close frame with a 1-byte payload (§5.5.1).
    InvalidClosePayload,
    /// A close code that may not appear on the wire (§7.4).
    InvalidCloseCode(u16),
    /// A frame longer than [`crate::Config::max_frame_size`].
    FrameTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// A message longer than [`crate::Config::max_message_size`].
    MessageTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// More fragments in one message than [`crate::Config::max_fragments`].
    TooManyFragments {
        /// The configured limit.
        limit: usize,
    },
    /// The peer sent a frame after its close frame.
    DataAfterClose,
    /// The peer sent pings faster than it read our pongs: answering the next one would take
    /// the unwritten output past [`crate::Config::max_write_buffer`]. Every ping is answered
    /// in order, so rather than skip one the connection is failed with 1008.
    PongBacklog {
        /// The configured write-buffer limit.
        limit: usize,
    },
}

impl ProtocolError {
    /// The close code to fail the connection with.
    ///
    /// ```
    /// use ws6455::{ProtocolError, CloseCode};
    /// assert_eq!(ProtocolError::UnmaskedFrame.close_code(), CloseCode::Protocol);
    /// ```
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCompressedData(_) => {
                CloseCode::Invalid
            }
            ProtocolError::FrameTooLarge { .. }
            | ProtocolError::MessageTooLarge { .. }
            | ProtocolError::TooManyFragments { .. } => CloseCode::Size,
            ProtocolError::PongBacklog { .. } => CloseCode::Policy,
            _ => CloseCode::Protocol,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedBits(b) => {
                write!(f, "reserved bits set ({b:#05b}) without an extension")
            }
            ProtocolError::CompressedControlFrame => f.write_str("compressed control frame"),
            ProtocolError::CompressedContinuation => f.write_str("RSV1 on a continuation frame"),
            ProtocolError::InvalidCompressedData(why) => {
                write!(f, "invalid compressed data: {why}")
            }
            ProtocolError::ReservedOpcode(o) => write!(f, "reserved opcode {o:#x}"),
            ProtocolError::ControlFrameTooLong(n) => {
                write!(f, "control frame payload of {n} bytes (max 125)")
            }
            ProtocolError::FragmentedControlFrame => f.write_str("fragmented control frame"),
            ProtocolError::NonMinimalLength => f.write_str("payload length not in minimal form"),
            ProtocolError::LengthOverflow => {
                f.write_str("64-bit payload length has its top bit set")
            }
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame without a message in progress")
            }
            ProtocolError::ExpectedContinuation => {
                f.write_str("new data frame while a fragmented message is in progress")
            }
            ProtocolError::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            ProtocolError::MaskedFrame => f.write_str("masked frame from a server"),
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8 in text"),
            ProtocolError::InvalidClosePayload => f.write_str("close frame with a 1-byte payload"),
            ProtocolError::InvalidCloseCode(c) => write!(f, "close code {c} not allowed"),
            ProtocolError::FrameTooLarge { limit } => {
                write!(f, "frame larger than the limit of {limit} bytes")
            }
            ProtocolError::MessageTooLarge { limit } => {
                write!(f, "message larger than the limit of {limit} bytes")
            }
            ProtocolError::TooManyFragments { limit } => {
                write!(f, "more than {limit} fragments in one message")
            }
            ProtocolError::DataAfterClose => f.write_str("frame received after close"),
            ProtocolError::PongBacklog { limit } => {
                write!(f, "pings unanswered past the write buffer of {limit} bytes")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}
