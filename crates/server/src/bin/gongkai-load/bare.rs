//! The bare baseline of SubmitReport on PostgreSQL: the rows one
//! SubmitReport writes, written by tokio-postgres directly, one transaction
//! per "submit", with no gongkai logic (no gRPC, no import, no rules, no
//! planning, no batching).
//!
//! What one SubmitReport writes is measured, not assumed: the rows of every
//! gongkai table are counted before and after the pre-run submits, and the
//! newest rows of each table that grew are taken, column by column, as the
//! baseline's template. The baseline writes them to copies of those tables
//! (`CREATE TABLE load_bare_… (LIKE … INCLUDING ALL)`: the same columns,
//! primary keys and constraints) in the same database, each key made unique
//! by 8 bytes of counter appended. Besides its inserts every gongkai write
//! also moves the audit chain's head, one row of `store_meta` it locks
//! first (`SELECT … FOR UPDATE`) and updates at the end (postgres/tx.rs):
//! the baseline does the same on its own copy of that row, or, as
//! [`Lock::Without`], only the inserts (no lock taken, no head updated: an
//! update would lock the row until `COMMIT` all the same), to show what the
//! chain costs.
//!
//! Each transaction is as cheap as tokio-postgres makes it: statements
//! prepared once per connection, and `BEGIN`, the lock, the inserts, the
//! head's update and `COMMIT` pipelined in one burst (one round trip).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::SystemTime,
};

use anyhow::{Context as _, bail};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::future::join_all;
use gongkai_store::postgres::Tree;
use tokio_postgres::{NoTls, Row, types::ToSql};

/// The chain head's row (`store_meta`, key `audit_head`): every write locks
/// it first and writes it.
const HEAD_KEY: &[u8] = b"audit_head";
const PREFIX: &str = "load_bare_";

/// Whether a baseline transaction takes the chain head's lock first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    With,
    Without,
}

/// Row counts of the store's tables.
pub type Counts = Vec<(&'static str, i64)>;

/// Counts the rows of every table of the store.
pub async fn counts(pool: &Pool) -> anyhow::Result<Counts> {
    let client = pool.get().await.context("connecting to the database")?;
    let mut out = Vec::new();
    // Every table of the store but `store_meta`, which holds the chain head
    // (updated, not grown) and the format.
    for t in Tree::ALL
        .into_iter()
        .filter(|t| *t != Tree::Meta)
        .map(Tree::table)
    {
        let row = client
            .query_one(&format!("SELECT count(*) FROM {t}"), &[])
            .await
            .with_context(|| format!("counting {t}"))?;
        out.push((t, row.try_get::<_, i64>(0)?));
    }
    Ok(out)
}

/// A pool of `size` connections to `url` (no TLS: the load generator's
/// cluster is on loopback), as gongkai's engine keeps one.
pub fn pool(url: &str, size: usize) -> anyhow::Result<Pool> {
    let config: tokio_postgres::Config = url.parse().context("the database URL")?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .build()
        .context("the baseline's pool")
}

/// One column of a table, with its value in a template row.
#[derive(Clone, Debug)]
enum Value {
    Bytes(Option<Vec<u8>>),
    Text(Option<String>),
    Int4(Option<i32>),
    Int8(Option<i64>),
    Time(Option<SystemTime>),
}

impl Value {
    fn read(row: &Row, i: usize, ty: &str) -> anyhow::Result<Value> {
        Ok(match ty {
            "bytea" => Value::Bytes(row.try_get(i)?),
            "text" => Value::Text(row.try_get(i)?),
            "integer" => Value::Int4(row.try_get(i)?),
            "bigint" => Value::Int8(row.try_get(i)?),
            "timestamp with time zone" => Value::Time(row.try_get(i)?),
            other => bail!("column type {other} is not one the baseline copies"),
        })
    }

    fn size(&self) -> usize {
        match self {
            Value::Bytes(b) => b.as_ref().map_or(0, Vec::len),
            Value::Text(t) => t.as_ref().map_or(0, String::len),
            Value::Int4(v) => v.map_or(0, |_| 4),
            Value::Int8(v) => v.map_or(0, |_| 8),
            Value::Time(t) => t.map_or(0, |_| 8),
        }
    }

    fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Value::Bytes(v) => v,
            Value::Text(v) => v,
            Value::Int4(v) => v,
            Value::Int8(v) => v,
            Value::Time(v) => v,
        }
    }
}

/// The inserts of one table: its statement and the template rows (the key
/// first).
#[derive(Debug)]
struct Table {
    name: &'static str,
    insert: String,
    rows: Vec<Vec<Value>>,
    /// Columns other than the key that a unique index covers
    /// (`audit_events.sequence`): given a value of the counter.
    unique: Vec<usize>,
}

