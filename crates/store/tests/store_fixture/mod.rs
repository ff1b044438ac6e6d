//! Shared set-up of the store's tests: a fresh [`Store`] on either engine
//! ([`Fixture`]; sled in a temporary directory, PostgreSQL in a fresh
//! database of the test kit's real server), the [`conformance!`] macro that
//! runs each behaviour test on both, the bytes of every tree for tests that
//! look at (or damage) them, and builders: valid 统一社会信用代码, write
//! metadata, agencies, reports, a small store with history, a pager.
#![allow(dead_code)] // each test file uses its own part

use std::{
    collections::BTreeMap,
    fmt::Debug,
    future::Future,
    ops::Deref,
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime},
};

use gongkai_domain::ids::uscc_check_character;
use gongkai_proto::v1::{
    Agency, AgencyKind, AgencyLevel, AnnualReport, AuditEvent, ReportMetadata, ReportRevision,
    ReviewComment, SectionTexts,
};
use gongkai_store::{
    Action, Checked, EngineKind, EventFilter, Page, PageRequest, ReportKey, Result, Store,
    StoreError, StoreOptions, Tree, WriteMeta, WriteOp,
    postgres::{PgEngine, PgOptions},
};
use prost::Message;

/// Runs each named `async fn name(engine: Engine)` of the calling module
/// on both engines: as `sled::name` and `postgres::name`.
#[allow(unused_macros)] // the engine-specific tests use the rest of the fixture
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sled {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::store_fixture::Engine::Sled).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::store_fixture::Engine::Postgres).await
                }
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use conformance;

/// The engine a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// sled in a temporary directory.
    Sled,
    /// A fresh database of the test kit's PostgreSQL.
    Postgres,
}

/// Where a fixture's store lives.
#[derive(Debug)]
enum Place {
    Sled {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        url: String,
    },
}

/// A store under test, open (it derefs to the [`Store`]) unless closed to
/// edit its bytes.
#[derive(Debug)]
pub struct Fixture {
    pub engine: Engine,
    place: Place,
    store: Option<Store>,
}

impl Deref for Fixture {
    type Target = Store;

    fn deref(&self) -> &Store {
        self.store.as_ref().expect("the store is open")
    }
}

/// Options with a small cache, so many sled stores can be open in one run.
pub fn options() -> StoreOptions {
    StoreOptions {
        cache_capacity: 8 * 1024 * 1024,
    }
}

