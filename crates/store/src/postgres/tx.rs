//! One write transaction: the chain's lock, the overlay of the
//! transaction's own writes, and the flush.

use std::{
    collections::BTreeMap,
    future::Future,
    marker::PhantomData,
    ops::Bound,
    pin::Pin,
    sync::{Mutex, PoisonError},
    time::SystemTime,
};

use deadpool_postgres::{Object, Pool};
use prost::bytes::Bytes;
use tokio_postgres::{Statement, error::SqlState, types::ToSql};

use super::{
    Failure, SQL, Tree, broken, classify, discard, get_on, pipelined, pool_failure, range, scan_on,
    tree::{Cell, Ty},
};
use crate::{
    Result, StoreError,
    engine::{Overlay, merge, overlay},
    rules::AUDIT_HEAD_KEY,
};

/// What a transaction's closure returns: a boxed future borrowing the
/// [`PgTx`] (`|tx| Box::pin(async move { … })`), and whatever the closure
/// borrows from its caller (`'env`, which outlives `'t`).
pub type TxFuture<'t, R> = Pin<Box<dyn Future<Output = Result<R>> + Send + 't>>;

/// Starts the transaction and takes the chain's lock (reading the head).
const BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE";
const LOCK: &str = "SELECT value FROM store_meta WHERE key = $1 FOR UPDATE";
/// Starts a read-only transaction that sees one point in time throughout.
const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// A write transaction in progress. Reads see the transaction's own puts
/// and deletes first, then the database (which, under the chain's lock,
/// no other writer changes meanwhile); puts and deletes are kept here and
/// written when the closure returns `Ok`.
///
/// `'env` is the lifetime of what the closure borrows from its caller: it
/// only ties the closure's future to it (see [`TxFuture`]).
pub struct PgTx<'env> {
    /// The connection, inside `BEGIN`, while the transaction is open.
    client: Option<Object>,
    /// The transaction's writes: `Some` put, `None` deleted.
    overlay: Overlay,
    /// Values read when the transaction began (the chain head), so the
    /// closure's read of them costs no round trip.
    known: Overlay,
    /// The first failure of a read: the transaction cannot commit after it,
    /// whatever the closure makes of the error.
    failure: Mutex<Option<Failure>>,
    env: PhantomData<&'env ()>,
}

impl std::fmt::Debug for PgTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTx")
            .field("open", &self.client.is_some())
            .field(
                "writes",
                &self.overlay.iter().map(BTreeMap::len).sum::<usize>(),
            )
            .finish()
    }
}

impl Drop for PgTx<'_> {
    /// A transaction dropped before its end (the caller gave up, or the
    /// retry time ran out) must not go back to the pool inside `BEGIN`:
    /// its connection is closed, and the server rolls it back.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            discard(client);
        }
    }
}

