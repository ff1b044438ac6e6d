//! Optimistic concurrency: a write naming a stale revision is refused with
//! `Conflict`, and under concurrent writers no update is lost.

use std::sync::Arc;

use tokio::sync::Barrier;

use crate::store_fixture::*;
use gongkai_proto::v1::ReviewState;
use gongkai_store::{Action, Checked, PageRequest, ReportKey, Store, StoreError};

conformance!(
    a_write_naming_a_stale_revision_is_a_conflict,
    sixteen_writers_on_one_report_one_wins_each_round_and_nothing_is_lost,
    concurrent_writers_on_different_reports_all_succeed,
);

const WRITERS: usize = 16;

async fn setup(engine: Engine) -> (Fixture, ReportKey) {
    one_report(engine, "330700", 1).await
}

async fn a_write_naming_a_stale_revision_is_a_conflict(engine: Engine) {
    let (store, key) = setup(engine).await;
    store
        .save_draft(&w("d1"), &key, 0, content("1"), Checked::default())
        .await
        .unwrap();
    store
        .save_draft(&w("d2"), &key, 1, content("2"), Checked::default())
        .await
        .unwrap();
    let before = bytes(&store.head(&key).await.unwrap().unwrap());
    let n = events(&store).await.len();
    // Behind, ahead, and "new report" on an existing one.
    assert_conflict(
        store
            .save_draft(&w("d3"), &key, 1, content("3"), Checked::default())
            .await,
        1,
        2,
    );
    assert_conflict(
        store
            .save_draft(&w("d4"), &key, 7, content("3"), Checked::default())
            .await,
        7,
        2,
    );
    assert_conflict(
        store
            .save_draft(&w("d5"), &key, 0, content("3"), Checked::default())
            .await,
        0,
        2,
    );
    for (i, action) in [Action::Submit, Action::Approve, Action::Return]
        .into_iter()
        .enumerate()
    {
        assert_conflict(
            store
                .transition(
                    &w(&format!("t{i}")),
                    &key,
                    1,
                    action,
                    Checked::default(),
                    vec![],
                )
                .await,
            1,
            2,
        );
    }
    match store
        .save_draft(&w("d6"), &key, 1, content("3"), Checked::default())
        .await
    {
        Err(StoreError::Conflict { resource, .. }) => assert_eq!(resource, key.name()),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(bytes(&store.head(&key).await.unwrap().unwrap()), before);
    assert_eq!(events(&store).await.len(), n);
    assert_chain(&store, n as u64).await;
    // The conflict is checked before the state machine: a stale submit of a
    // submitted report is a conflict, so the client knows to reload.
    store
        .transition(
            &w("s1"),
            &key,
            2,
            Action::Submit,
            Checked::default(),
            vec![],
        )
        .await
        .unwrap();
    assert_conflict(
        store
            .transition(
                &w("s2"),
                &key,
                2,
                Action::Submit,
                Checked::default(),
                vec![],
            )
            .await,
        2,
        3,
    );
}

/// One write racing for the next revision.
#[derive(Clone, Copy, Debug)]
enum Op {
    Save,
    Submit,
    Approve,
}

/// Runs one round of `WRITERS` tasks each trying to move the report on
/// from the same expected revision with `op`; returns the successes.
async fn race(store: &Store, key: &ReportKey, round: usize, op: Op) -> usize {
    let expected = store
        .head(key)
        .await
        .unwrap()
        .map_or(0, |h| h.latest_revision);
    let barrier = Arc::new(Barrier::new(WRITERS));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|t| {
            let store = store.clone();
            let barrier = Arc::clone(&barrier);
            let key = key.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let id = format!("r{round}-t{t}");
                let w = w(&id);
                let written = match op {
                    Op::Save => {
                        store
                            .save_draft(&w, &key, expected, content(&id), Checked::default())
                            .await
                    }
                    Op::Submit | Op::Approve => {
                        let action = match op {
                            Op::Submit => Action::Submit,
                            _ => Action::Approve,
                        };
                        store
                            .transition(&w, &key, expected, action, Checked::default(), vec![])
                            .await
                    }
                };
                written.map(|r| r.revision)
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(rev) => {
                assert_eq!(rev, expected + 1, "the winner wrote the next revision");
                wins += 1;
            }
            Err(StoreError::Conflict {
                expected: e,
                actual,
                ..
            }) => assert_eq!((e, actual), (expected, expected + 1), "round {round}"),
            Err(other) => panic!("round {round}: unexpected error {other}"),
        }
    }
    assert_eq!(wins, 1, "round {round}: exactly one writer wins");
    wins
}

