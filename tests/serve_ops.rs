//! Operating `gongkai serve`, the real binary (issue 4, deliver item 4):
//! health, refusing to start without credentials, local-trial mode, SIGTERM
//! with a verifiable store after, overload answered RESOURCE_EXHAUSTED, JSON
//! logs with a span per call, and every flag settable as GONGKAI_*.
//!
//! Each test starts the binary on 127.0.0.1:0 and talks to it only after it
//! printed its listening line.

mod common;

use std::time::Duration;

use common::serve::{
    ADMIN, AUDITOR, Principals, SUBMITTER, authed, county, credentials_file, gongkai_command,
    report_for, report_name, spawn_serve,
};
use gongkai_proto::v1 as pb;
use gongkai_server::auth::Role;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

fn principals() -> Principals {
    Principals::new(&[
        ("ops", "*", ADMIN),
        ("inspector", "*", AUDITOR),
        ("baoqing-office", &county(), SUBMITTER),
        ("loader", "*", &[Role::Submitter]),
    ])
}

/// A temporary directory with a credentials file and a data path in it.
struct Setup {
    dir: tempfile::TempDir,
    creds: String,
    data: String,
    p: Principals,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temporary directory");
    let p = principals();
    let creds = credentials_file(dir.path(), &p)
        .to_str()
        .expect("utf-8")
        .to_owned();
    let data = dir.path().join("data").to_str().expect("utf-8").to_owned();
    Setup {
        dir,
        creds,
        data,
        p,
    }
}

fn serve_args<'a>(s: &'a Setup, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        &s.data,
        "--credentials",
        &s.creds,
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_serving_once_the_listening_line_is_printed() {
    let s = setup();
    let server = spawn_serve(&serve_args(&s, &[]), &[]);
    assert!(
        server.listening.ends_with("(plaintext)"),
        "{}",
        server.listening
    );
    let mut c = server.clients().await;
    assert_eq!(c.health().await.expect("health"), ServingStatus::Serving);
    for service in [
        "gongkai.v1.AgencyService",
        "gongkai.v1.ReportService",
        "gongkai.v1.ReviewService",
        "gongkai.v1.AuditService",
    ] {
        let r = c
            .health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("per-service health")
            .into_inner();
        assert_eq!(r.status(), ServingStatus::Serving, "{service}");
    }
}

