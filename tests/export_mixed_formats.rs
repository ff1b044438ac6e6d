//! `gongkai export` of an area where one approved report is in another
//! format than its year's (the 2019 trial format in 2024, as a store
//! written under an earlier rule set or restored may hold: the server
//! refuses such a submission today, `report.format-version`). The export
//! goes on: CSV skips that row with a warning naming the revision and its
//! format and counts it at the end, exit 0; JSONL writes every report with
//! its own cells and its `format`.

mod common;

use common::serve::{
    AUDITOR, Principals, TestServer, city, corrected_report, dept1, dept2, gongkai_command,
    report_name, tree_agencies,
};
use gongkai_domain::{Report, area::cells_of, shape::Value};
use gongkai_proto::v1 as pb;
use gongkai_server::{
    auth::Role,
    deadlines::Deadlines,
    serve::{Limits, Ops},
};
use gongkai_store::{Action, Checked, ReportKey, Store, WriteMeta, WriteOp};

const YEAR: u32 = 2024;

fn meta(id: &str) -> WriteMeta {
    WriteMeta {
        request_id: id.into(),
        principal: "seed".into(),
        time: std::time::SystemTime::now(),
    }
}

/// The trial-format report of testdata/, as dept2's report for 2024.
fn trial_report() -> pb::AnnualReport {
    let text =
        std::fs::read(common::repo().join("testdata/reports/layouts/baoqing-county-2020-trial.md"))
            .unwrap();
    let imported = gongkai_document::import(&text).unwrap();
    assert_eq!(
        imported.report.format,
        gongkai_domain::FormatVersion::Trial2019
    );
    let mut r = pb::AnnualReport::from(&imported.report);
    let m = r.metadata.as_mut().unwrap();
    m.data_year = YEAR;
    m.agency_uscc = dept2();
    r
}

/// The current-format sample, as dept1's report for 2024.
fn current_report() -> pb::AnnualReport {
    let mut r = corrected_report();
    r.metadata.as_mut().unwrap().agency_uscc = dept1();
    r
}

/// The city, the county under it and its two departments
/// (`tree_agencies`, as `register_tree` registers them); dept2's trial-format report submitted
/// and approved (revision 2), all through the store.
fn seed(store: &Store) {
    let write = |id: &str, op| store.write(meta(id), op).wait().unwrap();
    for agency in tree_agencies(false) {
        write(
            &format!("register-{}", agency.uscc),
            WriteOp::RegisterAgency { agency },
        );
    }
    let key = ReportKey {
        uscc: dept2(),
        year: YEAR,
    };
    write(
        "trial-s",
        WriteOp::SaveAndSubmit {
            key: key.clone(),
            expected: 0,
            report: trial_report(),
            checked: Checked::default(),
        },
    );
    write(
        "trial-a",
        WriteOp::Review {
            key,
            expected: 1,
            action: Action::Approve,
            checked: Checked::default(),
            comments: Vec::new(),
        },
    );
}

fn cells(report: &pb::AnnualReport) -> Vec<(String, Value)> {
    let r = Report::try_from(report).unwrap();
    cells_of(&r, &r)
        .into_iter()
        .map(|(location, v, _)| (location.path(), v))
        .collect()
}

