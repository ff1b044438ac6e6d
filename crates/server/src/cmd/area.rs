//! `gongkai export` and `gongkai coverage`: a supervising office's view of
//! its area from the command line.
//!
//! They are gRPC clients of a running `gongkai serve` (AreaService), not
//! readers of a store directory: sled admits one process at a time, the
//! live server holds it, and going through the server applies the same
//! access rules (a reviewer sees its own subtree only) and reads one
//! consistent store.

use std::{io::Write, path::PathBuf, process::ExitCode};

use gongkai_domain::{
    FormatVersion, Report,
    area::{cells_of, zero_sum},
    shape::Value,
};
use gongkai_proto::v1::{self as pb, area_service_client::AreaServiceClient};
use tonic::transport::Channel;

use super::remote::{self, authed, runtime, status};

/// Where the server is and who calls it.
#[derive(Debug, clap::Args)]
pub struct Remote {
    /// The gongkai server (http://… plaintext, https://… TLS).
    #[arg(
        long,
        env = "GONGKAI_SERVER",
        default_value = "http://127.0.0.1:50051",
        value_name = "URL"
    )]
    pub server: String,
    /// File holding the caller's bearer token (from `gongkai token`).
    #[arg(long, env = "GONGKAI_TOKEN_FILE", value_name = "FILE")]
    pub token_file: PathBuf,
    /// CA certificate (PEM) to trust, for an https:// server.
    #[arg(long, env = "GONGKAI_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

/// Which area and year.
#[derive(Debug, clap::Args)]
pub struct AreaYear {
    /// The data year.
    #[arg(long)]
    pub year: u32,
    /// The supervising agency: its 统一社会信用代码 (or agencies/{uscc}).
    #[arg(long, value_name = "USCC")]
    pub area: String,
}

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated, one header row, then one row per agency, one column
    /// per cell of the year's format; a report in another format is skipped
    /// with a warning.
    Csv,
    /// One JSON object per agency per line, every report with its own cells
    /// and its "format".
    Jsonl,
}

/// Arguments of `gongkai export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    remote: Remote,
    #[command(flatten)]
    target: AreaYear,
    /// Output format. A CSV's columns are the cells of the year's format,
    /// so a report approved in another format (the 2019 trial format in a
    /// 2021-or-later year) cannot be a row: it is skipped, named in a
    /// warning on stderr, and the skipped rows are counted at the end. The
    /// exit status stays 0 (the CSV is valid and complete for its format);
    /// jsonl exports every report, each line with its own cells and its
    /// "format".
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    format: ExportFormat,
}

/// Coverage output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CoverageFormat {
    /// A table for people.
    Text,
    /// One JSON object per agency per line.
    Jsonl,
}

/// Arguments of `gongkai coverage`.
#[derive(Debug, clap::Args)]
pub struct CoverageArgs {
    #[command(flatten)]
    remote: Remote,
    #[command(flatten)]
    target: AreaYear,
    /// Judge lateness at this moment (RFC 3339, e.g. 2025-02-01T00:00:00+08:00);
    /// default: now.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CoverageFormat::Text)]
    format: CoverageFormat,
}

fn area_name(area: &str) -> String {
    if area.starts_with("agencies/") {
        area.to_owned()
    } else {
        format!("agencies/{area}")
    }
}

async fn connect(remote: &Remote) -> Result<(AreaServiceClient<Channel>, String), String> {
    let token = remote::token(&remote.token_file)?;
    let channel = remote::channel(&remote.server, remote.ca.as_deref(), "--ca").await?;
    Ok((
        AreaServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024),
        token,
    ))
}

