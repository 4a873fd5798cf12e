//! Raw TCP echo server, one thread per connection: the ceiling for the WebSocket servers.
//! No HTTP, no framing: the loadgen's `--raw` mode writes and reads plain bytes.
use std::io::{Read, Write};
use std::net::TcpListener;

fn main() {
    let listener = TcpListener::bind(ws6455_bench_peers::listen_arg()).unwrap();
    ws6455_bench_peers::announce(listener.local_addr().unwrap());
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        let _ = std::thread::Builder::new()
            .stack_size(128 << 10)
            .spawn(move || {
                let mut buf = vec![0u8; 64 << 10];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
    }
}
