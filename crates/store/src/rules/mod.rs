//! What the store decides, once for every engine: the operations and their
//! ids (`ops.rs`), how a write is planned (`plan.rs`: the review state
//! machine through `state.rs`, optimistic concurrency, the revision, head
//! and indexes, the area sums through `summary.rs`, the audit event and its
//! chain, the request record), idempotency (`idempotency.rs`), listings
//! (`listing.rs`), `verify` (`verify.rs`) and what opening a store checks
//! and builds (`upgrade.rs`). Every rule reads through an engine's
//! [`Reader`] and writes only by returning a [`crate::engine::Plan`].

pub(crate) mod idempotency;
pub(crate) mod listing;
pub(crate) mod ops;
pub(crate) mod plan;
pub(crate) mod summary;
pub(crate) mod upgrade;
pub(crate) mod verify;

use std::{collections::HashMap, time::SystemTime};

use gongkai_proto::v1::Agency;
use prost::Message;
use sha2::{Digest, Sha256};

use crate::{
    BrokenLink, ReportKey, Result, StoreError, codec,
    engine::{Entries, Reader, Tree},
    keys,
};

/// Key in `meta` of the store's format (u32 BE).
pub(crate) const FORMAT_KEY: &[u8] = b"format";
/// Key in `meta` of the audit chain's head.
pub(crate) const AUDIT_HEAD_KEY: &[u8] = b"audit_head";
/// Key in `meta` of the number of registered agencies (u64 BE).
pub(crate) const AGENCY_COUNT_KEY: &[u8] = b"agency_count";
/// Deepest supervision tree, in levels (national → province → city →
/// county → township is 5): registrations and moves that would go deeper
/// are refused, and every walk of the tree stops there.
pub(crate) const MAX_DEPTH: usize = 64;

