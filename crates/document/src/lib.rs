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
mod tables;

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
    /// Not valid UTF-8.
    #[error(
        "不是UTF-8文本：第{offset}字节起无法解码 — not UTF-8 text: invalid byte sequence at byte {offset}"
    )]
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// Holds nothing of the annual report's format.
    #[error("不是政府信息公开工作年度报告：{0}")]
    NotAReport(String),
}

/// Reads a published report from bytes (UTF-8, with or without a BOM).
pub fn import(bytes: &[u8]) -> Result<Imported, ImportError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ImportError::TooLarge(bytes.len()));
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| ImportError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    import_str(text)
}

/// Reads a published report from text.
pub fn import_str(text: &str) -> Result<Imported, ImportError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(ImportError::TooLarge(text.len()));
    }
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let blocks = blocks::from_tab_text(text);
    let (report, findings) = assemble::assemble(&blocks)?;
    Ok(Imported { report, findings })
}
