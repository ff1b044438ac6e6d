//! The seam between the store's rules and its engines.
//!
//! An engine only persists and reads: trees of byte keys and byte values
//! ([`Tree`], key layout in `keys.rs`, values in `codec.rs`), read by key
//! and by ordered scan ([`Reader`]), written in transactions of [`Plan`]s.
//! What is written, and whether, is the rules' business (`rules/`); how it
//! is made durable is the engine's (`sled/`: a writer thread and group
//! commit; `crate::postgres`: one database transaction per batch).
//!
//! A write is planned by the rules reading through the transaction that
//! will apply it (a [`Reader`] over the transaction, seeing the writes of
//! the jobs batched before it), and its plan is applied only when the whole
//! write was planned without refusal.

pub(crate) mod sled;

use std::{
    cmp::Ordering,
    collections::BTreeMap,
    future::Future,
    ops::Bound,
    pin::pin,
    task::{Context, Poll, Waker},
};

use prost::bytes::Bytes;

use crate::{Result, StoreError};

/// One tree of the store: a sled tree in the sled engine, a table in the
/// PostgreSQL engine. Keys and values are the same bytes in both, so a scan
/// pages identically (PostgreSQL orders `bytea` bytewise, as sled does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tree {
    /// `format` (u32 BE), `audit_head` (AuditHead), `agency_count` (u64 BE),
    /// `area_sums_built`: table `store_meta`.
    Meta,
    /// uscc → the agency's current record: table `agencies`.
    Agencies,
    /// uscc · version → every version of an agency: table `agency_versions`.
    AgencyVersions,
    /// supervisor uscc · agency uscc → empty: table `supervision`.
    Children,
    /// uscc · year → ReportHead: table `reports`.
    Heads,
    /// uscc · year · revision → ReportRevision: table `report_revisions`.
    Revisions,
    /// year · uscc → empty: table `reports_by_year`.
    ByYear,
    /// state · year · uscc → empty: table `reports_by_state`.
    ByState,
    /// area uscc · year · uscc → empty: table `area_reports`.
    AreaYear,
    /// area uscc · state · year · uscc → empty: table `area_reports_by_state`.
    AreaState,
    /// sequence → AuditEvent: table `audit_events`.
    Events,
    /// sequence → SHA-256 of the event's stored bytes: table `audit_event_hashes`.
    EventHashes,
    /// principal `/` request id → IdempotencyRecord: table `requests`.
    Requests,
    /// area uscc · year → AreaSum: table `area_sums`.
    AreaSums,
}

impl Tree {
    /// Every tree, in one fixed order (sled opens its trees in it).
    pub const ALL: [Tree; 14] = [
        Tree::Meta,
        Tree::Agencies,
        Tree::AgencyVersions,
        Tree::Children,
        Tree::Heads,
        Tree::Revisions,
        Tree::ByYear,
        Tree::ByState,
        Tree::AreaYear,
        Tree::AreaState,
        Tree::Events,
        Tree::EventHashes,
        Tree::Requests,
        Tree::AreaSums,
    ];

    /// Its position in [`Tree::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its name: the sled tree that holds it, and how errors and `verify`
    /// name it (the table in `keys.rs`).
    pub const fn name(self) -> &'static str {
        match self {
            Tree::Meta => "meta",
            Tree::Agencies => "agencies",
            Tree::AgencyVersions => "agency_versions",
            Tree::Children => "children",
            Tree::Heads => "heads",
            Tree::Revisions => "revisions",
            Tree::ByYear => "by_year",
            Tree::ByState => "by_state",
            Tree::AreaYear => "area_year",
            Tree::AreaState => "area_state",
            Tree::Events => "events",
            Tree::EventHashes => "event_hashes",
            Tree::Requests => "requests",
            Tree::AreaSums => "area_sums",
        }
    }
}

/// What the rules read through: an engine's committed data, or a write
/// transaction (which sees its own and its batch's earlier writes).
pub(crate) trait Reader {
    /// The value at `key` in `tree`.
    fn get(&self, tree: Tree, key: &[u8]) -> impl Future<Output = Result<Option<Bytes>>> + Send;

    /// At most `limit` entries of `tree` whose key starts with `prefix`,
    /// after `after` (exclusive) if given, in bytewise key order.
    fn scan(
        &self,
        tree: Tree,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(Bytes, Bytes)>>> + Send;
}

/// The puts and deletes one write makes, in order; applied by the engine
/// only when the whole write was planned without refusal.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// `Some` puts the value, `None` deletes the key.
    pub(crate) writes: Vec<(Tree, Vec<u8>, Option<Bytes>)>,
}

impl Plan {
    pub(crate) fn put(&mut self, tree: Tree, key: impl Into<Vec<u8>>, value: impl Into<Bytes>) {
        self.writes.push((tree, key.into(), Some(value.into())));
    }

    pub(crate) fn delete(&mut self, tree: Tree, key: impl Into<Vec<u8>>) {
        self.writes.push((tree, key.into(), None));
    }
}

/// Writes not yet in an engine, per tree in [`Tree::ALL`] order: `Some`
/// put, `None` deleted. A PostgreSQL transaction keeps its own writes in
/// one until it commits; `gongkai copy` reads a store through one holding
/// the store's upgrade.
pub(crate) type Overlay = [BTreeMap<Vec<u8>, Option<Bytes>>; Tree::ALL.len()];

/// An empty overlay.
pub(crate) fn overlay() -> Overlay {
    std::array::from_fn(|_| BTreeMap::new())
}

