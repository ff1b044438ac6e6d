//! Every published layout of the sample (testdata/reports/layouts/, built by
//! make_fixtures.py there) imports to the sample's cells, cell by cell, with
//! no import finding and the same check findings; the 2019 trial copy imports
//! to its own cells; planted defects are found where they were planted.

use gongkai_document::{Imported, Layout, import};
use gongkai_domain::{
    FormatVersion, Report, check_alone,
    shape::{T3_COLUMNS, T3Row, T4_BLOCKS, T4_COLUMNS, Value},
};

const SAMPLE: &[u8] = include_bytes!("../../../testdata/reports/baoqing-county-2024.md");

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../../testdata/reports/layouts/", $name)).as_slice()
    };
}

/// What a cell of a row the document did not contain reads as: not 0.
const ABSENT: &str = "absent";

/// Every table cell of a report in its format: (path, value as published,
/// or [`ABSENT`]).
fn cells(r: &Report) -> Vec<(String, String)> {
    let shown = |v: Option<u64>| v.map_or(ABSENT.to_owned(), |v| v.to_string());
    let mut out = Vec::new();
    if let Some(t2) = &r.t2 {
        let layout = r.format.t2_layout();
        for c in layout.cells() {
            let value = if t2.is_row_absent(layout, c.row.key) {
                ABSENT.to_owned()
            } else {
                t2.get(&c).to_string()
            };
            out.push((c.path(), value));
        }
    }
    if let Some(t3) = &r.t3 {
        for row in T3Row::rows_of(r.format) {
            for col in &T3_COLUMNS {
                out.push((
                    format!("t3.{}.{}", row.spec().id, col.key),
                    shown(t3.cell(row, col.col)),
                ));
            }
        }
    }
    if let Some(t4) = &r.t4 {
        for b in &T4_BLOCKS {
            for c in &T4_COLUMNS {
                out.push((
                    format!("t4.{}.{}", b.key, c.key),
                    shown(t4.cell(b.block, c.col)),
                ));
            }
        }
    }
    out
}

/// Every cell of these T3 rows, as absent.
fn absent_cells(rows: &[&str]) -> Vec<(String, &'static str)> {
    rows.iter()
        .flat_map(|row| {
            T3_COLUMNS
                .iter()
                .map(move |c| (format!("t3.{row}.{}", c.key), ABSENT))
        })
        .collect()
}

fn sample() -> Report {
    import(SAMPLE).unwrap().report
}

/// (rule, location) of each finding.
fn found(findings: &[gongkai_domain::Finding]) -> Vec<(&'static str, String)> {
    findings
        .iter()
        .map(|f| (f.rule, f.location.path()))
        .collect()
}

/// Asserts every cell equals the sample's except those listed, which must
/// hold the value given; returns how many cells were compared.
fn assert_cells(got: &Report, except: &[(&str, &str)]) -> usize {
    let want = cells(&sample());
    let got = cells(got);
    assert_eq!(got.len(), want.len());
    for ((path, value), (want_path, want_value)) in got.iter().zip(&want) {
        assert_eq!(path, want_path);
        let want_value = except
            .iter()
            .find(|(p, _)| p == path)
            .map_or(want_value.as_str(), |(_, v)| v);
        assert_eq!(value, want_value, "{path}");
    }
    got.len()
}

fn clean(bytes: &[u8], layout: Layout, encoding: &str) {
    let Imported {
        report,
        findings,
        layout: sniffed,
        encoding: read_in,
    } = import(bytes).unwrap();
    assert_eq!(sniffed, layout);
    assert_eq!(read_in, encoding);
    assert_eq!(assert_cells(&report, &[]), 200);
    assert!(findings.is_empty(), "{layout}: {findings:#?}");
    let s = sample();
    assert_eq!(report.format, FormatVersion::Current2021);
    assert_eq!(report.metadata.agency_name, s.metadata.agency_name);
    assert_eq!(report.metadata.data_year, 2024);
    assert_eq!(report.sections[5], s.sections[5], "{layout}");
    assert!(
        report.sections[0]
            .as_deref()
            .unwrap()
            .contains("全县各部门共办理政府信息公开申请78件")
    );
    // No false findings: the check finds exactly what it finds in the sample
    // (its real t3.balance error in 自然人 and 总计).
    assert_eq!(
        found(&check_alone(&report)),
        found(&check_alone(&s)),
        "{layout}"
    );
}

