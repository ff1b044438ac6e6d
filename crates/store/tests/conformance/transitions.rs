//! Every transition of the review state machine through the public API:
//! the allowed ones with the revision, head and links they produce, and the
//! forbidden ones refused with `InvalidTransition` naming the state and the
//! action, writing nothing.

use gongkai_proto::v1::{ReportRevision, ReviewComment, ReviewState};
use gongkai_store::{Action, Checked, PageRequest, ReportKey, Store, StoreError};

conformance!(
    an_encoded_revision_is_the_stored_revision_undecoded,
    save_draft_on_a_new_report_makes_revision_1_draft,
    editing_a_draft_adds_a_draft_revision,
    submit_a_draft_then_approve_it,
    return_with_comments_then_new_draft_then_submit,
    a_correction_after_approval_keeps_the_approved_revision_until_approved,
    approving_a_draft_is_refused,
    returning_a_draft_is_refused,
    submitting_an_approved_report_is_refused,
    approving_an_approved_report_again_is_refused,
    submitting_a_submitted_report_is_refused,
    returning_an_approved_report_is_refused,
    approving_a_returned_report_is_refused,
    returning_a_returned_report_again_is_refused,
    submitting_a_returned_report_without_a_new_draft_is_refused,
    saving_a_draft_while_submitted_is_refused,
    a_forbidden_request_id_is_not_spent,
    a_review_of_a_report_that_does_not_exist_is_not_found,
    writes_for_an_agency_that_does_not_exist_are_not_found,
    revisions_are_numbered_linked_and_never_change,
);
use crate::store_fixture::*;

/// A store with one agency and the key of its 2024 report.
async fn setup(engine: Engine) -> (Fixture, ReportKey) {
    one_report(engine, "330700", 1).await
}

async fn draft(
    store: &Store,
    key: &ReportKey,
    id: &str,
    expected: u32,
    tag: &str,
) -> ReportRevision {
    store
        .save_draft(&w(id), key, expected, content(tag), Checked::default())
        .await
        .unwrap_or_else(|e| panic!("save_draft {id}: {e}"))
}

async fn act(
    store: &Store,
    key: &ReportKey,
    id: &str,
    expected: u32,
    action: Action,
) -> gongkai_store::Result<ReportRevision> {
    store
        .transition(&w(id), key, expected, action, Checked::default(), vec![])
        .await
}

async fn head(store: &Store, key: &ReportKey) -> (u32, ReviewState, u32) {
    let h = store.head(key).await.unwrap().expect("head");
    (h.latest_revision, h.latest_state(), h.approved_revision)
}

/// Asserts a refused write changed nothing: same head, same events, chain
/// still verifies.
async fn assert_nothing_written(
    store: &Store,
    key: &ReportKey,
    head_before: (u32, ReviewState, u32),
    events_before: usize,
) {
    assert_eq!(
        head(store, key).await,
        head_before,
        "head after a refused write"
    );
    assert_eq!(
        events(store).await.len(),
        events_before,
        "events after a refused write"
    );
    assert_chain(store, events_before as u64).await;
}

async fn an_encoded_revision_is_the_stored_revision_undecoded(engine: Engine) {
    use prost::Message;
    let (store, key) = setup(engine).await;
    let r = draft(&store, &key, "d1", 0, "first").await;
    let encoded = store
        .encoded_revision(&key, 1)
        .await
        .unwrap()
        .expect("revision 1");
    assert_eq!(encoded, r.encode_to_vec());
    assert_eq!(ReportRevision::decode(encoded).unwrap(), r);
    assert_eq!(store.encoded_revision(&key, 2).await.unwrap(), None);
}

async fn save_draft_on_a_new_report_makes_revision_1_draft(engine: Engine) {
    let (store, key) = setup(engine).await;
    assert_eq!(store.head(&key).await.unwrap(), None);
    let r = draft(&store, &key, "d1", 0, "first").await;
    assert_eq!(r.revision, 1);
    assert_eq!(r.state(), ReviewState::Draft);
    assert_eq!(r.previous_revision, 0);
    assert_eq!(r.name, format!("{}/revisions/1", key.name()));
    assert_eq!(r.report, Some(content("first")));
    assert_eq!(r.author, "tester");
    assert_eq!(r.request_id, "d1");
    assert_eq!(head(&store, &key).await, (1, ReviewState::Draft, 0));
    assert_chain(&store, 2).await;
}

