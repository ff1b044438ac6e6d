//! Paging: every listing walked with small pages (1, 2, 3, 7) yields each
//! item exactly once, in order, with no empty trailing page; cursors are tied
//! to the listing and query that gave them, and garbage is refused.

use std::collections::BTreeMap;

use crate::store_fixture::*;
use gongkai_proto::v1::{AuditAction, ReviewState};
use gongkai_store::{
    Action, Checked, EventFilter, Page, PageRequest, ReportFilter, ReportKey, ReportSummary,
    Result, Store,
};

conformance!(
    agencies_and_revisions_page_in_order,
    reports_page_by_year_state_area_and_agency,
    events_page_in_sequence_with_and_without_filters,
    a_cursor_from_another_listing_or_query_is_refused,
    a_garbage_cursor_is_refused,
    a_cursor_survives_writes_between_pages,
);

const SIZES: [u32; 4] = [1, 2, 3, 7];
const YEARS: [u32; 3] = [2022, 2023, 2024];
const STATES: [ReviewState; 4] = [
    ReviewState::Draft,
    ReviewState::Submitted,
    ReviewState::Approved,
    ReviewState::Returned,
];

/// The store and what it should hold.
struct World {
    store: Fixture,
    /// Agency → its supervisor.
    parent: BTreeMap<String, Option<String>>,
    /// Report → its latest state.
    reports: BTreeMap<ReportKey, ReviewState>,
    /// A report with many revisions.
    long: ReportKey,
    city: String,
    county: String,
}

impl World {
    fn within(&self, ancestor: &str, code: &str) -> bool {
        let mut at = Some(code.to_owned());
        while let Some(a) = at {
            if a == ancestor {
                return true;
            }
            at = self.parent[&a].clone();
        }
        false
    }
}

/// Writes the report up to `state` from nothing.
async fn drive(store: &Store, key: &ReportKey, state: ReviewState) {
    let id = |s: &str| format!("{}-{s}", key.name());
    store
        .save_draft(
            &w(&id("d")),
            key,
            0,
            content(&key.name()),
            Checked::default(),
        )
        .await
        .unwrap();
    if state == ReviewState::Draft {
        return;
    }
    let t = async |s: &str, e: u32, a: Action| {
        store
            .transition(&w(&id(s)), key, e, a, Checked::default(), vec![])
            .await
            .unwrap();
    };
    t("s", 1, Action::Submit).await;
    match state {
        ReviewState::Approved => t("a", 2, Action::Approve).await,
        ReviewState::Returned => t("x", 2, Action::Return).await,
        _ => {}
    }
}

/// A city, two counties, departments under each; three years of reports in
/// every state.
async fn world(engine: Engine) -> World {
    let store = open(engine).await;
    let city = uscc_in("330700", 1);
    let k1 = uscc_in("330702", 1);
    let k2 = uscc_in("330703", 1);
    let mut parent = BTreeMap::new();
    let mut add = async |code: &str, sup: Option<&str>| {
        register(&store, code, sup).await;
        parent.insert(code.to_owned(), sup.map(str::to_owned));
    };
    add(&city, None).await;
    add(&k1, Some(&city)).await;
    add(&k2, Some(&city)).await;
    for n in 10..14 {
        add(&uscc_in("330702", n), Some(&k1)).await;
    }
    for n in 10..13 {
        add(&uscc_in("330703", n), Some(&k2)).await;
    }
    let mut reports = BTreeMap::new();
    for (i, code) in parent.keys().enumerate() {
        for year in YEARS {
            let state = STATES[(i + year as usize) % 4];
            let key = ReportKey {
                uscc: code.clone(),
                year,
            };
            drive(&store, &key, state).await;
            reports.insert(key, state);
        }
    }
    // One more report with eleven revisions, for list_revisions.
    let long = ReportKey {
        uscc: k2.clone(),
        year: 2021,
    };
    for e in 0..11 {
        store
            .save_draft(
                &w(&format!("long-{e}")),
                &long,
                e,
                content(&format!("long {e}")),
                Checked::default(),
            )
            .await
            .unwrap();
    }
    reports.insert(long.clone(), ReviewState::Draft);
    World {
        store,
        parent,
        reports,
        long,
        city,
        county: k1,
    }
}

