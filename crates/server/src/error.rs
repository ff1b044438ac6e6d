//! Every error the service returns, mapped to a gRPC status in one place.

use gongkai_domain::{Finding, Severity};
use gongkai_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The domain of every ErrorInfo gongkai sends.
pub const ERROR_DOMAIN: &str = "gongkai";

/// Characters of a caller's value an error quotes at most.
const QUOTED_CHARS: usize = 64;

/// Bytes of a status message, or of a field violation's description, at
/// most: a status travels in HTTP/2 headers, and one too large for the
/// client's header limit reaches it as RESOURCE_EXHAUSTED instead of the
/// error it is.
const MESSAGE_BYTES: usize = 1024;

/// A caller's value as an error quotes it: `'value'`, or its first 64
/// characters and its length when it is longer (`'agencies/xxxx…' (1048585
/// bytes)`), so a huge value is never echoed back.
pub fn quoted(value: &str) -> String {
    match value.char_indices().nth(QUOTED_CHARS) {
        None => format!("'{value}'"),
        Some((end, _)) => format!("'{}…' ({} bytes)", &value[..end], value.len()),
    }
}

/// `text` cut to at most [`MESSAGE_BYTES`] on a character boundary, marked
/// with `…` where it was cut.
fn bounded(mut text: String) -> String {
    if text.len() > MESSAGE_BYTES {
        let mut end = MESSAGE_BYTES.saturating_sub('…'.len_utf8());
        while !text.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Errors of the service.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid bearer token.
    #[error("missing or invalid bearer token")]
    Unauthenticated,
    /// The caller lacks the role, or the resource lies outside its scope.
    /// Says nothing about the resource itself.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// A request field is missing or malformed.
    #[error("{field}: {description}")]
    BadField {
        /// The field, e.g. `name`.
        field: String,
        /// What is wrong with it.
        description: String,
    },
    /// The report has error findings and cannot be submitted.
    #[error("the report has {} error finding(s) and cannot be submitted", .0.iter().filter(|f| f.severity == Severity::Error).count())]
    ReportInvalid(Vec<Finding>),
    /// The server is not set up for this call (e.g. no --backup-dir).
    #[error("not configured: {0}")]
    NotConfigured(String),
    /// No slot for the call (admission.rs): what is full.
    #[error("server overloaded: {0}; retry with backoff")]
    Overloaded(String),
    /// The request body did not end within this many seconds of its
    /// headers (admission.rs).
    #[error(
        "the request body did not arrive within {0} s of its headers (--request-body-timeout-secs)"
    )]
    RequestBodyTimeout(u64),
    /// From the store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    /// A bad field.
    pub fn field(field: impl Into<String>, description: impl Into<String>) -> ApiError {
        ApiError::BadField {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        // Every message quotes callers' values through `quoted`; this bound
        // is the last line, for a value quoted whole by mistake.
        let message = bounded(e.to_string());
        match e {
            ApiError::Unauthenticated => Status::unauthenticated(message),
            ApiError::PermissionDenied(_) => Status::permission_denied(message),
            ApiError::BadField { field, description } => Status::with_error_details(
                Code::InvalidArgument,
                message,
                ErrorDetails::with_bad_request_violation(bounded(field), bounded(description)),
            ),
            ApiError::ReportInvalid(findings) => {
                let mut details = ErrorDetails::new();
                let errors: Vec<&Finding> = findings
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .collect();
                for f in &errors {
                    let values = match (f.expected, f.actual) {
                        (Some(e), Some(a)) => format!(" (expected {e}, actual {a})"),
                        _ => String::new(),
                    };
                    details.add_bad_request_violation(
                        f.location.path(),
                        format!("{}: {}{values}", f.rule, f.message),
                    );
                }
                details.set_error_info(
                    "REPORT_INVALID",
                    ERROR_DOMAIN,
                    [
                        ("errors".to_owned(), errors.len().to_string()),
                        (
                            "ruleset_version".to_owned(),
                            gongkai_domain::RULESET_VERSION.to_owned(),
                        ),
                    ],
                );
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
            ApiError::NotConfigured(what) => Status::with_error_details(
                Code::FailedPrecondition,
                message,
                ErrorDetails::with_precondition_failure_violation("CONFIGURATION", "server", what),
            ),
            ApiError::Overloaded(_) => Status::resource_exhausted(message),
            ApiError::RequestBodyTimeout(_) => Status::deadline_exceeded(message),
            ApiError::Store(s) => store_status(s, message),
        }
    }
}

fn store_status(e: StoreError, message: String) -> Status {
    match e {
        StoreError::InvalidArgument(d) => Status::with_error_details(
            Code::InvalidArgument,
            message,
            ErrorDetails::with_bad_request_violation("", bounded(d)),
        ),
        StoreError::InvalidField { field, reason } => Status::with_error_details(
            Code::InvalidArgument,
            message,
            ErrorDetails::with_bad_request_violation(field, bounded(reason)),
        ),
        StoreError::NotFound(_) => Status::not_found(message),
        StoreError::AlreadyExists(_) => Status::already_exists(message),
        StoreError::Conflict {
            resource,
            expected,
            actual,
        } => Status::with_error_details(
            Code::Aborted,
            message,
            ErrorDetails::with_error_info(
                "STALE_REVISION",
                ERROR_DOMAIN,
                [
                    ("resource".to_owned(), resource),
                    ("expected_revision".to_owned(), expected.to_string()),
                    ("latest_revision".to_owned(), actual.to_string()),
                ],
            ),
        ),
        StoreError::InvalidTransition {
            resource,
            from,
            action,
        } => Status::with_error_details(
            Code::FailedPrecondition,
            message,
            ErrorDetails::with_precondition_failure_violation(
                "STATE",
                resource,
                format!("cannot {action} a report that is {from}"),
            ),
        ),
        StoreError::RequestIdReused(_) => Status::with_error_details(
            Code::InvalidArgument,
            message,
            ErrorDetails::with_bad_request_violation(
                "request_id",
                "already used for a different request",
            ),
        ),
        StoreError::OutOfRange { resource, reason } => Status::with_error_details(
            Code::FailedPrecondition,
            message,
            ErrorDetails::with_precondition_failure_violation("VALUE_RANGE", resource, reason),
        ),
        StoreError::Full(_) => Status::with_error_details(
            Code::FailedPrecondition,
            message,
            ErrorDetails::with_precondition_failure_violation(
                "CAPACITY",
                "agencies",
                "the store registers no more agencies",
            ),
        ),
        // Damage is never retried into success: DATA_LOSS, wherever it is
        // met (a value that does not decode, a page sled cannot read, a
        // cycle in the supervision tree).
        StoreError::Corrupt { .. } => Status::data_loss(message),
        StoreError::NewerFormat { .. }
        | StoreError::RestoreTarget(_)
        | StoreError::BadBackup(_)
        | StoreError::Schema(_)
        | StoreError::Unsupported(_) => Status::failed_precondition(message),
        StoreError::Io(_) | StoreError::Unavailable(_) => Status::unavailable(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: StoreError) -> Code {
        Status::from(ApiError::Store(e)).code()
    }

    /// Damage is DATA_LOSS, never a retryable UNAVAILABLE; a stale
    /// expectation is ABORTED; a refusal for the report's content or a full
    /// store is FAILED_PRECONDITION.
    #[test]
    fn store_errors_map_to_their_codes() {
        let corrupt = StoreError::Corrupt {
            tree: "revisions",
            key: "00".into(),
            reason: "sled cannot read it: Read corrupted data at file offset".into(),
        };
        assert_eq!(code(corrupt), Code::DataLoss);
        assert_eq!(code(StoreError::Io("disk full".into())), Code::Unavailable);
        assert_eq!(
            code(StoreError::Conflict {
                resource: "agencies/x/reports/2024".into(),
                expected: u32::MAX,
                actual: 1,
            }),
            Code::Aborted
        );
        assert_eq!(
            code(StoreError::OutOfRange {
                resource: "agencies/x/reports/2024".into(),
                reason: "t2.penalty.decisions".into(),
            }),
            Code::FailedPrecondition
        );
        assert_eq!(code(StoreError::Full(3)), Code::FailedPrecondition);
    }

    #[test]
    fn long_values_are_quoted_by_a_prefix_and_their_length() {
        assert_eq!(quoted("agencies/x"), "'agencies/x'");
        let long = "公".repeat(100);
        let q = quoted(&long);
        assert_eq!(q, format!("'{}…' (300 bytes)", "公".repeat(64)));
        assert_eq!(quoted(&"x".repeat(64)), format!("'{}'", "x".repeat(64)));
    }

    #[test]
    fn a_status_message_is_bounded_whatever_it_holds() {
        let s = Status::from(ApiError::field("name", "名".repeat(1_000_000)));
        assert_eq!(s.code(), Code::InvalidArgument);
        assert!(s.message().len() <= MESSAGE_BYTES, "{}", s.message().len());
        assert!(s.message().ends_with('…'));
        let details = s.get_error_details();
        let violation = &details.bad_request().expect("BadRequest").field_violations[0];
        assert_eq!(violation.field, "name");
        assert!(violation.description.len() <= MESSAGE_BYTES);
    }
}
