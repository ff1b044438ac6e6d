//! Key layout of every tree. Keys are big-endian and prefix-scannable.
//!
//! | tree             | key                                         | value                |
//! |------------------|---------------------------------------------|----------------------|
//! | `meta`           | `format`, `audit_head`                      | u32 BE, AuditHead    |
//! | `agencies`       | uscc                                        | Agency (latest)      |
//! | `agency_versions`| uscc · version u32                          | Agency (immutable)   |
//! | `children`       | parent uscc · child uscc                    | empty                |
//! | `heads`          | uscc · year u16                             | ReportHead           |
//! | `revisions`      | uscc · year u16 · revision u32              | ReportRevision       |
//! | `by_year`        | year u16 · uscc                             | empty                |
//! | `by_state`       | state u8 · year u16 · uscc                  | empty                |
//! | `area_year`      | ancestor uscc · year u16 · uscc             | empty                |
//! | `area_state`     | ancestor uscc · state u8 · year u16 · uscc  | empty                |
//! | `events`         | sequence u64                                | AuditEvent           |
//! | `event_hashes`   | sequence u64                                | SHA-256 of the event |
//! | `requests`       | principal · `/` · request id                | IdempotencyRecord    |
//! | `area_sums`      | area uscc · year u16                        | AreaSum              |
//!
//! A 统一社会信用代码 is always 18 ASCII bytes, so concatenations split
//! unambiguously.

use gongkai_domain::ids::validate_uscc;

use crate::{ReportKey, Result, StoreError};

/// Length of a 统一社会信用代码 in bytes.
pub(crate) const USCC_LEN: usize = 18;

/// Data years a key may hold.
pub(crate) const YEARS: std::ops::RangeInclusive<u32> = 2000..=2100;

/// Longest request id accepted.
pub(crate) const MAX_REQUEST_ID: usize = 256;

/// Validates a 统一社会信用代码 used as a key.
pub(crate) fn uscc(code: &str) -> Result<&[u8]> {
    validate_uscc(code)
        .map_err(|e| StoreError::InvalidArgument(format!("统一社会信用代码 '{code}': {e}")))?;
    Ok(code.as_bytes())
}

/// The year as a key part.
pub(crate) fn year(year: u32) -> Result<[u8; 2]> {
    if !YEARS.contains(&year) {
        return Err(StoreError::InvalidArgument(format!(
            "data year {year} is outside {}..={}",
            YEARS.start(),
            YEARS.end()
        )));
    }
    u16::try_from(year)
        .map(u16::to_be_bytes)
        .map_err(|_| StoreError::InvalidArgument(format!("data year {year}")))
}

/// Validates a request id.
pub(crate) fn request_id(id: &str) -> Result<&[u8]> {
    if id.is_empty() || id.len() > MAX_REQUEST_ID || id.chars().any(char::is_control) {
        return Err(StoreError::InvalidArgument(format!(
            "request id must be 1..={MAX_REQUEST_ID} printable bytes, got {} bytes",
            id.len()
        )));
    }
    Ok(id.as_bytes())
}

/// Concatenates key parts.
pub(crate) fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `uscc · year` of a report.
pub(crate) fn report(key: &ReportKey) -> Result<Vec<u8>> {
    Ok(join(&[uscc(&key.uscc)?, &year(key.year)?]))
}

/// `uscc · year · revision`.
pub(crate) fn revision(key: &ReportKey, revision: u32) -> Result<Vec<u8>> {
    Ok(join(&[&report(key)?, &revision.to_be_bytes()]))
}

/// Reads the report key at the end of an index key (`… · year · uscc`).
pub(crate) fn year_uscc_suffix(tree: &'static str, key: &[u8]) -> Result<ReportKey> {
    let corrupt = || StoreError::Corrupt {
        tree,
        key: hex::encode(key),
        reason: "index key of the wrong shape".into(),
    };
    let at = key
        .len()
        .checked_sub(USCC_LEN.saturating_add(2))
        .ok_or_else(corrupt)?;
    let (_, tail) = key.split_at(at);
    let (y, u) = tail.split_at(2);
    let year = u16::from_be_bytes([y[0], y[1]]);
    let uscc = std::str::from_utf8(u).map_err(|_| corrupt())?.to_owned();
    Ok(ReportKey {
        uscc,
        year: u32::from(year),
    })
}

