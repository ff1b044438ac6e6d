//! `gongkai check` sniffs each file's layout and encoding: the sample in
//! every published layout gives the sample's verdict and findings, and says
//! which layout and encoding it read — told by the bytes (every file is
//! checked under a `.txt` name).

mod common;

use common::{check_json, located, sample_path};

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
        let path = dir.join(file);
        let renamed =
            std::env::temp_dir().join(format!("gongkai-check-{}-{file}.txt", std::process::id()));
        std::fs::copy(&path, &renamed).unwrap();
        let (code, report) = check_json(renamed.to_str().unwrap());
        let _ = std::fs::remove_file(&renamed);
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
