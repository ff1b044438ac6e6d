//! `gongkai copy`: a sled store into an empty PostgreSQL database, tree by
//! tree, byte for byte (keys, and values with their format byte; the
//! tables' readable columns are filled by the engine as on any write).
//!
//! The order of the work is what makes it safe:
//! 1. The source is opened without the store's writer and never written:
//!    an older format's upgrade (`rules/upgrade.rs`) is applied on top of
//!    what is read ([`Overlaid`]), so the target holds the upgraded store
//!    and the sled directory stays one the previous release still opens
//!    (the way back, should the move be abandoned).
//! 2. The source, as it will be copied, is verified in full; a store that
//!    does not verify is refused before anything is written.
//! 3. The target must have the schema and hold nothing but the seeded row
//!    of an empty chain (`store_meta` · `audit_head`, value `\x01`).
//! 4. Every tree but `meta` is copied in transactions of a bounded number
//!    of rows and bytes, read from sled a page at a time (memory stays
//!    bounded whatever the store's size); `audit_events` before `requests`,
//!    whose readable columns the engine fills from the event they name.
//!    Each transaction takes the chain's lock, as every write does, and
//!    finds the head still the seeded empty one, or stops: so a gongkai
//!    that writes to the target meanwhile stops the copy.
//! 5. `meta` last, in one transaction: the store's format and the chain's
//!    head. Until it commits, the target is a partial copy that cannot be
//!    taken for a store: opening it (serve, verify) is refused ("the store
//!    holds data but no format version"); were it opened, `verify` would
//!    find records no event of its empty chain recorded.
//!    A rerun finds the partial copy's rows and is refused as non-empty:
//!    drop the database, create it again, migrate, copy again.
//! 6. The target is verified in full and must count the source's events
//!    and records.

use std::{path::Path, time::Instant};

use prost::bytes::Bytes;

use crate::{
    BrokenLink, Result, STORE_FORMAT, StoreError, StoreOptions, Verification,
    engine::{Overlaid, Reader, Tree, now, sled::SledEngine},
    postgres::PgEngine,
    rules::{self, AUDIT_HEAD_KEY, FORMAT_KEY},
    store::blocking,
};

/// The chain head a freshly migrated database holds (`0001_tables.sql`):
/// an empty `AuditHead` behind the value format byte 1.
const SEEDED_HEAD: &[u8] = b"\x01";

/// How much one transaction of the copy holds at most.
#[derive(Clone, Copy, Debug)]
pub struct CopyOptions {
    /// Rows per transaction.
    pub batch_rows: usize,
    /// Bytes of keys and values per transaction (a row past it ends the
    /// batch it is in).
    pub batch_bytes: usize,
}

impl Default for CopyOptions {
    /// 2,000 rows or 8 MiB: a transaction large enough that its round
    /// trips are a small part of it, small enough that no revision-heavy
    /// batch holds much memory or the chain's lock for long.
    fn default() -> Self {
        CopyOptions {
            batch_rows: 2_000,
            batch_bytes: 8 * 1024 * 1024,
        }
    }
}

/// What was copied of one tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopiedTree {
    /// The tree (its table: [`Tree::table`]).
    pub tree: Tree,
    /// Rows written.
    pub rows: u64,
    /// Bytes of keys and values written.
    pub bytes: u64,
}

/// What a copy did.
#[derive(Clone, Debug)]
pub struct Copied {
    /// The source's format when it is older than this gongkai's (the copy
    /// holds the upgraded store; the source was left as it was).
    pub upgraded_from: Option<u32>,
    /// The source's verification, before anything was written.
    pub source: Verification,
    /// Every tree, in the order copied (`meta` last).
    pub trees: Vec<CopiedTree>,
    /// Transactions committed on the target.
    pub transactions: u64,
    /// Seconds the copy itself took (reading and writing the rows).
    pub seconds: f64,
    /// The target's verification, after the copy.
    pub target: Verification,
}

impl Copied {
    /// Rows written in all.
    pub fn rows(&self) -> u64 {
        self.trees.iter().map(|t| t.rows).sum()
    }

    /// Bytes written in all.
    pub fn bytes(&self) -> u64 {
        self.trees.iter().map(|t| t.bytes).sum()
    }
}