/// An empty, migrated database of its own on the test kit's server.
pub async fn fresh_database() -> String {
    let url = tokio::task::spawn_blocking(|| {
        gongkai_testkit::shared()
            .fresh_database()
            .unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap();
    PgEngine::open(&url, &PgOptions::default())
        .unwrap()
        .migrate()
        .await
        .unwrap();
    url
}

/// A fresh store on `engine`.
pub async fn open(engine: Engine) -> Fixture {
    let place = match engine {
        Engine::Sled => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let path = dir.path().join("db");
            Place::Sled { _dir: dir, path }
        }
        Engine::Postgres => Place::Postgres {
            url: fresh_database().await,
        },
    };
    let mut f = Fixture {
        engine,
        place,
        store: None,
    };
    f.reopen().await;
    f
}

/// How long a reopen waits for the previous handle's file lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Whether an error is sled's "could not acquire lock": sled 0.34.7 releases
/// its file lock only when its background threads have let go of the file,
/// a moment after the last handle is dropped.
fn is_lock_busy(message: &str) -> bool {
    message.contains("could not acquire lock")
}

/// Opens the sled store at `path`, waiting for a just-closed handle to let
/// go, and gives any other outcome back.
pub fn try_open_sled(path: &Path) -> Result<Store> {
    let start = Instant::now();
    loop {
        match Store::open_sled(path, &options()) {
            Err(StoreError::Io(m)) if is_lock_busy(&m) && start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// Opens the database at `path` with sled itself, waiting for a just-closed
/// handle to let go.
pub fn raw_sled(path: &Path) -> sled::Db {
    let start = Instant::now();
    loop {
        match sled::open(path) {
            Err(e) if is_lock_busy(&e.to_string()) && start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other.unwrap(),
        }
    }
}

/// Every tree of a store: tree name → key → value.
pub type Dump = BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, Vec<u8>>>;

fn tree_named(name: &str) -> Tree {
    Tree::ALL
        .into_iter()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("no tree {name}"))
}

impl Fixture {
    /// The store, open.
    pub fn store(&self) -> &Store {
        self
    }

    /// Closes the store (the next read of its bytes or [`Fixture::reopen`]
    /// follows).
    pub fn close(&mut self) {
        self.store = None;
    }

    /// Opens the store afresh (closing it first), as a restarted server would.
    pub async fn reopen(&mut self) -> &Store {
        self.close();
        let store = self.try_open().await.expect("open the store");
        assert_eq!(engine_of(&store), self.engine, "the store's engine");
        self.store.insert(store)
    }

    /// Opens the store (closed) and gives the outcome back, keeping nothing.
    pub async fn try_open(&mut self) -> Result<Store> {
        self.close();
        match &self.place {
            Place::Sled { path, .. } => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || try_open_sled(&path))
                    .await
                    .unwrap()
            }
            Place::Postgres { url } => Store::open_postgres(url, &PgOptions::default()).await,
        }
    }

    /// The sled store's directory.
    pub fn sled_path(&self) -> Option<&Path> {
        match &self.place {
            Place::Sled { path, .. } => Some(path),
            Place::Postgres { .. } => None,
        }
    }

    /// The PostgreSQL store's URL.
    pub fn database_url(&self) -> Option<&str> {
        match &self.place {
            Place::Postgres { url } => Some(url),
            Place::Sled { .. } => None,
        }
    }

    /// Runs `f` on the bytes of `tree` (closing a sled store first: sled
    /// admits one process) and gives back what it returns.
    pub async fn raw<R: Send + 'static>(
        &mut self,
        tree: &str,
        f: impl FnOnce(&mut RawTree) -> R + Send + 'static,
    ) -> R {
        let tree = tree_named(tree);
        if self.engine == Engine::Sled {
            self.close();
        }
        match &self.place {
            Place::Sled { path, .. } => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    let db = raw_sled(&path);
                    let mut raw = RawTree::Sled(db.open_tree(tree.name()).unwrap());
                    let out = f(&mut raw);
                    db.flush().unwrap();
                    out
                })
                .await
                .unwrap()
            }
            Place::Postgres { url } => {
                let rows = pg_rows(url, tree).await;
                let mut raw = RawTree::Postgres {
                    rows: rows.clone(),
                    tree,
                };
                let out = f(&mut raw);
                let RawTree::Postgres { rows: edited, .. } = raw else {
                    unreachable!()
                };
                pg_write_back(url, tree, &rows, &edited).await;
                out
            }
        }
    }

    /// Every tree's bytes.
    pub async fn dump(&mut self) -> Dump {
        let mut out = Dump::new();
        for tree in Tree::ALL {
            let rows = self.raw(tree.name(), |t| t.entries()).await;
            out.insert(tree.name().as_bytes().to_vec(), rows.into_iter().collect());
        }
        out
    }
}

/// One tree's bytes, to read and edit: sled's own tree, or a PostgreSQL
/// table's rows (read whole, written back as edited).
pub enum RawTree {
    Sled(sled::Tree),
    Postgres {
        rows: BTreeMap<Vec<u8>, Vec<u8>>,
        tree: Tree,
    },
}

impl RawTree {
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        match self {
            RawTree::Sled(t) => t.get(key).unwrap().map(|v| v.to_vec()),
            RawTree::Postgres { rows, .. } => rows.get(key.as_ref()).cloned(),
        }
    }

    /// Puts `value` at `key`; the value it replaced.
    pub fn insert(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        match self {
            RawTree::Sled(t) => t
                .insert(key.as_ref(), value.as_ref())
                .unwrap()
                .map(|v| v.to_vec()),
            RawTree::Postgres { rows, .. } => {
                rows.insert(key.as_ref().to_vec(), value.as_ref().to_vec())
            }
        }
    }

    /// Removes `key`; the value it held.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        match self {
            RawTree::Sled(t) => t.remove(key.as_ref()).unwrap().map(|v| v.to_vec()),
            RawTree::Postgres { rows, .. } => rows.remove(key.as_ref()),
        }
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        match self {
            RawTree::Sled(t) => t.clear().unwrap(),
            RawTree::Postgres { rows, .. } => rows.clear(),
        }
    }

    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        match self {
            RawTree::Sled(t) => t
                .iter()
                .map(|kv| {
                    let (k, v) = kv.unwrap();
                    (k.to_vec(), v.to_vec())
                })
                .collect(),
            RawTree::Postgres { rows, .. } => {
                rows.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            }
        }
    }
}

