//! Text rules: counts stated in the prose, matched to the cells they describe.
//!
//! A statement counts only when one clause holds a subject's keywords before a
//! single "N件"; anything else (宝政发28件, 更新831条, 政策解读文件14件, a
//! comparison with last year) is not about a table cell and raises nothing.

use std::borrow::Cow;

use crate::{
    Finding, FormatVersion, Location, Report, Section,
    catalogue::id,
    shape::{T3Col, T3Row, T4Block, T4Col, Value, t3_path, t4_path},
};

/// What a stated count is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// 收到 / 新收 / 受理 … 申请 N件 → R01 (or R01 + R02).
    ApplicationsReceived,
    /// 办理 / 办结 / 答复 … 申请 N件 → R24 (or R01, or R01 + R02).
    ApplicationsHandled,
    /// 上年结转 … N件 → R02.
    CarriedOver,
    /// 结转下年度 … N件 → R25.
    CarriedForward,
    /// 行政复议 N件 → T4 复议 总计.
    Reconsideration,
    /// 行政诉讼 N件 → the two litigation 总计 together.
    Litigation,
    /// 制发 / 印发 / 出台 / 制定 规范性文件 N件 → T2 本年制发件数.
    NormativeIssued,
    /// 废止 规范性文件 N件 → T2 本年废止件数.
    NormativeRepealed,
    /// 现行有效 规范性文件 N件 → T2 现行有效件数.
    NormativeInForce,
}

/// A count stated in the prose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The section it was read from.
    pub section: Section,
    /// The clause, as written.
    pub clause: String,
    /// What it is about.
    pub subject: Subject,
    /// The number stated.
    pub number: u64,
}

/// Punctuation that ends a clause. A line break does not: PDF and Word
/// text breaks lines inside sentences, even inside 「1024\n件」.
const CLAUSE_BREAKS: &[char] = &[
    '。', '；', ';', '，', ',', '、', '！', '？', '：', ':', '（', '）', '(', ')',
];

/// Words that make a clause a comparison or a part, not a statement of a cell.
const HEDGES: &[&str] = &[
    "同比",
    "增长",
    "增加",
    "减少",
    "下降",
    "较上年",
    "比上年",
    "其中",
    "%",
    "％",
    "占",
];

/// Text without white space (spaces, line breaks, the ideographic space);
/// borrowed when it has none, as most clauses: 「申请 25 件」 and
/// 「申请25\n件」 read as 「申请25件」.
fn without_spacing(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_whitespace) {
        Cow::Owned(text.chars().filter(|c| !c.is_whitespace()).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// Whether `word` (itself without white space) appears in `text` once its
/// white space is dropped, as 「信息处\n理费」 does: read in place, without the
/// copy [`without_spacing`] would make of a whole section.
fn contains_unspaced(text: &str, word: &str) -> bool {
    let Some(first) = word.chars().next() else {
        return true;
    };
    text.match_indices(first).any(|(at, _)| {
        let mut rest = text
            .get(at..)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace());
        word.chars().all(|w| rest.next() == Some(w))
    })
}

/// The numbers followed by 件 in a clause, with the byte offset each starts
/// at. A number too large for a u64 is no count.
fn counts_in(clause: &str) -> impl Iterator<Item = (usize, u64)> + '_ {
    let mut chars = clause.char_indices();
    // The run of digits being read: where it starts, and its value (None
    // once it overflows).
    let mut run: Option<(usize, Option<u64>)> = None;
    std::iter::from_fn(move || {
        for (i, ch) in chars.by_ref() {
            let digit = match ch {
                '0'..='9' => ch.to_digit(10),
                // Full-width digits, as some sites publish them.
                '０'..='９' => u32::from(ch).checked_sub(u32::from('０')),
                _ => None,
            };
            if let Some(d) = digit {
                let (start, value) = run.unwrap_or((i, Some(0)));
                let value = value.and_then(|v| v.checked_mul(10)?.checked_add(u64::from(d)));
                run = Some((start, value));
                continue;
            }
            if let (Some((start, Some(n))), '件') = (run.take(), ch) {
                return Some((start, n));
            }
        }
        None
    })
}

/// The one count a clause states, if it states exactly one.
fn single_count(clause: &str) -> Option<(usize, u64)> {
    let mut counts = counts_in(clause);
    match (counts.next(), counts.next()) {
        (Some(count), None) => Some(count),
        _ => None,
    }
}