async fn editing_a_draft_adds_a_draft_revision(engine: Engine) {
    let (store, key) = setup(engine).await;
    draft(&store, &key, "d1", 0, "first").await;
    let r = draft(&store, &key, "d2", 1, "second").await;
    assert_eq!(
        (r.revision, r.state(), r.previous_revision),
        (2, ReviewState::Draft, 1)
    );
    assert_eq!(r.report, Some(content("second")));
    assert_eq!(head(&store, &key).await, (2, ReviewState::Draft, 0));
    // The first draft is still there as it was.
    assert_eq!(
        store.revision(&key, 1).await.unwrap().unwrap().report,
        Some(content("first"))
    );
}

async fn submit_a_draft_then_approve_it(engine: Engine) {
    let (store, key) = setup(engine).await;
    draft(&store, &key, "d1", 0, "c").await;
    let s = act(&store, &key, "s1", 1, Action::Submit).await.unwrap();
    assert_eq!(
        (s.revision, s.state(), s.previous_revision),
        (2, ReviewState::Submitted, 1)
    );
    // A review carries the latest content forward.
    assert_eq!(s.report, Some(content("c")));
    assert_eq!(head(&store, &key).await, (2, ReviewState::Submitted, 0));
    let a = act(&store, &key, "a1", 2, Action::Approve).await.unwrap();
    assert_eq!(
        (a.revision, a.state(), a.previous_revision),
        (3, ReviewState::Approved, 2)
    );
    assert_eq!(a.report, Some(content("c")));
    assert_eq!(head(&store, &key).await, (3, ReviewState::Approved, 3));
    assert_chain(&store, 4).await;
}

async fn return_with_comments_then_new_draft_then_submit(engine: Engine) {
    let (store, key) = setup(engine).await;
    draft(&store, &key, "d1", 0, "wrong").await;
    act(&store, &key, "s1", 1, Action::Submit).await.unwrap();
    let comments = vec![
        ReviewComment {
            text: "第三部分总计与各项之和不符".into(),
            cell: "t3.R25.total".into(),
        },
        ReviewComment {
            text: "请补充第六部分".into(),
            cell: String::new(),
        },
    ];
    let r = store
        .transition(
            &w("x1"),
            &key,
            2,
            Action::Return,
            Checked::default(),
            comments.clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        (r.revision, r.state(), r.previous_revision),
        (3, ReviewState::Returned, 2)
    );
    assert_eq!(r.comments, comments);
    assert_eq!(
        store.revision(&key, 3).await.unwrap().unwrap().comments,
        comments
    );
    assert_eq!(head(&store, &key).await, (3, ReviewState::Returned, 0));

    let d = draft(&store, &key, "d2", 3, "fixed").await;
    assert_eq!(
        (d.revision, d.state(), d.previous_revision),
        (4, ReviewState::Draft, 3)
    );
    assert!(
        d.comments.is_empty(),
        "a new draft does not inherit comments"
    );
    let s = act(&store, &key, "s2", 4, Action::Submit).await.unwrap();
    assert_eq!((s.revision, s.state()), (5, ReviewState::Submitted));
    assert_eq!(s.report, Some(content("fixed")));
    assert_eq!(head(&store, &key).await, (5, ReviewState::Submitted, 0));
    assert_chain(&store, 6).await;
}

async fn a_correction_after_approval_keeps_the_approved_revision_until_approved(engine: Engine) {
    let (store, key) = setup(engine).await;
    draft(&store, &key, "d1", 0, "v1").await;
    act(&store, &key, "s1", 1, Action::Submit).await.unwrap();
    act(&store, &key, "a1", 2, Action::Approve).await.unwrap();
    assert_eq!(head(&store, &key).await, (3, ReviewState::Approved, 3));

    // Correction: a new draft after approval.
    let c = draft(&store, &key, "d2", 3, "v2").await;
    assert_eq!(
        (c.revision, c.state(), c.previous_revision),
        (4, ReviewState::Draft, 3)
    );
    assert_eq!(head(&store, &key).await, (4, ReviewState::Draft, 3));
    act(&store, &key, "s2", 4, Action::Submit).await.unwrap();
    assert_eq!(head(&store, &key).await, (5, ReviewState::Submitted, 3));
    // The office returns the correction: the old approval still stands.
    act(&store, &key, "x2", 5, Action::Return).await.unwrap();
    assert_eq!(head(&store, &key).await, (6, ReviewState::Returned, 3));
    assert_eq!(
        store.revision(&key, 3).await.unwrap().unwrap().report,
        Some(content("v1")),
        "the approved revision still holds the approved content"
    );
    draft(&store, &key, "d3", 6, "v3").await;
    act(&store, &key, "s3", 7, Action::Submit).await.unwrap();
    assert_eq!(head(&store, &key).await, (8, ReviewState::Submitted, 3));
    // Approval of the correction moves it.
    let a = act(&store, &key, "a2", 8, Action::Approve).await.unwrap();
    assert_eq!((a.revision, a.report), (9, Some(content("v3"))));
    assert_eq!(head(&store, &key).await, (9, ReviewState::Approved, 9));
    assert_chain(&store, 10).await;
}

