//! One test per rule of the catalogue that `check` emits: a failing case that
//! names the rule, its severity, its location and (where there are numbers)
//! the expected and actual values, and a passing case where it stays silent.

mod common;

use std::collections::BTreeSet;

use common::*;
use gongkai_domain::{
    AgencyLevel, CheckError, Finding, FormatVersion, RULES, Report, Severity, Verdict,
    catalogue::{self, id},
    check,
    shape::{T3Col, T3Row, T4Block, T4Col, Value, t3_path, t4_path},
};

const Y: u32 = 2024;
const F21: FormatVersion = FormatVersion::Current2021;
const F19: FormatVersion = FormatVersion::Trial2019;

fn count(n: u64) -> Option<Value> {
    Some(Value::Count(n))
}

fn assert_shape(f: &Finding, rule: &str, severity: Severity, path: &str) {
    assert_eq!(f.rule, rule, "{f:?}");
    assert_eq!(f.severity, severity, "{f:?}");
    assert_eq!(f.location.path(), path, "{f:?}");
    assert_eq!(f.cells.first().map(String::as_str), Some(path), "{f:?}");
    assert!(f.message.contains(" — "), "no English gloss: {}", f.message);
}

// ---------------------------------------------------------------------------
// The baseline
// ---------------------------------------------------------------------------

#[test]
fn clean_report_gives_no_findings_in_either_format() {
    for (format, year) in [(F21, 2021), (F21, Y), (F19, 2019), (F19, 2020)] {
        let r = clean(format, year);
        let fs = findings(&r);
        assert!(fs.is_empty(), "{format:?} {year}: {fs:#?}");
        assert_eq!(Verdict::of(&fs), Verdict::Valid);
    }
}

#[test]
fn empty_report_warns_only_about_empty_sections_five_and_six() {
    let fs = findings(&Report::empty(F21, Y));
    assert_eq!(fs.len(), 2, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::REPORT_SECTION_MISSING,
        Severity::Warning,
        "section.5",
    );
    assert_shape(
        &fs[1],
        id::REPORT_SECTION_MISSING,
        Severity::Warning,
        "section.6",
    );
    assert_eq!(Verdict::of(&fs), Verdict::ValidWithWarnings);
}

// ---------------------------------------------------------------------------
// t3.balance
// ---------------------------------------------------------------------------

#[test]
fn t3_balance_fires_in_each_column_that_does_not_balance() {
    // The 宝清县 error: R01 + R02 = 78 + 0, R24 + R25 = 78 + 1.
    let mut r = clean(F21, Y);
    let t = t3(&mut r);
    let (r01, r02, r24) = (
        t.get(T3Row::R01, T3Col::NaturalPerson),
        t.get(T3Row::R02, T3Col::NaturalPerson),
        t.get(T3Row::R24, T3Col::NaturalPerson),
    );
    let r25 = t.get(T3Row::R25, T3Col::NaturalPerson);
    t.set(T3Row::R25, T3Col::NaturalPerson, r25 + 1);
    let total25 = t.get(T3Row::R25, T3Col::Total);
    t.set(T3Row::R25, T3Col::Total, total25 + 1);

    let fs = findings(&r);
    assert_eq!(fs.len(), 2, "{fs:#?}");
    let np = &fs[0];
    assert_shape(np, id::T3_BALANCE, Severity::Error, "t3.R25.natural_person");
    assert_eq!(np.expected, count(r01 + r02));
    assert_eq!(np.actual, count(r24 + r25 + 1));
    for row in [T3Row::R01, T3Row::R02, T3Row::R24, T3Row::R25] {
        assert!(
            np.cells.contains(&t3_path(row, T3Col::NaturalPerson)),
            "{np:?}"
        );
    }
    assert_shape(&fs[1], id::T3_BALANCE, Severity::Error, "t3.R25.total");
    assert_eq!(Verdict::of(&fs), Verdict::Invalid);
}

#[test]
fn t3_balance_is_silent_when_every_column_balances() {
    let mut r = clean(F21, Y);
    // One more application received and disclosed (R01, R03, R24 + 1) in
    // 法律服务机构 and in 总计: every relation still holds.
    let t = t3(&mut r);
    for (row, col) in [
        (T3Row::R01, T3Col::LegalServiceAgency),
        (T3Row::R03, T3Col::LegalServiceAgency),
        (T3Row::R24, T3Col::LegalServiceAgency),
        (T3Row::R01, T3Col::Total),
        (T3Row::R03, T3Col::Total),
        (T3Row::R24, T3Col::Total),
    ] {
        let v = t.get(row, col);
        t.set(row, col, v + 1);
    }
    assert!(findings(&r).is_empty());
}

// ---------------------------------------------------------------------------
// t3.outcome-total
// ---------------------------------------------------------------------------

#[test]
fn t3_outcome_total_fires_when_r24_is_not_the_sum_of_the_outcomes() {
    let mut r = clean(F21, Y);
    let t = t3(&mut r);
    let r24 = t.get(T3Row::R24, T3Col::NaturalPerson);
    let r24_total = t.get(T3Row::R24, T3Col::Total);
    // One more 予以公开 in 自然人 (and so in 总计), R24 left alone.
    for col in [T3Col::NaturalPerson, T3Col::Total] {
        let v = t.get(T3Row::R03, col);
        t.set(T3Row::R03, col, v + 1);
    }

    let fs = findings(&r);
    assert_eq!(fs.len(), 2, "{fs:#?}");
    let f = &fs[0];
    assert_shape(
        f,
        id::T3_OUTCOME_TOTAL,
        Severity::Error,
        "t3.R24.natural_person",
    );
    assert_eq!(f.expected, count(r24 + 1));
    assert_eq!(f.actual, count(r24));
    assert_eq!(f.cells.len(), 1 + 21, "R24 and the 21 outcome rows: {f:?}");
    assert!(f.cells.contains(&"t3.R03.natural_person".to_owned()));
    assert!(f.cells.contains(&"t3.R23.natural_person".to_owned()));
    assert_shape(
        &fs[1],
        id::T3_OUTCOME_TOTAL,
        Severity::Error,
        "t3.R24.total",
    );
    assert_eq!(fs[1].expected, count(r24_total + 1));
    assert_eq!(fs[1].actual, count(r24_total));
}

