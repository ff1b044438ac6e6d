//! `gongkai check FILE...`: import each published report, run every rule,
//! print the verdict and the findings.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
};

use gongkai_document::Imported;
use gongkai_domain::{Report, Verdict};
use serde_json::json;

use super::{display_name, read_input};
use crate::output::{self, Format};

/// Arguments of `gongkai check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Published reports to check; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Last year's report of the same agency, for the cross-year rules.
    #[arg(long, value_name = "FILE")]
    previous: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// The worst outcome over all files decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Valid = 0,
    Invalid = 1,
    Unreadable = 2,
}

fn load(path: &Path) -> Result<Imported, String> {
    let bytes = read_input(path)?;
    gongkai_document::import(&bytes).map_err(|e| e.to_string())
}

/// Runs the check over every file; each file is reported even when another fails.
pub fn run(args: &Args, out: &mut impl Write) -> std::io::Result<ExitCode> {
    let previous: Option<Report> = match &args.previous {
        None => None,
        Some(p) => match load(p) {
            Ok(imported) => Some(imported.report),
            Err(e) => {
                eprintln!("gongkai: {} (--previous): {e}", display_name(p));
                return Ok(ExitCode::from(Outcome::Unreadable as u8));
            }
        },
    };
    let mut worst = Outcome::Valid;
    for path in &args.files {
        let name = display_name(path);
        let outcome = match load(path).and_then(|imported| {
            let checked = gongkai_domain::check(&imported.report, previous.as_ref())
                .map_err(|e| e.to_string())?;
            let mut findings = imported.findings;
            findings.extend(checked);
            Ok((findings, imported.layout, imported.encoding))
        }) {
            Ok((findings, layout, encoding)) => {
                let verdict = Verdict::of(&findings);
                match args.format {
                    Format::Json => writeln!(
                        out,
                        "{}",
                        json!({
                            "file": name,
                            "layout": layout.name(),
                            "encoding": encoding,
                            "verdict": verdict.as_str(),
                            "findings": findings.iter().map(output::finding_json).collect::<Vec<_>>(),
                        })
                    ),
                    Format::Text => {
                        write!(out, "{}", output::text_block(&name, verdict, &findings))
                    }
                }?;
                if verdict == Verdict::Invalid {
                    Outcome::Invalid
                } else {
                    Outcome::Valid
                }
            }
            Err(e) => {
                eprintln!("gongkai: {name}: {e}");
                if args.format == Format::Json {
                    writeln!(out, "{}", json!({ "file": name, "error": e }))?;
                }
                Outcome::Unreadable
            }
        };
        worst = worst.max(outcome);
    }
    Ok(ExitCode::from(worst as u8))
}
