//! AuditService: the trail and its verification (auditor role).

use std::time::SystemTime;

use gongkai_proto::v1::{self as pb, audit_service_server::AuditService};
use gongkai_store::{EventFilter, PageRequest};
use tonic::{Request, Response, Status};

use super::{Ctx, agency_code, page_size};
use crate::{
    access::{self, Reach},
    auth::{Role, Scope},
    error::ApiError,
};

/// AuditService over the store.
#[derive(Clone, Debug)]
pub struct AuditApi(pub Ctx);

fn time(field: &str, t: Option<prost_types::Timestamp>) -> Result<Option<SystemTime>, ApiError> {
    t.map(|t| SystemTime::try_from(t).map_err(|e| ApiError::field(field, e.to_string())))
        .transpose()
}

/// The agency an event's resource belongs to.
fn event_agency(resource: &str) -> Option<&str> {
    resource
        .strip_prefix("agencies/")
        .map(|r| r.split('/').next().unwrap_or(r))
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
                    access::within(ctx.store.as_ref(), &p, &code, Reach::Subtree)?;
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
                let filter = EventFilter {
                    agency,
                    action,
                    since: time("start_time", req.start_time)?,
                    until: time("end_time", req.end_time)?,
                };
                let page = PageRequest {
                    size: page_size(req.page_size)?,
                    cursor: req.page_token,
                };
                let listed = ctx.store.list_events(&filter, &page)?;
                // A scoped auditor sees only events of agencies in its subtree.
                let mut events = Vec::with_capacity(listed.items.len());
                for e in listed.items {
                    let visible = match (&p.scope, event_agency(&e.resource)) {
                        (Scope::Everything, _) => true,
                        (Scope::Agency(_), Some(a)) => {
                            access::within(ctx.store.as_ref(), &p, a, Reach::Subtree).is_ok()
                        }
                        (Scope::Agency(_), None) => false,
                    };
                    if visible {
                        events.push(e);
                    }
                }
                Ok(pb::ListAuditEventsResponse {
                    events,
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
                let v = ctx.blocking(|s| Ok(s.verify()?)).await?;
                let intact = v.broken.is_none();
                let broken = v.broken.unwrap_or_default();
                Ok(pb::VerifyAuditChainResponse {
                    intact,
                    events: v.events,
                    records: v.records,
                    broken_event: broken.event,
                    detail: broken.detail,
                    tree: broken.tree.to_owned(),
                    key: broken.key,
                    subject: broken.subject,
                })
            })
            .await
    }
}
