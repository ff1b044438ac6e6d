//! Several `gongkai serve` replicas on one PostgreSQL database (issue 14,
//! item 3 and the crash acceptance), the real binary on the test kit's
//! real server:
//!
//! - a write through one replica is read at once through the other;
//! - two replicas writing the same report at once: one wins, the other
//!   gets ABORTED;
//! - writes from every replica at once make one chain, one sequence, that
//!   `gongkai verify --database` verifies;
//! - a replica killed with SIGKILL at a random moment under 64 calls in
//!   flight, clients retrying on the other with the same request id, then
//!   restarted: no acknowledged write lost, none made twice, per cycle
//!   (3 cycles; `GONGKAI_LONG_CYCLES=20` for the long form);
//! - health NOT_SERVING while the database is killed, SERVING again once it
//!   is back, without a restart of gongkai.
//!
//! Figures (acknowledged writes, resends, times to recover) go to stderr:
//! `cargo test --test serve_replicas -- --nocapture`.

mod common;

use std::time::{Duration, Instant};

use common::{
    load::{
        self, ADMIN_NAME, AUDITOR_NAME, Book, Load, REVIEWER_NAME, check_acked, check_one_sequence,
        lane_content, lane_report, principals, register_tree, return_comments, start_replica,
        tree_events, until_health, verify_database,
    },
    serve::{authed, fresh_database, report_name},
};
use gongkai_proto::v1 as pb;
use rand::Rng;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// `n` replicas on `url`, started at once (each runs `--migrate`: safe
/// from several processes together), each in a directory of its own.
async fn replicas(
    url: &str,
    p: &common::serve::Principals,
    n: usize,
) -> (Vec<common::serve::Running>, Vec<tempfile::TempDir>) {
    let dirs: Vec<_> = (0..n).map(|_| tempfile::tempdir().unwrap()).collect();
    let started: Vec<_> = dirs
        .iter()
        .map(|d| start_replica(d.path(), p, url))
        .collect();
    let mut running = Vec::new();
    for s in started {
        running.push(s.await.expect("a replica starts"));
    }
    (running, dirs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_replica_is_read_at_once_through_the_other() {
    let url = fresh_database().await;
    let p = principals();
    let (servers, _dirs) = replicas(&url, &p, 2).await;
    let mut a = servers[0].clients().await;
    let mut b = servers[1].clients().await;

    // An agency registered through A is there through B.
    register_tree(&mut a, &p).await;
    let (author, agency, year) = lane_report(0);
    let listed = b
        .agency
        .get_agency(authed(
            Some(p.token(ADMIN_NAME)),
            pb::GetAgencyRequest {
                name: common::serve::agency_name(&agency),
            },
        ))
        .await
        .expect("the agency through B")
        .into_inner();
    assert_eq!(listed.agency.expect("the agency").uscc, agency);

    // A submission through A, read through B; a return through B, read
    // through A.
    let name = report_name(&agency, year);
    let submitted = a
        .submit(p.token(author), &name, Some(lane_content(0, 1)), 0, "r1")
        .await
        .expect("submitted through A");
    let auditor = p.token(AUDITOR_NAME);
    assert_eq!(b.get_revision(auditor, &name).await.unwrap(), submitted);
    let returned = b
        .return_report(p.token(REVIEWER_NAME), &name, 1, return_comments(2), "r2")
        .await
        .expect("returned through B");
    assert_eq!(a.get_revision(auditor, &name).await.unwrap(), returned);
    assert_eq!(returned.revision, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_writing_the_same_report_at_once_one_wins_the_other_is_aborted() {
    let url = fresh_database().await;
    let p = principals();
    let (servers, _dirs) = replicas(&url, &p, 2).await;
    let mut a = servers[0].clients().await;
    let b = servers[1].clients().await;
    register_tree(&mut a, &p).await;
    let (author, agency, year) = lane_report(0);
    let name = report_name(&agency, year);

    // Rounds of a race: both replicas submit (even revisions) or return
    // (odd ones) the report at the same expected revision, with request
    // ids of their own, released together.
    const ROUNDS: u32 = 12;
    for expected in 0..ROUNDS {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let calls = [a.clone(), b.clone()]
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                let barrier = barrier.clone();
                let name = name.clone();
                let submitter = p.token(author).to_owned();
                let reviewer = p.token(REVIEWER_NAME).to_owned();
                let request_id = format!("race-{expected}-replica-{i}");
                tokio::spawn(async move {
                    barrier.wait().await;
                    if expected % 2 == 0 {
                        let k = expected + u32::try_from(i).unwrap() + 1;
                        c.submit(
                            &submitter,
                            &name,
                            Some(lane_content(0, k)),
                            expected,
                            &request_id,
                        )
                        .await
                    } else {
                        c.return_report(
                            &reviewer,
                            &name,
                            expected,
                            return_comments(expected + 1),
                            &request_id,
                        )
                        .await
                    }
                })
            });
        let mut outcomes = Vec::new();
        for call in calls.collect::<Vec<_>>() {
            outcomes.push(call.await.unwrap());
        }
        let won: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
        let lost: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
        assert_eq!(
            won.len(),
            1,
            "round {expected}: exactly one wins: {outcomes:?}"
        );
        assert_eq!(won[0].revision, expected + 1, "round {expected}");
        assert_eq!(lost.len(), 1, "round {expected}");
        assert_eq!(
            lost[0].code(),
            Code::Aborted,
            "round {expected}: {:?}",
            lost[0]
        );
    }
    // One revision per round, one event per revision.
    let events = check_one_sequence(&mut a, &p).await;
    assert_eq!(events, tree_events() + u64::from(ROUNDS));
    assert_eq!(verify_database(&url).await, events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_from_every_replica_make_one_chain_that_verifies() {
    let url = fresh_database().await;
    let p = principals();
    let (servers, _dirs) = replicas(&url, &p, 3).await;
    let mut clients = Vec::new();
    for s in &servers {
        clients.push(s.clients().await);
    }
    register_tree(&mut clients[0], &p).await;
    let book = Book::new(clients.clone());
    // 24 lanes, 8 on each replica, until 300 writes are acknowledged.
    let mut load = Load::start(book, &p, 24);
    load.until_acked(300, Duration::from_secs(60)).await;
    let lanes = load.stop().await;
    // Each lane stayed on its replica (none was down): all three wrote.
    let acked = check_acked(&clients[1], &p, &lanes).await;
    let events = check_one_sequence(&mut clients[2], &p).await;
    assert_eq!(
        events,
        tree_events() + acked,
        "one event per write, no more"
    );
    assert_eq!(verify_database(&url).await, events);
    eprintln!("3 replicas, 24 lanes: {acked} writes acknowledged, one chain of {events} events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_with_sigkill_under_load_loses_no_acknowledged_write() {
    let cycles = load::cycles(3);
    let url = fresh_database().await;
    let p = principals();
    let (mut servers, dirs) = replicas(&url, &p, 2).await;
    let mut clients = Vec::new();
    for s in &servers {
        clients.push(s.clients().await);
    }
    register_tree(&mut clients[0], &p).await;
    let book = Book::new(clients);
    let mut load = Load::start(book.clone(), &p, 64);
    let mut rng = rand::rng();
    let mut restarts = Vec::new();
    for cycle in 0..cycles {
        // Every lane is on the replica that survived the last kill: kill
        // that one now, after a random number of further writes.
        let victim = cycle % 2;
        let at = load.acked() + rng.random_range(16..160);
        load.until_acked(at, Duration::from_secs(60)).await;
        let killed = Instant::now();
        servers[victim].sigkill();
        // The lanes go on through the other replica.
        let goes_on = load.acked() + 64;
        let resumed = load.until_acked(goes_on, Duration::from_secs(60)).await;
        // Restarted (a new port), and back in the clients' book once it
        // says it serves.
        servers[victim] = start_replica(dirs[victim].path(), &p, &url)
            .await
            .expect("restarted");
        let mut c = servers[victim].clients().await;
        let serving = until_health(&mut c, ServingStatus::Serving, Duration::from_secs(30)).await;
        book.replace(victim, c);
        restarts.push((
            resumed.duration_since(killed),
            serving.duration_since(killed),
        ));
    }
    let (resent, settled) = (load.resent(), load.settled_by_request_id());
    let lanes = load.stop().await;
    let acked = check_acked(&book.get(0), &p, &lanes).await;
    let events = check_one_sequence(&mut book.get(1), &p).await;
    assert_eq!(
        events,
        tree_events() + acked,
        "every acknowledged write once, none twice"
    );
    assert_eq!(verify_database(&url).await, events);
    let worst = restarts.iter().map(|r| r.0).max().unwrap_or_default();
    let worst_restart = restarts.iter().map(|r| r.1).max().unwrap_or_default();
    eprintln!(
        "{cycles} SIGKILL cycles, 64 lanes: {acked} writes acknowledged, 0 lost, \
         {resent} tries resent, {settled} of them answered by the request id with the \
         revision the killed replica had made; 64 more writes after a kill within {worst:?} at worst; \
         the killed replica serving again within {worst_restart:?} at worst"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_not_serving_while_the_database_is_killed_and_serving_once_it_is_back() {
    // A cluster of its own, to kill.
    let cluster = tokio::task::spawn_blocking(|| {
        gongkai_testkit::Cluster::start(&gongkai_testkit::Options::default())
            .unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap();
    let cluster = std::sync::Arc::new(cluster);
    let c = cluster.clone();
    let url =
        tokio::task::spawn_blocking(move || c.fresh_database().unwrap_or_else(|e| panic!("{e}")))
            .await
            .unwrap();
    let p = principals();
    let (servers, _dirs) = replicas(&url, &p, 2).await;
    let mut a = servers[0].clients().await;
    let mut b = servers[1].clients().await;
    register_tree(&mut a, &p).await;

    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.kill().unwrap_or_else(|e| panic!("{e}")))
        .await
        .unwrap();
    let killed = Instant::now();
    let limit = Duration::from_secs(30);
    let down_a = until_health(&mut a, ServingStatus::NotServing, limit).await;
    let down_b = until_health(&mut b, ServingStatus::NotServing, limit).await;

    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.start_again().unwrap_or_else(|e| panic!("{e}")))
        .await
        .unwrap();
    let back = Instant::now();
    let up_a = until_health(&mut a, ServingStatus::Serving, limit).await;
    let up_b = until_health(&mut b, ServingStatus::Serving, limit).await;
    // The same processes write again.
    let (author, agency, year) = lane_report(0);
    let name = report_name(&agency, year);
    let r = b
        .submit(p.token(author), &name, Some(lane_content(0, 1)), 0, "after")
        .await
        .expect("a write once the database is back");
    assert_eq!(r.revision, 1);
    eprintln!(
        "database killed: NOT_SERVING after {:?} / {:?}; started again: SERVING after {:?} / {:?}",
        down_a.duration_since(killed),
        down_b.duration_since(killed),
        up_a.duration_since(back),
        up_b.duration_since(back),
    );
}