impl PgTx<'_> {
    fn client(&self) -> Result<&Object> {
        self.client
            .as_ref()
            .ok_or_else(|| StoreError::Io("the transaction has ended".into()))
    }

    /// Notes a failed read and gives the closure its error.
    fn fail(&self, e: &tokio_postgres::Error) -> StoreError {
        let failure = classify(e);
        let err = match &failure {
            Failure::Retry(why) => StoreError::Unavailable(why.clone()),
            Failure::Fatal(e) => e.clone(),
        };
        let mut slot = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(failure);
        }
        err
    }

    /// The value at `key`: this transaction's own write if it made one,
    /// else the database's.
    pub async fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Bytes>> {
        let t = tree.index();
        if let Some(v) = self.overlay[t].get(key).or_else(|| self.known[t].get(key)) {
            return Ok(v.clone());
        }
        get_on(self.client()?, tree, key)
            .await
            .map_err(|e| self.fail(&e))
    }

    /// Like [`super::PgEngine::scan`], with this transaction's own puts
    /// and deletes merged in.
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
        let upper = hi.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let mine: Vec<(&Vec<u8>, &Option<Bytes>)> = self.overlay[tree.index()]
            .range::<[u8], _>((Bound::Included(lo.as_slice()), upper))
            .collect();
        // Of the first `limit + d` stored rows, at most `d` are deleted
        // here, so they hold every stored row of the first `limit` merged.
        let deleted = mine.iter().filter(|(_, v)| v.is_none()).count();
        let stored = scan_on(
            self.client()?,
            tree,
            &lo,
            hi.as_deref(),
            limit.saturating_add(deleted),
        )
        .await
        .map_err(|e| self.fail(&e))?;
        Ok(merge(stored, mine, limit))
    }

    /// Stages `value` at `key`; written at commit.
    pub fn put(&mut self, tree: Tree, key: impl AsRef<[u8]>, value: impl Into<Bytes>) {
        self.overlay[tree.index()].insert(key.as_ref().to_vec(), Some(value.into()));
    }

    /// Stages the removal of `key`; done at commit.
    pub fn delete(&mut self, tree: Tree, key: impl AsRef<[u8]>) {
        self.overlay[tree.index()].insert(key.as_ref().to_vec(), None);
    }

    /// Puts and deletes staged so far.
    pub fn staged(&self) -> usize {
        self.overlay.iter().map(BTreeMap::len).sum()
    }

    /// Ends the transaction without writing.
    async fn abort(&mut self) {
        rollback(&mut self.client).await;
    }

    /// Writes the overlay and commits, in one pipelined burst.
    async fn commit(&mut self) -> std::result::Result<(), CommitFailure> {
        let plan = match flush_plan(&self.overlay) {
            Ok(p) => p,
            Err(e) => {
                rollback(&mut self.client).await;
                return Err(CommitFailure::Failed(Failure::Fatal(e)));
            }
        };
        // The connection stays in `self.client` until the answer is in: a
        // caller giving up meanwhile drops the PgTx, which closes it.
        let Some(client) = self.client.as_ref() else {
            return Err(CommitFailure::Failed(Failure::Fatal(StoreError::Io(
                "the transaction has ended".into(),
            ))));
        };
        let result = async {
            // Statements this connection has not prepared yet: one round
            // trip for all of them, then none on later transactions.
            let prepares = plan
                .iter()
                .map(|s| {
                    let c = client;
                    let sql = s.sql;
                    Box::pin(async move { c.prepare_cached(sql).await })
                        as Pin<Box<dyn Future<Output = _> + Send + '_>>
                })
                .collect();
            let prepared: Vec<Statement> = pipelined(prepares)
                .await
                .into_iter()
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| (e, false))?;
            let mut burst: Vec<Pin<Box<dyn Future<Output = _> + Send + '_>>> = Vec::new();
            for (s, stmt) in plan.iter().zip(&prepared) {
                let c = client;
                burst.push(Box::pin(async move {
                    let params: Vec<&(dyn ToSql + Sync)> = s
                        .params
                        .iter()
                        .map(|p| &**p as &(dyn ToSql + Sync))
                        .collect();
                    c.execute(stmt, &params).await.map(|_| ())
                }));
            }
            // Last: when a statement before it failed, the transaction is
            // aborted and PostgreSQL answers this COMMIT with a rollback.
            burst.push(Box::pin(client.batch_execute("COMMIT")));
            let mut results = pipelined(burst).await;
            let commit = results.pop();
            // The first failure is the cause; those after it only say the
            // transaction was aborted. A server's error there means the
            // COMMIT rolled back; a connection lost with no answer at all
            // may have come after the server committed.
            results
                .into_iter()
                .collect::<std::result::Result<(), _>>()
                .map_err(|e| {
                    let unanswered = e.code().is_none();
                    (e, unanswered)
                })?;
            commit.unwrap_or(Ok(())).map_err(|e| (e, true))
        }
        .await;
        drop(plan);
        let Some(client) = self.client.take() else {
            return result.map_err(|(e, at_commit)| CommitFailure::of(&e, at_commit));
        };
        match result {
            Ok(()) => Ok(()),
            Err((e, at_commit)) => {
                let failure = CommitFailure::of(&e, at_commit);
                if broken(&e) || client.is_closed() {
                    discard(client);
                } else {
                    // An error before the COMMIT left the connection in the
                    // aborted transaction the COMMIT then ended; an error of
                    // a prepare left it inside the transaction. (Once sent,
                    // the ROLLBACK runs before anything else on the
                    // connection, even if this is given up meanwhile.)
                    match client.batch_execute("ROLLBACK").await {
                        Ok(()) => drop(client),
                        Err(_) => discard(client),
                    }
                }
                Err(failure)
            }
        }
    }
}

/// Why a commit failed.
enum CommitFailure {
    /// The server answered: nothing was committed.
    Failed(Failure),
    /// The connection was lost, or the server went down, after the burst
    /// ending in `COMMIT` was sent and before its answer came: the
    /// transaction may have committed (with a synchronous standby, a
    /// primary killed after the standby flushed the commit leaves it
    /// committed on the standby that is promoted next).
    InDoubt(String),
}

