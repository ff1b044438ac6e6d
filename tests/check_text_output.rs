//! The terminal format of a report that is valid with warnings: a line with
//! the file, the verdict and the counts, then each finding with its severity,
//! rule, location, the numbers where there are any, and its message.

mod common;

use common::{
    SAMPLE_R01, TempFile, corrected, gongkai, json_lines, previous_year, replace_once, stdout,
    temp_file,
};

/// This year: the corrected sample with R01's 商业企业 cell published as "—"
/// (import.blank-cell). Last year: R25 of 5, so this year's R02 of 0 gives
/// two cross-year.carry-over warnings with numbers.
fn files() -> (TempFile, TempFile) {
    let this = temp_file(
        "baoqing-county-2024.md",
        replace_once(
            &corrected(),
            SAMPLE_R01,
            "一、本年新收政府信息公开申请数量\t\t78\t—\t0\t0\t0\t0\t78\t",
        ),
    );
    let prev = temp_file("baoqing-county-2023.md", previous_year(2023, 5, 54));
    (this, prev)
}

#[test]
fn shows_verdict_and_every_finding_with_rule_and_location() {
    let (this, prev) = files();
    let out = gongkai(&["check", "--previous", prev.arg(), this.arg()], None);
    assert_eq!(out.status.code(), Some(0), "warnings still exit 0");
    let text = stdout(&out);
    assert!(
        !text.contains('\x1b'),
        "no colour when not a terminal: {text:?}"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "{}: valid_with_warnings (0 errors, 3 warnings, 0 info)",
            this.arg()
        )
    );
    // Two lines per finding: severity, rule, location (and numbers); message.
    assert_eq!(lines.len(), 1 + 2 * 3, "{text}");
    let finding_lines: Vec<Vec<&str>> = lines[1..]
        .iter()
        .step_by(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        finding_lines,
        [
            vec![
                "warning",
                "import.blank-cell",
                "t3.R01.commercial_enterprise"
            ],
            vec![
                "warning",
                "cross-year.carry-over",
                "t3.R02.natural_person",
                "expected",
                "5,",
                "actual",
                "0"
            ],
            vec![
                "warning",
                "cross-year.carry-over",
                "t3.R02.total",
                "expected",
                "5,",
                "actual",
                "0"
            ],
        ]
    );
}

#[test]
fn text_and_json_agree_finding_by_finding() {
    let (this, prev) = files();
    let text = stdout(&gongkai(
        &["check", "--previous", prev.arg(), this.arg()],
        None,
    ));
    let out = gongkai(
        &[
            "check",
            "--format",
            "json",
            "--previous",
            prev.arg(),
            this.arg(),
        ],
        None,
    );
    let report = &json_lines(&out)[0];
    assert_eq!(report["verdict"], "valid_with_warnings");
    let findings = report["findings"].as_array().unwrap();
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), 2 * findings.len());
    for (f, pair) in findings.iter().zip(lines.chunks(2)) {
        let head = pair[0];
        let (severity, rule, location) = (
            f["severity"].as_str().unwrap(),
            f["rule"].as_str().unwrap(),
            f["location"].as_str().unwrap(),
        );
        let s = head.find(severity).unwrap_or_else(|| panic!("{head}"));
        let r = head.find(rule).unwrap_or_else(|| panic!("{head}"));
        let l = head.find(location).unwrap_or_else(|| panic!("{head}"));
        assert!(s < r && r < l, "severity, rule, location in order: {head}");
        assert_eq!(pair[1].trim(), f["message"].as_str().unwrap());
    }
}

#[test]
fn blank_cell_message_quotes_what_was_published() {
    let (this, _) = files();
    let text = stdout(&gongkai(&["check", this.arg()], None));
    assert!(
        text.contains(&format!(
            "{}: valid_with_warnings (0 errors, 1 warnings, 0 info)",
            this.arg()
        )),
        "{text}"
    );
    assert!(text.contains("is blank (\"—\"), read as 0"), "{text}");
}