#[test]
fn t3_outcome_total_is_silent_when_outcomes_move_between_rows() {
    let mut r = clean(F21, Y);
    let t = t3(&mut r);
    // One application re-classified from 予以公开 to 部分公开.
    for col in [T3Col::ResearchInstitution, T3Col::Total] {
        let (a, b) = (t.get(T3Row::R03, col), t.get(T3Row::R04, col));
        t.set(T3Row::R03, col, a - 1);
        t.set(T3Row::R04, col, b + 1);
    }
    assert!(findings(&r).is_empty());
}

#[test]
fn t3_outcome_total_in_the_trial_format_counts_the_single_other_row() {
    let mut r = clean(F19, 2020);
    let t = t3(&mut r);
    let v = t.get(T3Row::OtherHandlingTrial, T3Col::NaturalPerson);
    t.set(T3Row::OtherHandlingTrial, T3Col::NaturalPerson, v + 2);
    t.set(T3Row::OtherHandlingTrial, T3Col::Total, v * 6 + 2);
    let fs = findings(&r);
    assert_eq!(fs.len(), 2, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::T3_OUTCOME_TOTAL,
        Severity::Error,
        "t3.R24.natural_person",
    );
    assert_eq!(
        fs[0].cells.len(),
        1 + 19,
        "R24 and the 19 trial outcome rows"
    );
    assert!(
        fs[0]
            .cells
            .contains(&"t3.other_handling_trial.natural_person".to_owned())
    );
    assert!(!fs[0].cells.iter().any(|c| c.starts_with("t3.R21.")));
    assert_shape(
        &fs[1],
        id::T3_OUTCOME_TOTAL,
        Severity::Error,
        "t3.R24.total",
    );

    // Rows R21..R23 do not exist in the trial format: values there are ignored.
    let mut r = clean(F19, 2020);
    for row in [T3Row::R21, T3Row::R22, T3Row::R23] {
        t3(&mut r).set(row, T3Col::NaturalPerson, 9);
    }
    assert!(findings(&r).is_empty());
}

// ---------------------------------------------------------------------------
// t3.row-total
// ---------------------------------------------------------------------------

#[test]
fn t3_row_total_fires_in_each_row_whose_total_is_wrong() {
    let mut r = clean(F21, Y);
    let t = t3(&mut r);
    let parts_03 = t.get(T3Row::R03, T3Col::Total);
    let parts_04 = t.get(T3Row::R04, T3Col::Total);
    // Shift one from R04's total to R03's: the total column still adds up.
    t.set(T3Row::R03, T3Col::Total, parts_03 + 1);
    t.set(T3Row::R04, T3Col::Total, parts_04 - 1);

    let fs = findings(&r);
    assert_eq!(fs.len(), 2, "{fs:#?}");
    assert_shape(&fs[0], id::T3_ROW_TOTAL, Severity::Error, "t3.R03.total");
    assert_eq!(fs[0].expected, count(parts_03));
    assert_eq!(fs[0].actual, count(parts_03 + 1));
    assert_eq!(fs[0].cells.len(), 7);
    assert!(
        fs[0]
            .cells
            .contains(&"t3.R03.other_organization".to_owned())
    );
    assert_shape(&fs[1], id::T3_ROW_TOTAL, Severity::Error, "t3.R04.total");
    assert_eq!(fs[1].expected, count(parts_04));
    assert_eq!(fs[1].actual, count(parts_04 - 1));
}

#[test]
fn t3_row_total_is_silent_when_totals_follow_their_rows() {
    // R02 and R25 both +1 in one column, and totals follow: every relation holds.
    let mut r = clean(F21, Y);
    let t = t3(&mut r);
    for row in [T3Row::R02, T3Row::R25] {
        for col in [T3Col::SocialWelfareOrganization, T3Col::Total] {
            let v = t.get(row, col);
            t.set(row, col, v + 1);
        }
    }
    assert!(findings(&r).is_empty());
}

// ---------------------------------------------------------------------------
// t4.block-total
// ---------------------------------------------------------------------------

#[test]
fn t4_block_total_fires_for_the_block_that_does_not_add_up() {
    let mut r = clean(F21, Y);
    t4(&mut r).set(T4Block::Reconsideration, T4Col::Total, 5);
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    let f = &fs[0];
    assert_shape(
        f,
        id::T4_BLOCK_TOTAL,
        Severity::Error,
        "t4.reconsideration.total",
    );
    assert_eq!(f.expected, count(4));
    assert_eq!(f.actual, count(5));
    assert_eq!(f.cells.len(), 5);
    for c in [
        T4Col::Upheld,
        T4Col::Corrected,
        T4Col::OtherResult,
        T4Col::Pending,
    ] {
        assert!(f.cells.contains(&t4_path(T4Block::Reconsideration, c)));
    }

    let mut r = clean(F21, Y);
    t4(&mut r).set(T4Block::LitigationAfterReconsideration, T4Col::Pending, 7);
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::T4_BLOCK_TOTAL,
        Severity::Error,
        "t4.litigation_after_reconsideration.total",
    );
    assert_eq!((fs[0].expected, fs[0].actual), (count(10), count(3)));
}

#[test]
fn t4_block_total_is_silent_when_every_block_adds_up() {
    let mut r = clean(F21, Y);
    let t = t4(&mut r);
    t.set(T4Block::LitigationDirect, T4Col::Pending, 3);
    t.set(T4Block::LitigationDirect, T4Col::Total, 4);
    assert!(findings(&r).is_empty());
}

// ---------------------------------------------------------------------------
// value.range
// ---------------------------------------------------------------------------

#[test]
fn value_range_fires_for_a_negative_fee() {
    let mut r = clean(F21, Y);
    set_t2(&mut r, "fees", "amount", Value::Money(money("-1.5")));
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(&fs[0], id::VALUE_RANGE, Severity::Error, "t2.fees.amount");
    assert_eq!(fs[0].expected, Some(Value::Money(money("0"))));
    assert_eq!(fs[0].actual, Some(Value::Money(money("-1.5"))));

    // The trial format's 采购总金额 too.
    let mut r = clean(F19, 2020);
    set_t2(
        &mut r,
        "procurement",
        "amount",
        Value::Money(money("-0.01")),
    );
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::VALUE_RANGE,
        Severity::Error,
        "t2.procurement.amount",
    );
}

