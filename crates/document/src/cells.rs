//! Reading labels and cells as published: full-width forms, stray spaces,
//! ordinals, blank markers.

use gongkai_domain::{
    Finding, Location, Money,
    catalogue::id,
    shape::{CellKind, Value},
};

/// Folds a label to a comparable form: no white space, full-width ASCII forms
/// to ASCII, curly quotes to straight ones, Markdown emphasis dropped.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(&mut out, s);
    out
}

/// [`fold`], appended to `out`: folding a whole table into one buffer costs
/// no allocation per cell.
pub fn fold_into(out: &mut String, s: &str) {
    // Plain ASCII without spaces or emphasis folds to itself (value cells).
    if s.bytes().all(|b| b.is_ascii_graphic() && b != b'*') {
        out.push_str(s);
        return;
    }
    out.reserve(s.len());
    // Most characters fold to themselves: they are copied a run at a time,
    // not pushed one by one.
    let mut run_start = 0;
    for (i, c) in s.char_indices() {
        let folded = fold_char(c);
        if folded == Some(c) {
            continue;
        }
        out.push_str(s.get(run_start..i).unwrap_or_default());
        out.extend(folded);
        run_start = i.saturating_add(c.len_utf8());
    }
    out.push_str(s.get(run_start..).unwrap_or_default());
}

/// Whether `raw` folds to `folded` (see [`fold`]), without building its
/// folded form.
pub fn folds_to(raw: &str, folded: &str) -> bool {
    raw.chars().filter_map(fold_char).eq(folded.chars())
}

/// What one character folds to: None for layout noise, which is dropped.
#[inline]
fn fold_char(c: char) -> Option<char> {
    // A Chinese character, most of a label, is itself.
    if ('\u{4e00}'..='\u{9fff}').contains(&c) {
        return Some(c);
    }
    if is_spacing(c) {
        return None;
    }
    Some(match c {
        // Full-width ASCII variants: （）：，．１ → ():,.1
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(u32::from(c).wrapping_sub(0xfee0)).unwrap_or(c),
        '“' | '”' | '「' | '」' => '"',
        '‘' | '’' => '\'',
        '、' => ',',
        '—' | '–' => '-',
        _ => c,
    })
}

/// Drops only spacing, zero-width spaces and Markdown emphasis: what a name
/// keeps as published (full-width brackets, quotes) while layout noise goes.
pub fn strip_spacing(s: &str) -> String {
    s.chars().filter(|c| !is_spacing(*c)).collect()
}

/// Layout noise in a label or name: white space, zero-width spaces and
/// Markdown emphasis.
pub(crate) fn is_spacing(c: char) -> bool {
    c.is_whitespace() || c == '*' || c == '\u{200b}'
}

/// Whether a character is a numeral of a Chinese ordinal (一 … 十); asked of
/// the first characters of every label.
fn is_chinese_numeral(c: char) -> bool {
    matches!(
        c,
        '一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十'
    )
}

/// The ordinal of a T2 block heading, folded: "第二十条第(八)项" → "八".
/// The heading ends the text: a sentence that cites the item is not one.
pub(crate) fn item_ordinal(folded: &str) -> Option<&str> {
    let (_, rest) = folded.split_once("第(")?;
    let n = rest.strip_suffix(")项")?;
    (!n.is_empty() && n.chars().all(is_chinese_numeral)).then_some(n)
}

