//! Area sums: the cell-by-cell sum of T2, T3 and T4 over many reports, exact
//! (counts checked, money as exact 万元), kept up by adding a report's
//! contribution and taking a superseded one away; and the aggregate check,
//! a government's own area-wide report against that sum.

use crate::{
    Finding, FormatVersion, Location, Money, Report,
    catalogue::id,
    shape::{T2, T3, T3_COLUMNS, T3Row, T4, T4_BLOCKS, T4_COLUMNS, Value, t3_path, t4_path},
};

/// Why a contribution cannot be added to or taken from a sum.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SumError {
    /// The report is in another format than the sum.
    #[error("a report in the {report} cannot be summed with reports in the {sum}")]
    Format {
        /// The report's format.
        report: FormatVersion,
        /// The sum's format.
        sum: FormatVersion,
    },
    /// A cell of the report is outside `value.range`'s bounds, which are
    /// what keeps every sum from overflowing: it is not added.
    #[error("{path}: {message}")]
    OutOfRange {
        /// The first such cell, e.g. `t2.penalty.decisions`.
        path: String,
        /// The `value.range` finding's message.
        message: String,
    },
    /// A cell's sum does not fit, or a subtraction goes below what was added.
    #[error("{cell}: {what}")]
    Cell {
        /// The cell, e.g. `t3.R01.total`.
        cell: String,
        /// What went wrong.
        what: &'static str,
    },
}

/// Add a contribution, or take one away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// Add it.
    Add,
    /// Take it away (it was added before).
    Subtract,
}

/// An all-zero sum for a data year: every table present, no prose.
pub fn zero_sum(year: u32) -> Report {
    let format = FormatVersion::of_year(year);
    let mut r = Report::empty(format, year);
    r.sections = std::array::from_fn(|_| None);
    r
}

fn overflow(cell: String, sign: Sign) -> SumError {
    SumError::Cell {
        cell,
        what: match sign {
            Sign::Add => "the sum overflows",
            Sign::Subtract => "taking the contribution away goes below zero or overflows",
        },
    }
}

fn count(a: u64, b: u64, sign: Sign) -> Option<u64> {
    match sign {
        Sign::Add => a.checked_add(b),
        Sign::Subtract => a.checked_sub(b),
    }
}

/// Whether `r` may join an area's sum: every cell within `value.range`'s
/// bounds. With at most [`MAX_AGENCIES`](crate::catalogue::MAX_AGENCIES)
/// such reports in a sum, no cell of it can overflow (the argument is in
/// the catalogue), so adding a summable report never fails.
pub fn summable(r: &Report) -> Result<(), SumError> {
    match crate::check::range_findings(r).into_iter().next() {
        None => Ok(()),
        Some(f) => Err(SumError::OutOfRange {
            path: f.location.path(),
            message: f.message,
        }),
    }
}

