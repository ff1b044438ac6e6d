//! `gongkai token`: make a bearer token and its credentials-file entry.

use std::{io::Write, process::ExitCode};

use gongkai_server::auth::{Role, entry_toml, new_token};

/// Arguments of `gongkai token`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Name of the principal (logs, audit trail).
    #[arg(long)]
    name: String,
    /// Its agency's 统一社会信用代码 (scope: that agency's subtree), or `*` for everything.
    #[arg(long)]
    agency: String,
    /// Roles: submitter, reviewer, auditor, admin (repeat or comma-separate).
    #[arg(long = "role", value_delimiter = ',', required = true)]
    roles: Vec<RoleArg>,
    /// Append the entry to this credentials file (created if missing).
    #[arg(long, env = "GONGKAI_CREDENTIALS", value_name = "FILE")]
    credentials: Option<std::path::PathBuf>,
}

/// A role on the command line.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum RoleArg {
    Submitter,
    Reviewer,
    Auditor,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Submitter => Role::Submitter,
            RoleArg::Reviewer => Role::Reviewer,
            RoleArg::Auditor => Role::Auditor,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// Prints the token on stdout; writes (or prints) the entry with its hash.
pub fn run(args: &Args, out: &mut impl Write) -> std::io::Result<ExitCode> {
    let token = new_token();
    let roles: Vec<Role> = args.roles.iter().copied().map(Role::from).collect();
    let entry = match entry_toml(&args.name, &args.agency, &roles, &token)
        .and_then(|e| gongkai_server::auth::Credentials::parse(&e).map(|_| e))
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("gongkai: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    match &args.credentials {
        Some(path) => {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            writeln!(f, "\n{entry}")?;
            eprintln!("appended {} to {}", args.name, path.display());
        }
        None => eprintln!("credentials entry (add it to the credentials file):\n{entry}"),
    }
    writeln!(out, "{token}")?;
    Ok(ExitCode::SUCCESS)
}
