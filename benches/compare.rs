//! ws6455 against tungstenite, side by side in the same run, on what `benches/codec.rs` does not
//! cover: masking against tungstenite and the copy ceiling, encoding small and large frames,
//! decoding small frames of mixed sizes, the server handshake (accept key, and the whole upgrade
//! over an in-memory stream), and UTF-8 validation against `std::str::from_utf8`.
//! (`benches/handshake.rs` has the request-parse heads/s; `benches/codec.rs` decoding of 16-byte
//! and 1 MiB frames and masking against a copy.)
//!
//! Run: `cargo bench --bench compare -- --warm-up-time 1 --measurement-time 3`
//! (add a filter such as `mask_` to run one group). Criterion prints both rows of every group, so
//! the ratio is between two figures measured in the same process, one after the other.
//!
//! tungstenite's masking function is private; its public way to mask is to format a frame whose
//! header carries a mask (`Frame::format`), which copies the payload and masks it. The
//! `frame_mask_copy` rows compare that with ours doing the same work (copy + mask into an output
//! buffer); `apply_mask` against `copy_from_slice` gives the in-place masking speed against the
//! memory-copy ceiling.

use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tungstenite::protocol::frame::coding::{Data, OpCode as TOpCode};
use tungstenite::protocol::frame::Frame as TFrame;
use tungstenite::Bytes;
use ws6455::frame::{Frame, FrameHeader, OpCode};
use ws6455::handshake::{Accept, Decision};
use ws6455::mask::apply_mask;
use ws6455::protocol::{Receiver, Sender};
use ws6455::utf8::Utf8Validator;
use ws6455::{Config, Role};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Discards what is written, like a socket nobody reads (but counts it).
#[derive(Default)]
struct Sink(usize);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Sink {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

/// Reads from prepared bytes, discards writes.
struct Duplex {
    input: Cursor<Vec<u8>>,
    output: Sink,
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

/// A slice of `len` bytes inside `storage` whose address is 128 bytes past `other`'s modulo
/// 4096, so copies between them do not suffer 4 KiB aliasing.
fn unaliased<'a>(storage: &'a mut [u8], other: &[u8], len: usize) -> &'a mut [u8] {
    let o = other.as_ptr() as usize % 4096;
    let s = storage.as_ptr() as usize % 4096;
    let start = (o + 128 + 4096 - s) % 4096;
    &mut storage[start..start + len]
}

