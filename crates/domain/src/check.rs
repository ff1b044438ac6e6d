//! The checker: every catalogue rule that needs only the report (and, for the
//! cross-year rules, last year's report of the same agency).
//!
//! Each rule walks the shape in `shape.rs`; sums are checked, and a sum that
//! overflows is a `value.range` finding in place of the rule it would feed.

use crate::{
    Finding, FormatVersion, Location, Money, Report, Section,
    catalogue::{self, MAX_AMOUNT_WAN_YUAN, MAX_CHANGE, MAX_COUNT, id},
    ids,
    shape::{
        T2, T2Layout, T3, T3_COLUMNS, T3_PARTS, T3Col, T3Row, T4, T4_BLOCKS, T4_COLUMNS, T4_PARTS,
        T4Col, Value, t3_path, t4_path,
    },
    text,
};

/// Why a pair of reports cannot be checked together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The "previous" report is not of the year before.
    #[error(
        "the previous report is for data year {previous}, not {expected} (the year before {year})"
    )]
    NotPreviousYear {
        /// Its year.
        previous: u32,
        /// The year it should be.
        expected: u32,
        /// This report's year.
        year: u32,
    },
    /// The two reports carry different agency codes.
    #[error("the previous report is of agency {previous}, this one of {current}")]
    OtherAgency {
        /// The previous report's agency.
        previous: String,
        /// This report's agency.
        current: String,
    },
}

/// Checks a report, and with `previous` also the cross-year rules. Findings
/// come in catalogue order; each rule's in the order of the table.
pub fn check(report: &Report, previous: Option<&Report>) -> Result<Vec<Finding>, CheckError> {
    if let Some(prev) = previous {
        let year = report.metadata.data_year;
        let expected = year.saturating_sub(1);
        if year == 0 || prev.metadata.data_year != expected {
            return Err(CheckError::NotPreviousYear {
                previous: prev.metadata.data_year,
                expected,
                year,
            });
        }
        if let (Some(a), Some(b)) = (&prev.metadata.agency_uscc, &report.metadata.agency_uscc)
            && a != b
        {
            return Err(CheckError::OtherAgency {
                previous: a.clone(),
                current: b.clone(),
            });
        }
    }
    Ok(run_rules(report, previous))
}

/// Checks a report on its own: every rule but the cross-year ones. Cannot
/// fail, since only a mismatched previous report can.
pub fn check_alone(report: &Report) -> Vec<Finding> {
    run_rules(report, None)
}

/// Only the table rules (T2, T3, T4 arithmetic and ranges): for a sum of
/// reports, which has no prose, metadata or agency of its own. The
/// plausibility bounds are one report's: a sum of many may pass them, so
/// here `value.range` is only an amount below zero or finer than the 分.
pub fn check_tables(report: &Report) -> Vec<Finding> {
    let mut out = Vec::new();
    table_rules(report, Of::Sum, &mut out);
    in_catalogue_order(report, out)
}

/// What the tables checked are: one report's, or a sum of reports.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Of {
    Report,
    Sum,
}

/// Every rule, with `previous` already known to be the year before.
fn run_rules(report: &Report, previous: Option<&Report>) -> Vec<Finding> {
    let mut out = Vec::new();
    metadata_rules(report, &mut out);
    sections_rule(report, &mut out);
    table_rules(report, Of::Report, &mut out);
    if let Some(prev) = previous {
        cross_year_rules(report, prev, &mut out);
    }
    text::text_rules(report, &mut out);
    in_catalogue_order(report, out)
}

/// The rules of each table the report has.
fn table_rules(report: &Report, of: Of, out: &mut Vec<Finding>) {
    absent_rows_rule(report, out);
    range_rules(report, of, out);
    if let Some(t3) = &report.t3 {
        t3_rules(t3, report.format, out);
    }
    if let Some(t4) = &report.t4 {
        t4_rules(t4, out);
    }
    if let Some(t2) = &report.t2 {
        t2_rules(report, t2, out);
    }
}

/// The findings of rules that apply to the report's data year, in catalogue
/// order. A year outside every format's range is itself a finding
/// (report.data-year); nothing else is dropped on account of it.
fn in_catalogue_order(report: &Report, mut out: Vec<Finding>) -> Vec<Finding> {
    let year = Some(report.metadata.data_year)
        .filter(|y| catalogue::KNOWN_YEARS.contains(y))
        .unwrap_or(0);
    out.retain(|f| catalogue::rule(f.rule).is_none_or(|r| r.applies_to(year)));
    // Stable: each rule's findings stay in table order.
    out.sort_by_key(|f| catalogue::position(f.rule));
    out
}

