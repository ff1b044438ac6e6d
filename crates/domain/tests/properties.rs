//! Properties of the checker and of the wire mapping, over generated reports
//! in both formats:
//!
//! - a consistent report gives no findings at all (and with a consistent
//!   previous year's report, still none);
//! - changing one T3 or T4 cell makes exactly the arithmetic rules that cover
//!   that cell fire, each naming the changed cell — the expected set is worked
//!   out here from the relations in SPEC.md, not taken from the checker;
//! - `Report` → `pb::AnnualReport` → `Report` gives back the same report;
//! - rows the document did not contain are named (`import.row-missing`) and
//!   no other error finding names any of their cells, whatever the values of
//!   the cells that are there (this year's or last year's).

mod common;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use common::*;
use gongkai_domain::{
    AgencyLevel, FormatVersion, Metadata, Money, Report, Severity,
    catalogue::{MAX_AMOUNT_WAN_YUAN, MAX_CHANGE, id},
    check,
    shape::{CellKind, T2, T3, T3_PARTS, T3Col, T3Row, T4, T4_PARTS, T4Block, T4Col, Value},
};
use gongkai_proto::v1 as pb;
use proptest::{collection::vec, option, prelude::*, sample::select};

const FORMATS: [FormatVersion; 2] = [FormatVersion::Current2021, FormatVersion::Trial2019];

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

/// Money from a mantissa and a scale, written as published.
fn money_of(negative: bool, mantissa: u64, scale: usize) -> Money {
    let digits = format!("{mantissa:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    let sign = if negative { "-" } else { "" };
    let text = if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    };
    money(&text)
}

/// A fee exact to the 分 at most, 0 ..= value.range's bound.
fn valid_money() -> impl Strategy<Value = Money> {
    (0usize..=6)
        .prop_flat_map(|s| (0u64..=MAX_AMOUNT_WAN_YUAN * 10u64.pow(s as u32), Just(s)))
        .prop_map(|(m, s)| money_of(false, m, s))
}

/// Any amount the wire can carry: negative, or finer than the 分.
fn any_money() -> impl Strategy<Value = Money> {
    (any::<bool>(), any::<u64>(), 0usize..=9).prop_map(|(n, m, s)| money_of(n, m, s))
}

/// A T2 value of each cell of a layout.
fn t2_values(format: FormatVersion, valid: bool) -> impl Strategy<Value = T2> {
    let cells: Vec<_> = format
        .t2_layout()
        .cells()
        .map(|c| match (c.column.kind, valid) {
            (CellKind::Count, true) => (0u64..=100_000).prop_map(Value::Count).boxed(),
            (CellKind::Count, false) => any::<u64>().prop_map(Value::Count).boxed(),
            (CellKind::Delta, true) => (-MAX_CHANGE..=MAX_CHANGE).prop_map(Value::Delta).boxed(),
            (CellKind::Delta, false) => any::<i64>().prop_map(Value::Delta).boxed(),
            (CellKind::Money, true) => valid_money().prop_map(Value::Money).boxed(),
            (CellKind::Money, false) => any_money().prop_map(Value::Money).boxed(),
        })
        .collect();
    cells.prop_map(move |values| {
        let layout = format.t2_layout();
        let mut t2 = T2::zeros(layout);
        for (cell, v) in layout.cells().zip(values) {
            assert!(t2.set(&cell, v));
        }
        t2
    })
}

/// Sets 现行有效 ≥ 本年制发 in the 2021 format's document rows.
fn in_force_at_least_issued(r: &mut Report) {
    if r.format != FormatVersion::Current2021 {
        return;
    }
    let layout = r.format.t2_layout();
    for row in ["regulations", "normative_documents"] {
        let t2 = r.t2.as_ref().unwrap();
        let issued = t2.count(layout, row, "issued").unwrap();
        let in_force = t2.count(layout, row, "in_force").unwrap();
        if in_force < issued {
            set_t2(r, row, "in_force", Value::Count(issued + in_force));
        }
    }
}

/// Metadata of a body that may make 规章, with valid identifiers or none.
fn clean_metadata() -> impl Strategy<
    Value = (
        Option<&'static str>,
        Option<&'static str>,
        Option<AgencyLevel>,
    ),
