//! The PostgreSQL engine: the store's trees as tables, read by key and by
//! ordered scan, written in transactions. It persists and reads; what is
//! written is the store's rules' business.
//!
//! - **Keys and values** are the store's own bytes (`keys.rs`, `codec.rs`),
//!   in `key bytea PRIMARY KEY, value bytea`; `bytea` sorts bytewise, as
//!   sled does, so a scan pages identically on both engines. Readable
//!   columns beside them (uscc, year, state, author …) are filled on every
//!   write for operators and never read back (`tree.rs`,
//!   `migrations/0001_tables.sql`).
//! - **One chain, one writer at a time.** Every write transaction first
//!   locks the audit chain's head row (`SELECT … FROM store_meta WHERE key =
//!   'audit_head' FOR UPDATE`), whichever replica it runs in, so writes
//!   commit one after another and the audit chain stays one sequence with
//!   no gap and no fork. The same statement reads the head, so the rules'
//!   read of it costs nothing. Under that lock READ COMMITTED reads are
//!   stable (every other writer waits), so no stronger isolation is asked
//!   for and no serialisation failure is provoked by the engine itself.
//! - **A transaction's own writes** stay in memory ([`PgTx`]'s overlay)
//!   until the end, where reads see them; then they go out in one pipelined
//!   burst (per table one `INSERT … SELECT FROM unnest(…) ON CONFLICT` and
//!   one `DELETE … WHERE key = ANY(…)`) followed by `COMMIT`: with warm
//!   statements a write costs two round trips plus its reads. It is
//!   committed before [`PgEngine::transaction`] returns.
//! - **Retries.** Serialisation failures (40001), deadlocks (40P01), a lost
//!   or refused connection, a server shutting down, a read-only server
//!   (after a failover): the connection is dropped if broken and the whole
//!   closure runs again on a fresh transaction, within [`RetryPolicy`]
//!   (attempts and total time); then [`StoreError::Unavailable`].
//! - **A lost `COMMIT` answer** (the connection or the primary gone after
//!   the commit was sent) leaves the outcome unknown: with a synchronous
//!   standby the commit may well be on the standby that is promoted next.
//!   The next try reads the chain head under the lock *before* running the
//!   closure again: the head the lost commit would have written means it
//!   happened, and its answer is returned without a second run (`tx.rs`,
//!   `InDoubt`). So a write runs once, request id or not.
//! - **Failover.** A URL with several hosts and
//!   `target_session_attrs=read-write` connects to whichever is the
//!   primary; pooled connections to a dead server are dropped when they
//!   fail or when the pool recycles them, and new ones find the new
//!   primary: no restart.

pub(crate) mod batch;
mod schema;
mod tls;
mod tree;
mod tx;

use std::{
    future::Future,
    path::PathBuf,
    pin::Pin,
    sync::LazyLock,
    task::Poll,
    time::{Duration, Instant},
};

use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
};
use prost::bytes::Bytes;
pub use schema::{Migrated, SCHEMA_VERSION};
pub use tls::SslMode;
use tokio_postgres::error::SqlState;
pub use tree::Tree;
pub use tx::{PgTx, TxFuture};

use crate::{Result, StoreError};

/// How long and how often a call is tried before it is
/// [`StoreError::Unavailable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries at most (the first included).
    pub attempts: u32,
    /// Time at most, from the first try to the end of the last (each try
    /// is cut off when it runs out).
    pub total: Duration,
    /// Wait after the first failure; doubled after each, with jitter.
    pub first_backoff: Duration,
    /// Longest wait between two tries.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 12 tries within 15 s, waits from 25 ms doubling to 2 s: long enough
    /// to ride out a deadlock or a managed failover's switch, short enough
    /// for a caller's deadline.
    fn default() -> Self {
        RetryPolicy {
            attempts: 12,
            total: Duration::from_secs(15),
            first_backoff: Duration::from_millis(25),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// Settings of the engine beyond the URL.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// The CA that signed the database's certificate (PEM); wins over
    /// `sslrootcert` in the URL. With it, `sslmode=require` verifies the
    /// chain (as libpq does).
    pub ca_file: Option<PathBuf>,
    /// Connections in the pool at most.
    pub max_connections: usize,
    /// Retries of every call.
    pub retry: RetryPolicy,
    /// How long [`PgEngine::ping`] waits for an answer.
    pub ping_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            ca_file: None,
            max_connections: 16,
            retry: RetryPolicy::default(),
            ping_timeout: Duration::from_secs(3),
        }
    }
}

