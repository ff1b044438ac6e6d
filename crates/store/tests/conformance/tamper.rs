//! Tamper test (issue 3 acceptance): changing any one byte of a stored
//! revision, agency version or audit event makes `verify` fail, naming the
//! event at fault; so does removing an event or cutting the chain short.
//!
//! Each case edits the bytes with the engine's own tools (sled itself, on
//! the closed store; SQL on PostgreSQL), reopens the store, verifies, and
//! puts the original bytes back.

use std::collections::BTreeMap;

use gongkai_proto::{
    store_v1::{AuditHead, ReportHead},
    v1::{Agency, AuditEvent},
};
use gongkai_store::BrokenLink;
use prost::Message;

use crate::store_fixture::*;

conformance!(
    one_byte_changed_in_any_revision_or_agency_version_names_the_event_that_recorded_it,
    one_byte_changed_in_any_event_or_event_hash_names_that_event,
    every_byte_of_the_last_event_is_covered,
    every_byte_of_the_newest_report_revision_is_covered,
    a_removed_event_is_named,
    a_chain_cut_short_at_its_end_is_found,
    a_chain_head_rewound_or_damaged_is_found,
    an_edited_report_head_or_current_agency_is_found,
    a_changed_area_year_key_is_named,
    a_changed_children_edge_is_named,
    a_repointed_request_record_is_named,
    a_deleted_by_state_key_is_named,
    an_extra_index_entry_is_named,
    every_derived_entry_removed_or_one_too_many_is_found,
);

/// A stored value: strip the format tag and decode.
fn decode<M: Message + Default>(bytes: &[u8]) -> M {
    assert_eq!(
        bytes.first().copied().map(u32::from),
        Some(gongkai_store::STORE_FORMAT),
        "format tag of a stored value"
    );
    M::decode(&bytes[1..]).unwrap()
}

/// The format tag this build writes.
fn tag() -> u8 {
    u8::try_from(gongkai_store::STORE_FORMAT).unwrap()
}

/// Opens the store afresh and verifies.
async fn verify(f: &mut Fixture) -> Option<BrokenLink> {
    f.reopen().await.verify().await.unwrap().broken
}

/// Replaces the value of `key` in `tree` by `edit(old)` (or removes it when
/// `edit` gives `None`), verifies, and restores the original value.
async fn with_edit(
    f: &mut Fixture,
    tree: &str,
    key: &[u8],
    edit: impl FnOnce(&[u8]) -> Option<Vec<u8>> + Send + 'static,
) -> Option<BrokenLink> {
    let k = key.to_vec();
    let original = f
        .raw(tree, move |t| {
            let old = t.get(&k).expect("the value to edit exists");
            match edit(&old) {
                Some(new) => {
                    assert_ne!(new, old, "the edit changes the value");
                    t.insert(&k, new);
                }
                None => {
                    t.remove(&k);
                }
            }
            old
        })
        .await;
    let broken = verify(f).await;
    let k = key.to_vec();
    f.raw(tree, move |t| t.insert(k, original)).await;
    broken
}

/// Flips the lowest bit of byte `at`.
fn flip(at: usize) -> impl FnOnce(&[u8]) -> Option<Vec<u8>> + Send + 'static {
    move |old| {
        let mut v = old.to_vec();
        v[at] ^= 1;
        Some(v)
    }
}

/// A store with history, the events by sequence, and the event that
/// recorded each (resource, revision).
struct Tampered {
    store: Fixture,
    events: BTreeMap<u64, AuditEvent>,
    recorded_by: BTreeMap<(String, u32), u64>,
}

async fn fixture(engine: Engine) -> Tampered {
    let mut store = open(engine).await;
    let history = build_history(&store).await;
    let v = store.verify().await.unwrap();
    assert_eq!((v.events, v.broken), (history.events, None));
    let raw = store.dump().await;
    let events: BTreeMap<u64, AuditEvent> = raw[&b"events"[..]]
        .iter()
        .map(|(k, v)| {
            let seq = u64::from_be_bytes(k.as_slice().try_into().unwrap());
            (seq, decode::<AuditEvent>(v))
        })
        .collect();
    assert_eq!(events.len() as u64, history.events);
    let mut recorded_by = BTreeMap::new();
    for (seq, e) in &events {
        let before = recorded_by.insert((e.resource.clone(), e.revision), *seq);
        assert_eq!(before, None, "one event per record");
    }
    Tampered {
        store,
        events,
        recorded_by,
    }
}