async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

async fn pg_rows(url: &str, tree: Tree) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let c = pg_client(url).await;
    c.query(
        &format!("SELECT key, value FROM {} ORDER BY key", tree.table()),
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1)))
    .collect()
}

/// Writes a table's rows back as edited: values changed in place (its
/// readable columns, which gongkai never reads, left as they were),
/// rows removed, rows added with the engine's readable columns (or, in
/// `store_meta`, its name alone, which needs no chain lock).
async fn pg_write_back(
    url: &str,
    tree: Tree,
    before: &BTreeMap<Vec<u8>, Vec<u8>>,
    after: &BTreeMap<Vec<u8>, Vec<u8>>,
) {
    let c = pg_client(url).await;
    let table = tree.table();
    for (k, v) in after {
        match before.get(k) {
            Some(old) if old == v => {}
            Some(_) => {
                c.execute(
                    &format!("UPDATE {table} SET value = $2 WHERE key = $1"),
                    &[k, v],
                )
                .await
                .unwrap();
            }
            None if tree == Tree::Meta => {
                c.execute(
                    "INSERT INTO store_meta (key, value, name) VALUES ($1, $2, $3)",
                    &[k, v, &String::from_utf8_lossy(k).into_owned()],
                )
                .await
                .unwrap();
            }
            None => {
                let engine = PgEngine::open(url, &PgOptions::default()).unwrap();
                let (k, v) = (k.clone(), v.clone());
                engine
                    .transaction(|tx| {
                        let (k, v) = (k.clone(), v.clone());
                        Box::pin(async move {
                            tx.put(tree, k, v);
                            Ok(())
                        })
                    })
                    .await
                    .unwrap_or_else(|e| panic!("adding a row to {table}: {e}"));
            }
        }
    }
    for k in before.keys().filter(|k| !after.contains_key(*k)) {
        c.execute(&format!("DELETE FROM {table} WHERE key = $1"), &[k])
            .await
            .unwrap();
    }
}

/// Which engine a store runs on, as the fixture names it.
pub fn engine_of(store: &Store) -> Engine {
    match store.engine() {
        EngineKind::Sled => Engine::Sled,
        EngineKind::Postgres => Engine::Postgres,
    }
}

// ------------------------------------------------------------ writes

/// The store's writes as typed calls, each one [`Store::write`]: what the
/// tests read best. The `_pending` forms queue the write at once and are
/// answered when awaited.
#[allow(async_fn_in_trait)]
pub trait Writes {
    fn queue(&self, w: &WriteMeta, op: WriteOp) -> gongkai_store::Pending<gongkai_store::Outcome>;

    async fn register_agency(&self, w: &WriteMeta, agency: Agency) -> Result<Agency> {
        self.queue(w, WriteOp::RegisterAgency { agency })
            .await?
            .into_agency()
    }

    async fn set_supervisor(
        &self,
        w: &WriteMeta,
        uscc: &str,
        supervisor: Option<&str>,
        expected_version: u32,
    ) -> Result<Agency> {
        let op = WriteOp::SetSupervisor {
            uscc: uscc.to_owned(),
            supervisor: supervisor.map(str::to_owned),
            expected_version,
        };
        self.queue(w, op).await?.into_agency()
    }

    fn save_draft_pending(
        &self,
        w: &WriteMeta,
        key: &ReportKey,
        expected: u32,
        report: AnnualReport,
        checked: Checked,
    ) -> Queued {
        let op = WriteOp::SaveDraft {
            key: key.clone(),
            expected,
            report,
            checked,
        };
        Queued(self.queue(w, op))
    }

