//! The sample with its one real error corrected (R25 结转下年度继续办理 set to
//! 0, so 78 + 0 = 78 + 0 in every column) is a valid report: no error, and no
//! false positive from any other rule — in particular no text.count-mismatch
//! for "共办理政府信息公开申请78件", which agrees with the table.

mod common;

use common::{
    SAMPLE_R25, check_json, corrected, gongkai, located, sample, stdout, temp_file, triples,
};

#[test]
fn the_edit_touches_only_the_r25_row() {
    let before = sample();
    let after = corrected();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(
        changed,
        [(
            SAMPLE_R25,
            "四、结转下年度继续办理\t\t0\t0\t0\t0\t0\t0\t0\t"
        )]
    );
}

#[test]
fn corrected_sample_is_valid_with_no_finding_at_all() {
    let file = temp_file("baoqing-county-2024-corrected.md", corrected());
    let (code, report) = check_json(file.arg());
    assert_eq!(code, Some(0), "a valid report exits 0: {report}");
    assert_eq!(report["file"], file.arg());
    // The full list, so that any new false positive shows up here.
    assert_eq!(located(&report), triples(&[]), "{report}");
    assert_eq!(report["verdict"], "valid");
}

#[test]
fn corrected_sample_has_no_error_and_no_count_mismatch() {
    // The weaker property the acceptance case rests on, stated on its own so
    // that it still reads clearly if the rule set later adds advisory findings.
    let file = temp_file("corrected.md", corrected());
    let (code, report) = check_json(file.arg());
    assert_eq!(code, Some(0));
    let verdict = report["verdict"].as_str().unwrap();
    assert!(
        verdict == "valid" || verdict == "valid_with_warnings",
        "{report}"
    );
    for (rule, severity, location) in located(&report) {
        assert_ne!(severity, "error", "{rule} at {location}");
        assert_ne!(rule, "text.count-mismatch", "at {location}");
    }
}

#[test]
fn corrected_sample_in_text_format() {
    let file = temp_file("corrected.md", corrected());
    let out = gongkai(&["check", file.arg()], None);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(
        text,
        format!("{}: valid (0 errors, 0 warnings, 0 info)\n", file.arg())
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
