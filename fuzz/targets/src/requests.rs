//! Target `requests`: every RPC's request, decoded from arbitrary bytes with
//! prost as tonic decodes it, through the real handler — name parsing
//! (`agencies/{uscc}/reports/{year}[/revisions/{n}]`), years, page sizes,
//! request ids, timestamps, enums, reports over the wire → the domain's
//! Report and its check, documents imported, reports rendered, review
//! comments — and the error mapped to its status.
//!
//! The services run in process over two real sled `Store`s (made once per
//! process, in a temporary directory), as callers who cannot write there:
//! - over an empty store: an everywhere submitter/reviewer/auditor without
//!   the admin role (every conversion is reached; every write finds no
//!   agency), an admin scoped to an agency that is not registered, and an
//!   unknown token;
//! - over a store holding the sample data (agencies, a draft, an approved
//!   report and its area's sums): an everywhere auditor, who only reads.
//!
//! So nothing is ever written and each input gets the same answer every
//! time. Input: one byte choosing the RPC, one the caller, then the request
//! message.
//!
//! Bad input must come back as the caller's error: a status of INTERNAL,
//! UNKNOWN, DATA_LOSS or UNAVAILABLE from an intact store is a bug.

use std::{
    path::Path,
    sync::{Arc, OnceLock},
};

use gongkai_proto::v1::{
    self as pb, admin_service_server::AdminService, agency_service_server::AgencyService,
    area_service_server::AreaService, audit_service_server::AuditService,
    document_service_server::DocumentService, report_service_server::ReportService,
    review_service_server::ReviewService,
};
use gongkai_server::{
    auth::{Credentials, Principal, Role, entry_toml},
    deadlines::Deadlines,
    services::{
        AdminApi, AgencyApi, AreaApi, AuditApi, Authenticator, Ctx, DocumentApi, ReportApi,
        ReviewApi,
    },
};
use gongkai_store::{Store, StoreOptions};
use prost::Message;
use tokio_stream::StreamExt;
use tonic::{Code, Request, Response, Status};

/// The RPCs, in the order of the first input byte.
pub const RPCS: [&str; 20] = [
    "ValidateReport",
    "SaveDraft",
    "SubmitReport",
    "GetReport",
    "ListReports",
    "ListRevisions",
    "RegisterAgency",
    "GetAgency",
    "ListAgencies",
    "UpdateAgencySupervisor",
    "GetAreaSummary",
    "GetCoverage",
    "ExportReports",
    "ListAuditEvents",
    "ImportDocument",
    "RenderReport",
    "ApproveReport",
    "ReturnReport",
    "ListPendingReviews",
    "BackupStore",
];

/// The callers, in the order of the second input byte; the last one calls
/// the store holding the sample data.
const TOKENS: [&str; 4] = [
    "fuzz-everywhere",
    "fuzz-scoped-admin",
    "not-a-token",
    "fuzz-auditor",
];

/// The agency the scoped admin is scoped to; never registered.
const UNREGISTERED: &str = "112305230123456785";

/// The services over one store.
struct Apis {
    report: ReportApi,
    agency: AgencyApi,
    area: AreaApi,
    audit: AuditApi,
    document: DocumentApi,
    review: ReviewApi,
    admin: AdminApi,
}

impl Apis {
    fn over(store: Store, credentials: &Arc<Credentials>) -> Apis {
        let ctx = Ctx {
            store,
            auth: Authenticator::Tokens(Arc::clone(credentials)),
            deadlines: Arc::new(Deadlines::default()),
        };
        Apis {
            report: ReportApi(ctx.clone()),
            agency: AgencyApi(ctx.clone()),
            area: AreaApi(ctx.clone()),
            audit: AuditApi(ctx.clone()),
            document: DocumentApi(ctx.clone()),
            review: ReviewApi(ctx.clone()),
            admin: AdminApi { ctx, backup: None },
        }
    }
}

struct Server {
    rt: tokio::runtime::Runtime,
    auth: Authenticator,
    empty: Apis,
    sample: Apis,
    // Kept for the life of the process: the stores live in it.
    _dir: tempfile::TempDir,
}

const DIR_PREFIX: &str = "gongkai-fuzz-requests-";

fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(DIR_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        // A static is never dropped, so the directory outlives the process:
        // it is named after the process, and each start removes those of
        // processes gone (a fuzzer starts one per minimisation step).
        remove_stale_dirs();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir()
            .expect("a temporary directory for the stores");
        let empty = Store::open_sled(
            dir.path().join("empty"),
            &StoreOptions {
                cache_capacity: 8 * 1024 * 1024,
            },
        )
        .expect("open an empty store");
        let sample =
            crate::seeds::sample_store(&dir.path().join("sample")).expect("the sample store");
        let entries = [
            (
                "fuzz-everywhere",
                "*",
                &[Role::Submitter, Role::Reviewer, Role::Auditor][..],
            ),
            (
                "fuzz-scoped-admin",
                UNREGISTERED,
                &[Role::Submitter, Role::Reviewer, Role::Auditor, Role::Admin][..],
            ),
            ("fuzz-auditor", "*", &[Role::Auditor][..]),
        ];
        let toml: Vec<String> = entries
            .iter()
            .map(|(name, agency, roles)| {
                entry_toml(name, agency, roles, name).expect("credentials entry")
            })
            .collect();
        let credentials = Arc::new(Credentials::parse(&toml.join("\n")).expect("credentials"));
        let auth = Authenticator::Tokens(Arc::clone(&credentials));
        // Were the callers not known, every call would stop at
        // UNAUTHENTICATED and nothing behind it would be fuzzed.
        for token in &TOKENS[..2] {
            let r = request::<pb::GetAgencyRequest>(&[], token, &auth).expect("a request");
            assert!(
                r.extensions().get::<Arc<Principal>>().is_some(),
                "{token} is not a caller"
            );
        }
        Server {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime"),
            auth,
            empty: Apis::over(empty, &credentials),
            sample: Apis::over(sample, &credentials),
            _dir: dir,
        }
    })
}

