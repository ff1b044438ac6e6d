//! [`Store`]: the one handle the server holds. Its rules are `rules/`; its
//! engine is sled or PostgreSQL, chosen when it is opened.
//!
//! Why an enum of the two engines and not a generic: the server picks the
//! engine from its flags at start, and one concrete, cheaply cloned handle
//! keeps every handler (and every test helper) free of a type parameter
//! that would otherwise be compiled twice and spread through the server.
//! The match is here, once per call; the rules are generic over the
//! engine's [`Reader`] and written once.
//!
//! No call blocks an async worker. Writes are queued to the engine's
//! writer (sled: a thread; PostgreSQL: a task) and answered by a
//! [`Pending`]. PostgreSQL reads are async. sled reads complete at once,
//! from sled's page cache or from disk: what walks many entries (listings,
//! coverage, events, verify, stats, backup) runs on the blocking pool;
//! point reads of a few keys (a head, a revision, an agency, an ancestor
//! chain) run inline, as they did before the split: a cached `get` costs
//! about a microsecond, a hand-off to the blocking pool and back costs more
//! (two thread wake-ups), and GetReport is the call BENCHMARKS.md says must
//! not fall. The gongkai-load comparison of the two is still to be run.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use gongkai_proto::{
    store_v1::ReportHead,
    v1::{Agency, AuditEvent, ReportRevision},
};
use prost::bytes::Bytes;

use crate::{
    AreaTotals, CoverageEntry, EventFilter, Page, PageRequest, ReportFilter, ReportKey,
    ReportSummary, Result, StoreError, StoreStats, Verification, WriteMeta,
    engine::{
        now,
        sled::{SledEngine, StoreOptions, Trees, TxView, backup, writer},
    },
    pending::{self, Pending},
    postgres::{self, PgEngine, PgOptions, PgTx},
    rules::{
        self,
        ops::{Answer, Outcome, Prepared, Revision, WriteOp},
    },
};

/// Which engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// sled 0.34.7 in a directory (`--data DIR`): one process.
    Sled,
    /// A PostgreSQL database (`--database URL`): any number of replicas.
    Postgres,
}

/// The store: agencies, every report revision, review state, area sums and
/// the audit chain. Cheap to clone; every clone is the same store.
#[derive(Clone, Debug)]
pub struct Store {
    engine: Engine,
    /// The most agencies registered: `MAX_AGENCIES`, lower in tests.
    max_agencies: u64,
}

#[derive(Clone, Debug)]
enum Engine {
    Sled(Arc<SledStore>),
    Postgres(Arc<PgStore>),
}

#[derive(Debug)]
struct SledStore {
    // First, so that dropping the store stops the writer (which holds
    // trees) before the rest.
    writer: writer::Writer<Answer>,
    engine: SledEngine,
}

#[derive(Debug)]
struct PgStore {
    writer: postgres::batch::Writer<Answer>,
    engine: Arc<PgEngine>,
}

/// Runs `f` on the blocking pool when there is a tokio runtime (there it
/// must not block a worker), else here.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => rt
            .spawn_blocking(f)
            .await
            .map_err(|e| StoreError::Io(format!("a blocking read failed: {e}")))?,
        Err(_) => f(),
    }
}

/// A rule over the committed data, reading a few keys: inline on sled
/// (its reads complete at once), awaited on PostgreSQL.
macro_rules! point {
    ($self:ident, |$r:ident| $body:expr) => {
        match &$self.engine {
            Engine::Sled(s) => {
                let $r = s.engine.trees();
                now($body)
            }
            Engine::Postgres(p) => {
                let $r = &*p.engine;
                $body.await
            }
        }
    };
}

/// A rule over the committed data that walks many entries: on sled on the
/// blocking pool, awaited on PostgreSQL. What `$body` uses must be owned.
macro_rules! walk {
    ($self:ident, |$r:ident| $body:expr) => {
        match &$self.engine {
            Engine::Sled(s) => {
                let trees: Trees = s.engine.trees().clone();
                blocking(move || {
                    let $r = &trees;
                    now($body)
                })
                .await
            }
            Engine::Postgres(p) => {
                let $r = &*p.engine;
                $body.await
            }
        }
    };
}

