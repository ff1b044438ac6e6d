//! cargo-fuzz target `store_values`: the body is `gongkai_fuzz_targets::store_values::run`,
//! shared with the stable harness (`fuzz_stable`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gongkai_fuzz_targets::store_values::run(data));
