//! What the fuzz targets (`fuzz/`, target `store_values`) call: every value
//! type the store keeps, read from bytes that may be anything, the way the
//! store reads it — decoded, then interpreted (its key parsed, its report
//! converted and summed, its names parsed), and a backup file restored.
//! Each must give a [`StoreError`], never a panic. Not an API, so hidden
//! from the docs; it reads only what it is given (and [`restore_backup`]
//! writes a temporary database of its own). Without I/O, but for [`restore_backup`]'s temporary database.

use gongkai_domain::Report;
use gongkai_proto::{
    store_v1::{AuditHead, IdempotencyRecord, ReportHead},
    v1::{Agency, AuditEvent, ReportRevision, ReviewState},
};

use crate::{
    Result, StoreError, Tree, codec,
    engine::sled::backup,
    keys,
    rules::{
        named_supervisor, parse_report_name,
        summary::{self, Approval},
    },
    state_name,
};

/// The trees [`decode_value`] knows, by name.
pub const TREES: [&str; 14] = {
    let mut names = [""; 14];
    let mut i = 0;
    while i < Tree::ALL.len() {
        names[i] = Tree::ALL[i].name();
        i += 1;
    }
    names
};

/// Reads `value` stored under `key` in `tree` (one of [`TREES`]) as the
/// store does.
pub fn decode_value(tree: &str, key: &[u8], value: &[u8]) -> Result<()> {
    match tree {
        "meta" if key == b"format" => {
            let _: [u8; 4] = value.try_into().map_err(|_| corrupt("meta", key))?;
        }
        "meta" => {
            codec::decode::<AuditHead>("meta", key, value)?;
        }
        "agency_versions" => {
            let (_, version) = key.split_at(key.len().saturating_sub(4));
            let _: [u8; 4] = version
                .try_into()
                .map_err(|_| corrupt("agency_versions", key))?;
            let a: Agency = codec::decode("agency_versions", key, value)?;
            named_supervisor(&a.supervisor)?;
        }
        "agencies" => {
            let a: Agency = codec::decode("agencies", key, value)?;
            named_supervisor(&a.supervisor)?;
        }
        "heads" => {
            let k = keys::parse_report("heads", key)?;
            let head: ReportHead = codec::decode("heads", key, value)?;
            let _ = (k.name(), state_name(head.latest_state()));
        }
        "revisions" => {
            let (report_key, number) = key.split_at(key.len().saturating_sub(4));
            let k = keys::parse_report("revisions", report_key)?;
            let number =
                u32::from_be_bytes(number.try_into().map_err(|_| corrupt("revisions", key))?);
            let rev: ReportRevision = codec::decode("revisions", key, value)?;
            let _ = k.revision_name(number);
            if let Some(report) = &rev.report {
                // As GetReport's callers, ValidateReport's `previous` and the
                // area sums read it.
                let _ = Report::try_from(report);
            }
            if rev.state() == ReviewState::Approved {
                // As an approval does (held to value.range's bounds), and
                // as the sums already kept are recomputed.
                summary::contribution(&rev, &k, Approval::New)?;
                summary::contribution(&rev, &k, Approval::Kept)?;
            }
        }
        "events" => {
            let e: AuditEvent = codec::decode("events", key, value)?;
            let _ = e.time.map(std::time::SystemTime::try_from);
            let _ = e.action();
            // As verify reads the record an event names.
            let agency = e
                .resource
                .strip_prefix("agencies/")
                .filter(|r| !r.contains('/'));
            if agency.is_none() {
                let _ = parse_report_name(&e.resource);
            }
        }
        "requests" => {
            let rec: IdempotencyRecord = codec::decode("requests", key, value)?;
            match rec
                .resource
                .strip_prefix("agencies/")
                .filter(|r| !r.contains('/'))
            {
                Some(uscc) => {
                    keys::uscc(uscc)?;
                }
                None => {
                    parse_report_name(&rec.resource)?;
                }
            }
        }
        "area_sums" => {
            let k = keys::parse_report("area_sums", key)?;
            summary::decode_sum(key, value, k.year)?;
        }
        "by_year" | "by_state" | "area_year" | "area_state" => {
            keys::year_uscc_suffix("index", key)?;
        }
        _ => {}
    }
    Ok(())
}

/// Restores a backup file as `gongkai restore` does — parsed, then imported
/// into a new (temporary) sled database — and reads every value back as
/// its tree's.
pub fn restore_backup(data: &[u8]) -> Result<()> {
    let collections = backup::parse(data)?;
    let db = sled::Config::new().temporary(true).open()?;
    backup::import(&db, collections);
    for tree in TREES {
        for kv in db.open_tree(tree)?.iter() {
            let (k, v) = kv?;
            let _ = decode_value(tree, &k, &v);
        }
    }
    Ok(())
}

/// One entry of a backup file: tree, key, value.
pub type Entry = (String, Vec<u8>, Vec<u8>);

/// Every tree's entries in a backup file.
pub fn backup_entries(data: &[u8]) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (_, name, entries) in backup::parse(data)? {
        let tree = String::from_utf8_lossy(&name).into_owned();
        for mut kv in entries {
            if let (Some(v), Some(k)) = (kv.pop(), kv.pop()) {
                out.push((tree.clone(), k, v));
            }
        }
    }
    Ok(out)
}

fn corrupt(tree: &'static str, key: &[u8]) -> StoreError {
    StoreError::Corrupt {
        tree,
        key: hex::encode(key),
        reason: "value of the wrong shape".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tree_refuses_junk_with_an_error() {
        for tree in TREES {
            for value in [
                &b""[..],
                &[1],
                &[1, 0xff, 0xff],
                &[2, 0],
                &[1, 0x0a, 0x05, 0x0a],
            ] {
                // Junk keys and values: an error or nothing to read, never a panic.
                let _ = decode_value(tree, b"\xff", value);
            }
        }
        assert!(decode_value("heads", b"short", &[1]).is_err());
        assert!(matches!(
            restore_backup(b"not a backup"),
            Err(StoreError::BadBackup(_))
        ));
    }
}