#[test]
fn value_range_fires_for_a_fee_finer_than_the_fen() {
    let mut r = clean(F21, Y);
    set_t2(&mut r, "fees", "amount", Value::Money(money("1.1234567")));
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(&fs[0], id::VALUE_RANGE, Severity::Error, "t2.fees.amount");
    assert!(fs[0].message.contains("1.1234567"), "{}", fs[0].message);
}

#[test]
fn value_range_is_silent_for_fees_exact_to_the_fen() {
    for s in ["0", "0.000001", "14852.1812", "12.500000", "999999999.99"] {
        let mut r = clean(F21, Y);
        set_t2(&mut r, "fees", "amount", Value::Money(money(s)));
        assert!(findings(&r).is_empty(), "{s}");
    }
}

/// A cell above the bound is a `value.range` finding of its own; where such
/// cells make a rule's sum overflow, that is one more, in place of the rule.
#[test]
fn value_range_replaces_t3_balance_when_its_sum_overflows() {
    let mut r = blank(F21, Y);
    let t = t3(&mut r);
    for col in [T3Col::NaturalPerson, T3Col::Total] {
        t.set(T3Row::R01, col, u64::MAX);
        t.set(T3Row::R02, col, 1);
    }
    let fs = findings(&r);
    assert_eq!(
        paths(&of_rule(&fs, id::VALUE_RANGE)),
        [
            "t3.R01.natural_person",
            "t3.R01.total",
            "t3.R25.natural_person",
            "t3.R25.total"
        ],
        "{fs:#?}"
    );
    assert_eq!(fs.len(), 4, "{fs:#?}");
    assert_eq!(fs[0].actual, count(u64::MAX));
    assert_shape(
        &fs[2],
        id::VALUE_RANGE,
        Severity::Error,
        "t3.R25.natural_person",
    );
    for row in [T3Row::R01, T3Row::R02, T3Row::R24, T3Row::R25] {
        assert!(fs[2].cells.contains(&t3_path(row, T3Col::NaturalPerson)));
    }
    assert_shape(&fs[3], id::VALUE_RANGE, Severity::Error, "t3.R25.total");
    assert!(of_rule(&fs, id::T3_BALANCE).is_empty());
}

#[test]
fn value_range_replaces_t3_outcome_total_and_row_total_on_overflow() {
    let mut r = blank(F21, Y);
    let t = t3(&mut r);
    t.set(T3Row::R03, T3Col::NaturalPerson, u64::MAX);
    t.set(T3Row::R04, T3Col::NaturalPerson, 1);
    t.set(T3Row::R03, T3Col::Total, u64::MAX);
    t.set(T3Row::R04, T3Col::Total, 1);
    let fs = findings(&r);
    assert_eq!(
        paths(&of_rule(&fs, id::VALUE_RANGE)),
        [
            "t3.R03.natural_person",
            "t3.R03.total",
            "t3.R24.natural_person",
            "t3.R24.total"
        ]
    );
    assert!(of_rule(&fs, id::T3_OUTCOME_TOTAL).is_empty(), "{fs:#?}");

    let mut r = blank(F21, Y);
    let t = t3(&mut r);
    t.set(T3Row::R17, T3Col::NaturalPerson, u64::MAX);
    t.set(T3Row::R17, T3Col::OtherOrganization, 1);
    let fs = findings(&r);
    let range = of_rule(&fs, id::VALUE_RANGE);
    assert_eq!(
        paths(&range),
        ["t3.R17.natural_person", "t3.R17.total"],
        "{fs:#?}"
    );
    assert_eq!(range[1].cells.len(), 7);
    assert!(
        !of_rule(&fs, id::T3_ROW_TOTAL)
            .iter()
            .any(|f| f.location.row == "R17"),
        "{fs:#?}"
    );
}

#[test]
fn value_range_replaces_t4_block_total_on_overflow() {
    let mut r = blank(F21, Y);
    let t = t4(&mut r);
    t.set(T4Block::LitigationDirect, T4Col::Upheld, u64::MAX);
    t.set(T4Block::LitigationDirect, T4Col::Corrected, 1);
    let fs = findings(&r);
    assert_eq!(fs.len(), 2, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::VALUE_RANGE,
        Severity::Error,
        "t4.litigation_direct.upheld",
    );
    assert_shape(
        &fs[1],
        id::VALUE_RANGE,
        Severity::Error,
        "t4.litigation_direct.total",
    );
}

/// The bound, not the type, is the largest count: sums of counts at the
/// bound are far from overflowing, and say nothing.
#[test]
fn value_range_is_silent_for_the_largest_counts_within_the_bound() {
    let mut r = blank(F21, Y);
    let t = t3(&mut r);
    for col in [T3Col::NaturalPerson, T3Col::Total] {
        t.set(T3Row::R01, col, catalogue::MAX_COUNT - 1);
        t.set(T3Row::R02, col, 1);
        t.set(T3Row::R03, col, catalogue::MAX_COUNT);
        t.set(T3Row::R24, col, catalogue::MAX_COUNT);
    }
    assert!(findings(&r).is_empty(), "{:#?}", findings(&r));
}

// ---------------------------------------------------------------------------
// agency.uscc, agency.region-code
// ---------------------------------------------------------------------------

#[test]
fn agency_uscc_fires_for_a_wrong_check_character() {
    for (code, right) in [("11330700099033995J", 'K'), ("11341702486344515G", 'H')] {
        let mut r = clean(F21, Y);
        r.metadata.agency_uscc = Some(code.to_owned());
        let fs = findings(&r);
        assert_eq!(fs.len(), 1, "{fs:#?}");
        assert_shape(
            &fs[0],
            id::AGENCY_USCC,
            Severity::Error,
            "metadata.agency_uscc",
        );
        assert!(fs[0].message.contains(code), "{}", fs[0].message);
        assert!(
            fs[0]
                .message
                .contains(&format!("check character should be {right}")),
            "{}",
            fs[0].message
        );
    }
}

