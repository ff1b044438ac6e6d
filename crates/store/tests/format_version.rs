//! Format versioning (issue 3): a store or a value written by a newer
//! gongkai is refused with `NewerFormat`, never misread; a store whose format
//! marker is missing or mangled is refused as corrupt, not re-stamped.

mod common;

use common::{build_history, dump, open, try_open, uscc, with_raw_tree};
use gongkai_store::{EventFilter, PageRequest, ReportKey, ReportStore, STORE_FORMAT, StoreError};

fn is_newer_3(r: &gongkai_store::Result<impl std::fmt::Debug>) -> bool {
    matches!(
        r,
        Err(StoreError::NewerFormat {
            found: 3,
            supported: 2
        })
    )
}

#[test]
fn a_new_store_is_stamped_with_this_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    drop(open(&path));
    assert_eq!(STORE_FORMAT, 2);
    let raw = dump(&path);
    assert_eq!(
        raw[&b"meta"[..]][&b"format"[..]],
        STORE_FORMAT.to_be_bytes().to_vec()
    );
}

#[test]
fn a_store_of_a_newer_format_is_refused_on_open_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    build_history(&open(&path));
    with_raw_tree(&path, "meta", |t| {
        t.insert(b"format", &3u32.to_be_bytes()).unwrap()
    });
    let before = dump(&path);
    let r = try_open(&path);
    assert!(is_newer_3(&r), "{r:?}");
    let message = r.unwrap_err().to_string();
    assert!(message.contains("upgrade gongkai"), "{message}");
    assert_eq!(dump(&path), before, "a refused open writes nothing");
    // Far newer too.
    with_raw_tree(&path, "meta", |t| {
        t.insert(b"format", &u32::MAX.to_be_bytes()).unwrap()
    });
    let r = try_open(&path);
    assert!(
        matches!(
            r,
            Err(StoreError::NewerFormat {
                found: u32::MAX,
                supported: 2
            })
        ),
        "{r:?}"
    );
    // Back to this format, or the older format 1 (a store written before
    // format 2): it opens and verifies.
    for format in [2u32, 1] {
        with_raw_tree(&path, "meta", |t| {
            t.insert(b"format", &format.to_be_bytes()).unwrap()
        });
        assert_eq!(open(&path).verify().unwrap().broken, None);
    }
}

#[test]
fn a_store_with_a_mangled_or_missing_format_marker_is_refused_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    build_history(&open(&path));
    // Not a u32.
    with_raw_tree(&path, "meta", |t| t.insert(b"format", &[0, 1]).unwrap());
    let r = try_open(&path);
    assert!(
        matches!(r, Err(StoreError::Corrupt { tree: "meta", .. })),
        "{r:?}"
    );
    // Missing from a store that holds data: not silently re-stamped.
    with_raw_tree(&path, "meta", |t| t.remove(b"format").unwrap());
    let before = dump(&path);
    let r = try_open(&path);
    assert!(
        matches!(r, Err(StoreError::Corrupt { tree: "meta", .. })),
        "{r:?}"
    );
    assert_eq!(dump(&path), before, "a refused open writes nothing");
}

#[test]
fn a_value_tagged_with_a_newer_format_is_refused_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let history = build_history(&open(&path));
    let county = uscc(3);
    let key = ReportKey {
        uscc: county.clone(),
        year: 2023,
    };
    let report_key = [county.as_bytes(), &2023u16.to_be_bytes()].concat();
    let revision_key = [&report_key[..], &2u32.to_be_bytes()].concat();
    let tag_3 = |tree: &str, key: &[u8]| {
        with_raw_tree(&path, tree, |t| {
            let mut v = t.get(key).unwrap().unwrap().to_vec();
            assert_eq!(v[0], 2, "{tree}: format tag");
            v[0] = 3;
            t.insert(key, v).unwrap();
        });
    };
    tag_3("revisions", &revision_key);
    tag_3("heads", &report_key);
    tag_3("agencies", county.as_bytes());
    tag_3("events", &1u64.to_be_bytes());

    let store = open(&path);
    let all = PageRequest {
        size: 1000,
        ..Default::default()
    };
    assert!(is_newer_3(&store.revision(&key, 2)), "revision");
    assert!(
        is_newer_3(&store.list_revisions(&key, &all)),
        "list_revisions"
    );
    assert!(is_newer_3(&store.head(&key)), "head");
    assert!(is_newer_3(&store.agency(&county)), "agency");
    assert!(is_newer_3(&store.list_agencies(&all)), "list_agencies");
    assert!(
        is_newer_3(&store.list_events(&EventFilter::default(), &all)),
        "list_events"
    );
    // Values of this format around them still read.
    assert_eq!(store.revision(&key, 1).unwrap().unwrap().revision, 1);
    assert!(store.agency(&history.agencies[0]).unwrap().is_some());
    // A write that must read the newer-format head is refused, not applied.
    let r = store.save_draft(
        &common::meta("over-newer"),
        &key,
        7,
        common::report("x"),
        Default::default(),
    );
    assert!(is_newer_3(&r), "save_draft: {r:?}");
    // verify does not take the changed bytes for the recorded ones.
    assert!(store.verify().unwrap().broken.is_some());
}
