//! Bad input gets a typed error, never a panic, and writes nothing:
//! malformed 统一社会信用代码, years out of range, request ids of the wrong
//! size, a second registration, a supervisor that does not exist, an agency
//! without a name; reading what does not exist is `Ok(None)`.

use crate::store_fixture::*;
use gongkai_proto::v1::ReviewState;
use gongkai_store::{
    Action, Checked, EventFilter, PageRequest, ReportFilter, ReportKey, Store, StoreError,
};

conformance!(
    a_malformed_uscc_is_an_invalid_argument_everywhere,
    a_malformed_uscc_in_an_event_filter_is_an_invalid_argument,
    a_supervisor_resource_name_without_a_code_is_an_invalid_argument,
    a_data_year_outside_2000_to_2100_is_an_invalid_argument,
    a_request_id_empty_too_long_or_with_control_characters_is_an_invalid_argument,
    registering_an_agency_twice_is_already_exists,
    a_supervisor_that_does_not_exist_is_not_found,
    an_agency_without_a_name_is_an_invalid_argument,
    reading_what_does_not_exist_is_none,
    page_sizes_at_the_extremes_are_served,
    an_expected_revision_of_u32_max_is_a_conflict_with_the_latest,
);

/// A store with a city, a department under it, and one draft report.
async fn setup(engine: Engine) -> (Fixture, String, ReportKey) {
    let store = open(engine).await;
    let city = uscc_in("330700", 1);
    let dept = uscc_in("330702", 10);
    register(&store, &city, None).await;
    register(&store, &dept, Some(&city)).await;
    let key = ReportKey {
        uscc: dept,
        year: 2024,
    };
    store
        .save_draft(&w("d1"), &key, 0, content("c"), Checked::default())
        .await
        .unwrap();
    (store, city, key)
}

/// 统一社会信用代码 of the wrong shape, each with why.
fn malformed() -> Vec<(String, &'static str)> {
    let good = uscc_in("330700", 1);
    let first17 = &good[..17];
    let check = good.chars().last().unwrap();
    let other_check = if check == '0' { '1' } else { '0' };
    vec![
        (String::new(), "empty"),
        ("1133".into(), "too short"),
        (format!("{good}0"), "19 characters"),
        (first17.into(), "17 characters"),
        (format!("I{}", &good[1..]), "I is not in the alphabet"),
        (
            good.to_lowercase().replace("11", "1a"),
            "a lower-case letter",
        ),
        (
            format!("11A{}", &good[3..]),
            "a letter where the region digits go",
        ),
        (
            format!("{}公{check}", &good[..16]),
            "a Chinese character (18 characters, more bytes)",
        ),
        (format!("{} {check}", &good[..16]), "a space"),
        (
            format!("{first17}{other_check}"),
            "the wrong check character",
        ),
        (format!("agencies/{good}"), "a resource name, not a code"),
    ]
}

async fn n_events(store: &Store) -> u64 {
    events(store).await.len() as u64
}

