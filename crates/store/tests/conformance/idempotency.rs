//! Idempotency: a request id already applied returns the first result and
//! writes nothing; reused with other parameters it is refused.

use std::sync::Arc;

use tokio::sync::Barrier;

use crate::store_fixture::*;
use gongkai_proto::v1::{ReviewComment, ReviewState};
use gongkai_store::{Action, Checked, PageRequest, ReportKey, Store, StoreError};

conformance!(
    a_repeated_save_draft_returns_the_first_revision_and_writes_nothing,
    a_repeated_transition_returns_the_first_revision_and_writes_nothing,
    a_request_id_reused_with_other_parameters_is_refused,
    a_repeated_registration_returns_the_first_agency,
    a_repeated_set_supervisor_returns_the_first_result_even_after_later_moves,
    a_retry_after_someone_elses_write_returns_the_first_result,
    a_refused_write_does_not_spend_its_request_id,
    sixteen_simultaneous_retries_write_once,
    a_retry_with_regrouped_comments_is_a_reused_request_id,
    a_request_id_is_each_principals_own,
);

async fn setup(engine: Engine) -> (Fixture, ReportKey) {
    one_report(engine, "330700", 1).await
}

async fn revisions(store: &Store, key: &ReportKey) -> usize {
    store
        .list_revisions(key, &PageRequest::default())
        .await
        .unwrap()
        .items
        .len()
}

fn assert_reused<T: std::fmt::Debug>(r: gongkai_store::Result<T>, id: &str, what: &str) {
    match r {
        Err(StoreError::RequestIdReused(got)) => assert_eq!(got, id, "{what}"),
        other => panic!("{what}: expected RequestIdReused, got {other:?}"),
    }
}

async fn a_repeated_save_draft_returns_the_first_revision_and_writes_nothing(engine: Engine) {
    let (store, key) = setup(engine).await;
    let first = store
        .save_draft(&w("d1"), &key, 0, content("a"), Checked::default())
        .await
        .unwrap();
    let head = store.head(&key).await.unwrap();
    let n = events(&store).await.len();
    for _ in 0..3 {
        let again = store
            .save_draft(&w("d1"), &key, 0, content("a"), Checked::default())
            .await
            .unwrap();
        assert_eq!(again.revision, 1);
        assert_eq!(
            bytes(&again),
            bytes(&first),
            "the replay is the first result"
        );
    }
    assert_eq!(store.head(&key).await.unwrap(), head);
    assert_eq!(revisions(&store, &key).await, 1);
    assert_eq!(events(&store).await.len(), n);
    assert_chain(&store, n as u64).await;
}

async fn a_repeated_transition_returns_the_first_revision_and_writes_nothing(engine: Engine) {
    let (store, key) = setup(engine).await;
    store
        .save_draft(&w("d1"), &key, 0, content("a"), Checked::default())
        .await
        .unwrap();
    let submit = async || {
        store
            .transition(
                &w("s1"),
                &key,
                1,
                Action::Submit,
                Checked::default(),
                vec![],
            )
            .await
    };
    let first = submit().await.unwrap();
    let comments = vec![ReviewComment {
        text: "总计有误".into(),
        cell: "t3.R25.total".into(),
    }];
    let ret = async || {
        store
            .transition(
                &w("x1"),
                &key,
                2,
                Action::Return,
                Checked::default(),
                comments.clone(),
            )
            .await
    };
    let returned = ret().await.unwrap();
    let n = events(&store).await.len();
    // A retry of the submit, though the report is now returned: the first
    // outcome, not a refused transition or a conflict.
    assert_eq!(bytes(&submit().await.unwrap()), bytes(&first));
    assert_eq!(bytes(&ret().await.unwrap()), bytes(&returned));
    assert_eq!(
        store.head(&key).await.unwrap().unwrap().latest_state(),
        ReviewState::Returned
    );
    assert_eq!(revisions(&store, &key).await, 3);
    assert_eq!(events(&store).await.len(), n);
    assert_chain(&store, n as u64).await;
}

