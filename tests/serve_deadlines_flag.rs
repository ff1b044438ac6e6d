//! `gongkai serve --deadlines FILE`: the 乡镇/街道 deadlines that local rules
//! set per area reach GetCoverage through the real binary, and a file with a
//! mistake stops the server before it listens, naming the entry and field.

mod common;

use common::serve::{agency_name, authed, city, county, gongkai_command, spawn_serve, uscc};
use gongkai_proto::v1 as pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn township_deadlines_from_the_file_reach_coverage_and_a_bad_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[township]]\narea = \"not-a-code\"\nmonth = 2\nday = 28\n",
    )
    .unwrap();
    let out = gongkai_command(
        &[
            "serve",
            "--local-trial",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().unwrap(),
            "--deadlines",
            bad.to_str().unwrap(),
        ],
        &[],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("township[0].area 'not-a-code'"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));

    let good = dir.path().join("deadlines.toml");
    std::fs::write(
        &good,
        format!(
            "[[township]]\narea = \"{}\"\nmonth = 2\nday = 28\n",
            county()
        ),
    )
    .unwrap();
    let mut server = spawn_serve(
        &[
            "serve",
            "--local-trial",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().unwrap(),
        ],
        &[("GONGKAI_DEADLINES", good.to_str().unwrap())],
    );
    let token = server.trial_token();
    let mut c = server.clients().await;
    c.register_tree(&token, false).await;
    let town = uscc("11230523MB0000009");
    c.register(
        &token,
        &town,
        "宝清镇人民政府",
        "230523",
        pb::AgencyLevel::Township,
        pb::AgencyKind::Government,
        Some(&county()),
    )
    .await
    .unwrap();
    let coverage = |as_of: &str| pb::GetCoverageRequest {
        area: agency_name(&city()),
        data_year: 2024,
        as_of: Some(as_of.parse().unwrap()),
    };
    let cov = c
        .area
        .get_coverage(authed(Some(&token), coverage("2025-02-28T15:59:59Z")))
        .await
        .unwrap()
        .into_inner();
    let t = cov
        .agencies
        .iter()
        .find(|a| a.agency == agency_name(&town))
        .unwrap();
    assert_eq!((t.deadline.as_str(), t.late), ("2025-02-28", false));
    assert!(t.deadline_rule.contains(&county()), "{}", t.deadline_rule);
    let cov = c
        .area
        .get_coverage(authed(Some(&token), coverage("2025-02-28T16:00:00Z")))
        .await
        .unwrap()
        .into_inner();
    let t = cov
        .agencies
        .iter()
        .find(|a| a.agency == agency_name(&town))
        .unwrap();
    assert!(t.late);
    server.sigterm();
    assert!(server.wait(std::time::Duration::from_secs(30)).success());
}