/// Checked sum of counts; `None` on overflow.
fn sum(values: impl IntoIterator<Item = u64>) -> Option<u64> {
    values.into_iter().try_fold(0u64, u64::checked_add)
}

fn overflow(location: Location, cells: Vec<String>, what: &str) -> Finding {
    Finding::new(
        id::VALUE_RANGE,
        location,
        format!("{what}合计超出可表示范围 — the sum for {what} overflows"),
    )
    .cells(cells)
}

fn metadata_rules(r: &Report, out: &mut Vec<Finding>) {
    let m = &r.metadata;
    if let Some(code) = &m.agency_uscc
        && let Err(e) = ids::validate_uscc(code)
    {
        out.push(Finding::new(
            id::AGENCY_USCC,
            Location::row("metadata", "agency_uscc"),
            format!("统一社会信用代码“{code}”有误：{e}"),
        ));
    }
    if let Some(code) = &m.region_code
        && let Err(e) = ids::validate_region_code(code)
    {
        out.push(Finding::new(
            id::AGENCY_REGION_CODE,
            Location::row("metadata", "region_code"),
            format!("行政区划代码“{code}”有误：{e}"),
        ));
    }
    let year = m.data_year;
    if !catalogue::KNOWN_YEARS.contains(&year) {
        let msg = if year == 0 {
            "无法识别数据年度 — the data year is unknown".to_owned()
        } else {
            format!(
                "数据年度{year}不在2019年以来的格式适用范围内 — data year {year} has no national format (2019 on)"
            )
        };
        out.push(Finding::new(
            id::REPORT_DATA_YEAR,
            Location::row("metadata", "data_year"),
            msg,
        ));
    } else {
        let expected = FormatVersion::of_year(year);
        if r.format != expected {
            out.push(Finding::new(
                id::REPORT_FORMAT_VERSION,
                Location::row("metadata", "format_version"),
                format!(
                    "{year}年度报告应使用{expected}，实际使用{} — a {year} report must use the {} format",
                    r.format,
                    if expected == FormatVersion::Current2021 { "2021" } else { "2019 trial" }
                ),
            ));
        }
    }
}

fn sections_rule(r: &Report, out: &mut Vec<Finding>) {
    let tables = [
        true,
        r.t2.is_some(),
        r.t3.is_some(),
        r.t4.is_some(),
        true,
        true,
    ];
    for (i, spec) in crate::SECTIONS.iter().enumerate() {
        // Built only for a finding: most sections are there.
        let location = || Location::row("section", spec.section.number().to_string());
        let text = r.sections[i].as_deref();
        let heading = || spec.section.heading();
        // 二、三、四 are their tables; text beside them is optional.
        let is_table_section = matches!(
            spec.section,
            Section::ActiveDisclosure | Section::Applications | Section::ReconsiderationLitigation
        );
        if (text.is_none() && !is_table_section) || !tables[i] {
            let what = if tables[i] { "部分" } else { "表格" };
            out.push(Finding::new(
                id::REPORT_SECTION_MISSING,
                location(),
                format!(
                    "缺少“{}”{what} — section {} is missing{}",
                    heading(),
                    spec.ordinal,
                    if tables[i] { "" } else { " (its table)" }
                ),
            ));
        } else if text.is_some_and(|t| t.trim().is_empty())
            && matches!(
                spec.section,
                Section::ProblemsAndImprovements | Section::OtherMatters
            )
        {
            out.push(
                Finding::new(
                    id::REPORT_SECTION_MISSING,
                    location(),
                    format!(
                        "“{}”内容为空 — section {} is empty",
                        heading(),
                        spec.ordinal
                    ),
                )
                .severity(crate::Severity::Warning),
            );
        }
    }
}

