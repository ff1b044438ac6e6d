//! DocumentService: a published document in, a report and its findings out;
//! a report (given, or stored and read as GetReport reads it) out in the
//! official layout. Nothing is written.

use gongkai_document::{
    Layout,
    render::{Target, render},
};
use gongkai_domain::{Finding, Location, Report, Verdict, catalogue::id};
use gongkai_proto::v1::{self as pb, document_service_server::DocumentService};
use tonic::{Request, Response, Status};

use super::{
    Ctx,
    report::{stored_report, stored_revision},
};
use crate::error::ApiError;

/// DocumentService.
#[derive(Clone, Debug)]
pub struct DocumentApi(pub Ctx);

fn layout(l: Layout) -> pb::DocumentLayout {
    match l {
        Layout::Html => pb::DocumentLayout::Html,
        Layout::TabSeparated => pb::DocumentLayout::TabSeparated,
        Layout::PipeRows => pb::DocumentLayout::PipeRows,
        Layout::CellPerLine => pb::DocumentLayout::CellPerLine,
        Layout::ProseOnly => pb::DocumentLayout::ProseOnly,
        Layout::Docx => pb::DocumentLayout::Docx,
        Layout::Pdf => pb::DocumentLayout::Pdf,
    }
}

fn disagreement(field: &str, document: &str, hint: &str) -> Finding {
    Finding::new(
        id::IMPORT_METADATA,
        Location::row("metadata", field),
        format!(
            "文件中{field}为“{document}”，与调用方提供的“{hint}”不一致，以文件为准 — the document says {field} is \"{document}\", the hint says \"{hint}\"; the document's is kept"
        ),
    )
}

/// Fills what the document left out from the hints; where both say
/// something different, the document wins and a finding names both.
fn apply_hints(
    report: &mut Report,
    hints: &pb::ImportHints,
    findings: &mut Vec<Finding>,
) -> Result<(), ApiError> {
    let m = &mut report.metadata;
    let mut text = |field: &str, slot: &mut Option<String>, hint: &str| {
        let hint = hint.trim();
        if hint.is_empty() {
            return;
        }
        match slot {
            None => *slot = Some(hint.to_owned()),
            Some(doc) if doc.as_str() != hint => findings.push(disagreement(field, doc, hint)),
            Some(_) => {}
        }
    };
    if !hints.agency_uscc.is_empty() {
        super::uscc("hints.agency_uscc", hints.agency_uscc.trim())?;
    }
    if !hints.region_code.is_empty() {
        super::region_code("hints.region_code", hints.region_code.trim())?;
    }
    super::bounded_text(
        "hints.agency_name",
        &hints.agency_name,
        super::MAX_NAME_CHARS,
    )?;
    text("agency_uscc", &mut m.agency_uscc, &hints.agency_uscc);
    text("region_code", &mut m.region_code, &hints.region_code);
    let mut name = (!m.agency_name.is_empty()).then(|| m.agency_name.clone());
    text("agency_name", &mut name, &hints.agency_name);
    m.agency_name = name.unwrap_or_default();
    if hints.data_year != 0 {
        super::data_year("hints.data_year", hints.data_year)?;
        if m.data_year == 0 {
            m.data_year = hints.data_year;
        } else if m.data_year != hints.data_year {
            findings.push(disagreement(
                "data_year",
                &m.data_year.to_string(),
                &hints.data_year.to_string(),
            ));
        }
    }
    let level = match pb::AgencyLevel::try_from(hints.agency_level) {
        Ok(level) => gongkai_domain::AgencyLevel::from_wire(level),
        Err(_) => {
            return Err(ApiError::field(
                "hints.agency_level",
                format!("unknown level {}", hints.agency_level),
            ));
        }
    };
    if level.is_some() {
        m.agency_level = level;
    }
    Ok(())
}

fn target(t: i32) -> Result<Target, ApiError> {
    match pb::RenderTarget::try_from(t) {
        Ok(pb::RenderTarget::Markdown) => Ok(Target::Markdown),
        Ok(pb::RenderTarget::Html) => Ok(Target::Html),
        _ => Err(ApiError::field(
            "target",
            "required: RENDER_TARGET_MARKDOWN or RENDER_TARGET_HTML",
        )),
    }
}

