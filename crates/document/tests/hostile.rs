//! Hostile documents give findings or a clear error within bounded time and
//! memory, never a panic: 10 MB of nested tags, a table of 10,000 rows,
//! binary junk, and arbitrary bytes.

use std::time::{Duration, Instant};

use gongkai_document::{ImportError, MAX_DOCUMENT_BYTES, import};
use proptest::prelude::*;

/// Generous for a debug build on a shared 2-core machine; a release build
/// takes a small fraction of it.
const BOUND: Duration = Duration::from_secs(20);

fn timed<T>(f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(start.elapsed() < BOUND, "took {:?}", start.elapsed());
    out
}

#[test]
fn ten_megabytes_of_nested_tags_is_a_clear_error() {
    let page = "<div>".repeat(10 * 1024 * 1024 / 5);
    let err = timed(|| import(page.as_bytes())).unwrap_err();
    assert!(matches!(err, ImportError::TooComplex(_)), "{err:?}");
    assert!(err.to_string().contains("elements"), "{err}");
}

#[test]
fn deep_nesting_is_refused_or_read_without_overflowing() {
    // Nesting makes the reader's stack scans grow with elements × depth: 150,000
    // deep is refused up front; 5,000 deep of the kinds it works hardest on,
    // with a report heading at the bottom, is parsed and walked without
    // recursion.
    let deep = "<div>".repeat(150_000);
    let err = timed(|| import(deep.as_bytes())).unwrap_err();
    assert!(err.to_string().contains("deep"), "{err}");
    for tag in ["div", "b", "table", "span"] {
        let mut page = format!("<{tag}>").repeat(5_000);
        page.push_str("<p>2024年政府信息公开工作年度报告</p><p>一、总体情况</p><p>正文。</p>");
        let imported = timed(|| import(page.as_bytes())).unwrap();
        assert_eq!(imported.report.metadata.data_year, 2024, "{tag}");
        assert_eq!(
            imported.report.sections[0].as_deref(),
            Some("正文。"),
            "{tag}"
        );
    }
}

#[test]
fn end_tags_that_close_nothing_do_not_hide_nesting() {
    // `</x>` closes nothing (nothing of that name is open), so each
    // `<div></x>` nests one deeper: the estimate must see the depth, or the
    // reader's stack scans take time quadratic in the page.
    let page = format!("<p>一、总体情况</p>{}", "<div></x>".repeat(40_000));
    let err = timed(|| import(page.as_bytes())).unwrap_err();
    assert!(matches!(err, ImportError::TooComplex(_)), "{err:?}");
    assert!(err.to_string().contains("deep"), "{err}");
    // Closed as written, the same number of elements is a shallow page.
    let honest = format!("<p>一、总体情况</p>{}", "<div></div>".repeat(40_000));
    let read = timed(|| import(honest.as_bytes()));
    assert!(
        !matches!(read, Err(ImportError::TooComplex(_))),
        "a flat page is parsed: {:?}",
        read.err()
    );
}

#[test]
fn a_table_of_ten_thousand_rows_gives_findings() {
    let mut text = String::from(
        "# 宝清县人民政府\n\n## 2024年政府信息公开工作年度报告\n\n### 三、收到和处理政府信息公开申请情况\n\n",
    );
    text.push_str(
        "| | | | 自然人 | 商业企业 | 科研机构 | 社会公益组织 | 法律服务机构 | 其他 | 总计 |\n",
    );
    for i in 0..10_000 {
        text.push_str(&format!(
            "| 一、本年新收政府信息公开申请数量 | | | {i} | 0 | 0 | 0 | 0 | 0 | {i} |\n"
        ));
    }
    let imported = timed(|| import(text.as_bytes())).unwrap();
    let duplicates = imported
        .findings
        .iter()
        .filter(|f| f.rule == "import.row-duplicate")
        .count();
    assert_eq!(duplicates, 9_999);
    // The first occurrence is kept.
    assert_eq!(
        imported.report.t3.unwrap().get(
            gongkai_domain::shape::T3Row::R01,
            gongkai_domain::shape::T3Col::Total
        ),
        0
    );
}

#[test]
fn a_hundred_thousand_unknown_t3_labels_are_not_each_compared_with_every_row() {
    // Each label unlike any of T3's: read as a misprint, each would be
    // compared letter by letter with every official label.
    let mut text = String::from(
        "2024年政府信息公开工作年度报告\n三、收到和处理政府信息公开申请情况\n\t自然人\t商业企业\t科研机构\t社会公益组织\t法律服务机构\t其他\t总计\n",
    );
    let words: Vec<char> = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥天地玄黄宇宙洪荒"
        .chars()
        .collect();
    for i in 0..100_000 {
        let label: String = (0..40)
            .map(|j| words[(i * 7 + j * 13) % words.len()])
            .collect();
        text.push_str(&format!("{}.{label}\t1\t0\t0\t0\t0\t0\t1\n", i % 9 + 1));
    }
    let imported = timed(|| import(text.as_bytes())).unwrap();
    let unknown = imported
        .findings
        .iter()
        .filter(|f| f.rule == "import.unknown-row")
        .count();
    assert!(unknown >= 99_000, "{unknown}");
}

