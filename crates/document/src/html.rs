//! HTML pages as government sites publish them: the report inside page
//! chrome (navigation, footers, scripts), headings as `<h*>` or
//! `<p><strong>`, tables with rowspan / colspan and `&nbsp;` cells.
//!
//! Parsed with html5ever (through scraper); the tree is walked without
//! recursion, so nesting depth costs no stack.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

use crate::{ImportError, blocks::Block};

/// Most elements a page may have. A real report page has a few thousand; a
/// page past this is refused before it is parsed, so parsing time and memory
/// stay bounded.
pub const MAX_ELEMENTS: usize = 200_000;

/// Largest colspan / rowspan honoured (the HTML standard's colspan limit).
const MAX_SPAN: usize = 1000;

/// Most cells one table may expand to once spans are laid out.
const MAX_TABLE_CELLS: usize = 1_000_000;

/// Elements whose content is never the report.
const SKIPPED_TAGS: &[&str] = &[
    "head", "script", "style", "noscript", "template", "nav", "header", "footer", "iframe", "svg",
    "select", "button", "form", "object",
];

/// Words in a class or id that mark page chrome.
const CHROME_MARKERS: &[&str] = &[
    "nav",
    "menu",
    "header",
    "footer",
    "breadcrumb",
    "crumb",
    "sidebar",
    "copyright",
    "share",
    "print",
    "toolbar",
    "position",
];

/// Most parsing work a page may ask for, as elements × nesting depth: the
/// HTML tree builder looks through the stack of open elements for many start
/// tags, so a page's parsing cost grows with both. Real report pages stay
/// far below it (a few thousand elements, a few dozen deep).
pub const MAX_PARSE_WORK: usize = 50_000_000;

/// Elements that never hold others.
const VOID_TAGS: &[&[u8]] = &[
    b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta", b"param",
    b"source", b"track", b"wbr",
];

/// How far down the open tags an end tag is looked for: one that matches
/// none of them (`</x>`) closes nothing, as in the parser.
const CLOSE_WINDOW: usize = 256;

/// Start tags and the deepest nesting, estimated from the tags alone without
/// parsing: `<name` opens unless void or self-closed; `</name` closes the
/// nearest open `name` (within [`CLOSE_WINDOW`]) and what was opened after
/// it, and closes nothing when none is open, as html5ever ignores it. Tags a
/// sloppy page leaves open count as open, so the depth is an upper bound.
fn shape_estimate(text: &str) -> (usize, usize) {
    let b = text.as_bytes();
    let (mut elements, mut deepest) = (0usize, 0usize);
    let mut open: Vec<&[u8]> = Vec::new();
    let mut i = 0usize;
    while let Some(off) = b
        .get(i..)
        .and_then(|rest| rest.iter().position(|&c| c == b'<'))
    {
        i = i.saturating_add(off).saturating_add(1);
        match b.get(i) {
            Some(c) if c.is_ascii_alphabetic() => {
                let name_end = b
                    .get(i..)
                    .and_then(|r| r.iter().position(|c| !c.is_ascii_alphanumeric()))
                    .map_or(b.len(), |n| i.saturating_add(n));
                let name = b.get(i..name_end).unwrap_or_default();
                let close = b
                    .get(name_end..)
                    .and_then(|r| r.iter().position(|&c| c == b'>'))
                    .map_or(b.len(), |n| name_end.saturating_add(n));
                let self_closed = close > 0 && b.get(close.saturating_sub(1)) == Some(&b'/');
                elements = elements.saturating_add(1);
                if elements > MAX_ELEMENTS {
                    // Refused anyway; the scan need go no further.
                    break;
                }
                if !self_closed && !VOID_TAGS.iter().any(|v| v.eq_ignore_ascii_case(name)) {
                    open.push(name);
                    deepest = deepest.max(open.len());
                }
            }
            Some(b'/') => {
                let start = i.saturating_add(1);
                let name_end = b
                    .get(start..)
                    .and_then(|r| r.iter().position(|c| !c.is_ascii_alphanumeric()))
                    .map_or(b.len(), |n| start.saturating_add(n));
                let name = b.get(start..name_end).unwrap_or_default();
                let floor = open.len().saturating_sub(CLOSE_WINDOW);
                if let Some(at) = open
                    .get(floor..)
                    .and_then(|w| w.iter().rposition(|o| o.eq_ignore_ascii_case(name)))
                {
                    open.truncate(floor.saturating_add(at));
                }
            }
            _ => {}
        }
    }
    (elements, deepest)
}

