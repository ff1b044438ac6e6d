//! The gRPC services. Each RPC goes through [`Ctx::run`]: take the principal
//! the admission layer authenticated (`admission.rs`), authorise (in
//! `access.rs`), do the work, map the error (in `error.rs`), and log one
//! span with method, principal, status and latency.

mod admin;
mod agency;
mod area;
mod audit;
mod document;
mod report;
mod review;

use std::{
    future::Future,
    sync::Arc,
    time::{Instant, SystemTime},
};

use gongkai_proto::v1 as pb;
use gongkai_store::{PageRequest, ReportKey, Store};
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::{
    auth::{Credentials, Principal},
    error::{ApiError, quoted},
};

/// How callers are authenticated.
#[derive(Clone, Debug)]
pub enum Authenticator {
    /// Bearer tokens from a credentials file.
    Tokens(Arc<Credentials>),
}

impl Authenticator {
    /// The principal the `authorization` header names: `Ok(None)` when the
    /// request has none, UNAUTHENTICATED when it names nobody (another
    /// scheme, a token that is not in the credentials, bytes that are not
    /// text).
    pub fn caller(&self, headers: &http::HeaderMap) -> Result<Option<Arc<Principal>>, ApiError> {
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return Ok(None);
        };
        let token = value
            .to_str()
            .ok()
            .and_then(crate::auth::bearer_token)
            .ok_or(ApiError::Unauthenticated)?;
        match self {
            Authenticator::Tokens(c) => c
                .authenticate(token)
                .cloned()
                .map(Some)
                .ok_or(ApiError::Unauthenticated),
        }
    }
}

/// What every service shares.
#[derive(Clone)]
pub struct Ctx {
    /// The store.
    pub store: Store,
    /// Who may call.
    pub auth: Authenticator,
    /// The 乡镇/街道 deadlines configured per area (coverage).
    pub deadlines: Arc<crate::deadlines::Deadlines>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// Runs one RPC.
    pub(crate) async fn run<Req, Resp, F, Fut>(
        &self,
        method: &'static str,
        request: Request<Req>,
        f: F,
    ) -> Result<Response<Resp>, Status>
    where
        F: FnOnce(Arc<Principal>, Req) -> Fut,
        Fut: Future<Output = Result<Resp, ApiError>>,
    {
        let span = tracing::info_span!(
            "rpc",
            method,
            principal = tracing::field::Empty,
            code = tracing::field::Empty,
            latency_us = tracing::field::Empty
        );
        let start = Instant::now();
        async move {
            // Authenticated once, before the call was admitted (admission.rs);
            // a request without a principal never passed that layer.
            let (_, extensions, message) = request.into_parts();
            let result = match extensions.get::<Arc<Principal>>() {
                Some(p) => {
                    tracing::Span::current().record("principal", p.name.as_str());
                    f(Arc::clone(p), message).await
                }
                None => {
                    tracing::Span::current().record("principal", "-");
                    Err(ApiError::Unauthenticated)
                }
            };
            let result = result.map_err(Status::from);
            let code = match &result {
                Ok(_) => tonic::Code::Ok,
                Err(s) => s.code(),
            };
            // One record for both: the log layer formats the span's fields
            // once per record.
            let span = tracing::Span::current();
            tracing::record_all!(
                span,
                code = code_name(code),
                latency_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
            );
            match &result {
                Err(s)
                    if matches!(
                        s.code(),
                        tonic::Code::Internal | tonic::Code::DataLoss | tonic::Code::Unavailable
                    ) =>
                {
                    tracing::error!(message = s.message(), "call failed");
                }
                _ => tracing::info!("call"),
            }
            result.map(Response::new)
        }
        .instrument(span)
        .await
    }
}

/// Work that would hold an async worker (parsing a document, the backup
/// directory's files) on the blocking pool.
pub(crate) async fn off_workers<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ApiError::Store(gongkai_store::StoreError::Io(format!("worker failed: {e}")))
    })?
}

