//! What a test case is: an id tied to an RFC rule, a description, and either a script (bytes to
//! write, pauses) with an expectation (echoes, pongs, how the connection must end), or a custom
//! handshake check.

use std::fmt;
use std::time::Duration;

use crate::judge::Judgement;
use crate::raw::{RawFrame, BINARY, TEXT};

/// Which kind of peer a case can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// Servers and clients.
    Both,
    /// Only servers (the tester plays the client).
    Server,
    /// Only clients (the tester plays the server).
    Client,
}

/// How a case runs.
pub enum Body {
    /// A frame-level script, the same for both modes (masking follows the tester's role).
    Script(Box<dyn Fn(&mut Script) + Send + Sync>),
    /// A server handshake check: the function gets a fresh environment and judges by itself.
    ServerHandshake(Box<dyn Fn(&crate::cases::handshake::ServerEnv) -> Judgement + Send + Sync>),
    /// A client handshake check: what the tester answers to the client's opening request.
    ClientHandshake(crate::cases::client_handshake::ClientCheck),
    /// A permessage-deflate case: a negotiation, then a script over the agreed compression.
    Deflate(crate::cases::deflate::DeflateCase),
}

/// One test case.
pub struct Case {
    /// Dotted id, `section.group.number`.
    pub id: String,
    /// What the case sends, in words.
    pub description: String,
    /// Which peers it applies to.
    pub applies: Applies,
    /// What it does.
    pub body: Body,
}

impl Case {
    /// A script case for both modes.
    pub fn script(
        id: impl Into<String>,
        description: impl Into<String>,
        build: impl Fn(&mut Script) + Send + Sync + 'static,
    ) -> Case {
        Case {
            id: id.into(),
            description: description.into(),
            applies: Applies::Both,
            body: Body::Script(Box::new(build)),
        }
    }

    /// Restricts the case to servers.
    pub fn server_only(mut self) -> Case {
        self.applies = Applies::Server;
        self
    }

    /// Restricts the case to clients.
    pub fn client_only(mut self) -> Case {
        self.applies = Applies::Client;
        self
    }
}

/// Settings a script may depend on.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// The tester plays the client, so its frames are masked by default.
    pub client: bool,
    /// The peer's assumed message size limit (`--max-message-size`).
    pub max_message_size: u64,
    /// How long a fail-fast checkpoint waits.
    pub pause: Duration,
}

/// One action of a script.
#[derive(Debug)]
pub enum Step {
    /// Write bytes, in pieces of `chunk` bytes (all at once when 0).
    Write {
        /// The bytes.
        bytes: Vec<u8>,
        /// Piece size, 0 for one write.
        chunk: usize,
    },
    /// Write the same bytes `times` times (large messages without holding every copy).
    Repeat {
        /// The bytes.
        bytes: Vec<u8>,
        /// How many times.
        times: usize,
    },
    /// Wait up to `Ctx::pause`; a peer that fails fast closes during this window.
    Checkpoint,
    /// Wait (up to the case timeout) until this many echoes have come back or the peer ended:
    /// a valid message is answered before the invalid one that follows is sent.
    AwaitReplies(usize),
}

/// A message the peer must send back, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A text message with these bytes.
    Text(Vec<u8>),
    /// A binary message with these bytes.
    Binary(Vec<u8>),
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, bytes) = match self {
            Reply::Text(b) => ("text", b),
            Reply::Binary(b) => ("binary", b),
        };
        write!(f, "{kind} ({} bytes", bytes.len())?;
        if bytes.len() <= 24 {
            write!(f, ": {}", preview(bytes))?;
        }
        f.write_str(")")
    }
}

/// Short printable form of a payload.
pub fn preview(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("{bytes:02x?}"),
    }
}

/// How the connection must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// After the replies, the tester closes with 1000 and expects 1000 back.
    Close,
    /// The script sent a close itself; the peer must answer with this code (`None`: the script's
    /// close had no code, so an empty close or 1000 are both right).
    CloseReply(Option<u16>),
    /// The peer must fail the connection, ideally with a close frame carrying this code.
    Fail(u16),
    /// A message over the limit the tester assumes (`--max-message-size`): closing with this
    /// code is the expected answer; waiting for data that never comes, or accepting the message
    /// because the peer's limit is higher, are documented choices (INFO), not failures.
    Limit(u16),
}

/// The expectation of a script.
#[derive(Debug, Clone)]
pub struct Expect {
    /// Data messages the peer must echo, in order, before the end.
    pub replies: Vec<Reply>,
    /// Pong payloads the peer must send, in order.
    pub pongs: Vec<Vec<u8>>,
    /// Answering only some of several pings (ending with the latest) is allowed (§5.5.3).
    pub pongs_may_coalesce: bool,
    /// How the connection ends.
    pub ending: Ending,
    /// Check who closes TCP first (server: the peer, within the timeout; client: not the peer).
    pub tcp_order: bool,
    /// Check that a client's masking keys differ from frame to frame.
    pub fresh_masks: bool,
    /// Report throughput; the verdict is INFORMATIONAL when everything else is right.
    pub informational: bool,
    /// The echoes may be missing without a rule broken (a close in the same write, §5.5.1):
    /// missing ones are INFO, wrong ones still FAILED.
    pub replies_optional: bool,
    /// A large or long case: a peer that closes with 1009 or 1008 instead of echoing has met
    /// its own limit, which is reported as INFO with where it happened.
    pub may_hit_limit: bool,
    /// With [`Ending::Fail`]: other close codes that are as right as the first (a rule that
    /// names no code, e.g. corrupt DEFLATE data: RFC 7692 §6.2 says only "Fail").
    pub also_codes: Vec<u16>,
    /// With [`Ending::Limit`]: the whole message was sent (a bomb), so waiting is no excuse:
    /// no reaction is FAILED, and answering the tester's close without a word NON-STRICT.
    pub fully_sent: bool,
}

