//! From positioned glyphs and rulings to blocks, in reading order.
//!
//! - **Tables** are where rulings cross: their lines give a grid, a cell is
//!   the grid units no drawn line separates (so merged cells come out as one
//!   cell with its text in its first grid position, as an HTML table's spans
//!   are laid out), and each glyph belongs to the cell under its centre —
//!   a label wrapped over three lines stays one cell. A table that ends a
//!   page and one that starts the next, with the same left and right edges,
//!   are one table: their columns are taken together, and a header the
//!   continuation repeats is dropped.
//! - **Page furniture** is left out: in the top and bottom tenth of a page,
//!   a page number (`- 3 -`, `第3页`, `3/6`), and any line that recurs there
//!   on most pages (a running header or footer).
//! - **Prose** outside tables is laid out in lines and joined into paragraphs
//!   (a paragraph ends where a line stops short of the right margin, where
//!   the next one is indented or set apart, or the type size changes), so a
//!   sentence wrapped at the margin reads as one.
//! - **Tables without rulings** are found by their columns of figures: runs
//!   of lines split by wide gaps, the columns given by the gaps every line
//!   leaves open, each line of figures a row, and label lines wrapped around
//!   it joined to the row they sit beside.
//!
//! Bounds: every comparison of one glyph, piece of a line or ruling with
//! another counts against one budget for the document
//! ([`MAX_LAYOUT_STEPS`]), and a table is at most [`MAX_GRID_CELLS`] cells
//! on its grid, so no arrangement of the glyphs and rulings a file may hold
//! makes the layout take more than bounded time and memory.

use std::collections::HashMap;

use crate::blocks::Block;

use super::PdfError;
use super::content::{Glyph, PageContent, Rule};

/// Rulings this close are one line (double borders, rounding).
const SNAP: f64 = 2.0;

/// Most comparisons the layout of one document may make. The sample's PDFs
/// and the real reports take about 4,000.
pub const MAX_LAYOUT_STEPS: u64 = 10_000_000;

/// Most cells a table may have on its grid (as an HTML or Word table once
/// its spans are laid out).
pub const MAX_GRID_CELLS: usize = 1_000_000;

/// What is left of [`MAX_LAYOUT_STEPS`].
struct Budget {
    left: u64,
}

impl Budget {
    fn new() -> Budget {
        Budget {
            left: MAX_LAYOUT_STEPS,
        }
    }

    /// Takes `n` steps, or refuses the document once the budget is spent.
    fn spend(&mut self, n: usize) -> Result<(), PdfError> {
        self.left = u64::try_from(n)
            .ok()
            .and_then(|n| self.left.checked_sub(n))
            .ok_or(PdfError::TooMuchContent("10,000,000 layout steps"))?;
        Ok(())
    }
}

/// A table of `rows` × `columns` cells, or the error for one past
/// [`MAX_GRID_CELLS`].
fn grid_cells(rows: usize, columns: usize) -> Result<usize, PdfError> {
    rows.checked_mul(columns)
        .filter(|n| *n <= MAX_GRID_CELLS)
        .ok_or(PdfError::TooMuchContent("1,000,000 cells in one table"))
}

/// A piece of a page, in reading order.
enum Item {
    /// A paragraph line (joined into paragraphs later), and its index among
    /// its page's lines (as its margin band names it).
    Line(Line, usize),
    /// A table region (by index into the page's regions).
    Table(usize),
}

#[derive(Clone, Debug)]
struct Line {
    text: String,
    x0: f64,
    x1: f64,
    top: f64,
    bottom: f64,
    size: f64,
    /// Its glyphs, left to right (for tables without rulings).
    glyphs: Vec<Glyph>,
}

/// A ruled table on one page.
#[derive(Debug)]
struct Region {
    x0: f64,
    x1: f64,
    top: f64,
    bottom: f64,
    h: Vec<Rule>,
    v: Vec<Rule>,
    glyphs: Vec<Glyph>,
}

/// A page's lines in its top or bottom tenth: (index, key folded by
/// [`furniture_key`], whether a page number).
type Band = Vec<(usize, String, bool)>;

