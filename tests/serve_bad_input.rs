//! Bad input over gRPC (issue 4, Acceptance "Bad input"): malformed or
//! oversized messages, unknown agencies, a data year out of range, missing
//! fields, a wrong expected revision, a forbidden transition. Each gets a
//! precise status and message (with the BadRequest field, ErrorInfo or
//! PreconditionFailure a client can act on); nothing is written (the audit
//! trail has as many events after as before); and the server keeps serving
//! (a health check and a valid call succeed after).

mod common;

use common::serve::{
    ADMIN, AUDITOR, Clients, NOWHERE, Principals, REVIEWER, SUBMITTER, TestServer, agency_name,
    authed, bad_fields, corrected_report, county, report_for, report_name,
};
use gongkai_proto::v1 as pb;
use gongkai_server::auth::Role;
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt;

struct World {
    server: TestServer,
    c: Clients,
    p: Principals,
    events_before: usize,
}

/// The tree, the county's 2024 report submitted (revisions 1 and 2), and a
/// count of the audit events so far.
async fn world() -> World {
    let p = Principals::new(&[
        ("ops", "*", ADMIN),
        ("inspector", "*", AUDITOR),
        ("baoqing-office", &county(), SUBMITTER),
        ("city-review", &common::serve::city(), REVIEWER),
        (
            "everything",
            "*",
            &[Role::Submitter, Role::Reviewer, Role::Auditor, Role::Admin],
        ),
    ]);
    let server = TestServer::start(&p.toml).await;
    let mut c = server.clients().await;
    c.register_tree(p.token("ops"), false).await;
    let rev = c
        .submit(
            p.token("baoqing-office"),
            &report_name(&county(), 2024),
            Some(corrected_report()),
            0,
            "setup-submit",
        )
        .await
        .expect("setup submit");
    assert_eq!(rev.revision, 1);
    let events_before = c.audit_events(p.token("inspector")).await.len();
    assert_eq!(events_before, 5);
    World {
        server,
        c,
        p,
        events_before,
    }
}

impl World {
    fn t(&self, who: &str) -> String {
        self.p.token(who).to_owned()
    }

    /// Nothing was written, the server still answers health and a valid call.
    async fn assert_unchanged_and_serving(&mut self) {
        let inspector = self.t("inspector");
        let events = self.c.audit_events(&inspector).await.len();
        assert_eq!(events, self.events_before, "bad input wrote something");
        assert!(self.server.is_running(), "the server task ended");
        assert_eq!(
            self.c.health().await.expect("health"),
            ServingStatus::Serving
        );
        let office = self.t("baoqing-office");
        let got = self
            .c
            .report
            .get_report(authed(
                Some(&office),
                pb::GetReportRequest {
                    name: report_name(&county(), 2024),
                    view: 0,
                },
            ))
            .await
            .expect("a valid call after the bad input")
            .into_inner();
        assert_eq!(got.revision.map(|r| r.revision), Some(1));
    }
}

/// INVALID_ARGUMENT naming `field` in BadRequest, with `text` in the message.
#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(r: Result<T, Status>, field: &str, text: &str) {
    let s = r.expect_err("bad input must be refused");
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    assert_eq!(bad_fields(&s), [field], "BadRequest field of {s:?}");
    assert!(
        s.message().contains(text),
        "message {:?} should contain {text:?}",
        s.message()
    );
    assert!(
        s.message().starts_with(&format!("{field}: ")),
        "the message names the field first: {:?}",
        s.message()
    );
}