/// A label's leading ordinal, folded: its digits as published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ordinal<'a> {
    /// 三、 (folded `三,`).
    Chinese(&'a str),
    /// （三） (folded `(三)`).
    Bracketed(&'a str),
    /// 3. or 3、 (folded `3.`, `3,`), without leading zeros.
    Arabic(&'a str),
}

/// Splits one leading ordinal from a folded label: `三,` (from 三、), `(三)`,
/// `3.` or `3,`. Returns the ordinal and the rest.
pub fn split_ordinal(folded: &str) -> Option<(Ordinal<'_>, &str)> {
    let digits = |rest: &str| folded.strip_suffix(rest).unwrap_or_default();
    // 三、 (folded to "三,")
    let chinese = folded.trim_start_matches(is_chinese_numeral);
    if chinese.len() < folded.len()
        && let Some(rest) = chinese.strip_prefix(',')
    {
        return Some((Ordinal::Chinese(digits(chinese)), rest));
    }
    // (三)
    if let Some(inner) = folded.strip_prefix('(') {
        let after = inner.trim_start_matches(is_chinese_numeral);
        if after.len() < inner.len()
            && let Some(rest) = after.strip_prefix(')')
        {
            let n = inner.strip_suffix(after).unwrap_or_default();
            return Some((Ordinal::Bracketed(n), rest));
        }
    }
    // 3. or 3,
    let arabic = folded.trim_start_matches(|c: char| c.is_ascii_digit());
    if arabic.len() < folded.len()
        && let Some(rest) = arabic.strip_prefix(['.', ','])
    {
        let n = digits(arabic).trim_start_matches('0');
        return Some((Ordinal::Arabic(n), rest));
    }
    None
}

/// Strips one leading ordinal from a folded label (see [`split_ordinal`]).
/// Returns the rest.
pub fn strip_ordinal(folded: &str) -> &str {
    split_ordinal(folded).map_or(folded, |(_, rest)| rest)
}

/// The folded label without its ordinal.
pub fn core(label: &str) -> String {
    let mut folded = fold(label);
    // The ordinal is dropped in place: one allocation per label.
    let ordinal = folded.len().saturating_sub(strip_ordinal(&folded).len());
    folded.drain(..ordinal);
    folded
}

/// Whether a cell reads as a label rather than a value: it holds at least two
/// Chinese characters ("251000元" has one and is a value with a unit), and is
/// not a number with a unit ("14852.1812万元" has two and is a value).
pub fn is_label(cell: &str) -> bool {
    cell.chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .nth(1)
        .is_some()
        // Only 万元 is a unit of two Chinese characters: fold just those cells.
        && !(cell.contains('元') && split_unit(&fold(cell)).1.is_some())
}

/// Markers a publisher uses for an empty cell.
const BLANK_MARKERS: &[&str] = &["", "-", "--", "/", "\\", "无"];

/// Reads one value cell of a kind. A blank cell becomes zero with an
/// `import.blank-cell` finding; anything unreadable becomes zero with an
/// error finding, so nothing is ever a silent zero.
pub fn read_cell(
    raw: Option<&str>,
    kind: CellKind,
    location: impl FnOnce() -> Location,
    findings: &mut Vec<Finding>,
) -> Value {
    let raw = raw.unwrap_or("");
    // Fast path: the plain digits nearly every cell holds.
    if kind == CellKind::Count
        && !raw.is_empty()
        && raw.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = raw.parse()
    {
        return Value::Count(n);
    }
    // Built only here, off the fast path: most cells never need it.
    let location = location();
    let text = fold(raw);
    if BLANK_MARKERS.contains(&text.as_str()) {
        findings.push(Finding::new(
            id::IMPORT_BLANK_CELL,
            location.clone(),
            format!("{location}单元格为空（“{}”），按0读取 — cell {location} is blank (\"{}\"), read as 0", raw.trim(), raw.trim()),
        ));
        return Value::zero(kind);
    }
    let (number, unit) = split_unit(&text);
    let mut plain = strip_thousands(number);
    if let Some(unit) = unit {
        match (kind, unit) {
            (CellKind::Count | CellKind::Delta, u) if COUNT_UNITS.contains(&u) => {}
            (CellKind::Money, "万元") => {}
            (CellKind::Money, "元") => match yuan_to_wan(&plain) {
                Some(wan) => plain = wan,
                None => {
                    findings.push(*unreadable(&location, raw, "不是金额 — not an amount"));
                    return Value::zero(kind);
                }
            },
            _ => {
                findings.push(*unreadable(
                    &location,
                    raw,
                    &format!("的单位“{unit}”不是本列的单位 — carries a unit ({unit}) this column does not count in"),
                ));
                return Value::zero(kind);
            }
        }
    }
    // Boxed: a Finding is large and this is the cold path.
    let parsed: Result<Value, Box<Finding>> = match kind {
        CellKind::Count => parse_count(&plain, &location),
        CellKind::Delta => plain
            .trim_start_matches('+')
            .parse::<i64>()
            .map(Value::Delta)
            .map_err(|_| unreadable(&location, raw, "不是整数 — not a whole number")),
        CellKind::Money => plain.parse::<Money>().map(Value::Money).map_err(|e| {
            unreadable(
                &location,
                raw,
                &format!("不是金额（{e}） — not an amount of 万元"),
            )
        }),
    };
    match parsed {
        Ok(v) => {
            if let Some(unit) = unit {
                findings.push(Finding::new(
                    id::IMPORT_UNIT_IN_CELL,
                    location.clone(),
                    format!(
                        "{location}单元格“{}”写有单位“{unit}”，按表头单位读作{v} — cell {location} \"{}\" carries the unit {unit}; read as {v} in the column's unit",
                        raw.trim(),
                        raw.trim()
                    ),
                ));
            }
            v
        }
        Err(f) => {
            findings.push(*f);
            Value::zero(kind)
        }
    }
}

fn parse_count(text: &str, location: &Location) -> Result<Value, Box<Finding>> {
    if let Some(rest) = text.strip_prefix('-')
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Box::new(Finding::new(
            id::VALUE_RANGE,
            location.clone(),
            format!("{location}为负数{text} — count {location} is negative ({text})"),
        )));
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(unreadable(
            location,
            text,
            "不是非负整数 — not a whole number ≥ 0",
        ));
    }
    text.parse::<u64>().map(Value::Count).map_err(|_| {
        Box::new(Finding::new(
            id::VALUE_RANGE,
            location.clone(),
            format!("{location}数值{text}超出可表示范围 — count {location} ({text}) is too large to hold"),
        ))
    })
}

