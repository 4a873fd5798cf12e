//! Our own DEFLATE (RFC 1951) codec for permessage-deflate (RFC 7692): a resumable, bounded
//! [`Inflater`] and a hash-chain [`Deflater`], both on `std` alone.
//!
//! **Not a stable API.** The module is private; the `internals` cargo feature exposes it (hidden
//! from the docs) for the fuzz targets and benchmarks only, and it may change at any time.
//!
//! - [`inflate`]: the decoder (stored, fixed and dynamic blocks; table-driven Huffman decoding
//!   with a 64-bit bit buffer; output bounded while inflating; typed errors with their
//!   WebSocket close code);
//! - [`lz77`]: the encoder (greedy and lazy matching over hash chains, distances capped at
//!   2^window_bits, per-block choice of fixed, dynamic or stored encoding, sync flush);
//! - [`huffman`], [`tables`]: canonical Huffman codes and the RFC's constant tables.
//!
//! The design, memory figures and measured speeds are in `docs/compression.md`.
//!
//! ```
//! # #[cfg(feature = "internals")] {
//! use ws6455::deflate::{Deflater, Inflater, Level};
//! let (mut def, mut inf) = (Deflater::new(12, Level::DEFAULT), Inflater::new(12));
//! for msg in [&b"first message"[..], b"second message", b""] {
//!     let mut z = Vec::new();
//!     def.compress_message(msg, &mut z);
//!     let mut back = Vec::new();
//!     inf.inflate(&z, &mut back, 1 << 20).unwrap();
//!     let left = (1 << 20) - back.len();
//!     inf.finish_message(&mut back, left).unwrap();
//!     assert_eq!(back, msg);
//! }
//! # }
//! ```

// The protocol layer (`protocol/compression.rs`) uses the core of the codec; the rest of its
// API (accessors, level constants, some re-exports) serves the tests, fuzz targets and
// benches, and is unused in a build without the `internals` feature.
#![allow(dead_code, unused_imports)]

pub(crate) mod huffman;
pub mod inflate;
pub mod lz77;
pub(crate) mod tables;

pub use inflate::{InflateError, Inflater, Status, TAIL};
pub use lz77::{Deflater, Level};

#[cfg(test)]
mod tests;
