//! The area indexes: a listing by area (the subtree under an agency) holds
//! exactly the subtree's reports, also after `set_supervisor` moves a part of
//! the tree, with the by-state and by-year indexes untouched; a move that
//! would make a cycle, or names a stale version, writes nothing.

use std::collections::BTreeMap;

use crate::store_fixture::*;
use gongkai_proto::v1::ReviewState;
use gongkai_store::{Action, Checked, PageRequest, ReportFilter, ReportKey, StoreError};

conformance!(
    an_area_lists_exactly_its_subtree,
    moving_a_county_moves_its_reports_between_areas,
    a_move_under_its_own_subtree_is_refused_and_writes_nothing,
    a_move_naming_a_stale_version_is_a_conflict,
    a_move_to_or_of_an_agency_that_does_not_exist_is_not_found,
    ancestors_are_nearest_first_without_the_agency,
    an_agency_filter_respects_the_area,
    the_cycle_check_follows_earlier_moves,
);

const YEARS: [u32; 2] = [2023, 2024];
const STATES: [ReviewState; 4] = [
    ReviewState::Draft,
    ReviewState::Submitted,
    ReviewState::Approved,
    ReviewState::Returned,
];

/// The store and the tree and reports it should hold.
struct World {
    store: Fixture,
    parent: BTreeMap<String, Option<String>>,
    version: BTreeMap<String, u32>,
    reports: BTreeMap<ReportKey, (u32, ReviewState)>,
    ids: u32,
}

impl World {
    fn within(&self, ancestor: &str, code: &str) -> bool {
        let mut at = Some(code.to_owned());
        while let Some(a) = at {
            if a == ancestor {
                return true;
            }
            at = self.parent[&a].clone();
        }
        false
    }

    /// The model's ancestors of `code`, nearest first (not itself).
    fn ancestors(&self, code: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = self.parent[code].clone();
        while let Some(a) = at {
            at = self.parent[&a].clone();
            out.push(a);
        }
        out
    }

    fn id(&mut self) -> String {
        self.ids += 1;
        format!("req-{}", self.ids)
    }

    async fn add(&mut self, code: &str, sup: Option<&str>) {
        register(&self.store, code, sup).await;
        self.parent.insert(code.to_owned(), sup.map(str::to_owned));
        self.version.insert(code.to_owned(), 1);
    }

    /// Saves a draft of the report (its first or a new one).
    async fn draft(&mut self, key: &ReportKey) {
        let latest = self.reports.get(key).map_or(0, |r| r.0);
        let id = self.id();
        let r = self
            .store
            .save_draft(&w(&id), key, latest, content(&id), Checked::default())
            .await
            .unwrap();
        self.reports.insert(key.clone(), (r.revision, r.state()));
    }

    async fn review(&mut self, key: &ReportKey, action: Action) {
        let latest = self.reports[key].0;
        let id = self.id();
        let r = self
            .store
            .transition(&w(&id), key, latest, action, Checked::default(), vec![])
            .await
            .unwrap();
        self.reports.insert(key.clone(), (r.revision, r.state()));
    }

    /// Drives a new report to `state`.
    async fn report(&mut self, code: &str, year: u32, state: ReviewState) {
        let key = ReportKey {
            uscc: code.to_owned(),
            year,
        };
        self.draft(&key).await;
        match state {
            ReviewState::Draft => {}
            ReviewState::Submitted => self.review(&key, Action::Submit).await,
            ReviewState::Approved => {
                self.review(&key, Action::Submit).await;
                self.review(&key, Action::Approve).await;
            }
            ReviewState::Returned => {
                self.review(&key, Action::Submit).await;
                self.review(&key, Action::Return).await;
            }
            ReviewState::Unspecified => unreachable!(),
        }
    }

    async fn set_supervisor(&mut self, code: &str, sup: Option<&str>) {
        let id = self.id();
        let a = self
            .store
            .set_supervisor(&w(&id), code, sup, self.version[code])
            .await
            .unwrap_or_else(|e| panic!("move {code} under {sup:?}: {e}"));
        assert_eq!(a.version, self.version[code] + 1);
        assert_eq!(
            a.supervisor,
            sup.map(|s| format!("agencies/{s}")).unwrap_or_default()
        );
        self.version.insert(code.to_owned(), a.version);
        self.parent.insert(code.to_owned(), sup.map(str::to_owned));
    }

