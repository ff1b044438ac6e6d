//! A report in the official layout (国办公开办函〔2021〕30号, or the 2019
//! trial format): the title, the six section headings, and T2, T3, T4 with
//! their official labels, merged header cells, T3's 勾稽关系 note and the
//! units in the column labels.
//!
//! Each table is first laid out once as rows of cells with row and column
//! spans, walking the shape in `gongkai_domain::shape`; HTML writes the spans,
//! Markdown writes pipe rows with merged cells flattened to empty ones (as
//! sites publish copied tables). Both read back to the same report.

use std::fmt::Write as _;

use gongkai_domain::{
    FormatVersion, Report, SECTIONS,
    shape::{
        T2, T2_CONTENT, T3, T3_APPLICANTS, T3_COLUMNS, T3_NOTE, T3_ORGANISATION_GROUP, T3Row, T4,
        T4_BLOCKS, T4_COLUMNS,
    },
};

/// What to render to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Markdown: headings, paragraphs, pipe tables.
    Markdown,
    /// A standalone HTML page.
    Html,
}

/// The title line under the agency's name.
pub fn title(data_year: u32) -> String {
    format!("{data_year}年政府信息公开工作年度报告")
}

/// One laid-out cell.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cell {
    text: String,
    rows: usize,
    cols: usize,
    header: bool,
}

fn cell(text: impl Into<String>, rows: usize, cols: usize, header: bool) -> Cell {
    Cell {
        text: text.into(),
        rows,
        cols,
        header,
    }
}

/// A table laid out: its width and rows of cells (cells covered by a span
/// from above are not in their row).
struct Grid {
    width: usize,
    rows: Vec<Vec<Cell>>,
}

fn t2_grid(t2: &T2, format: FormatVersion) -> Grid {
    let layout = format.t2_layout();
    let width = layout
        .blocks
        .iter()
        .map(|b| b.columns.len())
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    let mut rows = Vec::new();
    for block in layout.blocks {
        rows.push(vec![cell(block.item, 1, width, true)]);
        // The column labels share the width left of the label column; the
        // last one takes what the block's fewer columns leave.
        let spare = width.saturating_sub(1).saturating_sub(block.columns.len());
        let mut header = vec![cell(T2_CONTENT, 1, 1, true)];
        let last = block.columns.len().saturating_sub(1);
        for (i, col) in block.columns.iter().enumerate() {
            let cols = if i == last {
                spare.saturating_add(1)
            } else {
                1
            };
            header.push(cell(col.label, 1, cols, true));
        }
        rows.push(header);
        // A row the document did not contain is left out, as it was.
        for row in block
            .rows
            .iter()
            .filter(|r| !t2.is_row_absent(layout, r.key))
        {
            let mut line = vec![cell(row.label, 1, 1, false)];
            for (i, col) in block.columns.iter().enumerate() {
                let value = layout
                    .cell(row.key, col.key)
                    .map(|c| t2.get(&c).to_string())
                    .unwrap_or_default();
                let cols = if i == last {
                    spare.saturating_add(1)
                } else {
                    1
                };
                line.push(cell(value, 1, cols, false));
            }
            rows.push(line);
        }
    }
    Grid { width, rows }
}

fn t3_grid(t3: &T3, format: FormatVersion) -> Grid {
    let width = T3_COLUMNS.len().saturating_add(3);
    let organisations = T3_COLUMNS.len().saturating_sub(2);
    let mut rows = vec![
        vec![
            cell(T3_NOTE, 3, 3, true),
            cell(T3_APPLICANTS, 1, T3_COLUMNS.len(), true),
        ],
        vec![
            cell(T3_COLUMNS[0].label, 2, 1, true),
            cell(T3_ORGANISATION_GROUP, 1, organisations, true),
            cell(
                T3_COLUMNS[T3_COLUMNS.len().saturating_sub(1)].label,
                2,
                1,
                true,
            ),
        ],
        T3_COLUMNS
            .iter()
            .skip(1)
            .take(organisations)
            .map(|c| cell(c.label, 1, 1, true))
            .collect(),
    ];
    // The outcome group (三、本年度办理结果) holds every row with a group; a
    // row whose group is another label sits in that sub-group too.
    let outcome_group = T3Row::R03.spec().group;
    // A row the document did not contain is left out, as it was.
    let in_format: Vec<T3Row> = T3Row::rows_of(format)
        .filter(|r| !t3.is_absent(*r))
        .collect();
    let count_in = |group: &str| {
        in_format
            .iter()
            .filter(|r| {
                let g = r.spec().group;
                g == group || (group == outcome_group && !g.is_empty())
            })
            .count()
    };
    let mut opened: Vec<&str> = Vec::new();
    for row in &in_format {
        let spec = row.spec();
        let mut line = Vec::new();
        if spec.group.is_empty() {
            line.push(cell(spec.label, 1, 3, false));
        } else {
            if !opened.contains(&outcome_group) {
                opened.push(outcome_group);
                line.push(cell(outcome_group, count_in(outcome_group), 1, false));
            }
            if spec.group == outcome_group {
                line.push(cell(spec.label, 1, 2, false));
            } else {
                if !opened.contains(&spec.group) {
                    opened.push(spec.group);
                    line.push(cell(spec.group, count_in(spec.group), 1, false));
                }
                line.push(cell(spec.label, 1, 1, false));
            }
        }
        for col in &T3_COLUMNS {
            line.push(cell(t3.get(*row, col.col).to_string(), 1, 1, false));
        }
        rows.push(line);
    }
    Grid { width, rows }
}