/// The answer to a write: an outcome made in the transaction, or the
/// revision the caller prepared (unshared by then: the writer dropped the
/// write's plan before answering).
fn outcome(answer: Answer, prepared: Option<Arc<Revision>>) -> Result<Outcome> {
    match answer {
        Answer::Outcome(o) => Ok(o),
        Answer::Prepared => prepared
            .map(|r| {
                let record =
                    Arc::try_unwrap(r).map_or_else(|shared| shared.record.clone(), |r| r.record);
                Outcome::Revision(Box::new(record))
            })
            .ok_or_else(|| StoreError::Io("a write answered a revision it did not prepare".into())),
    }
}

impl Store {
    /// Opens (or creates) a sled store in the directory `path`: blocks
    /// (files, and building what a store written by an older gongkai lacks),
    /// so call it from a blocking-capable thread. A store of a newer format
    /// is refused and left alone.
    pub fn open_sled(path: impl AsRef<Path>, options: &StoreOptions) -> Result<Store> {
        let engine = SledEngine::open(path.as_ref(), options)?;
        Store::over_sled(engine)
    }

    /// The store over a sled database that is open already (restore builds
    /// one over the database it imported into).
    fn sled_with_db(db: sled::Db, path: PathBuf) -> Result<Store> {
        Store::over_sled(SledEngine::with_db(db, path)?)
    }

    fn over_sled(engine: SledEngine) -> Result<Store> {
        if let Some(plan) = now(rules::upgrade::plan(engine.trees()))? {
            engine.apply_now(&plan)?;
        }
        let writer = writer::Writer::start(
            engine.trees().clone(),
            Arc::clone(engine.gate()),
            Arc::clone(engine.commit()),
        )?;
        Ok(Store {
            engine: Engine::Sled(Arc::new(SledStore { writer, engine })),
            max_agencies: gongkai_domain::catalogue::MAX_AGENCIES,
        })
    }

    /// Opens the store in the PostgreSQL database at `url` (see
    /// [`PgEngine::open`]): its schema must be this build's (else
    /// [`StoreError::Schema`] says to run `gongkai migrate`). Needs a tokio
    /// runtime: its writer is a task.
    pub async fn open_postgres(url: &str, options: &PgOptions) -> Result<Store> {
        let engine = Arc::new(PgEngine::open(url, options)?);
        engine.check().await?;
        // Planned again under the chain's lock when there is anything to
        // write, so replicas starting together take turns; a store with
        // nothing to upgrade opens without taking it.
        if rules::upgrade::plan(&*engine).await?.is_some() {
            engine
                .transaction(|tx| {
                    Box::pin(async move {
                        if let Some(plan) = rules::upgrade::plan(&*tx).await? {
                            postgres::batch::stage(tx, plan);
                        }
                        Ok(())
                    })
                })
                .await?;
        }
        let writer = postgres::batch::Writer::start(Arc::clone(&engine));
        Ok(Store {
            engine: Engine::Postgres(Arc::new(PgStore { writer, engine })),
            max_agencies: gongkai_domain::catalogue::MAX_AGENCIES,
        })
    }

    /// Which engine it runs on.
    pub fn engine(&self) -> EngineKind {
        match self.engine {
            Engine::Sled(_) => EngineKind::Sled,
            Engine::Postgres(_) => EngineKind::Postgres,
        }
    }

    /// The sled store's directory; `None` on PostgreSQL.
    pub fn path(&self) -> Option<&Path> {
        match &self.engine {
            Engine::Sled(s) => Some(s.engine.path()),
            Engine::Postgres(_) => None,
        }
    }

    /// Lowers the most agencies registered, so a test can fill the store.
    #[cfg(test)]
    pub(crate) fn set_max_agencies(&mut self, n: u64) {
        self.max_agencies = n;
    }

    // ------------------------------------------------------------ writing

