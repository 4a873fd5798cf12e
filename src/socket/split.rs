//! A connection split across threads: a [`WsReader`] for one thread and a [`WsWriter`] that any
//! number of threads share. The reader runs the same driver as [`WebSocket`]; what it reads that
//! calls for a reply (a pong, the close echo, the close that fails the connection) it hands to
//! the writing half without ever waiting for it: the replies go into a small slot, and whoever
//! holds the writing half (the reader itself when the half is free, or a writer between the
//! pieces of a long send and when it lets go) moves them into the sender. A writer blocked on a
//! long send to a peer that echoes as it reads therefore never stalls the reader, and so never
//! the peer.

use std::collections::VecDeque;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use super::driver::{Driver, Link};
use super::finish::{server_finish, wait_for_server_close, Finisher};
use super::write;
use super::WebSocket;
use crate::frame::OpCode;
use crate::protocol::{Chunk, Piece, Reaction, Sender};
use crate::{CloseCode, CloseFrame, Message, MessageRef, ProtocolError, Result, Role};

/// The writing half: the stream clone it writes to and the connection's sender.
struct WriteHalf {
    stream: TcpStream,
    sender: Sender,
}

/// A reply the reader owes the peer, for the writing half to queue.
#[derive(Debug)]
enum Owed {
    Pong(Vec<u8>),
    /// The echo of the peer's close.
    Echo(Option<CloseFrame>),
    /// Fail the connection with this error's close code.
    Fail(ProtocolError),
    /// A close of our own (server shutdown, keepalive timeout).
    Close(CloseFrame),
    /// A keepalive ping.
    Ping,
}

/// Replies waiting for the writing half, in order, and the bytes their pongs will take.
#[derive(Debug, Default)]
struct Slot {
    owed: VecDeque<Owed>,
    bytes: usize,
}

/// What the two halves share.
struct Shared {
    writer: Mutex<WriteHalf>,
    slot: Mutex<Slot>,
    /// The slot holds replies (read without the lock; changed under it).
    waiting: AtomicBool,
    /// A close frame of ours is queued or owed.
    close_queued: AtomicBool,
    max_write_buffer: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic on another thread while writing leaves the half usable: its state is only a
    // queue of whole frames.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Runs a writer's call with the writing half: replies waiting go first, the ones that
    /// arrive meanwhile are sent after, and any left when it lets go are delivered.
    fn with<R>(&self, f: impl FnOnce(&mut WriteHalf, &Shared) -> R) -> R {
        let r = {
            let mut guard = lock(&self.writer);
            let w = &mut *guard;
            self.take_into(&mut w.sender);
            let r = f(w, self);
            if self.take_into(&mut w.sender) {
                let _ = write::flush_best_effort(&mut w.stream, &mut w.sender);
            }
            self.note_close(&w.sender);
            r
        };
        self.deliver();
        r
    }

    /// Moves the waiting replies into the sender; true if there were any.
    fn take_into(&self, sender: &mut Sender) -> bool {
        if !self.waiting.load(Ordering::Acquire) {
            return false;
        }
        let owed = {
            let mut slot = lock(&self.slot);
            slot.bytes = 0;
            self.waiting.store(false, Ordering::Release);
            std::mem::take(&mut slot.owed)
        };
        for o in owed {
            match o {
                Owed::Pong(p) => sender.react(Reaction::Pong(&p)),
                Owed::Echo(f) => sender.react(Reaction::Close(f.as_ref())),
                Owed::Fail(e) => sender.react(Reaction::Fail(&e)),
                Owed::Close(f) => {
                    let _ = sender.close(Some(f));
                }
                Owed::Ping => {
                    let _ = sender.ping(b"");
                }
            }
        }
        // A pong the sender could not take fails the connection there (its close is queued).
        let _ = sender.take_failure();
        self.note_close(sender);
        true
    }

    fn note_close(&self, sender: &Sender) {
        if sender.close_sent() {
            self.close_queued.store(true, Ordering::Release);
        }
    }

