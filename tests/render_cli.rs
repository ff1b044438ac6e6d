//! `gongkai render FILE --to markdown|html`: a published report in any
//! layout, or API JSON from `gongkai import`, printed in the official layout;
//! what it prints reads back to the same report.

mod common;

use common::{gongkai, sample_path, stderr, stdout, temp_file};

#[test]
fn renders_a_published_report_and_reads_back_the_same() {
    let sample = gongkai_document::import(common::sample().as_bytes())
        .expect("sample")
        .report;
    for (to, start) in [
        ("markdown", "# 宝清县人民政府\n"),
        ("html", "<!DOCTYPE html>\n"),
    ] {
        let out = gongkai(
            &["render", sample_path().to_str().unwrap(), "--to", to],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.starts_with(start), "{to}: {text}");
        let back = gongkai_document::import(text.as_bytes())
            .expect("reads back")
            .report;
        assert_eq!(back, sample, "{to}");
    }
}

#[test]
fn renders_api_json_from_gongkai_import() {
    let json = gongkai(&["import", sample_path().to_str().unwrap()], None);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let out = gongkai(&["render", "-", "--to", "markdown"], Some(&json.stdout));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let direct = gongkai(
        &[
            "render",
            sample_path().to_str().unwrap(),
            "--to",
            "markdown",
        ],
        None,
    );
    assert_eq!(stdout(&out), stdout(&direct));
}

#[test]
fn unreadable_input_exits_2_naming_the_file() {
    let junk = temp_file("junk.bin", b"\x7fELF\x02\x01\xff\xfe\xff");
    let out = gongkai(&["render", junk.arg(), "--to", "html"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("junk.bin"), "{}", stderr(&out));
    let bad_json = temp_file("bad.json", "{\"formatVersion\": 7, \"nonsense\": 1}");
    let out = gongkai(&["render", bad_json.arg(), "--to", "markdown"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.json"), "{}", stderr(&out));
    let out = gongkai(
        &["render", sample_path().to_str().unwrap(), "--to", "pdf"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}