#[test]
fn sample_check_findings_are_the_real_error() {
    let f = found(&check_alone(&sample()));
    assert!(
        f.contains(&("t3.balance", "t3.R25.natural_person".to_owned())),
        "{f:?}"
    );
    assert!(
        f.contains(&("t3.balance", "t3.R25.total".to_owned())),
        "{f:?}"
    );
    assert!(!f.iter().any(|(rule, _)| rule.starts_with("import.")));
}

#[test]
fn html_page_with_chrome_and_spans() {
    clean(fixture!("baoqing-county-2024.html"), Layout::Html, "UTF-8");
}

#[test]
fn html_saved_from_word() {
    clean(
        fixture!("baoqing-county-2024.word.html"),
        Layout::Html,
        "UTF-8",
    );
}

#[test]
fn html_page_in_gbk() {
    let bytes = fixture!("baoqing-county-2024.gbk.html");
    assert!(std::str::from_utf8(bytes).is_err(), "the fixture is GBK");
    clean(bytes, Layout::Html, "GBK");
}

#[test]
fn pipe_rows_with_full_width_digits_separators_and_spaced_labels() {
    clean(
        fixture!("baoqing-county-2024.pipe.md"),
        Layout::PipeRows,
        "UTF-8",
    );
}

#[test]
fn one_cell_per_line_with_bar_lines() {
    clean(
        fixture!("baoqing-county-2024.cells.txt"),
        Layout::CellPerLine,
        "UTF-8",
    );
}

#[test]
fn one_cell_per_line_without_bar_lines() {
    clean(
        fixture!("baoqing-county-2024.cells-nobars.txt"),
        Layout::CellPerLine,
        "UTF-8",
    );
}

#[test]
fn docx_as_libreoffice_writes_it_from_the_rendered_layout() {
    clean(fixture!("baoqing-county-2024.docx"), Layout::Docx, "UTF-8");
}

#[test]
fn docx_as_wps_writes_it_valueless_vmerge_tables_in_content_controls_numbered_headings() {
    clean(
        fixture!("baoqing-county-2024.wps.docx"),
        Layout::Docx,
        "UTF-8",
    );
}

#[test]
fn the_sample_itself_is_tab_separated() {
    clean(SAMPLE, Layout::TabSeparated, "UTF-8");
}