impl Expect {
    /// A human summary of the expectation.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.replies.len() {
            0 => {}
            1 => parts.push(format!("echo of {}", self.replies[0])),
            n => parts.push(format!("{n} echoes in order")),
        }
        match self.pongs.len() {
            0 => {}
            1 => parts.push(format!(
                "a pong with the ping's {} bytes",
                self.pongs[0].len()
            )),
            n => parts.push(format!("{n} pongs in order")),
        }
        parts.push(match self.ending {
            Ending::Close => "then a clean close (1000 answered with 1000)".to_string(),
            Ending::CloseReply(None) => "close answered with an empty close or 1000".to_string(),
            Ending::CloseReply(Some(c)) => format!("close answered with code {c}"),
            Ending::Fail(c) if self.also_codes.is_empty() => {
                format!("fail the connection with close code {c}")
            }
            Ending::Fail(c) => format!(
                "fail the connection with close code {c} (or {})",
                self.also_codes
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Ending::Limit(c) => format!(
                "close {c} (message too big), or a documented limit: waiting for the data, \
                 or accepting it"
            ),
        });
        if self.tcp_order {
            parts.push("the server closes TCP first".into());
        }
        if self.fresh_masks {
            parts.push("a fresh masking key per frame".into());
        }
        parts.join("; ")
    }
}

/// A case's actions and expectation, built by the case's function.
pub struct Script {
    ctx: Ctx,
    /// The actions, in order.
    pub steps: Vec<Step>,
    /// What the peer must do.
    pub expect: Expect,
}

impl Script {
    /// An empty script expecting a clean close.
    pub fn new(ctx: Ctx) -> Script {
        Script {
            ctx,
            steps: Vec::new(),
            expect: Expect {
                replies: Vec::new(),
                pongs: Vec::new(),
                pongs_may_coalesce: false,
                ending: Ending::Close,
                tcp_order: false,
                fresh_masks: false,
                informational: false,
                replies_optional: false,
                may_hit_limit: false,
                also_codes: Vec::new(),
                fully_sent: false,
            },
        }
    }

    /// The settings.
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// The frame's bytes as this tester sends them (masked when it plays the client).
    pub fn encode(&self, frame: &RawFrame) -> Vec<u8> {
        frame.encode(self.ctx.client)
    }

    /// Writes a frame in one write.
    pub fn send(&mut self, frame: RawFrame) {
        self.send_chopped(frame, 0);
    }

    /// Writes a frame in pieces of `chunk` bytes.
    pub fn send_chopped(&mut self, frame: RawFrame, chunk: usize) {
        let bytes = self.encode(&frame);
        self.write(bytes, chunk);
    }

    /// Writes raw bytes in pieces of `chunk` bytes (0: one write).
    pub fn write(&mut self, bytes: Vec<u8>, chunk: usize) {
        self.steps.push(Step::Write { bytes, chunk });
    }

    /// Writes `bytes` `times` times.
    pub fn repeat(&mut self, bytes: Vec<u8>, times: usize) {
        self.steps.push(Step::Repeat { bytes, times });
    }

    /// A fail-fast window (see [`Step::Checkpoint`]).
    pub fn checkpoint(&mut self) {
        self.steps.push(Step::Checkpoint);
    }

    /// Waits for every echo expected so far (see [`Step::AwaitReplies`]).
    pub fn await_replies(&mut self) {
        let n = self.expect.replies.len();
        self.steps.push(Step::AwaitReplies(n));
    }

    /// Expects a text echo.
    pub fn expect_text(&mut self, payload: impl Into<Vec<u8>>) {
        self.expect.replies.push(Reply::Text(payload.into()));
    }

    /// Expects a binary echo.
    pub fn expect_binary(&mut self, payload: impl Into<Vec<u8>>) {
        self.expect.replies.push(Reply::Binary(payload.into()));
    }

    /// Expects a pong.
    pub fn expect_pong(&mut self, payload: impl Into<Vec<u8>>) {
        self.expect.pongs.push(payload.into());
    }

    /// Sends a complete text or binary frame and expects its echo.
    pub fn echo(&mut self, frame: RawFrame) {
        self.echo_chopped(frame, 0);
    }

    /// Like [`Script::echo`], written in pieces.
    pub fn echo_chopped(&mut self, frame: RawFrame, chunk: usize) {
        let reply = match frame.opcode {
            TEXT => Reply::Text(frame.payload.clone()),
            BINARY => Reply::Binary(frame.payload.clone()),
            op => panic!("echo of a non-data frame (opcode {op})"),
        };
        self.send_chopped(frame, chunk);
        self.expect.replies.push(reply);
    }

    /// The peer must fail the connection with `code`.
    pub fn fail(&mut self, code: u16) {
        self.expect.ending = Ending::Fail(code);
    }

    /// The message is over the peer's assumed limit (see [`Ending::Limit`]).
    pub fn limit(&mut self, code: u16) {
        self.expect.ending = Ending::Limit(code);
    }

    /// The script sends its own close; the peer must answer with `code`.
    pub fn close_reply(&mut self, code: Option<u16>) {
        self.expect.ending = Ending::CloseReply(code);
    }
}
