//! `gongkai import FILE`: a published report as the JSON of the API's
//! `gongkai.v1.AnnualReport`, or of a whole `SubmitReportRequest` /
//! `SaveDraftRequest`, ready for `grpcurl -d @`.

use std::{io::Write, path::PathBuf, process::ExitCode};

use gongkai_proto::v1 as pb;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

use super::{display_name, read_input};
use crate::output;

/// Arguments of `gongkai import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The published report (`-` reads standard input).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Wrap the report in a SubmitReportRequest for this report name
    /// (agencies/{uscc}/reports/{year}).
    #[arg(long, value_name = "NAME", conflicts_with = "draft_request")]
    submit_request: Option<String>,
    /// Wrap the report in a SaveDraftRequest for this report name.
    #[arg(long, value_name = "NAME")]
    draft_request: Option<String>,
    /// The request's expected_revision (with --submit-request/--draft-request).
    #[arg(long, default_value_t = 0)]
    expected_revision: u32,
    /// The request's request_id (default: a fresh random one).
    #[arg(long)]
    request_id: Option<String>,
}

fn to_json(full_name: &str, bytes: &[u8]) -> Result<String, String> {
    let pool =
        DescriptorPool::decode(gongkai_proto::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())?;
    let desc = pool
        .get_message_by_name(full_name)
        .ok_or_else(|| format!("{full_name} is not in the descriptor set"))?;
    let msg = DynamicMessage::decode(desc, bytes).map_err(|e| e.to_string())?;
    let mut out = serde_json::Serializer::pretty(Vec::new());
    msg.serialize_with_options(&mut out, &SerializeOptions::new())
        .map_err(|e| e.to_string())?;
    String::from_utf8(out.into_inner()).map_err(|e| e.to_string())
}

/// Prints the JSON; import findings go to stderr.
pub fn run(args: &Args, out: &mut impl Write) -> std::io::Result<ExitCode> {
    let imported = match read_input(&args.file)
        .and_then(|bytes| gongkai_document::import(&bytes).map_err(|e| e.to_string()))
    {
        Ok(i) => i,
        Err(e) => {
            eprintln!("gongkai: {}: {e}", display_name(&args.file));
            return Ok(ExitCode::from(2));
        }
    };
    output::eprint_findings(&imported.findings);
    let report = pb::AnnualReport::from(&imported.report);
    let request_id = args
        .request_id
        .clone()
        .unwrap_or_else(|| gongkai_server::auth::new_token().replacen("gk_", "req_", 1));
    let (name, bytes) = match (&args.submit_request, &args.draft_request) {
        (Some(n), _) => (
            "gongkai.v1.SubmitReportRequest",
            pb::SubmitReportRequest {
                name: n.clone(),
                report: Some(report),
                expected_revision: args.expected_revision,
                request_id,
            }
            .encode_to_vec(),
        ),
        (None, Some(n)) => (
            "gongkai.v1.SaveDraftRequest",
            pb::SaveDraftRequest {
                name: n.clone(),
                report: Some(report),
                expected_revision: args.expected_revision,
                request_id,
            }
            .encode_to_vec(),
        ),
        (None, None) => ("gongkai.v1.AnnualReport", report.encode_to_vec()),
    };
    match to_json(name, &bytes) {
        Ok(json) => {
            writeln!(out, "{json}")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("gongkai: {e}");
            Ok(ExitCode::from(2))
        }
    }
}
