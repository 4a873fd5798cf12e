//! `ws-server`: the Deno article's chat bot, an echo server and a chat room, on ws6455.
//!
//! See `ws-server --help` (text in cli.rs) for flags, output formats and exit codes.
//! Layout: cli.rs (flags), chat.rs (reply table), room.rs (room bookkeeping), apps.rs (one
//! function per app, run on each connection's thread), policy.rs (auth, origins,
//! subprotocols), page.rs (the HTML page), log.rs (stdout/stderr), signal.rs (Ctrl-C).

mod apps;
mod chat;
mod cli;
mod escape;
mod log;
mod page;
mod policy;
mod room;
mod signal;

use std::process::exit;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ws6455::handshake::{Accept, Decision, Request, Response};
use ws6455::server::{Server, ShutdownHandle};
use ws6455::{Config, DeflateConfig};

use cli::{App, Command, Options};

/// State shared by every connection.
pub struct Shared {
    pub opts: Options,
    pub table: chat::ReplyTable,
    pub room: room::Room,
    /// Room connections whose read loop has not ended yet (a shutdown waits for them).
    pub room_connections: std::sync::atomic::AtomicUsize,
    pub shutdown: ShutdownHandle,
    next_id: AtomicU64,
}

impl Shared {
    /// The id of the connection `req` came on: the library's, so that our lines and its
    /// events about one connection agree (a fresh one for a request without it).
    pub fn conn_id(&self, req: Option<&Request>) -> u64 {
        req.and_then(Request::connection_id)
            .unwrap_or_else(|| self.next_id.fetch_add(1, Ordering::Relaxed))
    }
}

fn main() {
    // Before any other thread exists, so that every thread has the signals blocked.
    let signals = signal::install();
    let cmd = match cli::parse(std::env::args().skip(1), std::env::var("WS_AUTH_KEY").ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ws-server: {e}\nTry 'ws-server --help' for more information.");
            exit(2);
        }
    };
    let opts = match cmd {
        Command::Help => {
            print!("{}", cli::HELP);
            exit(0);
        }
        Command::Version => {
            println!("ws-server {}", env!("CARGO_PKG_VERSION"));
            exit(0);
        }
        Command::Run(o) => *o,
    };
    log::init(opts.verbosity);

    let table = match &opts.replies {
        None => chat::ReplyTable::article(),
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    log::error(&format!("cannot read reply table {}: {e}", path.display()));
                    exit(2);
                }
            };
            match chat::ReplyTable::parse(&text) {
                Ok(t) => t,
                Err(e) => {
                    log::error(&format!("bad reply table {}: {e}", path.display()));
                    exit(2);
                }
            }
        }
    };
    let table = table.with_match(opts.match_mode);

    let mut config = Config::default();
    if let Some(n) = opts.max_message_size {
        // A frame can never be larger than the message (a compressed frame may exceed its
        // content by DEFLATE's few bytes of overhead: the library allows for that).
        let frame = config.max_frame_size.min(n);
        config = config.max_frame_size(frame).max_message_size(n);
    }
    if let Some(n) = opts.max_connections {
        config = config.max_connections(n);
    }
    config = config
        .idle_timeout(opts.idle_timeout)
        .ping_interval(opts.ping_interval)
        .ping_timeout(opts.ping_timeout)
        .handshake_timeout(opts.handshake_timeout)
        .deflate(deflate_settings(&opts));

    let server = match Server::bind_with_config(opts.listen.as_str(), config) {
        Ok(s) => s,
        Err(e) => {
            log::error(&format!("cannot listen on {}: {e}", opts.listen));
            exit(1);
        }
    };
    let addr = match server.local_addr() {
        Ok(a) => a,
        Err(e) => {
            log::error(&format!("cannot read the bound address: {e}"));
            exit(1);
        }
    };

    let room = match room::Room::start(opts.room_queue, apps::room_event) {
        Ok(r) => r,
        Err(e) => {
            log::error(&format!("cannot start the room thread: {e}"));
            exit(1);
        }
    };
    let shared = Arc::new(Shared {
        room,
        room_connections: Default::default(),
        table,
        shutdown: server.shutdown_handle(),
        next_id: AtomicU64::new(1),
        opts,
    });

    let hook_state = shared.clone();
    let server = server
        .on_event(log::event)
        .on_upgrade(move |req| upgrade_decision(&hook_state, req))
        .on_http(page::respond);

    if signals {
        spawn_signal_watcher(shared.clone());
    } else {
        log::debug("cannot catch SIGINT/SIGTERM here: Ctrl-C stops the server at once");
    }

    log::always(&format!("Listening on ws://{addr}"));
    log::debug(&format!(
        "app {}, auth {}, {} allowed origin(s)",
        shared.opts.app.name(),
        if shared.opts.auth_key.is_some() {
            "required"
        } else {
            "off"
        },
        shared.opts.origins.len()
    ));
    log::transcript("Waiting for clients ...");

    let app_state = shared.clone();
    let result = server.serve(move |ws| {
        let id = app_state.conn_id(ws.request());
        if log::verbose() {
            log::debug(&format!(
                "[{id}] compression: {}",
                compression(&app_state.opts, ws.request(), ws.deflate())
            ));
        }
        match app_state.opts.app {
            App::Chat => apps::chat(ws, id, &app_state),
            App::Echo => apps::echo(ws, id, &app_state),
            App::Room => apps::room(ws, id, &app_state),
        }
    });
    match result {
        Ok(()) => {
            log::warn("server stopped");
            exit(0);
        }
        Err(e) => {
            log::error(&format!("server failed: {e}"));
            exit(1);
        }
    }
}

