//! Shared set-up of the store's integration tests: a fresh store in a
//! temporary directory, valid 统一社会信用代码, write metadata, and a pager
//! that walks every page of a listing.
#![allow(dead_code)] // each test file uses its own part

use std::{fmt::Debug, time::SystemTime};

use gongkai_domain::ids::uscc_check_character;
use gongkai_proto::v1::{
    Agency, AgencyKind, AgencyLevel, AnnualReport, AuditEvent, ReportMetadata,
};
use gongkai_store::{
    EventFilter, Page, PageRequest, ReportKey, ReportStore, Result, SledStore, StoreError,
    StoreOptions, WriteMeta,
};
use prost::Message;

/// A store in a directory that lives as long as the returned guard.
pub fn open() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SledStore::open(dir.path().join("db"), &StoreOptions::default()).expect("open");
    (dir, store)
}

/// A valid 统一社会信用代码 under 行政区划代码 `region` (six digits), the
/// `n`-th of that region.
pub fn uscc(region: &str, n: u32) -> String {
    assert_eq!(region.len(), 6, "region code {region}");
    let first17 = format!("11{region}{n:09}");
    let check = uscc_check_character(&first17).expect("check character");
    format!("{first17}{check}")
}

/// Write metadata with request id `id`.
pub fn w(id: &str) -> WriteMeta {
    WriteMeta {
        request_id: id.into(),
        principal: "tester".into(),
        time: SystemTime::now(),
    }
}

/// Write metadata with request id `id` by `principal`.
pub fn w_by(id: &str, principal: &str) -> WriteMeta {
    WriteMeta {
        request_id: id.into(),
        principal: principal.into(),
        time: SystemTime::now(),
    }
}

/// An agency record to register.
pub fn agency(code: &str, name: &str, supervisor: Option<&str>) -> Agency {
    Agency {
        uscc: code.into(),
        display_name: name.into(),
        level: AgencyLevel::County.into(),
        kind: AgencyKind::Government.into(),
        supervisor: supervisor
            .map(|s| format!("agencies/{s}"))
            .unwrap_or_default(),
        ..Agency::default()
    }
}

/// Registers an agency with request id `reg-{code}`.
pub fn register(store: &SledStore, code: &str, supervisor: Option<&str>) -> Agency {
    store
        .register_agency(
            &w(&format!("reg-{code}")),
            agency(code, &format!("机关 {code}"), supervisor),
        )
        .unwrap_or_else(|e| panic!("register {code}: {e}"))
}

/// A fresh store with one agency (region `region`, number `n`) and the key
/// of its 2024 report.
pub fn one_report(region: &str, n: u32) -> (tempfile::TempDir, SledStore, ReportKey) {
    let (dir, store) = open();
    let code = uscc(region, n);
    register(&store, &code, None);
    (
        dir,
        store,
        ReportKey {
            uscc: code,
            year: 2024,
        },
    )
}

/// A report whose content is told apart by `tag`.
pub fn content(tag: &str) -> AnnualReport {
    AnnualReport {
        metadata: Some(ReportMetadata {
            agency_name: format!("内容 {tag}"),
            ..ReportMetadata::default()
        }),
        ..AnnualReport::default()
    }
}

/// Walks every page of a listing at `size` items per page. Fails on a cursor
/// repeated (a loop) and on more pages than items.
pub fn all_pages<T: Debug>(
    size: u32,
    mut list: impl FnMut(&PageRequest) -> Result<Page<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    let mut seen_cursors = std::collections::HashSet::new();
    for _ in 0..100_000 {
        let page = list(&PageRequest {
            size,
            cursor: cursor.clone(),
        })
        .unwrap_or_else(|e| panic!("page after '{cursor}': {e}"));
        assert!(
            page.items.len() <= size as usize,
            "page of {} items at size {size}",
            page.items.len()
        );
        out.extend(page.items);
        if page.next_cursor.is_empty() {
            return out;
        }
        assert!(
            seen_cursors.insert(page.next_cursor.clone()),
            "cursor {} given twice",
            page.next_cursor
        );
        cursor = page.next_cursor;
    }
    panic!("listing did not end");
}

/// Every audit event, oldest first.
pub fn events(store: &SledStore) -> Vec<AuditEvent> {
    all_pages(1000, |p| store.list_events(&EventFilter::default(), p))
}

/// Asserts the audit chain verifies and holds exactly `n` events numbered
/// 1..=n without gaps.
pub fn assert_chain(store: &SledStore, n: u64) {
    let v = store.verify().expect("verify");
    assert_eq!(v.broken, None, "audit chain broken");
    assert_eq!(v.events, n, "events verified");
    assert_eq!(v.records, n, "records verified");
    let seqs: Vec<u64> = events(store).iter().map(|e| e.sequence).collect();
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "event sequence");
}

/// Protobuf bytes of a message, to compare records exactly.
pub fn bytes<M: Message>(m: &M) -> Vec<u8> {
    m.encode_to_vec()
}

/// Asserts `r` is `InvalidTransition` from `from` by `action`.
pub fn assert_invalid_transition<T: Debug>(r: Result<T>, from: &str, action: &str) {
    match r {
        Err(StoreError::InvalidTransition {
            from: f, action: a, ..
        }) => assert_eq!((f, a), (from, action)),
        other => panic!("expected InvalidTransition from {from} by {action}, got {other:?}"),
    }
}

/// Asserts `r` is `InvalidArgument`.
pub fn assert_invalid_argument<T: Debug>(r: Result<T>, what: &str) {
    match r {
        Err(StoreError::InvalidArgument(_) | StoreError::InvalidField { .. }) => {}
        other => panic!("{what}: expected InvalidArgument, got {other:?}"),
    }
}

/// Asserts `r` is `NotFound`.
pub fn assert_not_found<T: Debug>(r: Result<T>, what: &str) {
    match r {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

/// Asserts `r` is `Conflict` with these revisions.
pub fn assert_conflict<T: Debug>(r: Result<T>, expected: u32, actual: u32) {
    match r {
        Err(StoreError::Conflict {
            expected: e,
            actual: a,
            ..
        }) => assert_eq!((e, a), (expected, actual), "conflict revisions"),
        other => panic!("expected Conflict {expected}/{actual}, got {other:?}"),
    }
}
