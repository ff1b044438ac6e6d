//! The sample data `gongkai serve --seed-sample` puts into an empty store:
//! 宝清县人民政府 (the real published 2024 report, with its real error) under
//! 双鸭山市人民政府, and two departments of the county. The 统一社会信用代码 are
//! made up for the sample (their check characters are right); the region
//! codes are real.

use std::time::SystemTime;

use gongkai_proto::v1::{self as pb, Agency, AgencyKind, AgencyLevel};
use gongkai_store::{ReportKey, Store, StoreError, WriteMeta, WriteOp};

/// The sample report as published.
pub const SAMPLE_REPORT: &[u8] = include_bytes!("../../../testdata/reports/baoqing-county-2024.md");

/// 双鸭山市人民政府 (sample code).
pub const CITY: &str = "11230500012345678T";
/// 宝清县人民政府 (sample code).
pub const COUNTY: &str = "112305230123456785";
/// 宝清县财政局 (sample code).
pub const FINANCE: &str = "112305230123456860";
/// 宝清县教育局 (sample code).
pub const EDUCATION: &str = "11230523012345694T";

fn agency(
    uscc: &str,
    name: &str,
    region: &str,
    level: AgencyLevel,
    kind: AgencyKind,
    supervisor: &str,
) -> Agency {
    Agency {
        uscc: uscc.into(),
        display_name: name.into(),
        region_code: region.into(),
        level: level.into(),
        kind: kind.into(),
        supervisor: if supervisor.is_empty() {
            String::new()
        } else {
            format!("agencies/{supervisor}")
        },
        ..Agency::default()
    }
}

async fn register(store: &Store, w: WriteMeta, agency: Agency) -> Result<(), StoreError> {
    store.write(w, WriteOp::RegisterAgency { agency }).await?;
    Ok(())
}

/// Seeds an empty store; a store that holds any agency is left alone.
/// Returns whether it seeded.
pub async fn seed(store: &Store) -> Result<bool, StoreError> {
    let any = store
        .list_agencies(&gongkai_store::PageRequest {
            size: 1,
            cursor: String::new(),
        })
        .await?;
    if !any.items.is_empty() {
        return Ok(false);
    }
    let w = |id: &str| WriteMeta {
        request_id: format!("seed/{id}"),
        principal: "seed".into(),
        time: SystemTime::now(),
    };
    use AgencyKind::{Department, Government};
    use AgencyLevel::{County, Prefectural};
    register(
        store,
        w("city"),
        agency(
            CITY,
            "双鸭山市人民政府",
            "230500",
            Prefectural,
            Government,
            "",
        ),
    )
    .await?;
    register(
        store,
        w("county"),
        agency(COUNTY, "宝清县人民政府", "230523", County, Government, CITY),
    )
    .await?;
    register(
        store,
        w("finance"),
        agency(
            FINANCE,
            "宝清县财政局",
            "230523",
            County,
            Department,
            COUNTY,
        ),
    )
    .await?;
    register(
        store,
        w("education"),
        agency(
            EDUCATION,
            "宝清县教育局",
            "230523",
            County,
            Department,
            COUNTY,
        ),
    )
    .await?;
    let imported = gongkai_document::import(SAMPLE_REPORT)
        .map_err(|e| StoreError::InvalidArgument(e.to_string()))?;
    let mut findings = imported.findings;
    findings.extend(gongkai_domain::check_alone(&imported.report));
    let key = ReportKey {
        uscc: COUNTY.into(),
        year: 2024,
    };
    let draft = WriteOp::SaveDraft {
        key,
        expected: 0,
        report: pb::AnnualReport::from(&imported.report),
        checked: gongkai_store::Checked {
            findings: findings.iter().map(pb::Finding::from).collect(),
            ruleset_version: gongkai_domain::RULESET_VERSION.into(),
        },
    };
    store.write(w("report"), draft).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_codes_are_valid() {
        for code in [CITY, COUNTY, FINANCE, EDUCATION] {
            assert_eq!(gongkai_domain::ids::validate_uscc(code), Ok(()), "{code}");
        }
    }
}
