//! The store's trees as PostgreSQL tables: which table holds which tree, and
//! the readable columns the engine fills from each row's key and value.
//!
//! The key and the value are the store's own (`keys.rs`, `codec.rs`),
//! byte for byte as sled holds them; the readable columns are derived from
//! them on every write and never read back by the engine. They exist for an
//! operator in `psql` (`SELECT uscc, year, revision, state, author FROM
//! report_revisions`) and for the indexes an operator may add.

use std::time::SystemTime;

pub use crate::engine::Tree;
use crate::{Result, StoreError, codec, keys::USCC_LEN, state_name};
use gongkai_proto::{
    store_v1::{AreaSum, AuditHead, IdempotencyRecord, ReportHead},
    v1::{Agency, AuditAction, AuditEvent, ReportRevision, ReviewState},
};

/// A readable column's SQL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Text,
    Int4,
    Int8,
    Time,
    Bytea,
}

impl Ty {
    /// The array type the flush's `unnest` takes.
    pub(crate) fn array(self) -> &'static str {
        match self {
            Ty::Text => "text[]",
            Ty::Int4 => "integer[]",
            Ty::Int8 => "bigint[]",
            Ty::Time => "timestamptz[]",
            Ty::Bytea => "bytea[]",
        }
    }
}

/// One readable column: its name and type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Column(pub(crate) &'static str, pub(crate) Ty);

/// A readable column's value for one row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    Text(Option<String>),
    Int4(Option<i32>),
    Int8(Option<i64>),
    Time(Option<SystemTime>),
    Bytea(Option<Vec<u8>>),
}