/// `uscc · year u16 · revision u32` → (`agencies/{uscc}/reports/{year}`, revision).
fn revision_record(key: &[u8]) -> (String, u32) {
    assert_eq!(key.len(), 18 + 2 + 4, "revision key shape");
    let uscc = std::str::from_utf8(&key[..18]).unwrap();
    let year = u16::from_be_bytes([key[18], key[19]]);
    let rev = u32::from_be_bytes(key[20..24].try_into().unwrap());
    (format!("agencies/{uscc}/reports/{year}"), rev)
}

/// `uscc · version u32` → (`agencies/{uscc}`, version).
fn agency_record(key: &[u8]) -> (String, u32) {
    assert_eq!(key.len(), 18 + 4, "agency version key shape");
    let uscc = std::str::from_utf8(&key[..18]).unwrap();
    let version = u32::from_be_bytes(key[18..22].try_into().unwrap());
    (format!("agencies/{uscc}"), version)
}

async fn one_byte_changed_in_any_revision_or_agency_version_names_the_event_that_recorded_it(
    engine: Engine,
) {
    let mut f = fixture(engine).await;
    let raw = f.store.dump().await;
    let mut checked = 0;
    for (tree, record_of) in [
        ("revisions", revision_record as fn(&[u8]) -> (String, u32)),
        ("agency_versions", agency_record),
    ] {
        for (key, value) in &raw[tree.as_bytes()] {
            let record = record_of(key);
            let event = f.recorded_by[&record];
            let broken = with_edit(&mut f.store, tree, key, flip(value.len() / 2))
                .await
                .unwrap_or_else(|| panic!("{tree} {record:?}: a changed byte went unnoticed"));
            assert_eq!(broken.event, event, "{tree} {record:?}: {}", broken.detail);
            checked += 1;
        }
    }
    // 12 report revisions, 4 registrations + 1 supervisor change.
    assert_eq!(checked, 17);
    assert_eq!(verify(&mut f.store).await, None, "every edit was undone");
}

async fn one_byte_changed_in_any_event_or_event_hash_names_that_event(engine: Engine) {
    let mut f = fixture(engine).await;
    let raw = f.store.dump().await;
    for tree in ["events", "event_hashes"] {
        for (key, value) in &raw[tree.as_bytes()] {
            let seq = u64::from_be_bytes(key.as_slice().try_into().unwrap());
            let broken = with_edit(&mut f.store, tree, key, flip(value.len() / 2))
                .await
                .unwrap_or_else(|| panic!("{tree} {seq}: a changed byte went unnoticed"));
            assert_eq!(broken.event, seq, "{tree} {seq}: {}", broken.detail);
        }
    }
    assert_eq!(verify(&mut f.store).await, None, "every edit was undone");
}

/// Flips each byte of `tree[key]` in turn and expects `verify` to name
/// `event` every time. Each raw session puts the next flip over the original
/// bytes, so only the last needs undoing.
async fn every_byte_names(f: &mut Fixture, tree: &str, key: &[u8], original: &[u8], event: u64) {
    for at in 0..original.len() {
        let mut changed = original.to_vec();
        changed[at] ^= 1;
        let k = key.to_vec();
        f.raw(tree, move |t| t.insert(k, changed)).await;
        let broken = verify(f)
            .await
            .unwrap_or_else(|| panic!("{tree}: byte {at} changed unnoticed"));
        assert_eq!(broken.event, event, "{tree}: byte {at}: {}", broken.detail);
    }
    let (k, original) = (key.to_vec(), original.to_vec());
    f.raw(tree, move |t| t.insert(k, original)).await;
    assert_eq!(verify(f).await, None, "the edit was undone");
}

async fn every_byte_of_the_last_event_is_covered(engine: Engine) {
    let mut f = fixture(engine).await;
    let raw = f.store.dump().await;
    let (key, value) = raw[&b"events"[..]].last_key_value().unwrap();
    let last_seq = *f.events.keys().last().unwrap();
    every_byte_names(&mut f.store, "events", key, value, last_seq).await;
}

