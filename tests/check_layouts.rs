//! `gongkai check` sniffs each file's layout and encoding: the sample in
//! every published layout gives the sample's verdict and findings, and says
//! which layout and encoding it read — told by the bytes (every file is
//! checked under a `.txt` name). `gongkai import` tells a PDF or a Word file
//! by its bytes too.

mod common;

use common::{assert_no_panic, check_json, gongkai, located, sample_path, stderr, temp_file};

#[test]
fn every_layout_gives_the_samples_findings() {
    let (code, sample) = check_json(sample_path().to_str().unwrap());
    assert_eq!(code, Some(1), "the sample's real t3.balance error");
    assert_eq!(sample["layout"], "tab-separated");
    let dir = common::repo().join("testdata/reports/layouts");
    for (file, layout, encoding) in [
        ("baoqing-county-2024.html", "html", "UTF-8"),
        ("baoqing-county-2024.gbk.html", "html", "GBK"),
        ("baoqing-county-2024.pipe.md", "pipe-rows", "UTF-8"),
        ("baoqing-county-2024.cells.txt", "cell-per-line", "UTF-8"),
        (
            "baoqing-county-2024.cells-nobars.txt",
            "cell-per-line",
            "UTF-8",
        ),
        ("baoqing-county-2024.docx", "docx", "UTF-8"),
        ("baoqing-county-2024.wps.docx", "docx", "UTF-8"),
        // Sniffed by %PDF-, not the name: the same bytes under a .txt name.
        ("baoqing-county-2024.pdf", "pdf", "PDF"),
        ("baoqing-county-2024.unruled.pdf", "pdf", "PDF"),
    ] {
        let renamed = temp_file(
            &format!("{file}.txt"),
            std::fs::read(dir.join(file)).unwrap(),
        );
        let (code, report) = check_json(renamed.arg());
        assert_eq!(code, Some(1), "{file}");
        assert_eq!(report["layout"], layout, "{file}");
        assert_eq!(report["encoding"], encoding, "{file}");
        assert_eq!(report["verdict"], sample["verdict"], "{file}");
        assert_eq!(located(&report), located(&sample), "{file}");
    }
}

#[test]
fn a_planted_defect_is_reported_at_its_cell() {
    let path = common::repo().join("testdata/reports/layouts/defects/blank-and-units.html");
    let (_, report) = check_json(path.to_str().unwrap());
    let found = located(&report);
    for (rule, location) in [
        ("import.blank-cell", "t3.R17.commercial_enterprise"),
        ("import.unit-in-cell", "t2.fees.amount"),
    ] {
        assert!(
            found.iter().any(|(r, _, l)| r == rule && l == location),
            "{rule} at {location} in {found:?}"
        );
    }
}

/// `gongkai import FILE` as API JSON, parsed.
fn imported(file: &str) -> serde_json::Value {
    let out = gongkai(&["import", file], None);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(0), "{file}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{file}: not JSON ({e})"))
}

#[test]
fn gongkai_import_reads_pdf_and_word_files_by_their_bytes() {
    let sample = imported(sample_path().to_str().unwrap());
    let dir = common::repo().join("testdata/reports/layouts");
    for file in [
        "baoqing-county-2024.docx",
        "baoqing-county-2024.wps.docx",
        "baoqing-county-2024.pdf",
        "baoqing-county-2024.unruled.pdf",
    ] {
        let renamed = temp_file(
            &format!("{file}.txt"),
            std::fs::read(dir.join(file)).unwrap(),
        );
        let report = imported(renamed.arg());
        for part in [
            "metadata",
            "formatVersion",
            "activeDisclosure",
            "applications",
            "reconsiderationLitigation",
        ] {
            assert_eq!(report[part], sample[part], "{file}: {part}");
        }
        assert!(report.get("absentRows").is_none(), "{file}: {report}");
    }
}
