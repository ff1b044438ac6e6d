//! Shared builders for the integration tests: a clean report that gives no
//! findings, and the T3 row lists of each format written out here, apart from
//! the crate's own `rows_of`, so tests do not take the checker's word for the
//! shape.
#![allow(dead_code)]

use gongkai_domain::{
    Finding, FormatVersion, Money, Report, check,
    shape::{T3, T3_PARTS, T3Col, T3Row, T4, T4_PARTS, T4Block, T4Col, Value},
};

/// Section 一: prose that states no count.
pub const OVERVIEW: &str = "本机关认真贯彻落实《中华人民共和国政府信息公开条例》，持续深化政务公开，\
     依法做好依申请公开工作，加强政府信息管理和平台建设。";
/// Section 五: prose that states no count.
pub const PROBLEMS: &str =
    "主动公开的及时性和解读质量还需提高。下一步将加强业务培训，完善发布审核机制。";
/// Section 六: states that no 信息处理费 was charged.
pub const OTHER: &str = "本年度未收取信息处理费。无其他需要报告的事项。";

/// The real code of 金华市市场监督管理局.
pub const USCC_JINHUA: &str = "11330700099033995K";
/// The real code of 宁国市商务局.
pub const USCC_NINGGUO: &str = "11341702486344515H";

/// Every T3 row of the 2021 format, in published order.
pub const ROWS_2021: [T3Row; 25] = [
    T3Row::R01,
    T3Row::R02,
    T3Row::R03,
    T3Row::R04,
    T3Row::R05,
    T3Row::R06,
    T3Row::R07,
    T3Row::R08,
    T3Row::R09,
    T3Row::R10,
    T3Row::R11,
    T3Row::R12,
    T3Row::R13,
    T3Row::R14,
    T3Row::R15,
    T3Row::R16,
    T3Row::R17,
    T3Row::R18,
    T3Row::R19,
    T3Row::R20,
    T3Row::R21,
    T3Row::R22,
    T3Row::R23,
    T3Row::R24,
    T3Row::R25,
];

/// Every T3 row of the 2019 trial format, in published order: （六）其他处理
/// is one row in place of R21..R23.
pub const ROWS_2019: [T3Row; 23] = [
    T3Row::R01,
    T3Row::R02,
    T3Row::R03,
    T3Row::R04,
    T3Row::R05,
    T3Row::R06,
    T3Row::R07,
    T3Row::R08,
    T3Row::R09,
    T3Row::R10,
    T3Row::R11,
    T3Row::R12,
    T3Row::R13,
    T3Row::R14,
    T3Row::R15,
    T3Row::R16,
    T3Row::R17,
    T3Row::R18,
    T3Row::R19,
    T3Row::R20,
    T3Row::OtherHandlingTrial,
    T3Row::R24,
    T3Row::R25,
];

/// All seven T3 columns.
pub const T3_COLS: [T3Col; 7] = [
    T3Col::NaturalPerson,
    T3Col::CommercialEnterprise,
    T3Col::ResearchInstitution,
    T3Col::SocialWelfareOrganization,
    T3Col::LegalServiceAgency,
    T3Col::OtherOrganization,
    T3Col::Total,
];

/// All three T4 blocks.
pub const T4_BLOCKS_ALL: [T4Block; 3] = [
    T4Block::Reconsideration,
    T4Block::LitigationDirect,
    T4Block::LitigationAfterReconsideration,
];

/// All five T4 columns.
pub const T4_COLS: [T4Col; 5] = [
    T4Col::Upheld,
    T4Col::Corrected,
    T4Col::OtherResult,
    T4Col::Pending,
    T4Col::Total,
];

/// The T3 rows a format has.
pub fn rows(format: FormatVersion) -> &'static [T3Row] {
    match format {
        FormatVersion::Current2021 => &ROWS_2021,
        FormatVersion::Trial2019 => &ROWS_2019,
    }
}

/// The outcome rows (三、本年度办理结果 （一）..（六）) of a format.
pub fn outcome_rows(format: FormatVersion) -> Vec<T3Row> {
    rows(format)
        .iter()
        .copied()
        .filter(|r| !matches!(r, T3Row::R01 | T3Row::R02 | T3Row::R24 | T3Row::R25))
        .collect()
}

/// The row id used in locations.
pub fn row_id(row: T3Row) -> &'static str {
    row.spec().id
}

/// Makes a T3 consistent from its outcome rows, R02 and R25 in the six
/// applicant columns: R24 = Σ outcomes, R02 is clamped to R24 + R25,
/// R01 = R24 + R25 − R02, and 总计 = the row sums.
pub fn complete_t3(t: &mut T3, format: FormatVersion) {
    let outcomes = outcome_rows(format);
    for col in T3_PARTS {
        let r24: u64 = outcomes.iter().map(|r| t.get(*r, col)).sum();
        let out = r24 + t.get(T3Row::R25, col);
        let r02 = t.get(T3Row::R02, col).min(out);
        t.set(T3Row::R24, col, r24);
        t.set(T3Row::R02, col, r02);
        t.set(T3Row::R01, col, out - r02);
    }
    for row in rows(format) {
        let total = T3_PARTS.iter().map(|c| t.get(*row, *c)).sum();
        t.set(*row, T3Col::Total, total);
    }
}

/// Sets every T4 总计 to the sum of its block.
pub fn complete_t4(t: &mut T4) {
    for b in T4_BLOCKS_ALL {
        let total = T4_PARTS.iter().map(|c| t.get(b, *c)).sum();
        t.set(b, T4Col::Total, total);
    }
}

