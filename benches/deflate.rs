//! Our DEFLATE codec (src/deflate/, `internals` feature) against miniz_oxide and flate2's default
//! backend, in the same run, on (a) chat traffic: 100 B–2 KiB JSON messages, each compressed
//! with a sync flush, context carried over, and (b) a 256 KiB document in one message.
//!
//! Run: `cargo bench --features internals --bench deflate -- --warm-up-time 1 --measurement-time 3`.
//! Throughput is in uncompressed bytes. Before measuring, the compressed sizes of both data
//! sets for every level of every implementation are printed (criterion reports only times).
//! Inflation of each data set is measured on the same compressed bytes (zlib-compatible level 6
//! output from flate2) for every decoder. Set `DEFLATE_BENCH_DUMP=DIR` to also write the two
//! data sets to DIR (for checking ratios against other tools, e.g. zlib). Set
//! `DEFLATE_BENCH_AB=N` to also print interleaved best-of-N timings (see `print_interleaved`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use miniz_oxide::deflate::core::{
    compress_to_output, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush,
};
use miniz_oxide::inflate::stream::InflateState;
use miniz_oxide::{DataFormat, MZFlush};
use ws6455::deflate::{Deflater, Inflater, Level, TAIL};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Zipf-like pick from `n` items: small indices are much more frequent.
    fn zipf(&mut self, n: usize) -> usize {
        let r = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((n as f64).powf(r) as usize).saturating_sub(1).min(n - 1)
    }
}

/// A vocabulary of made-up words, deterministic.
fn vocabulary(rng: &mut Rng) -> Vec<String> {
    const SYL: [&str; 24] = [
        "ka", "lo", "mi", "ne", "ra", "to", "su", "wi", "en", "an", "or", "is", "qu", "th", "er",
        "st", "ing", "ed", "re", "co", "pa", "li", "ve", "ma",
    ];
    (0..2000)
        .map(|_| {
            let n = 1 + (rng.next() % 3) as usize;
            (0..n).map(|_| SYL[(rng.next() % 24) as usize]).collect()
        })
        .collect()
}

fn sentence(rng: &mut Rng, words: &[String], len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        if !s.is_empty() {
            s.push(if rng.next() % 12 == 0 { ',' } else { ' ' });
        }
        s.push_str(&words[rng.zipf(words.len())]);
    }
    s
}

/// JSON chat messages of 100 B to 2 KiB.
fn chat(n: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x00c0_ffee);
    let words = vocabulary(&mut rng);
    let users: Vec<String> = (0..40).map(|i| format!("{}{}", words[i * 7], i)).collect();
    (0..n)
        .map(|i| {
            let target = 100 + rng.zipf(1948);
            let user = &users[rng.zipf(users.len())];
            let head = format!(
                "{{\"type\":\"message\",\"id\":{},\"ts\":{},\"room\":\"general\",\"user\":\"{user}\",\"text\":\"",
                1000 + i,
                1_700_000_000_000u64 + i as u64 * 1375 + rng.next() % 1000
            );
            let body = sentence(&mut rng, &words, target.saturating_sub(head.len() + 2).max(1));
            format!("{head}{body}\"}}").into_bytes()
        })
        .collect()
}

/// A 256 KiB document: HTML-ish markup around paragraphs of text, with a table of numbers.
fn document() -> Vec<u8> {
    let mut rng = Rng(0xd0c);
    let words = vocabulary(&mut rng);
    let mut d = String::from("<!DOCTYPE html>\n<html><head><title>Report</title></head><body>\n");
    let mut k = 0;
    while d.len() < 256 * 1024 {
        k += 1;
        d.push_str(&format!(
            "<h2 id=\"s{k}\">{}</h2>\n",
            sentence(&mut rng, &words, 30)
        ));
        for _ in 0..1 + rng.next() % 4 {
            let len = 200 + (rng.next() % 600) as usize;
            d.push_str(&format!(
                "<p class=\"body\">{}.</p>\n",
                sentence(&mut rng, &words, len)
            ));
        }
        if k % 5 == 0 {
            d.push_str("<table>\n");
            for r in 0..8 {
                d.push_str(&format!(
                    "<tr><td>{r}</td><td>{}</td><td>{:.2}</td></tr>\n",
                    rng.next() % 100_000,
                    (rng.next() % 10_000) as f64 / 7.0
                ));
            }
            d.push_str("</table>\n");
        }
    }
    d.push_str("</body></html>\n");
    d.into_bytes()
}

