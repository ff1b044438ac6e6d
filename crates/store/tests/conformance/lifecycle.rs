//! The life of one report through the store: draft → submitted → returned →
//! draft → submitted → approved → correction, with its audit chain.

use crate::store_fixture::*;
use gongkai_proto::v1::{
    Agency, AgencyKind, AgencyLevel, AnnualReport, ReviewComment, ReviewState,
};
use gongkai_store::{Action, Checked, PageRequest, ReportFilter, ReportKey};

conformance!(a_report_through_review_keeps_every_revision_and_verifies,);

async fn a_report_through_review_keeps_every_revision_and_verifies(engine: Engine) {
    let store = open(engine).await;
    let city = "11330700099033995K";
    let dept = "11341702486344515H";
    store
        .register_agency(
            &w_by("r1", "admin"),
            Agency {
                uscc: city.into(),
                display_name: "金华市人民政府".into(),
                level: AgencyLevel::Prefectural.into(),
                kind: AgencyKind::Government.into(),
                ..Agency::default()
            },
        )
        .await
        .unwrap();
    store
        .register_agency(
            &w_by("r2", "admin"),
            Agency {
                uscc: dept.into(),
                display_name: "某局".into(),
                supervisor: format!("agencies/{city}"),
                ..Agency::default()
            },
        )
        .await
        .unwrap();
    let key = ReportKey {
        uscc: dept.into(),
        year: 2024,
    };
    let report = AnnualReport::default();
    let r1 = store
        .save_draft(
            &w_by("d1", "sub"),
            &key,
            0,
            report.clone(),
            Checked::default(),
        )
        .await
        .unwrap();
    assert_eq!((r1.revision, r1.state()), (1, ReviewState::Draft));
    let r2 = store
        .transition(
            &w_by("s1", "sub"),
            &key,
            1,
            Action::Submit,
            Checked::default(),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(r2.state(), ReviewState::Submitted);
    let waiting = store
        .list_reports(
            &ReportFilter {
                area: Some(city.into()),
                state: Some(ReviewState::Submitted),
                ..Default::default()
            },
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(waiting.items.len(), 1);
    let r3 = store
        .transition(
            &w_by("x1", "rev"),
            &key,
            2,
            Action::Return,
            Checked::default(),
            vec![ReviewComment {
                text: "R25 wrong".into(),
                cell: "t3.R25.total".into(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(r3.state(), ReviewState::Returned);
    store
        .save_draft(
            &w_by("d2", "sub"),
            &key,
            3,
            report.clone(),
            Checked::default(),
        )
        .await
        .unwrap();
    store
        .transition(
            &w_by("s2", "sub"),
            &key,
            4,
            Action::Submit,
            Checked::default(),
            vec![],
        )
        .await
        .unwrap();
    let r6 = store
        .transition(
            &w_by("a1", "rev"),
            &key,
            5,
            Action::Approve,
            Checked::default(),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(r6.state(), ReviewState::Approved);
    store
        .save_draft(&w_by("d3", "sub"), &key, 6, report, Checked::default())
        .await
        .unwrap();
    let head = store.head(&key).await.unwrap().unwrap();
    assert_eq!((head.latest_revision, head.approved_revision), (7, 6));
    let revs = store
        .list_revisions(&key, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(revs.items.len(), 7);
    let v = store.verify().await.unwrap();
    assert_eq!(v.broken, None);
    assert_eq!(v.events, 9);
}
