//! `save_and_submit`: new content submitted at once is one revision in state
//! submitted with one `REPORT_SUBMITTED` event, from every state a draft may
//! be saved in; a report under review refuses it and nothing is written.

mod store_fixture;

use gongkai_proto::v1::{AuditAction, ReportRevision, ReviewState};
use gongkai_store::{Action, Checked, ReportKey, ReportStore, SledStore};
use store_fixture::{
    assert_chain, assert_conflict, assert_invalid_transition, content, events, one_report, w,
};

fn setup() -> (tempfile::TempDir, SledStore, ReportKey) {
    one_report("230523", 7)
}

fn submit(
    store: &SledStore,
    key: &ReportKey,
    id: &str,
    expected: u32,
    tag: &str,
) -> gongkai_store::Result<ReportRevision> {
    store.save_and_submit(&w(id), key, expected, content(tag), Checked::default())
}

fn act(store: &SledStore, key: &ReportKey, id: &str, expected: u32, action: Action) {
    store
        .transition(&w(id), key, expected, action, Checked::default(), vec![])
        .unwrap_or_else(|e| panic!("{id}: {e}"));
}

/// Asserts `r` is revision `n`, submitted, holding `tag`'s content, and that
/// exactly one event (a submission of revision `n`) was added.
fn assert_one_submitted_revision(
    store: &SledStore,
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
    assert_eq!(store.revision(key, n).unwrap().as_ref(), Some(r));
    assert_eq!(store.revision(key, n + 1).unwrap(), None);
    let head = store.head(key).unwrap().expect("head");
    assert_eq!(
        (head.latest_revision, head.latest_state()),
        (n, ReviewState::Submitted)
    );
    let all = events(store);
    assert_eq!(all.len(), events_before + 1, "one event per submission");
    let last = all.last().expect("event");
    assert_eq!(last.action(), AuditAction::ReportSubmitted);
    assert_eq!(
        (last.resource.as_str(), last.revision),
        (key.name().as_str(), n)
    );
    assert_chain(store, all.len() as u64);
}

#[test]
fn a_new_report_is_submitted_as_revision_1() {
    let (_d, store, key) = setup();
    let before = events(&store).len();
    let r = submit(&store, &key, "s1", 0, "first").expect("submitted");
    assert_one_submitted_revision(&store, &key, &r, 1, "first", before);
}

#[test]
fn a_draft_is_superseded_by_the_submitted_content() {
    let (_d, store, key) = setup();
    store
        .save_draft(&w("d1"), &key, 0, content("draft"), Checked::default())
        .expect("draft");
    let before = events(&store).len();
    let r = submit(&store, &key, "s1", 1, "final").expect("submitted");
    assert_one_submitted_revision(&store, &key, &r, 2, "final", before);
}

#[test]
fn a_returned_report_is_resubmitted_with_new_content() {
    let (_d, store, key) = setup();
    submit(&store, &key, "s1", 0, "first").expect("submitted");
    act(&store, &key, "r1", 1, Action::Return);
    let before = events(&store).len();
    let r = submit(&store, &key, "s2", 2, "fixed").expect("resubmitted");
    assert_one_submitted_revision(&store, &key, &r, 3, "fixed", before);
}

#[test]
fn a_correction_after_approval_keeps_the_approved_revision_current() {
    let (_d, store, key) = setup();
    submit(&store, &key, "s1", 0, "first").expect("submitted");
    act(&store, &key, "a1", 1, Action::Approve);
    let before = events(&store).len();
    let r = submit(&store, &key, "s2", 2, "corrected").expect("correction submitted");
    assert_one_submitted_revision(&store, &key, &r, 3, "corrected", before);
    let head = store.head(&key).unwrap().expect("head");
    assert_eq!(
        head.approved_revision, 2,
        "the approval stands until the next"
    );
}

#[test]
fn a_report_under_review_refuses_new_content_and_nothing_is_written() {
    let (_d, store, key) = setup();
    submit(&store, &key, "s1", 0, "first").expect("submitted");
    let before = events(&store).len();
    assert_invalid_transition(
        submit(&store, &key, "s2", 1, "second"),
        "submitted",
        "submit new content for",
    );
    assert_eq!(events(&store).len(), before);
    assert_eq!(store.revision(&key, 2).unwrap(), None);
}

#[test]
fn a_retry_replays_and_a_stale_writer_conflicts() {
    let (_d, store, key) = setup();
    let first = submit(&store, &key, "s1", 0, "first").expect("submitted");
    let before = events(&store).len();
    let again = submit(&store, &key, "s1", 0, "first").expect("replayed");
    assert_eq!(again, first);
    assert_eq!(events(&store).len(), before, "the retry wrote nothing");
    act(&store, &key, "r1", 1, Action::Return);
    assert_conflict(submit(&store, &key, "s3", 1, "late"), 1, 2);
}