fn ours_deflate(msgs: &[Vec<u8>], level: u8) -> Vec<Vec<u8>> {
    let mut def = Deflater::new(15, Level::new(level));
    msgs.iter()
        .map(|m| {
            let mut z = Vec::new();
            def.compress_message(m, &mut z);
            z
        })
        .collect()
}

fn miniz_deflate(msgs: &[Vec<u8>], level: u8) -> Vec<Vec<u8>> {
    let mut c = CompressorOxide::new(create_comp_flags_from_zip_params(level as i32, -15, 0));
    msgs.iter()
        .map(|m| {
            let mut z = Vec::new();
            compress_to_output(&mut c, m, TDEFLFlush::Sync, |b| {
                z.extend_from_slice(b);
                true
            });
            z.truncate(z.len() - 4);
            z
        })
        .collect()
}

fn flate2_deflate(msgs: &[Vec<u8>], level: u8) -> Vec<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level as u32), false);
    msgs.iter()
        .map(|m| {
            let mut z = Vec::with_capacity(m.len() + 64);
            let start = c.total_in();
            loop {
                let done = (c.total_in() - start) as usize;
                c.compress_vec(&m[done..], &mut z, FlushCompress::Sync)
                    .unwrap();
                if (c.total_in() - start) as usize == m.len() && z.len() < z.capacity() {
                    break;
                }
                z.reserve(64 + z.len());
            }
            z.truncate(z.len() - 4);
            z
        })
        .collect()
}

fn ours_inflate(zs: &[Vec<u8>], sizes: &[usize]) -> usize {
    let mut inf = Inflater::new(15);
    let mut total = 0;
    let mut out = Vec::new();
    for (z, &n) in zs.iter().zip(sizes) {
        out.clear();
        inf.inflate(z, &mut out, n).unwrap();
        inf.finish_message(&mut out, 0).unwrap();
        total += out.len();
    }
    total
}

fn miniz_inflate(zs: &[Vec<u8>], sizes: &[usize]) -> usize {
    let mut st = InflateState::new_boxed(DataFormat::Raw);
    let mut total = 0;
    let mut out = vec![0u8; sizes.iter().max().copied().unwrap_or(0) + 64];
    let mut input = Vec::new();
    for (z, &n) in zs.iter().zip(sizes) {
        input.clear();
        input.extend_from_slice(z);
        input.extend_from_slice(&TAIL);
        let r = miniz_oxide::inflate::stream::inflate(&mut st, &input, &mut out, MZFlush::Sync);
        assert_eq!(r.bytes_written, n);
        total += r.bytes_written;
    }
    total
}

fn flate2_inflate(zs: &[Vec<u8>], sizes: &[usize]) -> usize {
    let mut d = Decompress::new(false);
    let mut total = 0;
    let mut input = Vec::new();
    let mut out = Vec::with_capacity(sizes.iter().max().copied().unwrap_or(0) + 64);
    for (z, &n) in zs.iter().zip(sizes) {
        input.clear();
        input.extend_from_slice(z);
        input.extend_from_slice(&TAIL);
        out.clear();
        d.decompress_vec(&input, &mut out, FlushDecompress::Sync)
            .unwrap();
        assert_eq!(out.len(), n);
        total += out.len();
    }
    total
}

type Deflate = fn(&[Vec<u8>], u8) -> Vec<Vec<u8>>;
type Inflate = fn(&[Vec<u8>], &[usize]) -> usize;

const DEFLATERS: [(&str, Deflate); 3] = [
    ("ws6455", ours_deflate),
    ("miniz_oxide", miniz_deflate),
    ("flate2", flate2_deflate),
];
const INFLATERS: [(&str, Inflate); 3] = [
    ("ws6455", ours_inflate),
    ("miniz_oxide", miniz_inflate),
    ("flate2", flate2_inflate),
];

fn datasets() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    vec![("chat", chat(2000)), ("doc256k", vec![document()])]
}

