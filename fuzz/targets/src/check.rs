//! Target `check`: the domain checker over reports of the right shape. The
//! first byte chooses how the report is made:
//! - 0: built cell by cell from the bytes (`arbitrary`): every table of its
//!   format, counts from the small to `u64::MAX`, money and signed changes,
//!   prose made of the phrases the text rules read, metadata; with a
//!   previous year's report made the same way half of the time;
//! - 1: decoded from the bytes as the wire's `AnnualReport` (prost) and
//!   converted as every RPC converts it;
//! - 2: as 1, with a previous year's report decoded first (its length
//!   in two bytes, big-endian, before it).
//!
//! Every report is checked (with and without the previous year), its
//! findings converted to the wire, its tables added to and taken from an
//! area's sum; a report read from the wire must come back unchanged from
//! its own wire form.

use arbitrary::{Result, Unstructured};
use gongkai_domain::{
    AgencyLevel, FormatVersion, Money, Report, Verdict,
    area::{self, Sign},
    shape::{T3_COLUMNS, T3Row, T4_BLOCKS, T4_COLUMNS, Value},
};
use gongkai_proto::v1 as pb;
use prost::Message;

/// The body.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(mode) = u.arbitrary::<u8>() else {
        return;
    };
    match mode % 3 {
        0 => {
            let Ok(report) = report(&mut u) else { return };
            let previous = match u.arbitrary::<bool>() {
                Ok(true) => previous_of(&mut u, &report).ok(),
                _ => None,
            };
            check_report(&report, previous.as_ref());
        }
        1 => {
            if let Some(report) = from_wire(u.take_rest()) {
                check_report(&report, None);
            }
        }
        _ => {
            // A u16 (big-endian) length, last year's report, this year's.
            let rest = u.take_rest();
            let Some((len, rest)) = rest.split_first_chunk::<2>() else {
                return;
            };
            let (previous, current) =
                rest.split_at(usize::from(u16::from_be_bytes(*len)).min(rest.len()));
            let previous = from_wire(previous);
            if let Some(report) = from_wire(current) {
                check_report(&report, previous.as_ref());
            }
        }
    }
}

/// A wire report as the server reads it; one that converts must come back
/// unchanged from its own wire form (what is checked is what is stored).
fn from_wire(bytes: &[u8]) -> Option<Report> {
    let wire = pb::AnnualReport::decode(bytes).ok()?;
    let report = Report::try_from(&wire).ok()?;
    let again = Report::try_from(&pb::AnnualReport::from(&report));
    assert_eq!(
        again.as_ref(),
        Ok(&report),
        "a converted report does not survive its own wire form"
    );
    Some(report)
}

/// Everything the checker offers over one report.
pub fn check_report(report: &Report, previous: Option<&Report>) {
    let findings = match gongkai_domain::check(report, previous) {
        Ok(f) => f,
        // Not last year's report of the same agency: checked alone, as the
        // server does.
        Err(e) => {
            let _ = e.to_string();
            gongkai_domain::check_alone(report)
        }
    };
    let verdict = Verdict::of(&findings);
    let _ = pb::Verdict::from(verdict);
    for f in &findings {
        let _ = (pb::Finding::from(f), f.location.path());
    }
    let _ = gongkai_domain::check_tables(report);
    sum_and_take_away(report);
}

/// Added to an area's sum and taken away again, the sum is zero again; the
/// government's own report compared with a sum that holds it.
fn sum_and_take_away(report: &Report) {
    let zero = area::zero_sum(report.metadata.data_year);
    let mut sum = zero.clone();
    if area::accumulate(&mut sum, report, Sign::Add).is_err() {
        assert_eq!(sum, zero, "a refused addition changed the sum");
        return;
    }
    let _ = area::compare_with_area(report, &sum);
    let taken = area::accumulate(&mut sum, report, Sign::Subtract);
    assert!(
        taken.is_ok(),
        "what was added cannot be taken away: {taken:?}"
    );
    assert_eq!(
        area::differing_cells(&sum, &zero),
        Vec::<String>::new(),
        "adding and taking away a report leaves a sum that is not zero"
    );
}

// ---------------------------------------------------------------------------
// Reports built from the bytes, cell by cell.
// ---------------------------------------------------------------------------

/// Words and sentences the text rules, the section finder and the metadata
/// rules look for.
const PHRASES: &[&str] = &[
    "收到政府信息公开申请",
    "新收政府信息公开申请",
    "办结",
    "答复",
    "上年结转",
    "结转下年度继续办理",
    "行政复议",
    "行政诉讼",
    "制发规范性文件",
    "废止规范性文件",
    "现行有效规范性文件",
    "件",
    "条",
    "同比",
    "增长",
    "本年度未收取任何费用",
    "信息处理费",
    "万元",
    "。",
    "，",
    "；",
    "\n",
    "（",
    "）",
    " ",
];

const USCCS: &[&str] = &[
    "112305230123456785",
    "11330700099033995K",
    "11330700099033995X",
];
const NAMES: &[&str] = &[
    "宝庆县人民政府",
    "宝庆县财政局",
    "城关镇人民政府",
    "东关街道办事处",
    "宝庆市人民政府",
];
const REGIONS: &[&str] = &["230523", "230500", "230000", "2305", "000000"];