fn unreadable(location: &Location, raw: &str, why: &str) -> Box<Finding> {
    Box::new(Finding::new(
        id::IMPORT_UNREADABLE_CELL,
        location.clone(),
        format!(
            "{location}单元格“{}”{why}（按0读取） — cell {location} \"{}\" read as 0",
            raw.trim(),
            raw.trim()
        ),
    ))
}

/// The units money is written with, longest first (万元 before 元). With
/// [`COUNT_UNITS`], the units a publisher writes inside a cell.
const MONEY_UNITS: &[&str] = &["万元", "元"];

/// The units a count is written with.
const COUNT_UNITS: &[&str] = &["件", "个", "项", "条", "次"];

/// Splits a unit off the end of a number: ("251000", Some("元")). Text that
/// is not a number before the unit keeps it (and is unreadable later).
fn split_unit(text: &str) -> (&str, Option<&'static str>) {
    for unit in MONEY_UNITS.iter().chain(COUNT_UNITS) {
        if let Some(number) = text.strip_suffix(unit)
            && !number.is_empty()
            && number
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b',' | b'.' | b'-' | b'+'))
        {
            return (number, Some(unit));
        }
    }
    (text, None)
}

/// An amount of 元 written in 万元, exactly: "251000" → "25.1000",
/// "12.5" → "0.00125".
fn yuan_to_wan(yuan: &str) -> Option<String> {
    let (int, frac) = yuan.split_once('.').unwrap_or((yuan, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac}");
    // The decimal point moves four places left.
    let point = int.len().checked_sub(4);
    Some(match point {
        Some(0) | None => {
            let zeros = 4usize.saturating_sub(int.len());
            format!("0.{}{digits}", "0".repeat(zeros))
        }
        Some(p) => format!("{}.{}", digits.get(..p)?, digits.get(p..)?),
    })
}

/// Drops thousands separators from a number written like `1,234,567`.
fn strip_thousands(s: &str) -> String {
    let int = s.split('.').next().unwrap_or("");
    let groups: Vec<&str> = int.trim_start_matches('-').split(',').collect();
    let grouped = groups.len() > 1
        && groups.first().is_some_and(|g| (1..=3).contains(&g.len()))
        && groups.iter().skip(1).all(|g| g.len() == 3)
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    if grouped {
        s.replace(',', "")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_publishing_variants_to_one_form() {
        assert_eq!(
            fold("(二) 部分公开(区分处理的, 只计这一情形, 不计其他情形)"),
            fold("（二）部分公开（区分处理的，只计这一情形，不计其他情形）")
        );
        assert_eq!(fold("结果 维持"), "结果维持");
        assert_eq!(fold("3. 危及“三安全一稳定”"), "3.危及\"三安全一稳定\"");
    }

    proptest::proptest! {
        /// Folding a run at a time is folding each character; comparing
        /// folded forms in place is comparing the folded strings; a core is
        /// the folded label without its ordinal.
        #[test]
        fn folding_in_runs_folds_each_character(
            a in "[一三a1 （）“”、—\u{3000}\u{200b}*:：,１]{0,12}",
            b in "[一三a1 （）“”、—\u{3000}\u{200b}*:：,１]{0,12}",
        ) {
            let each: String = a.chars().filter_map(fold_char).collect();
            proptest::prop_assert_eq!(&fold(&a), &each);
            proptest::prop_assert_eq!(folds_to(&b, &fold(&a)), fold(&a) == fold(&b));
            let folded = fold(&a);
            proptest::prop_assert_eq!(core(&a), strip_ordinal(&folded));
        }
    }

    #[test]
    fn strips_each_kind_of_ordinal() {
        assert_eq!(core("三、本年度办理结果"), "本年度办理结果");
        assert_eq!(core("(七) 总计"), "总计");
        assert_eq!(core("（一）予以公开"), "予以公开");
        assert_eq!(core("1. 属于国家秘密"), "属于国家秘密");
        assert_eq!(core("2、重复申请"), "重复申请");
        assert_eq!(core("总计"), "总计");
        assert_eq!(
            split_ordinal("(六)其他处理"),
            Some((Ordinal::Bracketed("六"), "其他处理"))
        );
        assert_eq!(
            split_ordinal("十二,x"),
            Some((Ordinal::Chinese("十二"), "x"))
        );
        assert_eq!(split_ordinal("03.x"), Some((Ordinal::Arabic("3"), "x")));
        assert_eq!(split_ordinal("3x"), None);
    }

    #[test]
    fn reads_cells_and_names_what_it_could_not() {
        let loc = Location::cell("t3", "R01", "total");
        let mut f = Vec::new();
        assert_eq!(
            read_cell(Some(" 78 "), CellKind::Count, || loc.clone(), &mut f),
            Value::Count(78)
        );
        assert_eq!(
            read_cell(Some("１２"), CellKind::Count, || loc.clone(), &mut f),
            Value::Count(12)
        );
        assert_eq!(
            read_cell(Some("1,234"), CellKind::Count, || loc.clone(), &mut f),
            Value::Count(1234)
        );
        assert!(f.is_empty());
        for (raw, rule) in [
            ("", id::IMPORT_BLANK_CELL),
            ("—", id::IMPORT_BLANK_CELL),
            ("/", id::IMPORT_BLANK_CELL),
            ("251000元", id::IMPORT_UNREADABLE_CELL),
            ("12万元", id::IMPORT_UNREADABLE_CELL),
            ("3.5", id::IMPORT_UNREADABLE_CELL),
            ("-2", id::VALUE_RANGE),
            ("99999999999999999999999", id::VALUE_RANGE),
        ] {
            let mut f = Vec::new();
            assert_eq!(
                read_cell(Some(raw), CellKind::Count, || loc.clone(), &mut f),
                Value::Count(0),
                "{raw}"
            );
            assert_eq!(f.len(), 1, "{raw}");
            assert_eq!(f[0].rule, rule, "{raw}");
            assert_eq!(f[0].location.path(), "t3.R01.total");
        }
        let money = read_cell(Some("14852.1812"), CellKind::Money, || loc.clone(), &mut f);
        assert_eq!(money.to_string(), "14852.1812");
        assert!(f.is_empty());
    }

    #[test]
    fn a_number_with_a_unit_is_a_value_not_a_label() {
        assert!(!is_label("14852.1812万元"));
        assert!(!is_label("１４８５２万元"));
        assert!(!is_label("251000元"));
        assert!(is_label("行政事业性收费"));
        assert!(is_label("1.本机关不掌握相关政府信息"));
    }

    #[test]
    fn units_in_cells_are_read_in_the_column_unit_with_a_finding() {
        let loc = Location::cell("t2", "fees", "amount");
        for (raw, kind, want) in [
            ("251000元", CellKind::Money, "25.1000"),
            ("251,000元", CellKind::Money, "25.1000"),
            ("12.5元", CellKind::Money, "0.00125"),
            ("300元", CellKind::Money, "0.0300"),
            ("14852.1812万元", CellKind::Money, "14852.1812"),
            ("12件", CellKind::Count, "12"),
            ("１２件", CellKind::Count, "12"),
        ] {
            let mut f = Vec::new();
            assert_eq!(
                read_cell(Some(raw), kind, || loc.clone(), &mut f).to_string(),
                want,
                "{raw}"
            );
            assert_eq!(f.len(), 1, "{raw}");
            assert_eq!(f[0].rule, id::IMPORT_UNIT_IN_CELL, "{raw}");
            assert_eq!(f[0].location.path(), "t2.fees.amount");
        }
    }
}
