#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../logic/handshake_targets.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::http_response(data));
