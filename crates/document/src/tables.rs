//! Reading T2, T3 and T4 out of table rows, by their labels.
//!
//! Rows are found by their row label, columns by their header labels; a value
//! is never taken from a fixed position. Merged cells flattened to empty cells
//! and rows shifted by a column are absorbed by counting the values a row must
//! have (see [`values_after`]).

use gongkai_domain::{
    Finding, FormatVersion, Location,
    catalogue::id,
    shape::{
        CellKind, T2, T2_CONTENT, T3, T3_APPLICANTS, T3_COLUMNS, T3_ORGANISATION_GROUP, T3_ROWS,
        T3Col, T3Row, T4, T4_BLOCKS, T4_COLUMNS, T4Col,
    },
};

use std::sync::LazyLock;

use crate::cells::{
    Ordinal, core, fold, folds_to, is_label, read_cell, split_ordinal, strip_ordinal,
};

/// The official labels, folded once: matching a row folds only the row.
struct Folded {
    /// Per T3 row slot: folded label without ordinal, folded key phrase.
    t3_rows: Vec<(String, String)>,
    /// Per T3 row slot: folded label (with its ordinal), and its letters
    /// (see [`letters`]), for matching a misprinted label.
    t3_wording: Vec<(String, Vec<char>)>,
    /// The letters of T3's group labels (三、本年度办理结果, （三）不予公开 …),
    /// which head rows but are no row of their own.
    t3_groups: Vec<String>,
    /// Per T3 column: folded label.
    t3_cols: Vec<String>,
    /// The merged header over the organisation columns, folded.
    t3_group: String,
    /// The merged header over all seven columns, folded.
    t3_applicants: String,
    /// Per T4 block: folded label.
    t4_blocks: Vec<String>,
    /// Per T4 column: folded label.
    t4_cols: Vec<String>,
}

static FOLDED: LazyLock<Folded> = LazyLock::new(|| Folded {
    t3_rows: T3_ROWS
        .iter()
        .map(|s| (core(s.label), fold(s.key_phrase)))
        .collect(),
    t3_wording: T3_ROWS
        .iter()
        .map(|s| {
            let folded = fold(s.label);
            let letters = letters(&folded);
            (folded, letters)
        })
        .collect(),
    t3_groups: {
        let mut groups: Vec<String> = T3_ROWS
            .iter()
            .filter(|s| !s.group.is_empty())
            .map(|s| letters(&fold(s.group)).into_iter().collect())
            .collect();
        groups.sort_unstable();
        groups.dedup();
        groups
    },
    t3_cols: T3_COLUMNS.iter().map(|s| fold(s.label)).collect(),
    t3_group: fold(T3_ORGANISATION_GROUP),
    t3_applicants: fold(T3_APPLICANTS),
    t4_blocks: T4_BLOCKS.iter().map(|s| fold(s.label)).collect(),
    t4_cols: T4_COLUMNS.iter().map(|s| fold(s.label)).collect(),
});

/// Index of the last label cell of a row, if any.
fn last_label(row: &[String]) -> Option<usize> {
    row.iter().rposition(|c| is_label(c))
}

/// Whether a row carries values (anything but labels and empty cells after
/// its last label).
pub(crate) fn has_values(row: &[String]) -> bool {
    has_values_after(row, last_label(row))
}

/// [`has_values`] for a row whose last label (see [`last_label`]) is known.
fn has_values_after(row: &[String], last_label: Option<usize>) -> bool {
    let from = last_label.map_or(0, |i| i.saturating_add(1));
    row.iter().skip(from).any(|c| !c.trim().is_empty())
}

/// The `n` value cells of a row, after its label.
///
/// Trailing empty cells are layout; leading empty cells beyond `n` are merged
/// label columns (the sample's "3. 其他\t\t0…" row); a row still longer than
/// `n` is an error. A row shorter than `n` is padded with blanks, which the
/// caller reports cell by cell.
fn values_after(cells: &[String], n: usize) -> Result<Vec<Option<&str>>, usize> {
    let mut v: Vec<&str> = cells.iter().map(|c| c.trim()).collect();
    while v.last().is_some_and(|c| c.is_empty()) {
        v.pop();
    }
    let leading = v.iter().take_while(|c| c.is_empty()).count();
    let drop = v.len().saturating_sub(n).min(leading);
    v.drain(..drop);
    if v.len() > n {
        return Err(v.len());
    }
    let mut out: Vec<Option<&str>> = v
        .into_iter()
        .map(|c| (!c.is_empty()).then_some(c))
        .collect();
    out.resize(n, None);
    Ok(out)
}