/// `import.row-missing`: each row the document did not contain. Its cells
/// are unknown, so the report cannot be submitted until they are given.
fn absent_rows_rule(r: &Report, out: &mut Vec<Finding>) {
    let mut missing = |location: Location, label: &str| {
        out.push(Finding::new(
            id::IMPORT_ROW_MISSING,
            location.clone(),
            format!(
                "表格缺少“{label}”一行，其数值未知，相关核对未进行 — row {location} ({label}) is not in the document: its cells are unknown and no rule adds them up"
            ),
        ));
    };
    if let Some(t2) = &r.t2 {
        for row in t2.absent_rows(r.format.t2_layout()) {
            missing(Location::row("t2", row.key), row.label);
        }
    }
    if let Some(t3) = &r.t3 {
        for row in t3.absent_rows(r.format) {
            missing(Location::row("t3", row.spec().id), row.spec().label);
        }
    }
    if let Some(t4) = &r.t4 {
        for b in T4_BLOCKS.iter().filter(|b| t4.is_absent(b.block)) {
            missing(Location::row("t4", b.key), b.label);
        }
    }
}

/// A rule that needs rows the document did not contain says, once, that it
/// could not check, naming them — never a sum over cells nobody published.
fn not_checked(rule: &'static str, location: Location, missing: &[T3Row], what: &str) -> Finding {
    let ids: Vec<&str> = missing.iter().map(|r| r.spec().id).collect();
    Finding::new(
        rule,
        location,
        format!(
            "未能核对{what}：表格缺少{}，其数值未知 — {rule} not checked: the document lacks {}, whose cells it needs",
            ids.join("、"),
            ids.join(", ")
        ),
    )
    .severity(crate::Severity::Warning)
    .cells(ids.iter().map(|id| format!("t3.{id}")))
}

/// The rows of the balance R01 + R02 = R24 + R25.
const BALANCE_ROWS: [T3Row; 4] = [T3Row::R01, T3Row::R02, T3Row::R24, T3Row::R25];

fn t3_rules(t: &T3, format: FormatVersion, out: &mut Vec<Finding>) {
    let outcomes: Vec<T3Row> = T3Row::outcomes_of(format).collect();
    // Each relation is checked only when every row it needs is there.
    let absent = |rows: &[T3Row]| -> Vec<T3Row> {
        rows.iter().copied().filter(|r| t.is_absent(*r)).collect()
    };
    let balance_missing = absent(&BALANCE_ROWS);
    let outcome_missing = absent(&[outcomes.as_slice(), &[T3Row::R24]].concat());
    let (check_balance, check_outcomes) = (balance_missing.is_empty(), outcome_missing.is_empty());
    if !check_balance {
        out.push(not_checked(
            id::T3_BALANCE,
            Location::row("t3", "R25"),
            &balance_missing,
            "第一项加第二项之和与第三项加第四项之和",
        ));
    }
    if !check_outcomes {
        out.push(not_checked(
            id::T3_OUTCOME_TOTAL,
            Location::row("t3", "R24"),
            &outcome_missing,
            "（七）总计与各项之和",
        ));
    }
    // t3.balance and t3.outcome-total, column by column.
    for c in &T3_COLUMNS {
        let col = c.col;
        let g = |row| t.get(row, col);
        // Paths and locations are built only for a finding: this is the hot path.
        let balance_cells = || BALANCE_ROWS.map(|r| t3_path(r, col));
        let here = || Location::cell("t3", "R25", c.key);
        let balance = (
            sum([g(T3Row::R01), g(T3Row::R02)]),
            sum([g(T3Row::R24), g(T3Row::R25)]),
        );
        match balance {
            _ if !check_balance => {}
            (Some(lhs), Some(rhs)) if lhs != rhs => out.push(
                Finding::new(
                    id::T3_BALANCE,
                    here(),
                    format!(
                        "“{label}”列：第一项加第二项之和（{} + {} = {lhs}）不等于第三项加第四项之和（{} + {} = {rhs}） — {key}: R01 + R02 = {} + {} = {lhs}, but R24 + R25 = {} + {} = {rhs}",
                        g(T3Row::R01), g(T3Row::R02), g(T3Row::R24), g(T3Row::R25),
                        g(T3Row::R01), g(T3Row::R02), g(T3Row::R24), g(T3Row::R25),
                        label = c.label, key = c.key,
                    ),
                )
                .values(Value::Count(lhs), Value::Count(rhs))
                .cells(balance_cells()),
            ),
            (Some(_), Some(_)) => {}
            _ => out.push(overflow(here(), balance_cells().to_vec(), &format!("t3.balance {}", c.key))),
        }

        let outcome_cells = || -> Vec<String> {
            std::iter::once(t3_path(T3Row::R24, col))
                .chain(outcomes.iter().map(|r| t3_path(*r, col)))
                .collect()
        };
        let here = || Location::cell("t3", "R24", c.key);
        match sum(outcomes.iter().map(|r| g(*r))) {
            _ if !check_outcomes => {}
            Some(expected) if expected != g(T3Row::R24) => out.push(
                Finding::new(
                    id::T3_OUTCOME_TOTAL,
                    here(),
                    format!(
                        "“{label}”列：（七）总计为{actual}，但（一）至（六）各项之和为{expected} — {key}: R24 is {actual}, but the outcome rows add up to {expected}",
                        label = c.label, key = c.key, actual = g(T3Row::R24),
                    ),
                )
                .values(Value::Count(expected), Value::Count(g(T3Row::R24)))
                .cells(outcome_cells()),
            ),
            Some(_) => {}
            None => out.push(overflow(here(), outcome_cells(), &format!("t3.outcome-total {}", c.key))),
        }
    }
    // t3.row-total, row by row: a row not in the document has nothing to add.
    for row in T3Row::rows_of(format).filter(|r| !t.is_absent(*r)) {
        let spec = row.spec();
        let cells = || -> Vec<String> {
            std::iter::once(t3_path(row, T3Col::Total))
                .chain(T3_PARTS.iter().map(|c| t3_path(row, *c)))
                .collect()
        };
        let here = || Location::cell("t3", spec.id, "total");
        let actual = t.get(row, T3Col::Total);
        match sum(T3_PARTS.iter().map(|c| t.get(row, *c))) {
            Some(expected) if expected != actual => out.push(
                Finding::new(
                    id::T3_ROW_TOTAL,
                    here(),
                    format!(
                        "“{}”行：总计为{actual}，但自然人与各类法人或其他组织之和为{expected} — {} ({}): total is {actual}, but the applicant columns add up to {expected}",
                        spec.label, spec.id, spec.key,
                    ),
                )
                .values(Value::Count(expected), Value::Count(actual))
                .cells(cells()),
            ),
            Some(_) => {}
            None => out.push(overflow(here(), cells(), &format!("t3.row-total {}", spec.id))),
        }
    }
}

