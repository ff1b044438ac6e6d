//! `value.range`'s plausibility bounds (issue 13, point 3): a cell above its
//! bound is an error at check time, and no set of reports within the bounds
//! can overflow an area's sum — the worst case, the most reports a sum can
//! hold each at the bound in every cell, is added here and fits.

mod common;

use common::*;
use gongkai_domain::{
    ConvertError, FormatVersion, Money, Report, Severity, Verdict,
    area::{self, Sign, SumError},
    catalogue::{MAX_AGENCIES, MAX_AMOUNT_WAN_YUAN, MAX_CHANGE, MAX_COUNT, id},
    range_findings,
    shape::{CellKind, T3_COLUMNS, T3Col, T3Row, T4_BLOCKS, T4_COLUMNS, T4Block, T4Col, Value},
};
use gongkai_proto::v1 as pb;

const F21: FormatVersion = FormatVersion::Current2021;
const F19: FormatVersion = FormatVersion::Trial2019;

fn year_of(format: FormatVersion) -> u32 {
    match format {
        F21 => 2024,
        F19 => 2020,
    }
}

/// `n` times the amount bound, written at the 分 (6 decimals).
fn amount_times(n: u64) -> Money {
    let wan = u128::from(MAX_AMOUNT_WAN_YUAN) * u128::from(n);
    money(&format!("{wan}.000000"))
}

/// Every cell of every table set by kind: counts to `count`, changes to
/// `change` (its sign alternating cell by cell), amounts to `amount`.
fn every_cell(format: FormatVersion, count: u64, change: i64, amount: Money) -> Report {
    let mut r = blank(format, year_of(format));
    let layout = format.t2_layout();
    let mut sign = 1;
    for cell in layout.cells() {
        let v = match cell.column.kind {
            CellKind::Count => Value::Count(count),
            CellKind::Delta => {
                sign = -sign;
                Value::Delta(change * sign)
            }
            CellKind::Money => Value::Money(amount),
        };
        assert!(r.t2.as_mut().unwrap().set(&cell, v));
    }
    for row in rows(format) {
        for c in &T3_COLUMNS {
            t3(&mut r).set(*row, c.col, count);
        }
    }
    for b in &T4_BLOCKS {
        for c in &T4_COLUMNS {
            t4(&mut r).set(b.block, c.col, count);
        }
    }
    r
}

/// A report at the bound in every cell.
fn at_bound(format: FormatVersion) -> Report {
    every_cell(format, MAX_COUNT, MAX_CHANGE, amount_times(1))
}

#[test]
fn a_penalty_count_of_u64_max_is_a_value_range_error() {
    // The report of the issue: 行政处罚 = 18446744073709551615, otherwise clean.
    let mut r = clean(F21, 2024);
    set_t2(&mut r, "penalty", "decisions", Value::Count(u64::MAX));
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    let f = &fs[0];
    assert_eq!(
        (f.rule, f.severity, f.location.path().as_str()),
        (id::VALUE_RANGE, Severity::Error, "t2.penalty.decisions")
    );
    assert_eq!(f.expected, Some(Value::Count(MAX_COUNT)));
    assert_eq!(f.actual, Some(Value::Count(u64::MAX)));
    assert!(
        f.message.contains("18446744073709551615") && f.message.contains("行政处罚"),
        "{}",
        f.message
    );
    assert_eq!(Verdict::of(&fs), Verdict::Invalid);
}