fn drift(location: Location, found: &str, official: &str) -> Finding {
    Finding::new(
        id::IMPORT_LABEL_DRIFT,
        location.clone(),
        format!(
            "“{found}”与官方用语“{official}”不一致，按“{official}”读取 — label \"{found}\" differs from the official \"{official}\" ({location})"
        ),
    )
}

fn too_many(location: Location, found: usize, expected: usize) -> Finding {
    Finding::new(
        id::IMPORT_UNREADABLE_CELL,
        location.clone(),
        format!(
            "{location}一行有{found}个数值，应为{expected}个，无法对应到列 — row {location} has {found} values, {expected} expected"
        ),
    )
}

fn duplicate_row(location: Location, label: &str) -> Finding {
    Finding::new(
        id::IMPORT_ROW_DUPLICATE,
        location.clone(),
        format!(
            "“{label}”一行出现不止一次，以第一次为准 — row {location} appears more than once; the first is kept"
        ),
    )
}

fn unknown_row(table: &'static str, label: &str) -> Finding {
    Finding::new(
        id::IMPORT_UNKNOWN_ROW,
        Location::row(table, ""),
        format!(
            "“{label}”不是本格式{table}中的行，已忽略 — row \"{label}\" is not a row of {table} in this format and was ignored"
        ),
    )
}

// --------------------------------------------------------------------- T3

/// Finds a T3 row by its label: the official wording, or failing that its key
/// phrase (reported as drift).
fn match_t3_row(label: &str, format: FormatVersion) -> Option<(T3Row, bool)> {
    let c = core(label);
    let rows = || {
        T3_ROWS
            .iter()
            .zip(&FOLDED.t3_rows)
            .filter(|(s, _)| s.row.in_format(format))
    };
    if let Some((s, _)) = rows().find(|(_, (label, _))| *label == c) {
        return Some((s.row, false));
    }
    rows()
        .find(|(_, (_, phrase))| !phrase.is_empty() && c.contains(phrase.as_str()))
        .map(|(s, _)| (s.row, true))
}

/// The order of T3's columns as the header gives it, with each column's cell
/// index when the header named all seven at distinct places.
///
/// The order is the header's reading order, row by row, with the merged
/// 法人或其他组织 standing for the five columns under it: a two-row header
/// laid out on a grid and one flattened to a cell per line give the same
/// order.
fn t3_column_order(
    header: &[&[String]],
    findings: &mut Vec<Finding>,
) -> (Vec<T3Col>, Option<Vec<usize>>) {
    let group = &*FOLDED.t3_group;
    let mut found: Vec<(usize, T3Col)> = Vec::new();
    // Reading order: Some(col), or None where the group label stood.
    let mut reading: Vec<Option<T3Col>> = Vec::new();
    for row in header {
        for (i, cell) in row.iter().enumerate() {
            let c = core(cell);
            if c == group && !reading.contains(&None) {
                reading.push(None);
                continue;
            }
            if let Some(spec) = T3_COLUMNS
                .iter()
                .zip(&FOLDED.t3_cols)
                .find(|(_, l)| **l == c)
                .map(|(s, _)| s)
                && !found.iter().any(|(_, col)| *col == spec.col)
            {
                found.push((i, spec.col));
                reading.push(Some(spec.col));
            }
        }
    }
    if found.len() == T3_COLUMNS.len() {
        let mut by_place = found.clone();
        by_place.sort_by_key(|(i, _)| *i);
        let positions: Vec<usize> = by_place.iter().map(|(i, _)| *i).collect();
        if positions.windows(2).all(|w| w[0] < w[1]) {
            return (
                by_place.into_iter().map(|(_, c)| c).collect(),
                Some(positions),
            );
        }
        let organisations = |c: &T3Col| !matches!(c, T3Col::NaturalPerson | T3Col::Total);
        let grouped = reading.contains(&None);
        let mut order = Vec::with_capacity(T3_COLUMNS.len());
        for slot in &reading {
            match slot {
                None => order.extend(reading.iter().flatten().filter(|c| organisations(c))),
                Some(c) if grouped && organisations(c) => {}
                Some(c) => order.push(*c),
            }
        }
        return (order, None);
    }
    let missing: Vec<&str> = T3_COLUMNS
        .iter()
        .filter(|s| !found.iter().any(|(_, c)| *c == s.col))
        .map(|s| s.label)
        .collect();
    findings.push(Finding::new(
        id::IMPORT_LABEL_DRIFT,
        Location::row("t3", ""),
        format!(
            "表头未找到“{}”，按官方列序读取 — the T3 header lacks {}; columns read in the official order",
            missing.join("、"),
            missing.join(", ")
        ),
    ));
    (T3_COLUMNS.iter().map(|s| s.col).collect(), None)
}