fn t4_rules(t: &T4, out: &mut Vec<Finding>) {
    // A block not in the document has nothing to add.
    for b in T4_BLOCKS.iter().filter(|b| !t.is_absent(b.block)) {
        let cells = || -> Vec<String> {
            std::iter::once(t4_path(b.block, T4Col::Total))
                .chain(T4_PARTS.iter().map(|c| t4_path(b.block, *c)))
                .collect()
        };
        let here = || Location::cell("t4", b.key, "total");
        let actual = t.get(b.block, T4Col::Total);
        match sum(T4_PARTS.iter().map(|c| t.get(b.block, *c))) {
            Some(expected) if expected != actual => out.push(
                Finding::new(
                    id::T4_BLOCK_TOTAL,
                    here(),
                    format!(
                        "{}{}：总计为{actual}，但结果维持、结果纠正、其他结果、尚未审结之和为{expected} — {}: total is {actual}, but upheld + corrected + other + pending = {expected}",
                        b.group, b.label, b.key,
                    ),
                )
                .values(Value::Count(expected), Value::Count(actual))
                .cells(cells()),
            ),
            Some(_) => {}
            None => out.push(overflow(here(), cells(), &format!("t4.block-total {}", b.key))),
        }
    }
}

/// `value.range` on every cell, in table order (T2, T3, T4): a count above
/// [`MAX_COUNT`], a change beyond ±[`MAX_CHANGE`], an amount below zero,
/// finer than the 分 or above [`MAX_AMOUNT_WAN_YUAN`]. The bounds are what
/// keeps every area sum from overflowing (see the catalogue).
pub fn range_findings(report: &Report) -> Vec<Finding> {
    let mut out = Vec::new();
    range_rules(report, Of::Report, &mut out);
    out
}

