//! A database failover under load (issue 14, the failover acceptance): a
//! primary and a synchronous streaming standby (two clusters of the test
//! kit on this machine), two `gongkai serve` replicas given both hosts
//! with `target_session_attrs=read-write`, 64 calls in flight. The primary
//! is killed (SIGKILL), the standby promoted; gongkai goes on without a
//! restart, no acknowledged write is lost, none is made twice, and the
//! chain verifies on the promoted standby. One failover in CI;
//! `GONGKAI_LONG_CYCLES=N` runs N, each on new clusters.
//!
//! Figures go to stderr: `cargo test --test serve_failover -- --nocapture`.

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::load::{
    self, Book, Load, check_acked, check_one_sequence, principals, register_tree, start_replica,
    tree_events, until_health, verify_database,
};
use gongkai_testkit::{Cluster, Options};
use rand::Rng;
use tonic_health::pb::health_check_response::ServingStatus;

/// Runs `f` on a blocking thread (the test kit runs programs and waits).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, String> + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_killed_and_the_standby_promoted_under_load_loses_no_acknowledged_write() {
    for cycle in 0..load::cycles(1) {
        failover(cycle).await;
    }
}

async fn failover(cycle: usize) {
    // The primary, a database on it, and its synchronous standby (a copy
    // of it taken after the database exists).
    let primary = Arc::new(blocking(|| Cluster::start(&Options::default())).await);
    let p1 = primary.clone();
    let url = blocking(move || p1.fresh_database()).await;
    let db = url.rsplit('/').next().expect("a database").to_owned();
    let p1 = primary.clone();
    let standby = Arc::new(blocking(move || p1.standby(true)).await);
    let both = format!(
        "postgres://{}@127.0.0.1:{},127.0.0.1:{}/{db}?target_session_attrs=read-write",
        gongkai_testkit::SUPERUSER,
        primary.port(),
        standby.port()
    );

    let p = principals();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let started: Vec<_> = dirs
        .iter()
        .map(|d| start_replica(d.path(), &p, &both))
        .collect();
    let mut servers = Vec::new();
    for s in started {
        servers.push(s.await.expect("a replica starts"));
    }
    let mut clients = Vec::new();
    for s in &servers {
        clients.push(s.clients().await);
    }
    register_tree(&mut clients[0], &p).await;
    let book = Book::new(clients.clone());
    let mut load = Load::start(book.clone(), &p, 64);

    // The primary dies after a random number of writes.
    let at = rand::rng().random_range(32..256);
    load.until_acked(at, Duration::from_secs(60)).await;
    let before = load.acked();
    let p1 = primary.clone();
    blocking(move || p1.kill()).await;
    let killed = Instant::now();
    let s1 = standby.clone();
    blocking(move || s1.promote()).await;
    let promoted = Instant::now();
    // The same gongkai processes go on, on the promoted standby.
    let resumed = load
        .until_acked(load.acked() + 64, Duration::from_secs(60))
        .await;
    // And both say so.
    for c in &mut clients {
        until_health(c, ServingStatus::Serving, Duration::from_secs(30)).await;
    }
    load.until_acked(load.acked() + 128, Duration::from_secs(60))
        .await;
    let resent = load.resent();
    let settled = load.settled_by_request_id();
    let lanes = load.stop().await;

    let acked = check_acked(&clients[0], &p, &lanes).await;
    let events = check_one_sequence(&mut clients[1], &p).await;
    assert_eq!(
        events,
        tree_events() + acked,
        "every acknowledged write once"
    );
    // Verified on the promoted standby itself.
    assert_eq!(verify_database(&standby.url(&db)).await, events);
    assert!(
        servers
            .iter_mut()
            .all(|s| s.child.try_wait().expect("try_wait").is_none()),
        "no replica restarted"
    );
    eprintln!(
        "failover {cycle}: {acked} writes acknowledged ({before} before the kill), 0 lost; \
         promotion took {:?}; 64 writes after the kill within {:?}; \
         {resent} tries resent, {settled} answered by request id with an earlier try's revision",
        promoted.duration_since(killed),
        resumed.duration_since(killed),
    );
}
