//! The sled backend.
//!
//! A write reads what it depends on, plans every insert and removal and
//! applies them inside a multi-tree sled transaction, so its reads and
//! writes are one point in time and the audit chain stays a sequence.
//! Report writes go through the writer thread (writer.rs), which puts every
//! write queued at that moment into one transaction; agency writes run
//! alone. Then each caller waits for the group commit (durability.rs), which
//! batches the flushes. What can be computed before (the revision's bytes and
//! hash) is, outside the transaction; but whatever a write is judged by (the
//! head, the revision a review acts on) is read inside it, where every write
//! queued before has been applied. A gate (an RwLock) lets the writer's
//! batches share and gives changes to the supervision tree, backup and
//! verify the store alone: they scan, and scans cannot run inside a
//! transaction.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, PoisonError, RwLock, RwLockWriteGuard},
    time::SystemTime,
};

use gongkai_proto::{
    store_v1::{AuditHead, IdempotencyRecord, ReportHead},
    v1::{
        Agency, AnnualReport, AuditAction, AuditEvent, ReportRevision, ReviewComment, ReviewState,
    },
};
use prost::Message;
use sha2::{Digest, Sha256};
use sled::{
    Transactional,
    transaction::{ConflictableTransactionError, TransactionError},
};

use crate::{
    Action, Checked, EventFilter, Page, PageRequest, ReportFilter, ReportKey, ReportStore,
    ReportSummary, Result, StoreError, StoreStats, Verification, WriteMeta,
    backup::{self, BackupStats},
    codec::{self, STORE_FORMAT},
    durability::GroupCommit,
    keys,
    pending::{self, Pending},
    state::{self, Op},
    state_name,
    writer::{Job, PlanWrite, Reply, Writer},
};

/// Every tree, in one fixed order (the index into [`SledStore::trees`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum T {
    Meta,
    Agencies,
    AgencyVersions,
    Children,
    Heads,
    Revisions,
    ByYear,
    ByState,
    AreaYear,
    AreaState,
    Events,
    EventHashes,
    Requests,
    AreaSums,
}

pub(crate) const TREE_NAMES: [&str; 14] = [
    "meta",
    "agencies",
    "agency_versions",
    "children",
    "heads",
    "revisions",
    "by_year",
    "by_state",
    "area_year",
    "area_state",
    "events",
    "event_hashes",
    "requests",
    "area_sums",
];

const FORMAT_KEY: &[u8] = b"format";
pub(crate) const AUDIT_HEAD_KEY: &[u8] = b"audit_head";
/// Key in `meta` of the number of registered agencies (u64 BE).
pub(crate) const AGENCY_COUNT_KEY: &[u8] = b"agency_count";
/// Deepest supervision tree, in levels (national → province → city →
/// county → township is 5): registrations and moves that would go deeper
/// are refused, and every walk of the tree stops there.
pub(crate) const MAX_DEPTH: usize = 64;
/// Most index or event entries examined for one page of a filtered listing.
const SCAN_LIMIT: usize = 10_000;

/// Tuning of the sled backend.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// sled's page cache, in bytes.
    pub cache_capacity: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_capacity: 128 * 1024 * 1024,
        }
    }
}

/// The sled 0.34.7 store.
#[derive(Debug)]
pub struct SledStore {
    // First, so that dropping the store stops the writer (which holds trees)
    // before anything else.
    writer: Writer,
    db: sled::Db,
    trees: Vec<sled::Tree>,
    gate: Arc<RwLock<()>>,
    commit: Arc<GroupCommit>,
    path: PathBuf,
    /// The most agencies registered: `MAX_AGENCIES`, lower in tests.
    max_agencies: u64,
}

/// What a retried request's first call wrote.
fn replay_in(r: &impl Reader, rec: &IdempotencyRecord) -> Result<Outcome> {
    if let Some(uscc) = rec
        .resource
        .strip_prefix("agencies/")
        .filter(|r| !r.contains('/'))
    {
        let key = keys::join(&[keys::uscc(uscc)?, &rec.revision.to_be_bytes()]);
        return read_msg::<Agency>(r, T::AgencyVersions, &key)?
            .map(Outcome::Agency)
            .ok_or_else(|| StoreError::NotFound(rec.resource.clone()));
    }
    let key = parse_report_name(&rec.resource)?;
    read_msg::<ReportRevision>(r, T::Revisions, &keys::revision(&key, rec.revision)?)?
        .map(|r| Outcome::Revision(Box::new(r)))
        .ok_or_else(|| StoreError::NotFound(key.revision_name(rec.revision)))
}

/// Inserts and removals planned for one write.
#[derive(Default)]
pub(crate) struct Plan {
    batches: Vec<sled::Batch>,
}

impl Plan {
    fn new() -> Plan {
        Plan {
            batches: (0..TREE_NAMES.len())
                .map(|_| sled::Batch::default())
                .collect(),
        }
    }
    pub(crate) fn put(&mut self, t: T, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        if let Some(b) = self.batches.get_mut(t as usize) {
            b.insert(key.as_ref(), value.as_ref());
        }
    }
    fn del(&mut self, t: T, key: impl AsRef<[u8]>) {
        if let Some(b) = self.batches.get_mut(t as usize) {
            b.remove(key.as_ref());
        }
    }
}

/// What a write produced, for the caller and for a retried request id.
pub(crate) enum Outcome {
    Agency(Agency),
    /// The revision the caller prepared was written.
    Prepared,
    /// A revision made inside the transaction (see [`Next::Review`]), or
    /// for a retried request the first call's revision.
    Revision(Box<ReportRevision>),
}

/// What a write's transaction did.
pub(crate) enum Done {
    Wrote(Outcome),
    Replay(IdempotencyRecord),
}

/// A revision ready to store: its record (number `expected + 1`, which the
/// transaction confirms, and the state it puts the report in), bytes and
/// hash.
pub(crate) struct Prepared {
    record: ReportRevision,
    bytes: sled::IVec,
    sha256: Vec<u8>,
}

impl Prepared {
    fn new(record: ReportRevision) -> Prepared {
        let bytes = codec::encode(&record);
        let sha256 = sha256(&bytes);
        Prepared {
            record,
            bytes: sled::IVec::from(bytes),
            sha256,
        }
    }
}

/// The revision a queued write will store.
pub(crate) enum Next {
    /// Made before the transaction, so the writer thread only inserts its
    /// bytes: new content, or a review of a revision already stored
    /// (revisions never change, so reading one early is safe).
    Ready(Prepared),
    /// A review of a revision not stored when the review was queued: a
    /// write queued ahead of it may be about to create it, so its content is
    /// read, and the record made, inside the transaction, after every write
    /// queued before. Holds the record without its content.
    Review(ReportRevision),
}

impl Next {
    fn record(&self) -> &ReportRevision {
        match self {
            Next::Ready(p) => &p.record,
            Next::Review(r) => r,
        }
    }

    fn into_record(self) -> ReportRevision {
        match self {
            Next::Ready(p) => p.record,
            Next::Review(r) => r,
        }
    }
}

/// What a write of a revision found, inside its transaction.
struct Judged {
    head: Option<ReportHead>,
    /// The latest state (`None`: no revision yet).
    from: Option<ReviewState>,
    /// The state the write leads to.
    to: ReviewState,
}

/// Where a write reads: the store, or inside the write's transaction sled's
/// transactional view (plain reads there would wait on the lock it holds).
pub(crate) trait Reader {
    fn raw(&self, t: T, key: &[u8]) -> Result<Option<sled::IVec>>;
}

impl Reader for SledStore {
    fn raw(&self, t: T, key: &[u8]) -> Result<Option<sled::IVec>> {
        self.trees.raw(t, key)
    }
}

