//! A published document as a sequence of blocks: headings, prose lines and
//! table rows. Each layout reader produces blocks; [`crate::assemble`] reads
//! the report out of them, so the report's shape is known in one place.

use crate::cells::{fold, is_label};

/// One block of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// A heading (Markdown `#`…, or a line standing alone as one).
    Heading(String),
    /// A line of prose.
    Text(String),
    /// A table row: its cells, merged cells flattened to empty ones.
    Row(Vec<String>),
    /// The title a file gives itself outside its text (an HTML page's
    /// `<title>`): read for the year and agency when the text does not say.
    DocumentTitle(String),
}

/// The layout a document's tables were published in, as sniffed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// An HTML page (tables as `<table>`, merged cells as rowspan/colspan).
    Html,
    /// Text with tables as tab-separated lines (copied from a web page).
    TabSeparated,
    /// Text with tables as pipe rows (`a | b |`, Markdown tables among them).
    PipeRows,
    /// Text with tables flattened to one cell per line (with or without
    /// lines holding only `|`).
    CellPerLine,
    /// Text with no table rows at all.
    ProseOnly,
    /// A Word document (`.docx`, from Word or WPS): tables from its own
    /// table structure.
    Docx,
    /// A PDF file's text layer (tables by their rulings and columns).
    Pdf,
}

impl Layout {
    /// A short stable name, e.g. `html`, `tab-separated`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Html => "html",
            Layout::TabSeparated => "tab-separated",
            Layout::PipeRows => "pipe-rows",
            Layout::CellPerLine => "cell-per-line",
            Layout::ProseOnly => "prose-only",
            Layout::Docx => "docx",
            Layout::Pdf => "pdf",
        }
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a line is a pipe row: it holds a `|` beside other text and either
/// starts or ends with one, or has two.
fn is_pipe_row(line: &str) -> bool {
    let pipes = line.matches('|').count();
    pipes > 0
        && line.chars().any(|c| c != '|' && !c.is_whitespace())
        && (line.starts_with('|') || line.ends_with('|') || pipes >= 2)
}