fn t4_grid(t4: &T4) -> Grid {
    let per_block = T4_COLUMNS.len();
    let width = per_block.saturating_mul(T4_BLOCKS.len());
    let mut top = Vec::new();
    let mut middle = Vec::new();
    let mut bottom = Vec::new();
    for block in &T4_BLOCKS {
        if block.group.is_empty() {
            // 行政复议: its columns stand under it, two rows deep.
            top.push(cell(block.label, 1, per_block, true));
            middle.extend(T4_COLUMNS.iter().map(|c| cell(c.label, 2, 1, true)));
        } else {
            if !top.iter().any(|c: &Cell| c.text == block.group) {
                let blocks = T4_BLOCKS.iter().filter(|b| b.group == block.group).count();
                top.push(cell(block.group, 1, per_block.saturating_mul(blocks), true));
            }
            middle.push(cell(block.label, 1, per_block, true));
            bottom.extend(T4_COLUMNS.iter().map(|c| cell(c.label, 1, 1, true)));
        }
    }
    let values = T4_BLOCKS
        .iter()
        .flat_map(|b| {
            T4_COLUMNS
                .iter()
                // A block the document did not contain is left blank.
                .map(move |c| {
                    let v = t4.cell(b.block, c.col).map(|v| v.to_string());
                    cell(v.unwrap_or_default(), 1, 1, false)
                })
        })
        .collect();
    Grid {
        width,
        rows: vec![top, middle, bottom, values],
    }
}

impl Grid {
    /// The grid with merged cells flattened: each cell's text at its top
    /// left, empty text elsewhere.
    fn flatten(&self) -> Vec<Vec<&str>> {
        let mut covered = vec![0usize; self.width];
        let mut out = Vec::with_capacity(self.rows.len());
        for row in &self.rows {
            let mut line = vec![""; self.width];
            let mut cells = row.iter();
            let mut col = 0;
            while col < self.width {
                if covered.get(col).is_some_and(|n| *n > 0) {
                    col = col.saturating_add(1);
                    continue;
                }
                let Some(c) = cells.next() else { break };
                if let Some(slot) = line.get_mut(col) {
                    *slot = c.text.as_str();
                }
                for i in 0..c.cols {
                    if let Some(n) = covered.get_mut(col.saturating_add(i)) {
                        *n = c.rows;
                    }
                }
                col = col.saturating_add(c.cols);
            }
            for n in &mut covered {
                *n = n.saturating_sub(1);
            }
            out.push(line);
        }
        out
    }

    fn markdown(&self, out: &mut String) {
        for (i, row) in self.flatten().iter().enumerate() {
            out.push('|');
            for c in row {
                if c.is_empty() {
                    out.push_str(" |");
                } else {
                    let _ = write!(out, " {c} |");
                }
            }
            out.push('\n');
            if i == 0 {
                out.push('|');
                for _ in 0..self.width {
                    out.push_str("---|");
                }
                out.push('\n');
            }
        }
        out.push('\n');
    }