fn count(u: &mut Unstructured) -> Result<u64> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => u64::MAX,
        1 => u64::MAX.saturating_sub(u64::from(u.arbitrary::<u8>()?)),
        2 => 1 << 63,
        3 => u.arbitrary()?,
        4 => u64::from(u.arbitrary::<u32>()?),
        _ => u64::from(u.int_in_range(0u8..=40)?),
    })
}

fn delta(u: &mut Unstructured) -> Result<i64> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => i64::MIN,
        1 => i64::MAX,
        2 => u.arbitrary()?,
        _ => i64::from(u.int_in_range(-20i8..=20)?),
    })
}

fn money(u: &mut Unstructured) -> Result<Money> {
    let text = match u.int_in_range(0u8..=5)? {
        0 => u.arbitrary::<String>()?,
        1 => format!("-{}.{}", u.arbitrary::<u32>()?, u.arbitrary::<u16>()?),
        2 => format!("{}{}", u.arbitrary::<u128>()?, u.arbitrary::<u64>()?),
        _ => format!(
            "{}.{:0width$}",
            u.int_in_range(0u32..=20_000)?,
            u.int_in_range(0u32..=9_999)?,
            width = usize::from(u.int_in_range(0u8..=7)?)
        ),
    };
    Ok(text.parse().unwrap_or(Money::ZERO))
}

fn text(u: &mut Unstructured) -> Result<String> {
    let mut s = String::new();
    for _ in 0..u.int_in_range(0u8..=24)? {
        match u.int_in_range(0u8..=5)? {
            0 => s.push_str(&u.arbitrary::<String>()?),
            1 => s.push_str(&u.arbitrary::<u16>()?.to_string()),
            2 => s.push_str(&count(u)?.to_string()),
            _ => s.push_str(u.choose(PHRASES)?),
        }
    }
    Ok(s)
}

fn pick(u: &mut Unstructured, known: &[&str]) -> Result<String> {
    Ok(if u.ratio(1u8, 4)? {
        u.arbitrary::<String>()?
    } else {
        (*u.choose(known)?).to_owned()
    })
}

fn optional<T>(
    u: &mut Unstructured,
    f: impl FnOnce(&mut Unstructured) -> Result<T>,
) -> Result<Option<T>> {
    Ok(if u.ratio(1u8, 5)? { None } else { Some(f(u)?) })
}

fn report(u: &mut Unstructured) -> Result<Report> {
    let format = if u.arbitrary()? {
        FormatVersion::Current2021
    } else {
        FormatVersion::Trial2019
    };
    let year = match u.int_in_range(0u8..=9)? {
        0 => 0,
        1 => u.arbitrary()?,
        2 => u32::MAX,
        n => 2017u32.saturating_add(u32::from(n)),
    };
    report_for(u, format, year)
}

/// A report of last year, of the same agency most of the time.
fn previous_of(u: &mut Unstructured, report: &Report) -> Result<Report> {
    let year = if u.ratio(7u8, 8)? {
        report.metadata.data_year.saturating_sub(1)
    } else {
        u.arbitrary()?
    };
    let mut previous = report_for(u, FormatVersion::of_year(year), year)?;
    if u.ratio(3u8, 4)? {
        previous.metadata.agency_uscc = report.metadata.agency_uscc.clone();
    }
    Ok(previous)
}

fn report_for(u: &mut Unstructured, format: FormatVersion, year: u32) -> Result<Report> {
    let mut r = Report::empty(format, year);
    let m = &mut r.metadata;
    m.agency_uscc = optional(u, |u| pick(u, USCCS))?;
    m.agency_name = pick(u, NAMES)?;
    m.region_code = optional(u, |u| pick(u, REGIONS))?;
    m.publication_date = optional(u, |u| {
        Ok(chrono::NaiveDate::from_ymd_opt(
            u.int_in_range(1990..=2100)?,
            u.int_in_range(1..=12)?,
            u.int_in_range(1..=31)?,
        ))
    })?
    .flatten();
    m.agency_level = *u.choose(&[
        None,
        Some(AgencyLevel::National),
        Some(AgencyLevel::Provincial),
        Some(AgencyLevel::Prefectural),
        Some(AgencyLevel::County),
        Some(AgencyLevel::Township),
    ])?;
    for s in &mut r.sections {
        *s = optional(u, text)?;
    }
    if u.ratio(1u8, 8)? {
        r.t2 = None;
    } else if let Some(t2) = r.t2.as_mut() {
        for cell in format.t2_layout().cells() {
            let value = match t2.get(&cell) {
                Value::Count(_) => Value::Count(count(u)?),
                Value::Delta(_) => Value::Delta(delta(u)?),
                Value::Money(_) => Value::Money(money(u)?),
            };
            t2.set(&cell, value);
        }
    }
    if u.ratio(1u8, 8)? {
        r.t3 = None;
    } else if let Some(t3) = r.t3.as_mut() {
        for row in T3Row::rows_of(format) {
            for c in &T3_COLUMNS {
                t3.set(row, c.col, count(u)?);
            }
        }
    }
    if u.ratio(1u8, 8)? {
        r.t4 = None;
    } else if let Some(t4) = r.t4.as_mut() {
        for b in &T4_BLOCKS {
            for c in &T4_COLUMNS {
                t4.set(b.block, c.col, count(u)?);
            }
        }
    }
    Ok(r)
}