#[test]
fn every_cell_at_its_bound_passes_and_one_above_is_named() {
    for format in [F21, F19] {
        let r = at_bound(format);
        assert_eq!(range_findings(&r), [], "{format:?} at the bound");
        assert_eq!(area::summable(&r), Ok(()));

        let layout = format.t2_layout();
        let mut above = Vec::new();
        for cell in layout.cells() {
            let v = match cell.column.kind {
                CellKind::Count => Value::Count(MAX_COUNT + 1),
                CellKind::Delta => Value::Delta(-MAX_CHANGE - 1),
                CellKind::Money => Value::Money(money("1000000000.000001")),
            };
            above.push((cell.path(), v, cell));
        }
        for (path, v, cell) in above {
            let mut r = at_bound(format);
            assert!(r.t2.as_mut().unwrap().set(&cell, v));
            let fs = range_findings(&r);
            assert_eq!(fs.len(), 1, "{format:?} {path}: {fs:#?}");
            assert_eq!(fs[0].location.path(), path);
            assert_eq!(fs[0].actual, Some(v));
            assert!(
                matches!(area::summable(&r), Err(SumError::OutOfRange { path: p, .. }) if p == path)
            );
        }
        for row in rows(format) {
            for c in &T3_COLUMNS {
                let mut r = at_bound(format);
                t3(&mut r).set(*row, c.col, MAX_COUNT + 1);
                let fs = range_findings(&r);
                let path = format!("t3.{}.{}", row.spec().id, c.key);
                assert_eq!(fs.len(), 1, "{path}: {fs:#?}");
                assert_eq!(fs[0].location.path(), path);
            }
        }
        for b in &T4_BLOCKS {
            for c in &T4_COLUMNS {
                let mut r = at_bound(format);
                t4(&mut r).set(b.block, c.col, MAX_COUNT + 1);
                let fs = range_findings(&r);
                assert_eq!(fs.len(), 1, "{fs:#?}");
                assert_eq!(fs[0].location.path(), format!("t4.{}.{}", b.key, c.key));
            }
        }
    }
}

#[test]
fn a_cell_above_its_bound_fails_the_whole_check_with_value_range() {
    for (set, path) in [
        (
            Box::new(|r: &mut Report| t3(r).set(T3Row::R17, T3Col::NaturalPerson, MAX_COUNT + 1))
                as Box<dyn Fn(&mut Report)>,
            "t3.R17.natural_person",
        ),
        (
            Box::new(|r: &mut Report| {
                t4(r).set(T4Block::Reconsideration, T4Col::Pending, MAX_COUNT + 1)
            }),
            "t4.reconsideration.pending",
        ),
        (
            Box::new(|r: &mut Report| {
                set_t2(r, "fees", "amount", Value::Money(money("1000000001")))
            }),
            "t2.fees.amount",
        ),
    ] {
        let mut r = clean(F21, 2024);
        set(&mut r);
        let fs = findings(&r);
        let range: Vec<_> = fs.iter().filter(|f| f.rule == id::VALUE_RANGE).collect();
        assert_eq!(range.len(), 1, "{path}: {fs:#?}");
        assert_eq!(range[0].location.path(), path);
        assert_eq!(Verdict::of(&fs), Verdict::Invalid);
    }
}

/// The worst case of the argument in the catalogue: a sum already holding
/// `MAX_AGENCIES - 1` reports at the bound in every cell takes one more,
/// and takes a correction (the old one away, a new one added), exactly.
#[test]
fn the_largest_area_sum_the_bounds_allow_fits_every_cell() {
    let held = MAX_AGENCIES - 1;
    for format in [F21, F19] {
        // Deltas alternate in sign cell by cell, as in `every_cell`.
        let change = i64::try_from(held).unwrap() * MAX_CHANGE;
        let mut sum = every_cell(format, held * MAX_COUNT, change, amount_times(held));
        let one = at_bound(format);
        area::accumulate(&mut sum, &one, Sign::Add)
            .unwrap_or_else(|e| panic!("{format:?}: the last report does not fit: {e}"));
        let full = every_cell(
            format,
            MAX_AGENCIES * MAX_COUNT,
            i64::try_from(MAX_AGENCIES).unwrap() * MAX_CHANGE,
            amount_times(MAX_AGENCIES),
        );
        assert_eq!(area::differing_cells(&sum, &full), Vec::<String>::new());
        // A correction of that report: taken away, added again.
        area::accumulate(&mut sum, &one, Sign::Subtract).unwrap();
        area::accumulate(&mut sum, &one, Sign::Add).unwrap();
        assert_eq!(area::differing_cells(&sum, &full), Vec::<String>::new());
        // The sum is far below what its type holds.
        let t3 = sum.t3.as_ref().unwrap();
        assert!(t3.get(T3Row::R01, T3Col::Total) <= u64::MAX / 18);
    }
}

