//! The life of one report through the store: draft → submitted → returned →
//! draft → submitted → approved → correction, with its audit chain.

use std::time::SystemTime;

use gongkai_proto::v1::{
    Agency, AgencyKind, AgencyLevel, AnnualReport, ReviewComment, ReviewState,
};
use gongkai_store::{
    Action, Checked, PageRequest, ReportFilter, ReportKey, ReportStore, SledStore, StoreOptions,
    WriteMeta,
};

fn w(id: &str, who: &str) -> WriteMeta {
    WriteMeta {
        request_id: id.into(),
        principal: who.into(),
        time: SystemTime::now(),
    }
}

#[test]
fn a_report_through_review_keeps_every_revision_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path().join("db"), &StoreOptions::default()).unwrap();
    let city = "11330700099033995K";
    let dept = "11341702486344515H";
    store
        .register_agency(
            &w("r1", "admin"),
            Agency {
                uscc: city.into(),
                display_name: "金华市人民政府".into(),
                level: AgencyLevel::Prefectural.into(),
                kind: AgencyKind::Government.into(),
                ..Agency::default()
            },
        )
        .unwrap();
    store
        .register_agency(
            &w("r2", "admin"),
            Agency {
                uscc: dept.into(),
                display_name: "某局".into(),
                supervisor: format!("agencies/{city}"),
                ..Agency::default()
            },
        )
        .unwrap();
    let key = ReportKey {
        uscc: dept.into(),
        year: 2024,
    };
    let report = AnnualReport::default();
    let r1 = store
        .save_draft(&w("d1", "sub"), &key, 0, report.clone(), Checked::default())
        .unwrap();
    assert_eq!((r1.revision, r1.state()), (1, ReviewState::Draft));
    let r2 = store
        .transition(
            &w("s1", "sub"),
            &key,
            1,
            Action::Submit,
            Checked::default(),
            vec![],
        )
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
        .unwrap();
    assert_eq!(waiting.items.len(), 1);
    let r3 = store
        .transition(
            &w("x1", "rev"),
            &key,
            2,
            Action::Return,
            Checked::default(),
            vec![ReviewComment {
                text: "R25 wrong".into(),
                cell: "t3.R25.total".into(),
            }],
        )
        .unwrap();
    assert_eq!(r3.state(), ReviewState::Returned);
    store
        .save_draft(&w("d2", "sub"), &key, 3, report.clone(), Checked::default())
        .unwrap();
    store
        .transition(
            &w("s2", "sub"),
            &key,
            4,
            Action::Submit,
            Checked::default(),
            vec![],
        )
        .unwrap();
    let r6 = store
        .transition(
            &w("a1", "rev"),
            &key,
            5,
            Action::Approve,
            Checked::default(),
            vec![],
        )
        .unwrap();
    assert_eq!(r6.state(), ReviewState::Approved);
    store
        .save_draft(&w("d3", "sub"), &key, 6, report, Checked::default())
        .unwrap();
    let head = store.head(&key).unwrap().unwrap();
    assert_eq!((head.latest_revision, head.approved_revision), (7, 6));
    let revs = store.list_revisions(&key, &PageRequest::default()).unwrap();
    assert_eq!(revs.items.len(), 7);
    let v = store.verify().unwrap();
    assert_eq!(v.broken, None);
    assert_eq!(v.events, 9);
}
