//! gongkai-server: the `gongkai` binary's library: configuration, access,
//! the gRPC services and the server. `main.rs` is the command line over it.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod access;
pub mod admission;
pub mod auth;
pub mod deadlines;
pub mod error;
pub mod logbuf;
pub mod metrics;
pub mod sample;
pub mod serve;
pub mod services;
