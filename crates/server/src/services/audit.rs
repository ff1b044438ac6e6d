//! AuditService: the trail and its verification (auditor role).

use gongkai_proto::v1::{self as pb, audit_service_server::AuditService};
use gongkai_store::{EventFilter, PageRequest, Store};
use tonic::{Request, Response, Status};

use super::{Ctx, agency_code};
use crate::{
    access::{self, Reach},
    auth::{Role, Scope},
    error::ApiError,
};

/// AuditService over the store.
#[derive(Clone, Debug)]
pub struct AuditApi(pub Ctx);

/// In-scope events and records among those `verify` checked: events
/// `1..=events` and `1..=records` of the chain, on the agencies of the
/// subtree under `scope` and their reports.
async fn scoped_counts(
    store: &Store,
    scope: &str,
    events: u64,
    records: u64,
) -> Result<(u64, u64), ApiError> {
    let mut page = PageRequest {
        size: 1000,
        cursor: String::new(),
    };
    let (mut in_events, mut in_records) = (0u64, 0u64);
    loop {
        let listed = store
            .list_events_within(scope, &EventFilter::default(), &page)
            .await?;
        for e in &listed.items {
            if e.sequence <= events {
                in_events = in_events.saturating_add(1);
            }
            if e.sequence <= records {
                in_records = in_records.saturating_add(1);
            }
        }
        if listed.next_cursor.is_empty() {
            return Ok((in_events, in_records));
        }
        page.cursor = listed.next_cursor;
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("ListAuditEvents", request, |p, req| async move {
                access::require(&p, Role::Auditor)?;
                let agency = if req.agency.is_empty() {
                    None
                } else {
                    let code = agency_code("agency", &req.agency)?.to_owned();
                    access::within(&ctx.store, &p, &code, Reach::Subtree).await?;
                    Some(code)
                };
                let action = match pb::AuditAction::try_from(req.action) {
                    Ok(pb::AuditAction::Unspecified) => None,
                    Ok(a) => Some(a),
                    Err(_) => {
                        return Err(ApiError::field(
                            "action",
                            format!("unknown action {}", req.action),
                        ));
                    }
                };
                let time = |field, t: Option<prost_types::Timestamp>| {
                    t.map(|t| super::timestamp(field, t)).transpose()
                };
                let filter = EventFilter {
                    agency,
                    action,
                    since: time("start_time", req.start_time)?,
                    until: time("end_time", req.end_time)?,
                };
                let page = super::page(req.page_size, req.page_token)?;
                // A scoped auditor sees only events of agencies in its
                // subtree, and pages that say nothing of the others.
                let listed = match &p.scope {
                    Scope::Everything => ctx.store.list_events(&filter, &page).await?,
                    Scope::Agency(own) => ctx.store.list_events_within(own, &filter, &page).await?,
                };
                Ok(pb::ListAuditEventsResponse {
                    events: listed.items,
                    next_page_token: listed.next_cursor,
                })
            })
            .await
    }

    async fn verify_audit_chain(
        &self,
        request: Request<pb::VerifyAuditChainRequest>,
    ) -> Result<Response<pb::VerifyAuditChainResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("VerifyAuditChain", request, |p, _req| async move {
                access::require(&p, Role::Auditor)?;
                let v = ctx.store.verify().await?;
                let intact = v.broken.is_none();
                Ok(match &p.scope {
                        Scope::Everything => {
                            let broken = v.broken.unwrap_or_default();
                            pb::VerifyAuditChainResponse {
                                intact,
                                events: v.events,
                                records: v.records,
                                broken_event: broken.event,
                                detail: broken.detail,
                                tree: broken.tree.to_owned(),
                                key: broken.key,
                                subject: broken.subject,
                            }
                        }
                        // The whole chain is verified, but a scoped auditor
                        // is told only whether it holds and what of its own
                        // scope was checked: where it breaks may name
                        // another agency.
                        Scope::Agency(own) => {
                            let (events, records) =
                                scoped_counts(&ctx.store, own, v.events, v.records).await?;
                            pb::VerifyAuditChainResponse {
                                intact,
                                events,
                                records,
                                detail: if intact {
                                    String::new()
                                } else {
                                    "the audit chain is broken; an auditor of the whole store (agency \"*\") sees where".into()
                                },
                                ..Default::default()
                            }
                        }
                    })
            })
            .await
    }
}