impl CommitFailure {
    /// `at_commit`: `e` is the `COMMIT`'s own answer, or the connection
    /// was lost before any answer to the burst came.
    fn of(e: &tokio_postgres::Error, at_commit: bool) -> CommitFailure {
        let lost = at_commit
            && match e.code() {
                None => true,
                // Connection exceptions, and the server shutting down or
                // crashing: with a synchronous standby the commit is local
                // before the wait for the standby that such an end cuts off.
                Some(code) => {
                    code.code().starts_with("08")
                        || *code == SqlState::ADMIN_SHUTDOWN
                        || *code == SqlState::CRASH_SHUTDOWN
                        || *code == SqlState::QUERY_CANCELED
                }
            };
        match classify(e) {
            Failure::Retry(why) if lost => CommitFailure::InDoubt(why),
            failure => CommitFailure::Failed(failure),
        }
    }
}

/// A try whose `COMMIT` is in doubt: the chain head it wrote, and the
/// closure's answer. The next try reads the head under the chain's lock
/// first; if it is this one, the commit happened and the answer is given
/// without running the closure again. The head names the new event's
/// sequence and hash (which covers its time and request), so no other
/// write can leave the same head.
pub(super) struct InDoubt<R> {
    head: Bytes,
    value: R,
}

/// Ends a transaction without writing (`ROLLBACK`); a connection that
/// cannot is dropped.
async fn rollback(slot: &mut Option<Object>) {
    if let Some(client) = slot.take() {
        match client.batch_execute("ROLLBACK").await {
            Ok(()) if !client.is_closed() => drop(client),
            _ => discard(client),
        }
    }
}

/// One statement of the flush: an upsert or a delete of one table.
struct Step<'a> {
    sql: &'a str,
    params: Vec<Box<dyn ToSql + Sync + Send + 'a>>,
}

/// The flush of an overlay: per table in [`Tree::ALL`] order (so
/// `audit_events` precede the `requests` that name them), the deletes and
/// then the upserts. Every readable column is computed here, before
/// anything is sent: a row it cannot explain fails the transaction.
fn flush_plan(overlay: &Overlay) -> Result<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    for tree in Tree::ALL {
        let sql = &SQL[tree.index()];
        let rows = &overlay[tree.index()];
        let deletes: Vec<&[u8]> = rows
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.as_slice())
            .collect();
        if !deletes.is_empty() {
            steps.push(Step {
                sql: &sql.delete,
                params: vec![Box::new(deletes)],
            });
        }
        let puts: Vec<(&[u8], &[u8])> = rows
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.as_slice(), v.as_ref())))
            .collect();
        if puts.is_empty() {
            continue;
        }
        let columns = tree.columns();
        let mut cells: Vec<Vec<Cell>> = columns
            .iter()
            .map(|_| Vec::with_capacity(puts.len()))
            .collect();
        for (k, v) in &puts {
            for (column, cell) in cells.iter_mut().zip(tree.readable(k, v)?) {
                column.push(cell);
            }
        }
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![
            Box::new(puts.iter().map(|(k, _)| *k).collect::<Vec<&[u8]>>()),
            Box::new(puts.iter().map(|(_, v)| *v).collect::<Vec<&[u8]>>()),
        ];
        for (column, values) in columns.iter().zip(cells) {
            params.push(array(column.1, values));
        }
        steps.push(Step {
            sql: &sql.upsert,
            params,
        });
    }
    Ok(steps)
}

/// One readable column of every row, as the typed array `unnest` takes.
fn array(ty: Ty, cells: Vec<Cell>) -> Box<dyn ToSql + Sync + Send> {
    macro_rules! collect {
        ($variant:ident, $t:ty) => {{
            let v: Vec<Option<$t>> = cells
                .into_iter()
                .map(|c| match c {
                    Cell::$variant(x) => x,
                    _ => None,
                })
                .collect();
            Box::new(v)
        }};
    }
    match ty {
        Ty::Text => collect!(Text, String),
        Ty::Int4 => collect!(Int4, i32),
        Ty::Int8 => collect!(Int8, i64),
        Ty::Time => collect!(Time, SystemTime),
        Ty::Bytea => collect!(Bytea, Vec<u8>),
    }
}

/// What a transaction is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// Writing: the chain's lock first, then commit what was staged.
    Write,
    /// Reading one point in time (REPEATABLE READ, read-only), taking no
    /// lock, so writers go on; rolled back at the end.
    Snapshot,
}

/// A transaction with nothing staged, on `client`.
fn open_tx<'env>(client: Object) -> PgTx<'env> {
    PgTx {
        client: Some(client),
        overlay: overlay(),
        known: overlay(),
        failure: Mutex::new(None),
        env: PhantomData,
    }
}