#[test]
fn agency_uscc_fires_for_malformed_codes() {
    for code in [
        "1133070009903399",    // too short
        "I1330700099033995K",  // I is not in the alphabet
        "113A0700099033995K",  // positions 3–8 are digits
        "11330700099033995Ｋ", // full-width K
    ] {
        let mut r = clean(F21, Y);
        r.metadata.agency_uscc = Some(code.to_owned());
        let fs = findings(&r);
        assert_eq!(fs.len(), 1, "{code}: {fs:#?}");
        assert_shape(
            &fs[0],
            id::AGENCY_USCC,
            Severity::Error,
            "metadata.agency_uscc",
        );
    }
}

#[test]
fn agency_uscc_is_silent_for_valid_or_absent_codes() {
    for code in [Some(USCC_JINHUA), Some(USCC_NINGGUO), None] {
        let mut r = clean(F21, Y);
        r.metadata.agency_uscc = code.map(str::to_owned);
        assert!(findings(&r).is_empty(), "{code:?}");
    }
}

#[test]
fn agency_region_code_fires_for_a_malformed_or_unknown_code() {
    for code in ["990523", "23052", "23O523", "230023"] {
        let mut r = clean(F21, Y);
        r.metadata.region_code = Some(code.to_owned());
        let fs = findings(&r);
        assert_eq!(fs.len(), 1, "{code}: {fs:#?}");
        assert_shape(
            &fs[0],
            id::AGENCY_REGION_CODE,
            Severity::Error,
            "metadata.region_code",
        );
        assert!(fs[0].message.contains(code));
    }
}

#[test]
fn agency_region_code_is_silent_for_real_codes() {
    for code in [Some("230523"), Some("330700"), Some("110000"), None] {
        let mut r = clean(F21, Y);
        r.metadata.region_code = code.map(str::to_owned);
        // 规章 are zero so that a county code raises nothing else.
        set_t2(&mut r, "regulations", "issued", Value::Count(0));
        set_t2(&mut r, "regulations", "in_force", Value::Count(0));
        assert!(findings(&r).is_empty(), "{code:?}: {:#?}", findings(&r));
    }
}

// ---------------------------------------------------------------------------
// report.data-year, report.format-version
// ---------------------------------------------------------------------------

#[test]
fn report_data_year_fires_for_an_unknown_year() {
    let r = clean(F21, 0);
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::REPORT_DATA_YEAR,
        Severity::Error,
        "metadata.data_year",
    );
    // No format-version finding is raised for a year that is not known.
    assert!(of_rule(&fs, id::REPORT_FORMAT_VERSION).is_empty());
}

#[test]
fn report_data_year_fires_for_a_year_after_the_formats_range() {
    let r = clean(F21, 2101);
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::REPORT_DATA_YEAR,
        Severity::Error,
        "metadata.data_year",
    );
}

/// BUG (check.rs): `check` keeps only findings whose rule `applies_to` the
/// data year, and every rule starts in 2019, so for a data year before 2019
/// the `report.data-year` finding raised for that very year is dropped again —
/// along with every other finding. A 2018 report checks as valid.
#[test]

fn report_data_year_fires_for_a_year_before_2019() {
    let r = clean(F19, 2018);
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::REPORT_DATA_YEAR,
        Severity::Error,
        "metadata.data_year",
    );
}

#[test]
fn report_data_year_is_silent_for_years_with_a_format() {
    for (format, year) in [(F19, 2019), (F19, 2020), (F21, 2021), (F21, Y), (F21, 2100)] {
        assert!(findings(&clean(format, year)).is_empty(), "{year}");
    }
}

#[test]
fn report_format_version_fires_for_the_wrong_format_for_the_year() {
    let fs = findings(&clean(F19, Y));
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::REPORT_FORMAT_VERSION,
        Severity::Error,
        "metadata.format_version",
    );
    assert!(fs[0].message.contains("2024"));

    let fs = findings(&clean(F21, 2020));
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::REPORT_FORMAT_VERSION,
        Severity::Error,
        "metadata.format_version",
    );
}

#[test]
fn report_format_version_is_silent_for_the_right_format() {
    for (format, year) in [(F19, 2019), (F19, 2020), (F21, 2021), (F21, 2025)] {
        let fs = findings(&clean(format, year));
        assert!(of_rule(&fs, id::REPORT_FORMAT_VERSION).is_empty(), "{year}");
    }
}

// ---------------------------------------------------------------------------
// report.section-missing
// ---------------------------------------------------------------------------

#[test]
fn report_section_missing_is_an_error_for_a_missing_section() {
    for i in [0usize, 4, 5] {
        let mut r = clean(F21, Y);
        r.sections[i] = None;
        let fs = findings(&r);
        assert_eq!(fs.len(), 1, "section {}: {fs:#?}", i + 1);
        assert_shape(
            &fs[0],
            id::REPORT_SECTION_MISSING,
            Severity::Error,
            &format!("section.{}", i + 1),
        );
    }
}

#[test]
fn report_section_missing_is_an_error_for_a_missing_table() {
    let mut r = clean(F21, Y);
    r.t3 = None;
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::REPORT_SECTION_MISSING,
        Severity::Error,
        "section.3",
    );
    assert!(fs[0].message.contains("表格"), "{}", fs[0].message);

    let mut r = clean(F21, Y);
    r.t2 = None;
    r.t4 = None;
    let fs = findings(&r);
    assert_eq!(
        paths(&fs.iter().collect::<Vec<_>>()),
        ["section.2", "section.4"]
    );
    assert!(fs.iter().all(|f| f.severity == Severity::Error));
}

#[test]
fn report_section_missing_is_a_warning_for_an_empty_section_five_or_six() {
    for (i, text) in [(4usize, ""), (5, ""), (4, "  \n\t"), (5, "\u{3000}")] {
        let mut r = clean(F21, Y);
        r.sections[i] = Some(text.to_owned());
        let fs = findings(&r);
        assert_eq!(fs.len(), 1, "section {}: {fs:#?}", i + 1);
        assert_shape(
            &fs[0],
            id::REPORT_SECTION_MISSING,
            Severity::Warning,
            &format!("section.{}", i + 1),
        );
        assert_eq!(Verdict::of(&fs), Verdict::ValidWithWarnings);
    }
}

