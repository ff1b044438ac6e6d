//! Reads outside writes: single records, and listings paged through an
//! index so that a page costs O(page), never O(store). A cursor is the last
//! key examined, tagged with its listing (`keys::cursor`).

use std::{collections::HashSet, time::SystemTime};

use gongkai_proto::{
    store_v1::ReportHead,
    v1::{Agency, AuditEvent, ReportRevision, ReviewState},
};
use prost::{Message, bytes::Bytes};

use super::{agency_name, ancestors_in, read_msg, subtree};
use crate::{
    EventFilter, Page, PageRequest, ReportFilter, ReportKey, ReportSummary, Result, StoreError,
    codec,
    engine::{Entries, Reader, Tree},
    keys,
};

/// Most index or event entries examined for one page of a filtered listing.
const SCAN_LIMIT: usize = 10_000;

/// Items a page holds: the default 50, at most 1000.
fn page_size(page: &PageRequest) -> usize {
    match page.size {
        0 => 50,
        n => usize::try_from(n.min(1000)).unwrap_or(1000),
    }
}

/// One decoded record.
pub(crate) async fn get<M: Message + Default>(
    r: &impl Reader,
    t: Tree,
    key: &[u8],
) -> Result<Option<M>> {
    read_msg(r, t, key).await
}

/// One agency.
pub(crate) async fn agency(r: &impl Reader, uscc: &str) -> Result<Option<Agency>> {
    get(r, Tree::Agencies, keys::uscc(uscc)?).await
}

/// A report's head.
pub(crate) async fn head(r: &impl Reader, key: &ReportKey) -> Result<Option<ReportHead>> {
    get(r, Tree::Heads, &keys::report(key)?).await
}

/// One revision.
pub(crate) async fn revision(
    r: &impl Reader,
    key: &ReportKey,
    revision: u32,
) -> Result<Option<ReportRevision>> {
    get(r, Tree::Revisions, &keys::revision(key, revision)?).await
}

/// One revision's encoded `ReportRevision`: the stored bytes after the
/// format tag, sharing the engine's buffer.
pub(crate) async fn encoded_revision(
    r: &impl Reader,
    key: &ReportKey,
    revision: u32,
) -> Result<Option<Bytes>> {
    let k = keys::revision(key, revision)?;
    let Some(v) = r.get(Tree::Revisions, &k).await? else {
        return Ok(None);
    };
    let body = codec::body("revisions", &k, &v)?.len();
    let start = v.len().saturating_sub(body);
    Ok(Some(v.slice(start..)))
}

/// Whether `uscc` is `ancestor` or lies in its subtree.
pub(crate) async fn is_within(r: &impl Reader, ancestor: &str, uscc: &str) -> Result<bool> {
    keys::uscc(ancestor)?;
    keys::uscc(uscc)?;
    Ok(uscc == ancestor || ancestors_in(r, uscc).await?.iter().any(|a| a == ancestor))
}

/// The agencies above `uscc`, nearest first.
pub(crate) async fn ancestors(r: &impl Reader, uscc: &str) -> Result<Vec<String>> {
    keys::uscc(uscc)?;
    ancestors_in(r, uscc).await
}

/// Agencies in 统一社会信用代码 order.
pub(crate) async fn agencies(r: &impl Reader, page: &PageRequest) -> Result<Page<Agency>> {
    scan(r, Tree::Agencies, "agencies", b"", page, |k, v| {
        let a = codec::decode("agencies", k, v).map(Some);
        async move { a }
    })
    .await
}

/// A report's revisions, oldest first.
pub(crate) async fn revisions(
    r: &impl Reader,
    key: &ReportKey,
    page: &PageRequest,
) -> Result<Page<ReportRevision>> {
    let prefix = keys::report(key)?;
    scan(r, Tree::Revisions, "revisions", &prefix, page, |k, v| {
        let rev = codec::decode("revisions", k, v).map(Some);
        async move { rev }
    })
    .await
}