/// The PostgreSQL engine: a pool of connections to one database. Cheap to
/// share behind an `Arc`; every method is async and never blocks a thread.
#[derive(Debug)]
pub struct PgEngine {
    pool: Pool,
    retry: RetryPolicy,
    ping_timeout: Duration,
    ssl_mode: SslMode,
}

/// Why one try failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Worth another try (connection lost, serialisation failure …).
    Retry(String),
    /// Final: the rules refused, or the database said something a retry
    /// will not change.
    Fatal(StoreError),
}

/// SQLSTATEs after which the same work may well succeed.
fn retryable_code(code: &SqlState) -> bool {
    *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::READ_ONLY_SQL_TRANSACTION
        || *code == SqlState::TOO_MANY_CONNECTIONS
        || *code == SqlState::LOCK_NOT_AVAILABLE
        || broken_code(code)
}

/// SQLSTATEs that leave the connection unusable, or connected to a server
/// that can no longer take writes: the connection is dropped, not pooled.
fn broken_code(code: &SqlState) -> bool {
    let c = code.code();
    c.starts_with("08") // connection exception
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
        || *code == SqlState::READ_ONLY_SQL_TRANSACTION
}

/// Whether the connection that gave `e` must be dropped.
pub(crate) fn broken(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        Some(code) => broken_code(code),
        // Not from the server: the connection or its I/O failed, or a
        // request could not be encoded (then dropping it is merely safe).
        None => true,
    }
}

/// Classifies an error of the client.
pub(crate) fn classify(e: &tokio_postgres::Error) -> Failure {
    let mut text = tls::describe(e);
    if let Some(code) = e.code() {
        text = format!("{text} (SQLSTATE {})", code.code());
    }
    match e.code() {
        Some(code) if retryable_code(code) => Failure::Retry(text),
        Some(code) if *code == SqlState::UNDEFINED_TABLE => Failure::Fatal(StoreError::Schema(
            format!("{text}: is the schema applied? (`gongkai migrate --database URL`)"),
        )),
        Some(_) => Failure::Fatal(StoreError::Io(format!("database: {text}"))),
        None if e.is_closed() => Failure::Retry(text),
        None => {
            // tokio-postgres's kinds show only in its text: connection and
            // I/O troubles are worth a retry; TLS, authentication and
            // configuration failures are not, and are told at once.
            let own = e.to_string();
            let transient = [
                "error communicating with the server",
                "error connecting to server",
                "timeout waiting for server",
                "unexpected message from server",
                "error parsing response from server",
            ];
            if transient.iter().any(|t| own.starts_with(t)) {
                Failure::Retry(text)
            } else {
                Failure::Fatal(StoreError::Unavailable(format!("database: {text}")))
            }
        }
    }
}

/// Classifies a failure to get a connection from the pool.
fn pool_failure(e: PoolError) -> Failure {
    match e {
        PoolError::Backend(e) => classify(&e),
        PoolError::Timeout(t) => Failure::Retry(format!("no connection in time ({t:?})")),
        other => Failure::Fatal(StoreError::Unavailable(format!("database pool: {other}"))),
    }
}

/// Drops a connection instead of returning it to the pool: its server is
/// gone, or it may still be inside a transaction. Closing it makes the
/// server roll back whatever it had open.
pub(crate) fn discard(client: Object) {
    drop(Object::take(client));
}

/// Tries left, time left, and the last reason, for one call.
struct Retrying {
    policy: RetryPolicy,
    start: Instant,
    failures: u32,
    last: String,
}

impl Retrying {
    fn new(policy: RetryPolicy) -> Retrying {
        Retrying {
            policy,
            start: Instant::now(),
            failures: 0,
            last: String::new(),
        }
    }

    /// Time left for the next try; `None` when none is left.
    fn remaining(&self) -> Option<Duration> {
        self.policy
            .total
            .checked_sub(self.start.elapsed())
            .filter(|d| !d.is_zero())
    }