/// The clauses of `text` (split at [`CLAUSE_BREAKS`], spacing kept) that hold
/// 件, which every stated count does: found from each 件, so the prose
/// without one, most of it, is never split or read.
fn clauses_with_jian(text: &str) -> impl Iterator<Item = &str> + '_ {
    let mut from = 0usize;
    std::iter::from_fn(move || {
        let at = from.checked_add(text.get(from..)?.find('件')?)?;
        let (head, tail) = text.split_at_checked(at)?;
        let start = head
            .rsplit_once(CLAUSE_BREAKS)
            .map_or(Some(0), |(_, clause_head)| {
                at.checked_sub(clause_head.len())
            })?;
        let end = tail
            .find(CLAUSE_BREAKS)
            .map_or(Some(text.len()), |e| at.checked_add(e))?;
        from = end;
        text.get(start..end)
    })
}

fn has_any(s: &str, words: &[&str]) -> bool {
    words.iter().any(|w| s.contains(w))
}

fn subject_of(head: &str) -> Option<Subject> {
    let applications = head.contains("申请");
    // 上年结转, also 上年度结转 / 上一年度结转 (含上年度结转申请34件).
    if has_any(
        head,
        &["上年结转", "上年度结转", "上一年结转", "上一年度结转"],
    ) {
        return Some(Subject::CarriedOver);
    }
    if head.contains("结转") {
        return Some(Subject::CarriedForward);
    }
    if applications && has_any(head, &["收到", "新收", "受理", "接收"]) {
        return Some(Subject::ApplicationsReceived);
    }
    if applications && has_any(head, &["办理", "办结", "答复", "处理"]) {
        return Some(Subject::ApplicationsHandled);
    }
    let reconsideration = head.contains("行政复议");
    let litigation = head.contains("行政诉讼");
    if reconsideration && !litigation {
        return Some(Subject::Reconsideration);
    }
    if litigation && !reconsideration {
        return Some(Subject::Litigation);
    }
    if head.contains("规范性文件") {
        if head.contains("废止") {
            return Some(Subject::NormativeRepealed);
        }
        if head.contains("现行有效") {
            return Some(Subject::NormativeInForce);
        }
        if has_any(head, &["制发", "印发", "出台", "制定"]) {
            return Some(Subject::NormativeIssued);
        }
    }
    None
}

/// Every count stated in the report's prose sections.
pub fn statements(report: &Report) -> Vec<Statement> {
    // Every section's prose: reports also state counts under 二, 三 and 四,
    // around their tables.
    let prose = [
        Section::Overview,
        Section::ActiveDisclosure,
        Section::Applications,
        Section::ReconsiderationLitigation,
        Section::ProblemsAndImprovements,
        Section::OtherMatters,
    ];
    let mut out = Vec::new();
    for section in prose {
        let Some(text) = report.section(section) else {
            continue;
        };
        for clause in clauses_with_jian(text).map(without_spacing) {
            // One count, and no comparison or part: the hedges are looked
            // for only in the few clauses that hold a single 「N件」.
            let Some((at, number)) = single_count(&clause) else {
                continue;
            };
            if has_any(&clause, HEDGES) {
                continue;
            }
            if let Some(subject) = clause.get(..at).and_then(subject_of) {
                out.push(Statement {
                    section,
                    subject,
                    number,
                    clause: clause.into_owned(),
                });
            }
        }
    }
    out
}

/// What a statement is compared with: the cell (or cells, when the prose
/// sums them), their value, and other values the same words commonly mean.
struct Compared {
    cells: Vec<String>,
    value: u64,
    also: Vec<u64>,
}