/// The request as tonic hands it to a handler, with the caller's token,
/// and the caller read from it as the admission layer does before any
/// handler runs (an unknown token gets no principal: UNAUTHENTICATED).
fn request<M: Message + Default>(
    bytes: &[u8],
    token: &str,
    auth: &Authenticator,
) -> Option<Request<M>> {
    let mut r = Request::new(M::decode(bytes).ok()?);
    let value = format!("Bearer {token}").parse().ok()?;
    r.metadata_mut().insert("authorization", value);
    if let Ok(Some(principal)) = auth.caller(&r.metadata().clone().into_headers()) {
        r.extensions_mut().insert(principal);
    }
    Some(r)
}

/// A status an empty store must never answer bad input with.
fn answered<T>(rpc: &str, result: Result<Response<T>, Status>) -> Option<T> {
    match result {
        Ok(r) => Some(r.into_inner()),
        Err(s) => {
            assert!(
                !matches!(
                    s.code(),
                    Code::Internal | Code::Unknown | Code::DataLoss | Code::Unavailable
                ),
                "{rpc} answered {:?}: {}",
                s.code(),
                s.message()
            );
            None
        }
    }
}

macro_rules! unary {
    ($s:expr, $rpc:expr, $api:expr, $method:ident, $bytes:expr, $token:expr) => {
        if let Some(r) = request($bytes, $token, &$s.auth) {
            let _ = answered($rpc, $s.rt.block_on($api.$method(r)));
        }
    };
}

/// The body.
pub fn run(data: &[u8]) {
    let [which, caller, bytes @ ..] = data else {
        return;
    };
    let rpc = RPCS[usize::from(*which) % RPCS.len()];
    let caller = usize::from(*caller) % TOKENS.len();
    let token = TOKENS[caller];
    let s = server();
    let apis = if caller == TOKENS.len() - 1 {
        &s.sample
    } else {
        &s.empty
    };
    match rpc {
        "ValidateReport" => unary!(s, rpc, apis.report, validate_report, bytes, token),
        "SaveDraft" => unary!(s, rpc, apis.report, save_draft, bytes, token),
        "SubmitReport" => unary!(s, rpc, apis.report, submit_report, bytes, token),
        "GetReport" => unary!(s, rpc, apis.report, get_report, bytes, token),
        "ListReports" => unary!(s, rpc, apis.report, list_reports, bytes, token),
        "ListRevisions" => unary!(s, rpc, apis.report, list_revisions, bytes, token),
        "RegisterAgency" => unary!(s, rpc, apis.agency, register_agency, bytes, token),
        "GetAgency" => unary!(s, rpc, apis.agency, get_agency, bytes, token),
        "ListAgencies" => unary!(s, rpc, apis.agency, list_agencies, bytes, token),
        "UpdateAgencySupervisor" => {
            unary!(s, rpc, apis.agency, update_agency_supervisor, bytes, token)
        }
        "GetAreaSummary" => unary!(s, rpc, apis.area, get_area_summary, bytes, token),
        "GetCoverage" => unary!(s, rpc, apis.area, get_coverage, bytes, token),
        "ExportReports" => {
            if let Some(r) = request::<pb::ExportReportsRequest>(bytes, token, &s.auth)
                && let Some(mut stream) = answered(rpc, s.rt.block_on(apis.area.export_reports(r)))
            {
                s.rt.block_on(async {
                    while let Some(item) = stream.next().await {
                        let _ = answered(rpc, item.map(Response::new));
                    }
                });
            }
        }
        "ListAuditEvents" => unary!(s, rpc, apis.audit, list_audit_events, bytes, token),
        "ImportDocument" => unary!(s, rpc, apis.document, import_document, bytes, token),
        "RenderReport" => unary!(s, rpc, apis.document, render_report, bytes, token),
        "ApproveReport" => unary!(s, rpc, apis.review, approve_report, bytes, token),
        "ReturnReport" => unary!(s, rpc, apis.review, return_report, bytes, token),
        "ListPendingReviews" => unary!(s, rpc, apis.review, list_pending_reviews, bytes, token),
        _ => unary!(s, rpc, apis.admin, backup_store, bytes, token),
    }
}

/// An input for [`run`] (the seeds are made with it).
pub fn input(rpc: &str, caller: u8, message: &[u8]) -> Option<Vec<u8>> {
    let which = u8::try_from(RPCS.iter().position(|r| *r == rpc)?).ok()?;
    Some([&[which, caller][..], message].concat())
}
