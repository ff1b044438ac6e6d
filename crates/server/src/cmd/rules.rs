//! `gongkai rules`: the rule catalogue.

use std::{io::Write, process::ExitCode};

use gongkai_domain::{RULES, RULESET_VERSION};
use serde_json::json;

use crate::output::Format;

/// Arguments of `gongkai rules`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Prints the catalogue.
pub fn run(args: &Args, out: &mut impl Write) -> std::io::Result<ExitCode> {
    match args.format {
        Format::Json => {
            let rules: Vec<_> = RULES
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id,
                        "severity": r.severity.as_str(),
                        "first_year": r.first_year,
                        "last_year": r.last_year,
                        "summary_zh": r.summary_zh,
                        "summary_en": r.summary_en,
                    })
                })
                .collect();
            writeln!(
                out,
                "{}",
                json!({ "version": RULESET_VERSION, "rules": rules })
            )?;
        }
        Format::Text => {
            writeln!(
                out,
                "gongkai rule set {RULESET_VERSION} ({} rules)",
                RULES.len()
            )?;
            for r in RULES {
                let years = match r.last_year {
                    Some(last) => format!("{}–{last}", r.first_year),
                    None => format!("{}–", r.first_year),
                };
                writeln!(
                    out,
                    "{:<28} {:<8} {:<6} {}",
                    r.id,
                    r.severity.as_str(),
                    years,
                    r.summary_zh
                )?;
                writeln!(out, "{:<44} {}", "", r.summary_en)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
