//! `gongkai verify`, `gongkai backup`, `gongkai restore`, `gongkai
//! migrate`, `gongkai copy`: the store from the command line, for
//! operators.

use std::{io::Write, num::NonZeroUsize, path::PathBuf, process::ExitCode};

use gongkai_store::{
    Store, StoreOptions,
    copy::{CopyError, CopyOptions},
    postgres::{PgEngine, PgOptions},
};

use super::remote;

/// A store in PostgreSQL instead of a sled directory.
#[derive(Debug, clap::Args)]
pub struct Database {
    /// The PostgreSQL database holding the store, instead of the sled
    /// directory --data: `postgres://USER@HOST:PORT/DB?sslmode=verify-full`
    /// (libpq's form; several hosts with `target_session_attrs=read-write`
    /// follow a failover). Its schema comes from `gongkai migrate`.
    #[arg(
        long = "database",
        env = "GONGKAI_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub url: Option<String>,
    /// The CA certificate (PEM) that signed the database server's
    /// certificate; wins over `sslrootcert` in the URL, and makes
    /// `sslmode=require` verify the chain.
    #[arg(
        long = "database-ca",
        env = "GONGKAI_DATABASE_CA",
        requires = "url",
        value_name = "FILE"
    )]
    pub ca: Option<PathBuf>,
}

impl Database {
    /// The engine's settings.
    pub fn options(&self) -> PgOptions {
        PgOptions {
            ca_file: self.ca.clone(),
            ..PgOptions::default()
        }
    }
}

/// Where the store lives.
#[derive(Debug, clap::Args)]
pub struct DataDir {
    /// Directory of the sled store.
    #[arg(
        long = "data",
        env = "GONGKAI_DATA",
        default_value = "./data",
        value_name = "DIR"
    )]
    pub data: PathBuf,
}

/// Arguments of `gongkai verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    store: DataDir,
    #[command(flatten)]
    database: Database,
}

/// Arguments of `gongkai migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    database: Database,
}

/// Arguments of `gongkai backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    store: DataDir,
    /// A PostgreSQL store is backed up with the database's own tools: this
    /// refuses, saying which.
    #[command(flatten)]
    database: Database,
    /// The backup file to write; an existing file is never replaced. With
    /// --server: a file name inside the server's --backup-dir, or none to let
    /// the server name it (and prune).
    #[arg(value_name = "FILE", required_unless_present = "server")]
    file: Option<PathBuf>,
    /// Back up a running server's store instead (its own process writes the
    /// file into its --backup-dir; sled lets no second process open a live
    /// store): `http://HOST:PORT`, or `https://…` with --server-ca.
    #[arg(long, env = "GONGKAI_BACKUP_SERVER", value_name = "URL")]
    server: Option<String>,
    /// File holding the bearer token of an admin principal (with --server).
    #[arg(
        long,
        env = "GONGKAI_BACKUP_TOKEN_FILE",
        requires = "server",
        value_name = "FILE"
    )]
    token_file: Option<PathBuf>,
    /// CA certificate (PEM) to trust for an https:// --server.
    #[arg(
        long,
        env = "GONGKAI_BACKUP_SERVER_CA",
        requires = "server",
        value_name = "FILE"
    )]
    server_ca: Option<PathBuf>,
}

/// Arguments of `gongkai restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file to read.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Directory to restore into; must not exist or be empty. The store is
    /// built and verified beside it (hidden, in the same parent directory)
    /// and renamed into place: a killed restore leaves nothing under this
    /// name, and the next restore removes what it left.
    #[command(flatten)]
    store: DataDir,
    /// A PostgreSQL store is restored with the database's own tools: this
    /// refuses, saying which.
    #[command(flatten)]
    database: Database,
}

