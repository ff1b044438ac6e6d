//! AreaService: a supervising office's view of its area — the summed
//! figures (kept by the store at each approval), who has filed and who is
//! late, and every approved report of a year as a stream.

use std::{collections::VecDeque, pin::Pin, time::SystemTime};

use futures_util::{Stream, TryStreamExt};
use gongkai_domain::{Report, Verdict, area};
use gongkai_proto::v1::{self as pb, area_service_server::AreaService};
use gongkai_store::{
    CoverageEntry, PageRequest, ReportFilter, ReportKey, ReportSummary, Store, StoreError,
};
use tonic::{Request, Response, Status};

use super::{Ctx, agency_code};
use crate::{
    access::{self, READ_AREA},
    deadlines::ymd,
    error::ApiError,
};

/// AreaService over the store.
#[derive(Clone, Debug)]
pub struct AreaApi(pub Ctx);

/// The area's code, once the caller may read it.
async fn area_of(ctx: &Ctx, p: &crate::auth::Principal, name: &str) -> Result<String, ApiError> {
    let code = agency_code("area", name)?.to_owned();
    access::any_of(&ctx.store, p, &code, READ_AREA).await?;
    Ok(code)
}

fn findings(fs: &[gongkai_domain::Finding]) -> Vec<pb::Finding> {
    fs.iter().map(pb::Finding::from).collect()
}

/// The area's own current approved report, converted, with its name.
async fn own_approved(
    store: &Store,
    key: &ReportKey,
) -> Result<Option<(String, Report)>, ApiError> {
    let Some(head) = store.head(key).await? else {
        return Ok(None);
    };
    if head.approved_revision == 0 {
        return Ok(None);
    }
    let rev = store
        .revision(key, head.approved_revision)
        .await?
        .ok_or_else(|| StoreError::NotFound(key.revision_name(head.approved_revision)))?;
    let Some(report) = rev.report.as_ref() else {
        return Ok(None);
    };
    // A report that does not convert was never summed either; nothing to compare.
    Ok(Report::try_from(report).ok().map(|r| (rev.name.clone(), r)))
}

fn filing_state(head: Option<&gongkai_proto::store_v1::ReportHead>) -> pb::FilingState {
    match head.map(|h| h.latest_state()) {
        None => pb::FilingState::NotStarted,
        Some(pb::ReviewState::Draft | pb::ReviewState::Unspecified) => pb::FilingState::Draft,
        Some(pb::ReviewState::Submitted) => pb::FilingState::Submitted,
        Some(pb::ReviewState::Returned) => pb::FilingState::Returned,
        Some(pb::ReviewState::Approved) => pb::FilingState::Approved,
    }
}

/// When a report was first submitted: the time of its first revision in
/// the submitted state. Revisions are read oldest first and the walk stops
/// there (the first revision, for a report submitted with its content).
async fn first_submission(store: &Store, key: &ReportKey) -> Result<Option<SystemTime>, ApiError> {
    let mut page = PageRequest {
        size: 4,
        cursor: String::new(),
    };
    loop {
        let listed = store.list_revisions(key, &page).await?;
        if let Some(rev) = listed
            .items
            .iter()
            .find(|r| r.state() == pb::ReviewState::Submitted)
        {
            return Ok(rev.create_time.and_then(|t| SystemTime::try_from(t).ok()));
        }
        if listed.next_cursor.is_empty() {
            return Ok(None);
        }
        page.size = 64;
        page.cursor = listed.next_cursor;
    }
}

/// A 乡镇/街道 agency: the only kind whose deadline depends on its area.
fn is_township(e: &CoverageEntry) -> bool {
    e.agency.level() == pb::AgencyLevel::Township
}