/// Drives a fresh report to `state` and returns its latest revision.
async fn reach(store: &Store, key: &ReportKey, state: ReviewState) -> u32 {
    draft(store, key, "p-d1", 0, "c").await;
    if state == ReviewState::Draft {
        return 1;
    }
    act(store, key, "p-s1", 1, Action::Submit).await.unwrap();
    match state {
        ReviewState::Submitted => 2,
        ReviewState::Approved => {
            act(store, key, "p-a1", 2, Action::Approve).await.unwrap();
            3
        }
        ReviewState::Returned => {
            act(store, key, "p-x1", 2, Action::Return).await.unwrap();
            3
        }
        other => panic!("cannot reach {other:?}"),
    }
}

/// Attempts `action` on a report in `state` (naming the right revision) and
/// asserts it is refused with the state and the action, writing nothing.
async fn assert_forbidden(
    engine: Engine,
    state: ReviewState,
    action: Action,
    from: &str,
    verb: &str,
) {
    let (store, key) = setup(engine).await;
    let latest = reach(&store, &key, state).await;
    let before = head(&store, &key).await;
    let n = events(&store).await.len();
    assert_invalid_transition(
        act(&store, &key, "forbidden", latest, action).await,
        from,
        verb,
    );
    assert_nothing_written(&store, &key, before, n).await;
    // No revision was added.
    assert_eq!(
        store
            .list_revisions(&key, &PageRequest::default())
            .await
            .unwrap()
            .items
            .len() as u32,
        latest
    );
}

async fn approving_a_draft_is_refused(engine: Engine) {
    assert_forbidden(
        engine,
        ReviewState::Draft,
        Action::Approve,
        "draft",
        "approve",
    )
    .await;
}

async fn returning_a_draft_is_refused(engine: Engine) {
    assert_forbidden(
        engine,
        ReviewState::Draft,
        Action::Return,
        "draft",
        "return",
    )
    .await;
}

async fn submitting_an_approved_report_is_refused(engine: Engine) {
    assert_forbidden(
        engine,
        ReviewState::Approved,
        Action::Submit,
        "approved",
        "submit",
    )
    .await;
}

async fn approving_an_approved_report_again_is_refused(engine: Engine) {
    assert_forbidden(
        engine,
        ReviewState::Approved,
        Action::Approve,
        "approved",
        "approve",
    )
    .await;
}

async fn submitting_a_submitted_report_is_refused(engine: Engine) {
    assert_forbidden(
        engine,
        ReviewState::Submitted,
        Action::Submit,
        "submitted",
        "submit",
    )
    .await;
}

async fn returning_an_approved_report_is_refused(engine: Engine) {
    assert_forbidden(
        engine,
        ReviewState::Approved,
        Action::Return,
        "approved",
        "return",
    )
    .await;
}

async fn approving_a_returned_report_is_refused(engine: Engine) {
    assert_forbidden(
        engine,
        ReviewState::Returned,
        Action::Approve,
        "returned",
        "approve",
    )
    .await;
}

async fn returning_a_returned_report_again_is_refused(engine: Engine) {
    assert_forbidden(
        engine,
        ReviewState::Returned,
        Action::Return,
        "returned",
        "return",
    )
    .await;
}

async fn submitting_a_returned_report_without_a_new_draft_is_refused(engine: Engine) {
    assert_forbidden(
        engine,
        ReviewState::Returned,
        Action::Submit,
        "returned",
        "submit",
    )
    .await;
}

async fn saving_a_draft_while_submitted_is_refused(engine: Engine) {
    let (store, key) = setup(engine).await;
    reach(&store, &key, ReviewState::Submitted).await;
    let before = head(&store, &key).await;
    let n = events(&store).await.len();
    assert_invalid_transition(
        store
            .save_draft(&w("edit"), &key, 2, content("edit"), Checked::default())
            .await,
        "submitted",
        "save a draft of",
    );
    assert_nothing_written(&store, &key, before, n).await;
}

async fn a_forbidden_request_id_is_not_spent(engine: Engine) {
    let (store, key) = setup(engine).await;
    reach(&store, &key, ReviewState::Draft).await;
    assert!(matches!(
        act(&store, &key, "same-id", 1, Action::Approve).await,
        Err(StoreError::InvalidTransition { .. })
    ));
    // Nothing was recorded for the id, so an allowed request may use it.
    let s = act(&store, &key, "same-id", 1, Action::Submit)
        .await
        .unwrap();
    assert_eq!(s.state(), ReviewState::Submitted);
}