> {
    (
        select(vec![None, Some(USCC_JINHUA), Some(USCC_NINGGUO)]),
        select(vec![None, Some("330700"), Some("110000"), Some("230500")]),
        select(vec![
            None,
            Some(AgencyLevel::National),
            Some(AgencyLevel::Provincial),
            Some(AgencyLevel::Prefectural),
        ]),
    )
}

/// A consistent report: T3 with R24 = Σ outcomes and R01 + R02 = R24 + R25
/// in each applicant column and 总计 = the row sums; T4 with its totals; T2
/// with 现行有效 ≥ 本年制发 and fees exact to the 分; prose that states no count.
fn consistent_report(format: FormatVersion) -> impl Strategy<Value = Report> {
    let outcomes = outcome_rows(format).len();
    let years = match format {
        FormatVersion::Current2021 => 2021u32..=2030,
        FormatVersion::Trial2019 => 2019u32..=2020,
    };
    (
        vec(0u64..=1000, outcomes * 6),
        vec(0u64..=200, 6),
        vec(0u64..=2000, 6),
        vec(0u64..=1000, 12),
        t2_values(format, true),
        years,
        clean_metadata(),
    )
        .prop_map(
            move |(outs, r25, r02, t4, t2, year, (uscc, region, level))| {
                let mut r = blank(format, year);
                r.metadata.agency_name = "金华市市场监督管理局".to_owned();
                r.metadata.agency_uscc = uscc.map(str::to_owned);
                r.metadata.region_code = region.map(str::to_owned);
                r.metadata.agency_level = level;

                let t = t3(&mut r);
                let rows = outcome_rows(format);
                for (i, col) in T3_PARTS.iter().enumerate() {
                    for (j, row) in rows.iter().enumerate() {
                        t.set(*row, *col, outs[i * rows.len() + j]);
                    }
                    t.set(T3Row::R25, *col, r25[i]);
                    t.set(T3Row::R02, *col, r02[i]);
                }
                complete_t3(t, format);

                let t = common::t4(&mut r);
                for (i, b) in T4_BLOCKS_ALL.iter().enumerate() {
                    for (j, c) in T4_PARTS.iter().enumerate() {
                        t.set(*b, *c, t4[i * 4 + j]);
                    }
                }
                complete_t4(t);

                r.t2 = Some(t2);
                in_force_at_least_issued(&mut r);
                r
            },
        )
}

fn consistent_report_any_format() -> impl Strategy<Value = Report> {
    prop_oneof![
        consistent_report(FormatVersion::Current2021),
        consistent_report(FormatVersion::Trial2019)
    ]
}

/// Last year's report that agrees with `r` on every cross-year relation.
fn previous_of(r: &Report) -> Report {
    let mut p = r.clone();
    p.metadata.data_year = r.metadata.data_year - 1;
    let now = r.t3.as_ref().unwrap();
    for col in T3_COLS {
        t3(&mut p).set(T3Row::R25, col, now.get(T3Row::R02, col));
    }
    if r.format == FormatVersion::Current2021 {
        let layout = r.format.t2_layout();
        let t2 = r.t2.as_ref().unwrap();
        for row in ["regulations", "normative_documents"] {
            let get = |c| t2.count(layout, row, c).unwrap();
            let before = get("in_force") + get("repealed") - get("issued");
            set_t2(&mut p, row, "in_force", Value::Count(before));
        }
    }
    p
}

/// One cell of T3 or T4.
#[derive(Clone, Copy, Debug)]
enum Cell {
    T3(T3Row, T3Col),
    T4(T4Block, T4Col),
}

impl Cell {
    fn path(self) -> String {
        match self {
            Cell::T3(row, col) => format!("t3.{}.{}", row_id(row), col.spec().key),
            Cell::T4(block, col) => format!("t4.{}.{}", block.spec().key, col.spec().key),
        }
    }
}

/// Any T3 cell of a format, or any T4 cell.
fn any_cell(format: FormatVersion) -> impl Strategy<Value = Cell> {
    prop_oneof![
        3 => (select(rows(format).to_vec()), select(T3_COLS.to_vec()))
            .prop_map(|(r, c)| Cell::T3(r, c)),
        1 => (select(T4_BLOCKS_ALL.to_vec()), select(T4_COLS.to_vec()))
            .prop_map(|(b, c)| Cell::T4(b, c)),
    ]
}

