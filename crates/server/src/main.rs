//! `gongkai`: check annual reports against the national format.
//!
//! One binary, one subcommand per job. Exit codes: 0 every report valid
//! (warnings allowed), 1 some report invalid, 2 some input unreadable or not
//! a report, or bad usage.

use std::process::ExitCode;

use std::io::Write;

use clap::{Parser, Subcommand};

mod cmd;
mod output;

/// 政府信息公开工作年度报告: check, review, store and audit annual reports.
#[derive(Debug, Parser)]
#[command(name = "gongkai", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check published reports: verdict and findings for each file.
    Check(cmd::check::Args),
    /// List the rule catalogue: ids, severities, data years.
    Rules(cmd::rules::Args),
    /// Verify the store's audit chain and every record it names.
    Verify(cmd::store::VerifyArgs),
    /// Write a consistent backup of the store to a file.
    Backup(cmd::store::BackupArgs),
    /// Restore a backup into an empty directory, then verify it.
    Restore(cmd::store::RestoreArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let result = match cli.command {
        Command::Check(args) => cmd::check::run(&args, &mut out),
        Command::Rules(args) => cmd::rules::run(&args, &mut out),
        Command::Verify(args) => cmd::store::verify(&args, &mut out),
        Command::Backup(args) => cmd::store::backup(&args, &mut out),
        Command::Restore(args) => cmd::store::restore(&args, &mut out),
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