fn print_sizes(sets: &[(&str, Vec<Vec<u8>>)]) {
    if let Ok(dir) = std::env::var("DEFLATE_BENCH_DUMP") {
        for (name, msgs) in sets {
            std::fs::write(format!("{dir}/{name}.bin"), msgs.concat()).unwrap();
            let lens: Vec<String> = msgs.iter().map(|m| m.len().to_string()).collect();
            std::fs::write(format!("{dir}/{name}.lens"), lens.join("\n")).unwrap();
        }
    }
    for (name, msgs) in sets {
        let raw: usize = msgs.iter().map(Vec::len).sum();
        eprintln!(
            "\n{name}: {} messages, {raw} bytes; compressed bytes (% of input) per level:",
            msgs.len()
        );
        for (imp, f) in DEFLATERS {
            let row: Vec<String> = (1..=9)
                .map(|l| {
                    let z: usize = f(msgs, l).iter().map(Vec::len).sum();
                    format!("{l}:{z} ({:.2}%)", 100.0 * z as f64 / raw as f64)
                })
                .collect();
            eprintln!("  {imp:12} {}", row.join("  "));
        }
    }
    eprintln!();
}

/// With `DEFLATE_BENCH_AB=N`: before criterion runs, each (data set, level) is timed N times
/// for every implementation in turn (A B C A B C ...), and the best time of each is printed
/// with the ratio to miniz_oxide. On a shared machine whose load drifts, interleaving keeps
/// the ratio honest where criterion's back-to-back groups may not.
fn print_interleaved(sets: &[(&str, Vec<Vec<u8>>)]) {
    let Some(rounds) = std::env::var("DEFLATE_BENCH_AB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return;
    };
    let best = |f: &dyn Fn() -> usize, t: &mut f64| {
        let start = std::time::Instant::now();
        black_box(f());
        *t = t.min(start.elapsed().as_secs_f64());
    };
    for (name, msgs) in sets {
        let raw: usize = msgs.iter().map(Vec::len).sum();
        let mib = |t: f64| raw as f64 / t / (1 << 20) as f64;
        for level in [1u8, 6, 7, 9] {
            let mut t = [f64::MAX; 3];
            for _ in 0..rounds {
                for (k, (_, f)) in DEFLATERS.iter().enumerate() {
                    best(&|| f(msgs, level).len(), &mut t[k]);
                }
            }
            eprintln!(
                "interleaved deflate/{name}/{level}: ws6455 {:.1}  miniz_oxide {:.1}  flate2 {:.1} MiB/s  ws6455/miniz_oxide {:.2}x",
                mib(t[0]),
                mib(t[1]),
                mib(t[2]),
                t[1] / t[0]
            );
        }
        let zs = flate2_deflate(msgs, 6);
        let sizes: Vec<usize> = msgs.iter().map(Vec::len).collect();
        let mut t = [f64::MAX; 3];
        for _ in 0..rounds {
            for (k, (_, f)) in INFLATERS.iter().enumerate() {
                best(&|| f(&zs, &sizes), &mut t[k]);
            }
        }
        eprintln!(
            "interleaved inflate/{name}: ws6455 {:.1}  miniz_oxide {:.1}  flate2 {:.1} MiB/s  ws6455/miniz_oxide {:.2}x",
            mib(t[0]),
            mib(t[1]),
            mib(t[2]),
            t[1] / t[0]
        );
    }
    eprintln!();
}

fn bench(c: &mut Criterion) {
    let sets = datasets();
    print_sizes(&sets);
    print_interleaved(&sets);
    for (name, msgs) in &sets {
        let raw: usize = msgs.iter().map(Vec::len).sum();
        let sizes: Vec<usize> = msgs.iter().map(Vec::len).collect();
        let mut g = c.benchmark_group(format!("deflate/{name}"));
        g.throughput(Throughput::Bytes(raw as u64));
        for (imp, f) in DEFLATERS {
            for level in [1u8, 6, 7, 9] {
                g.bench_function(format!("{imp}/{level}"), |b| {
                    b.iter(|| f(black_box(msgs), level))
                });
            }
        }
        g.finish();
        let zs = flate2_deflate(msgs, 6);
        let mut g = c.benchmark_group(format!("inflate/{name}"));
        g.throughput(Throughput::Bytes(raw as u64));
        for (imp, f) in INFLATERS {
            assert_eq!(f(&zs, &sizes), raw, "{imp}");
            g.bench_function(imp, |b| b.iter(|| f(black_box(&zs), &sizes)));
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
