//! The life of a report over gRPC, driven by the generated clients against a
//! server on 127.0.0.1:0 with a temporary store (issue 4, deliver item 5):
//! the county's sample report is refused with its two t3.balance findings,
//! corrected, submitted, returned by the city with a comment on a cell,
//! resubmitted and approved; every revision is kept and the audit chain
//! verifies. Retries and stale writers are covered after.

mod common;

use common::serve::{
    ADMIN, AUDITOR, Clients, Engine, Principals, REVIEWER, SUBMITTER, Served, authed, bad_fields,
    corrected_report, county, report_name, sample_report,
};
use gongkai_proto::v1::{self as pb, ReviewState as S};
use tonic::Code;
use tonic_types::StatusExt;

common::serve::on_both_engines!(
    the_sample_is_refused_corrected_returned_resubmitted_and_approved,
    an_immediate_retry_of_a_submit_returns_the_same_revision_and_writes_nothing,
    a_report_submitted_from_its_saved_draft_goes_through_review,
    a_call_cut_off_by_its_deadline_is_safe_to_retry_with_the_same_request_id,
    a_retried_approve_is_answered_with_the_first_outcome_and_writes_nothing,
    a_retried_submit_of_the_draft_is_answered_with_the_first_outcome,
);

/// admin (global), the county's submitter, the city's reviewer, a global auditor.
fn principals() -> Principals {
    Principals::new(&[
        ("ops", "*", ADMIN),
        ("baoqing-office", &county(), SUBMITTER),
        ("shuangyashan-review", &common::serve::city(), REVIEWER),
        ("inspector", "*", AUDITOR),
    ])
}

struct World {
    _server: Served,
    c: Clients,
    p: Principals,
    name: String,
}

async fn world(engine: Engine) -> World {
    let p = principals();
    let server = Served::start(engine, &p).await;
    let mut c = server.clients().await;
    c.register_tree(p.token("ops"), false).await;
    World {
        _server: server,
        c,
        p,
        name: report_name(&county(), 2024),
    }
}

impl World {
    fn submitter(&self) -> String {
        self.p.token("baoqing-office").to_owned()
    }
    fn reviewer(&self) -> String {
        self.p.token("shuangyashan-review").to_owned()
    }
    fn auditor(&self) -> String {
        self.p.token("inspector").to_owned()
    }

    async fn events(&mut self) -> Vec<pb::AuditEvent> {
        let a = self.auditor();
        self.c.audit_events(&a).await
    }

    async fn pending(&mut self) -> Vec<String> {
        let r = self.reviewer();
        self.c
            .review
            .list_pending_reviews(authed(Some(&r), pb::ListPendingReviewsRequest::default()))
            .await
            .expect("list pending reviews")
            .into_inner()
            .reports
            .into_iter()
            .map(|s| s.name)
            .collect()
    }

    async fn approve(
        &mut self,
        expected: u32,
        id: &str,
    ) -> Result<pb::ReportRevision, tonic::Status> {
        let r = self.reviewer();
        let name = self.name.clone();
        self.c.approve(&r, &name, expected, id).await
    }

    async fn revisions(&mut self) -> Vec<pb::ReportRevision> {
        let a = self.auditor();
        let name = self.name.clone();
        self.c
            .report
            .list_revisions(authed(
                Some(&a),
                pb::ListRevisionsRequest {
                    name,
                    ..Default::default()
                },
            ))
            .await
            .expect("list revisions")
            .into_inner()
            .revisions
    }
}

/// The refusal of the sample as published: exactly its two t3.balance
/// errors as BadRequest field violations, ErrorInfo REPORT_INVALID.
fn assert_refused_for_balance(status: &tonic::Status) {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains("2 error finding(s)"),
        "message names the count: {}",
        status.message()
    );
    let details = status.get_error_details();
    let bad = details.bad_request().expect("a BadRequest detail");
    let fields: Vec<&str> = bad
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["t3.R25.natural_person", "t3.R25.total"], "{bad:?}");
    for v in &bad.field_violations {
        assert!(
            v.description.starts_with("t3.balance: "),
            "the description names the rule: {v:?}"
        );
        assert!(
            v.description.ends_with("(expected 78, actual 79)"),
            "the description carries expected and actual: {v:?}"
        );
    }
    let info = details.error_info().expect("an ErrorInfo detail");
    assert_eq!(info.reason, "REPORT_INVALID");
    assert_eq!(info.domain, gongkai_server::error::ERROR_DOMAIN);
    assert_eq!(info.metadata.get("errors").map(String::as_str), Some("2"));
    assert!(
        info.metadata
            .get("ruleset_version")
            .is_some_and(|v| !v.is_empty()),
        "{info:?}"
    );
}

