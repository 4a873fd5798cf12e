//! The three applications, each run on the connection's own thread after the upgrade.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use ws6455::frame::OpCode;
use ws6455::protocol::{Chunk, Piece};
use ws6455::socket::{WebSocket, WsWriter};
use ws6455::{CloseCode, Error, Message, MessageRef};

use crate::room::{Event, Mailbox};
use crate::{chat, log, Shared};

/// Longest message text shown in a log line, in characters.
const PREVIEW_CHARS: usize = 200;

/// Most lines a room writer queues before it flushes.
const MAX_BATCH: usize = 256;

/// Write timeout for a room client that fell behind: how long its 1008 close may take.
const LAGGING_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// A message as shown in a log line: control characters escaped (so a message cannot forge
/// log lines) and at most [`PREVIEW_CHARS`] characters, then `...`.
fn preview(text: &str) -> String {
    crate::escape::escape_prefix(text, PREVIEW_CHARS)
}

fn describe_binary(len: u64) -> String {
    format!("[binary, {len} bytes]")
}

fn established(ws: &WebSocket<TcpStream>, id: u64) {
    log::conn(id, "Connection established with client ...");
    if log::verbose() {
        let peer = ws
            .get_ref()
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".into());
        // Redacted: a ?accessToken= must not reach the log.
        let target = ws
            .request()
            .map(|r| preview(&r.redacted_target()))
            .unwrap_or_default();
        log::debug(&format!(
            "[{id}] peer {peer}, target {target}, subprotocol {}",
            ws.subprotocol().unwrap_or("(none)")
        ));
    }
}

/// How a read loop ended, for the transcript.
enum End {
    /// The client started the close handshake.
    ByClient,
    /// We did (shutdown, idle timeout, protocol error, lagging).
    ByServer,
    /// The connection broke without a close handshake.
    Lost,
}

fn log_end(id: u64, end: End) {
    let line = match end {
        End::ByClient => "Connection closed by client ...",
        End::ByServer => "Connection closed by server ...",
        End::Lost => "Connection lost ...",
    };
    log::conn(id, line);
}

/// What a failed read means; logs the details on stderr.
fn classify_error(id: u64, e: &Error, we_closed: bool) -> End {
    match e {
        Error::ConnectionClosed => End::ByServer,
        Error::Protocol(p) => {
            log::warn(&format!("[{id}] closing with {}: {p}", p.close_code()));
            End::ByServer
        }
        _ if we_closed => {
            log::debug(&format!("[{id}] after our close: {e}"));
            End::ByServer
        }
        _ => {
            log::warn(&format!("[{id}] {e}"));
            End::Lost
        }
    }
}

fn close_end(id: u64, shared: &Shared, we_closed: bool, frame: Option<&ws6455::CloseFrame>) -> End {
    if we_closed || shared.shutdown.is_shutting_down() {
        End::ByServer
    } else {
        if let Some(f) = frame {
            log::debug(&format!("[{id}] client closed with {f}"));
        }
        End::ByClient
    }
}

/// What one step of a connection's read loop saw.
enum Seen {
    /// Something handled; read on.
    More,
    /// The peer's close frame (already answered by the library).
    Close(Option<ws6455::CloseFrame>),
}

/// Runs the read loop of a whole (unsplit) connection: `step` reads (and answers) one thing.
/// Handles close, idle timeout and errors, and logs how the connection ended. The socket is
/// borrowed: passed by value it would be copied into this frame (1.3 KiB more stack under
/// every read of an idle connection).
fn serve<F>(ws: &mut WebSocket<TcpStream>, id: u64, shared: &Shared, mut step: F)
where
    F: FnMut(&mut WebSocket<TcpStream>) -> ws6455::Result<Seen>,
{
    let mut we_closed = false;
    let end = loop {
        match step(ws) {
            Ok(Seen::More) => {}
            Ok(Seen::Close(frame)) => break close_end(id, shared, we_closed, frame.as_ref()),
            Err(Error::Timeout) if !we_closed => {
                log::warn(&format!("[{id}] idle timeout: closing with 1001"));
                we_closed = true;
                if ws.close(CloseCode::Away, "idle timeout").is_err() {
                    break End::ByServer;
                }
            }
            Err(e) => break classify_error(id, &e, we_closed),
        }
    };
    log_end(id, end);
}

