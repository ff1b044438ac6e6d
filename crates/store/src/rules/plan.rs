//! Planning one write, reading through the transaction that will apply it
//! (so after every write queued before it): the request id checked, the
//! write judged (the revision it expects, the review state machine, the
//! supervision tree) and everything it moves planned (revision or agency
//! version, head, indexes, area sums), then its audit event, the chain head
//! and its request record. A refusal returns an error and plans nothing.

use gongkai_proto::{
    store_v1::{AuditHead, IdempotencyRecord, ReportHead},
    v1::{Agency, AuditAction, AuditEvent, ReportRevision, ReviewState},
};

use super::{
    AGENCY_COUNT_KEY, AUDIT_HEAD_KEY, MAX_DEPTH, agency_count, agency_name, ancestors_in,
    idempotency::{self, Scheme},
    ops::{Answer, Outcome, Prepared, Revision, Write},
    read_msg, sha256, subtree_levels, summary, supervisor_code, timestamp, too_deep,
};
use crate::{
    ReportKey, Result, StoreError, codec,
    engine::{Entries, Plan, Reader, Tree},
    keys,
    state::{self, Op},
    state_name,
};

/// What the audit event of a write records.
struct AuditDraft {
    action: AuditAction,
    resource: String,
    revision: u32,
    record_sha256: Vec<u8>,
}

/// Plans `job`: its puts and deletes, and its answer. A retried request
/// plans nothing and answers the first call's outcome.
pub(crate) async fn plan(r: &impl Reader, job: &Prepared) -> Result<(Plan, Answer)> {
    if let Some((rec, scheme)) = idempotency::record(r, &job.request_key).await? {
        let same = match scheme {
            Scheme::OpIds => rec.request_sha256 == job.fingerprint,
            scheme => job.write.fingerprint(scheme) == Some(rec.request_sha256.clone()),
        };
        if !same {
            return Err(StoreError::RequestIdReused(job.meta.request_id.clone()));
        }
        let first = idempotency::replay(r, &rec).await?;
        return Ok((Plan::default(), Answer::Outcome(first)));
    }
    let mut plan = Plan::default();
    let (answer, audit) = match &job.write {
        Write::Register {
            agency,
            supervisor,
            max_agencies,
        } => register(r, &mut plan, agency, supervisor.as_deref(), *max_agencies).await?,
        Write::Move {
            uscc,
            supervisor,
            expected_version,
        } => move_agency(r, &mut plan, uscc, supervisor.as_deref(), *expected_version).await?,
        Write::Content {
            key,
            expected,
            op,
            revision,
        } => {
            let judged = judge(r, key, *expected, *op).await?;
            let audit = plan_judged(r, &mut plan, key, *op, &judged, revision).await?;
            (Answer::Prepared, audit)
        }
        Write::Review {
            key,
            expected,
            action,
            record,
        } => {
            let op = Op::Review(*action);
            let judged = judge(r, key, *expected, op).await?;
            // Read here rather than when queued: the write that stored it
            // may have been applied only just now, in this batch.
            let content =
                read_msg::<ReportRevision>(r, Tree::Revisions, &keys::revision(key, *expected)?)
                    .await?
                    .and_then(|stored| stored.report)
                    .ok_or_else(|| StoreError::NotFound(key.revision_name(*expected)))?;
            let made = Revision::new(ReportRevision {
                report: Some(content),
                ..(**record).clone()
            });
            let audit = plan_judged(r, &mut plan, key, op, &judged, &made).await?;
            (
                Answer::Outcome(Outcome::Revision(Box::new(made.record))),
                audit,
            )
        }
        Write::Exhausted { key, expected, .. } => {
            // The expectation is judged first: it is stale unless it is the
            // latest revision, and only then are the numbers exhausted.
            let latest = read_msg::<ReportHead>(r, Tree::Heads, &keys::report(key)?)
                .await?
                .map_or(0, |h| h.latest_revision);
            if latest != *expected {
                return Err(StoreError::Conflict {
                    resource: key.name(),
                    expected: *expected,
                    actual: latest,
                });
            }
            return Err(StoreError::InvalidArgument(format!(
                "{}: revision numbers exhausted",
                key.name()
            )));
        }
    };
    plan_event(r, &mut plan, job, audit).await?;
    Ok((plan, answer))
}

