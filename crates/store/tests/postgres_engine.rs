//! The PostgreSQL engine against a real PostgreSQL (the test kit's, never a
//! mock): every tree round-trips with its readable columns; scans page as
//! sled's do; a transaction sees its own writes and writes nothing when
//! refused; writers of two pools take turns on the audit chain; failures
//! are retried within a bound; migrations may race; and the engine follows
//! its database through a crash, a failover and TLS.

mod common;
mod store_fixture;

use std::{
    collections::BTreeSet,
    ops::Bound,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use gongkai_proto::{
    store_v1::{AreaSum, AuditHead, IdempotencyRecord, ReportHead},
    v1::{Agency, AuditEvent, ReportRevision},
};
use gongkai_store::{
    StoreError,
    postgres::{PgEngine, PgOptions, RetryPolicy, SslMode, Tree},
};
use gongkai_testkit::{Cluster, Options, Pki};
use prost::{Message, bytes::Bytes};
use sha2::{Digest, Sha256};
use tokio_postgres::NoTls;

type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// The format byte this build writes before each value's protobuf.
fn tag() -> u8 {
    u8::try_from(gongkai_store::STORE_FORMAT).unwrap()
}

/// A stored value: the format byte, then protobuf (codec.rs).
fn stored<M: Message>(m: &M) -> Vec<u8> {
    let mut v = vec![tag()];
    m.encode(&mut v).unwrap();
    v
}

fn decoded<M: Message + Default>(v: &[u8]) -> M {
    // Every format this build reads: the migration seeds the chain head in format 1.
    assert!((1..=tag()).contains(&v[0]), "format byte {}", v[0]);
    M::decode(&v[1..]).unwrap()
}

fn owned(rows: Vec<(Bytes, Bytes)>) -> Rows {
    rows.into_iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect()
}

/// An empty database of its own on the shared server.
async fn fresh_database() -> String {
    tokio::task::spawn_blocking(|| gongkai_testkit::shared().fresh_database().unwrap())
        .await
        .unwrap()
}

/// A migrated database of its own, and an engine on it.
async fn engine_with(options: &PgOptions) -> (PgEngine, String) {
    let url = fresh_database().await;
    let engine = PgEngine::open(&url, options).unwrap();
    engine.migrate().await.unwrap();
    (engine, url)
}

async fn engine() -> (PgEngine, String) {
    engine_with(&PgOptions::default()).await
}

/// A plain connection, for what the test itself asks of the server.
async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Each row of `sql`'s one text column.
async fn texts(c: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    c.query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

/// An idempotency record: a row of `requests`, whose key may be any bytes.
fn request(revision: u32) -> Vec<u8> {
    stored(&IdempotencyRecord {
        resource: "agencies/11330700099033995K".into(),
        revision,
        ..IdempotencyRecord::default()
    })
}

fn revision_of(value: &[u8]) -> u32 {
    decoded::<IdempotencyRecord>(value).revision
}

/// Writes `rows` into `tree` in one transaction.
async fn put_all(engine: &PgEngine, tree: Tree, rows: &[(Vec<u8>, Vec<u8>)]) {
    engine
        .transaction(|tx| {
            Box::pin(async move {
                for (k, v) in rows {
                    tx.put(tree, k, v.clone());
                }
                Ok(())
            })
        })
        .await
        .unwrap();
}

fn retry(attempts: u32) -> PgOptions {
    PgOptions {
        retry: RetryPolicy {
            attempts,
            total: Duration::from_secs(30),
            first_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(20),
        },
        ..PgOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tree_round_trips_with_its_readable_columns() {
    // Real values of every tree: a sled store's history, read back raw.
    let dir = tempfile::tempdir().unwrap();
    let history = {
        let store = common::open(dir.path());
        store_fixture::build_history(&store).await
    };
    let dump = common::dump(dir.path());
    let tree_rows = |tree: Tree| -> Rows {
        dump[tree.name().as_bytes()]
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    for tree in Tree::ALL {
        assert!(!tree_rows(tree).is_empty(), "{tree:?} is exercised");
    }
    let (engine, url) = engine().await;
    let all: Vec<(Tree, Rows)> = Tree::ALL.iter().map(|&t| (t, tree_rows(t))).collect();
    let all = &all;
    engine
        .transaction(|tx| {
            Box::pin(async move {
                for (tree, rows) in all {
                    for (k, v) in rows {
                        tx.put(*tree, k, v.clone());
                    }
                }
                Ok(())
            })
        })
        .await
        .unwrap();
    for (tree, rows) in all {
        let got = owned(engine.scan(*tree, b"", None, 1_000_000).await.unwrap());
        assert_eq!(&got, rows, "{tree:?}: every key and value, in sled's order");
        for (k, v) in rows {
            assert_eq!(
                engine.get(*tree, k).await.unwrap().as_deref(),
                Some(v.as_slice())
            );
        }
    }

    // The readable columns, from the keys and values as the store defines them.
    let c = raw(&url).await;
    let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
    let year = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]).to_string();
    let u32_at = |b: &[u8]| u32::from_be_bytes(b[..4].try_into().unwrap());
    let state = |s: i32| ["unspecified", "draft", "submitted", "approved", "returned"][s as usize];
    let micros = |t: Option<prost_types::Timestamp>| {
        let t = t.unwrap();
        (t.seconds * 1_000_000 + i64::from(t.nanos) / 1000).to_string()
    };
    let sup = |a: &Agency| {
        a.supervisor
            .strip_prefix("agencies/")
            .map_or("-".to_owned(), str::to_owned)
    };
    let table = |t: &'static str, cols: &'static str| {
        let c = &c;
        async move {
            texts(
                c,
                &format!("SELECT concat_ws('|', {cols}) FROM {t} ORDER BY key"),
            )
            .await
        }
    };
    let map = |tree: Tree, f: &dyn Fn(&[u8], &[u8]) -> String| -> Vec<String> {
        tree_rows(tree).iter().map(|(k, v)| f(k, v)).collect()
    };

    let head: AuditHead = decoded(&dump[b"meta".as_slice()][b"audit_head".as_slice()]);
    assert_eq!(head.sequence, history.events);
    assert_eq!(
        table(
            "store_meta",
            "name, coalesce(format::text, '-'), coalesce(audit_sequence::text, '-'), \
             coalesce(encode(audit_event_sha256, 'hex'), '-')"
        )
        .await,
        map(Tree::Meta, &|k, v| match k {
            b"audit_head" => format!(
                "audit_head|-|{}|{}",
                history.events,
                hex::encode(&head.event_sha256)
            ),
            b"format" => format!("format|{}|-|-", u32_at(v)),
            other => format!("{}|-|-|-", s(other)),
        })
    );
    assert_eq!(
        table(
            "agencies",
            "uscc, display_name, coalesce(supervisor_uscc, '-'), region_code, version"
        )
        .await,
        map(Tree::Agencies, &|_, v| {
            let a: Agency = decoded(v);
            format!(
                "{}|{}|{}|{}|{}",
                a.uscc,
                a.display_name,
                sup(&a),
                a.region_code,
                a.version
            )
        })
    );
    assert_eq!(
        table(
            "agency_versions",
            "uscc, version, display_name, coalesce(supervisor_uscc, '-')"
        )
        .await,
        map(Tree::AgencyVersions, &|k, v| {
            let a: Agency = decoded(v);
            format!(
                "{}|{}|{}|{}",
                s(&k[..18]),
                u32_at(&k[18..]),
                a.display_name,
                sup(&a)
            )
        })
    );
    assert_eq!(
        table("supervision", "supervisor_uscc, agency_uscc").await,
        map(Tree::Children, &|k, _| format!(
            "{}|{}",
            s(&k[..18]),
            s(&k[18..])
        ))
    );
    assert_eq!(
        table(
            "reports",
            "uscc, year, latest_revision, latest_state, approved_revision"
        )
        .await,
        map(Tree::Heads, &|k, v| {
            let h: ReportHead = decoded(v);
            format!(
                "{}|{}|{}|{}|{}",
                s(&k[..18]),
                year(&k[18..]),
                h.latest_revision,
                state(h.latest_state),
                h.approved_revision
            )
        })
    );
    assert_eq!(
        table(
            "report_revisions",
            "uscc, year, revision, state, author, request_id, previous_revision, \
             ruleset_version, (extract(epoch FROM created_at) * 1000000)::bigint"
        )
        .await,
        map(Tree::Revisions, &|k, v| {
            let r: ReportRevision = decoded(v);
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{}|{}",
                s(&k[..18]),
                year(&k[18..20]),
                u32_at(&k[20..]),
                state(r.state),
                r.author,
                r.request_id,
                r.previous_revision,
                r.ruleset_version,
                micros(r.create_time)
            )
        })
    );
    assert_eq!(
        table("reports_by_year", "year, uscc").await,
        map(Tree::ByYear, &|k, _| format!("{}|{}", year(k), s(&k[2..])))
    );
    assert_eq!(
        table("reports_by_state", "state, year, uscc").await,
        map(Tree::ByState, &|k, _| format!(
            "{}|{}|{}",
            state(i32::from(k[0])),
            year(&k[1..]),
            s(&k[3..])
        ))
    );
    assert_eq!(
        table("area_reports", "area_uscc, year, uscc").await,
        map(Tree::AreaYear, &|k, _| format!(
            "{}|{}|{}",
            s(&k[..18]),
            year(&k[18..]),
            s(&k[20..])
        ))
    );
    assert_eq!(
        table("area_reports_by_state", "area_uscc, state, year, uscc").await,
        map(Tree::AreaState, &|k, _| format!(
            "{}|{}|{}|{}",
            s(&k[..18]),
            state(i32::from(k[18])),
            year(&k[19..]),
            s(&k[21..])
        ))
    );
    assert_eq!(
        table(
            "audit_events",
            "sequence, principal, action, resource, revision, request_id, \
             (extract(epoch FROM time) * 1000000)::bigint"
        )
        .await,
        map(Tree::Events, &|_, v| {
            let e: AuditEvent = decoded(v);
            format!(
                "{}|{}|{}|{}|{}|{}|{}",
                e.sequence,
                e.principal,
                e.action()
                    .as_str_name()
                    .trim_start_matches("AUDIT_ACTION_")
                    .to_lowercase(),
                e.resource,
                e.revision,
                e.request_id,
                micros(e.time)
            )
        })
    );
    assert_eq!(
        table("audit_event_hashes", "sequence").await,
        (1..=history.events)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        table(
            "requests",
            "coalesce(principal, '-'), coalesce(request_id, '-'), resource, revision, event_sequence"
        )
        .await,
        map(Tree::Requests, &|k, v| {
            let r: IdempotencyRecord = decoded(v);
            let (principal, id) = std::str::from_utf8(k).unwrap().split_once('/').unwrap();
            format!(
                "{principal}|{id}|{}|{}|{}",
                r.resource, r.revision, r.event_sequence
            )
        })
    );
    assert_eq!(
        table("area_sums", "area_uscc, year, agencies, other_format").await,
        map(Tree::AreaSums, &|k, v| {
            let a: AreaSum = decoded(v);
            format!(
                "{}|{}|{}|{}",
                s(&k[..18]),
                year(&k[18..]),
                a.agencies,
                a.other_format
            )
        })
    );
    // What an operator reads, spelled out once.
    let county = &history.agencies[2];
    assert_eq!(
        texts(
            &c,
            &format!(
                "SELECT state FROM report_revisions WHERE uscc = '{county}' AND year = 2023 \
                 ORDER BY revision"
            )
        )
        .await,
        [
            "draft",
            "submitted",
            "returned",
            "draft",
            "submitted",
            "approved",
            "draft"
        ]
    );
    assert_eq!(
        texts(
            &c,
            "SELECT action FROM audit_events ORDER BY sequence LIMIT 2"
        )
        .await,
        ["agency_registered", "agency_registered"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_page_in_bytewise_order_as_sled_does() {
    let (engine, _) = engine().await;
    let mut keys: BTreeSet<Vec<u8>> = [
        &[0x00][..],
        &[0x00, 0x00],
        &[0x7f],
        &[0x7f, 0xff],
        &[0x80],
        &[0x80, 0x00],
        &[0x80, 0x01],
        &[0xfe, 0xff],
        &[0xff],
        &[0xff, 0x00],
        &[0xff, 0xff],
        &[0xff, 0xff, 0xff],
        b"a/b",
        "张三/r1".as_bytes(),
        "张三/r2".as_bytes(),
        "张四/r1".as_bytes(),
        "é".as_bytes(),
    ]
    .iter()
    .map(|k| k.to_vec())
    .collect();
    // And bytes of every size from a fixed generator.
    let mut x: u32 = 2024;
    let mut next = || {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (x >> 16) as u8
    };
    for _ in 0..200 {
        let len = 1 + usize::from(next() % 4);
        keys.insert((0..len).map(|_| next()).collect());
    }
    let rows: Rows = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.clone(), request(i as u32)))
        .collect();
    put_all(&engine, Tree::Requests, &rows).await;
    let sled = sled::Config::new().temporary(true).open().unwrap();
    let tree = sled.open_tree("requests").unwrap();
    for (k, v) in &rows {
        tree.insert(k, v.as_slice()).unwrap();
    }
    // SledStore::scan's walk: after the cursor, else from the prefix.
    let sled_page = |prefix: &[u8], after: Option<&[u8]>, limit: usize| -> Rows {
        let iter = match after {
            Some(a) => tree.range::<&[u8], _>((Bound::Excluded(a), Bound::Unbounded)),
            None => tree.range(prefix..),
        };
        iter.map(|kv| kv.unwrap())
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .collect()
    };
    let prefixes: [&[u8]; 9] = [
        b"",
        &[0x00],
        &[0x7f],
        &[0x80],
        &[0xfe],
        &[0xff],
        &[0xff, 0xff],
        "张".as_bytes(),
        &[0xe5],
    ];
    for prefix in prefixes {
        let everything = sled_page(prefix, None, usize::MAX);
        for limit in [1, 3, 7, 1000] {
            let mut after: Option<Vec<u8>> = None;
            let mut walked = Vec::new();
            loop {
                let page = owned(
                    engine
                        .scan(Tree::Requests, prefix, after.as_deref(), limit)
                        .await
                        .unwrap(),
                );
                assert_eq!(
                    page,
                    sled_page(prefix, after.as_deref(), limit),
                    "prefix {prefix:x?} after {after:x?} limit {limit}"
                );
                walked.extend(page.iter().cloned());
                if page.len() < limit {
                    break;
                }
                after = page.last().map(|(k, _)| k.clone());
            }
            assert_eq!(walked, everything, "prefix {prefix:x?} limit {limit}");
        }
        // A cursor that is no stored key.
        let cursor = [prefix, &[0x80]].concat();
        assert_eq!(
            owned(
                engine
                    .scan(Tree::Requests, prefix, Some(&cursor), 5)
                    .await
                    .unwrap()
            ),
            sled_page(prefix, Some(&cursor), 5)
        );
    }
    // Revision numbers past 2³¹ sort after the others, as big-endian bytes do.
    let uscc = store_fixture::uscc(1);
    let revisions: Rows = [1u32, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff]
        .iter()
        .map(|&n| {
            let key = [uscc.as_bytes(), &2024u16.to_be_bytes(), &n.to_be_bytes()].concat();
            (key, stored(&ReportRevision::default()))
        })
        .collect();
    put_all(&engine, Tree::Revisions, &revisions).await;
    let got = owned(
        engine
            .scan(Tree::Revisions, uscc.as_bytes(), None, 10)
            .await
            .unwrap(),
    );
    assert_eq!(got, revisions);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_reads_its_own_writes_and_others_see_them_only_committed() {
    let (engine, _) = engine().await;
    let key = |n: u32| format!("p/r{n:02}").into_bytes();
    let stored_rows: Rows = (1..=10).map(|n| (key(n), request(n))).collect();
    put_all(&engine, Tree::Requests, &stored_rows).await;
    let engine = &engine;
    let seen = engine
        .transaction(|tx| {
            Box::pin(async move {
                for n in 1..=6 {
                    tx.delete(Tree::Requests, key(n));
                }
                tx.put(Tree::Requests, key(8), request(80));
                tx.put(Tree::Requests, key(11), request(11));
                tx.put(Tree::Requests, key(0), request(0));
                // Put then delete, delete then put: the last word counts.
                tx.put(Tree::Requests, key(12), request(12));
                tx.delete(Tree::Requests, key(12));
                tx.delete(Tree::Requests, key(9));
                tx.put(Tree::Requests, key(9), request(90));
                assert_eq!(tx.staged(), 11);

                let t = &*tx;
                let get = |n| {
                    let k = key(n);
                    async move { t.get(Tree::Requests, &k).await }
                };
                assert_eq!(get(3).await?, None, "deleted here");
                assert_eq!(get(8).await?.map(|v| revision_of(&v)), Some(80));
                assert_eq!(get(9).await?.map(|v| revision_of(&v)), Some(90));
                assert_eq!(get(10).await?.map(|v| revision_of(&v)), Some(10));
                assert_eq!(get(11).await?.map(|v| revision_of(&v)), Some(11));
                assert_eq!(get(12).await?, None);
                let revs = |rows: Vec<(Bytes, Bytes)>| -> Vec<u32> {
                    rows.iter().map(|(_, v)| revision_of(v)).collect()
                };
                // Six stored rows are deleted ahead of the page: still full.
                assert_eq!(
                    revs(tx.scan(Tree::Requests, b"p/", None, 3).await?),
                    [0, 7, 80]
                );
                assert_eq!(
                    revs(tx.scan(Tree::Requests, b"p/", Some(&key(8)), 10).await?),
                    [90, 10, 11]
                );
                let all = revs(tx.scan(Tree::Requests, b"p/", None, 100).await?);
                assert_eq!(all, [0, 7, 80, 90, 10, 11]);
                // Another connection sees none of it before the commit.
                assert_eq!(engine.get(Tree::Requests, &key(0)).await?, None);
                assert!(engine.get(Tree::Requests, &key(1)).await?.is_some());
                Ok(all)
            })
        })
        .await
        .unwrap();
    let after: Vec<u32> = engine
        .scan(Tree::Requests, b"p/", None, 100)
        .await
        .unwrap()
        .iter()
        .map(|(_, v)| revision_of(v))
        .collect();
    assert_eq!(after, seen, "committed as the transaction saw it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_or_unexplainable_write_writes_nothing() {
    let (engine, _) = engine().await;
    let runs = AtomicU32::new(0);
    let runs = &runs;
    let refused = engine
        .transaction(|tx| {
            Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tx.put(Tree::Requests, b"p/refused", request(1));
                Err::<(), _>(StoreError::Conflict {
                    resource: "agencies/11330700099033995K/reports/2024".into(),
                    expected: 1,
                    actual: 2,
                })
            })
        })
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict {
                expected: 1,
                actual: 2,
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1, "a refusal is not retried");
    assert_eq!(
        engine.get(Tree::Requests, b"p/refused").await.unwrap(),
        None
    );

    // A row whose readable columns cannot be made (an agency key of the
    // wrong shape): named, and the good row beside it is not written either.
    let bad = engine
        .transaction(|tx| {
            Box::pin(async move {
                tx.put(Tree::Requests, b"p/good", request(1));
                tx.put(Tree::Agencies, b"short", stored(&Agency::default()));
                Ok(())
            })
        })
        .await;
    match bad {
        Err(StoreError::Corrupt { tree, key, .. }) => {
            assert_eq!(
                (tree, key.as_str()),
                ("agencies", hex::encode("short").as_str())
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(engine.get(Tree::Requests, b"p/good").await.unwrap(), None);
    assert_eq!(engine.get(Tree::Agencies, b"short").await.unwrap(), None);
}

/// Appends one event to a toy chain through `tx`: reads the head, writes
/// event `head + 1` linked to it, its hash, and the new head.
async fn append_event(
    tx: &mut gongkai_store::postgres::PgTx<'_>,
    who: &str,
) -> gongkai_store::Result<u64> {
    let head: AuditHead = decoded(&tx.get(Tree::Meta, b"audit_head").await?.unwrap());
    let sequence = head.sequence + 1;
    let previous = if head.event_sha256.is_empty() {
        vec![0; 32]
    } else {
        head.event_sha256
    };
    let event = stored(&AuditEvent {
        sequence,
        principal: who.into(),
        resource: "agencies/11330700099033995K".into(),
        previous_event_sha256: previous,
        request_id: format!("{who}-{sequence}"),
        ..AuditEvent::default()
    });
    let sha = Sha256::digest(&event).to_vec();
    tx.put(Tree::Events, sequence.to_be_bytes(), event);
    tx.put(Tree::EventHashes, sequence.to_be_bytes(), sha.clone());
    tx.put(
        Tree::Meta,
        b"audit_head",
        stored(&AuditHead {
            sequence,
            event_sha256: sha,
        }),
    );
    Ok(sequence)
}

/// The toy chain is whole: events 1..=n, each linked to the one before,
/// and the head names the last.
async fn assert_chain(engine: &PgEngine, n: u64) {
    let events = engine.scan(Tree::Events, b"", None, 100_000).await.unwrap();
    assert_eq!(events.len() as u64, n);
    let mut previous = vec![0u8; 32];
    for (i, (k, v)) in events.iter().enumerate() {
        let e: AuditEvent = decoded(v);
        assert_eq!(e.sequence, i as u64 + 1);
        assert_eq!(k.as_ref(), e.sequence.to_be_bytes());
        assert_eq!(
            e.previous_event_sha256, previous,
            "event {} links",
            e.sequence
        );
        previous = Sha256::digest(v).to_vec();
        let hash = engine.get(Tree::EventHashes, k).await.unwrap().unwrap();
        assert_eq!(hash.as_ref(), previous.as_slice());
    }
    let head: AuditHead = decoded(
        &engine
            .get(Tree::Meta, b"audit_head")
            .await
            .unwrap()
            .unwrap(),
    );
    assert_eq!((head.sequence, head.event_sha256), (n, previous));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pools_writing_at_once_take_turns_on_the_chain() {
    let (first, url) = engine().await;
    // A second pool, as a second replica would have.
    let second = PgEngine::open(&url, &PgOptions::default()).unwrap();
    let engines = Arc::new([first, second]);
    let inside = Arc::new(AtomicBool::new(false));
    let overlaps = Arc::new(AtomicU32::new(0));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (engines, inside, overlaps) = (engines.clone(), inside.clone(), overlaps.clone());
        writers.push(tokio::spawn(async move {
            let engine = &engines[w % 2];
            let who = format!("writer{w}");
            for _ in 0..10 {
                let (inside, overlaps, who) = (&inside, &overlaps, &who);
                engine
                    .transaction(|tx| {
                        Box::pin(async move {
                            if inside.swap(true, Ordering::SeqCst) {
                                overlaps.fetch_add(1, Ordering::SeqCst);
                            }
                            // A round trip and a yield while holding the lock.
                            tx.get(Tree::Agencies, b"11330700099033995K").await?;
                            tokio::task::yield_now().await;
                            let n = append_event(tx, who).await;
                            inside.store(false, Ordering::SeqCst);
                            n
                        })
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(
        overlaps.load(Ordering::SeqCst),
        0,
        "no transaction ran while another held the chain"
    );
    assert_chain(&engines[0], 80).await;
}

/// Makes every statement inserting into `requests` fail with SQLSTATE
/// 40001 (serialization_failure), raised by the server itself, its first
/// `times` times.
async fn provoke_serialization_failures(url: &str, times: u64) {
    raw(url)
        .await
        .batch_execute(&format!(
            "CREATE SEQUENCE provoked;
             CREATE FUNCTION provoke() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF nextval('provoked') <= {times} THEN
                     RAISE EXCEPTION 'provoked' USING ERRCODE = 'serialization_failure';
                 END IF;
                 RETURN NULL;
             END $$;
             CREATE TRIGGER provoke BEFORE INSERT ON requests
                 FOR EACH STATEMENT EXECUTE FUNCTION provoke();"
        ))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serialization_failure_is_retried_and_the_retries_are_bounded() {
    let (engine, url) = engine_with(&retry(3)).await;
    provoke_serialization_failures(&url, 1).await;
    let runs = AtomicU32::new(0);
    let runs = &runs;
    engine
        .transaction(|tx| {
            Box::pin(async move {
                let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                tx.put(Tree::Requests, b"p/once", request(n));
                Ok(())
            })
        })
        .await
        .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2, "the closure ran again");
    let v = engine
        .get(Tree::Requests, b"p/once")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revision_of(&v), 2, "the second run's write");

    // Failing every time: three tries, then UNAVAILABLE, nothing written.
    let (engine, url) = engine_with(&retry(3)).await;
    provoke_serialization_failures(&url, u64::MAX >> 2).await;
    runs.store(0, Ordering::SeqCst);
    let out = engine
        .transaction(|tx| {
            Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tx.put(Tree::Requests, b"p/never", request(1));
                Ok(())
            })
        })
        .await;
    match out {
        Err(StoreError::Unavailable(m)) => {
            assert!(m.contains("3 tries") && m.contains("40001"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert_eq!(engine.get(Tree::Requests, b"p/never").await.unwrap(), None);
}

/// Deadlocks PostgreSQL has found in the database.
async fn deadlocks(c: &tokio_postgres::Client) -> i64 {
    c.query_one(
        "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_is_retried() {
    let url = fresh_database().await;
    // The engine's sessions detect a deadlock fast; the other one waits long,
    // so the engine's transaction is the one PostgreSQL picks to abort.
    raw(&url)
        .await
        .batch_execute(&format!(
            "ALTER DATABASE {} SET deadlock_timeout = '20ms'",
            url.rsplit('/').next().unwrap()
        ))
        .await
        .unwrap();
    let engine = PgEngine::open(&url, &retry(10)).unwrap();
    engine.migrate().await.unwrap();
    put_all(&engine, Tree::Requests, &[(b"p/x".to_vec(), request(0))]).await;
    let observer = raw(&url).await;
    let before = deadlocks(&observer).await;

    // The other session holds row p/x, and will ask for the chain's lock.
    let other = raw(&url).await;
    other
        .batch_execute(
            "SET deadlock_timeout = '10s'; BEGIN; \
             SELECT 1 FROM requests WHERE key = 'p/x'::bytea FOR UPDATE",
        )
        .await
        .unwrap();
    let other_pid: i32 = other
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let other_done = Arc::new(AtomicBool::new(false));
    let (go, ready) = tokio::sync::oneshot::channel::<()>();
    let other_side = {
        let done = other_done.clone();
        tokio::spawn(async move {
            ready.await.unwrap();
            // Waits for the engine's transaction, which holds the chain.
            other
                .batch_execute(
                    "SELECT 1 FROM store_meta WHERE key = 'audit_head'::bytea FOR UPDATE",
                )
                .await
                .unwrap();
            done.store(true, Ordering::SeqCst);
            other.batch_execute("ROLLBACK").await.unwrap();
        })
    };
    let go = std::sync::Mutex::new(Some(go));
    let runs = AtomicU32::new(0);
    let (go, runs, observer, other_done) = (&go, &runs, &observer, &*other_done);
    engine
        .transaction(|tx| {
            Box::pin(async move {
                let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                let go = go.lock().unwrap().take();
                if let Some(go) = go {
                    go.send(()).unwrap();
                }
                // Until the other session waits for this transaction (the
                // chain's lock), unless it has had the lock already …
                let start = Instant::now();
                while !other_done.load(Ordering::SeqCst) {
                    let blocked: bool = observer
                        .query_one(
                            "SELECT cardinality(pg_blocking_pids($1)) > 0",
                            &[&other_pid],
                        )
                        .await
                        .unwrap()
                        .get(0);
                    if blocked {
                        break;
                    }
                    assert!(start.elapsed() < Duration::from_secs(10));
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                // … then write the row it holds: each waits for the other,
                // until PostgreSQL aborts this transaction (20 ms).
                tx.put(Tree::Requests, b"p/x", request(n));
                Ok(())
            })
        })
        .await
        .unwrap();
    other_side.await.unwrap();
    // Usually one deadlock; another run may win the chain's lock before the
    // other session and deadlock again. Each failed run was a deadlock.
    let runs = runs.load(Ordering::SeqCst);
    assert!(runs >= 2, "the closure ran again");
    let v = engine.get(Tree::Requests, b"p/x").await.unwrap().unwrap();
    assert_eq!(revision_of(&v), runs, "the last run's write");
    // A backend reports its statistics when it ends (or idle, after a
    // while), so close them.
    drop(engine);
    let start = Instant::now();
    loop {
        observer
            .batch_execute("SELECT pg_stat_clear_snapshot()")
            .await
            .unwrap();
        let found = deadlocks(observer).await - before;
        if found == i64::from(runs) - 1 {
            break;
        }
        assert!(
            found < i64::from(runs) && start.elapsed() < Duration::from_secs(20),
            "PostgreSQL found {found} deadlocks in {runs} runs"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_is_retried() {
    let (engine, url) = engine_with(&retry(5)).await;
    let observer = raw(&url).await;
    let runs = AtomicU32::new(0);
    let (runs, observer) = (&runs, &observer);
    engine
        .transaction(|tx| {
            Box::pin(async move {
                let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                if n == 1 {
                    // The engine's connections (named gongkai) are cut.
                    let cut: i64 = observer
                        .query_one(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                             WHERE datname = current_database() AND application_name = 'gongkai'",
                            &[],
                        )
                        .await
                        .unwrap()
                        .get(0);
                    assert!(cut >= 1);
                }
                tx.put(Tree::Requests, b"p/cut", request(n));
                Ok(())
            })
        })
        .await
        .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let v = engine.get(Tree::Requests, b"p/cut").await.unwrap().unwrap();
    assert_eq!(revision_of(&v), 2);
}

/// What the [`CommitCutter`] does to the next `COMMIT` it sees.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Cut {
    /// Passes everything.
    Nothing,
    /// Lets the server commit, then closes the connection before the
    /// client hears so: the commit happened, its answer is lost.
    Answer,
    /// Closes the connection before the server receives the `COMMIT` (and
    /// the writes pipelined with it): nothing happened.
    Commit,
}

/// A TCP proxy in front of PostgreSQL that cuts one connection at a
/// transaction's `COMMIT`, as a primary killed at that moment would, but
/// exactly where the test says.
struct CommitCutter {
    port: u16,
    cut: Arc<std::sync::Mutex<Cut>>,
}

/// The simple-protocol `COMMIT` the engine sends last in its burst, and
/// the server's CommandComplete for it.
const COMMIT_QUERY: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";
const COMMIT_DONE: &[u8] = b"C\0\0\0\x0bCOMMIT\0";

fn holds(window: &[u8], needle: &[u8]) -> bool {
    window.windows(needle.len()).any(|w| w == needle)
}

impl CommitCutter {
    async fn start(upstream: (&'static str, u16)) -> CommitCutter {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(std::sync::Mutex::new(Cut::Nothing));
        let armed = cut.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let (mut client_in, mut client_out) = client.into_split();
                let (mut server_in, mut server_out) = server.into_split();
                let cut = armed.clone();
                // Set when the COMMIT whose answer is to be swallowed went up.
                let lost = Arc::new(AtomicBool::new(false));
                let swallow = lost.clone();
                // Up: a return drops `server_out`; the server reads the end
                // of the stream only after what came before it, COMMIT
                // included, and then closes its side.
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut tail = Vec::new();
                    loop {
                        let n = match client_in.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        tail.extend_from_slice(&buf[..n]);
                        let what = {
                            let mut c = cut.lock().unwrap();
                            let what = *c;
                            if what != Cut::Nothing && holds(&tail, COMMIT_QUERY) {
                                *c = Cut::Nothing;
                                what
                            } else {
                                Cut::Nothing
                            }
                        };
                        // Kept: what may begin a COMMIT split across reads,
                        // never a whole one already seen.
                        let keep = tail.len().saturating_sub(COMMIT_QUERY.len() - 1);
                        tail.drain(..keep);
                        if what == Cut::Commit {
                            return;
                        }
                        if what == Cut::Answer {
                            lost.store(true, Ordering::SeqCst);
                        }
                        if server_out.write_all(&buf[..n]).await.is_err() || what == Cut::Answer {
                            return;
                        }
                    }
                });
                // Down: ends when the server closes, or once the swallowed
                // COMMIT's answer came; dropping `client_out` then tells
                // the client the connection is gone.
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut tail = Vec::new();
                    loop {
                        let n = match server_in.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if swallow.load(Ordering::SeqCst) {
                            tail.extend_from_slice(&buf[..n]);
                            if holds(&tail, COMMIT_DONE) {
                                return;
                            }
                        } else if client_out.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        CommitCutter { port, cut }
    }

    fn arm(&self, cut: Cut) {
        *self.cut.lock().unwrap() = cut;
    }

    fn armed(&self) -> Cut {
        *self.cut.lock().unwrap()
    }
}

/// The URL's port replaced by `port`.
fn via(url: &str, port: u16) -> String {
    let at = url.rfind(':').unwrap();
    let slash = url[at..].find('/').unwrap() + at;
    format!("{}:{port}{}", &url[..at], &url[slash..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_was_lost_is_not_run_twice() {
    let url = fresh_database().await;
    let server = gongkai_testkit::shared();
    let cutter = CommitCutter::start((server.host(), server.port())).await;
    let engine = PgEngine::open(&via(&url, cutter.port), &retry(5)).unwrap();
    engine.migrate().await.unwrap();
    let runs = AtomicU32::new(0);
    let runs = &runs;
    let append = |who: &'static str| {
        engine.transaction(move |tx| {
            runs.fetch_add(1, Ordering::SeqCst);
            Box::pin(append_event(tx, who))
        })
    };
    assert_eq!(append("before").await.unwrap(), 1);

    // The commit happens; its answer is lost. Without a look at the
    // chain head first, the retry would append the event a second time.
    cutter.arm(Cut::Answer);
    runs.store(0, Ordering::SeqCst);
    assert_eq!(append("answer lost").await.unwrap(), 2);
    assert_eq!(cutter.armed(), Cut::Nothing, "the cut happened");
    assert_eq!(runs.load(Ordering::SeqCst), 1, "run once");
    assert_chain(&engine, 2).await;

    // The commit never reaches the server: the next try runs it again.
    cutter.arm(Cut::Commit);
    runs.store(0, Ordering::SeqCst);
    assert_eq!(append("commit lost").await.unwrap(), 3);
    assert_eq!(cutter.armed(), Cut::Nothing, "the cut happened");
    assert_eq!(runs.load(Ordering::SeqCst), 2, "run again");
    assert_chain(&engine, 3).await;
    let who: Vec<String> = engine
        .scan(Tree::Events, b"", None, 10)
        .await
        .unwrap()
        .iter()
        .map(|(_, v)| decoded::<AuditEvent>(v).principal)
        .collect();
    assert_eq!(who, ["before", "answer lost", "commit lost"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_given_up_midway_holds_no_lock() {
    let (engine, url) = engine_with(&PgOptions {
        max_connections: 2,
        ..retry(3)
    })
    .await;
    let stuck = tokio::time::timeout(
        Duration::from_millis(300),
        engine.transaction(|tx| {
            Box::pin(async move {
                tx.put(Tree::Requests, b"p/stuck", request(1));
                std::future::pending::<()>().await;
                Ok(())
            })
        }),
    )
    .await;
    assert!(stuck.is_err(), "the caller gave up");
    // Its connection, inside BEGIN and holding the chain, was closed, not
    // pooled (the server ends the session when it sees the socket close) …
    let observer = raw(&url).await;
    let start = Instant::now();
    loop {
        let open = texts(
            &observer,
            "SELECT count(*)::text FROM pg_stat_activity \
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
        )
        .await;
        if open == ["0"] {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "a session stays open in a transaction"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // … and the next write gets the lock.
    let start = Instant::now();
    put_all(&engine, Tree::Requests, &[(b"p/next".to_vec(), request(2))]).await;
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(engine.get(Tree::Requests, b"p/stuck").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_may_race_and_a_newer_schema_is_refused() {
    let url = fresh_database().await;
    let a = PgEngine::open(&url, &PgOptions::default()).unwrap();
    let b = PgEngine::open(&url, &PgOptions::default()).unwrap();
    // No schema: refused with what to do, for reads and writes alike.
    let e = a.check().await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Schema(m) if m.contains("gongkai migrate")),
        "{e}"
    );
    let e = a
        .transaction(|_tx| Box::pin(async move { Ok(()) }))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Schema(m) if m.contains("migrate")),
        "{e}"
    );

    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let mut froms = [ra.from, rb.from];
    froms.sort();
    assert_eq!(froms, [0, 1], "one applied, the other found it done");
    assert_eq!((ra.to, rb.to), (1, 1));
    assert_eq!(a.check().await.unwrap(), 1);
    let c = raw(&url).await;
    assert_eq!(
        texts(
            &c,
            "SELECT concat_ws('|', version, name) FROM schema_migrations"
        )
        .await,
        ["1|tables"]
    );
    // A third run changes nothing.
    assert_eq!(a.migrate().await.unwrap().from, 1);

    // A newer gongkai migrated this database: refused, never written.
    c.batch_execute(
        "INSERT INTO schema_migrations (version, name, gongkai_version) VALUES (99, 'future', '9.9.9')",
    )
    .await
    .unwrap();
    for e in [a.check().await.unwrap_err(), a.migrate().await.unwrap_err()] {
        assert!(
            matches!(&e, StoreError::Schema(m) if m.contains("version 99") && m.contains("upgrade gongkai")),
            "{e}"
        );
    }
    assert_eq!(
        texts(&c, "SELECT count(*)::text FROM schema_migrations").await,
        ["2"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_follows_the_database_down_and_up_again() {
    let first = tokio::task::spawn_blocking(|| Cluster::start(&Options::default()).unwrap())
        .await
        .unwrap();
    let port = first.port();
    let engine = PgEngine::open(
        &first.url("postgres"),
        &PgOptions {
            ping_timeout: Duration::from_secs(2),
            ..PgOptions::default()
        },
    )
    .unwrap();
    assert!(engine.ping().await);
    first.kill().unwrap();
    // The pooled connection's server process outlives the postmaster by a
    // moment (until it notices): ping turns false once nothing answers.
    let start = Instant::now();
    while engine.ping().await {
        assert!(start.elapsed() < Duration::from_secs(10), "still answering");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A new server answers at the same address.
    let second = tokio::task::spawn_blocking(move || {
        Cluster::start(&Options {
            settings: vec![format!("port = {port}")],
            ..Options::default()
        })
        .unwrap()
    })
    .await
    .unwrap();
    assert!(engine.ping().await, "back");
    drop((first, second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_host_url_follows_a_promoted_standby() {
    let (primary, standby, db) = tokio::task::spawn_blocking(|| {
        let primary = Cluster::start(&Options::default()).unwrap();
        let url = primary.fresh_database().unwrap();
        let standby = primary.standby(true).unwrap();
        (primary, standby, url.rsplit('/').next().unwrap().to_owned())
    })
    .await
    .unwrap();
    let url = format!(
        "postgres://{}@127.0.0.1:{},127.0.0.1:{}/{db}?target_session_attrs=read-write",
        gongkai_testkit::SUPERUSER,
        primary.port(),
        standby.port()
    );
    let engine = PgEngine::open(&url, &PgOptions::default()).unwrap();
    engine.migrate().await.unwrap();
    let one = engine
        .transaction(|tx| Box::pin(append_event(tx, "before")))
        .await
        .unwrap();
    assert_eq!(one, 1);

    primary.kill().unwrap();
    // A write asked for while there is no primary waits for the new one.
    let engine = Arc::new(engine);
    let writer = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .transaction(|tx| Box::pin(append_event(tx, "during")))
                .await
        })
    };
    let standby = tokio::task::spawn_blocking(move || {
        standby.promote().unwrap();
        standby
    })
    .await
    .unwrap();
    assert_eq!(writer.await.unwrap().unwrap(), 2);
    let three = engine
        .transaction(|tx| Box::pin(append_event(tx, "after")))
        .await
        .unwrap();
    assert_eq!(three, 3);
    assert_chain(&engine, 3).await;
    assert!(engine.ping().await);
    // Written on the promoted standby.
    let on_standby = standby
        .psql_in(&standby.url(&db), "SELECT max(sequence) FROM audit_events")
        .unwrap();
    assert_eq!(on_standby, "3");
    drop(primary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_database_is_verified_as_libpq_would() {
    // The server's certificate names localhost only, not 127.0.0.1.
    let server = Pki::new(&["localhost"]).unwrap();
    let stranger = Pki::new(&["localhost"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ca = file("ca.pem", &server.ca);
    let wrong_ca = file("stranger.pem", &stranger.ca);
    let files = dir.path().to_owned();
    let cluster = tokio::task::spawn_blocking(move || Cluster::start_tls(&server, &files).unwrap())
        .await
        .unwrap();
    let port = cluster.port();
    let url = |host: &str, app: &str, params: &str| {
        format!(
            "postgres://{}@{host}:{port}/postgres?application_name={app}&{params}",
            gongkai_testkit::SUPERUSER
        )
    };
    let options = PgOptions {
        retry: RetryPolicy {
            attempts: 2,
            ..RetryPolicy::default()
        },
        ..PgOptions::default()
    };
    // Whether the engine's connections (by application name) use TLS.
    let encrypted = |app: &str| {
        cluster
            .psql(&format!(
                "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                 WHERE a.application_name = '{app}'"
            ))
            .unwrap()
    };

    // verify-full, the CA from the URL, the host the certificate names.
    let full = PgEngine::open(
        &url(
            "localhost",
            "full",
            &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        ),
        &options,
    )
    .unwrap();
    assert_eq!(full.ssl_mode(), SslMode::VerifyFull);
    full.migrate().await.unwrap();
    full.check().await.unwrap();
    put_all(&full, Tree::Requests, &[(b"p/tls".to_vec(), request(7))]).await;
    let v = full.get(Tree::Requests, b"p/tls").await.unwrap().unwrap();
    assert_eq!(revision_of(&v), 7);
    assert_eq!(encrypted("full"), "t");

    // The CA file option, instead of the URL's.
    let by_option = PgEngine::open(
        &url("localhost", "by_option", "sslmode=verify-full"),
        &PgOptions {
            ca_file: Some(ca.clone()),
            ..options.clone()
        },
    )
    .unwrap();
    assert!(by_option.ping().await);

    // verify-full to an address the certificate does not name: refused,
    // at once and saying why; verify-ca accepts it (the chain is good).
    let misnamed = PgEngine::open(
        &url(
            "127.0.0.1",
            "misnamed",
            &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        ),
        &options,
    )
    .unwrap();
    assert!(!misnamed.ping().await);
    let e = misnamed.check().await.unwrap_err().to_string();
    assert!(
        e.contains("invalid peer certificate") && !e.contains("tries"),
        "{e}"
    );
    let chain_only = PgEngine::open(
        &url(
            "127.0.0.1",
            "chain_only",
            &format!("sslmode=verify-ca&sslrootcert={}", ca.display()),
        ),
        &options,
    )
    .unwrap();
    assert_eq!(chain_only.check().await.unwrap(), 1);
    assert_eq!(encrypted("chain_only"), "t");

    // Another CA: refused.
    let stranger_ca = PgEngine::open(
        &url(
            "localhost",
            "stranger",
            &format!("sslmode=verify-ca&sslrootcert={}", wrong_ca.display()),
        ),
        &options,
    )
    .unwrap();
    let e = stranger_ca.check().await.unwrap_err().to_string();
    assert!(e.contains("invalid peer certificate"), "{e}");

    // require: encrypted, not verified (libpq's meaning) …
    let require =
        PgEngine::open(&url("127.0.0.1", "require", "sslmode=require"), &options).unwrap();
    assert_eq!(require.check().await.unwrap(), 1);
    assert_eq!(encrypted("require"), "t");
    // … unless a CA is given: then the chain is verified.
    let require_ca = PgEngine::open(
        &url(
            "127.0.0.1",
            "require_ca",
            &format!("sslrootcert={}&sslmode=require", wrong_ca.display()),
        ),
        &options,
    )
    .unwrap();
    assert_eq!(require_ca.ssl_mode(), SslMode::VerifyCa);
    assert!(!require_ca.ping().await);
    // disable: plain.
    let plain = PgEngine::open(&url("127.0.0.1", "plain", "sslmode=disable"), &options).unwrap();
    assert_eq!(plain.check().await.unwrap(), 1);
    assert_eq!(encrypted("plain"), "f");
}
