//! From blocks to a report: metadata, the six sections by their headings, and
//! the three tables by what they contain.

use std::sync::LazyLock;

use chrono::NaiveDate;
use gongkai_domain::{
    Finding, FormatVersion, Location, Metadata, Report, SECTIONS, catalogue::id, shape::T3Row,
};
use memchr::memmem::Finder;

use crate::{
    ImportError,
    blocks::Block,
    cells::{core, fold, fold_into, is_spacing, strip_spacing},
    tables::{read_t2, read_t3, read_t4},
};

/// Which table a run of rows is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TableKind {
    T2,
    T3,
    T4,
}

/// Every cell of the rows folded, one after the other, into one string.
fn fold_rows(rows: &[&[String]]) -> String {
    let len = rows.iter().flat_map(|r| r.iter()).map(String::len).sum();
    let mut all = String::with_capacity(len);
    for cell in rows.iter().flat_map(|r| r.iter()) {
        fold_into(&mut all, cell);
    }
    all
}

/// Recognises a table by labels only it has, from its cells folded.
fn classify(all: &str) -> Option<TableKind> {
    if all.contains("自然人")
        || all.contains("本年新收")
        || crate::tables::names_t3_group(all)
        || all.contains(T3Row::R25.spec().key_phrase)
    {
        Some(TableKind::T3)
    } else if all.contains("尚未审结") || all.contains("复议后起诉") || all.contains("结果维持")
    {
        Some(TableKind::T4)
    } else if all.contains("第二十条")
        || all.contains(gongkai_domain::shape::T2_CONTENT)
        || all.contains("行政规范性文件")
        || all.contains("行政许可")
    {
        Some(TableKind::T2)
    } else {
        None
    }
}

/// Which section a heading line opens, if any: its ordinal ("三、") and one
/// of the section's keywords.
pub(crate) fn section_of(line: &str) -> Option<usize> {
    // Headings are short; prose lines are not worth folding.
    if line.chars().nth(60).is_some() {
        return None;
    }
    // Folding keeps a Chinese ordinal as it is: a line not starting with
    // one of theirs opens no section, and is not folded.
    let first = line.chars().find(|c| !is_spacing(*c))?;
    if !SECTIONS.iter().any(|s| s.ordinal.starts_with(first)) {
        return None;
    }
    let f = fold(line);
    if f.chars().nth(40).is_some() {
        return None;
    }
    SECTIONS.iter().position(|s| {
        f.strip_prefix(s.ordinal).is_some_and(|rest| {
            rest.starts_with(',') && s.keywords.iter().any(|k| rest.contains(k))
        })
    })
}

/// Year and agency from a title such as "宝清县人民政府2024年政府信息公开工作年度报告",
/// also "2024年宝清县人民政府政府信息公开…", after a crawler's or CMS's label
/// ("标题：", "【标题】") and before a page title's site name ("…年度报告_宝清县人民政府").
/// The name is kept as published (full-width brackets stay full-width): only
/// spacing and emphasis are dropped.
fn title_parts(line: &str) -> Option<(u32, String)> {
    let light = strip_spacing(line);
    let at = light.find("政府信息公开")?;
    let head = &light[..at];
    let digit = |c: char| match c {
        '0'..='9' => c.to_digit(10),
        '０'..='９' => Some(u32::from(c).wrapping_sub(u32::from('０'))),
        _ => None,
    };
    let chars: Vec<(usize, char)> = head.char_indices().collect();
    // Runs of digits and of other characters; the year is the last run of
    // exactly four digits followed by 年, or ending the head.
    let is_digit = |(_, c): &(usize, char)| digit(*c).is_some();
    let runs: Vec<&[(usize, char)]> = chars.chunk_by(|a, b| is_digit(a) == is_digit(b)).collect();
    let (k, run) = runs.iter().enumerate().rev().find(|(k, run)| {
        let next = runs.get(k.saturating_add(1)).and_then(|n| n.first());
        run.len() == 4 && run.iter().all(is_digit) && next.is_none_or(|(_, c)| *c == '年')
    })?;
    let year = run
        .iter()
        .filter_map(|(_, c)| digit(*c))
        .fold(0u32, |y, d| y.saturating_mul(10).saturating_add(d));
    let start = run.first().map_or(0, |(b, _)| *b);
    let end = runs
        .get(k.saturating_add(1))
        .and_then(|n| n.first())
        .map_or(head.len(), |(b, _)| *b);
    let before = head.get(..start).unwrap_or_default();
    let after = head
        .get(end..)
        .unwrap_or_default()
        .trim_start_matches('年')
        .trim_start_matches('度');
    let name = if before.is_empty() { after } else { before };
    Some((year, clean_name(name)))
}

