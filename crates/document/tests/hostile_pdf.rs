//! Hostile PDFs give a clear error within bounded time, never a panic:
//! decompression bombs (one stream, many streams, inside an object stream),
//! deeply nested and cyclic objects, forms that draw themselves or fan out,
//! 10,000 pages, a damaged cross-reference table, glyphs and rulings laid
//! out to make the layout quadratic or its grid huge; and any mutation of a
//! real fixture. The bounds are in `gongkai_document::pdf` (its module doc).

use std::io::Write;
use std::time::{Duration, Instant};

use flate2::{Compression, write::ZlibEncoder};
use gongkai_document::{ImportError, Layout, import, pdf::PdfError};
use proptest::prelude::*;

/// Generous for a debug build on a shared 2-core machine.
const BOUND: Duration = Duration::from_secs(20);

const SAMPLE_PDF: &[u8] =
    include_bytes!("../../../testdata/reports/layouts/baoqing-county-2024.pdf");

fn timed<T>(f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(start.elapsed() < BOUND, "took {:?}", start.elapsed());
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A PDF of the given objects (numbered from 1; object 1 is the catalog),
/// with a correct cross-reference table.
fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn obj(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

/// Catalog, page tree, one page showing `content` with a Helvetica font
/// (object 4) and the given XObjects.
fn one_page(content: Vec<u8>, xobjects: &str, extra: Vec<Vec<u8>>) -> Vec<u8> {
    let mut objects = vec![
        obj("<< /Type /Catalog /Pages 2 0 R >>"),
        obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        obj(&format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 5 0 R /Resources << /Font << /F1 4 0 R >> /XObject << {xobjects} >> >> >>"
        )),
        obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"),
        content,
    ];
    objects.extend(extra);
    pdf(&objects)
}

fn pdf_error(bytes: &[u8]) -> PdfError {
    match timed(|| import(bytes)) {
        Err(ImportError::Pdf(e)) => e,
        other => panic!("expected a PDF error, got {other:?}"),
    }
}

#[test]
fn a_bomb_in_a_content_stream_is_refused_before_it_is_inflated() {
    let bomb = zlib(&vec![b' '; 64 << 20]);
    let bytes = one_page(stream("/Filter /FlateDecode", &bomb), "", vec![]);
    let err = pdf_error(&bytes);
    assert!(matches!(err, PdfError::StreamTooLarge { .. }), "{err:?}");
    assert!(err.to_string().contains("decodes to at least"), "{err}");
}

#[test]
fn a_bomb_dressed_as_a_font_program_is_never_decoded() {
    // The gate leaves font programs unmeasured; a content stream claiming to
    // be one is therefore not decoded either.
    let bomb = zlib(&vec![b' '; 64 << 20]);
    let bytes = one_page(stream("/Length1 7 /Filter /FlateDecode", &bomb), "", vec![]);
    let err = pdf_error(&bytes);
    assert!(matches!(err, PdfError::NoText(_)), "{err:?}");
}

#[test]
fn many_streams_each_under_the_bound_are_refused_together() {
    // Ten streams of 30 MiB: each under the 32 MiB per stream, 300 MiB in all.
    let part = zlib(&vec![b' '; 30 << 20]);
    let extra: Vec<Vec<u8>> = (0..10)
        .map(|_| stream("/Filter /FlateDecode", &part))
        .collect();
    let bytes = one_page(stream("", b"BT ET"), "", extra);
    let err = pdf_error(&bytes);
    assert!(matches!(err, PdfError::TotalTooLarge { .. }), "{err:?}");
}

#[test]
fn a_bomb_in_an_object_stream_is_refused_before_the_file_is_opened() {
    // Object streams are decoded while the file is opened; the bomb sits in
    // one that the page tree needs.
    let mut objects = b"2 0 ".to_vec();
    objects.extend_from_slice(b"<< /Type /Pages /Kids [] /Count 0 >>");
    objects.resize(64 << 20, b' ');
    let body = zlib(&objects);
    let bytes = pdf(&[
        obj("<< /Type /Catalog /Pages 2 0 R >>"),
        stream("/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", &body),
    ]);
    let err = pdf_error(&bytes);
    assert!(matches!(err, PdfError::StreamTooLarge { .. }), "{err:?}");
}

#[test]
fn filters_that_cannot_be_measured_are_bounded_by_their_worst_case() {
    let bytes = one_page(stream("/Filter /LZWDecode", &[0x80; 100_000]), "", vec![]);
    assert!(matches!(pdf_error(&bytes), PdfError::StreamTooLarge { .. }));
}

#[test]
fn deeply_nested_arrays_are_a_clear_error() {
    let deep = format!(
        "<< /Type /Catalog /Pages 2 0 R /X {}{} >>",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let bytes = pdf(&[obj(&deep), obj("<< /Type /Pages /Kids [] /Count 0 >>")]);
    // Nesting past 512 is not parsed: no page, so no document.
    let err = pdf_error(&bytes);
    assert!(
        matches!(err, PdfError::Damaged | PdfError::NoText(_)),
        "{err:?}"
    );
}

#[test]
fn cyclic_references_are_a_clear_error() {
    // The page tree's kids point back at it; object 4 refers to itself.
    let bytes = pdf(&[
        obj("<< /Type /Catalog /Pages 2 0 R >>"),
        obj("<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>"),
        obj("<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 /Parent 2 0 R >>"),
        obj("4 0 R"),
    ]);
    let err = pdf_error(&bytes);
    assert!(
        matches!(err, PdfError::Damaged | PdfError::NoText(_)),
        "{err:?}"
    );
}

#[test]
fn a_form_that_draws_itself_stops_at_the_nesting_bound() {
    let form = stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /XObject << /X 6 0 R >> >>",
        b"/X Do",
    );
    let content = stream("", b"BT /F1 12 Tf 72 700 Td (2024) Tj ET /X Do");
    let bytes = one_page(content, "/X 6 0 R", vec![form]);
    // The page has some text and no report: read, then refused as no report.
    let err = timed(|| import(&bytes)).unwrap_err();
    assert!(matches!(err, ImportError::NotAReport(_)), "{err:?}");
}

#[test]
fn forms_that_fan_out_exhaust_the_operator_budget() {
    // Form k draws form k+1 a hundred times: 100^10 draws if nothing stopped it.
    let mut extra = Vec::new();
    for k in 0..10 {
        let next = 6 + k + 1;
        let body = if k < 9 {
            format!("/X{next} Do\n").repeat(100)
        } else {
            "0 0 m 1 1 l S\n".repeat(100)
        };
        extra.push(stream(
            &format!(
                "/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /XObject << /X{next} {next} 0 R >> >>"
            ),
            body.as_bytes(),
        ));
    }
    let bytes = one_page(stream("", b"/X6 Do"), "/X6 6 0 R", extra);
    let err = pdf_error(&bytes);
    assert!(matches!(err, PdfError::TooMuchContent(_)), "{err:?}");
}

#[test]
fn ten_thousand_pages_are_refused() {
    let n = 10_000;
    let kids: String = (0..n).map(|i| format!("{} 0 R ", i + 4)).collect();
    let mut objects = vec![
        obj("<< /Type /Catalog /Pages 2 0 R >>"),
        obj(&format!("<< /Type /Pages /Kids [{kids}] /Count {n} >>")),
        stream("", b"BT /F1 12 Tf 72 700 Td (1) Tj ET"),
    ];
    for _ in 0..n {
        objects.push(obj(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R >>",
        ));
    }
    let err = pdf_error(&pdf(&objects));
    assert_eq!(err, PdfError::TooManyPages(n));
}

#[test]
fn a_damaged_cross_reference_table_is_repaired_or_refused() {
    // Every offset in the table (and startxref) wrong: the objects are found
    // by scanning, and the report reads as before.
    let text = SAMPLE_PDF.to_vec();
    let at = text.windows(5).position(|w| w == b"\nxref").unwrap();
    let mut damaged = text.clone();
    for b in damaged[at..].iter_mut() {
        if b.is_ascii_digit() {
            *b = b'7';
        }
    }
    let read = timed(|| import(&damaged)).unwrap();
    assert_eq!(read.layout, Layout::Pdf);
    assert_eq!(read.report, import(SAMPLE_PDF).unwrap().report);
    // The table and every object after the first kilobyte gone: nothing to
    // repair from.
    let mut truncated = text[..1024].to_vec();
    truncated.extend_from_slice(
        b"\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 >>\nstartxref\n1025\n%%EOF\n",
    );
    let err = pdf_error(&truncated);
    assert!(
        matches!(err, PdfError::Damaged | PdfError::NoText(_)),
        "{err:?}"
    );
}

#[test]
fn a_line_of_a_hundred_thousand_glyphs_is_laid_out_in_bounded_time() {
    // One baseline: each glyph was compared with every glyph of its line.
    let mut content = b"BT /F1 10 Tf 10 400 Td (".to_vec();
    content.extend(std::iter::repeat_n(b'7', 100_000));
    content.extend_from_slice(b") Tj ET");
    let bytes = one_page(stream("", &content), "", vec![]);
    let err = timed(|| import(&bytes)).unwrap_err();
    assert!(matches!(err, ImportError::NotAReport(_)), "{err:?}");
}

#[test]
fn a_hundred_thousand_full_width_lines_are_laid_out_in_bounded_time() {
    // One paragraph of lines that each reach the margin: each line was
    // compared with every line of its paragraph.
    // (Below the page's foot after the first seventy: nothing clips them.)
    let mut content = b"BT /F1 10 Tf 10 800 Td 12 TL".to_vec();
    for _ in 0..100_000 {
        content.extend_from_slice(b" [(A) -80000 (A)] TJ T*");
    }
    content.extend_from_slice(b" ET");
    let bytes = one_page(stream("", &content), "", vec![]);
    let err = timed(|| import(&bytes)).unwrap_err();
    assert!(matches!(err, ImportError::NotAReport(_)), "{err:?}");
}

#[test]
fn a_ruled_grid_of_more_than_a_million_cells_is_refused() {
    // 1,100 rulings each way (beyond the page: nothing clips them): a grid of
    // 1.2 million cells, laid out (and each cell's borders looked up among
    // the rulings) if nothing stopped it.
    let (n, step) = (1_100, 3.0);
    let end = f64::from(n) * step;
    let mut content = String::new();
    for i in 0..=n {
        let at = f64::from(i) * step;
        content.push_str(&format!(
            "0 {at} m {end} {at} l S {at} 0 m {at} {end} l S\n"
        ));
    }
    content.push_str("BT /F1 1 Tf 1 1 Td (7) Tj ET");
    let bytes = one_page(stream("", content.as_bytes()), "", vec![]);
    let err = pdf_error(&bytes);
    assert_eq!(
        err,
        PdfError::TooMuchContent("1,000,000 cells in one table")
    );
    assert!(err.to_string().contains("1,000,000 cells"), "{err}");
}

#[test]
fn thousands_of_ruled_boxes_exhaust_the_layout_budget() {
    // 5,000 framed boxes apart from each other and 5,000 glyphs: every
    // ruling is compared with every other, every glyph with every box.
    let mut content = String::new();
    for i in 0..5_000 {
        let (x, y) = (f64::from(i % 70) * 20.0, f64::from(i / 70) * 20.0);
        content.push_str(&format!("{x} {y} 6 9 re S\n"));
    }
    content.push_str("BT /F1 1 Tf 1 1 Td (");
    content.push_str(&"7".repeat(5_000));
    content.push_str(") Tj ET");
    let bytes = one_page(stream("", content.as_bytes()), "", vec![]);
    let err = pdf_error(&bytes);
    assert_eq!(err, PdfError::TooMuchContent("10,000,000 layout steps"));
}

#[test]
fn a_pdf_signature_with_nothing_after_it_is_a_clear_error() {
    assert_eq!(pdf_error(b"%PDF-1.7\n"), PdfError::Damaged);
    assert_eq!(pdf_error(b"%PDF-"), PdfError::Damaged);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any mutation of a real fixture (bytes overwritten, a cut, junk
    /// inserted) reads or fails with an error; never a panic or a hang.
    #[test]
    fn mutated_fixtures_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..32),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        insert in proptest::option::of((any::<prop::sample::Index>(), proptest::collection::vec(any::<u8>(), 1..64))),
    ) {
        let mut bytes = SAMPLE_PDF.to_vec();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if let Some((at, junk)) = insert {
            let i = at.index(bytes.len());
            bytes.splice(i..i, junk);
        }
        if let Some(at) = cut {
            bytes.truncate(at.index(bytes.len()).max(8));
        }
        let _ = timed(|| import(&bytes));
    }
}
