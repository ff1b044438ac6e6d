//! No area sum can make an approval fail (issue 13, point 3). Every
//! summed report is within `value.range`'s bounds and a store holds at most
//! `MAX_AGENCIES` agencies, so no sum can overflow (the argument is in the
//! catalogue; crates/domain/tests/bounds.rs adds the worst case). Here:
//! a report approved before the bounds existed with 行政处罚 =
//! 18446744073709551615 no longer blocks its area — its own approval is
//! refused, naming the cell — and reports at the bound in every cell under
//! one county and city are approved, corrected and moved, again and again.

use crate::store_fixture::*;
use gongkai_domain::{
    FormatVersion, Report,
    area::differing_cells,
    catalogue::{MAX_AMOUNT_WAN_YUAN, MAX_CHANGE, MAX_COUNT},
    shape::{CellKind, T3_COLUMNS, T3Row, T4_BLOCKS, T4_COLUMNS, Value},
};
use gongkai_proto::v1::AnnualReport;
use gongkai_store::{ReportKey, Store, StoreError};

conformance!(
    a_report_above_the_bound_is_not_approved_and_blocks_no_later_approval,
    reports_at_the_bound_under_one_county_and_city_are_approved_again_and_again,
);

const YEAR: u32 = 2024;

/// A 2024 report with every cell at `n` times the bound.
fn times_bound(n: u64) -> Report {
    let format = FormatVersion::of_year(YEAR);
    let mut r = Report::empty(format, YEAR);
    let layout = format.t2_layout();
    for cell in layout.cells() {
        let v = match cell.column.kind {
            CellKind::Count => Value::Count(n * MAX_COUNT),
            CellKind::Delta => Value::Delta(i64::try_from(n).unwrap() * MAX_CHANGE),
            CellKind::Money => Value::Money(
                format!("{}.000000", u128::from(n) * u128::from(MAX_AMOUNT_WAN_YUAN))
                    .parse()
                    .unwrap(),
            ),
        };
        assert!(r.t2.as_mut().unwrap().set(&cell, v));
    }
    for row in T3Row::rows_of(format) {
        for c in &T3_COLUMNS {
            r.t3.as_mut().unwrap().set(row, c.col, n * MAX_COUNT);
        }
    }
    for b in &T4_BLOCKS {
        for c in &T4_COLUMNS {
            r.t4.as_mut().unwrap().set(b.block, c.col, n * MAX_COUNT);
        }
    }
    r
}

/// A report whose 行政处罚 is `penalty`, everything else zero.
fn penalty(penalty: u64) -> AnnualReport {
    let mut r = Report::empty(FormatVersion::of_year(YEAR), YEAR);
    let cell = r.format.t2_layout().cell("penalty", "decisions").unwrap();
    assert!(r.t2.as_mut().unwrap().set(&cell, Value::Count(penalty)));
    AnnualReport::from(&r)
}

fn key(uscc: &str) -> ReportKey {
    ReportKey {
        uscc: uscc.into(),
        year: YEAR,
    }
}

/// Submits `report` as new content of the agency's 2024 report and approves it.
async fn approve(
    store: &Store,
    uscc: &str,
    report: AnnualReport,
    tag: &str,
) -> gongkai_store::Result<u32> {
    submit_and_approve(store, &key(uscc), report, tag).await
}

/// A city, a county under it, and `n` agencies under the county.
async fn city_county(store: &Store, n: u32) -> (String, String, Vec<String>) {
    let (city, county) = (uscc(1), uscc(2));
    store
        .register_agency(&meta("reg-city"), agency(&city, "某市人民政府", None))
        .await
        .unwrap();
    store
        .register_agency(
            &meta("reg-county"),
            agency(&county, "某县人民政府", Some(&city)),
        )
        .await
        .unwrap();
    let mut under = Vec::new();
    for i in 0..n {
        let code = uscc(100 + i);
        store
            .register_agency(
                &meta(&format!("reg-{i}")),
                agency(&code, &format!("某局{i}"), Some(&county)),
            )
            .await
            .unwrap();
        under.push(code);
    }
    (city, county, under)
}

async fn a_report_above_the_bound_is_not_approved_and_blocks_no_later_approval(engine: Engine) {
    let store = open(engine).await;
    let (city, county, under) = city_county(&store, 2).await;
    // Submitted before the bound existed (the store does not check; the
    // server refuses such a submission now): its approval is refused for
    // its own cell.
    let e = approve(&store, &under[0], penalty(u64::MAX), "max")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::OutOfRange { resource, reason }
            if *resource == key(&under[0]).name()
                && reason.contains("t2.penalty.decisions")
                && reason.contains("18446744073709551615")
                && reason.contains("value.range")),
        "{e}"
    );
    // Every later approval of the county and the city goes through.
    approve(&store, &under[1], penalty(5), "five")
        .await
        .unwrap();
    approve(&store, &under[1], penalty(7), "seven")
        .await
        .unwrap();
    for area in [&county, &city] {
        let t = store.area_sum(area, YEAR).await.unwrap();
        let cell = t
            .sum
            .format
            .t2_layout()
            .cell("penalty", "decisions")
            .unwrap();
        assert_eq!(t.sum.t2.as_ref().unwrap().get(&cell), Value::Count(7));
        assert_eq!(t.agencies, 1);
    }
    assert_eq!(store.verify().await.unwrap().broken, None);
}

async fn reports_at_the_bound_under_one_county_and_city_are_approved_again_and_again(
    engine: Engine,
) {
    const N: u32 = 12;
    let store = open(engine).await;
    let (city, county, under) = city_county(&store, N).await;
    let at_bound = AnnualReport::from(&times_bound(1));
    // Each approved, then each corrected and approved again.
    for round in 0..2 {
        for (i, code) in under.iter().enumerate() {
            approve(&store, code, at_bound.clone(), &format!("{round}-{i}"))
                .await
                .unwrap_or_else(|e| panic!("round {round}, agency {i}: {e}"));
        }
    }
    let n = u64::from(N);
    let sums = async |area: &str| store.area_sum(area, YEAR).await.unwrap();
    for area in [&county, &city] {
        let t = sums(area).await;
        assert_eq!(t.agencies, n);
        assert_eq!(
            differing_cells(&t.sum, &times_bound(n)),
            Vec::<String>::new(),
            "{area}"
        );
    }
    // One agency moves from the county to the city with its approved
    // report; the sums follow; the county approves again.
    store
        .set_supervisor(&meta("move"), &under[0], Some(&city), 1)
        .await
        .unwrap();
    approve(&store, &under[1], at_bound.clone(), "after-move")
        .await
        .unwrap();
    assert_eq!(
        differing_cells(&sums(&county).await.sum, &times_bound(n - 1)),
        Vec::<String>::new()
    );
    assert_eq!(
        differing_cells(&sums(&city).await.sum, &times_bound(n)),
        Vec::<String>::new()
    );
    assert_eq!(store.verify().await.unwrap().broken, None);
}