#[tonic::async_trait]
impl DocumentService for DocumentApi {
    async fn import_document(
        &self,
        request: Request<pb::ImportDocumentRequest>,
    ) -> Result<Response<pb::ImportDocumentResponse>, Status> {
        self.0
            .run("ImportDocument", request, |_p, req| async move {
                // Parsing is CPU work: keep it off the async threads.
                super::off_workers(move || {
                    let imported = gongkai_document::import(&req.content)
                        .map_err(|e| ApiError::field("content", e.to_string()))?;
                    let mut report = imported.report;
                    let mut findings = imported.findings;
                    apply_hints(&mut report, &req.hints.unwrap_or_default(), &mut findings)?;
                    findings.extend(gongkai_domain::check_alone(&report));
                    Ok(pb::ImportDocumentResponse {
                        report: Some(pb::AnnualReport::from(&report)),
                        verdict: pb::Verdict::from(Verdict::of(&findings)).into(),
                        findings: findings.iter().map(pb::Finding::from).collect(),
                        ruleset_version: gongkai_domain::RULESET_VERSION.to_owned(),
                        layout: layout(imported.layout).into(),
                        encoding: imported.encoding.to_owned(),
                    })
                })
                .await
            })
            .await
    }

    async fn render_report(
        &self,
        request: Request<pb::RenderReportRequest>,
    ) -> Result<Response<pb::RenderReportResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("RenderReport", request, |p, req| async move {
                let to = target(req.target)?;
                use pb::render_report_request::Source;
                let (report, revision) = match req.source {
                    None => {
                        return Err(ApiError::field(
                            "source",
                            "required: a report, or the name of a stored one",
                        ));
                    }
                    Some(Source::Report(r)) => (super::report::to_domain(&r)?, String::new()),
                    Some(Source::Name(name)) => {
                        let rev = stored_revision(&ctx.store, &p, &name, req.view).await?;
                        (stored_report(&rev)?, rev.name)
                    }
                };
                Ok(pb::RenderReportResponse {
                    content: render(&report, to),
                    media_type: match to {
                        Target::Markdown => "text/markdown; charset=utf-8",
                        Target::Html => "text/html; charset=utf-8",
                    }
                    .to_owned(),
                    revision,
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_fill_gaps_and_disagreements_are_findings() {
        let mut r = Report::empty(gongkai_domain::FormatVersion::Current2021, 2024);
        r.metadata.agency_name = "宝清县人民政府".into();
        let hints = pb::ImportHints {
            agency_uscc: "11330700099033995K".into(),
            agency_name: "宝清县政府".into(),
            data_year: 2023,
            region_code: "230523".into(),
            agency_level: pb::AgencyLevel::County.into(),
        };
        let mut f = Vec::new();
        apply_hints(&mut r, &hints, &mut f).unwrap();
        assert_eq!(
            r.metadata.agency_uscc.as_deref(),
            Some("11330700099033995K")
        );
        assert_eq!(r.metadata.region_code.as_deref(), Some("230523"));
        assert_eq!(r.metadata.agency_name, "宝清县人民政府");
        assert_eq!(r.metadata.data_year, 2024);
        assert_eq!(
            r.metadata.agency_level,
            Some(gongkai_domain::AgencyLevel::County)
        );
        let paths: Vec<String> = f.iter().map(|f| f.location.path()).collect();
        assert_eq!(paths, ["metadata.agency_name", "metadata.data_year"]);
        assert!(f.iter().all(|f| f.rule == id::IMPORT_METADATA));
    }

    #[test]
    fn a_malformed_hint_is_refused_by_field() {
        let mut r = Report::empty(gongkai_domain::FormatVersion::Current2021, 2024);
        let hints = pb::ImportHints {
            agency_uscc: "11330700099033995X".into(),
            ..Default::default()
        };
        let err = apply_hints(&mut r, &hints, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(&err, ApiError::BadField { field, .. } if field == "hints.agency_uscc"),
            "{err:?}"
        );
    }
}
