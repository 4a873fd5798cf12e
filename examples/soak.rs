//! Load, churn and shutdown driver for `scripts/soak.sh` (not part of `cargo test`).
//!
//! ```text
//! soak load     (--url ws://HOST:PORT/ | --inproc) [--mode echo|room] [--conns N] [--secs S]
//!               [--window W] [--senders K] [--rate R] [--pid PID]
//! soak churn    (--url URL | --inproc) [--cycles N] [--parallel P] [--pid PID]
//! soak shutdown (--url URL --pid PID [--signal TERM] | --inproc) [--mode echo|room] [--conns N]
//!               [--senders K] [--rate R]
//! ```
//!
//! Every message carries its connection number, a sequence number and a checksum of its
//! payload, so the driver tells lost, duplicated, reordered and corrupted messages apart.
//! - `load`, echo mode: every connection pipelines up to `W` messages (text and binary, 0 to
//!   16 KiB, now and then 64 KiB) and checks every echo. Room mode: every connection joins the
//!   room (`?name=cN`), `K` of them send `R` messages/s each, and every member checks that it
//!   got every message of every sender, once, in order, intact.
//! - `churn`: connect, handshake, one echo, close, `N` times; the server's fds and threads must
//!   come back to their baseline and its RSS must stay flat.
//! - `shutdown`: clients busy sending when the server is told to stop (SIGTERM/SIGINT to `PID`, or
//!   [`ShutdownHandle::shutdown`] in process): each must get close 1001 after in-order echoes, and
//!   none may see a reset.
//!
//! With `--pid`, the server's peak RSS (VmHWM), threads and fds come from `/proc/PID/status`.
//! `--inproc` runs an echo or room server inside the driver instead of `ws-server`. The exit
//! status is 0 only if every check passed; the last line is a one-line summary.

use std::collections::HashMap;
use std::net::TcpStream;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ws6455::server::{Server, ShutdownHandle};
use ws6455::socket::{WebSocket, WsWriter};
use ws6455::{CloseCode, Config, Error, Message};

// ------------------------------------------------------------------------------------------
// Arguments
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Echo,
    Room,
}

#[derive(Debug, Clone)]
struct Args {
    cmd: String,
    url: Option<String>,
    inproc: bool,
    mode: Mode,
    conns: usize,
    secs: f64,
    window: u64,
    senders: usize,
    rate: f64,
    cycles: usize,
    parallel: usize,
    pid: Option<u32>,
    signal: String,
}

fn usage() -> ! {
    eprintln!(
        "usage: soak load|churn|shutdown (--url URL | --inproc) [--mode echo|room] [--conns N] \
         [--secs S] [--window W] [--senders K] [--rate R] [--cycles N] [--parallel P] \
         [--pid PID] [--signal TERM|INT]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_else(|| usage());
    let mut a = Args {
        cmd,
        url: None,
        inproc: false,
        mode: Mode::Echo,
        conns: 100,
        secs: 10.0,
        window: 16,
        senders: 10,
        rate: 10.0,
        cycles: 1000,
        parallel: 8,
        pid: None,
        signal: "TERM".into(),
    };
    while let Some(flag) = it.next() {
        if flag == "--inproc" {
            a.inproc = true;
            continue;
        }
        let value = it.next().unwrap_or_else(|| usage());
        let num = |v: &str| -> f64 { v.parse().unwrap_or_else(|_| usage()) };
        match flag.as_str() {
            "--url" => a.url = Some(value),
            "--mode" => {
                a.mode = match value.as_str() {
                    "echo" => Mode::Echo,
                    "room" => Mode::Room,
                    _ => usage(),
                }
            }
            "--conns" => a.conns = num(&value) as usize,
            "--secs" => a.secs = num(&value),
            "--window" => a.window = num(&value).max(1.0) as u64,
            "--senders" => a.senders = num(&value) as usize,
            "--rate" => a.rate = num(&value),
            "--cycles" => a.cycles = num(&value) as usize,
            "--parallel" => a.parallel = num(&value).max(1.0) as usize,
            "--pid" => a.pid = Some(num(&value) as u32),
            "--signal" => a.signal = value,
            _ => usage(),
        }
    }
    if a.url.is_none() && !a.inproc {
        usage();
    }
    a
}

// ------------------------------------------------------------------------------------------
// Server process metrics (/proc)
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default)]
struct ProcStats {
    rss_kb: u64,
    hwm_kb: u64,
    threads: u64,
    fds: u64,
}

