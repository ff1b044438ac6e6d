//! Area sums: for each supervising agency and data year, the cell-by-cell
//! sum of T2, T3 and T4 over the current approved reports of every agency
//! under it (the agency itself not included: a government's own report is
//! its area-wide report, compared with this sum by `aggregate.area-sum`).
//!
//! Kept up incrementally, in the transaction that changes what they sum:
//! - approving a report adds its contribution to the sum of each of its
//!   ancestors and takes away the contribution of the approved revision it
//!   supersedes (a correction after approval), exactly once;
//! - moving an agency under another supervisor moves the contribution of
//!   its whole subtree (its own sum plus its own approved report) from the
//!   ancestors it leaves to those it joins.
//!
//! So reading a sum is one `get`, whatever the history or the size of the
//! area. `verify` recomputes every sum from the approved revisions and
//! compares; a store written before sums were kept gets them built once
//! when it is opened.

use std::collections::{BTreeMap, BTreeSet};

use gongkai_domain::{
    ConvertError, Report,
    area::{self, Sign, SumError},
};
use gongkai_proto::{
    store_v1::{AreaSum, ReportHead},
    v1::{Agency, AnnualReport, ReportRevision, ReviewState},
};

use super::{ancestors_in, link, read_msg, subtree};
use crate::{
    BrokenLink, ReportKey, Result, StoreError, codec,
    engine::{Entries, Plan, Reader, Tree},
    keys,
};

/// Key in `meta` saying the sums were built (stores older than them have none).
pub(crate) const BUILT_KEY: &[u8] = b"area_sums_built";

/// One area's sum for one data year.
#[derive(Clone, Debug, PartialEq)]
pub struct AreaTotals {
    /// Approved reports counted, one per agency.
    pub agencies: u64,
    /// Of those, reports not in the data year's format: counted, not summed.
    pub other_format: u64,
    /// The tables, summed cell by cell, in the data year's format.
    pub sum: Report,
}

impl AreaTotals {
    /// Nothing approved yet.
    pub fn zero(year: u32) -> AreaTotals {
        AreaTotals {
            agencies: 0,
            other_format: 0,
            sum: area::zero_sum(year),
        }
    }
}

/// One agency of an area, as coverage lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct CoverageEntry {
    /// The agency (its current record).
    pub agency: Agency,
    /// Its report's head for the year; `None`: not started.
    pub head: Option<ReportHead>,
}

fn sum_key(area: &str, year: u32) -> Result<Vec<u8>> {
    Ok(keys::join(&[keys::uscc(area)?, &keys::year(year)?]))
}

pub(crate) fn decode_sum(key: &[u8], bytes: &[u8], year: u32) -> Result<AreaTotals> {
    let stored: AreaSum = codec::decode("area_sums", key, bytes)?;
    let corrupt = |reason: String| StoreError::Corrupt {
        tree: "area_sums",
        key: hex::encode(key),
        reason,
    };
    // encode_sum always writes the tables: a kept sum without them is
    // damage, not a zero.
    let tables = stored
        .tables
        .as_ref()
        .ok_or_else(|| corrupt(format!("the kept {year} sum holds no tables")))?;
    let sum = Report::try_from(tables)
        .map_err(|e| corrupt(format!("the kept sum is not a report: {e}")))?;
    Ok(AreaTotals {
        agencies: stored.agencies,
        other_format: stored.other_format,
        sum,
    })
}

pub(crate) fn encode_sum(t: &AreaTotals) -> Vec<u8> {
    codec::encode(&AreaSum {
        agencies: t.agencies,
        other_format: t.other_format,
        tables: Some(AnnualReport::from(&t.sum)),
    })
}

async fn read_sum(r: &impl Reader, area: &str, year: u32) -> Result<AreaTotals> {
    let key = sum_key(area, year)?;
    match r.get(Tree::AreaSums, &key).await? {
        None => Ok(AreaTotals::zero(year)),
        Some(v) => decode_sum(&key, &v, year),
    }
}

/// Whether a contribution is a new approval, held to `value.range`'s
/// bounds, or one already in the sums, taken as it was added.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Approval {
    New,
    Kept,
}

