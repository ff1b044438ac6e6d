//! `verify`: the audit chain, and everything derived from the chained
//! records, recomputed and compared.
//!
//! 1. The chain: each event's bytes against its stored hash and the next
//!    event's back link, each record (revision, agency version) against the
//!    hash its event holds, the last event against the chain head.
//! 2. What the records say: every stored record was recorded by an event;
//!    each report head says what its revisions say; each current agency is
//!    its newest version; the request record of each revision and agency
//!    version names it, its event and (recomputed from the record, except a
//!    registration's, which is of the agency as its caller sent it and is
//!    not kept) its request's fingerprint.
//! 3. The indexes: the `children` edges are the current agencies'
//!    supervisors; `by_year`, `by_state`, `area_year`, `area_state` hold
//!    exactly the entries the heads and the agencies' ancestors give; every
//!    request record names the event of its own request; every event hash
//!    belongs to an event; `meta`'s agency count is the number of agencies.
//!    Each entry is judged as it is read, then the count tells whether one
//!    is missing, and only then are the wanted entries looked up one by one,
//!    so memory grows with the reports and agencies, not with the entries.
//! 4. The area sums (summary.rs).
//!
//! The first difference ends the walk and is named by tree, key and the
//! report or agency it concerns. A value that does not decode, or that sled
//! cannot read (a page failing its checksum), is a difference too.

use std::collections::{BTreeMap, HashMap};

use gongkai_proto::{
    store_v1::{AuditHead, IdempotencyRecord, ReportHead},
    v1::{Agency, AuditEvent, ReportRevision, ReviewState},
};

use prost::bytes::Bytes;

use super::{
    AGENCY_COUNT_KEY, AUDIT_HEAD_KEY, MAX_DEPTH, agency_count, agency_name,
    idempotency::{self, Request, Scheme},
    link, parse_report_name, read_msg, sha256, summary, supervisor_code,
};
use crate::{
    Action, BrokenLink, ReportKey, Result, StoreError, Verification, codec,
    engine::{Entries, Reader, Tree},
    keys,
    state::Op,
    state_name,
};

/// The first difference, if any.
type Found = Option<BrokenLink>;

/// A difference about `subject` that the key alone does not name.
fn link_about(
    event: u64,
    tree: &'static str,
    key: &[u8],
    subject: String,
    detail: String,
) -> BrokenLink {
    BrokenLink {
        subject,
        ..link(event, tree, key, detail)
    }
}

/// A value that does not decode, or that sled cannot read, as a difference
/// (its tree and key are in the error); any other error stays one.
fn damage(event: u64, e: StoreError) -> Result<BrokenLink> {
    match e {
        StoreError::Corrupt { tree, key, reason } => {
            let bytes = hex::decode(&key).unwrap_or_default();
            let (key, subject) = if bytes.is_empty() {
                (key, String::new())
            } else {
                keys::describe(tree, &bytes)
            };
            Ok(BrokenLink {
                event,
                tree,
                key,
                subject,
                detail: reason,
            })
        }
        e => Err(e),
    }
}

/// Ends the walk at the first difference.
macro_rules! found {
    ($e:expr) => {
        if let Some(b) = $e {
            return Ok(Some(b));
        }
    };
}

/// One report, as its revisions say it is.
struct ReportInfo {
    key: ReportKey,
    /// What its head should say.
    head: ReportHead,
    /// The event that recorded the latest revision.
    event: u64,
}

impl ReportInfo {
    /// The latest state, as index keys hold it.
    fn state(&self) -> u8 {
        u8::try_from(self.head.latest_state).unwrap_or(u8::MAX)
    }
}

/// One current agency.
struct AgencyInfo {
    /// Its supervisor's code; empty for a root.
    supervisor: String,
    /// The event that recorded its current version.
    event: u64,
}

struct Walk<'a, R> {
    r: &'a R,
    /// (resource, revision) → the event that recorded it.
    named: HashMap<(String, u32), u64>,
    events: u64,
    records: u64,
    /// The event a damaged value is charged to: the one being walked, then
    /// the last.
    fault: u64,
    /// Every report with a revision, by `uscc · year`.
    reports: BTreeMap<Vec<u8>, ReportInfo>,
    /// Every current agency, by code.
    agencies: BTreeMap<String, AgencyInfo>,
    /// The ancestors of each agency with a report, nearest first.
    above: HashMap<String, Vec<String>>,
}

