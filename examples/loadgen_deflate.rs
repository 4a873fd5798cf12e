//! A permessage-deflate load generator for WebSocket echo servers: every connection offers
//! `permessage-deflate; client_max_window_bits`, refuses to run unless the server accepts it,
//! and then echoes small JSON text messages (100 B–2 KiB), each compressed with this crate's
//! DEFLATE codec (context takeover, RSV1 set), inflating and checking every echo. Used by
//! `scripts/bench-deflate.sh`.
//!
//! ```text
//! cargo run --release --example loadgen_deflate -- --url ws://127.0.0.1:9001/ --conns 16 --secs 3
//! ```
//!
//! It speaks the wire protocol itself (handshake, masking, framing) so that it measures any
//! server with compression negotiated, whether or not this crate's own client negotiates it.
//! Every run is bounded in time (`--secs`, at most 60) and only talks to loopback addresses.
//! It prints one machine-readable line:
//!
//! ```text
//! RESULT label=ours scenario=deflate-echo conns=16 window=1 level=1 msgs=123456 secs=3.001 msgs_per_s=41138 mb_per_s=36.1 wire_ratio=0.38 compressed_echoes=1.000 server_cpu=0.98 errors=0
//! ```
//!
//! - `msgs_per_s`: echoed messages per second, all connections together;
//! - `mb_per_s`: uncompressed payload echoed (one direction), 10^6 bytes per second;
//! - `wire_ratio`: compressed payload bytes the server sent ÷ uncompressed bytes;
//! - `compressed_echoes`: share of echoes that came back compressed (RSV1);
//! - `server_cpu`: cores the server process used (`/proc/PID/stat`, with `--server-pid`).
//!
//! Each connection keeps `--window` messages in flight (default 1: ping-pong).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use ws6455::deflate::{Deflater, Inflater, Level};

struct Opts {
    addr: SocketAddr,
    host: String,
    path: String,
    label: String,
    conns: usize,
    window: usize,
    secs: f64,
    level: u8,
    server_pid: Option<u32>,
}

fn usage(msg: &str) -> ! {
    eprintln!("loadgen_deflate: {msg}");
    eprintln!(
        "usage: loadgen_deflate --url ws://127.0.0.1:PORT/ [--conns N] [--window N] [--secs S] \
         [--level 1..9] [--label NAME] [--server-pid PID]"
    );
    std::process::exit(2)
}

