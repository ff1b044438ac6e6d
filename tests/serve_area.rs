//! Area roll-ups end to end (issue 6), over gRPC against a server on
//! 127.0.0.1:0 with a temporary store: a city, two counties, each with
//! departments and townships. The sums are right to the cell (every T2, T3
//! and T4 cell, fees exact), the agencies that have not filed and those
//! that are late are named, a correction after approval replaces the old
//! contribution exactly once, the county's own report is compared with the
//! sum under it, and ExportReports streams the current approved reports.

mod common;

use common::serve::{
    AUDITOR, Clients, Principals, REVIEWER, SUBMITTER, TestServer, authed, corrected_report,
    report_name, uscc, varied,
};
use gongkai_domain::{
    FormatVersion, Money, Report,
    area::cells_of,
    shape::{T3_COLUMNS, T3Row, T4_BLOCKS, T4_COLUMNS, Value},
};
use gongkai_proto::v1::{self as pb, AgencyKind as K, AgencyLevel as L, FilingState as F};
use gongkai_server::{deadlines::Deadlines, serve::Limits};
use tonic::Code;

const YEAR: u32 = 2024;

struct Tree {
    city: String,
    city_dept: String,
    a: String,
    a1: String,
    a2: String,
    a_town: String,
    a_town2: String,
    b: String,
    b1: String,
    b2: String,
    b_town: String,
}

fn tree() -> Tree {
    Tree {
        city: uscc("11230500MB0000101"),
        city_dept: uscc("11230500MB0000102"),
        a: uscc("11230523MB0000201"),
        a1: uscc("11230523MB0000202"),
        a2: uscc("11230523MB0000203"),
        a_town: uscc("11230523MB0000204"),
        a_town2: uscc("11230523MB0000205"),
        b: uscc("11230521MB0000301"),
        b1: uscc("11230521MB0000302"),
        b2: uscc("11230521MB0000303"),
        b_town: uscc("11230521MB0000304"),
    }
}

/// Every cell of the tables, summed here independently of the store: T3 and
/// T4 by their enums, T2 by its layout, money with Money::checked_add.
fn expected_cells(reports: &[&pb::AnnualReport]) -> Vec<(String, Value)> {
    let reports: Vec<Report> = reports
        .iter()
        .map(|r| Report::try_from(*r).unwrap())
        .collect();
    let layout = reports[0].format.t2_layout();
    let mut out = Vec::new();
    for cell in layout.cells() {
        let mut acc = Value::zero(cell.column.kind);
        for r in &reports {
            acc = match (acc, r.t2.as_ref().unwrap().get(&cell)) {
                (Value::Count(a), Value::Count(b)) => Value::Count(a + b),
                (Value::Money(a), Value::Money(b)) => Value::Money(a.checked_add(&b).unwrap()),
                other => panic!("{other:?}"),
            };
        }
        out.push((cell.path(), acc));
    }
    for row in T3Row::rows_of(reports[0].format) {
        for c in &T3_COLUMNS {
            let n = reports
                .iter()
                .map(|r| r.t3.as_ref().unwrap().get(row, c.col))
                .sum();
            out.push((format!("t3.{}.{}", row.spec().id, c.key), Value::Count(n)));
        }
    }
    for b in &T4_BLOCKS {
        for c in &T4_COLUMNS {
            let n = reports
                .iter()
                .map(|r| r.t4.as_ref().unwrap().get(b.block, c.col))
                .sum();
            out.push((format!("t4.{}.{}", b.key, c.key), Value::Count(n)));
        }
    }
    out
}

/// The same cells, read off a summary's sums.
fn summary_cells(s: &pb::GetAreaSummaryResponse) -> Vec<(String, Value)> {
    let sums = Report::try_from(s.sums.as_ref().unwrap()).unwrap();
    // expected_cells of one report is that report's cells.
    let cells = expected_cells(&[s.sums.as_ref().unwrap()]);
    assert_eq!(sums.format.t2_layout().len() + 175 + 15, cells.len());
    // Checked against what does not come from this file's enumeration: a
    // 2024 sum is in the 2021 format, which has 200 cells, and they are the
    // domain's own list of the cells (path and value, in order).
    assert_eq!(sums.format, FormatVersion::Current2021);
    assert_eq!(cells.len(), 200, "the 2021 format's cells");
    let domain: Vec<(String, Value)> = cells_of(&sums, &sums)
        .into_iter()
        .map(|(location, v, _)| (location.path(), v))
        .collect();
    same(&domain, &cells);
    cells
}

