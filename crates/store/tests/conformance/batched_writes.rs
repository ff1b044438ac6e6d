//! Report writes queued together are applied together (one transaction per
//! batch, see writer.rs): each is answered on its own, a refused one writes
//! nothing and does not stop the others, and the audit chain stays one
//! sequence.

use crate::store_fixture::*;
use gongkai_proto::v1::ReviewState;
use gongkai_store::{Checked, ReportKey, StoreError};

conformance!(queued_writes_are_answered_each_on_its_own_and_refusals_write_nothing,);

async fn queued_writes_are_answered_each_on_its_own_and_refusals_write_nothing(engine: Engine) {
    let store = open(engine).await;
    let code = uscc_in("230523", 9);
    register(&store, &code, None).await;
    let before = events(&store).await.len();
    let key = |year: u32| ReportKey {
        uscc: code.clone(),
        year,
    };
    // Queue everything before waiting for anything: new reports (written),
    // each followed by a write naming a revision that does not exist yet
    // (refused), and a reused request id with other content (refused).
    let mut queued: Vec<(u32, bool, Queued)> = Vec::new();
    for year in 2021..2061 {
        let id = format!("new-{year}");
        queued.push((
            year,
            true,
            store.save_draft_pending(&w(&id), &key(year), 0, content("a"), Checked::default()),
        ));
        queued.push((
            year,
            false,
            store.save_draft_pending(
                &w(&format!("ahead-{year}")),
                &key(year),
                5,
                content("b"),
                Checked::default(),
            ),
        ));
    }
    let reused = store.save_draft_pending(
        &w("new-2021"),
        &key(2021),
        0,
        content("other"),
        Checked::default(),
    );
    let mut written = 0;
    for (year, ok, pending) in queued {
        match (ok, pending.await) {
            (true, Ok(r)) => {
                assert_eq!((r.revision, r.state()), (1, ReviewState::Draft));
                assert_eq!(r.name, format!("{}/revisions/1", key(year).name()));
                written += 1;
            }
            (
                false,
                Err(StoreError::Conflict {
                    expected, actual, ..
                }),
            ) => assert_eq!((expected, actual), (5, 1), "{year}"),
            (ok, other) => panic!("{year} (should write: {ok}): {other:?}"),
        }
    }
    assert!(matches!(
        reused.await,
        Err(StoreError::RequestIdReused(id)) if id == "new-2021"
    ));
    assert_eq!(written, 40);
    for year in 2021..2061 {
        let head = store.head(&key(year)).await.unwrap().expect("head");
        assert_eq!(
            head.latest_revision, 1,
            "{year}: refused writes wrote nothing"
        );
    }
    let all = events(&store).await;
    assert_eq!(all.len(), before + 40, "one event per written revision");
    assert_chain(&store, all.len() as u64).await;
}