    fn html(&self, out: &mut String) {
        out.push_str("<table>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for c in row {
                let tag = if c.header { "th" } else { "td" };
                let _ = write!(out, "<{tag}");
                if c.rows > 1 {
                    let _ = write!(out, " rowspan=\"{}\"", c.rows);
                }
                if c.cols > 1 {
                    let _ = write!(out, " colspan=\"{}\"", c.cols);
                }
                let _ = write!(out, ">{}</{tag}>", escape(&c.text));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// The metadata lines a published report carries under its title.
fn metadata_lines(report: &Report) -> Vec<String> {
    let m = &report.metadata;
    let mut lines = Vec::new();
    if let Some(uscc) = &m.agency_uscc {
        lines.push(format!("统一社会信用代码：{uscc}"));
    }
    if let Some(code) = &m.region_code {
        lines.push(format!("行政区划代码：{code}"));
    }
    if let Some(date) = m.publication_date {
        lines.push(format!("发布日期：{}", date.format("%Y-%m-%d")));
    }
    lines
}

/// The table a section holds, laid out.
fn section_table(report: &Report, index: usize) -> Option<Grid> {
    match index {
        1 => report.t2.as_ref().map(|t| t2_grid(t, report.format)),
        2 => report.t3.as_ref().map(|t| t3_grid(t, report.format)),
        3 => report.t4.as_ref().map(t4_grid),
        _ => None,
    }
}

/// Renders a report to Markdown in the official layout.
pub fn to_markdown(report: &Report) -> String {
    let mut out = String::new();
    if !report.metadata.agency_name.is_empty() {
        let _ = writeln!(out, "# {}\n", report.metadata.agency_name);
    }
    let _ = writeln!(out, "## {}\n", title(report.metadata.data_year));
    for line in metadata_lines(report) {
        let _ = writeln!(out, "{line}\n");
    }
    for (i, spec) in SECTIONS.iter().enumerate() {
        let text = report.sections.get(i).and_then(Option::as_deref);
        let table = section_table(report, i);
        if text.is_none() && table.is_none() {
            continue;
        }
        let _ = writeln!(out, "### {}、{}\n", spec.ordinal, spec.title);
        for line in text.unwrap_or_default().lines() {
            let _ = writeln!(out, "{line}\n");
        }
        if let Some(grid) = table {
            grid.markdown(&mut out);
        }
    }
    out
}

/// Renders a report to a standalone HTML page in the official layout.
pub fn to_html(report: &Report) -> String {
    let m = &report.metadata;
    let mut out =
        String::from("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<title>{}{}</title>",
        escape(&m.agency_name),
        title(m.data_year)
    );
    out.push_str("<style>table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #000;padding:2px 6px;text-align:center}</style>\n</head>\n<body>\n");
    if !m.agency_name.is_empty() {
        let _ = writeln!(out, "<h1>{}</h1>", escape(&m.agency_name));
    }
    let _ = writeln!(out, "<h2>{}</h2>", title(m.data_year));
    for line in metadata_lines(report) {
        let _ = writeln!(out, "<p>{}</p>", escape(&line));
    }
    for (i, spec) in SECTIONS.iter().enumerate() {
        let text = report.sections.get(i).and_then(Option::as_deref);
        let table = section_table(report, i);
        if text.is_none() && table.is_none() {
            continue;
        }
        let _ = writeln!(out, "<h3>{}、{}</h3>", spec.ordinal, spec.title);
        for line in text.unwrap_or_default().lines() {
            let _ = writeln!(out, "<p>{}</p>", escape(line));
        }
        if let Some(grid) = table {
            grid.html(&mut out);
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// Renders a report to a target.
pub fn render(report: &Report, target: Target) -> String {
    match target {
        Target::Markdown => to_markdown(report),
        Target::Html => to_html(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = include_bytes!("../../../testdata/reports/baoqing-county-2024.md");

    #[test]
    fn t3_header_spans_as_the_format_prints_them() {
        let r = crate::import(SAMPLE).unwrap().report;
        let html = to_html(&r);
        assert!(html.contains(&format!(
            "<th rowspan=\"3\" colspan=\"3\">{T3_NOTE}</th><th colspan=\"7\">申请人情况</th>"
        )));
        assert!(html.contains(
            "<th rowspan=\"2\">自然人</th><th colspan=\"5\">法人或其他组织</th><th rowspan=\"2\">总计</th>"
        ));
        assert!(html.contains("<td rowspan=\"22\">三、本年度办理结果</td><td colspan=\"2\">（一）予以公开</td><td>14</td>"));
        assert!(html.contains("<td rowspan=\"8\">（三）不予公开</td><td>1.属于国家秘密</td>"));
        assert!(html.contains("<th colspan=\"5\">行政复议</th><th colspan=\"10\">行政诉讼</th>"));
        assert!(html.contains("<td>行政事业性收费</td><td colspan=\"3\">14852.1812</td>"));
    }

    #[test]
    fn markdown_flattens_merged_cells_and_keeps_the_headings() {
        let r = crate::import(SAMPLE).unwrap().report;
        let md = to_markdown(&r);
        assert!(md.starts_with("# 宝清县人民政府\n\n## 2024年政府信息公开工作年度报告\n"));
        for s in &SECTIONS {
            assert!(md.contains(&format!("### {}、{}\n", s.ordinal, s.title)));
        }
        assert!(md.contains("| | | | 自然人 | 法人或其他组织 | | | | | 总计 |\n"));
        assert!(md.contains("| | （七）总计 | | 78 | 0 | 0 | 0 | 0 | 0 | 78 |\n"));
        assert!(md.contains("| 本年收费金额（单位：万元） | | |\n"));
    }
}