/// Arguments of `gongkai copy`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Stop every gongkai serve on the sled store first (sled admits one process, so a \
running server makes the copy fail) and keep a backup of it. The source is never \
written: a store of an older format is upgraded in the copy only, so the directory \
still opens with the release that wrote it. The target must hold no data; a copy \
that stopped part way leaves a partial copy that gongkai refuses to serve: drop the \
database, create it again and copy again. See deploy/README.md.")]
pub struct CopyArgs {
    /// The sled store to copy (the directory `serve --data` used).
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// The PostgreSQL database to copy into: migrated (or --migrate) and
    /// empty. `postgres://USER@HOST:PORT/DB?sslmode=verify-full`.
    #[arg(
        long,
        env = "GONGKAI_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    to: String,
    /// The CA certificate (PEM) that signed the database server's
    /// certificate; wins over `sslrootcert` in the URL.
    #[arg(long, env = "GONGKAI_DATABASE_CA", value_name = "FILE")]
    database_ca: Option<PathBuf>,
    /// Apply the database's schema migrations first (as `gongkai migrate`
    /// does). Without it, a database without this gongkai's schema is
    /// refused.
    #[arg(long)]
    migrate: bool,
    /// Rows per transaction on the target (each also holds at most 8 MiB).
    #[arg(
        long,
        default_value_t = NonZeroUsize::new(CopyOptions::default().batch_rows).unwrap_or(NonZeroUsize::MIN),
        value_name = "N"
    )]
    batch_rows: NonZeroUsize,
}

fn open(dir: &DataDir) -> Result<Store, String> {
    if !dir.data.join("db").exists() {
        return Err(format!("{}: no store here", dir.data.display()));
    }
    Store::open_sled(&dir.data, &StoreOptions::default())
        .map_err(|e| format!("{}: {e}", dir.data.display()))
}

fn fail(e: impl std::fmt::Display) -> std::io::Result<ExitCode> {
    eprintln!("gongkai: {e}");
    Ok(ExitCode::from(2))
}

/// Walks the audit chain and recomputes everything derived from it (heads,
/// agencies, children edges, every index, every request record, the area
/// sums): exit 0 when all holds, 1 at the first difference, named by event,
/// tree, key and report or agency.
pub fn verify(args: &VerifyArgs, out: &mut impl Write) -> std::io::Result<ExitCode> {
    let runtime = match remote::runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let verified = runtime.block_on(async {
        let store = match &args.database.url {
            Some(url) => Store::open_postgres(url, &args.database.options())
                .await
                .map_err(|e| format!("the database: {e}"))?,
            None => open(&args.store)?,
        };
        store.verify().await.map_err(|e| e.to_string())
    });
    match verified {
        Ok(v) => match v.broken {
            None => {
                writeln!(
                    out,
                    "audit chain verified: {} events, {} records",
                    v.events, v.records
                )?;
                Ok(ExitCode::SUCCESS)
            }
            Some(b) => {
                // Event, tree, key, report or agency, and what differs.
                writeln!(out, "audit chain BROKEN at {b}")?;
                Ok(ExitCode::from(1))
            }
        },
        Err(e) => fail(e),
    }
}

/// Asks a running server for a backup into its backup directory.
async fn backup_remote(
    url: &str,
    args: &BackupArgs,
) -> Result<gongkai_proto::v1::BackupStoreResponse, String> {
    let token_file = args
        .token_file
        .as_ref()
        .ok_or("--server needs --token-file FILE (an admin's bearer token)")?;
    let token = remote::token(token_file)?;
    let channel = remote::channel(url, args.server_ca.as_deref(), "--server-ca").await?;
    let file_name = match &args.file {
        None => String::new(),
        Some(f) => f
            .to_str()
            .ok_or("the backup file name is not UTF-8")?
            .to_owned(),
    };
    let request = remote::authed(&token, gongkai_proto::v1::BackupStoreRequest { file_name })?;
    let response = gongkai_proto::v1::admin_service_client::AdminServiceClient::new(channel)
        .backup_store(request)
        .await
        .map_err(|s| remote::status(&s))?;
    Ok(response.into_inner())
}

