//! Values the store's guarantees rest on, refused over the API with a
//! precise code (issue 13, points 3 and 6), nothing written:
//! - a count above `value.range`'s bound (行政处罚 = 18446744073709551615,
//!   which once approved blocked every approval of its area) is an error
//!   finding: SubmitReport is FAILED_PRECONDITION / REPORT_INVALID naming
//!   the cell;
//! - an amount left empty (第（八）项 行政事业性收费) is not 0: INVALID_ARGUMENT
//!   naming the field;
//! - `expected_revision` 4294967295 is stale against the latest revision:
//!   ABORTED / STALE_REVISION, not "revision numbers exhausted".

mod common;

use common::serve::{
    ADMIN, AUDITOR, Clients, Principals, SUBMITTER, TestServer, corrected_report, county,
    report_name,
};
use gongkai_proto::v1 as pb;
use tonic::Code;
use tonic_types::StatusExt;

struct World {
    _server: TestServer,
    c: Clients,
    p: Principals,
}

/// The tree and nothing else.
async fn world() -> World {
    let p = Principals::new(&[
        ("ops", "*", ADMIN),
        ("inspector", "*", AUDITOR),
        ("baoqing-office", &county(), SUBMITTER),
    ]);
    let server = TestServer::start(&p.toml).await;
    let mut c = server.clients().await;
    c.register_tree(p.token("ops"), false).await;
    World {
        _server: server,
        c,
        p,
    }
}

impl World {
    async fn events(&mut self) -> usize {
        let inspector = self.p.token("inspector").to_owned();
        self.c.audit_events(&inspector).await.len()
    }
}

fn t2(report: &mut pb::AnnualReport) -> &mut pb::ActiveDisclosure {
    match report.active_disclosure_table.as_mut() {
        Some(pb::annual_report::ActiveDisclosureTable::ActiveDisclosure(t)) => t,
        other => panic!("the sample has a 2021 T2: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_penalty_count_of_u64_max_is_refused_as_value_range() {
    let mut w = world().await;
    let before = w.events().await;
    let office = w.p.token("baoqing-office").to_owned();
    let name = report_name(&county(), 2024);
    let mut report = corrected_report();
    t2(&mut report).penalty_decisions = u64::MAX;
    let s =
        w.c.submit(&office, &name, Some(report.clone()), 0, "max")
            .await
            .expect_err("refused");
    assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
    let details = s.get_error_details();
    assert_eq!(
        details.error_info().map(|i| i.reason.as_str()),
        Some("REPORT_INVALID")
    );
    let violations = &details.bad_request().expect("BadRequest").field_violations;
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].field, "t2.penalty.decisions");
    assert!(
        violations[0].description.starts_with("value.range")
            && violations[0].description.contains("18446744073709551615"),
        "{violations:?}"
    );
    // The same report at the bound is accepted.
    t2(&mut report).penalty_decisions = gongkai_domain::catalogue::MAX_COUNT;
    assert_eq!(w.events().await, before, "the refused call wrote");
    w.c.submit(&office, &name, Some(report), 0, "at-bound")
        .await
        .expect("a count at the bound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_fee_amount_is_not_zero() {
    let mut w = world().await;
    let before = w.events().await;
    let office = w.p.token("baoqing-office").to_owned();
    let name = report_name(&county(), 2024);
    for (i, fees) in [
        Some(pb::Money {
            wan_yuan: String::new(),
        }),
        Some(pb::Money {
            wan_yuan: " ".into(),
        }),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let mut report = corrected_report();
        t2(&mut report).fees = fees;
        for s in [
            w.c.save(&office, &name, report.clone(), 0, &format!("save-{i}"))
                .await
                .expect_err("refused"),
            w.c.submit(&office, &name, Some(report), 0, &format!("submit-{i}"))
                .await
                .expect_err("refused"),
        ] {
            assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
            let violations = s.get_error_details().bad_request().cloned();
            let v = &violations.expect("BadRequest").field_violations[0];
            assert_eq!(v.field, "report");
            assert!(
                v.description.contains("active_disclosure.fees")
                    && v.description.contains("a missing amount is not 0"),
                "{v:?}"
            );
        }
    }
    assert_eq!(w.events().await, before, "a refused call wrote");
    // "0" says there was none.
    let mut report = corrected_report();
    t2(&mut report).fees = Some(pb::Money {
        wan_yuan: "0".into(),
    });
    w.c.save(&office, &name, report, 0, "zero")
        .await
        .expect("an amount of 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expected_revision_of_u32_max_is_stale_not_exhausted() {
    let mut w = world().await;
    let office = w.p.token("baoqing-office").to_owned();
    let name = report_name(&county(), 2024);
    w.c.save(&office, &name, corrected_report(), 0, "first")
        .await
        .expect("first draft");
    let before = w.events().await;
    for s in [
        w.c.save(&office, &name, corrected_report(), u32::MAX, "save-max")
            .await
            .expect_err("stale"),
        w.c.submit(
            &office,
            &name,
            Some(corrected_report()),
            u32::MAX,
            "submit-max",
        )
        .await
        .expect_err("stale"),
        w.c.submit(&office, &name, None, u32::MAX, "submit-draft-max")
            .await
            .expect_err("stale"),
    ] {
        assert_eq!(s.code(), Code::Aborted, "{s:?}");
        let details = s.get_error_details();
        let info = details.error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "STALE_REVISION");
        assert_eq!(info.metadata["expected_revision"], u32::MAX.to_string());
        assert_eq!(info.metadata["latest_revision"], "1");
    }
    assert_eq!(w.events().await, before, "a refused call wrote");
}
