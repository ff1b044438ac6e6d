//! gongkai-store: agencies, every report revision, review state and the audit
//! chain, kept durably.
//!
//! The server holds one [`Store`]: the store's rules (`rules/`, written
//! once) over an engine (`engine/`: the seam; sled 0.34.7 in a directory,
//! or PostgreSQL through [`postgres`]). Invariants on every engine:
//! - a write is one atomic transaction over everything it touches (revision,
//!   head, indexes, audit event, idempotency record) and is durable before
//!   its answer comes;
//! - nothing is overwritten: every report revision and agency version is kept;
//! - every change appends an audit event chained by SHA-256 to the previous
//!   one and to the bytes it wrote; [`Store::verify`] finds any edit;
//! - a retried request id returns the first outcome and writes nothing; a
//!   write naming a stale revision is refused with [`StoreError::Conflict`].
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

mod codec;
pub mod copy;
mod engine;
#[doc(hidden)]
pub mod fuzzing;
mod keys;
mod pending;
pub mod postgres;
mod rules;
mod state;
mod store;

use std::time::SystemTime;

pub use codec::STORE_FORMAT;
pub use engine::{
    Tree,
    sled::{
        StoreOptions,
        backup::{BackupStats, MAGIC as BACKUP_MAGIC},
        durability,
    },
};
use gongkai_proto::{
    store_v1::ReportHead,
    v1::{AuditAction, Finding, ReviewState},
};
pub use pending::Pending;
pub use rules::{
    ops::{Outcome, WriteOp},
    summary::{AreaTotals, CoverageEntry},
};
pub use state::Action;
pub use store::{EngineKind, Store, restore};

/// What a PostgreSQL store answers a backup or restore: the database's
/// own tools do it (deploy/README.md says how).
pub const POSTGRES_BACKUP: &str = "a PostgreSQL store is backed up and restored with the \
    database's own tools (pg_dump and pg_restore, or a base backup; see deploy/README.md), \
    then checked with `gongkai verify --database URL`";

/// Errors of the store. Each maps to one gRPC code in the server. `Clone`
/// so that one failure can be handed to every write it affects as itself,
/// not re-wrapped as text.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// A key or parameter of the wrong shape (bad 统一社会信用代码, year …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A named request field the store refuses (a page token it did not
    /// give, a supervisor that would make a cycle).
    #[error("{field}: {reason}")]
    InvalidField {
        /// The request field, e.g. `page_token`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The agency, report or revision does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The agency is already registered.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The write named a revision that is no longer the latest.
    #[error("conflict on {resource}: expected revision {expected}, the latest is {actual}")]
    Conflict {
        /// The resource written.
        resource: String,
        /// The revision the caller expected.
        expected: u32,
        /// The revision that is the latest.
        actual: u32,
    },
    /// The review state machine does not allow this action now.
    #[error("cannot {action} {resource}: it is {from}")]
    InvalidTransition {
        /// The report.
        resource: String,
        /// Its current state.
        from: &'static str,
        /// What was attempted.
        action: &'static str,
    },
    /// A request id used before with different parameters.
    #[error("request id {0} was already used for a different request")]
    RequestIdReused(String),
    /// An approval refused for the report's own content: a cell outside
    /// `value.range`'s bounds (a report accepted before the bounds existed)
    /// would be added to its area's sums, which the bounds keep from
    /// overflowing. Return the report for correction.
    #[error("cannot approve {resource}: {reason}")]
    OutOfRange {
        /// The report.
        resource: String,
        /// The cell and its value.
        reason: String,
    },
    /// The store holds the most agencies its area sums are proven for
    /// ([`gongkai_domain::catalogue::MAX_AGENCIES`]).
    #[error("the store holds {0} agencies, the most it registers")]
    Full(u64),
    /// Stored bytes that do not decode or that sled cannot read (a damaged
    /// page), a key of the wrong shape in a tree, or a supervision tree with
    /// a cycle: the store is damaged, retrying will not help.
    #[error("corrupt store: tree {tree}, key {key}: {reason}")]
    Corrupt {
        /// Which tree.
        tree: &'static str,
        /// The key, hex.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The store was written by a newer gongkai.
    #[error(
        "store format {found} is newer than this gongkai understands ({supported}); upgrade gongkai"
    )]
    NewerFormat {
        /// Format found on disk.
        found: u32,
        /// Newest format this build reads.
        supported: u32,
    },
    /// Restore refused: the target holds data.
    #[error("restore refused: {0}")]
    RestoreTarget(String),
    /// A backup file that is not one, or is damaged.
    #[error("bad backup file: {0}")]
    BadBackup(String),
    /// The disk or sled failed, or the database refused in a way a retry
    /// will not change.
    #[error("storage failure: {0}")]
    Io(String),
    /// The database could not be reached, or kept failing (lost
    /// connections, serialisation failures, deadlocks) until the retry
    /// bound ran out: worth trying again later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database's schema is missing, incomplete or newer than this
    /// gongkai: the message says what to run.
    #[error("database schema: {0}")]
    Schema(String),
    /// What this engine does not do (a sled backup of a PostgreSQL store):
    /// the message says what does.
    #[error("not on this engine: {0}")]
    Unsupported(String),
}