/// Exact money from its published text.
pub fn money(s: &str) -> Money {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Sets a T2 cell by row and column key; panics if there is no such cell or
/// the value is of the wrong kind.
pub fn set_t2(r: &mut Report, row: &str, col: &str, v: Value) {
    let layout = r.format.t2_layout();
    let cell = layout
        .cell(row, col)
        .unwrap_or_else(|| panic!("no T2 cell {row}.{col} in {:?}", r.format));
    assert!(r.t2.as_mut().unwrap().set(&cell, v), "{row}.{col} = {v:?}");
}

/// Mutable T3 of a report.
pub fn t3(r: &mut Report) -> &mut T3 {
    r.t3.as_mut().unwrap()
}

/// Mutable T4 of a report.
pub fn t4(r: &mut Report) -> &mut T4 {
    r.t4.as_mut().unwrap()
}

/// Fills the prose sections so that none is empty and none states a count.
pub fn fill_sections(r: &mut Report) {
    r.sections = [
        Some(OVERVIEW.to_owned()),
        Some(String::new()),
        Some(String::new()),
        Some(String::new()),
        Some(PROBLEMS.to_owned()),
        Some(OTHER.to_owned()),
    ];
}

/// Report::empty with the prose sections filled: all tables zero.
pub fn blank(format: FormatVersion, year: u32) -> Report {
    let mut r = Report::empty(format, year);
    fill_sections(&mut r);
    r
}

/// A consistent, complete report of 金华市市场监督管理局 (a prefectural body,
/// which may make 规章) with non-zero data in every table. Gives no findings.
pub fn clean(format: FormatVersion, year: u32) -> Report {
    let mut r = blank(format, year);
    r.metadata.agency_name = "金华市市场监督管理局".to_owned();
    r.metadata.agency_uscc = Some(USCC_JINHUA.to_owned());
    r.metadata.region_code = Some("330700".to_owned());

    let t = t3(&mut r);
    for (i, col) in (0u64..).zip(T3_PARTS) {
        t.set(T3Row::R02, col, 1);
        t.set(T3Row::R03, col, 10 + i);
        t.set(T3Row::R04, col, 2);
        t.set(T3Row::R05, col, u64::from(i == 0));
        t.set(T3Row::R13, col, 3);
        t.set(T3Row::R16, col, 1);
        t.set(T3Row::R25, col, i % 2);
        match format {
            FormatVersion::Current2021 => t.set(T3Row::R23, col, 1),
            FormatVersion::Trial2019 => t.set(T3Row::OtherHandlingTrial, col, 1),
        }
    }
    complete_t3(t, format);

    // T4 as in the 宝清县 sample: 复议 1 + 1 + 0 + 2 = 4.
    let t = t4(&mut r);
    t.set(T4Block::Reconsideration, T4Col::Upheld, 1);
    t.set(T4Block::Reconsideration, T4Col::Corrected, 1);
    t.set(T4Block::Reconsideration, T4Col::Pending, 2);
    t.set(T4Block::LitigationDirect, T4Col::Corrected, 1);
    t.set(T4Block::LitigationAfterReconsideration, T4Col::Upheld, 2);
    t.set(
        T4Block::LitigationAfterReconsideration,
        T4Col::OtherResult,
        1,
    );
    complete_t4(t);

    match format {
        FormatVersion::Current2021 => {
            set_t2(&mut r, "regulations", "issued", Value::Count(1));
            set_t2(&mut r, "regulations", "in_force", Value::Count(6));
            set_t2(&mut r, "normative_documents", "issued", Value::Count(3));
            set_t2(&mut r, "normative_documents", "repealed", Value::Count(1));
            set_t2(&mut r, "normative_documents", "in_force", Value::Count(20));
            set_t2(&mut r, "licensing", "decisions", Value::Count(120));
            set_t2(&mut r, "penalty", "decisions", Value::Count(45));
            set_t2(&mut r, "coercion", "decisions", Value::Count(2));
            set_t2(&mut r, "fees", "amount", Value::Money(money("14852.1812")));
        }
        FormatVersion::Trial2019 => {
            set_t2(&mut r, "normative_documents", "newly_made", Value::Count(3));
            set_t2(
                &mut r,
                "normative_documents",
                "newly_published",
                Value::Count(3),
            );
            set_t2(
                &mut r,
                "normative_documents",
                "total_published",
                Value::Count(20),
            );
            set_t2(&mut r, "licensing", "previous_year_items", Value::Count(50));
            set_t2(&mut r, "licensing", "change", Value::Delta(-2));
            set_t2(&mut r, "licensing", "decisions", Value::Count(120));
            set_t2(&mut r, "fees", "previous_year_items", Value::Count(4));
            set_t2(&mut r, "fees", "change", Value::Delta(0));
            set_t2(&mut r, "procurement", "items", Value::Count(4));
            set_t2(
                &mut r,
                "procurement",
                "amount",
                Value::Money(money("251.5")),
            );
        }
    }
    r
}

/// The findings of a report checked alone.
pub fn findings(r: &Report) -> Vec<Finding> {
    check(r, None).expect("a report checked alone cannot be refused")
}

/// The findings of one rule.
pub fn of_rule<'a>(fs: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    fs.iter().filter(|f| f.rule == rule).collect()
}

/// Location paths of a list of findings, in order.
pub fn paths(fs: &[&Finding]) -> Vec<String> {
    fs.iter().map(|f| f.location.path()).collect()
}
