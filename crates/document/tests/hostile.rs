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