    fn save_and_submit_pending(
        &self,
        w: &WriteMeta,
        key: &ReportKey,
        expected: u32,
        report: AnnualReport,
        checked: Checked,
    ) -> Queued {
        let op = WriteOp::SaveAndSubmit {
            key: key.clone(),
            expected,
            report,
            checked,
        };
        Queued(self.queue(w, op))
    }

    fn transition_pending(
        &self,
        w: &WriteMeta,
        key: &ReportKey,
        expected: u32,
        action: Action,
        checked: Checked,
        comments: Vec<ReviewComment>,
    ) -> Queued {
        let op = WriteOp::Review {
            key: key.clone(),
            expected,
            action,
            checked,
            comments,
        };
        Queued(self.queue(w, op))
    }

    async fn save_draft(
        &self,
        w: &WriteMeta,
        key: &ReportKey,
        expected: u32,
        report: AnnualReport,
        checked: Checked,
    ) -> Result<ReportRevision> {
        self.save_draft_pending(w, key, expected, report, checked)
            .await
    }

    async fn save_and_submit(
        &self,
        w: &WriteMeta,
        key: &ReportKey,
        expected: u32,
        report: AnnualReport,
        checked: Checked,
    ) -> Result<ReportRevision> {
        self.save_and_submit_pending(w, key, expected, report, checked)
            .await
    }

    async fn transition(
        &self,
        w: &WriteMeta,
        key: &ReportKey,
        expected: u32,
        action: Action,
        checked: Checked,
        comments: Vec<ReviewComment>,
    ) -> Result<ReportRevision> {
        self.transition_pending(w, key, expected, action, checked, comments)
            .await
    }
}

/// A report write queued, answered with its revision when awaited.
#[derive(Debug)]
pub struct Queued(gongkai_store::Pending<gongkai_store::Outcome>);

impl Future for Queued {
    type Output = Result<ReportRevision>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.and_then(gongkai_store::Outcome::into_revision))
    }
}

impl Writes for Store {
    fn queue(&self, w: &WriteMeta, op: WriteOp) -> gongkai_store::Pending<gongkai_store::Outcome> {
        self.write(w.clone(), op)
    }
}

impl Writes for Fixture {
    fn queue(&self, w: &WriteMeta, op: WriteOp) -> gongkai_store::Pending<gongkai_store::Outcome> {
        self.store().write(w.clone(), op)
    }
}

// ------------------------------------------------------------ builders

/// A valid 统一社会信用代码 for `n` under 金华市 (330700) (distinct `n`,
/// distinct codes).
pub fn uscc(n: u32) -> String {
    uscc_in("330700", n)
}

/// A valid 统一社会信用代码 under 行政区划代码 `region` (six digits), the
/// `n`-th of that region.
pub fn uscc_in(region: &str, n: u32) -> String {
    assert_eq!(region.len(), 6, "region code {region}");
    let first17 = format!("11{region}{n:09}");
    let check = uscc_check_character(&first17).expect("check character");
    format!("{first17}{check}")
}

/// Write metadata with request id `id`.
pub fn w(id: &str) -> WriteMeta {
    w_by(id, "tester")
}

/// Write metadata with request id `id` (the name other tests give it).
pub fn meta(id: &str) -> WriteMeta {
    w(id)
}

/// Write metadata with request id `id` by `principal`.
pub fn w_by(id: &str, principal: &str) -> WriteMeta {
    WriteMeta {
        request_id: id.into(),
        principal: principal.into(),
        time: SystemTime::now(),
    }
}

/// An agency record to register, under `supervisor` if given.
pub fn agency(code: &str, name: &str, supervisor: Option<&str>) -> Agency {
    Agency {
        uscc: code.into(),
        display_name: name.into(),
        level: AgencyLevel::County.into(),
        kind: AgencyKind::Government.into(),
        supervisor: supervisor
            .map(|s| format!("agencies/{s}"))
            .unwrap_or_default(),
        ..Agency::default()
    }
}

/// Registers an agency with request id `reg-{code}`.
pub async fn register(store: &Store, code: &str, supervisor: Option<&str>) -> Agency {
    store
        .register_agency(
            &w(&format!("reg-{code}")),
            agency(code, &format!("机关 {code}"), supervisor),
        )
        .await
        .unwrap_or_else(|e| panic!("register {code}: {e}"))
}