/// [`serve`] with whole messages; `on_data` answers text and binary messages.
fn serve_messages<F>(ws: &mut WebSocket<TcpStream>, id: u64, shared: &Shared, mut on_data: F)
where
    F: FnMut(&mut WebSocket<TcpStream>, Message) -> ws6455::Result<()>,
{
    serve(ws, id, shared, |ws| match ws.read()? {
        m @ (Message::Text(_) | Message::Binary(_)) => on_data(ws, m).map(|()| Seen::More),
        Message::Close(frame) => Ok(Seen::Close(frame)),
        _ => Ok(Seen::More), // ping (answered by the library) or pong
    });
}

/// The article's bot: greeting, then one reply per text message.
pub fn chat(ws: WebSocket<TcpStream>, id: u64, shared: &Shared) {
    established(&ws, id);
    let mut ws = ws;
    if let Some(greeting) = shared.table.greeting() {
        if let Err(e) = ws.send_text(greeting) {
            log::warn(&format!("[{id}] {e}"));
            log_end(id, End::Lost);
            return;
        }
        log::conn(id, &format!("SERVER >> {}", preview(greeting)));
    }
    serve_messages(&mut ws, id, shared, |ws, msg| {
        let reply = match &msg {
            Message::Text(t) => {
                log::conn(id, &format!("CLIENT >> {}", preview(t)));
                shared.table.reply(t)
            }
            other => {
                log::conn(
                    id,
                    &format!(
                        "CLIENT >> {}",
                        describe_binary(other.as_bytes().len() as u64)
                    ),
                );
                chat::BINARY_REPLY
            }
        };
        ws.send_text(reply)?;
        log::conn(id, &format!("SERVER >> {}", preview(reply)));
        Ok(())
    });
}

/// Echo: every message goes back as it came. Large binary messages are forwarded frame by
/// frame as their bytes arrive (the same frames, payload unmasked), so a message of any size
/// takes one buffer of at most [`echo_chunk`] bytes and its echo starts before it has all
/// arrived. A small binary message (one frame of at most [`ECHO_WHOLE`] bytes) is gathered and
/// sent back whole, like text: through the sender's queue, so bursts batch, and compressed when
/// permessage-deflate was negotiated. Text is gathered and sent back whole once complete: its
/// UTF-8 is checked up to the last byte first, so a bad message is refused (1007) before any of
/// it goes back. Replies are queued and the next read flushes them before it blocks, so bursts
/// are answered in few system calls.
pub fn echo(mut ws: WebSocket<TcpStream>, id: u64, shared: &Shared) {
    established(&ws, id);
    let mut echo = Echo {
        buf: vec![0; ECHO_FIRST_CHUNK],
        whole: None,
        small_frames: 0,
        binary_len: 0,
        verbose: log::verbose(),
        id,
    };
    serve(&mut ws, id, shared, |ws| echo.step(ws));
}

/// Largest piece of a binary message the echo forwards at once: the buffer a large frame's
/// payload is read into, straight from the socket, then written from. On a CPU whose level-2
/// cache holds 1 MiB or more, 256 KiB reads and writes echo a 16 MiB message at 1.4x the
/// rate of 64 KiB ones, with half the server CPU time per byte; with a 512 KiB level-2 cache
/// (the piece and the kernel's copy of it no longer fit) 64 KiB pieces are 1.15x faster than
/// 256 KiB ones (docs/performance.md). Unknown cache: 256 KiB.
fn echo_chunk() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| match l2_cache_bytes() {
        Some(l2) if l2 < 1 << 20 => 64 << 10,
        _ => 256 << 10,
    })
}

/// The first CPU's level-2 cache size, from Linux's sysfs; `None` elsewhere or if unknown.
fn l2_cache_bytes() -> Option<usize> {
    for i in 0..8 {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{i}");
        let level = std::fs::read_to_string(format!("{dir}/level")).ok()?;
        if level.trim() == "2" {
            return parse_cache_size(&std::fs::read_to_string(format!("{dir}/size")).ok()?);
        }
    }
    None
}

/// A sysfs cache size: `512K`, `2048K`, `2M`, or plain bytes.
fn parse_cache_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, unit) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1 << 10),
        b'M' | b'm' => (&s[..s.len() - 1], 1 << 20),
        _ => (s, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(unit)
}
/// The pieces a compressed message is inflated into for its echo.
const ECHO_INFLATED_PIECE: usize = 64 << 10;
/// Frames in a row far smaller than the grown buffer before it is given back.
const ECHO_SHRINK_AFTER: u8 = 8;
/// The echo's buffer until a larger frame arrives: an idle connection blocks in a read with
/// it allocated (4 KiB here cost 4 KiB per idle connection: 24.5 -> 28.6 KiB at 10 000).
const ECHO_FIRST_CHUNK: usize = 256;
/// Largest single-frame binary message the echo gathers and sends back whole.
const ECHO_WHOLE: u64 = 16 << 10;

