//! The review state machine, in one table.
//!
//! draft → submitted → approved | returned; returned → (new draft) →
//! submitted; a correction after approval is a new draft that needs approval
//! again, while the approved revision stays the current approved one.

use gongkai_proto::v1::{AuditAction, ReviewState};

/// A review action on a report's latest revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// 报送: the agency submits its latest draft for review.
    Submit,
    /// 通过: the supervising office approves a submitted report.
    Approve,
    /// 退回: the supervising office returns a submitted report with comments.
    Return,
}

/// Any write to a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    SaveDraft,
    /// New content submitted at once: one revision, in state submitted,
    /// allowed wherever a draft may be saved. (A separate draft revision
    /// would store the same report twice for a state nobody saw.)
    SaveAndSubmit,
    Review(Action),
}

impl Op {
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Op::SaveDraft => "save a draft of",
            Op::SaveAndSubmit => "submit new content for",
            Op::Review(Action::Submit) => "submit",
            Op::Review(Action::Approve) => "approve",
            Op::Review(Action::Return) => "return",
        }
    }

    pub(crate) fn audit_action(self) -> AuditAction {
        match self {
            Op::SaveDraft => AuditAction::ReportDraftSaved,
            Op::SaveAndSubmit | Op::Review(Action::Submit) => AuditAction::ReportSubmitted,
            Op::Review(Action::Approve) => AuditAction::ReportApproved,
            Op::Review(Action::Return) => AuditAction::ReportReturned,
        }
    }
}

/// The state an operation leads to whenever the machine allows it.
pub(crate) fn target(op: Op) -> ReviewState {
    match op {
        Op::SaveDraft => ReviewState::Draft,
        Op::SaveAndSubmit | Op::Review(Action::Submit) => ReviewState::Submitted,
        Op::Review(Action::Approve) => ReviewState::Approved,
        Op::Review(Action::Return) => ReviewState::Returned,
    }
}

/// The state an operation leads to from the latest state (`None`: no
/// revision yet), or `None` when the machine forbids it.
pub(crate) fn next(latest: Option<ReviewState>, op: Op) -> Option<ReviewState> {
    use ReviewState::{Approved, Draft, Returned, Submitted};
    match (latest, op) {
        // A report under review cannot be edited until the office decides.
        (None | Some(Draft | Returned | Approved), Op::SaveDraft | Op::SaveAndSubmit)
        | (Some(Draft), Op::Review(Action::Submit))
        | (Some(Submitted), Op::Review(Action::Approve | Action::Return)) => Some(target(op)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_of_state_and_operation() {
        use ReviewState::*;
        let ops = [
            Op::SaveDraft,
            Op::SaveAndSubmit,
            Op::Review(Action::Submit),
            Op::Review(Action::Approve),
            Op::Review(Action::Return),
        ];
        let table: [(Option<ReviewState>, [Option<ReviewState>; 5]); 5] = [
            (None, [Some(Draft), Some(Submitted), None, None, None]),
            (
                Some(Draft),
                [Some(Draft), Some(Submitted), Some(Submitted), None, None],
            ),
            (
                Some(Submitted),
                [None, None, None, Some(Approved), Some(Returned)],
            ),
            (
                Some(Approved),
                [Some(Draft), Some(Submitted), None, None, None],
            ),
            (
                Some(Returned),
                [Some(Draft), Some(Submitted), None, None, None],
            ),
        ];
        for (from, expected) in table {
            for (op, want) in ops.iter().zip(expected) {
                assert_eq!(next(from, *op), want, "{from:?} {op:?}");
            }
        }
    }
}