/// Whether text looks like an HTML page or fragment: it starts with a tag, or
/// its first 12 KiB (about 4,000 characters of Chinese) hold a tag that opens
/// a table, body, paragraph, div or heading.
pub fn looks_like_html(text: &str) -> bool {
    const MARKERS: [&[u8]; 8] = [
        b"<table", b"<body", b"<p>", b"<p ", b"<div", b"<h1", b"<h2", b"<h3",
    ];
    let t = text.trim_start().as_bytes();
    let head = t.get(..t.len().min(12 * 1024)).unwrap_or(t);
    let starts_with_tag = head.first() == Some(&b'<')
        && head
            .get(1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'!');
    // Only where a '<' stands: plain text (most documents) costs one scan.
    starts_with_tag
        || head.iter().enumerate().any(|(i, b)| {
            *b == b'<'
                && MARKERS.iter().any(|m| {
                    head.get(i..i.saturating_add(m.len()))
                        .is_some_and(|w| w.eq_ignore_ascii_case(m))
                })
        })
}

/// What the reader needs of an element's attributes, read in one pass over
/// them (scraper's `attr` interns the name it is asked for on every call).
#[derive(Default)]
struct Attrs<'a> {
    class: Option<&'a str>,
    id: Option<&'a str>,
    rowspan: Option<&'a str>,
    colspan: Option<&'a str>,
}

fn attrs(el: &scraper::node::Element) -> Attrs<'_> {
    let mut a = Attrs::default();
    for (name, value) in el.attrs() {
        match name {
            "class" => a.class = Some(value),
            "id" => a.id = Some(value),
            "rowspan" => a.rowspan = Some(value),
            "colspan" => a.colspan = Some(value),
            _ => {}
        }
    }
    a
}

/// Whether `hay` holds `needle` (ASCII), ignoring ASCII case.
fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn is_chrome(el: &scraper::node::Element) -> bool {
    if SKIPPED_TAGS.contains(&el.name()) {
        return true;
    }
    let a = attrs(el);
    let marked = |v: &str| CHROME_MARKERS.iter().any(|m| contains_ignore_case(v, m));
    a.id.is_some_and(marked) || a.class.is_some_and(marked)
}

fn span(value: Option<&str>) -> usize {
    value
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_SPAN)
}

/// Elements that end a line of text.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "ul"
            | "ol"
            | "section"
            | "article"
            | "main"
            | "body"
            | "blockquote"
            | "pre"
            | "dl"
            | "dt"
            | "dd"
            | "center"
            | "table"
            | "tr"
            | "td"
            | "th"
            | "caption"
            | "hr"
            | "br"
    )
}

/// Collapses runs of white space (other than no-break spaces kept as
/// published) to one space.
fn push_text(buf: &mut String, text: &str) {
    // Most text nodes are a run without white space: copied whole.
    if !text.bytes().any(|b| b.is_ascii_whitespace() || b == 0xe2) {
        buf.push_str(text);
        return;
    }
    for c in text.chars() {
        if c.is_ascii_whitespace() || c == '\u{200b}' {
            if !buf.ends_with(' ') && !buf.is_empty() {
                buf.push(' ');
            }
        } else {
            buf.push(c);
        }
    }
}

fn flush_line(buf: &mut String, out: &mut Vec<Block>) {
    let line = buf.trim_matches(|c: char| c.is_whitespace());
    if !line.is_empty() {
        out.push(Block::Text(line.to_owned()));
    }
    buf.clear();
}

/// A data table being read: rows of (text, rowspan, colspan).
#[derive(Default)]
struct TableGrid {
    rows: Vec<Vec<(String, usize, usize)>>,
}

impl TableGrid {
    /// Lays the cells out on a grid, merged cells flattened to empty ones
    /// after their first.
    fn flatten(self) -> Result<Vec<Vec<String>>, ImportError> {
        let mut out: Vec<Vec<String>> = Vec::with_capacity(self.rows.len());
        // Rows still covered by a rowspan from above, per column.
        let mut covered: Vec<usize> = Vec::new();
        let mut cells = 0usize;
        for row in self.rows {
            let mut line: Vec<String> = Vec::new();
            let mut col = 0usize;
            let taken = |line: &mut Vec<String>, col: &mut usize, covered: &mut Vec<usize>| {
                while covered.get(*col).is_some_and(|n| *n > 0) {
                    line.push(String::new());
                    *col = col.saturating_add(1);
                }
            };
            for (text, rowspan, colspan) in row {
                taken(&mut line, &mut col, &mut covered);
                // Checked before laying out: one row of wide cells must not
                // grow past the bound first.
                if cells.saturating_add(line.len()).saturating_add(colspan) > MAX_TABLE_CELLS {
                    return Err(too_many_cells());
                }
                for i in 0..colspan {
                    line.push(if i == 0 { text.clone() } else { String::new() });
                    let at = col.saturating_add(i);
                    if covered.len() <= at {
                        covered.resize(at.saturating_add(1), 0);
                    }
                    if let Some(c) = covered.get_mut(at) {
                        *c = rowspan;
                    }
                }
                col = col.saturating_add(colspan);
            }
            // Columns to the right of the last cell (covered from above or
            // not): the row spans the whole grid, each in its own column.
            if line.len() < covered.len() {
                line.resize(covered.len(), String::new());
            }
            // Every rowspan counts this row.
            for c in &mut covered {
                *c = c.saturating_sub(1);
            }
            cells = cells.saturating_add(line.len());
            if cells > MAX_TABLE_CELLS {
                return Err(too_many_cells());
            }
            let trimmed: Vec<String> = line
                .into_iter()
                .map(|c| c.trim_matches(|ch: char| ch.is_whitespace()).to_owned())
                .collect();
            if trimmed.iter().any(|c| !c.is_empty()) {
                out.push(trimmed);
            }
        }
        Ok(out)
    }
}