impl<R> Walk<'_, R> {
    /// The walk of `tree` (revisions or agency versions) could not read on
    /// from a key (sled: a page failing its checksum); the engine knows
    /// only the last key it did read, the chain knows the record that comes
    /// next, which is the one unread: that one is named.
    fn unread_in_walk(&self, tree: Tree, e: StoreError) -> StoreError {
        let StoreError::Corrupt { key, reason, .. } = &e else {
            return e;
        };
        let Ok(last) = hex::decode(key) else {
            return e;
        };
        let next = self
            .named
            .keys()
            .filter_map(|(resource, revision)| record_key(resource, *revision))
            .filter(|(t, k)| *t == tree && *k > last)
            .map(|(_, k)| k)
            .min();
        match next {
            Some(next) => StoreError::Corrupt {
                tree: tree.name(),
                key: hex::encode(next),
                reason: format!(
                    "sled cannot read it, the entry the chain names next where the walk of \
                     the tree stopped ({reason})"
                ),
            },
            None => e,
        }
    }
}

/// Recomputes everything derived from the chain and names the first
/// difference (see the module's doc).
pub(crate) async fn verify(r: &impl Reader) -> Result<Verification> {
    let mut w = Walk {
        r,
        named: HashMap::new(),
        events: 0,
        records: 0,
        fault: 1,
        reports: BTreeMap::new(),
        agencies: BTreeMap::new(),
        above: HashMap::new(),
    };
    let broken = match w.run().await {
        Ok(found) => found,
        Err(e) => Some(damage(w.fault, e)?),
    };
    Ok(Verification {
        events: w.events,
        records: w.records,
        broken,
    })
}