/// The coverage of an area at `now`.
async fn coverage(
    store: &Store,
    deadlines: &crate::deadlines::Deadlines,
    code: &str,
    year: u32,
    now: SystemTime,
) -> Result<pb::GetCoverageResponse, ApiError> {
    let entries = store.coverage(code, year).await?;
    // Deadlines::of reads the chain of a 乡镇/街道 agency only, to find its
    // configured area: it is read only for those, and only when some area
    // is configured.
    let chains = deadlines.configures_townships();
    let mut out = pb::GetCoverageResponse {
        area: format!("agencies/{code}"),
        data_year: year,
        as_of: Some(prost_types::Timestamp::from(now)),
        ..Default::default()
    };
    for e in entries {
        // The agency, then its supervisors, nearest first: the area asked
        // about is among them (township deadlines are set per county, and a
        // county's office asks about its own county).
        let chain = if chains && is_township(&e) {
            let mut chain = vec![e.agency.uscc.clone()];
            chain.extend(store.ancestors(&e.agency.uscc).await?);
            chain
        } else {
            Vec::new()
        };
        let deadline = deadlines.of(&e.agency, &chain, year);
        let approved = e.head.as_ref().map_or(0, |h| h.approved_revision);
        let state = filing_state(e.head.as_ref());
        let filed = approved > 0 || state == pb::FilingState::Submitted;
        let late = !filed && deadline.passed(now);
        let key = ReportKey {
            uscc: e.agency.uscc.clone(),
            year,
        };
        let first_submit = match &e.head {
            Some(_) => first_submission(store, &key).await?,
            None => None,
        };
        let filed_late = first_submit.is_some_and(|t| deadline.passed(t));
        if filed_late {
            out.filed_late = out.filed_late.saturating_add(1);
        }
        if filed {
            out.filed = out.filed.saturating_add(1);
        } else {
            out.not_filed = out.not_filed.saturating_add(1);
        }
        if late {
            out.late = out.late.saturating_add(1);
        }
        out.agencies.push(pb::AgencyCoverage {
            agency: format!("agencies/{}", e.agency.uscc),
            display_name: e.agency.display_name.clone(),
            level: e.agency.level,
            kind: e.agency.kind,
            supervisor: e.agency.supervisor.clone(),
            state: state.into(),
            approved_revision: approved,
            filed,
            deadline: deadline.day.map(ymd).unwrap_or_default(),
            deadline_rule: deadline.rule,
            late,
            first_submit_time: first_submit.map(prost_types::Timestamp::from),
            filed_late,
        });
    }
    Ok(out)
}

#[tonic::async_trait]
impl AreaService for AreaApi {
    async fn get_area_summary(
        &self,
        request: Request<pb::GetAreaSummaryRequest>,
    ) -> Result<Response<pb::GetAreaSummaryResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("GetAreaSummary", request, |p, req| async move {
                let code = area_of(&ctx, &p, &req.area).await?;
                let year = super::data_year("data_year", req.data_year)?;
                let s = &ctx.store;
                let totals = s.area_sum(&code, year).await?;
                let checked = gongkai_domain::check_tables(&totals.sum);
                let key = ReportKey {
                    uscc: code.clone(),
                    year,
                };
                let (compared, aggregate) = match own_approved(s, &key).await? {
                    Some((name, own)) => (name, area::compare_with_area(&own, &totals.sum)),
                    None => (String::new(), Vec::new()),
                };
                Ok(pb::GetAreaSummaryResponse {
                    area: format!("agencies/{code}"),
                    data_year: year,
                    approved_reports: totals.agencies,
                    not_summed_reports: totals.other_format,
                    sums: Some(pb::AnnualReport::from(&totals.sum)),
                    verdict: pb::Verdict::from(Verdict::of(&checked)).into(),
                    findings: findings(&checked),
                    compared_revision: compared,
                    aggregate_findings: findings(&aggregate),
                })
            })
            .await
    }

    async fn get_coverage(
        &self,
        request: Request<pb::GetCoverageRequest>,
    ) -> Result<Response<pb::GetCoverageResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("GetCoverage", request, |p, req| async move {
                let code = area_of(&ctx, &p, &req.area).await?;
                let year = super::data_year("data_year", req.data_year)?;
                let now = match req.as_of {
                    None => SystemTime::now(),
                    Some(t) => super::timestamp("as_of", t)?,
                };
                coverage(&ctx.store, &ctx.deadlines, &code, year, now).await
            })
            .await
    }

    type ExportReportsStream = ExportStream;

    async fn export_reports(
        &self,
        request: Request<pb::ExportReportsRequest>,
    ) -> Result<Response<Self::ExportReportsStream>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("ExportReports", request, |p, req| async move {
                let code = area_of(&ctx, &p, &req.area).await?;
                let year = super::data_year("data_year", req.data_year)?;
                if ctx.store.agency(&code).await?.is_none() {
                    return Err(StoreError::NotFound(format!("agencies/{code}")).into());
                }
                Ok(export(ctx, code, year))
            })
            .await
    }
}