    async fn listed(&self, filter: ReportFilter) -> Vec<(String, u32, ReviewState)> {
        let mut v: Vec<_> = all_pages(5, async |p| self.store.list_reports(&filter, p).await)
            .await
            .into_iter()
            .map(|s| (s.key.uscc, s.key.year, s.head.latest_state()))
            .collect();
        v.sort();
        v
    }

    fn expected(
        &self,
        keep: impl Fn(&ReportKey, ReviewState) -> bool,
    ) -> Vec<(String, u32, ReviewState)> {
        let mut v: Vec<_> = self
            .reports
            .iter()
            .filter(|(k, (_, s))| keep(k, *s))
            .map(|(k, (_, s))| (k.uscc.clone(), k.year, *s))
            .collect();
        v.sort();
        v
    }

    /// Every index listing and tree query against the model.
    async fn check(&self, when: &str) {
        let codes: Vec<&String> = self.parent.keys().collect();
        for a in &codes {
            let stored = self.store.agency(a).await.unwrap().unwrap();
            assert_eq!(
                stored.supervisor,
                self.parent[*a]
                    .as_ref()
                    .map(|s| format!("agencies/{s}"))
                    .unwrap_or_default(),
                "{when}: supervisor of {a}"
            );
            assert_eq!(stored.version, self.version[*a], "{when}: version of {a}");
            assert_eq!(
                self.store.ancestors(a).await.unwrap(),
                self.ancestors(a),
                "{when}: ancestors of {a}"
            );
            for b in &codes {
                assert_eq!(
                    self.store.is_within(a, b).await.unwrap(),
                    self.within(a, b),
                    "{when}: is_within({a}, {b})"
                );
            }
            let states = std::iter::once(None).chain(STATES.map(Some));
            for state in states {
                for year in [None, Some(2023), Some(2024)] {
                    let filter = ReportFilter {
                        area: Some((*a).clone()),
                        state,
                        year,
                        agency: None,
                    };
                    assert_eq!(
                        self.listed(filter.clone()).await,
                        self.expected(|k, s| self.within(a, &k.uscc)
                            && state.is_none_or(|x| x == s)
                            && year.is_none_or(|y| y == k.year)),
                        "{when}: {filter:?}"
                    );
                }
            }
        }
        for state in STATES {
            assert_eq!(
                self.listed(ReportFilter {
                    state: Some(state),
                    ..Default::default()
                })
                .await,
                self.expected(|_, s| s == state),
                "{when}: by state {state:?}"
            );
        }
        for year in YEARS {
            assert_eq!(
                self.listed(ReportFilter {
                    year: Some(year),
                    ..Default::default()
                })
                .await,
                self.expected(|k, _| k.year == year),
                "{when}: by year {year}"
            );
        }
    }
}

struct Codes {
    city: String,
    k1: String,
    k2: String,
    d1a: String,
    d1b: String,
    t1: String,
    d2a: String,
    d2b: String,
    city2: String,
    k3: String,
    d3: String,
}

/// Two trees: city → (county 1 → two departments and a township, county 2 →
/// two departments), and city 2 → county 3 → a department. Two years of
/// reports in every state.
async fn world(engine: Engine) -> (World, Codes) {
    let store = open(engine).await;
    let c = Codes {
        city: uscc_in("330700", 1),
        k1: uscc_in("330702", 1),
        k2: uscc_in("330703", 1),
        d1a: uscc_in("330702", 10),
        d1b: uscc_in("330702", 11),
        t1: uscc_in("330702", 20),
        d2a: uscc_in("330703", 10),
        d2b: uscc_in("330703", 11),
        city2: uscc_in("330800", 1),
        k3: uscc_in("330802", 1),
        d3: uscc_in("330802", 10),
    };
    let mut wd = World {
        store,
        parent: BTreeMap::new(),
        version: BTreeMap::new(),
        reports: BTreeMap::new(),
        ids: 0,
    };
    wd.add(&c.city, None).await;
    wd.add(&c.k1, Some(&c.city)).await;
    wd.add(&c.k2, Some(&c.city)).await;
    wd.add(&c.d1a, Some(&c.k1)).await;
    wd.add(&c.d1b, Some(&c.k1)).await;
    wd.add(&c.t1, Some(&c.k1)).await;
    wd.add(&c.d2a, Some(&c.k2)).await;
    wd.add(&c.d2b, Some(&c.k2)).await;
    wd.add(&c.city2, None).await;
    wd.add(&c.k3, Some(&c.city2)).await;
    wd.add(&c.d3, Some(&c.k3)).await;
    let codes: Vec<String> = wd.parent.keys().cloned().collect();
    for (i, code) in codes.iter().enumerate() {
        for (j, year) in YEARS.into_iter().enumerate() {
            wd.report(code, year, STATES[(i + j) % 4]).await;
        }
    }
    (wd, c)
}

