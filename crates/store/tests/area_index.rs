//! The area indexes: a listing by area (the subtree under an agency) holds
//! exactly the subtree's reports, also after `set_supervisor` moves a part of
//! the tree, with the by-state and by-year indexes untouched; a move that
//! would make a cycle, or names a stale version, writes nothing.

mod store_fixture;

use std::collections::BTreeMap;

use gongkai_proto::v1::ReviewState;
use gongkai_store::{
    Action, Checked, PageRequest, ReportFilter, ReportKey, ReportStore, SledStore, StoreError,
};
use store_fixture::{
    all_pages, assert_chain, assert_conflict, assert_invalid_argument, assert_not_found, content,
    events, open, register, uscc, w,
};

const YEARS: [u32; 2] = [2023, 2024];
const STATES: [ReviewState; 4] = [
    ReviewState::Draft,
    ReviewState::Submitted,
    ReviewState::Approved,
    ReviewState::Returned,
];

/// The store and the tree and reports it should hold.
struct World {
    _dir: tempfile::TempDir,
    store: SledStore,
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

    fn add(&mut self, code: &str, sup: Option<&str>) {
        register(&self.store, code, sup);
        self.parent.insert(code.to_owned(), sup.map(str::to_owned));
        self.version.insert(code.to_owned(), 1);
    }

    /// Saves a draft of the report (its first or a new one).
    fn draft(&mut self, key: &ReportKey) {
        let latest = self.reports.get(key).map_or(0, |r| r.0);
        let id = self.id();
        let r = self
            .store
            .save_draft(&w(&id), key, latest, content(&id), Checked::default())
            .unwrap();
        self.reports.insert(key.clone(), (r.revision, r.state()));
    }

    fn review(&mut self, key: &ReportKey, action: Action) {
        let latest = self.reports[key].0;
        let id = self.id();
        let r = self
            .store
            .transition(&w(&id), key, latest, action, Checked::default(), vec![])
            .unwrap();
        self.reports.insert(key.clone(), (r.revision, r.state()));
    }

    /// Drives a new report to `state`.
    fn report(&mut self, code: &str, year: u32, state: ReviewState) {
        let key = ReportKey {
            uscc: code.to_owned(),
            year,
        };
        self.draft(&key);
        match state {
            ReviewState::Draft => {}
            ReviewState::Submitted => self.review(&key, Action::Submit),
            ReviewState::Approved => {
                self.review(&key, Action::Submit);
                self.review(&key, Action::Approve);
            }
            ReviewState::Returned => {
                self.review(&key, Action::Submit);
                self.review(&key, Action::Return);
            }
            ReviewState::Unspecified => unreachable!(),
        }
    }

    fn set_supervisor(&mut self, code: &str, sup: Option<&str>) {
        let id = self.id();
        let a = self
            .store
            .set_supervisor(&w(&id), code, sup, self.version[code])
            .unwrap_or_else(|e| panic!("move {code} under {sup:?}: {e}"));
        assert_eq!(a.version, self.version[code] + 1);
        assert_eq!(
            a.supervisor,
            sup.map(|s| format!("agencies/{s}")).unwrap_or_default()
        );
        self.version.insert(code.to_owned(), a.version);
        self.parent.insert(code.to_owned(), sup.map(str::to_owned));
    }

