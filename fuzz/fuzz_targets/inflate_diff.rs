#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../logic/deflate_targets.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::inflate_diff(data));