/// The (rule, location) pairs that a change to `cell` must raise, from the
/// relations of SPEC.md: 总计 = Σ applicant columns in each T3 row;
/// R24 = Σ outcome rows in each column; R01 + R02 = R24 + R25 in each column;
/// 总计 = Σ parts in each T4 block.
fn expected_findings(format: FormatVersion, cell: Cell) -> BTreeSet<(&'static str, String)> {
    let mut out = BTreeSet::new();
    match cell {
        Cell::T3(row, col) => {
            let key = col.spec().key;
            out.insert((id::T3_ROW_TOTAL, format!("t3.{}.total", row_id(row))));
            if row == T3Row::R24 || outcome_rows(format).contains(&row) {
                out.insert((id::T3_OUTCOME_TOTAL, format!("t3.R24.{key}")));
            }
            if matches!(row, T3Row::R01 | T3Row::R02 | T3Row::R24 | T3Row::R25) {
                out.insert((id::T3_BALANCE, format!("t3.R25.{key}")));
            }
        }
        Cell::T4(block, _) => {
            out.insert((id::T4_BLOCK_TOTAL, format!("t4.{}.total", block.spec().key)));
        }
    }
    out
}

fn add(r: &mut Report, cell: Cell, delta: u64) {
    match cell {
        Cell::T3(row, col) => {
            let t = t3(r);
            t.set(row, col, t.get(row, col) + delta);
        }
        Cell::T4(block, col) => {
            let t = t4(r);
            t.set(block, col, t.get(block, col) + delta);
        }
    }
}

/// Any report the wire can carry: values need not add up, fees may be
/// negative or finer than the 分, tables and sections may be missing.
fn arbitrary_report(format: FormatVersion) -> impl Strategy<Value = Report> {
    let t3_rows = rows(format);
    let t3 = option::of(vec(any::<u64>(), t3_rows.len() * 7)).prop_map(move |cells| {
        cells.map(|cells| {
            let mut t = T3::default();
            for (i, row) in rows(format).iter().enumerate() {
                for (j, col) in T3_COLS.iter().enumerate() {
                    t.set(*row, *col, cells[i * 7 + j]);
                }
            }
            t
        })
    });
    let t4 = option::of(vec(any::<u64>(), 15)).prop_map(|cells| {
        cells.map(|cells| {
            let mut t = T4::default();
            for (i, b) in T4_BLOCKS_ALL.iter().enumerate() {
                for (j, c) in T4_COLS.iter().enumerate() {
                    t.set(*b, *c, cells[i * 5 + j]);
                }
            }
            t
        })
    });
    let trimmed = |s: String| s.trim().to_owned();
    let some_trimmed = |s: Option<String>| {
        s.map(|s| s.trim().to_owned())
            .filter(|s: &String| !s.is_empty())
    };
    let metadata = (
        option::of("[0-9A-Z ]{0,20}").prop_map(some_trimmed),
        "\\PC{0,24}".prop_map(trimmed),
        option::of("[0-9]{0,7}").prop_map(some_trimmed),
        any::<u32>(),
        option::of((1i32..=9999, 1u32..=366)),
        option::of(select(vec![
            AgencyLevel::National,
            AgencyLevel::Provincial,
            AgencyLevel::Prefectural,
            AgencyLevel::County,
            AgencyLevel::Township,
        ])),
    )
        .prop_map(
            |(agency_uscc, agency_name, region_code, data_year, date, agency_level)| Metadata {
                agency_uscc,
                agency_name,
                region_code,
                data_year,
                publication_date: date.and_then(|(y, d)| NaiveDate::from_yo_opt(y, d)),
                agency_level,
            },
        );
    (
        metadata,
        vec(option::of(any::<String>()), 6),
        option::of(t2_values(format, false)),
        t3,
        t4,
    )
        .prop_map(move |(metadata, sections, t2, t3, t4)| Report {
            metadata,
            format,
            sections: std::array::from_fn(|i| sections[i].clone()),
            t2,
            t3,
            t4,
        })
}

