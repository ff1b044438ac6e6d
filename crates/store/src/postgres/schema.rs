//! Versioned schema migrations, embedded in the binary.
//!
//! Each migration is a SQL file under `migrations/`, applied once, in
//! order, and recorded in `schema_migrations`. [`migrate`] runs in one
//! transaction under an advisory lock, so two replicas started with
//! `--migrate` at once take turns: the second finds the work done. A
//! database whose schema is newer than this build knows is refused, never
//! written to: an older gongkai must not write rows a newer schema reads
//! differently.

use deadpool_postgres::{GenericClient, Object};

use super::{Failure, classify};
use crate::StoreError;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "tables",
    sql: include_str!("migrations/0001_tables.sql"),
}];

/// The advisory lock migrations take (`pg_advisory_xact_lock`): "gongkai"
/// in ASCII, then 1.
const MIGRATION_LOCK: i64 = 0x676f_6e67_6b61_6901;

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT current_user,
    gongkai_version text NOT NULL
)";

/// What [`super::PgEngine::migrate`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migrated {
    /// The schema version found (0: an empty database).
    pub from: u32,
    /// The schema version now.
    pub to: u32,
}

fn newer(found: u32) -> StoreError {
    StoreError::Schema(format!(
        "the database's gongkai schema is version {found}, newer than this gongkai knows \
         ({SCHEMA_VERSION}): upgrade gongkai"
    ))
}

/// The newest schema version applied (0: none).
async fn applied(client: &impl GenericClient) -> Result<u32, Failure> {
    let step = |e: tokio_postgres::Error| classify(&e);
    let found: i32 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(step)?
        .try_get(0)
        .map_err(step)?;
    u32::try_from(found).map_err(|_| {
        Failure::Fatal(StoreError::Schema(format!(
            "schema_migrations holds version {found}"
        )))
    })
}

/// Applies every migration the database has not had, in one transaction.
pub(super) async fn migrate(client: &mut Object) -> Result<Migrated, Failure> {
    let tx = client.transaction().await.map_err(|e| classify(&e))?;
    let step = |e: tokio_postgres::Error| classify(&e);
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(step)?;
    tx.batch_execute(LEDGER).await.map_err(step)?;
    let found = applied(&tx).await?;
    if found > SCHEMA_VERSION {
        // Dropping the transaction rolls it back.
        return Err(Failure::Fatal(newer(found)));
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.batch_execute(m.sql)
            .await
            .map_err(|e| match classify(&e) {
                Failure::Fatal(_) => Failure::Fatal(StoreError::Schema(format!(
                    "migration {} ({}) failed: {}",
                    m.version,
                    m.name,
                    super::tls::describe(&e)
                ))),
                retry => retry,
            })?;
        let version = i32::try_from(m.version)
            .map_err(|_| Failure::Fatal(StoreError::Schema(format!("migration {}", m.version))))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, gongkai_version) VALUES ($1, $2, $3)",
            &[&version, &m.name, &env!("CARGO_PKG_VERSION")],
        )
        .await
        .map_err(step)?;
    }
    tx.commit().await.map_err(step)?;
    Ok(Migrated {
        from: found,
        to: SCHEMA_VERSION,
    })
}

/// The schema version, if this build can use it; otherwise what to do.
pub(super) async fn check(client: &Object) -> Result<u32, Failure> {
    let step = |e: tokio_postgres::Error| classify(&e);
    let ledger: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await
        .map_err(step)?
        .try_get(0)
        .map_err(step)?;
    if !ledger {
        return Err(Failure::Fatal(StoreError::Schema(
            "the database has no gongkai schema (no table schema_migrations): apply it with \
             `gongkai migrate --database URL`, or start `gongkai serve --migrate`"
                .into(),
        )));
    }
    let found = applied(client).await?;
    if found > SCHEMA_VERSION {
        return Err(Failure::Fatal(newer(found)));
    }
    if found < SCHEMA_VERSION {
        return Err(Failure::Fatal(StoreError::Schema(format!(
            "the database's gongkai schema is version {found}, this gongkai needs \
             {SCHEMA_VERSION}: apply the migrations with `gongkai migrate --database URL`, \
             or start `gongkai serve --migrate`"
        ))));
    }
    Ok(found)
}
