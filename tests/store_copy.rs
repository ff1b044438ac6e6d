//! `gongkai copy --from DIR --to URL` (issue 14, point 4), the real binary
//! against the test kit's real PostgreSQL: a sled store written through the
//! API (agencies, revisions in every state, returns and approvals, area
//! sums, request records) is copied byte for byte, verifies, and
//! `serve --database` answers every read as the sled store did, and a
//! retried request from its record; a target holding data, a source that
//! does not verify and a source still served are refused with nothing
//! written; a copy killed part way leaves a target that is refused as
//! non-empty, and that neither verify nor serve opens; the previous release's
//! store (format 2) is copied upgraded, and left as it was.

mod common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use common::{
    serve::{
        ADMIN, AUDITOR, Clients, Principals, REVIEWER, SUBMITTER, authed, city, county, dept1,
        dept2, fresh_database, gongkai_command, report_name, spawn_in, varied,
    },
    stderr, stdout,
};
use gongkai_proto::v1 as pb;
use gongkai_store::{
    Tree,
    postgres::{PgEngine, PgOptions},
};

fn principals() -> Principals {
    Principals::new(&[
        ("ops", "*", ADMIN),
        ("inspector", "*", AUDITOR),
        ("city-review", &city(), REVIEWER),
        ("county-review", &county(), REVIEWER),
        ("county-office", &county(), SUBMITTER),
        ("dept1-office", &dept1(), SUBMITTER),
        ("dept2-office", &dept2(), SUBMITTER),
    ])
}