/// Marks rows as not in the document: of every row of the report's tables
/// (T2's rows, T3's rows, T4's blocks, in table order), those at `picks`
/// (taken modulo their number). Returns their location paths (`t2.licensing`,
/// `t3.R21`, `t4.litigation_direct`), in table order.
fn with_absent_rows(r: &mut Report, picks: &[usize]) -> Vec<String> {
    let layout = r.format.t2_layout();
    let mut all: Vec<String> = Vec::new();
    if r.t2.is_some() {
        let t2_rows = layout.blocks.iter().flat_map(|b| b.rows.iter());
        all.extend(t2_rows.map(|row| format!("t2.{}", row.key)));
    }
    if r.t3.is_some() {
        all.extend(
            rows(r.format)
                .iter()
                .map(|row| format!("t3.{}", row_id(*row))),
        );
    }
    if r.t4.is_some() {
        all.extend(T4_BLOCKS_ALL.iter().map(|b| format!("t4.{}", b.spec().key)));
    }
    if all.is_empty() {
        return all;
    }
    let picked: BTreeSet<usize> = picks.iter().map(|i| i % all.len()).collect();
    let absent: Vec<String> = picked.into_iter().map(|i| all[i].clone()).collect();
    for path in &absent {
        match path.split_once('.').unwrap() {
            ("t2", key) => r.t2.as_mut().unwrap().set_row_absent(layout, key),
            ("t3", id) => {
                let row = *rows(r.format)
                    .iter()
                    .find(|row| row_id(**row) == id)
                    .unwrap();
                t3(r).set_absent(row);
            }
            (_, key) => {
                let b = *T4_BLOCKS_ALL.iter().find(|b| b.spec().key == key).unwrap();
                t4(r).set_absent(b);
            }
        }
    }
    absent
}

