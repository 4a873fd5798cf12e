//! tungstenite echo server, one thread per connection (the closest peer to our design).
use std::net::TcpListener;

fn main() {
    let listener = TcpListener::bind(ws6455_bench_peers::listen_arg()).unwrap();
    ws6455_bench_peers::announce(listener.local_addr().unwrap());
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        let _ = std::thread::Builder::new().spawn(move || {
            let Ok(mut ws) = tungstenite::accept(stream) else {
                return;
            };
            loop {
                match ws.read() {
                    Ok(msg) if msg.is_text() || msg.is_binary() => {
                        // Queue the echo; like ours, flush when no more input is buffered is
                        // not available, so flush each reply (tungstenite's usual echo loop).
                        if ws.send(msg).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
    }
}