/// A sled error while reading `key` of `t`: sled's own corruption (a page
/// failing its checksum) is damage named by tree and key, so it reaches
/// the caller as DATA_LOSS rather than as a retryable failure with a file
/// offset; anything else is a storage failure.
pub(crate) fn storage_error(t: T, key: &[u8], e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { .. } => StoreError::Corrupt {
            tree: TREE_NAMES[t as usize],
            key: hex::encode(key),
            reason: format!("sled cannot read it: {e}"),
        },
        e => StoreError::from(e),
    }
}

/// Every tree in [`T`] order: what the writer's answers read with.
impl Reader for Vec<sled::Tree> {
    fn raw(&self, t: T, key: &[u8]) -> Result<Option<sled::IVec>> {
        let tree = self
            .get(t as usize)
            .ok_or_else(|| StoreError::Io(format!("tree {} missing", TREE_NAMES[t as usize])))?;
        tree.get(key).map_err(|e| storage_error(t, key, e))
    }
}

/// sled's transactional view of every tree, in [`T`] order.
pub(crate) struct TxView<'a>(pub(crate) &'a [sled::transaction::TransactionalTree]);

fn tx_err(e: sled::transaction::UnabortableTransactionError) -> StoreError {
    match e {
        sled::transaction::UnabortableTransactionError::Storage(e) => StoreError::from(e),
        e => StoreError::Io(format!("transaction: {e}")),
    }
}

impl Reader for TxView<'_> {
    fn raw(&self, t: T, key: &[u8]) -> Result<Option<sled::IVec>> {
        let tree = self.0.get(t as usize).ok_or_else(|| {
            StoreError::Io(format!(
                "tree {} missing from the transaction",
                TREE_NAMES[t as usize]
            ))
        })?;
        tree.get(key).map_err(|e| match e {
            sled::transaction::UnabortableTransactionError::Storage(e) => storage_error(t, key, e),
            e => tx_err(e),
        })
    }
}

/// A stored message, decoded, naming the tree and key when it does not decode.
pub(crate) fn read_msg<M: Message + Default>(
    r: &impl Reader,
    t: T,
    key: &[u8],
) -> Result<Option<M>> {
    match r.raw(t, key)? {
        None => Ok(None),
        Some(v) => codec::decode(TREE_NAMES[t as usize], key, &v).map(Some),
    }
}

/// The agency's ancestors, nearest first (not itself). At most
/// `MAX_DEPTH - 1`: a longer chain, or one that comes back to an agency
/// already on it (a cycle planted in the store: no write makes one), is
/// damage naming the agencies, never an endless walk.
pub(crate) fn ancestors_in(r: &impl Reader, uscc: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut at = uscc.to_owned();
    for _ in 0..MAX_DEPTH {
        let Some(a) = read_msg::<Agency>(r, T::Agencies, at.as_bytes())? else {
            return Err(StoreError::NotFound(agency_name(&at)));
        };
        if a.supervisor.is_empty() {
            return Ok(out);
        }
        let next = supervisor_code(&a.supervisor).to_owned();
        if next == uscc || out.contains(&next) {
            let chain: Vec<String> = std::iter::once(uscc)
                .chain(out.iter().map(String::as_str))
                .chain(std::iter::once(next.as_str()))
                .map(agency_name)
                .collect();
            return Err(StoreError::Corrupt {
                tree: "agencies",
                key: hex::encode(&at),
                reason: format!(
                    "the supervision chain comes back on itself: {}",
                    chain.join(" → ")
                ),
            });
        }
        at = next;
        out.push(at.clone());
    }
    Err(StoreError::Corrupt {
        tree: "agencies",
        key: hex::encode(uscc),
        reason: format!(
            "the supervision chain of {} is deeper than {MAX_DEPTH} levels",
            agency_name(uscc)
        ),
    })
}

/// Entries of a tree in key order; a read that fails names the tree and
/// the last key read before it (the damaged entry lies just after).
pub(crate) struct Entries {
    tree: T,
    last: Option<sled::IVec>,
    inner: sled::Iter,
}

impl Entries {
    pub(crate) fn new(tree: T, inner: sled::Iter) -> Entries {
        Entries {
            tree,
            last: None,
            inner,
        }
    }
}

impl Iterator for Entries {
    type Item = Result<(sled::IVec, sled::IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(match self.inner.next()? {
            Ok((k, v)) => {
                self.last = Some(k.clone());
                Ok((k, v))
            }
            Err(e @ sled::Error::Corruption { .. }) => Err(StoreError::Corrupt {
                tree: TREE_NAMES[self.tree as usize],
                key: self.last.as_ref().map(hex::encode).unwrap_or_default(),
                reason: match &self.last {
                    Some(_) => format!("sled cannot read the entry after this key: {e}"),
                    None => format!("sled cannot read the tree's first entry: {e}"),
                },
            }),
            Err(e) => Err(StoreError::from(e)),
        })
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

/// Whether an event passes `filter`; `agency` is the filter's agency as a
/// resource name.
fn event_kept(e: &AuditEvent, filter: &EventFilter, agency: Option<&str>) -> bool {
    let time = e.time.and_then(|t| SystemTime::try_from(t).ok());
    agency.is_none_or(|a| {
        e.resource == a
            || e.resource
                .strip_prefix(a)
                .is_some_and(|rest| rest.starts_with('/'))
    }) && filter.action.is_none_or(|x| e.action() == x)
        && filter.since.is_none_or(|s| time.is_some_and(|t| t >= s))
        && filter.until.is_none_or(|u| time.is_some_and(|t| t < u))
}

pub(crate) fn agency_name(uscc: &str) -> String {
    format!("agencies/{uscc}")
}

/// Accepts a supervisor as `agencies/{uscc}` or a bare code.
pub(crate) fn supervisor_code(s: &str) -> &str {
    s.strip_prefix("agencies/").unwrap_or(s)
}

/// A named supervisor's code, validated: `agencies/` alone is not "none".
pub(crate) fn named_supervisor(s: &str) -> Result<Option<String>> {
    if s.is_empty() {
        return Ok(None);
    }
    let code = supervisor_code(s);
    keys::uscc(code)?;
    Ok(Some(code.to_owned()))
}

impl SledStore {
    /// Opens (or creates) the store at `path`. A store of a newer format is
    /// refused.
    pub fn open(path: impl AsRef<Path>, options: &StoreOptions) -> Result<SledStore> {
        let path = path.as_ref().to_path_buf();
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(options.cache_capacity)
            .open()?;
        SledStore::with_db(db, path)
    }

    /// The store over an open sled database (restore builds its store over
    /// a database it opened to import into).
    pub(crate) fn with_db(db: sled::Db, path: PathBuf) -> Result<SledStore> {
        let trees = TREE_NAMES
            .iter()
            .map(|n| db.open_tree(n))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let meta = &trees[T::Meta as usize];
        match meta.get(FORMAT_KEY)? {
            Some(v) => {
                let bytes: [u8; 4] = v.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                    tree: "meta",
                    key: hex::encode(FORMAT_KEY),
                    reason: "format is not a u32".into(),
                })?;
                let found = u32::from_be_bytes(bytes);
                if found > STORE_FORMAT {
                    return Err(StoreError::NewerFormat {
                        found,
                        supported: STORE_FORMAT,
                    });
                }
            }
            None => {
                let holds_data = trees.iter().skip(1).any(|t| !t.is_empty());
                if holds_data {
                    return Err(StoreError::Corrupt {
                        tree: "meta",
                        key: hex::encode(FORMAT_KEY),
                        reason: "the store holds data but no format version".into(),
                    });
                }
                meta.insert(FORMAT_KEY, &STORE_FORMAT.to_be_bytes())?;
                db.flush()?;
            }
        }
        // fdatasync acts on the file, whichever descriptor asks.
        let data_file = std::fs::File::open(path.join("db"))?;
        let commit = Arc::new(GroupCommit::start(
            db.clone(),
            data_file,
            Some(path.join("blobs")),
        )?);
        let gate = Arc::new(RwLock::new(()));
        let writer = Writer::start(trees.clone(), Arc::clone(&gate), Arc::clone(&commit))?;
        let store = SledStore {
            writer,
            db,
            trees,
            gate,
            commit,
            path,
            max_agencies: gongkai_domain::catalogue::MAX_AGENCIES,
        };
        crate::summary::build_if_missing(&store)?;
        store.count_agencies_if_missing()?;
        Ok(store)
    }

