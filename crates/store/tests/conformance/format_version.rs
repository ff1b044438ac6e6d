//! Format versioning (issue 3): a store or a value written by a newer
//! gongkai is refused with `NewerFormat`, never misread; a store whose format
//! marker is missing or mangled is refused as corrupt, not re-stamped.
//! (Format 3 since issue 14: request fingerprints keyed by operation ids.)

use gongkai_store::{EventFilter, PageRequest, ReportKey, STORE_FORMAT, StoreError};

use crate::store_fixture::*;

conformance!(
    a_new_store_is_stamped_with_this_format,
    a_store_of_a_newer_format_is_refused_on_open_and_left_alone,
    a_store_with_a_mangled_or_missing_format_marker_is_refused_as_corrupt,
    a_value_tagged_with_a_newer_format_is_refused_not_misread,
);

fn is_newer_4(r: &gongkai_store::Result<impl std::fmt::Debug>) -> bool {
    matches!(
        r,
        Err(StoreError::NewerFormat {
            found: 4,
            supported: 3
        })
    )
}

/// Puts `format` as the store's format marker.
async fn stamp(f: &mut Fixture, format: Vec<u8>) {
    f.raw("meta", move |t| t.insert(b"format", format)).await;
}

async fn a_new_store_is_stamped_with_this_format(engine: Engine) {
    let mut store = open(engine).await;
    assert_eq!(STORE_FORMAT, 3);
    let raw = store.dump().await;
    assert_eq!(
        raw[&b"meta"[..]][&b"format"[..]],
        STORE_FORMAT.to_be_bytes().to_vec()
    );
}

async fn a_store_of_a_newer_format_is_refused_on_open_and_left_alone(engine: Engine) {
    let mut f = open(engine).await;
    build_history(&f).await;
    stamp(&mut f, 4u32.to_be_bytes().to_vec()).await;
    let before = f.dump().await;
    let r = f.try_open().await;
    assert!(is_newer_4(&r), "{r:?}");
    let message = r.unwrap_err().to_string();
    assert!(message.contains("upgrade gongkai"), "{message}");
    assert_eq!(f.dump().await, before, "a refused open writes nothing");
    // Far newer too.
    stamp(&mut f, u32::MAX.to_be_bytes().to_vec()).await;
    let r = f.try_open().await;
    assert!(
        matches!(
            r,
            Err(StoreError::NewerFormat {
                found: u32::MAX,
                supported: 3
            })
        ),
        "{r:?}"
    );
    // Back to this format, or the older formats 2 and 1 (stores written
    // before format 3 and 2): it opens and verifies.
    for format in [3u32, 2, 1] {
        stamp(&mut f, format.to_be_bytes().to_vec()).await;
        assert_eq!(f.reopen().await.verify().await.unwrap().broken, None);
    }
}

async fn a_store_with_a_mangled_or_missing_format_marker_is_refused_as_corrupt(engine: Engine) {
    let mut f = open(engine).await;
    build_history(&f).await;
    // Not a u32.
    stamp(&mut f, vec![0, 1]).await;
    let r = f.try_open().await;
    assert!(
        matches!(r, Err(StoreError::Corrupt { tree: "meta", .. })),
        "{r:?}"
    );
    // Missing from a store that holds data: not silently re-stamped.
    f.raw("meta", |t| t.remove(b"format")).await;
    let before = f.dump().await;
    let r = f.try_open().await;
    assert!(
        matches!(r, Err(StoreError::Corrupt { tree: "meta", .. })),
        "{r:?}"
    );
    assert_eq!(f.dump().await, before, "a refused open writes nothing");
}

async fn a_value_tagged_with_a_newer_format_is_refused_not_misread(engine: Engine) {
    let mut f = open(engine).await;
    let history = build_history(&f).await;
    let county = uscc(3);
    let key = ReportKey {
        uscc: county.clone(),
        year: 2023,
    };
    let report_key = [county.as_bytes(), &2023u16.to_be_bytes()].concat();
    let revision_key = [&report_key[..], &2u32.to_be_bytes()].concat();
    for (tree, key) in [
        ("revisions", revision_key.clone()),
        ("heads", report_key.clone()),
        ("agencies", county.as_bytes().to_vec()),
        ("events", 1u64.to_be_bytes().to_vec()),
    ] {
        f.raw(tree, move |t| {
            let mut v = t.get(&key).unwrap();
            assert_eq!(v[0], 3, "{tree}: format tag");
            v[0] = 4;
            t.insert(&key, v);
        })
        .await;
    }

    let store = f.reopen().await;
    let all = PageRequest {
        size: 1000,
        ..Default::default()
    };
    assert!(is_newer_4(&store.revision(&key, 2).await), "revision");
    assert!(
        is_newer_4(&store.list_revisions(&key, &all).await),
        "list_revisions"
    );
    assert!(is_newer_4(&store.head(&key).await), "head");
    assert!(is_newer_4(&store.agency(&county).await), "agency");
    assert!(
        is_newer_4(&store.list_agencies(&all).await),
        "list_agencies"
    );
    assert!(
        is_newer_4(&store.list_events(&EventFilter::default(), &all).await),
        "list_events"
    );
    // Values of this format around them still read.
    assert_eq!(store.revision(&key, 1).await.unwrap().unwrap().revision, 1);
    assert!(store.agency(&history.agencies[0]).await.unwrap().is_some());
    // A write that must read the newer-format head is refused, not applied.
    let r = store
        .save_draft(
            &meta("over-newer"),
            &key,
            7,
            report("x"),
            Default::default(),
        )
        .await;
    assert!(is_newer_4(&r), "save_draft: {r:?}");
    // verify does not take the changed bytes for the recorded ones.
    assert!(store.verify().await.unwrap().broken.is_some());
}