/// What one approved revision adds to the sums above its agency. A report
/// in another format than its year's (or in none) is counted, not summed;
/// one that does not convert at all is refused. An approved revision
/// without a report is damage (every write that approves carries the
/// content it approves), not a report in another format. A new approval
/// of a report with a cell outside `value.range`'s bounds (one submitted
/// before they existed) is refused for that cell: within the bounds no sum
/// can overflow, so the sum itself never refuses an approval.
pub(crate) fn contribution(
    approved: &ReportRevision,
    key: &ReportKey,
    when: Approval,
) -> Result<AreaTotals> {
    let Some(report) = approved.report.as_ref() else {
        return Err(StoreError::Corrupt {
            tree: "revisions",
            key: hex::encode(keys::revision(key, approved.revision)?),
            reason: format!(
                "approved revision {} of {} holds no report",
                approved.revision,
                key.name()
            ),
        });
    };
    let mut c = AreaTotals::zero(key.year);
    c.agencies = 1;
    match Report::try_from(report) {
        Ok(r) if r.format == gongkai_domain::FormatVersion::of_year(key.year) => {
            if when == Approval::New {
                area::summable(&r).map_err(|e| StoreError::OutOfRange {
                    resource: key.name(),
                    reason: format!("{} ({})", e, gongkai_domain::catalogue::id::VALUE_RANGE),
                })?;
            }
            area::accumulate(&mut c.sum, &r, Sign::Add).map_err(|e| sum_refused(key, &e))?;
        }
        Ok(_) | Err(ConvertError::FormatUnspecified) => c.other_format = 1,
        Err(e) => {
            return Err(StoreError::InvalidArgument(format!(
                "{}: the approved report cannot be summed for its area: {e}",
                key.name()
            )));
        }
    }
    Ok(c)
}

fn sum_refused(key: &ReportKey, e: &SumError) -> StoreError {
    StoreError::InvalidArgument(format!(
        "{}: cannot be added to its area's sum: {e}",
        key.name()
    ))
}

/// `acc ± c`, counts and cells checked; `acc` is unchanged on error.
fn combine(acc: &mut AreaTotals, c: &AreaTotals, sign: Sign, area: &str, year: u32) -> Result<()> {
    let fail = |what: String| match sign {
        Sign::Add => StoreError::InvalidArgument(format!(
            "the {year} sum of the area of agencies/{area} would not fit: {what}"
        )),
        Sign::Subtract => StoreError::Corrupt {
            tree: "area_sums",
            key: format!("{area}/{year}"),
            reason: format!("the kept sum is below what is taken away: {what}"),
        },
    };
    let op = |a: u64, b: u64| match sign {
        Sign::Add => a.checked_add(b),
        Sign::Subtract => a.checked_sub(b),
    };
    let agencies = op(acc.agencies, c.agencies).ok_or_else(|| fail("agencies".into()))?;
    let other = op(acc.other_format, c.other_format).ok_or_else(|| fail("other_format".into()))?;
    area::accumulate(&mut acc.sum, &c.sum, sign).map_err(|e| fail(e.to_string()))?;
    acc.agencies = agencies;
    acc.other_format = other;
    Ok(())
}

async fn approved_revision(
    r: &impl Reader,
    key: &ReportKey,
    number: u32,
) -> Result<ReportRevision> {
    let k = keys::revision(key, number)?;
    let rev: ReportRevision =
        read_msg(r, Tree::Revisions, &k)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                tree: "revisions",
                key: hex::encode(&k),
                reason: format!("approved revision {number} of {} is missing", key.name()),
            })?;
    if rev.state() != ReviewState::Approved {
        return Err(StoreError::Corrupt {
            tree: "revisions",
            key: hex::encode(&k),
            reason: format!("the head names revision {number} approved; it is not"),
        });
    }
    Ok(rev)
}

/// Inside an approval's transaction: the sums of `ancestors` (the
/// agency's, nearest first, as the caller has already read them in this
/// transaction) gain the newly approved revision `approved` and lose the
/// approved revision `superseded` replaces (0: none).
pub(crate) async fn plan_approval(
    r: &impl Reader,
    plan: &mut Plan,
    key: &ReportKey,
    ancestors: &[String],
    superseded: u32,
    approved: &ReportRevision,
) -> Result<()> {
    let new = contribution(approved, key, Approval::New)?;
    let old = match superseded {
        0 => None,
        n => Some(contribution(
            &approved_revision(r, key, n).await?,
            key,
            Approval::Kept,
        )?),
    };
    for a in ancestors {
        let mut s = read_sum(r, a, key.year).await?;
        if let Some(o) = &old {
            combine(&mut s, o, Sign::Subtract, a, key.year)?;
        }
        combine(&mut s, &new, Sign::Add, a, key.year)?;
        plan.put(Tree::AreaSums, sum_key(a, key.year)?, encode_sum(&s));
    }
    Ok(())
}

