//! A review transition queued right behind the write that creates the
//! revision it expects is judged where it stands in the writer's queue:
//! after that write, not against the store as it was when the transition
//! was queued. A caller may enqueue both without waiting for the first.

use crate::store_fixture::*;
use gongkai_proto::v1::ReviewState;
use gongkai_store::{Action, Checked, ReportKey, StoreError};

conformance!(
    a_transition_queued_behind_the_write_it_expects_lands_on_that_revision,
    a_transition_expecting_a_revision_that_will_never_exist_is_a_conflict,
);

/// Many reports, each written and then reviewed without waiting in
/// between: the writer has most likely not applied the write when the
/// transition is queued (that was the race), and whatever the interleaving
/// both must succeed, the transition landing on the revision just created.
async fn a_transition_queued_behind_the_write_it_expects_lands_on_that_revision(engine: Engine) {
    let store = open(engine).await;
    let code = uscc_in("230523", 7);
    register(&store, &code, None).await;
    let before = events(&store).await.len();
    let key = |year: u32| ReportKey {
        uscc: code.clone(),
        year,
    };
    let mut queued = Vec::new();
    for year in 2021..2051 {
        let k = key(year);
        let tag = format!("{year}");
        // Even years: submitted at once, then approved; odd years: a draft,
        // then submitted.
        let (write, action) = if year % 2 == 0 {
            (
                store.save_and_submit_pending(
                    &w(&format!("s-{year}")),
                    &k,
                    0,
                    content(&tag),
                    Checked::default(),
                ),
                Action::Approve,
            )
        } else {
            (
                store.save_draft_pending(
                    &w(&format!("d-{year}")),
                    &k,
                    0,
                    content(&tag),
                    Checked::default(),
                ),
                Action::Submit,
            )
        };
        let review = store.transition_pending(
            &w(&format!("t-{year}")),
            &k,
            1,
            action,
            Checked::default(),
            vec![],
        );
        queued.push((year, action, write, review));
    }
    for (year, action, write, review) in queued {
        let first = write.await.unwrap_or_else(|e| panic!("{year}: write: {e}"));
        let second = review
            .await
            .unwrap_or_else(|e| panic!("{year}: {action:?} behind the write: {e}"));
        assert_eq!(first.revision, 1, "{year}");
        let (state, approved) = match action {
            Action::Approve => (ReviewState::Approved, 2),
            _ => (ReviewState::Submitted, 0),
        };
        assert_eq!(
            (second.revision, second.previous_revision, second.state()),
            (2, 1, state),
            "{year}"
        );
        assert_eq!(second.name, key(year).revision_name(2));
        // The content reviewed is the content the queued write stored.
        assert_eq!(
            second.report.as_ref().map(bytes),
            Some(bytes(&content(&format!("{year}")))),
            "{year}"
        );
        assert_eq!(
            store
                .revision(&key(year), 2)
                .await
                .unwrap()
                .map(|r| bytes(&r)),
            Some(bytes(&second)),
            "{year}: the answer is what was stored"
        );
        let head = store.head(&key(year)).await.unwrap().expect("head");
        assert_eq!(
            (
                head.latest_revision,
                head.latest_state(),
                head.approved_revision
            ),
            (2, state, approved),
            "{year}"
        );
    }
    assert_chain(&store, before as u64 + 60).await;
}

/// A transition expecting a revision that no queued write will create is
/// refused as any write naming a revision other than the latest is: a
/// `Conflict` naming the latest, writing nothing, and the write queued
/// before it is not disturbed.
async fn a_transition_expecting_a_revision_that_will_never_exist_is_a_conflict(engine: Engine) {
    let store = open(engine).await;
    let code = uscc_in("230523", 8);
    register(&store, &code, None).await;
    let before = events(&store).await.len();
    let key = ReportKey {
        uscc: code.clone(),
        year: 2024,
    };
    let write = store.save_and_submit_pending(&w("s"), &key, 0, content("c"), Checked::default());
    let ahead = store.transition_pending(
        &w("ahead"),
        &key,
        2,
        Action::Approve,
        Checked::default(),
        vec![],
    );
    // Revision 1 will exist, but not as a draft: the machine decides.
    let forbidden = store.transition_pending(
        &w("forbidden"),
        &key,
        1,
        Action::Submit,
        Checked::default(),
        vec![],
    );
    assert_eq!(write.await.unwrap().revision, 1);
    match ahead.await {
        Err(StoreError::Conflict {
            expected, actual, ..
        }) => assert_eq!((expected, actual), (2, 1)),
        other => panic!("expected Conflict 2/1, got {other:?}"),
    }
    match forbidden.await {
        Err(StoreError::InvalidTransition { from, action, .. }) => {
            assert_eq!((from, action), ("submitted", "submit"));
        }
        other => panic!("expected InvalidTransition, got {other:?}"),
    }
    let head = store.head(&key).await.unwrap().expect("head");
    assert_eq!(
        (head.latest_revision, head.latest_state()),
        (1, ReviewState::Submitted)
    );
    assert_eq!(store.revision(&key, 2).await.unwrap(), None);
    assert_chain(&store, before as u64 + 1).await;

    // A report nobody writes: nothing to review.
    let absent = ReportKey {
        uscc: code,
        year: 2023,
    };
    let never = store.transition_pending(
        &w("never"),
        &absent,
        0,
        Action::Approve,
        Checked::default(),
        vec![],
    );
    match never.await {
        Err(StoreError::NotFound(name)) => assert_eq!(name, absent.name()),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_chain(&store, before as u64 + 1).await;
}
