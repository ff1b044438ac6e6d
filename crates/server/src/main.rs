//! `gongkai`: serve the annual-report API, check reports against the
//! national format, and look after the store.
//!
//! One binary, one subcommand per job (`src/cmd/`). Exit codes of the
//! one-shot commands: 0 success / every report valid (warnings allowed), 1
//! some report invalid or the chain broken, 2 unreadable input or bad usage.

use std::{io::Write, process::ExitCode};

use clap::{Parser, Subcommand};

mod cmd;
mod output;

/// mimalloc instead of glibc's malloc: per call the server allocates and
/// frees many small buffers across threads, where glibc spent about a tenth
/// of a call's CPU (malloc_consolidate, unlink_chunk).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(test)]
mod deploy_manifests;

/// 政府信息公开工作年度报告: check, review, store and audit annual reports.
#[derive(Debug, Parser)]
#[command(name = "gongkai", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the gRPC API (agencies, reports, review, audit).
    Serve(Box<cmd::serve::Args>),
    /// Make a bearer token and its credentials-file entry.
    Token(cmd::token::Args),
    /// Check published reports: verdict and findings for each file.
    Check(cmd::check::Args),
    /// A published report as API JSON (for grpcurl -d @).
    Import(cmd::import::Args),
    /// A report (published, or API JSON) in the official layout.
    Render(cmd::render::Args),
    /// List the rule catalogue: ids, severities, data years.
    Rules(cmd::rules::Args),
    /// Verify the store's audit chain and every record it names.
    Verify(cmd::store::VerifyArgs),
    /// Write a consistent backup of the store to a file.
    Backup(cmd::store::BackupArgs),
    /// Restore a backup into an empty directory, then verify it.
    Restore(cmd::store::RestoreArgs),
    /// Apply the schema migrations a PostgreSQL database has not had.
    Migrate(cmd::store::MigrateArgs),
    /// Copy a sled store into an empty PostgreSQL database, then verify it there.
    Copy(cmd::store::CopyArgs),
    /// Every approved report of an area and year, one row per agency (from a running server).
    Export(cmd::area::ExportArgs),
    /// Who in an area has filed, who has not, who is late (from a running server).
    Coverage(cmd::area::CoverageArgs),
}

fn main() -> ExitCode {
    let mut out = std::io::stdout().lock();
    let result = match Cli::parse().command {
        // Long-running: logs go to stderr, the listening line to stdout.
        Command::Serve(args) => {
            drop(out);
            return cmd::serve::run(&args);
        }
        Command::Token(args) => cmd::token::run(&args, &mut out),
        Command::Check(args) => cmd::check::run(&args, &mut out),
        Command::Import(args) => cmd::import::run(&args, &mut out),
        Command::Render(args) => cmd::render::run(&args, &mut out),
        Command::Rules(args) => cmd::rules::run(&args, &mut out),
        Command::Verify(args) => cmd::store::verify(&args, &mut out),
        Command::Backup(args) => cmd::store::backup(&args, &mut out),
        Command::Restore(args) => cmd::store::restore(&args, &mut out),
        Command::Migrate(args) => cmd::store::migrate(&args, &mut out),
        Command::Copy(args) => cmd::store::copy(&args, &mut out),
        Command::Export(args) => cmd::area::export(&args, &mut out),
        Command::Coverage(args) => cmd::area::coverage(&args, &mut out),
    };
    match result.and_then(|code| out.flush().map(|()| code)) {
        Ok(code) => code,
        // A reader that went away (`gongkai rules | head`) is not an error to report.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(2),
        Err(e) => {
            eprintln!("gongkai: cannot write output: {e}");
            ExitCode::from(2)
        }
    }
}