/// Why a copy was refused or stopped. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The source cannot be opened or read.
    #[error("the source {path}: {error}")]
    Source {
        /// The sled directory.
        path: String,
        /// What failed.
        error: StoreError,
    },
    /// The source does not verify: nothing was written.
    #[error(
        "the source {path} does not verify, so nothing was copied: {link}. A copy must be \
         exact: restore the store from a backup that verifies (`gongkai restore`), then copy \
         that"
    )]
    SourceBroken {
        /// The sled directory.
        path: String,
        /// The first difference.
        link: BrokenLink,
    },
    /// The target holds data: nothing was written.
    #[error(
        "the target database holds data (table {table}: {what}), so nothing was copied: copy \
         writes only into an empty database. If it is what an interrupted copy left, drop the \
         database, create it again, apply the schema (`gongkai migrate --database URL`, or \
         --migrate) and copy again"
    )]
    TargetNotEmpty {
        /// The first table found holding a row.
        table: &'static str,
        /// Which row.
        what: String,
    },
    /// The target cannot be used, before anything was written.
    #[error("the target database: {0}; nothing was copied")]
    Target(StoreError),
    /// The copy stopped part way: the target holds a partial copy, which
    /// gongkai refuses to open.
    #[error(
        "the copy stopped after {rows} rows: {error}. The target holds a partial copy without \
         its chain head, which gongkai refuses to serve; drop the database, create it again, \
         apply the schema and copy again"
    )]
    Interrupted {
        /// Rows committed before it stopped.
        rows: u64,
        /// What stopped it.
        error: StoreError,
    },
    /// The copy was written but does not verify (or counts other events
    /// or records than the source).
    #[error("the copy does not verify: {0}")]
    TargetBroken(String),
}

/// Copies the sled store in `from` into the database of `to`, which must
/// have this gongkai's schema and hold no data; then verifies the target.
/// `progress` is told each tree once it is copied. Needs a tokio runtime;
/// sled is read on the blocking pool.
pub async fn sled_to_postgres(
    from: &Path,
    to: &PgEngine,
    options: &CopyOptions,
    mut progress: impl FnMut(&CopiedTree),
) -> std::result::Result<Copied, CopyError> {
    let path = from.display().to_string();
    let source_error = |error| CopyError::Source {
        path: path.clone(),
        error,
    };
    let (source, upgraded_from, verified) = open_source(from).await.map_err(source_error)?;
    if let Some(link) = verified.broken.clone() {
        return Err(CopyError::SourceBroken { path, link });
    }
    to.check().await.map_err(CopyError::Target)?;
    if let Some((table, what)) = first_row(to).await.map_err(CopyError::Target)? {
        return Err(CopyError::TargetNotEmpty { table, what });
    }

    let start = Instant::now();
    let mut trees = Vec::with_capacity(Tree::ALL.len());
    let mut transactions: u64 = 0;
    let mut written: u64 = 0;
    // `meta` (the format and the chain's head) last: see the module.
    let order = Tree::ALL
        .into_iter()
        .filter(|t| *t != Tree::Meta)
        .chain([Tree::Meta]);
    for tree in order {
        // `meta` in one transaction whatever the batch size: each batch
        // checks the chain head is still the empty one, and the batch
        // after the head's would find it moved.
        let whole = CopyOptions {
            batch_rows: usize::MAX,
            batch_bytes: usize::MAX,
        };
        let options = if tree == Tree::Meta { &whole } else { options };
        let mut copied = CopiedTree {
            tree,
            rows: 0,
            bytes: 0,
        };
        let mut after: Option<Bytes> = None;
        loop {
            let batch = read_batch(&source, tree, after.clone(), options)
                .await
                .map_err(|error| match written {
                    0 => source_error(error),
                    rows => CopyError::Interrupted { rows, error },
                })?;
            let Some(last) = batch.rows.last() else { break };
            after = Some(last.0.clone());
            let n = u64::try_from(batch.rows.len()).unwrap_or(u64::MAX);
            write_batch(to, tree, batch.rows)
                .await
                .map_err(|error| match written {
                    0 => CopyError::Target(error),
                    rows => CopyError::Interrupted { rows, error },
                })?;
            transactions = transactions.saturating_add(1);
            written = written.saturating_add(n);
            copied.rows = copied.rows.saturating_add(n);
            copied.bytes = copied.bytes.saturating_add(batch.bytes);
            if batch.last {
                break;
            }
        }
        progress(&copied);
        trees.push(copied);
    }
    let seconds = start.elapsed().as_secs_f64();
    drop(source);

    let target = to
        .snapshot(|tx| Box::pin(async move { rules::verify::verify(&*tx).await }))
        .await
        .map_err(|e| CopyError::TargetBroken(format!("verify failed to read it: {e}")))?;
    if let Some(link) = &target.broken {
        return Err(CopyError::TargetBroken(link.to_string()));
    }
    if (target.events, target.records) != (verified.events, verified.records) {
        return Err(CopyError::TargetBroken(format!(
            "it holds {} events and {} records, the source {} and {}",
            target.events, target.records, verified.events, verified.records
        )));
    }
    Ok(Copied {
        upgraded_from,
        source: verified,
        trees,
        transactions,
        seconds,
        target,
    })
}

