//! `gongkai check` on the real published sample finds exactly its one real
//! error: t3.balance in the 自然人 and 总计 columns, 78 + 0 against 78 + 1.

mod common;

use common::{gongkai, json_lines, sample_path};

#[test]
fn finds_exactly_the_real_balance_error() {
    let path = sample_path();
    let out = gongkai(&["check", "--format", "json", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1), "invalid report exits 1");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    let report = &lines[0];
    assert_eq!(report["verdict"], "invalid");
    let errors: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    let located: Vec<(&str, &str)> = errors
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["location"].as_str().unwrap()))
        .collect();
    assert_eq!(
        located,
        [
            ("t3.balance", "t3.R25.natural_person"),
            ("t3.balance", "t3.R25.total")
        ]
    );
    for f in &errors {
        assert_eq!(f["expected"], 78, "R01 + R02 = 78 + 0");
        assert_eq!(f["actual"], 79, "R24 + R25 = 78 + 1");
        let msg = f["message"].as_str().unwrap();
        assert!(
            msg.contains("78 + 0 = 78") && msg.contains("78 + 1 = 79"),
            "{msg}"
        );
    }
}

#[test]
fn terminal_output_names_verdict_rule_cell_and_numbers() {
    let path = sample_path();
    let out = gongkai(&["check", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("invalid (2 errors, 0 warnings, 0 info)"),
        "{text}"
    );
    assert!(
        text.contains("t3.R25.natural_person  expected 78, actual 79"),
        "{text}"
    );
}
