//! gongkai-document: published annual reports in, domain reports out.
//!
//! A layout reader turns the published bytes into [`blocks::Block`]s
//! (headings, prose, table rows); [`assemble`] reads metadata, sections and
//! tables out of the blocks by their labels, never by position. Whatever had
//! to be guessed or could not be read is a [`Finding`] of its own
//! (`import.*`), never a silent zero.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

mod assemble;
pub mod blocks;
pub mod cells;
pub mod decode;
pub mod docx;
pub mod html;
pub mod pdf;
pub mod render;
mod tables;

pub use blocks::Layout;

use gongkai_domain::{Finding, Report};

/// The largest document accepted. Real reports are well under 1 MiB.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// A report read from a document, with what the reading had to say about it.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The report.
    pub report: Report,
    /// `import.*` findings: blank cells, drifted labels, missing rows …
    pub findings: Vec<Finding>,
    /// The layout the document was sniffed to be in.
    pub layout: Layout,
    /// The encoding it was read in (`UTF-8`, `gb18030`, `GBK` …).
    pub encoding: &'static str,
}

/// Why a document could not be read as a report at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Nothing but white space.
    #[error("文件为空 — the document is empty")]
    Empty,
    /// Larger than [`MAX_DOCUMENT_BYTES`].
    #[error(
        "文件过大（{0}字节，上限{MAX_DOCUMENT_BYTES}） — the document is {0} bytes, more than the {MAX_DOCUMENT_BYTES} accepted"
    )]
    TooLarge(usize),
    /// Not text in UTF-8, the charset the page declares, or GB18030/GBK.
    #[error(
        "无法按{encodings}解码：第{offset}字节起无效 — not text in {encodings}: invalid byte sequence at byte {offset}"
    )]
    Undecodable {
        /// The encodings tried.
        encodings: &'static str,
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// Beyond what a report page can be (elements, table cells).
    #[error("文件结构过于复杂：{0}")]
    TooComplex(String),
    /// A PDF that cannot be read as text: damaged, encrypted, beyond the
    /// bounds, without a text layer, or in fonts with no way to Unicode.
    #[error("{0}")]
    Pdf(#[from] pdf::PdfError),
    /// Holds nothing of the annual report's format.
    #[error("不是政府信息公开工作年度报告：{0}")]
    NotAReport(String),
    /// A legacy binary Word or WPS file (an OLE2 compound file).
    #[error(
        "这是旧版Word/WPS二进制文件（.doc/.wps），无法读取，请另存为.docx或PDF后再提交 — a legacy binary Word/WPS file (.doc/.wps) cannot be read: save it as .docx or PDF"
    )]
    LegacyBinary,
    /// A file of a known format whose structure is broken.
    #[error("{format}文件已损坏：{reason}")]
    Damaged {
        /// The format, e.g. `docx`.
        format: &'static str,
        /// What is broken, and where.
        reason: String,
    },
}

/// Reads a published report from bytes, told by the bytes, never a name: a
/// PDF by its `%PDF-` signature; a Word file (`.docx`, a zip holding
/// `word/document.xml`); a legacy `.doc` or `.wps` is refused with the advice
/// to save it as `.docx` or PDF; else text, the encoding detected (UTF-8,
/// UTF-16 with a BOM, the page's declared charset, else GB18030/GBK) and the
/// layout sniffed (HTML, tab-separated, pipe rows, one cell per line).
pub fn import(bytes: &[u8]) -> Result<Imported, ImportError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ImportError::TooLarge(bytes.len()));
    }
    if pdf::is_pdf(bytes) {
        return from_blocks(&pdf::from_pdf(bytes)?, Layout::Pdf, "PDF");
    }
    if docx::is_zip(bytes) {
        return from_blocks(&docx::from_docx(bytes)?, Layout::Docx, "UTF-8");
    }
    if docx::is_ole2(bytes) {
        return Err(ImportError::LegacyBinary);
    }
    let decoded = decode::decode(bytes)?;
    let mut imported = import_str(&decoded.text)?;
    imported.encoding = decoded.encoding;
    Ok(imported)
}

/// Reads a published report from text, sniffing its layout.
pub fn import_str(text: &str) -> Result<Imported, ImportError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(ImportError::TooLarge(text.len()));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let (blocks, layout) = if html::looks_like_html(text) {
        (html::from_html(text)?, Layout::Html)
    } else {
        blocks::from_text(text)
    };
    from_blocks(&blocks, layout, "UTF-8")
}

/// The report a layout reader's blocks hold.
fn from_blocks(
    blocks: &[blocks::Block],
    layout: Layout,
    encoding: &'static str,
) -> Result<Imported, ImportError> {
    let (report, findings) = assemble::assemble(blocks)?;
    Ok(Imported {
        report,
        findings,
        layout,
        encoding,
    })
}