async fn every_byte_of_the_newest_report_revision_is_covered(engine: Engine) {
    let mut f = fixture(engine).await;
    let raw = f.store.dump().await;
    let (key, value) = raw[&b"revisions"[..]]
        .iter()
        .max_by_key(|(k, _)| f.recorded_by[&revision_record(k)])
        .unwrap();
    let event = f.recorded_by[&revision_record(key)];
    every_byte_names(&mut f.store, "revisions", key, value, event).await;
}

async fn a_removed_event_is_named(engine: Engine) {
    let mut f = fixture(engine).await;
    let last = *f.events.keys().last().unwrap();
    for seq in [1, 2, last / 2, last - 1] {
        // The event alone, and the event with its hash.
        let broken = with_edit(&mut f.store, "events", &seq.to_be_bytes(), |_| None)
            .await
            .unwrap_or_else(|| panic!("event {seq} removed unnoticed"));
        assert_eq!(broken.event, seq, "{}", broken.detail);
        let original_hash = f
            .store
            .raw("event_hashes", move |t| {
                t.remove(seq.to_be_bytes()).unwrap()
            })
            .await;
        let broken = with_edit(&mut f.store, "events", &seq.to_be_bytes(), |_| None)
            .await
            .unwrap_or_else(|| panic!("event {seq} and its hash removed unnoticed"));
        assert_eq!(broken.event, seq, "{}", broken.detail);
        f.store
            .raw("event_hashes", move |t| {
                t.insert(seq.to_be_bytes(), original_hash)
            })
            .await;
    }
    assert_eq!(verify(&mut f.store).await, None, "every edit was undone");
}

async fn a_chain_cut_short_at_its_end_is_found(engine: Engine) {
    let mut f = fixture(engine).await;
    let last = *f.events.keys().last().unwrap();
    // Remove the last event and its hash: the chain head still names it.
    let event = f
        .store
        .raw("events", move |t| t.remove(last.to_be_bytes()).unwrap())
        .await;
    let hash = f
        .store
        .raw("event_hashes", move |t| {
            t.remove(last.to_be_bytes()).unwrap()
        })
        .await;
    let broken = verify(&mut f.store)
        .await
        .expect("a chain cut short went unnoticed");
    // The chain now ends at `last - 1`; the report names the head's event.
    assert!(
        broken.event == last || broken.event == last - 1,
        "{broken:?}"
    );
    assert!(broken.detail.contains(&last.to_string()), "{broken:?}");
    f.store
        .raw("events", move |t| t.insert(last.to_be_bytes(), event))
        .await;
    f.store
        .raw("event_hashes", move |t| t.insert(last.to_be_bytes(), hash))
        .await;
    assert_eq!(verify(&mut f.store).await, None, "every edit was undone");
}

async fn a_chain_head_rewound_or_damaged_is_found(engine: Engine) {
    let mut f = fixture(engine).await;
    let raw = f.store.dump().await;
    let last = *f.events.keys().last().unwrap();
    let head: AuditHead = decode(&raw[&b"meta"[..]][&b"audit_head"[..]]);
    assert_eq!(head.sequence, last);
    // The head rewound by one event, consistently with that event's hash.
    let previous_hash = raw[&b"event_hashes"[..]][&(last - 1).to_be_bytes()[..]].clone();
    let rewound = AuditHead {
        sequence: last - 1,
        event_sha256: previous_hash,
    };
    let mut bytes = vec![tag()];
    rewound.encode(&mut bytes).unwrap();
    let broken = with_edit(&mut f.store, "meta", b"audit_head", |_| Some(bytes))
        .await
        .expect("a rewound chain head went unnoticed");
    assert_eq!(broken.event, last, "{}", broken.detail);
    // One byte of the head's hash changed.
    let len = raw[&b"meta"[..]][&b"audit_head"[..]].len();
    let broken = with_edit(&mut f.store, "meta", b"audit_head", flip(len - 1))
        .await
        .expect("a changed chain head went unnoticed");
    assert_eq!(broken.event, last, "{}", broken.detail);
    // The head removed.
    let broken = with_edit(&mut f.store, "meta", b"audit_head", |_| None)
        .await
        .expect("a removed chain head went unnoticed");
    assert_eq!(broken.event, last, "{}", broken.detail);
    // The head's value cut short: it no longer decodes; verify must not pass.
    let cut = f
        .store
        .raw("meta", |t| {
            let old = t.get(b"audit_head").unwrap();
            t.insert(b"audit_head", &old[..old.len() - 1]);
            old
        })
        .await;
    match f.store.reopen().await.verify().await {
        Ok(v) => assert!(v.broken.is_some(), "a cut chain head went unnoticed"),
        Err(e) => assert!(
            matches!(e, gongkai_store::StoreError::Corrupt { tree: "meta", .. }),
            "{e}"
        ),
    }
    f.store
        .raw("meta", move |t| t.insert(b"audit_head", cut))
        .await;
    assert_eq!(verify(&mut f.store).await, None, "every edit was undone");
}

