//! A load generator for WebSocket echo servers, built on this crate's blocking client (so client
//! frames are masked with the crate's fast XOR). Used by `scripts/bench-servers.sh`. The
//! stream and big scenarios drive the TCP stream directly after the handshake (`LeanTx`,
//! `LeanRx`: batched writes, frames masked as they are copied, each large one built while the
//! previous one's echo is on its way, large reads that only count payload bytes), and so does
//! pingpong; so the client costs about what the raw TCP client costs, whichever server it
//! drives (`tests/loadgen.rs` checks every frame it sends).
//!
//! ```text
//! cargo run --release --example loadgen -- --url ws://127.0.0.1:9001/ --scenario pingpong --conns 16
//! ```
//!
//! Every run is bounded in time (`--secs`, at most 60) and in messages (`--max-msgs`), and only
//! talks to loopback addresses. It prints one machine-readable line per result:
//!
//! ```text
//! RESULT label=ours scenario=pingpong conns=16 size=32 window=1 msgs=123456 secs=3.001 msgs_per_s=41138 mb_per_s=1.32 p50_us=380.1 p99_us=912.4 p999_us=2210.0
//! ```
//!
//! Scenarios:
//! - `pingpong`: `--conns` connections, each sends one `--size`-byte binary message and waits for
//!   its echo, over and over; throughput and round-trip latency percentiles.
//! - `stream`: each connection keeps `--window` messages in flight (a writer and a reader thread
//!   per connection); msgs/s and MB/s (payload bytes echoed, one direction).
//! - `big`: `stream` with one connection and a window of one, for `--size` of 1 MiB or more.
//! - `idle`: opens `--conns` connections and holds them, reads the server's RSS and thread count
//!   from `/proc/PID/status` (`--server-pid`), then sends one message on each and counts echoes.
//! - `connrate`: `--conns` threads each connect, handshake and close as fast as they can.
//!
//! `--raw` speaks plain TCP instead (no handshake, no framing: a message is `--size` bytes), for
//! the raw TCP echo server that gives the ceiling.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};

use ws6455::client::ClientBuilder;
use ws6455::frame::{FrameHeader, OpCode};
use ws6455::mask::mask_into;
use ws6455::socket::WebSocket;
use ws6455::{CloseCode, Config, Message};

#[derive(Clone, Debug)]
struct Opts {
    url: String,
    addr: SocketAddr,
    raw: bool,
    label: String,
    scenario: String,
    conns: usize,
    size: usize,
    window: usize,
    secs: f64,
    max_msgs: u64,
    server_pid: Option<u32>,
    /// Count the server's system calls with `strace -c -f` (slows the server: the throughput
    /// of such a run is not a figure to quote).
    syscalls: bool,
}

fn usage(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    eprintln!(
        "usage: loadgen --url ws://127.0.0.1:PORT/ --scenario pingpong|stream|big|idle|connrate \
         [--conns N] [--size BYTES] [--window N] [--secs S] [--max-msgs N] [--label NAME] \
         [--server-pid PID] [--raw] [--syscalls]"
    );
    std::process::exit(2)
}

fn parse_opts() -> Opts {
    let mut o = Opts {
        url: String::new(),
        addr: "127.0.0.1:0".parse().unwrap(),
        raw: false,
        label: "server".into(),
        scenario: "pingpong".into(),
        conns: 1,
        size: 32,
        window: 1,
        secs: 3.0,
        max_msgs: 20_000_000,
        server_pid: None,
        syscalls: false,
    };
    let mut args = std::env::args().skip(1);
    let mut window_given = false;
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--url" => o.url = val(),
            "--raw" => o.raw = true,
            "--syscalls" => o.syscalls = true,
            "--label" => o.label = val(),
            "--scenario" => o.scenario = val(),
            "--conns" => o.conns = val().parse().unwrap_or_else(|_| usage("bad --conns")),
            "--size" => o.size = parse_size(&val()),
            "--window" => {
                o.window = val().parse().unwrap_or_else(|_| usage("bad --window"));
                window_given = true;
            }
            "--secs" => o.secs = val().parse().unwrap_or_else(|_| usage("bad --secs")),
            "--max-msgs" => o.max_msgs = val().parse().unwrap_or_else(|_| usage("bad --max-msgs")),
            "--server-pid" => {
                o.server_pid = Some(val().parse().unwrap_or_else(|_| usage("bad --server-pid")))
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if o.url.is_empty() {
        usage("--url is required");
    }
    o.secs = o.secs.clamp(0.1, 60.0);
    o.conns = o.conns.clamp(1, 20_000);
    o.window = o.window.max(1);
    if o.scenario == "big" {
        o.conns = 1;
        if !window_given {
            o.window = 1;
        }
    }
    let hostport = o
        .url
        .strip_prefix("ws://")
        .unwrap_or_else(|| usage("the URL must start with ws://"))
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let addr = hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| usage("cannot resolve the URL's host"));
    if !addr.ip().is_loopback() {
        usage("only loopback addresses (127.0.0.0/8, [::1]) may be targeted");
    }
    o.addr = addr;
    o
}

