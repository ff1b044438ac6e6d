//! PDF in, blocks out: the same headings, prose and table rows the text and
//! HTML readers give, so assembly and the rules apply unchanged.
//!
//! hayro-syntax opens the file (it repairs a damaged cross-reference table
//! by scanning for objects, reads object streams, decodes filters and
//! content operators lazily); [`content`] walks each page for glyphs and
//! rulings, [`fonts`] decodes the glyphs to Unicode, [`layout`] rebuilds
//! tables and paragraphs. Bounds, each a clear [`ImportError`]:
//!
//! - every stream is measured before anything is decoded ([`gate`]): at most
//!   32 MiB decoded per stream and 256 MiB in all;
//! - at most [`MAX_PAGES`] pages;
//! - at most 2 million content operators over the document (form
//!   XObjects counted each time they are drawn, nested at most 12 deep) and
//!   1 million glyphs (the largest real report has 16,000 operators and 3,000 glyphs);
//! - the layout of tables and lines: at most 10 million comparisons over
//!   the document (each glyph, piece of a line or ruling compared with
//!   another counts one; the sample's PDFs take about 4,000) and 1,000,000
//!   cells in one table, so no arrangement of the glyphs and rulings makes
//!   it quadratic in time or its grid unbounded in memory;
//! - objects nested at most 512 deep and cross-reference chains at most 256
//!   long (hayro-syntax's own limits); a reference cycle resolves to nothing.

mod content;
mod fonts;
pub mod gate;
mod layout;

use crate::{ImportError, blocks::Block};

/// Most pages a report may have. The format's reports run to a few dozen.
pub const MAX_PAGES: usize = 1000;

/// Whether the bytes are a PDF file: `%PDF-` within the first kilobyte (the
/// standard allows bytes before it).
pub fn is_pdf(bytes: &[u8]) -> bool {
    bytes
        .get(..bytes.len().min(1024))
        .is_some_and(|head| head.windows(5).any(|w| w == b"%PDF-"))
}

/// What stops a PDF from being read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// hayro-syntax could not make a document of it, not even by scanning.
    #[error(
        "PDF文件已损坏，无法读取 — the PDF is damaged beyond repair (no readable cross-reference table, trailer or page tree)"
    )]
    Damaged,
    /// Encrypted with a password.
    #[error("PDF文件已加密 — the PDF is encrypted with a password")]
    Encrypted,
    /// A stream decodes to too much.
    #[error(
        "PDF文件的数据流解压后过大（第{offset}字节处的数据流至少{at_least}字节，上限{}） — a stream (at byte {offset}) decodes to at least {at_least} bytes, more than the {} accepted",
        gate::MAX_STREAM_BYTES,
        gate::MAX_STREAM_BYTES
    )]
    StreamTooLarge { offset: usize, at_least: u64 },
    /// All streams together decode to too much.
    #[error(
        "PDF文件的数据流解压后总量过大（至少{at_least}字节，上限{}） — its streams decode to at least {at_least} bytes together, more than the {} accepted",
        gate::MAX_TOTAL_BYTES,
        gate::MAX_TOTAL_BYTES
    )]
    TotalTooLarge { at_least: u64 },
    /// Too many streams.
    #[error(
        "PDF文件的数据流过多（上限{}） — more than {} streams",
        gate::MAX_STREAMS,
        gate::MAX_STREAMS
    )]
    TooManyStreams,
    /// Too many pages.
    #[error(
        "PDF文件有{0}页，上限{MAX_PAGES} — the PDF has {0} pages, more than the {MAX_PAGES} accepted"
    )]
    TooManyPages(usize),
    /// Too much content to walk.
    #[error("PDF文件内容过于复杂（超过{0}） — the PDF's content is beyond the bounds ({0})")]
    TooMuchContent(&'static str),
    /// No page shows any text at all.
    #[error(
        "PDF文件没有文字层（{0}），无法读取；请提供带文字的PDF或Word文件 — the PDF has no text layer ({0}); provide a PDF with text, or the Word file"
    )]
    NoText(&'static str),
    /// Text in fonts without a way to Unicode.
    #[error(
        "PDF文件的字体“{font}”没有ToUnicode映射，第{page}页起{glyphs}个字符无法识别为文字 — font \"{font}\" has no ToUnicode map: {glyphs} glyphs from page {page} on cannot be read as text"
    )]
    Undecodable {
        font: String,
        page: usize,
        glyphs: usize,
    },
}

/// Reads a PDF into blocks.
pub fn from_pdf(bytes: &[u8]) -> Result<Vec<Block>, ImportError> {
    gate::measure(bytes).map_err(|refused| match refused {
        gate::Refused::Stream { offset, at_least } => PdfError::StreamTooLarge { offset, at_least },
        gate::Refused::Total { at_least } => PdfError::TotalTooLarge { at_least },
        gate::Refused::Streams => PdfError::TooManyStreams,
    })?;
    let pdf = hayro_syntax::Pdf::new(bytes.to_vec()).map_err(|e| match e {
        hayro_syntax::LoadPdfError::Decryption(_) => PdfError::Encrypted,
        hayro_syntax::LoadPdfError::Invalid => PdfError::Damaged,
    })?;
    let pages = pdf.pages();
    if pages.len() > MAX_PAGES {
        return Err(PdfError::TooManyPages(pages.len()).into());
    }
    if pages.is_empty() {
        return Err(PdfError::Damaged.into());
    }
    let mut walker = content::Walker::default();
    let mut contents = Vec::with_capacity(pages.len());
    for (n, page) in pages.iter().enumerate() {
        let before: usize = walker.undecodable.fonts.iter().map(|(_, g)| *g).sum();
        let content = walker.page(page).map_err(|e| {
            PdfError::TooMuchContent(match e {
                content::Exceeded::Operators => "2,000,000 operators",
                content::Exceeded::Glyphs => "1,000,000 glyphs",
            })
        })?;
        let after: usize = walker.undecodable.fonts.iter().map(|(_, g)| *g).sum();
        if after > before
            && let Some((font, glyphs)) = walker.undecodable.fonts.iter().max_by_key(|(_, g)| *g)
        {
            return Err(PdfError::Undecodable {
                font: font.clone(),
                page: n.saturating_add(1),
                glyphs: *glyphs,
            }
            .into());
        }
        contents.push(content);
    }
    if contents.iter().all(|c| c.glyphs.is_empty()) {
        let images: usize = contents.iter().map(|c| c.images).sum();
        let shapes: usize = contents.iter().map(|c| c.filled_shapes).sum();
        return Err(PdfError::NoText(if images > 0 && images >= shapes / 100 {
            "扫描件：只有图像 — a scan: images only"
        } else if shapes > 0 {
            "文字被转为曲线 — its text was converted to outlines"
        } else {
            "页面为空 — its pages are empty"
        })
        .into());
    }
    Ok(layout::blocks(contents)?)
}