fn parse_opts() -> Opts {
    let (mut url, mut label, mut conns, mut window) = (String::new(), "server".to_string(), 1, 1);
    let (mut secs, mut level, mut server_pid) = (3.0f64, 1u8, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--url" => url = val(),
            "--label" => label = val(),
            "--conns" => conns = val().parse().unwrap_or_else(|_| usage("bad --conns")),
            "--window" => window = val().parse().unwrap_or_else(|_| usage("bad --window")),
            "--secs" => secs = val().parse().unwrap_or_else(|_| usage("bad --secs")),
            "--level" => level = val().parse().unwrap_or_else(|_| usage("bad --level")),
            "--server-pid" => {
                server_pid = Some(val().parse().unwrap_or_else(|_| usage("bad --server-pid")))
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let rest = url
        .strip_prefix("ws://")
        .unwrap_or_else(|| usage("--url ws://HOST:PORT/ is required"));
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = host
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| usage("cannot resolve the URL's host"));
    if !addr.ip().is_loopback() {
        usage("only loopback addresses (127.0.0.0/8, [::1]) may be targeted");
    }
    Opts {
        addr,
        host: host.to_string(),
        path: path.to_string(),
        label,
        conns: conns.clamp(1, 2000),
        window: window.clamp(1, 64),
        secs: secs.clamp(0.1, 60.0),
        level,
        server_pid,
    }
}

/// Deterministic JSON chat messages of 100 B to 2 KiB (a small vocabulary, Zipf-like sizes),
/// the kind of traffic permessage-deflate is negotiated for.
fn messages(n: usize, seed: u64) -> Vec<Vec<u8>> {
    const WORDS: [&str; 32] = [
        "hello", "the", "meeting", "is", "at", "noon", "see", "you", "there", "thanks", "ok",
        "build", "passed", "on", "main", "deploy", "tomorrow", "review", "please", "lunch", "a",
        "new", "issue", "was", "filed", "for", "this", "it", "works", "now", "great", "team",
    ];
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    (0..n)
        .map(|i| {
            // 100 * 20^r: mostly short messages, some up to 2 000 bytes.
            let r = (next() % 1000) as f64 / 1000.0;
            let target = (100.0 * 20f64.powf(r)) as usize;
            let mut m = format!(
                "{{\"type\":\"message\",\"id\":{},\"ts\":{},\"room\":\"general\",\"user\":\"user{}\",\"text\":\"",
                1000 + i,
                1_700_000_000_000u64 + i as u64 * 1375 + next() % 1000,
                next() % 40
            );
            while m.len() + 2 < target {
                m.push_str(WORDS[(next() % 32) as usize]);
                m.push(' ');
            }
            m.push_str("\"}");
            m.into_bytes()
        })
        .collect()
}

/// One connection: the socket, our compressor and decompressor, and a read buffer.
struct Conn {
    sock: TcpStream,
    def: Deflater,
    inf: Inflater,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
    mask_seed: u32,
}

fn connect(o: &Opts) -> Result<Conn, String> {
    let mut sock = TcpStream::connect_timeout(&o.addr, Duration::from_secs(10))
        .map_err(|e| format!("connect: {e}"))?;
    sock.set_nodelay(true).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
        o.path, o.host
    );
    sock.write_all(req.as_bytes())
        .map_err(|e| format!("handshake write: {e}"))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err("handshake response too long".into());
        }
        let n = sock
            .read(&mut byte)
            .map_err(|e| format!("handshake read: {e}"))?;
        if n == 0 {
            return Err("connection closed during the handshake".into());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    if !text.starts_with("http/1.1 101") {
        return Err(format!(
            "handshake refused: {}",
            text.lines().next().unwrap_or("")
        ));
    }
    let ext = text
        .lines()
        .find_map(|l| l.strip_prefix("sec-websocket-extensions:"))
        .map(str::trim)
        .ok_or("the server did not negotiate permessage-deflate")?;
    if !ext.starts_with("permessage-deflate") {
        return Err(format!("unexpected extension response: {ext}"));
    }
    // The server's compressor window: what it answered, else 15. Our compressor keeps to the
    // client window the server allowed us.
    let bits = |name: &str| {
        ext.split(';')
            .map(str::trim)
            .find_map(|p| p.strip_prefix(name))
            .and_then(|v| {
                v.trim_start_matches('=')
                    .trim_matches('"')
                    .parse::<u8>()
                    .ok()
            })
            .unwrap_or(15)
    };
    if ext.contains("client_no_context_takeover") || ext.contains("server_no_context_takeover") {
        return Err(format!("context takeover declined, not measured: {ext}"));
    }
    Ok(Conn {
        sock,
        def: Deflater::new(bits("client_max_window_bits"), Level::new(o.level)),
        inf: Inflater::new(bits("server_max_window_bits").max(8)),
        rbuf: vec![0; 64 * 1024],
        rpos: 0,
        wbuf: Vec::with_capacity(4096),
        mask_seed: 0x1234_5678,
    })
}

