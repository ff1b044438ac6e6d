//! Optimistic concurrency: a write naming a stale revision is refused with
//! `Conflict`, and under concurrent writers no update is lost.

mod store_fixture;

use std::sync::{Arc, Barrier};

use gongkai_proto::v1::ReviewState;
use gongkai_store::{Action, Checked, PageRequest, ReportKey, ReportStore, SledStore, StoreError};
use store_fixture::{
    all_pages, assert_chain, assert_conflict, bytes, content, events, one_report, open, register,
    uscc, w,
};

const WRITERS: usize = 16;

fn setup() -> (tempfile::TempDir, SledStore, ReportKey) {
    one_report("330700", 1)
}

#[test]
fn a_write_naming_a_stale_revision_is_a_conflict() {
    let (_d, store, key) = setup();
    store
        .save_draft(&w("d1"), &key, 0, content("1"), Checked::default())
        .unwrap();
    store
        .save_draft(&w("d2"), &key, 1, content("2"), Checked::default())
        .unwrap();
    let before = bytes(&store.head(&key).unwrap().unwrap());
    let n = events(&store).len();
    // Behind, ahead, and "new report" on an existing one.
    assert_conflict(
        store.save_draft(&w("d3"), &key, 1, content("3"), Checked::default()),
        1,
        2,
    );
    assert_conflict(
        store.save_draft(&w("d4"), &key, 7, content("3"), Checked::default()),
        7,
        2,
    );
    assert_conflict(
        store.save_draft(&w("d5"), &key, 0, content("3"), Checked::default()),
        0,
        2,
    );
    for (i, action) in [Action::Submit, Action::Approve, Action::Return]
        .into_iter()
        .enumerate()
    {
        assert_conflict(
            store.transition(
                &w(&format!("t{i}")),
                &key,
                1,
                action,
                Checked::default(),
                vec![],
            ),
            1,
            2,
        );
    }
    match store.save_draft(&w("d6"), &key, 1, content("3"), Checked::default()) {
        Err(StoreError::Conflict { resource, .. }) => assert_eq!(resource, key.name()),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(bytes(&store.head(&key).unwrap().unwrap()), before);
    assert_eq!(events(&store).len(), n);
    assert_chain(&store, n as u64);
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
        .unwrap();
    assert_conflict(
        store.transition(
            &w("s2"),
            &key,
            2,
            Action::Submit,
            Checked::default(),
            vec![],
        ),
        2,
        3,
    );
}

/// One write racing for the next revision: its new revision number.
type Op = fn(&SledStore, &ReportKey, &str, u32) -> gongkai_store::Result<u32>;

/// Runs one round of `WRITERS` threads each trying to move the report
/// on from the same expected revision with `op`; returns the successes.
fn race(store: &Arc<SledStore>, key: &ReportKey, round: usize, op: Op) -> usize {
    let expected = store.head(key).unwrap().map_or(0, |h| h.latest_revision);
    let barrier = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|t| {
            let store = Arc::clone(store);
            let barrier = Arc::clone(&barrier);
            let key = key.clone();
            std::thread::spawn(move || {
                barrier.wait();
                op(&store, &key, &format!("r{round}-t{t}"), expected)
            })
        })
        .collect();
    let mut wins = 0;
    for h in handles {
        match h.join().unwrap() {
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

fn save(store: &SledStore, key: &ReportKey, id: &str, expected: u32) -> gongkai_store::Result<u32> {
    store
        .save_draft(&w(id), key, expected, content(id), Checked::default())
        .map(|r| r.revision)
}

fn submit(
    store: &SledStore,
    key: &ReportKey,
    id: &str,
    expected: u32,
) -> gongkai_store::Result<u32> {
    store
        .transition(
            &w(id),
            key,
            expected,
            Action::Submit,
            Checked::default(),
            vec![],
        )
        .map(|r| r.revision)
}

fn approve(
    store: &SledStore,
    key: &ReportKey,
    id: &str,
    expected: u32,
) -> gongkai_store::Result<u32> {
    store
        .transition(
            &w(id),
            key,
            expected,
            Action::Approve,
            Checked::default(),
            vec![],
        )
        .map(|r| r.revision)
}

#[test]
fn sixteen_writers_on_one_report_one_wins_each_round_and_nothing_is_lost() {
    let (_d, store, key) = setup();
    let store = Arc::new(store);
    // The first draft, then edits, then a submit and an approval, each raced.
    let mut ops: Vec<Op> = vec![save; 12];
    ops.extend([submit as Op, approve, save]);
    let mut wins = 0;
    for (round, op) in ops.into_iter().enumerate() {
        wins += race(&store, &key, round, op);
    }
    let head = store.head(&key).unwrap().unwrap();
    assert_eq!(
        head.latest_revision as usize, wins,
        "final revision = successes"
    );
    assert_eq!(
        (head.latest_state(), head.approved_revision),
        (ReviewState::Draft, 14)
    );
    let revs = all_pages(4, |p| store.list_revisions(&key, p));
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
    assert_chain(&store, 1 + wins as u64);
}

#[test]
fn concurrent_writers_on_different_reports_all_succeed() {
    const PER_WRITER: u32 = 8;
    let (_d, store) = open();
    let root = uscc("330700", 1);
    register(&store, &root, None);
    let codes: Vec<String> = (0..WRITERS as u32)
        .map(|i| uscc("330702", i + 10))
        .collect();
    for c in &codes {
        register(&store, c, Some(&root));
    }
    let registered = 1 + codes.len() as u64;
    let store = Arc::new(store);
    let barrier = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = codes
        .iter()
        .cloned()
        .map(|code| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                // Two reports per writer, alternating, so writers also share
                // the year indexes.
                let keys = [2023, 2024].map(|year| ReportKey {
                    uscc: code.clone(),
                    year,
                });
                let mut latest = [0u32; 2];
                barrier.wait();
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
                        .unwrap_or_else(|e| panic!("{code} write {i}: {e}"));
                    latest[k] = r.revision;
                }
                latest
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), [PER_WRITER / 2, PER_WRITER / 2]);
    }
    let writes = WRITERS as u64 * u64::from(PER_WRITER);
    assert_chain(&store, registered + writes);
    for c in &codes {
        for year in [2023, 2024] {
            let key = ReportKey {
                uscc: c.clone(),
                year,
            };
            let revs = store.list_revisions(&key, &PageRequest::default()).unwrap();
            assert_eq!(revs.items.len() as u32, PER_WRITER / 2, "{}", key.name());
        }
    }
    // Every write has exactly one event, and the sequence is gapless.
    let evs = events(&store);
    let report_events = evs
        .iter()
        .filter(|e| e.resource.contains("/reports/"))
        .count();
    assert_eq!(report_events as u64, writes);
}
