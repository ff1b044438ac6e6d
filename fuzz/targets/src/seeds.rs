//! The checked-in seed corpora (`fuzz/seeds/<target>/`), made from the
//! repository's fixtures by `fuzz_stable seeds`: the sample report in the
//! encodings testdata/ lacks, on the wire, as every value a real store
//! writes for it, and in a request of every RPC. The `document` target's
//! main seeds are testdata/reports itself.

use std::{
    io,
    path::{Path, PathBuf},
    time::SystemTime,
};

use gongkai_domain::Report;
use gongkai_proto::v1::{self as pb, render_report_request::Source};
use gongkai_server::sample::{CITY, COUNTY, FINANCE, SAMPLE_REPORT};
use gongkai_store::{
    Action, Checked, ReportKey, Store, StoreOptions, WriteMeta, WriteOp, fuzzing::backup_entries,
};
use prost::Message;

/// Writes every target's seeds under `repo`/fuzz/seeds; returns the files.
pub fn write_all(repo: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (target, seeds) in [
        ("document", document(repo)?),
        ("check", check(repo)?),
        ("store_values", store_values()?),
        ("requests", requests(repo)?),
    ] {
        let dir = repo.join("fuzz/seeds").join(target);
        std::fs::create_dir_all(&dir)?;
        for (name, bytes) in seeds {
            let path = dir.join(name);
            std::fs::write(&path, bytes)?;
            written.push(path);
        }
    }
    Ok(written)
}

type Seeds = Vec<(String, Vec<u8>)>;

fn read(repo: &Path, path: &str) -> io::Result<Vec<u8>> {
    std::fs::read(repo.join(path))
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

fn imported(repo: &Path, path: &str) -> io::Result<Report> {
    gongkai_document::import(&read(repo, path)?)
        .map(|i| i.report)
        .map_err(other)
}

/// The encodings the layouts in testdata/ are not written in.
fn document(repo: &Path) -> io::Result<Seeds> {
    let md =
        String::from_utf8(read(repo, "testdata/reports/baoqing-county-2024.md")?).map_err(other)?;
    let cells = String::from_utf8(read(
        repo,
        "testdata/reports/layouts/baoqing-county-2024.cells.txt",
    )?)
    .map_err(other)?;
    let le: Vec<u8> = md.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = md.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let (gb, _, _) = encoding_rs::GB18030.encode(&cells);
    Ok(vec![
        ("utf16le-bom.md".into(), [&[0xff, 0xfe][..], &le].concat()),
        ("utf16be-bom.md".into(), [&[0xfe, 0xff][..], &be].concat()),
        ("gb18030.cells.txt".into(), gb.into_owned()),
    ])
}

/// Reports on the wire (modes 1 and 2) and built from bytes (mode 0).
fn check(repo: &Path) -> io::Result<Seeds> {
    let sample = imported(repo, "testdata/reports/baoqing-county-2024.md")?;
    let trial = imported(
        repo,
        "testdata/reports/layouts/baoqing-county-2020-trial.md",
    )?;
    let wire = |r: &Report| pb::AnnualReport::from(r).encode_to_vec();
    let mut last_year = sample.clone();
    last_year.metadata.data_year = 2023;
    let previous = wire(&last_year);
    let len = u16::try_from(previous.len()).map_err(other)?;
    // Deterministic bytes for the built reports.
    let mut built = Vec::new();
    let mut block = [0u8; 32];
    while built.len() < 4096 {
        block = sha2::Digest::finalize(sha2::Digest::chain_update(
            <sha2::Sha256 as sha2::Digest>::new(),
            block,
        ))
        .into();
        built.extend_from_slice(&block);
    }
    Ok(vec![
        ("wire-2024".into(), [&[1][..], &wire(&sample)].concat()),
        ("wire-2020-trial".into(), [&[1][..], &wire(&trial)].concat()),
        (
            "wire-with-previous".into(),
            [&[2][..], &len.to_be_bytes(), &previous, &wire(&sample)].concat(),
        ),
        ("built-zeros".into(), vec![0; 512]),
        ("built-bytes".into(), [&[0][..], &built].concat()),
    ])
}

/// A store at `path` holding the sample data (`gongkai serve
/// --seed-sample`: agencies, the county's draft) and a department's report
/// submitted and approved, so that every tree holds something.
pub fn sample_store(path: &Path) -> io::Result<Store> {
    let store = Store::open_sled(path, &StoreOptions::default()).map_err(other)?;
    // The store is async; the fuzz harness calls this outside any runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        gongkai_server::sample::seed(&store).await.map_err(other)?;
        let w = |id: &str| WriteMeta {
            request_id: id.into(),
            principal: "seeds".into(),
            time: SystemTime::now(),
        };
        let key = ReportKey {
            uscc: FINANCE.into(),
            year: 2024,
        };
        let report = gongkai_document::import(SAMPLE_REPORT)
            .map_err(other)?
            .report;
        let mut report = pb::AnnualReport::from(&report);
        if let Some(m) = report.metadata.as_mut() {
            m.agency_uscc = FINANCE.into();
        }
        let submit = WriteOp::SaveAndSubmit {
            key: key.clone(),
            expected: 0,
            report,
            checked: Checked::default(),
        };
        store.write(w("submit"), submit).await.map_err(other)?;
        let approve = WriteOp::Review {
            key,
            expected: 1,
            action: Action::Approve,
            checked: Checked::default(),
            comments: Vec::new(),
        };
        store.write(w("approve"), approve).await.map_err(other)?;
        Ok::<_, io::Error>(())
    })?;
    Ok(store)
}

