//! Handshake benchmarks: request-head parsing (heads/s) for a typical browser upgrade request,
//! and the full server handshake (parse, checks, accept key, response bytes).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ws6455::handshake::{server_handshake, Accept, Decision, Request};
use ws6455::http::{parse_request, parse_response, Limits, Status};

/// A Chrome-like upgrade request: ~500 bytes, 12 header fields.
const BROWSER: &[u8] = b"GET /chat?room=lobby HTTP/1.1\r\n\
Host: localhost:5000\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://localhost:5000\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

const RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let mut g = c.benchmark_group("handshake");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_request_browser_upgrade", |b| {
        b.iter(|| {
            let Ok(Status::Complete((req, n))) = parse_request(black_box(BROWSER), &limits) else {
                unreachable!()
            };
            black_box((req.headers.len(), n))
        })
    });
    g.bench_function("parse_request_partial_half", |b| {
        let half = &BROWSER[..BROWSER.len() / 2];
        b.iter(|| black_box(parse_request(black_box(half), &limits).is_ok()))
    });
    g.bench_function("parse_response_101", |b| {
        b.iter(|| black_box(parse_response(black_box(RESPONSE), &limits).is_ok()))
    });
    let hook = |_: &Request| Decision::Accept(Accept::new());
    g.bench_function("server_handshake_full", |b| {
        b.iter(|| {
            let Ok(Status::Complete((head, _))) = parse_request(black_box(BROWSER), &limits) else {
                unreachable!()
            };
            let req = Request::from_http(&head);
            let out = server_handshake(&req, &hook);
            black_box(out.response.to_bytes())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
