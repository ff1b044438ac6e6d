//! Shared builders for the store's integration tests: valid 统一社会信用代码,
//! write metadata, a small store with history, and raw sled access for tests
//! that look at (or damage) the bytes on disk.
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    path::Path,
    time::{Duration, Instant, SystemTime},
};

use gongkai_domain::ids::uscc_check_character;
use gongkai_proto::v1::{
    Agency, AgencyKind, AgencyLevel, AnnualReport, ReviewComment, SectionTexts,
};
use gongkai_store::{
    Action, Checked, ReportKey, ReportStore, SledStore, StoreError, StoreOptions, WriteMeta,
};

/// A valid 统一社会信用代码 for `n` (distinct `n`, distinct codes).
pub fn uscc(n: u32) -> String {
    let first17 = format!("11330700{n:09}");
    let check = uscc_check_character(&first17).expect("17 valid characters");
    format!("{first17}{check}")
}

/// Write metadata with this request id.
pub fn meta(request_id: &str) -> WriteMeta {
    WriteMeta {
        request_id: request_id.into(),
        principal: "tester".into(),
        time: SystemTime::now(),
    }
}

/// Options with a small cache, so many stores can be open in one test run.
pub fn options() -> StoreOptions {
    StoreOptions {
        cache_capacity: 8 * 1024 * 1024,
    }
}

/// An agency to register, under `supervisor` if given.
pub fn agency(uscc: &str, name: &str, supervisor: Option<&str>) -> Agency {
    Agency {
        uscc: uscc.into(),
        display_name: name.into(),
        level: AgencyLevel::County.into(),
        kind: AgencyKind::Government.into(),
        supervisor: supervisor
            .map(|s| format!("agencies/{s}"))
            .unwrap_or_default(),
        ..Agency::default()
    }
}

/// A report whose overview is `text`, so every revision's bytes differ.
pub fn report(text: &str) -> AnnualReport {
    AnnualReport {
        sections: Some(SectionTexts {
            overview: Some(text.into()),
            ..SectionTexts::default()
        }),
        ..AnnualReport::default()
    }
}

/// Submits `report` as new content of `key` (after its latest revision)
/// and approves it: the approved revision's number, or why the approval
/// was refused.
pub fn submit_and_approve(
    store: &SledStore,
    key: &ReportKey,
    report: AnnualReport,
    tag: &str,
) -> gongkai_store::Result<u32> {
    let latest = store.head(key).unwrap().map_or(0, |h| h.latest_revision);
    let sub = store
        .save_and_submit(
            &meta(&format!("{tag}-submit")),
            key,
            latest,
            report,
            Checked::default(),
        )
        .unwrap();
    store
        .transition(
            &meta(&format!("{tag}-approve")),
            key,
            sub.revision,
            Action::Approve,
            Checked::default(),
            Vec::new(),
        )
        .map(|r| r.revision)
}

/// What [`build_history`] wrote.
#[derive(Debug)]
pub struct History {
    /// Every agency, root first.
    pub agencies: Vec<String>,
    /// Every report written.
    pub reports: Vec<ReportKey>,
    /// Audit events written.
    pub events: u64,
}

