//! A store written by the release before issue 14 opens with today's code
//! (issue 14, point 1): `testdata/stores/format2/`, made by
//! `testdata/stores/make-format2-store.sh` with the binary of a53ce50
//! (`serve --local-trial --seed-sample` and a few writes through the API),
//! is brought to this store format, verifies, and every request id it
//! recorded — reviews fingerprinted by the verbs of that release's messages
//! ("submit", "approve", "return") — retried with its first request gets its
//! first answer back and writes nothing; with another request it is refused.

mod common;
mod store_fixture;

use std::path::{Path, PathBuf};

use gongkai_proto::v1::{Agency, ReportRevision};
use gongkai_store::{
    Action, Checked, Outcome, ReportKey, STORE_FORMAT, Store, StoreError, WriteMeta, WriteOp,
};
use prost::Message;
use serde_json::Value;

const CITY: &str = "11230500012345678T";
const COUNTY: &str = "112305230123456785";
const FINANCE: &str = "112305230123456860";
const EDUCATION: &str = "11230523012345694T";
const NEW: &str = "11230523012345700T";

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/stores")
}

/// The release's store, copied where it may be written.
fn copy_of_the_release_store(into: &Path) -> PathBuf {
    let to = into.join("store");
    std::fs::create_dir_all(to.join("blobs")).unwrap();
    for entry in std::fs::read_dir(testdata().join("format2")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    to
}

fn answers() -> Value {
    let text = std::fs::read_to_string(testdata().join("format2-answers.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn by(principal: &str, request_id: &str) -> WriteMeta {
    store_fixture::w_by(request_id, principal)
}

fn key() -> ReportKey {
    ReportKey {
        uscc: COUNTY.into(),
        year: 2024,
    }
}

async fn revision(store: &Store, n: u32) -> ReportRevision {
    store.revision(&key(), n).await.unwrap().unwrap()
}

/// The agency as its registration sent it: its first version without what
/// the store added (its name and version).
async fn as_registered(store: &Store, uscc: &str) -> Agency {
    let stored = store.agency(uscc).await.unwrap().unwrap();
    let v1 = if stored.version == 1 {
        stored
    } else {
        // A moved agency: its registration named the supervisor of version 1.
        Agency {
            supervisor: format!("agencies/{COUNTY}"),
            ..stored
        }
    };
    Agency {
        name: String::new(),
        version: 0,
        ..v1
    }
}

/// Every write the release made, as its caller made it: (principal,
/// request id, operation, the revision or agency version it wrote).
async fn the_release_writes(store: &Store) -> Vec<(&'static str, &'static str, WriteOp)> {
    let content = |n| async move { revision(store, n).await.report.unwrap() };
    let register = |uscc| async move {
        WriteOp::RegisterAgency {
            agency: as_registered(store, uscc).await,
        }
    };
    let review = |expected, action, comments| WriteOp::Review {
        key: key(),
        expected,
        action,
        checked: Checked::default(),
        comments,
    };
    vec![
        ("seed", "seed/city", register(CITY).await),
        ("seed", "seed/county", register(COUNTY).await),
        ("seed", "seed/finance", register(FINANCE).await),
        ("seed", "seed/education", register(EDUCATION).await),
        (
            "seed",
            "seed/report",
            WriteOp::SaveDraft {
                key: key(),
                expected: 0,
                report: content(1).await,
                checked: Checked::default(),
            },
        ),
        (
            "local-trial",
            "upgrade/draft",
            WriteOp::SaveDraft {
                key: key(),
                expected: 1,
                report: content(2).await,
                checked: Checked::default(),
            },
        ),
        (
            "local-trial",
            "upgrade/submit",
            review(2, Action::Submit, Vec::new()),
        ),
        (
            "local-trial",
            "upgrade/return",
            review(3, Action::Return, revision(store, 4).await.comments),
        ),
        (
            "local-trial",
            "upgrade/resubmit",
            WriteOp::SaveAndSubmit {
                key: key(),
                expected: 4,
                report: content(5).await,
                checked: Checked::default(),
            },
        ),
        (
            "local-trial",
            "upgrade/approve",
            review(5, Action::Approve, Vec::new()),
        ),
        (
            "local-trial",
            "upgrade/move",
            WriteOp::SetSupervisor {
                uscc: EDUCATION.into(),
                supervisor: Some(format!("agencies/{CITY}")),
                expected_version: 1,
            },
        ),
        ("local-trial", "upgrade/register", register(NEW).await),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_the_release_before_upgrades_and_answers_its_request_ids_as_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_of_the_release_store(dir.path());
    let meta = common::dump(&path)[&b"meta"[..]].clone();
    assert_eq!(meta[&b"format"[..]], 2u32.to_be_bytes(), "a format-2 store");

    let store = common::open(&path);
    let v = store.verify().await.unwrap();
    assert_eq!((v.events, v.broken), (12, None), "as the release left it");

    let answers = answers();
    let writes = the_release_writes(&store).await;
    for (principal, id, op) in writes.clone() {
        let again = store
            .write(by(principal, id), op)
            .await
            .unwrap_or_else(|e| panic!("retry of {id}: {e}"));
        match again {
            Outcome::Revision(r) => {
                let stored = revision(&store, r.revision).await;
                assert_eq!(r.encode_to_vec(), stored.encode_to_vec(), "{id}");
                assert_eq!(r.request_id, id);
                if let Some(first) = answers.get(id) {
                    let first = &first["revision"];
                    assert_eq!(first["name"], r.name.as_str(), "{id}");
                    assert_eq!(first["revision"], r.revision, "{id}");
                    assert_eq!(first["state"], r.state().as_str_name(), "{id}");
                }
            }
            Outcome::Agency(a) => {
                assert_eq!(a.uscc, id_agency(id), "{id}");
                if let Some(first) = answers.get(id) {
                    let first = &first["agency"];
                    assert_eq!(first["name"], a.name.as_str(), "{id}");
                    assert_eq!(first["version"], a.version, "{id}");
                    assert_eq!(first["supervisor"], a.supervisor.as_str(), "{id}");
                }
            }
        }
    }
    assert_eq!(
        store.verify().await.unwrap().events,
        12,
        "the retries wrote nothing"
    );

    // A request id of the release with another request is refused.
    let reused = store
        .write(
            by("local-trial", "upgrade/approve"),
            WriteOp::Review {
                key: key(),
                expected: 5,
                action: Action::Return,
                checked: Checked::default(),
                comments: Vec::new(),
            },
        )
        .await;
    assert!(
        matches!(&reused, Err(StoreError::RequestIdReused(id)) if id == "upgrade/approve"),
        "{reused:?}"
    );

    // New writes beside the old ones: fingerprinted by operation id, and
    // retried alike; the chain holds both.
    let correction = WriteOp::SaveDraft {
        key: key(),
        expected: 6,
        report: revision(&store, 6).await.report.unwrap(),
        checked: Checked::default(),
    };
    let first = store
        .write(by("local-trial", "after/draft"), correction.clone())
        .await
        .unwrap();
    let again = store
        .write(by("local-trial", "after/draft"), correction)
        .await
        .unwrap();
    assert_eq!(first, again);
    let v = store.verify().await.unwrap();
    assert_eq!((v.events, v.broken), (13, None));
    drop(store);

    // The store is of this format now, so a gongkai of format 2 refuses it.
    let meta = common::dump(&path)[&b"meta"[..]].clone();
    assert_eq!(meta[&b"format"[..]], STORE_FORMAT.to_be_bytes());
    assert_eq!(STORE_FORMAT, 3);
}

/// The agency an agency write of the release was about.
fn id_agency(id: &str) -> &'static str {
    match id {
        "seed/city" => CITY,
        "seed/county" => COUNTY,
        "seed/finance" => FINANCE,
        "seed/education" | "upgrade/move" => EDUCATION,
        _ => NEW,
    }
}
