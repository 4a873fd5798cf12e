#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../logic/codec_targets.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::utf8(data));
