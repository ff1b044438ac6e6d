//! ReportService: validate, save, submit, read.

use gongkai_domain::{Finding, Report, Severity, Verdict};
use gongkai_proto::v1::{self as pb, report_service_server::ReportService};
use gongkai_store::{Action, Checked, ReportFilter, ReportKey, Store, StoreError, WriteOp};
use tonic::{Request, Response, Status};

use super::{Ctx, agency::write_meta, agency_code, report_name, report_only, summary};
use crate::{
    access::{self, READ_REPORT, Reach, WRITE_REPORT},
    auth::{Principal, Role, Scope},
    error::ApiError,
};

/// ReportService over the store.
#[derive(Clone, Debug)]
pub struct ReportApi(pub Ctx);

/// Longest request id a client may send (the service derives per-step ids from it).
const MAX_REQUEST_ID: usize = 120;

pub(crate) fn request_id(id: &str) -> Result<&str, ApiError> {
    if id.is_empty() {
        return Err(ApiError::field(
            "request_id",
            "required: one unique id per write makes retries safe",
        ));
    }
    if id.len() > MAX_REQUEST_ID || id.chars().any(char::is_control) {
        return Err(ApiError::field(
            "request_id",
            format!("at most {MAX_REQUEST_ID} printable bytes, got {}", id.len()),
        ));
    }
    Ok(id)
}

/// The wire report as the checker's model, refused precisely when it is not
/// one (an amount left out or empty included: it is not 0). Its metadata
/// is bounded first: a name of at most
/// [`MAX_NAME_CHARS`](super::MAX_NAME_CHARS) characters, codes and dates of
/// at most [`MAX_TOKEN_BYTES`](super::MAX_TOKEN_BYTES) bytes (the prose of
/// its sections only by the message size).
pub(crate) fn to_domain(report: &pb::AnnualReport) -> Result<Report, ApiError> {
    if let Some(m) = &report.metadata {
        super::bounded_text(
            "report.metadata.agency_name",
            &m.agency_name,
            super::MAX_NAME_CHARS,
        )?;
        for (field, value) in [
            ("report.metadata.agency_uscc", &m.agency_uscc),
            ("report.metadata.region_code", &m.region_code),
            ("report.metadata.publication_date", &m.publication_date),
        ] {
            if value.len() > super::MAX_TOKEN_BYTES {
                return Err(ApiError::field(
                    field,
                    format!(
                        "at most {} bytes, got {} ({})",
                        super::MAX_TOKEN_BYTES,
                        value.len(),
                        crate::error::quoted(value)
                    ),
                ));
            }
        }
    }
    Report::from_request(report).map_err(|e| ApiError::field("report", e.to_string()))
}

/// Last year's report of the same agency in the store: its approved revision,
/// else its latest.
pub(crate) async fn previous_year(
    store: &Store,
    key: &ReportKey,
) -> Result<Option<Report>, ApiError> {
    let Some(year) = key
        .year
        .checked_sub(1)
        .filter(|y| gongkai_domain::catalogue::KNOWN_YEARS.contains(y))
    else {
        return Ok(None);
    };
    let prev = ReportKey {
        uscc: key.uscc.clone(),
        year,
    };
    let Some(head) = store.head(&prev).await? else {
        return Ok(None);
    };
    let n = if head.approved_revision > 0 {
        head.approved_revision
    } else {
        head.latest_revision
    };
    // Stored reports were converted before they were written: one that is
    // missing or does not convert now is damage, not "no previous year".
    let rev = store
        .revision(&prev, n)
        .await?
        .ok_or_else(|| not_found(prev.revision_name(n)))?;
    stored_report(&rev).map(Some)
}

/// Every rule; the cross-year ones only when `previous` lines up with the
/// report (a stored report whose metadata names another agency does not).
pub(crate) fn check(report: &Report, previous: Option<&Report>) -> Vec<Finding> {
    gongkai_domain::check(report, previous).unwrap_or_else(|_| gongkai_domain::check_alone(report))
}

pub(crate) fn checked(findings: &[Finding]) -> Checked {
    Checked {
        findings: findings.iter().map(pb::Finding::from).collect(),
        ruleset_version: gongkai_domain::RULESET_VERSION.to_owned(),
    }
}