/// Reads `/proc/PID/status` and `/proc/PID/fd`. In process, only the server's connection
/// threads (named `ws-N`) are counted, since the driver's own threads share the process.
fn proc_stats(pid: Option<u32>) -> ProcStats {
    let base = match pid {
        Some(p) => format!("/proc/{p}"),
        None => "/proc/self".to_string(),
    };
    let mut s = ProcStats::default();
    if let Ok(status) = std::fs::read_to_string(format!("{base}/status")) {
        for line in status.lines() {
            let field = |l: &str| -> u64 {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            if line.starts_with("VmRSS:") {
                s.rss_kb = field(line);
            } else if line.starts_with("VmHWM:") {
                s.hwm_kb = field(line);
            } else if line.starts_with("Threads:") {
                s.threads = field(line);
            }
        }
    }
    if pid.is_none() {
        s.threads = std::fs::read_dir("/proc/self/task")
            .map(|d| {
                d.filter_map(|t| t.ok())
                    .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                    .filter(|n| n.starts_with("ws-"))
                    .count() as u64
            })
            .unwrap_or(0);
    }
    s.fds = std::fs::read_dir(format!("{base}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    s
}

// ------------------------------------------------------------------------------------------
// Messages: "CONN SEQ CRC PAYLOAD", the CRC (FNV-1a, 32 bits) over PAYLOAD
// ------------------------------------------------------------------------------------------

fn fnv1a(data: &[u8]) -> u32 {
    let mut h = 0x811c_9dc5u32;
    for &b in data {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Deterministic payload for (conn, seq): printable ASCII, mostly small, sometimes large.
fn payload(conn: usize, seq: u64, room: bool) -> String {
    let mut x =
        (conn as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seq.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let len = match seq % 1000 {
        _ if room => (next() % 200) as usize,
        999 => 64 << 10,
        n if n % 50 == 0 => (next() % (16 << 10)) as usize,
        _ => (next() % 300) as usize,
    };
    (0..len)
        .map(|_| (b'!' + (next() % 94) as u8) as char)
        .collect()
}

fn encode(conn: usize, seq: u64, room: bool) -> String {
    let p = payload(conn, seq, room);
    format!("{conn} {seq} {:08x} {p}", fnv1a(p.as_bytes()))
}

/// Parses "CONN SEQ CRC PAYLOAD"; `None` if malformed or the checksum does not match.
fn decode(text: &str) -> Option<(usize, u64)> {
    let mut parts = text.splitn(4, ' ');
    let conn = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    let crc = u32::from_str_radix(parts.next()?, 16).ok()?;
    let p = parts.next()?;
    (fnv1a(p.as_bytes()) == crc).then_some((conn, seq))
}

// ------------------------------------------------------------------------------------------
// Shared counters
// ------------------------------------------------------------------------------------------

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    bytes: AtomicU64,
    lost: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    corrupted: AtomicU64,
    unexpected_closes: AtomicU64,
    resets: AtomicU64,
    errors: AtomicU64,
    close_1001: AtomicU64,
    notes: Mutex<Vec<String>>,
}

impl Counters {
    fn note(&self, what: String) {
        let mut n = self.notes.lock().unwrap_or_else(|p| p.into_inner());
        if n.len() < 20 {
            n.push(what);
        }
    }

    fn failures(&self) -> u64 {
        [
            &self.lost,
            &self.duplicated,
            &self.reordered,
            &self.corrupted,
            &self.unexpected_closes,
            &self.resets,
            &self.errors,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }

    fn report(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "sent {} received {} lost {} duplicated {} reordered {} corrupted {} unexpected_closes {} resets {} errors {}",
            g(&self.sent),
            g(&self.received),
            g(&self.lost),
            g(&self.duplicated),
            g(&self.reordered),
            g(&self.corrupted),
            g(&self.unexpected_closes),
            g(&self.resets),
            g(&self.errors)
        )
    }
}

fn is_reset(e: &Error) -> bool {
    matches!(e, Error::Io(io) if matches!(
        io.kind(),
        std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionAborted
    ))
}

fn count_error(c: &Counters, conn: usize, what: &str, e: &Error) {
    if is_reset(e) {
        c.resets.fetch_add(1, Ordering::Relaxed);
    } else {
        c.errors.fetch_add(1, Ordering::Relaxed);
    }
    c.note(format!("conn {conn}: {what}: {e}"));
}

/// Checks one received sequence number against the expected one.
fn check_seq(c: &Counters, expected: &mut u64, seq: u64) {
    match seq.cmp(expected) {
        std::cmp::Ordering::Equal => *expected += 1,
        std::cmp::Ordering::Greater => {
            c.lost.fetch_add(seq - *expected, Ordering::Relaxed);
            c.note(format!("gap: expected #{expected}, got #{seq}"));
            *expected = seq + 1;
        }
        std::cmp::Ordering::Less => {
            // Seen before (duplicate) or overtaken (reordered): we cannot tell which without
            // remembering every number, so count it as a duplicate unless it is a straggler.
            if seq + 1 == *expected {
                c.duplicated.fetch_add(1, Ordering::Relaxed);
            } else {
                c.reordered.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn connect(url: &str, name: &str) -> ws6455::Result<WebSocket<TcpStream>> {
    let sep = if url.contains('?') { '&' } else { '?' };
    let config = Config::default()
        .connect_timeout(Some(Duration::from_secs(20)))
        .handshake_timeout(Some(Duration::from_secs(30)));
    let mut last = None;
    // The listen backlog can overflow while a thousand clients connect at once: retry.
    for _ in 0..5 {
        match ws6455::client::ClientBuilder::new(format!("{url}{sep}name={name}"))
            .config(config.clone())
            .connect()
        {
            Ok((ws, _)) => return Ok(ws),
            Err(e) => {
                last = Some(e);
                thread::sleep(Duration::from_millis(200));
            }
        }
    }
    Err(last.expect("at least one attempt"))
}

fn spawn<T: Send + 'static>(
    name: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    thread::Builder::new()
        .name(name)
        .stack_size(256 << 10)
        .spawn(f)
        .expect("spawn a driver thread")
}

// ------------------------------------------------------------------------------------------
// In-process servers (used when ws-server is not available)
// ------------------------------------------------------------------------------------------

struct InProc {
    url: String,
    handle: ShutdownHandle,
    thread: thread::JoinHandle<()>,
}

fn start_inproc(mode: Mode) -> InProc {
    let config = Config::default().max_connections(20_000);
    let server = Server::bind_with_config("127.0.0.1:0", config).expect("bind");
    let url = format!("ws://{}/", server.local_addr().expect("addr"));
    let handle = server.shutdown_handle();
    let room: Arc<Mutex<HashMap<u64, WsWriter>>> = Arc::default();
    let next = Arc::new(AtomicU64::new(0));
    let thread = spawn("inproc-server".into(), move || {
        let result = server.serve(move |ws| match mode {
            Mode::Echo => {
                let mut ws = ws;
                loop {
                    match ws.read() {
                        Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                            if ws.write(m).is_err() {
                                break;
                            }
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            }
            Mode::Room => {
                let name = ws
                    .request()
                    .and_then(|r| r.query_param("name"))
                    .map_or_else(|| "guest".to_string(), |n| n.into_owned());
                let id = next.fetch_add(1, Ordering::Relaxed);
                let Ok((mut reader, writer)) = ws.split() else {
                    return;
                };
                {
                    let mut members = room.lock().unwrap();
                    members.insert(id, writer);
                    let line = format!("* {name} joined");
                    for w in members.values() {
                        let _ = w.send_text(&line);
                    }
                }
                while let Ok(m) = reader.read() {
                    if let Message::Text(t) = m {
                        let line = format!("{name}: {t}");
                        // Broadcast under the lock: every member sees the same order.
                        let members = room.lock().unwrap();
                        for w in members.values() {
                            let _ = w.send_text(&line);
                        }
                    }
                }
                room.lock().unwrap().remove(&id);
            }
        });
        result.expect("serve");
    });
    InProc {
        url,
        handle,
        thread,
    }
}

// ------------------------------------------------------------------------------------------
// load
// ------------------------------------------------------------------------------------------

/// Flow control for one echo connection: how many echoes came back.
#[derive(Default)]
struct Window {
    acked: Mutex<u64>,
    cond: Condvar,
}

fn echo_connection(
    conn: usize,
    url: &str,
    secs: f64,
    window: u64,
    c: Arc<Counters>,
    start: Arc<std::sync::Barrier>,
) {
    let ws = match connect(url, &format!("c{conn}")) {
        Ok(ws) => ws,
        Err(e) => {
            count_error(&c, conn, "connect", &e);
            start.wait();
            return;
        }
    };
    let (mut reader, writer) = match ws.split() {
        Ok(h) => h,
        Err(e) => {
            count_error(&c, conn, "split", &e);
            start.wait();
            return;
        }
    };
    start.wait();
    let win = Arc::new(Window::default());
    let stop = Arc::new(AtomicBool::new(false));
    let sent_total = Arc::new(AtomicU64::new(0));
    let w = {
        let (win, stop, sent_total, c) = (win.clone(), stop.clone(), sent_total.clone(), c.clone());
        let writer = writer.clone();
        spawn(format!("w{conn}"), move || {
            let deadline = Instant::now() + Duration::from_secs_f64(secs);
            let mut seq = 0u64;
            while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                {
                    let mut acked = win.acked.lock().unwrap();
                    while seq - *acked >= window && !stop.load(Ordering::Relaxed) {
                        acked = win
                            .cond
                            .wait_timeout(acked, Duration::from_millis(100))
                            .unwrap()
                            .0;
                    }
                }
                let text = encode(conn, seq, false);
                let len = text.len() as u64;
                let msg = if seq % 2 == 1 {
                    Message::Binary(text.into_bytes())
                } else {
                    Message::Text(text)
                };
                if let Err(e) = writer.send(msg) {
                    count_error(&c, conn, "send", &e);
                    break;
                }
                c.sent.fetch_add(1, Ordering::Relaxed);
                c.bytes.fetch_add(len, Ordering::Relaxed);
                seq += 1;
                sent_total.store(seq, Ordering::Release);
            }
        })
    };
    let mut expected = 0u64;
    let mut writer_done_at: Option<Instant> = None;
    let _ = reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(500)));
    loop {
        // Once the writer is done and every echo is in, close.
        if w.is_finished() {
            let done = *writer_done_at.get_or_insert_with(Instant::now);
            let total = sent_total.load(Ordering::Acquire);
            if expected >= total || done.elapsed() > Duration::from_secs(30) {
                if expected < total {
                    c.lost.fetch_add(total - expected, Ordering::Relaxed);
                    c.note(format!(
                        "conn {conn}: {} echoes missing at the end",
                        total - expected
                    ));
                }
                break;
            }
        }
        match reader.read() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                let binary = m.is_binary();
                let text = match m {
                    Message::Text(t) => Some(t),
                    Message::Binary(b) => String::from_utf8(b).ok(),
                    _ => None,
                };
                match text.as_deref().and_then(decode) {
                    Some((from, seq)) if from == conn && binary == (seq % 2 == 1) => {
                        check_seq(&c, &mut expected, seq);
                        c.received.fetch_add(1, Ordering::Relaxed);
                        *win.acked.lock().unwrap() = expected;
                        win.cond.notify_one();
                    }
                    _ => {
                        c.corrupted.fetch_add(1, Ordering::Relaxed);
                        c.note(format!("conn {conn}: corrupted echo"));
                    }
                }
            }
            Ok(Message::Close(f)) => {
                c.unexpected_closes.fetch_add(1, Ordering::Relaxed);
                c.note(format!("conn {conn}: unexpected close {f:?}"));
                stop.store(true, Ordering::Relaxed);
                let _ = w.join();
                return;
            }
            Ok(_) => {}
            Err(Error::Timeout) => {}
            Err(Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => {
                count_error(&c, conn, "read", &e);
                stop.store(true, Ordering::Relaxed);
                win.cond.notify_one();
                let _ = w.join();
                return;
            }
        }
    }
    let _ = w.join();
    close_cleanly(conn, &mut reader, &writer, &c);
}

/// Sends close 1000 and reads until the server's reply and the end of the connection.
fn close_cleanly(
    conn: usize,
    reader: &mut ws6455::socket::WsReader,
    writer: &WsWriter,
    c: &Counters,
) {
    let _ = reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(20)));
    if let Err(e) = writer.close(CloseCode::Normal, "done") {
        count_error(c, conn, "close", &e);
        return;
    }
    loop {
        match reader.read() {
            Ok(Message::Close(Some(f))) if f.code == CloseCode::Normal => {}
            Ok(Message::Close(f)) => {
                c.unexpected_closes.fetch_add(1, Ordering::Relaxed);
                c.note(format!("conn {conn}: close reply {f:?}"));
            }
            Ok(_) => {} // late room traffic
            Err(Error::ConnectionClosed) => return,
            Err(e) => {
                count_error(c, conn, "closing", &e);
                return;
            }
        }
    }
}

/// One room member; members `< senders` also send `rate` messages/s.
#[allow(clippy::too_many_arguments)]
fn room_connection(
    conn: usize,
    url: &str,
    secs: f64,
    senders: usize,
    rate: f64,
    c: Arc<Counters>,
    start: Arc<std::sync::Barrier>,
    sent_by: Arc<Vec<AtomicU64>>,
    senders_done: Arc<AtomicBool>,
) {
    let ws = match connect(url, &format!("c{conn}")) {
        Ok(ws) => ws,
        Err(e) => {
            count_error(&c, conn, "connect", &e);
            start.wait();
            return;
        }
    };
    let (mut reader, writer) = match ws.split() {
        Ok(h) => h,
        Err(e) => {
            count_error(&c, conn, "split", &e);
            start.wait();
            return;
        }
    };
    // Everyone is in the room before anyone speaks, so every member must see everything. The
    // server adds a member after the handshake, and announces it to everyone, the newcomer
    // included: wait for our own announcement.
    let _ = reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)));
    let me = format!("* c{conn} joined");
    loop {
        match reader.read() {
            Ok(Message::Text(t)) if t == me => break,
            Ok(_) => {}
            Err(e) => {
                count_error(&c, conn, "waiting to join", &e);
                start.wait();
                return;
            }
        }
    }
    start.wait();
    let w = (conn < senders).then(|| {
        let (writer, c, sent_by) = (writer.clone(), c.clone(), sent_by.clone());
        spawn(format!("w{conn}"), move || {
            let begin = Instant::now();
            let deadline = begin + Duration::from_secs_f64(secs);
            let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
            let mut seq = 0u64;
            while Instant::now() < deadline {
                if let Err(e) = writer.send_text(encode(conn, seq, true)) {
                    count_error(&c, conn, "send", &e);
                    break;
                }
                c.sent.fetch_add(1, Ordering::Relaxed);
                seq += 1;
                sent_by[conn].store(seq, Ordering::Release);
                let due = begin + period.mul_f64(seq as f64);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    thread::sleep(wait);
                }
            }
        })
    });
    let mut expected = vec![0u64; senders];
    let mut done_at: Option<Instant> = None;
    let _ = reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(500)));
    loop {
        if senders_done.load(Ordering::Acquire) {
            let since = *done_at.get_or_insert_with(Instant::now);
            let complete = (0..senders).all(|j| expected[j] >= sent_by[j].load(Ordering::Acquire));
            if complete || since.elapsed() > Duration::from_secs(30) {
                for (j, e) in expected.iter().enumerate() {
                    let total = sent_by[j].load(Ordering::Acquire);
                    if *e < total {
                        c.lost.fetch_add(total - e, Ordering::Relaxed);
                        c.note(format!(
                            "conn {conn}: {} messages of c{j} missing",
                            total - e
                        ));
                    }
                }
                break;
            }
        }
        match reader.read() {
            Ok(Message::Text(t)) => {
                if t.starts_with("* ") {
                    continue; // joined/left notices
                }
                let parsed = t.split_once(": ").and_then(|(name, body)| {
                    let (from, seq) = decode(body)?;
                    (name == format!("c{from}") && from < senders).then_some((from, seq))
                });
                match parsed {
                    Some((from, seq)) => {
                        check_seq(&c, &mut expected[from], seq);
                        c.received.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {
                        c.corrupted.fetch_add(1, Ordering::Relaxed);
                        c.note(format!(
                            "conn {conn}: corrupted line {:?}",
                            &t[..t.len().min(60)]
                        ));
                    }
                }
            }
            Ok(Message::Close(f)) => {
                c.unexpected_closes.fetch_add(1, Ordering::Relaxed);
                c.note(format!("conn {conn}: unexpected close {f:?}"));
                if let Some(w) = w {
                    let _ = w.join();
                }
                return;
            }
            Ok(_) => {}
            Err(Error::Timeout) => {}
            Err(Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => {
                count_error(&c, conn, "read", &e);
                if let Some(w) = w {
                    let _ = w.join();
                }
                return;
            }
        }
    }
    if let Some(w) = w {
        let _ = w.join();
    }
    close_cleanly(conn, &mut reader, &writer, &c);
}

fn load(a: &Args, url: &str) -> bool {
    let c = Arc::new(Counters::default());
    let start = Arc::new(std::sync::Barrier::new(a.conns + 1));
    let senders = a.senders.min(a.conns);
    let sent_by: Arc<Vec<AtomicU64>> = Arc::new((0..senders).map(|_| AtomicU64::new(0)).collect());
    let senders_done = Arc::new(AtomicBool::new(false));
    let before = proc_stats(a.pid);
    let mut threads = Vec::new();
    for conn in 0..a.conns {
        let (url, c, start) = (url.to_string(), c.clone(), start.clone());
        let (sent_by, senders_done) = (sent_by.clone(), senders_done.clone());
        let (mode, secs, window, rate) = (a.mode, a.secs, a.window, a.rate);
        threads.push(spawn(format!("c{conn}"), move || match mode {
            Mode::Echo => echo_connection(conn, &url, secs, window, c, start),
            Mode::Room => room_connection(
                conn,
                &url,
                secs,
                senders,
                rate,
                c,
                start,
                sent_by,
                senders_done,
            ),
        }));
        if conn % 100 == 99 {
            thread::sleep(Duration::from_millis(20));
        }
    }
    start.wait();
    let connected = proc_stats(a.pid);
    let t0 = Instant::now();
    let mut peak = connected;
    let mut last_print = Instant::now();
    while t0.elapsed() < Duration::from_secs_f64(a.secs) {
        thread::sleep(Duration::from_millis(200));
        let s = proc_stats(a.pid);
        peak.hwm_kb = peak.hwm_kb.max(s.hwm_kb);
        peak.rss_kb = peak.rss_kb.max(s.rss_kb);
        peak.threads = peak.threads.max(s.threads);
        peak.fds = peak.fds.max(s.fds);
        if last_print.elapsed() > Duration::from_secs(30) {
            last_print = Instant::now();
            eprintln!(
                "  .. {:.0}s: {} (server rss {} KiB, threads {}, fds {})",
                t0.elapsed().as_secs_f64(),
                c.report(),
                s.rss_kb,
                s.threads,
                s.fds
            );
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    senders_done.store(true, Ordering::Release);
    for t in threads {
        if t.join().is_err() {
            c.errors.fetch_add(1, Ordering::Relaxed);
            c.note("a client thread panicked".into());
        }
    }
    let after = proc_stats(a.pid);
    let received = c.received.load(Ordering::Relaxed);
    let sent = c.sent.load(Ordering::Relaxed);
    println!(
        "load {mode:?}: {conns} connections for {elapsed:.0}s: {sent} sent ({:.0} msgs/s, {:.1} MB/s out), \
         {received} delivered ({:.0} msgs/s)",
        sent as f64 / elapsed,
        c.bytes.load(Ordering::Relaxed) as f64 / elapsed / 1e6,
        received as f64 / elapsed,
        mode = a.mode,
        conns = a.conns,
    );
    println!("  {}", c.report());
    println!(
        "  server: peak RSS (VmHWM) {} KiB, RSS before/connected/after {}/{}/{} KiB, threads {}/{}/{} (peak {}), fds {}/{}/{} (peak {})",
        peak.hwm_kb.max(after.hwm_kb),
        before.rss_kb,
        connected.rss_kb,
        after.rss_kb,
        before.threads,
        connected.threads,
        after.threads,
        peak.threads,
        before.fds,
        connected.fds,
        after.fds,
        peak.fds
    );
    print_notes(&c);
    let ok = c.failures() == 0 && received > 0;
    println!(
        "RESULT load {:?}: {}",
        a.mode,
        if ok { "PASS" } else { "FAIL" }
    );
    ok
}

fn print_notes(c: &Counters) {
    for n in c.notes.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        println!("  ! {n}");
    }
}

// ------------------------------------------------------------------------------------------
// churn
// ------------------------------------------------------------------------------------------

fn churn_cycle(url: &str, i: usize) -> std::result::Result<(), String> {
    let (mut ws, resp) = ws6455::client::connect(url).map_err(|e| format!("connect: {e}"))?;
    if resp.status != 101 {
        return Err(format!("status {}", resp.status));
    }
    let text = format!("churn {i}");
    ws.send_text(&text).map_err(|e| format!("send: {e}"))?;
    match ws.read() {
        Ok(Message::Text(t)) if t == text => {}
        other => return Err(format!("echo: {other:?}")),
    }
    ws.close(CloseCode::Normal, "")
        .map_err(|e| format!("close: {e}"))?;
    loop {
        match ws.read() {
            Ok(Message::Close(_)) => {}
            Ok(other) => return Err(format!("after close: {other:?}")),
            Err(Error::ConnectionClosed) => return Ok(()),
            Err(e) => return Err(format!("closing: {e}")),
        }
    }
}

fn churn(a: &Args, url: &str) -> bool {
    // Warm up (thread stacks, allocator arenas), then take the baseline.
    for i in 0..50 {
        let _ = churn_cycle(url, i);
    }
    let settle = || {
        // Connection threads end just after their client sees the close.
        thread::sleep(Duration::from_millis(300));
        proc_stats(a.pid)
    };
    let base = settle();
    let failures = Arc::new(AtomicU64::new(0));
    let notes = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let mut workers = Vec::new();
    let mid_rss = Arc::new(AtomicU64::new(0));
    for w in 0..a.parallel {
        let (url, failures, notes, next, mid_rss) = (
            url.to_string(),
            failures.clone(),
            notes.clone(),
            next.clone(),
            mid_rss.clone(),
        );
        let (cycles, pid) = (a.cycles as u64, a.pid);
        workers.push(spawn(format!("churn{w}"), move || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= cycles {
                break;
            }
            if i == cycles / 2 {
                mid_rss.store(proc_stats(pid).rss_kb, Ordering::Relaxed);
            }
            if let Err(e) = churn_cycle(&url, i as usize) {
                failures.fetch_add(1, Ordering::Relaxed);
                let mut n = notes.lock().unwrap();
                if n.len() < 10 {
                    n.push(format!("cycle {i}: {e}"));
                }
            }
        }));
    }
    for w in workers {
        let _ = w.join();
    }
    let elapsed = t0.elapsed().as_secs_f64();
    // fds and threads must come back to the baseline (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut after = settle();
    while (after.fds > base.fds || after.threads > base.threads) && Instant::now() < deadline {
        after = settle();
    }
    let failed = failures.load(Ordering::Relaxed);
    let leak = after.fds > base.fds || after.threads > base.threads;
    // "Flat": RSS after the run no more than 20% (and 8 MiB) above the warmed-up baseline.
    let rss_grew = after.rss_kb > base.rss_kb + (base.rss_kb / 5).max(8 << 10);
    println!(
        "churn: {} connect/handshake/echo/close cycles ({} parallel) in {elapsed:.1}s ({:.0} cycles/s), {failed} failed",
        a.cycles,
        a.parallel,
        a.cycles as f64 / elapsed
    );
    println!(
        "  server: fds {} -> {}, threads {} -> {}, RSS {} -> {} (mid-run {}) KiB, peak RSS (VmHWM) {} KiB",
        base.fds,
        after.fds,
        base.threads,
        after.threads,
        base.rss_kb,
        after.rss_kb,
        mid_rss.load(Ordering::Relaxed),
        after.hwm_kb
    );
    for n in notes.lock().unwrap().iter() {
        println!("  ! {n}");
    }
    let ok = failed == 0 && !leak && !rss_grew;
    println!(
        "RESULT churn: {}{}{}",
        if ok { "PASS" } else { "FAIL" },
        if leak { " (fd/thread leak)" } else { "" },
        if rss_grew { " (RSS grew)" } else { "" }
    );
    ok
}

// ------------------------------------------------------------------------------------------
// shutdown
// ------------------------------------------------------------------------------------------

/// A busy client until the server goes away: echo mode checks its echoes; room mode just
/// talks. Returns the close code it got (None if none).
fn busy_client(
    conn: usize,
    url: &str,
    (mode, senders, rate): (Mode, usize, f64),
    c: Arc<Counters>,
    warm: Arc<AtomicUsize>,
) {
    let ws = match connect(url, &format!("s{conn}")) {
        Ok(ws) => ws,
        Err(e) => {
            count_error(&c, conn, "connect", &e);
            warm.fetch_add(1, Ordering::AcqRel);
            return;
        }
    };
    let Ok((mut reader, writer)) = ws.split() else {
        c.errors.fetch_add(1, Ordering::Relaxed);
        warm.fetch_add(1, Ordering::AcqRel);
        return;
    };
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let w = {
        let (c, acked, stop) = (c.clone(), acked.clone(), stop.clone());
        spawn(format!("w{conn}"), move || {
            let mut seq = 0u64;
            loop {
                // At most 32 in flight in echo mode; a steady trickle in room mode.
                if stop.load(Ordering::Acquire) {
                    return;
                }
                if mode == Mode::Echo && seq - acked.load(Ordering::Acquire) >= 32 {
                    thread::sleep(Duration::from_millis(1));
                    continue;
                }
                match writer.send_text(encode(conn, seq, true)) {
                    Ok(()) => {
                        c.sent.fetch_add(1, Ordering::Relaxed);
                        seq += 1;
                    }
                    Err(Error::AlreadyClosed) => return, // we answered the server's close
                    Err(e) => {
                        count_error(&c, conn, "send", &e);
                        return;
                    }
                }
                if mode == Mode::Room {
                    // `senders` talkers at the load phase's rate, everyone else says one
                    // line: the fan-out stays within what the load phase proved.
                    if conn >= senders {
                        return;
                    }
                    thread::sleep(Duration::from_secs_f64(1.0 / rate.max(0.001)));
                }
            }
        })
    };
    let mut expected = 0u64;
    let mut warmed = false;
    let mut close = None;
    let _ = reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)));
    loop {
        match reader.read() {
            Ok(Message::Text(t)) => {
                if mode == Mode::Echo {
                    match decode(&t) {
                        Some((from, seq)) if from == conn => {
                            check_seq(&c, &mut expected, seq);
                            acked.store(expected, Ordering::Release);
                        }
                        _ => {
                            c.corrupted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                } else if t.starts_with(&format!("s{conn}: "))
                    || (conn >= senders && !t.starts_with("* "))
                {
                    // A talker counts its own lines; a listener counts what it hears.
                    expected += 1;
                }
                c.received.fetch_add(1, Ordering::Relaxed);
                if !warmed && expected >= 5 {
                    // Counted, never waited on here: a reader parked at a barrier would stop
                    // reading, and the room would rightly drop it (and its talkers) as too slow.
                    warmed = true;
                    warm.fetch_add(1, Ordering::AcqRel);
                }
            }
            Ok(Message::Close(f)) => close = Some(f),
            Ok(_) => {}
            Err(Error::ConnectionClosed) => break,
            Err(e) => {
                count_error(&c, conn, "read", &e);
                break;
            }
        }
    }
    if !warmed {
        warm.fetch_add(1, Ordering::AcqRel);
    }
    stop.store(true, Ordering::Release);
    let _ = w.join();
    match close {
        Some(Some(f)) if f.code == CloseCode::Away => {
            c.close_1001.fetch_add(1, Ordering::Relaxed);
        }
        other => {
            c.unexpected_closes.fetch_add(1, Ordering::Relaxed);
            c.note(format!("conn {conn}: ended with close {other:?}, not 1001"));
        }
    }
}

fn shutdown(a: &Args, url: &str, inproc: Option<&ShutdownHandle>) -> bool {
    let c = Arc::new(Counters::default());
    let warm = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for conn in 0..a.conns {
        let (url, c, warm) = (url.to_string(), c.clone(), warm.clone());
        let load = (a.mode, a.senders, a.rate);
        threads.push(spawn(format!("s{conn}"), move || {
            busy_client(conn, &url, load, c, warm)
        }));
    }
    // Every client has seen some traffic and is still sending (bounded: a client that never
    // warms up is reported by its own thread).
    let warm_deadline = Instant::now() + Duration::from_secs(120);
    while warm.load(Ordering::Acquire) < a.conns && Instant::now() < warm_deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let t0 = Instant::now();
    match inproc {
        Some(h) => {
            let left = h.shutdown();
            if left > 0 {
                c.errors.fetch_add(1, Ordering::Relaxed);
                c.note(format!(
                    "{left} connections still open after the shutdown wait"
                ));
            }
        }
        None => {
            let pid = a.pid.expect("--pid is required for shutdown with --url");
            let status = Command::new("kill")
                .arg(format!("-{}", a.signal))
                .arg(pid.to_string())
                .status();
            if !status.map(|s| s.success()).unwrap_or(false) {
                c.errors.fetch_add(1, Ordering::Relaxed);
                c.note(format!("kill -{} {pid} failed", a.signal));
            }
        }
    }
    for t in threads {
        if t.join().is_err() {
            c.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    let took = t0.elapsed().as_secs_f64();
    let got = c.close_1001.load(Ordering::Relaxed);
    println!(
        "shutdown {:?} ({}): {} busy clients, {got} got close 1001, all ended in {took:.1}s; {}",
        a.mode,
        if inproc.is_some() {
            "ShutdownHandle".to_string()
        } else {
            format!("SIG{}", a.signal)
        },
        a.conns,
        c.report()
    );
    print_notes(&c);
    let ok = c.failures() == 0 && got == a.conns as u64;
    println!(
        "RESULT shutdown {:?}: {}",
        a.mode,
        if ok { "PASS" } else { "FAIL" }
    );
    ok
}

fn main() -> ExitCode {
    let a = parse_args();
    let inproc = a.inproc.then(|| start_inproc(a.mode));
    let url = match (&inproc, &a.url) {
        (Some(s), _) => s.url.clone(),
        (None, Some(u)) => u.clone(),
        (None, None) => usage(),
    };
    let ok = match a.cmd.as_str() {
        "load" => load(&a, &url),
        "churn" => churn(&a, &url),
        "shutdown" => shutdown(&a, &url, inproc.as_ref().map(|s| &s.handle)),
        _ => usage(),
    };
    if let Some(s) = inproc {
        if a.cmd != "shutdown" {
            s.handle.shutdown();
        }
        let _ = s.thread.join();
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