    /// Queues one write and returns its answer, which comes once the write
    /// is durable (sled: its batch flushed and synced; PostgreSQL: its
    /// transaction committed), or at once when it is refused before
    /// anything is read (a key or request id of the wrong shape).
    ///
    /// The write is queued by this call, not when the answer is first
    /// awaited: writes called one after another are judged in that order,
    /// so a review queued right behind the write that creates the revision
    /// it expects lands on that revision. A retried request id answers the
    /// first call's outcome and writes nothing.
    pub fn write(&self, meta: WriteMeta, op: WriteOp) -> Pending<Outcome> {
        let job = match rules::ops::prepare(meta, op, self.max_agencies) {
            Ok(job) => Arc::new(job),
            Err(e) => return Pending::ready(Err(e)),
        };
        let prepared = job.prepared_revision();
        let (answer, completer) = pending::pending();
        let reply = Box::new(move |a: Result<Answer>| {
            completer.complete(a.and_then(|a| outcome(a, prepared)))
        });
        match &self.engine {
            Engine::Sled(s) => s.writer.submit(writer::Job {
                plan: sled_plan(job),
                reply,
            }),
            Engine::Postgres(p) => p.writer.submit(postgres::batch::Job {
                plan: Box::new(move |tx: &PgTx<'_>| {
                    let job = Arc::clone(&job);
                    Box::pin(async move { rules::plan::plan(tx, &job).await })
                }),
                reply,
            }),
        }
        answer
    }

    // ------------------------------------------------------------ reading

    /// One agency.
    pub async fn agency(&self, uscc: &str) -> Result<Option<Agency>> {
        point!(self, |r| rules::listing::agency(r, uscc))
    }

    /// Agencies in 统一社会信用代码 order.
    pub async fn list_agencies(&self, page: &PageRequest) -> Result<Page<Agency>> {
        let page = page.clone();
        walk!(self, |r| rules::listing::agencies(r, &page))
    }

    /// Whether `uscc` is `ancestor` or lies in its subtree.
    pub async fn is_within(&self, ancestor: &str, uscc: &str) -> Result<bool> {
        point!(self, |r| rules::listing::is_within(r, ancestor, uscc))
    }

    /// The agencies above `uscc`, nearest first: its supervisor, that
    /// one's supervisor, and so on up to a root; `uscc` itself is not
    /// included, so a root has none. Bare 统一社会信用代码 (no
    /// `agencies/`). [`StoreError::InvalidArgument`] for a code of the
    /// wrong shape; [`StoreError::NotFound`] when `uscc`, or a supervisor
    /// on its chain, is not registered; [`StoreError::Corrupt`] for a chain
    /// deeper than the store allows.
    pub async fn ancestors(&self, uscc: &str) -> Result<Vec<String>> {
        point!(self, |r| rules::listing::ancestors(r, uscc))
    }

    /// The report's current state.
    pub async fn head(&self, key: &ReportKey) -> Result<Option<ReportHead>> {
        point!(self, |r| rules::listing::head(r, key))
    }

    /// One revision.
    pub async fn revision(&self, key: &ReportKey, revision: u32) -> Result<Option<ReportRevision>> {
        point!(self, |r| rules::listing::revision(r, key, revision))
    }

    /// One revision as its encoded `ReportRevision`, undecoded: what a read
    /// sends on (revisions never change, so the stored bytes are the
    /// answer), sharing the engine's buffer.
    pub async fn encoded_revision(&self, key: &ReportKey, revision: u32) -> Result<Option<Bytes>> {
        point!(self, |r| rules::listing::encoded_revision(r, key, revision))
    }

    /// A report's revisions, oldest first.
    pub async fn list_revisions(
        &self,
        key: &ReportKey,
        page: &PageRequest,
    ) -> Result<Page<ReportRevision>> {
        let (key, page) = (key.clone(), page.clone());
        walk!(self, |r| rules::listing::revisions(r, &key, &page))
    }

    /// Reports by year, state, area or agency; at least one index is used
    /// so a listing costs O(result).
    pub async fn list_reports(
        &self,
        filter: &ReportFilter,
        page: &PageRequest,
    ) -> Result<Page<ReportSummary>> {
        let (filter, page) = (filter.clone(), page.clone());
        walk!(self, |r| rules::listing::reports(r, &filter, &page))
    }

    /// The sum of the current approved reports of every agency under `area`
    /// (not `area` itself) for a data year, kept up at each approval: one
    /// read, whatever the history or the size of the area.
    pub async fn area_sum(&self, area: &str, year: u32) -> Result<AreaTotals> {
        point!(self, |r| rules::summary::area_sum(r, area, year))
    }

    /// Every agency of `area`'s subtree (itself first) with its report's
    /// head for the year (`None`: not started).
    pub async fn coverage(&self, area: &str, year: u32) -> Result<Vec<CoverageEntry>> {
        let area = area.to_owned();
        walk!(self, |r| rules::summary::coverage(r, &area, year))
    }

    /// Audit events, oldest first.
    pub async fn list_events(
        &self,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        let (filter, page) = (filter.clone(), page.clone());
        walk!(self, |r| rules::listing::events(r, &filter, &page))
    }

    /// Audit events on the agencies of the subtree under `scope` (itself
    /// included) and on their reports, oldest first, as `filter` narrows
    /// them: what a scoped auditor may see. Unlike `list_events`, which may
    /// end a page at an event it skipped, a page here ends just after an
    /// event it returns, holds at least one unless the listing is empty, and
    /// has a cursor only when another such event follows, so neither a page
    /// nor its cursor tells anything of events outside the scope. It reads
    /// every event up to the next page's first: O(events skipped).
    pub async fn list_events_within(
        &self,
        scope: &str,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        let (scope, filter, page) = (scope.to_owned(), filter.clone(), page.clone());
        walk!(self, |r| rules::listing::events_within(
            r, &scope, &filter, &page
        ))
    }

    /// Walks the whole chain and every record it names, then recomputes
    /// from the chained records everything derived from them (heads,
    /// current agencies, `children` edges, every index, every idempotency
    /// record, the area sums) and names the first difference. Damage the
    /// engine reports while reading is a difference too, named by tree and
    /// key. It reads one point in time: sled holds its writer back
    /// meanwhile; PostgreSQL reads a snapshot, and writers go on.
    pub async fn verify(&self) -> Result<Verification> {
        match &self.engine {
            Engine::Sled(s) => {
                let s = Arc::clone(s);
                blocking(move || {
                    let _alone = s.engine.exclusive();
                    now(rules::verify::verify(s.engine.trees()))
                })
                .await
            }
            Engine::Postgres(p) => {
                p.engine
                    .snapshot(|tx| Box::pin(async move { rules::verify::verify(&*tx).await }))
                    .await
            }
        }
    }

    /// Writes a consistent copy of a sled store to a new file `path`. An
    /// existing file is never replaced: [`StoreError::AlreadyExists`], also
    /// when another backup creates `path` meanwhile. A PostgreSQL store is
    /// backed up by the database's own tools:
    /// [`StoreError::Unsupported`] naming them.
    pub async fn backup(&self, path: &Path) -> Result<crate::BackupStats> {
        match &self.engine {
            Engine::Sled(s) => {
                let (s, path) = (Arc::clone(s), path.to_path_buf());
                blocking(move || {
                    // One point in time: no writer batch meanwhile.
                    let _alone = s.engine.exclusive();
                    backup::write(&s.engine, &path)
                })
                .await
            }
            Engine::Postgres(_) => Err(StoreError::Unsupported(crate::POSTGRES_BACKUP.into())),
        }
    }

    /// Makes every acknowledged write durable (on PostgreSQL each already is).
    pub async fn flush(&self) -> Result<()> {
        match &self.engine {
            Engine::Sled(s) => {
                let s = Arc::clone(s);
                blocking(move || s.engine.commit().wait_durable()).await
            }
            Engine::Postgres(_) => Ok(()),
        }
    }

    /// Figures for monitoring: reports by current state, bytes on disk.
    /// Costs one key scan of the state index (grows with the number of
    /// reports, not of revisions).
    pub async fn stats(&self) -> Result<StoreStats> {
        let reports_by_state = walk!(self, |r| rules::listing::reports_by_state(r))?;
        let size_on_disk = match &self.engine {
            Engine::Sled(s) => s.engine.size_on_disk()?,
            Engine::Postgres(p) => p.engine.size_on_disk().await?,
        };
        Ok(StoreStats {
            reports_by_state,
            size_on_disk,
        })
    }

    /// Whether the engine answers now: always for sled; for PostgreSQL,
    /// whether the database answers a query within the ping timeout
    /// (health checks poll it).
    pub async fn ping(&self) -> bool {
        match &self.engine {
            Engine::Sled(_) => true,
            Engine::Postgres(p) => p.engine.ping().await,
        }
    }

    /// How many of sled's blob files (log items over ≈ 128 KiB, kept in
    /// files of their own) have been synced before the writes naming them
    /// were acknowledged (0 on PostgreSQL).
    pub fn blobs_synced(&self) -> u64 {
        match &self.engine {
            Engine::Sled(s) => s.engine.commit().blobs_synced(),
            Engine::Postgres(_) => 0,
        }
    }
}