/// Adds `r`'s tables to `sum` (or takes them away), cell by cell. Nothing
/// is changed when an error is returned. A missing table counts as zeros.
pub fn accumulate(sum: &mut Report, r: &Report, sign: Sign) -> Result<(), SumError> {
    if r.format != sum.format {
        return Err(SumError::Format {
            report: r.format,
            sum: sum.format,
        });
    }
    let mut out = sum.clone();
    let layout = sum.format.t2_layout();
    let zeros = T2::zeros(layout);
    let theirs = r.t2.as_ref().unwrap_or(&zeros);
    let t2 = out.t2.get_or_insert_with(|| T2::zeros(layout));
    for cell in layout.cells() {
        let v = match (t2.get(&cell), theirs.get(&cell)) {
            (Value::Count(a), Value::Count(b)) => count(a, b, sign).map(Value::Count),
            (Value::Delta(a), Value::Delta(b)) => match sign {
                Sign::Add => a.checked_add(b),
                Sign::Subtract => a.checked_sub(b),
            }
            .map(Value::Delta),
            (Value::Money(a), Value::Money(b)) => match sign {
                Sign::Add => a.checked_add(&b),
                Sign::Subtract => a.checked_sub(&b),
            }
            .map(Value::Money),
            _ => None,
        };
        let ok = v.is_some_and(|v| t2.set(&cell, v));
        if !ok {
            return Err(overflow(cell.path(), sign));
        }
    }
    let zero3 = T3::default();
    let theirs = r.t3.as_ref().unwrap_or(&zero3);
    let t3 = out.t3.get_or_insert_with(T3::default);
    for row in T3Row::rows_of(sum.format) {
        for c in &T3_COLUMNS {
            let v = count(t3.get(row, c.col), theirs.get(row, c.col), sign)
                .ok_or_else(|| overflow(t3_path(row, c.col), sign))?;
            t3.set(row, c.col, v);
        }
    }
    let zero4 = T4::default();
    let theirs = r.t4.as_ref().unwrap_or(&zero4);
    let t4 = out.t4.get_or_insert_with(T4::default);
    for b in &T4_BLOCKS {
        for c in &T4_COLUMNS {
            let v = count(t4.get(b.block, c.col), theirs.get(b.block, c.col), sign)
                .ok_or_else(|| overflow(t4_path(b.block, c.col), sign))?;
            t4.set(b.block, c.col, v);
        }
    }
    *sum = out;
    Ok(())
}

/// Whether two values are equal in value (`1.50` 万元 equals `1.5`).
pub fn same_value(a: Value, b: Value) -> bool {
    match (a, b) {
        (Value::Money(x), Value::Money(y)) => x.cmp(&y) == std::cmp::Ordering::Equal,
        _ => a == b,
    }
}

/// Every cell of the tables of `a`'s format, as (location, value in `a`,
/// value in `b`), in table order: T2, T3, T4. The location's `path()` is
/// the cell's name (`t3.R25.natural_person`).
pub fn cells_of(a: &Report, b: &Report) -> Vec<(Location, Value, Value)> {
    let format = a.format;
    let layout = format.t2_layout();
    let mut out = Vec::new();
    let z2 = T2::zeros(layout);
    let (a2, b2) = (a.t2.as_ref().unwrap_or(&z2), b.t2.as_ref().unwrap_or(&z2));
    for cell in layout.cells() {
        out.push((
            Location::cell("t2", cell.row.key, cell.column.key),
            a2.get(&cell),
            b2.get(&cell),
        ));
    }
    let z3 = T3::default();
    let (a3, b3) = (a.t3.as_ref().unwrap_or(&z3), b.t3.as_ref().unwrap_or(&z3));
    for row in T3Row::rows_of(format) {
        for c in &T3_COLUMNS {
            out.push((
                Location::cell("t3", row.spec().id, c.key),
                Value::Count(a3.get(row, c.col)),
                Value::Count(b3.get(row, c.col)),
            ));
        }
    }
    let z4 = T4::default();
    let (a4, b4) = (a.t4.as_ref().unwrap_or(&z4), b.t4.as_ref().unwrap_or(&z4));
    for blk in &T4_BLOCKS {
        for c in &T4_COLUMNS {
            out.push((
                Location::cell("t4", blk.key, c.key),
                Value::Count(a4.get(blk.block, c.col)),
                Value::Count(b4.get(blk.block, c.col)),
            ));
        }
    }
    out
}

/// The cells where two sums differ in value, by path (for verifying a kept
/// sum against one recomputed).
pub fn differing_cells(a: &Report, b: &Report) -> Vec<String> {
    if a.format != b.format {
        return vec!["format".to_owned()];
    }
    cells_of(a, b)
        .into_iter()
        .filter(|(_, x, y)| !same_value(*x, *y))
        .map(|(location, ..)| location.path())
        .collect()
}