/// Reads `uscc · year` back.
pub(crate) fn parse_report(tree: &'static str, key: &[u8]) -> Result<ReportKey> {
    if key.len() != USCC_LEN.saturating_add(2) {
        return Err(StoreError::Corrupt {
            tree,
            key: hex::encode(key),
            reason: "report key of the wrong shape".into(),
        });
    }
    year_uscc_suffix(tree, &[&key[USCC_LEN..], &key[..USCC_LEN]].concat())
}

/// A key of `tree` for people, and what it concerns: its parts joined by
/// ` · ` (codes as text, years and numbers in decimal, states by name), and
/// the report, revision or agency it names. Hex, and no subject, for a key
/// of no known shape.
pub(crate) fn describe(tree: &str, key: &[u8]) -> (String, String) {
    fn code(b: &[u8]) -> Option<&str> {
        std::str::from_utf8(b)
            .ok()
            .filter(|s| s.len() == USCC_LEN && s.bytes().all(|c| c.is_ascii_alphanumeric()))
    }
    fn year(b: &[u8]) -> Option<u16> {
        Some(u16::from_be_bytes(b.try_into().ok()?))
    }
    fn state(b: u8) -> &'static str {
        gongkai_proto::v1::ReviewState::try_from(i32::from(b))
            .map_or("(unknown state)", crate::state_name)
    }
    let report = |u: &str, y: u16| format!("agencies/{u}/reports/{y}");
    let split = |at: &[usize]| -> Vec<&[u8]> {
        let mut parts = Vec::new();
        let mut rest = key;
        for n in at {
            let (a, b) = rest.split_at((*n).min(rest.len()));
            parts.push(a);
            rest = b;
        }
        parts.push(rest);
        parts
    };
    let (u, y) = (USCC_LEN, 2);
    const USCC_VERSION: usize = USCC_LEN + 4;
    const USCC_USCC: usize = USCC_LEN * 2;
    const USCC_YEAR: usize = USCC_LEN + 2;
    const USCC_YEAR_REVISION: usize = USCC_LEN + 6;
    const YEAR_USCC: usize = USCC_LEN + 2;
    const STATE_YEAR_USCC: usize = USCC_LEN + 3;
    const USCC_YEAR_USCC: usize = USCC_LEN * 2 + 2;
    const USCC_STATE_YEAR_USCC: usize = USCC_LEN * 2 + 3;
    let named: Option<(String, String)> = match (tree, key.len()) {
        ("agencies", USCC_LEN) => code(key).map(|c| (c.to_owned(), format!("agencies/{c}"))),
        ("agency_versions", USCC_VERSION) => {
            let p = split(&[u]);
            let v = u32::from_be_bytes(p[1].try_into().unwrap_or_default());
            code(p[0]).map(|c| (format!("{c} · {v}"), format!("agencies/{c} version {v}")))
        }
        ("children", USCC_USCC) => {
            let p = split(&[u]);
            code(p[0])
                .zip(code(p[1]))
                .map(|(a, b)| (format!("{a} · {b}"), format!("agencies/{b}")))
        }
        ("heads" | "area_sums", USCC_YEAR) => {
            let p = split(&[u]);
            code(p[0]).zip(year(p[1])).map(|(c, yr)| {
                let subject = if tree == "heads" {
                    report(c, yr)
                } else {
                    format!("the {yr} sum of agencies/{c}")
                };
                (format!("{c} · {yr}"), subject)
            })
        }
        ("revisions", USCC_YEAR_REVISION) => {
            let p = split(&[u, y]);
            let rev = u32::from_be_bytes(p[2].try_into().unwrap_or_default());
            code(p[0]).zip(year(p[1])).map(|(c, yr)| {
                (
                    format!("{c} · {yr} · {rev}"),
                    format!("{}/revisions/{rev}", report(c, yr)),
                )
            })
        }
        ("by_year", YEAR_USCC) => {
            let p = split(&[y]);
            year(p[0])
                .zip(code(p[1]))
                .map(|(yr, c)| (format!("{yr} · {c}"), report(c, yr)))
        }
        ("by_state", STATE_YEAR_USCC) => {
            let p = split(&[1, y]);
            year(p[1])
                .zip(code(p[2]))
                .map(|(yr, c)| (format!("{} · {yr} · {c}", state(p[0][0])), report(c, yr)))
        }
        ("area_year", USCC_YEAR_USCC) => {
            let p = split(&[u, y]);
            code(p[0])
                .zip(year(p[1]))
                .zip(code(p[2]))
                .map(|((a, yr), c)| (format!("{a} · {yr} · {c}"), report(c, yr)))
        }
        ("area_state", USCC_STATE_YEAR_USCC) => {
            let p = split(&[u, 1, y]);
            code(p[0])
                .zip(year(p[2]))
                .zip(code(p[3]))
                .map(|((a, yr), c)| {
                    (
                        format!("{a} · {} · {yr} · {c}", state(p[1][0])),
                        report(c, yr),
                    )
                })
        }
        ("events" | "event_hashes", 8) => {
            let seq = u64::from_be_bytes(key.try_into().unwrap_or_default());
            Some((seq.to_string(), format!("events/{seq}")))
        }
        ("meta", _) | ("requests", _) => std::str::from_utf8(key)
            .ok()
            .filter(|k| !k.chars().any(char::is_control))
            .map(|k| (k.to_owned(), String::new())),
        _ => None,
    };
    named.unwrap_or_else(|| (hex::encode(key), String::new()))
}

