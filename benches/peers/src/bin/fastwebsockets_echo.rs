//! fastwebsockets echo server on tokio's multi-threaded runtime (one task per connection).
//! The opening handshake is done by hand (fastwebsockets' own needs hyper).
use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn handle(mut stream: TcpStream) -> Option<()> {
    stream.set_nodelay(true).ok()?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await.ok()?;
        if ws6455_bench_peers::gather_head(&mut head, &buf[..n])? {
            break;
        }
    }
    // Clients wait for the 101 before sending frames, so nothing follows the head.
    let response = ws6455_bench_peers::switching_response(&head)?;
    stream.write_all(&response).await.ok()?;
    let mut ws = WebSocket::after_handshake(stream, Role::Server);
    ws.set_auto_close(true);
    ws.set_auto_pong(true);
    ws.set_max_message_size(64 << 20);
    let mut ws = FragmentCollector::new(ws);
    loop {
        let frame = ws.read_frame().await.ok()?;
        match frame.opcode {
            OpCode::Close => return Some(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await.ok()?,
            _ => {}
        }
    }
}

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind(ws6455_bench_peers::listen_arg())
        .await
        .unwrap();
    ws6455_bench_peers::announce(listener.local_addr().unwrap());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(handle(stream));
    }
}