/// The revision a review action or a submit of the draft acts on.
/// `Some`: `expected` is the latest, to be checked and acted on. `None`: it
/// has been superseded, so the call can only be a retry of one that went
/// through (the store answers it with the first outcome, by its request id)
/// or stale (the store refuses it with a conflict, since the latest only
/// grows). A number beyond the latest is the same conflict at once: it could
/// become the latest meanwhile, and must not be acted on unchecked.
pub(crate) async fn expected_latest(
    store: &Store,
    key: &ReportKey,
    expected: u32,
) -> Result<Option<pb::ReportRevision>, ApiError> {
    let head = store
        .head(key)
        .await?
        .ok_or_else(|| ApiError::Store(StoreError::NotFound(key.name())))?;
    if expected < head.latest_revision {
        return Ok(None);
    }
    if head.latest_revision != expected {
        return Err(ApiError::Store(StoreError::Conflict {
            resource: key.name(),
            expected,
            actual: head.latest_revision,
        }));
    }
    store
        .revision(key, expected)
        .await?
        .map(Some)
        .ok_or_else(|| not_found(key.revision_name(expected)))
}

/// The report's metadata must name the report it is saved as.
fn matches_name(report: &Report, key: &ReportKey) -> Result<(), ApiError> {
    let m = &report.metadata;
    if m.data_year != key.year {
        return Err(ApiError::field(
            "report.metadata.data_year",
            format!("is {}, but the report name says {}", m.data_year, key.year),
        ));
    }
    if let Some(code) = &m.agency_uscc
        && code != &key.uscc
    {
        return Err(ApiError::field(
            "report.metadata.agency_uscc",
            format!("is {code}, but the report name says {}", key.uscc),
        ));
    }
    Ok(())
}

/// Which stored revision GetReport reads: by report name (with a view) or
/// revision name, for a caller who may read the report (READ_REPORT; outside
/// scope is PERMISSION_DENIED whether or not it exists). RenderReport reads
/// through here too, so both calls keep one rule.
pub(crate) async fn stored_revision_key(
    s: &Store,
    p: &Principal,
    name: &str,
    view: i32,
) -> Result<(ReportKey, u32), ApiError> {
    let (key, rev) = report_name("name", name)?;
    access::any_of(s, p, &key.uscc, READ_REPORT).await?;
    let n = match rev {
        Some(n) => n,
        None => {
            let head = s.head(&key).await?.ok_or_else(|| not_found(key.name()))?;
            match pb::ReportView::try_from(view) {
                Ok(pb::ReportView::LatestApproved) if head.approved_revision == 0 => {
                    return Err(not_found(format!("{}: no approved revision", key.name())));
                }
                Ok(pb::ReportView::LatestApproved) => head.approved_revision,
                Ok(_) => head.latest_revision,
                Err(_) => {
                    return Err(ApiError::field("view", format!("unknown view {view}")));
                }
            }
        }
    };
    Ok((key, n))
}

fn not_found(what: String) -> ApiError {
    ApiError::Store(StoreError::NotFound(what))
}

/// The stored revision [`stored_revision_key`] names, decoded.
pub(crate) async fn stored_revision(
    s: &Store,
    p: &Principal,
    name: &str,
    view: i32,
) -> Result<pb::ReportRevision, ApiError> {
    let (key, n) = stored_revision_key(s, p, name, view).await?;
    s.revision(&key, n)
        .await?
        .ok_or_else(|| not_found(key.revision_name(n)))
}

/// A stored revision's report as the checker's model. The store wrote it,
/// so one that is missing or does not convert is corruption (DATA_LOSS),
/// not the caller's bad input.
pub(crate) fn stored_report(rev: &pb::ReportRevision) -> Result<Report, ApiError> {
    let corrupt = |reason: String| {
        ApiError::Store(StoreError::Corrupt {
            tree: "revisions",
            key: rev.name.clone(),
            reason,
        })
    };
    let stored = rev
        .report
        .as_ref()
        .ok_or_else(|| corrupt("the revision holds no report".into()))?;
    Report::try_from(stored).map_err(|e| corrupt(format!("its report does not convert: {e}")))
}