/// An agency name without what stands before it on a crawled title line: a
/// label ending in a colon (标题：), a bracketed label (【标题】), 关于.
fn clean_name(name: &str) -> String {
    let name = name.rsplit([':', '：']).next().unwrap_or(name);
    let name = match name.strip_prefix('【').and_then(|n| n.split_once('】')) {
        Some((_, rest)) => rest,
        None => name,
    };
    name.trim_start_matches("关于").to_owned()
}

/// Whether a line can be an agency's name standing alone above the title.
fn looks_like_name(line: &str) -> bool {
    let f = fold(line);
    !f.is_empty()
        && !f.contains("报告")
        && !f.contains(':')
        && f.chars().count() <= 40
        && f.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The year and agency the document's own title gives: one line; one line
/// with the agency on the line above; or a title broken over two lines.
fn body_title(preamble: &[&str]) -> Option<(u32, String)> {
    let lines: Vec<&str> = preamble.iter().take(12).copied().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some((year, name)) = title_parts(line) {
            let above = i.checked_sub(1).and_then(|j| lines.get(j));
            let name = match above {
                Some(a) if name.is_empty() && looks_like_name(a) => clean_name(&strip_spacing(a)),
                _ => name,
            };
            return Some((year, name));
        }
        if let Some(next) = lines.get(i.saturating_add(1))
            && line.chars().count() <= 60
            && title_parts(next).is_none()
            && let Some(found) = title_parts(&format!("{line}{next}"))
        {
            return Some(found);
        }
    }
    None
}

/// The data year the statistics period states (统计期限自2025年1月1日起至
/// 2025年12月31日止, or …至12月31日), read across line breaks.
fn period_year<'a>(lines: impl Iterator<Item = &'a str> + Clone) -> Option<u32> {
    const LINES: usize = 200;
    // Every key says 统计, which folding neither makes nor drops: lines
    // without a 计 state no period, and are not folded.
    if !lines.clone().take(LINES).any(|l| l.contains('计')) {
        return None;
    }
    // The lines are folded one after the other only until the window after
    // the first key is complete: the period stands near the top.
    let longest_key = PERIOD_KEYS
        .iter()
        .map(|k| k.needle().len())
        .max()
        .unwrap_or(0);
    const WINDOW: usize = 60;
    let window_bytes = WINDOW.saturating_mul(char::MAX.len_utf8());
    let mut all = String::new();
    let mut at = None;
    for line in lines.take(LINES) {
        // A key may run across the line break: look again from where one
        // could have started in the text before this line.
        let from = all.len().saturating_sub(longest_key);
        fold_into(&mut all, line);
        if at.is_none() {
            let new = all.as_bytes().get(from..).unwrap_or_default();
            at = PERIOD_KEYS
                .iter()
                .filter_map(|k| k.find(new))
                .min()
                .map(|i| i.saturating_add(from));
        }
        let window_read = at.is_some_and(|a| all.len().saturating_sub(a) >= window_bytes);
        if window_read || all.len() > 64 * 1024 {
            break;
        }
    }
    let window: String = all.get(at?..)?.chars().take(WINDOW).collect();
    year_of_period(&window)
}

/// The data year a folded statement of the statistics period gives, from
/// its key on.
fn year_of_period(window: &str) -> Option<u32> {
    let start = window.find("年1月1日")?;
    let year = four_digits_before(window.get(..start)?)?;
    let rest = window.get(start..)?;
    let end = rest.find("12月31日")?;
    // A period ending in another year is not one data year.
    let before_end = rest.get(..end)?;
    if let Some(head) = before_end.strip_suffix('年')
        && four_digits_before(head) != Some(year)
    {
        return None;
    }
    Some(year)
}

