//! Helpers shared by the end-to-end tests: run the real `gongkai` binary.

#![allow(dead_code)]

pub mod load;
pub mod raw;
pub mod serve;

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Output, Stdio},
};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Path of the sample report in the repository.
pub fn sample_path() -> PathBuf {
    repo().join("testdata/reports/baoqing-county-2024.md")
}

/// The sample report's text.
pub fn sample() -> String {
    std::fs::read_to_string(sample_path()).expect("sample report in testdata/")
}

/// Runs `gongkai ARGS`, feeding `stdin` if given.
pub fn gongkai(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gongkai"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gongkai");
    if let Some(bytes) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(bytes)
            .expect("write stdin");
    }
    child.wait_with_output().expect("gongkai runs")
}

/// Parses each stdout line as JSON.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The sample's T3 row 四、结转下年度继续办理 (R25) as published: 1 in 自然人
/// and 总计, after an empty merged label cell.
pub const SAMPLE_R25: &str = "四、结转下年度继续办理\t\t1\t0\t0\t0\t0\t0\t1\t";

/// The sample's T3 row 一、本年新收政府信息公开申请数量 (R01) as published.
pub const SAMPLE_R01: &str = "一、本年新收政府信息公开申请数量\t\t78\t0\t0\t0\t0\t0\t78\t";

/// The sample's title line, naming data year 2024.
pub const SAMPLE_TITLE: &str = "2024年政府信息公开工作年度报告";

/// `text` with `from` replaced by `to`; `from` must occur exactly once, so an
/// edit can never silently miss.
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "expected exactly one {from:?} in the text"
    );
    text.replacen(from, to, 1)
}

/// The sample with `from` replaced by `to` (exactly once).
pub fn sample_with(from: &str, to: &str) -> String {
    replace_once(&sample(), from, to)
}

/// The sample with its one real error corrected: R25 all 0, so that
/// R01 + R02 = 78 + 0 = R24 + R25 = 78 + 0 in every column.
pub fn corrected() -> String {
    sample_with(
        SAMPLE_R25,
        "四、结转下年度继续办理\t\t0\t0\t0\t0\t0\t0\t0\t",
    )
}

/// A file in a temporary directory, removed when dropped.
#[derive(Debug)]
pub struct TempFile {
    _dir: tempfile::TempDir,
    /// Where it is.
    pub path: PathBuf,
}

impl TempFile {
    /// The path as a command-line argument.
    pub fn arg(&self) -> &str {
        self.path.to_str().expect("temporary paths are UTF-8")
    }
}

/// Writes `contents` to a file called `name` in a fresh temporary directory.
pub fn temp_file(name: &str, contents: impl AsRef<[u8]>) -> TempFile {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, contents).expect("write temporary file");
    TempFile { _dir: dir, path }
}

/// (rule, severity, location) of every finding of one JSON report line.
pub fn located(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings array in {report}"))
        .iter()
        .map(|f| {
            let s = |k: &str| {
                f[k].as_str()
                    .unwrap_or_else(|| panic!("finding without {k}: {f}"))
                    .to_owned()
            };
            (s("rule"), s("severity"), s("location"))
        })
        .collect()
}

/// Owned (rule, severity, location) triples, for comparing with [`located`].
pub fn triples(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected
        .iter()
        .map(|(r, s, l)| ((*r).to_owned(), (*s).to_owned(), (*l).to_owned()))
        .collect()
}

/// The findings of one JSON report line with a given rule.
pub fn with_rule<'a>(report: &'a serde_json::Value, rule: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["rule"] == rule).collect())
        .unwrap_or_default()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The binary ended on its own terms: an exit code, and no panic.
pub fn assert_no_panic(out: &Output) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "gongkai panicked:\n{err}");
    assert!(out.status.code().is_some(), "killed by a signal: {out:?}");
}

/// Runs `gongkai check --format json FILE` and returns the exit code and the
/// one report line.
pub fn check_json(file: &str) -> (Option<i32>, serde_json::Value) {
    let out = gongkai(&["check", "--format", "json", file], None);
    assert_no_panic(&out);
    let mut lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "one line per file: {}", stdout(&out));
    (out.status.code(), lines.remove(0))
}

/// Last year's report, built from the sample: data year `year`, R25
/// (结转下年度继续办理) = `r25` in 自然人 and 总计 (0 elsewhere), and
/// `in_force` 行政规范性文件 现行有效件数 (the sample has 11 issued, 5 repealed,
/// 60 in force, so 54 follows on to this year's 60).
pub fn previous_year(year: u32, r25: u64, in_force: u64) -> String {
    let text = sample_with(SAMPLE_TITLE, &format!("{year}年政府信息公开工作年度报告"));
    let text = replace_once(
        &text,
        SAMPLE_R25,
        &format!("四、结转下年度继续办理\t\t{r25}\t0\t0\t0\t0\t0\t{r25}\t"),
    );
    replace_once(
        &text,
        "行政规范性文件\t11\t5\t60",
        &format!("行政规范性文件\t11\t5\t{in_force}"),
    )
}