/// A page of stored entries (`stored`, in key order) merged with the
/// overlay's writes over the same keys (`mine`, in key order): a write wins
/// over the stored entry of its key, a delete hides it; at most `limit`.
/// `stored` must hold every stored entry of the first `limit` merged: read
/// `limit` plus the deletes in `mine`.
pub(crate) fn merge<'a>(
    stored: Vec<(Bytes, Bytes)>,
    mine: impl IntoIterator<Item = (&'a Vec<u8>, &'a Option<Bytes>)>,
    limit: usize,
) -> Vec<(Bytes, Bytes)> {
    let mut out = Vec::with_capacity(limit.min(stored.len().saturating_add(PAGE)));
    let mut stored = stored.into_iter().peekable();
    let mut mine = mine.into_iter().peekable();
    while out.len() < limit {
        let order = match (stored.peek(), mine.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((sk, _)), Some((mk, _))) => sk.as_ref().cmp(mk.as_slice()),
        };
        if order == Ordering::Less {
            if let Some(row) = stored.next() {
                out.push(row);
            }
            continue;
        }
        if order == Ordering::Equal {
            // The overlay's write wins over the stored entry.
            stored.next();
        }
        if let Some((k, Some(v))) = mine.next() {
            out.push((Bytes::copy_from_slice(k), v.clone()));
        }
    }
    out
}

/// A [`Reader`] that sees `base` with an [`Overlay`]'s writes on top,
/// without writing them: what `gongkai copy` reads a store of an older
/// format through (its upgrade applied in the copy, the source left as it
/// was).
#[derive(Debug)]
pub(crate) struct Overlaid<R> {
    pub(crate) base: R,
    pub(crate) writes: Overlay,
}

impl<R> Overlaid<R> {
    /// `base` with `plan`'s puts and deletes on top, in order.
    pub(crate) fn new(base: R, plan: Option<Plan>) -> Overlaid<R> {
        let mut writes = overlay();
        for (tree, key, value) in plan.map(|p| p.writes).unwrap_or_default() {
            writes[tree.index()].insert(key, value);
        }
        Overlaid { base, writes }
    }
}

impl<R: Reader + Sync> Reader for Overlaid<R> {
    fn get(&self, tree: Tree, key: &[u8]) -> impl Future<Output = Result<Option<Bytes>>> + Send {
        let mine = self.writes[tree.index()].get(key).cloned();
        let stored = self.base.get(tree, key);
        async move {
            match mine {
                Some(v) => Ok(v),
                None => stored.await,
            }
        }
    }

    fn scan(
        &self,
        tree: Tree,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(Bytes, Bytes)>>> + Send {
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a),
            _ => Bound::Included(prefix),
        };
        let prefix_owned = prefix.to_vec();
        let mine: Vec<(&Vec<u8>, &Option<Bytes>)> = self.writes[tree.index()]
            .range::<[u8], _>((start, Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(&prefix_owned))
            .collect();
        let deleted = mine.iter().filter(|(_, v)| v.is_none()).count();
        let stored = self
            .base
            .scan(tree, prefix, after, limit.saturating_add(deleted));
        async move { Ok(merge(stored.await?, mine, limit)) }
    }
}

/// Entries read page by page, so a walk of a whole tree holds one page.
#[derive(Debug)]
pub(crate) struct Entries<'r, R> {
    reader: &'r R,
    tree: Tree,
    prefix: Vec<u8>,
    after: Option<Bytes>,
    page: std::vec::IntoIter<(Bytes, Bytes)>,
    /// Entries the next read asks for.
    size: usize,
    done: bool,
}

/// Entries per read of a walk: one round trip for PostgreSQL, one seek for sled.
const PAGE: usize = 512;

impl<'r, R: Reader> Entries<'r, R> {
    /// Every entry of `tree` whose key starts with `prefix`.
    pub(crate) fn new(reader: &'r R, tree: Tree, prefix: &[u8]) -> Self {
        Entries::after(reader, tree, prefix, None)
    }

    /// Those after `after` (exclusive).
    pub(crate) fn after(reader: &'r R, tree: Tree, prefix: &[u8], after: Option<Bytes>) -> Self {
        Entries {
            reader,
            tree,
            prefix: prefix.to_vec(),
            after,
            page: Vec::new().into_iter(),
            size: PAGE,
            done: false,
        }
    }

    /// Reads `first` entries first (a listing that needs a page and one
    /// more), then pages.
    pub(crate) fn first_read(mut self, first: usize) -> Self {
        self.size = first.clamp(1, PAGE);
        self
    }

    /// The next entry, `None` at the end.
    pub(crate) async fn next(&mut self) -> Result<Option<(Bytes, Bytes)>> {
        if let Some(kv) = self.page.next() {
            return Ok(Some(kv));
        }
        if self.done {
            return Ok(None);
        }
        let page = self
            .reader
            .scan(self.tree, &self.prefix, self.after.as_deref(), self.size)
            .await?;
        self.done = page.len() < self.size;
        self.size = PAGE;
        self.after = page.last().map(|(k, _)| k.clone());
        self.page = page.into_iter();
        Ok(self.page.next())
    }
}

/// The result of a future that completes when first polled: sled's reads
/// do, so the rules' futures over a sled reader do. One that does not is a
/// bug, reported as a storage failure rather than a hang.
pub(crate) fn now<T>(f: impl Future<Output = Result<T>>) -> Result<T> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => Err(StoreError::Io(
            "a read of the sled store did not complete at once (a bug in gongkai)".into(),
        )),
    }
}