/// A status code's name as tonic spells it (`Ok`, `NotFound` …), without
/// formatting one per call.
pub(crate) fn code_name(code: tonic::Code) -> &'static str {
    crate::metrics::CODE_NAMES
        .get(code as usize)
        .map_or("Unknown", |(tonic, _)| tonic)
}

/// `agencies/{uscc}` → uscc.
pub(crate) fn agency_code<'a>(field: &str, name: &'a str) -> Result<&'a str, ApiError> {
    let code = name
        .strip_prefix("agencies/")
        .filter(|c| !c.contains('/'))
        .ok_or_else(|| {
            ApiError::field(
                field,
                format!("{} is not agencies/{{统一社会信用代码}}", quoted(name)),
            )
        })?;
    uscc(field, code)?;
    Ok(code)
}

/// A 统一社会信用代码, refused naming `field` otherwise.
pub(crate) fn uscc(field: &str, code: &str) -> Result<(), ApiError> {
    gongkai_domain::ids::validate_uscc(code)
        .map_err(|e| ApiError::field(field, format!("统一社会信用代码 {}: {e}", quoted(code))))
}

/// A 行政区划代码, refused naming `field` otherwise.
pub(crate) fn region_code(field: &str, code: &str) -> Result<(), ApiError> {
    gongkai_domain::ids::validate_region_code(code)
        .map_err(|e| ApiError::field(field, format!("行政区划代码 {}: {e}", quoted(code))))
}

/// A number as a name spells it: decimal digits, no sign, no leading zero,
/// so that each report and revision has exactly one name.
fn canonical_number(text: &str) -> Option<u32> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = text.len() > 1 && text.starts_with('0');
    (digits && !leading_zero)
        .then(|| text.parse().ok())
        .flatten()
}

/// A data year the national formats cover, refused naming `field` otherwise.
pub(crate) fn data_year(field: &str, year: u32) -> Result<u32, ApiError> {
    let known = gongkai_domain::catalogue::KNOWN_YEARS;
    if known.contains(&year) {
        Ok(year)
    } else {
        Err(ApiError::field(
            field,
            format!(
                "data year {year} is outside {}..={}, the years with a national format",
                known.start(),
                known.end()
            ),
        ))
    }
}

/// A data year filter: 0 for none, else a [`data_year`].
pub(crate) fn year_filter(field: &str, year: u32) -> Result<Option<u32>, ApiError> {
    (year != 0).then(|| data_year(field, year)).transpose()
}

/// `agencies/{uscc}/reports/{year}[/revisions/{n}]` → key and revision.
pub(crate) fn report_name(field: &str, name: &str) -> Result<(ReportKey, Option<u32>), ApiError> {
    let bad = || {
        ApiError::field(
            field,
            format!(
                "{} is not agencies/{{uscc}}/reports/{{year}}[/revisions/{{n}}]",
                quoted(name)
            ),
        )
    };
    let rest = name.strip_prefix("agencies/").ok_or_else(bad)?;
    let (code, rest) = rest.split_once("/reports/").ok_or_else(bad)?;
    let (year, revision) = match rest.split_once("/revisions/") {
        Some((y, r)) => (
            y,
            Some(canonical_number(r).filter(|n| *n > 0).ok_or_else(bad)?),
        ),
        None => (rest, None),
    };
    let year = data_year(field, canonical_number(year).ok_or_else(bad)?)?;
    uscc(field, code)?;
    Ok((
        ReportKey {
            uscc: code.to_owned(),
            year,
        },
        revision,
    ))
}

/// `agencies/{uscc}/reports/{year}`, refusing a revision's name.
pub(crate) fn report_only(field: &str, name: &str) -> Result<ReportKey, ApiError> {
    match report_name(field, name)? {
        (key, None) => Ok(key),
        (_, Some(_)) => Err(ApiError::field(
            field,
            format!(
                "{} names a revision; this call takes the report's name",
                quoted(name)
            ),
        )),
    }
}

