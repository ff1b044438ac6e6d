//! The writes the store takes ([`WriteOp`]), each with a stable id, and
//! what is made of one before it is queued ([`Prepared`]): everything that
//! needs no read (its keys checked, its fingerprint, the new revision's
//! bytes and hash), so that the writer only judges and inserts.

use std::sync::Arc;

use gongkai_proto::v1::{Agency, AnnualReport, ReportRevision, ReviewComment};
use prost::bytes::Bytes;

use super::{
    idempotency::{self, Request, Scheme, fingerprint},
    named_supervisor, sha256, timestamp,
};
use crate::{
    Action, Checked, ReportKey, Result, StoreError, WriteMeta, codec, keys,
    state::{self, Op},
};

/// A write to the store. Each has a stable id ([`WriteOp::id`]) that keys
/// its request fingerprint: a retried request id must come with the same
/// operation and parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOp {
    /// Registers an agency; its supervisor, if named, must exist.
    RegisterAgency {
        /// The agency as the caller sent it.
        agency: Agency,
    },
    /// Moves an agency (with its subtree) under another supervisor, or
    /// makes it a root (`None`). `expected_version` guards against lost
    /// updates.
    SetSupervisor {
        /// The agency's 统一社会信用代码.
        uscc: String,
        /// The new supervisor, `agencies/{uscc}` or a bare code; `None`: a root.
        supervisor: Option<String>,
        /// The agency version the caller saw.
        expected_version: u32,
    },
    /// Saves a draft revision (first, after a return, or a correction
    /// after approval), `expected + 1`.
    SaveDraft {
        /// The report.
        key: ReportKey,
        /// The latest revision the caller saw (0: none).
        expected: u32,
        /// Its content.
        report: AnnualReport,
        /// What the checker found in it.
        checked: Checked,
    },
    /// Submits new content: one revision, `expected + 1`, in state
    /// submitted, with one audit event (`REPORT_SUBMITTED`), allowed
    /// wherever a draft may be saved. The report is stored once, not as a
    /// draft and again as its submission.
    SaveAndSubmit {
        /// The report.
        key: ReportKey,
        /// The latest revision the caller saw (0: none).
        expected: u32,
        /// Its content.
        report: AnnualReport,
        /// What the checker found in it.
        checked: Checked,
    },
    /// Moves the report through the review state machine (submit, approve,
    /// return). The content is the latest revision's. Judged where it
    /// stands among the queued writes: `expected` may be a revision that a
    /// write queued earlier is still to create. An `expected` that is not
    /// the latest then is a [`StoreError::Conflict`]; `expected` 0, a
    /// report with no revision, is [`StoreError::NotFound`].
    Review {
        /// The report.
        key: ReportKey,
        /// The latest revision the caller saw.
        expected: u32,
        /// Submit, approve or return.
        action: Action,
        /// The checker's findings at this moment.
        checked: Checked,
        /// The reviewer's comments.
        comments: Vec<ReviewComment>,
    },
}

impl WriteOp {
    /// The operation's stable id: it names the operation in its request
    /// fingerprint, and never changes with any message's wording.
    pub fn id(&self) -> &'static str {
        match self {
            WriteOp::RegisterAgency { .. } => REGISTER_ID,
            WriteOp::SetSupervisor { .. } => MOVE_ID,
            WriteOp::SaveDraft { .. } => report_op_id(Op::SaveDraft),
            WriteOp::SaveAndSubmit { .. } => report_op_id(Op::SaveAndSubmit),
            WriteOp::Review { action, .. } => report_op_id(Op::Review(*action)),
        }
    }
}

/// [`WriteOp::RegisterAgency`]'s id.
pub(crate) const REGISTER_ID: &str = "agency.register";
/// [`WriteOp::SetSupervisor`]'s id.
pub(crate) const MOVE_ID: &str = "agency.set_supervisor";

/// The stable id of a report operation.
pub(crate) fn report_op_id(op: Op) -> &'static str {
    match op {
        Op::SaveDraft => "report.save_draft",
        Op::SaveAndSubmit => "report.save_and_submit",
        Op::Review(Action::Submit) => "report.review.submit",
        Op::Review(Action::Approve) => "report.review.approve",
        Op::Review(Action::Return) => "report.review.return",
    }
}