/// How the sled writer plans a write: with its batch, or alone when it
/// scans (sled cannot scan inside a transaction).
fn sled_plan(job: Arc<Prepared>) -> writer::PlanFn<Answer> {
    if job.scans() {
        writer::PlanFn::Alone(Box::new(move |trees: &Trees| {
            now(rules::plan::plan(trees, &job))
        }))
    } else {
        writer::PlanFn::Batched(Box::new(move |tx: &TxView<'_>| {
            now(rules::plan::plan(tx, &job))
        }))
    }
}

/// Restores a sled backup into `dir`, which must not exist or be empty,
/// and says what it moved; open the store at `dir` to use it.
///
/// The store is built beside `dir`, under a hidden name in the same parent
/// (`.{name}.restoring-{pid}-{n}`): imported, verified in full (the chain,
/// every record and everything derived from them), closed, synced, and only
/// then renamed to `dir` (a rename onto a missing or empty directory, one
/// step). So a restore killed at any moment leaves nothing under `dir`: it
/// is absent (or the empty directory it was) until it is a complete,
/// verified store. Restores beside one target take turns (a lock on the
/// parent directory), so the temporary directories one finds are killed
/// restores' leftovers, and it removes them. Everything that can be refused
/// (the target, the file) is refused before anything is written. Blocks.
pub fn restore(backup: &Path, dir: &Path, options: &StoreOptions) -> Result<crate::BackupStats> {
    backup::restore(backup, dir, options, |db, path| {
        let store = Store::sled_with_db(db, path.to_path_buf())?;
        let Engine::Sled(s) = &store.engine else {
            return Err(StoreError::Io(
                "restore opened a sled store as another".into(),
            ));
        };
        let v = now(rules::verify::verify(s.engine.trees()))?;
        if let Some(b) = v.broken {
            return Err(StoreError::BadBackup(format!(
                "restored store does not verify: {b}"
            )));
        }
        s.engine.commit().wait_durable()?;
        s.engine.db().flush()?;
        Ok(())
    })
}

