//! The authorisation matrix (issue 4, deliver item 5; issue 6 adds
//! AreaService): every RPC of the five
//! services × role (submitter, reviewer, auditor, admin, no token, bad
//! token) × an agency in scope and one out of scope, each with its exact
//! status code.
//!
//! The principals are scoped as SPEC.md "Who does what" places them: the
//! submitter is 宝清县人民政府's disclosure office (its own agency only), the
//! reviewer, auditor and admin sit at 双鸭山市人民政府 one level up (their
//! subtree: the county and its departments). The out-of-scope agency is
//! 金华市市场监督管理局 in another tree, which has reports of its own; the
//! same calls on a code that was never registered must answer the same code
//! with the same message, so a caller learns nothing of what lies outside.
//!
//! Expected codes follow `access.rs`: READ_REPORT = submitter (own),
//! reviewer and auditor (subtree); WRITE_REPORT = submitter (own);
//! REVIEW_REPORT = reviewer (strictly below); READ_AGENCY = all four roles;
//! ADMIN_AGENCY and RegisterAgency = admin (subtree); ListPendingReviews =
//! reviewer; ListAuditEvents and VerifyAuditChain = auditor; READ_AREA
//! (GetAreaSummary, GetCoverage, ExportReports) = reviewer and auditor
//! (subtree), nobody else. ListAgencies,
//! ListPendingReviews and VerifyAuditChain name no agency: the out-of-scope
//! column is the same call, and what comes back is filtered to the scope.
//!
//! Issue 13 adds: ListReports with an agency in scope and an area outside
//! it (each filter is checked on its own); BackupStore, which only an admin
//! of the whole store may call (every principal of the matrix is scoped);
//! what a scoped auditor is told by VerifyAuditChain and by the pages of
//! ListAuditEvents (its scope only); the Bearer scheme in any case; and,
//! pinned by decision, that a scoped admin learns whether a
//! 统一社会信用代码 is registered elsewhere.

mod common;

use common::serve::{
    ADMIN, AUDITOR, Clients, Engine, NOWHERE, OTHER, Principals, REVIEWER, SUBMITTER, Served,
    agency_name, authed, city, code_of, county, dept1, dept2, report_for, report_name, uscc,
};
use gongkai_proto::v1 as pb;
use gongkai_server::auth::Role;
use tonic::{Code, Status};

common::serve::on_both_engines!(
    every_rpc_by_every_role_in_and_out_of_scope,
    listings_without_an_agency_show_only_the_callers_scope,
    review_reaches_below_the_reviewer_but_not_its_own_agency_and_submitters_only_their_own,
    health_and_reflection_need_no_token,
    out_of_scope_reports_look_the_same_whether_or_not_they_exist,
    only_a_bearer_token_authenticates,
    a_scoped_auditor_is_told_of_its_scope_only,
    a_scoped_admin_learns_whether_a_code_is_registered_elsewhere,
);

/// Every RPC of AgencyService, ReportService, ReviewService, AuditService.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rpc {
    RegisterAgency,
    GetAgency,
    ListAgencies,
    UpdateAgencySupervisor,
    ValidateReport,
    SaveDraft,
    SubmitReport,
    GetReport,
    ListReports,
    ListRevisions,
    ApproveReport,
    ReturnReport,
    ListPendingReviews,
    ListAuditEvents,
    VerifyAuditChain,
    GetAreaSummary,
    GetCoverage,
    ExportReports,
    /// ListReports naming the county's agency and the target as the area.
    ListReportsInArea,
    BackupStore,
}

const OK: Code = Code::Ok;
const PD: Code = Code::PermissionDenied;

/// The roles of the matrix's rows, with their principal's name.
const ROLES: [&str; 4] = ["submitter", "reviewer", "auditor", "admin"];

