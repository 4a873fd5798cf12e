//! Decoding speed of the protocol core against tungstenite's, and masking against a plain copy.
//!
//! Run: `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3`.
//! Both libraries read the same pre-built bytes from an in-memory stream, as from a socket, and
//! hand back owned messages; the time includes creating the reader, unmasking and (for text)
//! UTF-8 validation, not building or dropping the input. ws6455 is read the way its socket
//! layer reads (`read_buf(4096)`, `commit`); tungstenite through its `WebSocket::read`.

use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ws6455::frame::{Frame, OpCode};
use ws6455::mask::apply_mask;
use ws6455::protocol::Receiver;
use ws6455::{Config, Role};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A read-only in-memory stream; writes (none are expected) are dropped.
struct Input(Cursor<Vec<u8>>);

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Input {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn masked_frames(opcode: OpCode, payload: &[u8], count: usize) -> Vec<u8> {
    let mut wire = Vec::new();
    for _ in 0..count {
        Frame::new(true, opcode, payload.to_vec())
            .masked(KEY)
            .write_to(&mut wire);
    }
    wire
}

/// Reads `count` messages with ws6455, from the stream into the receiver's own buffer.
fn ws6455_read(input: &mut Input, count: usize) -> usize {
    let mut rx = Receiver::new(Role::Server, &Config::default());
    let mut total = 0;
    let mut got = 0;
    while got < count {
        match rx.next_message().unwrap() {
            Some(m) => {
                total += black_box(m).len();
                got += 1;
            }
            None => {
                let n = input.read(rx.read_buf(4096)).unwrap();
                assert!(n > 0, "input ended early");
                rx.commit(n);
            }
        }
    }
    total
}

/// The same with the zero-copy API: messages are lent from the receiver's buffer.
fn ws6455_read_ref(input: &mut Input, count: usize) -> usize {
    let mut rx = Receiver::new(Role::Server, &Config::default());
    let mut total = 0;
    let mut got = 0;
    while got < count {
        match rx.next_message_ref().unwrap() {
            Some(m) => {
                total += black_box(m).len();
                got += 1;
            }
            None => {
                let n = input.read(rx.read_buf(4096)).unwrap();
                assert!(n > 0, "input ended early");
                rx.commit(n);
            }
        }
    }
    total
}

fn tungstenite_read(input: &mut Input, count: usize) -> usize {
    let mut ws =
        tungstenite::WebSocket::from_raw_socket(input, tungstenite::protocol::Role::Server, None);
    let mut total = 0;
    for _ in 0..count {
        total += black_box(ws.read().unwrap()).len();
    }
    total
}

fn small_frames(c: &mut Criterion) {
    const COUNT: usize = 10_000;
    for (name, opcode) in [("binary", OpCode::Binary), ("text", OpCode::Text)] {
        let wire = masked_frames(opcode, b"0123456789abcdef", COUNT);
        // Check both read what we think before timing them.
        assert_eq!(
            ws6455_read(&mut Input(Cursor::new(wire.clone())), COUNT),
            16 * COUNT
        );
        assert_eq!(
            tungstenite_read(&mut Input(Cursor::new(wire.clone())), COUNT),
            16 * COUNT
        );
        assert_eq!(
            ws6455_read_ref(&mut Input(Cursor::new(wire.clone())), COUNT),
            16 * COUNT
        );
        let mut group = c.benchmark_group(format!("decode_16B_masked_{name}"));
        group.throughput(Throughput::Elements(COUNT as u64));
        group.bench_function("ws6455", |b| {
            b.iter_batched_ref(
                || Input(Cursor::new(wire.clone())),
                |input| ws6455_read(input, COUNT),
                BatchSize::LargeInput,
            )
        });
        group.bench_function("ws6455_borrowed", |b| {
            b.iter_batched_ref(
                || Input(Cursor::new(wire.clone())),
                |input| ws6455_read_ref(input, COUNT),
                BatchSize::LargeInput,
            )
        });
        group.bench_function("tungstenite", |b| {
            b.iter_batched_ref(
                || Input(Cursor::new(wire.clone())),
                |input| tungstenite_read(input, COUNT),
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }
}

fn large_frame(c: &mut Criterion) {
    const SIZE: usize = 1 << 20;
    let payload: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let wire = masked_frames(OpCode::Binary, &payload, 1);
    assert_eq!(ws6455_read(&mut Input(Cursor::new(wire.clone())), 1), SIZE);
    assert_eq!(
        tungstenite_read(&mut Input(Cursor::new(wire.clone())), 1),
        SIZE
    );
    let mut group = c.benchmark_group("decode_1MiB_masked_binary");
    group.throughput(Throughput::Bytes(SIZE as u64));
    group.bench_function("ws6455", |b| {
        b.iter_batched_ref(
            || Input(Cursor::new(wire.clone())),
            |input| ws6455_read(input, 1),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("tungstenite", |b| {
        b.iter_batched_ref(
            || Input(Cursor::new(wire.clone())),
            |input| tungstenite_read(input, 1),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// A destination of `len` bytes whose address differs from `src`'s modulo 4096 (by 128), so
/// the copy does not suffer 4 KiB aliasing.
fn offset_dst(storage: &mut [u8], src: &[u8], len: usize) -> std::ops::Range<usize> {
    let s = src.as_ptr() as usize % 4096;
    let d = storage.as_ptr() as usize % 4096;
    let start = (s + 128 + 4096 - d) % 4096;
    start..start + len
}

fn masking(c: &mut Criterion) {
    for (name, len) in [("1KiB", 1 << 10), ("64KiB", 64 << 10), ("16MiB", 16 << 20)] {
        let src: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut storage = vec![0u8; len + 8192];
        let range = offset_dst(&mut storage, &src, len);
        let mut group = c.benchmark_group(format!("mask_{name}"));
        group.throughput(Throughput::Bytes(len as u64));
        if len > (1 << 20) {
            group.sample_size(20);
        }
        group.bench_function("apply_mask_in_place", |b| {
            let dst = &mut storage[range.clone()];
            b.iter(|| apply_mask(black_box(dst), KEY, 1))
        });
        group.bench_function("copy_from_slice", |b| {
            let dst = &mut storage[range.clone()];
            b.iter(|| black_box(&mut *dst).copy_from_slice(black_box(&src)))
        });
        group.finish();
    }
}

criterion_group!(benches, small_frames, large_frame, masking);
criterion_main!(benches);
