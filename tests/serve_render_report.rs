//! DocumentService.RenderReport over the wire: a given report renders as the
//! document crate renders it; a stored revision is read under exactly
//! GetReport's rules (the same status code for every principal and name),
//! and what it renders imports back to the stored report.

mod common;

use common::serve::{
    ADMIN, AUDITOR, Clients, NOWHERE, OTHER, Principals, REVIEWER, SUBMITTER, TestServer, authed,
    code_of, county, dept1, report_name, sample_report,
};
use gongkai_document::render::{Target, render};
use gongkai_domain::Report;
use gongkai_proto::v1 as pb;
use tonic::Code;

fn principals() -> Principals {
    Principals::new(&[
        ("ops", "*", ADMIN),
        ("baoqing-office", &county(), SUBMITTER),
        ("finance-office", &dept1(), SUBMITTER),
        ("shuangyashan-review", &common::serve::city(), REVIEWER),
        ("jinhua-review", OTHER, REVIEWER),
        ("inspector", "*", AUDITOR),
        ("county-inspector", &county(), AUDITOR),
    ])
}

fn by_name(name: &str, view: pb::ReportView, target: pb::RenderTarget) -> pb::RenderReportRequest {
    pb::RenderReportRequest {
        source: Some(pb::render_report_request::Source::Name(name.to_owned())),
        view: view.into(),
        target: target.into(),
    }
}

#[tokio::test]
async fn a_given_report_renders_as_the_official_layout() {
    let p = principals();
    let server = TestServer::start(&p.toml).await;
    let mut d = server.clients().await.document;
    let wire = sample_report();
    let domain = Report::try_from(&wire).expect("the sample converts");
    for (target, to, media) in [
        (
            pb::RenderTarget::Markdown,
            Target::Markdown,
            "text/markdown; charset=utf-8",
        ),
        (
            pb::RenderTarget::Html,
            Target::Html,
            "text/html; charset=utf-8",
        ),
    ] {
        let r = d
            .render_report(authed(
                Some(p.token("finance-office")),
                pb::RenderReportRequest {
                    source: Some(pb::render_report_request::Source::Report(wire.clone())),
                    view: 0,
                    target: target.into(),
                },
            ))
            .await
            .expect("render")
            .into_inner();
        assert_eq!(r.content, render(&domain, to));
        assert_eq!(r.media_type, media);
        assert_eq!(r.revision, "");
    }
    // No target, no source: named.
    for request in [
        pb::RenderReportRequest {
            source: Some(pb::render_report_request::Source::Report(wire.clone())),
            view: 0,
            target: 0,
        },
        pb::RenderReportRequest {
            source: None,
            view: 0,
            target: pb::RenderTarget::Html.into(),
        },
    ] {
        let status = d
            .render_report(authed(Some(p.token("finance-office")), request))
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    }
}

#[tokio::test]
async fn a_stored_revision_is_read_as_get_report_reads_it() {
    let p = principals();
    let server = TestServer::start(&p.toml).await;
    let mut c: Clients = server.clients().await;
    c.register_tree(p.token("ops"), true).await;
    let name = report_name(&county(), 2024);
    // A draft may hold errors: the sample as published.
    let saved = c
        .save(
            p.token("baoqing-office"),
            &name,
            sample_report(),
            0,
            "draft-1",
        )
        .await
        .expect("save the draft");

    let names = [
        name.clone(),
        format!("{name}/revisions/1"),
        format!("{name}/revisions/9"),
        report_name(&dept1(), 2024),
        report_name(OTHER, 2024),
        report_name(NOWHERE, 2024),
        "agencies/nonsense".to_owned(),
    ];
    let views = [pb::ReportView::Latest, pb::ReportView::LatestApproved];
    let mut ok = 0;
    for who in [
        "baoqing-office",
        "finance-office",
        "shuangyashan-review",
        "jinhua-review",
        "inspector",
        "county-inspector",
        "ops",
    ] {
        for n in &names {
            for view in views {
                let got = c
                    .report
                    .get_report(authed(
                        Some(p.token(who)),
                        pb::GetReportRequest {
                            name: n.clone(),
                            view: view.into(),
                        },
                    ))
                    .await;
                let rendered = c
                    .document
                    .render_report(authed(
                        Some(p.token(who)),
                        by_name(n, view, pb::RenderTarget::Markdown),
                    ))
                    .await;
                assert_eq!(code_of(&rendered), code_of(&got), "{who} {n} {view:?}");
                if let (Ok(got), Ok(rendered)) = (got, rendered) {
                    let rev = got.into_inner().revision.expect("revision");
                    let rendered = rendered.into_inner();
                    assert_eq!(rendered.revision, rev.name);
                    let back = gongkai_document::import(rendered.content.as_bytes())
                        .expect("rendered text imports")
                        .report;
                    let stored =
                        Report::try_from(rev.report.as_ref().expect("report")).expect("converts");
                    assert_eq!(back, stored, "{who} {n}");
                    ok += 1;
                }
            }
        }
    }
    // The county's report read by its submitter, the city's reviewer and the
    // two auditors: by report name with the latest view (there is no approved
    // revision), and as revision 1 (whatever the view): 3 reads each.
    assert_eq!(ok, 4 * 3, "reads that succeeded");
    assert_eq!(saved.revision, 1);
    // Without a token: UNAUTHENTICATED, as GetReport.
    let status = c
        .document
        .render_report(authed(
            None,
            by_name(&name, pb::ReportView::Latest, pb::RenderTarget::Html),
        ))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated);
}