/// Reads the pages into blocks.
pub fn blocks(pages: Vec<PageContent>) -> Result<Vec<Block>, PdfError> {
    let mut budget = Budget::new();
    let mut laid: Vec<(Vec<Region>, Vec<Item>, f64)> = Vec::with_capacity(pages.len());
    // Per page: its margin band, and how many lines it has.
    let mut margins: Vec<(Band, usize)> = Vec::new();
    for page in pages {
        let (regions, lines) = split_page(page.glyphs, &page.rules, &mut budget)?;
        let mut band = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let top_band = l.bottom < page.height * 0.1;
            let bottom_band = l.top > page.height * 0.9;
            if top_band || bottom_band {
                band.push((i, furniture_key(&l.text), is_page_number(&l.text)));
            }
        }
        margins.push((band, lines.len()));
        let mut items: Vec<(f64, Item)> = lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| (l.top, Item::Line(l, i)))
            .collect();
        items.extend(
            regions
                .iter()
                .enumerate()
                .map(|(i, r)| (r.top, Item::Table(i))),
        );
        items.sort_by(|a, b| a.0.total_cmp(&b.0));
        laid.push((
            regions,
            items.into_iter().map(|(_, i)| i).collect(),
            page.width,
        ));
    }
    // Running headers and footers: the same text in the margin bands of most
    // pages (page numbers folded to one key), counted once per page.
    let pages_n = margins.len();
    let mut pages_with: HashMap<&str, usize> = HashMap::new();
    for (band, _) in &margins {
        let mut keys: Vec<&str> = band.iter().map(|(_, k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            let on = pages_with.entry(k).or_default();
            *on = on.saturating_add(1);
        }
    }
    let recurring = |key: &str| {
        let on = pages_with.get(key).copied().unwrap_or(0);
        pages_n >= 2 && on >= 2 && on.saturating_mul(2) >= pages_n
    };
    // Per page, per line: left out as furniture.
    let dropped: Vec<Vec<bool>> = margins
        .iter()
        .map(|(band, lines)| {
            let mut dropped = vec![false; *lines];
            for (i, key, number) in band {
                if (*number || recurring(key))
                    && let Some(d) = dropped.get_mut(*i)
                {
                    *d = true;
                }
            }
            dropped
        })
        .collect();

    // Tables continued from one page to the next.
    let mut out = Vec::new();
    let mut pending: Vec<PageLine> = Vec::new();
    let mut chain: Vec<Region> = Vec::new();
    for (p, (regions, items, width)) in laid.into_iter().enumerate() {
        let mut regions: Vec<Option<Region>> = regions.into_iter().map(Some).collect();
        let kept: Vec<Item> = items
            .into_iter()
            .filter(|item| match item {
                Item::Line(_, i) => !dropped
                    .get(p)
                    .and_then(|d| d.get(*i))
                    .copied()
                    .unwrap_or(false),
                Item::Table(_) => true,
            })
            .collect();
        let count = kept.len();
        for (k, item) in kept.into_iter().enumerate() {
            match item {
                Item::Line(line, _) => {
                    if !chain.is_empty() {
                        emit_chain(std::mem::take(&mut chain), &mut out, &mut budget)?;
                    }
                    pending.push(PageLine {
                        pieces: piece_count(&line),
                        cells: Vec::new(),
                        line,
                        page: p,
                        width,
                    });
                }
                Item::Table(i) => {
                    let Some(region) = regions.get_mut(i).and_then(Option::take) else {
                        continue;
                    };
                    text_blocks(std::mem::take(&mut pending), &mut out, &mut budget)?;
                    // Continues the chain only as the first thing on its
                    // page, under a table that was the last on the one before.
                    let continues = k == 0
                        && chain.last().is_some_and(|last| {
                            (last.x0 - region.x0).abs() <= 3.0 && (last.x1 - region.x1).abs() <= 3.0
                        });
                    if !continues && !chain.is_empty() {
                        emit_chain(std::mem::take(&mut chain), &mut out, &mut budget)?;
                    }
                    chain.push(region);
                    // A table that does not end its page ends its chain.
                    if k.saturating_add(1) < count {
                        emit_chain(std::mem::take(&mut chain), &mut out, &mut budget)?;
                    }
                }
            }
        }
    }
    if !chain.is_empty() {
        emit_chain(chain, &mut out, &mut budget)?;
    }
    text_blocks(pending, &mut out, &mut budget)?;
    Ok(out)
}