#[test]
fn serve_refuses_to_start_without_credentials_or_local_trial() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    let out = gongkai_command(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().expect("utf-8"),
        ],
        &[],
    )
    .output()
    .expect("run gongkai serve");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--credentials") && stderr.contains("--local-trial"),
        "the refusal names both flags: {stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening"),
        "it never listened"
    );
    // GONGKAI_LOCAL_TRIAL=false is no local trial either.
    let out = gongkai_command(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().expect("utf-8"),
        ],
        &[("GONGKAI_LOCAL_TRIAL", "false")],
    )
    .output()
    .expect("run gongkai serve");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_trial_announces_itself_at_every_start_and_its_token_works() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    let data_s = data.to_str().expect("utf-8");
    let mut tokens = Vec::new();
    for start in 0..2 {
        let mut server = spawn_serve(
            &[
                "serve",
                "--local-trial",
                "--listen",
                "127.0.0.1:0",
                "--data",
                data_s,
            ],
            &[],
        );
        // The LOCAL TRIAL MODE warning, then the token, at every start.
        let token = server.trial_token();
        let mut c = server.clients().await;
        let listed = c
            .agency
            .list_agencies(authed(Some(&token), pb::ListAgenciesRequest::default()))
            .await
            .expect("the trial token works");
        if start == 0 {
            assert!(listed.into_inner().agencies.is_empty());
            // Every role, everywhere: register, submit, verify.
            c.register_tree(&token, false).await;
            c.submit(
                &token,
                &report_name(&county(), 2024),
                Some(report_for(2024)),
                0,
                "trial-submit",
            )
            .await
            .expect("the trial token submits");
        } else {
            assert_eq!(listed.into_inner().agencies.len(), 4, "the store persisted");
        }
        let v = c
            .audit
            .verify_audit_chain(authed(Some(&token), pb::VerifyAuditChainRequest {}))
            .await
            .expect("the trial token audits")
            .into_inner();
        assert!(v.intact);
        let bad = c
            .agency
            .list_agencies(authed(
                Some("gk_made-up"),
                pb::ListAgenciesRequest::default(),
            ))
            .await
            .expect_err("another token");
        assert_eq!(bad.code(), Code::Unauthenticated);
        tokens.push(token);
    }
    assert_ne!(tokens[0], tokens[1], "a new token at every start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_zero_and_the_store_verifies_after() {
    let s = setup();
    let mut server = spawn_serve(&serve_args(&s, &["--drain-timeout-secs", "5"]), &[]);
    let mut c = server.clients().await;
    c.register_tree(s.p.token("ops"), false).await;
    c.submit(
        s.p.token("baoqing-office"),
        &report_name(&county(), 2024),
        Some(report_for(2024)),
        0,
        "before-sigterm",
    )
    .await
    .expect("submitted");
    server.sigterm();
    let status = server.wait(Duration::from_secs(30));
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM is a clean stop; stderr:\n{}",
        server.stderr()
    );
    let stderr = server.stderr();
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
    assert!(stderr.contains("store flushed"), "{stderr}");
    drop(c);
    let out = gongkai_command(&["verify", "--data", &s.data], &[])
        .output()
        .expect("run gongkai verify");
    assert_eq!(
        out.status.code(),
        Some(0),
        "verify after SIGTERM: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = s.dir;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_overloaded_server_answers_resource_exhausted_and_keeps_serving() {
    let s = setup();
    let server = spawn_serve(&serve_args(&s, &["--max-concurrent-calls", "1"]), &[]);
    let mut c = server.clients().await;
    c.register_tree(s.p.token("ops"), false).await;
    let loader = s.p.token("loader").to_owned();
    // 50 SubmitReport at once, each a different data year: each holds the
    // one permit while it checks and writes durably.
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..50u32 {
        let mut c = c.clone();
        let loader = loader.clone();
        calls.spawn(async move {
            let year = 2030 + i;
            c.submit(
                &loader,
                &report_name(&county(), year),
                Some(report_for(year)),
                0,
                &format!("load-{year}"),
            )
            .await
        });
    }
    let (mut ok, mut exhausted) = (0, 0);
    while let Some(r) = calls.join_next().await {
        match r.expect("task") {
            Ok(rev) => {
                assert_eq!(rev.revision, 1);
                ok += 1;
            }
            Err(s) if s.code() == Code::ResourceExhausted => {
                assert!(s.message().contains("overloaded"), "{s:?}");
                exhausted += 1;
            }
            Err(s) => panic!("neither served nor refused as overloaded: {s:?}"),
        }
    }
    assert!(
        ok >= 1,
        "some calls are served ({ok} ok, {exhausted} exhausted)"
    );
    assert!(
        exhausted >= 1,
        "some calls are refused ({ok} ok, {exhausted} exhausted)"
    );
    // Still serving, and what was refused wrote nothing.
    assert_eq!(c.health().await.expect("health"), ServingStatus::Serving);
    let events = c.audit_events(s.p.token("inspector")).await;
    assert_eq!(events.len(), 4 + ok, "one event per served submit");
    c.submit(
        &loader,
        &report_name(&county(), 2024),
        Some(report_for(2024)),
        0,
        "after-load",
    )
    .await
    .expect("a call after the overload");
}

/// `key` at the top level of a JSON log line, or in its span.
fn field<'a>(line: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    line.get(key)
        .or_else(|| line.get("span").and_then(|s| s.get(key)))
        .or_else(|| line.get("fields").and_then(|s| s.get(key)))
        .or_else(|| {
            line.get("spans")
                .and_then(|s| s.as_array())
                .and_then(|spans| spans.iter().rev().find_map(|s| s.get(key)))
        })
}