/// Applies the schema migrations a PostgreSQL database has not had (safe
/// to run while replicas serve, and from several at once).
pub fn migrate(args: &MigrateArgs, out: &mut impl Write) -> std::io::Result<ExitCode> {
    let Some(url) = &args.database.url else {
        return fail("migrate: --database URL (or GONGKAI_DATABASE_URL) names the database");
    };
    let runtime = match remote::runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let migrated = runtime.block_on(async {
        PgEngine::open(url, &args.database.options())?
            .migrate()
            .await
    });
    match migrated {
        Ok(m) if m.from == m.to => {
            writeln!(
                out,
                "the database's gongkai schema is at version {} already",
                m.to
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(m) => {
            writeln!(
                out,
                "the database's gongkai schema migrated from version {} to {}",
                m.from, m.to
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => fail(format!("migrate: {e}")),
    }
}

/// What backup and restore say to a PostgreSQL store.
fn not_on_postgres(what: &str) -> std::io::Result<ExitCode> {
    fail(format!("{what}: {}", gongkai_store::POSTGRES_BACKUP))
}

/// Writes a backup file: of the store in `--data`, or, with --server, of a
/// running server's store by that server.
pub fn backup(args: &BackupArgs, out: &mut impl Write) -> std::io::Result<ExitCode> {
    if args.database.url.is_some() {
        return not_on_postgres("backup");
    }
    if let Some(url) = &args.server {
        let runtime = match remote::runtime() {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        return match runtime.block_on(backup_remote(url, args)) {
            Ok(r) => {
                writeln!(
                    out,
                    "backup written by {url} to {}: {} trees, {} entries, {} bytes",
                    r.path, r.collections, r.entries, r.bytes
                )?;
                for removed in &r.removed {
                    writeln!(out, "removed the older backup {removed}")?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => fail(format!("backup through {url}: {e}")),
        };
    }
    let Some(file) = &args.file else {
        return fail("backup: a FILE to write is needed (or --server URL)");
    };
    let store = match open(&args.store) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let runtime = match remote::runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    match runtime.block_on(store.backup(file)) {
        Ok(s) => {
            writeln!(
                out,
                "backup written to {}: {} trees, {} entries, {} bytes",
                file.display(),
                s.collections,
                s.entries,
                s.bytes
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => fail(e),
    }
}

/// Restores a backup into a missing or empty directory: built and verified
/// beside it, then renamed into place.
pub fn restore(args: &RestoreArgs, out: &mut impl Write) -> std::io::Result<ExitCode> {
    if args.database.url.is_some() {
        return not_on_postgres("restore");
    }
    match gongkai_store::restore(&args.file, &args.store.data, &StoreOptions::default()) {
        Ok(s) => {
            writeln!(
                out,
                "restored {} into {}: {} trees, {} entries; audit chain verified, with every record and index derived from it",
                args.file.display(),
                args.store.data.display(),
                s.collections,
                s.entries
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => fail(e),
    }
}

/// Copies a sled store into an empty PostgreSQL database, every tree byte
/// for byte, then verifies the target: exit 0 when the copy verifies, 1
/// when it was written but does not, 2 when refused or stopped.
pub fn copy(args: &CopyArgs, out: &mut impl Write) -> std::io::Result<ExitCode> {
    let url = &args.to;
    let runtime = match remote::runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let options = PgOptions {
        ca_file: args.database_ca.clone(),
        ..PgOptions::default()
    };
    let copied = runtime.block_on(async {
        let engine = PgEngine::open(url, &options).map_err(CopyError::Target)?;
        if args.migrate {
            let m = engine.migrate().await.map_err(CopyError::Target)?;
            // A failed write of a progress line shows again, and is
            // reported, at the summary's.
            let _ = writeln!(
                out,
                "the database's gongkai schema migrated from version {} to {}",
                m.from, m.to
            );
        }
        let options = CopyOptions {
            batch_rows: args.batch_rows.get(),
            ..CopyOptions::default()
        };
        gongkai_store::copy::sled_to_postgres(&args.from, &engine, &options, |t| {
            let _ = writeln!(
                out,
                "copied {:<15} → {:<22} {:>9} rows {:>12} bytes",
                t.tree.name(),
                t.tree.table(),
                t.rows,
                t.bytes
            );
        })
        .await
    });
    match copied {
        Ok(c) => {
            if let Some(from) = c.upgraded_from {
                writeln!(
                    out,
                    "the source is of store format {from}: the copy is of format {} (the source is unchanged)",
                    gongkai_store::STORE_FORMAT
                )?;
            }
            let rate = if c.seconds > 0.0 {
                c.rows() as f64 / c.seconds
            } else {
                0.0
            };
            writeln!(
                out,
                "copied {} rows, {} bytes, in {} transactions, {:.1} s ({rate:.0} rows/s)",
                c.rows(),
                c.bytes(),
                c.transactions,
                c.seconds
            )?;
            writeln!(
                out,
                "the copy verified: audit chain of {} events, {} records, every index and sum, as in the source",
                c.target.events, c.target.records
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ CopyError::TargetBroken(_)) => {
            eprintln!("gongkai: copy: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => fail(format!("copy: {e}")),
    }
}
