//! `gongkai` on PostgreSQL (issue 14), the real binary against the test
//! kit's real server: a database without the schema is refused with what
//! to run; `gongkai migrate` applies it (once); `serve --database` serves
//! and `gongkai verify --database` verifies what it wrote; backup and
//! restore name the database's own tools, and a store dumped with `pg_dump`
//! and restored with `pg_restore` (as deploy/README.md says) verifies and
//! serves; health is NOT_SERVING while the database does not answer and
//! SERVING again once it does.

mod common;

use std::time::Duration;

use common::{
    serve::{
        ADMIN, AUDITOR, Principals, SUBMITTER, authed, county, credentials_file, fresh_database,
        gongkai_command, report_for, report_name, spawn_in,
    },
    stderr, stdout,
};
use gongkai_proto::v1 as pb;
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

fn principals() -> Principals {
    Principals::new(&[
        ("ops", "*", ADMIN),
        ("baoqing-office", &county(), SUBMITTER),
        ("inspector", "*", AUDITOR),
    ])
}

/// Runs `gongkai ARGS` to its end, with a clean environment plus `envs`.
fn run(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    gongkai_command(args, envs).output().expect("gongkai runs")
}

/// The database's name, the last part of its URL.
fn database_name(url: &str) -> &str {
    url.rsplit('/').next().expect("a database in the URL")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_without_the_schema_is_refused_saying_to_migrate() {
    let url = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let creds = credentials_file(dir.path(), &principals());
    let out = run(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--credentials",
            creds.to_str().unwrap(),
            "--database",
            &url,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("gongkai migrate --database URL") && err.contains("--migrate"),
        "{err}"
    );
    assert!(!stdout(&out).contains("listening"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_once_serve_and_verify_through_the_database() {
    let url = fresh_database().await;
    // The URL from the environment, as a Secret gives it.
    let env = [("GONGKAI_DATABASE_URL", url.as_str())];
    let out = run(&["migrate"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "the database's gongkai schema migrated from version 0 to 1"
    );
    let out = run(&["migrate", "--database", &url], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "the database's gongkai schema is at version 1 already"
    );

    let p = principals();
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn_in(dir.path(), &p, &[], &env);
    let mut c = server.clients().await;
    c.register_tree(p.token("ops"), false).await;
    let submitted = c
        .submit(
            p.token("baoqing-office"),
            &report_name(&county(), 2024),
            Some(report_for(2024)),
            0,
            "s1",
        )
        .await
        .expect("submitted");
    assert_eq!(submitted.revision, 1);
    // Health says SERVING with the database answering.
    let health = c
        .health
        .check(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.status(), ServingStatus::Serving);
    // Nothing on disk: the store is the database.
    assert!(!dir.path().join("data").exists(), "no sled store was made");
    server.sigterm();
    assert!(server.wait(Duration::from_secs(30)).success());

    let out = run(&["verify", "--database", &url], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "audit chain verified: 5 events, 5 records"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_of_a_database_name_its_own_tools() {
    let url = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("store.backup");
    let file = file.to_str().unwrap();
    for args in [
        vec!["backup", "--database", &url, file],
        vec!["restore", file, "--database", &url],
    ] {
        let out = run(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("pg_dump") && stderr(&out).contains("deploy/README.md"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert!(!std::path::Path::new(file).exists(), "no file was written");

    // The online backup of a server on the database: FAILED_PRECONDITION,
    // saying the same.
    let p = principals();
    let backups = dir.path().join("backups");
    let server = spawn_in(
        dir.path(),
        &p,
        &[
            "--database",
            &url,
            "--migrate",
            "--backup-dir",
            backups.to_str().unwrap(),
        ],
        &[],
    );
    let mut c = server.clients().await;
    let refused = c
        .admin
        .backup_store(authed(
            Some(p.token("ops")),
            pb::BackupStoreRequest::default(),
        ))
        .await
        .expect_err("no sled backup of a database");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("pg_dump"), "{refused:?}");
}

/// Runs a PostgreSQL client program of the test kit's installation.
fn pg_client(program: &str, args: &[&str]) {
    let path = gongkai_testkit::shared().client(program);
    let out = std::process::Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(out.status.success(), "{program} {args:?}: {}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_dumped_with_pg_dump_and_restored_with_pg_restore_verifies_and_serves() {
    let url = fresh_database().await;
    let p = principals();
    let dir = tempfile::tempdir().unwrap();
    let name = report_name(&county(), 2024);
    let mut server = spawn_in(dir.path(), &p, &["--database", &url, "--migrate"], &[]);
    let mut c = server.clients().await;
    c.register_tree(p.token("ops"), false).await;
    let submitted = c
        .submit(
            p.token("baoqing-office"),
            &name,
            Some(report_for(2024)),
            0,
            "s1",
        )
        .await
        .expect("submitted");
    server.sigterm();
    assert!(server.wait(Duration::from_secs(30)).success());

    // deploy/README.md's backup and restore: a custom-format dump, restored
    // into an empty database.
    let dump = dir.path().join("gongkai.dump");
    let dump = dump.to_str().unwrap().to_owned();
    let restored = fresh_database().await;
    let (from, to) = (url.clone(), restored.clone());
    tokio::task::spawn_blocking(move || {
        pg_client("pg_dump", &["--format=custom", "--file", &dump, &from]);
        pg_client("pg_restore", &["--no-owner", "--dbname", &to, &dump]);
    })
    .await
    .unwrap();

    let out = run(&["verify", "--database", &restored], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "audit chain verified: 5 events, 5 records"
    );
    // The restored database has the schema (no --migrate), the report, and
    // the request records: the retry of the submission is answered as it was.
    let server = spawn_in(dir.path(), &p, &["--database", &restored], &[]);
    let mut c = server.clients().await;
    let retried = c
        .submit(
            p.token("baoqing-office"),
            &name,
            Some(report_for(2024)),
            0,
            "s1",
        )
        .await
        .expect("the retry answered");
    assert_eq!(retried, submitted);
    let got = c
        .report
        .get_report(authed(
            Some(p.token("inspector")),
            pb::GetReportRequest {
                name: name.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("the restored report")
        .into_inner();
    assert_eq!(got.revision, Some(submitted));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_ca_makes_the_binary_verify_the_database_server() {
    // A server of its own taking TLS with a certificate for localhost, signed
    // by a CA the system does not trust.
    let dir = tempfile::tempdir().unwrap();
    let pki = gongkai_testkit::Pki::new(&["localhost"]).unwrap();
    let certs = dir.path().join("server");
    std::fs::create_dir(&certs).unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca).unwrap();
    let cluster = tokio::task::spawn_blocking(move || {
        gongkai_testkit::Cluster::start_tls(&pki, &certs).unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap();
    let url = format!(
        "postgres://{}@localhost:{}/postgres?sslmode=verify-full",
        gongkai_testkit::SUPERUSER,
        cluster.port()
    );
    let ca = ca.to_str().unwrap();

    // Without the CA the server's certificate is not trusted: refused.
    let out = run(&["migrate", "--database", &url], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));
    // With it (the flag, or its variable): migrated, then verified.
    let out = run(&["migrate", "--database", &url, "--database-ca", ca], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(
        &["verify"],
        &[("GONGKAI_DATABASE_URL", &url), ("GONGKAI_DATABASE_CA", ca)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "audit chain verified: 0 events, 0 records"
    );
    // And the server serves through it, over TLS.
    let p = principals();
    let server = spawn_in(
        dir.path(),
        &p,
        &["--database", &url, "--database-ca", ca],
        &[],
    );
    let mut c = server.clients().await;
    c.register_tree(p.token("ops"), false).await;
    let tls = cluster
        .psql("SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = 'postgres' AND a.pid <> pg_backend_pid()")
        .unwrap();
    assert_eq!(tls, "t", "every connection of gongkai is TLS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_not_serving_while_the_database_refuses_and_serving_once_it_answers() {
    let url = fresh_database().await;
    let db = database_name(&url).to_owned();
    let p = principals();
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_in(dir.path(), &p, &["--database", &url, "--migrate"], &[]);
    let mut c = server.clients().await;
    let mut watch = c
        .health
        .watch(HealthCheckRequest::default())
        .await
        .expect("watch health")
        .into_inner();
    // The next status the watch tells (bounded, so a server that never
    // tells fails the test instead of hanging it).
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(60), watch.message())
            .await
            .expect("a status within a minute")
            .expect("the watch goes on")
            .expect("a status")
            .status()
    };
    assert_eq!(next().await, ServingStatus::Serving);

    // The database turns every connection away, and its open ones end.
    let psql = |sql: String| async move {
        tokio::task::spawn_blocking(move || gongkai_testkit::shared().psql(&sql))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    psql(format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false")).await;
    psql(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ))
    .await;
    assert_eq!(next().await, ServingStatus::NotServing);
    // A call meanwhile is refused as worth retrying, not as damage.
    let refused = c
        .agency
        .list_agencies(authed(
            Some(p.token("ops")),
            pb::ListAgenciesRequest::default(),
        ))
        .await
        .expect_err("the database refuses");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");

    psql(format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true")).await;
    assert_eq!(next().await, ServingStatus::Serving);
    c.register_tree(p.token("ops"), false).await;
}