    /// Counts the agencies of a store written before the count was kept,
    /// once, when it is opened.
    fn count_agencies_if_missing(&self) -> Result<()> {
        let meta = self.tree(T::Meta);
        if meta
            .get(AGENCY_COUNT_KEY)
            .map_err(|e| storage_error(T::Meta, AGENCY_COUNT_KEY, e))?
            .is_some()
        {
            return Ok(());
        }
        let mut n: u64 = 0;
        for kv in self.entries(T::Agencies) {
            kv?;
            n = n.saturating_add(1);
        }
        meta.insert(AGENCY_COUNT_KEY, &n.to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Lowers the most agencies registered, so a test can fill the store.
    #[cfg(test)]
    pub(crate) fn set_max_agencies(&mut self, n: u64) {
        self.max_agencies = n;
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many of sled's blob files (log items over ≈ 128 KiB, kept in
    /// files of their own) have been synced before the writes naming them
    /// were acknowledged.
    pub fn blobs_synced(&self) -> u64 {
        self.commit.blobs_synced()
    }

    /// Bytes on disk, as sled counts them.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }

    pub(crate) fn tree(&self, t: T) -> &sled::Tree {
        &self.trees[t as usize]
    }

    /// Every entry of `t`, in key order (see [`Entries`]).
    pub(crate) fn entries(&self, t: T) -> Entries {
        Entries::new(t, self.tree(t).iter())
    }

    /// The entries of `t` whose keys start with `prefix`.
    pub(crate) fn entries_under(&self, t: T, prefix: &[u8]) -> Entries {
        Entries::new(t, self.tree(t).scan_prefix(prefix))
    }

    pub(crate) fn db(&self) -> &sled::Db {
        &self.db
    }

    #[cfg(test)]
    pub(crate) fn group_commit(&self) -> &GroupCommit {
        &self.commit
    }

    /// Holds back every report write (the writer thread waits for the
    /// gate), so a test can queue writes that are surely not applied yet.
    #[cfg(test)]
    pub(crate) fn hold_writes(&self) -> RwLockWriteGuard<'_, ()> {
        self.exclusive()
    }

    /// Makes everything written so far durable without taking the write lock
    /// (the backup already holds it).
    pub(crate) fn flush_for_backup(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    fn get<M: Message + Default>(&self, t: T, key: &[u8]) -> Result<Option<M>> {
        read_msg(self, t, key)
    }

    /// The store alone: no report write (the writer takes the shared side
    /// per batch) and no other scan or tree change runs meanwhile.
    fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate.write().unwrap_or_else(PoisonError::into_inner)
    }

    // ------------------------------------------------------------ the tree

    /// The agency and every agency under it, breadth first.
    pub(crate) fn subtree(&self, uscc: &str) -> Result<Vec<String>> {
        Ok(self.subtree_levels(uscc)?.0)
    }

    /// [`SledStore::subtree`], and how many levels it spans (1: the agency
    /// alone). The walk keeps every agency it met: one met again (a cycle
    /// of `children` edges, or an agency under two supervisors, which no
    /// write makes) or a subtree deeper than `MAX_DEPTH` is damage naming
    /// the agencies, never an endless walk; the walk holds at most one entry
    /// per registered agency.
    pub(crate) fn subtree_levels(&self, uscc: &str) -> Result<(Vec<String>, usize)> {
        let mut out = vec![uscc.to_owned()];
        // Each agency met, with the agency it was met under.
        let mut met: std::collections::HashMap<String, String> =
            std::collections::HashMap::from([(uscc.to_owned(), String::new())]);
        let (mut start, mut levels) = (0, 0);
        while start < out.len() {
            if levels == MAX_DEPTH {
                return Err(StoreError::Corrupt {
                    tree: "children",
                    key: hex::encode(uscc),
                    reason: format!(
                        "the subtree of {} is deeper than {MAX_DEPTH} levels",
                        agency_name(uscc)
                    ),
                });
            }
            let end = out.len();
            for i in start..end {
                let parent = out[i].clone();
                for kv in self.entries_under(T::Children, parent.as_bytes()) {
                    let (k, _) = kv?;
                    let child = k
                        .get(keys::USCC_LEN..)
                        .and_then(|c| std::str::from_utf8(c).ok())
                        .ok_or_else(|| StoreError::Corrupt {
                            tree: "children",
                            key: hex::encode(&k),
                            reason: "edge key of the wrong shape".into(),
                        })?;
                    if let Some(first) = met.get(child) {
                        let before = if first.is_empty() {
                            "it is where the walk began".to_owned()
                        } else {
                            format!("it was met under {} already", agency_name(first))
                        };
                        return Err(StoreError::Corrupt {
                            tree: "children",
                            key: hex::encode(&k),
                            reason: format!(
                                "walking the subtree of {}, the edge {} → {} meets {} again ({before}): the children edges make a cycle or give it two supervisors",
                                agency_name(uscc),
                                agency_name(&parent),
                                agency_name(child),
                                agency_name(child),
                            ),
                        });
                    }
                    met.insert(child.to_owned(), parent.clone());
                    out.push(child.to_owned());
                }
            }
            start = end;
            levels = levels.saturating_add(1);
        }
        Ok((out, levels))
    }

    // ------------------------------------------------------------ writing

    /// Runs one write alone (agency writes, which hold the gate
    /// exclusively): idempotency, plan, audit event and apply in one
    /// transaction, then durability. `gate` is released before waiting.
    fn write(
        &self,
        gate: RwLockWriteGuard<'_, ()>,
        w: &WriteMeta,
        fingerprint: &[u8],
        plan_write: impl Fn(&TxView<'_>, &mut Plan) -> Result<(Outcome, AuditDraft)> + Send,
    ) -> Result<Outcome> {
        let request_key = request_key(w)?;
        if let Some(e) = self.commit.refusal() {
            return Err(e);
        }
        let result: std::result::Result<Done, TransactionError<StoreError>> =
            self.trees.as_slice().transaction(|trees| {
                apply_write(
                    &TxView(trees),
                    trees,
                    w,
                    &request_key,
                    fingerprint,
                    &plan_write,
                )?
                .map_err(ConflictableTransactionError::Abort)
            });
        drop(gate);
        let done = result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::from(e),
        })?;
        // A replayed first call may itself still be waiting for its flush.
        self.commit.wait_durable()?;
        match done {
            Done::Wrote(outcome) => Ok(outcome),
            Done::Replay(rec) => self.replay(&rec),
        }
    }

    /// Plans the audit event, the chain head and the request record of a write.
    pub(crate) fn plan_event(
        r: &TxView<'_>,
        plan: &mut Plan,
        w: &WriteMeta,
        request_key: &[u8],
        fingerprint: &[u8],
        audit: AuditDraft,
    ) -> Result<()> {
        let head = read_msg::<AuditHead>(r, T::Meta, AUDIT_HEAD_KEY)?.unwrap_or_default();
        let sequence = head
            .sequence
            .checked_add(1)
            .ok_or_else(|| StoreError::Io("audit sequence exhausted".into()))?;
        let previous = if head.event_sha256.is_empty() {
            vec![0; 32]
        } else {
            head.event_sha256
        };
        let event = AuditEvent {
            sequence,
            time: Some(timestamp(w.time)),
            principal: w.principal.clone(),
            action: audit.action.into(),
            resource: audit.resource.clone(),
            revision: audit.revision,
            revision_sha256: audit.record_sha256,
            previous_event_sha256: previous,
            request_id: w.request_id.clone(),
        };
        let event_bytes = codec::encode(&event);
        let event_sha = sha256(&event_bytes);
        let seq_key = sequence.to_be_bytes();
        plan.put(T::Events, seq_key, &event_bytes);
        plan.put(T::EventHashes, seq_key, &event_sha);
        plan.put(
            T::Meta,
            AUDIT_HEAD_KEY,
            codec::encode(&AuditHead {
                sequence,
                event_sha256: event_sha,
            }),
        );
        plan.put(
            T::Requests,
            request_key,
            codec::encode(&IdempotencyRecord {
                request_sha256: fingerprint.to_vec(),
                resource: audit.resource,
                revision: audit.revision,
                event_sequence: sequence,
            }),
        );
        Ok(())
    }

    fn replay(&self, rec: &IdempotencyRecord) -> Result<Outcome> {
        replay_in(self, rec)
    }

    /// Plans the index entries of a report's state for its agency and every
    /// ancestor: `insert` adds them, otherwise they are removed.
    fn plan_report_index(
        plan: &mut Plan,
        key: &ReportKey,
        state: ReviewState,
        area: &[String],
        insert: bool,
    ) -> Result<()> {
        let uscc = keys::uscc(&key.uscc)?;
        let year = keys::year(key.year)?;
        let s = [u8::try_from(i32::from(state)).unwrap_or(0)];
        let state_key = keys::join(&[&s, &year, uscc]);
        if insert {
            plan.put(T::ByState, state_key, []);
        } else {
            plan.del(T::ByState, state_key);
        }
        for a in area {
            let ak = keys::uscc(a)?;
            let area_state = keys::join(&[ak, &s, &year, uscc]);
            if insert {
                plan.put(T::AreaState, area_state, []);
                plan.put(T::AreaYear, keys::join(&[ak, &year, uscc]), []);
            } else {
                plan.del(T::AreaState, area_state);
            }
        }
        Ok(())
    }

    /// Makes a revision ahead of its write where it can: number
    /// `expected + 1`, the state `op` leads to, `content`, or for a review
    /// action the content of revision `expected` if it is stored already.
    /// When it is not, nothing is judged here: the write creating it may be
    /// queued ahead of this one, and the transaction decides (see
    /// [`Next::Review`]).
    #[allow(clippy::too_many_arguments)] // one write's whole context, used once
    fn prepare(
        &self,
        w: &WriteMeta,
        key: &ReportKey,
        expected: u32,
        op: Op,
        content: Option<AnnualReport>,
        checked: Checked,
        comments: Vec<ReviewComment>,
    ) -> Result<Next> {
        let Some(number) = expected.checked_add(1) else {
            // The expectation is judged first: it is stale unless it is the
            // latest revision, and only then are the numbers exhausted.
            let latest = self.head(key)?.map_or(0, |h| h.latest_revision);
            if latest != expected {
                return Err(StoreError::Conflict {
                    resource: key.name(),
                    expected,
                    actual: latest,
                });
            }
            return Err(StoreError::InvalidArgument(format!(
                "{}: revision numbers exhausted",
                key.name()
            )));
        };
        let content = match content {
            Some(c) => Some(c),
            None if expected == 0 => None,
            None => self.revision(key, expected)?.and_then(|r| r.report),
        };
        let record = ReportRevision {
            name: key.revision_name(number),
            revision: number,
            state: state::target(op).into(),
            report: content,
            findings: checked.findings,
            ruleset_version: checked.ruleset_version,
            author: w.principal.clone(),
            create_time: Some(timestamp(w.time)),
            comments,
            previous_revision: expected,
            request_id: w.request_id.clone(),
        };
        Ok(match record.report {
            Some(_) => Next::Ready(Prepared::new(record)),
            None => Next::Review(record),
        })
    }

    /// Queues new content as revision `expected + 1` (a draft, or submitted
    /// at once); the fingerprint names the operation, so one request id
    /// cannot stand for both.
    fn write_content(
        &self,
        w: &WriteMeta,
        key: &ReportKey,
        expected: u32,
        report: AnnualReport,
        checked: Checked,
        op: Op,
    ) -> Result<Pending<ReportRevision>> {
        keys::report(key)?;
        let fp = content_fingerprint(op, key, expected, &report)?;
        let next = self.prepare(w, key, expected, op, Some(report), checked, Vec::new())?;
        Ok(self.write_revision(w, fp, key, expected, op, next))
    }

    /// Writes a revision through the writer thread (batched with the
    /// writes queued beside it, see writer.rs); answered once durable. A
    /// retried request gets the first call's revision.
    fn write_revision(
        &self,
        w: &WriteMeta,
        fingerprint: Vec<u8>,
        key: &ReportKey,
        expected: u32,
        op: Op,
        next: Next,
    ) -> Pending<ReportRevision> {
        let request_key = match request_key(w) {
            Ok(k) => k,
            Err(e) => return Pending::ready(Err(e)),
        };
        let next = Arc::new(next);
        let planned = Arc::clone(&next);
        let key = key.clone();
        let trees = self.trees.clone();
        let request_id = w.request_id.clone();
        let (answer, completer) = pending::pending();
        let reply: Reply = Box::new(move |done: Result<Done>| {
            let outcome = done.and_then(|done| match done {
                Done::Wrote(outcome) => Ok(outcome),
                Done::Replay(rec) => replay_in(&trees, &rec),
            });
            completer.complete(match outcome {
                // The writer dropped its share before answering. Only a
                // `Next::Ready` is answered `Prepared`: a review made in the
                // transaction comes back as `Revision`.
                Ok(Outcome::Prepared) => Ok(Arc::try_unwrap(next)
                    .map_or_else(|shared| shared.record().clone(), Next::into_record)),
                Ok(Outcome::Revision(r)) => Ok(*r),
                Ok(Outcome::Agency(_)) => Err(StoreError::RequestIdReused(request_id)),
                Err(e) => Err(e),
            });
        });
        self.writer.submit(Job {
            meta: w.clone(),
            request_key,
            fingerprint,
            plan: Box::new(move |r, plan| {
                Self::plan_revision(r, plan, &key, expected, op, &planned)
            }),
            reply,
        });
        answer
    }

    /// Plans a revision and everything it moves, after checking (inside
    /// the transaction, so after every write queued before it) that it is
    /// still the next one and that the state machine allows it.
    fn plan_revision(
        r: &TxView<'_>,
        plan: &mut Plan,
        key: &ReportKey,
        expected: u32,
        op: Op,
        next: &Next,
    ) -> Result<(Outcome, AuditDraft)> {
        let report_key = keys::report(key)?;
        if r.raw(T::Agencies, key.uscc.as_bytes())?.is_none() {
            return Err(StoreError::NotFound(agency_name(&key.uscc)));
        }
        let head = read_msg::<ReportHead>(r, T::Heads, &report_key)?;
        let latest = head.as_ref().map_or(0, |h| h.latest_revision);
        if expected != latest {
            return Err(StoreError::Conflict {
                resource: key.name(),
                expected,
                actual: latest,
            });
        }
        let from = head.as_ref().map(|h| h.latest_state());
        let Some(to) = state::next(from, op) else {
            if head.is_none() {
                return Err(StoreError::NotFound(key.name()));
            }
            return Err(StoreError::InvalidTransition {
                resource: key.name(),
                from: from.map_or("absent", state_name),
                action: op.verb(),
            });
        };
        let judged = Judged { head, from, to };
        match next {
            Next::Ready(prepared) => {
                let audit = Self::plan_judged(r, plan, key, op, &judged, prepared)?;
                Ok((Outcome::Prepared, audit))
            }
            Next::Review(record) => {
                // Read here rather than when queued: the write that stored
                // it may have been applied only just now, in this batch.
                let content =
                    read_msg::<ReportRevision>(r, T::Revisions, &keys::revision(key, latest)?)?
                        .and_then(|stored| stored.report)
                        .ok_or_else(|| StoreError::NotFound(key.revision_name(latest)))?;
                let made = Prepared::new(ReportRevision {
                    report: Some(content),
                    ..record.clone()
                });
                let audit = Self::plan_judged(r, plan, key, op, &judged, &made)?;
                Ok((Outcome::Revision(Box::new(made.record)), audit))
            }
        }
    }

    /// Plans a revision the transaction has judged allowed: its bytes, the
    /// head, the indexes, the area sums.
    fn plan_judged(
        r: &TxView<'_>,
        plan: &mut Plan,
        key: &ReportKey,
        op: Op,
        judged: &Judged,
        prepared: &Prepared,
    ) -> Result<AuditDraft> {
        let Judged { head, from, to } = judged;
        let (from, to) = (*from, *to);
        let report_key = keys::report(key)?;
        let number = prepared.record.revision;
        if let Some(b) = plan.batches.get_mut(T::Revisions as usize) {
            b.insert(keys::revision(key, number)?, prepared.bytes.clone());
        }
        let approved = match (to, head.as_ref()) {
            (ReviewState::Approved, _) => number,
            (_, Some(h)) => h.approved_revision,
            (_, None) => 0,
        };
        plan.put(
            T::Heads,
            &report_key,
            codec::encode(&ReportHead {
                latest_revision: number,
                latest_state: to.into(),
                approved_revision: approved,
            }),
        );
        // Index entries change only with the state, and by_year and the
        // area_year entries only with a report's first revision. The
        // ancestors are walked once, for the indexes and the sums alike.
        let moves_index = from != Some(to);
        let approves = to == ReviewState::Approved;
        let ancestors = if moves_index || approves {
            ancestors_in(r, &key.uscc)?
        } else {
            Vec::new()
        };
        if moves_index {
            let mut area = Vec::with_capacity(ancestors.len().saturating_add(1));
            area.push(key.uscc.clone());
            area.extend(ancestors.iter().cloned());
            if let Some(old) = from {
                Self::plan_report_index(plan, key, old, &area, false)?;
            }
            Self::plan_report_index(plan, key, to, &area, true)?;
        }
        if approves {
            let superseded = head.as_ref().map_or(0, |h| h.approved_revision);
            crate::summary::plan_approval(r, plan, key, &ancestors, superseded, &prepared.record)?;
        }
        if head.is_none() {
            plan.put(
                T::ByYear,
                keys::join(&[&keys::year(key.year)?, key.uscc.as_bytes()]),
                [],
            );
        }
        Ok(AuditDraft {
            action: op.audit_action(),
            resource: key.name(),
            revision: number,
            record_sha256: prepared.sha256.clone(),
        })
    }

    fn plan_agency_version(
        plan: &mut Plan,
        agency: &Agency,
        action: AuditAction,
    ) -> Result<AuditDraft> {
        let uscc = keys::uscc(&agency.uscc)?;
        let bytes = codec::encode(agency);
        plan.put(T::Agencies, uscc, &bytes);
        plan.put(
            T::AgencyVersions,
            keys::join(&[uscc, &agency.version.to_be_bytes()]),
            &bytes,
        );
        Ok(AuditDraft {
            action,
            resource: agency_name(&agency.uscc),
            revision: agency.version,
            record_sha256: sha256(&bytes),
        })
    }

    // ------------------------------------------------------------ listing

    /// Scans `t` under `prefix` after the cursor, mapping each key to an item.
    fn scan<I>(
        &self,
        t: T,
        listing: &str,
        prefix: &[u8],
        page: &PageRequest,
        mut item: impl FnMut(&[u8], &[u8]) -> Result<Option<I>>,
    ) -> Result<Page<I>> {
        let size = match page.size {
            0 => 50,
            n => usize::try_from(n.min(1000)).unwrap_or(1000),
        };
        let after = keys::parse_cursor(listing, &page.cursor)?;
        if let Some(a) = &after
            && !a.starts_with(prefix)
        {
            return Err(StoreError::InvalidField {
                field: "page_token",
                reason: format!("'{}' belongs to another query", page.cursor),
            });
        }
        let iter = Entries::new(
            t,
            match &after {
                Some(a) => self.tree(t).range((
                    std::ops::Bound::Excluded(a.clone()),
                    std::ops::Bound::Unbounded,
                )),
                None => self.tree(t).range(prefix.to_vec()..),
            },
        );
        let mut items = Vec::new();
        let mut last: Option<Vec<u8>> = None;
        let mut examined = 0usize;
        for kv in iter {
            let (k, v) = kv?;
            if !k.starts_with(prefix) {
                return Ok(Page {
                    items,
                    next_cursor: String::new(),
                });
            }
            if items.len() == size || examined == SCAN_LIMIT {
                // More remain: resume after the last key examined.
                let next_cursor = last.map(|l| keys::cursor(listing, &l)).unwrap_or_default();
                return Ok(Page { items, next_cursor });
            }
            examined = examined.saturating_add(1);
            if let Some(i) = item(&k, &v)? {
                items.push(i);
            }
            last = Some(k.to_vec());
        }
        Ok(Page {
            items,
            next_cursor: String::new(),
        })
    }

    /// The listed report, if its head agrees with the filter. Index entries
    /// are read without the write lock, so one may be a moment ahead of or
    /// behind its head; the head decides.
    fn summary(&self, key: ReportKey, filter: &ReportFilter) -> Result<Option<ReportSummary>> {
        let Some(head) = self.get::<ReportHead>(T::Heads, &keys::report(&key)?)? else {
            return Ok(None);
        };
        if filter.state.is_some_and(|s| head.latest_state() != s)
            || filter.year.is_some_and(|y| y != key.year)
        {
            return Ok(None);
        }
        Ok(Some(ReportSummary { key, head }))
    }
}

/// What the audit event of a write records.
pub(crate) struct AuditDraft {
    action: AuditAction,
    resource: String,
    revision: u32,
    record_sha256: Vec<u8>,
}

/// A supervisor under which the supervision tree would grow deeper than
/// every walk of it goes.
fn too_deep(supervisor: &str, depth: usize) -> StoreError {
    StoreError::InvalidField {
        field: "supervisor",
        reason: format!(
            "under {} the supervision tree would be {depth} levels deep; at most {MAX_DEPTH}",
            agency_name(supervisor)
        ),
    }
}

/// How many agencies are registered (kept in `meta`, counted once when a
/// store older than the count is opened).
pub(crate) fn agency_count(r: &impl Reader) -> Result<u64> {
    match r.raw(T::Meta, AGENCY_COUNT_KEY)? {
        None => Ok(0),
        Some(v) => v
            .as_ref()
            .try_into()
            .map(u64::from_be_bytes)
            .map_err(|_| StoreError::Corrupt {
                tree: "meta",
                key: hex::encode(AGENCY_COUNT_KEY),
                reason: "the agency count is not a u64".into(),
            }),
    }
}

/// `agencies/{uscc}/reports/{year}` back to a key.
pub(crate) fn parse_report_name(name: &str) -> Result<ReportKey> {
    let bad = || {
        StoreError::InvalidArgument(format!(
            "'{name}' is not agencies/{{uscc}}/reports/{{year}}"
        ))
    };
    let rest = name.strip_prefix("agencies/").ok_or_else(bad)?;
    let (uscc, year) = rest.split_once("/reports/").ok_or_else(bad)?;
    let year: u32 = year.parse().map_err(|_| bad())?;
    keys::uscc(uscc)?;
    keys::year(year)?;
    Ok(ReportKey {
        uscc: uscc.to_owned(),
        year,
    })
}

/// The request record's key: request ids are each principal's own, so one
/// caller's id never replays another's result.
fn request_key(w: &WriteMeta) -> Result<Vec<u8>> {
    keys::request_id(&w.request_id)?;
    Ok(format!("{}/{}", w.principal, w.request_id).into_bytes())
}

/// Plans and applies one write inside a transaction: the request-id check,
/// the write's own plan, its audit event. `Ok(Err(_))`: refused while
/// planning, nothing of it applied (the transaction may go on with other
/// writes). `Err(_)`: a failure to apply, which aborts the transaction.
pub(crate) fn apply_write(
    r: &TxView<'_>,
    trees: &[sled::transaction::TransactionalTree],
    w: &WriteMeta,
    request_key: &[u8],
    fingerprint: &[u8],
    plan_write: &PlanWrite<'_>,
) -> std::result::Result<Result<Done>, ConflictableTransactionError<StoreError>> {
    let planned = || -> Result<(Option<Plan>, Done)> {
        if let Some(rec) = read_msg::<IdempotencyRecord>(r, T::Requests, request_key)? {
            if rec.request_sha256 != fingerprint {
                return Err(StoreError::RequestIdReused(w.request_id.clone()));
            }
            return Ok((None, Done::Replay(rec)));
        }
        let mut plan = Plan::new();
        let (outcome, audit) = plan_write(r, &mut plan)?;
        SledStore::plan_event(r, &mut plan, w, request_key, fingerprint, audit)?;
        Ok((Some(plan), Done::Wrote(outcome)))
    };
    match planned() {
        Err(e) => Ok(Err(e)),
        Ok((plan, done)) => {
            for (tree, batch) in trees.iter().zip(plan.iter().flat_map(|p| &p.batches)) {
                tree.apply_batch(batch)
                    .map_err(|e| ConflictableTransactionError::Abort(tx_err(e)))?;
            }
            Ok(Ok(done))
        }
    }
}

/// A request's fingerprint: the SHA-256 of its method and its parameters,
/// each length-prefixed. A retried request id must come with the same one.
fn fingerprint(method: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().to_vec()
}

/// The fingerprint of a write of new content (`SaveDraft`, `SaveAndSubmit`):
/// also what `verify` recomputes from the revision it stored.
pub(crate) fn content_fingerprint(
    op: Op,
    key: &ReportKey,
    expected: u32,
    report: &AnnualReport,
) -> Result<Vec<u8>> {
    let method = match op {
        Op::SaveDraft => "save_draft",
        Op::SaveAndSubmit => "save_and_submit",
        Op::Review(_) => {
            return Err(StoreError::InvalidArgument(
                "a review action carries no content".into(),
            ));
        }
    };
    Ok(fingerprint(
        method,
        &[
            key.name().as_bytes(),
            &expected.to_be_bytes(),
            &report.encode_to_vec(),
        ],
    ))
}

/// The fingerprint of a review action: also what `verify` recomputes from
/// the revision it stored.
pub(crate) fn review_fingerprint(
    op: Op,
    key: &ReportKey,
    expected: u32,
    comments: &[ReviewComment],
) -> Vec<u8> {
    // Each comment is its own length-prefixed part, so regrouped comments differ.
    let encoded: Vec<Vec<u8>> = comments.iter().map(Message::encode_to_vec).collect();
    let name = key.name();
    let expected_bytes = expected.to_be_bytes();
    let mut parts: Vec<&[u8]> = vec![name.as_bytes(), &expected_bytes];
    parts.extend(encoded.iter().map(Vec::as_slice));
    fingerprint(op.verb(), &parts)
}

/// The fingerprint of a supervisor change: also what `verify` recomputes
/// from the agency version it stored.
pub(crate) fn supervisor_fingerprint(
    uscc: &str,
    supervisor: Option<&str>,
    expected_version: u32,
) -> Vec<u8> {
    fingerprint(
        "set_supervisor",
        &[
            uscc.as_bytes(),
            supervisor.unwrap_or("").as_bytes(),
            &expected_version.to_be_bytes(),
        ],
    )
}

impl ReportStore for SledStore {
    fn register_agency(&self, w: &WriteMeta, agency: Agency) -> Result<Agency> {
        keys::uscc(&agency.uscc)?;
        if agency.display_name.trim().is_empty() {
            return Err(StoreError::InvalidArgument(format!(
                "agency {} has no display_name (机关名称)",
                agency.uscc
            )));
        }
        let fp = fingerprint("register_agency", &[&agency.encode_to_vec()]);
        let max_agencies = self.max_agencies;
        // Exclusive: a tree change must not interleave with set_supervisor's scans.
        let out = self.write(self.exclusive(), w, &fp, |r, plan| {
            if r.raw(T::Agencies, agency.uscc.as_bytes())?.is_some() {
                return Err(StoreError::AlreadyExists(agency_name(&agency.uscc)));
            }
            // The area sums are proven not to overflow for so many agencies.
            let registered = agency_count(r)?;
            if registered >= max_agencies {
                return Err(StoreError::Full(registered));
            }
            plan.put(
                T::Meta,
                AGENCY_COUNT_KEY,
                registered.saturating_add(1).to_be_bytes(),
            );
            let supervisor = named_supervisor(&agency.supervisor)?.unwrap_or_default();
            if !supervisor.is_empty() {
                if r.raw(T::Agencies, supervisor.as_bytes())?.is_none() {
                    return Err(StoreError::NotFound(format!(
                        "supervisor {}",
                        agency_name(&supervisor)
                    )));
                }
                // Itself, its supervisor and the supervisor's ancestors.
                let depth = ancestors_in(r, &supervisor)?.len().saturating_add(2);
                if depth > MAX_DEPTH {
                    return Err(too_deep(&supervisor, depth));
                }
                plan.put(
                    T::Children,
                    keys::join(&[supervisor.as_bytes(), agency.uscc.as_bytes()]),
                    [],
                );
            }
            let stored = Agency {
                name: agency_name(&agency.uscc),
                supervisor: if supervisor.is_empty() {
                    String::new()
                } else {
                    agency_name(&supervisor)
                },
                version: 1,
                ..agency.clone()
            };
            let audit = Self::plan_agency_version(plan, &stored, AuditAction::AgencyRegistered)?;
            Ok((Outcome::Agency(stored), audit))
        })?;
        match out {
            Outcome::Agency(a) => Ok(a),
            Outcome::Prepared | Outcome::Revision(_) => {
                Err(StoreError::RequestIdReused(w.request_id.clone()))
            }
        }
    }