/// Walks every page at `size`; returns the items and the number of pages.
async fn walk<T>(
    size: u32,
    mut list: impl AsyncFnMut(&PageRequest) -> Result<Page<T>>,
) -> (Vec<T>, usize) {
    let mut out = Vec::new();
    let mut cursor = String::new();
    for pages in 1..10_000 {
        let page = list(&PageRequest {
            size,
            cursor: cursor.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("page {pages} at size {size}: {e}"));
        assert!(page.items.len() <= size as usize);
        out.extend(page.items);
        if page.next_cursor.is_empty() {
            return (out, pages);
        }
        cursor = page.next_cursor;
    }
    panic!("listing did not end");
}

/// Asserts that walking at every size yields exactly `expected`, in order, in
/// full pages (`dense`: the listing filters nothing after its index) .
async fn assert_pages<T, K: PartialEq + std::fmt::Debug>(
    what: &str,
    expected: &[K],
    dense: bool,
    key: impl Fn(&T) -> K,
    mut list: impl AsyncFnMut(&PageRequest) -> Result<Page<T>>,
) {
    for size in SIZES {
        let (items, pages) = walk(size, &mut list).await;
        let got: Vec<K> = items.iter().map(&key).collect();
        assert_eq!(got, expected, "{what} at page size {size}");
        if dense {
            let full = expected.len().div_ceil(size as usize).max(1);
            assert_eq!(pages, full, "{what} at page size {size}: pages");
        }
    }
}

fn summary_key(s: &ReportSummary) -> (String, u32, ReviewState) {
    (s.key.uscc.clone(), s.key.year, s.head.latest_state())
}

/// The model's reports that pass `keep`, as (uscc, year, state), ordered
/// year-first (the index order) or agency-first (the heads order).
fn expect(
    world: &World,
    year_first: bool,
    keep: impl Fn(&ReportKey, ReviewState) -> bool,
) -> Vec<(String, u32, ReviewState)> {
    let mut v: Vec<_> = world
        .reports
        .iter()
        .filter(|(k, s)| keep(k, **s))
        .map(|(k, s)| (k.uscc.clone(), k.year, *s))
        .collect();
    if year_first {
        v.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    }
    v
}

fn list_reports<'a>(
    store: &'a Store,
    filter: ReportFilter,
) -> impl AsyncFnMut(&PageRequest) -> Result<Page<ReportSummary>> + 'a {
    async move |p| store.list_reports(&filter, p).await
}

async fn agencies_and_revisions_page_in_order(engine: Engine) {
    let wd = world(engine).await;
    let agencies: Vec<String> = wd.parent.keys().cloned().collect();
    assert_pages(
        "agencies",
        &agencies,
        true,
        |a: &gongkai_proto::v1::Agency| a.uscc.clone(),
        async |p| wd.store.list_agencies(p).await,
    )
    .await;
    let revisions: Vec<u32> = (1..=11).collect();
    assert_pages(
        "revisions",
        &revisions,
        true,
        |r: &gongkai_proto::v1::ReportRevision| r.revision,
        async |p| wd.store.list_revisions(&wd.long, p).await,
    )
    .await;
    // A report with none.
    let none = ReportKey {
        uscc: wd.city.clone(),
        year: 2020,
    };
    assert_pages(
        "no revisions",
        &Vec::<u32>::new(),
        true,
        |r: &gongkai_proto::v1::ReportRevision| r.revision,
        async |p| wd.store.list_revisions(&none, p).await,
    )
    .await;
}