impl From<sled::Error> for StoreError {
    /// sled's own corruption (a page that fails its checksum) is damage,
    /// not an I/O hiccup to retry. Where the tree and key are known, reads
    /// name them (`engine::sled::storage_error`); here they are not.
    fn from(e: sled::Error) -> Self {
        match e {
            sled::Error::Corruption { .. } => StoreError::Corrupt {
                tree: "(unknown)",
                key: String::new(),
                reason: e.to_string(),
            },
            e => StoreError::Io(e.to_string()),
        }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

/// Result of the store.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Who writes, why, and when: carried by every write.
#[derive(Clone, Debug)]
pub struct WriteMeta {
    /// Idempotency key, the caller's own (kept per principal): a retried
    /// call with the same id writes nothing.
    pub request_id: String,
    /// The principal, for the revision's author and the audit event.
    pub principal: String,
    /// The time to record.
    pub time: SystemTime,
}

/// What the checker found, recorded on the revision it was found in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checked {
    /// The findings.
    pub findings: Vec<Finding>,
    /// The rule set they come from.
    pub ruleset_version: String,
}

/// One agency's report for one data year.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReportKey {
    /// The agency's 统一社会信用代码.
    pub uscc: String,
    /// The data year.
    pub year: u32,
}

impl ReportKey {
    /// Resource name `agencies/{uscc}/reports/{year}`.
    pub fn name(&self) -> String {
        format!("agencies/{}/reports/{}", self.uscc, self.year)
    }

    /// Resource name of revision `n`: `…/reports/{year}/revisions/{n}`.
    pub fn revision_name(&self, n: u32) -> String {
        format!("{}/revisions/{n}", self.name())
    }
}

/// A page request: at most `size` items after the opaque `cursor`.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    /// Items per page; 0 means the default (50), capped at 1000.
    pub size: u32,
    /// `next_cursor` of the previous page; empty for the first.
    pub cursor: String,
}

/// One page of results.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Cursor of the next page; empty when this is the last.
    pub next_cursor: String,
}

/// A report's key and current state, as listed.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportSummary {
    /// Which report.
    pub key: ReportKey,
    /// Its state.
    pub head: ReportHead,
}

/// Which reports to list. Filters combine; at least one index is used so a
/// listing costs O(result).
#[derive(Clone, Debug, Default)]
pub struct ReportFilter {
    /// Only this data year.
    pub year: Option<u32>,
    /// Only reports whose latest revision is in this state.
    pub state: Option<ReviewState>,
    /// Only agencies in the subtree under this agency (itself included).
    pub area: Option<String>,
    /// Only this agency.
    pub agency: Option<String>,
}

/// Which audit events to list.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// Only events on this agency or its reports.
    pub agency: Option<String>,
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only events at or after this time.
    pub since: Option<SystemTime>,
    /// Only events before this time.
    pub until: Option<SystemTime>,
}

/// The outcome of walking the audit chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// Events checked.
    pub events: u64,
    /// Revisions and agency versions checked against their events.
    pub records: u64,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

/// Where the chain, or a record derived from it, breaks: the first
/// difference found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrokenLink {
    /// Sequence number of the event at fault (the one that recorded what
    /// the damaged record should say; the last event when none did).
    pub event: u64,
    /// The tree the difference is in, e.g. `area_year`.
    pub tree: &'static str,
    /// Its key, readable: parts joined by ` · ` (`11…X · 2024 · 11…Y`),
    /// hex where the key has no known shape.
    pub key: String,
    /// The report, revision or agency it concerns
    /// (`agencies/…/reports/2024`), or the event (`events/17`).
    pub subject: String,
    /// What differs.
    pub detail: String,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "event {}: tree {}, key {}, {}: {}",
            self.event, self.tree, self.key, self.subject, self.detail
        )
    }
}

/// What [`Store::stats`] counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Reports (agency and data year) by their current review state; every
    /// state that has none is absent.
    pub reports_by_state: Vec<(ReviewState, u64)>,
    /// Bytes the store takes on disk, as sled counts them.
    pub size_on_disk: u64,
}

/// Lower-case name of a review state, for messages.
pub fn state_name(state: ReviewState) -> &'static str {
    match state {
        ReviewState::Unspecified => "unspecified",
        ReviewState::Draft => "draft",
        ReviewState::Submitted => "submitted",
        ReviewState::Approved => "approved",
        ReviewState::Returned => "returned",
    }
}