    fn set_supervisor(
        &self,
        w: &WriteMeta,
        uscc: &str,
        supervisor: Option<&str>,
        expected_version: u32,
    ) -> Result<Agency> {
        keys::uscc(uscc)?;
        let new_sup = match supervisor {
            Some(s) => named_supervisor(s)?,
            None => None,
        };
        let fp = supervisor_fingerprint(uscc, new_sup.as_deref(), expected_version);
        // Exclusive: the scans below must see the tree no other write is changing.
        let gate = self.exclusive();
        let current = self
            .get::<Agency>(T::Agencies, uscc.as_bytes())?
            .ok_or_else(|| StoreError::NotFound(agency_name(uscc)))?;
        let (members, levels) = self.subtree_levels(uscc)?;
        let mut reports = Vec::new();
        for m in &members {
            for kv in self.entries_under(T::Heads, m.as_bytes()) {
                let (k, v) = kv?;
                let head: ReportHead = codec::decode("heads", &k, &v)?;
                reports.push((keys::parse_report("heads", &k)?, head.latest_state()));
            }
        }
        let out = self.write(gate, w, &fp, |r, plan| {
            let current = read_msg::<Agency>(r, T::Agencies, uscc.as_bytes())?
                .unwrap_or_else(|| current.clone());
            if current.version != expected_version {
                return Err(StoreError::Conflict {
                    resource: agency_name(uscc),
                    expected: expected_version,
                    actual: current.version,
                });
            }
            if let Some(s) = &new_sup {
                if r.raw(T::Agencies, s.as_bytes())?.is_none() {
                    return Err(StoreError::NotFound(format!(
                        "supervisor {}",
                        agency_name(s)
                    )));
                }
                if members.contains(s) {
                    return Err(StoreError::InvalidField {
                        field: "supervisor",
                        reason: format!(
                            "{} is within {}'s subtree: the supervision tree cannot have a cycle",
                            agency_name(s),
                            agency_name(uscc)
                        ),
                    });
                }
            }
            let old_sup = supervisor_code(&current.supervisor).to_owned();
            let old_above = ancestors_in(r, uscc)?;
            let new_above = match &new_sup {
                Some(s) => {
                    let mut v = vec![s.clone()];
                    v.extend(ancestors_in(r, s)?);
                    v
                }
                None => Vec::new(),
            };
            let depth = new_above.len().saturating_add(levels);
            if let Some(s) = new_sup.as_ref().filter(|_| depth > MAX_DEPTH) {
                return Err(too_deep(s, depth));
            }
            crate::summary::plan_move(r, plan, uscc, &reports, &old_above, &new_above)?;
            // Move every report of the subtree from the old ancestors' area
            // indexes to the new ones'.
            for (key, state) in &reports {
                let year = keys::year(key.year)?;
                for a in &old_above {
                    plan.del(
                        T::AreaYear,
                        keys::join(&[a.as_bytes(), &year, key.uscc.as_bytes()]),
                    );
                }
                Self::plan_report_index(plan, key, *state, &old_above, false)?;
                // Removal then insertion: by_state ends up unchanged.
                Self::plan_report_index(plan, key, *state, &new_above, true)?;
            }
            if !old_sup.is_empty() {
                plan.del(
                    T::Children,
                    keys::join(&[old_sup.as_bytes(), uscc.as_bytes()]),
                );
            }
            if let Some(s) = &new_sup {
                plan.put(
                    T::Children,
                    keys::join(&[s.as_bytes(), uscc.as_bytes()]),
                    [],
                );
            }
            let version = current
                .version
                .checked_add(1)
                .ok_or_else(|| StoreError::InvalidArgument("agency versions exhausted".into()))?;
            let stored = Agency {
                supervisor: new_sup.as_deref().map(agency_name).unwrap_or_default(),
                version,
                ..current.clone()
            };
            let audit =
                Self::plan_agency_version(plan, &stored, AuditAction::AgencySupervisorChanged)?;
            Ok((Outcome::Agency(stored), audit))
        })?;
        match out {
            Outcome::Agency(a) => Ok(a),
            Outcome::Prepared | Outcome::Revision(_) => {
                Err(StoreError::RequestIdReused(w.request_id.clone()))
            }
        }
    }