#[test]
fn report_section_missing_is_silent_for_present_sections() {
    // 一..四 may be empty text (二..四 are their tables); 五 and 六 have text.
    let mut r = clean(F21, Y);
    r.sections[0] = Some(String::new());
    assert!(findings(&r).is_empty());
}

// ---------------------------------------------------------------------------
// t2.in-force-below-issued
// ---------------------------------------------------------------------------

#[test]
fn t2_in_force_below_issued_fires_per_row() {
    let mut r = clean(F21, Y);
    set_t2(&mut r, "normative_documents", "issued", Value::Count(21));
    set_t2(&mut r, "regulations", "in_force", Value::Count(0));
    let fs = findings(&r);
    assert_eq!(fs.len(), 2, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::T2_IN_FORCE_BELOW_ISSUED,
        Severity::Warning,
        "t2.regulations.in_force",
    );
    assert_eq!((fs[0].expected, fs[0].actual), (count(1), count(0)));
    assert!(fs[0].cells.contains(&"t2.regulations.issued".to_owned()));
    assert_shape(
        &fs[1],
        id::T2_IN_FORCE_BELOW_ISSUED,
        Severity::Warning,
        "t2.normative_documents.in_force",
    );
    assert_eq!((fs[1].expected, fs[1].actual), (count(21), count(20)));
    assert_eq!(Verdict::of(&fs), Verdict::ValidWithWarnings);
}

#[test]
fn t2_in_force_below_issued_is_silent_when_in_force_is_at_least_issued() {
    let mut r = clean(F21, Y);
    set_t2(&mut r, "normative_documents", "issued", Value::Count(20));
    assert!(findings(&r).is_empty());
}

// ---------------------------------------------------------------------------
// t2.regulations-unexpected
// ---------------------------------------------------------------------------