/// The four ASCII digits that end a string, as a year.
fn four_digits_before(s: &str) -> Option<u32> {
    let digits = s.get(s.len().checked_sub(4)?..)?;
    let before = s.get(..s.len().saturating_sub(4))?;
    (digits.bytes().all(|b| b.is_ascii_digit()) && !before.ends_with(|c: char| c.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Searchers for some words, built once: the words below are looked for in
/// every line of a document, most of which holds none of them.
fn finders(words: &[&'static str]) -> Vec<Finder<'static>> {
    words.iter().copied().map(Finder::new).collect()
}

/// The words that open the statistics period.
const PERIOD_WORDS: &[&str] = &[
    "统计期限",
    "统计期间",
    "统计时限",
    "统计时间",
    "统计区间",
    "统计时段",
];

/// [`PERIOD_WORDS`], searchers built once.
static PERIOD_KEYS: LazyLock<Vec<Finder<'static>>> = LazyLock::new(|| finders(PERIOD_WORDS));

/// The labels of the agency's 统一社会信用代码.
static USCC_LABELS: LazyLock<Vec<Finder<'static>>> =
    LazyLock::new(|| finders(&["统一社会信用代码"]));

/// The labels of the 行政区划代码.
static REGION_LABELS: LazyLock<Vec<Finder<'static>>> = LazyLock::new(|| finders(&["行政区划代码"]));

/// The labels of the publication date.
static DATE_LABELS: LazyLock<Vec<Finder<'static>>> =
    LazyLock::new(|| finders(&["发布日期", "发布时间", "成文日期"]));

/// The value after a label such as "统一社会信用代码：" on a line.
fn labelled<'a>(line: &'a str, labels: &[Finder<'static>]) -> Option<&'a str> {
    labels.iter().find_map(|l| {
        let at = l.find(line.as_bytes())?;
        let rest = line[at.saturating_add(l.needle().len())..]
            .trim_start_matches([':', '：', ' ', '\u{3000}']);
        let end = rest
            .find(|c: char| c.is_whitespace() || "，,。；;）)".contains(c))
            .unwrap_or(rest.len());
        Some(&rest[..end]).filter(|v| !v.is_empty())
    })
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let f = fold(s);
    NaiveDate::parse_from_str(&f, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&f, "%Y年%m月%d日"))
        .or_else(|_| NaiveDate::parse_from_str(&f, "%Y/%m/%d"))
        .ok()
}

/// A table's rows, and its cells folded (each cell folded once: the table
/// is recognised and its format told from this text).
struct Table<'a> {
    kind: TableKind,
    rows: Vec<&'a [String]>,
    folded: String,
}

/// Ends a run of table rows: files it under the table it is, or reports it.
/// A run in section 二, 三 or 四 that names no table of its own (a table
/// broken by a page, published as several) is that section's table.
fn flush<'a>(
    run: &mut Vec<&'a [String]>,
    section: Option<usize>,
    tables: &mut Vec<Table<'a>>,
    findings: &mut Vec<Finding>,
) {
    if run.is_empty() {
        return;
    }
    let rows = std::mem::take(run);
    let folded = fold_rows(&rows);
    let by_section = match section {
        Some(1) => Some(TableKind::T2),
        Some(2) => Some(TableKind::T3),
        Some(3) => Some(TableKind::T4),
        _ => None,
    };
    match classify(&folded).or(by_section) {
        // A table split by a heading or a line of prose is one table.
        Some(kind) => match tables.iter_mut().find(|t| t.kind == kind) {
            Some(existing) => {
                existing.rows.extend(rows);
                existing.folded.push_str(&folded);
            }
            None => tables.push(Table { kind, rows, folded }),
        },
        None => {
            let first = rows
                .iter()
                .flat_map(|r| r.iter())
                .find(|c| !c.is_empty())
                .cloned()
                .unwrap_or_default();
            findings.push(Finding::new(
                id::IMPORT_UNKNOWN_ROW,
                Location::row("document", ""),
                format!("无法识别的表格（首格“{first}”），已忽略 — a table starting \"{first}\" is none of T2, T3, T4 and was ignored"),
            ));
        }
    }
}

/// Reads a report out of blocks. Fails only when nothing of the format is
/// there at all.
pub(crate) fn assemble(blocks: &[Block]) -> Result<(Report, Vec<Finding>), ImportError> {
    let mut findings = Vec::new();
    let mut sections: [Option<Vec<&str>>; 6] = Default::default();
    let mut current: Option<usize> = None;
    let mut preamble: Vec<&str> = Vec::new();
    let mut tables: Vec<Table<'_>> = Vec::new();
    let mut run: Vec<&[String]> = Vec::new();

    let mut page_title: Option<&str> = None;
    for block in blocks {
        match block {
            Block::Row(cells) => {
                run.push(cells.as_slice());
                continue;
            }
            Block::DocumentTitle(text) => {
                page_title.get_or_insert(text);
            }
            Block::Heading(text) | Block::Text(text) => {
                flush(&mut run, current, &mut tables, &mut findings);
                match section_of(text) {
                    Some(i) if current.is_none_or(|c| i > c) => {
                        current = Some(i);
                        sections[i] = Some(Vec::new());
                    }
                    _ => match current.and_then(|c| sections[c].as_mut()) {
                        Some(lines) => lines.push(text),
                        None => preamble.push(text),
                    },
                }
            }
        }
    }
    flush(&mut run, current, &mut tables, &mut findings);

    // Other annual reports (法治政府建设年度报告 …) share 一、总体情况; take a
    // document as this report only on a table of the format, a title that
    // says 政府信息公开, or most of the six section headings.
    let headings_found = sections.iter().filter(|s| s.is_some()).count();
    let titled = || {
        preamble
            .iter()
            .chain(page_title.as_slice())
            .any(|l| fold(l).contains("政府信息公开"))
    };
    if tables.is_empty() && headings_found < 3 && !titled() {
        return Err(ImportError::NotAReport(format!(
            "没有该格式的表格，标题不含“政府信息公开”，六个部分标题只找到{headings_found}个 — no table of the format, no 政府信息公开 in the title, and {headings_found} of the six section headings"
        )));
    }

    let metadata = read_metadata(
        &preamble,
        sections[0].as_deref(),
        page_title,
        blocks,
        &mut findings,
    );
    let table = |kind| tables.iter().find(|t| t.kind == kind);
    let rows = |kind| table(kind).map(|t| t.rows.as_slice());
    let format = detect_format(
        table(TableKind::T2).map(|t| t.folded.as_str()),
        rows(TableKind::T3),
        metadata.data_year,
        &mut findings,
    );

    let report = Report {
        t2: rows(TableKind::T2).map(|r| read_t2(r, format, &mut findings)),
        t3: rows(TableKind::T3).map(|r| read_t3(r, format, &mut findings)),
        t4: rows(TableKind::T4).map(|r| read_t4(r, &mut findings)),
        metadata,
        format,
        sections: sections.map(|s| s.map(|lines| lines.join("\n"))),
    };
    Ok((report, findings))
}

/// Where a document states its year or agency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// Its own title line(s).
    Title,
    /// An HTML page's `<title>`.
    PageTitle,
    /// The sentence giving the statistics period (统计期限 …).
    Period,
}

impl Source {
    fn zh(self) -> &'static str {
        match self {
            Source::Title => "标题",
            Source::PageTitle => "网页标题",
            Source::Period => "统计期限",
        }
    }

    fn en(self) -> &'static str {
        match self {
            Source::Title => "title",
            Source::PageTitle => "page title",
            Source::Period => "statistics period",
        }
    }
}