/// Runs `f` in `tx` and ends it: the first failed read's failure, or
/// `f`'s refusal (nothing written), or `f`'s answer once committed (a
/// snapshot is rolled back: it wrote nothing). A write whose `COMMIT` is
/// in doubt leaves its head and answer in `doubt` for the next try.
async fn finish<'env, R, F>(
    mut tx: PgTx<'env>,
    f: &mut F,
    mode: Mode,
    doubt: &mut Option<InDoubt<R>>,
) -> std::result::Result<R, Failure>
where
    F: for<'t> FnMut(&'t mut PgTx<'env>) -> TxFuture<'t, R> + Send,
    R: Send,
{
    let out = f(&mut tx).await;
    let failed = tx
        .failure
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(failure) = failed {
        tx.abort().await;
        return Err(failure);
    }
    let value = match out {
        Ok(v) => v,
        Err(e) => {
            tx.abort().await;
            return Err(Failure::Fatal(e));
        }
    };
    if mode == Mode::Snapshot {
        tx.abort().await;
        return Ok(value);
    }
    let planned = tx.overlay[Tree::Meta.index()]
        .get(AUDIT_HEAD_KEY)
        .cloned()
        .flatten();
    let writes = tx.staged();
    match tx.commit().await {
        Ok(()) => Ok(value),
        Err(CommitFailure::Failed(failure)) => Err(failure),
        Err(CommitFailure::InDoubt(why)) => match planned {
            Some(head) => {
                *doubt = Some(InDoubt { head, value });
                Err(Failure::Retry(format!(
                    "{why}: the COMMIT's answer was lost, the next try reads whether it happened"
                )))
            }
            // Nothing written: running it again repeats nothing.
            None if writes == 0 => Err(Failure::Retry(why)),
            None => Err(Failure::Fatal(StoreError::Unavailable(format!(
                "{why}: the COMMIT's answer was lost and the transaction moved no chain head \
                 to tell whether it happened"
            )))),
        },
    }
}

/// One try of a transaction: connect, begin (and for a write take the
/// chain's lock), run `f`, then commit a write or roll back a snapshot.
///
/// `doubt` carries a previous try whose `COMMIT` is in doubt (see
/// [`InDoubt`]): it is settled first, under the chain's lock.
pub(super) async fn attempt<'env, R, F>(
    pool: &Pool,
    f: &mut F,
    mode: Mode,
    doubt: &mut Option<InDoubt<R>>,
) -> std::result::Result<R, Failure>
where
    F: for<'t> FnMut(&'t mut PgTx<'env>) -> TxFuture<'t, R> + Send,
    R: Send,
{
    let client = pool.get().await.map_err(pool_failure)?;
    if mode == Mode::Snapshot {
        if let Err(e) = client.batch_execute(BEGIN_SNAPSHOT).await {
            if broken(&e) {
                discard(client);
            }
            return Err(classify(&e));
        }
        return finish(open_tx(client), f, mode, doubt).await;
    }
    let lock = match client.prepare_cached(LOCK).await {
        Ok(s) => s,
        Err(e) => {
            if broken(&e) {
                discard(client);
            }
            return Err(classify(&e));
        }
    };
    let mut tx = open_tx(client);
    let head = {
        let c = tx.client().map_err(Failure::Fatal)?;
        let begin = Box::pin(async move { c.batch_execute(BEGIN).await.map(|()| None) })
            as Pin<Box<dyn Future<Output = _> + Send + '_>>;
        let lock = Box::pin(async move { c.query_opt(&lock, &[&AUDIT_HEAD_KEY]).await });
        let mut answers = pipelined(vec![begin, lock]).await.into_iter();
        let begun = answers.next().unwrap_or(Ok(None));
        let locked = answers.next().unwrap_or(Ok(None));
        begun.and(locked)
    };
    let head = match head {
        Ok(Some(row)) => row
            .try_get::<_, &[u8]>(0)
            .map(Bytes::copy_from_slice)
            .map_err(|e| classify(&e)),
        Ok(None) => Err(Failure::Fatal(StoreError::Schema(
            "store_meta has no audit_head row, the lock every write takes: the schema is \
             incomplete (`gongkai migrate --database URL` makes it)"
                .into(),
        ))),
        Err(e) => Err(classify(&e)),
    };
    let head = match head {
        Ok(h) => h,
        Err(failure) => {
            tx.abort().await;
            return Err(failure);
        }
    };
    if let Some(earlier) = doubt.take()
        && earlier.head == head
    {
        // The earlier try committed: its answer stands.
        tx.abort().await;
        return Ok(earlier.value);
    }
    tx.known[Tree::Meta.index()].insert(AUDIT_HEAD_KEY.to_vec(), Some(head));
    finish(tx, f, mode, doubt).await
}