/// The aggregate check (`aggregate.area-sum`, info): a government's own
/// area-wide report against the sum of the approved reports of the agencies
/// under it, one finding per differing cell, the sum as expected and the
/// report's figure as actual. Reports of different formats are not compared.
pub fn compare_with_area(own: &Report, area_sum: &Report) -> Vec<Finding> {
    if own.format != area_sum.format {
        return Vec::new();
    }
    cells_of(own, area_sum)
        .into_iter()
        .filter(|(_, mine, sum)| !same_value(*mine, *sum))
        .map(|(location, mine, sum)| {
            let path = location.path();
            Finding::new(
                id::AGGREGATE_AREA_SUM,
                location,
                format!(
                    "本级报告{path}为{mine}，所辖各机关已通过报告合计为{sum} — {path}: the area-wide report says {mine}, the approved reports under it add up to {sum}"
                ),
            )
            .values(sum, mine)
        })
        .collect()
}

/// The amount of money in a T2 cell of the sum, if it is a money cell.
pub fn money_cell(r: &Report, row: &str, column: &str) -> Option<Money> {
    let layout = r.format.t2_layout();
    let cell = layout.cell(row, column)?;
    match r.t2.as_ref()?.get(&cell) {
        Value::Money(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::T3Col;

    fn report(year: u32, r01: u64, fee: &str) -> Report {
        let mut r = zero_sum(year);
        let t3 = r.t3.as_mut().unwrap();
        t3.set(T3Row::R01, T3Col::NaturalPerson, r01);
        let layout = r.format.t2_layout();
        let cell = layout.cell("fees", "amount").unwrap();
        assert!(
            r.t2.as_mut()
                .unwrap()
                .set(&cell, Value::Money(fee.parse().unwrap()))
        );
        r
    }

    #[test]
    fn adds_and_takes_away_exactly() {
        let mut sum = zero_sum(2024);
        let a = report(2024, 3, "1.5");
        let b = report(2024, 4, "0.000001");
        accumulate(&mut sum, &a, Sign::Add).unwrap();
        accumulate(&mut sum, &b, Sign::Add).unwrap();
        assert_eq!(
            sum.t3
                .as_ref()
                .unwrap()
                .get(T3Row::R01, T3Col::NaturalPerson),
            7
        );
        assert_eq!(
            money_cell(&sum, "fees", "amount").unwrap().to_string(),
            "1.500001"
        );
        accumulate(&mut sum, &a, Sign::Subtract).unwrap();
        assert!(differing_cells(&sum, &b).is_empty());
    }

    #[test]
    fn refuses_what_does_not_fit_and_changes_nothing() {
        let mut sum = zero_sum(2024);
        let a = report(2024, 3, "1");
        let before = sum.clone();
        let e = accumulate(&mut sum, &a, Sign::Subtract).unwrap_err();
        assert!(matches!(e, SumError::Cell { .. }), "{e}");
        assert_eq!(sum, before);
        let mut big = zero_sum(2024);
        big.t3
            .as_mut()
            .unwrap()
            .set(T3Row::R01, T3Col::NaturalPerson, u64::MAX);
        let e = accumulate(&mut big, &a, Sign::Add).unwrap_err();
        assert_eq!(e.to_string(), "t3.R01.natural_person: the sum overflows");
        let trial = zero_sum(2020);
        assert!(matches!(
            accumulate(&mut sum, &trial, Sign::Add),
            Err(SumError::Format { .. })
        ));
    }

    #[test]
    fn names_each_differing_cell() {
        let own = report(2024, 5, "2.50");
        let sum = report(2024, 7, "2.5");
        let fs = compare_with_area(&own, &sum);
        assert_eq!(fs.len(), 1);
        assert_eq!(fs[0].location.path(), "t3.R01.natural_person");
        assert_eq!(fs[0].expected, Some(Value::Count(7)));
        assert_eq!(fs[0].actual, Some(Value::Count(5)));
        assert_eq!(fs[0].severity, crate::Severity::Info);
    }
}