async fn the_sample_is_refused_corrected_returned_resubmitted_and_approved(engine: Engine) {
    let mut w = world(engine).await;
    let (submitter, reviewer) = (w.submitter(), w.reviewer());
    let name = w.name.clone();
    let agency_events = w.events().await;
    assert_eq!(agency_events.len(), 4, "city, county, two departments");
    assert!(
        agency_events
            .iter()
            .all(|e| e.action() == pb::AuditAction::AgencyRegistered)
    );

    // 1. The sample as published: refused, nothing written.
    let refused =
        w.c.submit(&submitter, &name, Some(sample_report()), 0, "submit-sample")
            .await
            .expect_err("the sample has errors");
    assert_refused_for_balance(&refused);
    let got =
        w.c.report
            .get_report(authed(
                Some(&submitter),
                pb::GetReportRequest {
                    name: name.clone(),
                    view: 0,
                },
            ))
            .await
            .expect_err("nothing was written");
    assert_eq!(got.code(), Code::NotFound, "{got:?}");
    assert_eq!(
        w.events().await,
        agency_events,
        "the audit trail holds only the agency events"
    );

    // 2. Corrected (R25 = 0 in 自然人 and 总计): one revision, submitted.
    let corrected = corrected_report();
    let submitted =
        w.c.submit(&submitter, &name, Some(corrected.clone()), 0, "submit-1")
            .await
            .expect("the corrected report is submitted");
    assert_eq!(
        submitted.revision, 1,
        "new content is submitted as one revision"
    );
    assert_eq!(submitted.state(), S::Submitted);
    assert_eq!(submitted.previous_revision, 0);
    assert_eq!(submitted.author, "baoqing-office");
    assert_eq!(submitted.name, format!("{name}/revisions/1"));
    assert!(
        submitted
            .findings
            .iter()
            .all(|f| f.severity() != pb::Severity::Error),
        "no error finding on a submitted revision"
    );
    assert_eq!(
        w.pending().await,
        std::slice::from_ref(&name),
        "it waits for the city"
    );

    // 3. The city returns it with a comment on a cell.
    let comment = pb::ReviewComment {
        text: "结转下年度继续办理总计与正文不符，请核实".into(),
        cell: "t3.R25.total".into(),
    };
    let returned =
        w.c.return_report(&reviewer, &name, 1, vec![comment.clone()], "return-1")
            .await
            .expect("the reviewer returns it");
    assert_eq!(returned.revision, 2);
    assert_eq!(returned.state(), S::Returned);
    assert_eq!(returned.comments, std::slice::from_ref(&comment));
    assert_eq!(returned.author, "shuangyashan-review");
    assert!(
        w.pending().await.is_empty(),
        "a returned report is not pending"
    );

    // 4. The submitter resubmits with the report: revision 3, submitted.
    let resubmitted =
        w.c.submit(&submitter, &name, Some(corrected.clone()), 2, "submit-2")
            .await
            .expect("resubmitted");
    assert_eq!(resubmitted.revision, 3);
    assert_eq!(resubmitted.state(), S::Submitted);
    assert_eq!(w.pending().await, std::slice::from_ref(&name));

    // 5. The city approves.
    let approved = w.approve(3, "approve-1").await.expect("approved");
    assert_eq!(approved.revision, 4);
    assert_eq!(approved.state(), S::Approved);

    let latest_approved =
        w.c.report
            .get_report(authed(
                Some(&submitter),
                pb::GetReportRequest {
                    name: name.clone(),
                    view: pb::ReportView::LatestApproved.into(),
                },
            ))
            .await
            .expect("the approved revision")
            .into_inner()
            .revision
            .expect("revision");
    assert_eq!(latest_approved.revision, 4);
    assert_eq!(latest_approved.state(), S::Approved);
    assert_eq!(
        latest_approved.report.as_ref(),
        Some(&corrected),
        "the approved content is what was submitted"
    );

    // 6. Every revision, oldest first.
    let revisions = w.revisions().await;
    let states: Vec<S> = revisions.iter().map(pb::ReportRevision::state).collect();
    assert_eq!(
        states,
        [S::Submitted, S::Returned, S::Submitted, S::Approved]
    );
    let numbers: Vec<u32> = revisions.iter().map(|r| r.revision).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    let previous: Vec<u32> = revisions.iter().map(|r| r.previous_revision).collect();
    assert_eq!(previous, [0, 1, 2, 3]);
    assert_eq!(revisions[1].comments, [comment]);
    assert!(w.pending().await.is_empty(), "nothing waits at the end");

    // 7. The trail: 4 agency events and one per revision; the chain verifies.
    let events = w.events().await;
    let actions: Vec<pb::AuditAction> = events.iter().skip(4).map(|e| e.action()).collect();
    use pb::AuditAction as A;
    assert_eq!(
        actions,
        [
            A::ReportSubmitted,
            A::ReportReturned,
            A::ReportSubmitted,
            A::ReportApproved
        ]
    );
    let auditor = w.auditor();
    let verified =
        w.c.audit
            .verify_audit_chain(authed(Some(&auditor), pb::VerifyAuditChainRequest {}))
            .await
            .expect("verify")
            .into_inner();
    assert!(verified.intact, "{verified:?}");
    assert_eq!(verified.events, 8);
    assert_eq!(verified.broken_event, 0);

    // 8. A retried SubmitReport (same request id) returns the same revision
    //    and writes nothing, even after the report moved on.
    let retried =
        w.c.submit(&submitter, &name, Some(corrected.clone()), 2, "submit-2")
            .await
            .expect("a retry is answered, not refused");
    assert_eq!(retried.revision, 3);
    assert_eq!(retried.state(), S::Submitted);
    assert_eq!(w.events().await, events, "the retry wrote nothing");

    // 9. A stale expected revision is ABORTED (STALE_REVISION), nothing written.
    let stale =
        w.c.submit(&submitter, &name, Some(corrected), 3, "submit-3")
            .await
            .expect_err("revision 3 is stale: the latest is 4");
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    let info = stale.get_error_details();
    let info = info.error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "STALE_REVISION");
    assert_eq!(
        info.metadata.get("latest_revision").map(String::as_str),
        Some("4")
    );
    let stale_approve = w
        .approve(3, "approve-stale")
        .await
        .expect_err("revision 3 is stale");
    assert_eq!(stale_approve.code(), Code::Aborted, "{stale_approve:?}");
    assert_eq!(w.events().await, events, "stale writes wrote nothing");
}