/// A named change to a report's metadata.
type Case = (&'static str, fn(&mut Report));

fn with_regulations(r: &mut Report) {
    r.metadata.agency_uscc = None;
    r.metadata.region_code = None;
    r.metadata.agency_level = None;
    r.metadata.agency_name = String::new();
    set_t2(r, "regulations", "issued", Value::Count(1));
    set_t2(r, "regulations", "repealed", Value::Count(0));
    set_t2(r, "regulations", "in_force", Value::Count(2));
}

#[test]
fn t2_regulations_unexpected_fires_for_county_and_township_bodies() {
    let cases: [Case; 5] = [
        ("stated county level", |r| {
            r.metadata.agency_level = Some(AgencyLevel::County);
        }),
        ("county region code", |r| {
            r.metadata.region_code = Some("230523".to_owned());
        }),
        ("county government's name", |r| {
            r.metadata.agency_name = "宝清县人民政府".to_owned();
        }),
        ("township name", |r| {
            r.metadata.agency_name = "宝清县七星泡镇人民政府".to_owned();
        }),
        ("stated township level", |r| {
            r.metadata.agency_level = Some(AgencyLevel::Township);
        }),
    ];
    for (what, set) in cases {
        let mut r = clean(F21, Y);
        with_regulations(&mut r);
        set(&mut r);
        let fs = findings(&r);
        assert_eq!(fs.len(), 2, "{what}: {fs:#?}");
        assert_shape(
            &fs[0],
            id::T2_REGULATIONS_UNEXPECTED,
            Severity::Warning,
            "t2.regulations.issued",
        );
        assert_eq!(
            (fs[0].expected, fs[0].actual),
            (count(0), count(1)),
            "{what}"
        );
        assert_shape(
            &fs[1],
            id::T2_REGULATIONS_UNEXPECTED,
            Severity::Warning,
            "t2.regulations.in_force",
        );
        assert_eq!(
            (fs[1].expected, fs[1].actual),
            (count(0), count(2)),
            "{what}"
        );
    }
}

#[test]
fn t2_regulations_unexpected_is_silent_for_bodies_that_may_make_regulations() {
    let cases: [Case; 5] = [
        ("level unknown", |_| {}),
        ("stated prefectural level", |r| {
            r.metadata.agency_level = Some(AgencyLevel::Prefectural);
        }),
        ("prefectural region code", |r| {
            r.metadata.region_code = Some("230500".to_owned());
        }),
        ("prefectural government's name and code", |r| {
            r.metadata.agency_name = "双鸭山市人民政府".to_owned();
            r.metadata.region_code = Some("230500".to_owned());
        }),
        ("provincial department", |r| {
            r.metadata.agency_name = "黑龙江省司法厅".to_owned();
            r.metadata.agency_level = Some(AgencyLevel::Provincial);
        }),
    ];
    for (what, set) in cases {
        let mut r = clean(F21, Y);
        with_regulations(&mut r);
        set(&mut r);
        assert!(findings(&r).is_empty(), "{what}: {:#?}", findings(&r));
    }

    // A county body with no 规章 raises nothing.
    let mut r = clean(F21, Y);
    with_regulations(&mut r);
    r.metadata.agency_name = "宝清县人民政府".to_owned();
    set_t2(&mut r, "regulations", "issued", Value::Count(0));
    set_t2(&mut r, "regulations", "in_force", Value::Count(0));
    assert!(findings(&r).is_empty());
}

// ---------------------------------------------------------------------------
// cross-year.carry-over, cross-year.in-force
// ---------------------------------------------------------------------------

/// Last year's report that agrees with `r` on every cross-year relation.
fn previous_of(r: &Report) -> Report {
    let mut p = r.clone();
    p.metadata.data_year = r.metadata.data_year - 1;
    let now = r.t3.as_ref().unwrap();
    let then = t3(&mut p);
    for col in T3_COLS {
        then.set(T3Row::R25, col, now.get(T3Row::R02, col));
    }
    if r.format == F21 {
        // in force now = before + issued − repealed.
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

#[test]
fn cross_year_rules_are_silent_when_last_year_agrees() {
    for (format, year) in [(F21, Y), (F21, 2022), (F19, 2020)] {
        let r = clean(format, year);
        let p = previous_of(&r);
        assert_eq!(check(&r, Some(&p)), Ok(vec![]), "{year}");
    }
}

#[test]
fn cross_year_carry_over_fires_per_column() {
    let r = clean(F21, Y);
    let mut p = previous_of(&r);
    let now = r.t3.as_ref().unwrap().get(T3Row::R02, T3Col::NaturalPerson);
    let then_total = r.t3.as_ref().unwrap().get(T3Row::R02, T3Col::Total) + 3;
    t3(&mut p).set(T3Row::R25, T3Col::NaturalPerson, now + 3);
    t3(&mut p).set(T3Row::R25, T3Col::Total, then_total);

    let fs = check(&r, Some(&p)).unwrap();
    assert_eq!(fs.len(), 2, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::CROSS_YEAR_CARRY_OVER,
        Severity::Warning,
        "t3.R02.natural_person",
    );
    assert_eq!((fs[0].expected, fs[0].actual), (count(now + 3), count(now)));
    assert!(
        fs[0]
            .cells
            .contains(&"previous.t3.R25.natural_person".to_owned()),
        "{:?}",
        fs[0].cells
    );
    assert_shape(
        &fs[1],
        id::CROSS_YEAR_CARRY_OVER,
        Severity::Warning,
        "t3.R02.total",
    );
    assert_eq!(fs[1].expected, count(then_total));

    // The trial format too.
    let r = clean(F19, 2020);
    let mut p = previous_of(&r);
    t3(&mut p).set(T3Row::R25, T3Col::LegalServiceAgency, 9);
    let fs = check(&r, Some(&p)).unwrap();
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::CROSS_YEAR_CARRY_OVER,
        Severity::Warning,
        "t3.R02.legal_service_agency",
    );
}

#[test]
fn cross_year_carry_over_is_not_checked_without_last_years_report() {
    let mut r = clean(F21, Y);
    // R02 and R01 moved together: this year is consistent on its own.
    let t = t3(&mut r);
    for col in [T3Col::NaturalPerson, T3Col::Total] {
        let (a, b) = (t.get(T3Row::R01, col), t.get(T3Row::R02, col));
        t.set(T3Row::R01, col, a - 1);
        t.set(T3Row::R02, col, b + 1);
    }
    assert!(findings(&r).is_empty());
}

#[test]
fn cross_year_in_force_is_info_with_the_expected_count() {
    let r = clean(F21, Y);
    let mut p = previous_of(&r);
    // Last year 10 in force; this year +3 −1 = 12 expected, 20 stated.
    set_t2(&mut p, "normative_documents", "in_force", Value::Count(10));
    let fs = check(&r, Some(&p)).unwrap();
    assert_eq!(fs.len(), 1, "{fs:#?}");
    let f = &fs[0];
    assert_shape(
        f,
        id::CROSS_YEAR_IN_FORCE,
        Severity::Info,
        "t2.normative_documents.in_force",
    );
    assert_eq!((f.expected, f.actual), (count(12), count(20)));
    for c in [
        "t2.normative_documents.issued",
        "t2.normative_documents.repealed",
        "previous.t2.normative_documents.in_force",
    ] {
        assert!(f.cells.contains(&c.to_owned()), "{c}: {:?}", f.cells);
    }
    assert_eq!(Verdict::of(&fs), Verdict::Valid);
}

#[test]
fn cross_year_in_force_names_a_negative_expectation_as_a_delta() {
    let mut r = clean(F21, Y);
    set_t2(&mut r, "regulations", "issued", Value::Count(0));
    set_t2(&mut r, "regulations", "repealed", Value::Count(5));
    set_t2(&mut r, "regulations", "in_force", Value::Count(0));
    let mut p = previous_of(&r);
    set_t2(&mut p, "regulations", "in_force", Value::Count(2));
    let fs = check(&r, Some(&p)).unwrap();
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::CROSS_YEAR_IN_FORCE,
        Severity::Info,
        "t2.regulations.in_force",
    );
    assert_eq!(
        (fs[0].expected, fs[0].actual),
        (Some(Value::Delta(-3)), count(0))
    );
}

#[test]
fn cross_year_in_force_is_not_checked_across_formats() {
    // 2021 report against a 2020 trial-format report: T2 does not compare.
    let r = clean(F21, 2021);
    let mut p = clean(F19, 2020);
    for col in T3_COLS {
        let v = r.t3.as_ref().unwrap().get(T3Row::R02, col);
        t3(&mut p).set(T3Row::R25, col, v);
    }
    assert_eq!(check(&r, Some(&p)), Ok(vec![]));
}

#[test]
fn check_refuses_a_previous_report_of_another_year_or_agency() {
    let r = clean(F21, Y);
    for year in [2022, 2024, 2025] {
        let mut p = previous_of(&r);
        p.metadata.data_year = year;
        assert_eq!(
            check(&r, Some(&p)),
            Err(CheckError::NotPreviousYear {
                previous: year,
                expected: 2023,
                year: 2024
            })
        );
    }
    let mut p = previous_of(&r);
    p.metadata.agency_uscc = Some(USCC_NINGGUO.to_owned());
    assert_eq!(
        check(&r, Some(&p)),
        Err(CheckError::OtherAgency {
            previous: USCC_NINGGUO.to_owned(),
            current: USCC_JINHUA.to_owned(),
        })
    );
}

// ---------------------------------------------------------------------------
// text.count-mismatch
// ---------------------------------------------------------------------------

#[test]
fn text_count_mismatch_fires_for_a_stated_count_that_differs() {
    let mut r = clean(F21, Y);
    let t = r.t3.as_ref().unwrap();
    let handled = t.get(T3Row::R24, T3Col::Total);
    let received = t.get(T3Row::R01, T3Col::Total);
    let carried = t.get(T3Row::R02, T3Col::Total);
    let stated = handled + received + carried + 1; // matches none of them
    r.sections[0] = Some(format!(
        "{OVERVIEW}{Y}年，全县各部门共办理政府信息公开申请{stated}件。本年制发规范性文件11件。"
    ));
    let fs = findings(&r);
    assert_eq!(fs.len(), 2, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::TEXT_COUNT_MISMATCH,
        Severity::Warning,
        "t3.R24.total",
    );
    assert_eq!(
        (fs[0].expected, fs[0].actual),
        (count(handled), count(stated))
    );
    assert!(fs[0].cells.contains(&"section.1".to_owned()));
    assert_shape(
        &fs[1],
        id::TEXT_COUNT_MISMATCH,
        Severity::Warning,
        "t2.normative_documents.issued",
    );
    assert_eq!((fs[1].expected, fs[1].actual), (count(3), count(11)));

    // In 五 and 六 too, and against T4.
    let mut r = clean(F21, Y);
    r.sections[4] = Some(format!("{PROBLEMS}本年度发生行政复议案件5件。"));
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::TEXT_COUNT_MISMATCH,
        Severity::Warning,
        "t4.reconsideration.total",
    );
    assert_eq!((fs[0].expected, fs[0].actual), (count(4), count(5)));
    assert!(fs[0].cells.contains(&"section.5".to_owned()));
}