fn table_value(report: &Report, subject: Subject) -> Option<Compared> {
    // A cell the document did not contain is compared with nothing.
    let total = |row| report.t3.as_ref()?.cell(row, T3Col::Total);
    let received_and_carried = || total(T3Row::R01)?.checked_add(total(T3Row::R02)?);
    let t4 = |b| report.t4.as_ref()?.cell(b, T4Col::Total);
    let t2 = |col| {
        report
            .t2
            .as_ref()?
            .count(report.format.t2_layout(), "normative_documents", col)
    };
    let one = |cell: String, value: u64, also: Vec<u64>| Compared {
        cells: vec![cell],
        value,
        also,
    };
    let t3_cell = |row| t3_path(row, T3Col::Total);
    let current = report.format == FormatVersion::Current2021;
    Some(match subject {
        Subject::ApplicationsReceived => one(
            t3_cell(T3Row::R01),
            total(T3Row::R01)?,
            received_and_carried().into_iter().collect(),
        ),
        Subject::ApplicationsHandled => one(
            t3_cell(T3Row::R24),
            total(T3Row::R24)?,
            total(T3Row::R01)
                .into_iter()
                .chain(received_and_carried())
                .collect(),
        ),
        Subject::CarriedOver => one(t3_cell(T3Row::R02), total(T3Row::R02)?, vec![]),
        Subject::CarriedForward => one(t3_cell(T3Row::R25), total(T3Row::R25)?, vec![]),
        Subject::Reconsideration => one(
            t4_path(T4Block::Reconsideration, T4Col::Total),
            t4(T4Block::Reconsideration)?,
            vec![],
        ),
        // The prose counts both kinds of litigation together.
        Subject::Litigation => Compared {
            cells: vec![
                t4_path(T4Block::LitigationDirect, T4Col::Total),
                t4_path(T4Block::LitigationAfterReconsideration, T4Col::Total),
            ],
            value: t4(T4Block::LitigationDirect)?
                .checked_add(t4(T4Block::LitigationAfterReconsideration)?)?,
            also: vec![],
        },
        Subject::NormativeIssued if current => one(
            "t2.normative_documents.issued".into(),
            t2("issued")?,
            vec![],
        ),
        Subject::NormativeIssued => one(
            "t2.normative_documents.newly_made".into(),
            t2("newly_made")?,
            vec![],
        ),
        Subject::NormativeRepealed if current => one(
            "t2.normative_documents.repealed".into(),
            t2("repealed")?,
            vec![],
        ),
        Subject::NormativeInForce if current => one(
            "t2.normative_documents.in_force".into(),
            t2("in_force")?,
            vec![],
        ),
        // The trial format has no such column.
        Subject::NormativeRepealed | Subject::NormativeInForce => return None,
    })
}

fn location_of(path: &str) -> Location {
    let mut parts = path.splitn(3, '.');
    let table = match parts.next() {
        Some("t2") => "t2",
        Some("t4") => "t4",
        _ => "t3",
    };
    Location::cell(
        table,
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    )
}

pub(crate) fn text_rules(report: &Report, out: &mut Vec<Finding>) {
    for s in statements(report) {
        let Some(Compared { cells, value, also }) = table_value(report, s.subject) else {
            continue;
        };
        if s.number == value || also.contains(&s.number) {
            continue;
        }
        let path = cells.join(" + ");
        out.push(
            Finding::new(
                id::TEXT_COUNT_MISMATCH,
                location_of(cells.first().map_or("", String::as_str)),
                format!(
                    "“{}”部分正文称“{}”，表格中为{value} — section {} states {}, the table ({path}) holds {value}",
                    s.section.heading(),
                    s.clause,
                    s.section.spec().ordinal,
                    s.number,
                ),
            )
            .values(Value::Count(value), Value::Count(s.number))
            .cells(cells.iter().cloned().chain([format!("section.{}", s.section.number())])),
        );
    }
    fee_rule(report, out);
}

/// Words in section 六 that state that no fee was charged, in the ways
/// reports say it (本年度未收取任何费用, 没有产生信息处理费用, 信息处理费为零,
/// 不涉及信息处理费 …).
const NO_FEE: &[&str] = &[
    "为零",
    "为0",
    "为０",
    "零元",
    "未收取",
    "未曾收取",
    "没有收取",
    "不收取",
    "未收费",
    "没有收费",
    "无收费",
    "未产生",
    "没有产生",
    "未发生",
    "没有发生",
    "免收",
    "免予收取",
    "免于收取",
    "无收取",
    "不涉及",
    "无信息处理费",
];

/// Whether a clause states an amount: a number followed by 元 or 万元, or
/// one of [`NO_FEE`].
fn states_amount(clause: &str) -> bool {
    if has_any(clause, NO_FEE) {
        return true;
    }
    let mut after_digit = false;
    for ch in clause.chars() {
        if after_digit && (ch == '元' || ch == '万') {
            return true;
        }
        if ch.is_ascii_digit() || ('０'..='９').contains(&ch) || ch == '.' {
            after_digit = true;
        } else if !ch.is_whitespace() {
            after_digit = false;
        }
    }
    false
}