    fn unavailable(&self) -> StoreError {
        StoreError::Unavailable(format!(
            "the database gave no answer after {} tries over {} ms: {}",
            self.failures,
            self.start.elapsed().as_millis(),
            self.last
        ))
    }

    /// Records a failed try and waits before the next, or gives up.
    async fn failed(&mut self, why: String) -> Result<()> {
        self.failures = self.failures.saturating_add(1);
        self.last = why;
        if self.failures >= self.policy.attempts {
            return Err(self.unavailable());
        }
        let shift = self.failures.saturating_sub(1).min(20);
        let backoff = self
            .policy
            .first_backoff
            .saturating_mul(1u32 << shift)
            .min(self.policy.max_backoff);
        // Jitter (half to all of it), so replicas that failed together do
        // not come back together.
        let backoff = backoff.mul_f64(rand::random_range(0.5..=1.0));
        match self.remaining() {
            Some(left) if left > backoff => {
                tokio::time::sleep(backoff).await;
                Ok(())
            }
            _ => Err(self.unavailable()),
        }
    }
}

/// Runs `futures` together with each polled first in the order given.
/// tokio-postgres sends a request when its future is first polled, so the
/// requests reach the server in this order and their answers are awaited
/// together: one round trip for all. (The order matters: `COMMIT` last.)
pub(crate) async fn pipelined<'a, T>(
    mut futures: Vec<Pin<Box<dyn Future<Output = T> + Send + 'a>>>,
) -> Vec<T> {
    let mut done: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in futures.iter_mut().zip(done.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *slot = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

/// The statements of one table.
pub(crate) struct Statements {
    pub(crate) get: String,
    /// `key >= $1 AND key < $2`, limit `$3`.
    pub(crate) scan_bounded: String,
    /// `key >= $1`, limit `$2`.
    pub(crate) scan_open: String,
    pub(crate) upsert: String,
    pub(crate) delete: String,
}

/// Every table's statements, in [`Tree::ALL`] order.
pub(crate) static SQL: LazyLock<Vec<Statements>> =
    LazyLock::new(|| Tree::ALL.iter().map(|&t| statements(t)).collect());

fn statements(tree: Tree) -> Statements {
    let t = tree.table();
    let cols = tree.columns();
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let arrays: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}", i.saturating_add(3), c.1.array()))
        .collect();
    let mut insert_cols = vec!["key", "value"];
    insert_cols.extend(&names);
    let mut select: Vec<String> = insert_cols.iter().map(|c| format!("u.{c}")).collect();
    let mut join = String::new();
    let mut set: Vec<String> = std::iter::once("value")
        .chain(names.iter().copied())
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    if tree == Tree::Requests {
        // The key `principal/request id` cannot be split back (both may
        // hold a `/`): they come from the audit event the record names,
        // written before it in the same transaction (audit_events is
        // flushed first).
        insert_cols.extend(["principal", "request_id"]);
        select.extend(["e.principal".to_owned(), "e.request_id".to_owned()]);
        join = " LEFT JOIN audit_events e ON e.sequence = u.event_sequence".into();
        set.extend([
            "principal = EXCLUDED.principal".to_owned(),
            "request_id = EXCLUDED.request_id".to_owned(),
        ]);
    }
    let mut unnest = vec!["$1::bytea[]".to_owned(), "$2::bytea[]".to_owned()];
    unnest.extend(arrays);
    let mut alias = vec!["key", "value"];
    alias.extend(&names);
    Statements {
        get: format!("SELECT value FROM {t} WHERE key = $1"),
        scan_bounded: format!(
            "SELECT key, value FROM {t} WHERE key >= $1 AND key < $2 ORDER BY key LIMIT $3"
        ),
        scan_open: format!("SELECT key, value FROM {t} WHERE key >= $1 ORDER BY key LIMIT $2"),
        upsert: format!(
            "INSERT INTO {t} ({}) SELECT {} FROM unnest({}) AS u({}){join} \
             ON CONFLICT (key) DO UPDATE SET {}",
            insert_cols.join(", "),
            select.join(", "),
            unnest.join(", "),
            alias.join(", "),
            set.join(", ")
        ),
        delete: format!("DELETE FROM {t} WHERE key = ANY($1::bytea[])"),
    }
}

/// The key range of a scan: keys from `lo` (inclusive) up to `hi`
/// (exclusive; `None`: to the end). `None` when the range is empty.
pub(crate) fn range(prefix: &[u8], after: Option<&[u8]>) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let hi = successor(prefix);
    // The smallest key after `a` is `a · 0x00`.
    let lo = match after {
        Some(a) if a >= prefix => [a, &[0]].concat(),
        _ => prefix.to_vec(),
    };
    match &hi {
        Some(h) if lo >= *h => None,
        _ => Some((lo, hi)),
    }
}