fn parse_size(s: &str) -> usize {
    let s = s.trim();
    let (num, mul) = if let Some(n) = s.strip_suffix("KiB").or_else(|| s.strip_suffix('K')) {
        (n, 1 << 10)
    } else if let Some(n) = s.strip_suffix("MiB").or_else(|| s.strip_suffix('M')) {
        (n, 1 << 20)
    } else {
        (s, 1)
    };
    num.parse::<usize>().unwrap_or_else(|_| usage("bad --size")) * mul
}

/// permessage-deflate stays off: the peers (tungstenite, fastwebsockets, raw TCP) do not
/// compress, and a compressible payload would measure the codec instead of the I/O path.
fn client_config() -> Config {
    Config::default()
        .deflate(ws6455::DeflateConfig::off())
        .max_frame_size(64 << 20)
        .max_message_size(64 << 20)
        .max_write_buffer(64 << 20)
        .read_buffer_size(64 << 10)
        .close_timeout(Some(Duration::from_secs(2)))
}

/// One connection, either a WebSocket or plain TCP.
enum Conn {
    Ws(Box<WebSocket<TcpStream>>),
    /// A WebSocket driven by the lean client after the handshake (see [`Conn::lean`]).
    Lean(Box<(LeanTx, LeanRx)>),
    Raw(TcpStream, Vec<u8>),
}

impl Conn {
    fn open(o: &Opts) -> std::io::Result<Conn> {
        if o.raw {
            let s = TcpStream::connect_timeout(&o.addr, Duration::from_secs(10))?;
            s.set_nodelay(true)?;
            Ok(Conn::Raw(s, vec![0; 64 << 10]))
        } else {
            let (ws, _) = ClientBuilder::new(o.url.clone())
                .config(client_config())
                .connect()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            Ok(Conn::Ws(Box::new(ws)))
        }
    }

    /// The same connection driven by the lean client ([`LeanTx`], [`LeanRx`]), as the stream
    /// scenarios drive theirs, so pingpong measures the server rather than our client's
    /// allocation per message. Closing it just drops the TCP stream.
    fn lean(self) -> std::io::Result<Conn> {
        match self {
            Conn::Ws(ws) => {
                let s = ws.into_inner();
                let tx = LeanTx::new(s.try_clone()?);
                Ok(Conn::Lean(Box::new((tx, LeanRx::new(s)))))
            }
            other => Ok(other),
        }
    }

    /// Sends one message (written and flushed).
    fn send(&mut self, payload: &[u8]) -> std::io::Result<()> {
        match self {
            Conn::Ws(ws) => ws.send_binary(payload).map_err(io_err),
            Conn::Lean(l) => l.0.send(payload, 1),
            Conn::Raw(s, _) => s.write_all(payload),
        }
    }

