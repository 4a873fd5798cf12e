//! The sans-IO WebSocket state machine: bytes in, messages out; messages in, bytes out.
//!
//! Nothing here touches a socket. A [`Receiver`] takes the bytes read from the peer
//! ([`Receiver::receive`], or [`Receiver::read_buf`] + [`Receiver::commit`] to read straight into
//! its buffer) and hands back whole messages and control frames ([`Receiver::next_message`]),
//! enforcing every framing rule of RFC 6455 and the limits of [`Config`]. A [`Sender`] turns
//! messages into frames in an output buffer ([`Sender::pending`], [`Sender::consume`]), masking
//! them when it is a client. [`Sender::respond`] applies the automatic reactions to what a
//! receiver produced (pong for ping, close echo, close on protocol error), so a [`Protocol`]
//! (both halves wired together) and a connection split across two threads behave the same.
//!
//! A client and a server, talking through plain byte buffers:
//!
//! ```
//! use ws6455::protocol::{Protocol, State};
//! use ws6455::{CloseCode, CloseFrame, Config, Error, Message, Role};
//!
//! let mut client = Protocol::new(Role::Client, Config::default());
//! let mut server = Protocol::new(Role::Server, Config::default());
//!
//! /// Moves everything `from` has queued into `to`'s input, as a socket would.
//! fn pump(from: &mut Protocol, to: &mut Protocol) {
//!     let n = from.pending().len();
//!     to.receive(from.pending());
//!     from.consume(n);
//! }
//!
//! // A text message (the client masks it; the server unmasks it).
//! client.send_text("hello").unwrap();
//! pump(&mut client, &mut server);
//! assert_eq!(server.next_message().unwrap(), Some(Message::text("hello")));
//! assert_eq!(server.next_message().unwrap(), None); // nothing more yet
//!
//! // A ping is answered by the server on its own; the client sees the pong.
//! client.ping(b"still there?").unwrap();
//! pump(&mut client, &mut server);
//! assert_eq!(server.next_message().unwrap(), Some(Message::Ping(b"still there?".to_vec())));
//! pump(&mut server, &mut client);
//! assert_eq!(client.next_message().unwrap(), Some(Message::Pong(b"still there?".to_vec())));
//!
//! // The close handshake, started by the client.
//! client.close(Some(CloseFrame::new(CloseCode::Normal, "done"))).unwrap();
//! assert_eq!(client.state(), State::Closing);
//! assert!(matches!(client.send_text("too late"), Err(Error::AlreadyClosed)));
//! pump(&mut client, &mut server);
//! let close = Message::Close(Some(CloseFrame::new(CloseCode::Normal, "done")));
//! assert_eq!(server.next_message().unwrap(), Some(close));
//! assert_eq!(server.state(), State::CloseReceived); // the echo is queued
//! assert!(server.is_done()); // flush, then the server drops TCP first (§7.1.1)
//! pump(&mut server, &mut client);
//! assert_eq!(server.state(), State::Closed);
//! let echo = Message::Close(Some(CloseFrame::new(CloseCode::Normal, "done")));
//! assert_eq!(client.next_message().unwrap(), Some(echo));
//! assert_eq!(client.state(), State::Closed);
//! assert!(matches!(client.next_message(), Err(Error::ConnectionClosed)));
//! ```

mod close;
mod compression;
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod fuzzing;
mod receiver;
mod sender;

pub use close::{encode_close, parse_close, MAX_CLOSE_REASON};
pub use receiver::{Chunk, Piece, Receiver};
pub use sender::Sender;
pub(crate) use sender::{CloseCodes, Reaction};

use crate::config::Config;
use crate::error::Result;
use crate::message::{CloseFrame, Message, MessageRef, Role};

/// Where a connection is in its life (RFC 6455 §7).
///
/// ```
/// use ws6455::{protocol::{Protocol, State}, Config, Role};
/// let mut p = Protocol::new(Role::Server, Config::default());
/// assert_eq!(p.state(), State::Open);
/// p.close(None).unwrap();
/// assert_eq!(p.state(), State::Closing);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's.
    Closing,
    /// The peer sent a close frame; our echo is queued but not yet written.
    CloseReceived,
    /// Both close frames have been exchanged (and our echo written, if we echoed).
    Closed,
    /// The peer broke the protocol; our close frame with the error's code is queued.
    Failed,
}