async fn an_area_lists_exactly_its_subtree(engine: Engine) {
    let (wd, c) = world(engine).await;
    wd.check("as registered").await;
    // Spot checks that do not lean on the model.
    let k1_area = wd
        .listed(ReportFilter {
            area: Some(c.k1.clone()),
            ..Default::default()
        })
        .await;
    let mut agencies: Vec<&str> = k1_area.iter().map(|r| r.0.as_str()).collect();
    agencies.dedup();
    let mut want = vec![c.k1.as_str(), c.d1a.as_str(), c.d1b.as_str(), c.t1.as_str()];
    want.sort();
    assert_eq!(agencies, want);
    assert_eq!(
        wd.listed(ReportFilter {
            area: Some(c.city.clone()),
            ..Default::default()
        })
        .await
        .len(),
        8 * YEARS.len()
    );
    assert_eq!(
        wd.listed(ReportFilter {
            area: Some(c.d2b.clone()),
            ..Default::default()
        })
        .await
        .len(),
        YEARS.len()
    );
}

async fn moving_a_county_moves_its_reports_between_areas(engine: Engine) {
    let (mut wd, c) = world(engine).await;
    // County 1 with its departments, from the city to county 3 of city 2.
    wd.set_supervisor(&c.k1, Some(&c.k3)).await;
    wd.check("county 1 under county 3").await;
    assert!(
        wd.listed(ReportFilter {
            area: Some(c.city.clone()),
            ..Default::default()
        })
        .await
        .iter()
        .all(|r| r.0 != c.k1 && r.0 != c.d1a && r.0 != c.t1)
    );

    // Reports written after the move are indexed under the new ancestors only.
    let key = ReportKey {
        uscc: c.d1a.clone(),
        year: 2024,
    };
    if wd.reports[&key].1 != ReviewState::Submitted {
        if wd.reports[&key].1 != ReviewState::Draft {
            wd.draft(&key).await;
        }
        wd.review(&key, Action::Submit).await;
    }
    wd.review(&key, Action::Approve).await;
    wd.draft(&key).await;
    wd.report(&c.t1, 2022, ReviewState::Returned).await;
    wd.check("after writes in the moved subtree").await;

    // A department moved between counties of the same city: the city keeps it.
    wd.set_supervisor(&c.d2a, Some(&c.k1)).await;
    wd.check("department 2a under county 1").await;
    wd.set_supervisor(&c.d2a, Some(&c.k2)).await;
    wd.check("department 2a back under county 2").await;

    // County 1 made a root, then put back under the city.
    wd.set_supervisor(&c.k1, None).await;
    wd.check("county 1 a root").await;
    wd.set_supervisor(&c.k1, Some(&c.city)).await;
    wd.check("county 1 back under the city").await;

    // A move to the same supervisor changes nothing but the version.
    wd.set_supervisor(&c.k2, Some(&c.city)).await;
    wd.check("county 2 re-set under the city").await;

    // A whole city under the other city: a four-level tree.
    wd.set_supervisor(&c.city2, Some(&c.city)).await;
    wd.check("city 2 under city 1").await;
    wd.report(&c.d3, 2022, ReviewState::Submitted).await;
    wd.check("after a write four levels down").await;

    let n = events(&wd.store).await.len() as u64;
    assert_chain(&wd.store, n).await;
}

async fn a_move_under_its_own_subtree_is_refused_and_writes_nothing(engine: Engine) {
    let (wd, c) = world(engine).await;
    let n = events(&wd.store).await.len();
    let cases = [
        (&c.city, &c.d1a, "the city under its department"),
        (&c.city, &c.k2, "the city under its county"),
        (&c.k1, &c.t1, "a county under its township"),
        (&c.k1, &c.k1, "a county under itself"),
        (&c.city2, &c.d3, "city 2 under its department"),
    ];
    for (i, (code, sup, what)) in cases.into_iter().enumerate() {
        assert_invalid_argument(
            wd.store
                .set_supervisor(&w(&format!("cycle-{i}")), code, Some(sup), 1)
                .await,
            what,
        );
    }
    assert_eq!(events(&wd.store).await.len(), n);
    wd.check("after refused moves").await;
    assert_chain(&wd.store, n as u64).await;
}