/// A finding naming two sources of the metadata that disagree.
fn sources_disagree(field: &str, first: (Source, &str), other: (Source, &str)) -> Finding {
    let ((a, a_says), (b, b_says)) = (first, other);
    Finding::new(
        id::IMPORT_METADATA,
        Location::row("metadata", field),
        format!(
            "{}为“{a_says}”，{}为“{b_says}”，不一致，按前者读取 — the {} says {field} \"{a_says}\", the {} \"{b_says}\"; the first is kept",
            a.zh(),
            b.zh(),
            a.en(),
            b.en(),
        ),
    )
}

/// Metadata from wherever the document states it: the year and agency from
/// its title (one line, or broken over two, after a crawler's label), else
/// from the page's `<title>`, else the year from the statistics period.
/// Sources that disagree are a finding naming both.
fn read_metadata(
    preamble: &[&str],
    overview: Option<&[&str]>,
    page_title: Option<&str>,
    blocks: &[Block],
    findings: &mut Vec<Finding>,
) -> Metadata {
    let mut m = Metadata::default();
    let body = body_title(preamble);
    let page = page_title.and_then(title_parts);
    let period = period_year(preamble.iter().chain(overview.unwrap_or_default()).copied());
    let years: Vec<(Source, u32)> = [
        (Source::Title, body.as_ref().map(|b| b.0)),
        (Source::PageTitle, page.as_ref().map(|p| p.0)),
        (Source::Period, period),
    ]
    .into_iter()
    .filter_map(|(source, year)| Some((source, year?)))
    .collect();
    if let Some(&(source, year)) = years.first() {
        m.data_year = year;
        for &(other, y) in years.iter().skip(1).filter(|(_, y)| *y != year) {
            findings.push(sources_disagree(
                "data_year",
                (source, &year.to_string()),
                (other, &y.to_string()),
            ));
        }
    }
    let names: Vec<(Source, String)> = [
        (Source::Title, body.map(|b| b.1)),
        (Source::PageTitle, page.map(|p| p.1)),
    ]
    .into_iter()
    .filter_map(|(source, name)| Some((source, name.filter(|n| !n.is_empty())?)))
    .collect();
    if let Some((source, name)) = names.first() {
        m.agency_name.clone_from(name);
        // One name inside the other (洪泽区人民政府, 淮安市洪泽区人民政府) is the same agency.
        for (other, n) in names.iter().skip(1) {
            let (a, b) = (fold(name), fold(n));
            if !a.contains(&b) && !b.contains(&a) {
                findings.push(sources_disagree(
                    "agency_name",
                    (*source, name),
                    (*other, n),
                ));
            }
        }
    }
    if m.agency_name.is_empty() {
        // The agency on a title line of its own.
        if let Some(name) = preamble.iter().find(|l| looks_like_name(l)) {
            m.agency_name = clean_name(&strip_spacing(name));
        }
    }
    if m.agency_name.is_empty() {
        findings.push(Finding::new(
            id::IMPORT_METADATA,
            Location::row("metadata", "agency_name"),
            "标题中找不到机关名称 — the title names no agency",
        ));
    }
    let lines = blocks.iter().filter_map(|b| match b {
        Block::Heading(t) | Block::Text(t) => Some(t.as_str()),
        Block::Row(_) | Block::DocumentTitle(_) => None,
    });
    for line in lines {
        if m.agency_uscc.is_none() {
            m.agency_uscc = labelled(line, &USCC_LABELS).map(fold);
        }
        if m.region_code.is_none() {
            m.region_code = labelled(line, &REGION_LABELS).map(fold);
        }
        if m.publication_date.is_none() {
            m.publication_date = labelled(line, &DATE_LABELS).and_then(parse_date);
        }
    }
    m
}