/// Longest page token the store ever gives (a listing's name and a key in
/// hex); a longer one was never given, and is refused before the store
/// reads it.
const MAX_PAGE_TOKEN: usize = 256;

/// A page of a listing from a request's `page_size` (0: the default,
/// negative: an error) and `page_token`.
pub(crate) fn page(size: i32, token: String) -> Result<PageRequest, ApiError> {
    let size = u32::try_from(size)
        .map_err(|_| ApiError::field("page_size", format!("must be ≥ 0, got {size}")))?;
    if token.len() > MAX_PAGE_TOKEN {
        return Err(ApiError::field(
            "page_token",
            format!("{} is not a page token this listing gave", quoted(&token)),
        ));
    }
    Ok(PageRequest {
        size,
        cursor: token,
    })
}

/// A google.protobuf.Timestamp as its documentation bounds it (nanos in
/// 0..1e9, seconds within 0001-01-01 and 9999-12-31), refused naming
/// `field` otherwise. Every RPC that takes a time reads it through here.
pub(crate) fn timestamp(field: &str, t: prost_types::Timestamp) -> Result<SystemTime, ApiError> {
    const SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;
    if !(0..1_000_000_000).contains(&t.nanos) || !SECONDS.contains(&t.seconds) {
        return Err(ApiError::field(
            field,
            format!(
                "{{seconds: {}, nanos: {}}} is not a timestamp (nanos 0..1e9, years 1..=9999)",
                t.seconds, t.nanos
            ),
        ));
    }
    SystemTime::try_from(t).map_err(|e| ApiError::field(field, e.to_string()))
}

/// Characters of a name (an agency's 机关名称, a report's metadata, an
/// import hint) at most: the longest 机关名称 are under 40.
pub(crate) const MAX_NAME_CHARS: usize = 128;

/// Characters of a review comment at most.
pub(crate) const MAX_COMMENT_CHARS: usize = 2000;

/// Review comments on one decision at most.
pub(crate) const MAX_COMMENTS: usize = 100;

/// Bytes of an identifier-like field (a cell path, a date, a code) at most.
pub(crate) const MAX_TOKEN_BYTES: usize = 64;

/// Free text of at most `max` characters, refused naming `field` otherwise.
pub(crate) fn bounded_text(field: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.chars().nth(max).is_some() {
        return Err(ApiError::field(
            field,
            format!(
                "at most {max} characters, got {} ({})",
                text.chars().count(),
                quoted(text)
            ),
        ));
    }
    Ok(())
}

/// A report summary on the wire.
pub(crate) fn summary(s: &gongkai_store::ReportSummary) -> pb::ReportSummary {
    pb::ReportSummary {
        name: s.key.name(),
        latest_revision: s.head.latest_revision,
        state: s.head.latest_state,
        approved_revision: s.head.approved_revision,
    }
}

pub use admin::{AdminApi, BackupConfig};
pub use agency::AgencyApi;
pub use area::AreaApi;
pub use audit::AuditApi;
pub use document::DocumentApi;
pub use report::ReportApi;
pub use review::ReviewApi;

#[cfg(test)]
mod tests {
    #[test]
    fn names_have_one_spelling() {
        for (text, n) in [("2024", Some(2024)), ("1", Some(1)), ("0", Some(0))] {
            assert_eq!(super::canonical_number(text), n, "{text}");
        }
        for text in [
            "+2024",
            "02024",
            " 2024",
            "2024 ",
            "",
            "-1",
            "2_024",
            "２０２４",
            "99999999999",
        ] {
            assert_eq!(super::canonical_number(text), None, "{text:?}");
        }
    }

    #[test]
    fn code_names_are_tonics() {
        for n in 0..17 {
            let code = tonic::Code::from(n);
            assert_eq!(super::code_name(code), format!("{code:?}"));
        }
    }
}