/// Whether a cell path (`t3.R21.total`, `t3.R21`, `previous.t3.R25.total`)
/// names a cell of the row at `row` (`t3.R21`).
fn names_row(cell: &str, row: &str) -> bool {
    cell.strip_prefix(row)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// The error findings, other than `import.row-missing`, that name a cell of
/// an absent row of this year's (`absent`) or last year's (`previous`) report.
fn errors_over_absent_cells<'f>(
    fs: &'f [gongkai_domain::Finding],
    absent: &[String],
    previous: &[String],
) -> Vec<&'f gongkai_domain::Finding> {
    fs.iter()
        .filter(|f| f.severity == Severity::Error && f.rule != id::IMPORT_ROW_MISSING)
        .filter(|f| {
            std::iter::once(f.location.path())
                .chain(f.cells.iter().cloned())
                .any(|cell| {
                    absent.iter().any(|row| names_row(&cell, row))
                        || previous
                            .iter()
                            .any(|row| names_row(&cell, &format!("previous.{row}")))
                })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    /// (a) A consistent report gives no findings: no arithmetic rule
    /// (t3.*, t4.*, value.range) and, with its prose filled, nothing else.
    #[test]
    fn consistent_reports_give_no_findings(r in consistent_report_any_format()) {
        let fs = check(&r, None).unwrap();
        prop_assert!(fs.is_empty(), "{:#?}", fs);
    }

    /// (a) … and checked against a consistent previous year, still none.
    #[test]
    fn consistent_reports_with_a_consistent_previous_year_give_no_findings(
        r in consistent_report_any_format()
    ) {
        let p = previous_of(&r);
        let fs = check(&r, Some(&p)).unwrap();
        prop_assert!(fs.is_empty(), "{:#?}", fs);
    }

    /// (b) Adding delta ≥ 1 to one T3 or T4 cell raises exactly the relations
    /// that cover that cell, each naming the cell and off by exactly delta.
    #[test]
    fn one_changed_cell_raises_exactly_the_rules_that_cover_it(
        (format, r, cell) in select(FORMATS.to_vec())
            .prop_flat_map(|f| (Just(f), consistent_report(f), any_cell(f))),
        delta in 1u64..=1_000_000,
    ) {
        let mut r = r;
        add(&mut r, cell, delta);
        let fs = check(&r, None).unwrap();
        let fired: BTreeSet<(&'static str, String)> =
            fs.iter().map(|f| (f.rule, f.location.path())).collect();
        prop_assert_eq!(fired.len(), fs.len(), "a finding is repeated: {:#?}", fs);
        prop_assert_eq!(&fired, &expected_findings(format, cell), "{:?} +{}", cell, delta);
        let path = cell.path();
        for f in &fs {
            prop_assert_eq!(f.severity, Severity::Error);
            prop_assert!(f.cells.contains(&path), "{} does not list {}: {:?}", f.rule, path, f.cells);
            let (Some(Value::Count(e)), Some(Value::Count(a))) = (f.expected, f.actual) else {
                return Err(TestCaseError::fail(format!("no counts in {f:?}")));
            };
            prop_assert_eq!(e.abs_diff(a), delta, "{:?}", f);
        }
    }

    /// (b) A cell of a row the format does not have is not looked at.
    #[test]
    fn a_row_outside_the_format_raises_nothing(
        (r, row) in select(FORMATS.to_vec()).prop_flat_map(|f| {
            let absent = match f {
                FormatVersion::Current2021 => vec![T3Row::OtherHandlingTrial],
                FormatVersion::Trial2019 => vec![T3Row::R21, T3Row::R22, T3Row::R23],
            };
            (consistent_report(f), select(absent))
        }),
        col in select(T3_COLS.to_vec()),
        value in 1u64..,
    ) {
        let mut r = r;
        t3(&mut r).set(row, col, value);
        let fs = check(&r, None).unwrap();
        prop_assert!(fs.is_empty(), "{:#?}", fs);
    }

    /// (c) The wire mapping is exact, in both formats.
    #[test]
    fn wire_round_trip_gives_back_the_same_report(
        r in prop_oneof![
            arbitrary_report(FormatVersion::Current2021),
            arbitrary_report(FormatVersion::Trial2019),
        ]
    ) {
        let wire = pb::AnnualReport::from(&r);
        let back = Report::try_from(&wire);
        prop_assert_eq!(back, Ok(r));
    }

    /// (c) … and so are the consistent reports of (a).
    #[test]
    fn wire_round_trip_of_consistent_reports(r in consistent_report_any_format()) {
        let back = Report::try_from(&pb::AnnualReport::from(&r));
        prop_assert_eq!(back, Ok(r));
    }

    /// (d) No rule reports an error over a cell the document did not
    /// contain: whatever the cells that are there hold (sums that overflow,
    /// values above the bounds, totals that do not add up), no error finding
    /// but `import.row-missing` names a cell of an absent row, this year's or
    /// last year's; each absent row is named by exactly one
    /// `import.row-missing`, and the report with its absent rows goes over
    /// the wire and back unchanged.
    #[test]
    fn no_error_names_a_cell_the_document_did_not_contain(
        (r, p) in select(FORMATS.to_vec())
            .prop_flat_map(|f| (arbitrary_report(f), arbitrary_report(f))),
        picks in vec(any::<usize>(), 0..5),
        previous_picks in vec(any::<usize>(), 0..5),
        year in 2019u32..=2030,
    ) {
        let (mut r, mut p) = (r, p);
        // Last year's report of the same agency.
        r.metadata.data_year = year;
        p.metadata = r.metadata.clone();
        p.metadata.data_year = year - 1;
        let absent = with_absent_rows(&mut r, &picks);
        let previous = with_absent_rows(&mut p, &previous_picks);
        let fs = check(&r, Some(&p)).unwrap();
        let over = errors_over_absent_cells(&fs, &absent, &previous);
        prop_assert!(over.is_empty(), "absent {:?}, previous {:?}: {:#?}", absent, previous, over);
        let named: Vec<String> = fs
            .iter()
            .filter(|f| f.rule == id::IMPORT_ROW_MISSING)
            .map(|f| f.location.path())
            .collect();
        prop_assert_eq!(&named, &absent);
        prop_assert_eq!(r.absent_rows(), absent);
        prop_assert_eq!(Report::try_from(&pb::AnnualReport::from(&r)), Ok(r));
    }

    /// (d) … and a consistent report with rows absent has no other error:
    /// the relations over the rows that are there still hold, and the rules
    /// that need an absent row say, as a warning, that they could not check.
    #[test]
    fn a_consistent_report_with_rows_absent_has_no_error_but_the_missing_rows(
        r in consistent_report_any_format(),
        picks in vec(any::<usize>(), 0..5),
    ) {
        let mut r = r;
        let p = previous_of(&r);
        let absent = with_absent_rows(&mut r, &picks);
        let errors: Vec<(&str, String)> = check(&r, Some(&p))
            .unwrap()
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| (f.rule, f.location.path()))
            .collect();
        let want: Vec<(&str, String)> =
            absent.iter().map(|row| (id::IMPORT_ROW_MISSING, row.clone())).collect();
        prop_assert_eq!(errors, want);
    }
}