    fn agency(&self, uscc: &str) -> Result<Option<Agency>> {
        self.get(T::Agencies, keys::uscc(uscc)?)
    }

    fn list_agencies(&self, page: &PageRequest) -> Result<Page<Agency>> {
        self.scan(T::Agencies, "agencies", b"", page, |k, v| {
            codec::decode("agencies", k, v).map(Some)
        })
    }

    fn is_within(&self, ancestor: &str, uscc: &str) -> Result<bool> {
        keys::uscc(ancestor)?;
        keys::uscc(uscc)?;
        Ok(uscc == ancestor || ancestors_in(self, uscc)?.iter().any(|a| a == ancestor))
    }

    fn ancestors(&self, uscc: &str) -> Result<Vec<String>> {
        keys::uscc(uscc)?;
        ancestors_in(self, uscc)
    }

    fn save_draft_pending(
        &self,
        w: &WriteMeta,
        key: &ReportKey,
        expected: u32,
        report: AnnualReport,
        checked: Checked,
    ) -> Pending<ReportRevision> {
        self.write_content(w, key, expected, report, checked, Op::SaveDraft)
            .unwrap_or_else(|e| Pending::ready(Err(e)))
    }

    fn save_and_submit_pending(
        &self,
        w: &WriteMeta,
        key: &ReportKey,
        expected: u32,
        report: AnnualReport,
        checked: Checked,
    ) -> Pending<ReportRevision> {
        self.write_content(w, key, expected, report, checked, Op::SaveAndSubmit)
            .unwrap_or_else(|e| Pending::ready(Err(e)))
    }