impl Tree {
    /// The PostgreSQL table that holds it.
    pub fn table(self) -> &'static str {
        match self {
            Tree::Meta => "store_meta",
            Tree::Agencies => "agencies",
            Tree::AgencyVersions => "agency_versions",
            Tree::Children => "supervision",
            Tree::Heads => "reports",
            Tree::Revisions => "report_revisions",
            Tree::ByYear => "reports_by_year",
            Tree::ByState => "reports_by_state",
            Tree::AreaYear => "area_reports",
            Tree::AreaState => "area_reports_by_state",
            Tree::Events => "audit_events",
            Tree::EventHashes => "audit_event_hashes",
            Tree::Requests => "requests",
            Tree::AreaSums => "area_sums",
        }
    }

    /// The readable columns the engine fills from the key and value, in the
    /// order [`Tree::readable`] gives them. (`requests` also has
    /// `principal` and `request_id`, taken from the audit event the record
    /// names: the key `principal/request id` cannot be split back, as both
    /// may hold a `/`.)
    pub(crate) fn columns(self) -> &'static [Column] {
        use Ty::{Bytea, Int4, Int8, Text, Time};
        match self {
            Tree::Meta => &[
                Column("name", Text),
                Column("format", Int8),
                Column("audit_sequence", Int8),
                Column("audit_event_sha256", Bytea),
            ],
            Tree::Agencies => &[
                Column("uscc", Text),
                Column("display_name", Text),
                Column("supervisor_uscc", Text),
                Column("region_code", Text),
                Column("version", Int8),
            ],
            Tree::AgencyVersions => &[
                Column("uscc", Text),
                Column("version", Int8),
                Column("display_name", Text),
                Column("supervisor_uscc", Text),
            ],
            Tree::Children => &[Column("supervisor_uscc", Text), Column("agency_uscc", Text)],
            Tree::Heads => &[
                Column("uscc", Text),
                Column("year", Int4),
                Column("latest_revision", Int8),
                Column("latest_state", Text),
                Column("approved_revision", Int8),
            ],
            Tree::Revisions => &[
                Column("uscc", Text),
                Column("year", Int4),
                Column("revision", Int8),
                Column("state", Text),
                Column("author", Text),
                Column("created_at", Time),
                Column("previous_revision", Int8),
                Column("request_id", Text),
                Column("ruleset_version", Text),
            ],
            Tree::ByYear => &[Column("year", Int4), Column("uscc", Text)],
            Tree::ByState => &[
                Column("state", Text),
                Column("year", Int4),
                Column("uscc", Text),
            ],
            Tree::AreaYear => &[
                Column("area_uscc", Text),
                Column("year", Int4),
                Column("uscc", Text),
            ],
            Tree::AreaState => &[
                Column("area_uscc", Text),
                Column("state", Text),
                Column("year", Int4),
                Column("uscc", Text),
            ],
            Tree::Events => &[
                Column("sequence", Int8),
                Column("time", Time),
                Column("principal", Text),
                Column("action", Text),
                Column("resource", Text),
                Column("revision", Int8),
                Column("request_id", Text),
            ],
            Tree::EventHashes => &[Column("sequence", Int8)],
            Tree::Requests => &[
                Column("resource", Text),
                Column("revision", Int8),
                Column("event_sequence", Int8),
            ],
            Tree::AreaSums => &[
                Column("area_uscc", Text),
                Column("year", Int4),
                Column("agencies", Int8),
                Column("other_format", Int8),
            ],
        }
    }

    /// The readable columns of one row. A key of the wrong shape or a
    /// value that does not decode is [`StoreError::Corrupt`]: the engine
    /// writes nothing it cannot explain.
    pub(crate) fn readable(self, key: &[u8], value: &[u8]) -> Result<Vec<Cell>> {
        let k = Key { tree: self, key };
        let t = self.table();
        Ok(match self {
            Tree::Meta => {
                let (mut format, mut sequence, mut sha) = (None, None, None);
                match key {
                    crate::rules::FORMAT_KEY => {
                        let raw: [u8; 4] =
                            value.try_into().map_err(|_| k.bad("format is not a u32"))?;
                        format = Some(i64::from(u32::from_be_bytes(raw)));
                    }
                    crate::rules::AUDIT_HEAD_KEY => {
                        let head: AuditHead = codec::decode(t, key, value)?;
                        sequence = Some(k.int8(head.sequence)?);
                        sha = Some(head.event_sha256).filter(|s| !s.is_empty());
                    }
                    _ => {}
                }
                vec![
                    Cell::Text(Some(String::from_utf8_lossy(key).into_owned())),
                    Cell::Int8(format),
                    Cell::Int8(sequence),
                    Cell::Bytea(sha),
                ]
            }
            Tree::Agencies => {
                k.len(USCC_LEN)?;
                let a: Agency = codec::decode(t, key, value)?;
                if a.uscc.as_bytes() != key {
                    return Err(k.bad(&format!("holds agency {}", a.uscc)));
                }
                vec![
                    k.uscc(0)?,
                    Cell::Text(Some(a.display_name)),
                    supervisor(&a.supervisor),
                    Cell::Text(Some(a.region_code)),
                    Cell::Int8(Some(i64::from(a.version))),
                ]
            }
            Tree::AgencyVersions => {
                k.len(USCC_LEN + 4)?;
                let a: Agency = codec::decode(t, key, value)?;
                vec![
                    k.uscc(0)?,
                    Cell::Int8(Some(i64::from(k.u32_at(USCC_LEN)?))),
                    Cell::Text(Some(a.display_name)),
                    supervisor(&a.supervisor),
                ]
            }
            Tree::Children => {
                k.len(2 * USCC_LEN)?;
                vec![k.uscc(0)?, k.uscc(USCC_LEN)?]
            }
            Tree::Heads => {
                k.len(USCC_LEN + 2)?;
                let h: ReportHead = codec::decode(t, key, value)?;
                vec![
                    k.uscc(0)?,
                    k.year(USCC_LEN)?,
                    Cell::Int8(Some(i64::from(h.latest_revision))),
                    state(h.latest_state()),
                    Cell::Int8(Some(i64::from(h.approved_revision))),
                ]
            }
            Tree::Revisions => {
                k.len(USCC_LEN + 6)?;
                let r: ReportRevision = codec::decode(t, key, value)?;
                let created = r.create_time.and_then(|t| SystemTime::try_from(t).ok());
                vec![
                    k.uscc(0)?,
                    k.year(USCC_LEN)?,
                    Cell::Int8(Some(i64::from(k.u32_at(USCC_LEN + 2)?))),
                    state(r.state()),
                    Cell::Text(Some(r.author)),
                    Cell::Time(created),
                    Cell::Int8(Some(i64::from(r.previous_revision))),
                    Cell::Text(Some(r.request_id)),
                    Cell::Text(Some(r.ruleset_version)),
                ]
            }
            Tree::ByYear => {
                k.len(2 + USCC_LEN)?;
                vec![k.year(0)?, k.uscc(2)?]
            }
            Tree::ByState => {
                k.len(3 + USCC_LEN)?;
                vec![k.state(0)?, k.year(1)?, k.uscc(3)?]
            }
            Tree::AreaYear => {
                k.len(2 * USCC_LEN + 2)?;
                vec![k.uscc(0)?, k.year(USCC_LEN)?, k.uscc(USCC_LEN + 2)?]
            }
            Tree::AreaState => {
                k.len(2 * USCC_LEN + 3)?;
                vec![
                    k.uscc(0)?,
                    k.state(USCC_LEN)?,
                    k.year(USCC_LEN + 1)?,
                    k.uscc(USCC_LEN + 3)?,
                ]
            }
            Tree::Events => {
                k.len(8)?;
                let e: AuditEvent = codec::decode(t, key, value)?;
                let sequence = k.u64_at(0)?;
                if e.sequence != sequence {
                    return Err(k.bad(&format!("holds event {}", e.sequence)));
                }
                let time = e.time.and_then(|t| SystemTime::try_from(t).ok());
                vec![
                    Cell::Int8(Some(k.int8(sequence)?)),
                    Cell::Time(time),
                    Cell::Text(Some(e.principal.clone())),
                    Cell::Text(Some(action_name(e.action()))),
                    Cell::Text(Some(e.resource)),
                    Cell::Int8(Some(i64::from(e.revision))),
                    Cell::Text(Some(e.request_id)),
                ]
            }
            Tree::EventHashes => {
                k.len(8)?;
                if value.len() != 32 {
                    return Err(k.bad("the hash is not 32 bytes"));
                }
                vec![Cell::Int8(Some(k.int8(k.u64_at(0)?)?))]
            }
            Tree::Requests => {
                let r: IdempotencyRecord = codec::decode(t, key, value)?;
                vec![
                    Cell::Text(Some(r.resource)),
                    Cell::Int8(Some(i64::from(r.revision))),
                    Cell::Int8(Some(k.int8(r.event_sequence)?)),
                ]
            }
            Tree::AreaSums => {
                k.len(USCC_LEN + 2)?;
                let s: AreaSum = codec::decode(t, key, value)?;
                vec![
                    k.uscc(0)?,
                    k.year(USCC_LEN)?,
                    Cell::Int8(Some(k.int8(s.agencies)?)),
                    Cell::Int8(Some(k.int8(s.other_format)?)),
                ]
            }
        })
    }
}

