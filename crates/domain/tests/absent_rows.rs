//! Rows the published document did not contain: no rule reports an error
//! over their cells; the rules that need them say, once, that they could not
//! check; each is an `import.row-missing` error; the wire form carries them
//! exactly, and refuses a list that names no row or a listed row with values.

mod common;

use common::{clean, findings, t3, t4};
use gongkai_domain::{
    ConvertError, FormatVersion, Report, Severity, check,
    shape::{T3Col, T3Row, T4Block, T4Col},
};
use gongkai_proto::v1 as pb;

fn located(r: &Report, previous: Option<&Report>) -> Vec<(&'static str, Severity, String)> {
    check(r, previous)
        .unwrap()
        .iter()
        .map(|f| (f.rule, f.severity, f.location.path()))
        .collect()
}

#[test]
fn a_clean_report_stays_clean() {
    assert!(findings(&clean(FormatVersion::Current2021, 2024)).is_empty());
}

#[test]
fn rows_r21_to_r23_absent_leave_the_outcome_total_unchecked_not_wrong() {
    // 洪泽区's reports: the trial format's single （六）其他处理 in a 2021 table,
    // so R21..R23 are not in the document. Their cells were not zero: R24
    // counts 3 applications they held, which an invented 0 would call an error.
    let mut r = clean(FormatVersion::Current2021, 2024);
    for row in [T3Row::R21, T3Row::R22, T3Row::R23] {
        t3(&mut r).set_absent(row);
    }
    for row in [T3Row::R01, T3Row::R24] {
        for col in [T3Col::NaturalPerson, T3Col::Total] {
            let v = t3(&mut r).get(row, col);
            t3(&mut r).set(row, col, v + 3);
        }
    }
    let f = located(&r, None);
    assert_eq!(
        f,
        [
            ("t3.outcome-total", Severity::Warning, "t3.R24".to_owned()),
            ("import.row-missing", Severity::Error, "t3.R21".to_owned()),
            ("import.row-missing", Severity::Error, "t3.R22".to_owned()),
            ("import.row-missing", Severity::Error, "t3.R23".to_owned()),
        ]
    );
    let all = check(&r, None).unwrap();
    let not_checked = &all[0];
    assert_eq!(not_checked.cells, ["t3.R24", "t3.R21", "t3.R22", "t3.R23"]);
    assert!(
        not_checked.message.contains("R21、R22、R23"),
        "{}",
        not_checked.message
    );
    assert_eq!((not_checked.expected, not_checked.actual), (None, None));
    // No error names any cell of an absent row.
    for f in all.iter().filter(|f| f.severity == Severity::Error) {
        assert!(f.rule == "import.row-missing", "{f:?}");
    }
}

#[test]
fn an_absent_r25_leaves_the_balance_and_carry_over_unchecked() {
    let mut r = clean(FormatVersion::Current2021, 2024);
    t3(&mut r).set_absent(T3Row::R25);
    assert_eq!(
        located(&r, None),
        [
            ("t3.balance", Severity::Warning, "t3.R25".to_owned()),
            ("import.row-missing", Severity::Error, "t3.R25".to_owned()),
        ]
    );
    let mut next = clean(FormatVersion::Current2021, 2025);
    t3(&mut next).set(T3Row::R02, T3Col::NaturalPerson, 5);
    let f = located(&next, Some(&r));
    assert!(
        f.contains(&(
            "cross-year.carry-over",
            Severity::Warning,
            "t3.R02".to_owned()
        )),
        "{f:?}"
    );
    // One finding, not one per column over last year's invented zeros.
    assert_eq!(
        f.iter()
            .filter(|(rule, _, _)| *rule == "cross-year.carry-over")
            .count(),
        1
    );
}

