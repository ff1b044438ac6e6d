//! Idempotency: a request id is each principal's own; a retry with the
//! same id and the same request is answered with the first call's outcome
//! and writes nothing; the same id with another request is refused
//! ([`StoreError::RequestIdReused`]).
//!
//! A request is told by its fingerprint: SHA-256 over the operation's name
//! and its parameters, each length-prefixed. The name is the operation's
//! stable id ([`super::ops::WriteOp::id`]) in records of store format 3 and
//! later. Stores written before (formats 1 and 2) named review actions by
//! the verbs of their messages ("approve", "submit" …), so that rewording
//! a message would have turned a retry into "request id reused"; their
//! records keep that scheme, told by the record's format tag, with the
//! names frozen here ([`Scheme::Verbs`]). Nothing is rewritten: a record's
//! scheme is read from its own bytes.

use gongkai_proto::{
    store_v1::IdempotencyRecord,
    v1::{Agency, AnnualReport, ReportRevision, ReviewComment},
};
use prost::Message;
use sha2::{Digest, Sha256};

use super::{
    ops::{MOVE_ID, REGISTER_ID, report_op_id},
    parse_report_name,
};
use crate::{
    Action, ReportKey, Result, StoreError, WriteMeta, codec,
    engine::{Reader, Tree},
    keys,
    state::Op,
};

/// How a fingerprint names its operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// Records of formats 1 and 2: the method names of those releases.
    Verbs,
    /// Records of format 3 on: the operations' stable ids.
    OpIds,
}

/// The last value format whose request records use [`Scheme::Verbs`].
const LAST_VERBS_FORMAT: u8 = 2;

impl Scheme {
    /// The scheme of a record stored with format tag `tag`.
    pub(crate) fn of_tag(tag: u8) -> Scheme {
        if tag <= LAST_VERBS_FORMAT {
            Scheme::Verbs
        } else {
            Scheme::OpIds
        }
    }
}

/// A request as its fingerprint takes it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Request<'a> {
    Register {
        agency: &'a Agency,
    },
    Move {
        uscc: &'a str,
        supervisor: Option<&'a str>,
        expected_version: u32,
    },
    Content {
        op: Op,
        key: &'a ReportKey,
        expected: u32,
        report: &'a AnnualReport,
    },
    Review {
        action: Action,
        key: &'a ReportKey,
        expected: u32,
        comments: &'a [ReviewComment],
    },
}