async fn a_request_id_reused_with_other_parameters_is_refused(engine: Engine) {
    let (store, key) = setup(engine).await;
    store
        .save_draft(&w("d1"), &key, 0, content("a"), Checked::default())
        .await
        .unwrap();
    store
        .transition(
            &w("s1"),
            &key,
            1,
            Action::Submit,
            Checked::default(),
            vec![],
        )
        .await
        .unwrap();
    let n = events(&store).await.len();
    let other_key = ReportKey {
        year: 2023,
        ..key.clone()
    };
    // save_draft: other content, other expected revision, other report.
    assert_reused(
        store
            .save_draft(&w("d1"), &key, 0, content("b"), Checked::default())
            .await,
        "d1",
        "other content",
    );
    assert_reused(
        store
            .save_draft(&w("d1"), &key, 2, content("a"), Checked::default())
            .await,
        "d1",
        "other expected revision",
    );
    assert_reused(
        store
            .save_draft(&w("d1"), &other_key, 0, content("a"), Checked::default())
            .await,
        "d1",
        "other report",
    );
    // transition: other action, other expected, other comments, other report.
    for action in [Action::Approve, Action::Return] {
        assert_reused(
            store
                .transition(&w("s1"), &key, 1, action, Checked::default(), vec![])
                .await,
            "s1",
            &format!("{action:?} under a submit's id"),
        );
    }
    assert_reused(
        store
            .transition(
                &w("s1"),
                &key,
                2,
                Action::Submit,
                Checked::default(),
                vec![],
            )
            .await,
        "s1",
        "other expected revision",
    );
    assert_reused(
        store
            .transition(
                &w("s1"),
                &key,
                1,
                Action::Submit,
                Checked::default(),
                vec![ReviewComment {
                    text: "x".into(),
                    cell: String::new(),
                }],
            )
            .await,
        "s1",
        "other comments",
    );
    // Another method under the same id.
    assert_reused(
        store
            .transition(
                &w("d1"),
                &key,
                0,
                Action::Submit,
                Checked::default(),
                vec![],
            )
            .await,
        "d1",
        "a transition under a draft's id",
    );
    assert_reused(
        store
            .register_agency(&w("d1"), agency(&uscc_in("330700", 2), "新机关", None))
            .await,
        "d1",
        "register_agency under a draft's id",
    );
    assert_reused(
        store.set_supervisor(&w("s1"), &key.uscc, None, 1).await,
        "s1",
        "set_supervisor under a submit's id",
    );
    let reg = format!("reg-{}", key.uscc);
    assert_reused(
        store
            .save_draft(&w(&reg), &key, 2, content("a"), Checked::default())
            .await,
        &reg,
        "save_draft under a registration's id",
    );
    assert_eq!(store.agency(&uscc_in("330700", 2)).await.unwrap(), None);
    assert_eq!(revisions(&store, &key).await, 2);
    assert_eq!(store.head(&other_key).await.unwrap(), None);
    assert_eq!(events(&store).await.len(), n);
    assert_chain(&store, n as u64).await;
}

async fn a_repeated_registration_returns_the_first_agency(engine: Engine) {
    let store = open(engine).await;
    let code = uscc_in("330700", 1);
    let a = agency(&code, "金华市人民政府", None);
    let first = store.register_agency(&w("r1"), a.clone()).await.unwrap();
    assert_eq!(first.version, 1);
    let again = store.register_agency(&w("r1"), a.clone()).await.unwrap();
    assert_eq!(bytes(&again), bytes(&first));
    // A new id for the same agency is a second registration.
    assert!(matches!(
        store.register_agency(&w("r2"), a.clone()).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_reused(
        store
            .register_agency(&w("r1"), agency(&code, "另一个名字", None))
            .await,
        "r1",
        "registration with another name",
    );
    assert_eq!(
        bytes(&store.agency(&code).await.unwrap().unwrap()),
        bytes(&first)
    );
    assert_chain(&store, 1).await;
}

async fn a_repeated_set_supervisor_returns_the_first_result_even_after_later_moves(engine: Engine) {
    let store = open(engine).await;
    let a = uscc_in("330700", 1);
    let b = uscc_in("330700", 2);
    let c = uscc_in("330700", 3);
    register(&store, &a, None).await;
    register(&store, &b, None).await;
    register(&store, &c, None).await;
    let moved = store
        .set_supervisor(&w("m1"), &c, Some(&a), 1)
        .await
        .unwrap();
    assert_eq!(
        (moved.version, moved.supervisor.as_str()),
        (2, format!("agencies/{a}").as_str())
    );
    let n = events(&store).await.len();
    let again = store
        .set_supervisor(&w("m1"), &c, Some(&a), 1)
        .await
        .unwrap();
    assert_eq!(bytes(&again), bytes(&moved));
    // The supervisor written as a resource name is the same request.
    let named = format!("agencies/{a}");
    let again = store
        .set_supervisor(&w("m1"), &c, Some(&named), 1)
        .await
        .unwrap();
    assert_eq!(bytes(&again), bytes(&moved));
    assert_eq!(events(&store).await.len(), n);

    // Someone else moves it on; the retry still gets its own first result.
    let later = store
        .set_supervisor(&w("m2"), &c, Some(&b), 2)
        .await
        .unwrap();
    assert_eq!(later.version, 3);
    let again = store
        .set_supervisor(&w("m1"), &c, Some(&a), 1)
        .await
        .unwrap();
    assert_eq!(bytes(&again), bytes(&moved));
    assert_eq!(
        bytes(&store.agency(&c).await.unwrap().unwrap()),
        bytes(&later)
    );
    assert!(store.is_within(&b, &c).await.unwrap());
    assert!(!store.is_within(&a, &c).await.unwrap());
    assert_reused(
        store.set_supervisor(&w("m1"), &c, Some(&b), 1).await,
        "m1",
        "other supervisor",
    );
    assert_reused(
        store.set_supervisor(&w("m1"), &c, None, 1).await,
        "m1",
        "make a root",
    );
    assert_reused(
        store.set_supervisor(&w("m1"), &c, Some(&a), 3).await,
        "m1",
        "other expected version",
    );
    assert_chain(&store, n as u64 + 1).await;
}

async fn a_retry_after_someone_elses_write_returns_the_first_result(engine: Engine) {
    let (store, key) = setup(engine).await;
    let mine = store
        .save_draft(
            &w_by("mine", "alice"),
            &key,
            0,
            content("alice"),
            Checked::default(),
        )
        .await
        .unwrap();
    let theirs = store
        .save_draft(
            &w_by("theirs", "bob"),
            &key,
            1,
            content("bob"),
            Checked::default(),
        )
        .await
        .unwrap();
    assert_eq!(theirs.revision, 2);
    // Without the request id, the stale expected revision is a conflict.
    assert_conflict(
        store
            .save_draft(
                &w_by("fresh", "alice"),
                &key,
                0,
                content("alice"),
                Checked::default(),
            )
            .await,
        0,
        2,
    );
    let n = events(&store).await.len();
    // Alice's client lost the reply and retries: the first outcome.
    let retried = store
        .save_draft(
            &w_by("mine", "alice"),
            &key,
            0,
            content("alice"),
            Checked::default(),
        )
        .await
        .unwrap();
    assert_eq!(bytes(&retried), bytes(&mine));
    assert_eq!(retried.report, Some(content("alice")));
    assert_eq!(store.head(&key).await.unwrap().unwrap().latest_revision, 2);
    assert_eq!(events(&store).await.len(), n);
    assert_chain(&store, n as u64).await;
}

async fn a_refused_write_does_not_spend_its_request_id(engine: Engine) {
    let (store, key) = setup(engine).await;
    assert_conflict(
        store
            .save_draft(&w("d1"), &key, 5, content("a"), Checked::default())
            .await,
        5,
        0,
    );
    // Same id, same parameters: still refused the same way, not replayed.
    assert_conflict(
        store
            .save_draft(&w("d1"), &key, 5, content("a"), Checked::default())
            .await,
        5,
        0,
    );
    let r = store
        .save_draft(&w("d1"), &key, 0, content("a"), Checked::default())
        .await
        .unwrap();
    assert_eq!(r.revision, 1);
    assert_chain(&store, 2).await;
}

async fn sixteen_simultaneous_retries_write_once(engine: Engine) {
    let (store, key) = setup(engine).await;
    let barrier = Arc::new(Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.store().clone();
            let barrier = Arc::clone(&barrier);
            let key = key.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .save_draft(&w("same"), &key, 0, content("a"), Checked::default())
                    .await
                    .map(|r| bytes(&r))
            })
        })
        .collect();
    let mut results: Vec<Vec<u8>> = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap().unwrap());
    }
    assert!(
        results.windows(2).all(|p| p[0] == p[1]),
        "every caller got the same revision"
    );
    assert_eq!(revisions(&store, &key).await, 1);
    assert_chain(&store, 2).await;
}

