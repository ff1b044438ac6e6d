//! cargo-fuzz target `document`: the body is `gongkai_fuzz_targets::document::run`,
//! shared with the stable harness (`fuzz_stable`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gongkai_fuzz_targets::document::run(data));