    fn listed(&self, filter: ReportFilter) -> Vec<(String, u32, ReviewState)> {
        let mut v: Vec<_> = all_pages(5, |p| self.store.list_reports(&filter, p))
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
    fn check(&self, when: &str) {
        let codes: Vec<&String> = self.parent.keys().collect();
        for a in &codes {
            let stored = self.store.agency(a).unwrap().unwrap();
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
                self.store.ancestors(a).unwrap(),
                self.ancestors(a),
                "{when}: ancestors of {a}"
            );
            for b in &codes {
                assert_eq!(
                    self.store.is_within(a, b).unwrap(),
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
                        self.listed(filter.clone()),
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
                }),
                self.expected(|_, s| s == state),
                "{when}: by state {state:?}"
            );
        }
        for year in YEARS {
            assert_eq!(
                self.listed(ReportFilter {
                    year: Some(year),
                    ..Default::default()
                }),
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
fn world() -> (World, Codes) {
    let (dir, store) = open();
    let c = Codes {
        city: uscc("330700", 1),
        k1: uscc("330702", 1),
        k2: uscc("330703", 1),
        d1a: uscc("330702", 10),
        d1b: uscc("330702", 11),
        t1: uscc("330702", 20),
        d2a: uscc("330703", 10),
        d2b: uscc("330703", 11),
        city2: uscc("330800", 1),
        k3: uscc("330802", 1),
        d3: uscc("330802", 10),
    };
    let mut wd = World {
        _dir: dir,
        store,
        parent: BTreeMap::new(),
        version: BTreeMap::new(),
        reports: BTreeMap::new(),
        ids: 0,
    };
    wd.add(&c.city, None);
    wd.add(&c.k1, Some(&c.city));
    wd.add(&c.k2, Some(&c.city));
    wd.add(&c.d1a, Some(&c.k1));
    wd.add(&c.d1b, Some(&c.k1));
    wd.add(&c.t1, Some(&c.k1));
    wd.add(&c.d2a, Some(&c.k2));
    wd.add(&c.d2b, Some(&c.k2));
    wd.add(&c.city2, None);
    wd.add(&c.k3, Some(&c.city2));
    wd.add(&c.d3, Some(&c.k3));
    let codes: Vec<String> = wd.parent.keys().cloned().collect();
    for (i, code) in codes.iter().enumerate() {
        for (j, year) in YEARS.into_iter().enumerate() {
            wd.report(code, year, STATES[(i + j) % 4]);
        }
    }
    (wd, c)
}

#[test]
fn an_area_lists_exactly_its_subtree() {
    let (wd, c) = world();
    wd.check("as registered");
    // Spot checks that do not lean on the model.
    let k1_area = wd.listed(ReportFilter {
        area: Some(c.k1.clone()),
        ..Default::default()
    });
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
        .len(),
        8 * YEARS.len()
    );
    assert_eq!(
        wd.listed(ReportFilter {
            area: Some(c.d2b.clone()),
            ..Default::default()
        })
        .len(),
        YEARS.len()
    );
}

#[test]
fn moving_a_county_moves_its_reports_between_areas() {
    let (mut wd, c) = world();
    // County 1 with its departments, from the city to county 3 of city 2.
    wd.set_supervisor(&c.k1, Some(&c.k3));
    wd.check("county 1 under county 3");
    assert!(
        wd.listed(ReportFilter {
            area: Some(c.city.clone()),
            ..Default::default()
        })
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
            wd.draft(&key);
        }
        wd.review(&key, Action::Submit);
    }
    wd.review(&key, Action::Approve);
    wd.draft(&key);
    wd.report(&c.t1, 2022, ReviewState::Returned);
    wd.check("after writes in the moved subtree");

    // A department moved between counties of the same city: the city keeps it.
    wd.set_supervisor(&c.d2a, Some(&c.k1));
    wd.check("department 2a under county 1");
    wd.set_supervisor(&c.d2a, Some(&c.k2));
    wd.check("department 2a back under county 2");

    // County 1 made a root, then put back under the city.
    wd.set_supervisor(&c.k1, None);
    wd.check("county 1 a root");
    wd.set_supervisor(&c.k1, Some(&c.city));
    wd.check("county 1 back under the city");

    // A move to the same supervisor changes nothing but the version.
    wd.set_supervisor(&c.k2, Some(&c.city));
    wd.check("county 2 re-set under the city");

    // A whole city under the other city: a four-level tree.
    wd.set_supervisor(&c.city2, Some(&c.city));
    wd.check("city 2 under city 1");
    wd.report(&c.d3, 2022, ReviewState::Submitted);
    wd.check("after a write four levels down");

    let n = events(&wd.store).len() as u64;
    assert_chain(&wd.store, n);
}

#[test]
fn a_move_under_its_own_subtree_is_refused_and_writes_nothing() {
    let (wd, c) = world();
    let n = events(&wd.store).len();
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
                .set_supervisor(&w(&format!("cycle-{i}")), code, Some(sup), 1),
            what,
        );
    }
    assert_eq!(events(&wd.store).len(), n);
    wd.check("after refused moves");
    assert_chain(&wd.store, n as u64);
}