/// A fresh store on `engine` with one agency (region `region`, number `n`)
/// and the key of its 2024 report.
pub async fn one_report(engine: Engine, region: &str, n: u32) -> (Fixture, ReportKey) {
    let f = open(engine).await;
    let code = uscc_in(region, n);
    register(&f, &code, None).await;
    (
        f,
        ReportKey {
            uscc: code,
            year: 2024,
        },
    )
}

/// A report whose content is told apart by `tag`.
pub fn content(tag: &str) -> AnnualReport {
    AnnualReport {
        metadata: Some(ReportMetadata {
            agency_name: format!("内容 {tag}"),
            ..ReportMetadata::default()
        }),
        ..AnnualReport::default()
    }
}

/// A report whose overview is `text`, so every revision's bytes differ.
pub fn report(text: &str) -> AnnualReport {
    AnnualReport {
        sections: Some(SectionTexts {
            overview: Some(text.into()),
            ..SectionTexts::default()
        }),
        ..AnnualReport::default()
    }
}

/// Submits `report` as new content of `key` (after its latest revision)
/// and approves it: the approved revision's number, or why the approval
/// was refused.
pub async fn submit_and_approve(
    store: &Store,
    key: &ReportKey,
    report: AnnualReport,
    tag: &str,
) -> Result<u32> {
    let latest = store
        .head(key)
        .await
        .unwrap()
        .map_or(0, |h| h.latest_revision);
    let sub = store
        .save_and_submit(
            &w(&format!("{tag}-submit")),
            key,
            latest,
            report,
            Checked::default(),
        )
        .await
        .unwrap();
    store
        .transition(
            &w(&format!("{tag}-approve")),
            key,
            sub.revision,
            Action::Approve,
            Checked::default(),
            Vec::new(),
        )
        .await
        .map(|r| r.revision)
}

/// What [`build_history`] wrote.
#[derive(Debug)]
pub struct History {
    /// Every agency, root first.
    pub agencies: Vec<String>,
    /// Every report written.
    pub reports: Vec<ReportKey>,
    /// Audit events written.
    pub events: u64,
}

/// Fills `store` with a supervision tree of four agencies, three reports
/// taken through draft, submit, return, approve and a correction, and one
/// supervisor change.
pub async fn build_history(store: &Store) -> History {
    let province = uscc(1);
    let city = uscc(2);
    let county = uscc(3);
    let bureau = uscc(4);
    let mut events = 0;
    let mut id = 0u32;
    let mut next_id = || {
        id += 1;
        format!("h{id}")
    };
    for (code, name, sup) in [
        (&province, "浙江省人民政府", None),
        (&city, "金华市人民政府", Some(province.as_str())),
        (&county, "某县人民政府", Some(city.as_str())),
        (&bureau, "某局", Some(city.as_str())),
    ] {
        store
            .register_agency(&w(&next_id()), agency(code, name, sup))
            .await
            .unwrap();
        events += 1;
    }
    let reports = vec![
        ReportKey {
            uscc: county.clone(),
            year: 2023,
        },
        ReportKey {
            uscc: county.clone(),
            year: 2024,
        },
        ReportKey {
            uscc: bureau.clone(),
            year: 2024,
        },
    ];
    let review = async |key: &ReportKey, expected: u32, action: Action, id: String| {
        let comments = if action == Action::Return {
            vec![ReviewComment {
                text: "T3 总计 does not add up".into(),
                cell: "t3.R25.total".into(),
            }]
        } else {
            Vec::new()
        };
        store
            .transition(&w(&id), key, expected, action, Checked::default(), comments)
            .await
            .unwrap();
    };
    let draft = async |key: &ReportKey, expected: u32, text: &str, id: String| {
        store
            .save_draft(&w(&id), key, expected, report(text), Checked::default())
            .await
            .unwrap();
    };
    // Report 0: draft → submit → return → draft → submit → approve → correction.
    let k = &reports[0];
    draft(k, 0, "first", next_id()).await;
    review(k, 1, Action::Submit, next_id()).await;
    review(k, 2, Action::Return, next_id()).await;
    draft(k, 3, "fixed", next_id()).await;
    review(k, 4, Action::Submit, next_id()).await;
    review(k, 5, Action::Approve, next_id()).await;
    draft(k, 6, "correction", next_id()).await;
    events += 7;
    // Report 1: draft → submit → approve.
    let k = &reports[1];
    draft(k, 0, "2024", next_id()).await;
    review(k, 1, Action::Submit, next_id()).await;
    review(k, 2, Action::Approve, next_id()).await;
    events += 3;
    // Report 2: two drafts.
    let k = &reports[2];
    draft(k, 0, "bureau", next_id()).await;
    draft(k, 1, "bureau 2", next_id()).await;
    events += 2;
    // The bureau moves from the city to the province.
    store
        .set_supervisor(&w(&next_id()), &bureau, Some(&province), 1)
        .await
        .unwrap();
    events += 1;
    History {
        agencies: vec![province, city, county, bureau],
        reports,
        events,
    }
}

