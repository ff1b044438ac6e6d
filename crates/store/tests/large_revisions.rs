//! A revision too large for sled's log (over ≈ 128 KiB) goes to a blob file
//! of its own, which sled neither syncs nor covers by its flush: the group
//! commit syncs it before the write is acknowledged, and it reads back.

mod store_fixture;

use gongkai_store::{Checked, ReportKey};
use store_fixture::{Engine, Writes, content, open, register, uscc_in, w};

/// sled's blob files under the store's directory.
fn blob_files(store_dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![store_dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.parent().is_some_and(|d| d.ends_with("blobs")) {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_revision_is_acknowledged_only_after_its_blob_file_is_synced() {
    let store = open(Engine::Sled).await;
    let dir = store.sled_path().unwrap().to_path_buf();
    let code = uscc_in("230523", 9);
    register(&store, &code, None).await;
    let key = ReportKey {
        uscc: code,
        year: 2024,
    };
    assert_eq!(store.blobs_synced(), 0);
    // About 210 KB of prose: too large for the log, so sled writes a blob.
    let big = content(&"政".repeat(70_000));
    let r = store
        .save_draft(&w("big"), &key, 0, big.clone(), Checked::default())
        .await
        .expect("acknowledged");
    let blobs = blob_files(&dir);
    assert!(!blobs.is_empty(), "the revision went to a blob file");
    assert!(
        store.blobs_synced() >= blobs.len() as u64,
        "acknowledged with {} blob files and {} synced",
        blobs.len(),
        store.blobs_synced()
    );
    assert_eq!(store.revision(&key, 1).await.unwrap().as_ref(), Some(&r));
    assert_eq!(r.report, Some(big));
}