/// The echo's state between chunks.
struct Echo {
    buf: Vec<u8>,
    /// The message being gathered to go back whole, if one is in progress: any text message,
    /// and a single-frame binary message of at most [`ECHO_WHOLE`] bytes. Whole messages are
    /// queued (a burst goes out in one write) and compressed when permessage-deflate was
    /// negotiated. Other binary messages are streamed back frame by frame as they arrive (never
    /// held whole), and so go back uncompressed: frames sent one by one never are (RFC 7692
    /// lets any message go uncompressed).
    whole: Option<(OpCode, Vec<u8>)>,
    /// Frames in a row far smaller than `buf`, once it has grown.
    small_frames: u8,
    /// Bytes of the binary message in progress (for the log).
    binary_len: u64,
    verbose: bool,
    id: u64,
}

impl Echo {
    fn step(&mut self, ws: &mut WebSocket<TcpStream>) -> ws6455::Result<Seen> {
        let chunk = match ws.read_piece(&mut self.buf)? {
            // A small message at hand, whole in one call: echoed from `buf`.
            Piece::Whole { opcode, len } => {
                self.echo_whole(ws, opcode, &self.buf[..len])?;
                self.fit(len as u64, false);
                return Ok(Seen::More);
            }
            Piece::Chunk(chunk) => chunk,
        };
        match chunk {
            Chunk::FrameStart { opcode, fin, len } => {
                // A compressed message is handed out in frames of at most the buffer: one that
                // fills it and is not the last means more is coming, so read it in larger
                // pieces (an idle connection that only ever saw small messages keeps 256 B).
                let fills = !fin && len == self.buf.len() as u64;
                self.fit(len, fills);
                if opcode == OpCode::Text || (opcode == OpCode::Binary && fin && len <= ECHO_WHOLE)
                {
                    // Nothing allocated yet: a message whose payload comes in one piece goes
                    // back straight from `buf` (see below).
                    self.whole = Some((opcode, Vec::new()));
                } else if self.whole.is_none() {
                    ws.write_frame_start(opcode, fin, len)?;
                }
            }
            Chunk::Data {
                len,
                end_of_message,
                ..
            } => {
                let data = &self.buf[..len];
                if let Some((opcode, bytes)) = &mut self.whole {
                    if end_of_message && bytes.is_empty() {
                        // The whole message in one piece (the common case for small ones):
                        // echoed from `buf`, no copy and no allocation of its own.
                        let opcode = *opcode;
                        self.whole = None;
                        self.echo_whole(ws, opcode, &self.buf[..len])?;
                    } else {
                        bytes.extend_from_slice(data);
                        if end_of_message {
                            if let Some((opcode, bytes)) = self.whole.take() {
                                self.echo_whole(ws, opcode, &bytes)?;
                            }
                        }
                    }
                } else {
                    ws.write_chunk(data)?;
                    self.binary_len += len as u64;
                    if end_of_message {
                        let n = std::mem::take(&mut self.binary_len);
                        self.log(|| describe_binary(n));
                    }
                }
            }
            Chunk::Control(Message::Close(frame)) => return Ok(Seen::Close(frame)),
            Chunk::Control(_) => {} // ping (answered by the library) or pong
        }
        Ok(Seen::More)
    }

    /// Sizes `buf` for a frame of `len` bytes (`fills`: a compressed message's piece that
    /// filled it): grown on the first larger frame, to that frame's size (at most
    /// [`echo_chunk`]); given back after a run of frames far smaller than it (not at once: a
    /// stream of mixed sizes would grow it, zero-filled, again and again).
    fn fit(&mut self, len: u64, fills: bool) {
        let want = if fills {
            ECHO_INFLATED_PIECE
        } else {
            len.min(echo_chunk() as u64) as usize
        };
        if want > self.buf.len() {
            self.buf.resize(want, 0);
            self.small_frames = 0;
        } else if len.saturating_mul(4) < self.buf.len() as u64 && self.buf.len() > ECHO_FIRST_CHUNK
        {
            self.small_frames += 1;
            if self.small_frames >= ECHO_SHRINK_AFTER {
                self.buf.truncate(ECHO_FIRST_CHUNK);
                self.buf.shrink_to_fit();
                self.small_frames = 0;
            }
        } else {
            self.small_frames = 0;
        }
    }