fn same(a: &[(String, Value)], b: &[(String, Value)]) {
    assert_eq!(a.len(), b.len());
    for ((pa, va), (pb_, vb)) in a.iter().zip(b) {
        assert_eq!(pa, pb_);
        let equal = match (va, vb) {
            (Value::Money(x), Value::Money(y)) => x.cmp(y) == std::cmp::Ordering::Equal,
            _ => va == vb,
        };
        assert!(equal, "{pa}: summary {vb}, expected {va}");
    }
}

/// code, name, region, level, kind, supervisor.
type Registration<'a> = (&'a str, &'a str, &'a str, L, K, Option<&'a str>);

struct World {
    server: TestServer,
    c: Clients,
    p: Principals,
}

async fn world() -> World {
    let t = tree();
    let mut list: Vec<(String, String, &[gongkai_server::auth::Role])> = vec![
        ("ops".into(), "*".into(), common::serve::ADMIN),
        ("city-review".into(), t.city.clone(), REVIEWER),
        ("a-review".into(), t.a.clone(), REVIEWER),
        ("city-audit".into(), t.city.clone(), AUDITOR),
    ];
    for code in [
        &t.city,
        &t.city_dept,
        &t.a,
        &t.a1,
        &t.a2,
        &t.a_town,
        &t.a_town2,
        &t.b,
        &t.b1,
        &t.b2,
        &t.b_town,
    ] {
        list.push((format!("sub-{code}"), code.clone(), SUBMITTER));
    }
    let refs: Vec<(&str, &str, &[gongkai_server::auth::Role])> = list
        .iter()
        .map(|(n, a, r)| (n.as_str(), a.as_str(), *r))
        .collect();
    let p = Principals::new(&refs);
    // Local rules of county A: its townships report by 2月28日. County B has none.
    let deadlines = Deadlines::parse(&format!(
        "[[township]]\narea = \"{}\"\nmonth = 2\nday = 28\n",
        t.a
    ))
    .unwrap();
    let server = TestServer::start_full(&p.toml, Limits::default(), None, deadlines).await;
    let mut c = server.clients().await;
    let ops = p.token("ops").to_owned();
    let reg: [Registration<'_>; 11] = [
        (
            &t.city,
            "双鸭山市人民政府",
            "230500",
            L::Prefectural,
            K::Government,
            None,
        ),
        (
            &t.city_dept,
            "双鸭山市财政局",
            "230500",
            L::Prefectural,
            K::Department,
            Some(&t.city),
        ),
        (
            &t.a,
            "宝清县人民政府",
            "230523",
            L::County,
            K::Government,
            Some(&t.city),
        ),
        (
            &t.a1,
            "宝清县财政局",
            "230523",
            L::County,
            K::Department,
            Some(&t.a),
        ),
        (
            &t.a2,
            "宝清县教育局",
            "230523",
            L::County,
            K::Department,
            Some(&t.a),
        ),
        (
            &t.a_town,
            "宝清镇人民政府",
            "230523",
            L::Township,
            K::Government,
            Some(&t.a),
        ),
        (
            &t.a_town2,
            "七星泡镇人民政府",
            "230523",
            L::Township,
            K::Government,
            Some(&t.a),
        ),
        (
            &t.b,
            "集贤县人民政府",
            "230521",
            L::County,
            K::Government,
            Some(&t.city),
        ),
        (
            &t.b1,
            "集贤县财政局",
            "230521",
            L::County,
            K::Department,
            Some(&t.b),
        ),
        (
            &t.b2,
            "集贤县教育局",
            "230521",
            L::County,
            K::Department,
            Some(&t.b),
        ),
        (
            &t.b_town,
            "福利镇人民政府",
            "230521",
            L::Township,
            K::Government,
            Some(&t.b),
        ),
    ];
    for (code, name, region, level, kind, sup) in reg {
        c.register(&ops, code, name, region, level, kind, sup)
            .await
            .unwrap();
    }
    World { server, c, p }
}