async fn reports_page_by_year_state_area_and_agency(engine: Engine) {
    let wd = world(engine).await;
    let s = &wd.store;
    assert_pages(
        "all reports",
        &expect(&wd, false, |_, _| true),
        true,
        summary_key,
        list_reports(s, ReportFilter::default()),
    )
    .await;
    for year in [2021, 2022, 2023, 2024, 2025] {
        assert_pages(
            &format!("year {year}"),
            &expect(&wd, true, |k, _| k.year == year),
            true,
            summary_key,
            list_reports(
                s,
                ReportFilter {
                    year: Some(year),
                    ..Default::default()
                },
            ),
        )
        .await;
    }
    for state in STATES {
        assert_pages(
            &format!("state {state:?}"),
            &expect(&wd, true, |_, st| st == state),
            true,
            summary_key,
            list_reports(
                s,
                ReportFilter {
                    state: Some(state),
                    ..Default::default()
                },
            ),
        )
        .await;
        for year in YEARS {
            assert_pages(
                &format!("state {state:?} year {year}"),
                &expect(&wd, true, |k, st| st == state && k.year == year),
                true,
                summary_key,
                list_reports(
                    s,
                    ReportFilter {
                        state: Some(state),
                        year: Some(year),
                        ..Default::default()
                    },
                ),
            )
            .await;
        }
    }
    for area in [&wd.city, &wd.county, &uscc_in("330702", 10)] {
        assert_pages(
            &format!("area {area}"),
            &expect(&wd, true, |k, _| wd.within(area, &k.uscc)),
            true,
            summary_key,
            list_reports(
                s,
                ReportFilter {
                    area: Some(area.clone()),
                    ..Default::default()
                },
            ),
        )
        .await;
        assert_pages(
            &format!("area {area} year 2023"),
            &expect(&wd, true, |k, _| wd.within(area, &k.uscc) && k.year == 2023),
            true,
            summary_key,
            list_reports(
                s,
                ReportFilter {
                    area: Some(area.clone()),
                    year: Some(2023),
                    ..Default::default()
                },
            ),
        )
        .await;
        for state in STATES {
            assert_pages(
                &format!("area {area} state {state:?}"),
                &expect(&wd, true, |k, st| wd.within(area, &k.uscc) && st == state),
                true,
                summary_key,
                list_reports(
                    s,
                    ReportFilter {
                        area: Some(area.clone()),
                        state: Some(state),
                        ..Default::default()
                    },
                ),
            )
            .await;
            assert_pages(
                &format!("area {area} state {state:?} year 2024"),
                &expect(&wd, true, |k, st| {
                    wd.within(area, &k.uscc) && st == state && k.year == 2024
                }),
                true,
                summary_key,
                list_reports(
                    s,
                    ReportFilter {
                        area: Some(area.clone()),
                        state: Some(state),
                        year: Some(2024),
                        ..Default::default()
                    },
                ),
            )
            .await;
        }
    }
    for agency in [&wd.city, &uscc_in("330703", 1), &uscc_in("330703", 12)] {
        assert_pages(
            &format!("agency {agency}"),
            &expect(&wd, false, |k, _| &k.uscc == agency),
            true,
            summary_key,
            list_reports(
                s,
                ReportFilter {
                    agency: Some(agency.clone()),
                    ..Default::default()
                },
            ),
        )
        .await;
        assert_pages(
            &format!("agency {agency} year 2022"),
            &expect(&wd, false, |k, _| &k.uscc == agency && k.year == 2022),
            true,
            summary_key,
            list_reports(
                s,
                ReportFilter {
                    agency: Some(agency.clone()),
                    year: Some(2022),
                    ..Default::default()
                },
            ),
        )
        .await;
        for state in STATES {
            // The state is filtered after the index: pages may be short.
            assert_pages(
                &format!("agency {agency} state {state:?}"),
                &expect(&wd, false, |k, st| &k.uscc == agency && st == state),
                false,
                summary_key,
                list_reports(
                    s,
                    ReportFilter {
                        agency: Some(agency.clone()),
                        state: Some(state),
                        ..Default::default()
                    },
                ),
            )
            .await;
        }
    }
    // Agency and area together: the agency's reports if it is in the area.
    let dept = uscc_in("330702", 11);
    assert_pages(
        "agency in area",
        &expect(&wd, false, |k, _| k.uscc == dept),
        true,
        summary_key,
        list_reports(
            s,
            ReportFilter {
                agency: Some(dept.clone()),
                area: Some(wd.county.clone()),
                ..Default::default()
            },
        ),
    )
    .await;
    assert_pages(
        "agency outside area",
        &[],
        true,
        summary_key,
        list_reports(
            s,
            ReportFilter {
                agency: Some(dept.clone()),
                area: Some(uscc_in("330703", 1)),
                ..Default::default()
            },
        ),
    )
    .await;
}

async fn events_page_in_sequence_with_and_without_filters(engine: Engine) {
    let wd = world(engine).await;
    let all = events(&wd.store).await;
    let seqs: Vec<u64> = all.iter().map(|e| e.sequence).collect();
    assert_eq!(seqs, (1..=all.len() as u64).collect::<Vec<_>>());
    assert_pages(
        "events",
        &seqs,
        true,
        |e: &gongkai_proto::v1::AuditEvent| e.sequence,
        async |p| wd.store.list_events(&EventFilter::default(), p).await,
    )
    .await;
    let dept = uscc_in("330702", 12);
    let mine: Vec<u64> = all
        .iter()
        .filter(|e| {
            e.resource == format!("agencies/{dept}")
                || e.resource.starts_with(&format!("agencies/{dept}/"))
        })
        .map(|e| e.sequence)
        .collect();
    assert!(mine.len() > 3);
    let filter = EventFilter {
        agency: Some(dept.clone()),
        ..Default::default()
    };
    assert_pages(
        "events of one agency",
        &mine,
        false,
        |e: &gongkai_proto::v1::AuditEvent| e.sequence,
        async |p| wd.store.list_events(&filter, p).await,
    )
    .await;
    let approvals: Vec<u64> = all
        .iter()
        .filter(|e| e.action() == AuditAction::ReportApproved)
        .map(|e| e.sequence)
        .collect();
    assert!(!approvals.is_empty());
    let filter = EventFilter {
        action: Some(AuditAction::ReportApproved),
        ..Default::default()
    };
    assert_pages(
        "approval events",
        &approvals,
        false,
        |e: &gongkai_proto::v1::AuditEvent| e.sequence,
        async |p| wd.store.list_events(&filter, p).await,
    )
    .await;
}