/// The verdict of findings as stored on a revision.
fn stored_verdict(findings: &[pb::Finding]) -> pb::Verdict {
    // The wire enum is ordered as the severities are.
    match findings.iter().map(pb::Finding::severity).max() {
        Some(pb::Severity::Error) => pb::Verdict::Invalid,
        Some(pb::Severity::Warning) => pb::Verdict::ValidWithWarnings,
        _ => pb::Verdict::Valid,
    }
}

fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// The filter a caller may list with: submitters see their own agency,
/// reviewers and auditors their subtree.
async fn scoped_filter(
    store: &Store,
    p: &Principal,
    req: &pb::ListReportsRequest,
) -> Result<ReportFilter, ApiError> {
    let mut filter = ReportFilter {
        year: super::year_filter("data_year", req.data_year)?,
        state: match pb::ReviewState::try_from(req.state) {
            Ok(pb::ReviewState::Unspecified) => None,
            Ok(s) => Some(s),
            Err(_) => {
                return Err(ApiError::field(
                    "state",
                    format!("unknown state {}", req.state),
                ));
            }
        },
        agency: (!req.agency.is_empty())
            .then(|| agency_code("agency", &req.agency).map(str::to_owned))
            .transpose()?,
        area: (!req.area.is_empty())
            .then(|| agency_code("area", &req.area).map(str::to_owned))
            .transpose()?,
    };
    let Scope::Agency(own) = &p.scope else {
        return Ok(filter);
    };
    let wide = p.has(Role::Reviewer) || p.has(Role::Auditor);
    // Each filter given is checked on its own: an agency in scope does not
    // make an area outside it askable (the answer would say whether the
    // agency lies under that area).
    if let Some(a) = &filter.agency {
        access::any_of(store, p, a, READ_REPORT).await?;
    }
    if let Some(a) = &filter.area {
        if !wide {
            return Err(ApiError::PermissionDenied(format!(
                "{} may list only its own agency's reports",
                p.name
            )));
        }
        access::within(store, p, a, Reach::Subtree).await?;
    }
    if filter.agency.is_none() && filter.area.is_none() {
        if wide {
            filter.area = Some(own.clone());
        } else {
            access::require(p, Role::Submitter)?;
            filter.agency = Some(own.clone());
        }
    }
    Ok(filter)
}

