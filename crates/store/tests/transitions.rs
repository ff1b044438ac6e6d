//! Every transition of the review state machine through the public API:
//! the allowed ones with the revision, head and links they produce, and the
//! forbidden ones refused with `InvalidTransition` naming the state and the
//! action, writing nothing.

mod store_fixture;

use gongkai_proto::v1::{ReportRevision, ReviewComment, ReviewState};
use gongkai_store::{Action, Checked, PageRequest, ReportKey, ReportStore, SledStore, StoreError};
use store_fixture::{
    all_pages, assert_chain, assert_invalid_transition, assert_not_found, bytes, content, events,
    one_report, uscc, w,
};

/// A store with one agency and the key of its 2024 report.
fn setup() -> (tempfile::TempDir, SledStore, ReportKey) {
    one_report("330700", 1)
}

fn draft(store: &SledStore, key: &ReportKey, id: &str, expected: u32, tag: &str) -> ReportRevision {
    store
        .save_draft(&w(id), key, expected, content(tag), Checked::default())
        .unwrap_or_else(|e| panic!("save_draft {id}: {e}"))
}

fn act(
    store: &SledStore,
    key: &ReportKey,
    id: &str,
    expected: u32,
    action: Action,
) -> gongkai_store::Result<ReportRevision> {
    store.transition(&w(id), key, expected, action, Checked::default(), vec![])
}

fn head(store: &SledStore, key: &ReportKey) -> (u32, ReviewState, u32) {
    let h = store.head(key).unwrap().expect("head");
    (h.latest_revision, h.latest_state(), h.approved_revision)
}

/// Asserts a refused write changed nothing: same head, same events, chain
/// still verifies.
fn assert_nothing_written(
    store: &SledStore,
    key: &ReportKey,
    head_before: (u32, ReviewState, u32),
    events_before: usize,
) {
    assert_eq!(head(store, key), head_before, "head after a refused write");
    assert_eq!(
        events(store).len(),
        events_before,
        "events after a refused write"
    );
    assert_chain(store, events_before as u64);
}

#[test]
fn an_encoded_revision_is_the_stored_revision_undecoded() {
    use prost::Message;
    let (_d, store, key) = setup();
    let r = draft(&store, &key, "d1", 0, "first");
    let encoded = store
        .encoded_revision(&key, 1)
        .unwrap()
        .expect("revision 1");
    assert_eq!(encoded, r.encode_to_vec());
    assert_eq!(ReportRevision::decode(encoded).unwrap(), r);
    assert_eq!(store.encoded_revision(&key, 2).unwrap(), None);
}

#[test]
fn save_draft_on_a_new_report_makes_revision_1_draft() {
    let (_d, store, key) = setup();
    assert_eq!(store.head(&key).unwrap(), None);
    let r = draft(&store, &key, "d1", 0, "first");
    assert_eq!(r.revision, 1);
    assert_eq!(r.state(), ReviewState::Draft);
    assert_eq!(r.previous_revision, 0);
    assert_eq!(r.name, format!("{}/revisions/1", key.name()));
    assert_eq!(r.report, Some(content("first")));
    assert_eq!(r.author, "tester");
    assert_eq!(r.request_id, "d1");
    assert_eq!(head(&store, &key), (1, ReviewState::Draft, 0));
    assert_chain(&store, 2);
}

#[test]
fn editing_a_draft_adds_a_draft_revision() {
    let (_d, store, key) = setup();
    draft(&store, &key, "d1", 0, "first");
    let r = draft(&store, &key, "d2", 1, "second");
    assert_eq!(
        (r.revision, r.state(), r.previous_revision),
        (2, ReviewState::Draft, 1)
    );
    assert_eq!(r.report, Some(content("second")));
    assert_eq!(head(&store, &key), (2, ReviewState::Draft, 0));
    // The first draft is still there as it was.
    assert_eq!(
        store.revision(&key, 1).unwrap().unwrap().report,
        Some(content("first"))
    );
}