/// Plans the audit event, the chain head and the request record of a write.
async fn plan_event(
    r: &impl Reader,
    plan: &mut Plan,
    job: &Prepared,
    audit: AuditDraft,
) -> Result<()> {
    let w = &job.meta;
    let head = read_msg::<AuditHead>(r, Tree::Meta, AUDIT_HEAD_KEY)
        .await?
        .unwrap_or_default();
    let sequence = head
        .sequence
        .checked_add(1)
        .ok_or_else(|| StoreError::Io("audit sequence exhausted".into()))?;
    let previous = if head.event_sha256.is_empty() {
        vec![0; 32]
    } else {
        head.event_sha256
    };
    let event = AuditEvent {
        sequence,
        time: Some(timestamp(w.time)),
        principal: w.principal.clone(),
        action: audit.action.into(),
        resource: audit.resource.clone(),
        revision: audit.revision,
        revision_sha256: audit.record_sha256,
        previous_event_sha256: previous,
        request_id: w.request_id.clone(),
    };
    let event_bytes = codec::encode(&event);
    let event_sha = sha256(&event_bytes);
    let seq_key = sequence.to_be_bytes();
    plan.put(Tree::Events, seq_key, event_bytes);
    plan.put(Tree::EventHashes, seq_key, event_sha.clone());
    plan.put(
        Tree::Meta,
        AUDIT_HEAD_KEY,
        codec::encode(&AuditHead {
            sequence,
            event_sha256: event_sha,
        }),
    );
    plan.put(
        Tree::Requests,
        job.request_key.clone(),
        codec::encode(&IdempotencyRecord {
            request_sha256: job.fingerprint.clone(),
            resource: audit.resource,
            revision: audit.revision,
            event_sequence: sequence,
        }),
    );
    Ok(())
}

/// What a write of a revision found, inside its transaction.
struct Judged {
    head: Option<ReportHead>,
    /// The latest state (`None`: no revision yet).
    from: Option<ReviewState>,
    /// The state the write leads to.
    to: ReviewState,
}

/// Checks that revision `expected + 1` is still the next one and that the
/// state machine allows `op` now.
async fn judge(r: &impl Reader, key: &ReportKey, expected: u32, op: Op) -> Result<Judged> {
    let report_key = keys::report(key)?;
    if r.get(Tree::Agencies, key.uscc.as_bytes()).await?.is_none() {
        return Err(StoreError::NotFound(agency_name(&key.uscc)));
    }
    let head = read_msg::<ReportHead>(r, Tree::Heads, &report_key).await?;
    let latest = head.as_ref().map_or(0, |h| h.latest_revision);
    if expected != latest {
        return Err(StoreError::Conflict {
            resource: key.name(),
            expected,
            actual: latest,
        });
    }
    let from = head.as_ref().map(|h| h.latest_state());
    let Some(to) = state::next(from, op) else {
        if head.is_none() {
            return Err(StoreError::NotFound(key.name()));
        }
        return Err(StoreError::InvalidTransition {
            resource: key.name(),
            from: from.map_or("absent", state_name),
            action: op.verb(),
        });
    };
    Ok(Judged { head, from, to })
}