/// An export's messages, as its reader takes them.
pub type ExportStream =
    Pin<Box<dyn Stream<Item = Result<pb::ExportReportsResponse, Status>> + Send + 'static>>;

/// Reports listed per read of the area index.
const EXPORT_PAGE: u32 = 64;

/// Where an export stands: the listing's next page, and what is left of
/// the current one.
struct Export {
    ctx: Ctx,
    filter: ReportFilter,
    /// The next page's cursor; None once the last page was read.
    next: Option<String>,
    listed: VecDeque<ReportSummary>,
}

/// Every current approved report of the area, produced as the reader
/// reads: no task and no thread of its own, at most one listing page of
/// keys and one message held, each read from the store as it is needed. A reader that goes away drops the stream, and with it
/// everything (the admission layer holds the call's slot until then).
fn export(ctx: Ctx, code: String, year: u32) -> ExportStream {
    let state = Export {
        ctx,
        filter: ReportFilter {
            year: Some(year),
            area: Some(code),
            ..ReportFilter::default()
        },
        next: Some(String::new()),
        listed: VecDeque::new(),
    };
    Box::pin(futures_util::stream::try_unfold(state, next_export).map_err(Status::from))
}

/// The export's next message, reading the next page of the listing when
/// the current one is used up; None at the end. After an error the stream
/// ends.
async fn next_export(
    mut s: Export,
) -> Result<Option<(pb::ExportReportsResponse, Export)>, ApiError> {
    loop {
        if let Some(item) = s.listed.pop_front() {
            let message = export_one(&s.ctx.store, &item).await?;
            return Ok(Some((message, s)));
        }
        let Some(cursor) = s.next.take() else {
            return Ok(None);
        };
        let page = PageRequest {
            size: EXPORT_PAGE,
            cursor,
        };
        let page = s.ctx.store.list_reports(&s.filter, &page).await?;
        s.next = (!page.next_cursor.is_empty()).then_some(page.next_cursor);
        s.listed = page
            .items
            .into_iter()
            .filter(|r| r.head.approved_revision > 0)
            .collect();
    }
}

/// One listed report's export message: its approved revision and its
/// agency's name.
async fn export_one(
    store: &Store,
    item: &ReportSummary,
) -> Result<pb::ExportReportsResponse, ApiError> {
    let revision = store
        .revision(&item.key, item.head.approved_revision)
        .await?
        .ok_or_else(|| StoreError::NotFound(item.key.revision_name(item.head.approved_revision)))?;
    // Agencies are never removed: a report whose agency is not registered
    // is a damaged store, not a nameless agency.
    let display_name = store
        .agency(&item.key.uscc)
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            tree: "agencies",
            key: hex::encode(&item.key.uscc),
            reason: format!(
                "{} is approved, but its agency is not registered",
                item.key.name()
            ),
        })?
        .display_name;
    Ok(pb::ExportReportsResponse {
        agency: format!("agencies/{}", item.key.uscc),
        display_name,
        revision: Some(revision),
    })
}