    /// Receives one message of `len` bytes.
    fn recv(&mut self, len: usize) -> std::io::Result<()> {
        match self {
            Conn::Ws(ws) => loop {
                match ws.read().map_err(io_err)? {
                    Message::Binary(b) => {
                        if b.len() != len {
                            return Err(std::io::Error::other("echo has the wrong length"));
                        }
                        return Ok(());
                    }
                    Message::Text(t) => {
                        if t.len() != len {
                            return Err(std::io::Error::other("echo has the wrong length"));
                        }
                        return Ok(());
                    }
                    Message::Close(_) => return Err(std::io::Error::other("server closed")),
                    _ => {}
                }
            },
            Conn::Lean(l) => l.1.recv(len).map(|_| ()),
            Conn::Raw(s, buf) => {
                let mut left = len;
                while left > 0 {
                    let want = left.min(buf.len());
                    let n = s.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    left -= n;
                }
                Ok(())
            }
        }
    }

    fn set_read_timeout(&self, t: Option<Duration>) {
        let _ = match self {
            Conn::Ws(ws) => ws.get_ref().set_read_timeout(t),
            Conn::Lean(l) => l.1.stream.set_read_timeout(t),
            Conn::Raw(s, _) => s.set_read_timeout(t),
        };
    }

    fn close(self) {
        match self {
            Conn::Ws(mut ws) => {
                let _ = ws.close(CloseCode::Normal, "");
                // Wait for the server's close reply (and the end of TCP), bounded by timeouts.
                while ws.read().is_ok() {}
            }
            Conn::Lean(l) => drop(l),
            Conn::Raw(s, _) => drop(s),
        }
    }
}

fn io_err(e: ws6455::Error) -> std::io::Error {
    match e {
        ws6455::Error::Io(e) => e,
        ws6455::Error::Timeout => std::io::ErrorKind::TimedOut.into(),
        e => std::io::Error::other(e.to_string()),
    }
}

fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 7 + 3) as u8).collect()
}

/// Opens `n` connections from a few threads; stops at the first failure of each thread.
fn open_many(o: &Opts, n: usize) -> (Vec<Conn>, usize) {
    let threads = n.clamp(1, 4);
    let failed = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let o = o.clone();
            let failed = failed.clone();
            let count = n / threads + usize::from(t < n % threads);
            std::thread::spawn(move || {
                let mut v = Vec::with_capacity(count);
                for _ in 0..count {
                    match Conn::open(&o) {
                        Ok(c) => v.push(c),
                        Err(e) => {
                            if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("loadgen: connect failed: {e}");
                            }
                        }
                    }
                }
                v
            })
        })
        .collect();
    let mut all = Vec::with_capacity(n);
    for h in handles {
        all.extend(h.join().unwrap());
    }
    (all, failed.load(Ordering::Relaxed) as usize)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn result_line(o: &Opts, fields: &[(&str, String)]) {
    let mut line = format!(
        "RESULT label={} scenario={} conns={} size={} window={}",
        o.label, o.scenario, o.conns, o.size, o.window
    );
    for (k, v) in fields {
        line.push_str(&format!(" {k}={v}"));
    }
    println!("{line}");
}