#[test]
fn submit_a_draft_then_approve_it() {
    let (_d, store, key) = setup();
    draft(&store, &key, "d1", 0, "c");
    let s = act(&store, &key, "s1", 1, Action::Submit).unwrap();
    assert_eq!(
        (s.revision, s.state(), s.previous_revision),
        (2, ReviewState::Submitted, 1)
    );
    // A review carries the latest content forward.
    assert_eq!(s.report, Some(content("c")));
    assert_eq!(head(&store, &key), (2, ReviewState::Submitted, 0));
    let a = act(&store, &key, "a1", 2, Action::Approve).unwrap();
    assert_eq!(
        (a.revision, a.state(), a.previous_revision),
        (3, ReviewState::Approved, 2)
    );
    assert_eq!(a.report, Some(content("c")));
    assert_eq!(head(&store, &key), (3, ReviewState::Approved, 3));
    assert_chain(&store, 4);
}

#[test]
fn return_with_comments_then_new_draft_then_submit() {
    let (_d, store, key) = setup();
    draft(&store, &key, "d1", 0, "wrong");
    act(&store, &key, "s1", 1, Action::Submit).unwrap();
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
        .unwrap();
    assert_eq!(
        (r.revision, r.state(), r.previous_revision),
        (3, ReviewState::Returned, 2)
    );
    assert_eq!(r.comments, comments);
    assert_eq!(store.revision(&key, 3).unwrap().unwrap().comments, comments);
    assert_eq!(head(&store, &key), (3, ReviewState::Returned, 0));

    let d = draft(&store, &key, "d2", 3, "fixed");
    assert_eq!(
        (d.revision, d.state(), d.previous_revision),
        (4, ReviewState::Draft, 3)
    );
    assert!(
        d.comments.is_empty(),
        "a new draft does not inherit comments"
    );
    let s = act(&store, &key, "s2", 4, Action::Submit).unwrap();
    assert_eq!((s.revision, s.state()), (5, ReviewState::Submitted));
    assert_eq!(s.report, Some(content("fixed")));
    assert_eq!(head(&store, &key), (5, ReviewState::Submitted, 0));
    assert_chain(&store, 6);
}

#[test]
fn a_correction_after_approval_keeps_the_approved_revision_until_approved() {
    let (_d, store, key) = setup();
    draft(&store, &key, "d1", 0, "v1");
    act(&store, &key, "s1", 1, Action::Submit).unwrap();
    act(&store, &key, "a1", 2, Action::Approve).unwrap();
    assert_eq!(head(&store, &key), (3, ReviewState::Approved, 3));

    // Correction: a new draft after approval.
    let c = draft(&store, &key, "d2", 3, "v2");
    assert_eq!(
        (c.revision, c.state(), c.previous_revision),
        (4, ReviewState::Draft, 3)
    );
    assert_eq!(head(&store, &key), (4, ReviewState::Draft, 3));
    act(&store, &key, "s2", 4, Action::Submit).unwrap();
    assert_eq!(head(&store, &key), (5, ReviewState::Submitted, 3));
    // The office returns the correction: the old approval still stands.
    act(&store, &key, "x2", 5, Action::Return).unwrap();
    assert_eq!(head(&store, &key), (6, ReviewState::Returned, 3));
    assert_eq!(
        store.revision(&key, 3).unwrap().unwrap().report,
        Some(content("v1")),
        "the approved revision still holds the approved content"
    );
    draft(&store, &key, "d3", 6, "v3");
    act(&store, &key, "s3", 7, Action::Submit).unwrap();
    assert_eq!(head(&store, &key), (8, ReviewState::Submitted, 3));
    // Approval of the correction moves it.
    let a = act(&store, &key, "a2", 8, Action::Approve).unwrap();
    assert_eq!((a.revision, a.report), (9, Some(content("v3"))));
    assert_eq!(head(&store, &key), (9, ReviewState::Approved, 9));
    assert_chain(&store, 10);
}