#[test]
fn a_move_naming_a_stale_version_is_a_conflict() {
    let (mut wd, c) = world();
    wd.set_supervisor(&c.k1, Some(&c.k3));
    wd.set_supervisor(&c.k1, Some(&c.city));
    let n = events(&wd.store).len();
    assert_conflict(
        wd.store
            .set_supervisor(&w("stale"), &c.k1, Some(&c.city2), 1),
        1,
        3,
    );
    assert_conflict(
        wd.store
            .set_supervisor(&w("ahead"), &c.k1, Some(&c.city2), 9),
        9,
        3,
    );
    match wd.store.set_supervisor(&w("stale2"), &c.k1, None, 2) {
        Err(StoreError::Conflict { resource, .. }) => {
            assert_eq!(resource, format!("agencies/{}", c.k1));
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(events(&wd.store).len(), n);
    wd.check("after refused stale moves");
}

#[test]
fn a_move_to_or_of_an_agency_that_does_not_exist_is_not_found() {
    let (wd, c) = world();
    let n = events(&wd.store).len();
    let nobody = uscc("330799", 1);
    assert_not_found(
        wd.store.set_supervisor(&w("m1"), &c.k1, Some(&nobody), 1),
        "under an unregistered supervisor",
    );
    assert_not_found(
        wd.store.set_supervisor(&w("m2"), &nobody, Some(&c.city), 1),
        "an unregistered agency",
    );
    assert_eq!(events(&wd.store).len(), n);
    wd.check("after refused moves");
}

/// The chain above an agency: nearest first, without the agency itself;
/// an unregistered or malformed code is refused, not an empty chain.
#[test]
fn ancestors_are_nearest_first_without_the_agency() {
    let (wd, c) = world();
    assert_eq!(
        wd.store.ancestors(&c.t1).unwrap(),
        [c.k1.clone(), c.city.clone()]
    );
    assert_eq!(wd.store.ancestors(&c.k3).unwrap(), vec![c.city2.clone()]);
    assert!(wd.store.ancestors(&c.city).unwrap().is_empty(), "a root");
    assert_not_found(
        wd.store.ancestors(&uscc("330799", 1)),
        "an unregistered agency",
    );
    assert_invalid_argument(wd.store.ancestors("not-a-code"), "a malformed code");
}

#[test]
fn an_agency_filter_respects_the_area() {
    let (mut wd, c) = world();
    let mine = |wd: &World, area: &str| {
        wd.listed(ReportFilter {
            agency: Some(c.d1b.clone()),
            area: Some(area.to_owned()),
            ..Default::default()
        })
    };
    let own = wd.expected(|k, _| k.uscc == c.d1b);
    assert_eq!(mine(&wd, &c.city), own);
    assert_eq!(mine(&wd, &c.city2), vec![]);
    wd.set_supervisor(&c.k1, Some(&c.k3));
    assert_eq!(mine(&wd, &c.city), vec![]);
    assert_eq!(mine(&wd, &c.city2), own);
    assert_eq!(mine(&wd, &c.k3), own);
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
        .unwrap();
    assert!(page.items.is_empty() && page.next_cursor.is_empty());
}

#[test]
fn the_cycle_check_follows_earlier_moves() {
    let (mut wd, c) = world();
    wd.set_supervisor(&c.k1, Some(&c.k3));
    // County 1's departments are now below county 3: county 3 may not go
    // under them …
    let n = events(&wd.store).len();
    assert_invalid_argument(
        wd.store
            .set_supervisor(&w("cycle"), &c.k3, Some(&c.d1a), wd.version[&c.k3]),
        "county 3 under a department now below it",
    );
    assert_eq!(events(&wd.store).len(), n);
    // … while the first city, no longer above them, may.
    wd.set_supervisor(&c.city, Some(&c.d1a));
    wd.check("city 1 under department 1a");
    assert!(wd.store.is_within(&c.city2, &c.d2b).unwrap());
    assert_chain(&wd.store, n as u64 + 1);
}