/// The server's permessage-deflate settings: the library's defaults, or off.
fn deflate_settings(opts: &Options) -> DeflateConfig {
    if opts.deflate {
        DeflateConfig::default()
    } else {
        DeflateConfig::off()
    }
}

/// The compression agreed on a connection, for the verbose log: with the agreement the socket
/// applies, the answer the server sent (the same pure choice the handshake made from the
/// client's offer); without, why there is none.
fn compression(
    opts: &Options,
    req: Option<&Request>,
    agreed: Option<ws6455::PerMessageDeflate>,
) -> String {
    let offered = req.is_some_and(|r| r.header("sec-websocket-extensions").is_some());
    match (agreed, req) {
        (Some(a), Some(req)) => {
            let offers = req.header_all("sec-websocket-extensions");
            match ws6455::handshake::negotiate_deflate(offers, &deflate_settings(opts)) {
                Some((_, answer)) => answer,
                None => format!("permessage-deflate {a:?}"),
            }
        }
        (Some(a), None) => format!("permessage-deflate {a:?}"),
        (None, _) if !opts.deflate => "none (--deflate off)".into(),
        (None, _) if !offered => "none (not offered)".into(),
        (None, _) => "none (no acceptable permessage-deflate offer)".into(),
    }
}

/// The upgrade hook: logs the article's `Incoming connection` line, then checks the origin
/// and the auth key, and picks a subprotocol. A refusal is logged once, from the server's
/// event ([`log::event`]), with the reason given here as the body.
fn upgrade_decision(shared: &Shared, req: &Request) -> Decision {
    let id = shared.conn_id(Some(req));
    log::conn(id, "Incoming connection from client ...");
    if !policy::origin_allowed(&shared.opts.origins, req.header("origin")) {
        return Decision::Reject(Response::text(403, "origin not allowed\n"));
    }
    if let Some(key) = &shared.opts.auth_key {
        let token = req.query_param("accessToken");
        if !policy::authorized(key, req.header("x-ws-auth-key"), token.as_deref()) {
            return Decision::Reject(Response::text(
                403,
                "missing or wrong auth key: send it in an X-WS-AUTH-KEY header or ?accessToken=\n",
            ));
        }
    }
    let mut accept = Accept::new();
    if let Some(p) = policy::select_subprotocol(req.protocols()) {
        accept = accept.subprotocol(p);
    }
    Decision::Accept(accept)
}

/// Waits for signals (no polling: it sleeps until one arrives): the first SIGINT/SIGTERM
/// starts a graceful shutdown (close 1001 to everyone, then `serve` returns and main exits 0);
/// a second one exits at once.
fn spawn_signal_watcher(shared: Arc<Shared>) {
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            signal::arm();
            signal::wait_beyond(0);
            log::warn("shutting down: closing every connection with 1001");
            let s = shared.clone();
            let _ = std::thread::Builder::new()
                .name("shutdown".into())
                .spawn(move || {
                    apps::close_room(&s);
                    s.shutdown.shutdown();
                });
            signal::wait_beyond(1);
            log::error("second signal: exiting now");
            exit(130);
        });
    if let Err(e) = spawned {
        log::error(&format!("cannot start the signal watcher: {e}"));
    }
}