    /// Queues a gathered message's echo (`write`: the next read flushes it).
    fn echo_whole(
        &self,
        ws: &mut WebSocket<TcpStream>,
        opcode: OpCode,
        bytes: &[u8],
    ) -> ws6455::Result<()> {
        let msg = if opcode == OpCode::Text {
            // Checked piece by piece by the library; this cannot fail.
            let text = std::str::from_utf8(bytes)
                .map_err(|_| Error::Protocol(ws6455::ProtocolError::InvalidUtf8))?;
            self.log(|| preview(text));
            MessageRef::Text(text)
        } else {
            self.log(|| describe_binary(bytes.len() as u64));
            MessageRef::Binary(bytes)
        };
        ws.write_ref(msg)
    }

    /// Logs a message both ways when verbose; `shown` is only formatted then (formatting it
    /// for every message was ~5% of the server's CPU time on a stream of 1 KiB echoes).
    fn log(&self, shown: impl FnOnce() -> String) {
        if self.verbose {
            let shown = shown();
            log::conn(self.id, &format!("CLIENT >> {shown}"));
            log::conn(self.id, &format!("SERVER >> {shown}"));
        }
    }
}

/// Logs what the room's fan-out thread reports.
pub fn room_event(event: Event) {
    let member = match event {
        Event::Left(m) => m,
        Event::Dropped(d) => {
            log::warn(&format!(
                "[{}] {} fell too far behind (message queue full): closing with 1008",
                d.id, d.name
            ));
            d
        }
    };
    log::conn(member.id, &format!("* {} left", member.name));
}

/// Closes the room for a shutdown: every member's writer sends what is already queued, then
/// close 1001 itself, so the close never waits behind (or races) a broadcast in flight. Waits up
/// to 2 s for the members' close handshakes; the server's own shutdown then says 1001 to any
/// connection still open (its reader wakes on end of input) and bounds the rest.
pub fn close_room(shared: &Shared) {
    shared.room.close();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while shared.room_connections.load(Ordering::Acquire) > 0
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Drains one member's queue into its socket. Stops when the member left (queue closed and
/// empty), the connection failed, the member was dropped as too slow (then closes 1008) or the
/// room closed for a shutdown (then closes 1001 after what was queued).
fn room_writer(
    writer: WsWriter,
    mailbox: Mailbox,
    stream: Option<TcpStream>,
    server_closing: &AtomicBool,
    id: u64,
    name: &str,
) {
    let mut too_slow = false;
    // One write per wake-up: everything already queued goes out with a single flush, so a busy
    // room costs a system call per batch, not per line.
    'lines: while let Ok(first) = mailbox.lines.recv() {
        for line in std::iter::once(first).chain(mailbox.lines.try_iter().take(MAX_BATCH)) {
            if mailbox.is_lagging() {
                break 'lines;
            }
            match writer.write(Message::text(&*line)) {
                Ok(()) => {}
                Err(Error::Timeout) | Err(Error::WriteBufferFull) => {
                    // The client stopped reading for a whole write timeout.
                    too_slow = true;
                    break 'lines;
                }
                Err(_) => return, // closed or broken: the reader notices too
            }
        }
        match writer.flush() {
            Ok(()) => {}
            Err(Error::Timeout) => {
                too_slow = true;
                break;
            }
            Err(_) => return,
        }
    }
    if too_slow && !mailbox.is_lagging() {
        log::warn(&format!(
            "[{id}] {name} stopped reading (write timed out): closing with 1008"
        ));
    }
    if !too_slow && !mailbox.is_lagging() && mailbox.is_room_closed() {
        let _ = writer.close(CloseCode::Away, "server shutting down");
        return;
    }
    if mailbox.is_lagging() || too_slow {
        server_closing.store(true, Ordering::SeqCst);
        if let Some(s) = &stream {
            let _ = s.set_write_timeout(Some(LAGGING_WRITE_TIMEOUT));
        }
        let _ = writer.close(CloseCode::Policy, "too slow: message queue full");
        // The client is not reading, so it will not answer our close either: end the read
        // side now so the connection's reader returns.
        if let Some(s) = &stream {
            let _ = s.shutdown(Shutdown::Read);
        }
    }
}