    fn transition_pending(
        &self,
        w: &WriteMeta,
        key: &ReportKey,
        expected: u32,
        action: Action,
        checked: Checked,
        comments: Vec<ReviewComment>,
    ) -> Pending<ReportRevision> {
        let start = || -> Result<Pending<ReportRevision>> {
            keys::report(key)?;
            let op = Op::Review(action);
            let fp = review_fingerprint(op, key, expected, &comments);
            let next = self.prepare(w, key, expected, op, None, checked, comments)?;
            Ok(self.write_revision(w, fp, key, expected, op, next))
        };
        start().unwrap_or_else(|e| Pending::ready(Err(e)))
    }

    fn head(&self, key: &ReportKey) -> Result<Option<ReportHead>> {
        self.get(T::Heads, &keys::report(key)?)
    }

    fn revision(&self, key: &ReportKey, revision: u32) -> Result<Option<ReportRevision>> {
        self.get(T::Revisions, &keys::revision(key, revision)?)
    }

    fn encoded_revision(
        &self,
        key: &ReportKey,
        revision: u32,
    ) -> Result<Option<prost::bytes::Bytes>> {
        let k = keys::revision(key, revision)?;
        let Some(v) = self.raw(T::Revisions, &k)? else {
            return Ok(None);
        };
        // The body after the format tag, as a view of sled's own buffer.
        let body = codec::body("revisions", &k, &v)?.len();
        let start = v.len().saturating_sub(body);
        Ok(Some(prost::bytes::Bytes::from_owner(v).slice(start..)))
    }

