//! Damage sled finds on disk (a page failing its checksum) is corruption
//! (issue 13, point 6): a read names the tree and key and reaches a caller as
//! DATA_LOSS, not as a retryable storage failure; `verify` names the tree,
//! the key and the report, not only sled's file offset.

mod store_fixture;

use gongkai_store::{Checked, ReportKey, Store, StoreError, StoreOptions};
use store_fixture::{Writes, build_history, meta, report};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_page_is_named_by_tree_key_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    // A small cache, so pages are read back from disk.
    let store = Store::open_sled(
        &path,
        &StoreOptions {
            cache_capacity: 64 * 1024,
        },
    )
    .unwrap();
    let h = build_history(&store).await;
    let marked = ReportKey {
        uscc: h.agencies[2].clone(),
        year: 2022,
    };
    let marker = format!("MARKER-{}", "m".repeat(2000));
    store
        .save_draft(
            &meta("marker"),
            &marked,
            0,
            report(&marker),
            Checked::default(),
        )
        .await
        .unwrap();
    // Enough other writes that the marked page leaves the cache.
    let bulk = ReportKey {
        uscc: h.agencies[3].clone(),
        year: 2025,
    };
    let filler = "x".repeat(3000);
    for i in 0..1500u32 {
        store
            .save_draft(
                &meta(&format!("bulk{i}")),
                &bulk,
                i,
                report(&format!("{i}{filler}")),
                Checked::default(),
            )
            .await
            .unwrap();
    }
    store.flush().await.unwrap();
    // One byte inside the marked revision's bytes on disk, changed under
    // the running store.
    let file = path.join("db");
    let bytes = std::fs::read(&file).unwrap();
    let needle = b"MARKER-mmmm";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the marked revision on disk");
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        f.write_at(b"Q", (at + 500) as u64).unwrap();
    }
    let v = store.verify().await.unwrap();
    let broken = v.broken.expect("a damaged page went unnoticed");
    assert_eq!(broken.tree, "revisions", "{broken}");
    assert!(broken.detail.contains("sled cannot read it"), "{broken}");
    // The key, readable, and the revision it holds.
    let parts: Vec<&str> = broken.key.split(" · ").collect();
    assert_eq!(parts.len(), 3, "{broken}");
    let (uscc, year, revision) = (
        parts[0],
        parts[1].parse().unwrap(),
        parts[2].parse().unwrap(),
    );
    assert_eq!(
        broken.subject,
        format!("agencies/{uscc}/reports/{year}/revisions/{revision}")
    );
    // The same revision read through the store: corruption naming its tree
    // and key (DATA_LOSS in the server), never a storage failure.
    let key = ReportKey {
        uscc: uscc.into(),
        year,
    };
    let e = store.revision(&key, revision).await.unwrap_err();
    assert!(
        matches!(
            &e,
            StoreError::Corrupt {
                tree: "revisions",
                ..
            }
        ),
        "{e:?}"
    );
}