/// The chat room: broadcast every text message as `NAME: text`.
pub fn room(ws: WebSocket<TcpStream>, id: u64, shared: &Shared) {
    established(&ws, id);
    let requested = ws
        .request()
        .and_then(|r| r.query_param("name"))
        .map(|n| n.into_owned());
    let stream = ws.get_ref().try_clone().ok();
    let writer_stream = stream.as_ref().and_then(|s| s.try_clone().ok());
    let (mut reader, writer) = match ws.split() {
        Ok(halves) => halves,
        Err(e) => {
            log::warn(&format!("[{id}] cannot split the connection: {e}"));
            log_end(id, End::Lost);
            return;
        }
    };
    let Some((name, mailbox)) = shared.room.join(id, requested.as_deref()) else {
        log::warn(&format!("[{id}] the room is gone: closing with 1011"));
        let _ = writer.close(CloseCode::Error, "room unavailable");
        log_end(id, End::ByServer);
        return;
    };
    log::conn(id, &format!("* {name} joined"));
    shared.room_connections.fetch_add(1, Ordering::AcqRel);

    let (done_tx, done_rx) = mpsc::channel::<()>();
    // Set when the server starts the close (lagging client, idle timeout), so that the
    // client's close reply is not logged as the client closing.
    let server_closing = Arc::new(AtomicBool::new(false));
    let thread_closing = server_closing.clone();
    let thread_writer = writer.clone();
    let thread_name = name.clone();
    let writer_thread = std::thread::Builder::new()
        .name(format!("room-writer-{id}"))
        .stack_size(128 << 10)
        .spawn(move || {
            room_writer(
                thread_writer,
                mailbox,
                writer_stream,
                &thread_closing,
                id,
                &thread_name,
            );
            let _ = done_tx.send(());
        });
    let writer_thread = match writer_thread {
        Ok(t) => Some(t),
        Err(e) => {
            log::warn(&format!("[{id}] cannot start a writer thread: {e}"));
            let _ = writer.close(CloseCode::Again, "server busy");
            None
        }
    };

    let mut we_closed = false;
    let end = loop {
        match reader.read() {
            Ok(Message::Text(t)) => {
                log::conn(id, &format!("CLIENT >> {}", preview(&t)));
                shared.room.say(id, &t);
            }
            Ok(Message::Binary(b)) => {
                log::conn(
                    id,
                    &format!("CLIENT >> {}", describe_binary(b.len() as u64)),
                );
                shared
                    .room
                    .tell(id, "* only text messages are shared in this room");
            }
            Ok(Message::Close(frame)) => {
                let ours =
                    we_closed || server_closing.load(Ordering::SeqCst) || shared.room.is_closed();
                break close_end(id, shared, ours, frame.as_ref());
            }
            Ok(_) => {}
            Err(Error::Timeout) if !we_closed => {
                log::warn(&format!("[{id}] idle timeout: closing with 1001"));
                we_closed = true;
                if writer.close(CloseCode::Away, "idle timeout").is_err() {
                    break End::ByServer;
                }
            }
            Err(e) => {
                let ours =
                    we_closed || server_closing.load(Ordering::SeqCst) || writer.close_sent();
                break classify_error(id, &e, ours);
            }
        }
    };
    log_end(id, end);
    shared.room_connections.fetch_sub(1, Ordering::AcqRel);
    shared.room.leave(id);
    // The queue is closed now; the writer finishes what is queued (or fails fast on a closed
    // connection). Don't wait for a stuck one: cut the socket instead.
    if done_rx.recv_timeout(Duration::from_secs(2)).is_err() {
        if let Some(s) = &stream {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
    if let Some(t) = writer_thread {
        let _ = t.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_parse_and_pick_the_echo_piece() {
        assert_eq!(parse_cache_size("512K\n"), Some(512 << 10));
        assert_eq!(parse_cache_size("2M"), Some(2 << 20));
        assert_eq!(parse_cache_size("1048576"), Some(1 << 20));
        assert_eq!(parse_cache_size("K"), None);
        assert_eq!(parse_cache_size(""), None);
        assert_eq!(parse_cache_size("lots"), None);
        assert!([64 << 10, 256 << 10].contains(&echo_chunk()));
        if let Some(l2) = l2_cache_bytes() {
            assert_eq!(echo_chunk() == 64 << 10, l2 < 1 << 20, "L2 {l2}");
        }
    }

    #[test]
    fn previews_are_bounded() {
        assert_eq!(preview("short"), "short");
        let long = "é".repeat(500);
        let p = preview(&long);
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 3);
        assert!(p.ends_with("..."));
        assert_eq!(describe_binary(3), "[binary, 3 bytes]");
        assert_eq!(preview("a\nb\tc\u{7f}"), "a\\nb\\tc\\u{7f}");
    }
}