/// Runs `gongkai ARGS` to its end, with a clean environment plus `envs`.
fn run(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    gongkai_command(args, envs).output().expect("gongkai runs")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// `code`'s report for `year`: the corrected sample, varied by `k`.
fn report(code: &str, year: u32, k: u64) -> pb::AnnualReport {
    let mut r = varied(code, k, &k.to_string());
    r.metadata.as_mut().unwrap().data_year = year;
    r
}

fn comment(text: &str) -> Vec<pb::ReviewComment> {
    vec![pb::ReviewComment {
        text: text.to_owned(),
        cell: String::new(),
    }]
}

/// Writes, through the API, reports in every state: approved (at once,
/// and after a return and a correction), submitted, a draft, returned.
/// Returns the submission of county 2024 (request id `c24`), for a retry.
async fn write_every_state(c: &mut Clients, p: &Principals) -> pb::ReportRevision {
    c.register_tree(p.token("ops"), true).await;
    let (county, dept1, dept2) = (county(), dept1(), dept2());
    let submitted = c
        .submit(
            p.token("county-office"),
            &report_name(&county, 2024),
            Some(report(&county, 2024, 0)),
            0,
            "c24",
        )
        .await
        .unwrap();
    c.approve(
        p.token("city-review"),
        &report_name(&county, 2024),
        1,
        "c24-ok",
    )
    .await
    .unwrap();
    let d1 = report_name(&dept1, 2024);
    let tok = p.token("dept1-office");
    c.submit(tok, &d1, Some(report(&dept1, 2024, 3)), 0, "d1")
        .await
        .unwrap();
    c.return_report(
        p.token("county-review"),
        &d1,
        1,
        comment("请核对"),
        "d1-ret",
    )
    .await
    .unwrap();
    c.submit(tok, &d1, Some(report(&dept1, 2024, 5)), 2, "d1-fix")
        .await
        .unwrap();
    c.approve(p.token("county-review"), &d1, 3, "d1-ok")
        .await
        .unwrap();
    let tok = p.token("dept2-office");
    c.submit(
        tok,
        &report_name(&dept2, 2024),
        Some(report(&dept2, 2024, 7)),
        0,
        "d2",
    )
    .await
    .unwrap();
    c.submit(
        tok,
        &report_name(&dept2, 2023),
        Some(report(&dept2, 2023, 1)),
        0,
        "d2-23",
    )
    .await
    .unwrap();
    c.return_report(
        p.token("county-review"),
        &report_name(&dept2, 2023),
        1,
        comment("数据有误"),
        "d2-23-ret",
    )
    .await
    .unwrap();
    c.save(
        p.token("county-office"),
        &report_name(&county, 2023),
        report(&county, 2023, 2),
        0,
        "c23-draft",
    )
    .await
    .unwrap();
    submitted
}

/// Every read a caller makes of the store, as the inspector (global
/// auditor) and the city's reviewer see them: reports and their
/// revisions, listings by year, state and area, area sums, audit events.
async fn reads(c: &mut Clients, p: &Principals) -> Vec<String> {
    let inspector = p.token("inspector");
    let mut out = Vec::new();
    for (code, year) in [
        (county(), 2024),
        (county(), 2023),
        (dept1(), 2024),
        (dept2(), 2024),
        (dept2(), 2023),
    ] {
        let name = report_name(&code, year);
        let got = c
            .report
            .get_report(authed(
                Some(inspector),
                pb::GetReportRequest {
                    name: name.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("GetReport")
            .into_inner();
        out.push(format!("{got:?}"));
        let revisions = c
            .report
            .list_revisions(authed(
                Some(inspector),
                pb::ListRevisionsRequest {
                    name,
                    ..Default::default()
                },
            ))
            .await
            .expect("ListRevisions")
            .into_inner();
        out.push(format!("{revisions:?}"));
    }
    for request in [
        pb::ListReportsRequest {
            data_year: 2024,
            ..Default::default()
        },
        pb::ListReportsRequest {
            state: pb::ReviewState::Returned.into(),
            ..Default::default()
        },
        pb::ListReportsRequest {
            area: format!("agencies/{}", county()),
            data_year: 2024,
            state: pb::ReviewState::Approved.into(),
            ..Default::default()
        },
        pb::ListReportsRequest {
            page_size: 2,
            ..Default::default()
        },
    ] {
        let listed = c
            .report
            .list_reports(authed(Some(inspector), request))
            .await
            .expect("ListReports")
            .into_inner();
        out.push(format!("{listed:?}"));
    }
    for area in [city(), county()] {
        let summary = c
            .area
            .get_area_summary(authed(
                Some(p.token("city-review")),
                pb::GetAreaSummaryRequest {
                    area: format!("agencies/{area}"),
                    data_year: 2024,
                },
            ))
            .await
            .expect("GetAreaSummary")
            .into_inner();
        out.push(format!("{summary:?}"));
    }
    out.push(format!("{:?}", c.audit_events(inspector).await));
    out
}

/// Every tree's entries (key, value) in key order, by tree name.
type Trees = BTreeMap<&'static str, Vec<(Vec<u8>, Vec<u8>)>>;

/// Every entry of every tree of the sled store at `dir`, read with sled
/// itself (as the copy must find them).
fn sled_trees(dir: &Path) -> Trees {
    let db = sled::open(dir).expect("open the sled store");
    Tree::ALL
        .iter()
        .map(|t| {
            let tree = db.open_tree(t.name()).unwrap();
            let rows = tree
                .iter()
                .map(|kv| {
                    let (k, v) = kv.unwrap();
                    (k.to_vec(), v.to_vec())
                })
                .collect();
            (t.name(), rows)
        })
        .collect()
}

/// Every row (key, value) of every table of the database at `url`.
async fn pg_trees(url: &str) -> Trees {
    let engine = PgEngine::open(url, &PgOptions::default()).unwrap();
    let mut out = BTreeMap::new();
    for t in Tree::ALL {
        let rows = engine
            .scan(t, b"", None, 1_000_000)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        out.insert(t.name(), rows);
    }
    out
}

/// Rows in every table of the database at `url` but the seeded head's.
async fn rows_written(url: &str) -> usize {
    let trees = pg_trees(url).await;
    let seeded = (b"audit_head".to_vec(), b"\x01".to_vec());
    trees
        .values()
        .flatten()
        .filter(|row| **row != seeded)
        .count()
}

/// A migrated, empty database.
async fn migrated_database() -> String {
    let url = fresh_database().await;
    let out = run(&["migrate", "--database", &url], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    url
}

/// A sled store written through the API by the real binary, stopped:
/// its directory, the reads it answered, and the submission to retry.
async fn sled_store(dir: &Path, p: &Principals) -> (PathBuf, Vec<String>, pb::ReportRevision) {
    let mut server = spawn_in(dir, p, &[], &[]);
    let mut c = server.clients().await;
    let submitted = write_every_state(&mut c, p).await;
    let read = reads(&mut c, p).await;
    server.sigterm();
    assert!(server.wait(Duration::from_secs(30)).success());
    (dir.join("data"), read, submitted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_store_verifies_and_serves_every_read_as_sled_did() {
    let p = principals();
    let dir = tempfile::tempdir().unwrap();
    let (data, on_sled, submitted) = sled_store(dir.path(), &p).await;
    let before = sled_trees(&data);
    let verified = run(&["verify", "--data", path(&data)], &[]);
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));

    // Into a fresh database, migrated by the copy; the URL from the
    // environment, as a Secret gives it.
    let url = fresh_database().await;
    let out = run(
        &["copy", "--from", path(&data), "--migrate"],
        &[("GONGKAI_DATABASE_URL", &url)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("the database's gongkai schema migrated from version 0 to 1\n"),
        "{text}"
    );
    // One line per tree, meta last, with its rows.
    let copied: Vec<(String, String, usize)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("copied "))
        .filter(|l| l.contains(" → "))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w[0].to_owned(), w[2].to_owned(), w[3].parse().unwrap())
        })
        .collect();
    let expected: Vec<(String, String, usize)> = Tree::ALL[1..]
        .iter()
        .chain([&Tree::Meta])
        .map(|t| {
            (
                t.name().to_owned(),
                t.table().to_owned(),
                before[t.name()].len(),
            )
        })
        .collect();
    assert_eq!(copied, expected, "{text}");
    assert!(before["revisions"].len() >= 10 && before["requests"].len() >= 10);
    let events = before["events"].len();
    assert!(
        text.contains(&format!(
            "the copy verified: audit chain of {events} events, "
        )),
        "{text}"
    );
    // The verification on the target says what verify said on sled.
    let on_pg = run(&["verify", "--database", &url], &[]);
    assert_eq!(on_pg.status.code(), Some(0), "{}", stderr(&on_pg));
    assert_eq!(stdout(&on_pg), stdout(&verified));

    // Byte for byte: every tree's keys and values, the source unchanged.
    assert_eq!(pg_trees(&url).await, before);
    assert_eq!(sled_trees(&data), before, "the source is as it was");

    // Served from the database: every read as on sled, and a retried
    // request answered from its copied record, writing nothing.
    let server = spawn_in(dir.path(), &p, &["--database", &url], &[]);
    let mut c = server.clients().await;
    assert_eq!(reads(&mut c, &p).await, on_sled);
    let retried = c
        .submit(
            p.token("county-office"),
            &report_name(&county(), 2024),
            Some(report(&county(), 2024, 0)),
            0,
            "c24",
        )
        .await
        .expect("the retry is answered");
    assert_eq!(retried, submitted);
    assert_eq!(c.audit_events(p.token("inspector")).await.len(), events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_holding_data_is_refused_with_nothing_written() {
    let p = principals();
    let dir = tempfile::tempdir().unwrap();
    let (data, _, _) = sled_store(dir.path(), &p).await;
    let url = migrated_database().await;

    // A row an operator left in one table.
    let cluster = gongkai_testkit::shared();
    let planted = cluster
        .psql_in(
            &url,
            "INSERT INTO area_sums (key, value, area_uscc, year, agencies, other_format) \
             VALUES ('\\x01'::bytea, '\\x03'::bytea, 'x', 2024, 0, 0)",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = planted;
    let out = run(&["copy", "--from", path(&data), "--to", &url], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the target database holds data (table area_sums: key ")
            && err.contains("nothing was copied")
            && err.contains("drop the database, create it again"),
        "{err}"
    );
    assert_eq!(rows_written(&url).await, 1, "only the planted row");

    // A database a gongkai has opened and written to: named by its first
    // row, store_meta's agency count.
    let url = migrated_database().await;
    std::fs::create_dir(dir.path().join("other")).unwrap();
    let server = spawn_in(&dir.path().join("other"), &p, &["--database", &url], &[]);
    let mut c = server.clients().await;
    c.register_tree(p.token("ops"), false).await;
    drop(server);
    let written = pg_trees(&url).await;
    let out = run(&["copy", "--from", path(&data), "--to", &url], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("holds data (table store_meta: key agency_count)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(pg_trees(&url).await, written, "nothing written");

    // A database without the schema: what to run.
    let url = fresh_database().await;
    let out = run(&["copy", "--from", path(&data), "--to", &url], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("gongkai migrate --database URL"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_does_not_verify_or_is_served_is_refused_with_nothing_written() {
    let p = principals();
    let dir = tempfile::tempdir().unwrap();
    let (data, _, _) = sled_store(dir.path(), &p).await;
    let url = migrated_database().await;

    // Served: sled's lock says so.
    let server = spawn_in(dir.path(), &p, &[], &[]);
    let out = run(&["copy", "--from", path(&data), "--to", &url], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is a gongkai serve running on it? stop it first"),
        "{}",
        stderr(&out)
    );
    drop(server);

    // One approved revision's bytes edited on disk.
    {
        let db = sled::open(&data).unwrap();
        let revisions = db.open_tree("revisions").unwrap();
        let (k, v) = revisions.iter().nth(1).unwrap().unwrap();
        let mut v = v.to_vec();
        let last = v.len() - 1;
        v[last] ^= 1;
        revisions.insert(k, v).unwrap();
        db.flush().unwrap();
    }
    let out = run(&["copy", "--from", path(&data), "--to", &url], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("does not verify, so nothing was copied") && err.contains("tree revisions"),
        "{err}"
    );
    assert_eq!(rows_written(&url).await, 0);

    // A directory with no store.
    let empty = dir.path().join("nothing");
    let out = run(&["copy", "--from", path(&empty), "--to", &url], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no sled store here"),
        "{}",
        stderr(&out)
    );
    assert!(!empty.exists(), "no store was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_killed_part_way_is_refused_again_and_never_served() {
    let p = principals();
    let dir = tempfile::tempdir().unwrap();
    let (data, _, _) = sled_store(dir.path(), &p).await;
    let url = migrated_database().await;

    // One row per transaction; killed once the first tree is copied (its
    // line printed), long before `meta`, which is copied last.
    let mut child = gongkai_command(
        &[
            "copy",
            "--from",
            path(&data),
            "--to",
            &url,
            "--batch-rows",
            "1",
        ],
        &[],
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("copied agencies"), "{first}");
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = rows_written(&url).await;
    assert!(partial > 0, "a partial copy");

    // A rerun is refused as non-empty, saying how to start again.
    let out = run(&["copy", "--from", path(&data), "--to", &url], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("holds data (table agencies")
            && stderr(&out).contains("interrupted copy left, drop the database"),
        "{}",
        stderr(&out)
    );
    assert_eq!(rows_written(&url).await, partial, "nothing written");
    // The partial copy is refused by verify and by serve: without the
    // format stamp (copied last, with the chain head) it is no store.
    let out = run(&["verify", "--database", &url], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("the store holds data but no format version"),
        "{}",
        stderr(&out)
    );
    let creds = common::serve::credentials_file(dir.path(), &p);
    let out = run(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--credentials",
            path(&creds),
            "--database",
            &url,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the store holds data but no format version"),
        "{}",
        stderr(&out)
    );
}

/// The previous release's store (`testdata/stores/format2`), copied where
/// it may be opened.
fn release_store(into: &Path) -> PathBuf {
    let from = common::repo().join("testdata/stores/format2");
    let to = into.join("format2");
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    to
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_release_store_is_copied_upgraded_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let data = release_store(dir.path());
    let before = sled_trees(&data);
    let format = |trees: &Trees| {
        trees["meta"]
            .iter()
            .find(|(k, _)| k == b"format")
            .map(|(_, v)| u32::from_be_bytes(v.as_slice().try_into().unwrap()))
    };
    assert_eq!(format(&before), Some(2));

    let url = migrated_database().await;
    let out = run(&["copy", "--from", path(&data), "--to", &url], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "the source is of store format 2: the copy is of format {} (the source is unchanged)",
            gongkai_store::STORE_FORMAT
        )),
        "{}",
        stdout(&out)
    );
    // The source still opens with the release that wrote it.
    let after = sled_trees(&data);
    assert_eq!(after, before);
    // The copy: the same bytes but for the format stamp.
    let copied = pg_trees(&url).await;
    assert_eq!(format(&copied), Some(gongkai_store::STORE_FORMAT));
    for (tree, rows) in &before {
        let strip = |rows: &Vec<(Vec<u8>, Vec<u8>)>| {
            rows.iter()
                .filter(|(k, _)| *tree != "meta" || k != b"format")
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&copied[tree]), strip(rows), "tree {tree}");
    }
    // Opened through the store as serve opens it: nothing left to upgrade,
    // and verify agrees with the sled store's.
    let on_pg = run(&["verify", "--database", &url], &[]);
    assert_eq!(on_pg.status.code(), Some(0), "{}", stderr(&on_pg));
    let on_sled = run(
        &[
            "verify",
            "--data",
            path(&release_store(&dir.path().join("b"))),
        ],
        &[],
    );
    assert_eq!(stdout(&on_pg), stdout(&on_sled));
}