/// The smallest key greater than every key starting with `prefix`; `None`
/// when there is none (empty prefix, or all `0xff`).
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let end = prefix.iter().rposition(|&b| b != 0xff)?;
    let mut out = prefix.get(..=end)?.to_vec();
    if let Some(last) = out.last_mut() {
        *last = last.checked_add(1)?;
    }
    Some(out)
}

/// Rows of a scan as `(key, value)`.
pub(crate) fn kv_rows(
    rows: &[tokio_postgres::Row],
) -> std::result::Result<Vec<(Bytes, Bytes)>, tokio_postgres::Error> {
    rows.iter()
        .map(|r| {
            Ok((
                Bytes::copy_from_slice(r.try_get::<_, &[u8]>(0)?),
                Bytes::copy_from_slice(r.try_get::<_, &[u8]>(1)?),
            ))
        })
        .collect()
}

/// Reads one value on `client` (no overlay).
pub(crate) async fn get_on(
    client: &Object,
    tree: Tree,
    key: &[u8],
) -> std::result::Result<Option<Bytes>, tokio_postgres::Error> {
    let stmt = client.prepare_cached(&SQL[tree.index()].get).await?;
    let row = client.query_opt(&stmt, &[&key]).await?;
    row.map(|r| r.try_get::<_, &[u8]>(0).map(Bytes::copy_from_slice))
        .transpose()
}

/// Runs a scan's statement on `client` (no overlay).
pub(crate) async fn scan_on(
    client: &Object,
    tree: Tree,
    lo: &[u8],
    hi: Option<&[u8]>,
    limit: usize,
) -> std::result::Result<Vec<(Bytes, Bytes)>, tokio_postgres::Error> {
    let sql = &SQL[tree.index()];
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match hi {
        Some(hi) => {
            let stmt = client.prepare_cached(&sql.scan_bounded).await?;
            client.query(&stmt, &[&lo, &hi, &limit]).await?
        }
        None => {
            let stmt = client.prepare_cached(&sql.scan_open).await?;
            client.query(&stmt, &[&lo, &limit]).await?
        }
    };
    kv_rows(&rows)
}

/// The result of one statement's try, dropping a broken connection.
fn settle<T>(
    client: Object,
    r: std::result::Result<T, tokio_postgres::Error>,
) -> std::result::Result<T, Failure> {
    match r {
        Ok(v) => Ok(v),
        Err(e) => {
            if broken(&e) {
                discard(client);
            }
            Err(classify(&e))
        }
    }
}