#[test]
fn an_absent_t4_block_and_t2_row_are_named_and_added_by_no_rule() {
    let mut r = clean(FormatVersion::Current2021, 2024);
    t4(&mut r).set_absent(T4Block::LitigationDirect);
    let layout = FormatVersion::Current2021.t2_layout();
    r.t2.as_mut()
        .unwrap()
        .set_row_absent(layout, "normative_documents");
    // The prose states 规范性文件 counts; the absent row is compared with nothing.
    r.sections[0] = Some("本年制发规范性文件12件，行政诉讼7件。".into());
    assert_eq!(
        located(&r, None),
        [
            (
                "import.row-missing",
                Severity::Error,
                "t2.normative_documents".to_owned()
            ),
            (
                "import.row-missing",
                Severity::Error,
                "t4.litigation_direct".to_owned()
            ),
        ]
    );
    assert_eq!(
        r.absent_rows(),
        ["t2.normative_documents", "t4.litigation_direct"]
    );
    assert_eq!(
        r.t4.as_ref()
            .unwrap()
            .cell(T4Block::LitigationDirect, T4Col::Total),
        None
    );
}

#[test]
fn the_wire_form_carries_absent_rows_exactly() {
    let mut r = clean(FormatVersion::Current2021, 2024);
    t3(&mut r).set_absent(T3Row::R22);
    t4(&mut r).set_absent(T4Block::Reconsideration);
    r.t2.as_mut()
        .unwrap()
        .set_row_absent(FormatVersion::Current2021.t2_layout(), "licensing");
    let wire = pb::AnnualReport::from(&r);
    assert_eq!(
        wire.absent_rows,
        ["t2.licensing", "t3.R22", "t4.reconsideration"]
    );
    assert_eq!(Report::try_from(&wire).unwrap(), r);
    // A listed T3 row or T4 block may also be left out of its table.
    let mut sparse = wire.clone();
    sparse.applications.as_mut().unwrap().other_fee_unpaid = None;
    sparse
        .reconsideration_litigation
        .as_mut()
        .unwrap()
        .reconsideration = None;
    assert_eq!(Report::try_from(&sparse).unwrap(), r);
    // A row left out and not listed is still incomplete.
    let mut incomplete = pb::AnnualReport::from(&clean(FormatVersion::Current2021, 2024));
    incomplete.applications.as_mut().unwrap().other_fee_unpaid = None;
    assert!(matches!(
        Report::try_from(&incomplete),
        Err(ConvertError::Incomplete(_))
    ));
}

#[test]
fn the_wire_form_refuses_unknown_or_filled_absent_rows() {
    let base = pb::AnnualReport::from(&clean(FormatVersion::Current2021, 2024));
    for path in [
        "t3.R26",
        "t3.other_handling_trial",
        "t2.procurement",
        "t4.appeal",
        "R21",
        "t5.R01",
    ] {
        let mut w = base.clone();
        w.absent_rows = vec![path.into()];
        assert_eq!(
            Report::try_from(&w),
            Err(ConvertError::UnknownAbsentRow(path.into())),
            "{path}"
        );
    }
    // R01 holds values in the clean report: it cannot be listed as absent.
    let mut w = base.clone();
    w.absent_rows = vec!["t3.R01".into()];
    assert_eq!(
        Report::try_from(&w),
        Err(ConvertError::AbsentRowHasValues("t3.R01".into()))
    );
}

#[test]
fn a_value_set_in_an_absent_row_makes_the_row_present_in_every_table() {
    // As T3's and T4's set do; a T2 row half absent would be listed in
    // absent_rows while holding a value, which the wire form refuses.
    let mut r = clean(FormatVersion::Current2021, 2024);
    let layout = FormatVersion::Current2021.t2_layout();
    let t2 = r.t2.as_mut().unwrap();
    t2.set_row_absent(layout, "regulations");
    let issued = layout.cell("regulations", "issued").unwrap();
    assert!(t2.set(&issued, gongkai_domain::shape::Value::Count(2)));
    assert!(!t2.is_row_absent(layout, "regulations"));
    assert_eq!(t2.count(layout, "regulations", "repealed"), Some(0));
    t3(&mut r).set_absent(T3Row::R22);
    t3(&mut r).set(T3Row::R22, T3Col::Total, 1);
    t4(&mut r).set_absent(T4Block::LitigationDirect);
    t4(&mut r).set(T4Block::LitigationDirect, T4Col::Total, 1);
    assert!(r.absent_rows().is_empty(), "{:?}", r.absent_rows());
    assert_eq!(Report::try_from(&pb::AnnualReport::from(&r)), Ok(r));
}
