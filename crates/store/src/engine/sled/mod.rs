//! The sled engine (sled 0.34.7): each [`Tree`] a sled tree of one
//! database; writes applied by one writer thread, many to a sled
//! transaction (`writer.rs`), made durable by the group commit
//! (`durability.rs`); backup to one file and restore (`backup.rs`).
//!
//! sled's reads complete at once, so its [`Reader`] futures are ready
//! when made: the rules' futures over them complete in one poll
//! ([`super::now`]). Point reads are that cheap; what walks many entries
//! is run by the store on the blocking pool.
//!
//! A gate (an RwLock) lets the writer's batches share and gives backup and
//! verify the store alone: they read one point in time.

pub(crate) mod backup;
pub mod durability;
pub(crate) mod writer;

use std::{
    future::Future,
    ops::Bound,
    path::{Path, PathBuf},
    sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard},
};

use prost::bytes::Bytes;
use sled::transaction::{TransactionalTree, UnabortableTransactionError};

use super::{Plan, Reader, Tree};
use crate::{Result, StoreError};
use durability::GroupCommit;

/// Tuning of the sled engine.
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

/// The committed trees, in [`Tree::ALL`] order: what reads outside a
/// write, and writes that run alone, read.
#[derive(Clone, Debug)]
pub(crate) struct Trees(Arc<[sled::Tree]>);

/// An open sled database, its trees and its group commit.
#[derive(Debug)]
pub(crate) struct SledEngine {
    db: sled::Db,
    trees: Trees,
    gate: Arc<RwLock<()>>,
    commit: Arc<GroupCommit>,
    path: PathBuf,
}

/// A sled error while reading `key` of `t`: sled's own corruption (a page
/// failing its checksum) is damage named by tree and key, so it reaches
/// the caller as DATA_LOSS rather than as a retryable failure with a file
/// offset; anything else is a storage failure.
pub(crate) fn storage_error(t: Tree, key: &[u8], e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { .. } => StoreError::Corrupt {
            tree: t.name(),
            key: hex::encode(key),
            reason: format!("sled cannot read it: {e}"),
        },
        e => StoreError::from(e),
    }
}

fn tx_error(t: Tree, key: &[u8], e: UnabortableTransactionError) -> StoreError {
    match e {
        UnabortableTransactionError::Storage(e) => storage_error(t, key, e),
        e => StoreError::Io(format!("transaction: {e}")),
    }
}

impl SledEngine {
    /// Opens (or creates) the database at `path` and starts its flusher.
    pub(crate) fn open(path: &Path, options: &StoreOptions) -> Result<SledEngine> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(options.cache_capacity)
            .open()?;
        SledEngine::with_db(db, path.to_path_buf())
    }

    /// The engine over an open database (restore builds one over a
    /// database it imported into).
    pub(crate) fn with_db(db: sled::Db, path: PathBuf) -> Result<SledEngine> {
        let trees = Tree::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        // fdatasync acts on the file, whichever descriptor asks.
        let data_file = std::fs::File::open(path.join("db"))?;
        let commit = Arc::new(GroupCommit::start(
            db.clone(),
            data_file,
            Some(path.join("blobs")),
        )?);
        Ok(SledEngine {
            db,
            trees: Trees(trees.into()),
            gate: Arc::new(RwLock::new(())),
            commit,
            path,
        })
    }

    pub(crate) fn trees(&self) -> &Trees {
        &self.trees
    }

    pub(crate) fn gate(&self) -> &Arc<RwLock<()>> {
        &self.gate
    }

    pub(crate) fn commit(&self) -> &Arc<GroupCommit> {
        &self.commit
    }

    pub(crate) fn db(&self) -> &sled::Db {
        &self.db
    }

    /// Where the database lives.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The store alone: no writer batch (the writer takes the shared side
    /// per batch) runs meanwhile.
    pub(crate) fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes on disk, as sled counts them.
    pub(crate) fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }

    /// Applies `plan` at once, outside the writer (opening a store written
    /// before a structure existed builds it) and flushes.
    pub(crate) fn apply_now(&self, plan: &Plan) -> Result<()> {
        self.trees.transact(|tx| apply(tx, plan))?;
        self.db.flush()?;
        Ok(())
    }
}

impl Trees {
    pub(crate) fn tree(&self, t: Tree) -> &sled::Tree {
        &self.0[t.index()]
    }

    pub(crate) fn get_now(&self, t: Tree, key: &[u8]) -> Result<Option<Bytes>> {
        self.tree(t)
            .get(key)
            .map(|v| v.map(Bytes::from_owner))
            .map_err(|e| storage_error(t, key, e))
    }