/// What a write produced: for a retried request id, the first call's.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The agency as stored (registration, supervisor change).
    Agency(Agency),
    /// The revision as stored.
    Revision(Box<ReportRevision>),
}

impl Outcome {
    /// The revision a report write stored.
    pub fn into_revision(self) -> Result<ReportRevision> {
        match self {
            Outcome::Revision(r) => Ok(*r),
            Outcome::Agency(a) => Err(StoreError::Io(format!(
                "a report write was answered with agency {} (a bug in gongkai)",
                a.uscc
            ))),
        }
    }

    /// The agency an agency write stored.
    pub fn into_agency(self) -> Result<Agency> {
        match self {
            Outcome::Agency(a) => Ok(a),
            Outcome::Revision(r) => Err(StoreError::Io(format!(
                "an agency write was answered with revision {} (a bug in gongkai)",
                r.name
            ))),
        }
    }
}

/// What the writer answers: a revision the caller prepared (taken back
/// from it, not copied), or one read or made inside the transaction.
#[derive(Debug)]
pub(crate) enum Answer {
    Prepared,
    Outcome(Outcome),
}

/// A revision ready to store: its record, bytes and hash.
#[derive(Debug)]
pub(crate) struct Revision {
    pub(crate) record: ReportRevision,
    pub(crate) bytes: Bytes,
    pub(crate) sha256: Vec<u8>,
}

impl Revision {
    pub(crate) fn new(record: ReportRevision) -> Revision {
        let bytes = codec::encode(&record);
        let sha256 = sha256(&bytes);
        Revision {
            record,
            bytes: Bytes::from(bytes),
            sha256,
        }
    }
}

/// A write as the writer plans it.
#[derive(Debug)]
pub(crate) enum Write {
    Register {
        /// As the caller sent it (its fingerprint's part).
        agency: Agency,
        /// Its supervisor's code, if any.
        supervisor: Option<String>,
        /// The most agencies registered.
        max_agencies: u64,
    },
    Move {
        uscc: String,
        supervisor: Option<String>,
        expected_version: u32,
    },
    /// New content as revision `expected + 1`.
    Content {
        key: ReportKey,
        expected: u32,
        op: Op,
        revision: Arc<Revision>,
    },
    /// A review: its record without the content, which is read in the
    /// transaction (the write creating revision `expected` may be queued
    /// ahead of it).
    Review {
        key: ReportKey,
        expected: u32,
        action: Action,
        record: Box<ReportRevision>,
    },
    /// A report write naming the last revision number there is: a conflict
    /// unless it is the latest, and then there is no number left.
    Exhausted { key: ReportKey, expected: u32 },
}

impl Write {
    /// The request it answers, as fingerprints take it (`None`: a write
    /// that kept no content, which no earlier request can match).
    pub(crate) fn request(&self) -> Option<Request<'_>> {
        Some(match self {
            Write::Register { agency, .. } => Request::Register { agency },
            Write::Move {
                uscc,
                supervisor,
                expected_version,
            } => Request::Move {
                uscc,
                supervisor: supervisor.as_deref(),
                expected_version: *expected_version,
            },
            Write::Content {
                key,
                expected,
                op,
                revision,
            } => Request::Content {
                op: *op,
                key,
                expected: *expected,
                report: revision.record.report.as_ref()?,
            },
            Write::Review {
                key,
                expected,
                action,
                record,
            } => Request::Review {
                action: *action,
                key,
                expected: *expected,
                comments: &record.comments,
            },
            Write::Exhausted { .. } => return None,
        })
    }

    /// Its fingerprint in `scheme`.
    pub(crate) fn fingerprint(&self, scheme: Scheme) -> Option<Vec<u8>> {
        self.request().map(|r| fingerprint(scheme, &r))
    }
}

/// A write checked and made ready to queue.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) meta: WriteMeta,
    /// Key of its request record: `principal/request id`.
    pub(crate) request_key: Vec<u8>,
    /// Its fingerprint (current scheme).
    pub(crate) fingerprint: Vec<u8>,
    pub(crate) write: Write,
}

impl Prepared {
    /// Whether its plan scans (sled plans such a write alone).
    pub(crate) fn scans(&self) -> bool {
        matches!(self.write, Write::Move { .. })
    }