/// Drives a fresh report to `state` and returns its latest revision.
fn reach(store: &SledStore, key: &ReportKey, state: ReviewState) -> u32 {
    draft(store, key, "p-d1", 0, "c");
    if state == ReviewState::Draft {
        return 1;
    }
    act(store, key, "p-s1", 1, Action::Submit).unwrap();
    match state {
        ReviewState::Submitted => 2,
        ReviewState::Approved => {
            act(store, key, "p-a1", 2, Action::Approve).unwrap();
            3
        }
        ReviewState::Returned => {
            act(store, key, "p-x1", 2, Action::Return).unwrap();
            3
        }
        other => panic!("cannot reach {other:?}"),
    }
}

/// Attempts `action` on a report in `state` (naming the right revision) and
/// asserts it is refused with the state and the action, writing nothing.
fn assert_forbidden(state: ReviewState, action: Action, from: &str, verb: &str) {
    let (_d, store, key) = setup();
    let latest = reach(&store, &key, state);
    let before = head(&store, &key);
    let n = events(&store).len();
    assert_invalid_transition(act(&store, &key, "forbidden", latest, action), from, verb);
    assert_nothing_written(&store, &key, before, n);
    // No revision was added.
    assert_eq!(
        store
            .list_revisions(&key, &PageRequest::default())
            .unwrap()
            .items
            .len() as u32,
        latest
    );
}

#[test]
fn approving_a_draft_is_refused() {
    assert_forbidden(ReviewState::Draft, Action::Approve, "draft", "approve");
}

#[test]
fn returning_a_draft_is_refused() {
    assert_forbidden(ReviewState::Draft, Action::Return, "draft", "return");
}

#[test]
fn submitting_an_approved_report_is_refused() {
    assert_forbidden(ReviewState::Approved, Action::Submit, "approved", "submit");
}

#[test]
fn approving_an_approved_report_again_is_refused() {
    assert_forbidden(
        ReviewState::Approved,
        Action::Approve,
        "approved",
        "approve",
    );
}

#[test]
fn submitting_a_submitted_report_is_refused() {
    assert_forbidden(
        ReviewState::Submitted,
        Action::Submit,
        "submitted",
        "submit",
    );
}

#[test]
fn returning_an_approved_report_is_refused() {
    assert_forbidden(ReviewState::Approved, Action::Return, "approved", "return");
}

#[test]
fn approving_a_returned_report_is_refused() {
    assert_forbidden(
        ReviewState::Returned,
        Action::Approve,
        "returned",
        "approve",
    );
}

#[test]
fn returning_a_returned_report_again_is_refused() {
    assert_forbidden(ReviewState::Returned, Action::Return, "returned", "return");
}

#[test]
fn submitting_a_returned_report_without_a_new_draft_is_refused() {
    assert_forbidden(ReviewState::Returned, Action::Submit, "returned", "submit");
}

#[test]
fn saving_a_draft_while_submitted_is_refused() {
    let (_d, store, key) = setup();
    reach(&store, &key, ReviewState::Submitted);
    let before = head(&store, &key);
    let n = events(&store).len();
    assert_invalid_transition(
        store.save_draft(&w("edit"), &key, 2, content("edit"), Checked::default()),
        "submitted",
        "save a draft of",
    );
    assert_nothing_written(&store, &key, before, n);
}

#[test]
fn a_forbidden_request_id_is_not_spent() {
    let (_d, store, key) = setup();
    reach(&store, &key, ReviewState::Draft);
    assert!(matches!(
        act(&store, &key, "same-id", 1, Action::Approve),
        Err(StoreError::InvalidTransition { .. })
    ));
    // Nothing was recorded for the id, so an allowed request may use it.
    let s = act(&store, &key, "same-id", 1, Action::Submit).unwrap();
    assert_eq!(s.state(), ReviewState::Submitted);
}

