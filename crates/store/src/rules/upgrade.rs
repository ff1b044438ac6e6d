//! What opening a store checks and builds, on every engine: its format
//! (a newer one is refused and nothing is written; an older one is brought
//! to this one), and what stores written before a structure existed lack
//! (the area sums, the agency count), built once from what they hold.
//!
//! Format 3 changed nothing stored before it: request records keep the
//! fingerprint scheme of the format they were written in, told by their
//! own tag (`idempotency.rs`). Raising the store's format only keeps a
//! gongkai of format 2, which would misjudge the records of format 3, from
//! opening it.

use super::{AGENCY_COUNT_KEY, FORMAT_KEY, summary};
use crate::{
    Result, STORE_FORMAT, StoreError,
    engine::{Entries, Plan, Reader, Tree},
};

/// The writes that bring the store `r` reads to this format, if any; a
/// store this build must not write is refused.
pub(crate) async fn plan(r: &impl Reader) -> Result<Option<Plan>> {
    let mut plan = Plan::default();
    let stamp = STORE_FORMAT.to_be_bytes().to_vec();
    match r.get(Tree::Meta, FORMAT_KEY).await? {
        Some(v) => {
            let bytes: [u8; 4] = v.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                tree: "meta",
                key: hex::encode(FORMAT_KEY),
                reason: "format is not a u32".into(),
            })?;
            let found = u32::from_be_bytes(bytes);
            if found > STORE_FORMAT {
                return Err(StoreError::NewerFormat {
                    found,
                    supported: STORE_FORMAT,
                });
            }
            if found < STORE_FORMAT {
                plan.put(Tree::Meta, FORMAT_KEY, stamp);
            }
        }
        None => {
            for t in Tree::ALL.into_iter().filter(|t| *t != Tree::Meta) {
                if !r.scan(t, b"", None, 1).await?.is_empty() {
                    return Err(StoreError::Corrupt {
                        tree: "meta",
                        key: hex::encode(FORMAT_KEY),
                        reason: "the store holds data but no format version".into(),
                    });
                }
            }
            plan.put(Tree::Meta, FORMAT_KEY, stamp);
        }
    }
    if r.get(Tree::Meta, summary::BUILT_KEY).await?.is_none() {
        let mut kept = Entries::new(r, Tree::AreaSums, b"");
        while let Some((k, _)) = kept.next().await? {
            plan.delete(Tree::AreaSums, k.to_vec());
        }
        for (k, (_, _, totals)) in summary::recompute(r).await? {
            plan.put(Tree::AreaSums, k, summary::encode_sum(&totals));
        }
        plan.put(Tree::Meta, summary::BUILT_KEY, vec![1u8]);
    }
    if r.get(Tree::Meta, AGENCY_COUNT_KEY).await?.is_none() {
        let mut n: u64 = 0;
        let mut agencies = Entries::new(r, Tree::Agencies, b"");
        while agencies.next().await?.is_some() {
            n = n.saturating_add(1);
        }
        plan.put(Tree::Meta, AGENCY_COUNT_KEY, n.to_be_bytes().to_vec());
    }
    Ok((!plan.writes.is_empty()).then_some(plan))
}