#[test]
fn an_html_table_of_ten_thousand_rows_gives_findings() {
    let mut page = String::from("<html><body><p>2024年政府信息公开工作年度报告</p><table>");
    for i in 0..10_000 {
        page.push_str(&format!(
            "<tr><td colspan=3>{i}、不知道的行</td><td>{i}</td></tr>"
        ));
    }
    page.push_str("</table></body></html>");
    let imported = timed(|| import(page.as_bytes())).unwrap();
    assert!(
        imported
            .findings
            .iter()
            .any(|f| f.rule == "import.unknown-row")
    );
}

#[test]
fn huge_spans_are_clamped() {
    let page = "<p>2024年政府信息公开工作年度报告</p><table><tr><td colspan=99999999 rowspan=99999999>申请人情况</td></tr><tr><td>自然人</td></tr></table>";
    let imported = timed(|| import(page.as_bytes()));
    assert!(imported.is_ok(), "{imported:?}");
}

#[test]
fn binary_junk_is_a_clear_error() {
    // A deterministic pseudo-random megabyte (xorshift), and an ELF-like
    // header: neither UTF-8 nor GB18030.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let junk: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let err = timed(|| import(&junk)).unwrap_err();
    assert!(matches!(err, ImportError::Undecodable { .. }), "{err:?}");
    let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
    elf.extend([0u8, 0xff, 0xfe, 0x00, 0x80].repeat(1000));
    assert!(matches!(import(&elf), Err(ImportError::Undecodable { .. })));
}

#[test]
fn oversized_input_is_refused_before_reading() {
    let big = vec![b'a'; MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(import(&big), Err(ImportError::TooLarge(_))));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = import(&bytes);
    }

    #[test]
    fn arbitrary_report_like_text_never_panics(
        lines in proptest::collection::vec(
            "[一二三四五六、（）()|\t<>/tdrbl=\"0-9件元万,. 总计自然人规章第二十条项行政复议申请其他—]{0,40}",
            0..60,
        )
    ) {
        let _ = import(lines.join("\n").as_bytes());
    }
}

// ------------------------------------------------------------------- .docx

const DOCX: &[u8] = include_bytes!("../../../testdata/reports/layouts/baoqing-county-2024.docx");

