//! Area sums kept up by approvals and moves in the supervision tree: each
//! ancestor's sum is the sum of the current approved reports under it, a
//! correction replaces the old contribution exactly once, a move carries a
//! subtree's contribution along, and verify finds a kept sum that differs.

use crate::store_fixture::*;
use gongkai_domain::{
    Report,
    area::zero_sum,
    shape::{T3Col, T3Row, Value},
};
use gongkai_proto::v1::AnnualReport;
use gongkai_store::{Checked, ReportKey, Store};

conformance!(
    approvals_corrections_and_moves_keep_every_sum_exact,
    verify_names_a_kept_sum_that_differs_and_reopen_does_not_rebuild_it,
    a_store_without_sums_gets_them_built_when_opened,
    a_sum_of_an_unknown_agency_is_not_found,
    approvals_racing_under_one_city_are_each_counted_once,
);

const YEAR: u32 = 2024;

/// A 2024 report whose T3 R01/R24 natural-person cells are `n` and whose fee is `fee`.
fn tables(n: u64, fee: &str) -> AnnualReport {
    let mut r = zero_sum(YEAR);
    let t3 = r.t3.as_mut().unwrap();
    for (row, col) in [
        (T3Row::R01, T3Col::NaturalPerson),
        (T3Row::R01, T3Col::Total),
        (T3Row::R03, T3Col::NaturalPerson),
        (T3Row::R03, T3Col::Total),
        (T3Row::R24, T3Col::NaturalPerson),
        (T3Row::R24, T3Col::Total),
    ] {
        t3.set(row, col, n);
    }
    let layout = r.format.t2_layout();
    let cell = layout.cell("fees", "amount").unwrap();
    assert!(
        r.t2.as_mut()
            .unwrap()
            .set(&cell, Value::Money(fee.parse().unwrap()))
    );
    AnnualReport::from(&r)
}

async fn approve(store: &Store, uscc: &str, report: AnnualReport, tag: &str) {
    let key = ReportKey {
        uscc: uscc.into(),
        year: YEAR,
    };
    submit_and_approve(store, &key, report, tag).await.unwrap();
}

async fn r01(store: &Store, area: &str) -> (u64, u64, String) {
    let t = store.area_sum(area, YEAR).await.unwrap();
    let sum: &Report = &t.sum;
    let fee = gongkai_domain::area::money_cell(sum, "fees", "amount").unwrap();
    (
        t.agencies,
        sum.t3.as_ref().unwrap().get(T3Row::R01, T3Col::Total),
        fee.to_string(),
    )
}

/// city ─ county A ─ a1, a2; city ─ county B ─ b1.
async fn tree(store: &Store) -> [String; 6] {
    let ids = [uscc(1), uscc(2), uscc(3), uscc(4), uscc(5), uscc(6)];
    let [city, a, b, a1, a2, b1] = ids.clone();
    for (i, (code, sup)) in [
        (&city, None),
        (&a, Some(&city)),
        (&b, Some(&city)),
        (&a1, Some(&a)),
        (&a2, Some(&a)),
        (&b1, Some(&b)),
    ]
    .into_iter()
    .enumerate()
    {
        store
            .register_agency(
                &meta(&format!("reg-{i}")),
                agency(code, &format!("agency {i}"), sup.map(String::as_str)),
            )
            .await
            .unwrap();
    }
    ids
}

async fn approvals_corrections_and_moves_keep_every_sum_exact(engine: Engine) {
    let store = open(engine).await;
    let [city, a, b, a1, a2, b1] = tree(&store).await;
    assert_eq!(r01(&store, &city).await, (0, 0, "0".into()));

    approve(&store, &a1, tables(10, "1.5"), "a1").await;
    approve(&store, &a2, tables(20, "0.25"), "a2").await;
    approve(&store, &b1, tables(5, "0.000001"), "b1").await;
    approve(&store, &a, tables(30, "1.75"), "a").await;
    assert_eq!(r01(&store, &a).await, (2, 30, "1.75".into()));
    assert_eq!(r01(&store, &b).await, (1, 5, "0.000001".into()));
    assert_eq!(r01(&store, &city).await, (4, 65, "3.500001".into()));
    assert_eq!(r01(&store, &a1).await, (0, 0, "0".into()));

    // A correction after approval: a draft changes nothing until approved,
    // then the new figures replace the old exactly once.
    let key = ReportKey {
        uscc: a1.clone(),
        year: YEAR,
    };
    let head = store.head(&key).await.unwrap().unwrap();
    store
        .save_draft(
            &meta("a1-fix-draft"),
            &key,
            head.latest_revision,
            tables(99, "9"),
            Checked::default(),
        )
        .await
        .unwrap();
    assert_eq!(r01(&store, &city).await.1, 65);
    approve(&store, &a1, tables(12, "1.5"), "a1-fix").await;
    assert_eq!(r01(&store, &a).await, (2, 32, "1.75".into()));
    assert_eq!(r01(&store, &city).await, (4, 67, "3.500001".into()));

    // b1 moves from county B to county A: the city keeps it, B loses it, A gains it.
    let b1_agency = store.agency(&b1).await.unwrap().unwrap();
    store
        .set_supervisor(&meta("move-b1"), &b1, Some(&a), b1_agency.version)
        .await
        .unwrap();
    assert_eq!(r01(&store, &b).await, (0, 0, "0.000000".into()));
    assert_eq!(r01(&store, &a).await, (3, 37, "1.750001".into()));
    assert_eq!(r01(&store, &city).await, (4, 67, "3.500001".into()));

    // County A with its subtree leaves the city: the city keeps only B.
    let a_agency = store.agency(&a).await.unwrap().unwrap();
    store
        .set_supervisor(&meta("move-a"), &a, None, a_agency.version)
        .await
        .unwrap();
    assert_eq!(r01(&store, &city).await, (0, 0, "0.000000".into()));
    store
        .set_supervisor(&meta("move-a-back"), &a, Some(&city), a_agency.version + 1)
        .await
        .unwrap();
    assert_eq!(r01(&store, &city).await, (4, 67, "3.500001".into()));

    let v = store.verify().await.unwrap();
    assert_eq!(v.broken, None);
}