/// The values of a row read at the header's cell positions, if the row is
/// aligned with the header: its label stands left of the first column and no
/// cell after the label holds anything outside those positions. A row shifted
/// by a column (as "(七) 总计" is in the sample) is not, and is read by
/// counting instead.
fn values_at<'r>(
    row: &'r [String],
    label: usize,
    positions: &[usize],
) -> Option<Vec<Option<&'r str>>> {
    if positions.first().is_none_or(|first| label >= *first) {
        return None;
    }
    let stray = row
        .iter()
        .enumerate()
        .skip(label.saturating_add(1))
        .any(|(i, c)| !c.trim().is_empty() && !positions.contains(&i));
    if stray {
        return None;
    }
    Some(
        positions
            .iter()
            .map(|&i| row.get(i).map(|c| c.trim()).filter(|c| !c.is_empty()))
            .collect(),
    )
}

/// A folded label's ordinal (三、, （三）, 3.), if it has one.
fn ordinal_of(folded: &str) -> Option<Ordinal<'_>> {
    split_ordinal(folded).map(|(o, _)| o)
}

/// The letters of a label, for comparing wording: no ordinal, no
/// punctuation, no quotes.
fn letters(folded: &str) -> Vec<char> {
    strip_ordinal(folded)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// How alike two labels read, 0..=100: twice their longest common
/// subsequence over their lengths (a dropped or swapped character or two
/// keeps a long label close).
fn closeness(a: &[char], b: &[char]) -> usize {
    let total = a.len().saturating_add(b.len());
    if total == 0 {
        return 0;
    }
    let mut row = vec![0usize; b.len().saturating_add(1)];
    for x in a {
        let mut diagonal = 0usize;
        for (j, y) in b.iter().enumerate() {
            let up = row.get(j.saturating_add(1)).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let v = if x == y {
                diagonal.saturating_add(1)
            } else {
                up.max(left)
            };
            diagonal = up;
            if let Some(slot) = row.get_mut(j.saturating_add(1)) {
                *slot = v;
            }
        }
    }
    let lcs = row.last().copied().unwrap_or(0);
    lcs.saturating_mul(200).checked_div(total).unwrap_or(0)
}

/// Most unmatched T3 labels compared with the official wording (25 rows,
/// each a comparison of two labels): a T3 has 25 rows, so a table with more
/// unknown labels than this is not one whose labels drifted.
const MAX_DRIFT_CANDIDATES: usize = 200;

/// Finds the row a misprinted or shortened label means: among the rows not
/// yet found, the one with the same ordinal whose wording is closest (at
/// least half alike, clearly closer than the next), or failing an ordinal,
/// one much closer than any other.
fn closest_t3_row(label: &str, format: FormatVersion, found: &[T3Row]) -> Option<T3Row> {
    let folded = fold(label);
    let mine = letters(&folded);
    if mine.is_empty() || mine.len() > 80 {
        return None;
    }
    // A group label (（三）不予公开) is no row.
    let core: String = mine.iter().collect();
    if FOLDED.t3_groups.contains(&core) {
        return None;
    }
    let ordinal = ordinal_of(&folded);
    let scored: Vec<(usize, T3Row, bool)> = T3Row::rows_of(format)
        .filter(|r| !found.contains(r))
        .filter_map(|r| {
            let (official, wording) = FOLDED.t3_wording.get(r as usize)?;
            let same = ordinal.is_some() && ordinal_of(official) == ordinal;
            Some((closeness(&mine, wording), r, same))
        })
        .collect();
    let best = |same_only: bool, least: usize, margin: usize| {
        let mut pool: Vec<&(usize, T3Row, bool)> =
            scored.iter().filter(|(_, _, s)| *s || !same_only).collect();
        pool.sort_by_key(|s| std::cmp::Reverse(s.0));
        match pool.as_slice() {
            [first, rest @ ..]
                if first.0 >= least
                    && rest
                        .first()
                        .is_none_or(|second| first.0 >= second.0.saturating_add(margin)) =>
            {
                Some(first.1)
            }
            _ => None,
        }
    };
    best(true, 50, 10).or_else(|| best(false, 60, 20))
}

/// Whether folded text names one of T3's group labels (三、本年度办理结果,
/// （三）不予公开 … （六）其他处理): only T3 has them.
pub(crate) fn names_t3_group(folded: &str) -> bool {
    FOLDED.t3_groups.iter().any(|g| folded.contains(g.as_str()))
}

/// How many cells of rows name a T3 column, its merged group or its note
/// (a header names several; a row whose label is 总计 or 其他 names one).
fn column_names(rows: &[&[String]]) -> usize {
    rows.iter()
        .flat_map(|r| r.iter())
        .filter(|cell| {
            let c = core(cell);
            c == FOLDED.t3_group
                || FOLDED.t3_cols.contains(&c)
                || c == FOLDED.t3_applicants
                || c.contains("勾稽关系")
        })
        .count()
}

/// Reads T3 from its table rows, which may be several tables (a table
/// broken by pages, or published as one table per group, as PDF converters
/// write it): rows are found by their labels wherever they stand, and rows
/// without values that name columns are a header for the rows under them.
pub(crate) fn read_t3(
    rows: &[&[String]],
    format: FormatVersion,
    findings: &mut Vec<Finding>,
) -> T3 {
    // Each row: a header row, or a row of the table with the columns it is
    // read in and the row its label names (None: not yet known).
    struct Line<'r> {
        row: &'r [String],
        label: usize,
        columns: usize,
        matched: Option<(T3Row, bool)>,
    }
    let mut columns: Vec<(Vec<T3Col>, Option<Vec<usize>>)> = Vec::new();
    let mut header: Vec<&[String]> = Vec::new();
    let mut lines: Vec<Line<'_>> = Vec::new();
    for row in rows {
        let label = last_label(row);
        let values = has_values_after(row, label);
        // Below the first row with values, a row without any whose label
        // names a row (and that is no repeated header) had its cells left
        // blank: it is that row, blank, not a header and not missing.
        let blank_row = !values && !lines.is_empty() && column_names(&[row]) < 2;
        let matched = label
            .filter(|_| values || blank_row)
            .and_then(|li| match_t3_row(&row[li], format));
        if !values && matched.is_none() {
            header.push(row);
            continue;
        }
        if columns.is_empty() || column_names(&header) >= 2 {
            columns.push(t3_column_order(&header, findings));
        }
        header.clear();
        let Some(label) = label else {
            findings.push(unknown_row("t3", &row.join(" ")));
            continue;
        };
        lines.push(Line {
            row,
            label,
            columns: columns.len().saturating_sub(1),
            matched,
        });
    }
    // Misprinted labels are matched once every row that reads as published
    // has taken its place; a table with more unmatched labels than
    // [`MAX_DRIFT_CANDIDATES`] is not T3 with a few misprints, and the rest
    // are unknown rows without comparing their wording.
    let mut found: Vec<T3Row> = lines
        .iter()
        .filter_map(|l| l.matched.map(|m| m.0))
        .collect();
    let unmatched = lines.iter_mut().filter(|l| l.matched.is_none());
    for line in unmatched.take(MAX_DRIFT_CANDIDATES) {
        if let Some(row) = closest_t3_row(&line.row[line.label], format, &found) {
            found.push(row);
            line.matched = Some((row, true));
        }
    }
    let mut t3 = T3::default();
    let mut seen: Vec<T3Row> = Vec::new();
    for line in &lines {
        let label = line.row[line.label].as_str();
        let Some((t3row, drifted)) = line.matched else {
            findings.push(unknown_t3_row(label, format));
            continue;
        };
        let spec = t3row.spec();
        // Built only for a finding: most rows read as published.
        let here = || Location::row("t3", spec.id);
        if seen.contains(&t3row) {
            findings.push(duplicate_row(here(), spec.label));
            continue;
        }
        seen.push(t3row);
        if drifted {
            findings.push(drift(here(), label, spec.label));
        }
        let Some((order, positions)) = columns.get(line.columns) else {
            continue;
        };
        let (row, li) = (line.row, line.label);
        let aligned = positions.as_deref().and_then(|p| values_at(row, li, p));
        let values = match aligned.map_or_else(
            || values_after(&row[li.saturating_add(1)..], order.len()),
            Ok,
        ) {
            Ok(v) => v,
            Err(n) => {
                findings.push(too_many(here(), n, order.len()));
                continue;
            }
        };
        for (col, raw) in order.iter().zip(values) {
            let loc = || Location::cell("t3", spec.id, col.spec().key);
            if let Some(n) = read_cell(raw, CellKind::Count, loc, findings).count() {
                t3.set(t3row, *col, n);
            }
        }
    }
    // Rows not in the document are unknown, never zeros: the check names
    // each (import.row-missing) and adds none of them up.
    for r in T3Row::rows_of(format).filter(|r| !seen.contains(r)) {
        t3.set_absent(r);
    }
    t3
}