fn range_rules(r: &Report, of: Of, out: &mut Vec<Finding>) {
    if let Some(t2) = &r.t2 {
        for cell in r.format.t2_layout().cells() {
            let here = || Location::cell("t2", cell.row.key, cell.column.key);
            let label = || format!("{}{}", cell.row.label, cell.column.label);
            match t2.get(&cell) {
                Value::Money(m) => {
                    money_in_range(out, here(), cell.row.label, &cell.path(), m, of);
                }
                _ if of == Of::Sum => {}
                Value::Count(n) => count_in_range(out, here, label, n),
                Value::Delta(d) if d.unsigned_abs() > MAX_CHANGE.unsigned_abs() => out.push(
                    Finding::new(
                        id::VALUE_RANGE,
                        here(),
                        format!(
                            "“{}”为{d}，超出合理范围±{MAX_CHANGE} — {}: {d} is beyond the plausible bound of ±{MAX_CHANGE}",
                            label(),
                            cell.path()
                        ),
                    )
                    .values(Value::Delta(MAX_CHANGE.saturating_mul(d.signum())), Value::Delta(d)),
                ),
                Value::Delta(_) => {}
            }
        }
    }
    if of == Of::Sum {
        return;
    }
    if let Some(t3) = &r.t3 {
        for row in T3Row::rows_of(r.format) {
            for c in &T3_COLUMNS {
                count_in_range(
                    out,
                    || Location::cell("t3", row.spec().id, c.key),
                    || format!("{}（{}）", row.spec().label, c.label),
                    t3.get(row, c.col),
                );
            }
        }
    }
    if let Some(t4) = &r.t4 {
        for b in &T4_BLOCKS {
            for c in &T4_COLUMNS {
                count_in_range(
                    out,
                    || Location::cell("t4", b.key, c.key),
                    || format!("{}{}{}", b.group, b.label, c.label),
                    t4.get(b.block, c.col),
                );
            }
        }
    }
}

/// A count above [`MAX_COUNT`]. Locations and labels are made only for a
/// finding: this runs on every cell.
fn count_in_range(
    out: &mut Vec<Finding>,
    here: impl FnOnce() -> Location,
    label: impl FnOnce() -> String,
    n: u64,
) {
    if n <= MAX_COUNT {
        return;
    }
    let here = here();
    let path = here.path();
    out.push(
        Finding::new(
            id::VALUE_RANGE,
            here,
            format!(
                "“{}”为{n}，超出合理上限{MAX_COUNT} — {path} is {n}, above the plausible bound of {MAX_COUNT}",
                label()
            ),
        )
        .values(Value::Count(MAX_COUNT), Value::Count(n)),
    );
}

/// An amount below zero, finer than the 分, or (in one report) above
/// [`MAX_AMOUNT_WAN_YUAN`].
fn money_in_range(
    out: &mut Vec<Finding>,
    here: Location,
    label: &str,
    path: &str,
    m: Money,
    of: Of,
) {
    let max = Money::from_wan_yuan(MAX_AMOUNT_WAN_YUAN);
    if m.is_negative() {
        out.push(
            Finding::new(
                id::VALUE_RANGE,
                here,
                format!("“{label}”金额{m}万元为负数 — {path}: amount {m} is negative"),
            )
            .values(Value::Money(Money::ZERO), Value::Money(m)),
        );
    } else if m.scale() > crate::money::MAX_SCALE {
        out.push(Finding::new(
            id::VALUE_RANGE,
            here,
            format!(
                "“{label}”金额{m}万元精确到分以下（{}位小数，最多6位） — {path}: {m} has {} decimals of 万元, at most 6 (the 分)",
                m.scale(),
                m.scale()
            ),
        ));
    } else if of == Of::Report && m > max {
        // Both are exact to the 分 here, so they compare exactly.
        out.push(
            Finding::new(
                id::VALUE_RANGE,
                here,
                format!(
                    "“{label}”金额{m}万元超出合理上限{max}万元 — {path}: amount {m} is above the plausible bound of {max} 万元"
                ),
            )
            .values(Value::Money(max), Value::Money(m)),
        );
    }
}