/// (RPC, [(in scope, out of scope); submitter, reviewer, auditor, admin]).
/// No token and a bad token are UNAUTHENTICATED for every RPC.
const MATRIX: [(Rpc, [(Code, Code); 4]); 20] = [
    //                            submitter  reviewer   auditor    admin
    (
        Rpc::RegisterAgency,
        /*    */ [(PD, PD), (PD, PD), (PD, PD), (OK, PD)],
    ),
    (
        Rpc::GetAgency,
        /*         */ [(OK, PD), (OK, PD), (OK, PD), (OK, PD)],
    ),
    (
        Rpc::ListAgencies,
        /*      */ [(OK, OK), (OK, OK), (OK, OK), (OK, OK)],
    ),
    (
        Rpc::UpdateAgencySupervisor,
        [(PD, PD), (PD, PD), (PD, PD), (OK, PD)],
    ),
    (
        Rpc::ValidateReport,
        /*    */ [(OK, PD), (OK, PD), (OK, PD), (PD, PD)],
    ),
    (
        Rpc::SaveDraft,
        /*         */ [(OK, PD), (PD, PD), (PD, PD), (PD, PD)],
    ),
    (
        Rpc::SubmitReport,
        /*      */ [(OK, PD), (PD, PD), (PD, PD), (PD, PD)],
    ),
    (
        Rpc::GetReport,
        /*         */ [(OK, PD), (OK, PD), (OK, PD), (PD, PD)],
    ),
    (
        Rpc::ListReports,
        /*       */ [(OK, PD), (OK, PD), (OK, PD), (PD, PD)],
    ),
    (
        Rpc::ListRevisions,
        /*     */ [(OK, PD), (OK, PD), (OK, PD), (PD, PD)],
    ),
    (
        Rpc::ApproveReport,
        /*     */ [(PD, PD), (OK, PD), (PD, PD), (PD, PD)],
    ),
    (
        Rpc::ReturnReport,
        /*      */ [(PD, PD), (OK, PD), (PD, PD), (PD, PD)],
    ),
    (
        Rpc::ListPendingReviews,
        /**/ [(PD, PD), (OK, OK), (PD, PD), (PD, PD)],
    ),
    (
        Rpc::ListAuditEvents,
        /*   */ [(PD, PD), (PD, PD), (OK, PD), (PD, PD)],
    ),
    (
        Rpc::VerifyAuditChain,
        /*  */ [(PD, PD), (PD, PD), (OK, OK), (PD, PD)],
    ),
    (
        Rpc::GetAreaSummary,
        /*    */ [(PD, PD), (OK, PD), (OK, PD), (PD, PD)],
    ),
    (
        Rpc::GetCoverage,
        /*       */ [(PD, PD), (OK, PD), (OK, PD), (PD, PD)],
    ),
    (
        Rpc::ExportReports,
        /*     */ [(PD, PD), (OK, PD), (OK, PD), (PD, PD)],
    ),
    (
        Rpc::ListReportsInArea,
        /* */ [(PD, PD), (OK, PD), (OK, PD), (PD, PD)],
    ),
    (
        Rpc::BackupStore,
        /*       */ [(PD, PD), (PD, PD), (PD, PD), (PD, PD)],
    ),
];

/// Data years, one per kind of write so that each cell's outcome does not
/// depend on the order the cells run in.
const READ_YEAR: u32 = 2024; // submitted (revision 1) before the matrix; approved in it
const RETURN_YEAR: u32 = 2023; // submitted (revision 1) before the matrix
const SUBMIT_YEAR: u32 = 2022; // no report before the matrix
const DRAFT_YEAR: u32 = 2021; // no report before the matrix

fn principals() -> Principals {
    Principals::new(&[
        ("submitter", &county(), SUBMITTER),
        ("reviewer", &city(), REVIEWER),
        ("auditor", &city(), AUDITOR),
        ("admin", &city(), ADMIN),
        ("ops", "*", ADMIN),
        ("seeder", "*", &[Role::Submitter, Role::Reviewer]),
        ("inspector", "*", AUDITOR),
    ])
}

/// The tree, and in both trees: READ_YEAR and RETURN_YEAR submitted.
async fn setup(engine: Engine) -> (Served, Clients, Principals) {
    let p = principals();
    let server = Served::start(engine, &p).await;
    let mut c = server.clients().await;
    c.register_tree(p.token("ops"), true).await;
    for code in [county(), OTHER.to_owned()] {
        for year in [READ_YEAR, RETURN_YEAR] {
            let rev = c
                .submit(
                    p.token("seeder"),
                    &report_name(&code, year),
                    Some(report_for(year)),
                    0,
                    &format!("seed-{code}-{year}"),
                )
                .await
                .unwrap_or_else(|s| panic!("seed {code}/{year}: {s:?}"));
            assert_eq!(rev.revision, 1);
        }
    }
    (server, c, p)
}

