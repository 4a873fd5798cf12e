//! Shared helpers for the tests that drive the `ws-server` and `ws-client` binaries as
//! processes. Every wait is bounded; every child is killed when its guard drops.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Upper bound for anything a test waits for. Generous: the machine may be busy.
pub const WAIT: Duration = Duration::from_secs(30);

pub fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ws-server")
}

pub fn client_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ws-client")
}

/// `target/<profile>/examples/<name>`: an example, built by `cargo test` beside the tests.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(path.exists(), "{} not built", path.display());
    path
}

/// Kills the child on drop.
pub struct Guard(pub Option<Child>);

impl Guard {
    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("child still owned")
    }

    pub fn id(&self) -> u32 {
        self.0.as_ref().expect("child still owned").id()
    }

    /// Waits (bounded) for the exit status; kills the child and panics on timeout.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child().try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child().kill();
                let _ = self.child().wait();
                panic!("process did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Collects a pipe's lines on a thread; readable at any time without blocking forever.
pub struct Lines {
    rx: Receiver<String>,
    seen: Vec<String>,
    done: bool,
}

impl Lines {
    pub fn new(pipe: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(pipe);
            loop {
                let mut buf = Vec::new();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf)
                            .trim_end_matches(['\n', '\r'])
                            .to_string();
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
            done: false,
        }
    }

    /// Waits (bounded) for a line satisfying `pred`; returns it. Panics with everything seen
    /// so far on timeout or end of stream.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        if let Some(l) = self.seen.iter().find(|l| pred(l)) {
            return l.clone();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(e) => panic!("no line {what:?} ({e:?}); seen so far: {:#?}", self.seen),
            }
        }
    }

    /// Waits for a line equal to `line`.
    pub fn wait_line(&mut self, line: &str) -> String {
        self.wait_for(line, |l| l == line)
    }

    /// Everything received so far (without waiting).
    pub fn so_far(&mut self) -> Vec<String> {
        while let Ok(l) = self.rx.try_recv() {
            self.seen.push(l);
        }
        self.seen.clone()
    }

    /// Everything until the stream ends (bounded).
    pub fn until_end(&mut self) -> Vec<String> {
        if !self.done {
            let deadline = Instant::now() + WAIT;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.rx.recv_timeout(left) {
                    Ok(l) => self.seen.push(l),
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        panic!("stream did not end; seen: {:#?}", self.seen)
                    }
                }
            }
            self.done = true;
        }
        self.seen.clone()
    }
}

/// A running `ws-server`.
pub struct Server {
    pub guard: Guard,
    pub addr: SocketAddr,
    pub stdout: Lines,
    pub stderr: Lines,
}

impl Server {
    /// Starts `ws-server --listen 127.0.0.1:0 ARGS` and reads the `Listening on` line.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with_env(args, &[])
    }

    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(server_bin());
        cmd.args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("WS_AUTH_KEY");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Server::spawn(cmd)
    }

    /// Runs `cmd` (which must end up exec-ing `ws-server`) and reads the `Listening on` line.
    pub fn spawn(mut cmd: Command) -> Server {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn ws-server");
        let stdout = Lines::new(child.stdout.take().unwrap());
        let stderr = Lines::new(child.stderr.take().unwrap());
        let mut server = Server {
            guard: Guard(Some(child)),
            addr: "127.0.0.1:1".parse().unwrap(),
            stdout,
            stderr,
        };
        let first = server
            .stdout
            .wait_for("Listening on", |l| l.starts_with("Listening on ws://"));
        assert_eq!(
            server.stdout.so_far()[0],
            first,
            "`Listening on` must be the first line"
        );
        server.addr = first["Listening on ws://".len()..]
            .parse()
            .expect("address in the Listening line");
        server
    }

    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Sends a signal with the `kill` utility.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.guard.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

/// Output of a finished `ws-client` run.
#[derive(Debug)]
pub struct ClientRun {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Starts `ws-client ARGS` with stdin, stdout and stderr piped.
pub fn spawn_client_process(args: &[&str]) -> Child {
    Command::new(client_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ws-client")
}

/// Runs `ws-client ARGS` with `input` on stdin, to completion (bounded).
pub fn run_client(args: &[&str], input: &str) -> ClientRun {
    let mut child = spawn_client_process(args);
    let mut stdin: ChildStdin = child.stdin.take().unwrap();
    let input = input.to_string();
    std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
        // dropping stdin closes it: end of input
    });
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let mut guard = Guard(Some(child));
    let status = guard.wait(WAIT);
    ClientRun {
        status,
        stdout: wait_collected(&out),
        stderr: wait_collected(&err),
    }
}

type Collected = Arc<(Mutex<Option<String>>, std::sync::Condvar)>;

fn collect(mut pipe: impl Read + Send + 'static) -> Collected {
    let slot: Collected = Arc::new((Mutex::new(None), std::sync::Condvar::new()));
    let s = slot.clone();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        *s.0.lock().unwrap() = Some(String::from_utf8_lossy(&buf).into_owned());
        s.1.notify_all();
    });
    slot
}

fn wait_collected(slot: &Collected) -> String {
    let (m, cv) = &**slot;
    let guard = m.lock().unwrap();
    let (guard, _) = cv.wait_timeout_while(guard, WAIT, |v| v.is_none()).unwrap();
    guard.clone().expect("pipe did not close in time")
}

/// A raw HTTP/1.1 exchange: sends `request`, returns the whole response (the server closes).
pub fn http(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A unique temporary file path for this test process.
pub fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ws6455-bin-test-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

/// The article's greeting.
pub const HI: &str = "Hi, how can I help you today?";
/// The article's answer to `help`.
pub const HELP: &str = "Sure, I am here to help. Can you briefly describe the problem.";
/// The article's answer when nothing matches.
pub const UNKNOWN: &str = "Sorry, I am unable to understand you.";