/// A page cursor: the last key returned, hex, tagged with the listing so a
/// cursor of one listing is refused by another.
pub(crate) fn cursor(listing: &str, last_key: &[u8]) -> String {
    format!("{listing}:{}", hex::encode(last_key))
}

/// The key to resume after, from a cursor.
pub(crate) fn parse_cursor(listing: &str, cursor: &str) -> Result<Option<Vec<u8>>> {
    if cursor.is_empty() {
        return Ok(None);
    }
    let bad = || StoreError::InvalidField {
        field: "page_token",
        reason: format!("'{cursor}' is not a page token this listing gave"),
    };
    let body = cursor
        .strip_prefix(listing)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or_else(bad)?;
    hex::decode(body).map(Some).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_refuse_wrong_shapes() {
        assert!(uscc("11330700099033995K").is_ok());
        assert!(matches!(uscc("1133"), Err(StoreError::InvalidArgument(_))));
        assert!(matches!(year(1999), Err(StoreError::InvalidArgument(_))));
        assert!(matches!(
            request_id(""),
            Err(StoreError::InvalidArgument(_))
        ));
        assert!(matches!(
            request_id(&"x".repeat(257)),
            Err(StoreError::InvalidArgument(_))
        ));
    }

    #[test]
    fn report_keys_round_trip() {
        let k = ReportKey {
            uscc: "11330700099033995K".into(),
            year: 2024,
        };
        assert_eq!(parse_report("heads", &report(&k).unwrap()).unwrap(), k);
        let idx = join(&[b"\x02", &year(2024).unwrap(), b"11330700099033995K"]);
        assert_eq!(year_uscc_suffix("by_state", &idx).unwrap(), k);
        assert!(parse_report("heads", b"short").is_err());
    }

    #[test]
    fn cursors_are_tied_to_their_listing() {
        let c = cursor("agencies", b"abc");
        assert_eq!(parse_cursor("agencies", &c).unwrap(), Some(b"abc".to_vec()));
        assert!(parse_cursor("events", &c).is_err());
        assert!(parse_cursor("agencies", "agencies:zz").is_err());
        assert_eq!(parse_cursor("agencies", "").unwrap(), None);
    }
}