/// Inside `set_supervisor`'s transaction: moves what `uscc`'s subtree
/// contributes (for every year it has reports in) from the ancestors it
/// leaves to those it joins; ancestors it keeps are not touched.
pub(crate) async fn plan_move(
    r: &impl Reader,
    plan: &mut Plan,
    uscc: &str,
    reports: &[(ReportKey, ReviewState)],
    old_above: &[String],
    new_above: &[String],
) -> Result<()> {
    let leaving: Vec<&String> = old_above
        .iter()
        .filter(|a| !new_above.contains(a))
        .collect();
    let joining: Vec<&String> = new_above
        .iter()
        .filter(|a| !old_above.contains(a))
        .collect();
    let years: BTreeSet<u32> = reports.iter().map(|(k, _)| k.year).collect();
    for year in years {
        let mut moved = read_sum(r, uscc, year).await?;
        let own = ReportKey {
            uscc: uscc.to_owned(),
            year,
        };
        if let Some(head) = read_msg::<ReportHead>(r, Tree::Heads, &keys::report(&own)?).await?
            && head.approved_revision > 0
        {
            let rev = approved_revision(r, &own, head.approved_revision).await?;
            let c = contribution(&rev, &own, Approval::Kept)?;
            combine(&mut moved, &c, Sign::Add, uscc, year)?;
        }
        if moved.agencies == 0 {
            continue;
        }
        for (list, sign) in [(&leaving, Sign::Subtract), (&joining, Sign::Add)] {
            for a in list {
                let mut s = read_sum(r, a, year).await?;
                combine(&mut s, &moved, sign, a, year)?;
                plan.put(Tree::AreaSums, sum_key(a, year)?, encode_sum(&s));
            }
        }
    }
    Ok(())
}

/// Every sum, computed from scratch from the approved revisions: key →
/// (area, year, totals).
pub(crate) async fn recompute(
    r: &impl Reader,
) -> Result<BTreeMap<Vec<u8>, (String, u32, AreaTotals)>> {
    let mut out: BTreeMap<Vec<u8>, (String, u32, AreaTotals)> = BTreeMap::new();
    let mut above: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut heads = Entries::new(r, Tree::Heads, b"");
    while let Some((k, v)) = heads.next().await? {
        let head: ReportHead = codec::decode("heads", &k, &v)?;
        if head.approved_revision == 0 {
            continue;
        }
        let key = keys::parse_report("heads", &k)?;
        let rev = approved_revision(r, &key, head.approved_revision).await?;
        let c = contribution(&rev, &key, Approval::Kept)?;
        if !above.contains_key(&key.uscc) {
            above.insert(key.uscc.clone(), ancestors_in(r, &key.uscc).await?);
        }
        for a in above.get(&key.uscc).into_iter().flatten() {
            let (_, _, s) = out
                .entry(sum_key(a, key.year)?)
                .or_insert_with(|| (a.clone(), key.year, AreaTotals::zero(key.year)));
            combine(s, &c, Sign::Add, a, key.year)?;
        }
    }
    Ok(out)
}

fn parse_sum_key(k: &[u8]) -> Result<(String, u32)> {
    let key = keys::parse_report("area_sums", k)?;
    Ok((key.uscc, key.year))
}

/// Compares every kept sum with one recomputed from the approved
/// revisions; names the first that differs (charged to event `last`).
pub(crate) async fn verify(r: &impl Reader, last: u64) -> Result<Option<BrokenLink>> {
    let mut want = recompute(r).await?;
    let mut sums = Entries::new(r, Tree::AreaSums, b"");
    while let Some((k, v)) = sums.next().await? {
        let (area_code, year) = parse_sum_key(&k)?;
        let kept = decode_sum(&k, &v, year)?;
        let expected = want
            .remove(k.as_ref())
            .map_or_else(|| AreaTotals::zero(year), |(_, _, t)| t);
        let cells = area::differing_cells(&kept.sum, &expected.sum);
        if kept.agencies != expected.agencies
            || kept.other_format != expected.other_format
            || !cells.is_empty()
        {
            return Ok(Some(link(
                last,
                "area_sums",
                &k,
                format!(
                    "the {year} sum of the area of agencies/{area_code} counts {} approved reports ({} not summed), its approved reports {} ({}); cells that differ: [{}]",
                    kept.agencies,
                    kept.other_format,
                    expected.agencies,
                    expected.other_format,
                    cells.join(", ")
                ),
            )));
        }
    }
    if let Some((k, (area_code, year, t))) = want.into_iter().find(|(_, (_, _, t))| t.agencies > 0)
    {
        return Ok(Some(link(
            last,
            "area_sums",
            &k,
            format!(
                "the area of agencies/{area_code} has {} approved reports for {year} but no kept sum",
                t.agencies
            ),
        )));
    }
    Ok(None)
}