/// What a [`Reader`] over the committed data of a sled store reads: for
/// the engine-neutral tests of the rules.
#[cfg(test)]
impl Store {
    pub(crate) fn sled_trees(&self) -> Option<&Trees> {
        match &self.engine {
            Engine::Sled(s) => Some(s.engine.trees()),
            Engine::Postgres(_) => None,
        }
    }

    /// Holds back every write (the writer thread waits for the gate), so a
    /// test can queue writes that are surely not applied yet.
    pub(crate) fn hold_writes(&self) -> Option<std::sync::RwLockWriteGuard<'_, ()>> {
        match &self.engine {
            Engine::Sled(s) => Some(s.engine.exclusive()),
            Engine::Postgres(_) => None,
        }
    }

    pub(crate) fn group_commit(&self) -> Option<&crate::engine::sled::durability::GroupCommit> {
        match &self.engine {
            Engine::Sled(s) => Some(s.engine.commit()),
            Engine::Postgres(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use gongkai_proto::v1::{
        Agency, AgencyKind, AgencyLevel, AnnualReport, ReportMetadata, ReviewState,
    };

    use super::*;
    use crate::{Action, Checked};

    fn w(id: &str) -> WriteMeta {
        WriteMeta {
            request_id: id.into(),
            principal: "tester".into(),
            time: SystemTime::now(),
        }
    }

    fn agency(n: u32) -> Agency {
        let first17 = format!("11330700{n:09}");
        let check = gongkai_domain::ids::uscc_check_character(&first17).unwrap();
        Agency {
            uscc: format!("{first17}{check}"),
            display_name: format!("机关{n}"),
            ..Agency::default()
        }
    }

    fn draft(key: &ReportKey, expected: u32) -> WriteOp {
        WriteOp::SaveDraft {
            key: key.clone(),
            expected,
            report: AnnualReport::default(),
            checked: Checked::default(),
        }
    }

    fn review(key: &ReportKey, expected: u32, action: Action) -> WriteOp {
        WriteOp::Review {
            key: key.clone(),
            expected,
            action,
            checked: Checked::default(),
            comments: Vec::new(),
        }
    }

    /// A new sled store holding one registered agency (its code returned).
    async fn store_with_agency() -> (tempfile::TempDir, Store, &'static str) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sled(dir.path().join("data"), &StoreOptions::default()).unwrap();
        let code = "11230500012345678T";
        store
            .write(
                w("reg"),
                WriteOp::RegisterAgency {
                    agency: Agency {
                        uscc: code.into(),
                        display_name: "双鸭山市人民政府".into(),
                        region_code: "230500".into(),
                        level: AgencyLevel::Prefectural.into(),
                        kind: AgencyKind::Government.into(),
                        ..Agency::default()
                    },
                },
            )
            .await
            .unwrap();
        (dir, store, code)
    }

    /// The area sums are proven for at most MAX_AGENCIES agencies: a full
    /// store registers no more, and says so; a retried registration still
    /// replays.
    #[tokio::test]
    async fn a_full_store_registers_no_more_agencies() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_sled(dir.path().join("db"), &StoreOptions::default()).unwrap();
        store.set_max_agencies(3);
        let register = |n| WriteOp::RegisterAgency { agency: agency(n) };
        for n in 1..=3 {
            store.write(w(&format!("r{n}")), register(n)).await.unwrap();
        }
        let e = store.write(w("r4"), register(4)).await.unwrap_err();
        assert!(matches!(e, StoreError::Full(3)), "{e}");
        assert_eq!(store.agency(&agency(4).uscc).await.unwrap(), None);
        let again = store.write(w("r3"), register(3)).await.unwrap();
        assert_eq!(again.into_agency().unwrap().version, 1);
        let trees = store.sled_trees().unwrap();
        assert_eq!(now(rules::agency_count(trees)).unwrap(), 3);
        assert_eq!(store.verify().await.unwrap().broken, None);
    }

    /// After a failed flush no write is applied: a caller told "failed"
    /// must not find its write done, nor anyone else see it.
    #[tokio::test]
    async fn after_a_failed_flush_writes_are_refused_before_anything_is_applied() {
        let (_dir, store, code) = store_with_agency().await;
        let key = ReportKey {
            uscc: code.into(),
            year: 2024,
        };
        store.write(w("d1"), draft(&key, 0)).await.unwrap();
        let events = store.verify().await.unwrap().events;

        store
            .group_commit()
            .unwrap()
            .fail_for_test("Input/output error");
        let refused = store.write(w("d2"), draft(&key, 1)).await;
        assert!(
            matches!(&refused, Err(StoreError::Io(m)) if m.contains("an earlier flush failed")),
            "{refused:?}"
        );
        let refused = store
            .write(
                w("reg2"),
                WriteOp::RegisterAgency {
                    agency: Agency {
                        uscc: "112305230123456785".into(),
                        display_name: "宝清县人民政府".into(),
                        ..Agency::default()
                    },
                },
            )
            .await;
        assert!(matches!(refused, Err(StoreError::Io(_))), "{refused:?}");
        assert_eq!(store.head(&key).await.unwrap().unwrap().latest_revision, 1);
        assert_eq!(store.revision(&key, 2).await.unwrap(), None);
        assert!(store.agency("112305230123456785").await.unwrap().is_none());
        assert_eq!(
            store.verify().await.unwrap().events,
            events,
            "nothing was applied"
        );
    }

    /// A refused write's error is the flush failure itself, said once: not
    /// its text wrapped in another storage failure.
    #[tokio::test]
    async fn a_write_refused_after_a_failed_flush_says_storage_failure_once() {
        let (_dir, store, code) = store_with_agency().await;
        let key = ReportKey {
            uscc: code.into(),
            year: 2024,
        };
        store
            .group_commit()
            .unwrap()
            .fail_for_test("Input/output error");
        let message = store
            .write(w("d1"), draft(&key, 0))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "storage failure: an earlier flush failed: Input/output error"
        );
        assert_eq!(message.matches("storage failure").count(), 1, "{message}");
        let submit = WriteOp::SaveAndSubmit {
            key: key.clone(),
            expected: 0,
            report: AnnualReport::default(),
            checked: Checked::default(),
        };
        let pending = store.write(w("s1"), submit).wait().unwrap_err().to_string();
        assert_eq!(pending.matches("storage failure").count(), 1, "{pending}");
    }

    /// A review queued while the write creating the revision it expects is
    /// still queued (held back here, so surely not applied) is judged after
    /// that write: it lands on the new revision. One expecting a revision
    /// no queued write creates is a conflict, as it would be alone.
    #[tokio::test]
    // The gate held is what keeps the writes queued; the one read awaited
    // meanwhile is a sled point read, which does not wait for it.
    #[allow(clippy::await_holding_lock)]
    async fn a_review_queued_behind_an_unapplied_write_is_judged_after_it() {
        let (_dir, store, code) = store_with_agency().await;
        let key = |year| ReportKey {
            uscc: code.into(),
            year,
        };
        let content = AnnualReport {
            metadata: Some(ReportMetadata {
                agency_name: "双鸭山市人民政府".into(),
                ..ReportMetadata::default()
            }),
            ..AnnualReport::default()
        };
        let held = store.hold_writes().unwrap();
        // Taken by the writer first, so what follows may share its batch
        // or make the next one: either way it is judged after it.
        let other = store.write(
            w("other"),
            WriteOp::SaveDraft {
                key: key(2023),
                expected: 0,
                report: content.clone(),
                checked: Checked::default(),
            },
        );
        let submit = store.write(
            w("s"),
            WriteOp::SaveAndSubmit {
                key: key(2024),
                expected: 0,
                report: content.clone(),
                checked: Checked::default(),
            },
        );
        let approve = store.write(w("a"), review(&key(2024), 1, Action::Approve));
        let ahead = store.write(w("x"), review(&key(2023), 2, Action::Submit));
        assert_eq!(
            store.head(&key(2024)).await.unwrap(),
            None,
            "nothing applied yet"
        );
        drop(held);

        assert_eq!(other.await.unwrap().into_revision().unwrap().revision, 1);
        assert_eq!(submit.await.unwrap().into_revision().unwrap().revision, 1);
        let approved = approve.await.unwrap().into_revision().unwrap();
        assert_eq!(
            (
                approved.revision,
                approved.previous_revision,
                approved.state()
            ),
            (2, 1, ReviewState::Approved)
        );
        assert_eq!(approved.report, Some(content));
        assert_eq!(store.revision(&key(2024), 2).await.unwrap(), Some(approved));
        let head = store.head(&key(2024)).await.unwrap().unwrap();
        assert_eq!((head.latest_revision, head.approved_revision), (2, 2));
        assert!(
            matches!(
                ahead.await,
                Err(StoreError::Conflict {
                    expected: 2,
                    actual: 1,
                    ..
                })
            ),
            "a revision never created"
        );
        assert_eq!(
            store
                .head(&key(2023))
                .await
                .unwrap()
                .unwrap()
                .latest_revision,
            1
        );
        let v = store.verify().await.unwrap();
        assert_eq!((v.events, v.broken), (4, None));
    }
}
