//! `gongkai verify`, `backup` and `restore` on a real store: a backup
//! restores into an empty directory and verifies; a non-empty target is
//! refused.

mod common;

use std::time::SystemTime;

use common::gongkai;
use gongkai_proto::v1::{Agency, AnnualReport};
use gongkai_store::{Checked, ReportKey, Store, StoreOptions, WriteMeta, WriteOp};

fn populated(dir: &std::path::Path) {
    let store = Store::open_sled(dir, &StoreOptions::default()).unwrap();
    let w = |id: &str| WriteMeta {
        request_id: id.into(),
        principal: "test".into(),
        time: SystemTime::now(),
    };
    let agency = Agency {
        uscc: "11330700099033995K".into(),
        display_name: "金华市市场监督管理局".into(),
        ..Agency::default()
    };
    store
        .write(w("a"), WriteOp::RegisterAgency { agency })
        .wait()
        .unwrap();
    let key = ReportKey {
        uscc: "11330700099033995K".into(),
        year: 2024,
    };
    let draft = WriteOp::SaveDraft {
        key,
        expected: 0,
        report: AnnualReport::default(),
        checked: Checked::default(),
    };
    store.write(w("d"), draft).wait().unwrap();
}

#[test]
fn backup_restore_verify_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    populated(&data);
    let data_s = data.to_str().unwrap();

    let out = gongkai(&["verify", "--data", data_s], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "audit chain verified: 2 events, 2 records"
    );

    let file = tmp.path().join("gongkai.backup");
    let out = gongkai(&["backup", "--data", data_s, file.to_str().unwrap()], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let restored = tmp.path().join("restored");
    let out = gongkai(
        &[
            "restore",
            file.to_str().unwrap(),
            "--data",
            restored.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("audit chain verified"));

    let out = gongkai(&["verify", "--data", restored.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));

    // Restoring over data is refused, and says why.
    let out = gongkai(&["restore", file.to_str().unwrap(), "--data", data_s], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
}

#[test]
fn verify_without_a_store_names_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing");
    let out = gongkai(&["verify", "--data", missing.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store here"));
}
