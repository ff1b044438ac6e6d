//! Who may do what, where (SPEC.md "Who does what"). Every RPC asks here
//! before it touches data; an agency outside the caller's scope gets
//! PERMISSION_DENIED whether or not it exists, so nothing leaks.
//!
//! The caller was authenticated before its call was admitted
//! (`admission.rs`); here it is a [`Principal`]: roles and a scope.
//!
//! # What a refusal tells
//!
//! - Outside the scope: PERMISSION_DENIED with the same message whether the
//!   agency or report exists or not.
//! - Listings and pages show what is in scope only: ListAgencies and
//!   ListReports filter to the scope (each filter a caller gives is checked
//!   on its own, an `area` too when an `agency` is given), a scoped
//!   auditor's ListAuditEvents pages end only after an event of its scope
//!   (their tokens name such an event), and its VerifyAuditChain counts its
//!   scope's events and says only whether the chain holds; where it breaks
//!   is shown to an auditor of the whole store.
//! - BackupStore writes every agency's data into one file: only an admin
//!   of the whole store (agency `"*"`) may call it.
//! - **Decision (issue 13):** RegisterAgency answers ALREADY_EXISTS for a
//!   统一社会信用代码 registered anywhere, also outside the admin's scope,
//!   and so tells a scoped admin that the code is registered elsewhere.
//!   Accepted: codes are unique, government bodies' codes are public, and
//!   only an admin can register. Pinned by `tests/serve_authz_matrix.rs`
//!   (`a_scoped_admin_learns_whether_a_code_is_registered_elsewhere`).

use gongkai_store::{Store, StoreError};

use crate::{
    auth::{Principal, Role, Scope},
    error::ApiError,
};

/// How far below the caller's agency an action reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Only the caller's own agency (submitters).
    Own,
    /// The caller's agency and everything under it (reading, admin).
    Subtree,
    /// Only agencies under the caller's (review: nobody approves itself).
    Below,
}

/// Requires a role.
pub fn require(p: &Principal, role: Role) -> Result<(), ApiError> {
    if p.has(role) {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied(format!(
            "{} lacks the {} role",
            p.name,
            role.as_str()
        )))
    }
}

/// Requires `target` to be within the caller's scope at the given reach.
pub async fn within(
    store: &Store,
    p: &Principal,
    target: &str,
    reach: Reach,
) -> Result<(), ApiError> {
    let Scope::Agency(own) = &p.scope else {
        return Ok(());
    };
    let inside = match reach {
        Reach::Own => own == target,
        Reach::Subtree | Reach::Below if own == target => reach == Reach::Subtree,
        Reach::Subtree | Reach::Below => match store.is_within(own, target).await {
            Ok(b) => b,
            // An agency that does not exist is outside every scope; saying
            // NOT_FOUND here would tell the caller it does not exist.
            Err(StoreError::NotFound(_)) => false,
            Err(e) => return Err(e.into()),
        },
    };
    if inside {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied(format!(
            "agencies/{target} is outside {}'s scope",
            p.name
        )))
    }
}

/// Any of several roles, each with its own reach: the first that admits the
/// target wins.
pub async fn any_of(
    store: &Store,
    p: &Principal,
    target: &str,
    options: &[(Role, Reach)],
) -> Result<(), ApiError> {
    let mut last = None;
    for (role, reach) in options {
        if !p.has(*role) {
            continue;
        }
        match within(store, p, target, *reach).await {
            Ok(()) => return Ok(()),
            Err(e @ ApiError::PermissionDenied(_)) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        let names: Vec<&str> = options.iter().map(|(r, _)| r.as_str()).collect();
        ApiError::PermissionDenied(format!(
            "{} needs one of the roles {}",
            p.name,
            names.join(", ")
        ))
    }))
}

/// Who may read a report: its own submitter, reviewers and auditors above it.
pub const READ_REPORT: &[(Role, Reach)] = &[
    (Role::Submitter, Reach::Own),
    (Role::Reviewer, Reach::Subtree),
    (Role::Auditor, Reach::Subtree),
];

/// Who may write a report: its own agency's submitter.
pub const WRITE_REPORT: &[(Role, Reach)] = &[(Role::Submitter, Reach::Own)];

/// Who may approve or return a report: a reviewer above the agency.
pub const REVIEW_REPORT: &[(Role, Reach)] = &[(Role::Reviewer, Reach::Below)];

/// Who may read an agency.
pub const READ_AGENCY: &[(Role, Reach)] = &[
    (Role::Submitter, Reach::Own),
    (Role::Reviewer, Reach::Subtree),
    (Role::Auditor, Reach::Subtree),
    (Role::Admin, Reach::Subtree),
];

/// Who may change the supervision tree at an agency.
pub const ADMIN_AGENCY: &[(Role, Reach)] = &[(Role::Admin, Reach::Subtree)];

/// Who may see an area's sums, coverage and approved reports: its own
/// supervising office (a reviewer, within its subtree) and auditors within
/// theirs; nobody else.
pub const READ_AREA: &[(Role, Reach)] = &[
    (Role::Reviewer, Reach::Subtree),
    (Role::Auditor, Reach::Subtree),
];