fn masking(c: &mut Criterion) {
    for (name, len) in [
        ("1KiB", 1usize << 10),
        ("64KiB", 64 << 10),
        ("16MiB", 16 << 20),
    ] {
        let src = data(len);
        let mut storage = vec![0u8; len + 8192];
        let dst = unaliased(&mut storage, &src, len);
        dst.copy_from_slice(&src);
        let mut group = c.benchmark_group(format!("mask_{name}"));
        group.throughput(Throughput::Bytes(len as u64));
        if len >= 1 << 20 {
            group.sample_size(10);
        }
        group.bench_function("ws6455_apply_mask", |b| {
            b.iter(|| apply_mask(black_box(&mut *dst), KEY, 0))
        });
        group.bench_function("copy_from_slice", |b| {
            b.iter(|| black_box(&mut *dst).copy_from_slice(black_box(&src)))
        });
        // Frame output with masking: header + copy + mask into a reused buffer.
        let mut out: Vec<u8> = Vec::with_capacity(len + 16);
        group.bench_function("ws6455_frame_mask_copy", |b| {
            b.iter(|| {
                out.clear();
                FrameHeader::new(true, OpCode::Binary, Some(KEY), len as u64).write_to(&mut out);
                let at = out.len();
                out.extend_from_slice(black_box(&src));
                apply_mask(&mut out[at..], KEY, 0);
                black_box(out.len())
            })
        });
        // tungstenite: `Frame::format` takes the frame by value; the payload is cloned in the
        // (untimed) setup, and the copy into the output buffer is timed, as ours.
        group.bench_function("tungstenite_frame_mask_copy", |b| {
            b.iter_batched(
                || {
                    let mut f = TFrame::message(src.clone(), TOpCode::Data(Data::Binary), true);
                    f.header_mut().mask = Some(KEY);
                    f
                },
                |f| {
                    out.clear();
                    f.format(&mut out).unwrap();
                    black_box(out.len())
                },
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }
}

/// Payload sizes 2..=125 cycling, as in chat-like traffic.
fn small_sizes(count: usize) -> Vec<usize> {
    (0..count).map(|i| 2 + (i * 37) % 124).collect()
}

fn encode_small(c: &mut Criterion) {
    const COUNT: usize = 10_000;
    let sizes = small_sizes(COUNT);
    let pool = data(128);
    let payloads: Vec<Bytes> = sizes
        .iter()
        .map(|&n| Bytes::copy_from_slice(&pool[..n]))
        .collect();
    for (role_name, role, trole) in [
        ("server", Role::Server, tungstenite::protocol::Role::Server),
        (
            "client_masked",
            Role::Client,
            tungstenite::protocol::Role::Client,
        ),
    ] {
        let mut group = c.benchmark_group(format!("encode_small_2-125B_{role_name}"));
        group.throughput(Throughput::Elements(COUNT as u64));
        let mut tx = Sender::new(role, &Config::default());
        let mut sink = Sink::default();
        group.bench_function("ws6455", |b| {
            b.iter(|| {
                for (i, p) in payloads.iter().enumerate() {
                    tx.send_binary(p).unwrap();
                    if i % 64 == 63 {
                        let n = tx.pending().len();
                        sink.write_all(tx.pending()).unwrap();
                        tx.consume(n);
                    }
                }
                let n = tx.pending().len();
                sink.write_all(tx.pending()).unwrap();
                tx.consume(n);
            })
        });
        let mut ws = tungstenite::WebSocket::from_raw_socket(Sink::default(), trole, None);
        group.bench_function("tungstenite", |b| {
            b.iter(|| {
                for (i, p) in payloads.iter().enumerate() {
                    ws.write(tungstenite::Message::Binary(p.clone())).unwrap();
                    if i % 64 == 63 {
                        ws.flush().unwrap();
                    }
                }
                ws.flush().unwrap();
            })
        });
        group.finish();
    }
}

fn encode_large(c: &mut Criterion) {
    const SIZE: usize = 1 << 20;
    let payload = Bytes::from(data(SIZE));
    for (role_name, role, trole) in [
        ("server", Role::Server, tungstenite::protocol::Role::Server),
        (
            "client_masked",
            Role::Client,
            tungstenite::protocol::Role::Client,
        ),
    ] {
        let mut group = c.benchmark_group(format!("encode_1MiB_{role_name}"));
        group.throughput(Throughput::Bytes(SIZE as u64));
        let mut tx = Sender::new(role, &Config::default());
        let mut sink = Sink::default();
        group.bench_function("ws6455", |b| {
            b.iter(|| {
                tx.send_binary(&payload).unwrap();
                let n = tx.pending().len();
                sink.write_all(tx.pending()).unwrap();
                tx.consume(n);
            })
        });
        let mut ws = tungstenite::WebSocket::from_raw_socket(Sink::default(), trole, None);
        group.bench_function("tungstenite", |b| {
            b.iter(|| {
                ws.send(tungstenite::Message::Binary(payload.clone()))
                    .unwrap();
            })
        });
        group.finish();
    }
}

fn decode_small(c: &mut Criterion) {
    const COUNT: usize = 10_000;
    let pool = data(128);
    let mut wire = Vec::new();
    for n in small_sizes(COUNT) {
        Frame::new(true, OpCode::Binary, pool[..n].to_vec())
            .masked(KEY)
            .write_to(&mut wire);
    }
    let ours = |input: &mut Cursor<Vec<u8>>| {
        let mut rx = Receiver::new(Role::Server, &Config::default());
        let mut got = 0;
        let mut total = 0;
        while got < COUNT {
            match rx.next_message().unwrap() {
                Some(m) => {
                    total += black_box(m).len();
                    got += 1;
                }
                None => {
                    let n = input.read(rx.read_buf(4096)).unwrap();
                    assert!(n > 0);
                    rx.commit(n);
                }
            }
        }
        total
    };
    let theirs = |input: Cursor<Vec<u8>>| {
        let stream = Duplex {
            input,
            output: Sink::default(),
        };
        let mut ws = tungstenite::WebSocket::from_raw_socket(
            stream,
            tungstenite::protocol::Role::Server,
            None,
        );
        let mut total = 0;
        for _ in 0..COUNT {
            total += black_box(ws.read().unwrap()).len();
        }
        total
    };
    let expect = ours(&mut Cursor::new(wire.clone()));
    assert_eq!(theirs(Cursor::new(wire.clone())), expect);
    let mut group = c.benchmark_group("decode_small_2-125B_masked");
    group.throughput(Throughput::Elements(COUNT as u64));
    group.bench_function("ws6455", |b| {
        b.iter_batched(
            || Cursor::new(wire.clone()),
            |mut input| ours(&mut input),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("tungstenite", |b| {
        b.iter_batched(|| Cursor::new(wire.clone()), theirs, BatchSize::LargeInput)
    });
    group.finish();
}

/// A browser-like upgrade request (Chromium sends about this much).
const REQUEST: &str = "GET /chat?room=lobby HTTP/1.1\r\n\
Host: 127.0.0.1:5000\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://127.0.0.1:5000\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("accept_key");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ws6455", |b| {
        b.iter(|| ws6455::handshake::accept_key(black_box(b"dGhlIHNhbXBsZSBub25jZQ==")))
    });
    group.bench_function("tungstenite", |b| {
        b.iter(|| tungstenite::handshake::derive_accept_key(black_box(b"dGhlIHNhbXBsZSBub25jZQ==")))
    });
    group.finish();

    // The whole server side over an in-memory stream: read + parse the request, check it,
    // compute the accept key, build and write the 101.
    let duplex = || Duplex {
        input: Cursor::new(REQUEST.as_bytes().to_vec()),
        output: Sink::default(),
    };
    let mut group = c.benchmark_group("server_handshake_full");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ws6455", |b| {
        b.iter_batched(
            duplex,
            |s| {
                let ws = ws6455::server::accept(s, Config::default(), |_| {
                    Decision::Accept(Accept::default())
                })
                .unwrap();
                black_box(ws.get_ref().output.0)
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("tungstenite", |b| {
        b.iter_batched(
            duplex,
            |s| {
                let ws = tungstenite::accept(s).unwrap();
                black_box(ws.get_ref().output.0)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn utf8(c: &mut Criterion) {
    const LEN: usize = 64 << 10;
    let ascii: String = "The quick brown fox jumps over the lazy dog. "
        .chars()
        .cycle()
        .take(LEN)
        .collect();
    let mixed: String = "Grüße, Jürgen! Привет, мир. こんにちは世界 🦀 ok; "
        .chars()
        .cycle()
        .take(LEN / 2)
        .collect();
    for (name, text) in [("ascii", ascii.as_bytes()), ("mixed", mixed.as_bytes())] {
        let mut group = c.benchmark_group(format!("utf8_{name}_{}KiB", text.len() >> 10));
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function("ws6455_whole", |b| {
            let mut v = Utf8Validator::new();
            b.iter(|| {
                v.feed(black_box(text)).unwrap();
                v.finish().unwrap();
            })
        });
        group.bench_function("ws6455_4KiB_pieces", |b| {
            let mut v = Utf8Validator::new();
            b.iter(|| {
                for piece in black_box(text).chunks(4096) {
                    v.feed(piece).unwrap();
                }
                v.finish().unwrap();
            })
        });
        group.bench_function("std_from_utf8", |b| {
            b.iter(|| std::str::from_utf8(black_box(text)).unwrap().len())
        });
        group.finish();
    }
}

criterion_group!(
    benches,
    masking,
    encode_small,
    encode_large,
    decode_small,
    handshake,
    utf8
);
criterion_main!(benches);
