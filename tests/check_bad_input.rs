//! Bad input. A file that cannot be read, or is not an annual report at all,
//! is an error naming the file and the problem, exit 2, never a panic. A
//! report with bad contents (cut short, absurd or unreadable cells) is read as
//! far as it goes and gets findings naming the cells, never an error.

mod common;

use common::{
    SAMPLE_R01, assert_no_panic, check_json, corrected, gongkai, json_lines, located, replace_once,
    sample, sample_path, stderr, stdout, temp_file, triples, with_rule,
};

// ------------------------------------------------------- not a report: exit 2

/// Checks that `file` is refused with exit 2 in both formats: stderr names the
/// file and says `why`; the JSON line names the file and carries the error;
/// the text format prints nothing on stdout for it.
fn assert_refused(file: &str, why: &[&str]) {
    let out = gongkai(&["check", file], None);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(file), "stderr names the file: {err}");
    for w in why {
        assert!(err.contains(w), "stderr says {w:?}: {err}");
    }
    assert_eq!(stdout(&out), "", "nothing on stdout for an unreadable file");

    let out = gongkai(&["check", "--format", "json", file], None);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{}", stdout(&out));
    let line = &lines[0];
    assert_eq!(line["file"], file);
    assert!(line.get("verdict").is_none(), "no verdict: {line}");
    assert!(line.get("findings").is_none(), "no findings: {line}");
    let error = line["error"].as_str().unwrap_or_else(|| panic!("{line}"));
    for w in why {
        assert!(error.contains(w), "error says {w:?}: {error}");
    }
}

#[test]
fn gbk_encoded_report_is_read_as_gbk() {
    // The sample's first lines as a Windows "ANSI" (GBK) save would have them:
    // no longer refused (issue 5), but read as GB18030 (GBK's superset) and
    // checked like any other text — here a report cut short after its title.
    let gbk: &[u8] = b"# \xb1\xa6\xc7\xe5\xcf\xd8\xc8\xcb\xc3\xf1\xd5\xfe\xb8\xae\n\n\
        ## 2024\xc4\xea\xd5\xfe\xb8\xae\xd0\xc5\xcf\xa2\xb9\xab\xbf\xaa\xb9\xa4\xd7\xf7\xc4\xea\xb6\xc8\xb1\xa8\xb8\xe6\n\n\
        ### \xd2\xbb\xa1\xa2\xd7\xdc\xcc\xe5\xc7\xe9\xbf\xf6\n";
    let file = temp_file("gbk.md", gbk);
    let (code, report) = check_json(file.arg());
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["encoding"], "gb18030");
    assert_eq!(report["verdict"], "invalid");
    let found = located(&report);
    assert!(
        found.contains(&(
            "report.section-missing".to_owned(),
            "error".to_owned(),
            "section.2".to_owned()
        )),
        "{found:?}"
    );
}

#[test]
fn utf16_export_is_read_by_its_byte_order_mark() {
    let mut bytes = vec![0xff, 0xfe];
    for unit in sample().encode_utf16() {
        bytes.extend(unit.to_le_bytes());
    }
    let file = temp_file("utf16.md", bytes);
    let (code, report) = check_json(file.arg());
    let (_, utf8) = check_json(sample_path().to_str().unwrap());
    assert_eq!(code, Some(1));
    assert_eq!(report["encoding"], "UTF-16LE");
    assert_eq!(located(&report), located(&utf8));
}

#[test]
fn bytes_in_no_encoding_name_the_encodings_and_the_byte() {
    // "# " is ASCII; 0xFF is neither UTF-8 nor a GB18030 lead byte.
    let file = temp_file("neither.md", b"# \xff\xff\n");
    assert_refused(file.arg(), &["UTF-8", "GB18030", "byte 2"]);
}

#[test]
fn random_bytes_are_not_utf8() {
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80)
        .collect();
    let file = temp_file("random.bin", bytes);
    assert_refused(file.arg(), &["UTF-8"]);
}

#[test]
fn empty_file() {
    let file = temp_file("empty.md", "");
    assert_refused(file.arg(), &["empty", "文件为空"]);
}