async fn a_move_naming_a_stale_version_is_a_conflict(engine: Engine) {
    let (mut wd, c) = world(engine).await;
    wd.set_supervisor(&c.k1, Some(&c.k3)).await;
    wd.set_supervisor(&c.k1, Some(&c.city)).await;
    let n = events(&wd.store).await.len();
    assert_conflict(
        wd.store
            .set_supervisor(&w("stale"), &c.k1, Some(&c.city2), 1)
            .await,
        1,
        3,
    );
    assert_conflict(
        wd.store
            .set_supervisor(&w("ahead"), &c.k1, Some(&c.city2), 9)
            .await,
        9,
        3,
    );
    match wd.store.set_supervisor(&w("stale2"), &c.k1, None, 2).await {
        Err(StoreError::Conflict { resource, .. }) => {
            assert_eq!(resource, format!("agencies/{}", c.k1));
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(events(&wd.store).await.len(), n);
    wd.check("after refused stale moves").await;
}

async fn a_move_to_or_of_an_agency_that_does_not_exist_is_not_found(engine: Engine) {
    let (wd, c) = world(engine).await;
    let n = events(&wd.store).await.len();
    let nobody = uscc_in("330799", 1);
    assert_not_found(
        wd.store
            .set_supervisor(&w("m1"), &c.k1, Some(&nobody), 1)
            .await,
        "under an unregistered supervisor",
    );
    assert_not_found(
        wd.store
            .set_supervisor(&w("m2"), &nobody, Some(&c.city), 1)
            .await,
        "an unregistered agency",
    );
    assert_eq!(events(&wd.store).await.len(), n);
    wd.check("after refused moves").await;
}

/// The chain above an agency: nearest first, without the agency itself;
/// an unregistered or malformed code is refused, not an empty chain.
async fn ancestors_are_nearest_first_without_the_agency(engine: Engine) {
    let (wd, c) = world(engine).await;
    assert_eq!(
        wd.store.ancestors(&c.t1).await.unwrap(),
        [c.k1.clone(), c.city.clone()]
    );
    assert_eq!(
        wd.store.ancestors(&c.k3).await.unwrap(),
        vec![c.city2.clone()]
    );
    assert!(
        wd.store.ancestors(&c.city).await.unwrap().is_empty(),
        "a root"
    );
    assert_not_found(
        wd.store.ancestors(&uscc_in("330799", 1)).await,
        "an unregistered agency",
    );
    assert_invalid_argument(wd.store.ancestors("not-a-code").await, "a malformed code");
}

async fn an_agency_filter_respects_the_area(engine: Engine) {
    let (mut wd, c) = world(engine).await;
    let mine = async |wd: &World, area: &str| {
        wd.listed(ReportFilter {
            agency: Some(c.d1b.clone()),
            area: Some(area.to_owned()),
            ..Default::default()
        })
        .await
    };
    let own = wd.expected(|k, _| k.uscc == c.d1b);
    assert_eq!(mine(&wd, &c.city).await, own);
    assert_eq!(mine(&wd, &c.city2).await, vec![]);
    wd.set_supervisor(&c.k1, Some(&c.k3)).await;
    assert_eq!(mine(&wd, &c.city).await, vec![]);
    assert_eq!(mine(&wd, &c.city2).await, own);
    assert_eq!(mine(&wd, &c.k3).await, own);
    let page = wd
        .store
        .list_reports(
            &ReportFilter {
                agency: Some(c.d1b.clone()),
                area: Some(c.k2.clone()),
                ..Default::default()
            },
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert!(page.items.is_empty() && page.next_cursor.is_empty());
}

async fn the_cycle_check_follows_earlier_moves(engine: Engine) {
    let (mut wd, c) = world(engine).await;
    wd.set_supervisor(&c.k1, Some(&c.k3)).await;
    // County 1's departments are now below county 3: county 3 may not go
    // under them …
    let n = events(&wd.store).await.len();
    assert_invalid_argument(
        wd.store
            .set_supervisor(&w("cycle"), &c.k3, Some(&c.d1a), wd.version[&c.k3])
            .await,
        "county 3 under a department now below it",
    );
    assert_eq!(events(&wd.store).await.len(), n);
    // … while the first city, no longer above them, may.
    wd.set_supervisor(&c.city, Some(&c.d1a)).await;
    wd.check("city 1 under department 1a").await;
    assert!(wd.store.is_within(&c.city2, &c.d2b).await.unwrap());
    assert_chain(&wd.store, n as u64 + 1).await;
}