/// The format the tables follow: by T2's column labels, else by T3's single
/// 其他处理 row, else by the data year (with a finding saying so).
fn detect_format(
    folded_t2: Option<&str>,
    t3: Option<&[&[String]]>,
    year: u32,
    findings: &mut Vec<Finding>,
) -> FormatVersion {
    let folded_t2 = folded_t2.unwrap_or_default();
    let has = |words: &[&str]| words.iter().any(|w| folded_t2.contains(w));
    if has(&[
        "本年制发件数",
        "现行有效件数",
        "本年处理决定数量",
        "本年收费金额",
    ]) {
        return FormatVersion::Current2021;
    }
    if has(&[
        "本年新制作数量",
        "对外公开总数量",
        "上一年项目数量",
        "政府集中采购",
    ]) {
        return FormatVersion::Trial2019;
    }
    let trial_t3 = t3.is_some_and(|rows| {
        rows.iter().any(|r| {
            r.iter()
                .rposition(|c| crate::cells::is_label(c))
                .is_some_and(|i| core(&r[i]) == "其他处理")
                && crate::tables::has_values(r)
        })
    });
    if trial_t3 {
        return FormatVersion::Trial2019;
    }
    // No year stated: the current format, the likelier one.
    let format = if year == 0 {
        FormatVersion::Current2021
    } else {
        FormatVersion::of_year(year)
    };
    findings.push(Finding::new(
        id::IMPORT_METADATA,
        Location::row("metadata", "format_version"),
        format!("表格未显示所用格式，按数据年度推定为{format} — the tables do not show their format; taken as {format} from the data year"),
    ));
    format
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_headings_by_ordinal_and_keyword() {
        assert_eq!(section_of("一、总体情况"), Some(0));
        assert_eq!(
            section_of("四、政府信息公开行政复议、行政诉讼情况"),
            Some(3)
        );
        assert_eq!(section_of("六、其他需要报告的事项"), Some(5));
        assert_eq!(section_of("（二）依申请公开工作。"), None);
        assert_eq!(section_of("三、本年度办理结果"), None);
    }

    /// period_year as it read before it folded only the lines it needs:
    /// every line folded into one text, then searched.
    fn period_year_of_all_lines(lines: &[&str]) -> Option<u32> {
        let mut all = String::new();
        for line in lines.iter().take(200) {
            fold_into(&mut all, line);
            if all.len() > 64 * 1024 {
                break;
            }
        }
        let at = PERIOD_WORDS.iter().filter_map(|k| all.find(k)).min()?;
        let window: String = all.get(at..)?.chars().take(60).collect();
        year_of_period(&window)
    }

    proptest::proptest! {
        /// Folding line by line until the period is read finds the year
        /// folding every line first finds, also with the key or the dates
        /// broken over lines.
        #[test]
        fn the_period_read_line_by_line_is_the_period_of_all_lines(
            lines in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(vec![
                        "统计", "期限", "时间", "统计期间", "自", "2024", "2023", "２０２４",
                        "年", "1月1日", "12月31日", "起至", "止", " ", "，", "本报告",
                        "政府信息公开工作", "数据",
                    ]),
                    0..12,
                ),
                0..8,
            ),
        ) {
            let lines: Vec<String> = lines.iter().map(|l| l.concat()).collect();
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(
                period_year(lines.iter().copied()),
                period_year_of_all_lines(&lines)
            );
        }
    }

    #[test]
    fn the_period_is_read_across_line_breaks() {
        let year = |lines: &[&str]| period_year(lines.iter().copied());
        assert_eq!(
            year(&["本报告统计", "期限自2024年1月1日起至2024年12月31日止。"]),
            Some(2024)
        );
        assert_eq!(
            year(&[
                "一、总体情况",
                "本报告中所列数据的统计期限自2024年1月1日",
                "起至12月31日止。"
            ]),
            Some(2024)
        );
        assert_eq!(
            year(&[
                "统计期限为本年度全年度，即自公历2024年1月1日起",
                "至2024年12月31日止。"
            ]),
            Some(2024)
        );
        assert_eq!(
            year(&["统计期间自2023年1月1日起至2024年12月31日止。"]),
            None
        );
    }

    #[test]
    fn title_gives_year_and_agency() {
        assert_eq!(
            title_parts("2024年政府信息公开工作年度报告"),
            Some((2024, String::new()))
        );
        assert_eq!(
            title_parts("宝清县人民政府2024年度政府信息公开工作年度报告"),
            Some((2024, "宝清县人民政府".to_owned()))
        );
        assert_eq!(title_parts("政府信息公开工作年度报告"), None);
        assert_eq!(
            title_parts(
                "宝清县人民政府办公室（县政务服务中心）２０２４年 政府信息公开工作年度报告"
            ),
            Some((2024, "宝清县人民政府办公室（县政务服务中心）".to_owned()))
        );
        assert_eq!(title_parts("202412年政府信息公开工作年度报告"), None);
        // The name after the year, after a crawler's label, the last year.
        assert_eq!(
            title_parts("2024年宝清县人民政府政府信息公开工作年度报告"),
            Some((2024, "宝清县人民政府".to_owned()))
        );
        assert_eq!(
            title_parts("标题：宝清县人民政府2024年政府信息公开工作年度报告"),
            Some((2024, "宝清县人民政府".to_owned()))
        );
        assert_eq!(
            title_parts("【标题】宝清县人民政府2024年政府信息公开工作年度报告"),
            Some((2024, "宝清县人民政府".to_owned()))
        );
        assert_eq!(
            title_parts("第3号宝清县人民政府2024年度政府信息公开工作年度报告"),
            Some((2024, "第3号宝清县人民政府".to_owned()))
        );
    }
}
