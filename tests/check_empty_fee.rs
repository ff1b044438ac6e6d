//! An empty fee cell (第（八）项 行政事业性收费 本年收费金额) is not a silent 0
//! (issue 13, point 6). In a published text it is the importer's
//! `import.blank-cell` warning, naming the cell: read as 0 because the
//! published table says nothing else, and said so, so the verdict is never
//! plain "valid" — in every layout the importer reads. (Over the API, where
//! a caller states the amount, an empty one is refused instead:
//! serve_refused_values.rs.)

mod common;

use common::{check_json, corrected, located, replace_once, repo, temp_file};

#[test]
fn an_empty_fee_cell_is_a_blank_cell_warning_in_every_layout() {
    // The corrected sample (otherwise valid) with its fee left empty.
    let text = replace_once(&corrected(), "14852.1812", "");
    let file = temp_file("empty-fee.md", text);
    let (code, report) = check_json(file.arg());
    assert_eq!(code, Some(0), "warnings only: {report}");
    assert_eq!(report["verdict"], "valid_with_warnings", "{report}");
    assert!(
        located(&report).contains(&(
            "import.blank-cell".into(),
            "warning".into(),
            "t2.fees.amount".into()
        )),
        "{report}"
    );
    // The same in each layout of the sample.
    let layouts = repo().join("testdata/reports/layouts");
    for name in [
        "baoqing-county-2024.html",
        "baoqing-county-2024.word.html",
        "baoqing-county-2024.pipe.md",
        "baoqing-county-2024.cells.txt",
        "baoqing-county-2024.cells-nobars.txt",
    ] {
        let text = std::fs::read_to_string(layouts.join(name)).unwrap();
        let file = temp_file(name, replace_once(&text, "14852.1812", ""));
        let (_, report) = check_json(file.arg());
        assert!(
            located(&report)
                .iter()
                .any(|(rule, _, at)| rule == "import.blank-cell" && at == "t2.fees.amount"),
            "{name}: {report}"
        );
        assert_ne!(report["verdict"], "valid", "{name}");
    }
}