impl PgEngine {
    /// The engine for the database at `url` (`postgres://…` or a
    /// `key=value` string; several hosts and `target_session_attrs` as
    /// libpq takes them; `sslmode` and `sslrootcert` as libpq means them,
    /// see [`SslMode`]).
    /// Connects lazily: nothing is contacted here, so a bad URL or CA file
    /// is refused at once and an unreachable database only when used.
    pub fn open(url: &str, options: &PgOptions) -> Result<PgEngine> {
        let conn = tls::connection(url, options.ca_file.as_deref())?;
        let manager = Manager::from_config(
            conn.config,
            conn.tls,
            ManagerConfig {
                // A closed connection is dropped when taken from the pool;
                // one that fails in use is dropped by the engine.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(options.retry.total))
            .recycle_timeout(Some(options.retry.total))
            .build()
            .map_err(|e| StoreError::InvalidArgument(format!("database pool: {e}")))?;
        Ok(PgEngine {
            pool,
            retry: options.retry,
            ping_timeout: options.ping_timeout,
            ssl_mode: conn.mode,
        })
    }

    /// How the database's certificate is checked.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// Whether the database answers a query now (within the ping timeout).
    /// For health checks: never an error, never longer than the timeout.
    pub async fn ping(&self) -> bool {
        let once = async {
            // A pooled connection may be stale (its server restarted):
            // then it is dropped and a new one asked.
            for _ in 0..2 {
                let Ok(client) = self.pool.get().await else {
                    return false;
                };
                match client.simple_query("SELECT 1").await {
                    Ok(_) => return true,
                    Err(_) => discard(client),
                }
            }
            false
        };
        tokio::time::timeout(self.ping_timeout, once)
            .await
            .unwrap_or(false)
    }

    /// Applies the schema migrations this database has not had (see
    /// `schema.rs`). Safe to run from several processes at once. Refuses a
    /// schema newer than this build ([`StoreError::Schema`]).
    pub async fn migrate(&self) -> Result<Migrated> {
        self.retrying(|| async {
            let mut client = self.pool.get().await.map_err(pool_failure)?;
            let out = schema::migrate(&mut client).await;
            if out.is_err() {
                // It may have failed inside its transaction.
                discard(client);
            }
            out
        })
        .await
    }

    /// The schema version, when it is the one this build uses; otherwise
    /// [`StoreError::Schema`] saying what to do (no schema: migrate; a
    /// newer one: upgrade gongkai). What `serve` checks at start.
    pub async fn check(&self) -> Result<u32> {
        self.retrying(|| async {
            let client = self.pool.get().await.map_err(pool_failure)?;
            let out = schema::check(&client).await;
            if let Err(Failure::Retry(_)) = &out {
                discard(client);
            }
            out
        })
        .await
    }

    /// The value at `key` in `tree`, committed.
    pub async fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Bytes>> {
        self.retrying(|| async {
            let client = self.pool.get().await.map_err(pool_failure)?;
            let r = get_on(&client, tree, key).await;
            settle(client, r)
        })
        .await
    }

    /// At most `limit` entries of `tree` whose key starts with `prefix`,
    /// after `after` (exclusive) if given, in bytewise key order: a page of
    /// a listing, as sled's `range` gives it. Committed data only.
    pub async fn scan(
        &self,
        tree: Tree,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let Some((lo, hi)) = range(prefix, after).filter(|_| limit > 0) else {
            return Ok(Vec::new());
        };
        self.retrying(|| async {
            let client = self.pool.get().await.map_err(pool_failure)?;
            let r = scan_on(&client, tree, &lo, hi.as_deref(), limit).await;
            settle(client, r)
        })
        .await
    }

    /// Runs `f` in one database transaction and commits it: the audit
    /// chain's lock is taken first; `f` reads through the [`PgTx`] (seeing
    /// its own writes) and stages puts and deletes; when `f` returns `Ok`
    /// they are written and committed before this returns. When `f`
    /// returns `Err`, nothing is written and the error is returned as it
    /// is. On a retryable failure (see the module) `f` runs again, from
    /// the start, on a new transaction: it must do nothing outside the
    /// transaction that a second run would repeat. A try whose `COMMIT`
    /// answer was lost is not run again if it committed, which the next try
    /// tells by the chain head: a closure that writes must move the head
    /// (every write of the store appends an audit event), or such a loss
    /// is [`StoreError::Unavailable`]. `f` runs while every other writer
    /// waits: it should only read and plan.
    ///
    /// ```ignore
    /// engine.transaction(|tx| Box::pin(async move {
    ///     let head = tx.get(Tree::Meta, b"audit_head").await?;
    ///     tx.put(Tree::Events, 1u64.to_be_bytes(), event_bytes.clone());
    ///     Ok(head)
    /// })).await?
    /// ```
    pub async fn transaction<'env, R, F>(&self, f: F) -> Result<R>
    where
        F: for<'t> FnMut(&'t mut PgTx<'env>) -> TxFuture<'t, R> + Send,
        R: Send,
    {
        self.run(f, tx::Mode::Write).await
    }

    /// Tries `f` in transactions of `mode` until one ends, or the retry
    /// policy is spent.
    async fn run<'env, R, F>(&self, mut f: F, mode: tx::Mode) -> Result<R>
    where
        F: for<'t> FnMut(&'t mut PgTx<'env>) -> TxFuture<'t, R> + Send,
        R: Send,
    {
        let mut retry = Retrying::new(self.retry);
        let mut doubt = None;
        loop {
            let Some(left) = retry.remaining() else {
                return Err(retry.unavailable());
            };
            let why =
                match tokio::time::timeout(left, tx::attempt(&self.pool, &mut f, mode, &mut doubt))
                    .await
                {
                    Ok(Ok(v)) => return Ok(v),
                    Ok(Err(Failure::Fatal(e))) => return Err(e),
                    Ok(Err(Failure::Retry(why))) => why,
                    Err(_) => "the try was cut off: the retry time ran out".to_owned(),
                };
            retry.failed(why).await?;
        }
    }

    /// Runs `f` in one read-only transaction that sees one point in time
    /// (REPEATABLE READ) and takes no lock, so writers of every replica go
    /// on meanwhile: for what must read the whole store consistently
    /// (`verify`). Whatever `f` puts is discarded. Retried as
    /// [`PgEngine::transaction`] is.
    pub async fn snapshot<'env, R, F>(&self, f: F) -> Result<R>
    where
        F: for<'t> FnMut(&'t mut PgTx<'env>) -> TxFuture<'t, R> + Send,
        R: Send,
    {
        self.run(f, tx::Mode::Snapshot).await
    }

    /// Bytes the database takes on disk (`pg_database_size`).
    pub async fn size_on_disk(&self) -> Result<u64> {
        self.retrying(|| async {
            let client = self.pool.get().await.map_err(pool_failure)?;
            let r = client
                .query_one("SELECT pg_database_size(current_database())", &[])
                .await
                .and_then(|row| row.try_get::<_, i64>(0));
            settle(client, r).map(|n| u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    /// Runs one try after another until one succeeds, one fails for good,
    /// or the retry policy is spent.
    async fn retrying<T, Fut>(&self, mut once: impl FnMut() -> Fut) -> Result<T>
    where
        Fut: Future<Output = std::result::Result<T, Failure>>,
    {
        let mut retry = Retrying::new(self.retry);
        loop {
            let Some(left) = retry.remaining() else {
                return Err(retry.unavailable());
            };
            let why = match tokio::time::timeout(left, once()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(Failure::Fatal(e))) => return Err(e),
                Ok(Err(Failure::Retry(why))) => why,
                Err(_) => "the try was cut off: the retry time ran out".to_owned(),
            };
            retry.failed(why).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_prefix_after_the_cursor() {
        assert_eq!(successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(successor(&[1, 0xff, 0xff]), Some(vec![2]));
        assert_eq!(successor(&[0xff, 0xff]), None);
        assert_eq!(successor(b""), None);
        assert_eq!(
            range(b"ab", None),
            Some((b"ab".to_vec(), Some(b"ac".to_vec())))
        );
        assert_eq!(
            range(b"ab", Some(b"abz")),
            Some((b"abz\0".to_vec(), Some(b"ac".to_vec())))
        );
        // A cursor before the prefix starts at the prefix; one past it is empty.
        assert_eq!(range(b"ab", Some(b"aa")).unwrap().0, b"ab".to_vec());
        assert_eq!(range(b"ab", Some(b"ac")), None);
        assert_eq!(
            range(&[0xff], Some(&[0xff, 0xff])).unwrap().0,
            vec![0xff, 0xff, 0]
        );
    }

    #[test]
    fn upserts_name_every_readable_column() {
        let s = statements(Tree::Requests);
        assert!(
            s.upsert
                .contains("LEFT JOIN audit_events e ON e.sequence = u.event_sequence")
        );
        assert!(s.upsert.contains("$5::bigint[]"), "{}", s.upsert);
        let s = statements(Tree::Revisions);
        assert!(
            s.upsert.starts_with(
                "INSERT INTO report_revisions (key, value, uscc, year, revision, state"
            )
        );
        assert!(s.upsert.contains("created_at = EXCLUDED.created_at"));
    }

    #[test]
    fn retries_end_after_their_bound_saying_why() {
        let mut r = Retrying::new(RetryPolicy {
            attempts: 2,
            ..RetryPolicy::default()
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            assert!(r.failed("one".into()).await.is_ok());
            let e = r.failed("two".into()).await.unwrap_err();
            assert!(
                matches!(&e, StoreError::Unavailable(m) if m.contains("2 tries") && m.ends_with("two")),
                "{e}"
            );
        });
    }
}