async fn an_edited_report_head_or_current_agency_is_found(engine: Engine) {
    let mut f = fixture(engine).await;
    let raw = f.store.dump().await;
    // Report 0 was approved at revision 6 (then corrected in 7); make the
    // returned revision 3 look like the approved one.
    let county = uscc(3);
    let head_key = [county.as_bytes(), &2023u16.to_be_bytes()].concat();
    let mut head: ReportHead = decode(&raw[&b"heads"[..]][&head_key]);
    assert_eq!((head.latest_revision, head.approved_revision), (7, 6));
    head.approved_revision = 3;
    let mut forged = vec![tag()];
    head.encode(&mut forged).unwrap();
    let head_edit = with_edit(&mut f.store, "heads", &head_key, |_| Some(forged)).await;
    // The county's current record renamed.
    let mut agency: Agency = decode(&raw[&b"agencies"[..]][county.as_bytes()]);
    agency.display_name = "伪造的机关".into();
    let mut forged = vec![tag()];
    agency.encode(&mut forged).unwrap();
    let agency_edit = with_edit(&mut f.store, "agencies", county.as_bytes(), |_| {
        Some(forged)
    })
    .await;
    assert!(
        head_edit.is_some() && agency_edit.is_some(),
        "verify passed an edited head ({head_edit:?}) or agency ({agency_edit:?})"
    );
}

// ---------------------------------------------------------------------------
// What is derived from the chain (issue 13, point 4): every index, the
// children edges and every request record are recomputed by verify, and
// the first difference is named by tree, key and report or agency.
// ---------------------------------------------------------------------------

/// Moves the value of `old` to `new` in `tree`, verifies, and moves it back.
async fn with_rekey(f: &mut Fixture, tree: &str, old: &[u8], new: &[u8]) -> Option<BrokenLink> {
    let (o, n) = (old.to_vec(), new.to_vec());
    f.raw(tree, move |t| {
        let v = t.remove(&o).expect("the key to move exists");
        assert!(t.insert(&n, v).is_none(), "the new key is free");
    })
    .await;
    let broken = verify(f).await;
    let (o, n) = (old.to_vec(), new.to_vec());
    f.raw(tree, move |t| {
        let v = t.remove(&n).unwrap();
        t.insert(&o, v);
    })
    .await;
    broken
}

/// Inserts `key` → `value` into `tree`, verifies, and removes it again.
async fn with_extra(f: &mut Fixture, tree: &str, key: &[u8], value: &[u8]) -> Option<BrokenLink> {
    let (k, v) = (key.to_vec(), value.to_vec());
    f.raw(tree, move |t| {
        assert!(t.insert(&k, v).is_none(), "the key is new");
    })
    .await;
    let broken = verify(f).await;
    let k = key.to_vec();
    f.raw(tree, move |t| t.remove(&k)).await;
    broken
}

fn key3(a: &[u8], b: &[u8], c: &[u8]) -> Vec<u8> {
    [a, b, c].concat()
}

/// The fixture's agencies: province, city, county (under the city), bureau
/// (moved from the city to the province).
fn codes() -> [String; 4] {
    [1, 2, 3, 4].map(uscc)
}

fn report_name(uscc: &str, year: u16) -> String {
    format!("agencies/{uscc}/reports/{year}")
}

