//! `gongkai export` and `gongkai coverage` against a running server (the
//! CLI is a gRPC client: the live server holds sled's lock): one CSV or
//! JSON row per agency with every cell of the declared shape as a named
//! column, exact money, and the agencies not filed and late named; a
//! refused token is a clear error and exit status 2.

mod common;

use common::serve::{
    ADMIN, AUDITOR, Principals, SUBMITTER, TestServer, city, corrected_report, county, dept1,
    dept2, gongkai_command, report_name,
};
use gongkai_proto::v1 as pb;

const YEAR: u32 = 2024;

fn with_fee(code: &str, fee: &str) -> pb::AnnualReport {
    let mut r = corrected_report();
    r.metadata.as_mut().unwrap().agency_uscc = code.to_owned();
    if let Some(pb::annual_report::ActiveDisclosureTable::ActiveDisclosure(t)) =
        r.active_disclosure_table.as_mut()
    {
        t.fees = Some(pb::Money {
            wan_yuan: fee.to_owned(),
        });
    }
    r
}

struct World {
    server: TestServer,
    dir: tempfile::TempDir,
}

async fn world() -> World {
    let p = Principals::new(&[
        ("ops", "*", ADMIN),
        (
            "seeder",
            "*",
            &[
                gongkai_server::auth::Role::Submitter,
                gongkai_server::auth::Role::Reviewer,
            ],
        ),
        ("city-audit", &city(), AUDITOR),
        ("dept-office", &dept1(), SUBMITTER),
    ]);
    let server = TestServer::start(&p.toml).await;
    let mut c = server.clients().await;
    c.register_tree(p.token("ops"), false).await;
    // dept1 approved with an exact fee; dept2 not started; the county not started.
    let seeder = p.token("seeder").to_owned();
    let rev = c
        .submit(
            &seeder,
            &report_name(&dept1(), YEAR),
            Some(with_fee(&dept1(), "12.345678")),
            0,
            "s1",
        )
        .await
        .unwrap();
    c.approve(&seeder, &report_name(&dept1(), YEAR), rev.revision, "a1")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for who in ["city-audit", "dept-office"] {
        std::fs::write(dir.path().join(who), p.token(who)).unwrap();
    }
    World { server, dir }
}

impl World {
    /// `gongkai SUBCOMMAND --server … --token-file … REST` as `who`.
    fn run(&self, who: &str, args: &[&str]) -> std::process::Output {
        let server = format!("http://{}", self.server.addr);
        let token = self.dir.path().join(who);
        let mut full = vec![
            args[0],
            "--server",
            &server,
            "--token-file",
            token.to_str().unwrap(),
        ];
        full.extend_from_slice(&args[1..]);
        gongkai_command(&full, &[]).output().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_every_cell_as_a_named_column_and_coverage_names_who_is_late() {
    let w = world().await;
    let year = YEAR.to_string();
    let city_code = city();

    let out = w.run(
        "city-audit",
        &[
            "export", "--year", &year, "--area", &city_code, "--format", "csv",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(&header[..3], ["agency", "display_name", "revision"]);
    assert_eq!(header.len(), 3 + 10 + 175 + 15);
    assert!(header.contains(&"t3.R25.natural_person"));
    assert!(header.contains(&"t2.fees.amount"));
    assert!(header.contains(&"t4.litigation_after_reconsideration.total"));
    let row: Vec<&str> = lines[1].split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(col("agency"), format!("agencies/{}", dept1()));
    assert_eq!(col("display_name"), "宝清县财政局");
    // Submitted with its content (1), approved (2).
    assert_eq!(col("revision"), "2");
    assert_eq!(col("t2.fees.amount"), "12.345678");
    // The corrected sample: 78 applications received, R25 0.
    assert_eq!(col("t3.R01.natural_person"), "78");
    assert_eq!(col("t3.R25.total"), "0");

    let out = w.run(
        "city-audit",
        &[
            "export", "--year", &year, "--area", &city_code, "--format", "jsonl",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let rows = common::json_lines(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["t2.fees.amount"], "12.345678");
    assert_eq!(rows[0]["t3.R01.natural_person"], 78);
    assert_eq!(rows[0]["format"], "FORMAT_VERSION_2021");
    assert_eq!(rows[0].as_object().unwrap().len(), 4 + 200);

    // Coverage on 2025-02-15: dept2 (a department, due 1月31日) is late; the
    // county and city governments (due 3月31日) are not yet.
    let out = w.run(
        "city-audit",
        &[
            "coverage",
            "--year",
            &year,
            "--area",
            &city_code,
            "--as-of",
            "2025-02-15T12:00:00+08:00",
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = common::json_lines(&out);
    assert_eq!(rows.len(), 4);
    let late: Vec<&str> = rows
        .iter()
        .filter(|r| r["late"] == true)
        .map(|r| r["agency"].as_str().unwrap())
        .collect();
    assert_eq!(late, [format!("agencies/{}", dept2())]);
    let not_filed: Vec<&str> = rows
        .iter()
        .filter(|r| r["filed"] == false)
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(not_filed, ["not_started"; 3]);
    // dept1 was submitted as the test ran, after its 2025-01-31 deadline.
    let d1 = rows
        .iter()
        .find(|r| r["agency"] == format!("agencies/{}", dept1()))
        .unwrap();
    assert_eq!(d1["filed_late"], true);
    assert!(d1["first_submit_time"].as_str().unwrap().ends_with('Z'));
    let text_out = w.run(
        "city-audit",
        &[
            "coverage",
            "--year",
            &year,
            "--area",
            &county(),
            "--as-of",
            "2025-04-01T00:00:00+08:00",
        ],
    );
    let text = String::from_utf8(text_out.stdout).unwrap();
    assert!(
        text.starts_with(&format!(
            "agencies/{} 2024: 3 agencies, 1 filed, 2 not filed, 2 late",
            county()
        )),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("not_started LATE 2025-03-31 ") && l.ends_with("宝清县人民政府")), "{text}");

    // A submitter may not see its area: refused, named, exit 2, no rows.
    let out = w.run(
        "dept-office",
        &["export", "--year", &year, "--area", &city_code],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PermissionDenied"), "{err}");
    // A bad --as-of names the flag, and nothing is asked of the server.
    let out = w.run(
        "city-audit",
        &[
            "coverage", "--year", &year, "--area", &city_code, "--as-of", "tomorrow",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--as-of 'tomorrow'"));
}