async fn a_retry_with_regrouped_comments_is_a_reused_request_id(engine: Engine) {
    let (store, key) = setup(engine).await;
    store
        .save_draft(&w("d1"), &key, 0, content("a"), Checked::default())
        .await
        .unwrap();
    store
        .transition(
            &w("s1"),
            &key,
            1,
            Action::Submit,
            Checked::default(),
            vec![],
        )
        .await
        .unwrap();
    let two = vec![
        ReviewComment {
            text: "总计有误".into(),
            cell: String::new(),
        },
        ReviewComment {
            text: String::new(),
            cell: "t3.R25.total".into(),
        },
    ];
    let one = vec![ReviewComment {
        text: "总计有误".into(),
        cell: "t3.R25.total".into(),
    }];
    let first = store
        .transition(&w("x1"), &key, 2, Action::Return, Checked::default(), two)
        .await
        .unwrap();
    assert_eq!(first.comments.len(), 2);
    assert_reused(
        store
            .transition(&w("x1"), &key, 2, Action::Return, Checked::default(), one)
            .await,
        "x1",
        "one comment where the first request had two",
    );
}

async fn a_request_id_is_each_principals_own(engine: Engine) {
    let (store, key) = setup(engine).await;
    let first = store
        .save_draft(
            &w_by("same-id", "office-a"),
            &key,
            0,
            content("a"),
            Checked::default(),
        )
        .await
        .unwrap();
    // Another principal's identical id is a request of its own: it is applied
    // (and here meets the optimistic check), never answered with A's result.
    let other = store
        .save_draft(
            &w_by("same-id", "office-b"),
            &key,
            0,
            content("a"),
            Checked::default(),
        )
        .await;
    assert_conflict(other, 0, 1);
    let second = store
        .save_draft(
            &w_by("same-id", "office-b"),
            &key,
            1,
            content("b"),
            Checked::default(),
        )
        .await
        .unwrap();
    assert_eq!((first.revision, second.revision), (1, 2));
    assert_eq!(second.author, "office-b");
    // The client's own id is what the revision records.
    assert_eq!(second.request_id, "same-id");
}