/// Plans a revision the transaction has judged allowed: its bytes, the
/// head, the indexes, the area sums.
async fn plan_judged(
    r: &impl Reader,
    plan: &mut Plan,
    key: &ReportKey,
    op: Op,
    judged: &Judged,
    revision: &Revision,
) -> Result<AuditDraft> {
    let Judged { head, from, to } = judged;
    let (from, to) = (*from, *to);
    let report_key = keys::report(key)?;
    let number = revision.record.revision;
    plan.put(
        Tree::Revisions,
        keys::revision(key, number)?,
        revision.bytes.clone(),
    );
    let approved = match (to, head.as_ref()) {
        (ReviewState::Approved, _) => number,
        (_, Some(h)) => h.approved_revision,
        (_, None) => 0,
    };
    plan.put(
        Tree::Heads,
        report_key,
        codec::encode(&ReportHead {
            latest_revision: number,
            latest_state: to.into(),
            approved_revision: approved,
        }),
    );
    // Index entries change only with the state, and by_year and the
    // area_year entries only with a report's first revision. The
    // ancestors are walked once, for the indexes and the sums alike.
    let moves_index = from != Some(to);
    let approves = to == ReviewState::Approved;
    let ancestors = if moves_index || approves {
        ancestors_in(r, &key.uscc).await?
    } else {
        Vec::new()
    };
    if moves_index {
        let mut area = Vec::with_capacity(ancestors.len().saturating_add(1));
        area.push(key.uscc.clone());
        area.extend(ancestors.iter().cloned());
        if let Some(old) = from {
            plan_report_index(plan, key, old, &area, false)?;
        }
        plan_report_index(plan, key, to, &area, true)?;
    }
    if approves {
        let superseded = head.as_ref().map_or(0, |h| h.approved_revision);
        summary::plan_approval(r, plan, key, &ancestors, superseded, &revision.record).await?;
    }
    if head.is_none() {
        plan.put(
            Tree::ByYear,
            keys::join(&[&keys::year(key.year)?, key.uscc.as_bytes()]),
            Vec::new(),
        );
    }
    Ok(AuditDraft {
        action: op.audit_action(),
        resource: key.name(),
        revision: number,
        record_sha256: revision.sha256.clone(),
    })
}

/// Plans the index entries of a report's state for its agency and every
/// ancestor: `insert` adds them, otherwise they are removed.
fn plan_report_index(
    plan: &mut Plan,
    key: &ReportKey,
    state: ReviewState,
    area: &[String],
    insert: bool,
) -> Result<()> {
    let uscc = keys::uscc(&key.uscc)?;
    let year = keys::year(key.year)?;
    let s = [u8::try_from(i32::from(state)).unwrap_or(0)];
    let state_key = keys::join(&[&s, &year, uscc]);
    if insert {
        plan.put(Tree::ByState, state_key, Vec::new());
    } else {
        plan.delete(Tree::ByState, state_key);
    }
    for a in area {
        let ak = keys::uscc(a)?;
        let area_state = keys::join(&[ak, &s, &year, uscc]);
        if insert {
            plan.put(Tree::AreaState, area_state, Vec::new());
            plan.put(Tree::AreaYear, keys::join(&[ak, &year, uscc]), Vec::new());
        } else {
            plan.delete(Tree::AreaState, area_state);
        }
    }
    Ok(())
}

/// Plans an agency version: the current record and the kept version.
fn plan_agency_version(
    plan: &mut Plan,
    agency: &Agency,
    action: AuditAction,
) -> Result<AuditDraft> {
    let uscc = keys::uscc(&agency.uscc)?;
    let bytes = codec::encode(agency);
    let record_sha256 = sha256(&bytes);
    plan.put(
        Tree::AgencyVersions,
        keys::join(&[uscc, &agency.version.to_be_bytes()]),
        bytes.clone(),
    );
    plan.put(Tree::Agencies, uscc, bytes);
    Ok(AuditDraft {
        action,
        resource: agency_name(&agency.uscc),
        revision: agency.version,
        record_sha256,
    })
}

async fn register(
    r: &impl Reader,
    plan: &mut Plan,
    agency: &Agency,
    supervisor: Option<&str>,
    max_agencies: u64,
) -> Result<(Answer, AuditDraft)> {
    if r.get(Tree::Agencies, agency.uscc.as_bytes())
        .await?
        .is_some()
    {
        return Err(StoreError::AlreadyExists(agency_name(&agency.uscc)));
    }
    // The area sums are proven not to overflow for so many agencies.
    let registered = agency_count(r).await?;
    if registered >= max_agencies {
        return Err(StoreError::Full(registered));
    }
    plan.put(
        Tree::Meta,
        AGENCY_COUNT_KEY,
        registered.saturating_add(1).to_be_bytes().to_vec(),
    );
    if let Some(sup) = supervisor {
        if r.get(Tree::Agencies, sup.as_bytes()).await?.is_none() {
            return Err(StoreError::NotFound(format!(
                "supervisor {}",
                agency_name(sup)
            )));
        }
        // Itself, its supervisor and the supervisor's ancestors.
        let depth = ancestors_in(r, sup).await?.len().saturating_add(2);
        if depth > MAX_DEPTH {
            return Err(too_deep(sup, depth));
        }
        plan.put(
            Tree::Children,
            keys::join(&[sup.as_bytes(), agency.uscc.as_bytes()]),
            Vec::new(),
        );
    }
    let stored = Agency {
        name: agency_name(&agency.uscc),
        supervisor: supervisor.map(agency_name).unwrap_or_default(),
        version: 1,
        ..agency.clone()
    };
    let audit = plan_agency_version(plan, &stored, AuditAction::AgencyRegistered)?;
    Ok((Answer::Outcome(Outcome::Agency(stored)), audit))
}

