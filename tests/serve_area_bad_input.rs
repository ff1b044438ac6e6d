//! AreaService refuses bad input precisely: a malformed area names the
//! `area` field, a year without a national format names `data_year`, a bad
//! `as_of` names `as_of`; an area that is not registered is NOT_FOUND for a
//! caller whose scope is everything (and PERMISSION_DENIED for a scoped one,
//! as for any agency outside its scope).

mod common;

use common::serve::{AUDITOR, NOWHERE, Principals, REVIEWER, TestServer, authed, bad_fields, city};
use gongkai_proto::v1 as pb;
use tonic::Code;

#[tokio::test]
async fn bad_area_year_and_time_are_named_and_unknown_areas_not_found() {
    let p = Principals::new(&[
        ("ops", "*", common::serve::ADMIN),
        ("inspector", "*", AUDITOR),
        ("city-review", &city(), REVIEWER),
    ]);
    let server = TestServer::start(&p.toml).await;
    let mut c = server.clients().await;
    c.register_tree(p.token("ops"), false).await;
    let inspector = p.token("inspector");

    let summary = |area: &str, year: u32| pb::GetAreaSummaryRequest {
        area: area.to_owned(),
        data_year: year,
    };
    for (area, year, field) in [
        ("agencies/not-a-code", 2024, "area"),
        (city().as_str(), 2024, "area"),
        (&format!("agencies/{}", city()), 2018, "data_year"),
        (&format!("agencies/{}", city()), 0, "data_year"),
    ] {
        let s = c
            .area
            .get_area_summary(authed(Some(inspector), summary(area, year)))
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument, "{area} {year}: {s:?}");
        assert_eq!(bad_fields(&s), [field], "{area} {year}: {s:?}");
    }
    let s = c
        .area
        .get_coverage(authed(
            Some(inspector),
            pb::GetCoverageRequest {
                area: format!("agencies/{}", city()),
                data_year: 2024,
                as_of: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -5,
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), bad_fields(&s)),
        (Code::InvalidArgument, vec!["as_of".to_owned()])
    );

    let s = c
        .area
        .get_area_summary(authed(
            Some(inspector),
            summary(&format!("agencies/{NOWHERE}"), 2024),
        ))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::NotFound, "{s:?}");
    let mut stream = c
        .area
        .export_reports(authed(
            Some(inspector),
            pb::ExportReportsRequest {
                area: format!("agencies/{NOWHERE}"),
                data_year: 2024,
            },
        ))
        .await;
    if let Ok(s) = stream.as_mut() {
        let first = s.get_mut().message().await;
        assert_eq!(first.unwrap_err().code(), Code::NotFound);
    } else {
        assert_eq!(stream.unwrap_err().code(), Code::NotFound);
    }
    let s = c
        .area
        .get_coverage(authed(
            Some(p.token("city-review")),
            pb::GetCoverageRequest {
                area: format!("agencies/{NOWHERE}"),
                data_year: 2024,
                as_of: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::PermissionDenied);
    server.stop().await.unwrap();
}