/// The first page's cursor of a listing at size 1.
fn cursor_of<T>(page: Result<Page<T>>) -> String {
    let c = page.unwrap().next_cursor;
    assert!(!c.is_empty());
    c
}

fn at(cursor: &str) -> PageRequest {
    PageRequest {
        size: 2,
        cursor: cursor.to_owned(),
    }
}

async fn a_cursor_from_another_listing_or_query_is_refused(engine: Engine) {
    let wd = world(engine).await;
    let s = &wd.store;
    let one = PageRequest {
        size: 1,
        cursor: String::new(),
    };
    let by_year = |y| ReportFilter {
        year: Some(y),
        ..Default::default()
    };
    let by_state = |st| ReportFilter {
        state: Some(st),
        ..Default::default()
    };
    let by_area = |a: &String| ReportFilter {
        area: Some(a.clone()),
        ..Default::default()
    };
    let by_agency = |a: &String| ReportFilter {
        agency: Some(a.clone()),
        ..Default::default()
    };
    let area_state = |a: &String, st| ReportFilter {
        area: Some(a.clone()),
        state: Some(st),
        ..Default::default()
    };
    let other = ReportKey {
        uscc: wd.city.clone(),
        year: 2022,
    };
    let cursors = vec![
        ("agencies", cursor_of(s.list_agencies(&one).await)),
        (
            "revisions",
            cursor_of(s.list_revisions(&wd.long, &one).await),
        ),
        (
            "events",
            cursor_of(s.list_events(&EventFilter::default(), &one).await),
        ),
        (
            "all reports",
            cursor_of(s.list_reports(&ReportFilter::default(), &one).await),
        ),
        (
            "year",
            cursor_of(s.list_reports(&by_year(2023), &one).await),
        ),
        (
            "state",
            cursor_of(s.list_reports(&by_state(ReviewState::Draft), &one).await),
        ),
        (
            "area",
            cursor_of(s.list_reports(&by_area(&wd.city), &one).await),
        ),
        (
            "area+state",
            cursor_of(
                s.list_reports(&area_state(&wd.city, ReviewState::Draft), &one)
                    .await,
            ),
        ),
        (
            "agency",
            cursor_of(s.list_reports(&by_agency(&wd.city), &one).await),
        ),
    ];
    // Every listing refuses every other listing's cursor.
    let len = |r: Result<Page<ReportSummary>>| r.map(|p| p.items.len());
    let listings = [
        "agencies",
        "revisions",
        "events",
        "all reports",
        "year",
        "state",
        "area",
        "area+state",
        "agency",
    ];
    let list = async |listing: &str, p: &PageRequest| -> Result<usize> {
        match listing {
            "agencies" => s.list_agencies(p).await.map(|p| p.items.len()),
            "revisions" => s.list_revisions(&wd.long, p).await.map(|p| p.items.len()),
            "events" => s
                .list_events(&EventFilter::default(), p)
                .await
                .map(|p| p.items.len()),
            "all reports" => len(s.list_reports(&ReportFilter::default(), p).await),
            "year" => len(s.list_reports(&by_year(2023), p).await),
            "state" => len(s.list_reports(&by_state(ReviewState::Draft), p).await),
            "area" => len(s.list_reports(&by_area(&wd.city), p).await),
            "area+state" => len(s
                .list_reports(&area_state(&wd.city, ReviewState::Draft), p)
                .await),
            _ => len(s.list_reports(&by_agency(&wd.city), p).await),
        }
    };
    for (from, c) in &cursors {
        for to in listings {
            let r = list(to, &at(c)).await;
            if *from == to {
                assert!(r.is_ok(), "{to} refused its own cursor: {r:?}");
            } else {
                assert_invalid_argument(r, &format!("{from} cursor given to {to}"));
            }
        }
    }
    // The same listing with another query: the cursor belongs to its query.
    let year_c = &cursors[4].1;
    assert_invalid_argument(
        s.list_reports(&by_year(2024), &at(year_c)).await,
        "year 2023 cursor for 2024",
    );
    let state_c = &cursors[5].1;
    assert_invalid_argument(
        s.list_reports(&by_state(ReviewState::Approved), &at(state_c))
            .await,
        "draft cursor for approved",
    );
    let area_c = &cursors[6].1;
    assert_invalid_argument(
        s.list_reports(&by_area(&wd.county), &at(area_c)).await,
        "city area cursor for county",
    );
    let agency_c = &cursors[8].1;
    assert_invalid_argument(
        s.list_reports(&by_agency(&wd.county), &at(agency_c)).await,
        "city's cursor for the county's reports",
    );
    assert_invalid_argument(
        s.list_revisions(&other, &at(&cursors[1].1)).await,
        "revisions of another report",
    );
}