/// A `.docx` of the given parts, each deflated (level 1: fast in a debug build).
fn docx(parts: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(false);
    for (name, bytes) in parts {
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A main part of `body`, wrapped as Word writes it.
fn document(body: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    )
    .into_bytes()
}

#[test]
fn a_docx_zip_bomb_is_refused_within_its_bound() {
    // 40 MiB of zeros deflate to some 40 KiB: more than the 32 MiB the main
    // part may decompress to.
    let zeros = vec![b'0'; 40 * 1024 * 1024];
    let bomb = docx(&[("word/document.xml", &zeros)]);
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    let err = timed(|| import(&bomb)).unwrap_err();
    assert!(matches!(err, ImportError::TooComplex(_)), "{err:?}");
    assert!(err.to_string().contains("word/document.xml"), "{err}");
    // The same bomb with its declared sizes lowered to 1 KiB: the read is
    // cut at the bound all the same (or the part is short of its data),
    // never read whole.
    let mut lying = bomb.clone();
    let declared = u32::try_from(zeros.len()).unwrap().to_le_bytes();
    let mut at = 0;
    while let Some(i) = lying[at..].windows(4).position(|w| w == declared) {
        lying[at + i..at + i + 4].copy_from_slice(&1024u32.to_le_bytes());
        at += i + 4;
    }
    let err = timed(|| import(&lying)).unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::TooComplex(_) | ImportError::Damaged { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn a_docx_with_a_huge_number_of_entries_is_refused_before_its_directory_is_read() {
    let names: Vec<String> = (0..10_001).map(|i| format!("x/{i}")).collect();
    let parts: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let many = docx(&parts);
    let err = timed(|| import(&many)).unwrap_err();
    assert!(matches!(err, ImportError::TooComplex(_)), "{err:?}");
    assert!(err.to_string().contains("10001"), "{err}");
}

#[test]
fn malformed_docx_xml_is_a_clear_error_naming_where() {
    for body in [
        "<w:p><w:r><w:t>一、总体情况</w:t></w:r></w:p><w:p>",
        "<w:p><w:r><w:t>一、总体情况</w:r></w:t></w:p>",
        "<w:p><w:r><w:t>&#xFFFFFFFF;</w:t></w:r></w:p>",
    ] {
        let bytes = docx(&[("word/document.xml", &document(body))]);
        let err = timed(|| import(&bytes)).unwrap_err();
        assert!(
            matches!(err, ImportError::Damaged { .. }),
            "{body}: {err:?}"
        );
        assert!(err.to_string().contains("word/document.xml"), "{err}");
    }
    // Not UTF-8.
    let bytes = docx(&[("word/document.xml", &b"<w:document>\xff\xfe"[..])]);
    let err = import(&bytes).unwrap_err();
    assert!(err.to_string().contains("UTF-8"), "{err}");
}

#[test]
fn deeply_nested_docx_tables_are_refused_and_xml_nesting_bounded() {
    let nested = "<w:tbl><w:tr><w:tc>".repeat(100);
    let bytes = docx(&[("word/document.xml", &document(&nested))]);
    let err = timed(|| import(&bytes)).unwrap_err();
    assert!(matches!(err, ImportError::TooComplex(_)), "{err:?}");
    assert!(err.to_string().contains("nested"), "{err}");
    let deep = "<w:sdt><w:sdtContent>".repeat(5_000);
    let bytes = docx(&[("word/document.xml", &document(&deep))]);
    let err = timed(|| import(&bytes)).unwrap_err();
    assert!(err.to_string().contains("deep"), "{err}");
    // Tables a few deep are read: the outer ones lay out the page.
    let inner = "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>行政复议</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>1</w:t></w:r></w:p></w:tc></w:tr></w:tbl>";
    let mut body = String::from("<w:p><w:r><w:t>2024年政府信息公开工作年度报告</w:t></w:r></w:p>");
    body.push_str(&"<w:tbl><w:tr><w:tc>".repeat(5));
    body.push_str(inner);
    body.push_str(&"<w:p/></w:tc></w:tr></w:tbl>".repeat(5));
    let bytes = docx(&[("word/document.xml", &document(&body))]);
    assert!(timed(|| import(&bytes)).is_ok());
}

#[test]
fn grid_columns_a_docx_row_skips_count_against_the_cell_bound() {
    // Each row skips 1,000 grid columns (w:gridBefore) before its one cell:
    // 1,100 rows lay out 1.1 million cells. Uncounted, 20,000 such rows (a
    // 15 KB file) took half a gigabyte, 300,000 (32 MiB of XML) eight.
    let row = r#"<w:tr><w:trPr><w:gridBefore w:val="1000"/></w:trPr><w:tc><w:p><w:r><w:t>1</w:t></w:r></w:p></w:tc></w:tr>"#;
    let body = format!(
        "<w:p><w:r><w:t>2024年政府信息公开工作年度报告</w:t></w:r></w:p><w:tbl>{}</w:tbl>",
        row.repeat(1_100)
    );
    let bytes = docx(&[("word/document.xml", &document(&body))]);
    let err = timed(|| import(&bytes)).unwrap_err();
    assert!(matches!(err, ImportError::TooComplex(_)), "{err:?}");
    assert!(err.to_string().contains("1000000 cells"), "{err}");
}

#[test]
fn legacy_word_and_wps_files_are_told_to_be_saved_as_docx_or_pdf() {
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.extend([0u8; 504]);
    let err = import(&ole).unwrap_err();
    assert_eq!(err, ImportError::LegacyBinary);
    let m = err.to_string();
    assert!(
        m.contains(".docx") && m.contains("PDF") && m.contains(".wps"),
        "{m}"
    );
}

#[test]
fn a_zip_that_is_no_word_document_says_so() {
    let bytes = docx(&[("content.xml", &b"<office:document/>"[..])]);
    let err = import(&bytes).unwrap_err();
    assert!(matches!(err, ImportError::NotAReport(_)), "{err:?}");
    assert!(err.to_string().contains("word/document.xml"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The fixture with bytes changed, cut or inserted anywhere: an error or a
    /// report, never a panic.
    #[test]
    fn mutated_docx_bytes_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..16)
    ) {
        let mut bytes = DOCX.to_vec();
        for (at, byte, kind) in edits {
            let i = at.index(bytes.len().max(1));
            match kind {
                0 => if let Some(b) = bytes.get_mut(i) { *b = byte },
                1 => bytes.insert(i, byte),
                _ => bytes.truncate(i.max(4)),
            }
        }
        let _ = import(&bytes);
    }

    /// The fixture's main part with its XML changed and zipped again: the
    /// zip is sound, so this reaches the XML reader and the table layout.
    #[test]
    fn mutated_docx_xml_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), "[<>/=\"a-z:0-9 ]{0,12}", any::<bool>()), 1..12)
    ) {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(DOCX)).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml).unwrap();
        for (at, text, cut) in edits {
            let mut i = at.index(xml.len().max(1));
            while !xml.is_char_boundary(i) {
                i -= 1;
            }
            if cut {
                let mut end = (i + text.len()).min(xml.len());
                while !xml.is_char_boundary(end) {
                    end -= 1;
                }
                xml.replace_range(i..end, "");
            }
            xml.insert_str(i, &text);
        }
        let _ = import(&docx(&[("word/document.xml", xml.as_bytes())]));
    }
}
