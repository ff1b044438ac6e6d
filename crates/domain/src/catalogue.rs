//! The rule catalogue: every rule id, its default severity, the data years it
//! applies to, and what it checks. Versioned: a change to any rule's meaning
//! or severity bumps [`RULESET_VERSION`].

use crate::Severity;

/// Version of the rule set. Stored beside every check result.
///
/// 2026.2: `import.unit-in-cell` added (a unit inside a cell was
/// `import.unreadable-cell` read as 0); `text.count-mismatch` also reads the
/// prose of sections 二, 三 and 四; `aggregate.area-sum` added (a
/// government's own report against the sum of its area).
///
/// 2026.3: a row the document did not contain is unknown, not zero:
/// `import.row-missing` names it (from the check, so a report given over the
/// wire is held to it too), and `t3.balance`, `t3.outcome-total` and
/// `cross-year.carry-over` say once, as a warning, that they could not check
/// instead of adding it up; `import.metadata` also names two sources of the
/// year or agency that disagree; `text.count-mismatch` reads counts across
/// spaces and line breaks (and 上年度结转 as R02); `text.fee-unstated` takes
/// every usual way of saying that no fee was charged.
///
/// 2026.4: `value.range` bounds every cell (see [`MAX_COUNT`]), so no set
/// of accepted reports can overflow an area's sum.
pub const RULESET_VERSION: &str = "2026.4";

// ---------------------------------------------------------------------------
// value.range: plausibility bounds
// ---------------------------------------------------------------------------
//
// Every cell of a report is bounded, and so is the number of reports one
// area sum can hold; the product of the two fits the sum's type, so adding an
// accepted report to an area's sum can never overflow, and an approval can
// never fail on account of the sum (the store refuses an approval only for
// the report's own content). The argument:
//
// - an area sum (area · year) adds at most one approved report per agency
//   of the area's subtree, and a store registers at most [`MAX_AGENCIES`]
//   agencies, so a sum holds at most `MAX_AGENCIES` reports;
// - each count is ≤ [`MAX_COUNT`]: a count of the sum is ≤ 10⁸ × 10¹⁰ =
//   10¹⁸ < u64::MAX ≈ 1.8 × 10¹⁹;
// - each 本年增/减 is within ±[`MAX_CHANGE`]: a change of the sum is within
//   ±10¹⁸ < i64::MAX ≈ 9.2 × 10¹⁸;
// - each amount is 0 ≤ a ≤ [`MAX_AMOUNT_WAN_YUAN`] 万元 with at most 6
//   decimals, a mantissa ≤ 10⁹ × 10⁶ = 10¹⁵ at scale 6: an amount of the sum
//   is a mantissa ≤ 10⁸ × 10¹⁵ = 10²³ < i128::MAX ≈ 1.7 × 10³⁸.
//
// The bounds are far above anything real (there are about 1.4 × 10⁹ people;
// the national 行政事业性收费 come to a few 10⁷ 万元 a year; China has some
// 2 × 10⁵ administrative bodies), so a figure above one is a typing error or
// an attack, never a report. The compiler checks the products below.

/// The most any count may be: 一百亿 (10¹⁰).
pub const MAX_COUNT: u64 = 10_000_000_000;

/// The most a signed change (本年增/减, 2019 trial format) may be either way.
pub const MAX_CHANGE: i64 = 10_000_000_000;

/// The most an amount may be, in 万元: 十万亿元 (10⁹ 万元).
pub const MAX_AMOUNT_WAN_YUAN: u64 = 1_000_000_000;

/// The most agencies one store registers (一亿), hence the most reports one
/// area sum adds up for a year.
pub const MAX_AGENCIES: u64 = 100_000_000;

/// The compiler's check of the argument above.
const _: () = {
    let agencies = MAX_AGENCIES as u128;
    assert!(matches!(agencies.checked_mul(MAX_COUNT as u128), Some(n) if n <= u64::MAX as u128));
    assert!(matches!(agencies.checked_mul(MAX_CHANGE as u128), Some(n) if n <= i64::MAX as u128));
    // An amount's mantissa at the 分 (scale 6) is the amount × 10⁶.
    assert!(matches!(
        (MAX_AMOUNT_WAN_YUAN as u128).checked_mul(1_000_000),
        Some(micro) if matches!(agencies.checked_mul(micro), Some(n) if n <= i128::MAX as u128)
    ));
};

/// First data year of any national format (the 2019 trial format).
pub const FIRST_FORMAT_YEAR: u32 = 2019;

/// First data year of the 2021 format.
pub const FORMAT_2021_YEAR: u32 = 2021;