async fn sixteen_writers_on_one_report_one_wins_each_round_and_nothing_is_lost(engine: Engine) {
    let (store, key) = setup(engine).await;
    // The first draft, then edits, then a submit and an approval, each raced.
    let mut ops: Vec<Op> = vec![Op::Save; 12];
    ops.extend([Op::Submit, Op::Approve, Op::Save]);
    let mut wins = 0;
    for (round, op) in ops.into_iter().enumerate() {
        wins += race(&store, &key, round, op).await;
    }
    let head = store.head(&key).await.unwrap().unwrap();
    assert_eq!(
        head.latest_revision as usize, wins,
        "final revision = successes"
    );
    assert_eq!(
        (head.latest_state(), head.approved_revision),
        (ReviewState::Draft, 14)
    );
    let revs = all_pages(4, async |p| store.list_revisions(&key, p).await).await;
    assert_eq!(revs.len(), wins);
    for (i, r) in revs.iter().enumerate() {
        assert_eq!((r.revision, r.previous_revision), (i as u32 + 1, i as u32));
        // Each revision is the winner's: its request id names it.
        assert!(
            r.request_id.starts_with(&format!("r{i}-t")),
            "{}",
            r.request_id
        );
    }
    assert_chain(&store, 1 + wins as u64).await;
}

async fn concurrent_writers_on_different_reports_all_succeed(engine: Engine) {
    const PER_WRITER: u32 = 8;
    let store = open(engine).await;
    let root = uscc_in("330700", 1);
    register(&store, &root, None).await;
    let codes: Vec<String> = (0..WRITERS as u32)
        .map(|i| uscc_in("330702", i + 10))
        .collect();
    for c in &codes {
        register(&store, c, Some(&root)).await;
    }
    let registered = 1 + codes.len() as u64;
    let barrier = Arc::new(Barrier::new(WRITERS));
    let tasks: Vec<_> = codes
        .iter()
        .cloned()
        .map(|code| {
            let store = store.store().clone();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                // Two reports per writer, alternating, so writers also share
                // the year indexes.
                let keys = [2023, 2024].map(|year| ReportKey {
                    uscc: code.clone(),
                    year,
                });
                let mut latest = [0u32; 2];
                barrier.wait().await;
                for i in 0..PER_WRITER {
                    let k = (i % 2) as usize;
                    let r = store
                        .save_draft(
                            &w(&format!("{code}-{i}")),
                            &keys[k],
                            latest[k],
                            content(&format!("{code}-{i}")),
                            Checked::default(),
                        )
                        .await
                        .unwrap_or_else(|e| panic!("{code} write {i}: {e}"));
                    latest[k] = r.revision;
                }
                latest
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), [PER_WRITER / 2, PER_WRITER / 2]);
    }
    let writes = WRITERS as u64 * u64::from(PER_WRITER);
    assert_chain(&store, registered + writes).await;
    for c in &codes {
        for year in [2023, 2024] {
            let key = ReportKey {
                uscc: c.clone(),
                year,
            };
            let revs = store
                .list_revisions(&key, &PageRequest::default())
                .await
                .unwrap();
            assert_eq!(revs.items.len() as u32, PER_WRITER / 2, "{}", key.name());
        }
    }
    // Every write has exactly one event, and the sequence is gapless.
    let evs = events(&store).await;
    let report_events = evs
        .iter()
        .filter(|e| e.resource.contains("/reports/"))
        .count();
    assert_eq!(report_events as u64, writes);
}