/// `AUDIT_ACTION_REPORT_SUBMITTED` → `report_submitted`.
fn action_name(action: AuditAction) -> String {
    let name = action.as_str_name();
    name.strip_prefix("AUDIT_ACTION_")
        .unwrap_or(name)
        .to_ascii_lowercase()
}

fn state(s: ReviewState) -> Cell {
    Cell::Text(Some(state_name(s).to_owned()))
}

/// A supervisor `agencies/{uscc}` as its code; none for a root.
fn supervisor(s: &str) -> Cell {
    let code = s.strip_prefix("agencies/").unwrap_or(s);
    Cell::Text(Some(code.to_owned()).filter(|c| !c.is_empty()))
}

/// A key being read for its columns, for errors that name it.
struct Key<'a> {
    tree: Tree,
    key: &'a [u8],
}

impl Key<'_> {
    fn bad(&self, reason: &str) -> StoreError {
        StoreError::Corrupt {
            tree: self.tree.table(),
            key: hex::encode(self.key),
            reason: reason.to_owned(),
        }
    }

    fn len(&self, n: usize) -> Result<()> {
        if self.key.len() == n {
            Ok(())
        } else {
            Err(self.bad(&format!(
                "a key of {} bytes where {n} are expected",
                self.key.len()
            )))
        }
    }

    fn bytes<const N: usize>(&self, at: usize) -> Result<[u8; N]> {
        self.key
            .get(at..at.saturating_add(N))
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| self.bad("key too short"))
    }

    fn u32_at(&self, at: usize) -> Result<u32> {
        Ok(u32::from_be_bytes(self.bytes(at)?))
    }

    fn u64_at(&self, at: usize) -> Result<u64> {
        Ok(u64::from_be_bytes(self.bytes(at)?))
    }

    fn int8(&self, n: u64) -> Result<i64> {
        i64::try_from(n).map_err(|_| self.bad(&format!("{n} does not fit a bigint column")))
    }

    fn uscc(&self, at: usize) -> Result<Cell> {
        let raw: [u8; USCC_LEN] = self.bytes(at)?;
        if !raw.iter().all(u8::is_ascii_alphanumeric) {
            return Err(self.bad("a 统一社会信用代码 part that is not 18 letters and digits"));
        }
        Ok(Cell::Text(Some(String::from_utf8_lossy(&raw).into_owned())))
    }

    fn year(&self, at: usize) -> Result<Cell> {
        let [hi, lo] = self.bytes(at)?;
        Ok(Cell::Int4(Some(i32::from(u16::from_be_bytes([hi, lo])))))
    }

    fn state(&self, at: usize) -> Result<Cell> {
        let [s] = self.bytes(at)?;
        let st = ReviewState::try_from(i32::from(s))
            .map_err(|_| self.bad(&format!("unknown review state {s}")))?;
        Ok(state(st))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode;

    #[test]
    fn every_tree_has_its_own_table() {
        let tables: std::collections::BTreeSet<&str> =
            Tree::ALL.iter().map(|t| t.table()).collect();
        assert_eq!(tables.len(), Tree::ALL.len());
        for (i, t) in Tree::ALL.iter().enumerate() {
            assert_eq!(t.index(), i);
        }
    }

    #[test]
    fn every_readable_row_matches_its_columns() {
        let uscc = b"11330700099033995K";
        let ex = |tree: Tree, key: Vec<u8>, value: Vec<u8>| {
            let cells = tree.readable(&key, &value).unwrap();
            let cols = tree.columns();
            assert_eq!(cells.len(), cols.len(), "{tree:?}");
            for (c, col) in cells.iter().zip(cols) {
                let ty = match c {
                    Cell::Text(_) => Ty::Text,
                    Cell::Int4(_) => Ty::Int4,
                    Cell::Int8(_) => Ty::Int8,
                    Cell::Time(_) => Ty::Time,
                    Cell::Bytea(_) => Ty::Bytea,
                };
                assert_eq!(ty, col.1, "{tree:?}.{}", col.0);
            }
            cells
        };
        let year = 2024u16.to_be_bytes();
        let agency = Agency {
            uscc: String::from_utf8_lossy(uscc).into_owned(),
            supervisor: "agencies/11330700099033995K".into(),
            version: 2,
            ..Agency::default()
        };
        ex(Tree::Meta, b"format".to_vec(), 1u32.to_be_bytes().to_vec());
        ex(
            Tree::Meta,
            b"audit_head".to_vec(),
            encode(&AuditHead::default()),
        );
        let a = ex(Tree::Agencies, uscc.to_vec(), encode(&agency));
        assert_eq!(a[2], Cell::Text(Some("11330700099033995K".into())));
        ex(
            Tree::AgencyVersions,
            [&uscc[..], &2u32.to_be_bytes()].concat(),
            encode(&agency),
        );
        ex(Tree::Children, [&uscc[..], &uscc[..]].concat(), Vec::new());
        ex(
            Tree::Heads,
            [&uscc[..], &year].concat(),
            encode(&ReportHead::default()),
        );
        ex(
            Tree::Revisions,
            [&uscc[..], &year, &0x8000_0001u32.to_be_bytes()].concat(),
            encode(&ReportRevision::default()),
        );
        ex(Tree::ByYear, [&year, &uscc[..]].concat(), Vec::new());
        let s = ex(
            Tree::ByState,
            [&[3u8][..], &year, &uscc[..]].concat(),
            Vec::new(),
        );
        assert_eq!(s[0], Cell::Text(Some("approved".into())));
        ex(
            Tree::AreaYear,
            [&uscc[..], &year, &uscc[..]].concat(),
            Vec::new(),
        );
        ex(
            Tree::AreaState,
            [&uscc[..], &[2u8], &year, &uscc[..]].concat(),
            Vec::new(),
        );
        let e = ex(
            Tree::Events,
            7u64.to_be_bytes().to_vec(),
            encode(&AuditEvent {
                sequence: 7,
                action: AuditAction::ReportSubmitted.into(),
                ..AuditEvent::default()
            }),
        );
        assert_eq!(e[3], Cell::Text(Some("report_submitted".into())));
        ex(Tree::EventHashes, 7u64.to_be_bytes().to_vec(), vec![0; 32]);
        ex(
            Tree::Requests,
            "张三/r/1".as_bytes().to_vec(),
            encode(&IdempotencyRecord::default()),
        );
        ex(
            Tree::AreaSums,
            [&uscc[..], &year].concat(),
            encode(&AreaSum::default()),
        );
    }

    #[test]
    fn rows_of_the_wrong_shape_are_refused_by_name() {
        let bad = |tree: Tree, key: &[u8], value: &[u8]| match tree.readable(key, value) {
            Err(StoreError::Corrupt { tree: t, .. }) => assert_eq!(t, tree.table()),
            other => panic!("{tree:?}: {other:?}"),
        };
        bad(Tree::Agencies, b"short", &encode(&Agency::default()));
        bad(Tree::Heads, b"11330700099033995K\x07\xe8", &[1, 0xff, 0xff]);
        bad(Tree::ByState, b"\x09\x07\xe811330700099033995K", b"");
        bad(Tree::Children, &[0xff; 36], b"");
        bad(Tree::EventHashes, &[0; 8], &[0; 31]);
        bad(
            Tree::Events,
            &1u64.to_be_bytes(),
            &encode(&AuditEvent {
                sequence: 2,
                ..AuditEvent::default()
            }),
        );
        bad(Tree::Meta, b"format", b"\x01");
    }
}