#[test]
fn a_callers_report_must_state_every_amount_of_its_t2() {
    // An empty amount: refused by name, not read as 0.
    let mut wire = pb::AnnualReport::from(&clean(F21, 2024));
    let Some(pb::annual_report::ActiveDisclosureTable::ActiveDisclosure(t)) =
        wire.active_disclosure_table.as_mut()
    else {
        panic!("a 2021 T2");
    };
    t.fees = Some(pb::Money {
        wan_yuan: String::new(),
    });
    let e = Report::from_request(&wire).unwrap_err();
    assert_eq!(e, ConvertError::AmountMissing("active_disclosure.fees"));
    assert!(e.to_string().contains("a missing amount is not 0"), "{e}");
    // Blank is empty too; left out altogether, the same.
    for fees in [
        Some(pb::Money {
            wan_yuan: "  ".into(),
        }),
        None,
    ] {
        if let Some(pb::annual_report::ActiveDisclosureTable::ActiveDisclosure(t)) =
            wire.active_disclosure_table.as_mut()
        {
            t.fees = fees;
        }
        assert_eq!(
            Report::from_request(&wire),
            Err(ConvertError::AmountMissing("active_disclosure.fees"))
        );
    }
    // "0" is an amount.
    if let Some(pb::annual_report::ActiveDisclosureTable::ActiveDisclosure(t)) =
        wire.active_disclosure_table.as_mut()
    {
        t.fees = Some(pb::Money {
            wan_yuan: "0".into(),
        });
    }
    assert!(Report::from_request(&wire).is_ok());
    // Unknown is said so: the row listed as absent, an error finding of its own.
    if let Some(pb::annual_report::ActiveDisclosureTable::ActiveDisclosure(t)) =
        wire.active_disclosure_table.as_mut()
    {
        t.fees = None;
    }
    wire.absent_rows = vec!["t2.fees".into()];
    let r = Report::from_request(&wire).expect("an amount listed as absent");
    assert!(
        findings(&r)
            .iter()
            .any(|f| f.rule == id::IMPORT_ROW_MISSING && f.location.path() == "t2.fees"),
        "{:#?}",
        findings(&r)
    );
    // The trial format's 采购总金额 likewise.
    let mut wire = pb::AnnualReport::from(&clean(F19, 2020));
    if let Some(pb::annual_report::ActiveDisclosureTable::ActiveDisclosureTrial(t)) =
        wire.active_disclosure_table.as_mut()
    {
        t.procurement.as_mut().unwrap().amount = Some(pb::Money::default());
    }
    assert_eq!(
        Report::from_request(&wire),
        Err(ConvertError::AmountMissing(
            "active_disclosure_trial.procurement.amount"
        ))
    );
    // A stored report is still read as it was accepted: the empty amount as 0.
    let stored = Report::try_from(&wire).unwrap();
    assert!(range_findings(&stored).is_empty());
    // Without a T2 there is no amount to state.
    let mut no_t2 = pb::AnnualReport::from(&clean(F21, 2024));
    no_t2.active_disclosure_table = None;
    assert!(Report::from_request(&no_t2).is_ok());
}

/// The bounds are one report's: an area sum of many reports may pass them,
/// and checking its tables says nothing of it (an amount below zero still
/// is a finding).
#[test]
fn a_sum_above_one_reports_bound_is_no_value_range_finding() {
    for format in [F21, F19] {
        let sum = every_cell(format, 3 * MAX_COUNT, 3 * MAX_CHANGE, amount_times(3));
        let fs = gongkai_domain::check_tables(&sum);
        assert!(
            fs.iter().all(|f| f.rule != id::VALUE_RANGE),
            "{format:?}: {fs:#?}"
        );
        let negative = every_cell(format, 0, 0, money("-1"));
        let fs = gongkai_domain::check_tables(&negative);
        assert!(fs.iter().any(|f| f.rule == id::VALUE_RANGE), "{format:?}");
    }
}