fn pingpong(o: &Opts) {
    let (conns, failed) = open_many(o, o.conns);
    if failed > 0 || conns.is_empty() {
        result_line(o, &[("error", format!("connect_failed={failed}"))]);
        return;
    }
    let n = conns.len();
    let barrier = Arc::new(Barrier::new(n + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let per_conn_cap = (o.max_msgs / n as u64).clamp(1, 2_000_000) as usize;
    let handles: Vec<_> = conns
        .into_iter()
        .map(|c| {
            let (barrier, stop, sent) = (barrier.clone(), stop.clone(), sent.clone());
            let data = payload(o.size);
            let size = o.size;
            std::thread::spawn(move || {
                c.set_read_timeout(Some(Duration::from_secs(10)));
                let mut c = match c.lean() {
                    Ok(c) => c,
                    Err(e) => {
                        barrier.wait(); // the others must not wait for this one
                        return (Vec::new(), Some(e));
                    }
                };
                let mut lat: Vec<u32> = Vec::with_capacity(per_conn_cap.min(1 << 20));
                barrier.wait();
                let mut err = None;
                while !stop.load(Ordering::Relaxed) && lat.len() < per_conn_cap {
                    let t0 = Instant::now();
                    if let Err(e) = c.send(&data).and_then(|_| c.recv(size)) {
                        err = Some(e);
                        break;
                    }
                    lat.push(t0.elapsed().as_nanos().min(u32::MAX as u128) as u32);
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                c.close();
                (lat, err)
            })
        })
        .collect();
    let watch = watch_server(o);
    barrier.wait();
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(o.secs);
    while Instant::now() < deadline && sent.load(Ordering::Relaxed) < o.max_msgs {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    let done = sent.load(Ordering::Relaxed) as f64;
    let server = server_fields(o, watch, done, elapsed);
    let mut all = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (lat, err) = h.join().unwrap();
        if let Some(e) = err {
            if errors == 0 {
                eprintln!("loadgen: connection error: {e}");
            }
            errors += 1;
        }
        all.extend(lat);
    }
    all.sort_unstable();
    let msgs = all.len() as f64;
    let mut fields = vec![
        ("msgs", all.len().to_string()),
        ("secs", format!("{elapsed:.3}")),
        ("msgs_per_s", format!("{:.0}", msgs / elapsed)),
        (
            "mb_per_s",
            format!("{:.2}", msgs * o.size as f64 / elapsed / 1e6),
        ),
        ("p50_us", format!("{:.1}", percentile(&all, 0.50))),
        ("p99_us", format!("{:.1}", percentile(&all, 0.99))),
        ("p999_us", format!("{:.1}", percentile(&all, 0.999))),
        ("errors", errors.to_string()),
    ];
    fields.extend(server);
    result_line(o, &fields);
}

/// In-flight accounting between a connection's writer and reader threads.
struct Window {
    state: Mutex<(u64, bool)>, // (messages in flight, writer waiting)
    cv: Condvar,
}

enum TxHalf {
    /// After the handshake the stream scenarios drive the TCP stream directly ([`LeanTx`],
    /// [`LeanRx`]) so the load generator costs about what the raw client costs.
    Ws(LeanTx),
    Raw(TcpStream),
}

/// The writing half of the load generator's lean WebSocket client: frames built in a reused
/// buffer (header, then the payload masked as it is copied, one pass, with the crate's fast XOR
/// under a fresh key per frame), a whole batch of small messages in one write. No allocation
/// once the buffer has its size, no lock.
///
/// A large frame (4 KiB and up) is built the same way in a buffer of its own, and the next one
/// is built right after a write, while the echo is still on its way: with one 16 MiB message
/// in flight, masking it (about 3 ms here) would otherwise sit between an echo's arrival and
/// the next send, a client cost the raw TCP client does not have.
struct LeanTx {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The next large frame, masked and ready to go, in `large[..ready]` (0: none built yet).
    large: Vec<u8>,
    ready: usize,
    seed: u64,
}

impl LeanTx {
    fn new(stream: TcpStream) -> LeanTx {
        let seed = ws6455::rand::mask_key();
        LeanTx {
            stream,
            buf: Vec::new(),
            large: Vec::new(),
            ready: 0,
            seed: u64::from(u32::from_le_bytes(seed)) | 1,
        }
    }

    /// A masking key per frame (xorshift: a benchmark needs varied keys, not secret ones).
    fn key(&mut self) -> [u8; 4] {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        (self.seed as u32).to_le_bytes()
    }

    /// Sends `count` messages: small ones batched into one write, large ones one write each
    /// (each built during the previous one's round trip; the first before its own write).
    fn send(&mut self, data: &[u8], count: u64) -> std::io::Result<()> {
        if data.len() >= 4096 {
            for _ in 0..count {
                if self.ready == 0 {
                    self.ready = put_frame(self.key(), &mut self.large, 0, data);
                }
                self.stream.write_all(&self.large[..self.ready])?;
                self.ready = put_frame(self.key(), &mut self.large, 0, data);
            }
            return Ok(());
        }
        let mut end = 0;
        for _ in 0..count {
            end = put_frame(self.key(), &mut self.buf, end, data);
        }
        self.stream.write_all(&self.buf[..end])
    }
}

/// Writes one binary frame carrying `data` at `at` in `buf`, masked under `key` as it is
/// copied (one pass, as the raw client's one copy); returns where it ends. `buf` is grown,
/// zero-filled, only when a batch is larger than any before.
fn put_frame(key: [u8; 4], buf: &mut Vec<u8>, at: usize, data: &[u8]) -> usize {
    let mut head = [0u8; ws6455::frame::MAX_HEADER_LEN];
    let n = FrameHeader::new(true, OpCode::Binary, Some(key), data.len() as u64).encode(&mut head);
    let end = at + n + data.len();
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[at..at + n].copy_from_slice(&head[..n]);
    mask_into(data, &mut buf[at + n..end], key, 0);
    end
}

/// The reading half of the lean client: large reads into one buffer, every frame header in it
/// parsed (server frames are unmasked), payload bytes counted, never copied out.
struct LeanRx {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes of an incomplete header kept at the start of `buf`.
    have: usize,
    /// Payload bytes of the current frame still to come.
    left: u64,
    /// The current frame ends its message (and is not a control frame).
    fin: bool,
    control: bool,
    /// Bytes of the message in progress.
    got: usize,
}

impl LeanRx {
    fn new(stream: TcpStream) -> LeanRx {
        LeanRx {
            stream,
            buf: vec![0; 64 << 10],
            have: 0,
            left: 0,
            fin: false,
            control: false,
            got: 0,
        }
    }

    /// The current frame is complete: counts a message if it ended one.
    fn frame_done(&mut self, size: usize, done: &mut u64) -> std::io::Result<()> {
        if self.fin && !self.control {
            if std::mem::take(&mut self.got) != size {
                return Err(std::io::Error::other("echo has the wrong length"));
            }
            *done += 1;
        }
        Ok(())
    }

    /// Receives at least one message of `size` bytes; returns how many completed.
    fn recv(&mut self, size: usize) -> std::io::Result<u64> {
        let mut done = 0;
        loop {
            let n = self.stream.read(&mut self.buf[self.have..])?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let end = self.have + n;
            let mut pos = 0;
            loop {
                if self.left > 0 {
                    if pos == end {
                        break;
                    }
                    let take = self.left.min((end - pos) as u64);
                    pos += take as usize;
                    self.left -= take;
                    if !self.control {
                        self.got += take as usize;
                    }
                    if self.left == 0 {
                        self.frame_done(size, &mut done)?;
                    }
                    continue;
                }
                match FrameHeader::parse(&self.buf[pos..end]) {
                    Ok(Some((h, len))) => {
                        if h.opcode == OpCode::Close {
                            return Err(std::io::Error::other("server closed"));
                        }
                        pos += len;
                        self.left = h.payload_len;
                        self.fin = h.fin;
                        self.control = h.opcode.is_control();
                        if self.left == 0 {
                            self.frame_done(size, &mut done)?;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Err(std::io::Error::other(e.to_string())),
                }
            }
            self.buf.copy_within(pos..end, 0);
            self.have = end - pos;
            if done > 0 {
                return Ok(done);
            }
        }
    }
}

enum RxHalf {
    Ws(Box<LeanRx>),
    Raw(TcpStream, Vec<u8>, usize), // stream, buffer, bytes of a partial message
}

fn split(c: Conn) -> std::io::Result<(TxHalf, RxHalf)> {
    match c {
        Conn::Ws(ws) => {
            // The server sends nothing after its handshake answer until it gets a message, so
            // no bytes are left in the WebSocket's read buffer.
            let s = ws.into_inner();
            Ok((
                TxHalf::Ws(LeanTx::new(s.try_clone()?)),
                RxHalf::Ws(Box::new(LeanRx::new(s))),
            ))
        }
        Conn::Lean(l) => {
            let (tx, rx) = *l;
            Ok((TxHalf::Ws(tx), RxHalf::Ws(Box::new(rx))))
        }
        Conn::Raw(s, buf) => Ok((TxHalf::Raw(s.try_clone()?), RxHalf::Raw(s, buf, 0))),
    }
}

impl RxHalf {
    /// Receives at least one message of `size` bytes; returns how many completed.
    fn recv(&mut self, size: usize) -> std::io::Result<u64> {
        match self {
            RxHalf::Ws(r) => r.recv(size),
            RxHalf::Raw(s, buf, partial) => loop {
                let n = s.read(buf)?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                *partial += n;
                let done = *partial / size;
                *partial %= size;
                if done > 0 {
                    return Ok(done as u64);
                }
            },
        }
    }
}

fn stream(o: &Opts) {
    let (conns, failed) = open_many(o, o.conns);
    if failed > 0 || conns.is_empty() {
        result_line(o, &[("error", format!("connect_failed={failed}"))]);
        return;
    }
    let n = conns.len();
    let barrier = Arc::new(Barrier::new(2 * n + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let window = o.window as u64;
    let per_conn_cap = (o.max_msgs / n as u64).max(1);
    let mut handles = Vec::new();
    for c in conns {
        c.set_read_timeout(Some(Duration::from_millis(100)));
        let (tx, mut rx) = match split(c) {
            Ok(h) => h,
            Err(e) => {
                result_line(o, &[("error", format!("split_failed:{e}"))]);
                return;
            }
        };
        let win = Arc::new(Window {
            state: Mutex::new((0, false)),
            cv: Condvar::new(),
        });
        let total_sent = Arc::new(AtomicU64::new(0));
        let writer_done = Arc::new(AtomicBool::new(false));
        // Writer: keeps up to `window` messages in flight; refills when half have come back.
        {
            let (barrier, stop, win, total_sent, writer_done) = (
                barrier.clone(),
                stop.clone(),
                win.clone(),
                total_sent.clone(),
                writer_done.clone(),
            );
            let data = payload(o.size);
            handles.push(std::thread::spawn(move || -> Option<std::io::Error> {
                let mut tx = tx;
                let mut batch = Vec::new();
                barrier.wait();
                let mut sent = 0u64;
                let res = (|| -> std::io::Result<()> {
                    while !stop.load(Ordering::Relaxed) && sent < per_conn_cap {
                        let room = {
                            let mut st = win.state.lock().unwrap();
                            while st.0 > window / 2 && !stop.load(Ordering::Relaxed) {
                                st.1 = true;
                                st = win
                                    .cv
                                    .wait_timeout(st, Duration::from_millis(50))
                                    .unwrap()
                                    .0;
                            }
                            st.1 = false;
                            let room = (window - st.0).min(per_conn_cap - sent);
                            st.0 += room;
                            room
                        };
                        if stop.load(Ordering::Relaxed) && room == 0 {
                            break;
                        }
                        match &mut tx {
                            // Small messages batched into one write, large ones one write each.
                            TxHalf::Ws(w) => w.send(&data, room)?,
                            // Raw TCP gets the same batching: one write for the whole batch.
                            TxHalf::Raw(s) if data.len() < 4096 => {
                                batch.clear();
                                for _ in 0..room {
                                    batch.extend_from_slice(&data);
                                }
                                s.write_all(&batch)?;
                            }
                            TxHalf::Raw(s) => {
                                for _ in 0..room {
                                    s.write_all(&data)?;
                                }
                            }
                        }
                        sent += room;
                        total_sent.store(sent, Ordering::Release);
                    }
                    Ok(())
                })();
                writer_done.store(true, Ordering::Release);
                res.err()
            }));
        }
        // Reader: counts echoes until everything sent has come back.
        {
            let (barrier, win, received, total_sent, writer_done) = (
                barrier.clone(),
                win.clone(),
                received.clone(),
                total_sent.clone(),
                writer_done.clone(),
            );
            let size = o.size;
            handles.push(std::thread::spawn(move || -> Option<std::io::Error> {
                barrier.wait();
                let mut got = 0u64;
                loop {
                    if writer_done.load(Ordering::Acquire)
                        && got >= total_sent.load(Ordering::Acquire)
                    {
                        break;
                    }
                    match rx.recv(size) {
                        Ok(k) => {
                            got += k;
                            received.fetch_add(k, Ordering::Relaxed);
                            let mut st = win.state.lock().unwrap();
                            st.0 -= k.min(st.0);
                            if st.1 && st.0 <= window / 2 {
                                win.cv.notify_one();
                            }
                        }
                        // A short read timeout lets the loop notice the writer is done.
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                            ) => {}
                        Err(e) => return Some(e),
                    }
                }
                None
            }));
        }
    }
    let watch = watch_server(o);
    barrier.wait();
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(o.secs);
    while Instant::now() < deadline && received.load(Ordering::Relaxed) < o.max_msgs {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let server = server_fields(
        o,
        watch,
        received.load(Ordering::Relaxed) as f64,
        start.elapsed().as_secs_f64(),
    );
    let mut errors = 0;
    for h in handles {
        if let Some(e) = h.join().unwrap() {
            if errors == 0 {
                eprintln!("loadgen: connection error: {e}");
            }
            errors += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let msgs = received.load(Ordering::Relaxed) as f64;
    let mut fields = vec![
        ("msgs", format!("{msgs:.0}")),
        ("secs", format!("{elapsed:.3}")),
        ("msgs_per_s", format!("{:.0}", msgs / elapsed)),
        (
            "mb_per_s",
            format!("{:.2}", msgs * o.size as f64 / elapsed / 1e6),
        ),
        ("errors", errors.to_string()),
    ];
    fields.extend(server);
    result_line(o, &fields);
}

/// What is measured on the server over a run: CPU time (utime + stime of `/proc/PID/stat`, in
/// clock ticks) and, with `--syscalls`, an `strace -c -f` attached to it for the run.
struct ServerWatch {
    cpu_ticks: u64,
    /// The load generator's own CPU ticks, to tell whether it or the server is the bottleneck.
    own_ticks: Option<u64>,
    strace: Option<(std::process::Child, std::path::PathBuf)>,
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces; utime and
    // stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let rest: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let field = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(field(11)? + field(12)?)
}

/// Starts watching the server (before the measured window opens).
fn watch_server(o: &Opts) -> Option<ServerWatch> {
    let pid = o.server_pid?;
    let strace = o.syscalls.then(|| {
        let out =
            std::env::temp_dir().join(format!("loadgen-strace-{pid}-{}.txt", std::process::id()));
        let child = std::process::Command::new("strace")
            .args(["-c", "-f", "-q", "-o"])
            .arg(&out)
            .args([
                "-e",
                "trace=read,write,recvfrom,sendto,readv,writev,recvmsg,sendmsg",
            ])
            .args(["-p", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        // Let it attach to every thread before the window opens.
        std::thread::sleep(Duration::from_millis(500));
        Some((child, out))
    });
    Some(ServerWatch {
        cpu_ticks: cpu_ticks(pid)?,
        own_ticks: cpu_ticks(std::process::id()),
        strace: strace.flatten(),
    })
}

/// The server's CPU cores used and (with `--syscalls`) read+write system calls per message.
fn server_fields(
    o: &Opts,
    watch: Option<ServerWatch>,
    msgs: f64,
    secs: f64,
) -> Vec<(&'static str, String)> {
    let (Some(w), Some(pid)) = (watch, o.server_pid) else {
        return Vec::new();
    };
    let mut fields = Vec::new();
    if let Some(after) = cpu_ticks(pid) {
        // Clock ticks are 1/100 s on Linux.
        let cpu = after.saturating_sub(w.cpu_ticks) as f64 / 100.0;
        fields.push(("server_cpu", format!("{:.2}", cpu / secs.max(1e-9))));
    }
    if let (Some(before), Some(after)) = (w.own_ticks, cpu_ticks(std::process::id())) {
        let cpu = after.saturating_sub(before) as f64 / 100.0;
        fields.push(("loadgen_cpu", format!("{:.2}", cpu / secs.max(1e-9))));
    }
    if let Some((mut child, out)) = w.strace {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let _ = child.wait();
        // The summary's last line: "% time, seconds, usecs/call, calls, [errors,] total".
        let calls = std::fs::read_to_string(&out).ok().and_then(|t| {
            let line = t.lines().rev().find(|l| l.trim_end().ends_with("total"))?;
            line.split_whitespace().nth(3)?.parse::<u64>().ok()
        });
        let _ = std::fs::remove_file(&out);
        if let Some(calls) = calls {
            fields.push((
                "syscalls_per_msg",
                format!("{:.3}", calls as f64 / msgs.max(1.0)),
            ));
        }
    }
    fields
}

/// `VmRSS` (KiB) and `Threads` of a process, from `/proc/PID/status`.
fn proc_status(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("Threads:")?))
}

fn idle(o: &Opts) {
    let before = o.server_pid.and_then(proc_status);
    let t0 = Instant::now();
    let (mut conns, failed) = open_many(o, o.conns);
    let open_secs = t0.elapsed().as_secs_f64();
    // Let the server settle (threads started, buffers shrunk) before measuring.
    std::thread::sleep(Duration::from_secs(1));
    let after = o.server_pid.and_then(proc_status);
    let data = payload(o.size.max(1));
    let mut alive = 0usize;
    // Send one message on each, then collect the echoes (bounded by a read timeout).
    let mut sent_ok = vec![false; conns.len()];
    for (c, ok) in conns.iter_mut().zip(sent_ok.iter_mut()) {
        *ok = c.send(&data).is_ok();
    }
    for (c, ok) in conns.iter_mut().zip(&sent_ok) {
        c.set_read_timeout(Some(Duration::from_secs(10)));
        if *ok && c.recv(data.len()).is_ok() {
            alive += 1;
        }
    }
    let opened = conns.len();
    let mut fields = vec![
        ("opened", opened.to_string()),
        ("failed", failed.to_string()),
        ("alive", alive.to_string()),
        ("open_secs", format!("{open_secs:.2}")),
    ];
    if let (Some((rss0, _)), Some((rss1, threads))) = (before, after) {
        fields.push(("server_rss_kib", rss1.to_string()));
        fields.push(("server_threads", threads.to_string()));
        let per = if opened > 0 {
            rss1.saturating_sub(rss0) as f64 / opened as f64
        } else {
            0.0
        };
        fields.push(("rss_per_conn_kib", format!("{per:.1}")));
    }
    result_line(o, &fields);
    // Close them all; in parallel, since a close waits for the server's reply.
    let chunks: Vec<Vec<Conn>> = {
        let k = 8;
        let mut v: Vec<Vec<Conn>> = (0..k).map(|_| Vec::new()).collect();
        for (i, c) in conns.drain(..).enumerate() {
            v[i % k].push(c);
        }
        v
    };
    let hs: Vec<_> = chunks
        .into_iter()
        .map(|cs| {
            std::thread::spawn(move || {
                for c in cs {
                    c.set_read_timeout(Some(Duration::from_secs(2)));
                    c.close();
                }
            })
        })
        .collect();
    for h in hs {
        let _ = h.join();
    }
}

fn connrate(o: &Opts) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..o.conns)
        .map(|_| {
            let (o, stop, done, errors) = (o.clone(), stop.clone(), done.clone(), errors.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) && done.load(Ordering::Relaxed) < o.max_msgs {
                    let ok = Conn::open(&o).and_then(|mut c| {
                        if let Conn::Raw(..) = c {
                            // Plain TCP: one byte there and back stands for the handshake.
                            c.send(b"x")?;
                            c.recv(1)?;
                        }
                        c.close();
                        Ok(())
                    });
                    match ok {
                        Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                        Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    let deadline = start + Duration::from_secs_f64(o.secs);
    while Instant::now() < deadline && done.load(Ordering::Relaxed) < o.max_msgs {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed) as f64;
    result_line(
        o,
        &[
            ("conns_done", format!("{n:.0}")),
            ("secs", format!("{elapsed:.3}")),
            ("conns_per_s", format!("{:.0}", n / elapsed)),
            ("errors", errors.load(Ordering::Relaxed).to_string()),
        ],
    );
}

fn main() {
    let o = parse_opts();
    match o.scenario.as_str() {
        "pingpong" => pingpong(&o),
        "stream" | "big" => stream(&o),
        "idle" => idle(&o),
        "connrate" => connrate(&o),
        other => usage(&format!("unknown scenario {other}")),
    }
}