/// A Markdown table's alignment row, `|---|:--:|`.
fn is_pipe_separator(line: &str) -> bool {
    line.contains('-') && line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

fn pipe_cells(line: &str) -> Vec<String> {
    let inner = line.strip_prefix('|').unwrap_or(line);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    inner.split('|').map(|c| c.trim().to_owned()).collect()
}

/// Whether a line opens a table written one cell per line: the first cell of
/// T2 (第二十条…, 信息内容), of T3 (its 勾稽关系 note, 申请人情况) or of T4 (行政复议).
fn opens_cell_table(line: &str) -> bool {
    // Prose is long; these cells are short. Fold only what could be one.
    if line.len() > 3 * 64 {
        return false;
    }
    let f = fold(line);
    // Only the heading cell itself (第二十条第（一）项): a sentence of prose
    // that starts with 第二十条 is prose.
    is_item_heading(&f)
        || f == gongkai_domain::shape::T2_CONTENT
        || f.contains("勾稽关系")
        || f == gongkai_domain::shape::T3_APPLICANTS
        || f == "行政复议"
}

/// Whether a folded line is a T2 block heading, 第二十条第(一)项.
fn is_item_heading(folded: &str) -> bool {
    folded.starts_with("第二十条") && crate::cells::item_ordinal(folded).is_some()
}

/// Whether a line can be a cell of a table written one cell per line: a value
/// (no more than one Chinese character, e.g. "0", "—", "251000元") or a short
/// label that is not a sentence and not a section heading.
fn is_cell_line(line: &str) -> bool {
    if !is_label(line) {
        return line.chars().count() <= 32;
    }
    line.chars().count() <= 64
        && !line.ends_with(['。', '；', ';', '：', ':'])
        && crate::assemble::section_of(line).is_none()
}

/// Lays a table written one cell per line out in rows: a label starts a row,
/// values follow it. A blank line between two cells is an empty cell, unless
/// the table is double-spaced (nearly every cell has a blank line before it),
/// where one blank line is spacing and each further two are an empty cell.
/// Returns the rows written.
fn end_cell_table(cells: Option<Vec<(usize, &str)>>, out: &mut Vec<Block>) -> usize {
    let Some(cells) = cells else {
        return 0;
    };
    // Blank lines before the table's first cell are not in it.
    let gaps = cells.iter().skip(1).map(|(gap, _)| *gap);
    let spaced = gaps.clone().filter(|g| *g > 0).count();
    let double_spaced = spaced > 0 && spaced.saturating_mul(10) >= gaps.count().saturating_mul(9);
    let mut rows = 0usize;
    let mut row: Vec<String> = Vec::new();
    for (i, (gap, cell)) in cells.into_iter().enumerate() {
        let empty = match (i, double_spaced) {
            (0, _) => 0,
            (_, true) => gap.saturating_sub(1) / 2,
            (_, false) => gap,
        };
        row.extend(std::iter::repeat_n(String::new(), empty));
        if is_label(cell) && row.iter().any(|c| !c.is_empty()) {
            out.push(Block::Row(std::mem::take(&mut row)));
            rows = rows.saturating_add(1);
        }
        row.push(cell.to_owned());
    }
    if row.iter().any(|c| !c.is_empty()) {
        out.push(Block::Row(row));
    }
    rows
}

/// Reads text: Markdown headings, prose lines, and tables as tab-separated
/// lines, pipe rows or one cell per line, and says which layout its tables
/// were in (the one most rows came from).
pub fn from_text(text: &str) -> (Vec<Block>, Layout) {
    let mut out = Vec::new();
    let (mut tabs, mut pipes, mut per_line) = (0usize, 0usize, 0usize);
    // A table written one cell per line: its cells so far, each with the
    // blank lines before it. Read out when the table ends, once it is known
    // whether blank lines are empty cells or spacing.
    let mut cells: Option<Vec<(usize, &str)>> = None;
    let mut blanks = 0usize;
    for line in text.lines() {
        if line.contains('\t') {
            per_line = per_line.saturating_add(end_cell_table(cells.take(), &mut out));
            let cells: Vec<String> = line.split('\t').map(|c| c.trim().to_owned()).collect();
            // A line of tabs alone is table spacing, not a row.
            if cells.iter().any(|c| !c.is_empty()) {
                out.push(Block::Row(cells));
                tabs = tabs.saturating_add(1);
            }
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            blanks = blanks.saturating_add(1);
            continue;
        }
        if trimmed.chars().all(|c| c == '|') {
            // Lone `|` lines separate cells, nothing more.
            continue;
        }
        let gap = std::mem::take(&mut blanks);
        if is_pipe_row(trimmed) {
            per_line = per_line.saturating_add(end_cell_table(cells.take(), &mut out));
            if !is_pipe_separator(trimmed) {
                out.push(Block::Row(pipe_cells(trimmed)));
                pipes = pipes.saturating_add(1);
            }
            continue;
        }
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        if hashes > 0 && trimmed[hashes..].starts_with(' ') {
            per_line = per_line.saturating_add(end_cell_table(cells.take(), &mut out));
            out.push(Block::Heading(trimmed[hashes..].trim().to_owned()));
            continue;
        }
        let in_table = cells.is_some();
        if (in_table && is_cell_line(trimmed)) || opens_cell_table(trimmed) {
            cells.get_or_insert_with(Vec::new).push((gap, trimmed));
            continue;
        }
        per_line = per_line.saturating_add(end_cell_table(cells.take(), &mut out));
        out.push(Block::Text(trimmed.to_owned()));
    }
    per_line = per_line.saturating_add(end_cell_table(cells.take(), &mut out));
    let layout = if tabs == 0 && pipes == 0 && per_line == 0 {
        Layout::ProseOnly
    } else if tabs >= pipes && tabs >= per_line {
        Layout::TabSeparated
    } else if pipes >= per_line {
        Layout::PipeRows
    } else {
        Layout::CellPerLine
    };
    (out, layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_headings_prose_and_rows() {
        let (blocks, _) = from_text("# 宝清县人民政府\n\n正文。\n\t\t\n规章\t0\t0\t0\n#不是标题");
        assert_eq!(
            blocks,
            vec![
                Block::Heading("宝清县人民政府".into()),
                Block::Text("正文。".into()),
                Block::Row(vec!["规章".into(), "0".into(), "0".into(), "0".into()]),
                Block::Text("#不是标题".into()),
            ]
        );
    }

    #[test]
    fn pipe_rows_with_and_without_outer_pipes() {
        let (blocks, layout) = from_text(
            "| 信息内容 | 本年制发件数 |\n|---|---|\n规章 | 0 |\n| | 行政许可 |\n说明：a|b",
        );
        assert_eq!(layout, Layout::PipeRows);
        assert_eq!(
            blocks,
            vec![
                Block::Row(vec!["信息内容".into(), "本年制发件数".into()]),
                Block::Row(vec!["规章".into(), "0".into()]),
                Block::Row(vec!["".into(), "行政许可".into()]),
                Block::Text("说明：a|b".into()),
            ]
        );
    }

    #[test]
    fn one_cell_per_line_rows_start_at_labels() {
        let text = "二、主动公开政府信息情况\n第二十条第（五）项\n|\n信息内容\n本年处理决定数量\n行政许可\n|\n8430\n三、收到和处理政府信息公开申请情况";
        let (blocks, layout) = from_text(text);
        assert_eq!(layout, Layout::CellPerLine);
        assert_eq!(
            blocks,
            vec![
                Block::Text("二、主动公开政府信息情况".into()),
                Block::Row(vec!["第二十条第（五）项".into()]),
                Block::Row(vec!["信息内容".into()]),
                Block::Row(vec!["本年处理决定数量".into()]),
                Block::Row(vec!["行政许可".into(), "8430".into()]),
                Block::Text("三、收到和处理政府信息公开申请情况".into()),
            ]
        );
    }

    #[test]
    fn empty_lines_between_cells_are_empty_cells() {
        let text = "申请人情况\n自然人\n(一) 予以公开\n14\n\n0\n\n\n1";
        let (blocks, _) = from_text(text);
        assert_eq!(
            blocks.last(),
            Some(&Block::Row(vec![
                "(一) 予以公开".into(),
                "14".into(),
                "".into(),
                "0".into(),
                "".into(),
                "".into(),
                "1".into(),
            ]))
        );
    }

    #[test]
    fn in_a_double_spaced_table_one_empty_line_is_spacing() {
        let text = "申请人情况\n\n自然人\n\n(一) 予以公开\n\n14\n\n\n\n0\n\n1";
        let (blocks, _) = from_text(text);
        assert_eq!(
            blocks.last(),
            Some(&Block::Row(vec![
                "(一) 予以公开".into(),
                "14".into(),
                "".into(),
                "0".into(),
                "1".into(),
            ]))
        );
    }

    #[test]
    fn prose_that_starts_with_article_twenty_is_prose() {
        let text =
            "二、主动公开政府信息情况\n第二十条规定的信息均已公开。\n第二十条第（一）项\n信息内容";
        let (blocks, _) = from_text(text);
        assert_eq!(
            blocks,
            vec![
                Block::Text("二、主动公开政府信息情况".into()),
                Block::Text("第二十条规定的信息均已公开。".into()),
                Block::Row(vec!["第二十条第（一）项".into()]),
                Block::Row(vec!["信息内容".into()]),
            ]
        );
    }
}
