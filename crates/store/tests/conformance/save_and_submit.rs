//! `save_and_submit`: new content submitted at once is one revision in state
//! submitted with one `REPORT_SUBMITTED` event, from every state a draft may
//! be saved in; a report under review refuses it and nothing is written.

use crate::store_fixture::*;
use gongkai_proto::v1::{AuditAction, ReportRevision, ReviewState};
use gongkai_store::{Action, Checked, ReportKey, Store};

conformance!(
    a_new_report_is_submitted_as_revision_1,
    a_draft_is_superseded_by_the_submitted_content,
    a_returned_report_is_resubmitted_with_new_content,
    a_correction_after_approval_keeps_the_approved_revision_current,
    a_report_under_review_refuses_new_content_and_nothing_is_written,
    a_retry_replays_and_a_stale_writer_conflicts,
);

async fn setup(engine: Engine) -> (Fixture, ReportKey) {
    one_report(engine, "230523", 7).await
}

async fn submit(
    store: &Store,
    key: &ReportKey,
    id: &str,
    expected: u32,
    tag: &str,
) -> gongkai_store::Result<ReportRevision> {
    store
        .save_and_submit(&w(id), key, expected, content(tag), Checked::default())
        .await
}

async fn act(store: &Store, key: &ReportKey, id: &str, expected: u32, action: Action) {
    store
        .transition(&w(id), key, expected, action, Checked::default(), vec![])
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}"));
}

/// Asserts `r` is revision `n`, submitted, holding `tag`'s content, and that
/// exactly one event (a submission of revision `n`) was added.
async fn assert_one_submitted_revision(
    store: &Store,
    key: &ReportKey,
    r: &ReportRevision,
    n: u32,
    tag: &str,
    events_before: usize,
) {
    assert_eq!(r.revision, n);
    assert_eq!(r.previous_revision, n - 1);
    assert_eq!(r.state(), ReviewState::Submitted);
    assert_eq!(r.report, Some(content(tag)));
    assert_eq!(store.revision(key, n).await.unwrap().as_ref(), Some(r));
    assert_eq!(store.revision(key, n + 1).await.unwrap(), None);
    let head = store.head(key).await.unwrap().expect("head");
    assert_eq!(
        (head.latest_revision, head.latest_state()),
        (n, ReviewState::Submitted)
    );
    let all = events(store).await;
    assert_eq!(all.len(), events_before + 1, "one event per submission");
    let last = all.last().expect("event");
    assert_eq!(last.action(), AuditAction::ReportSubmitted);
    assert_eq!(
        (last.resource.as_str(), last.revision),
        (key.name().as_str(), n)
    );
    assert_chain(store, all.len() as u64).await;
}

async fn a_new_report_is_submitted_as_revision_1(engine: Engine) {
    let (store, key) = setup(engine).await;
    let before = events(&store).await.len();
    let r = submit(&store, &key, "s1", 0, "first")
        .await
        .expect("submitted");
    assert_one_submitted_revision(&store, &key, &r, 1, "first", before).await;
}

async fn a_draft_is_superseded_by_the_submitted_content(engine: Engine) {
    let (store, key) = setup(engine).await;
    store
        .save_draft(&w("d1"), &key, 0, content("draft"), Checked::default())
        .await
        .expect("draft");
    let before = events(&store).await.len();
    let r = submit(&store, &key, "s1", 1, "final")
        .await
        .expect("submitted");
    assert_one_submitted_revision(&store, &key, &r, 2, "final", before).await;
}

async fn a_returned_report_is_resubmitted_with_new_content(engine: Engine) {
    let (store, key) = setup(engine).await;
    submit(&store, &key, "s1", 0, "first")
        .await
        .expect("submitted");
    act(&store, &key, "r1", 1, Action::Return).await;
    let before = events(&store).await.len();
    let r = submit(&store, &key, "s2", 2, "fixed")
        .await
        .expect("resubmitted");
    assert_one_submitted_revision(&store, &key, &r, 3, "fixed", before).await;
}

async fn a_correction_after_approval_keeps_the_approved_revision_current(engine: Engine) {
    let (store, key) = setup(engine).await;
    submit(&store, &key, "s1", 0, "first")
        .await
        .expect("submitted");
    act(&store, &key, "a1", 1, Action::Approve).await;
    let before = events(&store).await.len();
    let r = submit(&store, &key, "s2", 2, "corrected")
        .await
        .expect("correction submitted");
    assert_one_submitted_revision(&store, &key, &r, 3, "corrected", before).await;
    let head = store.head(&key).await.unwrap().expect("head");
    assert_eq!(
        head.approved_revision, 2,
        "the approval stands until the next"
    );
}

async fn a_report_under_review_refuses_new_content_and_nothing_is_written(engine: Engine) {
    let (store, key) = setup(engine).await;
    submit(&store, &key, "s1", 0, "first")
        .await
        .expect("submitted");
    let before = events(&store).await.len();
    assert_invalid_transition(
        submit(&store, &key, "s2", 1, "second").await,
        "submitted",
        "submit new content for",
    );
    assert_eq!(events(&store).await.len(), before);
    assert_eq!(store.revision(&key, 2).await.unwrap(), None);
}

async fn a_retry_replays_and_a_stale_writer_conflicts(engine: Engine) {
    let (store, key) = setup(engine).await;
    let first = submit(&store, &key, "s1", 0, "first")
        .await
        .expect("submitted");
    let before = events(&store).await.len();
    let again = submit(&store, &key, "s1", 0, "first")
        .await
        .expect("replayed");
    assert_eq!(again, first);
    assert_eq!(
        events(&store).await.len(),
        before,
        "the retry wrote nothing"
    );
    act(&store, &key, "r1", 1, Action::Return).await;
    assert_conflict(submit(&store, &key, "s3", 1, "late").await, 1, 2);
}
