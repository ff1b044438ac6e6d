//! Every walk of the supervision tree is bounded (issue 13, point 4): a
//! cycle planted in the `children` edges or in the supervisor links is a
//! `Corrupt` error (DATA_LOSS in the server) naming the agencies, not a walk
//! that grows until memory runs out — `coverage` is what GetCoverage calls,
//! `ancestors` / `is_within` what every scoped call's access check and every
//! approval walk. And no write makes the tree deeper than the walks go.

use crate::store_fixture::*;
use gongkai_proto::v1::Agency;
use gongkai_store::{Checked, ReportKey, StoreError};
use prost::Message;

conformance!(
    a_cycle_of_children_edges_is_corruption_naming_the_agencies,
    a_cycle_of_supervisors_is_corruption_naming_the_chain,
    the_supervision_tree_grows_no_deeper_than_its_walks_go,
);

fn corrupt(e: StoreError) -> (&'static str, String) {
    match e {
        StoreError::Corrupt { tree, reason, .. } => (tree, reason),
        other => panic!("expected a corrupt store, got {other:?}"),
    }
}

async fn a_cycle_of_children_edges_is_corruption_naming_the_agencies(engine: Engine) {
    let mut store = open(engine).await;
    let h = build_history(&store).await;
    let [province, city, county, _] = [1, 2, 3, 4].map(uscc);
    assert_eq!(
        h.agencies[..3],
        [province.clone(), city.clone(), county.clone()]
    );
    // An edge back up: county → city, where the city is above the county.
    let edge = [county.as_bytes(), city.as_bytes()].concat();
    store.raw("children", move |t| t.insert(edge, b"")).await;
    store.reopen().await;
    // GetCoverage's walk, from the top and from inside the cycle.
    for area in [&province, &city] {
        let (tree, reason) = corrupt(store.coverage(area, 2024).await.unwrap_err());
        assert_eq!(tree, "children");
        assert!(
            reason.contains(&format!("agencies/{county} → agencies/{city}"))
                && reason.contains("cycle"),
            "{reason}"
        );
    }
    // Moving the city walks its subtree too.
    let (tree, _) = corrupt(
        store
            .set_supervisor(&meta("move-city"), &city, None, 1)
            .await
            .unwrap_err(),
    );
    assert_eq!(tree, "children");
    // verify names the edge.
    let broken = store
        .verify()
        .await
        .unwrap()
        .broken
        .expect("the planted edge");
    assert_eq!(broken.tree, "children", "{broken}");
    assert_eq!(broken.key, format!("{county} · {city}"), "{broken}");
    assert_eq!(broken.subject, format!("agencies/{city}"), "{broken}");
}

async fn a_cycle_of_supervisors_is_corruption_naming_the_chain(engine: Engine) {
    let mut store = open(engine).await;
    build_history(&store).await;
    let [province, city, county, _] = [1, 2, 3, 4].map(uscc);
    // The province's current record names the county as its supervisor:
    // county → city → province → county.
    let (p, c) = (province.clone(), county.clone());
    store
        .raw("agencies", move |t| {
            let v = t.get(p.as_bytes()).unwrap();
            let mut a = Agency::decode(&v[1..]).unwrap();
            a.supervisor = format!("agencies/{c}");
            let mut bytes = vec![1];
            a.encode(&mut bytes).unwrap();
            t.insert(p.as_bytes(), bytes)
        })
        .await;
    store.reopen().await;
    let chain =
        format!("agencies/{county} → agencies/{city} → agencies/{province} → agencies/{county}");
    let (tree, reason) = corrupt(store.ancestors(&county).await.unwrap_err());
    assert_eq!(tree, "agencies");
    assert!(reason.contains(&chain), "{reason}");
    // The access check's walk.
    let (_, reason) = corrupt(store.is_within(&uscc(77), &county).await.unwrap_err());
    assert!(reason.contains("comes back on itself"), "{reason}");
    // A write of a report walks the ancestors for its area indexes (an
    // approval for its sums too).
    let key = ReportKey {
        uscc: county.clone(),
        year: 2022,
    };
    let e = store
        .save_and_submit(&meta("c1"), &key, 0, report("x"), Checked::default())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert_eq!(store.head(&key).await.unwrap(), None, "nothing written");
    let broken = store
        .verify()
        .await
        .unwrap()
        .broken
        .expect("the edited record");
    assert_eq!(broken.tree, "agencies", "{broken}");
    assert_eq!(broken.subject, format!("agencies/{province}"), "{broken}");
}

async fn the_supervision_tree_grows_no_deeper_than_its_walks_go(engine: Engine) {
    let store = open(engine).await;
    // A chain of 64 levels: the deepest the walks go.
    let codes: Vec<String> = (1..=66).map(uscc).collect();
    for (i, code) in codes.iter().take(64).enumerate() {
        let sup = i.checked_sub(1).map(|p| codes[p].as_str());
        store
            .register_agency(&meta(&format!("r{i}")), agency(code, "机关", sup))
            .await
            .unwrap_or_else(|e| panic!("level {}: {e}", i + 1));
    }
    assert_eq!(store.ancestors(&codes[63]).await.unwrap().len(), 63);
    // A 65th level is refused, naming the supervisor.
    let e = store
        .register_agency(&meta("r64"), agency(&codes[64], "机关", Some(&codes[63])))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::InvalidField { field: "supervisor", reason } if reason.contains("65 levels") && reason.contains(&codes[63])),
        "{e}"
    );
    // A root with one agency under it moved under level 63 would reach 65.
    store
        .register_agency(&meta("a"), agency(&codes[64], "机关", None))
        .await
        .unwrap();
    store
        .register_agency(&meta("b"), agency(&codes[65], "机关", Some(&codes[64])))
        .await
        .unwrap();
    let e = store
        .set_supervisor(&meta("m1"), &codes[64], Some(&codes[62]), 1)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            StoreError::InvalidField {
                field: "supervisor",
                ..
            }
        ),
        "{e}"
    );
    // Its leaf alone fits under level 63, as level 64.
    store
        .set_supervisor(&meta("m2"), &codes[65], Some(&codes[62]), 1)
        .await
        .unwrap();
    assert_eq!(store.ancestors(&codes[65]).await.unwrap().len(), 63);
    assert_eq!(store.coverage(&codes[0], 2024).await.unwrap().len(), 65);
    assert_eq!(store.verify().await.unwrap().broken, None);
}
