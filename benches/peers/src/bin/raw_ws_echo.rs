//! A byte echo behind a WebSocket handshake, one thread per connection: it answers the opening
//! handshake, then sends back every byte as it came, frames still masked. Not a WebSocket
//! server (a real client must reject masked frames); the load generator's lean client counts
//! them all the same. It measures the raw TCP ceiling under WebSocket-shaped traffic: what the
//! kernel costs for the load generator's frames, with no protocol work on the server. Only
//! meaningful for the stream, big and pingpong scenarios (`scripts/bench-servers.sh` skips the
//! others for it).
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

fn serve(mut stream: TcpStream) -> Option<()> {
    stream.set_nodelay(true).ok()?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = stream.read(&mut buf[..1024]).ok()?;
        if ws6455_bench_peers::gather_head(&mut head, &buf[..n])? {
            break;
        }
    }
    // Clients wait for the 101 before sending frames, so nothing follows the head.
    stream
        .write_all(&ws6455_bench_peers::switching_response(&head)?)
        .ok()?;
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return Some(());
        }
        stream.write_all(&buf[..n]).ok()?;
    }
}

fn main() {
    let listener = TcpListener::bind(ws6455_bench_peers::listen_arg()).unwrap();
    ws6455_bench_peers::announce(listener.local_addr().unwrap());
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let _ = std::thread::Builder::new()
            .stack_size(128 << 10)
            .spawn(move || serve(stream));
    }
}
