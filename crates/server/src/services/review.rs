//! ReviewService: the supervising office approves or returns.

use gongkai_proto::v1::{self as pb, review_service_server::ReviewService};
use gongkai_store::{Action, Checked, ReportFilter, WriteOp};
use tonic::{Request, Response, Status};

use super::{
    Ctx, MAX_COMMENT_CHARS, MAX_COMMENTS, MAX_TOKEN_BYTES, agency::write_meta, report::request_id,
    report_only, summary,
};
use crate::{
    access::{self, REVIEW_REPORT},
    auth::{Role, Scope},
    error::{ApiError, quoted},
};

/// ReviewService over the store.
#[derive(Clone, Debug)]
pub struct ReviewApi(pub Ctx);

/// Where a review comment may point: a finding location path.
const CELL_TABLES: [&str; 5] = ["t2.", "t3.", "t4.", "section.", "metadata."];

impl ReviewApi {
    async fn decide(
        &self,
        method: &'static str,
        request: Request<(String, u32, String, Vec<pb::ReviewComment>)>,
        action: Action,
    ) -> Result<Response<pb::ReportRevision>, Status> {
        let ctx = self.0.clone();
        self.0
            .run(
                method,
                request,
                |p, (name, expected, id, comments)| async move {
                    let key = report_only("name", &name)?;
                    access::any_of(&ctx.store, &p, &key.uscc, REVIEW_REPORT).await?;
                    let w = write_meta(request_id(&id)?, &p.name);
                    if comments.len() > MAX_COMMENTS {
                        return Err(ApiError::field(
                            "comments",
                            format!("at most {MAX_COMMENTS}, got {}", comments.len()),
                        ));
                    }
                    for (i, c) in comments.iter().enumerate() {
                        let text = format!("comments[{i}].text");
                        if c.text.trim().is_empty() {
                            return Err(ApiError::field(text, "empty"));
                        }
                        super::bounded_text(&text, &c.text, MAX_COMMENT_CHARS)?;
                        let cell_path = !c.cell.is_empty()
                            && c.cell.len() <= MAX_TOKEN_BYTES
                            && CELL_TABLES.iter().any(|t| c.cell.starts_with(t));
                        if !c.cell.is_empty() && !cell_path {
                            return Err(ApiError::field(
                                format!("comments[{i}].cell"),
                                format!(
                                    "{} is not a cell path such as t3.R25.natural_person",
                                    quoted(&c.cell)
                                ),
                            ));
                        }
                    }
                    if action == Action::Return && comments.is_empty() {
                        return Err(ApiError::field(
                            "comments",
                            "a returned report needs at least one comment",
                        ));
                    }
                    let s = &ctx.store;
                    // The decision carries the findings of the revision decided
                    // on. A superseded `expected` goes to the store as it is: a
                    // retry is answered with its first outcome, anything else is
                    // the conflict.
                    let checked = match super::report::expected_latest(s, &key, expected).await? {
                        Some(seen) => Checked {
                            findings: seen.findings,
                            ruleset_version: seen.ruleset_version,
                        },
                        None => Checked::default(),
                    };
                    let op = WriteOp::Review {
                        key,
                        expected,
                        action,
                        checked,
                        comments,
                    };
                    Ok(s.write(w, op).await?.into_revision()?)
                },
            )
            .await
    }
}

#[tonic::async_trait]
impl ReviewService for ReviewApi {
    async fn approve_report(
        &self,
        request: Request<pb::ApproveReportRequest>,
    ) -> Result<Response<pb::ApproveReportResponse>, Status> {
        let (md, ext, r) = request.into_parts();
        let inner = Request::from_parts(
            md,
            ext,
            (r.name, r.expected_revision, r.request_id, Vec::new()),
        );
        let resp = self.decide("ApproveReport", inner, Action::Approve).await?;
        Ok(resp.map(|rev| pb::ApproveReportResponse {
            revision: Some(rev),
        }))
    }

    async fn return_report(
        &self,
        request: Request<pb::ReturnReportRequest>,
    ) -> Result<Response<pb::ReturnReportResponse>, Status> {
        let (md, ext, r) = request.into_parts();
        let inner = Request::from_parts(
            md,
            ext,
            (r.name, r.expected_revision, r.request_id, r.comments),
        );
        let resp = self.decide("ReturnReport", inner, Action::Return).await?;
        Ok(resp.map(|rev| pb::ReturnReportResponse {
            revision: Some(rev),
        }))
    }

    async fn list_pending_reviews(
        &self,
        request: Request<pb::ListPendingReviewsRequest>,
    ) -> Result<Response<pb::ListPendingReviewsResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("ListPendingReviews", request, |p, req| async move {
                access::require(&p, Role::Reviewer)?;
                let year = super::year_filter("data_year", req.data_year)?;
                let own = match &p.scope {
                    Scope::Everything => None,
                    Scope::Agency(a) => Some(a.clone()),
                };
                let filter = ReportFilter {
                    year,
                    state: Some(pb::ReviewState::Submitted),
                    area: own.clone(),
                    agency: None,
                };
                let page = super::page(req.page_size, req.page_token)?;
                let listed = ctx.store.list_reports(&filter, &page).await?;
                Ok(pb::ListPendingReviewsResponse {
                    // A reviewer does not review its own agency's report.
                    reports: listed
                        .items
                        .iter()
                        .filter(|s| own.as_ref() != Some(&s.key.uscc))
                        .map(summary)
                        .collect(),
                    next_page_token: listed.next_cursor,
                })
            })
            .await
    }
}