#[tonic::async_trait]
impl ReportService for ReportApi {
    async fn validate_report(
        &self,
        request: Request<pb::ValidateReportRequest>,
    ) -> Result<Response<pb::ValidateReportResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("ValidateReport", request, |p, req| async move {
                let report = to_domain(
                    req.report
                        .as_ref()
                        .ok_or_else(|| ApiError::field("report", "required"))?,
                )?;
                let previous = if req.name.is_empty() {
                    None
                } else {
                    let (key, _) = report_name("name", &req.name)?;
                    access::any_of(&ctx.store, &p, &key.uscc, READ_REPORT).await?;
                    previous_year(&ctx.store, &key).await?
                };
                let findings = check(&report, previous.as_ref());
                Ok(pb::ValidateReportResponse {
                    verdict: pb::Verdict::from(Verdict::of(&findings)).into(),
                    findings: findings.iter().map(pb::Finding::from).collect(),
                    ruleset_version: gongkai_domain::RULESET_VERSION.to_owned(),
                })
            })
            .await
    }

    async fn save_draft(
        &self,
        request: Request<pb::SaveDraftRequest>,
    ) -> Result<Response<pb::SaveDraftResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("SaveDraft", request, |p, req| async move {
                let key = report_only("name", &req.name)?;
                access::any_of(&ctx.store, &p, &key.uscc, WRITE_REPORT).await?;
                let w = write_meta(request_id(&req.request_id)?, &p.name);
                let report = to_domain(
                    req.report
                        .as_ref()
                        .ok_or_else(|| ApiError::field("report", "required"))?,
                )?;
                matches_name(&report, &key)?;
                let expected = req.expected_revision;
                let s = &ctx.store;
                let findings = check(&report, previous_year(s, &key).await?.as_ref());
                let verdict = Verdict::of(&findings);
                let op = WriteOp::SaveDraft {
                    key,
                    expected,
                    report: pb::AnnualReport::from(&report),
                    checked: checked(&findings),
                };
                let revision = s.write(w, op).await?.into_revision()?;
                Ok(pb::SaveDraftResponse {
                    revision: Some(revision),
                    verdict: pb::Verdict::from(verdict).into(),
                })
            })
            .await
    }

    async fn submit_report(
        &self,
        request: Request<pb::SubmitReportRequest>,
    ) -> Result<Response<pb::SubmitReportResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("SubmitReport", request, |p, req| async move {
                let key = report_only("name", &req.name)?;
                access::any_of(&ctx.store, &p, &key.uscc, WRITE_REPORT).await?;
                let w = write_meta(request_id(&req.request_id)?, &p.name);
                let given = req.report.as_ref().map(to_domain).transpose()?;
                if let Some(r) = &given {
                    matches_name(r, &key)?;
                }
                let expected = req.expected_revision;
                let s = &ctx.store;
                let report = match given {
                    Some(r) => r,
                    // The latest draft, as the caller saw it.
                    None => match expected_latest(s, &key, expected).await? {
                        Some(latest) => stored_report(&latest)?,
                        // Superseded: a retry gets its first answer from the
                        // store, anything else the conflict.
                        None => {
                            let op = WriteOp::Review {
                                key,
                                expected,
                                action: Action::Submit,
                                checked: Checked::default(),
                                comments: Vec::new(),
                            };
                            let revision = s.write(w, op).await?.into_revision()?;
                            let verdict = stored_verdict(&revision.findings);
                            return Ok(pb::SubmitReportResponse {
                                revision: Some(revision),
                                verdict: verdict.into(),
                            });
                        }
                    },
                };
                let findings = check(&report, previous_year(s, &key).await?.as_ref());
                // Refused before anything is written.
                if has_errors(&findings) {
                    return Err(ApiError::ReportInvalid(findings));
                }
                // With content it is one new revision, already submitted.
                let op = if req.report.is_some() {
                    WriteOp::SaveAndSubmit {
                        key,
                        expected,
                        report: pb::AnnualReport::from(&report),
                        checked: checked(&findings),
                    }
                } else {
                    WriteOp::Review {
                        key,
                        expected,
                        action: Action::Submit,
                        checked: checked(&findings),
                        comments: Vec::new(),
                    }
                };
                let revision = s.write(w, op).await?.into_revision()?;
                let verdict = Verdict::of(&findings);
                Ok(pb::SubmitReportResponse {
                    revision: Some(revision),
                    verdict: pb::Verdict::from(verdict).into(),
                })
            })
            .await
    }

    async fn get_report(
        &self,
        request: Request<pb::GetReportRequest>,
    ) -> Result<Response<pb::GetReportResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("GetReport", request, |p, req| async move {
                let s = &ctx.store;
                let (key, n) = stored_revision_key(s, &p, &req.name, req.view).await?;
                // Sent as stored: revisions never change.
                let encoded = s
                    .encoded_revision(&key, n)
                    .await?
                    .ok_or_else(|| not_found(key.revision_name(n)))?;
                Ok(pb::GetReportResponse::encoded(encoded))
            })
            .await
    }

    async fn list_reports(
        &self,
        request: Request<pb::ListReportsRequest>,
    ) -> Result<Response<pb::ListReportsResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("ListReports", request, |p, req| async move {
                let filter = scoped_filter(&ctx.store, &p, &req).await?;
                let page = super::page(req.page_size, req.page_token)?;
                let listed = ctx.store.list_reports(&filter, &page).await?;
                Ok(pb::ListReportsResponse {
                    reports: listed.items.iter().map(summary).collect(),
                    next_page_token: listed.next_cursor,
                })
            })
            .await
    }

    async fn list_revisions(
        &self,
        request: Request<pb::ListRevisionsRequest>,
    ) -> Result<Response<pb::ListRevisionsResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("ListRevisions", request, |p, req| async move {
                let key = report_only("name", &req.name)?;
                access::any_of(&ctx.store, &p, &key.uscc, READ_REPORT).await?;
                let page = super::page(req.page_size, req.page_token)?;
                let listed = ctx.store.list_revisions(&key, &page).await?;
                if listed.items.is_empty()
                    && page.cursor.is_empty()
                    && ctx.store.head(&key).await?.is_none()
                {
                    return Err(ApiError::Store(StoreError::NotFound(key.name())));
                }
                Ok(pb::ListRevisionsResponse {
                    revisions: listed.items,
                    next_page_token: listed.next_cursor,
                })
            })
            .await
    }
}
