//! `gongkai check --previous LAST_YEAR FILE`: the cross-year rules.
//!
//! Last year's report is built from the sample: title year 2023, its R25
//! (结转下年度继续办理) and its 行政规范性文件 现行有效件数 set per test. This
//! year's report is the corrected sample (R02 all 0; 行政规范性文件 11 issued,
//! 5 repealed, 60 in force), which on its own has no finding at all.

mod common;

use common::{
    TempFile, assert_no_panic, corrected, gongkai, json_lines, located, previous_year,
    replace_once, sample_path, stderr, temp_file, triples, with_rule,
};

/// Last year's report as a file (see [`previous_year`]).
fn last_year(year: u32, r25: u64, in_force: u64) -> TempFile {
    temp_file(
        &format!("baoqing-county-{year}.md"),
        previous_year(year, r25, in_force),
    )
}

/// 54 + 11 − 5 = 60: last year's 现行有效 consistent with this year's.
const CONSISTENT_IN_FORCE: u64 = 54;

fn check_with(previous: &TempFile, this_year: &str) -> (Option<i32>, serde_json::Value) {
    let out = gongkai(
        &[
            "check",
            "--format",
            "json",
            "--previous",
            previous.arg(),
            this_year,
        ],
        None,
    );
    assert_no_panic(&out);
    let mut lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{}", stderr(&out));
    (out.status.code(), lines.remove(0))
}

#[test]
fn carry_over_that_differs_is_a_warning_per_column() {
    let prev = last_year(2023, 5, CONSISTENT_IN_FORCE);
    let this = temp_file("baoqing-county-2024.md", corrected());
    let (code, report) = check_with(&prev, this.arg());
    assert_eq!(code, Some(0), "warnings only: {report}");
    assert_eq!(report["verdict"], "valid_with_warnings");
    assert_eq!(
        located(&report),
        triples(&[
            ("cross-year.carry-over", "warning", "t3.R02.natural_person"),
            ("cross-year.carry-over", "warning", "t3.R02.total"),
        ]),
        "{report}"
    );
    for f in with_rule(&report, "cross-year.carry-over") {
        assert_eq!(f["expected"], 5, "last year's R25");
        assert_eq!(f["actual"], 0, "this year's R02");
        let msg = f["message"].as_str().unwrap();
        assert!(msg.contains("R02 is 0, last year's R25 was 5"), "{msg}");
    }
}

#[test]
fn carry_over_warnings_come_beside_this_years_own_errors() {
    let prev = last_year(2023, 5, CONSISTENT_IN_FORCE);
    let (code, report) = check_with(&prev, sample_path().to_str().unwrap());
    assert_eq!(code, Some(1));
    assert_eq!(
        located(&report),
        triples(&[
            ("t3.balance", "error", "t3.R25.natural_person"),
            ("t3.balance", "error", "t3.R25.total"),
            ("cross-year.carry-over", "warning", "t3.R02.natural_person"),
            ("cross-year.carry-over", "warning", "t3.R02.total"),
        ]),
        "{report}"
    );
}

#[test]
fn matching_previous_year_gives_no_cross_year_finding() {
    let prev = last_year(2023, 0, CONSISTENT_IN_FORCE);
    let this = temp_file("baoqing-county-2024.md", corrected());
    let (code, report) = check_with(&prev, this.arg());
    assert_eq!(code, Some(0));
    assert_eq!(report["verdict"], "valid");
    assert_eq!(located(&report), triples(&[]), "{report}");
}

#[test]
fn matching_non_zero_carry_over_gives_no_warning() {
    // Last year carried 1 forward (as the sample did); this year received it.
    let prev = last_year(2023, 1, CONSISTENT_IN_FORCE);
    let this = temp_file(
        "baoqing-county-2024.md",
        replace_once(
            &corrected(),
            "二、上年结转政府信息公开申请数量\t\t0\t0\t0\t0\t0\t0\t0\t",
            "二、上年结转政府信息公开申请数量\t\t1\t0\t0\t0\t0\t0\t1\t",
        ),
    );
    let (_, report) = check_with(&prev, this.arg());
    assert!(
        with_rule(&report, "cross-year.carry-over").is_empty(),
        "{report}"
    );
}

#[test]
fn in_force_that_does_not_follow_is_info() {
    // 50 + 11 − 5 = 56, but 60 are in force this year.
    let prev = last_year(2023, 0, 50);
    let this = temp_file("baoqing-county-2024.md", corrected());
    let (code, report) = check_with(&prev, this.arg());
    assert_eq!(code, Some(0), "info does not fail a report");
    assert_eq!(report["verdict"], "valid");
    assert_eq!(
        located(&report),
        triples(&[(
            "cross-year.in-force",
            "info",
            "t2.normative_documents.in_force"
        )]),
        "{report}"
    );
    let f = &report["findings"][0];
    assert_eq!(f["expected"], 56);
    assert_eq!(f["actual"], 60);
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("50 + 11 − 5 = 56"), "{msg}");
}

#[test]
fn previous_of_the_wrong_year_is_refused_naming_the_years() {
    let prev = last_year(2022, 0, CONSISTENT_IN_FORCE);
    let this = temp_file("baoqing-county-2024.md", corrected());
    for format in ["text", "json"] {
        let out = gongkai(
            &[
                "check",
                "--format",
                format,
                "--previous",
                prev.arg(),
                this.arg(),
            ],
            None,
        );
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{format}");
        let err = stderr(&out);
        for year in ["2022", "2023", "2024"] {
            assert!(err.contains(year), "{format}: stderr names {year}: {err}");
        }
        assert!(err.contains(this.arg()), "{err}");
        if format == "json" {
            let lines = json_lines(&out);
            assert_eq!(lines.len(), 1);
            assert_eq!(lines[0]["file"], this.arg());
            assert!(lines[0].get("verdict").is_none());
            let e = lines[0]["error"].as_str().unwrap();
            assert!(e.contains("2022") && e.contains("2023"), "{e}");
        }
    }
}

#[test]
fn previous_of_the_same_year_is_refused() {
    let this = temp_file("baoqing-county-2024.md", corrected());
    let out = gongkai(&["check", "--previous", this.arg(), this.arg()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("2024") && err.contains("2023"), "{err}");
}

#[test]
fn unreadable_previous_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("baoqing-county-2023.md");
    let missing = missing.to_str().unwrap();
    let this = temp_file("baoqing-county-2024.md", corrected());
    let out = gongkai(&["check", "--previous", missing, this.arg()], None);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(missing) && err.contains("--previous"), "{err}");
}

#[test]
fn without_previous_there_is_no_cross_year_finding() {
    let out = gongkai(
        &["check", "--format", "json", sample_path().to_str().unwrap()],
        None,
    );
    let report = &json_lines(&out)[0];
    assert!(with_rule(report, "cross-year.carry-over").is_empty());
    assert!(with_rule(report, "cross-year.in-force").is_empty());
}