    /// The revision prepared ahead, which the answer hands back.
    pub(crate) fn prepared_revision(&self) -> Option<Arc<Revision>> {
        match &self.write {
            Write::Content { revision, .. } => Some(Arc::clone(revision)),
            _ => None,
        }
    }
}

/// Checks a write's parameters (nothing is read) and prepares it.
pub(crate) fn prepare(meta: WriteMeta, op: WriteOp, max_agencies: u64) -> Result<Prepared> {
    let request_key = idempotency::request_key(&meta)?;
    let scheme = Scheme::OpIds;
    let (fingerprint, write) = match op {
        WriteOp::RegisterAgency { agency } => {
            keys::uscc(&agency.uscc)?;
            if agency.display_name.trim().is_empty() {
                return Err(StoreError::InvalidArgument(format!(
                    "agency {} has no display_name (机关名称)",
                    agency.uscc
                )));
            }
            let supervisor = named_supervisor(&agency.supervisor)?;
            let fp = fingerprint(scheme, &Request::Register { agency: &agency });
            (
                fp,
                Write::Register {
                    agency,
                    supervisor,
                    max_agencies,
                },
            )
        }
        WriteOp::SetSupervisor {
            uscc,
            supervisor,
            expected_version,
        } => {
            keys::uscc(&uscc)?;
            let supervisor = match supervisor {
                Some(s) => named_supervisor(&s)?,
                None => None,
            };
            let write = Write::Move {
                uscc,
                supervisor,
                expected_version,
            };
            (write.fingerprint(scheme).unwrap_or_default(), write)
        }
        WriteOp::SaveDraft {
            key,
            expected,
            report,
            checked,
        } => content(&meta, key, expected, Op::SaveDraft, report, checked)?,
        WriteOp::SaveAndSubmit {
            key,
            expected,
            report,
            checked,
        } => content(&meta, key, expected, Op::SaveAndSubmit, report, checked)?,
        WriteOp::Review {
            key,
            expected,
            action,
            checked,
            comments,
        } => {
            keys::report(&key)?;
            let op = Op::Review(action);
            let fp = fingerprint(
                scheme,
                &Request::Review {
                    action,
                    key: &key,
                    expected,
                    comments: &comments,
                },
            );
            let write = match expected.checked_add(1) {
                Some(n) => Write::Review {
                    record: Box::new(record(
                        &meta, &key, n, expected, op, None, checked, comments,
                    )),
                    key,
                    expected,
                    action,
                },
                None => Write::Exhausted { key, expected },
            };
            (fp, write)
        }
    };
    Ok(Prepared {
        meta,
        request_key,
        fingerprint,
        write,
    })
}

/// New content, its fingerprint and its revision.
fn content(
    meta: &WriteMeta,
    key: ReportKey,
    expected: u32,
    op: Op,
    report: AnnualReport,
    checked: Checked,
) -> Result<(Vec<u8>, Write)> {
    keys::report(&key)?;
    let fp = fingerprint(
        Scheme::OpIds,
        &Request::Content {
            op,
            key: &key,
            expected,
            report: &report,
        },
    );
    let write = match expected.checked_add(1) {
        Some(n) => Write::Content {
            revision: Arc::new(Revision::new(record(
                meta,
                &key,
                n,
                expected,
                op,
                Some(report),
                checked,
                Vec::new(),
            ))),
            key,
            expected,
            op,
        },
        None => Write::Exhausted { key, expected },
    };
    Ok((fp, write))
}

/// Revision `number` as `op` makes it: the state it leads to, who, when,
/// why.
#[allow(clippy::too_many_arguments)] // one revision's whole record, made once
fn record(
    meta: &WriteMeta,
    key: &ReportKey,
    number: u32,
    expected: u32,
    op: Op,
    report: Option<AnnualReport>,
    checked: Checked,
    comments: Vec<ReviewComment>,
) -> ReportRevision {
    ReportRevision {
        name: key.revision_name(number),
        revision: number,
        state: state::target(op).into(),
        report,
        findings: checked.findings,
        ruleset_version: checked.ruleset_version,
        author: meta.principal.clone(),
        create_time: Some(timestamp(meta.time)),
        comments,
        previous_revision: expected,
        request_id: meta.request_id.clone(),
    }
}