#[test]
fn trial_format_is_recognised_by_its_labels() {
    let imported = import(fixture!("baoqing-county-2020-trial.md")).unwrap();
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    let r = &imported.report;
    assert_eq!(r.format, FormatVersion::Trial2019);
    assert_eq!(r.metadata.data_year, 2020);
    let t2: Vec<String> = cells(r)
        .into_iter()
        .take(22)
        .map(|(p, v)| format!("{p}={v}"))
        .collect();
    assert_eq!(
        t2,
        [
            "t2.regulations.newly_made=0",
            "t2.regulations.newly_published=0",
            "t2.regulations.total_published=0",
            "t2.normative_documents.newly_made=11",
            "t2.normative_documents.newly_published=11",
            "t2.normative_documents.total_published=60",
            "t2.licensing.previous_year_items=312",
            "t2.licensing.change=-4",
            "t2.licensing.decisions=8430",
            "t2.other_external_services.previous_year_items=45",
            "t2.other_external_services.change=2",
            "t2.other_external_services.decisions=120",
            "t2.penalty.previous_year_items=1021",
            "t2.penalty.change=3",
            "t2.penalty.decisions=1659",
            "t2.coercion.previous_year_items=36",
            "t2.coercion.change=0",
            "t2.coercion.decisions=9",
            "t2.fees.previous_year_items=18",
            "t2.fees.change=-1",
            "t2.procurement.items=27",
            "t2.procurement.amount=3150.45",
        ]
    );
    // T3: the sample's rows, with R21..R23 (3 + 0 + 0) as the single
    // （六）其他处理 row; T4 as in the sample.
    let s = sample();
    let (t3, s3) = (r.t3.as_ref().unwrap(), s.t3.as_ref().unwrap());
    let mut compared = 0;
    for row in T3Row::rows_of(FormatVersion::Trial2019) {
        for col in &T3_COLUMNS {
            let want = match row {
                T3Row::OtherHandlingTrial => [T3Row::R21, T3Row::R22, T3Row::R23]
                    .iter()
                    .map(|r| s3.get(*r, col.col))
                    .sum(),
                _ => s3.get(row, col.col),
            };
            assert_eq!(
                t3.get(row, col.col),
                want,
                "t3.{}.{}",
                row.spec().id,
                col.key
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 161);
    assert_eq!(r.t4, s.t4);
    // The same real balance error, nothing else.
    assert_eq!(
        found(&check_alone(r)),
        [
            ("t3.balance", "t3.R25.natural_person".to_owned()),
            ("t3.balance", "t3.R25.total".to_owned()),
        ]
    );
}

#[test]
fn a_changed_cell_is_found_where_it_was_planted() {
    let imported = import(fixture!("defects/cell-changed.pipe.md")).unwrap();
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    assert_cells(&imported.report, &[("t3.R03.natural_person", "15")]);
    let f = check_alone(&imported.report);
    let sample_found = check_alone(&sample());
    let known = found(&sample_found);
    let new: Vec<_> = found(&f)
        .into_iter()
        .filter(|x| !known.contains(x))
        .collect();
    assert_eq!(
        new,
        [
            ("t3.outcome-total", "t3.R24.natural_person".to_owned()),
            ("t3.row-total", "t3.R03.total".to_owned()),
        ]
    );
    let outcome = f.iter().find(|f| f.rule == "t3.outcome-total").unwrap();
    assert_eq!(outcome.expected, Some(Value::Count(79)));
    assert_eq!(outcome.actual, Some(Value::Count(78)));
}

#[test]
fn a_missing_row_is_found_where_it_was_planted() {
    let imported = import(fixture!("defects/row-missing.html")).unwrap();
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    let t3 = imported.report.t3.as_ref().unwrap();
    assert!(t3.is_absent(T3Row::R17));
    assert_eq!(imported.report.absent_rows(), ["t3.R17"]);
    // Every other cell is the sample's; R17's are absent, not 0.
    let absent = absent_cells(&["R17"]);
    let except: Vec<(&str, &str)> = absent.iter().map(|(p, v)| (p.as_str(), *v)).collect();
    assert_eq!(assert_cells(&imported.report, &except), 200);
    // The check names the row; the outcome total, which needs it, says it
    // could not check (a warning), instead of a sum over an invented 0; the
    // balance, which does not need it, still finds the sample's real error.
    let f = check_alone(&imported.report);
    assert_eq!(
        found(&f),
        [
            ("t3.balance", "t3.R25.natural_person".to_owned()),
            ("t3.balance", "t3.R25.total".to_owned()),
            ("t3.outcome-total", "t3.R24".to_owned()),
            ("import.row-missing", "t3.R17".to_owned()),
        ]
    );
    let not_checked = &f[2];
    assert_eq!(not_checked.severity, gongkai_domain::Severity::Warning);
    assert_eq!(not_checked.cells, ["t3.R24", "t3.R17"]);
    assert_eq!(f[3].severity, gongkai_domain::Severity::Error);
}

#[test]
fn prose_that_disagrees_is_found_naming_both_numbers() {
    prose_disagrees(fixture!("defects/prose-disagrees.cells.txt"));
}

#[test]
fn prose_that_disagrees_is_found_in_an_html_page_too() {
    prose_disagrees(fixture!("defects/prose-disagrees.html"));
}

fn prose_disagrees(bytes: &[u8]) {
    let imported = import(bytes).unwrap();
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    assert_cells(&imported.report, &[]);
    let f = check_alone(&imported.report);
    let mismatches: Vec<_> = f
        .iter()
        .filter(|f| f.rule == "text.count-mismatch")
        .map(|f| (f.location.path(), f.expected, f.actual))
        .collect();
    assert_eq!(
        mismatches,
        [
            (
                "t3.R24.total".to_owned(),
                Some(Value::Count(78)),
                Some(Value::Count(80))
            ),
            (
                "t2.normative_documents.issued".to_owned(),
                Some(Value::Count(11)),
                Some(Value::Count(12))
            ),
        ]
    );
    let m = f.iter().find(|f| f.rule == "text.count-mismatch").unwrap();
    assert!(
        m.message.contains("80") && m.message.contains("78"),
        "{}",
        m.message
    );
}

#[test]
fn blank_cells_and_units_are_found_where_they_were_planted() {
    let imported = import(fixture!("defects/blank-and-units.html")).unwrap();
    assert_eq!(
        found(&imported.findings),
        [
            ("import.unit-in-cell", "t2.licensing.decisions".to_owned()),
            ("import.unit-in-cell", "t2.fees.amount".to_owned()),
            (
                "import.blank-cell",
                "t3.R17.commercial_enterprise".to_owned()
            ),
            (
                "import.blank-cell",
                "t3.R18.research_institution".to_owned()
            ),
            (
                "import.blank-cell",
                "t3.R23.social_welfare_organization".to_owned()
            ),
        ]
    );
    // Blanks read as 0 (as published there), units in the column's unit:
    // 148521812元 is 14852.1812万元 exactly.
    assert_cells(&imported.report, &[]);
}

#[test]
fn empty_lines_in_a_copied_table_are_empty_cells_in_their_columns() {
    let imported = import(fixture!("defects/blank-lines.cells-nobars.txt")).unwrap();
    assert_eq!(imported.layout, Layout::CellPerLine);
    assert_eq!(
        found(&imported.findings),
        [
            (
                "import.blank-cell",
                "t3.R04.research_institution".to_owned()
            ),
            (
                "import.blank-cell",
                "t4.litigation_direct.other_result".to_owned()
            ),
        ]
    );
    // The blanks were 0 in the sample; every value after them stays in its
    // column (R04’s 总计 26 is not read as 其他).
    assert_eq!(assert_cells(&imported.report, &[]), 200);
}

// ------------------------------------------ as real reports are published (issue 12)

#[test]
fn t3_published_as_one_table_per_group_each_with_its_own_header() {
    clean(
        fixture!("baoqing-county-2024.t3-split.md"),
        Layout::TabSeparated,
        "UTF-8",
    );
}

#[test]
fn t3_split_as_a_pdf_to_markdown_converter_writes_it() {
    clean(
        fixture!("baoqing-county-2024.t3-split.pipe.md"),
        Layout::PipeRows,
        "UTF-8",
    );
}

/// Imports a copy of the sample with one thing changed: every cell but those
/// listed is the sample's, the agency and year are the sample's; returns the
/// import and the check findings that the sample does not have.
fn changed_copy(bytes: &[u8], except: &[(&str, &str)]) -> (Imported, Vec<gongkai_domain::Finding>) {
    let imported = import(bytes).unwrap();
    assert_eq!(assert_cells(&imported.report, except), 200);
    assert_eq!(imported.report.metadata.agency_name, "宝清县人民政府");
    assert_eq!(imported.report.metadata.data_year, 2024);
    let known = found(&check_alone(&sample()));
    let new = check_alone(&imported.report)
        .into_iter()
        .filter(|f| !known.contains(&(f.rule, f.location.path())))
        .collect();
    (imported, new)
}

#[test]
fn year_and_agency_only_in_the_page_title() {
    let (imported, new) = changed_copy(fixture!("defects/page-title-only.html"), &[]);
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    assert!(new.is_empty(), "{new:#?}");
}

#[test]
fn a_title_broken_over_two_lines_after_a_crawler_label() {
    let (imported, new) = changed_copy(fixture!("defects/title-split-after-label.md"), &[]);
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    assert!(new.is_empty(), "{new:#?}");
}

#[test]
fn the_year_only_in_the_statistics_period_is_no_data_year_error() {
    let (imported, new) = changed_copy(fixture!("defects/period-only.md"), &[]);
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    assert!(new.is_empty(), "{new:#?}");
}

#[test]
fn a_title_and_a_statistics_period_that_disagree_are_named_both() {
    let (imported, new) = changed_copy(fixture!("defects/years-disagree.md"), &[]);
    assert_eq!(
        found(&imported.findings),
        [("import.metadata", "metadata.data_year".to_owned())]
    );
    let m = &imported.findings[0].message;
    assert!(m.contains("2024") && m.contains("2023"), "{m}");
    assert!(m.contains("标题") && m.contains("统计期限"), "{m}");
    assert!(new.is_empty(), "{new:#?}");
}

#[test]
fn misprinted_and_shortened_labels_are_drift_never_a_missing_row() {
    let (imported, new) = changed_copy(fixture!("defects/labels-misprinted.md"), &[]);
    assert_eq!(
        found(&imported.findings),
        [
            ("import.label-drift", "t3.R06".to_owned()),
            ("import.label-drift", "t3.R07".to_owned()),
            ("import.label-drift", "t3.R14".to_owned()),
        ]
    );
    assert!(imported.findings[1].message.contains("属于三安一稳定"));
    assert!(new.is_empty(), "{new:#?}");
    assert!(imported.report.absent_rows().is_empty());
}

#[test]
fn the_trial_single_other_row_in_a_2021_table_leaves_r21_to_r23_unknown_not_zero() {
    // R21's 3 is in the single row; R21..R23 are not in the document: their
    // cells are absent, not 0.
    let absent = absent_cells(&["R21", "R22", "R23"]);
    let except: Vec<(&str, &str)> = absent.iter().map(|(p, v)| (p.as_str(), *v)).collect();
    let (imported, new) = changed_copy(fixture!("defects/trial-other-row.md"), &except);
    assert_eq!(
        found(&imported.findings),
        [("import.unknown-row", "t3".to_owned())]
    );
    assert!(imported.findings[0].message.contains("R21"));
    assert_eq!(
        imported.report.absent_rows(),
        ["t3.R21", "t3.R22", "t3.R23"]
    );
    assert_eq!(
        found(&new),
        [
            ("t3.outcome-total", "t3.R24".to_owned()),
            ("import.row-missing", "t3.R21".to_owned()),
            ("import.row-missing", "t3.R22".to_owned()),
            ("import.row-missing", "t3.R23".to_owned()),
        ]
    );
    // No rule reports an error over a cell the document did not contain.
    for f in check_alone(&imported.report) {
        if f.severity == gongkai_domain::Severity::Error && f.rule != "import.row-missing" {
            assert!(
                !f.cells.iter().any(|c| ["R21", "R22", "R23"]
                    .iter()
                    .any(|r| c.starts_with(&format!("t3.{r}")))),
                "{f:?}"
            );
        }
    }
    assert_eq!(new[0].severity, gongkai_domain::Severity::Warning);
}

#[test]
fn a_row_with_its_label_and_every_cell_blank_is_blank_cells_not_missing() {
    let (imported, new) = changed_copy(fixture!("defects/blank-row.md"), &[]);
    let want: Vec<(&str, String)> = T3_COLUMNS
        .iter()
        .map(|c| ("import.blank-cell", format!("t3.R17.{}", c.key)))
        .collect();
    assert_eq!(found(&imported.findings), want);
    assert!(imported.report.absent_rows().is_empty());
    assert!(new.is_empty(), "{new:#?}");
}

#[test]
fn no_fee_said_otherwise_beside_the_regulation_title_is_a_stated_fee() {
    let (imported, new) = changed_copy(fixture!("defects/no-fee-said-otherwise.md"), &[]);
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    assert!(
        imported.report.sections[5]
            .as_deref()
            .unwrap()
            .contains("本年度未收取任何费用")
    );
    assert!(new.is_empty(), "{new:#?}");
}

#[test]
fn a_count_written_with_a_space_and_a_line_break_is_read_by_the_text_rules() {
    let (imported, new) = changed_copy(fixture!("defects/numbers-spaced.md"), &[]);
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    assert_eq!(
        new.iter()
            .map(|f| (f.rule, f.location.path(), f.expected, f.actual))
            .collect::<Vec<_>>(),
        [(
            "text.count-mismatch",
            "t3.R24.total".to_owned(),
            Some(Value::Count(78)),
            Some(Value::Count(80))
        )]
    );
}

// ---------------------------------------------------------------- PDF
// Built by make_pdf_fixtures.py: the sample rendered to the official layout
// by gongkai, exported to PDF by LibreOffice.

/// No line of the running header or the page numbers survives into the
/// report's text.
fn no_page_furniture(report: &Report) {
    for (i, section) in report.sections.iter().enumerate() {
        let text = section.as_deref().unwrap_or_default();
        assert!(!text.contains("人民政府门户网站"), "section {i}: {text}");
        assert!(
            !text.contains("- 2 -") && !text.contains("-2-"),
            "section {i}: {text}"
        );
    }
}

#[test]
fn pdf_with_t3_across_two_pages() {
    let bytes = fixture!("baoqing-county-2024.pdf");
    clean(bytes, Layout::Pdf, "PDF");
    no_page_furniture(&import(bytes).unwrap().report);
}

#[test]
fn pdf_with_t3_header_repeated_on_the_next_page() {
    let bytes = fixture!("baoqing-county-2024.repeated-header.pdf");
    clean(bytes, Layout::Pdf, "PDF");
    no_page_furniture(&import(bytes).unwrap().report);
}

#[test]
fn pdf_without_rulings() {
    clean(
        fixture!("baoqing-county-2024.unruled.pdf"),
        Layout::Pdf,
        "PDF",
    );
}

#[test]
fn pdf_is_sniffed_by_its_bytes_not_a_name() {
    // Bytes before the signature are allowed (the standard's first 1024).
    let mut bytes = b"\r\n\x00junk".to_vec();
    bytes.extend_from_slice(fixture!("baoqing-county-2024.pdf"));
    assert_eq!(import(&bytes).unwrap().layout, Layout::Pdf);
}

fn pdf_error(bytes: &[u8]) -> String {
    match import(bytes) {
        Err(gongkai_document::ImportError::Pdf(e)) => e.to_string(),
        other => panic!("expected a PDF error, got {other:?}"),
    }
}

#[test]
fn pdf_without_tounicode_maps_is_a_clear_error_naming_the_font() {
    let err = pdf_error(fixture!("defects/no-tounicode.pdf"));
    assert!(err.contains("ToUnicode"), "{err}");
    assert!(err.contains("NotoSerifCJK"), "{err}");
    assert!(err.contains("第1页"), "{err}");
}

#[test]
fn pdf_with_text_as_outlines_is_a_clear_error() {
    let err = pdf_error(fixture!("defects/outlines.pdf"));
    assert!(err.contains("没有文字层"), "{err}");
    assert!(err.contains("outlines"), "{err}");
}

#[test]
fn scanned_pdf_is_a_clear_error() {
    let err = pdf_error(fixture!("defects/scanned.pdf"));
    assert!(err.contains("没有文字层"), "{err}");
    assert!(err.contains("scan"), "{err}");
}