impl World {
    async fn submit(&mut self, code: &str, report: pb::AnnualReport, tag: &str) -> u32 {
        let name = report_name(code, YEAR);
        let token = self.p.token(&format!("sub-{code}")).to_owned();
        let latest = self
            .c
            .report
            .get_report(authed(
                Some(&token),
                pb::GetReportRequest {
                    name: name.clone(),
                    ..Default::default()
                },
            ))
            .await
            .map_or(0, |r| r.into_inner().revision.unwrap().revision);
        self.c
            .submit(&token, &name, Some(report), latest, tag)
            .await
            .unwrap()
            .revision
    }

    async fn approve(&mut self, reviewer: &str, code: &str, revision: u32, tag: &str) {
        let token = self.p.token(reviewer).to_owned();
        self.c
            .approve(&token, &report_name(code, YEAR), revision, tag)
            .await
            .unwrap();
    }

    async fn summary(
        &mut self,
        who: &str,
        area: &str,
    ) -> Result<pb::GetAreaSummaryResponse, tonic::Status> {
        let token = self.p.token(who).to_owned();
        self.c
            .area
            .get_area_summary(authed(
                Some(&token),
                pb::GetAreaSummaryRequest {
                    area: format!("agencies/{area}"),
                    data_year: YEAR,
                },
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn coverage(&mut self, who: &str, area: &str, as_of: &str) -> pb::GetCoverageResponse {
        let token = self.p.token(who).to_owned();
        let t: prost_types::Timestamp = as_of.parse().unwrap();
        self.c
            .area
            .get_coverage(authed(
                Some(&token),
                pb::GetCoverageRequest {
                    area: format!("agencies/{area}"),
                    data_year: YEAR,
                    as_of: Some(t),
                },
            ))
            .await
            .unwrap()
            .into_inner()
    }
}

fn names_where(
    c: &pb::GetCoverageResponse,
    f: impl Fn(&pb::AgencyCoverage) -> bool,
) -> Vec<String> {
    let mut v: Vec<String> = c
        .agencies
        .iter()
        .filter(|a| f(a))
        .map(|a| a.agency.trim_start_matches("agencies/").to_owned())
        .collect();
    v.sort();
    v
}

fn sorted(v: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| (*s).clone()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn sums_coverage_correction_aggregate_and_export_over_a_three_level_tree() {
    let mut w = world().await;
    let t = tree();
    let r_a1 = varied(&t.a1, 1, "1.5");
    let r_a2 = varied(&t.a2, 2, "0.0012");
    let r_town = varied(&t.a_town, 3, "0");
    let r_b1 = varied(&t.b1, 4, "2.000001");
    for (code, r, tag) in [
        (&t.a1, &r_a1, "a1"),
        (&t.a2, &r_a2, "a2"),
        (&t.a_town, &r_town, "town"),
    ] {
        let rev = w.submit(code, r.clone(), tag).await;
        w.approve("a-review", code, rev, &format!("{tag}-ok")).await;
    }
    let rev = w.submit(&t.b1, r_b1.clone(), "b1").await;
    w.approve("city-review", &t.b1, rev, "b1-ok").await;
    // b2: a draft only; the city department: submitted, not yet approved.
    let b2_token = w.p.token(&format!("sub-{}", t.b2)).to_owned();
    w.c.save(
        &b2_token,
        &report_name(&t.b2, YEAR),
        varied(&t.b2, 9, "9"),
        0,
        "b2-draft",
    )
    .await
    .unwrap();
    w.submit(&t.city_dept, varied(&t.city_dept, 7, "7"), "cd")
        .await;

    // County A: the sum of its two departments and its township, to the cell.
    let a_sum = w.summary("a-review", &t.a).await.unwrap();
    assert_eq!(a_sum.approved_reports, 3);
    assert_eq!(a_sum.not_summed_reports, 0);
    same(
        &expected_cells(&[&r_a1, &r_a2, &r_town]),
        &summary_cells(&a_sum),
    );
    assert!(a_sum.findings.is_empty(), "{:?}", a_sum.findings);
    assert_eq!(a_sum.verdict(), pb::Verdict::Valid);
    assert_eq!(a_sum.compared_revision, "");

    // County A's own area-wide report: the sum, but one more upheld
    // reconsideration (and so one more in its total).
    let mut own = a_sum.sums.clone().unwrap();
    let sample = corrected_report();
    own.metadata = sample.metadata.clone();
    own.metadata.as_mut().unwrap().agency_uscc = t.a.clone();
    own.sections = sample.sections.clone();
    let rec = own
        .reconsideration_litigation
        .as_mut()
        .unwrap()
        .reconsideration
        .as_mut()
        .unwrap();
    rec.upheld += 1;
    rec.total += 1;
    let (upheld, total) = (rec.upheld, rec.total);
    let rev = w.submit(&t.a, own.clone(), "a-own").await;
    w.approve("city-review", &t.a, rev, "a-own-ok").await;
    let a_sum = w.summary("a-review", &t.a).await.unwrap();
    // The approval is the revision after the submission.
    assert_eq!(
        a_sum.compared_revision,
        format!("{}/revisions/{}", report_name(&t.a, YEAR), rev + 1)
    );
    let named: Vec<(&str, &str, &str)> = a_sum
        .aggregate_findings
        .iter()
        .map(|f| {
            (
                f.location.as_ref().unwrap().path.as_str(),
                f.expected.as_str(),
                f.actual.as_str(),
            )
        })
        .collect();
    assert_eq!(
        named,
        vec![
            (
                "t4.reconsideration.upheld",
                &*(upheld - 1).to_string(),
                &*upheld.to_string()
            ),
            (
                "t4.reconsideration.total",
                &*(total - 1).to_string(),
                &*total.to_string()
            ),
        ]
    );
    assert!(
        a_sum
            .aggregate_findings
            .iter()
            .all(|f| f.rule == "aggregate.area-sum" && f.severity() == pb::Severity::Info)
    );

    // The city: everything approved under it, the county's own report included.
    let city_sum = w.summary("city-review", &t.city).await.unwrap();
    assert_eq!(city_sum.approved_reports, 5);
    same(
        &expected_cells(&[&r_a1, &r_a2, &r_town, &own, &r_b1]),
        &summary_cells(&city_sum),
    );
    let fee = |s: &pb::GetAreaSummaryResponse| match s
        .sums
        .as_ref()
        .unwrap()
        .active_disclosure_table
        .as_ref()
        .unwrap()
    {
        pb::annual_report::ActiveDisclosureTable::ActiveDisclosure(t) => {
            t.fees.as_ref().unwrap().wan_yuan.parse::<Money>().unwrap()
        }
        _ => panic!("2021 format"),
    };
    // 1.5 + 0.0012 + 0 + (1.5012, the county's own) + 2.000001
    assert_eq!(fee(&city_sum), "5.002401".parse::<Money>().unwrap());

    // A correction after approval: a new draft and submission change nothing
    // until approved; then the new figures replace the old exactly once.
    let r_a1_fixed = varied(&t.a1, 11, "1.25");
    let rev = w.submit(&t.a1, r_a1_fixed.clone(), "a1-fix").await;
    let before = w.summary("city-review", &t.city).await.unwrap();
    assert_eq!(before.sums, city_sum.sums);
    w.approve("a-review", &t.a1, rev, "a1-fix-ok").await;
    let a_sum = w.summary("a-review", &t.a).await.unwrap();
    assert_eq!(a_sum.approved_reports, 3);
    same(
        &expected_cells(&[&r_a1_fixed, &r_a2, &r_town]),
        &summary_cells(&a_sum),
    );
    let city_sum = w.summary("city-review", &t.city).await.unwrap();
    assert_eq!(city_sum.approved_reports, 5);
    same(
        &expected_cells(&[&r_a1_fixed, &r_a2, &r_town, &own, &r_b1]),
        &summary_cells(&city_sum),
    );
    assert_eq!(fee(&city_sum), "4.752401".parse::<Money>().unwrap());

    // Coverage on 2025-02-15 (China time): departments were due 1月31日,
    // governments 3月31日, county A's townships 2月28日, county B's townships
    // have no deadline configured.
    let cov = w
        .coverage("city-audit", &t.city, "2025-02-15T04:00:00Z")
        .await;
    assert_eq!(cov.agencies.len(), 11);
    assert_eq!(cov.agencies[0].agency, format!("agencies/{}", t.city));
    assert_eq!(
        names_where(&cov, |a| !a.filed),
        sorted(&[&t.city, &t.a_town2, &t.b, &t.b2, &t.b_town])
    );
    assert_eq!(names_where(&cov, |a| a.late), sorted(&[&t.b2]));
    assert_eq!((cov.filed, cov.not_filed, cov.late), (6, 5, 1));
    // Every report here was submitted when the test ran, long after the
    // 2025 deadlines: each filed one was filed late (迟报), with its time.
    assert_eq!(
        names_where(&cov, |a| a.filed_late),
        names_where(&cov, |a| a.filed)
    );
    assert_eq!(cov.filed_late, 6);
    assert!(
        cov.agencies
            .iter()
            .all(|a| a.filed == a.first_submit_time.is_some())
    );
    let by = |c: &pb::GetCoverageResponse, code: &str| {
        c.agencies
            .iter()
            .find(|a| a.agency == format!("agencies/{code}"))
            .unwrap()
            .clone()
    };
    let b2 = by(&cov, &t.b2);
    assert_eq!((b2.state(), b2.deadline.as_str()), (F::Draft, "2025-01-31"));
    assert_eq!(by(&cov, &t.b_town).state(), F::NotStarted);
    assert_eq!(by(&cov, &t.b_town).deadline, "");
    assert_eq!(by(&cov, &t.a_town2).deadline, "2025-02-28");
    assert_eq!(by(&cov, &t.city_dept).state(), F::Submitted);
    // a1's current approved revision is the correction's: submission 1,
    // approval 2, then submission 3, approval 4.
    assert_eq!(
        (by(&cov, &t.a1).state(), by(&cov, &t.a1).approved_revision),
        (F::Approved, 4)
    );
    assert_eq!(by(&cov, &t.city).deadline, "2025-03-31");

    // 2025-03-01 00:00 China time: county A's township is late too.
    let cov = w
        .coverage("city-audit", &t.city, "2025-02-28T16:00:00Z")
        .await;
    assert_eq!(names_where(&cov, |a| a.late), sorted(&[&t.a_town2, &t.b2]));
    // 2025-04-01: the city's and county B's own reports are late as well;
    // county B's township, with no deadline, never is.
    let cov = w
        .coverage("city-audit", &t.city, "2025-04-01T00:00:00Z")
        .await;
    assert_eq!(
        names_where(&cov, |a| a.late),
        sorted(&[&t.city, &t.a_town2, &t.b, &t.b2])
    );

    // The county's office sees its own subtree only.
    let cov = w.coverage("a-review", &t.a, "2025-02-15T04:00:00Z").await;
    assert_eq!(cov.agencies.len(), 5);
    // Its townships keep the deadline set for the county, as in the city's view.
    assert_eq!(by(&cov, &t.a_town2).deadline, "2025-02-28");
    let cov_late = w.coverage("a-review", &t.a, "2025-02-28T16:00:00Z").await;
    assert!(
        by(&cov_late, &t.a_town2).late,
        "{:?}",
        by(&cov_late, &t.a_town2)
    );
    let refused = w.summary("a-review", &t.city).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let refused = w.summary("a-review", &t.b).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // Export: the current approved report of every agency of the city, the
    // corrected one for a1, streamed.
    let token = w.p.token("city-audit").to_owned();
    let mut stream =
        w.c.area
            .export_reports(authed(
                Some(&token),
                pb::ExportReportsRequest {
                    area: format!("agencies/{}", t.city),
                    data_year: YEAR,
                },
            ))
            .await
            .unwrap()
            .into_inner();
    let mut got = Vec::new();
    while let Some(m) = stream.message().await.unwrap() {
        let rev = m.revision.unwrap();
        assert_eq!(rev.state(), pb::ReviewState::Approved);
        got.push((
            m.agency.trim_start_matches("agencies/").to_owned(),
            rev.report.unwrap(),
        ));
    }
    got.sort_by(|x, y| x.0.cmp(&y.0));
    let mut want = vec![
        (t.a.clone(), own.clone()),
        (t.a1.clone(), r_a1_fixed.clone()),
        (t.a2.clone(), r_a2.clone()),
        (t.a_town.clone(), r_town.clone()),
        (t.b1.clone(), r_b1.clone()),
    ];
    want.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(got.len(), want.len());
    for ((ga, gr), (wa, wr)) in got.iter().zip(&want) {
        assert_eq!(ga, wa);
        assert_eq!(
            Report::try_from(gr).unwrap().t3,
            Report::try_from(wr).unwrap().t3,
            "{ga}"
        );
    }

    w.server.stop().await.unwrap();
}