#[test]
fn whitespace_only_file() {
    let file = temp_file("blank.md", " \n\t\n\u{3000}\r\n  \n");
    assert_refused(file.arg(), &["empty", "文件为空"]);
}

#[test]
fn readme_markdown_is_not_a_report() {
    let readme = "# gongkai\n\nChecks annual reports.\n\n## Usage\n\n```\ngongkai check FILE\n```\n\n\
        | option | meaning |\n|---|---|\n| --format | text or json |\n";
    let file = temp_file("README.md", readme);
    assert_refused(file.arg(), &["不是政府信息公开工作年度报告"]);
}

#[test]
fn json_file_is_not_a_report() {
    let json = r#"{"name": "宝清县人民政府", "year": 2024, "rows": [[78, 0, 0], [0, 0, 0]]}"#;
    let file = temp_file("report.json", json);
    assert_refused(file.arg(), &["不是政府信息公开工作年度报告"]);
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-report.md");
    assert_refused(path.to_str().unwrap(), &["cannot read"]);
}

#[test]
fn directory_instead_of_file() {
    let dir = tempfile::tempdir().unwrap();
    assert_refused(dir.path().to_str().unwrap(), &["cannot read"]);
}

#[test]
fn other_annual_report_is_not_a_report() {
    // The same agencies publish a 法治政府建设年度报告 every year; sending it in
    // place of the 政府信息公开工作年度报告 is a real mistake. It has no T2,
    // T3 or T4 and its title does not name 政府信息公开.
    let text = "# 某某县人民政府\n\n## 2024年法治政府建设年度报告\n\n### 一、总体情况\n\n\
        2024年，我县深入推进法治政府建设。\n\n### 二、存在的问题和改进措施\n\n执法规范化水平有待提高。\n";
    let file = temp_file("fazhi-2024.md", text);
    assert_refused(file.arg(), &["不是政府信息公开工作年度报告"]);
}

#[test]
fn a_legacy_word_or_wps_file_is_told_to_be_saved_as_docx_or_pdf_whatever_its_name() {
    // An OLE2 compound file, named as if it were text: told by its bytes.
    let ole = [
        &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1][..],
        &[0; 504],
    ]
    .concat();
    let file = temp_file("report.txt", ole);
    assert_refused(file.arg(), &[".doc", ".wps", ".docx", "PDF"]);
}

// ------------------------------------------------ a report read in part: exit 1

#[test]
fn report_cut_short_in_t3_names_every_missing_row_and_section() {
    let text = sample();
    let r13 = "\t(四) 无法提供\t1. 本机关不掌握相关政府信息\t24\t0\t0\t0\t0\t0\t24\n";
    let end = text.find(r13).expect("R13 row in the sample") + r13.len();
    let file = temp_file("cut.md", &text[..end]);
    let (code, report) = check_json(file.arg());
    assert_eq!(code, Some(1));
    assert_eq!(report["verdict"], "invalid");

    let missing: Vec<String> = with_rule(&report, "import.row-missing")
        .iter()
        .map(|f| {
            assert_eq!(f["severity"], "error");
            f["location"].as_str().unwrap().to_owned()
        })
        .collect();
    let expected: Vec<String> = (14..=25).map(|n| format!("t3.R{n}")).collect();
    assert_eq!(missing, expected);

    // R14..R25 are not in the document: no sum over them is invented (before,
    // R24 and R25 read as 0 gave t3.balance 78 + 0 ≠ 0 + 0 and
    // t3.outcome-total 73 ≠ 0 as errors). The two arithmetic rules that need
    // them say, once each and as warnings, that they could not check.
    let mut expected = vec![
        ("t3.balance", "warning", "t3.R25".to_owned()),
        ("t3.outcome-total", "warning", "t3.R24".to_owned()),
    ];
    // T4, 五 and 六 are gone.
    for section in 4..=6 {
        expected.push((
            "report.section-missing",
            "error",
            format!("section.{section}"),
        ));
    }
    for n in 14..=25 {
        expected.push(("import.row-missing", "error", format!("t3.R{n}")));
    }
    let expected: Vec<(String, String, String)> = expected
        .into_iter()
        .map(|(r, s, l)| (r.to_owned(), s.to_owned(), l))
        .collect();
    assert_eq!(located(&report), expected, "{report}");
    let balance = &with_rule(&report, "t3.balance")[0];
    assert_eq!(
        balance["cells"],
        serde_json::json!(["t3.R25", "t3.R24"]),
        "{balance}"
    );
    assert!(
        !with_rule(&report, "t3.outcome-total")[0]["message"]
            .as_str()
            .unwrap()
            .contains("73")
    );

    let t4 = with_rule(&report, "report.section-missing")[0]["message"]
        .as_str()
        .unwrap();
    assert!(
        t4.contains("四、政府信息公开行政复议、行政诉讼情况"),
        "{t4}"
    );
    assert!(
        t4.contains("table"),
        "the T4 table is named as missing: {t4}"
    );
}