/// A T3 row matching no row of the format; the trial format's single
/// （六）其他处理 in a 2021-format table says what it is.
fn unknown_t3_row(label: &str, format: FormatVersion) -> Finding {
    let trial = &FOLDED.t3_rows[T3Row::OtherHandlingTrial as usize].0;
    if format == FormatVersion::Current2021 && core(label) == *trial {
        return Finding::new(
            id::IMPORT_UNKNOWN_ROW,
            Location::row("t3", ""),
            format!(
                "“{label}”是2019年试行格式的单行，2021年格式在此分列R21、R22、R23三行，已忽略 — \"{label}\" is the 2019 trial format's single row; the 2021 format has R21, R22 and R23 in its place, so it was ignored"
            ),
        );
    }
    unknown_row("t3", label)
}

// --------------------------------------------------------------------- T4

/// Reads T4 from its table rows: header rows name the blocks and columns, the
/// value rows hold 15 numbers in that order.
pub(crate) fn read_t4(rows: &[&[String]], findings: &mut Vec<Finding>) -> T4 {
    let mut blocks = Vec::new();
    let mut columns = Vec::new();
    // Value cells of every value row, in reading order; each row's trailing
    // empty cells are layout.
    let mut value_cells: Vec<String> = Vec::new();
    let mut value_rows: Vec<&[String]> = Vec::new();
    let mut column_positions: Vec<usize> = Vec::new();
    for row in rows {
        // Labels stand before a row's values (a table flattened to one cell
        // per line puts the last header label and the values in one row).
        let label = last_label(row);
        let labels_end = if has_values_after(row, label) {
            value_rows.push(row);
            let from = label.map_or(0, |i| i.saturating_add(1));
            let mut cells: Vec<String> = row[from..].to_vec();
            while cells.last().is_some_and(|c| c.trim().is_empty()) {
                cells.pop();
            }
            value_cells.extend(cells);
            from
        } else {
            row.len()
        };
        for (i, cell) in row.iter().enumerate().take(labels_end) {
            let c = core(cell);
            if let Some((b, _)) = T4_BLOCKS
                .iter()
                .zip(&FOLDED.t4_blocks)
                .find(|(_, l)| **l == c)
            {
                blocks.push(b.block);
            } else if let Some((col, _)) = T4_COLUMNS
                .iter()
                .zip(&FOLDED.t4_cols)
                .find(|(_, l)| **l == c)
            {
                columns.push(col.col);
                column_positions.push(i);
            }
        }
    }
    // One value row under fifteen column labels at distinct places is read at
    // those places, so a blank cell anywhere stays a blank cell.
    let mut sorted = column_positions.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let positional = match value_rows.as_slice() {
        [row] if sorted.len() == 15 && column_positions.len() == 15 => {
            let stray = row
                .iter()
                .enumerate()
                .any(|(i, c)| !c.trim().is_empty() && !sorted.contains(&i));
            (!stray).then(|| {
                column_positions
                    .iter()
                    .map(|&i| row.get(i).map(|c| c.trim()).filter(|c| !c.is_empty()))
                    .collect::<Vec<_>>()
            })
        }
        _ => None,
    };
    let got = if positional.is_some() {
        15
    } else {
        value_cells.len().min(15)
    };
    let values = match positional.map_or_else(|| values_after(&value_cells, 15), Ok) {
        Ok(v) => v,
        Err(n) => {
            findings.push(too_many(Location::row("t4", ""), n, 15));
            return T4::default();
        }
    };
    let official_blocks: Vec<_> = T4_BLOCKS.iter().map(|b| b.block).collect();
    let block_order = if blocks.len() == 3 && official_blocks.iter().all(|b| blocks.contains(b)) {
        blocks
    } else {
        findings.push(Finding::new(
            id::IMPORT_LABEL_DRIFT,
            Location::row("t4", ""),
            "表头未能识别行政复议、未经复议直接起诉、复议后起诉三栏，按官方顺序读取 — the T4 header does not name its three blocks; read in the official order",
        ));
        official_blocks
    };
    let official_cols: Vec<T4Col> = T4_COLUMNS.iter().map(|c| c.col).collect();
    let col_order: Vec<Vec<T4Col>> = match columns.len() {
        15 => columns.chunks(5).map(<[T4Col]>::to_vec).collect(),
        5 => vec![columns.clone(); 3],
        _ => {
            findings.push(Finding::new(
                id::IMPORT_LABEL_DRIFT,
                Location::row("t4", ""),
                "表头未能识别结果维持、结果纠正、其他结果、尚未审结、总计各列，按官方顺序读取 — the T4 header does not name its columns; read in the official order",
            ));
            vec![official_cols.clone(); 3]
        }
    };
    let mut t4 = T4::default();
    for (bi, block) in block_order.iter().enumerate() {
        let cols = col_order
            .get(bi)
            .filter(|c| official_cols.iter().all(|o| c.contains(o)))
            .unwrap_or(&official_cols);
        let start = bi.saturating_mul(5);
        if got < start.saturating_add(5) {
            t4.set_absent(*block);
            continue;
        }
        for (ci, col) in cols.iter().enumerate() {
            let raw = values.get(start.saturating_add(ci)).copied().flatten();
            let loc = || Location::cell("t4", block.spec().key, col.spec().key);
            if let Some(n) = read_cell(raw, CellKind::Count, loc, findings).count() {
                t4.set(*block, *col, n);
            }
        }
    }
    t4
}