    /// A scan as [`Reader::scan`] takes it. A read that fails names the
    /// tree and the last key read before it (the damaged entry lies just
    /// after).
    pub(crate) fn scan_now(
        &self,
        t: Tree,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a),
            _ => Bound::Included(prefix),
        };
        let mut out = Vec::new();
        let mut last: Option<Vec<u8>> = after.map(<[u8]>::to_vec);
        for kv in self.tree(t).range::<&[u8], _>((start, Bound::Unbounded)) {
            if out.len() == limit {
                break;
            }
            let (k, v) = match kv {
                Ok(kv) => kv,
                Err(e @ sled::Error::Corruption { .. }) => {
                    return Err(StoreError::Corrupt {
                        tree: t.name(),
                        key: last.as_ref().map(hex::encode).unwrap_or_default(),
                        reason: match &last {
                            Some(_) => format!("sled cannot read the entry after this key: {e}"),
                            None => format!("sled cannot read the tree's first entry: {e}"),
                        },
                    });
                }
                Err(e) => return Err(StoreError::from(e)),
            };
            if !k.starts_with(prefix) {
                break;
            }
            last = Some(k.to_vec());
            out.push((Bytes::from_owner(k), Bytes::from_owner(v)));
        }
        Ok(out)
    }

    /// Runs `f` in one sled transaction over every tree.
    pub(crate) fn transact<R>(
        &self,
        f: impl Fn(&[TransactionalTree]) -> std::result::Result<R, StoreError>,
    ) -> Result<R> {
        use sled::{
            Transactional,
            transaction::{ConflictableTransactionError, TransactionError},
        };
        self.0
            .as_ref()
            .transaction(|tx| f(tx).map_err(ConflictableTransactionError::Abort))
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => StoreError::from(e),
            })
    }
}

impl Reader for Trees {
    fn get(&self, tree: Tree, key: &[u8]) -> impl Future<Output = Result<Option<Bytes>>> + Send {
        std::future::ready(self.get_now(tree, key))
    }

    fn scan(
        &self,
        tree: Tree,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(Bytes, Bytes)>>> + Send {
        std::future::ready(self.scan_now(tree, prefix, after, limit))
    }
}

/// sled's transactional view of every tree, in [`Tree::ALL`] order: what
/// a write batched with others reads (plain reads there would wait on the
/// lock the transaction holds). It sees the writes of the jobs before it.
pub(crate) struct TxView<'a>(pub(crate) &'a [TransactionalTree]);

impl TxView<'_> {
    fn tree(&self, t: Tree) -> Result<&TransactionalTree> {
        self.0.get(t.index()).ok_or_else(|| {
            StoreError::Io(format!("tree {} missing from the transaction", t.name()))
        })
    }
}

impl Reader for TxView<'_> {
    fn get(&self, tree: Tree, key: &[u8]) -> impl Future<Output = Result<Option<Bytes>>> + Send {
        std::future::ready(self.tree(tree).and_then(|t| {
            t.get(key)
                .map(|v| v.map(Bytes::from_owner))
                .map_err(|e| tx_error(tree, key, e))
        }))
    }

    /// sled cannot scan inside a transaction: a write that scans runs
    /// alone, reading the committed trees (see `writer.rs`).
    fn scan(
        &self,
        tree: Tree,
        _prefix: &[u8],
        _after: Option<&[u8]>,
        _limit: usize,
    ) -> impl Future<Output = Result<Vec<(Bytes, Bytes)>>> + Send {
        std::future::ready(Err(StoreError::Io(format!(
            "a write batched with others scanned {} (a bug in gongkai: it must run alone)",
            tree.name()
        ))))
    }
}

/// Applies a plan inside a transaction.
pub(crate) fn apply(tx: &[TransactionalTree], plan: &Plan) -> Result<()> {
    for (tree, key, value) in &plan.writes {
        let t = tx
            .get(tree.index())
            .ok_or_else(|| StoreError::Io(format!("tree {} missing", tree.name())))?;
        let done = match value {
            Some(v) => t.insert(key.as_slice(), v.as_ref()),
            None => t.remove(key.as_slice()),
        };
        done.map_err(|e| tx_error(*tree, key, e))?;
    }
    Ok(())
}

/// Shared access for a writer batch.
pub(crate) fn shared(gate: &RwLock<()>) -> RwLockReadGuard<'_, ()> {
    gate.read().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sled's own corruption is damage (DATA_LOSS in the server), named by
    /// tree and key where a read knows them; other sled errors stay
    /// storage failures.
    #[test]
    fn sled_corruption_is_corrupt_named_by_tree_and_key() {
        let e = storage_error(
            Tree::Revisions,
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