fn t2_rules(r: &Report, t2: &T2, out: &mut Vec<Finding>) {
    let layout = r.format.t2_layout();
    if r.format != FormatVersion::Current2021 {
        return;
    }
    for row in ["regulations", "normative_documents"] {
        let (Some(issued), Some(in_force)) = (
            t2.count(layout, row, "issued"),
            t2.count(layout, row, "in_force"),
        ) else {
            continue;
        };
        if in_force < issued {
            let label = layout.cell(row, "in_force").map_or("", |c| c.row.label);
            out.push(
                Finding::new(
                    id::T2_IN_FORCE_BELOW_ISSUED,
                    Location::cell("t2", row, "in_force"),
                    format!(
                        "“{label}”现行有效件数{in_force}少于本年制发件数{issued} — {row}: {in_force} in force is fewer than the {issued} issued this year"
                    ),
                )
                .values(Value::Count(issued), Value::Count(in_force))
                .cells([format!("t2.{row}.issued")]),
            );
        }
    }
    if let Some(level) = r.agency_level().filter(|l| !l.may_make_regulations()) {
        for col in ["issued", "repealed", "in_force"] {
            let n = t2.count(layout, "regulations", col).unwrap_or(0);
            if n > 0 {
                out.push(
                    Finding::new(
                        id::T2_REGULATIONS_UNEXPECTED,
                        Location::cell("t2", "regulations", col),
                        format!(
                            "{}机关无权制定规章，但“规章”一行填报{n} — a {level:?}-level body cannot make 规章, yet t2.regulations.{col} is {n}",
                            match level {
                                crate::AgencyLevel::Township => "乡镇、街道",
                                _ => "县级",
                            }
                        ),
                    )
                    .values(Value::Count(0), Value::Count(n)),
                );
            }
        }
    }
}

fn cross_year_rules(r: &Report, prev: &Report, out: &mut Vec<Finding>) {
    if let (Some(t3), Some(p3)) = (&r.t3, &prev.t3) {
        let (now_absent, then_absent) = (t3.is_absent(T3Row::R02), p3.is_absent(T3Row::R25));
        if now_absent || then_absent {
            let (what, gloss) = if now_absent {
                ("本年上年结转", "this year's R02")
            } else {
                ("上年报告的结转下年度继续办理", "last year's R25")
            };
            out.push(
                Finding::new(
                    id::CROSS_YEAR_CARRY_OVER,
                    Location::row("t3", "R02"),
                    format!(
                        "未能核对上年结转：{what}一行不在文件中 — cross-year.carry-over not checked: {gloss} is not in its document"
                    ),
                )
                .cells(["t3.R02".to_owned(), "previous.t3.R25".to_owned()]),
            );
        } else {
            for c in &T3_COLUMNS {
                let now = t3.get(T3Row::R02, c.col);
                let then = p3.get(T3Row::R25, c.col);
                if now != then {
                    out.push(
                        Finding::new(
                            id::CROSS_YEAR_CARRY_OVER,
                            Location::cell("t3", "R02", c.key),
                            format!(
                                "“{}”列：本年上年结转{now}件，上年报告结转下年度继续办理{then}件 — {}: R02 is {now}, last year's R25 was {then}",
                                c.label, c.key
                            ),
                        )
                        .values(Value::Count(then), Value::Count(now))
                        .cells([format!("previous.{}", t3_path(T3Row::R25, c.col))]),
                    );
                }
            }
        }
    }
    if r.format != FormatVersion::Current2021 || prev.format != FormatVersion::Current2021 {
        return;
    }
    let layout: &T2Layout = r.format.t2_layout();
    let (Some(t2), Some(p2)) = (&r.t2, &prev.t2) else {
        return;
    };
    for row in ["regulations", "normative_documents"] {
        let get = |t: &T2, col| t.count(layout, row, col).map(i128::from);
        let (Some(before), Some(issued), Some(repealed), Some(now)) = (
            get(p2, "in_force"),
            get(t2, "issued"),
            get(t2, "repealed"),
            get(t2, "in_force"),
        ) else {
            continue;
        };
        // i128 holds any u64 ± u64 exactly.
        let Some(expected) = before
            .checked_add(issued)
            .and_then(|v| v.checked_sub(repealed))
        else {
            continue;
        };
        if expected != now {
            let shown = |v: i128| {
                u64::try_from(v)
                    .map(Value::Count)
                    .unwrap_or_else(|_| Value::Delta(i64::try_from(v).unwrap_or(i64::MIN)))
            };
            out.push(
                Finding::new(
                    id::CROSS_YEAR_IN_FORCE,
                    Location::cell("t2", row, "in_force"),
                    format!(
                        "现行有效件数{now}，按上年{before} + 本年制发{issued} − 本年废止{repealed}应为{expected}（如有文件自然失效可说明） — {row}: in force {now}, expected {before} + {issued} − {repealed} = {expected}"
                    ),
                )
                .values(shown(expected), shown(now))
                .cells([format!("t2.{row}.issued"), format!("t2.{row}.repealed"), format!("previous.t2.{row}.in_force")]),
            );
        }
    }
}
