//! Load-shaped tests over real sockets, small enough for the default `cargo test`:
//! connection churn (connect, handshake, echo, close, many times) leaks neither threads nor
//! file descriptors, and a graceful shutdown while clients are busy closes every one of them
//! with 1001 without a reset and without losing an echo. The long versions run in
//! `scripts/soak.sh`.
//!
//! Both tests count the process's threads and fds, so they run one at a time.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use ws6455::server::{Server, ShutdownHandle};
use ws6455::{CloseCode, Config, Error, Message};

mod leak_support;
use leak_support::{assert_back_to, fds, serial, threads};

/// An echo server like the ones applications write: it stops at the first error. With `split`,
/// the handler reads on its thread and answers through a cloned writer, as a chat room does.
fn echo_server(
    config: Config,
    split: bool,
) -> (SocketAddr, ShutdownHandle, thread::JoinHandle<()>) {
    let server = Server::bind_with_config("127.0.0.1:0", config).unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.shutdown_handle();
    let t = thread::spawn(move || {
        server
            .serve(move |mut ws| {
                if split {
                    let (mut reader, writer) = ws.split().unwrap();
                    loop {
                        match reader.read() {
                            Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                                if writer.send(m).is_err() {
                                    break;
                                }
                            }
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                    return;
                }
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
            })
            .unwrap()
    });
    (addr, handle, t)
}

fn is_reset(e: &Error) -> bool {
    matches!(e, Error::Io(io) if matches!(
        io.kind(),
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
    ))
}

#[test]
fn connection_churn_leaks_no_threads_or_fds() {
    let _g = serial();
    let baseline = (threads(), fds());
    // Threads wait 200 ms for another connection before they end (10 s by default).
    let config = Config::default().idle_thread_timeout(Duration::from_millis(200));
    let (addr, handle, t) = echo_server(config, false);
    let url = format!("ws://{addr}/churn");
    const CYCLES: usize = 2000;
    const CLIENTS: usize = 4;
    let done = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let url = url.clone();
        let done = done.clone();
        clients.push(thread::spawn(move || {
            for i in 0..CYCLES / CLIENTS {
                let (mut ws, resp) = ws6455::client::connect(&url).unwrap();
                assert_eq!(resp.status, 101);
                let text = format!("client {c} cycle {i}");
                ws.send_text(&text).unwrap();
                assert_eq!(ws.read().unwrap(), Message::text(text));
                ws.close(CloseCode::Normal, "bye").unwrap();
                // The server echoes our close, then the connection ends cleanly.
                match ws.read() {
                    Ok(Message::Close(Some(f))) => assert_eq!(f.code, CloseCode::Normal),
                    other => panic!("cycle {i}: expected the close echo, got {other:?}"),
                }
                assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(done.load(Ordering::Relaxed), CYCLES);
    // Every connection thread ends on its own, before any shutdown. The running server holds
    // two descriptors: the listener and the accept loop's spare (for refusing at the limit).
    assert_back_to((baseline.0, baseline.1 + 2), "churn, server still running");
    assert_eq!(handle.active_connections(), 0);
    assert_eq!(handle.shutdown(), 0);
    t.join().unwrap();
    assert_back_to(baseline, "churn");
}

#[test]
fn short_connections_reuse_threads_and_parked_threads_end_with_the_server() {
    let _g = serial();
    let baseline = (threads(), fds());
    let server = Server::bind_with_config("127.0.0.1:0", Config::default()).unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.shutdown_handle();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen_in = seen.clone();
    let t = thread::spawn(move || {
        server
            .serve(move |mut ws| {
                let id = ws
                    .request()
                    .and_then(|r| r.connection_id())
                    .expect("the server gives every connection an id");
                seen_in.lock().unwrap().push((id, thread::current().id()));
                while let Ok(m) = ws.read() {
                    if m.is_text() && ws.write(m).is_err() {
                        break;
                    }
                }
            })
            .unwrap()
    });
    const N: usize = 50;
    for i in 0..N {
        let (mut ws, _) = ws6455::client::connect(&format!("ws://{addr}/")).unwrap();
        ws.send_text(format!("{i}")).unwrap();
        assert_eq!(ws.read().unwrap(), Message::text(format!("{i}")));
        ws.close(CloseCode::Normal, "").unwrap();
        while ws.read().is_ok() {}
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), N);
    let mut ids: Vec<u64> = seen.iter().map(|(id, _)| *id).collect();
    ids.dedup();
    assert_eq!(ids.len(), N, "every connection has its own id");
    let mut threads_used: Vec<_> = seen.iter().map(|(_, t)| *t).collect();
    threads_used.sort_by_key(|t| format!("{t:?}"));
    threads_used.dedup();
    assert!(
        threads_used.len() <= 5,
        "{N} connections one after another used {} threads",
        threads_used.len()
    );
    // Threads are parked, waiting for the next connection (10 s by default)...
    assert!(threads() > baseline.0);
    // ...and end as soon as the server stops.
    assert_eq!(handle.shutdown(), 0);
    t.join().unwrap();
    assert_back_to(baseline, "parked threads after shutdown");
}

/// What one busy client saw when the server went away.
#[derive(Debug, Default)]
struct Seen {
    echoed: usize,
    close_code: Option<CloseCode>,
}

#[test]
fn graceful_shutdown_under_load_closes_every_client_with_1001() {
    shutdown_under_load(false);
}

#[test]
fn graceful_shutdown_under_load_closes_split_connections_with_1001_too() {
    shutdown_under_load(true);
}

fn shutdown_under_load(split: bool) {
    let _g = serial();
    let baseline = (threads(), fds());
    let config = Config::default().shutdown_timeout(Duration::from_secs(10));
    let (addr, handle, t) = echo_server(config, split);
    let url = format!("ws://{addr}/load");
    const CLIENTS: usize = 16;
    let warm = Arc::new(Barrier::new(CLIENTS + 1));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let url = url.clone();
        let warm = warm.clone();
        clients.push(thread::spawn(move || -> Seen {
            let (ws, _) = ws6455::client::connect(&url).unwrap();
            let (mut reader, writer) = ws.split().unwrap();
            // A writer thread keeps sending numbered messages as fast as it can until the
            // connection closes; the reader checks every echo arrives, in order.
            let sender = thread::spawn(move || {
                let mut n = 0usize;
                loop {
                    match writer.send_text(format!("{c}:{n}")) {
                        Ok(()) => n += 1,
                        Err(Error::AlreadyClosed) => return n,
                        Err(e) if is_reset(&e) => panic!("client {c}: reset while sending: {e}"),
                        Err(e) => panic!("client {c}: send failed: {e}"),
                    }
                    // Keep the queue bounded: at most 64 messages in flight.
                    if n % 64 == 0 {
                        thread::sleep(Duration::from_millis(1));
                    }
                }
            });
            let mut seen = Seen::default();
            loop {
                match reader.read() {
                    Ok(Message::Text(t)) => {
                        assert_eq!(t, format!("{c}:{}", seen.echoed), "client {c}: echo order");
                        seen.echoed += 1;
                        if seen.echoed == 20 {
                            warm.wait();
                        }
                    }
                    Ok(Message::Close(f)) => {
                        seen.close_code = f.map(|f| f.code);
                    }
                    Ok(other) => panic!("client {c}: unexpected {other:?}"),
                    Err(Error::ConnectionClosed) => break,
                    Err(e) => panic!("client {c}: after {} echoes: {e}", seen.echoed),
                }
            }
            let sent = sender.join().unwrap();
            assert!(seen.echoed <= sent);
            seen
        }));
    }
    // Every client is mid-stream when the shutdown begins.
    warm.wait();
    let left = handle.shutdown();
    assert_eq!(left, 0, "connections still open after the shutdown wait");
    t.join().unwrap();
    for (c, client) in clients.into_iter().enumerate() {
        let seen = client.join().unwrap();
        assert!(seen.echoed >= 20, "client {c}: {seen:?}");
        assert_eq!(
            seen.close_code,
            Some(CloseCode::Away),
            "client {c}: {seen:?}"
        );
    }
    assert_back_to(baseline, "shutdown under load");
}
