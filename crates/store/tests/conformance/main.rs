//! The store's conformance suite: every behaviour of the store, run on
//! each engine (`sled::…` and `postgres::…` per test, see
//! `store_fixture::conformance!`). PostgreSQL is the test kit's real
//! server (`crates/testkit`), never a mock.

#[path = "../store_fixture/mod.rs"]
mod store_fixture;

mod area_bounds;
mod area_index;
mod area_sums;
mod bad_input;
mod batched_writes;
mod concurrency;
mod format_version;
mod idempotency;
mod lifecycle;
mod paging;
mod save_and_submit;
mod tamper;
mod transition_after_queued_write;
mod transitions;
mod tree_walks;