fn json_call_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .filter(|v| field(v, "method").is_some())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_method_principal_code_and_latency_per_call() {
    let s = setup();
    let mut server = spawn_serve(&serve_args(&s, &["--log-format", "json"]), &[]);
    let mut c = server.clients().await;
    c.agency
        .list_agencies(authed(
            Some(s.p.token("inspector")),
            pb::ListAgenciesRequest::default(),
        ))
        .await
        .expect("a call");
    let _ = c
        .agency
        .get_agency(authed(
            None,
            pb::GetAgencyRequest {
                name: "agencies/x".into(),
            },
        ))
        .await
        .expect_err("no token");
    server.sigterm();
    assert_eq!(server.wait(Duration::from_secs(30)).code(), Some(0));
    let stderr = server.stderr();
    let calls = json_call_lines(&stderr);
    let list = calls
        .iter()
        .find(|v| field(v, "method").and_then(|m| m.as_str()) == Some("ListAgencies"))
        .unwrap_or_else(|| panic!("no ListAgencies line in:\n{stderr}"));
    assert_eq!(
        field(list, "principal").and_then(|v| v.as_str()),
        Some("inspector"),
        "{list}"
    );
    assert_eq!(
        field(list, "code").and_then(|v| v.as_str()),
        Some("Ok"),
        "{list}"
    );
    assert!(
        field(list, "latency_us").is_some_and(serde_json::Value::is_u64),
        "{list}"
    );
    let denied = calls
        .iter()
        .find(|v| field(v, "method").and_then(|m| m.as_str()) == Some("GetAgency"))
        .unwrap_or_else(|| panic!("no GetAgency line in:\n{stderr}"));
    assert_eq!(
        field(denied, "code").and_then(|v| v.as_str()),
        Some("Unauthenticated"),
        "{denied}"
    );
    assert_eq!(
        field(denied, "principal").and_then(|v| v.as_str()),
        Some("-"),
        "{denied}"
    );
    assert!(
        !stderr.contains(s.p.token("inspector")),
        "a bearer token was logged"
    );
}