/// The baseline: its pool, what one transaction writes, and a counter that
/// makes every key unique.
#[derive(Debug)]
pub struct Bare {
    pool: Pool,
    tables: Vec<Table>,
    head: Vec<u8>,
    /// The lock on the copy of the head, and its update.
    lock_sql: String,
    head_sql: String,
    next: AtomicU64,
}

/// What one SubmitReport wrote, for the report: table, rows, bytes.
pub type Written = Vec<(&'static str, usize, usize)>;

impl Bare {
    /// Takes the rows `submits` SubmitReports wrote (the growth from
    /// `before`) as one transaction's template, and makes the baseline's
    /// tables.
    pub async fn prepare(
        pool: Pool,
        before: &Counts,
        submits: usize,
    ) -> anyhow::Result<(Arc<Bare>, Written)> {
        let after = counts(&pool).await?;
        let client = pool.get().await.context("connecting to the database")?;
        let mut tables = Vec::new();
        let mut written = Vec::new();
        let submits_i = i64::try_from(submits)?;
        for ((name, b), (_, a)) in before.iter().zip(&after) {
            let grew = a - b;
            if grew == 0 {
                continue;
            }
            if submits_i == 0 || grew % submits_i != 0 {
                bail!("{name} grew by {grew} rows over {submits} submits: not the same per submit");
            }
            let per = grew / submits_i;
            let columns: Vec<(String, String)> = client
                .query(
                    "SELECT column_name::text, data_type::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 \
                     ORDER BY ordinal_position",
                    &[name],
                )
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<anyhow::Result<_>>()?;
            if columns.first().map(|c| c.0.as_str()) != Some("key") {
                bail!("{name}: its first column is not key");
            }
            let list = columns
                .iter()
                .map(|c| c.0.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            // The newest rows: the tables a submit writes only grow.
            let rows = client
                .query(
                    &format!("SELECT {list} FROM {name} ORDER BY ctid DESC LIMIT {per}"),
                    &[],
                )
                .await?
                .iter()
                .map(|r| {
                    columns
                        .iter()
                        .enumerate()
                        .map(|(i, (_, ty))| Value::read(r, i, ty))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let unique_names: Vec<String> = client
                .query(
                    "SELECT a.attname::text FROM pg_index i \
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                     WHERE i.indrelid = $1::text::regclass AND i.indisunique AND NOT i.indisprimary",
                    &[name],
                )
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            let unique: Vec<usize> = columns
                .iter()
                .enumerate()
                .filter(|(_, (c, _))| unique_names.contains(c))
                .map(|(i, (c, ty))| {
                    if ty == "bigint" {
                        Ok(i)
                    } else {
                        bail!("{name}.{c}: a unique {ty} column the baseline cannot vary")
                    }
                })
                .collect::<anyhow::Result<_>>()?;
            let bytes = rows.iter().flatten().map(Value::size).sum();
            written.push((*name, rows.len(), bytes));
            client
                .batch_execute(&format!(
                    "DROP TABLE IF EXISTS {PREFIX}{name}; \
                     CREATE TABLE {PREFIX}{name} (LIKE {name} INCLUDING ALL)"
                ))
                .await?;
            let marks = (1..=columns.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            tables.push(Table {
                name,
                insert: format!("INSERT INTO {PREFIX}{name} ({list}) VALUES ({marks})"),
                rows,
                unique,
            });
        }
        let head: Vec<u8> = client
            .query_one("SELECT value FROM store_meta WHERE key = $1", &[&HEAD_KEY])
            .await
            .context("the chain head")?
            .try_get(0)?;
        written.push(("store_meta (the chain head, updated)", 1, head.len()));
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {PREFIX}store_meta; \
                 CREATE TABLE {PREFIX}store_meta (LIKE store_meta INCLUDING ALL)"
            ))
            .await?;
        client
            .execute(
                &format!("INSERT INTO {PREFIX}store_meta SELECT * FROM store_meta WHERE key = $1"),
                &[&HEAD_KEY],
            )
            .await?;
        drop(client);
        Ok((
            Arc::new(Bare {
                pool,
                tables,
                head,
                lock_sql: format!("SELECT value FROM {PREFIX}store_meta WHERE key = $1 FOR UPDATE"),
                head_sql: format!("UPDATE {PREFIX}store_meta SET value = $2 WHERE key = $1"),
                next: AtomicU64::new(0),
            }),
            written,
        ))
    }

    /// One transaction: with [`Lock::With`] the lock, the inserts and the
    /// head's update, else the inserts alone; then `COMMIT`, pipelined.
    pub async fn transaction(&self, lock: Lock) -> anyhow::Result<()> {
        let count = self.next.fetch_add(1, Ordering::Relaxed);
        let n = count.to_be_bytes();
        let object = self.pool.get().await.context("the baseline's pool")?;
        let client: &tokio_postgres::Client = &object;
        let locked = object.prepare_cached(&self.lock_sql).await?;
        let update = object.prepare_cached(&self.head_sql).await?;
        let mut inserts = Vec::with_capacity(self.tables.len());
        for t in &self.tables {
            inserts.push(
                object
                    .prepare_cached(&t.insert)
                    .await
                    .with_context(|| format!("preparing the insert into {}", t.name))?,
            );
        }
        // Keys made unique: the template's key and the counter.
        let keys: Vec<Vec<Vec<u8>>> = self
            .tables
            .iter()
            .map(|t| {
                t.rows
                    .iter()
                    .map(|r| match r.first() {
                        Some(Value::Bytes(Some(k))) => [k.as_slice(), &n].concat(),
                        _ => n.to_vec(),
                    })
                    .collect()
            })
            .collect();
        // Unique columns: far above anything gongkai wrote, one per row.
        let unique: Vec<Vec<Option<i64>>> = self
            .tables
            .iter()
            .map(|t| {
                (0..t.rows.len())
                    .map(|r| {
                        let base = i64::try_from(count).ok()?.checked_mul(256)?;
                        base.checked_add(i64::try_from(r).ok()?)?
                            .checked_add(1 << 50)
                    })
                    .collect()
            })
            .collect();
        let head_key: &[u8] = HEAD_KEY;
        let mut burst = Vec::new();
        burst.push(
            Box::pin(async { client.batch_execute("BEGIN").await.map(|()| 0_u64) })
                as std::pin::Pin<Box<dyn Future<Output = _> + Send + '_>>,
        );
        if lock == Lock::With {
            let locked = &locked;
            burst.push(Box::pin(async move {
                client
                    .query(locked, &[&head_key])
                    .await
                    .map(|r| r.len() as u64)
            }));
        }
        for (((t, stmt), keys), unique) in self.tables.iter().zip(&inserts).zip(&keys).zip(&unique)
        {
            for ((row, key), u) in t.rows.iter().zip(keys).zip(unique) {
                burst.push(Box::pin(async move {
                    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(row.len());
                    params.push(key);
                    for (i, v) in row.iter().enumerate().skip(1) {
                        params.push(if t.unique.contains(&i) { u } else { v.param() });
                    }
                    client.execute(stmt, &params).await
                }));
            }
        }
        if lock == Lock::With {
            let head = &self.head;
            let update = &update;
            burst.push(Box::pin(async move {
                client.execute(update, &[&head_key, head]).await
            }));
        }
        burst.push(Box::pin(async {
            client.batch_execute("COMMIT").await.map(|()| 0_u64)
        }));
        for r in join_all(burst).await {
            r.context("a baseline transaction")?;
        }
        Ok(())
    }
}

/// The floor under GetReport on PostgreSQL: what one GetReport reads, read
/// by tokio-postgres directly from the same pool size, with no gRPC and no
/// gongkai logic. The engine reads a report's head by key, then the
/// revision it names by key (two point selects, one after the other, since
/// the second needs the first's answer); so does this, on the same rows.
#[derive(Debug)]
pub struct BareRead {
    pool: Pool,
    /// (head key, latest revision key) of the reports GetReport reads.
    keys: Vec<(Vec<u8>, Vec<u8>)>,
    next: AtomicU64,
}

impl BareRead {
    /// The keys of up to `reports` stored reports and their latest revisions.
    pub async fn prepare(pool: Pool, reports: usize) -> anyhow::Result<Arc<BareRead>> {
        let client = pool.get().await.context("connecting to the database")?;
        let rows = client
            .query(
                "SELECT h.key, r.key FROM reports h JOIN report_revisions r \
                 ON r.uscc = h.uscc AND r.year = h.year AND r.revision = h.latest_revision \
                 ORDER BY h.key LIMIT $1",
                &[&i64::try_from(reports)?],
            )
            .await
            .context("finding the reports the bare read reads")?;
        let keys = rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<(Vec<u8>, Vec<u8>)>, tokio_postgres::Error>>()?;
        if keys.is_empty() {
            bail!("the bare read found no stored report");
        }
        drop(client);
        Ok(Arc::new(BareRead {
            pool,
            keys,
            next: AtomicU64::new(0),
        }))
    }

    /// One read: the head, then the revision, each checked to be there.
    pub async fn read(&self) -> anyhow::Result<()> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let at = usize::try_from(n % u64::try_from(self.keys.len())?)?;
        let (head, revision) = &self.keys[at];
        let object = self.pool.get().await.context("the bare read's pool")?;
        let by_head = object
            .prepare_cached("SELECT value FROM reports WHERE key = $1")
            .await?;
        let by_revision = object
            .prepare_cached("SELECT value FROM report_revisions WHERE key = $1")
            .await?;
        let h: Vec<u8> = object.query_one(&by_head, &[head]).await?.try_get(0)?;
        let r: Vec<u8> = object
            .query_one(&by_revision, &[revision])
            .await?
            .try_get(0)?;
        if h.is_empty() || r.is_empty() {
            bail!("the bare read found an empty value");
        }
        Ok(())
    }
}