async fn verify_names_a_kept_sum_that_differs_and_reopen_does_not_rebuild_it(engine: Engine) {
    let mut store = open(engine).await;
    let [_, a, _, a1, ..] = tree(&store).await;
    approve(&store, &a1, tables(10, "1"), "a1").await;
    assert_eq!(r01(&store, &a).await.1, 10);
    store.flush().await.unwrap();
    // Put county B's (empty) sum where county A's is: A's now says nothing.
    let a_key = {
        let mut k = uscc(2).into_bytes();
        k.extend_from_slice(&(YEAR as u16).to_be_bytes());
        k
    };
    store
        .raw("area_sums", move |t| {
            let mut bytes = t.get(&a_key).unwrap();
            // Flip the agency count (field 1, varint 1 → 2).
            let at = bytes.windows(2).position(|w| w == [0x08, 0x01]).unwrap();
            bytes[at + 1] = 0x02;
            t.insert(&a_key, bytes);
        })
        .await;
    store.reopen().await;
    let broken = store
        .verify()
        .await
        .unwrap()
        .broken
        .expect("a forged sum is found");
    assert!(
        broken
            .detail
            .contains(&format!("area of agencies/{}", uscc(2)))
            && broken.detail.contains("counts 2 approved reports")
            && broken.detail.contains("its approved reports 1"),
        "{}",
        broken.detail
    );
}

async fn a_store_without_sums_gets_them_built_when_opened(engine: Engine) {
    let mut store = open(engine).await;
    let [city, _, _, a1, _, b1] = tree(&store).await;
    approve(&store, &a1, tables(10, "1"), "a1").await;
    approve(&store, &b1, tables(3, "2"), "b1").await;
    assert_eq!(r01(&store, &city).await.1, 13);
    store.flush().await.unwrap();
    // As a store written before sums were kept: no sums, no marker.
    store.raw("area_sums", |t| t.clear()).await;
    store
        .raw("meta", |t| {
            t.remove(b"area_sums_built");
        })
        .await;
    store.reopen().await;
    assert_eq!(r01(&store, &uscc(1)).await, (2, 13, "3".into()));
    assert_eq!(store.verify().await.unwrap().broken, None);
}

async fn a_sum_of_an_unknown_agency_is_not_found(engine: Engine) {
    let store = open(engine).await;
    assert!(matches!(
        store.area_sum(&uscc(77), YEAR).await,
        Err(gongkai_store::StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.area_sum("bad", YEAR).await,
        Err(gongkai_store::StoreError::InvalidArgument(_))
    ));
}

async fn approvals_racing_under_one_city_are_each_counted_once(engine: Engine) {
    let store = open(engine).await;
    let city = uscc(1000);
    store
        .register_agency(&meta("reg-city"), agency(&city, "city", None))
        .await
        .unwrap();
    let depts: Vec<String> = (0..48).map(|i| uscc(1001 + i)).collect();
    for d in &depts {
        store
            .register_agency(&meta(&format!("reg-{d}")), agency(d, "dept", Some(&city)))
            .await
            .unwrap();
    }
    let tasks: Vec<_> = depts
        .chunks(6)
        .map(|chunk| {
            let (store, chunk) = (store.store().clone(), chunk.to_vec());
            tokio::spawn(async move {
                for (i, d) in chunk.iter().enumerate() {
                    approve(&store, d, tables(i as u64 + 1, "0.01"), d).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // Each chunk of six adds 1 + 2 + … + 6 = 21; eight chunks.
    assert_eq!(r01(&store, &city).await, (48, 8 * 21, "0.48".into()));
    assert_eq!(store.verify().await.unwrap().broken, None);
}