async fn a_changed_area_year_key_is_named(engine: Engine) {
    let mut f = fixture(engine).await;
    let [province, city, _, bureau] = codes();
    let y = 2024u16.to_be_bytes();
    // The bureau's report moved into the city's listing (the city is not
    // above the bureau): another area's report in a reviewer's export.
    let broken = with_rekey(
        &mut f.store,
        "area_year",
        &key3(province.as_bytes(), &y, bureau.as_bytes()),
        &key3(city.as_bytes(), &y, bureau.as_bytes()),
    )
    .await
    .expect("a changed area_year key went unnoticed");
    assert_eq!(broken.tree, "area_year", "{broken}");
    assert_eq!(broken.key, format!("{city} · 2024 · {bureau}"), "{broken}");
    assert_eq!(broken.subject, report_name(&bureau, 2024), "{broken}");
    assert!(broken.detail.contains(&city), "{broken}");
    // The event that recorded the report's latest revision.
    assert_eq!(
        broken.event,
        f.recorded_by[&(report_name(&bureau, 2024), 2)]
    );
    assert_eq!(verify(&mut f.store).await, None, "every edit was undone");
}

async fn a_changed_children_edge_is_named(engine: Engine) {
    let mut f = fixture(engine).await;
    let [province, _, county, bureau] = codes();
    // The bureau's edge moved under the county: a foreign agency in the
    // county's coverage.
    let broken = with_rekey(
        &mut f.store,
        "children",
        &[province.as_bytes(), bureau.as_bytes()].concat(),
        &[county.as_bytes(), bureau.as_bytes()].concat(),
    )
    .await
    .expect("a changed children edge went unnoticed");
    assert_eq!(broken.tree, "children", "{broken}");
    assert_eq!(broken.key, format!("{county} · {bureau}"), "{broken}");
    assert_eq!(broken.subject, format!("agencies/{bureau}"), "{broken}");
    assert!(broken.detail.contains(&province), "{broken}");
    assert_eq!(verify(&mut f.store).await, None, "every edit was undone");
}

async fn a_repointed_request_record_is_named(engine: Engine) {
    use gongkai_proto::store_v1::IdempotencyRecord;
    let mut f = fixture(engine).await;
    let [_, _, county, bureau] = codes();
    let raw = f.store.dump().await;
    // The request that approved the county's 2024 report (revision 3) made
    // to answer with the bureau's revision 2, event and all.
    let (request, record) = raw[&b"requests"[..]]
        .iter()
        .map(|(k, v)| (k.clone(), decode::<IdempotencyRecord>(v)))
        .find(|(_, r)| r.resource == report_name(&county, 2024) && r.revision == 3)
        .expect("the approval's request record");
    let forged = IdempotencyRecord {
        resource: report_name(&bureau, 2024),
        revision: 2,
        event_sequence: f.recorded_by[&(report_name(&bureau, 2024), 2)],
        ..record
    };
    let mut bytes = vec![1];
    forged.encode(&mut bytes).unwrap();
    let broken = with_edit(&mut f.store, "requests", &request, |_| Some(bytes))
        .await
        .expect("a re-pointed request record went unnoticed");
    assert_eq!(broken.tree, "requests", "{broken}");
    assert_eq!(broken.key, String::from_utf8(request).unwrap(), "{broken}");
    assert_eq!(
        broken.subject,
        format!("{}/revisions/3", report_name(&county, 2024)),
        "{broken}"
    );
    assert!(broken.detail.contains(&bureau), "{broken}");
    assert_eq!(verify(&mut f.store).await, None, "every edit was undone");
}

async fn a_deleted_by_state_key_is_named(engine: Engine) {
    let mut f = fixture(engine).await;
    let [_, _, _, bureau] = codes();
    // The bureau's 2024 report is a draft (state 1): dropped from the listing.
    let key = key3(&[1], &2024u16.to_be_bytes(), bureau.as_bytes());
    let broken = with_edit(&mut f.store, "by_state", &key, |_| None)
        .await
        .expect("a deleted by_state key went unnoticed");
    assert_eq!(broken.tree, "by_state", "{broken}");
    assert_eq!(broken.key, format!("draft · 2024 · {bureau}"), "{broken}");
    assert_eq!(broken.subject, report_name(&bureau, 2024), "{broken}");
    assert!(broken.detail.contains("missing"), "{broken}");
    assert_eq!(verify(&mut f.store).await, None, "every edit was undone");
}