fn fee_rule(report: &Report, out: &mut Vec<Finding>) {
    let r22 = match (report.format, &report.t3) {
        (FormatVersion::Current2021, Some(t3)) => t3.cell(T3Row::R22, T3Col::Total).unwrap_or(0),
        _ => 0,
    };
    let mentioned = || {
        report
            .sections
            .iter()
            .flatten()
            .any(|t| contains_unspaced(t, "信息处理费"))
    };
    if r22 == 0 && !mentioned() {
        return;
    }
    let Some(six) = report.section(Section::OtherMatters) else {
        return;
    };
    // The amount may sit in the clause after the one naming the fee
    // ("收取信息处理费，共计120元"), so look at whole sentences, across line
    // breaks; any sentence on a fee (费用, 收费, 处理费) that states an amount
    // or that none was charged will do, also beside a citation of
    // 《政府信息公开信息处理费管理办法》.
    let stated = six
        .split(['。', '；', ';'])
        .filter(|sentence| sentence.contains('费'))
        .any(|sentence| states_amount(&without_spacing(sentence)));
    if stated {
        return;
    }
    let why = if r22 > 0 {
        format!("R22（逾期未缴纳费用）为{r22}件")
    } else {
        "正文提及信息处理费".to_owned()
    };
    out.push(
        Finding::new(
            id::TEXT_FEE_UNSTATED,
            Location::row("section", "6"),
            format!(
                "{why}，但“六、其他需要报告的事项”未说明信息处理费收取金额 — section 六 states no amount of 信息处理费 although {}",
                if r22 > 0 { format!("R22 is {r22}") } else { "fees are mentioned".to_owned() }
            ),
        )
        .cells([t3_path(T3Row::R22, T3Col::Total)]),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_with(overview: &str) -> Report {
        let mut r = Report::empty(FormatVersion::Current2021, 2024);
        r.sections[0] = Some(overview.to_owned());
        r.sections[5] = Some("本年度收取信息处理费用为0。".to_owned());
        r
    }

    #[test]
    fn reads_the_sample_statements_and_nothing_else() {
        let r = report_with(
            "全年在县政府门户网站信息公开目录更新831条。2024年，在县政府门户网站公开规范性文件11件、宝政发28件、宝政办发29件，乡镇、部门文件4件。共公开政策解读文件14件。2024年，全县各部门共办理政府信息公开申请78件。",
        );
        let s = statements(&r);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].subject, Subject::ApplicationsHandled);
        assert_eq!(s[0].number, 78);
    }

    #[test]
    fn mismatch_names_both_numbers() {
        let mut r = report_with("本年共新收政府信息公开申请12件。制发规范性文件3件。");
        let t3 = r.t3.as_mut().unwrap();
        t3.set(T3Row::R01, T3Col::Total, 10);
        let mut out = Vec::new();
        text_rules(&r, &mut out);
        let f: Vec<_> = out
            .iter()
            .filter(|f| f.rule == id::TEXT_COUNT_MISMATCH)
            .collect();
        assert_eq!(f.len(), 2, "{out:?}");
        assert_eq!(f[0].location.path(), "t3.R01.total");
        assert_eq!(
            (f[0].expected, f[0].actual),
            (Some(Value::Count(10)), Some(Value::Count(12)))
        );
        assert_eq!(f[1].location.path(), "t2.normative_documents.issued");
        assert_eq!(f[1].actual, Some(Value::Count(3)));
    }

    #[test]
    fn prose_beside_the_tables_is_read_too() {
        let mut r = report_with("");
        r.t3.as_mut().unwrap().set(T3Row::R01, T3Col::Total, 5);
        r.t4.as_mut()
            .unwrap()
            .set(T4Block::LitigationDirect, T4Col::Total, 1);
        r.sections[2] = Some("本年度共受理政府信息公开申请5件。".to_owned());
        r.sections[3] = Some("本年度发生政府信息公开行政诉讼2件。".to_owned());
        let mut out = Vec::new();
        text_rules(&r, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].location.path(), "t4.litigation_direct.total");
        assert_eq!(
            (out[0].expected, out[0].actual),
            (Some(Value::Count(1)), Some(Value::Count(2)))
        );
        assert!(out[0].cells.contains(&"section.4".to_owned()));
    }

    #[test]
    fn carried_over_from_last_year_is_r02_however_the_year_is_named() {
        // 淮安市's 2024 report: 答复3050件（含上年度结转申请34件…）; R02 is 34.
        for said in [
            "含上年度结转申请34件",
            "上一年度结转申请34件",
            "上年结转申请34件",
        ] {
            let s = statements(&report_with(said));
            assert_eq!(s.len(), 1, "{said}");
            assert_eq!(s[0].subject, Subject::CarriedOver, "{said}");
        }
    }

    #[test]
    fn comparisons_and_parts_are_not_statements() {
        let r = report_with("共办理申请比上年增加5件。其中自然人申请3件。同比增长2件。");
        assert!(statements(&r).is_empty());
    }

    #[test]
    fn fee_unstated_fires_only_without_an_amount() {
        let mut r = report_with("");
        r.t3.as_mut().unwrap().set(T3Row::R22, T3Col::Total, 2);
        r.sections[5] = Some("无其他需要报告的事项。".to_owned());
        let mut out = Vec::new();
        fee_rule(&r, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].location.path(), "section.6");
        for unstated in [
            "2024年度本机关依法收取信息处理费。",
            "本机关信息处理费无相关收取标准。",
        ] {
            r.sections[5] = Some(unstated.to_owned());
            let mut out = Vec::new();
            fee_rule(&r, &mut out);
            assert_eq!(out.len(), 1, "{unstated}");
        }

        for stated in [
            "本年度收取信息处理费用为0。",
            "本年度未收取信息处理费。",
            "收取信息处理费120元。",
        ] {
            r.sections[5] = Some(stated.to_owned());
            let mut out = Vec::new();
            fee_rule(&r, &mut out);
            assert!(out.is_empty(), "{stated}");
        }
    }

    #[test]
    fn numbers_with_spaces_or_a_line_break_read_as_written_together() {
        for overview in [
            "2024年，全县共受理政府信息公开申请 25 件。",
            "2024年，全县共受理政府信息公开申请25\n件。",
            "2024年，全县共受理政府信息公\n开申请 25\n件。",
        ] {
            let r = report_with(overview);
            let s = statements(&r);
            assert_eq!(s.len(), 1, "{overview:?}: {s:?}");
            assert_eq!(s[0].subject, Subject::ApplicationsReceived);
            assert_eq!(s[0].number, 25, "{overview:?}");
        }
        let r = report_with("受理政府信息公开申请 1024\n件");
        assert_eq!(statements(&r)[0].number, 1024);
    }

    proptest::proptest! {
        /// The clauses read in place are the clauses split out, the word
        /// found across spacing is the word in the text without it, and the
        /// counts are the digit runs before 件 that fit a u64.
        #[test]
        fn reading_in_place_finds_what_splitting_and_copying_find(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "信", "息", "处理", "费", "信息处理费", "信息\n处理费", "信 息处理\u{3000}费", "件", "文件", "申请", "0", "１",
                    "9", "99999999999", " ", "\n", "\u{3000}", "。", "，", "、", "（", "）",
                ]),
                0..40,
            ),
        ) {
            let text: String = pieces.concat();
            let split: Vec<&str> = text.split(CLAUSE_BREAKS).filter(|c| c.contains('件')).collect();
            proptest::prop_assert_eq!(clauses_with_jian(&text).collect::<Vec<_>>(), split);
            proptest::prop_assert_eq!(
                contains_unspaced(&text, "信息处理费"),
                without_spacing(&text).contains("信息处理费")
            );
            let mut want = Vec::new();
            let mut digits = String::new();
            let mut start = 0;
            for (i, ch) in text.char_indices() {
                if let Some(d) = ch.to_digit(10).or_else(|| {
                    ('０'..='９').contains(&ch).then(|| u32::from(ch) - u32::from('０'))
                }) {
                    if digits.is_empty() {
                        start = i;
                    }
                    digits.push(char::from_digit(d, 10).unwrap());
                    continue;
                }
                if ch == '件' && let Ok(n) = digits.parse::<u64>() {
                    want.push((start, n));
                }
                digits.clear();
            }
            proptest::prop_assert_eq!(counts_in(&text).collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn every_usual_way_of_saying_no_fee_was_charged_is_a_stated_fee() {
        let mut r = report_with("");
        r.t3.as_mut().unwrap().set(T3Row::R22, T3Col::Total, 1);
        for six in [
            "本年度未收取任何费用。",
            "本机关没有产生信息处理费用。",
            "本年度信息处理费为零。",
            "本年度未收取信息处理费。",
            "严格落实《政府信息公开信息处理费管理办法》，本年度未收取任何费用。",
            "依据《政府信息公开信息处理费管理办法》，本机关没有产生信息处理费用。",
            "严格落实《政府信息公开信息处理费管理办\n法》，全年收取政府信息公开信息处理费 0\n元。",
            "本年度不涉及信息处理费。",
        ] {
            r.sections[5] = Some(six.to_owned());
            let mut out = Vec::new();
            fee_rule(&r, &mut out);
            assert!(out.is_empty(), "{six:?}: {out:?}");
        }
        // A citation of the regulation alone states nothing.
        r.sections[5] = Some("严格落实《政府信息公开信息处理费管理办法》。".to_owned());
        let mut out = Vec::new();
        fee_rule(&r, &mut out);
        assert_eq!(out.len(), 1);
    }
}
