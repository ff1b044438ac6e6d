//! AgencyService: agencies and the supervision tree.

use std::time::SystemTime;

use gongkai_proto::v1::{self as pb, agency_service_server::AgencyService};
use gongkai_store::{WriteMeta, WriteOp};
use tonic::{Request, Response, Status};

use super::{Ctx, MAX_NAME_CHARS, agency_code};
use crate::{
    access::{self, ADMIN_AGENCY, READ_AGENCY, Reach},
    auth::{Role, Scope},
    error::ApiError,
};

/// AgencyService over the store.
#[derive(Clone, Debug)]
pub struct AgencyApi(pub Ctx);

/// The write metadata of a call.
pub(crate) fn write_meta(request_id: &str, principal: &str) -> WriteMeta {
    WriteMeta {
        request_id: request_id.to_owned(),
        principal: principal.to_owned(),
        time: SystemTime::now(),
    }
}

#[tonic::async_trait]
impl AgencyService for AgencyApi {
    async fn register_agency(
        &self,
        request: Request<pb::RegisterAgencyRequest>,
    ) -> Result<Response<pb::RegisterAgencyResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("RegisterAgency", request, |p, req| async move {
                access::require(&p, Role::Admin)?;
                let agency = req
                    .agency
                    .ok_or_else(|| ApiError::field("agency", "required"))?;
                super::uscc("agency.uscc", &agency.uscc)?;
                super::bounded_text("agency.display_name", &agency.display_name, MAX_NAME_CHARS)?;
                if !agency.region_code.is_empty() {
                    super::region_code("agency.region_code", &agency.region_code)?;
                }
                // A new root needs an admin of everything; otherwise the new
                // agency's supervisor must lie in the admin's scope.
                if agency.supervisor.is_empty() {
                    if p.scope != Scope::Everything {
                        return Err(ApiError::PermissionDenied(format!(
                            "{} may not register a root agency",
                            p.name
                        )));
                    }
                } else {
                    let sup = agency_code("agency.supervisor", &agency.supervisor)?.to_owned();
                    access::within(&ctx.store, &p, &sup, Reach::Subtree).await?;
                }
                let w = write_meta(super::report::request_id(&req.request_id)?, &p.name);
                // A code registered anywhere, in scope or not, is
                // ALREADY_EXISTS: by decision (access.rs, "What a refusal
                // tells").
                let op = WriteOp::RegisterAgency { agency };
                let stored = ctx.store.write(w, op).await?.into_agency()?;
                Ok(pb::RegisterAgencyResponse {
                    agency: Some(stored),
                })
            })
            .await
    }

    async fn get_agency(
        &self,
        request: Request<pb::GetAgencyRequest>,
    ) -> Result<Response<pb::GetAgencyResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("GetAgency", request, |p, req| async move {
                let code = agency_code("name", &req.name)?;
                access::any_of(&ctx.store, &p, code, READ_AGENCY).await?;
                let agency = ctx.store.agency(code).await?.ok_or_else(|| {
                    ApiError::Store(gongkai_store::StoreError::NotFound(req.name.clone()))
                })?;
                Ok(pb::GetAgencyResponse {
                    agency: Some(agency),
                })
            })
            .await
    }

    async fn list_agencies(
        &self,
        request: Request<pb::ListAgenciesRequest>,
    ) -> Result<Response<pb::ListAgenciesResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("ListAgencies", request, |p, req| async move {
                let page = super::page(req.page_size, req.page_token)?;
                let listed = ctx.store.list_agencies(&page).await?;
                // Only what the caller may read; a page may come back short.
                let mut agencies = Vec::with_capacity(listed.items.len());
                for a in listed.items {
                    match access::any_of(&ctx.store, &p, &a.uscc, READ_AGENCY).await {
                        Ok(()) => agencies.push(a),
                        Err(ApiError::PermissionDenied(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(pb::ListAgenciesResponse {
                    agencies,
                    next_page_token: listed.next_cursor,
                })
            })
            .await
    }

    async fn update_agency_supervisor(
        &self,
        request: Request<pb::UpdateAgencySupervisorRequest>,
    ) -> Result<Response<pb::UpdateAgencySupervisorResponse>, Status> {
        let ctx = self.0.clone();
        self.0
            .run("UpdateAgencySupervisor", request, |p, req| async move {
                let code = agency_code("name", &req.name)?.to_owned();
                access::any_of(&ctx.store, &p, &code, ADMIN_AGENCY).await?;
                let supervisor = if req.supervisor.is_empty() {
                    if p.scope != Scope::Everything {
                        return Err(ApiError::PermissionDenied(format!(
                            "{} may not make a root agency",
                            p.name
                        )));
                    }
                    None
                } else {
                    let s = agency_code("supervisor", &req.supervisor)?.to_owned();
                    access::any_of(&ctx.store, &p, &s, ADMIN_AGENCY).await?;
                    Some(s)
                };
                let w = write_meta(super::report::request_id(&req.request_id)?, &p.name);
                let expected = req.expected_version;
                let op = WriteOp::SetSupervisor {
                    uscc: code,
                    supervisor,
                    expected_version: expected,
                };
                let stored = ctx.store.write(w, op).await?.into_agency()?;
                Ok(pb::UpdateAgencySupervisorResponse {
                    agency: Some(stored),
                })
            })
            .await
    }
}