// --------------------------------------------------------------------- T2

/// The ordinal of a "第二十条第（一）项" heading cell.
fn item_ordinal(cell: &str) -> Option<String> {
    crate::cells::item_ordinal(&fold(cell)).map(str::to_owned)
}

/// Reads T2 from its table rows in the layout of `format`.
pub(crate) fn read_t2(
    rows: &[&[String]],
    format: FormatVersion,
    findings: &mut Vec<Finding>,
) -> T2 {
    let layout = format.t2_layout();
    let mut t2 = T2::zeros(layout);
    let mut current: Option<usize> = None;
    let mut seen: Vec<&str> = Vec::new();
    for row in rows {
        let first = row.iter().position(|c| !c.trim().is_empty());
        let Some(first) = first else { continue };
        let label = row[first].as_str();
        if let Some(ord) = item_ordinal(label) {
            current = layout.blocks.iter().position(|b| b.ordinal == ord);
            if current.is_none() {
                findings.push(unknown_row("t2", label));
            }
            continue;
        }
        let c = core(label);
        if c == T2_CONTENT {
            if let Some(block) = current.and_then(|i| layout.blocks.get(i)) {
                let labels: Vec<&String> = row[first.saturating_add(1)..]
                    .iter()
                    .filter(|c| !c.trim().is_empty())
                    .collect();
                for (found, col) in labels.iter().zip(block.columns) {
                    if !folds_to(col.label, &fold(found)) {
                        findings.push(drift(Location::row("t2", col.key), found, col.label));
                    }
                }
            }
            continue;
        }
        // The row in the current block, else in any block (a missing item heading).
        let lookup = |exact: bool| {
            let in_block = |bi: usize| {
                layout.blocks.get(bi).and_then(|b| {
                    b.rows
                        .iter()
                        .find(|r| {
                            if exact {
                                folds_to(r.label, &c)
                            } else {
                                r.drifted.iter().any(|d| folds_to(d, &c))
                            }
                        })
                        .map(|r| (bi, r))
                })
            };
            current
                .and_then(in_block)
                .or_else(|| (0..layout.blocks.len()).find_map(in_block))
        };
        let found = lookup(true)
            .map(|(bi, r)| (bi, r, false))
            .or_else(|| lookup(false).map(|(bi, r)| (bi, r, true)));
        let (bi, spec, drifted) = match found {
            Some(found) => found,
            None => {
                if has_values(row) {
                    findings.push(unknown_row("t2", label));
                }
                continue;
            }
        };
        current = Some(bi);
        // Built only for a finding: most rows read as published.
        let here = || Location::row("t2", spec.key);
        if seen.contains(&spec.key) {
            findings.push(duplicate_row(here(), spec.label));
            continue;
        }
        seen.push(spec.key);
        if drifted {
            findings.push(drift(here(), label, spec.label));
        }
        let Some(block) = layout.blocks.get(bi) else {
            continue;
        };
        let values = match values_after(&row[first.saturating_add(1)..], block.columns.len()) {
            Ok(v) => v,
            Err(n) => {
                findings.push(too_many(here(), n, block.columns.len()));
                continue;
            }
        };
        for (col, raw) in block.columns.iter().zip(values) {
            let Some(cell) = layout.cell(spec.key, col.key) else {
                continue;
            };
            let v = read_cell(
                raw,
                col.kind,
                || Location::cell("t2", spec.key, col.key),
                findings,
            );
            t2.set(&cell, v);
        }
    }
    for block in layout.blocks {
        for r in block.rows.iter().filter(|r| !seen.contains(&r.key)) {
            t2.set_row_absent(layout, r.key);
        }
    }
    t2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t3_group_labels_come_from_the_shape_and_are_never_matched_as_rows() {
        let mut groups = FOLDED.t3_groups.clone();
        groups.sort();
        let mut want = [
            "本年度办理结果",
            "不予公开",
            "无法提供",
            "不予处理",
            "其他处理",
        ];
        want.sort();
        assert_eq!(groups, want);
        for group in ["（三）不予公开", "(五)不予处理", "三、本年度办理结果"] {
            assert_eq!(closest_t3_row(group, FormatVersion::Current2021, &[]), None);
        }
        // A misprinted row under its ordinal is found; 「属于三安一稳定」 is R07.
        assert_eq!(
            closest_t3_row("3.属于三安一稳定", FormatVersion::Current2021, &[]),
            Some(T3Row::R07)
        );
    }

    fn cells(line: &str) -> Vec<String> {
        line.split('\t').map(str::to_owned).collect()
    }

    #[test]
    fn values_absorb_merged_and_shifted_cells() {
        assert_eq!(
            values_after(&cells("\t78\t0\t0\t0\t0\t0\t78\t"), 7).unwrap()[0],
            Some("78")
        );
        assert_eq!(
            values_after(&cells("78\t0\t0\t0\t0\t0\t78\t\t"), 7).unwrap()[6],
            Some("78")
        );
        // A blank first value is kept as blank, not shifted away.
        let row = cells("\t\t0\t0\t0\t0\t0\t0\t");
        let v = values_after(&row, 7).unwrap();
        assert_eq!(v[0], None);
        assert_eq!(v[1], Some("0"));
        assert_eq!(values_after(&cells("1\t2\t3\t4\t5\t6\t7\t8"), 7), Err(8));
    }

    #[test]
    fn item_headings_give_their_ordinal() {
        assert_eq!(item_ordinal("第二十条第（八）项").as_deref(), Some("八"));
        assert_eq!(item_ordinal("第二十条第(一)项").as_deref(), Some("一"));
        assert_eq!(item_ordinal("信息内容"), None);
    }

    #[test]
    fn t3_rows_match_by_label_and_drift_by_key_phrase() {
        let f = FormatVersion::Current2021;
        assert_eq!(
            match_t3_row("(二) 部分公开(区分处理的, 只计这一情形, 不计其他情形)", f),
            Some((T3Row::R04, false))
        );
        assert_eq!(match_t3_row("3. 其他", f), Some((T3Row::R23, false)));
        assert_eq!(match_t3_row("(七) 总计", f), Some((T3Row::R24, false)));
        assert_eq!(
            match_t3_row("二、上年结转的政府信息公开申请数量", f),
            Some((T3Row::R02, true))
        );
        assert_eq!(match_t3_row("（六）其他处理", f), None);
        assert_eq!(
            match_t3_row("（六）其他处理", FormatVersion::Trial2019),
            Some((T3Row::OtherHandlingTrial, false))
        );
    }
}
