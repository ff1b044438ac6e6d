//! One cell per line: a value written with its unit ("14852.1812万元") is
//! read as the value, with the unit finding, not taken for a row label (it
//! holds two Chinese characters) and dropped as a blank cell.

use gongkai_document::import_str;
use gongkai_domain::catalogue::id;

const CELLS: &str =
    include_str!("../../../testdata/reports/layouts/baoqing-county-2024.cells-nobars.txt");

#[test]
fn a_fee_written_with_its_unit_is_read_as_the_fee() {
    let text = CELLS.replacen(
        "行政事业性收费\n14852.1812\n",
        "行政事业性收费\n14852.1812万元\n",
        1,
    );
    assert_ne!(text, CELLS, "the fixture has the fee line");
    let imported = import_str(&text).expect("imports");
    let cell = imported
        .report
        .format
        .t2_layout()
        .cell("fees", "amount")
        .expect("the fee cell");
    assert_eq!(
        imported
            .report
            .t2
            .as_ref()
            .expect("T2")
            .get(&cell)
            .to_string(),
        "14852.1812"
    );
    let rules: Vec<&str> = imported.findings.iter().map(|f| f.rule).collect();
    assert!(rules.contains(&id::IMPORT_UNIT_IN_CELL), "{rules:?}");
    assert!(!rules.contains(&id::IMPORT_BLANK_CELL), "{rules:?}");
}
