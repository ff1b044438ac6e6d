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
    future::Future,
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