/// Moves `uscc` and its subtree under `new_sup` (or makes it a root): the
/// edge, every report's area indexes and the area sums move with it.
async fn move_agency(
    r: &impl Reader,
    plan: &mut Plan,
    uscc: &str,
    new_sup: Option<&str>,
    expected_version: u32,
) -> Result<(Answer, AuditDraft)> {
    let current = read_msg::<Agency>(r, Tree::Agencies, uscc.as_bytes())
        .await?
        .ok_or_else(|| StoreError::NotFound(agency_name(uscc)))?;
    if current.version != expected_version {
        return Err(StoreError::Conflict {
            resource: agency_name(uscc),
            expected: expected_version,
            actual: current.version,
        });
    }
    let (members, levels) = subtree_levels(r, uscc).await?;
    if let Some(s) = new_sup {
        if r.get(Tree::Agencies, s.as_bytes()).await?.is_none() {
            return Err(StoreError::NotFound(format!(
                "supervisor {}",
                agency_name(s)
            )));
        }
        if members.iter().any(|m| m == s) {
            return Err(StoreError::InvalidField {
                field: "supervisor",
                reason: format!(
                    "{} is within {}'s subtree: the supervision tree cannot have a cycle",
                    agency_name(s),
                    agency_name(uscc)
                ),
            });
        }
    }
    let mut reports = Vec::new();
    for m in &members {
        let mut heads = Entries::new(r, Tree::Heads, m.as_bytes());
        while let Some((k, v)) = heads.next().await? {
            let head: ReportHead = codec::decode("heads", &k, &v)?;
            reports.push((keys::parse_report("heads", &k)?, head.latest_state()));
        }
    }
    let old_sup = supervisor_code(&current.supervisor).to_owned();
    let old_above = ancestors_in(r, uscc).await?;
    let new_above = match new_sup {
        Some(s) => {
            let mut v = vec![s.to_owned()];
            v.extend(ancestors_in(r, s).await?);
            v
        }
        None => Vec::new(),
    };
    let depth = new_above.len().saturating_add(levels);
    if let Some(s) = new_sup.filter(|_| depth > MAX_DEPTH) {
        return Err(too_deep(s, depth));
    }
    summary::plan_move(r, plan, uscc, &reports, &old_above, &new_above).await?;
    // Move every report of the subtree from the old ancestors' area
    // indexes to the new ones'.
    for (key, state) in &reports {
        let year = keys::year(key.year)?;
        for a in &old_above {
            plan.delete(
                Tree::AreaYear,
                keys::join(&[a.as_bytes(), &year, key.uscc.as_bytes()]),
            );
        }
        plan_report_index(plan, key, *state, &old_above, false)?;
        // Removal then insertion: by_state ends up unchanged.
        plan_report_index(plan, key, *state, &new_above, true)?;
    }
    if !old_sup.is_empty() {
        plan.delete(
            Tree::Children,
            keys::join(&[old_sup.as_bytes(), uscc.as_bytes()]),
        );
    }
    if let Some(s) = new_sup {
        plan.put(
            Tree::Children,
            keys::join(&[s.as_bytes(), uscc.as_bytes()]),
            Vec::new(),
        );
    }
    let version = current
        .version
        .checked_add(1)
        .ok_or_else(|| StoreError::InvalidArgument("agency versions exhausted".into()))?;
    let stored = Agency {
        supervisor: new_sup.map(agency_name).unwrap_or_default(),
        version,
        ..current
    };
    let audit = plan_agency_version(plan, &stored, AuditAction::AgencySupervisorChanged)?;
    Ok((Answer::Outcome(Outcome::Agency(stored)), audit))
}