/// What the copy reads: the sled trees with the upgrade to this format on
/// top (not written).
type Source = std::sync::Arc<(SledEngine, Overlaid<crate::engine::sled::Trees>)>;

/// Opens the sled store at `from` without its writer, plans its upgrade
/// (not applied) and verifies it as it will be copied.
async fn open_source(from: &Path) -> Result<(Source, Option<u32>, Verification)> {
    if !from.join("db").is_file() {
        return Err(StoreError::InvalidArgument(
            "no sled store here (no file db)".into(),
        ));
    }
    let from = from.to_path_buf();
    blocking(move || {
        let engine = SledEngine::open(&from, &StoreOptions::default()).map_err(|e| match e {
            // sled's lock on its directory: a server has it open.
            StoreError::Io(m) if m.contains("lock") => StoreError::Io(format!(
                "{m} (is a gongkai serve running on it? stop it first: the copy must see \
                 every write)"
            )),
            e => e,
        })?;
        let trees = engine.trees().clone();
        // The plan refuses a malformed or newer format, so the read below
        // meets only a well-formed one.
        let upgrade = now(rules::upgrade::plan(&trees))?;
        let format = now(trees.get(Tree::Meta, FORMAT_KEY))?
            .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
            .map(u32::from_be_bytes);
        let view = Overlaid::new(trees, upgrade);
        let verified = now(rules::verify::verify(&view))?;
        let upgraded_from = format.filter(|f| *f < STORE_FORMAT);
        Ok((std::sync::Arc::new((engine, view)), upgraded_from, verified))
    })
    .await
}

/// The first row of the target that is not the seeded empty chain head:
/// its table and key.
async fn first_row(to: &PgEngine) -> Result<Option<(&'static str, String)>> {
    for tree in Tree::ALL {
        for (k, v) in to.scan(tree, b"", None, 2).await? {
            if tree == Tree::Meta && k.as_ref() == AUDIT_HEAD_KEY && v.as_ref() == SEEDED_HEAD {
                continue;
            }
            let what = if tree == Tree::Meta && k.as_ref() == AUDIT_HEAD_KEY {
                "the audit chain's head is not that of an empty chain".to_owned()
            } else {
                format!("key {}", crate::keys::describe(tree.name(), &k).0)
            };
            return Ok(Some((tree.table(), what)));
        }
    }
    Ok(None)
}

/// One transaction's rows.
struct Batch {
    rows: Vec<(Bytes, Bytes)>,
    bytes: u64,
    /// No row of the tree follows.
    last: bool,
}

/// Reads the next batch of `tree` after `after`, on the blocking pool.
async fn read_batch(
    source: &Source,
    tree: Tree,
    after: Option<Bytes>,
    options: &CopyOptions,
) -> Result<Batch> {
    let source = std::sync::Arc::clone(source);
    let options = *options;
    blocking(move || {
        let view = &source.1;
        let mut batch = Batch {
            rows: Vec::new(),
            bytes: 0,
            last: false,
        };
        let mut after = after;
        let limit = options.batch_rows.max(1);
        let bound = u64::try_from(options.batch_bytes).unwrap_or(u64::MAX);
        while batch.rows.len() < limit && batch.bytes < bound {
            // A page of at most 256 rows, so the byte bound is checked often.
            let want = limit.saturating_sub(batch.rows.len()).min(256);
            let page = now(view.scan(tree, b"", after.as_deref(), want))?;
            let short = page.len() < want;
            for (k, v) in page {
                let size = k.len().saturating_add(v.len());
                batch.bytes = batch
                    .bytes
                    .saturating_add(u64::try_from(size).unwrap_or(u64::MAX));
                after = Some(k.clone());
                batch.rows.push((k, v));
            }
            if short {
                batch.last = true;
                break;
            }
        }
        Ok(batch)
    })
    .await
}

/// Writes `rows` into `tree`'s table in one transaction, under the chain's
/// lock, once the head is found still the seeded empty one.
async fn write_batch(to: &PgEngine, tree: Tree, rows: Vec<(Bytes, Bytes)>) -> Result<()> {
    let rows = &rows;
    to.transaction(|tx| {
        Box::pin(async move {
            // Read with the lock, at no cost (the engine read it taking it).
            let head = tx.get(Tree::Meta, AUDIT_HEAD_KEY).await?;
            if head.as_deref() != Some(SEEDED_HEAD) {
                return Err(StoreError::Io(
                    "the target's audit chain moved during the copy: another gongkai writes \
                     to it"
                        .into(),
                ));
            }
            for (k, v) in rows {
                tx.put(tree, k, v.clone());
            }
            Ok(())
        })
    })
    .await
}