#[test]
fn text_count_mismatch_is_silent_when_the_prose_agrees() {
    let r = clean(F21, Y);
    let t = r.t3.as_ref().unwrap();
    let handled = t.get(T3Row::R24, T3Col::Total);
    let received = t.get(T3Row::R01, T3Col::Total);
    let carried = t.get(T3Row::R02, T3Col::Total);
    for text in [
        format!("共办理政府信息公开申请{handled}件。"),
        // The same words are also used for R01 and R01 + R02.
        format!("共办理政府信息公开申请{received}件。"),
        format!("共办理政府信息公开申请{}件。", received + carried),
        format!("本年新收政府信息公开申请{received}件。"),
        "制发规范性文件3件，废止规范性文件1件。现行有效规范性文件20件。".to_owned(),
        "本年度发生行政复议案件4件。".to_owned(),
        // Comparisons and parts are not statements of a cell.
        "共办理申请比上年增加5件。其中自然人申请3件。".to_owned(),
        // Counts of other things.
        "全年更新信息831条，公开政策解读文件14件，宝政发28件。".to_owned(),
    ] {
        let mut r = r.clone();
        r.sections[0] = Some(text.clone());
        assert!(findings(&r).is_empty(), "{text}: {:#?}", findings(&r));
    }
}

// ---------------------------------------------------------------------------
// text.fee-unstated
// ---------------------------------------------------------------------------

#[test]
fn text_fee_unstated_fires_when_r22_is_not_zero_and_six_states_no_fee() {
    let mut r = clean(F21, Y);
    let t = t3(&mut r);
    t.set(T3Row::R22, T3Col::NaturalPerson, 2);
    recomplete(&mut r);
    r.sections[5] = Some("无其他需要报告的事项。".to_owned());
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::TEXT_FEE_UNSTATED,
        Severity::Warning,
        "section.6",
    );
    assert!(fs[0].cells.contains(&"t3.R22.total".to_owned()));
    assert!(fs[0].message.contains("R22"), "{}", fs[0].message);
}

#[test]
fn text_fee_unstated_fires_when_the_prose_mentions_fees_without_an_amount() {
    let mut r = clean(F21, Y);
    r.sections[0] = Some(format!("{OVERVIEW}严格按规定收取信息处理费。"));
    r.sections[5] = Some("无其他需要报告的事项。".to_owned());
    let fs = findings(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_shape(
        &fs[0],
        id::TEXT_FEE_UNSTATED,
        Severity::Warning,
        "section.6",
    );
}

#[test]
fn text_fee_unstated_is_silent_when_six_states_the_fee() {
    for six in [
        "本年度收取信息处理费用为0。",
        "本年度未收取信息处理费。",
        "收取信息处理费120元。",
        "本机关依据《政府信息公开信息处理费管理办法》，共收取信息处理费0元。",
    ] {
        let mut r = clean(F21, Y);
        t3(&mut r).set(T3Row::R22, T3Col::CommercialEnterprise, 1);
        recomplete(&mut r);
        r.sections[5] = Some(six.to_owned());
        assert!(findings(&r).is_empty(), "{six}: {:#?}", findings(&r));
    }
    // No R22 and no mention: nothing to state.
    let mut r = clean(F21, Y);
    r.sections[5] = Some("无其他需要报告的事项。".to_owned());
    assert!(findings(&r).is_empty());
}

/// Re-derives R24, R01 and 总计 after an outcome cell changed.
fn recomplete(r: &mut Report) {
    let format = r.format;
    complete_t3(t3(r), format);
}

// ---------------------------------------------------------------------------
// The catalogue
// ---------------------------------------------------------------------------

#[test]
fn catalogue_has_every_rule_of_the_spec_with_its_severity() {
    let spec = [
        ("t3.balance", Severity::Error),
        ("t3.outcome-total", Severity::Error),
        ("t3.row-total", Severity::Error),
        ("t4.block-total", Severity::Error),
        ("value.range", Severity::Error),
        ("agency.uscc", Severity::Error),
        ("report.format-version", Severity::Error),
        ("report.section-missing", Severity::Error),
        ("t2.in-force-below-issued", Severity::Warning),
        ("t2.regulations-unexpected", Severity::Warning),
        ("cross-year.carry-over", Severity::Warning),
        ("cross-year.in-force", Severity::Info),
        ("text.count-mismatch", Severity::Warning),
        ("text.fee-unstated", Severity::Warning),
        ("import.blank-cell", Severity::Warning),
        ("import.label-drift", Severity::Warning),
    ];
    for (rule, severity) in spec {
        let r = catalogue::rule(rule).unwrap_or_else(|| panic!("{rule} not in the catalogue"));
        assert_eq!(r.severity, severity, "{rule}");
        assert_eq!(catalogue::severity_of(rule), severity, "{rule}");
        assert!(!r.summary_zh.is_empty() && !r.summary_en.is_empty());
    }
}

#[test]
fn catalogue_import_rules_exist_for_the_importer() {
    for (rule, severity) in [
        (id::IMPORT_BLANK_CELL, Severity::Warning),
        (id::IMPORT_LABEL_DRIFT, Severity::Warning),
        (id::IMPORT_ROW_MISSING, Severity::Error),
        (id::IMPORT_UNREADABLE_CELL, Severity::Error),
        (id::IMPORT_METADATA, Severity::Warning),
    ] {
        assert!(rule.starts_with("import."));
        assert_eq!(catalogue::rule(rule).map(|r| r.severity), Some(severity));
    }
    assert_eq!(catalogue::severity_of("no.such-rule"), Severity::Error);
}

/// Every rule the checker owns (all but `import.*`) fires for some report
/// built in this file's way, so none of them is dead.
#[test]
fn every_non_import_rule_can_fire() {
    let mut fired = BTreeSet::new();

    let mut r = clean(F21, Y);
    r.metadata.agency_uscc = Some("11330700099033995J".to_owned());
    r.metadata.region_code = Some("990000".to_owned());
    r.metadata.agency_level = Some(AgencyLevel::County);
    r.sections[4] = Some(String::new());
    r.sections[0] = Some("严格按规定收取信息处理费。共办理政府信息公开申请999件。".to_owned());
    r.sections[5] = Some("无。".to_owned());
    let t = t3(&mut r);
    t.set(T3Row::R25, T3Col::NaturalPerson, 50);
    t.set(T3Row::R03, T3Col::ResearchInstitution, 50);
    t.set(T3Row::R04, T3Col::Total, 50);
    t.set(T3Row::R05, T3Col::NaturalPerson, u64::MAX);
    t4(&mut r).set(T4Block::Reconsideration, T4Col::Total, 50);
    set_t2(&mut r, "normative_documents", "issued", Value::Count(50));
    let mut p = previous_of(&clean(F21, Y));
    p.metadata.agency_uscc = None;
    set_t2(&mut p, "normative_documents", "in_force", Value::Count(0));
    t3(&mut p).set(T3Row::R25, T3Col::Total, 1000);
    fired.extend(check(&r, Some(&p)).unwrap().iter().map(|f| f.rule));

    let mut r = clean(F19, 0);
    r.sections[2] = None;
    fired.extend(findings(&r).iter().map(|f| f.rule));
    fired.extend(findings(&clean(F19, Y)).iter().map(|f| f.rule));

    // aggregate.area-sum compares a government's own report with the sum of
    // its area, which the checker alone does not have.
    let own = clean(F21, Y);
    let mut sum = clean(F21, Y);
    t3(&mut sum).set(T3Row::R01, T3Col::NaturalPerson, 1);
    fired.extend(
        gongkai_domain::area::compare_with_area(&own, &sum)
            .iter()
            .map(|f| f.rule),
    );

    let owned: BTreeSet<&str> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !id.starts_with("import."))
        .collect();
    assert_eq!(fired, owned);
}

