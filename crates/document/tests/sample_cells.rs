//! The sample report (宝清县人民政府, data year 2024) imports to every cell
//! exactly as published: 10 T2, 175 T3 and 15 T4 cells, with no import finding.

use gongkai_document::import;
use gongkai_domain::{
    FormatVersion,
    shape::{T3_COLUMNS, T3Row, T4_BLOCKS, T4_COLUMNS, Value},
};

const SAMPLE: &[u8] = include_bytes!("../../../testdata/reports/baoqing-county-2024.md");

/// T3 as published, row by row: 自然人, 商业企业, 科研机构, 社会公益组织,
/// 法律服务机构, 其他, 总计.
const T3_AS_PUBLISHED: [(T3Row, [u64; 7]); 25] = [
    (T3Row::R01, [78, 0, 0, 0, 0, 0, 78]),
    (T3Row::R02, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R03, [14, 0, 0, 0, 0, 0, 14]),
    (T3Row::R04, [26, 0, 0, 0, 0, 0, 26]),
    (T3Row::R05, [1, 0, 0, 0, 0, 0, 1]),
    (T3Row::R06, [1, 0, 0, 0, 0, 0, 1]),
    (T3Row::R07, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R08, [6, 0, 0, 0, 0, 0, 6]),
    (T3Row::R09, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R10, [1, 0, 0, 0, 0, 0, 1]),
    (T3Row::R11, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R12, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R13, [24, 0, 0, 0, 0, 0, 24]),
    (T3Row::R14, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R15, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R16, [2, 0, 0, 0, 0, 0, 2]),
    (T3Row::R17, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R18, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R19, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R20, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R21, [3, 0, 0, 0, 0, 0, 3]),
    (T3Row::R22, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R23, [0, 0, 0, 0, 0, 0, 0]),
    (T3Row::R24, [78, 0, 0, 0, 0, 0, 78]),
    (T3Row::R25, [1, 0, 0, 0, 0, 0, 1]),
];

/// T4 as published: 行政复议, 未经复议直接起诉, 复议后起诉; each 维持, 纠正,
/// 其他, 尚未审结, 总计.
const T4_AS_PUBLISHED: [[u64; 5]; 3] = [[1, 1, 0, 2, 4], [0; 5], [0; 5]];

#[test]
fn every_t3_cell_as_published() {
    let r = import(SAMPLE).unwrap().report;
    let t3 = r.t3.expect("T3 present");
    let mut checked = 0;
    for (row, values) in T3_AS_PUBLISHED {
        for (col, want) in T3_COLUMNS.iter().zip(values) {
            assert_eq!(
                t3.get(row, col.col),
                want,
                "t3.{}.{}",
                row.spec().id,
                col.key
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 175);
}

#[test]
fn every_t4_cell_as_published() {
    let r = import(SAMPLE).unwrap().report;
    let t4 = r.t4.expect("T4 present");
    let mut checked = 0;
    for (block, values) in T4_BLOCKS.iter().zip(T4_AS_PUBLISHED) {
        for (col, want) in T4_COLUMNS.iter().zip(values) {
            assert_eq!(
                t4.get(block.block, col.col),
                want,
                "t4.{}.{}",
                block.key,
                col.key
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 15);
}

#[test]
fn every_t2_cell_as_published() {
    let r = import(SAMPLE).unwrap().report;
    assert_eq!(r.format, FormatVersion::Current2021);
    let t2 = r.t2.expect("T2 present");
    let layout = r.format.t2_layout();
    let expected = [
        ("regulations", "issued", "0"),
        ("regulations", "repealed", "0"),
        ("regulations", "in_force", "0"),
        ("normative_documents", "issued", "11"),
        ("normative_documents", "repealed", "5"),
        ("normative_documents", "in_force", "60"),
        ("licensing", "decisions", "8430"),
        ("penalty", "decisions", "1659"),
        ("coercion", "decisions", "9"),
        ("fees", "amount", "14852.1812"),
    ];
    assert_eq!(layout.len(), expected.len());
    for (row, col, want) in expected {
        let cell = layout.cell(row, col).unwrap();
        assert_eq!(t2.get(&cell).to_string(), want, "t2.{row}.{col}");
    }
    // The fee is exact money, not a float that happens to print right.
    assert!(
        matches!(t2.get(&layout.cell("fees", "amount").unwrap()), Value::Money(m) if m.scale() == 4)
    );
}

#[test]
fn metadata_sections_and_no_import_findings() {
    let imported = import(SAMPLE).unwrap();
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    let r = imported.report;
    assert_eq!(r.metadata.agency_name, "宝清县人民政府");
    assert_eq!(r.metadata.data_year, 2024);
    assert_eq!(r.metadata.agency_uscc, None);
    let overview = r.sections[0].as_deref().unwrap();
    assert!(overview.contains("全县各部门共办理政府信息公开申请78件"));
    assert!(overview.contains("（五）监督保障工作。"));
    assert!(
        r.sections[4]
            .as_deref()
            .unwrap()
            .starts_with("主动公开工作还不够规范")
    );
    assert_eq!(
        r.sections[5].as_deref(),
        Some("依据《政信息公开信息处理费管理办法》，本年度收取信息处理费用为0。")
    );
}

#[test]
fn repository_copy_is_the_shared_sample() {
    // The repository carries its own copy so a fresh clone runs alone; keep it
    // identical to the shared one wherever that is present.
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/reports/baoqing-county-2024.md");
    if let Ok(bytes) = std::fs::read(shared) {
        assert_eq!(bytes, SAMPLE);
    }
}