impl<R: Reader> Walk<'_, R> {
    async fn run(&mut self) -> Result<Found> {
        found!(self.chain().await?);
        found!(self.revisions().await?);
        found!(self.heads().await?);
        found!(self.agency_versions().await?);
        found!(self.children().await?);
        found!(self.ancestry()?);
        found!(self.report_indexes().await?);
        found!(self.requests().await?);
        found!(self.event_hashes().await?);
        found!(self.agency_count().await?);
        summary::verify(self.r, self.last()).await
    }

    fn last(&self) -> u64 {
        self.events
    }

    // ------------------------------------------------------------ the chain

    async fn chain(&mut self) -> Result<Found> {
        let mut previous = vec![0u8; 32];
        let mut expected_seq: u64 = 1;
        let mut entries = Entries::new(self.r, Tree::Events, b"");
        loop {
            self.fault = expected_seq;
            let (k, v) = match entries.next().await {
                Ok(None) => break,
                Ok(Some(kv)) => kv,
                // Sequence numbers are dense: the unreadable one is the next.
                Err(StoreError::Corrupt { reason, .. }) => {
                    return Ok(Some(link(
                        expected_seq,
                        "events",
                        &expected_seq.to_be_bytes(),
                        reason,
                    )));
                }
                Err(e) => return Err(e),
            };
            let ev = |detail: String| Some(link(expected_seq, "events", &k, detail));
            let Ok(seq) = <[u8; 8]>::try_from(k.as_ref()).map(u64::from_be_bytes) else {
                return Ok(ev(format!(
                    "event key {} is not a sequence number",
                    hex::encode(&k)
                )));
            };
            if seq != expected_seq {
                return Ok(Some(link(
                    expected_seq,
                    "events",
                    &expected_seq.to_be_bytes(),
                    format!("event {expected_seq} is missing (next stored is {seq})"),
                )));
            }
            let sha = sha256(&v);
            let stored_sha = self.r.get(Tree::EventHashes, &k).await?;
            if stored_sha.as_deref() != Some(sha.as_slice()) {
                return Ok(ev(format!(
                    "event {seq}'s stored bytes do not match its recorded SHA-256"
                )));
            }
            let event: AuditEvent = match codec::decode("events", &k, &v) {
                Ok(e) => e,
                Err(e) => return Ok(ev(format!("event {seq} does not decode: {e}"))),
            };
            let about = |detail: String| {
                Some(link_about(
                    seq,
                    "events",
                    &k,
                    event.resource.clone(),
                    detail,
                ))
            };
            if event.sequence != seq {
                return Ok(about(format!(
                    "event {seq} says it is event {}",
                    event.sequence
                )));
            }
            if event.previous_event_sha256 != previous {
                return Ok(about(format!(
                    "event {seq}'s link does not match event {}'s SHA-256",
                    seq.saturating_sub(1)
                )));
            }
            // The record it names.
            let Some((tree, record_key)) = record_key(&event.resource, event.revision) else {
                return Ok(about(format!(
                    "event {seq} names {} revision {}, which is no record",
                    event.resource, event.revision
                )));
            };
            let tree_name = tree.name();
            match self.r.get(tree, &record_key).await? {
                None => {
                    return Ok(Some(link(
                        seq,
                        tree_name,
                        &record_key,
                        format!(
                            "event {seq} names {} revision {}, which is not stored",
                            event.resource, event.revision
                        ),
                    )));
                }
                Some(bytes) if sha256(&bytes) != event.revision_sha256 => {
                    return Ok(Some(link(
                        seq,
                        tree_name,
                        &record_key,
                        format!(
                            "{} revision {} no longer matches the SHA-256 event {seq} recorded",
                            event.resource, event.revision
                        ),
                    )));
                }
                Some(_) => {
                    self.records = self.records.saturating_add(1);
                    self.named
                        .insert((event.resource.clone(), event.revision), seq);
                }
            }
            self.events = self.events.saturating_add(1);
            previous = sha;
            expected_seq = seq.saturating_add(1);
        }
        let last = self.last();
        self.fault = last;
        let head = read_msg::<AuditHead>(self.r, Tree::Meta, AUDIT_HEAD_KEY)
            .await?
            .unwrap_or_default();
        if head.sequence != last || (last > 0 && head.event_sha256 != previous) {
            return Ok(Some(link(
                last,
                "meta",
                AUDIT_HEAD_KEY,
                format!(
                    "the chain head names event {}, the chain ends at event {last} with another hash",
                    head.sequence
                ),
            )));
        }
        Ok(None)
    }

    // ------------------------------------------------------------ records

    /// Every revision was recorded by an event, and its request record is
    /// the one its request made. Gathers what the heads should say.
    async fn revisions(&mut self) -> Result<Found> {
        let last = self.last();
        let mut entries = Entries::new(self.r, Tree::Revisions, b"");
        while let Some((k, v)) = entries
            .next()
            .await
            .map_err(|e| self.unread_in_walk(Tree::Revisions, e))?
        {
            let here = |detail: String| Some(link(last, "revisions", &k, detail));
            let parsed = k
                .len()
                .checked_sub(4)
                .map(|at| k.split_at(at))
                .and_then(|(r, n)| {
                    let key = keys::parse_report("revisions", r).ok()?;
                    Some((r, key, u32::from_be_bytes(n.try_into().ok()?)))
                });
            let Some((report_key, key, number)) = parsed else {
                return Ok(here("revision key of the wrong shape".into()));
            };
            let Some(&event) = self.named.get(&(key.name(), number)) else {
                return Ok(here(format!(
                    "{} is recorded by no event",
                    key.revision_name(number)
                )));
            };
            let rev: ReportRevision = codec::decode("revisions", &k, &v)?;
            found!(self.request_of_revision(&key, number, event, &rev).await?);
            let info = self
                .reports
                .entry(report_key.to_vec())
                .or_insert_with(|| ReportInfo {
                    key: key.clone(),
                    head: ReportHead::default(),
                    event,
                });
            info.head.latest_revision = number;
            info.head.latest_state = rev.state;
            info.event = event;
            if rev.state() == ReviewState::Approved {
                info.head.approved_revision = number;
            }
        }
        Ok(None)
    }

    /// The request record of revision `number`: under its author and
    /// request id, naming it and its event, with the fingerprint of the
    /// request that wrote it (a submission may have carried new content or
    /// submitted the draft before it: either fingerprint will do).
    async fn request_of_revision(
        &self,
        key: &ReportKey,
        number: u32,
        event: u64,
        rev: &ReportRevision,
    ) -> Result<Found> {
        let expected = rev.previous_revision;
        let fingerprints = |scheme: Scheme| {
            let review = |action: Action| {
                idempotency::fingerprint(
                    scheme,
                    &Request::Review {
                        action,
                        key,
                        expected,
                        comments: &rev.comments,
                    },
                )
            };
            let content = |op: Op| {
                rev.report.as_ref().map(|report| {
                    idempotency::fingerprint(
                        scheme,
                        &Request::Content {
                            op,
                            key,
                            expected,
                            report,
                        },
                    )
                })
            };
            let fingerprints: Vec<Vec<u8>> = match rev.state() {
                ReviewState::Draft => content(Op::SaveDraft).into_iter().collect(),
                ReviewState::Submitted => content(Op::SaveAndSubmit)
                    .into_iter()
                    .chain(std::iter::once(review(Action::Submit)))
                    .collect(),
                ReviewState::Approved => vec![review(Action::Approve)],
                ReviewState::Returned => vec![review(Action::Return)],
                ReviewState::Unspecified => Vec::new(),
            };
            fingerprints
        };
        let request = format!("{}/{}", rev.author, rev.request_id);
        self.request_names(
            request.as_bytes(),
            &key.name(),
            number,
            event,
            &key.revision_name(number),
            fingerprints,
        )
        .await
    }

    /// The request record under `request` names `resource` revision
    /// `number` and `event`, with one of `fingerprints` (any, when empty).
    async fn request_names(
        &self,
        request: &[u8],
        resource: &str,
        number: u32,
        event: u64,
        what: &str,
        fingerprints: impl FnOnce(Scheme) -> Vec<Vec<u8>>,
    ) -> Result<Found> {
        let differs = |detail: String| {
            Some(link_about(
                event,
                "requests",
                request,
                what.to_owned(),
                detail,
            ))
        };
        let Some((rec, scheme)) = idempotency::record(self.r, request).await? else {
            return Ok(differs(format!(
                "the request that wrote {what} (event {event}) has no request record"
            )));
        };
        if rec.resource != resource || rec.revision != number || rec.event_sequence != event {
            return Ok(differs(format!(
                "the request record of {what} (event {event}) names {} revision {} of event {}",
                rec.resource, rec.revision, rec.event_sequence
            )));
        }
        let fingerprints = fingerprints(scheme);
        if !fingerprints.is_empty() && !fingerprints.contains(&rec.request_sha256) {
            return Ok(differs(format!(
                "the request record of {what} (event {event}) holds the fingerprint of another request"
            )));
        }
        Ok(None)
    }

    /// Each stored head says what its revisions say, and every report with
    /// revisions has one.
    async fn heads(&mut self) -> Result<Found> {
        let last = self.last();
        let mut stored = 0usize;
        let mut entries = Entries::new(self.r, Tree::Heads, b"");
        while let Some((k, v)) = entries.next().await? {
            stored = stored.saturating_add(1);
            let head: ReportHead = codec::decode("heads", &k, &v)?;
            let (want, event) = match self.reports.get(k.as_ref()) {
                Some(info) => (info.head, info.event),
                None => (ReportHead::default(), last),
            };
            if head != want {
                return Ok(Some(link(
                    event,
                    "heads",
                    &k,
                    format!(
                        "the head says latest {} ({}), approved {}; the revisions say latest {} ({}), approved {}",
                        head.latest_revision,
                        state_name(head.latest_state()),
                        head.approved_revision,
                        want.latest_revision,
                        state_name(want.latest_state()),
                        want.approved_revision
                    ),
                )));
            }
        }
        if stored != self.reports.len() {
            for (k, info) in &self.reports {
                if self.r.get(Tree::Heads, k).await?.is_none() {
                    return Ok(Some(link(
                        info.event,
                        "heads",
                        k,
                        format!("{} has revisions but no head", info.key.name()),
                    )));
                }
            }
        }
        Ok(None)
    }

    /// Every agency version was recorded by an event and its request record
    /// names it; each current agency is its newest version. Gathers the
    /// current agencies.
    async fn agency_versions(&mut self) -> Result<Found> {
        let last = self.last();
        let mut newest: BTreeMap<Vec<u8>, (u32, Bytes, u64)> = BTreeMap::new();
        let mut entries = Entries::new(self.r, Tree::AgencyVersions, b"");
        while let Some((k, v)) = entries
            .next()
            .await
            .map_err(|e| self.unread_in_walk(Tree::AgencyVersions, e))?
        {
            let Some((uscc, version)) = k
                .len()
                .checked_sub(4)
                .map(|at| k.split_at(at))
                .and_then(|(u, n)| Some((u, u32::from_be_bytes(n.try_into().ok()?))))
            else {
                return Ok(Some(link(
                    last,
                    "agency_versions",
                    &k,
                    "version key of the wrong shape".into(),
                )));
            };
            let name = agency_name(&String::from_utf8_lossy(uscc));
            let Some(&event) = self.named.get(&(name.clone(), version)) else {
                return Ok(Some(link(
                    last,
                    "agency_versions",
                    &k,
                    format!("{name} version {version} is recorded by no event"),
                )));
            };
            // The request: its key is in the event (the version does not
            // hold it); a supervisor change's fingerprint is recomputed.
            let e: AuditEvent = read_msg(self.r, Tree::Events, &event.to_be_bytes())
                .await?
                .unwrap_or_default();
            let agency: Agency = codec::decode("agency_versions", &k, &v)?;
            let fingerprints = |scheme: Scheme| {
                if version > 1 {
                    let sup = supervisor_code(&agency.supervisor);
                    vec![idempotency::fingerprint(
                        scheme,
                        &Request::Move {
                            uscc: &agency.uscc,
                            supervisor: (!sup.is_empty()).then_some(sup),
                            expected_version: version.saturating_sub(1),
                        },
                    )]
                } else {
                    Vec::new()
                }
            };
            found!(
                self.request_names(
                    format!("{}/{}", e.principal, e.request_id).as_bytes(),
                    &name,
                    version,
                    event,
                    &format!("{name} version {version}"),
                    fingerprints,
                )
                .await?
            );
            newest.insert(uscc.to_vec(), (version, v, event));
        }
        let mut entries = Entries::new(self.r, Tree::Agencies, b"");
        while let Some((k, v)) = entries.next().await? {
            let name = agency_name(&String::from_utf8_lossy(&k));
            let Some((version, bytes, event)) = newest.get(k.as_ref()) else {
                return Ok(Some(link(
                    last,
                    "agencies",
                    &k,
                    format!("{name} has a current record but no version"),
                )));
            };
            if *bytes != v {
                return Ok(Some(link(
                    *event,
                    "agencies",
                    &k,
                    format!("the current record of {name} differs from its version {version}"),
                )));
            }
            let agency: Agency = codec::decode("agencies", &k, &v)?;
            self.agencies.insert(
                String::from_utf8_lossy(&k).into_owned(),
                AgencyInfo {
                    supervisor: supervisor_code(&agency.supervisor).to_owned(),
                    event: *event,
                },
            );
        }
        if self.agencies.len() != newest.len() {
            let (uscc, (version, _, event)) = newest
                .iter()
                .find(|(u, _)| !self.agencies.contains_key(&*String::from_utf8_lossy(u)))
                .map(|(u, x)| (u.clone(), x.clone()))
                .unwrap_or_default();
            return Ok(Some(link(
                event,
                "agencies",
                &uscc,
                format!(
                    "{} has version {version} but no current record",
                    agency_name(&String::from_utf8_lossy(&uscc))
                ),
            )));
        }
        Ok(None)
    }

    // ------------------------------------------------------------ indexes

    /// Walks the index `t`: `judge` names what is wrong with an entry;
    /// then there must be `expected` entries, or else the first of
    /// `wanted()` (a key, and what to say when it is missing) not stored is
    /// named.
    async fn index(
        &self,
        t: Tree,
        judge: impl Fn(&[u8], &[u8]) -> Option<BrokenLink>,
        expected: usize,
        wanted: impl FnOnce() -> Vec<(Vec<u8>, BrokenLink)>,
    ) -> Result<Found> {
        let mut stored = 0usize;
        let mut entries = Entries::new(self.r, t, b"");
        while let Some((k, v)) = entries.next().await? {
            found!(judge(&k, &v));
            stored = stored.saturating_add(1);
        }
        if stored != expected {
            return self.first_missing(t, wanted()).await;
        }
        Ok(None)
    }

    /// The first of `wanted` (a key, and what to say when it is missing)
    /// not stored in `t`.
    async fn first_missing(&self, t: Tree, wanted: Vec<(Vec<u8>, BrokenLink)>) -> Result<Found> {
        for (k, missing) in wanted {
            if self.r.get(t, &k).await?.is_none() {
                return Ok(Some(missing));
            }
        }
        Ok(None)
    }

    /// [`Walk::index`], each difference named by `(event, detail)` and
    /// its subject read from the key.
    async fn index_of(
        &self,
        t: Tree,
        judge: impl Fn(&[u8], &[u8]) -> Option<(u64, String)>,
        expected: usize,
        wanted: impl FnOnce() -> Vec<(Vec<u8>, u64, String)>,
    ) -> Result<Found> {
        let tree = t.name();
        self.index(
            t,
            |k, v| judge(k, v).map(|(event, detail)| link(event, tree, k, detail)),
            expected,
            || {
                wanted()
                    .into_iter()
                    .map(|(k, event, detail)| {
                        let missing = link(event, tree, &k, detail);
                        (k, missing)
                    })
                    .collect()
            },
        )
        .await
    }

    /// The `children` edges are the current agencies' supervisors.
    async fn children(&self) -> Result<Found> {
        let last = self.last();
        let judge = |k: &[u8], v: &[u8]| {
            let (p, c) = k.split_at(keys::USCC_LEN.min(k.len()));
            let (p, c) = (String::from_utf8_lossy(p), String::from_utf8_lossy(c));
            if k.len() != keys::USCC_LEN.saturating_mul(2) {
                return Some((last, "edge key of the wrong shape".to_owned()));
            }
            if !v.is_empty() {
                return Some((last, "an edge holds a value".to_owned()));
            }
            match self.agencies.get(&*c) {
                None => Some((
                    last,
                    format!(
                        "an edge {} → {}, which is not registered",
                        agency_name(&p),
                        agency_name(&c)
                    ),
                )),
                Some(a) if a.supervisor != p => Some((
                    a.event,
                    format!(
                        "an edge {} → {}, whose supervisor is {}",
                        agency_name(&p),
                        agency_name(&c),
                        if a.supervisor.is_empty() {
                            "none".to_owned()
                        } else {
                            agency_name(&a.supervisor)
                        }
                    ),
                )),
                Some(_) => None,
            }
        };
        let edges = self
            .agencies
            .values()
            .filter(|a| !a.supervisor.is_empty())
            .count();
        self.index_of(Tree::Children, judge, edges, || {
            self.agencies
                .iter()
                .filter(|(_, a)| !a.supervisor.is_empty())
                .map(|(c, a)| {
                    (
                        keys::join(&[a.supervisor.as_bytes(), c.as_bytes()]),
                        a.event,
                        format!(
                            "{} is under {}, but that edge is missing",
                            agency_name(c),
                            agency_name(&a.supervisor)
                        ),
                    )
                })
                .collect()
        })
        .await
    }

    /// The ancestors of every agency with a report, from the current
    /// agencies' supervisors: at most `MAX_DEPTH` levels, without a cycle.
    fn ancestry(&mut self) -> Result<Found> {
        let codes: Vec<String> = self.reports.values().map(|r| r.key.uscc.clone()).collect();
        for code in codes {
            if self.above.contains_key(&code) {
                continue;
            }
            let mut chain: Vec<String> = Vec::new();
            let mut at = code.clone();
            loop {
                let Some(a) = self.agencies.get(&at) else {
                    return Ok(Some(link(
                        self.last(),
                        "agencies",
                        at.as_bytes(),
                        format!(
                            "{} has reports or agencies under it but is not registered",
                            agency_name(&at)
                        ),
                    )));
                };
                if a.supervisor.is_empty() {
                    break;
                }
                let next = a.supervisor.clone();
                if next == code || chain.contains(&next) || chain.len() >= MAX_DEPTH {
                    let path: Vec<String> = std::iter::once(&code)
                        .chain(&chain)
                        .chain(std::iter::once(&next))
                        .map(|c| agency_name(c))
                        .collect();
                    return Ok(Some(link(
                        a.event,
                        "agencies",
                        at.as_bytes(),
                        format!(
                            "the supervision chain comes back on itself or is deeper than {MAX_DEPTH}: {}",
                            path.join(" → ")
                        ),
                    )));
                }
                chain.push(next.clone());
                at = next;
            }
            self.above.insert(code, chain);
        }
        Ok(None)
    }

    /// `by_year`, `by_state`, `area_year`, `area_state` from the reports
    /// and their agencies' ancestors.
    async fn report_indexes(&self) -> Result<Found> {
        let last = self.last();
        let u = keys::USCC_LEN;
        // The report an index key names at `at` (year u16 · uscc) and its
        // info, or what is wrong.
        let report_at = |k: &[u8], at: usize| -> std::result::Result<&ReportInfo, (u64, String)> {
            let tail = k.get(at..).filter(|t| t.len() == u.saturating_add(2));
            let Some(tail) = tail else {
                return Err((last, "index key of the wrong shape".to_owned()));
            };
            let (year, code) = tail.split_at(2);
            let key = keys::join(&[code, year]);
            self.reports.get(&key).ok_or_else(|| {
                let (_, subject) = keys::describe("heads", &key);
                (last, format!("lists {subject}, which has no revision"))
            })
        };
        let empty =
            |v: &[u8]| (!v.is_empty()).then(|| (last, "an index entry holds a value".to_owned()));
        // The index of areas: the area the key names at its start is the
        // report's agency or one of its ancestors.
        let under = |k: &[u8], info: &ReportInfo| -> Option<(u64, String)> {
            let area = String::from_utf8_lossy(k.get(..u)?);
            let above = self.above.get(&info.key.uscc)?;
            (area != info.key.uscc && !above.iter().any(|a| *a == area)).then(|| {
                (
                    info.event,
                    format!(
                        "lists {} under {}, which is not {} nor above it (above it: {})",
                        info.key.name(),
                        agency_name(&area),
                        agency_name(&info.key.uscc),
                        if above.is_empty() {
                            "none".to_owned()
                        } else {
                            above
                                .iter()
                                .map(|a| agency_name(a))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                )
            })
        };
        let wrong_state = |s: u8, info: &ReportInfo| {
            (s != info.state()).then(|| {
                (
                    info.event,
                    format!(
                        "lists {} as {}; it is {}",
                        info.key.name(),
                        state_name(
                            ReviewState::try_from(i32::from(s)).unwrap_or(ReviewState::Unspecified)
                        ),
                        state_name(info.head.latest_state())
                    ),
                )
            })
        };
        let year_b = |info: &ReportInfo| keys::year(info.key.year).unwrap_or_default();
        // Each report under each of its areas (itself and its ancestors):
        // the key `key_of` makes, and what to say when it is missing.
        let per_area = |key_of: &dyn Fn(&str, &ReportInfo) -> Vec<u8>, listing: &str| {
            let mut wanted = Vec::new();
            for r in self.reports.values() {
                let above = self.above.get(&r.key.uscc).into_iter().flatten();
                for a in std::iter::once(&r.key.uscc).chain(above) {
                    let detail = format!(
                        "{} is missing from the {listing}listing of {}",
                        r.key.name(),
                        agency_name(a)
                    );
                    wanted.push((key_of(a, r), r.event, detail));
                }
            }
            wanted
        };
        let n = self.reports.len();
        let n_areas: usize = self
            .reports
            .values()
            .map(|r| {
                self.above
                    .get(&r.key.uscc)
                    .map_or(0, Vec::len)
                    .saturating_add(1)
            })
            .sum();
        let missing =
            |what: &str, info: &ReportInfo| format!("{} is missing from {what}", info.key.name());

        found!(
            self.index_of(
                Tree::ByYear,
                |k, v| empty(v).or_else(|| report_at(k, 0).err()),
                n,
                || {
                    self.reports
                        .values()
                        .map(|r| {
                            let key = keys::join(&[&year_b(r), r.key.uscc.as_bytes()]);
                            (key, r.event, missing("its year's listing", r))
                        })
                        .collect()
                },
            )
            .await?
        );
        found!(
            self.index_of(
                Tree::ByState,
                |k, v| {
                    empty(v).or_else(|| match report_at(k, 1) {
                        Err(e) => Some(e),
                        Ok(info) => wrong_state(k[0], info),
                    })
                },
                n,
                || {
                    self.reports
                        .values()
                        .map(|r| {
                            let key =
                                keys::join(&[&[r.state()], &year_b(r), r.key.uscc.as_bytes()]);
                            (key, r.event, missing("its state's listing", r))
                        })
                        .collect()
                },
            )
            .await?
        );
        found!(
            self.index_of(
                Tree::AreaYear,
                |k, v| {
                    empty(v).or_else(|| match report_at(k, u) {
                        Err(e) => Some(e),
                        Ok(info) => under(k, info),
                    })
                },
                n_areas,
                || {
                    per_area(
                        &|a, r| keys::join(&[a.as_bytes(), &year_b(r), r.key.uscc.as_bytes()]),
                        "",
                    )
                },
            )
            .await?
        );
        self.index_of(
            Tree::AreaState,
            |k, v| {
                empty(v).or_else(|| match report_at(k, u.saturating_add(1)) {
                    Err(e) => Some(e),
                    Ok(info) => under(k, info).or_else(|| wrong_state(k[u], info)),
                })
            },
            n_areas,
            || {
                per_area(
                    &|a, r| {
                        keys::join(&[
                            a.as_bytes(),
                            &[r.state()],
                            &year_b(r),
                            r.key.uscc.as_bytes(),
                        ])
                    },
                    "state's ",
                )
            },
        )
        .await
    }

    /// Every request record names the event of its own request (its
    /// principal and request id, resource and revision), and every event
    /// has one.
    async fn requests(&self) -> Result<Found> {
        let mut stored = 0usize;
        let mut entries = Entries::new(self.r, Tree::Requests, b"");
        while let Some((k, v)) = entries.next().await? {
            found!(self.request_record(&k, &v).await);
            stored = stored.saturating_add(1);
        }
        if stored == usize::try_from(self.events).unwrap_or(usize::MAX) {
            return Ok(None);
        }
        let mut wanted = Vec::new();
        let mut events = Entries::new(self.r, Tree::Events, b"");
        while let Some((k, v)) = events.next().await? {
            let Ok(e) = codec::decode::<AuditEvent>("events", &k, &v) else {
                continue;
            };
            let key = format!("{}/{}", e.principal, e.request_id).into_bytes();
            let missing = link_about(
                e.sequence,
                "requests",
                &key,
                format!("{} revision {}", e.resource, e.revision),
                format!("event {} has no request record", e.sequence),
            );
            wanted.push((key, missing));
        }
        self.first_missing(Tree::Requests, wanted).await
    }

    /// What is wrong with one request record: it must name the event of
    /// its own request.
    async fn request_record(&self, k: &[u8], v: &[u8]) -> Option<BrokenLink> {
        let last = self.last();
        {
            let rec: IdempotencyRecord = match codec::decode("requests", k, v) {
                Ok(r) => r,
                Err(e) => return Some(link(last, "requests", k, e.to_string())),
            };
            let seq = rec.event_sequence;
            let named = format!("{} revision {}", rec.resource, rec.revision);
            let differs =
                |event, detail| Some(link_about(event, "requests", k, named.clone(), detail));
            match read_msg::<AuditEvent>(self.r, Tree::Events, &seq.to_be_bytes()).await {
                Ok(Some(e))
                    if format!("{}/{}", e.principal, e.request_id).as_bytes() == k
                        && e.resource == rec.resource
                        && e.revision == rec.revision =>
                {
                    None
                }
                Ok(Some(e)) => differs(
                    seq,
                    format!(
                        "the record names {named} and event {seq}; event {seq} is request {}/{} for {} revision {}",
                        e.principal, e.request_id, e.resource, e.revision
                    ),
                ),
                Ok(None) => differs(
                    last,
                    format!("the record names {named} and event {seq}, which does not exist"),
                ),
                Err(e) => differs(seq, e.to_string()),
            }
        }
    }

    /// Every event hash belongs to an event (each event's own is checked
    /// with the chain).
    async fn event_hashes(&self) -> Result<Found> {
        let last = self.last();
        self.index_of(
            Tree::EventHashes,
            |k, _| {
                let seq = <[u8; 8]>::try_from(k).map(u64::from_be_bytes).ok();
                match seq {
                    Some(s) if (1..=last).contains(&s) => None,
                    _ => Some((last, "a hash of no event".to_owned())),
                }
            },
            usize::try_from(last).unwrap_or(usize::MAX),
            Vec::new,
        )
        .await
    }

    /// `meta`'s agency count is the number of agencies.
    async fn agency_count(&self) -> Result<Found> {
        let counted = agency_count(self.r).await?;
        let agencies = self.agencies.len() as u64;
        Ok((counted != agencies).then(|| {
            link(
                self.last(),
                "meta",
                AGENCY_COUNT_KEY,
                format!("the agency count says {counted}; {agencies} agencies are registered"),
            )
        }))
    }
}

/// The tree and key of the record an event names: an agency version
/// (`agencies/{uscc}`) or a report revision.
fn record_key(resource: &str, revision: u32) -> Option<(Tree, Vec<u8>)> {
    if let Some(uscc) = resource
        .strip_prefix("agencies/")
        .filter(|r| !r.contains('/'))
    {
        return Some((
            Tree::AgencyVersions,
            keys::join(&[uscc.as_bytes(), &revision.to_be_bytes()]),
        ));
    }
    let key = parse_report_name(resource).ok()?;
    Some((Tree::Revisions, keys::revision(&key, revision).ok()?))
}