/// A margin line's text with digits folded, so "- 2 -" and "- 3 -" match.
fn furniture_key(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// `- 3 -`, `—3—`, `3`, `第3页`, `第 3 页 共 6 页`, `3/6`, `Page 3`.
fn is_page_number(text: &str) -> bool {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = t.chars().filter(char::is_ascii_digit).count();
    if digits == 0 || digits > 8 {
        return false;
    }
    let rest: String = t.chars().filter(|c| !c.is_ascii_digit()).collect();
    let dashes = |s: &str| s.chars().all(|c| "-‐‑–—_－".contains(c));
    dashes(&rest)
        || rest == "/"
        || rest == "第页"
        || rest == "第页共页"
        || rest == "共页第页"
        || rest.eq_ignore_ascii_case("page")
        || rest.eq_ignore_ascii_case("pageof")
}

// ------------------------------------------------------------------ tables

/// Rulings of one orientation merged: those on one line (within [`SNAP`])
/// that touch or overlap become one.
fn merge_rules(mut rules: Vec<Rule>) -> Vec<Rule> {
    rules.sort_by(|a, b| a.at.total_cmp(&b.at).then(a.from.total_cmp(&b.from)));
    let mut lines: Vec<Vec<Rule>> = Vec::new();
    for r in rules {
        match lines.last_mut() {
            Some(line) if line.first().is_some_and(|f| (r.at - f.at).abs() <= SNAP) => line.push(r),
            _ => lines.push(vec![r]),
        }
    }
    let mut out = Vec::new();
    for mut line in lines {
        let at = line.iter().map(|r| r.at).sum::<f64>() / line.len().max(1) as f64;
        line.sort_by(|a, b| a.from.total_cmp(&b.from));
        let mut current: Option<Rule> = None;
        for r in line {
            match current.as_mut() {
                Some(c) if r.from <= c.to + SNAP => c.to = c.to.max(r.to),
                _ => {
                    if let Some(c) = current.take() {
                        out.push(c);
                    }
                    current = Some(Rule { at, ..r });
                }
            }
        }
        if let Some(c) = current {
            out.push(c);
        }
    }
    out
}

fn crosses(h: &Rule, v: &Rule) -> bool {
    v.at >= h.from - SNAP && v.at <= h.to + SNAP && h.at >= v.from - SNAP && h.at <= v.to + SNAP
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while let Some(&p) = parent.get(i) {
        if p == i {
            break;
        }
        let grand = parent.get(p).copied().unwrap_or(p);
        if let Some(slot) = parent.get_mut(i) {
            *slot = grand;
        }
        i = p;
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb
        && let Some(slot) = parent.get_mut(ra)
    {
        *slot = rb;
    }
}

/// Splits a page into ruled table regions (with their glyphs) and the lines
/// of text outside them.
fn split_page(
    glyphs: Vec<Glyph>,
    rules: &[Rule],
    budget: &mut Budget,
) -> Result<(Vec<Region>, Vec<Line>), PdfError> {
    let h = merge_rules(rules.iter().filter(|r| r.horizontal).copied().collect());
    let v = merge_rules(rules.iter().filter(|r| !r.horizontal).copied().collect());
    let n = h.len().saturating_add(v.len());
    let mut parent: Vec<usize> = (0..n).collect();
    for (i, hr) in h.iter().enumerate() {
        budget.spend(v.len())?;
        for (j, vr) in v.iter().enumerate() {
            if crosses(hr, vr) {
                union(&mut parent, i, h.len().saturating_add(j));
            }
        }
    }
    // The rulings of each group that cross, in the order merged (by `at`).
    let mut group_of: Vec<Option<usize>> = vec![None; n];
    let mut groups: Vec<(Vec<Rule>, Vec<Rule>)> = Vec::new();
    for i in 0..n {
        let root = find(&mut parent, i);
        let slot = match group_of.get(root).copied().flatten() {
            Some(s) => s,
            None => {
                groups.push((Vec::new(), Vec::new()));
                let s = groups.len().saturating_sub(1);
                if let Some(g) = group_of.get_mut(root) {
                    *g = Some(s);
                }
                s
            }
        };
        if let Some((hs, vs)) = groups.get_mut(slot) {
            match h.get(i) {
                Some(r) => hs.push(*r),
                None => {
                    if let Some(r) = v.get(i.saturating_sub(h.len())) {
                        vs.push(*r);
                    }
                }
            }
        }
    }
    let mut regions: Vec<Region> = groups
        .into_iter()
        .filter(|(hs, vs)| hs.len() >= 2 && vs.len() >= 2)
        .map(|(hs, vs)| {
            let x0 = vs.iter().map(|r| r.at).fold(f64::INFINITY, f64::min);
            let x1 = vs.iter().map(|r| r.at).fold(f64::NEG_INFINITY, f64::max);
            let top = hs.iter().map(|r| r.at).fold(f64::INFINITY, f64::min);
            let bottom = hs.iter().map(|r| r.at).fold(f64::NEG_INFINITY, f64::max);
            Region {
                x0,
                x1,
                top,
                bottom,
                h: hs,
                v: vs,
                glyphs: Vec::new(),
            }
        })
        .filter(|r| r.x1 - r.x0 > 2.0 * SNAP && r.bottom - r.top > 2.0 * SNAP)
        .collect();
    let mut outside = Vec::with_capacity(glyphs.len());
    for g in glyphs {
        budget.spend(regions.len())?;
        let (cx, cy) = (g.center_x(), g.center_y());
        match regions
            .iter_mut()
            .find(|r| cx >= r.x0 && cx <= r.x1 && cy >= r.top && cy <= r.bottom)
        {
            Some(r) => r.glyphs.push(g),
            None => outside.push(g),
        }
    }
    // A ruled box of one cell (a framed note) is prose, not a table.
    let mut kept = Vec::new();
    for r in regions {
        let xs = clusters(r.v.iter().map(|r| r.at));
        let ys = clusters(r.h.iter().map(|r| r.at));
        if xs.len() <= 2 && ys.len() <= 2 {
            outside.extend(r.glyphs);
        } else if !r.glyphs.is_empty() {
            kept.push(r);
        }
    }
    Ok((kept, lines_of(outside)))
}

/// Positions within [`SNAP`] of each other as one (their mean).
fn clusters(values: impl Iterator<Item = f64>) -> Vec<f64> {
    clusters_within(values, SNAP)
}

/// Positions within `within` of the mean of those before them as one (their
/// mean), in order.
fn clusters_within(values: impl Iterator<Item = f64>, within: f64) -> Vec<f64> {
    let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let mut out: Vec<(f64, usize)> = Vec::new();
    for x in v {
        match out.last_mut() {
            Some((sum, n)) if x - *sum / *n as f64 <= within => {
                *sum += x;
                *n = n.saturating_add(1);
            }
            _ => out.push((x, 1)),
        }
    }
    out.into_iter().map(|(s, n)| s / n as f64).collect()
}

/// Whether a ruling at `at` (within [`SNAP`]) covers the point `along`.
/// `rules` are sorted by `at` (as merged): only those near it are looked at.
fn ruled(rules: &[Rule], at: f64, along: f64) -> bool {
    let near = rules.partition_point(|r| r.at < at - 2.0 * SNAP);
    rules
        .get(near..)
        .unwrap_or_default()
        .iter()
        .take_while(|r| r.at <= at + 2.0 * SNAP)
        .any(|r| (r.at - at).abs() <= SNAP && r.from - SNAP <= along && along <= r.to + SNAP)
}

/// Emits a chain of regions (one table, possibly over several pages) as rows.
fn emit_chain(
    chain: Vec<Region>,
    out: &mut Vec<Block>,
    budget: &mut Budget,
) -> Result<(), PdfError> {
    let xs = clusters(chain.iter().flat_map(|r| r.v.iter().map(|v| v.at)));
    // The first region's rows, compared with the continuations' where they
    // already are: in `out`, from `start`.
    let start = out.len();
    let mut first_rows = 0usize;
    for (i, region) in chain.into_iter().enumerate() {
        let mut rows = region_rows(region, &xs, budget)?;
        if i == 0 {
            first_rows = rows.len();
        } else {
            // A header the continuation repeats.
            let first = out
                .get(start..start.saturating_add(first_rows))
                .unwrap_or_default();
            let repeated = rows
                .iter()
                .zip(first)
                .take_while(|(a, b)| matches!(b, Block::Row(b) if b == *a))
                .count();
            if repeated < rows.len() {
                rows.drain(..repeated);
            }
        }
        out.extend(rows.into_iter().map(Block::Row));
    }
    Ok(())
}

/// A region's rows on the column grid `xs`.
fn region_rows(
    region: Region,
    xs: &[f64],
    budget: &mut Budget,
) -> Result<Vec<Vec<String>>, PdfError> {
    let ys = clusters(region.h.iter().map(|r| r.at));
    let (rows, cols) = (ys.len().saturating_sub(1), xs.len().saturating_sub(1));
    if rows == 0 || cols == 0 {
        return Ok(Vec::new());
    }
    let units = grid_cells(rows, cols)?;
    budget.spend(units)?;
    let unit = |r: usize, c: usize| r.saturating_mul(cols).saturating_add(c);
    let mut parent: Vec<usize> = (0..units).collect();
    for r in 0..rows {
        let (y0, y1) = (ys[r], ys[r.saturating_add(1)]);
        let ymid = (y0 + y1) / 2.0;
        for c in 0..cols {
            let (x0, x1) = (xs[c], xs[c.saturating_add(1)]);
            let xmid = (x0 + x1) / 2.0;
            if c.saturating_add(1) < cols && !ruled(&region.v, x1, ymid) {
                union(&mut parent, unit(r, c), unit(r, c.saturating_add(1)));
            }
            if r.saturating_add(1) < rows && !ruled(&region.h, y1, xmid) {
                union(&mut parent, unit(r, c), unit(r.saturating_add(1), c));
            }
        }
    }
    // Each cell: its first unit (top, then left) and its glyphs.
    let mut first_unit: Vec<usize> = vec![usize::MAX; parent.len()];
    for u in 0..parent.len() {
        let root = find(&mut parent, u);
        if let Some(f) = first_unit.get_mut(root)
            && *f == usize::MAX
        {
            *f = u;
        }
    }
    let mut cell_glyphs: Vec<Vec<Glyph>> = vec![Vec::new(); parent.len()];
    for g in region.glyphs {
        let r = ys
            .partition_point(|y| *y < g.center_y())
            .saturating_sub(1)
            .min(rows.saturating_sub(1));
        let c = xs
            .partition_point(|x| *x < g.center_x())
            .saturating_sub(1)
            .min(cols.saturating_sub(1));
        let root = find(&mut parent, unit(r, c));
        if let Some(cell) = cell_glyphs.get_mut(root) {
            cell.push(g);
        }
    }
    let mut grid: Vec<Vec<String>> = vec![vec![String::new(); cols]; rows];
    for (root, glyphs) in cell_glyphs.into_iter().enumerate() {
        if glyphs.is_empty() {
            continue;
        }
        let Some(&u) = first_unit.get(root) else {
            continue;
        };
        let (r, c) = (
            u.checked_div(cols).unwrap_or(0),
            u.checked_rem(cols).unwrap_or(0),
        );
        if let Some(slot) = grid.get_mut(r).and_then(|row| row.get_mut(c)) {
            *slot = cell_text(glyphs);
        }
    }
    grid.retain(|row| row.iter().any(|c| !c.is_empty()));
    Ok(grid)
}

/// A cell's text: its lines top to bottom, joined without a break (a label
/// wrapped inside its cell is one label).
fn cell_text(mut glyphs: Vec<Glyph>) -> String {
    // Only the text is needed: each line is read where it lies.
    let mut text = String::new();
    let mut at = 0usize;
    for n in sort_into_lines(&mut glyphs) {
        let end = at.saturating_add(n);
        let line = line_text(glyphs.get(at..end).unwrap_or_default());
        if !line.is_empty() {
            join(&mut text, &line);
        }
        at = end;
    }
    text
}

/// `text.trim()`, without building a second string.
fn trim_in_place(text: &mut String) {
    text.truncate(text.trim_end().len());
    let start = text.len().saturating_sub(text.trim_start().len());
    text.drain(..start);
}

/// Appends a piece of text after a line break: a space only between two
/// Latin letters or digits (words), none between CJK characters.
fn join(text: &mut String, next: &str) {
    let before = text.chars().last();
    let after = next.chars().next();
    if let (Some(a), Some(b)) = (before, after)
        && a.is_ascii_alphanumeric()
        && b.is_ascii_alphanumeric()
    {
        text.push(' ');
    }
    text.push_str(next);
}

// ------------------------------------------------------------------- lines

/// A float's bits as an integer that orders as [`f64::total_cmp`] does
/// (negative numbers flipped whole, positive ones above them), so a sort
/// compares integers.
fn ordered(f: f64) -> u64 {
    let bits = f.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// Sorts glyphs into lines (by their vertical overlap), lines top to
/// bottom, each left to right; the lines' lengths, in order.
fn sort_into_lines(glyphs: &mut Vec<Glyph>) -> Vec<usize> {
    // A page's glyphs come in runs (cells, columns) that a sort of the
    // glyphs themselves would move many times, each several times the size
    // of its key: those are sorted by their keys, then moved once into
    // place. Each key ends in the glyph's index, so no two are equal and an
    // unstable sort orders them as a stable one would. A cell's few glyphs
    // are sorted where they are; a page already in order is left as it is.
    let by_position = |a: &Glyph, b: &Glyph| a.base.total_cmp(&b.base).then(a.x0.total_cmp(&b.x0));
    if glyphs.len() <= 64 {
        glyphs.sort_by(by_position);
    } else if !glyphs.is_sorted_by(|a, b| by_position(a, b).is_le()) {
        let mut order: Vec<(u64, u64, usize)> = glyphs
            .iter()
            .enumerate()
            .map(|(i, g)| (ordered(g.base), ordered(g.x0), i))
            .collect();
        order.sort_unstable();
        if order.iter().enumerate().any(|(at, (.., i))| at != *i) {
            let mut slots: Vec<Option<Glyph>> =
                std::mem::take(glyphs).into_iter().map(Some).collect();
            *glyphs = order
                .iter()
                .filter_map(|(.., i)| slots.get_mut(*i).and_then(Option::take))
                .collect();
        }
    }
    // A glyph joins the line before it or starts one, so each line is a run
    // of the sorted glyphs (a glyph compared with the line's mean baseline
    // and largest size, kept as it grows).
    let mut runs: Vec<usize> = Vec::new();
    let (mut sum, mut size, mut n) = (0.0f64, 0.0f64, 0usize);
    for g in glyphs.iter() {
        if n > 0 && (g.base - sum / n as f64).abs() <= size.max(g.size) * 0.4 {
            sum += g.base;
            size = size.max(g.size);
            n = n.saturating_add(1);
        } else {
            if n > 0 {
                runs.push(n);
            }
            (sum, size, n) = (g.base, g.size, 1);
        }
    }
    if n > 0 {
        runs.push(n);
    }
    let mut at = 0usize;
    for &n in &runs {
        let end = at.saturating_add(n);
        if let Some(line) = glyphs.get_mut(at..end) {
            line.sort_by(|a, b| a.x0.total_cmp(&b.x0));
        }
        at = end;
    }
    runs
}

/// Groups glyphs into lines (see [`sort_into_lines`]), blank ones left out.
fn lines_of(mut glyphs: Vec<Glyph>) -> Vec<Line> {
    let runs = sort_into_lines(&mut glyphs);
    // Each line's glyphs moved out at once, into a vector of its exact size.
    let mut rest = glyphs.into_iter();
    runs.into_iter()
        .filter_map(|n| line_of(rest.by_ref().take(n).collect()))
        .collect()
}

/// A line's text from its glyphs, left to right: a space where a gap parts
/// two Latin words, or for a space glyph; trimmed.
fn line_text(glyphs: &[Glyph]) -> String {
    let mut text = String::with_capacity(glyphs.len().saturating_mul(3));
    let mut last: Option<&Glyph> = None;
    for g in glyphs {
        if let Some(prev) = last {
            let gap = g.x0 - prev.x1;
            let latin = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
            if gap > 0.25 * g.size.max(prev.size)
                && latin(text.chars().last())
                && latin(g.first_char())
            {
                text.push(' ');
            }
        }
        if g.is_space() {
            if !text.ends_with(' ') && !text.is_empty() {
                text.push(' ');
            }
        } else {
            g.push_to(&mut text);
        }
        last = Some(g);
    }
    trim_in_place(&mut text);
    text
}

/// One line's glyphs, left to right, as a line; `None` when it is blank.
fn line_of(glyphs: Vec<Glyph>) -> Option<Line> {
    let text = line_text(&glyphs);
    if text.is_empty() {
        return None;
    }
    let (mut x0, mut x1) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut top, mut bottom, mut size) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    for g in &glyphs {
        (x0, x1) = (x0.min(g.x0), x1.max(g.x1));
        (top, bottom, size) = (top.min(g.top), bottom.max(g.bottom), size.max(g.size));
    }
    Some(Line {
        text,
        x0,
        x1,
        top,
        bottom,
        size,
        glyphs,
    })
}

// -------------------------------------------------------------- paragraphs

/// Lines joined into paragraphs.
#[derive(Default)]
struct Paragraphs {
    lines: Vec<(Line, f64)>,
    /// The rightmost end and leftmost start of its lines.
    right: f64,
    left: f64,
    /// The next line starts a new page (its position says nothing about
    /// the line before it).
    new_page: bool,
}

impl Paragraphs {
    fn push(&mut self, line: Line, page_width: f64, out: &mut Vec<Block>) {
        if let Some((prev, width)) = self.lines.last() {
            let size = prev.size.max(line.size);
            // The page's text block: prose spans most of it; what stops
            // two characters short of where the longest lines end, ends a
            // paragraph.
            let right = self.right.max(width * 0.75);
            let left = self.left.min(line.x0);
            let ends_short = prev.x1 < right - 2.0 * size;
            let indented = line.x0 > left + 1.0 * size;
            let apart =
                !self.new_page && (line.top - prev.bottom > 0.9 * size || line.top < prev.top);
            let resized = (prev.size - line.size).abs() > 0.15 * size;
            if ends_short || indented || apart || resized {
                self.flush(out);
            }
        }
        self.new_page = false;
        if self.lines.is_empty() {
            (self.right, self.left) = (line.x1, line.x0);
        } else {
            (self.right, self.left) = (self.right.max(line.x1), self.left.min(line.x0));
        }
        self.lines.push((line, page_width));
    }

    fn flush(&mut self, out: &mut Vec<Block>) {
        if self.lines.is_empty() {
            return;
        }
        let lines = std::mem::take(&mut self.lines);
        let mut text = String::new();
        for (line, _) in &lines {
            join(&mut text, &line.text);
        }
        out.push(Block::Text(text));
    }
}

/// A line's glyphs but its spaces, each with whether it starts a new piece:
/// CJK glyphs abut, a space glyph is skipped, so only a gap of more than
/// 0.3 em (the cell margins of a table, half an em and more) splits a line.
fn piece_starts(line: &Line) -> impl Iterator<Item = (bool, &Glyph)> {
    let mut last_x1: Option<f64> = None;
    line.glyphs.iter().filter(|g| !g.is_space()).map(move |g| {
        let starts = last_x1.is_none_or(|x1| g.x0 - x1 > 0.3 * g.size);
        last_x1 = Some(g.x1);
        (starts, g)
    })
}

/// How many pieces [`chunks`] cuts a line into, without building them.
fn piece_count(line: &Line) -> usize {
    piece_starts(line).filter(|(starts, _)| *starts).count()
}

/// A line's pieces (see [`piece_starts`]).
fn chunks(line: &Line) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    for (starts, g) in piece_starts(line) {
        match out.last_mut() {
            Some(c) if !starts => {
                if g.x0 - c.x1 > 0.25 * g.size
                    && c.text
                        .chars()
                        .last()
                        .is_some_and(|c| c.is_ascii_alphanumeric())
                    && g.first_char().is_some_and(|c| c.is_ascii_alphanumeric())
                {
                    c.text.push(' ');
                }
                g.push_to(&mut c.text);
                c.x1 = g.x1;
                c.top = c.top.min(g.top);
                c.bottom = c.bottom.max(g.bottom);
            }
            _ => {
                let mut text = String::new();
                g.push_to(&mut text);
                out.push(Chunk {
                    x0: g.x0,
                    x1: g.x1,
                    top: g.top,
                    bottom: g.bottom,
                    text,
                    figure: false,
                });
            }
        }
    }
    for c in &mut out {
        c.figure = is_figure(&c.text);
    }
    out
}

// ------------------------------------------------ tables without rulings

/// A line of text outside ruled tables, with the page it is on.
struct PageLine {
    line: Line,
    page: usize,
    width: f64,
    /// How many runs of glyphs it has apart (see [`chunks`]).
    pieces: usize,
    /// Those runs, built once the line is taken into a run of lines that
    /// may be a table (prose lines never need them).
    cells: Vec<Chunk>,
}

/// A run of glyphs of a line, set apart from the next by a wide gap.
#[derive(Clone, Debug)]
struct Chunk {
    x0: f64,
    x1: f64,
    top: f64,
    bottom: f64,
    text: String,
    /// Its text is a figure ([`is_figure`]), found once it is complete.
    figure: bool,
}

impl Chunk {
    fn center_x(&self) -> f64 {
        (self.x0 + self.x1) / 2.0
    }
}

/// A figure as tables print them: digits with separators, a sign, a unit
/// sign or a blank marker.
fn is_figure(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty()
        && t.chars()
            .any(|c| c.is_ascii_digit() || ('０'..='９').contains(&c) || "—-/".contains(c))
        && t.chars().all(|c| {
            c.is_ascii_digit() || ('０'..='９').contains(&c) || ".,，．%％-—+/ ".contains(c)
        })
}

/// Lines as paragraphs, except runs that hold a table without rulings:
/// between two lines of prose or headings, lines of figures standing in
/// columns. Those become rows.
fn text_blocks(
    lines: Vec<PageLine>,
    out: &mut Vec<Block>,
    budget: &mut Budget,
) -> Result<(), PdfError> {
    let mut para = Paragraphs::default();
    let mut segment: Vec<PageLine> = Vec::new();
    let mut last_page: Option<usize> = None;
    for l in lines {
        // The width first: it is cheap, and most prose lines are wide.
        let stopper = l.pieces < 2
            && (l.line.x1 - l.line.x0 >= 0.55 * l.width
                || crate::assemble::section_of(&l.line.text).is_some());
        if stopper {
            flush_segment(std::mem::take(&mut segment), &mut para, out, budget)?;
            para.new_page = last_page.is_some_and(|p| p != l.page);
            last_page = Some(l.page);
            para.push(l.line, l.width, out);
        } else {
            last_page = Some(l.page);
            segment.push(PageLine {
                cells: chunks(&l.line),
                ..l
            });
        }
    }
    flush_segment(segment, &mut para, out, budget)?;
    para.flush(out);
    Ok(())
}

/// A run of lines between prose: rows of a table when figures stand in it,
/// else paragraphs.
fn flush_segment(
    seg: Vec<PageLine>,
    para: &mut Paragraphs,
    out: &mut Vec<Block>,
    budget: &mut Budget,
) -> Result<(), PdfError> {
    let anchors = seg.iter().filter(|l| is_anchor(&l.cells)).count();
    let figures = seg
        .iter()
        .map(|l| l.cells.iter().filter(|c| c.figure).count())
        .max()
        .unwrap_or(0);
    if anchors >= 2 || (anchors == 1 && figures >= 3) {
        para.flush(out);
        out.extend(zone_rows(seg, budget)?.into_iter().map(Block::Row));
    } else {
        let mut page = None;
        for l in seg {
            para.new_page = page.is_some_and(|p| p != l.page);
            page = Some(l.page);
            para.push(l.line, l.width, out);
        }
    }
    Ok(())
}

/// A row of figures: a label (or none) and at least one figure, ending in one.
fn is_anchor(cells: &[Chunk]) -> bool {
    cells.len() >= 2 && cells.last().is_some_and(|c| c.figure)
}

/// Lays a run of lines out as table rows. Each line of figures is a row; its
/// figures go to the column they stand in (columns are where the figures of
/// all its rows line up). Label text left of the figures, wrapped over lines
/// around a row, joins that row: a block of tightly spaced lines that
/// reaches the row's line. The header above the first row is laid out on
/// the same columns, its wrapped labels joined the same way.
fn zone_rows(seg: Vec<PageLine>, budget: &mut Budget) -> Result<Vec<Vec<String>>, PdfError> {
    let em = seg.iter().map(|l| l.line.size).fold(0.0, f64::max).max(1.0);
    // Lines on later pages lie below those before. Each line's pieces are
    // moved, not copied: the run is consumed here.
    let offset = |page: usize| page as f64 * 100_000.0;
    let lines: Vec<(Vec<Chunk>, f64, f64)> = seg
        .into_iter()
        .map(|l| {
            let o = offset(l.page);
            let mut cells = l.cells;
            for c in &mut cells {
                c.top += o;
                c.bottom += o;
            }
            (cells, l.line.top + o, l.line.bottom + o)
        })
        .collect();
    // Value columns: figures of the rows, clustered by their centres.
    let centers = lines
        .iter()
        .filter(|(c, ..)| is_anchor(c))
        .flat_map(|(cells, ..)| cells.iter().filter(|c| c.figure))
        .map(Chunk::center_x);
    let columns = clusters_within(centers, em);
    // The nearest column; `columns` are in order, so by binary search.
    let column_of = |x: f64| {
        let after = columns.partition_point(|c| *c < x);
        match (after.checked_sub(1), columns.get(after)) {
            (Some(before), Some(next)) if (next - x).abs() < (x - columns[before]).abs() => after,
            (Some(before), _) => before,
            (None, _) => 0,
        }
    };
    // Where the figures begin: left of it is label text.
    let values_from = lines
        .iter()
        .filter(|(c, ..)| is_anchor(c))
        .flat_map(|(c, ..)| c.iter().filter(|c| c.figure).map(|c| c.x0))
        .fold(f64::INFINITY, f64::min)
        - 0.5 * em;

    // Anchors (rows) and the other pieces.
    struct Row {
        top: f64,
        bottom: f64,
        labels: Vec<Chunk>,
        values: Vec<Chunk>,
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut pieces: Vec<Chunk> = Vec::new();
    for (cells, top, bottom) in lines {
        if is_anchor(&cells) {
            // Its labels join the pieces: a label wrapped below (or above)
            // its row's line is joined to it there.
            let (values, labels): (Vec<Chunk>, Vec<Chunk>) = cells
                .into_iter()
                .partition(|c| c.figure && c.x0 >= values_from);
            pieces.extend(labels);
            rows.push(Row {
                top,
                bottom,
                labels: Vec::new(),
                values,
            });
        } else {
            pieces.extend(cells);
        }
    }
    // Pieces into blocks: tightly spaced lines that overlap horizontally.
    pieces.sort_by(|a, b| a.top.total_cmp(&b.top).then(a.x0.total_cmp(&b.x0)));
    let mut blocks: Vec<Chunk> = Vec::new();
    for p in pieces {
        budget.spend(blocks.len())?;
        let joins = blocks.iter_mut().rev().find(|b| {
            p.top - b.bottom <= 0.6 * em
                && p.top >= b.top
                && p.x0 < b.x1
                && b.x0 < p.x1
                && (p.x1 <= values_from) == (b.x1 <= values_from)
        });
        match joins {
            Some(b) => {
                join(&mut b.text, &p.text);
                b.x0 = b.x0.min(p.x0);
                b.x1 = b.x1.max(p.x1);
                b.bottom = b.bottom.max(p.bottom);
            }
            None => blocks.push(p),
        }
    }
    // Label blocks join the row whose line they reach; the rest stand alone.
    let first_row = rows.first().map_or(f64::INFINITY, |r| r.top);
    let mut alone: Vec<Chunk> = Vec::new();
    for b in blocks {
        budget.spend(rows.len())?;
        let label = b.x1 <= values_from;
        let reach = 0.6 * em;
        let target = rows
            .iter_mut()
            .filter(|r| b.top <= r.bottom + reach && b.bottom >= r.top - reach)
            .min_by(|x, y| {
                let mid = (b.top + b.bottom) / 2.0;
                let dx = ((x.top + x.bottom) / 2.0 - mid).abs();
                let dy = ((y.top + y.bottom) / 2.0 - mid).abs();
                dx.total_cmp(&dy)
            });
        match target {
            Some(r) if label && b.top >= first_row - reach => r.labels.push(b),
            _ => alone.push(b),
        }
    }
    let slots = rows
        .iter()
        .map(|r| r.labels.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let width = slots.saturating_add(columns.len());
    let cells = grid_cells(rows.len().saturating_add(alone.len()), width)?;
    budget.spend(cells)?;
    // Everything in reading order: rows at their line, lone blocks at theirs;
    // lone blocks at about one height form one row.
    let mut out: Vec<(f64, Vec<String>)> = Vec::new();
    for mut r in rows {
        let mut cells = vec![String::new(); width];
        r.labels.sort_by(|a, b| a.x0.total_cmp(&b.x0));
        let skip = slots.saturating_sub(r.labels.len());
        for (i, l) in r.labels.into_iter().enumerate() {
            if let Some(c) = cells.get_mut(skip.saturating_add(i)) {
                *c = l.text;
            }
        }
        for v in r.values {
            if let Some(c) = cells.get_mut(slots.saturating_add(column_of(v.center_x()))) {
                join(c, &v.text);
            }
        }
        out.push((r.top, cells));
    }
    alone.sort_by(|a, b| a.top.total_cmp(&b.top).then(a.x0.total_cmp(&b.x0)));
    let mut group: Vec<Chunk> = Vec::new();
    let emit = |group: &mut Vec<Chunk>, out: &mut Vec<(f64, Vec<String>)>| {
        if group.is_empty() {
            return;
        }
        let top = group.iter().map(|c| c.top).fold(f64::INFINITY, f64::min);
        let mut cells = vec![String::new(); width];
        for c in group.drain(..) {
            let i = if c.x1 <= values_from {
                0
            } else {
                slots.saturating_add(column_of(c.center_x()))
            };
            if let Some(cell) = cells.get_mut(i) {
                if cell.is_empty() {
                    *cell = c.text;
                } else {
                    join(cell, &c.text);
                }
            }
        }
        out.push((top, cells));
    };
    for c in alone {
        if group
            .first()
            .is_some_and(|g| (c.top - g.top).abs() > 0.5 * em)
        {
            emit(&mut group, &mut out);
        }
        group.push(c);
    }
    emit(&mut group, &mut out);
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(out.into_iter().map(|(_, cells)| cells).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::content::GlyphText;

    /// A line of glyphs, 10 points each, starting at `x` on baseline `y`.
    fn text(s: &str, x: f64, y: f64) -> Vec<Glyph> {
        s.chars()
            .enumerate()
            .map(|(i, c)| {
                let x0 = x + 10.0 * i as f64;
                Glyph {
                    text: GlyphText::Char(c),
                    x0,
                    x1: x0 + 10.0,
                    top: y - 8.5,
                    bottom: y + 1.5,
                    base: y,
                    size: 10.0,
                }
            })
            .collect()
    }

    fn rule(horizontal: bool, at: f64, from: f64, to: f64) -> Rule {
        Rule {
            horizontal,
            at,
            from,
            to,
        }
    }

    #[test]
    fn merged_cells_and_a_label_wrapped_over_three_lines() {
        // | 说明 (rows 0-1) | 申请人情况 (cols 1-2)  |
        // |                 | 自然人 | 总计          |
        // | 一、本年新收 / 政府信息公开 / 申请数量 | 78 | 78 |
        let mut glyphs = text("说明", 10.0, 25.0);
        glyphs.extend(text("申请人情况", 110.0, 15.0));
        glyphs.extend(text("自然人", 105.0, 35.0));
        glyphs.extend(text("总计", 160.0, 35.0));
        glyphs.extend(text("一、本年新收", 10.0, 55.0));
        glyphs.extend(text("政府信息公开", 10.0, 70.0));
        glyphs.extend(text("申请数量", 10.0, 85.0));
        glyphs.extend(text("78", 110.0, 70.0));
        glyphs.extend(text("78", 160.0, 70.0));
        let rules = vec![
            rule(true, 0.0, 0.0, 200.0),
            rule(true, 20.0, 100.0, 200.0),
            rule(true, 40.0, 0.0, 200.0),
            rule(true, 100.0, 0.0, 200.0),
            rule(false, 0.0, 0.0, 100.0),
            rule(false, 100.0, 0.0, 100.0),
            rule(false, 150.0, 20.0, 100.0),
            rule(false, 200.0, 0.0, 100.0),
        ];
        let page = PageContent {
            width: 595.0,
            height: 842.0,
            glyphs,
            rules,
            ..PageContent::default()
        };
        let row = |cells: &[&str]| Block::Row(cells.iter().map(|c| (*c).to_owned()).collect());
        assert_eq!(
            blocks(vec![page]).unwrap(),
            vec![
                row(&["说明", "申请人情况", ""]),
                row(&["", "自然人", "总计"]),
                row(&["一、本年新收政府信息公开申请数量", "78", "78"]),
            ]
        );
    }

    #[test]
    fn ordered_floats_sort_as_total_cmp_does() {
        let mut values = vec![
            3.5,
            -0.0,
            0.0,
            -2.25,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-300,
            -1e-300,
            842.0,
            -842.0,
        ];
        let mut by_key = values.clone();
        values.sort_by(f64::total_cmp);
        by_key.sort_by_key(|v| ordered(*v));
        assert_eq!(
            values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            by_key.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn page_numbers() {
        for t in [
            "- 3 -",
            "—3—",
            "3",
            "第3页",
            "第 3 页 共 6 页",
            "3/6",
            "-12-",
        ] {
            assert!(is_page_number(t), "{t}");
        }
        for t in ["2024年", "一、总体情况", "78件", "3.其他"] {
            assert!(!is_page_number(t), "{t}");
        }
    }

    #[test]
    fn rulings_on_one_line_merge() {
        let r = |at, from, to| Rule {
            horizontal: true,
            at,
            from,
            to,
        };
        let merged = merge_rules(vec![
            r(10.0, 0.0, 50.0),
            r(10.5, 50.5, 100.0),
            r(30.0, 0.0, 10.0),
        ]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].from, 0.0);
        assert_eq!(merged[0].to, 100.0);
    }
}