/// One call of `rpc` on agency `target` (its reports, or under it), as `token`.
async fn call(
    c: &mut Clients,
    rpc: Rpc,
    token: Option<&str>,
    target: &str,
    n: usize,
) -> Result<(), Status> {
    let id = format!("matrix-{n}");
    let name = |year| report_name(target, year);
    match rpc {
        Rpc::RegisterAgency => c
            .agency
            .register_agency(authed(
                token,
                pb::RegisterAgencyRequest {
                    agency: Some(pb::Agency {
                        uscc: uscc(&format!("11230523MC{n:07}")),
                        display_name: format!("宝清县测试局{n}"),
                        region_code: "230523".into(),
                        level: pb::AgencyLevel::County.into(),
                        kind: pb::AgencyKind::Department.into(),
                        supervisor: agency_name(target),
                        ..Default::default()
                    }),
                    request_id: id,
                },
            ))
            .await
            .map(drop),
        Rpc::GetAgency => c
            .agency
            .get_agency(authed(
                token,
                pb::GetAgencyRequest {
                    name: agency_name(target),
                },
            ))
            .await
            .map(drop),
        Rpc::ListAgencies => c
            .agency
            .list_agencies(authed(token, pb::ListAgenciesRequest::default()))
            .await
            .map(drop),
        Rpc::UpdateAgencySupervisor => {
            // In scope: move 宝清县教育局 (version 1) from the county to the
            // city; out of scope: move the target under the city.
            let moved = if target == county() {
                dept2()
            } else {
                target.to_owned()
            };
            c.agency
                .update_agency_supervisor(authed(
                    token,
                    pb::UpdateAgencySupervisorRequest {
                        name: agency_name(&moved),
                        supervisor: agency_name(&city()),
                        expected_version: 1,
                        request_id: id,
                    },
                ))
                .await
                .map(drop)
        }
        Rpc::ValidateReport => c
            .report
            .validate_report(authed(
                token,
                pb::ValidateReportRequest {
                    report: Some(report_for(READ_YEAR)),
                    name: name(READ_YEAR),
                },
            ))
            .await
            .map(drop),
        Rpc::SaveDraft => c
            .report
            .save_draft(authed(
                token,
                pb::SaveDraftRequest {
                    name: name(DRAFT_YEAR),
                    report: Some(report_for(DRAFT_YEAR)),
                    expected_revision: 0,
                    request_id: id,
                },
            ))
            .await
            .map(drop),
        Rpc::SubmitReport => c
            .report
            .submit_report(authed(
                token,
                pb::SubmitReportRequest {
                    name: name(SUBMIT_YEAR),
                    report: Some(report_for(SUBMIT_YEAR)),
                    expected_revision: 0,
                    request_id: id,
                },
            ))
            .await
            .map(drop),
        Rpc::GetReport => c
            .report
            .get_report(authed(
                token,
                pb::GetReportRequest {
                    name: name(READ_YEAR),
                    view: 0,
                },
            ))
            .await
            .map(drop),
        Rpc::ListReports => c
            .report
            .list_reports(authed(
                token,
                pb::ListReportsRequest {
                    agency: agency_name(target),
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
        Rpc::ListRevisions => c
            .report
            .list_revisions(authed(
                token,
                pb::ListRevisionsRequest {
                    name: name(READ_YEAR),
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
        Rpc::ApproveReport => c
            .review
            .approve_report(authed(
                token,
                pb::ApproveReportRequest {
                    name: name(READ_YEAR),
                    expected_revision: 1,
                    request_id: id,
                },
            ))
            .await
            .map(drop),
        Rpc::ReturnReport => c
            .review
            .return_report(authed(
                token,
                pb::ReturnReportRequest {
                    name: name(RETURN_YEAR),
                    expected_revision: 1,
                    comments: vec![pb::ReviewComment {
                        text: "请核对结转数".into(),
                        cell: "t3.R25.total".into(),
                    }],
                    request_id: id,
                },
            ))
            .await
            .map(drop),
        Rpc::ListPendingReviews => c
            .review
            .list_pending_reviews(authed(token, pb::ListPendingReviewsRequest::default()))
            .await
            .map(drop),
        Rpc::ListAuditEvents => c
            .audit
            .list_audit_events(authed(
                token,
                pb::ListAuditEventsRequest {
                    agency: agency_name(target),
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
        Rpc::VerifyAuditChain => c
            .audit
            .verify_audit_chain(authed(token, pb::VerifyAuditChainRequest {}))
            .await
            .map(drop),
        Rpc::GetAreaSummary => c
            .area
            .get_area_summary(authed(
                token,
                pb::GetAreaSummaryRequest {
                    area: agency_name(target),
                    data_year: READ_YEAR,
                },
            ))
            .await
            .map(drop),
        Rpc::GetCoverage => c
            .area
            .get_coverage(authed(
                token,
                pb::GetCoverageRequest {
                    area: agency_name(target),
                    data_year: READ_YEAR,
                    as_of: None,
                },
            ))
            .await
            .map(drop),
        Rpc::ListReportsInArea => c
            .report
            .list_reports(authed(
                token,
                pb::ListReportsRequest {
                    agency: agency_name(&county()),
                    area: agency_name(target),
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
        Rpc::BackupStore => c
            .admin
            .backup_store(authed(
                token,
                pb::BackupStoreRequest {
                    file_name: format!("matrix-{n}.backup"),
                },
            ))
            .await
            .map(drop),
        Rpc::ExportReports => {
            let mut stream = c
                .area
                .export_reports(authed(
                    token,
                    pb::ExportReportsRequest {
                        area: agency_name(target),
                        data_year: READ_YEAR,
                    },
                ))
                .await?
                .into_inner();
            while stream.message().await?.is_some() {}
            Ok(())
        }
    }
}

fn describe(r: &Result<(), Status>) -> String {
    match r {
        Ok(()) => "OK".into(),
        Err(s) => format!("{:?} ({})", s.code(), s.message()),
    }
}

async fn every_rpc_by_every_role_in_and_out_of_scope(engine: Engine) {
    let (_server, mut c, p) = setup(engine).await;
    let mut wrong = Vec::new();
    let mut n = 0;
    let mut cells = 0;
    for (rpc, row) in MATRIX {
        for (role, (inside, outside)) in ROLES.into_iter().zip(row) {
            let token = Some(p.token(role));
            n += 1;
            let got = call(&mut c, rpc, token, &county(), n).await;
            cells += 1;
            if code_of(&got) != inside {
                wrong.push(format!(
                    "{rpc:?} as {role}, in scope: expected {inside:?}, got {}",
                    describe(&got)
                ));
            }
            n += 1;
            let got = call(&mut c, rpc, token, OTHER, n).await;
            cells += 1;
            if code_of(&got) != outside {
                wrong.push(format!(
                    "{rpc:?} as {role}, out of scope: expected {outside:?}, got {}",
                    describe(&got)
                ));
            }
            // Out of scope and never registered: the very same answer,
            // modulo the code named in the request.
            n += 1;
            let missing = call(&mut c, rpc, token, NOWHERE, n).await;
            cells += 1;
            let same = match (&got, &missing) {
                (Ok(()), Ok(())) => true,
                (Err(a), Err(b)) => {
                    a.code() == b.code()
                        && a.message().replace(OTHER, "X") == b.message().replace(NOWHERE, "X")
                }
                _ => false,
            };
            if !same {
                wrong.push(format!(
                    "{rpc:?} as {role}: an existing agency out of scope answers {}, a missing one {}",
                    describe(&got),
                    describe(&missing)
                ));
            }
            if let Err(s) = &missing {
                let m = s.message().to_lowercase();
                if m.contains("not found") || m.contains("exist") || m.contains("no such") {
                    wrong.push(format!("{rpc:?} as {role}: the refusal leaks: {m}"));
                }
            }
        }
        for (who, token) in [("no token", None), ("a bad token", Some("gk_not-a-token"))] {
            for target in [county(), OTHER.to_owned(), NOWHERE.to_owned()] {
                n += 1;
                let got = call(&mut c, rpc, token, &target, n).await;
                cells += 1;
                let ok = matches!(&got, Err(s) if s.code() == Code::Unauthenticated
                    && s.message() == "missing or invalid bearer token");
                if !ok {
                    wrong.push(format!(
                        "{rpc:?} with {who} on {target}: expected Unauthenticated, got {}",
                        describe(&got)
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cells, 20 * (4 * 3 + 2 * 3));
}

async fn listings_without_an_agency_show_only_the_callers_scope(engine: Engine) {
    let (_server, mut c, p) = setup(engine).await;
    let mut county_tree = vec![city(), county(), dept1(), dept2()];
    county_tree.sort();
    for (role, expected) in [
        ("submitter", vec![county()]),
        ("reviewer", county_tree.clone()),
        ("auditor", county_tree.clone()),
        ("admin", county_tree.clone()),
    ] {
        let listed: Vec<String> = c
            .agency
            .list_agencies(authed(
                Some(p.token(role)),
                pb::ListAgenciesRequest::default(),
            ))
            .await
            .expect("list agencies")
            .into_inner()
            .agencies
            .into_iter()
            .map(|a| a.uscc)
            .collect();
        assert_eq!(listed, expected, "ListAgencies as {role}");
    }
    // Reports: the submitter its own agency's, reviewer and auditor their subtree's.
    let own = vec![
        report_name(&county(), RETURN_YEAR),
        report_name(&county(), READ_YEAR),
    ];
    for role in ["submitter", "reviewer", "auditor"] {
        let mut listed: Vec<String> = c
            .report
            .list_reports(authed(
                Some(p.token(role)),
                pb::ListReportsRequest::default(),
            ))
            .await
            .expect("list reports")
            .into_inner()
            .reports
            .into_iter()
            .map(|r| r.name)
            .collect();
        listed.sort();
        assert_eq!(listed, own, "ListReports as {role}");
    }
    let mut pending: Vec<String> = c
        .review
        .list_pending_reviews(authed(
            Some(p.token("reviewer")),
            pb::ListPendingReviewsRequest::default(),
        ))
        .await
        .expect("pending")
        .into_inner()
        .reports
        .into_iter()
        .map(|r| r.name)
        .collect();
    pending.sort();
    assert_eq!(
        pending, own,
        "the other tree's submitted reports are not pending here"
    );
    let events = c.audit_events(p.token("auditor")).await;
    assert!(!events.is_empty());
    for e in &events {
        assert!(
            !e.resource.contains(OTHER),
            "a scoped auditor sees an event outside its scope: {e:?}"
        );
    }
    let all = c.audit_events(p.token("inspector")).await;
    assert!(all.iter().any(|e| e.resource.contains(OTHER)));
}

async fn review_reaches_below_the_reviewer_but_not_its_own_agency_and_submitters_only_their_own(
    engine: Engine,
) {
    let (_server, mut c, p) = setup(engine).await;
    let seeder = p.token("seeder").to_owned();
    for code in [city(), dept1()] {
        c.submit(
            &seeder,
            &report_name(&code, READ_YEAR),
            Some(report_for(READ_YEAR)),
            0,
            &format!("seed-{code}"),
        )
        .await
        .expect("seed");
    }
    let approve = |code: String| pb::ApproveReportRequest {
        name: report_name(&code, READ_YEAR),
        expected_revision: 1,
        request_id: format!("approve-{code}"),
    };
    // Nobody approves its own agency's report.
    let own = c
        .review
        .approve_report(authed(Some(p.token("reviewer")), approve(city())))
        .await
        .expect_err("the city's own report");
    assert_eq!(own.code(), PD, "{own:?}");
    // Transitively below: a department of the county under the city.
    c.review
        .approve_report(authed(Some(p.token("reviewer")), approve(dept1())))
        .await
        .expect("a department two levels below");
    // The county's submitter writes only the county's reports, not its departments'.
    let dept = c
        .submit(
            p.token("submitter"),
            &report_name(&dept1(), SUBMIT_YEAR),
            Some(report_for(SUBMIT_YEAR)),
            0,
            "dept-submit",
        )
        .await
        .expect_err("a department's report");
    assert_eq!(dept.code(), PD, "{dept:?}");
    let read = c
        .report
        .get_report(authed(
            Some(p.token("submitter")),
            pb::GetReportRequest {
                name: report_name(&dept1(), READ_YEAR),
                view: 0,
            },
        ))
        .await
        .expect_err("a department's report is not the county office's to read");
    assert_eq!(read.code(), PD, "{read:?}");
}

async fn health_and_reflection_need_no_token(engine: Engine) {
    use tonic_reflection::pb::{v1, v1alpha};
    let p = principals();
    let server = Served::start(engine, &p).await;
    let mut c = server.clients().await;
    assert_eq!(
        c.health().await.expect("health without a token"),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
    let channel = common::serve::plaintext_channel(server.addr())
        .await
        .expect("connect");

    let mut v1_client = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = v1_client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection v1 without a token")
        .into_inner();
    let response = stream.message().await.expect("a response").expect("one");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("not a service list: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for s in [
        "gongkai.v1.AgencyService",
        "gongkai.v1.ReportService",
        "gongkai.v1.ReviewService",
        "gongkai.v1.AuditService",
        "grpc.health.v1.Health",
    ] {
        assert!(names.iter().any(|n| n == s), "{s} not in {names:?}");
    }

    let mut alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut stream = alpha
        .server_reflection_info(tokio_stream::iter([request.clone()]))
        .await
        .expect("reflection v1alpha without a token")
        .into_inner();
    let response = stream.message().await.expect("a response").expect("one");
    assert!(
        matches!(
            response.message_response,
            Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(ref l))
                if l.service.iter().any(|s| s.name == "gongkai.v1.ReportService")
        ),
        "{response:?}"
    );
    // A wrong token on reflection is no token (grpcurl sends the method's
    // token to reflection first): answered, not refused.
    let mut wrong = tonic::Request::new(tokio_stream::iter([request]));
    wrong
        .metadata_mut()
        .insert("authorization", "Bearer wrong".parse().expect("ascii"));
    let mut stream = alpha
        .server_reflection_info(wrong)
        .await
        .expect("reflection with a wrong token")
        .into_inner();
    assert!(stream.message().await.expect("a response").is_some());
}

async fn out_of_scope_reports_look_the_same_whether_or_not_they_exist(engine: Engine) {
    let (_server, mut c, p) = setup(engine).await;
    for role in ROLES {
        let token = Some(p.token(role));
        let mut answers = Vec::new();
        // OTHER's 2024 report exists, its 2019 report does not; NOWHERE has none.
        for name in [
            report_name(OTHER, READ_YEAR),
            report_name(OTHER, 2019),
            report_name(NOWHERE, READ_YEAR),
        ] {
            let get = c
                .report
                .get_report(authed(
                    token,
                    pb::GetReportRequest {
                        name: name.clone(),
                        view: 0,
                    },
                ))
                .await
                .expect_err("out of scope");
            let revisions = c
                .report
                .list_revisions(authed(
                    token,
                    pb::ListRevisionsRequest {
                        name: name.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .expect_err("out of scope");
            let approve = c
                .review
                .approve_report(authed(
                    token,
                    pb::ApproveReportRequest {
                        name: name.clone(),
                        expected_revision: 1,
                        request_id: format!("probe-{role}-{name}"),
                    },
                ))
                .await
                .expect_err("out of scope");
            let code = if name.contains(OTHER) { OTHER } else { NOWHERE };
            answers.push(
                [get, revisions, approve]
                    .iter()
                    .map(|s| (s.code(), s.message().replace(code, "X")))
                    .collect::<Vec<_>>(),
            );
        }
        for a in &answers {
            for (code, _) in a {
                assert_eq!(*code, PD, "as {role}: {answers:?}");
            }
        }
        assert_eq!(
            answers[0], answers[1],
            "as {role}: a report's existence shows"
        );
        assert_eq!(
            answers[0], answers[2],
            "as {role}: an agency's existence shows"
        );
    }
}

async fn only_a_bearer_token_authenticates(engine: Engine) {
    let p = principals();
    let server = Served::start(engine, &p).await;
    let mut c = server.clients().await;
    let token = p.token("inspector");
    for (header, ok) in [
        (format!("Bearer {token}"), true),
        (format!("bearer {token}"), true),
        // The scheme's name is case-insensitive (RFC 7235 §2.1).
        (format!("BEARER {token}"), true),
        (format!("bEaReR {token}"), true),
        (format!("Bearer  {token}"), true),
        (token.to_owned(), false),
        (format!("Basic {token}"), false),
        (format!("Bearer {token}x"), false),
        ("Bearer ".to_owned(), false),
    ] {
        let mut r = tonic::Request::new(pb::VerifyAuditChainRequest {});
        r.metadata_mut()
            .insert("authorization", header.parse().expect("ascii"));
        let got = c.audit.verify_audit_chain(r).await;
        if ok {
            got.unwrap_or_else(|s| panic!("{header:?}: {s:?}"));
        } else {
            let s = got.expect_err(&header);
            assert_eq!(s.code(), Code::Unauthenticated, "{header:?}: {s:?}");
        }
    }
}

async fn a_scoped_auditor_is_told_of_its_scope_only(engine: Engine) {
    let (_server, mut c, p) = setup(engine).await;
    // Activity in the other tree after the county's: years of 金华市's
    // reports, then one more event in scope.
    let seeder = p.token("seeder").to_owned();
    for year in [2021, 2022, 2025] {
        c.submit(
            &seeder,
            &report_name(OTHER, year),
            Some(report_for(year)),
            0,
            &format!("other-{year}"),
        )
        .await
        .expect("the other tree's activity");
    }
    c.submit(
        &seeder,
        &report_name(&county(), 2022),
        Some(report_for(2022)),
        0,
        "county-2022",
    )
    .await
    .expect("the county's");

    let scoped = c.audit_events(p.token("auditor")).await;
    let all = c.audit_events(p.token("inspector")).await;
    assert!(
        scoped.len() < all.len(),
        "{} of {}",
        scoped.len(),
        all.len()
    );
    assert!(scoped.iter().all(|e| !e.resource.contains(OTHER)));

    // VerifyAuditChain: counts of the scope for the scoped auditor.
    let verify = |token: &str| authed(Some(token), pb::VerifyAuditChainRequest {});
    let v = c
        .audit
        .verify_audit_chain(verify(p.token("auditor")))
        .await
        .expect("verify as the scoped auditor")
        .into_inner();
    assert!(v.intact, "{v:?}");
    assert_eq!(
        (v.events, v.records),
        (scoped.len() as u64, scoped.len() as u64),
        "a scoped auditor is told the counts of its scope"
    );
    let v = c
        .audit
        .verify_audit_chain(verify(p.token("inspector")))
        .await
        .expect("verify as the inspector")
        .into_inner();
    assert_eq!(v.events, all.len() as u64);

    // Pages of one: each holds one event of the scope, none is empty, and
    // the last says there is no more.
    let paged = c.audit_pages(p.token("auditor"), 1).await;
    let sizes: Vec<usize> = paged.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![1; scoped.len()], "page sizes");
    let sequences: Vec<u64> = paged.iter().flatten().map(|e| e.sequence).collect();
    let expected: Vec<u64> = scoped.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, expected);
    // Pages of two end the same way: full pages, then what is left.
    let paged = c.audit_pages(p.token("auditor"), 2).await;
    assert!(paged.iter().all(|page| !page.is_empty()), "{paged:?}");
    assert_eq!(paged.iter().map(Vec::len).sum::<usize>(), scoped.len());
}

async fn a_scoped_admin_learns_whether_a_code_is_registered_elsewhere(engine: Engine) {
    // Accepted by decision (access.rs, "What a refusal tells"): codes are
    // unique, government bodies' codes are public, and only an admin can
    // register, so a scoped admin registering a code taken in another tree
    // is told ALREADY_EXISTS.
    let (_server, mut c, p) = setup(engine).await;
    let taken = c
        .register(
            p.token("admin"),
            OTHER,
            "金华市市场监督管理局",
            "330700",
            pb::AgencyLevel::Prefectural,
            pb::AgencyKind::Department,
            Some(&county()),
        )
        .await
        .expect_err("the code is registered in another tree");
    assert_eq!(taken.code(), Code::AlreadyExists, "{taken:?}");
    c.register(
        p.token("admin"),
        NOWHERE,
        "宁国市商务局",
        "341702",
        pb::AgencyLevel::County,
        pb::AgencyKind::Department,
        Some(&county()),
    )
    .await
    .expect("a free code registers under the admin's scope");
}