/// The kept sum of an area for a year (zero when nothing is approved).
pub(crate) async fn area_sum(r: &impl Reader, area_code: &str, year: u32) -> Result<AreaTotals> {
    keys::uscc(area_code)?;
    keys::year(year)?;
    if r.get(Tree::Agencies, area_code.as_bytes()).await?.is_none() {
        return Err(StoreError::NotFound(format!("agencies/{area_code}")));
    }
    read_sum(r, area_code, year).await
}

/// Every agency of the area (itself first, then breadth first) with its
/// report's head for the year.
pub(crate) async fn coverage(
    r: &impl Reader,
    area_code: &str,
    year: u32,
) -> Result<Vec<CoverageEntry>> {
    keys::uscc(area_code)?;
    keys::year(year)?;
    if r.get(Tree::Agencies, area_code.as_bytes()).await?.is_none() {
        return Err(StoreError::NotFound(format!("agencies/{area_code}")));
    }
    let mut out = Vec::new();
    for code in subtree(r, area_code).await? {
        let Some(agency) = read_msg::<Agency>(r, Tree::Agencies, code.as_bytes()).await? else {
            // Removed between the scan and the read: agencies are never
            // removed, so this is a broken edge.
            return Err(StoreError::Corrupt {
                tree: "children",
                key: hex::encode(&code),
                reason: "an edge names an agency that is not registered".into(),
            });
        };
        let key = ReportKey {
            uscc: code.clone(),
            year,
        };
        let head = read_msg::<ReportHead>(r, Tree::Heads, &keys::report(&key)?).await?;
        out.push(CoverageEntry { agency, head });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ReportKey {
        ReportKey {
            uscc: "11230500012345678T".into(),
            year: 2024,
        }
    }

    #[test]
    fn a_kept_sum_round_trips() {
        let k = sum_key("11230500012345678T", 2024).unwrap();
        let zero = AreaTotals::zero(2024);
        assert_eq!(decode_sum(&k, &encode_sum(&zero), 2024).unwrap(), zero);
    }

    /// encode_sum always writes the tables: one without them is damage,
    /// never read as a zero sum.
    #[test]
    fn a_kept_sum_without_tables_is_corrupt() {
        let k = sum_key("11230500012345678T", 2024).unwrap();
        let bytes = codec::encode(&AreaSum {
            agencies: 3,
            other_format: 0,
            tables: None,
        });
        let e = decode_sum(&k, &bytes, 2024).unwrap_err();
        assert!(
            matches!(&e, StoreError::Corrupt { tree: "area_sums", reason, .. } if reason.contains("no tables")),
            "{e:?}"
        );
    }

    /// An approved revision without a report is damage, not a report in
    /// another format; a report in no format is counted, not summed.
    #[test]
    fn an_approved_revision_without_a_report_is_corrupt() {
        let bare = ReportRevision {
            revision: 2,
            state: ReviewState::Approved.into(),
            report: None,
            ..ReportRevision::default()
        };
        let e = contribution(&bare, &key(), Approval::Kept).unwrap_err();
        assert!(
            matches!(&e, StoreError::Corrupt { tree: "revisions", reason, .. } if reason.contains("approved revision 2") && reason.contains("holds no report")),
            "{e:?}"
        );

        let unformatted = ReportRevision {
            report: Some(AnnualReport::default()),
            ..bare
        };
        let c = contribution(&unformatted, &key(), Approval::Kept).unwrap();
        assert_eq!((c.agencies, c.other_format), (1, 1));
        assert_eq!(c.sum, AreaTotals::zero(2024).sum);
    }
}