fn too_many_cells() -> ImportError {
    ImportError::TooComplex(format!(
        "表格展开后超过{MAX_TABLE_CELLS}个单元格 — a table spans more than {MAX_TABLE_CELLS} cells once merged cells are laid out"
    ))
}

/// Reads an HTML page into blocks.
pub fn from_html(text: &str) -> Result<Vec<Block>, ImportError> {
    let (elements, depth) = shape_estimate(text);
    if elements > MAX_ELEMENTS {
        return Err(ImportError::TooComplex(format!(
            "页面约有{elements}个元素，上限{MAX_ELEMENTS} — the page has about {elements} elements, more than the {MAX_ELEMENTS} accepted"
        )));
    }
    if elements.saturating_mul(depth) > MAX_PARSE_WORK {
        return Err(ImportError::TooComplex(format!(
            "页面约有{elements}个元素、嵌套约{depth}层，超出解析上限 — the page has about {elements} elements nested about {depth} deep; elements × depth is more than the {MAX_PARSE_WORK} accepted"
        )));
    }
    let html = Html::parse_document(text);
    let root = html.tree.root();

    // Tables that hold other tables lay out the page; only the innermost
    // tables are data. What looks like chrome but holds a table is not
    // chrome: sites wrap the article in `id="printContent"`, `class="…-header"`.
    let mut layout_tables = std::collections::HashSet::new();
    let mut open_tables = Vec::new();
    let mut not_chrome = std::collections::HashSet::new();
    let mut open_chrome = Vec::new();
    for edge in root.traverse() {
        match edge {
            Edge::Open(n) => match n.value().as_element() {
                Some(e) if e.name() == "table" => {
                    layout_tables.extend(open_tables.iter().copied());
                    open_tables.push(n.id());
                    not_chrome.extend(open_chrome.iter().copied());
                }
                Some(e) if is_chrome(e) => open_chrome.push(n.id()),
                _ => {}
            },
            // What was pushed on opening is popped on closing, without
            // judging the element again.
            Edge::Close(n) => {
                if open_tables.last() == Some(&n.id()) {
                    open_tables.pop();
                } else if open_chrome.last() == Some(&n.id()) {
                    open_chrome.pop();
                }
            }
        }
    }

    let mut out = Vec::new();
    let mut line = String::new();
    let mut skipping: Option<ego_tree::NodeId> = None;
    let mut table: Option<(ego_tree::NodeId, TableGrid)> = None;
    let mut cell: Option<(String, usize, usize)> = None;
    for edge in root.traverse() {
        match edge {
            Edge::Open(n) => {
                if skipping.is_some() {
                    continue;
                }
                match n.value() {
                    Node::Text(t) => match cell.as_mut() {
                        Some((buf, _, _)) => push_text(buf, t),
                        None => push_text(&mut line, t),
                    },
                    Node::Element(el) => {
                        // Inside a data table a class such as "table-header" is
                        // styling, not chrome: only skipped tags are dropped there.
                        let chrome = if table.is_some() {
                            SKIPPED_TAGS.contains(&el.name())
                        } else {
                            is_chrome(el)
                        };
                        if chrome && !not_chrome.contains(&n.id()) {
                            skipping = Some(n.id());
                            continue;
                        }
                        let name = el.name();
                        let data_table = table.is_some();
                        match name {
                            "table" if !layout_tables.contains(&n.id()) => {
                                flush_line(&mut line, &mut out);
                                table = Some((n.id(), TableGrid::default()));
                            }
                            "tr" if data_table => {
                                if let Some((_, g)) = table.as_mut() {
                                    g.rows.push(Vec::new());
                                }
                            }
                            "td" | "th" if data_table => {
                                let a = attrs(el);
                                cell = Some((String::new(), span(a.rowspan), span(a.colspan)));
                            }
                            "br" | "p" | "div" if cell.is_some() => {
                                if let Some((buf, _, _)) = cell.as_mut() {
                                    push_text(buf, " ");
                                }
                            }
                            _ if cell.is_none() && is_block(name) => {
                                flush_line(&mut line, &mut out);
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(n) => {
                if let Some(id) = skipping {
                    if id == n.id() {
                        skipping = None;
                    }
                    continue;
                }
                let Some(el) = n.value().as_element() else {
                    continue;
                };
                match el.name() {
                    "td" | "th" if cell.is_some() => {
                        if let (Some(c), Some((_, g))) = (cell.take(), table.as_mut()) {
                            match g.rows.last_mut() {
                                Some(row) => row.push(c),
                                // A cell outside any <tr>: a row of its own.
                                None => g.rows.push(vec![c]),
                            }
                        }
                    }
                    "table" if table.as_ref().is_some_and(|(id, _)| *id == n.id()) => {
                        if let Some((_, g)) = table.take() {
                            out.extend(g.flatten()?.into_iter().map(Block::Row));
                        }
                    }
                    name if cell.is_none() && is_block(name) => {
                        flush_line(&mut line, &mut out);
                    }
                    _ => {}
                }
            }
        }
    }
    flush_line(&mut line, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrome_is_skipped_and_paragraphs_are_lines() {
        let page = r#"<html><head><title>x</title><script>var a="一、总体情况";</script></head>
<body><div class="nav">首页 | 政务公开</div>
<div class="content"><p><strong>一、总体情况</strong></p><p>全年&nbsp;更新
831条。</p></div>
<div id="footer">版权所有</div></body></html>"#;
        let blocks = from_html(page).unwrap();
        assert_eq!(
            blocks,
            vec![
                Block::Text("一、总体情况".into()),
                Block::Text("全年\u{a0}更新 831条。".into()),
            ]
        );
    }

    #[test]
    fn chrome_that_holds_a_table_is_the_article() {
        let page = r#"<body><div class="header">首页</div><div id="printContent"><p>一、总体情况</p>
<table><tr><td>规章</td><td>0</td></tr></table></div><div class="footer">版权所有</div></body>"#;
        assert_eq!(
            from_html(page).unwrap(),
            vec![
                Block::Text("一、总体情况".into()),
                Block::Row(vec!["规章".into(), "0".into()]),
            ]
        );
    }

    #[test]
    fn classes_that_look_like_chrome_inside_a_data_table_are_kept() {
        let page = r#"<table><tr class="table-header"><th>信息内容</th><th>本年制发件数</th></tr><tr><td class="nav-cell">规章</td><td>0</td></tr></table>"#;
        assert_eq!(
            from_html(page).unwrap(),
            vec![
                Block::Row(vec!["信息内容".into(), "本年制发件数".into()]),
                Block::Row(vec!["规章".into(), "0".into()]),
            ]
        );
    }

    #[test]
    fn a_short_row_under_a_rowspan_keeps_every_column() {
        let page =
            "<table><tr><td>a</td><td>b</td><td rowspan=2>c</td></tr><tr><td>x</td></tr></table>";
        assert_eq!(
            from_html(page).unwrap(),
            vec![
                Block::Row(vec!["a".into(), "b".into(), "c".into()]),
                Block::Row(vec!["x".into(), "".into(), "".into()]),
            ]
        );
    }

    #[test]
    fn spans_are_laid_out_on_a_grid() {
        let page = "<table><tr><td rowspan=2>a</td><td colspan=2>b</td></tr><tr><td>c</td><td>&nbsp;</td></tr></table>";
        let blocks = from_html(page).unwrap();
        assert_eq!(
            blocks,
            vec![
                Block::Row(vec!["a".into(), "b".into(), "".into()]),
                Block::Row(vec!["".into(), "c".into(), "".into()]),
            ]
        );
    }

    #[test]
    fn layout_tables_are_read_as_text_around_their_data_tables() {
        let page = "<table><tr><td><p>一、总体情况</p><table><tr><td>规章</td><td>0</td></tr></table></td></tr></table>";
        let blocks = from_html(page).unwrap();
        assert_eq!(
            blocks,
            vec![
                Block::Text("一、总体情况".into()),
                Block::Row(vec!["规章".into(), "0".into()]),
            ]
        );
    }

    #[test]
    fn shape_is_estimated_from_tags() {
        assert_eq!(shape_estimate("<p>a<br>b<img src=x/></p><p>c</p>"), (4, 1));
        assert_eq!(shape_estimate("<div><div><span/></div></div>"), (3, 2));
        assert_eq!(shape_estimate("<P>a<BR>b<Img src=x></P>"), (3, 1));
        assert_eq!(shape_estimate("a < b, 1<2 </x>"), (0, 0));
    }

    #[test]
    fn too_many_elements_is_refused_before_parsing() {
        let page = "<div>".repeat(MAX_ELEMENTS + 1);
        assert!(matches!(from_html(&page), Err(ImportError::TooComplex(_))));
    }
}