    /// Hands replies over without waiting: if the writing half is free, queue and write them
    /// now; if a writer holds it, that writer sends them (between the pieces of its send, or
    /// when it lets go, which ends with this same loop).
    fn deliver(&self) {
        while self.waiting.load(Ordering::Acquire) {
            let mut w = match self.writer.try_lock() {
                Ok(w) => w,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            let w = &mut *w;
            if self.take_into(&mut w.sender) {
                let _ = write::flush_best_effort(&mut w.stream, &mut w.sender);
            }
        }
    }

    /// Puts a reply in the slot and delivers it.
    fn owe(&self, o: Owed) {
        {
            let mut slot = lock(&self.slot);
            if let Owed::Pong(p) = &o {
                slot.bytes += pong_cost(p);
            }
            if matches!(o, Owed::Echo(_) | Owed::Fail(_) | Owed::Close(_)) {
                self.close_queued.store(true, Ordering::Release);
            }
            slot.owed.push_back(o);
            self.waiting.store(true, Ordering::Release);
        }
        self.deliver();
    }
}

/// The most a pong with this payload takes on the wire: a 2-byte header and a client's mask.
fn pong_cost(payload: &[u8]) -> usize {
    2 + 4 + payload.len()
}

/// The reader's way to the writing half.
struct SplitLink {
    shared: Arc<Shared>,
    finisher: Finisher<TcpStream>,
}

impl Link<TcpStream> for SplitLink {
    fn react(
        &mut self,
        _: &mut TcpStream,
        r: Reaction<'_>,
    ) -> std::result::Result<(), ProtocolError> {
        match r {
            Reaction::Pong(p) => {
                let queued = lock(&self.shared.slot).bytes;
                let limit = self.shared.max_write_buffer;
                if queued > 0 && queued + pong_cost(p) > limit {
                    // The peer pings faster than the pongs can go out: fail with 1008.
                    let e = ProtocolError::PongBacklog { limit };
                    self.shared.owe(Owed::Fail(e.clone()));
                    return Err(e);
                }
                self.shared.owe(Owed::Pong(p.to_vec()));
            }
            Reaction::Close(f) => self.shared.owe(Owed::Echo(f.cloned())),
            Reaction::Fail(e) => self.shared.owe(Owed::Fail(e.clone())),
        }
        Ok(())
    }

    fn has_pending(&self) -> bool {
        self.shared.waiting.load(Ordering::Acquire)
    }

    fn in_frame(&self) -> bool {
        false
    }

    fn flush_best_effort(&mut self, _: &mut TcpStream) -> Result<()> {
        self.shared.deliver();
        Ok(())
    }

    fn close_queued(&self) -> bool {
        self.shared.close_queued.load(Ordering::Acquire)
    }

    fn send_close(&mut self, _: &mut TcpStream, frame: CloseFrame) {
        self.shared.owe(Owed::Close(frame));
    }

    fn send_ping(&mut self, _: &mut TcpStream) {
        self.shared.owe(Owed::Ping);
    }

    fn finish(&mut self, stream: &mut TcpStream) -> bool {
        let codes = {
            // The connection is over: what is owed goes out now, even if that means waiting
            // for a writer to let go.
            let mut w = lock(&self.shared.writer);
            let w = &mut *w;
            self.shared.take_into(&mut w.sender);
            let _ = write::write_sender(&mut w.stream, &mut w.sender);
            w.sender.close_codes()
        };
        (self.finisher)(stream, codes)
    }
}

/// The reading half of a split [`WebSocket<TcpStream>`]. Pings it reads are answered through
/// the shared writing half, without waiting for it.
///
/// ```no_run
/// use std::thread;
/// use ws6455::Message;
///
/// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
/// let (mut reader, writer) = ws.split()?;
/// let typing = thread::spawn(move || {
///     for line in ["hello", "i need help"] {
///         writer.send_text(line)?;
///     }
///     writer.close(ws6455::CloseCode::Normal, "bye")
/// });
/// while let Ok(msg) = reader.read() {
///     if let Message::Text(t) = msg {
///         println!("SERVER >> {t}");
///     }
/// }
/// typing.join().unwrap()?;
/// # Ok::<(), ws6455::Error>(())
/// ```
pub struct WsReader {
    stream: TcpStream,
    driver: Driver<TcpStream>,
    link: SplitLink,
}

/// The writing half of a split [`WebSocket<TcpStream>`]; cheap to clone and share between
/// threads. Each call writes whole frames under a lock, so frames from different threads never
/// interleave.
///
/// ```no_run
/// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
/// let (_reader, writer) = ws.split()?;
/// let w2 = writer.clone();
/// std::thread::spawn(move || w2.send_text("from another thread"));
/// writer.send_text("from this thread")?;
/// # Ok::<(), ws6455::Error>(())
/// ```
#[derive(Clone)]
pub struct WsWriter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsReader").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for WsWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsWriter").finish_non_exhaustive()
    }
}

