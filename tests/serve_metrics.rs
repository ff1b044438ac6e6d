//! The metrics endpoint (issue 7): after real calls, a scrape of
//! `GET /metrics` shows each call counted under its method and status code,
//! the latency histogram counting the same calls, reports by state and the
//! store's size; other paths are 404.
//!
//! The server runs in this process on listeners bound to 127.0.0.1:0 (gRPC
//! and metrics), so nothing waits or sleeps; a second test runs the real
//! binary with --metrics-listen and scrapes the address it prints.

mod common;

use common::serve::{
    ADMIN, Principals, SUBMITTER, TestServer, authed, corrected_report, county, credentials_file,
    dept1, http_get, metric, report_for, report_name, sample_report, spawn_serve,
};
use gongkai_proto::v1 as pb;
use gongkai_server::serve::Ops;
use tonic::Code;

fn handled(service: &str, method: &str, code: &str) -> String {
    format!(
        "grpc_server_handled_total{{grpc_service=\"{service}\",grpc_method=\"{method}\",grpc_type=\"unary\",grpc_code=\"{code}\"}}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_after_real_calls_counts_each_by_method_and_code() {
    let principals = Principals::new(&[
        ("ops", "*", ADMIN),
        ("county", &county(), SUBMITTER),
        ("finance", &dept1(), SUBMITTER),
    ]);
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let metrics_addr = metrics.local_addr().expect("addr");
    let server = TestServer::start_ops(
        &principals.toml,
        Ops {
            metrics: Some(metrics),
            backup: None,
        },
    )
    .await;

    // Before any call: the endpoint answers, no call is counted, no report.
    let (status, before) = http_get(metrics_addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        !before.contains("grpc_server_handled_total{"),
        "no call yet:\n{before}"
    );
    for state in ["draft", "submitted", "returned", "approved"] {
        assert_eq!(
            metric(&before, &format!("gongkai_reports{{state=\"{state}\"}}")),
            Some(0.0),
            "{state} before:\n{before}"
        );
    }

    let mut c = server.clients().await;
    let (ops, submitter) = (principals.token("ops"), principals.token("county"));
    for _ in 0..3 {
        c.health().await.expect("health check");
    }
    c.register_tree(ops, false).await; // 4 × RegisterAgency OK
    let get = c
        .report
        .get_report(authed(
            None,
            pb::GetReportRequest {
                name: report_name(&county(), 2024),
                ..Default::default()
            },
        ))
        .await;
    assert_eq!(get.expect_err("no token").code(), Code::Unauthenticated);
    let refused = c
        .submit(
            submitter,
            &report_name(&county(), 2024),
            Some(sample_report()),
            0,
            "s-1",
        )
        .await;
    assert_eq!(
        refused.expect_err("the sample's error").code(),
        Code::FailedPrecondition
    );
    c.submit(
        submitter,
        &report_name(&county(), 2024),
        Some(corrected_report()),
        0,
        "s-2",
    )
    .await
    .expect("the corrected report is submitted");
    // A department's draft: one report in each of two states.
    c.save(
        principals.token("finance"),
        &report_name(&dept1(), 2024),
        report_for(2024),
        0,
        "d-1",
    )
    .await
    .expect("a draft");

    let (status, after) = http_get(metrics_addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let expect = [
        (handled("grpc.health.v1.Health", "Check", "OK"), 3.0),
        (
            handled("gongkai.v1.AgencyService", "RegisterAgency", "OK"),
            4.0,
        ),
        (
            handled("gongkai.v1.ReportService", "GetReport", "Unauthenticated"),
            1.0,
        ),
        (
            handled(
                "gongkai.v1.ReportService",
                "SubmitReport",
                "FailedPrecondition",
            ),
            1.0,
        ),
        (handled("gongkai.v1.ReportService", "SubmitReport", "OK"), 1.0),
        (handled("gongkai.v1.ReportService", "SaveDraft", "OK"), 1.0),
        (
            "grpc_server_handling_seconds_count{grpc_service=\"gongkai.v1.ReportService\",grpc_method=\"SubmitReport\",grpc_type=\"unary\"}".to_owned(),
            2.0,
        ),
        (
            "grpc_server_handling_seconds_bucket{grpc_service=\"grpc.health.v1.Health\",grpc_method=\"Check\",grpc_type=\"unary\",le=\"+Inf\"}".to_owned(),
            3.0,
        ),
        ("gongkai_reports{state=\"submitted\"}".to_owned(), 1.0),
        ("gongkai_reports{state=\"draft\"}".to_owned(), 1.0),
        ("gongkai_reports{state=\"approved\"}".to_owned(), 0.0),
    ];
    for (series, n) in &expect {
        assert_eq!(metric(&after, series), Some(*n), "{series} in:\n{after}");
    }
    // Exactly these calls, nothing else counted (the scrapes are not calls).
    let counted: f64 = after
        .lines()
        .filter(|l| l.starts_with("grpc_server_handled_total{"))
        .map(|l| {
            l.rsplit(' ')
                .next()
                .expect("value")
                .parse::<f64>()
                .expect("number")
        })
        .sum();
    assert_eq!(counted, 11.0, "3 + 4 + 1 + 2 + 1 calls:\n{after}");
    let size = metric(&after, "gongkai_store_size_bytes").expect("store size");
    assert!(size > 0.0, "the store takes room on disk: {size}");

    let (status, _) = http_get(metrics_addr, "/other").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");

    drop(c);
    server.stop().await.expect("server stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_metrics_where_it_says() {
    let principals = Principals::new(&[("ops", "*", ADMIN)]);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let creds = credentials_file(tmp.path(), &principals);
    let data = tmp.path().join("data");
    let mut server = spawn_serve(
        &[
            "serve",
            "--credentials",
            creds.to_str().expect("UTF-8"),
            "--data",
            data.to_str().expect("UTF-8"),
        ],
        &[
            ("GONGKAI_LISTEN", "127.0.0.1:0"),
            ("GONGKAI_METRICS_LISTEN", "127.0.0.1:0"),
        ],
    );
    let metrics_addr = server.metrics_addr();
    let mut c = server.clients().await;
    c.health().await.expect("health");
    let (status, text) = http_get(metrics_addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        metric(&text, &handled("grpc.health.v1.Health", "Check", "OK")),
        Some(1.0),
        "{text}"
    );
    assert!(
        metric(&text, "gongkai_store_size_bytes").is_some(),
        "{text}"
    );
}