#[test]
fn every_serve_flag_has_its_gongkai_environment_variable() {
    let out = gongkai_command(&["serve", "--help"], &[])
        .output()
        .expect("gongkai serve --help");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    let mut flags = Vec::new();
    for line in help.lines() {
        let t = line.trim_start();
        let t = t
            .strip_prefix("-h, ")
            .or_else(|| {
                t.get(4..)
                    .filter(|_| t.starts_with('-') && t.get(2..4) == Some(", "))
            })
            .unwrap_or(t);
        if let Some(rest) = t.strip_prefix("--") {
            let flag: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if flag != "help" {
                flags.push(flag);
            }
        }
    }
    for expected in [
        "listen",
        "data",
        "credentials",
        "local-trial",
        "tls-cert",
        "tls-key",
        "tls-client-ca",
        "max-message-bytes",
        "request-timeout-secs",
        "max-concurrent-calls",
        "drain-timeout-secs",
        "cache-mb",
        "log-format",
    ] {
        assert!(
            flags.iter().any(|f| f == expected),
            "--{expected} in {flags:?}"
        );
    }
    for flag in &flags {
        // `--database` is read from GONGKAI_DATABASE_URL, the name issue 14
        // gives it (and the one operators know from libpq and the like);
        // its value, which may hold a password, is never shown.
        let env = match flag.as_str() {
            "database" => "[env: GONGKAI_DATABASE_URL]".to_owned(),
            _ => format!("[env: GONGKAI_{}=", flag.to_uppercase().replace('-', "_")),
        };
        assert!(help.contains(&env), "--{flag} has no {env}…] in:\n{help}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_flags_are_taken_from_the_environment() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("env-data");
    let data_s = data.to_str().expect("utf-8");
    let mut server = spawn_serve(
        &["serve"],
        &[
            ("GONGKAI_LISTEN", "127.0.0.1:0"),
            ("GONGKAI_DATA", data_s),
            ("GONGKAI_LOCAL_TRIAL", "true"),
            ("GONGKAI_SEED_SAMPLE", "true"),
            ("GONGKAI_LOG_FORMAT", "json"),
            ("GONGKAI_MAX_MESSAGE_BYTES", "65536"),
            ("GONGKAI_MAX_CONCURRENT_CALLS", "8"),
            ("GONGKAI_REQUEST_TIMEOUT_SECS", "5"),
            ("GONGKAI_DRAIN_TIMEOUT_SECS", "3"),
            ("GONGKAI_CACHE_MB", "16"),
        ],
    );
    assert!(server.addr.ip().is_loopback() && server.addr.port() != 0);
    // GONGKAI_LOCAL_TRIAL=true: the LOCAL TRIAL MODE warning, then the token.
    let token = server.trial_token();
    // The token file is announced once written.
    let announced = server.next_line().expect("token file line");
    let path = data.join("local-trial.token");
    assert_eq!(announced, format!("token file: {}", path.display()));
    let token_file =
        std::fs::read_to_string(&path).expect("GONGKAI_DATA holds the store and the token file");
    assert_eq!(token_file.trim(), token);
    let mut c = server.clients().await;
    // GONGKAI_SEED_SAMPLE: the sample report is there as a draft.
    let seeded = c
        .report
        .get_report(authed(
            Some(&token),
            pb::GetReportRequest {
                name: report_name(gongkai_server::sample::COUNTY, 2024),
                view: 0,
            },
        ))
        .await
        .expect("the seeded sample")
        .into_inner();
    assert_eq!(
        seeded.revision.map(|r| r.state()),
        Some(pb::ReviewState::Draft)
    );
    // GONGKAI_MAX_MESSAGE_BYTES: 64 KiB.
    let mut big = report_for(2024);
    big.sections.as_mut().expect("sections").overview = Some("公开".repeat(20_000));
    let refused = c
        .report
        .validate_report(authed(
            Some(&token),
            pb::ValidateReportRequest {
                report: Some(big),
                name: String::new(),
            },
        ))
        .await
        .expect_err("over 64 KiB");
    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");
    assert!(refused.message().contains("65536"), "{refused:?}");
    c.report
        .validate_report(authed(
            Some(&token),
            pb::ValidateReportRequest {
                report: Some(report_for(2024)),
                name: String::new(),
            },
        ))
        .await
        .expect("a report under 64 KiB");
    server.sigterm();
    assert_eq!(server.wait(Duration::from_secs(30)).code(), Some(0));
    // GONGKAI_LOG_FORMAT=json.
    assert!(
        !json_call_lines(&server.stderr()).is_empty(),
        "{}",
        server.stderr()
    );

    // GONGKAI_CREDENTIALS instead of the trial.
    let p = principals();
    let creds = credentials_file(dir.path(), &p);
    let mut server = spawn_serve(
        &["serve"],
        &[
            ("GONGKAI_LISTEN", "127.0.0.1:0"),
            ("GONGKAI_DATA", data_s),
            ("GONGKAI_CREDENTIALS", creds.to_str().expect("utf-8")),
        ],
    );
    let mut c = server.clients().await;
    c.agency
        .list_agencies(authed(
            Some(p.token("inspector")),
            pb::ListAgenciesRequest::default(),
        ))
        .await
        .expect("a token from GONGKAI_CREDENTIALS");
    let trial = c
        .agency
        .list_agencies(authed(Some(&token), pb::ListAgenciesRequest::default()))
        .await
        .expect_err("the old trial token is gone");
    assert_eq!(trial.code(), Code::Unauthenticated);
    server.sigterm();
    assert_eq!(server.wait(Duration::from_secs(30)).code(), Some(0));
    assert!(
        !server.stderr().contains("LOCAL TRIAL MODE"),
        "not a trial with credentials"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_turns_not_serving_at_the_first_moment_of_shutdown_and_the_store_is_flushed() {
    use gongkai_server::serve::Limits;
    use gongkai_store::{Store, StoreOptions};
    let p = principals();
    let limits = Limits {
        drain_timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    let server = common::serve::TestServer::start_with(&p.toml, limits, None).await;
    let mut c = server.clients().await;
    c.register_tree(p.token("ops"), false).await;
    let mut watch = c
        .health
        .watch(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch health")
        .into_inner();
    let first = watch.message().await.expect("a status").expect("one");
    assert_eq!(first.status(), ServingStatus::Serving);
    let data = server.dir.path().join("data");
    // Shut down while the watch is open (a call in flight): the watcher
    // hears NOT_SERVING before anything stops.
    let stopping = tokio::spawn(server.shutdown());
    let next = watch.message().await.expect("a status").expect("one");
    assert_eq!(next.status(), ServingStatus::NotServing);
    // Once the last call ends, serve returns without waiting out the drain bound.
    drop(watch);
    drop(c);
    let started = std::time::Instant::now();
    let (result, _dir) = stopping.await.expect("join");
    result.expect("serve ends cleanly");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "serve waited out the drain bound with no call in flight"
    );
    // Flushed and closed: the store opens again and verifies.
    let store = Store::open_sled(&data, &StoreOptions::default()).expect("reopen after stop");
    let v = store.verify().await.expect("verify");
    assert_eq!(v.events, 4);
    assert!(v.broken.is_none(), "{v:?}");
}