/// The names formats 1 and 2 gave each operation: frozen, whatever the
/// messages say now.
fn verb(request: &Request<'_>) -> &'static str {
    match request {
        Request::Register { .. } => "register_agency",
        Request::Move { .. } => "set_supervisor",
        Request::Content {
            op: Op::SaveAndSubmit,
            ..
        } => "save_and_submit",
        Request::Content { .. } => "save_draft",
        Request::Review {
            action: Action::Submit,
            ..
        } => "submit",
        Request::Review {
            action: Action::Approve,
            ..
        } => "approve",
        Request::Review {
            action: Action::Return,
            ..
        } => "return",
    }
}

fn op_id(request: &Request<'_>) -> &'static str {
    match request {
        Request::Register { .. } => REGISTER_ID,
        Request::Move { .. } => MOVE_ID,
        Request::Content { op, .. } => report_op_id(*op),
        Request::Review { action, .. } => report_op_id(Op::Review(*action)),
    }
}

/// A request's fingerprint in `scheme`.
pub(crate) fn fingerprint(scheme: Scheme, request: &Request<'_>) -> Vec<u8> {
    let name = match scheme {
        Scheme::Verbs => verb(request),
        Scheme::OpIds => op_id(request),
    };
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    let mut part = |p: &[u8]| {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    };
    match request {
        Request::Register { agency } => part(&agency.encode_to_vec()),
        Request::Move {
            uscc,
            supervisor,
            expected_version,
        } => {
            part(uscc.as_bytes());
            part(supervisor.unwrap_or("").as_bytes());
            part(&expected_version.to_be_bytes());
        }
        Request::Content {
            key,
            expected,
            report,
            ..
        } => {
            part(key.name().as_bytes());
            part(&expected.to_be_bytes());
            part(&report.encode_to_vec());
        }
        Request::Review {
            key,
            expected,
            comments,
            ..
        } => {
            part(key.name().as_bytes());
            part(&expected.to_be_bytes());
            // Each comment is its own part, so regrouped comments differ.
            for c in *comments {
                part(&c.encode_to_vec());
            }
        }
    }
    h.finalize().to_vec()
}

/// The request record's key: request ids are each principal's own, so one
/// caller's id never replays another's result.
pub(crate) fn request_key(w: &WriteMeta) -> Result<Vec<u8>> {
    keys::request_id(&w.request_id)?;
    Ok(format!("{}/{}", w.principal, w.request_id).into_bytes())
}

/// A stored request record and the scheme of its fingerprint.
pub(crate) async fn record(
    r: &impl Reader,
    key: &[u8],
) -> Result<Option<(IdempotencyRecord, Scheme)>> {
    let Some(v) = r.get(Tree::Requests, key).await? else {
        return Ok(None);
    };
    let tag = codec::tag("requests", key, &v)?;
    let rec: IdempotencyRecord = codec::decode("requests", key, &v)?;
    Ok(Some((rec, Scheme::of_tag(tag))))
}

/// What a retried request's first call wrote.
pub(crate) async fn replay(
    r: &impl Reader,
    rec: &IdempotencyRecord,
) -> Result<super::ops::Outcome> {
    use super::ops::Outcome;
    if let Some(uscc) = rec
        .resource
        .strip_prefix("agencies/")
        .filter(|r| !r.contains('/'))
    {
        let key = keys::join(&[keys::uscc(uscc)?, &rec.revision.to_be_bytes()]);
        return super::read_msg::<Agency>(r, Tree::AgencyVersions, &key)
            .await?
            .map(Outcome::Agency)
            .ok_or_else(|| StoreError::NotFound(rec.resource.clone()));
    }
    let key = parse_report_name(&rec.resource)?;
    super::read_msg::<ReportRevision>(r, Tree::Revisions, &keys::revision(&key, rec.revision)?)
        .await?
        .map(|r| Outcome::Revision(Box::new(r)))
        .ok_or_else(|| StoreError::NotFound(key.revision_name(rec.revision)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Checked, WriteOp};

    /// Every request record written since format 3 names its operation by
    /// these ids: they never change, whatever the messages say.
    #[test]
    fn operation_ids_are_stable() {
        let key = ReportKey {
            uscc: "11330700099033995K".into(),
            year: 2024,
        };
        let review = |action| WriteOp::Review {
            key: key.clone(),
            expected: 1,
            action,
            checked: Checked::default(),
            comments: Vec::new(),
        };
        let content = WriteOp::SaveDraft {
            key: key.clone(),
            expected: 0,
            report: AnnualReport::default(),
            checked: Checked::default(),
        };
        let submit = WriteOp::SaveAndSubmit {
            key: key.clone(),
            expected: 0,
            report: AnnualReport::default(),
            checked: Checked::default(),
        };
        for (op, id) in [
            (
                WriteOp::RegisterAgency {
                    agency: Agency::default(),
                },
                "agency.register",
            ),
            (
                WriteOp::SetSupervisor {
                    uscc: key.uscc.clone(),
                    supervisor: None,
                    expected_version: 1,
                },
                "agency.set_supervisor",
            ),
            (content, "report.save_draft"),
            (submit, "report.save_and_submit"),
            (review(Action::Submit), "report.review.submit"),
            (review(Action::Approve), "report.review.approve"),
            (review(Action::Return), "report.review.return"),
        ] {
            assert_eq!(op.id(), id);
        }
    }

    /// A record's own tag says how its fingerprint names the operation; the
    /// two schemes never agree, so neither replays the other's request.
    #[test]
    fn a_records_tag_says_its_scheme() {
        assert_eq!(
            [1, 2, 3].map(Scheme::of_tag),
            [Scheme::Verbs, Scheme::Verbs, Scheme::OpIds]
        );
        let key = ReportKey {
            uscc: "11330700099033995K".into(),
            year: 2024,
        };
        let approve = Request::Review {
            action: Action::Approve,
            key: &key,
            expected: 5,
            comments: &[],
        };
        assert_ne!(
            fingerprint(Scheme::Verbs, &approve),
            fingerprint(Scheme::OpIds, &approve)
        );
    }
}
