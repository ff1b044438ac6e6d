//! `gongkai render FILE --to markdown|html`: a report in the official layout.
//! FILE is a published report in any layout `gongkai check` reads, or the
//! JSON of a `gongkai.v1.AnnualReport` (as `gongkai import` prints it).

use std::{io::Write, path::PathBuf, process::ExitCode};

use gongkai_document::render::{Target, render};
use gongkai_domain::Report;
use gongkai_proto::v1 as pb;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};

use super::{display_name, read_input};
use crate::output;

/// What to render to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum To {
    /// Markdown with pipe tables.
    Markdown,
    /// A standalone HTML page.
    Html,
}

/// Arguments of `gongkai render`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A published report, or an AnnualReport as JSON (`-` reads standard input).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum)]
    to: To,
}

/// The report in a JSON AnnualReport.
fn from_json(bytes: &[u8]) -> Result<Report, String> {
    let pool =
        DescriptorPool::decode(gongkai_proto::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())?;
    let desc = pool
        .get_message_by_name("gongkai.v1.AnnualReport")
        .ok_or("gongkai.v1.AnnualReport is not in the descriptor set")?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let dynamic = DynamicMessage::deserialize(desc, &mut de)
        .map_err(|e| format!("不是AnnualReport的JSON — not the JSON of an AnnualReport: {e}"))?;
    let report =
        pb::AnnualReport::decode(dynamic.encode_to_vec().as_slice()).map_err(|e| e.to_string())?;
    Report::try_from(&report).map_err(|e| format!("report: {e}"))
}

/// Prints the rendered report; a JSON report or a published one.
pub fn run(args: &Args, out: &mut impl Write) -> std::io::Result<ExitCode> {
    let report = read_input(&args.file).and_then(|bytes| {
        let json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if json {
            from_json(&bytes)
        } else {
            let imported = gongkai_document::import(&bytes).map_err(|e| e.to_string())?;
            output::eprint_findings(&imported.findings);
            Ok(imported.report)
        }
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gongkai: {}: {e}", display_name(&args.file));
            return Ok(ExitCode::from(2));
        }
    };
    let target = match args.to {
        To::Markdown => Target::Markdown,
        To::Html => Target::Html,
    };
    out.write_all(render(&report, target).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