/// Where a connection whose halves are `rx` and `tx` is in its life: the one place the
/// connection state is derived (for [`Protocol::state`] and the blocking socket's).
pub(crate) fn state_of(rx: &Receiver, tx: &Sender) -> State {
    if rx.is_failed() || tx.failed {
        return State::Failed;
    }
    match (tx.close_sent, rx.close_received()) {
        (false, false) => State::Open,
        (true, false) => State::Closing,
        (false, true) => State::CloseReceived,
        (true, true) => {
            if tx.peer_initiated_close && !tx.pending().is_empty() {
                State::CloseReceived
            } else {
                State::Closed
            }
        }
    }
}

/// A [`Receiver`] and a [`Sender`] wired together: [`Protocol::next_message`] also queues the
/// automatic replies ([`Sender::respond`]).
///
/// See the [module documentation](self) for a client and a server talking to each other.
///
/// ```
/// use ws6455::{protocol::Protocol, Config, Message, Role};
/// let mut server = Protocol::new(Role::Server, Config::default());
/// // RFC 6455 §5.7: a masked "Hello" text message from a client.
/// server.receive(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// assert_eq!(server.next_message().unwrap(), Some(Message::text("Hello")));
/// // An unsolicited pong is surfaced and needs no answer.
/// server.receive(&[0x8A, 0x80, 1, 2, 3, 4]);
/// assert_eq!(server.next_message().unwrap(), Some(Message::Pong(vec![])));
/// assert!(server.pending().is_empty());
/// ```
#[derive(Debug)]
pub struct Protocol {
    receiver: Receiver,
    sender: Sender,
}

impl Protocol {
    /// A connection in the `Open` state.
    ///
    /// ```
    /// use ws6455::{protocol::{Protocol, State}, Config, Role};
    /// assert_eq!(Protocol::new(Role::Client, Config::default()).state(), State::Open);
    /// ```
    pub fn new(role: Role, config: Config) -> Protocol {
        Protocol {
            receiver: Receiver::new(role, &config),
            sender: Sender::new(role, &config),
        }
    }

    /// Joins halves made by [`Protocol::into_parts`] (or built separately).
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let (rx, tx) = Protocol::new(Role::Server, Config::default()).into_parts();
    /// let p = Protocol::from_parts(rx, tx);
    /// assert_eq!(p.role(), Role::Server);
    /// ```
    pub fn from_parts(receiver: Receiver, sender: Sender) -> Protocol {
        Protocol { receiver, sender }
    }

    /// Splits into the incoming and the outgoing half, e.g. to read and write on two threads
    /// (feed each [`Receiver::next_message`] result to [`Sender::respond`]).
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let (mut rx, mut tx) = Protocol::new(Role::Server, Config::default()).into_parts();
    /// rx.receive(&[0x89, 0x80, 1, 2, 3, 4]); // masked empty ping
    /// let got = rx.next_message();
    /// tx.respond(&got);
    /// assert_eq!(tx.pending(), &[0x8A, 0x00]);
    /// ```
    pub fn into_parts(self) -> (Receiver, Sender) {
        (self.receiver, self.sender)
    }

    /// Our role.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert_eq!(Protocol::new(Role::Client, Config::default()).role(), Role::Client);
    /// ```
    pub fn role(&self) -> Role {
        self.receiver.role()
    }

    /// The incoming half.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert_eq!(Protocol::new(Role::Client, Config::default()).receiver().buffered(), 0);
    /// ```
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    /// The incoming half, mutably.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.receiver_mut().receive(&[0x8A]);
    /// assert_eq!(p.buffered(), 1);
    /// ```
    pub fn receiver_mut(&mut self) -> &mut Receiver {
        &mut self.receiver
    }

    /// The outgoing half.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert!(!Protocol::new(Role::Client, Config::default()).sender().close_sent());
    /// ```
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    /// The outgoing half, mutably.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.sender_mut().pong(b"").unwrap();
    /// assert_eq!(p.pending(), &[0x8A, 0x00]);
    /// ```
    pub fn sender_mut(&mut self) -> &mut Sender {
        &mut self.sender
    }

    /// See [`Receiver::receive`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.receive(&[0x81]);
    /// assert_eq!(p.buffered(), 1);
    /// ```
    pub fn receive(&mut self, data: &[u8]) {
        self.receiver.receive(data);
    }

    /// See [`Receiver::read_buf`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// assert!(p.read_buf(100).len() >= 100);
    /// ```
    pub fn read_buf(&mut self, min: usize) -> &mut [u8] {
        self.receiver.read_buf(min)
    }