#[test]
fn a_review_of_a_report_that_does_not_exist_is_not_found() {
    let (_d, store, key) = setup();
    let n = events(&store).len();
    for (i, action) in [Action::Submit, Action::Approve, Action::Return]
        .into_iter()
        .enumerate()
    {
        assert_not_found(
            act(&store, &key, &format!("t{i}"), 0, action),
            &format!("{action:?} of a report never saved"),
        );
    }
    // Another year of an agency that has reports is still absent.
    reach(&store, &key, ReviewState::Draft);
    let other_year = ReportKey {
        year: 2023,
        ..key.clone()
    };
    assert_not_found(
        act(&store, &other_year, "t9", 0, Action::Submit),
        "submit of another year",
    );
    assert_eq!(store.head(&other_year).unwrap(), None);
    assert_chain(&store, n as u64 + 1);
}

#[test]
fn writes_for_an_agency_that_does_not_exist_are_not_found() {
    let (_d, store, _key) = setup();
    let key = ReportKey {
        uscc: uscc("330700", 2),
        year: 2024,
    };
    let n = events(&store).len();
    assert_not_found(
        store.save_draft(&w("d"), &key, 0, content("c"), Checked::default()),
        "save_draft for an unregistered agency",
    );
    for (i, action) in [Action::Submit, Action::Approve, Action::Return]
        .into_iter()
        .enumerate()
    {
        assert_not_found(
            act(&store, &key, &format!("t{i}"), 0, action),
            &format!("{action:?} for an unregistered agency"),
        );
    }
    assert_eq!(store.head(&key).unwrap(), None);
    assert_chain(&store, n as u64);
}

/// One write of a report, given the revision it expects.
type Step<'a> = Box<dyn Fn(&SledStore, u32) -> ReportRevision + 'a>;

#[test]
fn revisions_are_numbered_linked_and_never_change() {
    let (_d, store, key) = setup();
    // Another report of the same agency, written in between, must not
    // disturb this one.
    let other = ReportKey {
        year: 2023,
        ..key.clone()
    };
    let mut written: Vec<ReportRevision> = Vec::new();
    let mut snapshot: Vec<Vec<u8>> = Vec::new();
    let steps: Vec<Step> = vec![
        Box::new(|s, e| draft(s, &key, "d1", e, "v1")),
        Box::new(|s, e| draft(s, &key, "d2", e, "v2")),
        Box::new(|s, e| act(s, &key, "s1", e, Action::Submit).unwrap()),
        Box::new(|s, e| {
            s.transition(
                &w("x1"),
                &key,
                e,
                Action::Return,
                Checked::default(),
                vec![ReviewComment {
                    text: "改".into(),
                    cell: "t2.R1.new".into(),
                }],
            )
            .unwrap()
        }),
        Box::new(|s, e| draft(s, &key, "d3", e, "v3")),
        Box::new(|s, e| act(s, &key, "s2", e, Action::Submit).unwrap()),
        Box::new(|s, e| act(s, &key, "a1", e, Action::Approve).unwrap()),
        Box::new(|s, e| draft(s, &key, "d4", e, "v4")),
        Box::new(|s, e| act(s, &key, "s3", e, Action::Submit).unwrap()),
        Box::new(|s, e| act(s, &key, "a2", e, Action::Approve).unwrap()),
    ];
    for (i, step) in steps.iter().enumerate() {
        let expected = i as u32;
        let r = step(&store, expected);
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
        );
        written.push(r);
        // Every revision so far reads back byte for byte as written.
        snapshot.push(bytes(&store.revision(&key, expected + 1).unwrap().unwrap()));
        for (j, old) in written.iter().enumerate() {
            let now = store.revision(&key, j as u32 + 1).unwrap().unwrap();
            assert_eq!(bytes(&now), bytes(old), "revision {} as returned", j + 1);
            assert_eq!(bytes(&now), snapshot[j], "revision {} as first read", j + 1);
        }
    }
    let listed = all_pages(3, |p| store.list_revisions(&key, p));
    assert_eq!(
        listed.iter().map(bytes).collect::<Vec<_>>(),
        written.iter().map(bytes).collect::<Vec<_>>()
    );
    assert_eq!(
        store.revision(&key, written.len() as u32 + 1).unwrap(),
        None
    );
    assert_eq!(head(&store, &key), (10, ReviewState::Approved, 10));
    assert_chain(&store, 1 + 2 * steps.len() as u64);
}