#[test]
fn number_too_large_for_any_count_is_value_range() {
    let big = "99999999999999999999999";
    let file = temp_file(
        "big.md",
        replace_once(
            &corrected(),
            SAMPLE_R01,
            &format!("一、本年新收政府信息公开申请数量\t\t{big}\t0\t0\t0\t0\t0\t78\t"),
        ),
    );
    let (code, report) = check_json(file.arg());
    assert_eq!(code, Some(1));
    assert_eq!(report["verdict"], "invalid");
    let range = with_rule(&report, "value.range");
    assert_eq!(range.len(), 1, "{report}");
    assert_eq!(range[0]["severity"], "error");
    assert_eq!(range[0]["location"], "t3.R01.natural_person");
    let msg = range[0]["message"].as_str().unwrap();
    assert!(msg.contains(big), "{msg}");
    // The cell is read as 0, so the sums over it then disagree; those are
    // consequences, named at their own cells.
    assert_eq!(
        located(&report),
        triples(&[
            ("value.range", "error", "t3.R01.natural_person"),
            ("t3.balance", "error", "t3.R25.natural_person"),
            ("t3.row-total", "error", "t3.R01.total"),
        ]),
        "{report}"
    );
}

#[test]
fn row_total_that_overflows_is_value_range_not_a_wrong_sum() {
    let max = u64::MAX;
    let file = temp_file(
        "overflow.md",
        replace_once(
            &corrected(),
            SAMPLE_R01,
            &format!("一、本年新收政府信息公开申请数量\t\t{max}\t{max}\t0\t0\t0\t0\t78\t"),
        ),
    );
    let (code, report) = check_json(file.arg());
    assert_eq!(code, Some(1));
    // u64::MAX is above value.range's bound (10¹⁰, issue 13): a finding on
    // each such cell, and the sum that overflows is one more.
    let range = with_rule(&report, "value.range");
    let at: Vec<&str> = range
        .iter()
        .map(|f| f["location"].as_str().unwrap())
        .collect();
    assert_eq!(
        at,
        [
            "t3.R01.natural_person",
            "t3.R01.commercial_enterprise",
            "t3.R01.total"
        ],
        "{report}"
    );
    assert!(
        range[0]["message"]
            .as_str()
            .unwrap()
            .contains("10000000000")
    );
    let msg = range[2]["message"].as_str().unwrap();
    assert!(msg.contains("overflows"), "{msg}");
    assert!(
        with_rule(&report, "t3.row-total").is_empty(),
        "an overflowing sum is not compared: {report}"
    );
    // Each column on its own still balances or not, exactly.
    let balance = with_rule(&report, "t3.balance");
    let at: Vec<&str> = balance
        .iter()
        .map(|f| f["location"].as_str().unwrap())
        .collect();
    assert_eq!(
        at,
        ["t3.R25.natural_person", "t3.R25.commercial_enterprise"]
    );
    assert_eq!(balance[0]["expected"], u64::MAX);
    assert_eq!(balance[0]["actual"], 78);
}