async fn a_review_of_a_report_that_does_not_exist_is_not_found(engine: Engine) {
    let (store, key) = setup(engine).await;
    let n = events(&store).await.len();
    for (i, action) in [Action::Submit, Action::Approve, Action::Return]
        .into_iter()
        .enumerate()
    {
        assert_not_found(
            act(&store, &key, &format!("t{i}"), 0, action).await,
            &format!("{action:?} of a report never saved"),
        );
    }
    // Another year of an agency that has reports is still absent.
    reach(&store, &key, ReviewState::Draft).await;
    let other_year = ReportKey {
        year: 2023,
        ..key.clone()
    };
    assert_not_found(
        act(&store, &other_year, "t9", 0, Action::Submit).await,
        "submit of another year",
    );
    assert_eq!(store.head(&other_year).await.unwrap(), None);
    assert_chain(&store, n as u64 + 1).await;
}

async fn writes_for_an_agency_that_does_not_exist_are_not_found(engine: Engine) {
    let (store, _key) = setup(engine).await;
    let key = ReportKey {
        uscc: uscc_in("330700", 2),
        year: 2024,
    };
    let n = events(&store).await.len();
    assert_not_found(
        store
            .save_draft(&w("d"), &key, 0, content("c"), Checked::default())
            .await,
        "save_draft for an unregistered agency",
    );
    for (i, action) in [Action::Submit, Action::Approve, Action::Return]
        .into_iter()
        .enumerate()
    {
        assert_not_found(
            act(&store, &key, &format!("t{i}"), 0, action).await,
            &format!("{action:?} for an unregistered agency"),
        );
    }
    assert_eq!(store.head(&key).await.unwrap(), None);
    assert_chain(&store, n as u64).await;
}

/// One write of a report, given the revision it expects.
enum Step {
    Draft(&'static str, &'static str),
    Act(&'static str, Action),
    Return(&'static str),
}

async fn revisions_are_numbered_linked_and_never_change(engine: Engine) {
    let (store, key) = setup(engine).await;
    // Another report of the same agency, written in between, must not
    // disturb this one.
    let other = ReportKey {
        year: 2023,
        ..key.clone()
    };
    let mut written: Vec<ReportRevision> = Vec::new();
    let mut snapshot: Vec<Vec<u8>> = Vec::new();
    let steps = [
        Step::Draft("d1", "v1"),
        Step::Draft("d2", "v2"),
        Step::Act("s1", Action::Submit),
        Step::Return("x1"),
        Step::Draft("d3", "v3"),
        Step::Act("s2", Action::Submit),
        Step::Act("a1", Action::Approve),
        Step::Draft("d4", "v4"),
        Step::Act("s3", Action::Submit),
        Step::Act("a2", Action::Approve),
    ];
    for (i, step) in steps.iter().enumerate() {
        let expected = i as u32;
        let r = match step {
            Step::Draft(id, tag) => draft(&store, &key, id, expected, tag).await,
            Step::Act(id, action) => act(&store, &key, id, expected, *action).await.unwrap(),
            Step::Return(id) => store
                .transition(
                    &w(id),
                    &key,
                    expected,
                    Action::Return,
                    Checked::default(),
                    vec![ReviewComment {
                        text: "改".into(),
                        cell: "t2.R1.new".into(),
                    }],
                )
                .await
                .unwrap(),
        };
        assert_eq!(r.revision, expected + 1, "revision numbers go 1, 2, 3 …");
        assert_eq!(
            r.previous_revision, expected,
            "each links to the one before"
        );
        draft(
            &store,
            &other,
            &format!("other-{i}"),
            expected,
            &format!("o{i}"),
        )
        .await;
        written.push(r);
        // Every revision so far reads back byte for byte as written.
        snapshot.push(bytes(
            &store.revision(&key, expected + 1).await.unwrap().unwrap(),
        ));
        for (j, old) in written.iter().enumerate() {
            let now = store.revision(&key, j as u32 + 1).await.unwrap().unwrap();
            assert_eq!(bytes(&now), bytes(old), "revision {} as returned", j + 1);
            assert_eq!(bytes(&now), snapshot[j], "revision {} as first read", j + 1);
        }
    }
    let listed = all_pages(3, async |p| store.list_revisions(&key, p).await).await;
    assert_eq!(
        listed.iter().map(bytes).collect::<Vec<_>>(),
        written.iter().map(bytes).collect::<Vec<_>>()
    );
    assert_eq!(
        store
            .revision(&key, written.len() as u32 + 1)
            .await
            .unwrap(),
        None
    );
    assert_eq!(head(&store, &key).await, (10, ReviewState::Approved, 10));
    assert_chain(&store, 1 + 2 * steps.len() as u64).await;
}