async fn a_malformed_uscc_is_an_invalid_argument_everywhere(engine: Engine) {
    let (store, city, key) = setup(engine).await;
    let n = n_events(&store).await;
    let page = PageRequest::default();
    for (i, (bad, why)) in malformed().into_iter().enumerate() {
        let id = |s: &str| format!("{s}-{i}");
        let k = ReportKey {
            uscc: bad.clone(),
            year: 2024,
        };
        assert_invalid_argument(
            store
                .register_agency(&w(&id("r")), agency(&bad, "某机关", None))
                .await,
            &format!("register {why}"),
        );
        // A supervisor may be named by code or by resource name, and an
        // empty one means a root.
        if !bad.is_empty() && !bad.starts_with("agencies/") {
            assert_invalid_argument(
                store
                    .register_agency(
                        &w(&id("rs")),
                        gongkai_proto::v1::Agency {
                            supervisor: bad.clone(),
                            ..agency(&uscc_in("330702", 50), "某机关", None)
                        },
                    )
                    .await,
                &format!("register under a supervisor of {why}"),
            );
            assert_invalid_argument(
                store
                    .set_supervisor(&w(&id("ms")), &key.uscc, Some(&bad), 1)
                    .await,
                &format!("move under {why}"),
            );
        }
        assert_invalid_argument(
            store
                .set_supervisor(&w(&id("m")), &bad, Some(&city), 1)
                .await,
            &format!("move {why}"),
        );
        assert_invalid_argument(store.agency(&bad).await, &format!("agency {why}"));
        assert_invalid_argument(
            store.is_within(&bad, &city).await,
            &format!("is_within ancestor {why}"),
        );
        assert_invalid_argument(
            store.is_within(&city, &bad).await,
            &format!("is_within code {why}"),
        );
        assert_invalid_argument(
            store
                .save_draft(&w(&id("d")), &k, 0, content("c"), Checked::default())
                .await,
            &format!("save_draft {why}"),
        );
        assert_invalid_argument(
            store
                .transition(
                    &w(&id("t")),
                    &k,
                    1,
                    Action::Submit,
                    Checked::default(),
                    vec![],
                )
                .await,
            &format!("transition {why}"),
        );
        assert_invalid_argument(store.head(&k).await, &format!("head {why}"));
        assert_invalid_argument(store.revision(&k, 1).await, &format!("revision {why}"));
        assert_invalid_argument(
            store.list_revisions(&k, &page).await,
            &format!("list_revisions {why}"),
        );
        assert_invalid_argument(
            store
                .list_reports(
                    &ReportFilter {
                        area: Some(bad.clone()),
                        ..Default::default()
                    },
                    &page,
                )
                .await,
            &format!("list_reports area {why}"),
        );
        assert_invalid_argument(
            store
                .list_reports(
                    &ReportFilter {
                        agency: Some(bad.clone()),
                        ..Default::default()
                    },
                    &page,
                )
                .await,
            &format!("list_reports agency {why}"),
        );
    }
    assert_eq!(store.agency(&uscc_in("330702", 50)).await.unwrap(), None);
    assert_chain(&store, n).await;
}

async fn a_malformed_uscc_in_an_event_filter_is_an_invalid_argument(engine: Engine) {
    let (store, _city, _key) = setup(engine).await;
    for (bad, why) in malformed() {
        if bad.is_empty() {
            continue;
        }
        assert_invalid_argument(
            store
                .list_events(
                    &EventFilter {
                        agency: Some(bad.clone()),
                        ..Default::default()
                    },
                    &PageRequest::default(),
                )
                .await,
            &format!("list_events agency {why}"),
        );
    }
}

async fn a_supervisor_resource_name_without_a_code_is_an_invalid_argument(engine: Engine) {
    let (store, city, key) = setup(engine).await;
    let n = n_events(&store).await;
    assert_invalid_argument(
        store
            .register_agency(
                &w("r"),
                gongkai_proto::v1::Agency {
                    supervisor: "agencies/".into(),
                    ..agency(&uscc_in("330702", 50), "某机关", None)
                },
            )
            .await,
        "register under \"agencies/\"",
    );
    assert_invalid_argument(
        store
            .set_supervisor(&w("m"), &key.uscc, Some("agencies/"), 1)
            .await,
        "move under \"agencies/\"",
    );
    assert!(
        store.is_within(&city, &key.uscc).await.unwrap(),
        "still under the city"
    );
    assert_chain(&store, n).await;
}

