//! `gongkai verify`, `gongkai backup`, `gongkai restore`: the store from the
//! command line, for operators.

use std::{io::Write, path::PathBuf, process::ExitCode};

use gongkai_store::{ReportStore, SledStore, StoreOptions};

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
    /// The backup file to write.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Arguments of `gongkai restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file to read.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Directory to restore into; must not exist or be empty.
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

/// Walks the audit chain: exit 0 when it holds, 1 when it is broken.
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
                writeln!(out, "audit chain BROKEN at event {}: {}", b.event, b.detail)?;
                Ok(ExitCode::from(1))
            }
        },
        Err(e) => fail(e),
    }
}

/// Writes a backup file.
pub fn backup(args: &BackupArgs, out: &mut impl Write) -> std::io::Result<ExitCode> {
    let store = match open(&args.store) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match store.backup(&args.file) {
        Ok(s) => {
            writeln!(
                out,
                "backup written to {}: {} trees, {} entries, {} bytes",
                args.file.display(),
                s.collections,
                s.entries,
                s.bytes
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => fail(e),
    }
}

/// Restores a backup into an empty directory and verifies it.
pub fn restore(args: &RestoreArgs, out: &mut impl Write) -> std::io::Result<ExitCode> {
    match gongkai_store::restore(&args.file, &args.store.data, &StoreOptions::default()) {
        Ok((_, s)) => {
            writeln!(
                out,
                "restored {} into {}: {} trees, {} entries; audit chain verified",
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