async fn an_immediate_retry_of_a_submit_returns_the_same_revision_and_writes_nothing(
    engine: Engine,
) {
    let mut w = world(engine).await;
    let submitter = w.submitter();
    let name = w.name.clone();
    let first =
        w.c.submit(&submitter, &name, Some(corrected_report()), 0, "once")
            .await
            .expect("submitted");
    let before = w.events().await;
    let again =
        w.c.submit(&submitter, &name, Some(corrected_report()), 0, "once")
            .await
            .expect("the retry is answered with the first outcome");
    assert_eq!(again.revision, first.revision);
    assert_eq!(again.state(), S::Submitted);
    assert_eq!(again.create_time, first.create_time, "the same revision");
    assert_eq!(w.events().await, before, "the retry wrote nothing");
    assert_eq!(w.revisions().await.len(), 1);

    // The same id for a different request is not a retry.
    let mut other = corrected_report();
    other.sections.as_mut().expect("sections").other_matters = Some("无。".into());
    let reused =
        w.c.submit(&submitter, &name, Some(other), 0, "once")
            .await
            .expect_err("a reused id with other content");
    assert_eq!(reused.code(), Code::InvalidArgument, "{reused:?}");
    assert_eq!(bad_fields(&reused), ["request_id"], "{reused:?}");
    assert_eq!(w.events().await, before, "nothing written");
}