#[test]
fn column_sum_that_overflows_is_value_range() {
    let max = u64::MAX;
    let text = replace_once(
        &corrected(),
        SAMPLE_R01,
        &format!("一、本年新收政府信息公开申请数量\t\t{max}\t0\t0\t0\t0\t0\t{max}\t"),
    );
    let text = replace_once(
        &text,
        "二、上年结转政府信息公开申请数量\t\t0\t0\t0\t0\t0\t0\t0\t",
        "二、上年结转政府信息公开申请数量\t\t1\t0\t0\t0\t0\t0\t1\t",
    );
    let file = temp_file("overflow-column.md", text);
    let (code, report) = check_json(file.arg());
    assert_eq!(code, Some(1));
    let at: Vec<String> = with_rule(&report, "value.range")
        .iter()
        .map(|f| f["location"].as_str().unwrap().to_owned())
        .collect();
    // Each cell above the bound (issue 13), then each column sum that overflows.
    assert_eq!(
        at,
        [
            "t3.R01.natural_person",
            "t3.R01.total",
            "t3.R25.natural_person",
            "t3.R25.total"
        ],
        "{report}"
    );
    assert!(with_rule(&report, "t3.balance").is_empty(), "{report}");
}

/// The corrected sample with R01's 商业企业 cell (a 0) written as `cell`.
fn r01_commercial(cell: &str) -> String {
    replace_once(
        &corrected(),
        SAMPLE_R01,
        &format!("一、本年新收政府信息公开申请数量\t\t78\t{cell}\t0\t0\t0\t0\t78\t"),
    )
}

#[test]
fn blank_cell_is_a_warning_naming_the_cell() {
    for (name, cell) in [("empty", ""), ("dash", "—"), ("slash", "/")] {
        let file = temp_file(&format!("{name}.md"), r01_commercial(cell));
        let (code, report) = check_json(file.arg());
        assert_eq!(code, Some(0), "{cell:?}: warnings still exit 0");
        assert_eq!(report["verdict"], "valid_with_warnings", "{cell:?}");
        assert_eq!(
            located(&report),
            triples(&[(
                "import.blank-cell",
                "warning",
                "t3.R01.commercial_enterprise"
            )]),
            "{cell:?}: {report}"
        );
        let msg = report["findings"][0]["message"].as_str().unwrap();
        assert!(msg.contains("t3.R01.commercial_enterprise"), "{msg}");
        assert!(msg.contains(&format!("\"{cell}\"")), "{msg}");
    }
}

#[test]
fn blank_cell_in_a_t2_row_is_a_warning_naming_the_cell() {
    let file = temp_file(
        "t2-blank.md",
        replace_once(
            &corrected(),
            "行政规范性文件\t11\t5\t60",
            "行政规范性文件\t11\t—\t60",
        ),
    );
    let (code, report) = check_json(file.arg());
    assert_eq!(code, Some(0));
    let blank = with_rule(&report, "import.blank-cell");
    assert_eq!(blank.len(), 1, "{report}");
    assert_eq!(blank[0]["location"], "t2.normative_documents.repealed");
}

#[test]
fn blank_total_cell_is_named_at_the_total_column() {
    let file = temp_file(
        "blank-total.md",
        replace_once(
            &corrected(),
            SAMPLE_R01,
            "一、本年新收政府信息公开申请数量\t\t78\t0\t0\t0\t0\t0\t\t",
        ),
    );
    let (_, report) = check_json(file.arg());
    assert_eq!(
        located(&report),
        triples(&[
            ("import.blank-cell", "warning", "t3.R01.total"),
            // 总计 read as 0: R01 + R02 = 0 + 0 against R24 + R25 = 78 + 0.
            ("t3.balance", "error", "t3.R25.total"),
            ("t3.row-total", "error", "t3.R01.total"),
        ]),
        "{report}"
    );
}

/// The corrected sample's T4 value row (复议 1 1 0 2 4, the rest 0) as `row`.
fn t4_values(row: &str) -> String {
    replace_once(
        &corrected(),
        "1\t1\t0\t2\t4\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0",
        row,
    )
}

#[test]
fn blank_cell_in_t4_is_a_warning_naming_the_cell() {
    for (row, location) in [
        (
            "1\t\t0\t2\t4\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0",
            "t4.reconsideration.corrected",
        ),
        (
            "1\t1\t0\t2\t4\t0\t0\t0\t0\t0\t0\t0\t0\t0\t—",
            "t4.litigation_after_reconsideration.total",
        ),
    ] {
        let file = temp_file("t4-blank.md", t4_values(row));
        let (_, report) = check_json(file.arg());
        let blank = with_rule(&report, "import.blank-cell");
        assert_eq!(blank.len(), 1, "{report}");
        assert_eq!(blank[0]["location"], location);
    }
}

