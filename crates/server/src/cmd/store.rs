//! `gongkai verify`, `gongkai backup`, `gongkai restore`: the store from the
//! command line, for operators.

use std::{io::Write, path::PathBuf, process::ExitCode};

use gongkai_store::{ReportStore, SledStore, StoreOptions};

use super::remote;

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
}

/// Arguments of `gongkai backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    store: DataDir,
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
}

fn open(dir: &DataDir) -> Result<SledStore, String> {
    if !dir.data.join("db").exists() {
        return Err(format!("{}: no store here", dir.data.display()));
    }
    SledStore::open(&dir.data, &StoreOptions::default())
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
    let store = match open(&args.store) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match store.verify() {
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

/// Writes a backup file: of the store in `--data`, or, with --server, of a
/// running server's store by that server.
pub fn backup(args: &BackupArgs, out: &mut impl Write) -> std::io::Result<ExitCode> {
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
    match store.backup(file) {
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