impl Conn {
    /// Compresses `msg` and sends it as one masked text frame with RSV1 set.
    fn send(&mut self, msg: &[u8]) -> Result<(), String> {
        self.wbuf.clear();
        let mut z = Vec::with_capacity(msg.len() / 2 + 16);
        self.def.compress_message(msg, &mut z);
        self.wbuf.push(0x80 | 0x40 | 0x1);
        match z.len() {
            n if n < 126 => self.wbuf.push(0x80 | n as u8),
            n if n <= 0xffff => {
                self.wbuf.push(0x80 | 126);
                self.wbuf.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                self.wbuf.push(0x80 | 127);
                self.wbuf.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        self.mask_seed = self
            .mask_seed
            .wrapping_mul(1_664_525)
            .wrapping_add(1_013_904_223);
        let key = self.mask_seed.to_be_bytes();
        self.wbuf.extend_from_slice(&key);
        self.wbuf
            .extend(z.iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
        self.sock
            .write_all(&self.wbuf)
            .map_err(|e| format!("write: {e}"))
    }

    /// Reads bytes until `rbuf[..rpos]` holds at least `n`.
    fn fill(&mut self, n: usize) -> Result<(), String> {
        if self.rbuf.len() < n {
            self.rbuf.resize(n, 0);
        }
        while self.rpos < n {
            let got = self
                .sock
                .read(&mut self.rbuf[self.rpos..])
                .map_err(|e| format!("read: {e}"))?;
            if got == 0 {
                return Err("the server closed the connection".into());
            }
            self.rpos += got;
        }
        Ok(())
    }

    /// Reads one unfragmented data message; returns (payload after inflating, compressed?,
    /// bytes on the wire).
    /// Pings are answered and pongs skipped; a fragmented message or a close is an error.
    fn recv(&mut self, out: &mut Vec<u8>) -> Result<(bool, usize), String> {
        loop {
            let (control, compressed, wire) = self.recv_frame(out)?;
            match control {
                None => return Ok((compressed, wire)),
                Some(0x9) => {
                    let ping = std::mem::take(out);
                    self.send_frame(0x8a, &ping)?;
                }
                Some(0xa) => {}
                Some(op) => return Err(format!("unexpected control frame, opcode {op}")),
            }
        }
    }

    /// Sends one masked frame with first byte `b0` (small payloads: control frames).
    fn send_frame(&mut self, b0: u8, payload: &[u8]) -> Result<(), String> {
        let key = [0x5a, 0x13, 0xc4, 0x7e];
        let mut f = vec![b0, 0x80 | payload.len().min(125) as u8];
        f.extend_from_slice(&key);
        f.extend(
            payload
                .iter()
                .take(125)
                .enumerate()
                .map(|(i, b)| b ^ key[i & 3]),
        );
        self.sock.write_all(&f).map_err(|e| format!("write: {e}"))
    }

    /// Reads one frame: `(Some(opcode), ..)` for a control frame (payload in `out`), else a
    /// whole data message, inflated into `out`.
    fn recv_frame(&mut self, out: &mut Vec<u8>) -> Result<(Option<u8>, bool, usize), String> {
        self.fill(2)?;
        let (b0, b1) = (self.rbuf[0], self.rbuf[1]);
        let control = b0 & 0x08 != 0;
        if b0 & 0x80 == 0 || b1 & 0x80 != 0 || !(control || matches!(b0 & 0x0f, 1 | 2)) {
            return Err(format!("unexpected frame header {b0:02x} {b1:02x}"));
        }
        let (len, head) = match b1 & 0x7f {
            126 => {
                self.fill(4)?;
                (u16::from_be_bytes([self.rbuf[2], self.rbuf[3]]) as usize, 4)
            }
            127 => {
                self.fill(10)?;
                let v = u64::from_be_bytes(self.rbuf[2..10].try_into().unwrap());
                (usize::try_from(v).unwrap_or(usize::MAX).min(1 << 24), 10)
            }
            n => (n as usize, 2),
        };
        self.fill(head + len)?;
        let compressed = b0 & 0x40 != 0;
        out.clear();
        let payload = &self.rbuf[head..head + len];
        if control {
            out.extend_from_slice(payload);
            self.rbuf.copy_within(head + len..self.rpos, 0);
            self.rpos -= head + len;
            return Ok((Some(b0 & 0x0f), false, len));
        }
        if compressed {
            self.inf
                .inflate(payload, out, 1 << 20)
                .map_err(|e| format!("inflate: {e}"))?;
            let left = (1 << 20) - out.len();
            self.inf
                .finish_message(out, left)
                .map_err(|e| format!("inflate: {e}"))?;
        } else {
            out.extend_from_slice(payload);
        }
        self.rbuf.copy_within(head + len..self.rpos, 0);
        self.rpos -= head + len;
        Ok((None, compressed, len))
    }
}

#[derive(Default)]
struct Totals {
    msgs: u64,
    raw_bytes: u64,
    wire_bytes: u64,
    compressed: u64,
    errors: u64,
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // utime and stime: fields 14 and 15, i.e. 12 and 13 after the parenthesised name.
    let rest: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let field = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(field(11)? + field(12)?)
}

fn run_conn(mut c: Conn, o: &Opts, msgs: &[Vec<u8>], start: &Barrier, stop: &AtomicBool) -> Totals {
    let mut t = Totals::default();
    let mut out = Vec::new();
    start.wait();
    let mut sent = 0usize;
    let mut recvd = 0usize;
    let result = (|| -> Result<(), String> {
        while sent < o.window {
            c.send(&msgs[sent % msgs.len()])?;
            sent += 1;
        }
        loop {
            let (compressed, wire) = c.recv(&mut out)?;
            if out != msgs[recvd % msgs.len()] {
                return Err("echo differs from the message sent".into());
            }
            recvd += 1;
            t.msgs += 1;
            t.raw_bytes += out.len() as u64;
            t.wire_bytes += wire as u64;
            t.compressed += compressed as u64;
            if stop.load(Ordering::Relaxed) {
                if recvd == sent {
                    return Ok(());
                }
                continue;
            }
            c.send(&msgs[sent % msgs.len()])?;
            sent += 1;
        }
    })();
    if let Err(e) = result {
        eprintln!("loadgen_deflate: {e}");
        t.errors += 1;
    }
    // Close politely (a masked close frame with code 1000); the answer is not awaited.
    let _ = c.sock.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
    t
}

fn main() {
    let o = Arc::new(parse_opts());
    let msgs = Arc::new(messages(512, 0x5eed));
    let mut conns = Vec::new();
    for _ in 0..o.conns {
        match connect(&o) {
            Ok(c) => conns.push(c),
            Err(e) => {
                eprintln!("loadgen_deflate: {e}");
                println!(
                    "RESULT label={} scenario=deflate-echo conns={} negotiated=no errors=1",
                    o.label, o.conns
                );
                std::process::exit(1);
            }
        }
    }
    let start = Arc::new(Barrier::new(o.conns + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = conns
        .into_iter()
        .map(|c| {
            let (o, msgs, start, stop) = (o.clone(), msgs.clone(), start.clone(), stop.clone());
            std::thread::spawn(move || run_conn(c, &o, &msgs, &start, &stop))
        })
        .collect();
    let cpu0 = o.server_pid.and_then(cpu_ticks);
    start.wait();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(o.secs));
    stop.store(true, Ordering::Relaxed);
    let cpu1 = o.server_pid.and_then(cpu_ticks);
    let secs = t0.elapsed().as_secs_f64();
    let mut t = Totals::default();
    for h in handles {
        let r = h.join().unwrap_or_else(|_| Totals {
            errors: 1,
            ..Totals::default()
        });
        t.msgs += r.msgs;
        t.raw_bytes += r.raw_bytes;
        t.wire_bytes += r.wire_bytes;
        t.compressed += r.compressed;
        t.errors += r.errors;
    }
    let mut line = format!(
        "RESULT label={} scenario=deflate-echo conns={} window={} level={} msgs={} secs={:.3} \
         msgs_per_s={:.0} mb_per_s={:.2} wire_ratio={:.3} compressed_echoes={:.3}",
        o.label,
        o.conns,
        o.window,
        o.level,
        t.msgs,
        secs,
        t.msgs as f64 / secs,
        t.raw_bytes as f64 / secs / 1e6,
        t.wire_bytes as f64 / (t.raw_bytes.max(1)) as f64,
        t.compressed as f64 / (t.msgs.max(1)) as f64,
    );
    if let (Some(a), Some(b)) = (cpu0, cpu1) {
        // Clock ticks are 1/100 s on Linux.
        let cpu = b.saturating_sub(a) as f64 / 100.0;
        line.push_str(&format!(" server_cpu={:.2}", cpu / secs.max(1e-9)));
    }
    line.push_str(&format!(" errors={}", t.errors));
    println!("{line}");
    std::io::stdout().flush().ok();
    if t.errors > 0 {
        std::process::exit(1);
    }
}