async fn an_extra_index_entry_is_named(engine: Engine) {
    let mut f = fixture(engine).await;
    let [province, _, county, _] = codes();
    // A listing of a report that does not exist.
    let broken = with_extra(
        &mut f.store,
        "by_year",
        &[&2022u16.to_be_bytes()[..], county.as_bytes()].concat(),
        b"",
    )
    .await
    .expect("an extra by_year entry went unnoticed");
    assert_eq!(broken.tree, "by_year", "{broken}");
    assert_eq!(broken.key, format!("2022 · {county}"), "{broken}");
    assert_eq!(broken.subject, report_name(&county, 2022), "{broken}");
    // A report listed in a state it is not in (the county's 2024 report is
    // approved, state 3), under an area that is above it.
    let broken = with_extra(
        &mut f.store,
        "area_state",
        &[
            province.as_bytes(),
            &[2],
            &2024u16.to_be_bytes(),
            county.as_bytes(),
        ]
        .concat(),
        b"",
    )
    .await
    .expect("an extra area_state entry went unnoticed");
    assert_eq!(broken.tree, "area_state", "{broken}");
    assert_eq!(
        broken.key,
        format!("{province} · submitted · 2024 · {county}"),
        "{broken}"
    );
    assert_eq!(broken.subject, report_name(&county, 2024), "{broken}");
    assert!(broken.detail.contains("approved"), "{broken}");
    assert_eq!(verify(&mut f.store).await, None, "every edit was undone");
}

/// Every entry of every tree derived from the chain, removed, is found in
/// that tree; so is one entry too many of each index.
async fn every_derived_entry_removed_or_one_too_many_is_found(engine: Engine) {
    let mut f = fixture(engine).await;
    let raw = f.store.dump().await;
    let mut checked = 0;
    for tree in [
        "children",
        "by_year",
        "by_state",
        "area_year",
        "area_state",
        "requests",
        "event_hashes",
    ] {
        for key in raw[tree.as_bytes()].keys() {
            let broken = with_edit(&mut f.store, tree, key, |_| None)
                .await
                .unwrap_or_else(|| panic!("{tree} {}: removed unnoticed", hex::encode(key)));
            // An event's hash is read with its event.
            let named = if tree == "event_hashes" {
                "events"
            } else {
                tree
            };
            assert_eq!(broken.tree, named, "{tree}: {broken}");
            assert!(!broken.subject.is_empty(), "{tree}: {broken}");
            checked += 1;
        }
    }
    // 3 edges, 3 reports in by_year and by_state, 3 + 3 + 2 area entries
    // in each area index, 17 request records and event hashes.
    assert_eq!(checked, 3 + 3 + 3 + 8 + 8 + 17 + 17);
    // An index entry of a report of an agency under no one, in each index.
    let stranger = uscc(99);
    let y = 2024u16.to_be_bytes();
    let [province, ..] = codes();
    for (tree, key) in [
        (
            "children",
            [province.as_bytes(), stranger.as_bytes()].concat(),
        ),
        ("by_year", [&y[..], stranger.as_bytes()].concat()),
        ("by_state", key3(&[1], &y, stranger.as_bytes())),
        (
            "area_year",
            key3(province.as_bytes(), &y, stranger.as_bytes()),
        ),
        (
            "area_state",
            [province.as_bytes(), &[1], &y, stranger.as_bytes()].concat(),
        ),
    ] {
        let broken = with_extra(&mut f.store, tree, &key, b"")
            .await
            .unwrap_or_else(|| panic!("an extra {tree} entry went unnoticed"));
        assert_eq!(broken.tree, tree, "{broken}");
        assert!(broken.key.contains(&stranger), "{broken}");
        assert!(broken.subject.contains(&stranger), "{broken}");
    }
    // The agency count.
    let broken = with_edit(&mut f.store, "meta", b"agency_count", |_| {
        Some(5u64.to_be_bytes().to_vec())
    })
    .await
    .expect("a wrong agency count went unnoticed");
    assert_eq!((broken.tree, broken.key.as_str()), ("meta", "agency_count"));
    assert_eq!(verify(&mut f.store).await, None, "every edit was undone");
}
