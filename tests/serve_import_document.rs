//! DocumentService.ImportDocument over the wire: a published page in any
//! layout gives the same report as the sample and the same findings as
//! ValidateReport; hints fill what the page leaves out; bytes that are not a
//! report are INVALID_ARGUMENT naming `content`; no token, UNAUTHENTICATED.

mod common;

use common::serve::{
    AUDITOR, Principals, SUBMITTER, TestServer, authed, bad_fields, county, sample_report,
};
use gongkai_proto::v1 as pb;
use tonic::Code;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(common::repo().join("testdata/reports/layouts").join(name)).expect("fixture")
}

fn principals() -> Principals {
    Principals::new(&[
        ("baoqing-office", &county(), SUBMITTER),
        ("inspector", "*", AUDITOR),
    ])
}

fn located(findings: &[pb::Finding]) -> Vec<(String, String)> {
    findings
        .iter()
        .map(|f| {
            let l = f.location.clone().unwrap_or_default();
            (
                f.rule.clone(),
                format!("{}.{}.{}", l.table, l.row, l.column),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_layout_imports_to_the_sample_with_the_same_findings() {
    let p = principals();
    let server = TestServer::start(&p.toml).await;
    let mut c = server.clients().await;
    let token = p.token("baoqing-office");
    let validated = c
        .report
        .validate_report(authed(
            Some(token),
            pb::ValidateReportRequest {
                report: Some(sample_report()),
                name: String::new(),
            },
        ))
        .await
        .expect("validate")
        .into_inner();
    for (file, layout, encoding) in [
        (
            "baoqing-county-2024.html",
            pb::DocumentLayout::Html,
            "UTF-8",
        ),
        (
            "baoqing-county-2024.gbk.html",
            pb::DocumentLayout::Html,
            "GBK",
        ),
        (
            "baoqing-county-2024.pipe.md",
            pb::DocumentLayout::PipeRows,
            "UTF-8",
        ),
        (
            "baoqing-county-2024.cells.txt",
            pb::DocumentLayout::CellPerLine,
            "UTF-8",
        ),
        // Told by its bytes (a zip holding word/document.xml), not a name.
        (
            "baoqing-county-2024.docx",
            pb::DocumentLayout::Docx,
            "UTF-8",
        ),
        (
            "baoqing-county-2024.wps.docx",
            pb::DocumentLayout::Docx,
            "UTF-8",
        ),
        ("baoqing-county-2024.pdf", pb::DocumentLayout::Pdf, "PDF"),
    ] {
        let r = c
            .document
            .import_document(authed(
                Some(token),
                pb::ImportDocumentRequest {
                    content: fixture(file),
                    hints: None,
                },
            ))
            .await
            .expect("import")
            .into_inner();
        assert_eq!(r.layout(), layout, "{file}");
        assert_eq!(r.encoding, encoding, "{file}");
        let got = r.report.clone().expect("report");
        let want = sample_report();
        assert_eq!(
            got.active_disclosure_table, want.active_disclosure_table,
            "{file}"
        );
        assert_eq!(got.applications, want.applications, "{file}");
        assert_eq!(
            got.reconsideration_litigation, want.reconsideration_litigation,
            "{file}"
        );
        assert_eq!(located(&r.findings), located(&validated.findings), "{file}");
        assert_eq!(
            r.verdict(),
            pb::Verdict::Invalid,
            "{file}: the real t3.balance error"
        );
        assert_eq!(r.ruleset_version, validated.ruleset_version);
    }
}

#[tokio::test]
async fn hints_fill_what_the_page_leaves_out() {
    let p = principals();
    let server = TestServer::start(&p.toml).await;
    let mut c = server.clients().await.document;
    let r = c
        .import_document(authed(
            Some(p.token("inspector")),
            pb::ImportDocumentRequest {
                content: fixture("baoqing-county-2024.html"),
                hints: Some(pb::ImportHints {
                    agency_uscc: county(),
                    region_code: "230523".into(),
                    agency_level: pb::AgencyLevel::County.into(),
                    data_year: 2024,
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("import")
        .into_inner();
    let m = r.report.expect("report").metadata.expect("metadata");
    assert_eq!(m.agency_uscc, county());
    assert_eq!(m.region_code, "230523");
    assert_eq!(m.agency_level(), pb::AgencyLevel::County);
    assert_eq!(m.data_year, 2024);
    assert!(
        !r.findings.iter().any(|f| f.rule == "import.metadata"),
        "hints that agree raise nothing"
    );
}

#[tokio::test]
async fn bytes_that_are_not_a_report_are_invalid_argument_naming_content() {
    let p = principals();
    let server = TestServer::start(&p.toml).await;
    let mut c = server.clients().await.document;
    for content in [
        b"\x7fELF\x02\x01\x01\x00\xff\xfe\xff".to_vec(),
        "<div>".repeat(300_000).into_bytes(),
        "法治政府建设年度报告\n一、总体情况\n正文。"
            .as_bytes()
            .to_vec(),
        Vec::new(),
        // A legacy .doc / .wps (OLE2 compound file), and a damaged .docx.
        [
            &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1][..],
            &[0; 504],
        ]
        .concat(),
        fixture("baoqing-county-2024.docx")[..4096].to_vec(),
    ] {
        let status = c
            .import_document(authed(
                Some(p.token("baoqing-office")),
                pb::ImportDocumentRequest {
                    content,
                    hints: None,
                },
            ))
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(bad_fields(&status), ["content"], "{status:?}");
    }
}

#[tokio::test]
async fn a_malformed_hint_is_invalid_argument_naming_it() {
    let p = principals();
    let server = TestServer::start(&p.toml).await;
    let mut c = server.clients().await.document;
    let status = c
        .import_document(authed(
            Some(p.token("baoqing-office")),
            pb::ImportDocumentRequest {
                content: fixture("baoqing-county-2024.html"),
                hints: Some(pb::ImportHints {
                    data_year: 1999,
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["hints.data_year"]);
}

#[tokio::test]
async fn without_a_token_it_is_unauthenticated() {
    let p = principals();
    let server = TestServer::start(&p.toml).await;
    let mut c = server.clients().await.document;
    let status = c
        .import_document(authed(
            None,
            pb::ImportDocumentRequest {
                content: fixture("baoqing-county-2024.html"),
                hints: None,
            },
        ))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated);
}