/// What a JSONL line holds for one report: counts as numbers, money as
/// the exact decimal string.
fn json_row(code: &str, name: &str, format: &str, report: &pb::AnnualReport) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    obj.insert("agency".into(), format!("agencies/{code}").into());
    obj.insert("display_name".into(), name.into());
    obj.insert("revision".into(), 2.into());
    obj.insert("format".into(), format.into());
    for (path, v) in cells(report) {
        let json = match v {
            Value::Count(n) => serde_json::json!(n),
            Value::Delta(n) => serde_json::json!(n),
            Value::Money(m) => serde_json::json!(m.to_string()),
        };
        obj.insert(path, json);
    }
    serde_json::Value::Object(obj)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_skips_another_formats_row_in_csv_and_writes_it_in_jsonl() {
    let p = Principals::new(&[
        ("seeder", "*", &[Role::Submitter, Role::Reviewer]),
        ("city-audit", &city(), AUDITOR),
    ]);
    let server = TestServer::start_seeded(
        &p.toml,
        Limits::default(),
        None,
        Deadlines::default(),
        Ops::default(),
        seed,
    )
    .await;
    // dept1's report goes the ordinary way: submitted (1), approved (2).
    let mut c = server.clients().await;
    let seeder = p.token("seeder");
    let name = report_name(&dept1(), YEAR);
    let rev = c
        .submit(seeder, &name, Some(current_report()), 0, "s1")
        .await
        .unwrap();
    c.approve(seeder, &name, rev.revision, "a1").await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("city-audit");
    std::fs::write(&token, p.token("city-audit")).unwrap();
    let addr = format!("http://{}", server.addr);
    let year = YEAR.to_string();
    let city_code = city();
    let export = |format: &str| {
        gongkai_command(
            &[
                "export",
                "--server",
                &addr,
                "--token-file",
                token.to_str().unwrap(),
                "--year",
                &year,
                "--area",
                &city_code,
                "--format",
                format,
            ],
            &[],
        )
        .output()
        .unwrap()
    };

    // CSV: the header, dept1's row; dept2's trial-format report skipped,
    // named on stderr, counted at the end; exit 0.
    let out = export("csv");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let current = cells(&current_report());
    let header: Vec<String> = ["agency", "display_name", "revision"]
        .into_iter()
        .map(String::from)
        .chain(current.iter().map(|(p, _)| p.clone()))
        .collect();
    assert_eq!(lines[0], header.join(","));
    let row: Vec<String> = [
        format!("agencies/{}", dept1()),
        "宝清县财政局".to_owned(),
        "2".to_owned(),
    ]
    .into_iter()
    .chain(current.iter().map(|(_, v)| v.to_string()))
    .collect();
    assert_eq!(lines[1], row.join(","));
    // A few cells by hand, so the row is not only checked against itself.
    let cell = |name: &str| {
        let i = header.iter().position(|h| h == name).unwrap();
        lines[1].split(',').nth(i).unwrap().to_owned()
    };
    assert_eq!(cell("t3.R01.natural_person"), "78");
    assert_eq!(cell("t3.R25.total"), "0");
    assert_eq!(header.len(), 3 + 200);
    let trial_revision = format!("agencies/{}/reports/{YEAR}/revisions/2", dept2());
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            format!(
                "gongkai: warning: skipped {trial_revision}: it is in the 2019年试行格式（国办公开办函〔2019〕60号） (FORMAT_VERSION_2019_TRIAL), not the 2024 format, so its cells are not this CSV's columns; --format jsonl exports every report with its own cells"
            ),
            "gongkai: warning: 1 report(s) skipped, not in the 2024 format (2021年格式（国办公开办函〔2021〕30号）); --format jsonl exports them".to_owned(),
        ]
    );

    // JSONL: both reports, in the area index's order, each with its own
    // cells and format; nothing on stderr.
    let out = export("jsonl");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = common::json_lines(&out);
    assert_eq!(
        rows,
        [
            json_row(
                &dept1(),
                "宝清县财政局",
                "FORMAT_VERSION_2021",
                &current_report()
            ),
            json_row(
                &dept2(),
                "宝清县教育局",
                "FORMAT_VERSION_2019_TRIAL",
                &trial_report()
            ),
        ]
    );
    // The trial format's own cells, by hand: 22 in T2 (a signed 本年增/减
    // among them), its single （六）其他处理 row in T3.
    let trial = rows[1].as_object().unwrap();
    assert_eq!(trial.len(), 4 + 22 + 23 * 7 + 15);
    assert_eq!(trial["t2.licensing.change"], -4);
    assert_eq!(trial["t2.procurement.amount"], "3150.45");
    assert_eq!(trial["t3.other_handling_trial.natural_person"], 3);
    assert_eq!(rows[0].as_object().unwrap().len(), 4 + 200);
    assert_eq!(rows[0]["t3.R01.natural_person"], 78);
}