    fn list_revisions(&self, key: &ReportKey, page: &PageRequest) -> Result<Page<ReportRevision>> {
        let prefix = keys::report(key)?;
        self.scan(T::Revisions, "revisions", &prefix, page, |k, v| {
            codec::decode("revisions", k, v).map(Some)
        })
    }

    fn list_reports(
        &self,
        filter: &ReportFilter,
        page: &PageRequest,
    ) -> Result<Page<ReportSummary>> {
        let year = filter.year.map(keys::year).transpose()?;
        let year = year.as_ref().map_or(&[][..], |y| &y[..]);
        let state = filter
            .state
            .map(|s| [u8::try_from(i32::from(s)).unwrap_or(0)]);
        let state_b = state.as_ref().map_or(&[][..], |s| &s[..]);
        if let Some(agency) = &filter.agency {
            let uscc = keys::uscc(agency)?;
            if let Some(area) = &filter.area
                && !self.is_within(area, agency)?
            {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: String::new(),
                });
            }
            let prefix = keys::join(&[uscc, year]);
            return self.scan(T::Heads, "reports-by-agency", &prefix, page, |k, v| {
                let head: ReportHead = codec::decode("heads", k, v)?;
                if filter.state.is_some_and(|s| head.latest_state() != s) {
                    return Ok(None);
                }
                Ok(Some(ReportSummary {
                    key: keys::parse_report("heads", k)?,
                    head,
                }))
            });
        }
        let (tree, listing, prefix) = match (&filter.area, &state) {
            (Some(area), Some(_)) => (
                T::AreaState,
                "reports-by-area-state",
                keys::join(&[keys::uscc(area)?, state_b, year]),
            ),
            (Some(area), None) => (
                T::AreaYear,
                "reports-by-area",
                keys::join(&[keys::uscc(area)?, year]),
            ),
            (None, Some(_)) => (T::ByState, "reports-by-state", keys::join(&[state_b, year])),
            (None, None) if filter.year.is_some() => (T::ByYear, "reports-by-year", year.to_vec()),
            (None, None) => {
                return self.scan(T::Heads, "reports", b"", page, |k, v| {
                    Ok(Some(ReportSummary {
                        key: keys::parse_report("heads", k)?,
                        head: codec::decode("heads", k, v)?,
                    }))
                });
            }
        };
        let name = TREE_NAMES[tree as usize];
        self.scan(tree, listing, &prefix, page, |k, _| {
            let key = keys::year_uscc_suffix(name, k)?;
            self.summary(key, filter)
        })
    }

    fn area_sum(&self, area: &str, year: u32) -> Result<crate::AreaTotals> {
        crate::summary::area_sum(self, area, year)
    }

    fn coverage(&self, area: &str, year: u32) -> Result<Vec<crate::CoverageEntry>> {
        crate::summary::coverage(self, area, year)
    }

    fn list_events(&self, filter: &EventFilter, page: &PageRequest) -> Result<Page<AuditEvent>> {
        if let Some(a) = &filter.agency {
            keys::uscc(a)?;
        }
        let agency = filter.agency.as_deref().map(agency_name);
        self.scan(T::Events, "events", b"", page, |k, v| {
            let e: AuditEvent = codec::decode("events", k, v)?;
            Ok(event_kept(&e, filter, agency.as_deref()).then_some(e))
        })
    }

    fn list_events_within(
        &self,
        scope: &str,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        keys::uscc(scope)?;
        if let Some(a) = &filter.agency {
            keys::uscc(a)?;
        }
        let agency = filter.agency.as_deref().map(agency_name);
        let inside: std::collections::HashSet<String> = self.subtree(scope)?.into_iter().collect();
        let size = match page.size {
            0 => 50,
            n => usize::try_from(n.min(1000)).unwrap_or(1000),
        };
        let iter = match keys::parse_cursor("events", &page.cursor)? {
            Some(after) => self
                .tree(T::Events)
                .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => self.tree(T::Events).iter(),
        };
        let mut items = Vec::new();
        let mut last: Option<Vec<u8>> = None;
        for kv in iter {
            let (k, v) = kv?;
            let e: AuditEvent = codec::decode("events", &k, &v)?;
            let in_scope = e
                .resource
                .strip_prefix("agencies/")
                .and_then(|r| r.split('/').next())
                .is_some_and(|a| inside.contains(a));
            if !in_scope || !event_kept(&e, filter, agency.as_deref()) {
                continue;
            }
            if items.len() == size {
                // Another event to show follows: the cursor is the last
                // one shown, which the caller has seen.
                let next_cursor = last.map(|l| keys::cursor("events", &l)).unwrap_or_default();
                return Ok(Page { items, next_cursor });
            }
            items.push(e);
            last = Some(k.to_vec());
        }
        Ok(Page {
            items,
            next_cursor: String::new(),
        })
    }

    fn verify(&self) -> Result<Verification> {
        // A write in flight could show an event without its chain head (or
        // the reverse) to an unlocked reader; verify one point in time.
        let _gate = self.exclusive();
        crate::verify::verify(self)
    }

    fn backup(&self, path: &Path) -> Result<BackupStats> {
        // Holding the write lock makes the copy one consistent point in time.
        let _gate = self.exclusive();
        backup::write(self, path)
    }

    fn flush(&self) -> Result<()> {
        self.commit.wait_durable()
    }

    fn stats(&self) -> Result<StoreStats> {
        // by_state holds one key per report, `state u8 · year · uscc`: a
        // key-only walk, counted by the first byte.
        let mut counts: std::collections::BTreeMap<u8, u64> = std::collections::BTreeMap::new();
        let mut keys = Entries::new(T::ByState, self.tree(T::ByState).iter());
        while let Some((key, _)) = keys.next().transpose()? {
            if let Some(&s) = key.first() {
                let n = counts.entry(s).or_insert(0);
                *n = n.saturating_add(1);
            }
        }
        let mut reports_by_state = Vec::with_capacity(counts.len());
        for (s, n) in counts {
            let state = ReviewState::try_from(i32::from(s)).map_err(|_| StoreError::Corrupt {
                tree: "by_state",
                key: hex::encode([s]),
                reason: format!("unknown review state {s}"),
            })?;
            reports_by_state.push((state, n));
        }
        Ok(StoreStats {
            reports_by_state,
            size_on_disk: self.size_on_disk()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use gongkai_proto::v1::Agency;

    use super::*;

    fn meta(id: &str) -> WriteMeta {
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

    /// The area sums are proven for at most MAX_AGENCIES agencies: a full
    /// store registers no more, and says so; a retried registration still
    /// replays.
    #[test]
    fn a_full_store_registers_no_more_agencies() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SledStore::open(dir.path().join("db"), &StoreOptions::default()).unwrap();
        store.set_max_agencies(3);
        for n in 1..=3 {
            store
                .register_agency(&meta(&format!("r{n}")), agency(n))
                .unwrap();
        }
        let e = store.register_agency(&meta("r4"), agency(4)).unwrap_err();
        assert!(matches!(e, StoreError::Full(3)), "{e}");
        assert_eq!(store.agency(&agency(4).uscc).unwrap(), None);
        let again = store.register_agency(&meta("r3"), agency(3)).unwrap();
        assert_eq!(again.version, 1);
        assert_eq!(agency_count(&store).unwrap(), 3);
        assert_eq!(store.verify().unwrap().broken, None);
    }

    /// sled's own corruption is damage (DATA_LOSS in the server), named by
    /// tree and key where a read knows them; other sled errors stay
    /// storage failures.
    #[test]
    fn sled_corruption_is_corrupt_named_by_tree_and_key() {
        let e = storage_error(
            T::Revisions,
            b"k",
            sled::Error::Corruption { at: None, bt: () },
        );
        assert!(
            matches!(&e, StoreError::Corrupt { tree: "revisions", key, reason } if key == "6b" && reason.contains("sled cannot read it")),
            "{e:?}"
        );
        let e = StoreError::from(sled::Error::Corruption { at: None, bt: () });
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
        let e = StoreError::from(sled::Error::Unsupported("x".into()));
        assert!(matches!(e, StoreError::Io(_)), "{e:?}");
    }
}