async fn a_data_year_outside_2000_to_2100_is_an_invalid_argument(engine: Engine) {
    let (store, _city, key) = setup(engine).await;
    let n = n_events(&store).await;
    let page = PageRequest::default();
    for year in [0, 1999, 2101, 9999, u32::MAX] {
        let k = ReportKey {
            uscc: key.uscc.clone(),
            year,
        };
        assert_invalid_argument(
            store
                .save_draft(
                    &w(&format!("d{year}")),
                    &k,
                    0,
                    content("c"),
                    Checked::default(),
                )
                .await,
            &format!("save_draft {year}"),
        );
        for action in [Action::Submit, Action::Approve, Action::Return] {
            assert_invalid_argument(
                store
                    .transition(
                        &w(&format!("t{year}")),
                        &k,
                        1,
                        action,
                        Checked::default(),
                        vec![],
                    )
                    .await,
                &format!("{action:?} {year}"),
            );
        }
        assert_invalid_argument(store.head(&k).await, &format!("head {year}"));
        assert_invalid_argument(store.revision(&k, 1).await, &format!("revision {year}"));
        assert_invalid_argument(
            store.list_revisions(&k, &page).await,
            &format!("list_revisions {year}"),
        );
        for filter in [
            ReportFilter {
                year: Some(year),
                ..Default::default()
            },
            ReportFilter {
                year: Some(year),
                state: Some(ReviewState::Draft),
                ..Default::default()
            },
            ReportFilter {
                year: Some(year),
                agency: Some(key.uscc.clone()),
                ..Default::default()
            },
            ReportFilter {
                year: Some(year),
                area: Some(key.uscc.clone()),
                ..Default::default()
            },
        ] {
            assert_invalid_argument(
                store.list_reports(&filter, &page).await,
                &format!("list_reports {filter:?}"),
            );
        }
    }
    assert_chain(&store, n).await;
    // The bounds themselves are data years.
    for year in [2000, 2100] {
        let k = ReportKey {
            uscc: key.uscc.clone(),
            year,
        };
        let r = store
            .save_draft(
                &w(&format!("d{year}")),
                &k,
                0,
                content("c"),
                Checked::default(),
            )
            .await
            .unwrap();
        assert_eq!(store.revision(&k, 1).await.unwrap(), Some(r));
    }
}

async fn a_request_id_empty_too_long_or_with_control_characters_is_an_invalid_argument(
    engine: Engine,
) {
    let (store, city, key) = setup(engine).await;
    let n = n_events(&store).await;
    let new = uscc_in("330702", 50);
    for (id, why) in [
        (String::new(), "empty"),
        // The store holds ids up to 256 bytes: the server prefixes each
        // caller's id with its principal name.
        ("x".repeat(257), "257 bytes"),
        ("x".repeat(300), "300 bytes"),
        ("请".repeat(86), "86 Chinese characters, 258 bytes"),
        ("line\nbreak".into(), "a newline"),
        ("nul\0".into(), "a NUL"),
    ] {
        assert_invalid_argument(
            store
                .register_agency(&w(&id), agency(&new, "某机关", Some(&city)))
                .await,
            &format!("register, request id {why}"),
        );
        assert_invalid_argument(
            store.set_supervisor(&w(&id), &key.uscc, None, 1).await,
            &format!("set_supervisor, request id {why}"),
        );
        assert_invalid_argument(
            store
                .save_draft(&w(&id), &key, 1, content("c2"), Checked::default())
                .await,
            &format!("save_draft, request id {why}"),
        );
        assert_invalid_argument(
            store
                .transition(&w(&id), &key, 1, Action::Submit, Checked::default(), vec![])
                .await,
            &format!("transition, request id {why}"),
        );
    }
    assert_eq!(store.agency(&new).await.unwrap(), None);
    assert_chain(&store, n).await;
    // 128 bytes is the longest accepted.
    let r = store
        .save_draft(
            &w(&"x".repeat(128)),
            &key,
            1,
            content("c2"),
            Checked::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.request_id.len(), 128);
}

async fn registering_an_agency_twice_is_already_exists(engine: Engine) {
    let (store, city, _key) = setup(engine).await;
    let n = n_events(&store).await;
    let before = store.agency(&city).await.unwrap();
    for (i, a) in [
        agency(&city, "机关 again", None),
        agency(&city, "金华市人民政府", Some(&uscc_in("330702", 10))),
    ]
    .into_iter()
    .enumerate()
    {
        match store.register_agency(&w(&format!("again-{i}")), a).await {
            Err(StoreError::AlreadyExists(what)) => assert!(what.contains(&city), "{what}"),
            other => panic!("expected AlreadyExists, got {other:?}"),
        }
    }
    assert_eq!(store.agency(&city).await.unwrap(), before);
    assert_chain(&store, n).await;
}

async fn a_supervisor_that_does_not_exist_is_not_found(engine: Engine) {
    let (store, _city, key) = setup(engine).await;
    let n = n_events(&store).await;
    let nobody = uscc_in("330799", 1);
    let new = uscc_in("330702", 50);
    assert_not_found(
        store
            .register_agency(&w("r"), agency(&new, "某机关", Some(&nobody)))
            .await,
        "register under an unregistered supervisor",
    );
    assert_not_found(
        store
            .set_supervisor(&w("m"), &key.uscc, Some(&nobody), 1)
            .await,
        "move under an unregistered supervisor",
    );
    assert_eq!(store.agency(&new).await.unwrap(), None);
    assert_chain(&store, n).await;
}