/// Reports by year, state, area or agency, through the index that fits.
pub(crate) async fn reports(
    r: &impl Reader,
    filter: &ReportFilter,
    page: &PageRequest,
) -> Result<Page<ReportSummary>> {
    let year = filter.year.map(keys::year).transpose()?;
    let year = year.as_ref().map_or(&[][..], |y| &y[..]);
    let state = filter
        .state
        .map(|s| [u8::try_from(i32::from(s)).unwrap_or(0)]);
    let state_b = state.as_ref().map_or(&[][..], |s| &s[..]);
    if let Some(agency) = &filter.agency {
        let uscc = keys::uscc(agency)?;
        if let Some(area) = &filter.area
            && !is_within(r, area, agency).await?
        {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: String::new(),
            });
        }
        let prefix = keys::join(&[uscc, year]);
        return scan(
            r,
            Tree::Heads,
            "reports-by-agency",
            &prefix,
            page,
            |k, v| {
                let item = (|| {
                    let head: ReportHead = codec::decode("heads", k, v)?;
                    if filter.state.is_some_and(|s| head.latest_state() != s) {
                        return Ok(None);
                    }
                    Ok(Some(ReportSummary {
                        key: keys::parse_report("heads", k)?,
                        head,
                    }))
                })();
                async move { item }
            },
        )
        .await;
    }
    let (tree, listing, prefix) = match (&filter.area, &state) {
        (Some(area), Some(_)) => (
            Tree::AreaState,
            "reports-by-area-state",
            keys::join(&[keys::uscc(area)?, state_b, year]),
        ),
        (Some(area), None) => (
            Tree::AreaYear,
            "reports-by-area",
            keys::join(&[keys::uscc(area)?, year]),
        ),
        (None, Some(_)) => (
            Tree::ByState,
            "reports-by-state",
            keys::join(&[state_b, year]),
        ),
        (None, None) if filter.year.is_some() => (Tree::ByYear, "reports-by-year", year.to_vec()),
        (None, None) => {
            return scan(r, Tree::Heads, "reports", b"", page, |k, v| {
                let item = (|| {
                    Ok(Some(ReportSummary {
                        key: keys::parse_report("heads", k)?,
                        head: codec::decode("heads", k, v)?,
                    }))
                })();
                async move { item }
            })
            .await;
        }
    };
    scan(r, tree, listing, &prefix, page, |k, _| {
        let key = keys::year_uscc_suffix(tree.name(), k);
        async move { summary(r, key?, filter).await }
    })
    .await
}

/// The listed report, if its head agrees with the filter. Index entries
/// are read without the writer's lock, so one may be a moment ahead of or
/// behind its head; the head decides.
async fn summary(
    r: &impl Reader,
    key: ReportKey,
    filter: &ReportFilter,
) -> Result<Option<ReportSummary>> {
    let Some(head) = head(r, &key).await? else {
        return Ok(None);
    };
    if filter.state.is_some_and(|s| head.latest_state() != s)
        || filter.year.is_some_and(|y| y != key.year)
    {
        return Ok(None);
    }
    Ok(Some(ReportSummary { key, head }))
}

/// Whether an event passes `filter`; `agency` is the filter's agency as a
/// resource name.
fn event_kept(e: &AuditEvent, filter: &EventFilter, agency: Option<&str>) -> bool {
    let time = e.time.and_then(|t| SystemTime::try_from(t).ok());
    agency.is_none_or(|a| {
        e.resource == a
            || e.resource
                .strip_prefix(a)
                .is_some_and(|rest| rest.starts_with('/'))
    }) && filter.action.is_none_or(|x| e.action() == x)
        && filter.since.is_none_or(|s| time.is_some_and(|t| t >= s))
        && filter.until.is_none_or(|u| time.is_some_and(|t| t < u))
}

/// Audit events, oldest first.
pub(crate) async fn events(
    r: &impl Reader,
    filter: &EventFilter,
    page: &PageRequest,
) -> Result<Page<AuditEvent>> {
    if let Some(a) = &filter.agency {
        keys::uscc(a)?;
    }
    let agency = filter.agency.as_deref().map(agency_name);
    scan(r, Tree::Events, "events", b"", page, |k, v| {
        let e = codec::decode::<AuditEvent>("events", k, v)
            .map(|e| event_kept(&e, filter, agency.as_deref()).then_some(e));
        async move { e }
    })
    .await
}

