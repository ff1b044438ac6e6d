//! cargo-fuzz target `requests`: the body is `gongkai_fuzz_targets::requests::run`,
//! shared with the stable harness (`fuzz_stable`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gongkai_fuzz_targets::requests::run(data));