async fn a_garbage_cursor_is_refused(engine: Engine) {
    let wd = world(engine).await;
    let s = &wd.store;
    let garbage = [
        "garbage".to_owned(),
        "agencies".to_owned(),
        "agencies:zz".to_owned(),
        "agencies:abc".to_owned(),
        ":00".to_owned(),
        "events:00:00".to_owned(),
        "报告:00".to_owned(),
        "\u{0}".to_owned(),
        "x".repeat(10_000),
        format!("agencies:{}", "g".repeat(36)),
    ];
    for g in &garbage {
        let short: String = g.chars().take(20).collect();
        assert_invalid_argument(
            s.list_agencies(&at(g)).await,
            &format!("agencies, cursor {short:?}"),
        );
        assert_invalid_argument(
            s.list_revisions(&wd.long, &at(g)).await,
            &format!("revisions, cursor {short:?}"),
        );
        assert_invalid_argument(
            s.list_events(&EventFilter::default(), &at(g)).await,
            &format!("events, cursor {short:?}"),
        );
        for filter in [
            ReportFilter::default(),
            ReportFilter {
                year: Some(2023),
                ..Default::default()
            },
            ReportFilter {
                state: Some(ReviewState::Draft),
                ..Default::default()
            },
            ReportFilter {
                area: Some(wd.city.clone()),
                ..Default::default()
            },
            ReportFilter {
                agency: Some(wd.city.clone()),
                ..Default::default()
            },
        ] {
            assert_invalid_argument(
                s.list_reports(&filter, &at(g)).await,
                &format!("reports {filter:?}, cursor {short:?}"),
            );
        }
    }
}

async fn a_cursor_survives_writes_between_pages(engine: Engine) {
    let wd = world(engine).await;
    let s = &wd.store;
    let filter = ReportFilter {
        year: Some(2024),
        ..Default::default()
    };
    let first = s
        .list_reports(
            &filter,
            &PageRequest {
                size: 3,
                cursor: String::new(),
            },
        )
        .await
        .unwrap();
    // A new report that sorts after the cursor, made between pages.
    let late = uscc_in("330703", 99);
    register(s, &late, Some(&uscc_in("330703", 1))).await;
    drive(
        s,
        &ReportKey {
            uscc: late.clone(),
            year: 2024,
        },
        ReviewState::Draft,
    )
    .await;
    let rest: Vec<ReportSummary> = {
        let mut out = Vec::new();
        let mut cursor = first.next_cursor.clone();
        while !cursor.is_empty() {
            let p = s
                .list_reports(&filter, &PageRequest { size: 3, cursor })
                .await
                .unwrap();
            out.extend(p.items);
            cursor = p.next_cursor;
        }
        out
    };
    let mut got: Vec<String> = first.items.iter().map(|r| r.key.uscc.clone()).collect();
    got.extend(rest.iter().map(|r| r.key.uscc.clone()));
    let mut want: Vec<String> = wd
        .reports
        .keys()
        .filter(|k| k.year == 2024)
        .map(|k| k.uscc.clone())
        .collect();
    want.push(late);
    want.sort();
    assert_eq!(got, want, "no item repeated or missing");
    // Everything listed reads back as the store holds it.
    for r in first.items.iter().chain(&rest) {
        assert_eq!(
            bytes(&r.head),
            bytes(&s.head(&r.key).await.unwrap().unwrap())
        );
    }
}