/// Fills `store` with a supervision tree of four agencies, three reports
/// taken through draft, submit, return, approve and a correction, and one
/// supervisor change.
pub fn build_history(store: &SledStore) -> History {
    let province = uscc(1);
    let city = uscc(2);
    let county = uscc(3);
    let bureau = uscc(4);
    let mut events = 0;
    let mut id = 0u32;
    let mut next_id = || {
        id += 1;
        format!("h{id}")
    };
    for (code, name, sup) in [
        (&province, "浙江省人民政府", None),
        (&city, "金华市人民政府", Some(province.as_str())),
        (&county, "某县人民政府", Some(city.as_str())),
        (&bureau, "某局", Some(city.as_str())),
    ] {
        store
            .register_agency(&meta(&next_id()), agency(code, name, sup))
            .unwrap();
        events += 1;
    }
    let reports = vec![
        ReportKey {
            uscc: county.clone(),
            year: 2023,
        },
        ReportKey {
            uscc: county.clone(),
            year: 2024,
        },
        ReportKey {
            uscc: bureau.clone(),
            year: 2024,
        },
    ];
    let review = |key: &ReportKey, expected: u32, action: Action, id: String| {
        let comments = if action == Action::Return {
            vec![ReviewComment {
                text: "T3 总计 does not add up".into(),
                cell: "t3.R25.total".into(),
            }]
        } else {
            Vec::new()
        };
        store
            .transition(
                &meta(&id),
                key,
                expected,
                action,
                Checked::default(),
                comments,
            )
            .unwrap();
    };
    // Report 0: draft → submit → return → draft → submit → approve → correction.
    let k = &reports[0];
    store
        .save_draft(&meta(&next_id()), k, 0, report("first"), Checked::default())
        .unwrap();
    review(k, 1, Action::Submit, next_id());
    review(k, 2, Action::Return, next_id());
    store
        .save_draft(&meta(&next_id()), k, 3, report("fixed"), Checked::default())
        .unwrap();
    review(k, 4, Action::Submit, next_id());
    review(k, 5, Action::Approve, next_id());
    store
        .save_draft(
            &meta(&next_id()),
            k,
            6,
            report("correction"),
            Checked::default(),
        )
        .unwrap();
    events += 7;
    // Report 1: draft → submit → approve.
    let k = &reports[1];
    store
        .save_draft(&meta(&next_id()), k, 0, report("2024"), Checked::default())
        .unwrap();
    review(k, 1, Action::Submit, next_id());
    review(k, 2, Action::Approve, next_id());
    events += 3;
    // Report 2: two drafts.
    let k = &reports[2];
    store
        .save_draft(
            &meta(&next_id()),
            k,
            0,
            report("bureau"),
            Checked::default(),
        )
        .unwrap();
    store
        .save_draft(
            &meta(&next_id()),
            k,
            1,
            report("bureau 2"),
            Checked::default(),
        )
        .unwrap();
    events += 2;
    // The bureau moves from the city to the province.
    store
        .set_supervisor(&meta(&next_id()), &bureau, Some(&province), 1)
        .unwrap();
    events += 1;
    History {
        agencies: vec![province, city, county, bureau],
        reports,
        events,
    }
}

/// Every tree of a sled database: tree name → key → value.
pub type Dump = BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, Vec<u8>>>;

/// Reads every tree of the (closed) store at `path` with sled itself.
pub fn dump(path: &Path) -> Dump {
    let db = raw_open(path);
    let mut out = Dump::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name).unwrap();
        let entries = tree
            .iter()
            .map(|kv| {
                let (k, v) = kv.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect();
        out.insert(name.to_vec(), entries);
    }
    out
}

/// Opens the (closed) store at `path` with sled itself, runs `f` on `tree`,
/// and flushes.
pub fn with_raw_tree<R>(path: &Path, tree: &str, f: impl FnOnce(&sled::Tree) -> R) -> R {
    let db = raw_open(path);
    let t = db.open_tree(tree).unwrap();
    let out = f(&t);
    db.flush().unwrap();
    out
}

/// How long a reopen waits for the previous handle's file lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Whether an error is sled's "could not acquire lock": sled 0.34.7 releases
/// its file lock only when its background threads have let go of the file,
/// a moment after the last handle is dropped.
fn is_lock_busy(message: &str) -> bool {
    message.contains("could not acquire lock")
}

/// Opens the store at `path`, waiting for a just-closed handle to let go.
pub fn open(path: &Path) -> SledStore {
    try_open(path).unwrap()
}

/// Opens the store at `path`, waiting for a just-closed handle to let go,
/// and gives any other outcome back.
pub fn try_open(path: &Path) -> gongkai_store::Result<SledStore> {
    let start = Instant::now();
    loop {
        match SledStore::open(path, &options()) {
            Err(StoreError::Io(m)) if is_lock_busy(&m) && start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// Opens the database at `path` with sled itself, waiting for a just-closed
/// handle to let go.
pub fn raw_open(path: &Path) -> sled::Db {
    let start = Instant::now();
    loop {
        match sled::open(path) {
            Err(e) if is_lock_busy(&e.to_string()) && start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other.unwrap(),
        }
    }
}