impl WebSocket<TcpStream> {
    /// Splits the connection into a reader, for one thread, and a writer, which any number of
    /// threads may clone and use at the same time. Bytes already received and replies already
    /// queued carry over.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (mut reader, writer) = ws.split()?;
    /// writer.send_text("hi")?;
    /// let reply = reader.read()?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn split(self) -> Result<(WsReader, WsWriter)> {
        let write_stream = self.stream.try_clone()?;
        let role = self.own.sender.role();
        let close_timeout = self.config.close_timeout;
        let finisher = self.own.finisher.unwrap_or_else(|| match role {
            Role::Server => Box::new(|s, _| server_finish(s)),
            Role::Client => Box::new(move |s, _| wait_for_server_close(s, close_timeout)),
        });
        let shared = Arc::new(Shared {
            close_queued: AtomicBool::new(self.own.sender.close_sent()),
            writer: Mutex::new(WriteHalf {
                stream: write_stream,
                sender: self.own.sender,
            }),
            slot: Mutex::new(Slot::default()),
            waiting: AtomicBool::new(false),
            max_write_buffer: self.config.max_write_buffer,
        });
        let reader = WsReader {
            stream: self.stream,
            driver: self.driver,
            link: SplitLink {
                shared: shared.clone(),
                finisher,
            },
        };
        Ok((reader, WsWriter { shared }))
    }
}

impl WsReader {
    /// Reads the next message, as [`WebSocket::read`] does.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (mut reader, _writer) = ws.split()?;
    /// println!("{:?}", reader.read()?);
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn read(&mut self) -> Result<Message> {
        self.driver.read(&mut self.stream, &mut self.link)
    }

    /// Reads the stream data frame by data frame into `buf`, as [`WebSocket::read_chunk`] does
    /// (pings are answered through the writing half).
    ///
    /// ```no_run
    /// use ws6455::protocol::Chunk;
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (mut reader, _writer) = ws.split()?;
    /// let mut buf = vec![0u8; 64 << 10];
    /// let mut total = 0; // the size of the first message, never held whole
    /// loop {
    ///     if let Chunk::Data { len, end_of_message, .. } = reader.read_chunk(&mut buf)? {
    ///         total += len;
    ///         if end_of_message {
    ///             break;
    ///         }
    ///     }
    /// }
    /// println!("first message: {total} bytes");
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn read_chunk(&mut self, buf: &mut [u8]) -> Result<Chunk> {
        self.driver
            .read_chunk(&mut self.stream, &mut self.link, buf)
    }

    /// Reads as [`WsReader::read_chunk`] does, with small messages whole when they can be (as
    /// [`WebSocket::read_piece`]).
    ///
    /// ```no_run
    /// use ws6455::protocol::Piece;
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (mut reader, _writer) = ws.split()?;
    /// let mut buf = vec![0u8; 4096];
    /// if let Piece::Whole { len, .. } = reader.read_piece(&mut buf)? {
    ///     println!("{len} bytes");
    /// }
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn read_piece(&mut self, buf: &mut [u8]) -> Result<Piece> {
        self.driver
            .read_piece(&mut self.stream, &mut self.link, buf)
    }