/// Audit events on the agencies of the subtree under `scope` (itself
/// included) and on their reports, oldest first, as `filter` narrows them.
/// A page ends just after an event it returns and has a cursor only when
/// another such event follows, so neither tells anything of events outside
/// the scope. It reads every event up to the next page's first.
pub(crate) async fn events_within(
    r: &impl Reader,
    scope: &str,
    filter: &EventFilter,
    page: &PageRequest,
) -> Result<Page<AuditEvent>> {
    keys::uscc(scope)?;
    if let Some(a) = &filter.agency {
        keys::uscc(a)?;
    }
    let agency = filter.agency.as_deref().map(agency_name);
    let inside: HashSet<String> = subtree(r, scope).await?.into_iter().collect();
    let size = page_size(page);
    let after = keys::parse_cursor("events", &page.cursor)?.map(Bytes::from);
    let mut entries =
        Entries::after(r, Tree::Events, b"", after).first_read(size.saturating_add(1));
    let mut items = Vec::new();
    let mut last: Option<Bytes> = None;
    while let Some((k, v)) = entries.next().await? {
        let e: AuditEvent = codec::decode("events", &k, &v)?;
        let in_scope = e
            .resource
            .strip_prefix("agencies/")
            .and_then(|r| r.split('/').next())
            .is_some_and(|a| inside.contains(a));
        if !in_scope || !event_kept(&e, filter, agency.as_deref()) {
            continue;
        }
        if items.len() == size {
            // Another event to show follows: the cursor is the last one
            // shown, which the caller has seen.
            let next_cursor = last.map(|l| keys::cursor("events", &l)).unwrap_or_default();
            return Ok(Page { items, next_cursor });
        }
        items.push(e);
        last = Some(k);
    }
    Ok(Page {
        items,
        next_cursor: String::new(),
    })
}

/// Reports by their current state: a walk of `by_state`'s keys (one per
/// report, `state u8 · year · uscc`), counted by the first byte.
pub(crate) async fn reports_by_state(r: &impl Reader) -> Result<Vec<(ReviewState, u64)>> {
    let mut counts: std::collections::BTreeMap<u8, u64> = std::collections::BTreeMap::new();
    let mut keys = Entries::new(r, Tree::ByState, b"");
    while let Some((key, _)) = keys.next().await? {
        if let Some(&s) = key.first() {
            let n = counts.entry(s).or_insert(0);
            *n = n.saturating_add(1);
        }
    }
    let mut out = Vec::with_capacity(counts.len());
    for (s, n) in counts {
        let state = ReviewState::try_from(i32::from(s)).map_err(|_| StoreError::Corrupt {
            tree: "by_state",
            key: hex::encode([s]),
            reason: format!("unknown review state {s}"),
        })?;
        out.push((state, n));
    }
    Ok(out)
}

/// Scans `t` under `prefix` after the cursor, mapping each entry to an
/// item (or to nothing, for an entry the listing skips): at most a page of
/// items, after at most [`SCAN_LIMIT`] entries examined.
async fn scan<R, I, F, Fut>(
    r: &R,
    t: Tree,
    listing: &str,
    prefix: &[u8],
    page: &PageRequest,
    mut item: F,
) -> Result<Page<I>>
where
    R: Reader,
    F: FnMut(&[u8], &[u8]) -> Fut,
    Fut: Future<Output = Result<Option<I>>>,
{
    let size = page_size(page);
    let after = keys::parse_cursor(listing, &page.cursor)?;
    if let Some(a) = &after
        && !a.starts_with(prefix)
    {
        return Err(StoreError::InvalidField {
            field: "page_token",
            reason: format!("'{}' belongs to another query", page.cursor),
        });
    }
    let mut items = Vec::new();
    let mut last: Option<Bytes> = None;
    let mut examined = 0usize;
    let mut entries =
        Entries::after(r, t, prefix, after.map(Bytes::from)).first_read(size.saturating_add(1));
    while let Some((k, v)) = entries.next().await? {
        if items.len() == size || examined == SCAN_LIMIT {
            // More remain: resume after the last key examined.
            let next_cursor = last.map(|l| keys::cursor(listing, &l)).unwrap_or_default();
            return Ok(Page { items, next_cursor });
        }
        examined = examined.saturating_add(1);
        if let Some(i) = item(&k, &v).await? {
            items.push(i);
        }
        last = Some(k);
    }
    Ok(Page {
        items,
        next_cursor: String::new(),
    })
}