#[test]
fn every_finding_is_a_catalogue_rule_at_its_severity_or_the_section_warning() {
    let mut r = clean(F21, Y);
    r.sections[5] = Some(String::new());
    t3(&mut r).set(T3Row::R09, T3Col::Total, 1);
    t4(&mut r).set(T4Block::LitigationDirect, T4Col::Upheld, 2);
    for f in findings(&r) {
        let rule = catalogue::rule(f.rule).unwrap();
        let downgraded = f.rule == id::REPORT_SECTION_MISSING && f.severity == Severity::Warning;
        assert!(f.severity == rule.severity || downgraded, "{f:?}");
    }
}

/// BUG (check.rs): `check` documents "Findings come in catalogue order, then
/// by location", but it emits them in the order its passes run: metadata
/// rules (agency.uscc, …) before the T3 rules, and t3.balance and
/// t3.outcome-total interleaved column by column.
#[test]

fn findings_come_in_catalogue_order() {
    let mut r = clean(F21, Y);
    r.metadata.agency_uscc = Some("11330700099033995J".to_owned());
    let t = t3(&mut r);
    t.set(T3Row::R24, T3Col::NaturalPerson, 1000);
    t.set(T3Row::R24, T3Col::CommercialEnterprise, 1000);
    let fs = findings(&r);
    let rank = |f: &Finding| RULES.iter().position(|r| r.id == f.rule).unwrap();
    let ranks: Vec<usize> = fs.iter().map(rank).collect();
    let mut sorted = ranks.clone();
    sorted.sort_unstable();
    assert_eq!(
        ranks,
        sorted,
        "{:?}",
        fs.iter().map(|f| f.rule).collect::<Vec<_>>()
    );
}

#[test]
fn shape_row_sets_agree_with_the_spec() {
    for format in [F21, F19] {
        let declared: BTreeSet<T3Row> = T3Row::rows_of(format).collect();
        assert_eq!(
            declared,
            rows(format).iter().copied().collect(),
            "{format:?}"
        );
        let outcomes: BTreeSet<T3Row> = T3Row::outcomes_of(format).collect();
        assert_eq!(
            outcomes,
            outcome_rows(format).into_iter().collect(),
            "{format:?}"
        );
    }
    assert_eq!(row_id(T3Row::R25), "R25");
    assert_eq!(
        t3_path(T3Row::R25, T3Col::NaturalPerson),
        "t3.R25.natural_person"
    );
    assert_eq!(
        t4_path(T4Block::Reconsideration, T4Col::Total),
        "t4.reconsideration.total"
    );
}

/// BUG (shape.rs): `T3Row::rows_of` promises "the rows a format has, in
/// published order", but for the 2019 trial format it yields
/// `OtherHandlingTrial` (（六）其他处理) last, after R24 and R25, because it
/// filters `T3_ROWS`, where the trial row is declared after R25. Anything that
/// lays the trial table out from `rows_of` puts （六） after 四、结转下年度.
#[test]

fn shape_rows_of_is_in_published_order() {
    for format in [F21, F19] {
        let declared: Vec<T3Row> = T3Row::rows_of(format).collect();
        assert_eq!(declared, rows(format), "{format:?}");
        let outcomes: Vec<T3Row> = T3Row::outcomes_of(format).collect();
        assert_eq!(outcomes, outcome_rows(format), "{format:?}");
    }
}
