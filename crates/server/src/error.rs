//! Every error the service returns, mapped to a gRPC status in one place.

use gongkai_domain::{Finding, Severity};
use gongkai_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The domain of every ErrorInfo gongkai sends.
pub const ERROR_DOMAIN: &str = "gongkai";

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
        let message = e.to_string();
        match e {
            ApiError::Unauthenticated => Status::unauthenticated(message),
            ApiError::PermissionDenied(_) => Status::permission_denied(message),
            ApiError::BadField { field, description } => Status::with_error_details(
                Code::InvalidArgument,
                message,
                ErrorDetails::with_bad_request_violation(field, description),
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
            ApiError::Store(s) => store_status(s, message),
        }
    }
}

fn store_status(e: StoreError, message: String) -> Status {
    match e {
        StoreError::InvalidArgument(d) => Status::with_error_details(
            Code::InvalidArgument,
            message,
            ErrorDetails::with_bad_request_violation("", d),
        ),
        StoreError::InvalidField { field, reason } => Status::with_error_details(
            Code::InvalidArgument,
            message,
            ErrorDetails::with_bad_request_violation(field, reason),
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
        | StoreError::Schema(_) => Status::failed_precondition(message),
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
}
