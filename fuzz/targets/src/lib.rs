//! The fuzz targets' bodies. Each takes arbitrary bytes and returns; a
//! panic (an `assert!` here included), a hang or memory without bound is a
//! bug in the code under test. The cargo-fuzz targets (`fuzz_targets/*.rs`,
//! one line each) and the stable harness (`src/bin/fuzz_stable.rs`) call
//! the same functions, so either fuzzer exercises the same code.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod check;
pub mod document;
pub mod requests;
pub mod seeds;
pub mod store_values;

/// One fuzz target.
#[derive(Debug)]
pub struct Target {
    /// Its name: the cargo-fuzz binary, the stable harness's argument.
    pub name: &'static str,
    /// The body.
    pub run: fn(&[u8]),
    /// Seed corpus directories, relative to the repository root: the
    /// fixtures and checked-in seeds, then the inputs that once crashed it.
    pub seeds: &'static [&'static str],
}

/// Every target.
pub const TARGETS: [Target; 4] = [
    Target {
        name: "document",
        run: document::run,
        seeds: &[
            "testdata/reports",
            "fuzz/seeds/document",
            "fuzz/regressions/document",
        ],
    },
    Target {
        name: "check",
        run: check::run,
        seeds: &["fuzz/seeds/check", "fuzz/regressions/check"],
    },
    Target {
        name: "store_values",
        run: store_values::run,
        seeds: &["fuzz/seeds/store_values", "fuzz/regressions/store_values"],
    },
    Target {
        name: "requests",
        run: requests::run,
        seeds: &["fuzz/seeds/requests", "fuzz/regressions/requests"],
    },
];

/// The target of that name.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