/// Every value a real store writes for the sample data and the store's
/// backup file.
fn store_values() -> io::Result<Seeds> {
    let dir = tempfile::tempdir()?;
    let store = sample_store(&dir.path().join("data"))?;
    let backup = dir.path().join("sample.backup");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(store.backup(&backup))
        .map_err(other)?;
    drop(store);
    let file = std::fs::read(&backup)?;
    let mut seeds = vec![(
        "backup".to_owned(),
        crate::store_values::backup_input(&file),
    )];
    let mut per_tree: std::collections::BTreeMap<String, usize> = Default::default();
    for (tree, key, value) in backup_entries(&file).map_err(other)? {
        let n = per_tree.entry(tree.clone()).or_default();
        *n = n.saturating_add(1);
        // A few of each: the events of the seed are alike.
        if *n > 2 {
            continue;
        }
        if let Some(input) = crate::store_values::input(&tree, &key, &value) {
            seeds.push((format!("{tree}-{n}"), input));
        }
    }
    Ok(seeds)
}

/// A request of every RPC, as the everywhere caller (0) and, for the
/// admin-only ones, as the scoped admin (1); reads of the sample store as
/// its auditor (3).
fn requests(repo: &Path) -> io::Result<Seeds> {
    use crate::requests::input;
    let sample = imported(repo, "testdata/reports/baoqing-county-2024.md")?;
    let report = pb::AnnualReport::from(&sample);
    let name = format!("agencies/{COUNTY}/reports/2024");
    let agency = format!("agencies/{COUNTY}");
    let city = format!("agencies/{CITY}");
    let time = |seconds| prost_types::Timestamp { seconds, nanos: 0 };
    let mut seeds = Vec::new();
    let mut add = |rpc: &str, caller: u8, message: Vec<u8>| {
        if let Some(i) = input(rpc, caller, &message) {
            seeds.push((format!("{rpc}-{caller}"), i));
        }
    };
    add(
        "ValidateReport",
        0,
        pb::ValidateReportRequest {
            report: Some(report.clone()),
            name: name.clone(),
        }
        .encode_to_vec(),
    );
    add(
        "SaveDraft",
        0,
        pb::SaveDraftRequest {
            name: name.clone(),
            report: Some(report.clone()),
            expected_revision: 0,
            request_id: "seed-1".into(),
        }
        .encode_to_vec(),
    );
    add(
        "SubmitReport",
        0,
        pb::SubmitReportRequest {
            name: name.clone(),
            report: Some(report.clone()),
            expected_revision: 1,
            request_id: "seed-2".into(),
        }
        .encode_to_vec(),
    );
    add(
        "GetReport",
        0,
        pb::GetReportRequest {
            name: format!("{name}/revisions/2"),
            view: pb::ReportView::LatestApproved.into(),
        }
        .encode_to_vec(),
    );
    add(
        "ListReports",
        0,
        pb::ListReportsRequest {
            data_year: 2024,
            state: pb::ReviewState::Submitted.into(),
            agency: agency.clone(),
            area: city.clone(),
            page_size: 10,
            page_token: "reports:00".into(),
        }
        .encode_to_vec(),
    );
    add(
        "ListRevisions",
        0,
        pb::ListRevisionsRequest {
            name: name.clone(),
            page_size: 5,
            page_token: String::new(),
        }
        .encode_to_vec(),
    );
    add(
        "RegisterAgency",
        1,
        pb::RegisterAgencyRequest {
            agency: Some(pb::Agency {
                uscc: FINANCE.into(),
                display_name: "宝清县财政局".into(),
                region_code: "230523".into(),
                level: pb::AgencyLevel::County.into(),
                kind: pb::AgencyKind::Department.into(),
                supervisor: agency.clone(),
                ..pb::Agency::default()
            }),
            request_id: "seed-3".into(),
        }
        .encode_to_vec(),
    );
    add(
        "GetAgency",
        0,
        pb::GetAgencyRequest {
            name: agency.clone(),
        }
        .encode_to_vec(),
    );
    add(
        "ListAgencies",
        0,
        pb::ListAgenciesRequest {
            page_size: 3,
            page_token: "agencies:3131".into(),
        }
        .encode_to_vec(),
    );
    add(
        "UpdateAgencySupervisor",
        1,
        pb::UpdateAgencySupervisorRequest {
            name: agency.clone(),
            supervisor: city.clone(),
            expected_version: 1,
            request_id: "seed-4".into(),
        }
        .encode_to_vec(),
    );
    // The empty store's caller and the sample store's auditor (3).
    for caller in [0, 3] {
        add(
            "GetAreaSummary",
            caller,
            pb::GetAreaSummaryRequest {
                area: city.clone(),
                data_year: 2024,
            }
            .encode_to_vec(),
        );
    }
    add(
        "GetCoverage",
        0,
        pb::GetCoverageRequest {
            area: city.clone(),
            data_year: 2024,
            as_of: Some(time(1_740_000_000)),
        }
        .encode_to_vec(),
    );
    // The empty store's caller and the sample store's auditor (3).
    for caller in [0, 3] {
        add(
            "ExportReports",
            caller,
            pb::ExportReportsRequest {
                area: city.clone(),
                data_year: 2024,
            }
            .encode_to_vec(),
        );
    }
    add(
        "ListAuditEvents",
        0,
        pb::ListAuditEventsRequest {
            agency: agency.clone(),
            action: pb::AuditAction::ReportApproved.into(),
            start_time: Some(time(1_700_000_000)),
            end_time: Some(time(1_800_000_000)),
            page_size: 20,
            page_token: String::new(),
        }
        .encode_to_vec(),
    );
    add(
        "ImportDocument",
        0,
        pb::ImportDocumentRequest {
            content: SAMPLE_REPORT.to_vec(),
            hints: Some(pb::ImportHints {
                agency_uscc: COUNTY.into(),
                agency_name: "宝清县人民政府".into(),
                data_year: 2024,
                region_code: "230523".into(),
                agency_level: pb::AgencyLevel::County.into(),
            }),
        }
        .encode_to_vec(),
    );
    add(
        "RenderReport",
        0,
        pb::RenderReportRequest {
            target: pb::RenderTarget::Html.into(),
            view: 0,
            source: Some(Source::Report(report.clone())),
        }
        .encode_to_vec(),
    );
    // By name: with an unknown token (2), and as the sample store's auditor (3).
    let finance = format!("agencies/{FINANCE}/reports/2024");
    for (caller, stored) in [(2, &name), (3, &finance)] {
        add(
            "RenderReport",
            caller,
            pb::RenderReportRequest {
                target: pb::RenderTarget::Markdown.into(),
                view: pb::ReportView::LatestApproved.into(),
                source: Some(Source::Name(stored.clone())),
            }
            .encode_to_vec(),
        );
    }
    add(
        "ApproveReport",
        0,
        pb::ApproveReportRequest {
            name: name.clone(),
            expected_revision: 2,
            request_id: "seed-5".into(),
        }
        .encode_to_vec(),
    );
    add(
        "ReturnReport",
        0,
        pb::ReturnReportRequest {
            name: name.clone(),
            expected_revision: 2,
            request_id: "seed-6".into(),
            comments: vec![pb::ReviewComment {
                text: "第25行合计有误".into(),
                cell: "t3.R25.natural_person".into(),
            }],
        }
        .encode_to_vec(),
    );
    add(
        "ListPendingReviews",
        0,
        pb::ListPendingReviewsRequest {
            data_year: 2024,
            page_size: 10,
            page_token: String::new(),
        }
        .encode_to_vec(),
    );
    // Reads of the store holding the sample data, as its auditor (3).
    add(
        "GetReport",
        3,
        pb::GetReportRequest {
            name: finance.clone(),
            view: pb::ReportView::LatestApproved.into(),
        }
        .encode_to_vec(),
    );
    add(
        "ListRevisions",
        3,
        pb::ListRevisionsRequest {
            name: finance.clone(),
            page_size: 1,
            page_token: String::new(),
        }
        .encode_to_vec(),
    );
    add(
        "ListReports",
        3,
        pb::ListReportsRequest {
            data_year: 2024,
            area: city.clone(),
            ..pb::ListReportsRequest::default()
        }
        .encode_to_vec(),
    );
    add(
        "GetCoverage",
        3,
        pb::GetCoverageRequest {
            area: agency.clone(),
            data_year: 2024,
            as_of: None,
        }
        .encode_to_vec(),
    );
    add(
        "ListAuditEvents",
        3,
        pb::ListAuditEventsRequest {
            page_size: 4,
            ..pb::ListAuditEventsRequest::default()
        }
        .encode_to_vec(),
    );
    add(
        "BackupStore",
        1,
        pb::BackupStoreRequest {
            file_name: "before-upgrade.backup".into(),
        }
        .encode_to_vec(),
    );
    Ok(seeds)
}