fn finish(result: Result<(), String>) -> std::io::Result<ExitCode> {
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("gongkai: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

/// A CSV field, quoted when it must be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn json_value(v: Value) -> serde_json::Value {
    crate::output::value_json(Some(v))
}

/// `gongkai export`: every current approved report of the area and year,
/// one row per agency, every cell of T2, T3 and T4 a named column
/// (`t3.R25.natural_person`, the declared shape's location paths).
///
/// A report in another format than the year's (approved under an earlier
/// rule set, or restored) has other cells: JSONL writes it with its own and
/// names its `format`; CSV skips it with a warning rather than stop midway,
/// since the rows already written and those after are valid.
pub fn export(args: &ExportArgs, out: &mut impl Write) -> std::io::Result<ExitCode> {
    let year = args.target.year;
    let year_format = FormatVersion::of_year(year);
    let columns: Vec<String> = {
        let zero = zero_sum(year);
        cells_of(&zero, &zero)
            .into_iter()
            .map(|(location, ..)| location.path())
            .collect()
    };
    let fixed = ["agency", "display_name", "revision"];
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let (mut client, token) = connect(&args.remote).await?;
            let request = pb::ExportReportsRequest {
                area: area_name(&args.target.area),
                data_year: year,
            };
            let mut stream = client
                .export_reports(authed(&token, request)?)
                .await
                .map_err(|s| status(&s))?
                .into_inner();
            if args.format == ExportFormat::Csv {
                let header: Vec<&str> = fixed
                    .iter()
                    .copied()
                    .chain(columns.iter().map(String::as_str))
                    .collect();
                writeln!(out, "{}", header.join(",")).map_err(|e| e.to_string())?;
            }
            let mut skipped: u64 = 0;
            while let Some(m) = stream.message().await.map_err(|s| status(&s))? {
                let revision = m.revision.unwrap_or_default();
                let stored = revision
                    .report
                    .as_ref()
                    .ok_or_else(|| format!("{}: the approved revision has no report", m.agency))?;
                let report =
                    Report::try_from(stored).map_err(|e| format!("{}: {e}", revision.name))?;
                match args.format {
                    ExportFormat::Csv if report.format != year_format => {
                        eprintln!(
                            "gongkai: warning: skipped {}: it is in the {} ({}), not the {year} format, so its cells are not this CSV's columns; --format jsonl exports every report with its own cells",
                            revision.name,
                            report.format,
                            stored.format_version().as_str_name(),
                        );
                        skipped = skipped.saturating_add(1);
                    }
                    ExportFormat::Csv => {
                        let mut row = vec![
                            csv_field(&m.agency),
                            csv_field(&m.display_name),
                            revision.revision.to_string(),
                        ];
                        row.extend(
                            cells_of(&report, &report)
                                .iter()
                                .map(|(_, v, _)| v.to_string()),
                        );
                        writeln!(out, "{}", row.join(",")).map_err(|e| e.to_string())?;
                    }
                    ExportFormat::Jsonl => {
                        let mut obj = serde_json::Map::new();
                        obj.insert("agency".into(), m.agency.clone().into());
                        obj.insert("display_name".into(), m.display_name.clone().into());
                        obj.insert("revision".into(), revision.revision.into());
                        // The wire's name: which cells follow.
                        obj.insert(
                            "format".into(),
                            stored.format_version().as_str_name().into(),
                        );
                        for (location, v, _) in cells_of(&report, &report) {
                            obj.insert(location.path(), json_value(v));
                        }
                        writeln!(out, "{}", serde_json::Value::Object(obj))
                            .map_err(|e| e.to_string())?;
                    }
                }
            }
            if skipped > 0 {
                eprintln!(
                    "gongkai: warning: {skipped} report(s) skipped, not in the {year} format ({year_format}); --format jsonl exports them"
                );
            }
            Ok(())
        })
    });
    finish(result)
}

fn state_word(s: pb::FilingState) -> &'static str {
    match s {
        pb::FilingState::Unspecified => "unspecified",
        pb::FilingState::NotStarted => "not_started",
        pb::FilingState::Draft => "draft",
        pb::FilingState::Submitted => "submitted",
        pb::FilingState::Returned => "returned",
        pb::FilingState::Approved => "approved",
    }
}

/// `gongkai coverage`: who in the area has filed, who has not, who is late.
pub fn coverage(args: &CoverageArgs, out: &mut impl Write) -> std::io::Result<ExitCode> {
    let as_of = match &args.as_of {
        None => None,
        Some(t) => match t.parse::<prost_types::Timestamp>() {
            Ok(ts) => Some(ts),
            Err(e) => {
                return finish(Err(format!(
                    "--as-of '{t}' is not an RFC 3339 time such as 2025-02-01T00:00:00+08:00: {e}"
                )));
            }
        },
    };
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let (mut client, token) = connect(&args.remote).await?;
            let request = pb::GetCoverageRequest {
                area: area_name(&args.target.area),
                data_year: args.target.year,
                as_of,
            };
            let c = client
                .get_coverage(authed(&token, request)?)
                .await
                .map_err(|s| status(&s))?
                .into_inner();
            let w = |e: std::io::Error| e.to_string();
            match args.format {
                CoverageFormat::Text => {
                    let at = c.as_of.map(|t| t.to_string()).unwrap_or_default();
                    writeln!(
                        out,
                        "{} {}: {} agencies, {} filed, {} not filed, {} late, {} filed late (as of {at})",
                        c.area,
                        c.data_year,
                        c.agencies.len(),
                        c.filed,
                        c.not_filed,
                        c.late,
                        c.filed_late
                    )
                    .map_err(w)?;
                    for a in &c.agencies {
                        writeln!(
                            out,
                            "{:<11} {:<4} {:<10} {} {}{}",
                            state_word(a.state()),
                            if a.late { "LATE" } else { "-" },
                            if a.deadline.is_empty() {
                                "-"
                            } else {
                                &a.deadline
                            },
                            a.agency.trim_start_matches("agencies/"),
                            a.display_name,
                            match &a.first_submit_time {
                                Some(t) if a.filed_late => format!(" (filed late: {t})"),
                                _ => String::new(),
                            }
                        )
                        .map_err(w)?;
                    }
                }
                CoverageFormat::Jsonl => {
                    for a in &c.agencies {
                        let line = serde_json::json!({
                            "agency": a.agency,
                            "display_name": a.display_name,
                            "state": state_word(a.state()),
                            "approved_revision": a.approved_revision,
                            "filed": a.filed,
                            "deadline": a.deadline,
                            "deadline_rule": a.deadline_rule,
                            "late": a.late,
                            "first_submit_time": a.first_submit_time.map(|t| t.to_string()),
                            "filed_late": a.filed_late,
                        });
                        writeln!(out, "{line}").map_err(w)?;
                    }
                }
            }
            Ok(())
        })
    });
    finish(result)
}