    /// See [`Receiver::commit`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Message, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.read_buf(2)[..2].copy_from_slice(&[0x89, 0x00]);
    /// p.commit(2);
    /// assert_eq!(p.next_message().unwrap(), Some(Message::Ping(vec![])));
    /// ```
    pub fn commit(&mut self, n: usize) {
        self.receiver.commit(n);
    }

    /// See [`Receiver::buffered`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert_eq!(Protocol::new(Role::Client, Config::default()).buffered(), 0);
    /// ```
    #[inline]
    pub fn buffered(&self) -> usize {
        self.receiver.buffered()
    }

    /// [`Receiver::next_message`], then [`Sender::respond`] to it.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Message, Role, CloseCode};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.receive(&[0x89, 0x02, b'h', b'i']);
    /// assert_eq!(p.next_message().unwrap(), Some(Message::Ping(b"hi".to_vec())));
    /// assert_eq!(p.pending().len(), 2 + 4 + 2); // masked pong "hi"
    /// ```
    #[inline]
    pub fn next_message(&mut self) -> Result<Option<Message>> {
        self.sender_failure()?;
        let got = self.receiver.next_message();
        self.sender.respond(&got);
        got
    }

    /// [`Receiver::next_message_ref`], then [`Sender::respond_ref`] to it: no allocation per
    /// small message.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, MessageRef, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.receive(&[0x82, 0x02, 7, 8, 0x89, 0x00]);
    /// assert_eq!(p.next_message_ref().unwrap(), Some(MessageRef::Binary(&[7, 8])));
    /// assert_eq!(p.next_message_ref().unwrap(), Some(MessageRef::Ping(&[])));
    /// assert_eq!(p.pending().len(), 2 + 4); // masked empty pong
    /// ```
    #[inline]
    pub fn next_message_ref(&mut self) -> Result<Option<MessageRef<'_>>> {
        self.sender_failure()?;
        let got = self.receiver.next_message_ref();
        self.sender.respond_ref(&got);
        got
    }

    /// [`Receiver::next_chunk`], then the same automatic reactions as
    /// [`Protocol::next_message`] (pong, close echo, close on error).
    ///
    /// ```
    /// use ws6455::protocol::{Chunk, Protocol};
    /// use ws6455::{Config, Message, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.receive(&[0x89, 0x80, 0, 0, 0, 0]); // masked empty ping
    /// let mut buf = [0u8; 16];
    /// assert_eq!(p.next_chunk(&mut buf).unwrap(), Some(Chunk::Control(Message::Ping(vec![]))));
    /// assert_eq!(p.pending(), &[0x8A, 0x00]);
    /// ```
    pub fn next_chunk(&mut self, buf: &mut [u8]) -> Result<Option<Chunk>> {
        self.sender_failure()?;
        let got = self.receiver.next_chunk(buf);
        self.sender.respond_chunk(&got);
        got
    }

    /// Reports a failure the sender found (a ping flood) as this read's error, once; the
    /// receiver stops reading then, as after any protocol error.
    fn sender_failure(&mut self) -> Result<()> {
        match self.sender.take_failure() {
            Some(e) => Err(self.receiver.fail(e)),
            None => Ok(()),
        }
    }

    /// See [`Receiver::shrink`] and [`Sender::shrink`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.shrink();
    /// assert_eq!(p.buffered(), 0);
    /// ```
    pub fn shrink(&mut self) {
        self.receiver.shrink();
        self.sender.shrink();
    }

    /// See [`Sender::send`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Message, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.send(&Message::text("hi")).unwrap();
    /// assert_eq!(p.pending(), b"\x81\x02hi");
    /// ```
    pub fn send(&mut self, msg: &Message) -> Result<()> {
        self.sender.send(msg)
    }

    /// Applies a negotiated permessage-deflate agreement to both directions
    /// ([`Receiver::set_deflate`], [`Sender::set_deflate`]): once, right after the handshake.
    /// `config.deflate` gives the level and the threshold below which messages go out
    /// uncompressed.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Message, PerMessageDeflate, Role};
    /// let agreement = PerMessageDeflate { client_no_context_takeover: true, ..Default::default() };
    /// let mut client = Protocol::new(Role::Client, Config::default());
    /// let mut server = Protocol::new(Role::Server, Config::default());
    /// client.set_deflate(&agreement, &Config::default());
    /// server.set_deflate(&agreement, &Config::default());
    /// client.send_text(&"hello ".repeat(100)).unwrap();
    /// assert!(client.pending().len() < 40); // 600 bytes, compressed
    /// server.receive(client.pending());
    /// assert_eq!(server.next_message().unwrap(), Some(Message::text("hello ".repeat(100))));
    /// assert_eq!(server.deflate(), Some(agreement));
    /// ```
    pub fn set_deflate(&mut self, agreement: &crate::PerMessageDeflate, config: &Config) {
        self.receiver.set_deflate(agreement);
        self.sender.set_deflate(agreement, config);
    }

    /// The permessage-deflate agreement applied with [`Protocol::set_deflate`], if any.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert!(Protocol::new(Role::Server, Config::default()).deflate().is_none());
    /// ```
    pub fn deflate(&self) -> Option<crate::PerMessageDeflate> {
        self.sender.deflate()
    }

    /// See [`Sender::send_uncompressed`]: one message sent uncompressed even with
    /// permessage-deflate negotiated, for secrets next to attacker-controlled text (CRIME,
    /// BREACH; RFC 7692 §8).
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Message, PerMessageDeflate, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.set_deflate(&PerMessageDeflate::default(), &Config::default());
    /// p.send_uncompressed(&Message::text("hi")).unwrap();
    /// assert_eq!(p.pending(), b"\x81\x02hi");
    /// ```
    pub fn send_uncompressed(&mut self, msg: &Message) -> Result<()> {
        self.sender.send_uncompressed(msg)
    }

    /// See [`Sender::send_text`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.send_text("hi").unwrap();
    /// assert_eq!(p.pending(), b"\x81\x02hi");
    /// ```
    pub fn send_text(&mut self, s: &str) -> Result<()> {
        self.sender.send_text(s)
    }

    /// See [`Sender::send_binary`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.send_binary(&[1]).unwrap();
    /// assert_eq!(p.pending(), &[0x82, 0x01, 1]);
    /// ```
    pub fn send_binary(&mut self, b: &[u8]) -> Result<()> {
        self.sender.send_binary(b)
    }

    /// See [`Sender::ping`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.ping(b"x").unwrap();
    /// assert_eq!(p.pending(), b"\x89\x01x");
    /// ```
    pub fn ping(&mut self, b: &[u8]) -> Result<()> {
        self.sender.ping(b)
    }

    /// See [`Sender::pong`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.pong(b"x").unwrap();
    /// assert_eq!(p.pending(), b"\x8A\x01x");
    /// ```
    pub fn pong(&mut self, b: &[u8]) -> Result<()> {
        self.sender.pong(b)
    }

    /// See [`Sender::close`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, CloseCode, CloseFrame, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.close(Some(CloseFrame::new(CloseCode::Away, ""))).unwrap();
    /// assert_eq!(p.pending(), &[0x88, 0x02, 0x03, 0xE9]);
    /// ```
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        self.sender.close(frame)
    }

    /// See [`Sender::pending`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert!(Protocol::new(Role::Server, Config::default()).pending().is_empty());
    /// ```
    #[inline]
    pub fn pending(&self) -> &[u8] {
        self.sender.pending()
    }

    /// See [`Sender::consume`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.pong(b"").unwrap();
    /// p.consume(2);
    /// assert!(p.pending().is_empty());
    /// ```
    pub fn consume(&mut self, n: usize) {
        self.sender.consume(n);
    }

    /// See [`Sender::close_sent`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert!(!Protocol::new(Role::Server, Config::default()).close_sent());
    /// ```
    #[inline]
    pub fn close_sent(&self) -> bool {
        self.sender.close_sent()
    }

    /// Where the connection is in its life.
    ///
    /// ```
    /// use ws6455::{protocol::{Protocol, State}, Config, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.receive(&[0x88, 0x00]); // the server closes
    /// p.next_message().unwrap();
    /// assert_eq!(p.state(), State::CloseReceived);
    /// let n = p.pending().len();
    /// p.consume(n); // our echo is written
    /// assert_eq!(p.state(), State::Closed);
    /// ```
    pub fn state(&self) -> State {
        state_of(&self.receiver, &self.sender)
    }

    /// True when the connection is over: both close frames exchanged, or a protocol error.
    /// The caller then writes out [`Protocol::pending`] and drops the transport (a server
    /// closes TCP first, RFC 6455 §7.1.1; a client waits a bounded time for the server to).
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.receive(&[0x81, 0x00]); // unmasked: a protocol error at a server
    /// assert!(p.next_message().is_err());
    /// assert!(p.is_done());
    /// assert_eq!(&p.pending()[..4], &[0x88, 0x1E, 0x03, 0xEA]); // close 1002 + reason
    /// ```
    pub fn is_done(&self) -> bool {
        self.receiver.is_failed()
            || self.sender.failed
            || (self.sender.close_sent && self.receiver.close_received())
    }
}