/// A stored message, decoded, naming the tree and key when it does not decode.
pub(crate) async fn read_msg<M: Message + Default>(
    r: &impl Reader,
    t: Tree,
    key: &[u8],
) -> Result<Option<M>> {
    match r.get(t, key).await? {
        None => Ok(None),
        Some(v) => codec::decode(t.name(), key, &v).map(Some),
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

pub(crate) fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

pub(crate) fn agency_name(uscc: &str) -> String {
    format!("agencies/{uscc}")
}

/// Accepts a supervisor as `agencies/{uscc}` or a bare code.
pub(crate) fn supervisor_code(s: &str) -> &str {
    s.strip_prefix("agencies/").unwrap_or(s)
}

/// A named supervisor's code, validated: `agencies/` alone is not "none".
pub(crate) fn named_supervisor(s: &str) -> Result<Option<String>> {
    if s.is_empty() {
        return Ok(None);
    }
    let code = supervisor_code(s);
    keys::uscc(code)?;
    Ok(Some(code.to_owned()))
}

/// `agencies/{uscc}/reports/{year}` back to a key.
pub(crate) fn parse_report_name(name: &str) -> Result<ReportKey> {
    let bad = || {
        StoreError::InvalidArgument(format!(
            "'{name}' is not agencies/{{uscc}}/reports/{{year}}"
        ))
    };
    let rest = name.strip_prefix("agencies/").ok_or_else(bad)?;
    let (uscc, year) = rest.split_once("/reports/").ok_or_else(bad)?;
    let year: u32 = year.parse().map_err(|_| bad())?;
    keys::uscc(uscc)?;
    keys::year(year)?;
    Ok(ReportKey {
        uscc: uscc.to_owned(),
        year,
    })
}

/// A difference in `tree` at `key`, its key and subject read from the key.
pub(crate) fn link(event: u64, tree: &'static str, key: &[u8], detail: String) -> BrokenLink {
    let (key, subject) = keys::describe(tree, key);
    BrokenLink {
        event,
        tree,
        key,
        subject,
        detail,
    }
}

/// How many agencies are registered (kept in `meta`, counted once when a
/// store older than the count is opened).
pub(crate) async fn agency_count(r: &impl Reader) -> Result<u64> {
    match r.get(Tree::Meta, AGENCY_COUNT_KEY).await? {
        None => Ok(0),
        Some(v) => v
            .as_ref()
            .try_into()
            .map(u64::from_be_bytes)
            .map_err(|_| StoreError::Corrupt {
                tree: "meta",
                key: hex::encode(AGENCY_COUNT_KEY),
                reason: "the agency count is not a u64".into(),
            }),
    }
}

/// The agency's ancestors, nearest first (not itself). At most
/// `MAX_DEPTH - 1`: a longer chain, or one that comes back to an agency
/// already on it (a cycle planted in the store: no write makes one), is
/// damage naming the agencies, never an endless walk.
pub(crate) async fn ancestors_in(r: &impl Reader, uscc: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut at = uscc.to_owned();
    for _ in 0..MAX_DEPTH {
        let Some(a) = read_msg::<Agency>(r, Tree::Agencies, at.as_bytes()).await? else {
            return Err(StoreError::NotFound(agency_name(&at)));
        };
        if a.supervisor.is_empty() {
            return Ok(out);
        }
        let next = supervisor_code(&a.supervisor).to_owned();
        if next == uscc || out.contains(&next) {
            let chain: Vec<String> = std::iter::once(uscc)
                .chain(out.iter().map(String::as_str))
                .chain(std::iter::once(next.as_str()))
                .map(agency_name)
                .collect();
            return Err(StoreError::Corrupt {
                tree: "agencies",
                key: hex::encode(&at),
                reason: format!(
                    "the supervision chain comes back on itself: {}",
                    chain.join(" → ")
                ),
            });
        }
        at = next;
        out.push(at.clone());
    }
    Err(StoreError::Corrupt {
        tree: "agencies",
        key: hex::encode(uscc),
        reason: format!(
            "the supervision chain of {} is deeper than {MAX_DEPTH} levels",
            agency_name(uscc)
        ),
    })
}

/// The agency and every agency under it, breadth first.
pub(crate) async fn subtree(r: &impl Reader, uscc: &str) -> Result<Vec<String>> {
    Ok(subtree_levels(r, uscc).await?.0)
}

/// [`subtree`], and how many levels it spans (1: the agency alone). The
/// walk keeps every agency it met: one met again (a cycle of `children`
/// edges, or an agency under two supervisors, which no write makes) or a
/// subtree deeper than `MAX_DEPTH` is damage naming the agencies, never an
/// endless walk; the walk holds at most one entry per registered agency.
pub(crate) async fn subtree_levels(r: &impl Reader, uscc: &str) -> Result<(Vec<String>, usize)> {
    let mut out = vec![uscc.to_owned()];
    // Each agency met, with the agency it was met under.
    let mut met: HashMap<String, String> = HashMap::from([(uscc.to_owned(), String::new())]);
    let (mut start, mut levels) = (0, 0);
    while start < out.len() {
        if levels == MAX_DEPTH {
            return Err(StoreError::Corrupt {
                tree: "children",
                key: hex::encode(uscc),
                reason: format!(
                    "the subtree of {} is deeper than {MAX_DEPTH} levels",
                    agency_name(uscc)
                ),
            });
        }
        let end = out.len();
        for i in start..end {
            let parent = out[i].clone();
            let mut edges = Entries::new(r, Tree::Children, parent.as_bytes());
            while let Some((k, _)) = edges.next().await? {
                let child = k
                    .get(keys::USCC_LEN..)
                    .and_then(|c| std::str::from_utf8(c).ok())
                    .ok_or_else(|| StoreError::Corrupt {
                        tree: "children",
                        key: hex::encode(&k),
                        reason: "edge key of the wrong shape".into(),
                    })?;
                if let Some(first) = met.get(child) {
                    let before = if first.is_empty() {
                        "it is where the walk began".to_owned()
                    } else {
                        format!("it was met under {} already", agency_name(first))
                    };
                    return Err(StoreError::Corrupt {
                        tree: "children",
                        key: hex::encode(&k),
                        reason: format!(
                            "walking the subtree of {}, the edge {} → {} meets {} again ({before}): the children edges make a cycle or give it two supervisors",
                            agency_name(uscc),
                            agency_name(&parent),
                            agency_name(child),
                            agency_name(child),
                        ),
                    });
                }
                met.insert(child.to_owned(), parent.clone());
                out.push(child.to_owned());
            }
        }
        start = end;
        levels = levels.saturating_add(1);
    }
    Ok((out, levels))
}

/// A supervisor under which the supervision tree would grow deeper than
/// every walk of it goes.
pub(crate) fn too_deep(supervisor: &str, depth: usize) -> StoreError {
    StoreError::InvalidField {
        field: "supervisor",
        reason: format!(
            "under {} the supervision tree would be {depth} levels deep; at most {MAX_DEPTH}",
            agency_name(supervisor)
        ),
    }
}