/// Data years the checker knows a format for; a year outside is itself a
/// `report.data-year` finding.
pub const KNOWN_YEARS: std::ops::RangeInclusive<u32> = FIRST_FORMAT_YEAR..=2100;

/// One rule.
#[derive(Debug)]
pub struct Rule {
    /// Stable id, e.g. `t3.balance`.
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// First data year the rule applies to.
    pub first_year: u32,
    /// Last data year, if the rule was retired.
    pub last_year: Option<u32>,
    /// What it checks, in Chinese.
    pub summary_zh: &'static str,
    /// What it checks, in English.
    pub summary_en: &'static str,
}

impl Rule {
    /// Whether the rule applies to a data year. A year that could not be read
    /// (0) gets every rule, so nothing is skipped silently.
    pub fn applies_to(&self, data_year: u32) -> bool {
        data_year == 0
            || (data_year >= self.first_year && self.last_year.is_none_or(|last| data_year <= last))
    }
}

macro_rules! catalogue {
    ($($konst:ident $id:literal $sev:ident $first:ident $zh:literal $en:literal;)*) => {
        /// Rule ids, as constants.
        pub mod id {
            $(#[doc = $en] pub const $konst: &str = $id;)*
        }
        /// Every rule, in catalogue order.
        pub const RULES: &[Rule] = &[$(Rule {
            id: $id,
            severity: Severity::$sev,
            first_year: $first,
            last_year: None,
            summary_zh: $zh,
            summary_en: $en,
        },)*];
    };
}

catalogue! {
    T3_BALANCE "t3.balance" Error FIRST_FORMAT_YEAR
        "各列：第一项加第二项之和等于第三项加第四项之和（R01 + R02 = R24 + R25）"
        "in each T3 column, R01 + R02 = R24 + R25 (the format's own 勾稽关系)";
    T3_OUTCOME_TOTAL "t3.outcome-total" Error FIRST_FORMAT_YEAR
        "各列：（七）总计等于（一）至（六）各项之和（R24 = R03 + … + R23）"
        "in each T3 column, R24 = R03 + R04 + … + R23";
    T3_ROW_TOTAL "t3.row-total" Error FIRST_FORMAT_YEAR
        "各行：总计等于自然人与五类法人或其他组织之和"
        "in each T3 row, 总计 = 自然人 + the five organisation columns";
    T4_BLOCK_TOTAL "t4.block-total" Error FIRST_FORMAT_YEAR
        "行政复议、行政诉讼各栏：总计等于结果维持、结果纠正、其他结果、尚未审结之和"
        "in each T4 block, 总计 = 维持 + 纠正 + 其他 + 尚未审结";
    VALUE_RANGE "value.range" Error FIRST_FORMAT_YEAR
        "数量为非负整数且不超过一百亿，增减不超过±一百亿，合计不得溢出；金额非负、不超过十万亿元（10亿万元）且最多精确到分（万元下6位小数）"
        "counts are integers 0..=10¹⁰ (changes within ±10¹⁰) and sums do not overflow; money is 0..=10⁹ 万元 and exact to the 分 (6 decimals of 万元)";
    AGENCY_USCC "agency.uscc" Error FIRST_FORMAT_YEAR
        "统一社会信用代码格式正确、校验码正确"
        "the agency's 统一社会信用代码 is well formed and its check character is right";
    AGENCY_REGION_CODE "agency.region-code" Error FIRST_FORMAT_YEAR
        "行政区划代码为6位数字，且省级代码存在"
        "the 行政区划代码 is six digits naming an existing province";
    REPORT_DATA_YEAR "report.data-year" Error FIRST_FORMAT_YEAR
        "数据年度可识别，且不早于有全国统一格式的2019年"
        "the data year is known and not before 2019, the first year with a national format";
    REPORT_FORMAT_VERSION "report.format-version" Error FIRST_FORMAT_YEAR
        "2021年及以后年度使用2021年格式，2019、2020年度使用试行格式"
        "data year ≥ 2021 uses the 2021 format; 2019–2020 the trial format";
    REPORT_SECTION_MISSING "report.section-missing" Error FIRST_FORMAT_YEAR
        "六个部分齐全；第五、六部分为空时提示警告"
        "every section is present; an empty 五 or 六 is a warning";
    T2_IN_FORCE_BELOW_ISSUED "t2.in-force-below-issued" Warning FORMAT_2021_YEAR
        "同一行中现行有效件数不少于本年制发件数"
        "现行有效件数 ≥ 本年制发件数 in the same T2 row";
    T2_REGULATIONS_UNEXPECTED "t2.regulations-unexpected" Warning FORMAT_2021_YEAR
        "县级及以下机关（含乡镇、街道）无权制定规章，规章一行应为0"
        "a body that cannot make 规章 (county level and below) reports non-zero 规章";
    CROSS_YEAR_CARRY_OVER "cross-year.carry-over" Warning FIRST_FORMAT_YEAR
        "本年“上年结转”等于上年报告的“结转下年度继续办理”（逐列）"
        "this year's R02 = last year's R25, per column (needs last year's report)";
    CROSS_YEAR_IN_FORCE "cross-year.in-force" Info FORMAT_2021_YEAR
        "本年现行有效件数 = 上年现行有效件数 + 本年制发 − 本年废止（文件也可能自然失效，仅作提示）"
        "this year's 现行有效 = last year's + 本年制发 − 本年废止 (documents can also lapse, so only info)";
    TEXT_COUNT_MISMATCH "text.count-mismatch" Warning FIRST_FORMAT_YEAR
        "正文所述数量与表格不一致"
        "a count stated in the prose differs from the table";
    TEXT_FEE_UNSTATED "text.fee-unstated" Warning FIRST_FORMAT_YEAR
        "有收费情形（R22 > 0 或正文提及收费），但第六部分未说明信息处理费收取金额"
        "R22 > 0 or fees mentioned, but section 六 states no 信息处理费 amount";
    AGGREGATE_AREA_SUM "aggregate.area-sum" Info FIRST_FORMAT_YEAR
        "本级政府年度报告的表格数据与其所辖各机关已通过报告的逐格合计不一致"
        "a government's own area-wide report differs, cell by cell, from the sum of the approved reports of the agencies under it";
    IMPORT_BLANK_CELL "import.blank-cell" Warning FIRST_FORMAT_YEAR
        "表格单元格为空、“—”或“/”，按0读取"
        "a table cell was blank, \"—\" or \"/\" in the published text (read as 0)";
    IMPORT_UNIT_IN_CELL "import.unit-in-cell" Warning FIRST_FORMAT_YEAR
        "单元格内写有单位（如“251000元”“12件”），表格的单位在表头，已按表头单位读取"
        "a table cell carries a unit (\"251000元\", \"12件\"); the table's unit is in its header, and the value was read in it";
    IMPORT_LABEL_DRIFT "import.label-drift" Warning FIRST_FORMAT_YEAR
        "行、列标签与官方格式用语不一致"
        "a row or column label differs from the official wording";
    IMPORT_ROW_MISSING "import.row-missing" Error FIRST_FORMAT_YEAR
        "表格缺少应有的行：其数值未知，需要这些数值的核对不进行（各自说明未能核对）"
        "a table lacks a row of the format: its cells are unknown, and every rule that needs them says it could not check instead of adding them up";
    IMPORT_UNREADABLE_CELL "import.unreadable-cell" Error FIRST_FORMAT_YEAR
        "单元格内容无法识别为数量或金额"
        "a table cell holds something that is not a count or an amount";
    IMPORT_ROW_DUPLICATE "import.row-duplicate" Error FIRST_FORMAT_YEAR
        "同一行在表格中出现两次，以第一次为准"
        "a row of the format appears twice in the table; the first is kept";
    IMPORT_UNKNOWN_ROW "import.unknown-row" Warning FIRST_FORMAT_YEAR
        "表格中有无法对应到格式的行，已忽略"
        "a table row whose label matches no row of the format was ignored";
    IMPORT_METADATA "import.metadata" Warning FIRST_FORMAT_YEAR
        "无法从文本中识别机关名称或格式版本，已按推断处理；或标题、网页标题、统计期限所述年度、机关不一致"
        "the agency name or the format could not be read from the text and was inferred; or the title, the page title and the statistics period disagree on the year or agency";
}

/// A rule by id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Position of a rule in the catalogue (unknown ids last), for ordering findings.
pub fn position(id: &str) -> usize {
    RULES.iter().position(|r| r.id == id).unwrap_or(RULES.len())
}

/// The default severity of a rule; `Error` for an id not in the catalogue,
/// so a misspelt id can never weaken a finding.
pub fn severity_of(id: &str) -> Severity {
    rule(id).map_or(Severity::Error, |r| r.severity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        for r in RULES {
            assert!(
                r.id.contains('.')
                    && r.id.chars().all(|c| c.is_ascii_lowercase()
                        || c == '.'
                        || c == '-'
                        || c.is_ascii_digit()),
                "{}",
                r.id
            );
        }
    }

    #[test]
    fn years_are_stated_and_applied() {
        let t2 = rule(id::T2_IN_FORCE_BELOW_ISSUED).unwrap();
        assert!(!t2.applies_to(2020));
        assert!(t2.applies_to(2021));
        assert!(rule(id::T3_BALANCE).unwrap().applies_to(2019));
        assert!(t2.applies_to(0));
    }
}