// ------------------------------------------------------------ reading

/// Walks every page of a listing at `size` items per page. Fails on a cursor
/// repeated (a loop) and on more pages than items.
pub async fn all_pages<T: Debug>(
    size: u32,
    mut list: impl AsyncFnMut(&PageRequest) -> Result<Page<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    let mut seen_cursors = std::collections::HashSet::new();
    for _ in 0..100_000 {
        let page = list(&PageRequest {
            size,
            cursor: cursor.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("page after '{cursor}': {e}"));
        assert!(
            page.items.len() <= size as usize,
            "page of {} items at size {size}",
            page.items.len()
        );
        out.extend(page.items);
        if page.next_cursor.is_empty() {
            return out;
        }
        assert!(
            seen_cursors.insert(page.next_cursor.clone()),
            "cursor {} given twice",
            page.next_cursor
        );
        cursor = page.next_cursor;
    }
    panic!("listing did not end");
}

/// Every audit event, oldest first.
pub async fn events(store: &Store) -> Vec<AuditEvent> {
    all_pages(1000, async |p| {
        store.list_events(&EventFilter::default(), p).await
    })
    .await
}

/// Asserts the audit chain verifies and holds exactly `n` events numbered
/// 1..=n without gaps.
pub async fn assert_chain(store: &Store, n: u64) {
    let v = store.verify().await.expect("verify");
    assert_eq!(v.broken, None, "audit chain broken");
    assert_eq!(v.events, n, "events verified");
    assert_eq!(v.records, n, "records verified");
    let seqs: Vec<u64> = events(store).await.iter().map(|e| e.sequence).collect();
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "event sequence");
}

/// Protobuf bytes of a message, to compare records exactly.
pub fn bytes<M: Message>(m: &M) -> Vec<u8> {
    m.encode_to_vec()
}

/// Asserts `r` is `InvalidTransition` from `from` by `action`.
pub fn assert_invalid_transition<T: Debug>(r: Result<T>, from: &str, action: &str) {
    match r {
        Err(StoreError::InvalidTransition {
            from: f, action: a, ..
        }) => assert_eq!((f, a), (from, action)),
        other => panic!("expected InvalidTransition from {from} by {action}, got {other:?}"),
    }
}

/// Asserts `r` is `InvalidArgument`.
pub fn assert_invalid_argument<T: Debug>(r: Result<T>, what: &str) {
    match r {
        Err(StoreError::InvalidArgument(_) | StoreError::InvalidField { .. }) => {}
        other => panic!("{what}: expected InvalidArgument, got {other:?}"),
    }
}

/// Asserts `r` is `NotFound`.
pub fn assert_not_found<T: Debug>(r: Result<T>, what: &str) {
    match r {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

/// Asserts `r` is `Conflict` with these revisions.
pub fn assert_conflict<T: Debug>(r: Result<T>, expected: u32, actual: u32) {
    match r {
        Err(StoreError::Conflict {
            expected: e,
            actual: a,
            ..
        }) => assert_eq!((e, a), (expected, actual), "conflict revisions"),
        other => panic!("expected Conflict {expected}/{actual}, got {other:?}"),
    }
}