    /// The permessage-deflate parameters in use, if the extension was negotiated (as
    /// [`WebSocket::deflate`]).
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (reader, _writer) = ws.split()?;
    /// println!("compression: {:?}", reader.deflate());
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn deflate(&self) -> Option<crate::PerMessageDeflate> {
        self.driver.rx.deflate()
    }

    /// The underlying stream (for socket options such as timeouts).
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (reader, _writer) = ws.split()?;
    /// reader.get_ref().set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }
}

impl WsWriter {
    /// Sends a message and flushes it.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.send(ws6455::Message::text("hi"))?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn send(&self, msg: Message) -> Result<()> {
        match &msg {
            Message::Text(t) => self.send_data(OpCode::Text, t.as_bytes()),
            Message::Binary(b) => self.send_data(OpCode::Binary, b),
            _ => self.shared.with(|w, sh| {
                write::check_room(&mut w.stream, &mut w.sender, sh.max_write_buffer)?;
                w.sender.send(&msg)?;
                write::write_sender(&mut w.stream, &mut w.sender)
            }),
        }
    }

    /// Sends a message uncompressed even with permessage-deflate negotiated, and flushes it:
    /// for a secret next to attacker-controlled text (CRIME, BREACH; RFC 7692 §8). See
    /// [`WebSocket::send_uncompressed`].
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.send_uncompressed(ws6455::Message::text("token=..."))?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn send_uncompressed(&self, msg: Message) -> Result<()> {
        self.shared.with(|w, sh| {
            write::check_room(&mut w.stream, &mut w.sender, sh.max_write_buffer)?;
            w.sender.send_uncompressed(&msg)?;
            write::write_sender(&mut w.stream, &mut w.sender)
        })
    }

    /// The permessage-deflate parameters in use, if the extension was negotiated.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// println!("compression: {:?}", writer.deflate());
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn deflate(&self) -> Option<crate::PerMessageDeflate> {
        self.shared.with(|w, _| w.sender.deflate())
    }

    /// Queues a message without flushing; see [`WsWriter::flush`].
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.write(ws6455::Message::text("a"))?;
    /// writer.write(ws6455::Message::text("b"))?;
    /// writer.flush()?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn write(&self, msg: Message) -> Result<()> {
        self.write_ref(msg.as_ref())
    }

    /// Queues a borrowed message without flushing, as [`WsWriter::write`] does an owned one.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// let line = String::from("hello");
    /// writer.write_ref(ws6455::MessageRef::Text(&line))?;
    /// writer.flush()?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn write_ref(&self, msg: MessageRef<'_>) -> Result<()> {
        self.shared.with(|w, sh| {
            write::check_room(&mut w.stream, &mut w.sender, sh.max_write_buffer)?;
            w.sender.send_ref(msg)
        })
    }

    /// Writes everything queued.
    ///
    /// What [`WsWriter::write`] queues goes out only here, in a `send*`, `ping`, `pong` or
    /// `close` (which flush), when the queue reaches [`crate::Config::max_write_buffer`]
    /// (written before more is queued), or along with a reply of the library's own (a pong,
    /// the close echo) that the reader hands over: the reader never flushes the
    /// application's messages. Queue a batch with `write` and `flush` once, and the batch
    /// goes out in one write.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.flush()?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn flush(&self) -> Result<()> {
        self.shared
            .with(|w, _| write::write_sender(&mut w.stream, &mut w.sender))
    }

    /// Sends a text message (`&str`, `String`, a `format!`).
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.send_text(format!("hi {}", 1))?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn send_text(&self, text: impl AsRef<str>) -> Result<()> {
        self.send_data(OpCode::Text, text.as_ref().as_bytes())
    }

    /// Sends a binary message (a large one without copying it whole into the queue, as
    /// [`WebSocket::send_binary`] does).
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.send_binary([1, 2, 3])?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn send_binary(&self, data: impl AsRef<[u8]>) -> Result<()> {
        self.send_data(OpCode::Binary, data.as_ref())
    }

    /// Starts sending a data frame piece by piece, as [`WebSocket::write_frame_start`] does:
    /// its payload follows through [`WsWriter::write_chunk`], and [`WsWriter::flush`] sends
    /// what is queued. While such a message is open, whole-message sends (from any clone) fail
    /// with [`Error::FrameSequence`]; pings, pongs and closes, the reader's automatic replies
    /// included, wait until the open frame is complete. Forwarding a large message without
    /// holding it whole:
    ///
    /// ```no_run
    /// use ws6455::frame::OpCode;
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// let mut file = std::fs::File::open("big.bin")?;
    /// let len = file.metadata()?.len();
    /// writer.write_frame_start(OpCode::Binary, true, len)?;
    /// let mut buf = vec![0; 64 << 10];
    /// loop {
    ///     let n = std::io::Read::read(&mut file, &mut buf)?;
    ///     if n == 0 {
    ///         break;
    ///     }
    ///     writer.write_chunk(&buf[..n])?;
    /// }
    /// writer.flush()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_frame_start(&self, opcode: OpCode, fin: bool, len: u64) -> Result<()> {
        self.shared
            .with(|w, _| write::start_frame(&mut w.stream, &mut w.sender, opcode, fin, len))
    }

    /// Sends payload of the frame begun with [`WsWriter::write_frame_start`] (at most what it
    /// still owes), as [`WebSocket::write_chunk`] does: queued (a client masks as it queues),
    /// except that on the server side a piece of 16 KiB or more is written at once.
    ///
    /// ```no_run
    /// use ws6455::frame::OpCode;
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.write_frame_start(OpCode::Text, true, 5)?;
    /// writer.write_chunk(b"He")?;
    /// writer.write_chunk(b"llo")?;
    /// writer.flush()?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn write_chunk(&self, data: &[u8]) -> Result<()> {
        self.shared
            .with(|w, _| write::send_chunk(&mut w.stream, &mut w.sender, data))
    }

    /// Sends a data message; replies the reader hands over meanwhile go out between its pieces.
    fn send_data(&self, opcode: OpCode, payload: &[u8]) -> Result<()> {
        self.shared.with(|w, sh| {
            write::check_room(&mut w.stream, &mut w.sender, sh.max_write_buffer)?;
            write::send_message(&mut w.stream, &mut w.sender, opcode, payload, |s| {
                sh.take_into(s);
            })
        })
    }

    /// Sends a ping.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.ping(b"are you there?")?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn ping(&self, payload: &[u8]) -> Result<()> {
        self.shared.with(|w, _| {
            w.sender.ping(payload)?;
            write::write_sender(&mut w.stream, &mut w.sender)
        })
    }

    /// Sends an unsolicited pong (a one-way heartbeat; pings are answered automatically).
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.pong(b"")?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn pong(&self, payload: &[u8]) -> Result<()> {
        self.shared.with(|w, _| {
            w.sender.pong(payload)?;
            write::write_sender(&mut w.stream, &mut w.sender)
        })
    }

    /// Starts the close handshake; the reader returns the peer's close when it arrives.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.close(ws6455::CloseCode::Normal, "bye")?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<()> {
        self.close_with(Some(CloseFrame::new(code, reason)))
    }

    /// Starts the close handshake with a close frame that carries no code.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.close_without_code()?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn close_without_code(&self) -> Result<()> {
        self.close_with(None)
    }

    fn close_with(&self, frame: Option<CloseFrame>) -> Result<()> {
        self.shared.with(|w, _| {
            w.sender.close(frame)?;
            write::write_sender(&mut w.stream, &mut w.sender)
        })
    }

    /// True once a close frame has been sent (by us, or as the reply to the peer's).
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// assert!(!writer.close_sent());
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn close_sent(&self) -> bool {
        self.shared.with(|w, _| w.sender.close_sent())
    }

    /// Bytes queued and not yet written.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// assert_eq!(writer.pending_bytes(), 0);
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn pending_bytes(&self) -> usize {
        self.shared.with(|w, _| w.sender.pending().len())
    }
}