async fn an_agency_without_a_name_is_an_invalid_argument(engine: Engine) {
    let (store, city, _key) = setup(engine).await;
    let n = n_events(&store).await;
    let new = uscc_in("330702", 50);
    for name in ["", " ", "\t\u{3000}"] {
        assert_invalid_argument(
            store
                .register_agency(&w("r"), agency(&new, name, Some(&city)))
                .await,
            &format!("display_name {name:?}"),
        );
    }
    assert_eq!(store.agency(&new).await.unwrap(), None);
    assert_chain(&store, n).await;
}

async fn reading_what_does_not_exist_is_none(engine: Engine) {
    let (store, city, key) = setup(engine).await;
    for rev in [0, 2, 3, 1000, u32::MAX] {
        assert_eq!(
            store.revision(&key, rev).await.unwrap(),
            None,
            "revision {rev}"
        );
    }
    let other_year = ReportKey {
        year: 2023,
        ..key.clone()
    };
    assert_eq!(store.revision(&other_year, 1).await.unwrap(), None);
    assert_eq!(store.head(&other_year).await.unwrap(), None);
    assert!(
        store
            .list_revisions(&other_year, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let nobody = ReportKey {
        uscc: uscc_in("330799", 1),
        year: 2024,
    };
    assert_eq!(store.agency(&nobody.uscc).await.unwrap(), None);
    assert_eq!(store.revision(&nobody, 1).await.unwrap(), None);
    assert_eq!(store.head(&nobody).await.unwrap(), None);
    // An agency that does not exist is not within anything.
    assert_not_found(
        store.is_within(&city, &nobody.uscc).await,
        "is_within of an unregistered agency",
    );
    assert!(
        store
            .list_reports(
                &ReportFilter {
                    agency: Some(nobody.uscc.clone()),
                    ..Default::default()
                },
                &PageRequest::default(),
            )
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

async fn page_sizes_at_the_extremes_are_served(engine: Engine) {
    let (store, _city, key) = setup(engine).await;
    for size in [0, 1, 1000, 1001, u32::MAX] {
        let p = store
            .list_revisions(
                &key,
                &PageRequest {
                    size,
                    cursor: String::new(),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (p.items.len(), p.next_cursor.as_str()),
            (1, ""),
            "size {size}"
        );
        let p = store
            .list_events(
                &EventFilter::default(),
                &PageRequest {
                    size,
                    cursor: String::new(),
                },
            )
            .await
            .unwrap();
        assert_eq!(p.items.len(), if size == 1 { 1 } else { 3 }, "size {size}");
    }
}

/// `expected_revision` 4294967295 is judged against the latest revision
/// first: stale, a conflict (ABORTED), not "revision numbers exhausted"
/// (issue 13, point 6). Nothing is written.
async fn an_expected_revision_of_u32_max_is_a_conflict_with_the_latest(engine: Engine) {
    let (store, _, key) = setup(engine).await;
    let before = n_events(&store).await;
    for write in [
        store
            .save_draft(&w("x1"), &key, u32::MAX, content("x"), Checked::default())
            .await,
        store
            .save_and_submit(&w("x2"), &key, u32::MAX, content("x"), Checked::default())
            .await,
        store
            .transition(
                &w("x3"),
                &key,
                u32::MAX,
                Action::Submit,
                Checked::default(),
                vec![],
            )
            .await,
    ] {
        let e = write.unwrap_err();
        assert!(
            matches!(&e, StoreError::Conflict { expected: u32::MAX, actual: 1, resource } if *resource == key.name()),
            "{e:?}"
        );
    }
    // A report with no revision: the latest is 0.
    let fresh = ReportKey {
        year: 2023,
        ..key.clone()
    };
    let e = store
        .save_draft(&w("x4"), &fresh, u32::MAX, content("x"), Checked::default())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict { actual: 0, .. }), "{e:?}");
    assert_eq!(n_events(&store).await, before);
}
