//! `gongkai check -` reads the report from standard input and reports it as
//! "<stdin>", with exactly the findings the same text gives from a file.

mod common;

use common::{
    assert_no_panic, corrected, gongkai, json_lines, sample, sample_path, stderr, stdout, temp_file,
};

#[test]
fn stdin_gives_the_same_findings_as_the_file() {
    let path = sample_path();
    let from_file = gongkai(&["check", "--format", "json", path.to_str().unwrap()], None);
    let from_stdin = gongkai(
        &["check", "--format", "json", "-"],
        Some(sample().as_bytes()),
    );
    assert_no_panic(&from_stdin);
    assert_eq!(from_stdin.status.code(), from_file.status.code());
    assert_eq!(from_stdin.status.code(), Some(1));
    let file = &json_lines(&from_file)[0];
    let lines = json_lines(&from_stdin);
    assert_eq!(lines.len(), 1);
    let stdin = &lines[0];
    assert_eq!(stdin["file"], "<stdin>");
    assert_eq!(stdin["verdict"], file["verdict"]);
    assert_eq!(stdin["findings"], file["findings"]);
    assert_eq!(stdin["findings"].as_array().unwrap().len(), 2);
}

#[test]
fn stdin_in_text_format_is_the_file_output_under_another_name() {
    let path = sample_path();
    let path = path.to_str().unwrap();
    let from_file = stdout(&gongkai(&["check", path], None));
    let out = gongkai(&["check", "-"], Some(sample().as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.starts_with("<stdin>: invalid (2 errors, 0 warnings, 0 info)\n"),
        "{text}"
    );
    assert_eq!(text, from_file.replacen(path, "<stdin>", 1));
}

#[test]
fn stdin_among_files_keeps_its_place() {
    let good = temp_file("good.md", corrected());
    let out = gongkai(
        &["check", "--format", "json", good.arg(), "-"],
        Some(sample().as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    let names: Vec<&str> = lines.iter().map(|l| l["file"].as_str().unwrap()).collect();
    assert_eq!(names, [good.arg(), "<stdin>"]);
    assert_eq!(lines[0]["verdict"], "valid");
    assert_eq!(lines[1]["verdict"], "invalid");
}

#[test]
fn valid_report_on_stdin_exits_0() {
    let out = gongkai(&["check", "-"], Some(corrected().as_bytes()));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "<stdin>: valid (0 errors, 0 warnings, 0 info)\n"
    );
}

#[test]
fn byte_order_mark_and_crlf_on_stdin_are_read_like_the_file() {
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend(corrected().replace('\n', "\r\n").into_bytes());
    let out = gongkai(&["check", "--format", "json", "-"], Some(&bytes));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["verdict"], "valid", "{}", lines[0]);
}

#[test]
fn empty_stdin_is_an_error_naming_stdin() {
    for input in [None, Some(&b""[..])] {
        let out = gongkai(&["check", "--format", "json", "-"], input);
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.contains("<stdin>") && err.contains("empty"), "{err}");
        assert_eq!(json_lines(&out)[0]["file"], "<stdin>");
    }
}

#[test]
fn undecodable_stdin_is_an_error_naming_stdin() {
    // GBK is read since issue 5; bytes that are neither UTF-8 nor GB18030
    // (0xFF leads nothing in either) are still an error.
    let out = gongkai(&["check", "-"], Some(b"# \xff\xff\n"));
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("<stdin>") && err.contains("UTF-8") && err.contains("GB18030"),
        "{err}"
    );
}
