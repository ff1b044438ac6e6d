//! Issue 6's goal: the area summary of an area of 10,000 agencies, each with
//! several revisions, in ≤ 50 ms, and not growing with the number of
//! revisions. The store keeps each area's sum up to date in the approval's
//! transaction, so a summary is one read plus the table rules on the sum.
//!
//! One store: a city over 20 counties of 499 departments each (10,000
//! agencies under the city), every agency's 2024 report approved once
//! (revisions: draft, submission, approval = 3 each), measured; then two
//! corrections approved for every agency (9 revisions each, 90,000 in all),
//! measured again. Beside it, the same summary computed from scratch (every
//! approved report of the area read and added) as the baseline the kept
//! sums avoid.
//!
//! ```text
//! cargo bench -p gongkai-store --bench area_summary -- --warm-up-time 1 --measurement-time 3
//! ```
//! `GONGKAI_BENCH_AGENCIES` (default 10000) sets the size; run without
//! `--bench` (as `cargo test --benches` does) it is a smoke run of 200.

use std::{hint::black_box, time::SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use gongkai_domain::{
    Report,
    area::{Sign, accumulate, zero_sum},
    shape::{T3Col, T3Row, Value},
};
use gongkai_proto::v1::{Agency, AgencyKind, AgencyLevel, AnnualReport};
use gongkai_store::{
    Action, Checked, PageRequest, ReportFilter, ReportKey, Store, StoreOptions, WriteMeta, WriteOp,
};
use tokio::runtime::Runtime;

const YEAR: u32 = 2024;
const COUNTIES: u32 = 20;
const WRITERS: usize = 32;

fn uscc(n: u32) -> String {
    let first17 = format!("11230500{n:09}");
    let check = gongkai_domain::ids::uscc_check_character(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

fn meta(id: String) -> WriteMeta {
    WriteMeta {
        request_id: id,
        principal: "bench".into(),
        time: SystemTime::now(),
    }
}

/// A valid 2024 report with `k` applications received and disclosed.
fn report(k: u64) -> AnnualReport {
    let mut r = zero_sum(YEAR);
    if let Some(t3) = r.t3.as_mut() {
        for row in [T3Row::R01, T3Row::R03, T3Row::R24] {
            t3.set(row, T3Col::NaturalPerson, k);
            t3.set(row, T3Col::Total, k);
        }
    }
    let layout = r.format.t2_layout();
    if let (Some(t2), Some(cell)) = (r.t2.as_mut(), layout.cell("fees", "amount")) {
        let fee = format!("{k}.0001").parse().unwrap_or_default();
        t2.set(&cell, Value::Money(fee));
    }
    AnnualReport::from(&r)
}

fn register(store: &Store, code: &str, sup: Option<&str>, kind: AgencyKind) {
    let a = Agency {
        uscc: code.into(),
        display_name: format!("agency {code}"),
        level: AgencyLevel::County.into(),
        kind: kind.into(),
        supervisor: sup.map(|s| format!("agencies/{s}")).unwrap_or_default(),
        ..Agency::default()
    };
    store
        .write(
            meta(format!("reg-{code}")),
            WriteOp::RegisterAgency { agency: a },
        )
        .wait()
        .unwrap();
}

/// Saves a draft of, submits and approves every agency's report: three
/// revisions each.
fn approve_all(rt: &Runtime, store: &Store, agencies: &[String], round: u32) {
    let tasks: Vec<_> = agencies
        .chunks(agencies.len().div_ceil(WRITERS))
        .map(|chunk| {
            let (store, chunk) = (store.clone(), chunk.to_vec());
            rt.spawn(async move {
                for code in chunk {
                    let key = ReportKey {
                        uscc: code.clone(),
                        year: YEAR,
                    };
                    let latest = store
                        .head(&key)
                        .await
                        .unwrap()
                        .map_or(0, |h| h.latest_revision);
                    let draft = WriteOp::SaveDraft {
                        key: key.clone(),
                        expected: latest,
                        report: report(u64::from(round) + 1),
                        checked: Checked::default(),
                    };
                    let mut at = store
                        .write(meta(format!("d-{code}-{round}")), draft)
                        .await
                        .and_then(|o| o.into_revision())
                        .unwrap()
                        .revision;
                    for (action, tag) in [(Action::Submit, "s"), (Action::Approve, "a")] {
                        let review = WriteOp::Review {
                            key: key.clone(),
                            expected: at,
                            action,
                            checked: Checked::default(),
                            comments: Vec::new(),
                        };
                        at = store
                            .write(meta(format!("{tag}-{code}-{round}")), review)
                            .await
                            .and_then(|o| o.into_revision())
                            .unwrap()
                            .revision;
                    }
                }
            })
        })
        .collect();
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
}

/// What the API's GetAreaSummary does with the store: the kept sum, checked.
async fn summary(store: &Store, city: &str) -> (u64, usize) {
    let t = store.area_sum(city, YEAR).await.unwrap();
    let findings = gongkai_domain::check_tables(&t.sum);
    (t.agencies, findings.len())
}

/// The baseline: the same sum from scratch, every approved report read.
async fn from_scratch(store: &Store, city: &str) -> u64 {
    let filter = ReportFilter {
        year: Some(YEAR),
        area: Some(city.to_owned()),
        ..ReportFilter::default()
    };
    let mut sum = zero_sum(YEAR);
    let mut n = 0;
    let mut page = PageRequest {
        size: 1000,
        cursor: String::new(),
    };
    loop {
        let listed = store.list_reports(&filter, &page).await.unwrap();
        for item in &listed.items {
            if item.key.uscc == city || item.head.approved_revision == 0 {
                continue;
            }
            let rev = store
                .revision(&item.key, item.head.approved_revision)
                .await
                .unwrap()
                .unwrap();
            let r = Report::try_from(rev.report.as_ref().unwrap()).unwrap();
            accumulate(&mut sum, &r, Sign::Add).unwrap();
            n += 1;
        }
        if listed.next_cursor.is_empty() {
            return n;
        }
        page.cursor = listed.next_cursor;
    }
}

fn bench(c: &mut Criterion) {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let total: u32 = std::env::var("GONGKAI_BENCH_AGENCIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 200 } else { 10_000 });
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sled(
        dir.path(),
        &StoreOptions {
            cache_capacity: 512 * 1024 * 1024,
        },
    )
    .unwrap();
    let city = uscc(0);
    register(&store, &city, None, AgencyKind::Government);
    let mut agencies = Vec::new();
    let per_county = total / COUNTIES;
    for county in 0..COUNTIES {
        let code = uscc(1 + county * per_county);
        register(&store, &code, Some(&city), AgencyKind::Government);
        agencies.push(code.clone());
        for d in 1..per_county {
            let dept = uscc(1 + county * per_county + d);
            register(&store, &dept, Some(&code), AgencyKind::Department);
            agencies.push(dept);
        }
    }
    let n = u64::try_from(agencies.len()).unwrap();
    let mut g = c.benchmark_group(format!("area_summary_{n}_agencies"));
    for (round, revisions) in [(0u32, 3u32), (1, 6), (2, 9)] {
        approve_all(&rt, &store, &agencies, round);
        if revisions == 6 {
            continue;
        }
        let head = rt
            .block_on(store.head(&ReportKey {
                uscc: agencies[0].clone(),
                year: YEAR,
            }))
            .unwrap()
            .unwrap();
        assert_eq!(head.latest_revision, revisions);
        assert_eq!(rt.block_on(summary(&store, &city)), (n, 0));
        assert_eq!(rt.block_on(from_scratch(&store, &city)), n);
        g.bench_function(format!("kept_sum/{revisions}_revisions_each"), |b| {
            b.iter(|| black_box(rt.block_on(summary(&store, black_box(&city)))))
        });
        g.bench_function(format!("from_scratch/{revisions}_revisions_each"), |b| {
            b.iter(|| black_box(rt.block_on(from_scratch(&store, black_box(&city)))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