async fn a_report_submitted_from_its_saved_draft_goes_through_review(engine: Engine) {
    let mut w = world(engine).await;
    let (submitter, reviewer) = (w.submitter(), w.reviewer());
    let name = w.name.clone();
    // A draft may hold errors; submitting that draft is refused.
    let draft =
        w.c.save(&submitter, &name, sample_report(), 0, "draft-1")
            .await
            .expect("a draft with errors is saved");
    assert_eq!((draft.revision, draft.state()), (1, S::Draft));
    assert!(
        draft
            .findings
            .iter()
            .any(|f| f.rule == "t3.balance" && f.severity() == pb::Severity::Error),
        "the draft carries its findings"
    );
    let refused =
        w.c.submit(&submitter, &name, None, 1, "submit-draft-1")
            .await
            .expect_err("the draft has errors");
    assert_refused_for_balance(&refused);
    // Corrected draft 2, submitted by name alone as revision 3.
    let draft =
        w.c.save(&submitter, &name, corrected_report(), 1, "draft-2")
            .await
            .expect("corrected draft");
    assert_eq!(draft.revision, 2);
    let submitted =
        w.c.submit(&submitter, &name, None, 2, "submit-draft-2")
            .await
            .expect("the latest draft is submitted");
    assert_eq!((submitted.revision, submitted.state()), (3, S::Submitted));
    assert_eq!(submitted.report, Some(corrected_report()));
    // The reviewer's own approval is what the submitter sees as latest.
    let approved = w.approve(3, "approve").await.expect("approved");
    assert_eq!(approved.revision, 4);
    let latest =
        w.c.report
            .get_report(authed(
                Some(&reviewer),
                pb::GetReportRequest {
                    name: format!("{name}/revisions/3"),
                    view: 0,
                },
            ))
            .await
            .expect("a given revision")
            .into_inner()
            .revision
            .expect("revision");
    assert_eq!((latest.revision, latest.state()), (3, S::Submitted));
}

async fn a_call_cut_off_by_its_deadline_is_safe_to_retry_with_the_same_request_id(engine: Engine) {
    let mut w = world(engine).await;
    let submitter = w.submitter();
    let name = w.name.clone();
    let mut request = authed(
        Some(&submitter),
        pb::SubmitReportRequest {
            name: name.clone(),
            report: Some(corrected_report()),
            expected_revision: 0,
            request_id: "deadline".into(),
        },
    );
    request.set_timeout(std::time::Duration::from_micros(1));
    let cut =
        w.c.report
            .submit_report(request)
            .await
            .expect_err("a 1 µs deadline");
    // tonic's server answers an expired deadline with CANCELLED "Timeout expired".
    assert!(
        matches!(cut.code(), Code::Cancelled | Code::DeadlineExceeded),
        "{cut:?}"
    );
    // The write may or may not have happened; the retry settles it either way.
    let retried =
        w.c.submit(&submitter, &name, Some(corrected_report()), 0, "deadline")
            .await
            .expect("the retry");
    assert_eq!((retried.revision, retried.state()), (1, S::Submitted));
    let events = w.events().await;
    assert_eq!(events.len(), 4 + 1, "one submission, once");
}

async fn a_retried_approve_is_answered_with_the_first_outcome_and_writes_nothing(engine: Engine) {
    let mut w = world(engine).await;
    let submitter = w.submitter();
    let name = w.name.clone();
    let submitted =
        w.c.submit(&submitter, &name, Some(corrected_report()), 0, "s1")
            .await
            .expect("submitted");
    let first = w
        .approve(submitted.revision, "approve-once")
        .await
        .expect("approved");
    let before = w.events().await;
    // The answer was lost; the reviewer retries with the same request id.
    let again = w
        .approve(submitted.revision, "approve-once")
        .await
        .expect("a retried approve is answered, not refused as stale");
    assert_eq!(again.revision, first.revision);
    assert_eq!(again.state(), S::Approved);
    assert_eq!(w.events().await, before, "the retry wrote nothing");
    // A new request naming the superseded revision is still a conflict.
    let stale = w
        .approve(submitted.revision, "approve-other")
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
}

async fn a_retried_submit_of_the_draft_is_answered_with_the_first_outcome(engine: Engine) {
    let mut w = world(engine).await;
    let submitter = w.submitter();
    let name = w.name.clone();
    let draft =
        w.c.save(&submitter, &name, corrected_report(), 0, "d1")
            .await
            .expect("draft");
    let first =
        w.c.submit(&submitter, &name, None, draft.revision, "sub-once")
            .await
            .expect("submitted");
    let before = w.events().await;
    let again =
        w.c.submit(&submitter, &name, None, draft.revision, "sub-once")
            .await
            .expect("a retried submit is answered, not refused as stale");
    assert_eq!(again.revision, first.revision);
    assert_eq!(again.state(), S::Submitted);
    assert_eq!(w.events().await, before, "the retry wrote nothing");
    let stale =
        w.c.submit(&submitter, &name, None, draft.revision, "sub-other")
            .await
            .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
}