fn get(name: &str) -> pb::GetReportRequest {
    pb::GetReportRequest {
        name: name.to_owned(),
        view: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_names_are_invalid_argument() {
    let mut w = world().await;
    let all = w.t("everything");
    let county = county();

    let r =
        w.c.agency
            .get_agency(authed(
                Some(&all),
                pb::GetAgencyRequest {
                    name: "agencies/x".into(),
                },
            ))
            .await;
    assert_invalid(r, "name", "统一社会信用代码 'x'");
    let r =
        w.c.agency
            .get_agency(authed(
                Some(&all),
                pb::GetAgencyRequest {
                    name: county.clone(),
                },
            ))
            .await;
    assert_invalid(
        r,
        "name",
        &format!("'{county}' is not agencies/{{统一社会信用代码}}"),
    );
    // A wrong check character.
    let wrong_check = format!("{}0", &county[..17]);
    let r =
        w.c.agency
            .get_agency(authed(
                Some(&all),
                pb::GetAgencyRequest {
                    name: agency_name(&wrong_check),
                },
            ))
            .await;
    assert_invalid(r, "name", &format!("统一社会信用代码 '{wrong_check}'"));

    let shape = "is not agencies/{uscc}/reports/{year}[/revisions/{n}]";
    for name in [
        "agencies/x".to_owned(),
        format!("agencies/{county}/reports/abc"),
        format!("agencies/{county}/reports/2024/revisions/0"),
        format!("agencies/{county}/reports/2024/revisions/-1"),
        format!("agencies/{county}/reports/"),
        format!("agencies/{county}/reports/2024/"),
        String::new(),
    ] {
        let r = w.c.report.get_report(authed(Some(&all), get(&name))).await;
        assert_invalid(r, "name", &format!("'{name}' {shape}"));
    }
    // The code inside a well-shaped report name is checked too.
    let r =
        w.c.report
            .get_report(authed(Some(&all), get("agencies/x/reports/2024")))
            .await;
    assert_invalid(r, "name", "统一社会信用代码 'x'");
    // Writes to a revision's name are refused.
    let r =
        w.c.save(
            &all,
            &format!("{}/revisions/1", report_name(&county, 2024)),
            corrected_report(),
            2,
            "save-revision-name",
        )
        .await;
    assert_invalid(
        r,
        "name",
        "names a revision; this call takes the report's name",
    );
    let r =
        w.c.submit(
            &all,
            &format!("agencies/{county}/reports/abc"),
            Some(corrected_report()),
            2,
            "submit-malformed",
        )
        .await;
    assert_invalid(r, "name", shape);
    w.assert_unchanged_and_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_agencies_are_not_found_for_a_global_principal() {
    let mut w = world().await;
    let all = w.t("everything");
    let r =
        w.c.agency
            .get_agency(authed(
                Some(&all),
                pb::GetAgencyRequest {
                    name: agency_name(NOWHERE),
                },
            ))
            .await
            .expect_err("not registered");
    assert_eq!(r.code(), Code::NotFound, "{r:?}");
    assert!(r.message().contains(&agency_name(NOWHERE)), "{r:?}");

    let r =
        w.c.report
            .get_report(authed(Some(&all), get(&report_name(NOWHERE, 2024))))
            .await
            .expect_err("no report");
    assert_eq!(r.code(), Code::NotFound, "{r:?}");
    assert!(r.message().contains(&report_name(NOWHERE, 2024)), "{r:?}");

    // Writing a report for an unregistered agency.
    let r =
        w.c.submit(
            &all,
            &report_name(NOWHERE, 2024),
            Some(corrected_report()),
            0,
            "submit-nowhere",
        )
        .await
        .expect_err("no such agency");
    assert_eq!(r.code(), Code::NotFound, "{r:?}");
    assert!(r.message().contains(NOWHERE), "{r:?}");
    let r =
        w.c.save(
            &all,
            &report_name(NOWHERE, 2024),
            corrected_report(),
            0,
            "save-nowhere",
        )
        .await
        .expect_err("no such agency");
    assert_eq!(r.code(), Code::NotFound, "{r:?}");

    // Registering under an unknown supervisor, moving an unknown agency.
    let code = common::serve::uscc("11230523MB0000099");
    // A wrong check character is refused before anything is looked up.
    let wrong = format!(
        "{}{}",
        &code[..17],
        if code.ends_with('0') { '1' } else { '0' }
    );
    let r =
        w.c.register(
            &all,
            &wrong,
            "宝清县某局",
            "230523",
            pb::AgencyLevel::County,
            pb::AgencyKind::Department,
            Some(NOWHERE),
        )
        .await;
    assert_invalid(r, "agency.uscc", &format!("'{wrong}'"));
    let r =
        w.c.register(
            &all,
            &code,
            "宝清县某局",
            "230523",
            pb::AgencyLevel::County,
            pb::AgencyKind::Department,
            Some(NOWHERE),
        )
        .await
        .expect_err("unknown supervisor");
    assert_eq!(r.code(), Code::NotFound, "{r:?}");
    assert!(
        r.message()
            .contains(&format!("supervisor agencies/{NOWHERE}")),
        "{r:?}"
    );
    let r =
        w.c.agency
            .update_agency_supervisor(authed(
                Some(&all),
                pb::UpdateAgencySupervisorRequest {
                    name: agency_name(NOWHERE),
                    supervisor: agency_name(&county()),
                    expected_version: 1,
                    request_id: "move-nowhere".into(),
                },
            ))
            .await
            .expect_err("unknown agency");
    assert_eq!(r.code(), Code::NotFound, "{r:?}");
    w.assert_unchanged_and_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_years_out_of_range_are_invalid_argument() {
    let mut w = world().await;
    let all = w.t("everything");
    for year in [2018, 2101, 0] {
        let name = report_name(&county(), year);
        let r =
            w.c.submit(&all, &name, Some(report_for(year)), 0, &format!("y{year}"))
                .await;
        assert_invalid(
            r,
            "name",
            &format!("data year {year} is outside 2019..=2100"),
        );
        let r = w.c.report.get_report(authed(Some(&all), get(&name))).await;
        assert_invalid(r, "name", &format!("data year {year} is outside"));
        let r =
            w.c.save(&all, &name, report_for(year), 0, &format!("s{year}"))
                .await;
        assert_invalid(r, "name", &format!("data year {year} is outside"));
    }
    for year in [2018, 2101] {
        let r =
            w.c.report
                .list_reports(authed(
                    Some(&all),
                    pb::ListReportsRequest {
                        data_year: year,
                        ..Default::default()
                    },
                ))
                .await;
        assert_invalid(r, "data_year", &format!("{year} is outside 2019..=2100"));
        let r =
            w.c.review
                .list_pending_reviews(authed(
                    Some(&all),
                    pb::ListPendingReviewsRequest {
                        data_year: year,
                        ..Default::default()
                    },
                ))
                .await;
        assert_invalid(r, "data_year", &format!("{year} is outside 2019..=2100"));
    }
    w.assert_unchanged_and_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_fields_are_named_in_bad_request() {
    let mut w = world().await;
    let office = w.t("baoqing-office");
    let ops = w.t("ops");
    let review = w.t("city-review");
    let name = report_name(&county(), 2023);

    let r =
        w.c.report
            .save_draft(authed(
                Some(&office),
                pb::SaveDraftRequest {
                    name: name.clone(),
                    report: None,
                    expected_revision: 0,
                    request_id: "no-report".into(),
                },
            ))
            .await;
    assert_invalid(r, "report", "required");
    let r =
        w.c.report
            .validate_report(authed(Some(&office), pb::ValidateReportRequest::default()))
            .await;
    assert_invalid(r, "report", "required");
    let r = w.c.save(&office, &name, report_for(2023), 0, "").await;
    assert_invalid(r, "request_id", "required");
    let r =
        w.c.submit(&office, &name, Some(report_for(2023)), 0, "")
            .await;
    assert_invalid(r, "request_id", "required");
    let r =
        w.c.submit(&office, &name, Some(report_for(2023)), 0, &"x".repeat(121))
            .await;
    assert_invalid(r, "request_id", "at most 120");
    let r =
        w.c.approve(&review, &report_name(&county(), 2024), 1, "")
            .await;
    assert_invalid(r, "request_id", "required");
    let r =
        w.c.return_report(
            &review,
            &report_name(&county(), 2024),
            1,
            vec![],
            "return-no-comment",
        )
        .await;
    assert_invalid(r, "comments", "at least one comment");
    let r =
        w.c.return_report(
            &review,
            &report_name(&county(), 2024),
            1,
            vec![pb::ReviewComment {
                text: "见表三".into(),
                cell: "A1".into(),
            }],
            "return-bad-cell",
        )
        .await;
    assert_invalid(r, "comments[0].cell", "'A1' is not a cell path");
    let r =
        w.c.agency
            .register_agency(authed(
                Some(&ops),
                pb::RegisterAgencyRequest {
                    agency: None,
                    request_id: "no-agency".into(),
                },
            ))
            .await;
    assert_invalid(r, "agency", "required");
    let r =
        w.c.register(
            &ops,
            &common::serve::uscc("11230523MB0000098"),
            "宝清县某局",
            "999999",
            pb::AgencyLevel::County,
            pb::AgencyKind::Department,
            Some(&county()),
        )
        .await;
    assert_invalid(r, "agency.region_code", "'999999'");
    // A report whose format is not stated is not a report of the national format.
    let mut unformatted = report_for(2023);
    unformatted.format_version = 0;
    let r = w.c.save(&office, &name, unformatted, 0, "no-format").await;
    assert_invalid(r, "report", "");
    let r =
        w.c.report
            .list_reports(authed(
                Some(&office),
                pb::ListReportsRequest {
                    page_size: -1,
                    ..Default::default()
                },
            ))
            .await;
    assert_invalid(r, "page_size", "must be ≥ 0, got -1");
    let r =
        w.c.report
            .get_report(authed(
                Some(&office),
                pb::GetReportRequest {
                    name: report_name(&county(), 2024),
                    view: 99,
                },
            ))
            .await;
    assert_invalid(r, "view", "unknown view 99");
    w.assert_unchanged_and_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_page_token_names_the_field() {
    let mut w = world().await;
    let office = w.t("baoqing-office");
    let r =
        w.c.report
            .list_reports(authed(
                Some(&office),
                pb::ListReportsRequest {
                    page_token: "not-a-cursor".into(),
                    ..Default::default()
                },
            ))
            .await;
    assert_invalid(r, "page_token", "");
    w.assert_unchanged_and_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_metadata_must_match_the_name() {
    let mut w = world().await;
    let office = w.t("baoqing-office");
    let name = report_name(&county(), 2023);
    let r =
        w.c.save(&office, &name, report_for(2024), 0, "year-mismatch")
            .await;
    assert_invalid(
        r,
        "report.metadata.data_year",
        "is 2024, but the report name says 2023",
    );
    let r =
        w.c.submit(&office, &name, Some(report_for(2024)), 0, "year-mismatch-2")
            .await;
    assert_invalid(
        r,
        "report.metadata.data_year",
        "is 2024, but the report name says 2023",
    );
    let mut other = report_for(2023);
    other.metadata.as_mut().expect("metadata").agency_uscc = NOWHERE.into();
    let r = w.c.save(&office, &name, other, 0, "uscc-mismatch").await;
    assert_invalid(
        r,
        "report.metadata.agency_uscc",
        &format!("is {NOWHERE}, but the report name says {}", county()),
    );
    w.assert_unchanged_and_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_expected_revision_is_aborted_with_stale_revision() {
    let mut w = world().await;
    let office = w.t("baoqing-office");
    let review = w.t("city-review");
    let name = report_name(&county(), 2024);
    for (expected, id) in [(0, "stale-0"), (2, "ahead-2"), (7, "ahead-7")] {
        let s =
            w.c.save(&office, &name, corrected_report(), expected, id)
                .await
                .expect_err("the latest is 1");
        assert_eq!(s.code(), Code::Aborted, "{s:?}");
        assert!(
            s.message()
                .contains(&format!("expected revision {expected}, the latest is 1")),
            "{s:?}"
        );
        let details = s.get_error_details();
        let info = details.error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "STALE_REVISION");
        assert_eq!(info.domain, gongkai_server::error::ERROR_DOMAIN);
        assert_eq!(info.metadata["resource"], name);
        assert_eq!(info.metadata["expected_revision"], expected.to_string());
        assert_eq!(info.metadata["latest_revision"], "1");
    }
    let s =
        w.c.approve(&review, &name, 2, "approve-ahead")
            .await
            .expect_err("stale");
    assert_eq!(s.code(), Code::Aborted, "{s:?}");
    assert_eq!(
        s.get_error_details().error_info().map(|i| i.reason.clone()),
        Some("STALE_REVISION".into())
    );
    w.assert_unchanged_and_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_transition_is_failed_precondition_with_precondition_failure() {
    let mut w = world().await;
    let office = w.t("baoqing-office");
    let review = w.t("city-review");
    let inspector = w.t("inspector");
    // A draft of 2023, then approving / returning that draft.
    let name = report_name(&county(), 2023);
    let draft =
        w.c.save(&office, &name, report_for(2023), 0, "draft-2023")
            .await
            .expect("draft");
    w.events_before = w.c.audit_events(&inspector).await.len();
    let s =
        w.c.approve(&review, &name, draft.revision, "approve-draft")
            .await
            .expect_err("a draft cannot be approved");
    assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
    let details = s.get_error_details();
    let pf = details
        .precondition_failure()
        .expect("a PreconditionFailure detail");
    assert_eq!(pf.violations.len(), 1, "{pf:?}");
    assert_eq!(pf.violations[0].r#type, "STATE");
    assert_eq!(pf.violations[0].subject, name);
    assert_eq!(
        pf.violations[0].description,
        "cannot approve a report that is draft"
    );
    assert!(s.message().contains("draft"), "{s:?}");

    let s =
        w.c.return_report(
            &review,
            &name,
            draft.revision,
            vec![pb::ReviewComment {
                text: "请补充第五部分".into(),
                cell: "section.5".into(),
            }],
            "return-draft",
        )
        .await
        .expect_err("a draft cannot be returned");
    assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
    assert_eq!(
        s.get_error_details()
            .precondition_failure()
            .map(|p| p.violations[0].description.clone()),
        Some("cannot return a report that is draft".into())
    );
    w.assert_unchanged_and_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_refused_and_the_server_keeps_serving() {
    let mut w = world().await;
    let office = w.t("baoqing-office");
    let mut big = report_for(2023);
    // 5 MB of section text against the default 4 MiB limit.
    big.sections.as_mut().expect("sections").overview = Some("政务公开".repeat(5_000_000 / 12));
    let encoded = prost::Message::encoded_len(&big);
    assert!(encoded > 4 * 1024 * 1024, "{encoded}");
    let s =
        w.c.save(&office, &report_name(&county(), 2023), big, 0, "too-big")
            .await
            .expect_err("larger than --max-message-bytes");
    // tonic refuses a message over the decoding limit with OUT_OF_RANGE.
    assert_eq!(s.code(), Code::OutOfRange, "{s:?}");
    assert!(
        s.message().contains("message length too large")
            && s.message()
                .contains(&format!("the limit is: {} bytes", 4 * 1024 * 1024)),
        "{s:?}"
    );
    w.assert_unchanged_and_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitting_an_invalid_report_writes_nothing() {
    let mut w = world().await;
    let office = w.t("baoqing-office");
    let name = report_name(&county(), 2024);
    let s =
        w.c.submit(
            &office,
            &name,
            Some(common::serve::sample_report()),
            2,
            "invalid",
        )
        .await
        .expect_err("the sample is invalid");
    assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
    assert_eq!(
        bad_fields(&s),
        ["t3.R25.natural_person", "t3.R25.total"],
        "{s:?}"
    );
    w.assert_unchanged_and_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expected_revision_that_does_not_exist_is_aborted_like_a_stale_one() {
    let mut w = world().await;
    let review = w.t("city-review");
    let office = w.t("baoqing-office");
    let name = report_name(&county(), 2024);
    for expected in [0, 2, 99] {
        let s =
            w.c.approve(&review, &name, expected, &format!("approve-{expected}"))
                .await
                .expect_err("the latest is 1");
        assert_eq!(
            s.code(),
            Code::Aborted,
            "approve expecting {expected}: {s:?}"
        );
        assert_eq!(
            s.get_error_details().error_info().map(|i| i.reason.clone()),
            Some("STALE_REVISION".into())
        );
        let s =
            w.c.submit(
                &office,
                &name,
                None,
                expected,
                &format!("submit-{expected}"),
            )
            .await
            .expect_err("the latest is 1");
        assert_eq!(
            s.code(),
            Code::Aborted,
            "submit expecting {expected}: {s:?}"
        );
    }
    w.assert_unchanged_and_serving().await;
}

/// Sends raw bytes as a request body: what no generated client would send.
mod raw {
    use prost::bytes::{Buf, BufMut};
    use tonic::{
        Status,
        codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    };

    #[derive(Debug, Clone, Copy, Default)]
    pub struct RawCodec;

    impl Codec for RawCodec {
        type Encode = Vec<u8>;
        type Decode = Vec<u8>;
        type Encoder = RawCodec;
        type Decoder = RawCodec;
        fn encoder(&mut self) -> RawCodec {
            RawCodec
        }
        fn decoder(&mut self) -> RawCodec {
            RawCodec
        }
    }

    impl Encoder for RawCodec {
        type Item = Vec<u8>;
        type Error = Status;
        fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
            dst.put_slice(&item);
            Ok(())
        }
    }

    impl Decoder for RawCodec {
        type Item = Vec<u8>;
        type Error = Status;
        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
            let bytes = src.chunk().to_vec();
            src.advance(bytes.len());
            Ok(Some(bytes))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_request_bytes_are_refused_and_write_nothing() {
    let mut w = world().await;
    let office = w.t("baoqing-office");
    let channel = common::serve::plaintext_channel(w.server.addr)
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    for (what, body) in [
        ("an invalid wire type", vec![0xff; 16]),
        // field 1 (name), length 2, not UTF-8
        ("a name that is not UTF-8", vec![0x0a, 0x02, 0xff, 0xfe]),
        // field 2 (report), length 100, but only 3 bytes follow
        ("a truncated report", vec![0x12, 0x64, 0x0a, 0x01, 0x00]),
    ] {
        grpc.ready().await.expect("ready");
        let r: Result<tonic::Response<Vec<u8>>, Status> = grpc
            .unary(
                authed(Some(&office), body),
                http::uri::PathAndQuery::from_static("/gongkai.v1.ReportService/SaveDraft"),
                raw::RawCodec,
            )
            .await;
        let s = r.expect_err(what);
        // tonic answers a request it cannot decode with INTERNAL.
        assert_eq!(s.code(), Code::Internal, "{what}: {s:?}");
        assert!(
            s.message().starts_with("failed to decode Protobuf message"),
            "{what}: {s:?}"
        );
    }
    w.assert_unchanged_and_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_or_revision_has_one_name_only() {
    let mut w = world().await;
    let all = w.t("everything");
    let county = county();
    let shape = "is not agencies/{uscc}/reports/{year}[/revisions/{n}]";
    for name in [
        format!("agencies/{county}/reports/+2024"),
        format!("agencies/{county}/reports/02024"),
        format!("agencies/{county}/reports/ 2024"),
        format!("agencies/{county}/reports/2024/revisions/+1"),
        format!("agencies/{county}/reports/2024/revisions/01"),
    ] {
        let r = w.c.report.get_report(authed(Some(&all), get(&name))).await;
        assert_invalid(r, "name", &format!("'{name}' {shape}"));
    }
    w.assert_unchanged_and_serving().await;
}

/// A value of a mebibyte, where a name or a code belongs.
fn mebibyte(prefix: &str) -> String {
    format!("{prefix}{}", "x".repeat(1 << 20))
}

/// INVALID_ARGUMENT naming `field`, whose message quotes the value's first
/// 64 characters and its length only.
#[track_caller]
fn assert_quoted<T: std::fmt::Debug>(r: Result<T, Status>, field: &str, value: &str) {
    let s = r.expect_err("bad input must be refused");
    assert_eq!(s.code(), Code::InvalidArgument, "{:?}", s.code());
    assert_eq!(bad_fields(&s), [field]);
    assert!(s.message().len() <= 1024, "{} bytes", s.message().len());
    let quoted = format!("'{}…' ({} bytes)", &value[..64], value.len());
    assert!(s.message().contains(&quoted), "{}", s.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_value_is_quoted_by_its_first_characters_only() {
    let mut w = world().await;
    let all = w.t("everything");
    let name = mebibyte("agencies/");
    let r = w.c.report.get_report(authed(Some(&all), get(&name))).await;
    assert_quoted(r, "name", &name);
    let r =
        w.c.agency
            .get_agency(authed(
                Some(&all),
                pb::GetAgencyRequest { name: name.clone() },
            ))
            .await;
    // Shaped as an agency's name: the code in it is what is wrong.
    assert_quoted(r, "name", &name["agencies/".len()..]);
    let code = mebibyte("1123");
    let cell = mebibyte("t3.");
    let token = mebibyte("reports:");
    let r =
        w.c.agency
            .register_agency(authed(
                Some(&all),
                pb::RegisterAgencyRequest {
                    agency: Some(pb::Agency {
                        uscc: code.clone(),
                        display_name: "宝清县测试局".into(),
                        ..Default::default()
                    }),
                    request_id: "huge-uscc".into(),
                },
            ))
            .await;
    assert_quoted(r, "agency.uscc", &code);
    let r =
        w.c.review
            .return_report(authed(
                Some(&all),
                pb::ReturnReportRequest {
                    name: report_name(&county(), 2024),
                    expected_revision: 1,
                    comments: vec![pb::ReviewComment {
                        text: "请核对".into(),
                        cell: cell.clone(),
                    }],
                    request_id: "huge-cell".into(),
                },
            ))
            .await;
    assert_quoted(r, "comments[0].cell", &cell);
    let r =
        w.c.report
            .list_reports(authed(
                Some(&all),
                pb::ListReportsRequest {
                    page_token: token.clone(),
                    ..Default::default()
                },
            ))
            .await;
    assert_quoted(r, "page_token", &token);
    w.assert_unchanged_and_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_is_bounded_and_the_bound_named() {
    let mut w = world().await;
    let all = w.t("everything");
    let register = |display_name: String, n: u32| pb::RegisterAgencyRequest {
        agency: Some(pb::Agency {
            uscc: common::serve::uscc(&format!("11230523MC{n:07}")),
            display_name,
            region_code: "230523".into(),
            level: pb::AgencyLevel::County.into(),
            kind: pb::AgencyKind::Department.into(),
            supervisor: agency_name(&county()),
            ..Default::default()
        }),
        request_id: format!("bounded-{n}"),
    };
    // 768 KiB of 机关名称, then one character over the bound.
    for (n, display_name) in [(1, "局".repeat(768 * 1024 / 3)), (2, "局".repeat(129))] {
        let r =
            w.c.agency
                .register_agency(authed(Some(&all), register(display_name, n)))
                .await;
        assert_invalid(r, "agency.display_name", "at most 128 characters");
    }
    let comment = |text: String| pb::ReviewComment {
        text,
        cell: String::new(),
    };
    let return_with = |comments: Vec<pb::ReviewComment>| pb::ReturnReportRequest {
        name: report_name(&county(), 2024),
        expected_revision: 1,
        comments,
        request_id: "bounded-return".into(),
    };
    let r =
        w.c.review
            .return_report(authed(
                Some(&all),
                return_with(vec![comment("请".repeat(2001))]),
            ))
            .await;
    assert_invalid(r, "comments[0].text", "at most 2000 characters");
    let r =
        w.c.review
            .return_report(authed(
                Some(&all),
                return_with((0..101).map(|_| comment("请核对".into())).collect()),
            ))
            .await;
    assert_invalid(r, "comments", "at most 100");
    let mut report = corrected_report();
    report.metadata.as_mut().expect("metadata").agency_name = "县".repeat(129);
    let r =
        w.c.report
            .validate_report(authed(
                Some(&all),
                pb::ValidateReportRequest {
                    report: Some(report),
                    name: String::new(),
                },
            ))
            .await;
    assert_invalid(r, "report.metadata.agency_name", "at most 128 characters");
    let r =
        w.c.document
            .import_document(authed(
                Some(&all),
                pb::ImportDocumentRequest {
                    content: common::sample().into_bytes(),
                    hints: Some(pb::ImportHints {
                        agency_name: "县".repeat(129),
                        ..Default::default()
                    }),
                },
            ))
            .await;
    assert_invalid(r, "hints.agency_name", "at most 128 characters");
    // At the bound: accepted.
    w.c.agency
        .register_agency(authed(Some(&all), register("局".repeat(128), 3)))
        .await
        .expect("128 characters are allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_reads_a_timestamp_alike() {
    let mut w = world().await;
    let all = w.t("everything");
    let coverage = |as_of| pb::GetCoverageRequest {
        area: agency_name(&common::serve::city()),
        data_year: 2024,
        as_of: Some(as_of),
    };
    let events = |start_time, end_time| pb::ListAuditEventsRequest {
        start_time,
        end_time,
        ..Default::default()
    };
    let ts = |seconds, nanos| prost_types::Timestamp { seconds, nanos };
    // Outside 0001-01-01 ..= 9999-12-31, or nanos outside 0..1e9.
    for bad in [
        ts(0, -1),
        ts(0, 1_000_000_000),
        ts(253_402_300_800, 0),
        ts(-62_135_596_801, 0),
    ] {
        let r =
            w.c.area
                .get_coverage(authed(Some(&all), coverage(bad)))
                .await;
        assert_invalid(r, "as_of", "is not a timestamp");
        let r =
            w.c.audit
                .list_audit_events(authed(Some(&all), events(Some(bad), None)))
                .await;
        assert_invalid(r, "start_time", "is not a timestamp");
        let r =
            w.c.audit
                .list_audit_events(authed(Some(&all), events(None, Some(bad))))
                .await;
        assert_invalid(r, "end_time", "is not a timestamp");
    }
    // The last moment of 9999 and the first of year 1: accepted by both.
    for good in [ts(253_402_300_799, 999_999_999), ts(-62_135_596_800, 0)] {
        w.c.area
            .get_coverage(authed(Some(&all), coverage(good)))
            .await
            .expect("a timestamp in range, as_of");
        w.c.audit
            .list_audit_events(authed(Some(&all), events(Some(good), Some(good))))
            .await
            .expect("a timestamp in range, start and end");
    }
    w.assert_unchanged_and_serving().await;
}