#[test]
fn empty_last_t4_cell_is_a_blank_cell_not_a_missing_block() {
    let file = temp_file(
        "t4-last-blank.md",
        t4_values("1\t1\t0\t2\t4\t0\t0\t0\t0\t0\t1\t0\t0\t0\t"),
    );
    let (code, report) = check_json(file.arg());
    // 维持 1 is kept; 总计 is blank, read as 0, so the block does not add up.
    assert_eq!(
        located(&report),
        triples(&[
            (
                "import.blank-cell",
                "warning",
                "t4.litigation_after_reconsideration.total"
            ),
            (
                "t4.block-total",
                "error",
                "t4.litigation_after_reconsideration.total"
            ),
        ]),
        "{report}"
    );
    assert_eq!(code, Some(1));
}

#[test]
fn blank_last_cell_of_a_t2_row_is_a_warning_naming_the_cell() {
    let file = temp_file(
        "t2-last-blank.md",
        replace_once(
            &corrected(),
            "行政规范性文件\t11\t5\t60",
            "行政规范性文件\t11\t5\t",
        ),
    );
    let (_, report) = check_json(file.arg());
    let blank = with_rule(&report, "import.blank-cell");
    assert_eq!(blank.len(), 1, "{report}");
    assert_eq!(blank[0]["location"], "t2.normative_documents.in_force");
}

#[test]
fn amount_with_unit_in_a_count_cell_is_unreadable() {
    let file = temp_file("yuan.md", r01_commercial("251000元"));
    let (code, report) = check_json(file.arg());
    assert_eq!(code, Some(1), "an unreadable cell is an error");
    assert_eq!(report["verdict"], "invalid");
    assert_eq!(
        located(&report),
        triples(&[(
            "import.unreadable-cell",
            "error",
            "t3.R01.commercial_enterprise"
        )]),
        "{report}"
    );
    let msg = report["findings"][0]["message"].as_str().unwrap();
    assert!(msg.contains("251000元"), "{msg}");
}

// --------------------------------------------------------- several files at once

#[test]
fn every_file_is_reported_in_order_even_after_an_unreadable_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.md");
    let missing = missing.to_str().unwrap();
    let good = temp_file("good.md", corrected());
    let gbk = temp_file("gbk.md", b"# \xff\xff\n");
    let sample = sample_path();
    let sample = sample.to_str().unwrap();

    let files = [sample, missing, good.arg(), gbk.arg()];
    let mut args = vec!["check", "--format", "json"];
    args.extend(files);
    let out = gongkai(&args, None);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "unreadable beats invalid");
    let lines = json_lines(&out);
    let names: Vec<&str> = lines.iter().map(|l| l["file"].as_str().unwrap()).collect();
    assert_eq!(names, files);
    assert_eq!(lines[0]["verdict"], "invalid");
    assert!(lines[1]["error"].as_str().unwrap().contains("cannot read"));
    assert_eq!(lines[2]["verdict"], "valid");
    assert!(lines[3]["error"].as_str().unwrap().contains("UTF-8"));
    let err = stderr(&out);
    assert!(err.contains(missing) && err.contains(gbk.arg()), "{err}");
    assert!(!err.contains(good.arg()), "{err}");

    // The text format: results on stdout, errors on stderr, same exit code.
    let mut args = vec!["check"];
    args.extend(files);
    let out = gongkai(&args, None);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    let at_sample = text.find(&format!("{sample}: invalid")).expect(&text);
    let at_good = text.find(&format!("{}: valid", good.arg())).expect(&text);
    assert!(at_sample < at_good, "{text}");
    assert!(!text.contains(missing), "{text}");
}

#[test]
fn unreadable_file_first_still_checks_the_rest() {
    let good = temp_file("good.md", corrected());
    let empty = temp_file("empty.md", "");
    let out = gongkai(
        &["check", "--format", "json", empty.arg(), good.arg()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert!(lines[0].get("error").is_some());
    assert_eq!(lines[1]["file"], good.arg());
    assert_eq!(lines[1]["verdict"], "valid");
}
