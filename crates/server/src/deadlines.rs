//! When each agency's annual report is due (《政府信息公开条例》第四十九、五十条)
//! and the 乡镇/街道 deadlines that local rules set per area.
//!
//! - A department (or authorised organisation) of a county-level or higher
//!   government: 1月31日 of the year after the data year.
//! - A county-level or higher government's own (area-wide) report: 3月31日.
//! - A 乡镇 or 街道 body: the deadline configured for the nearest area above
//!   it (its own agency included) in the deadlines file; none configured,
//!   none applies and it is never shown late.
//!
//! A deadline is a whole day in China Standard Time (UTC+8): a report is
//! late from 00:00 the day after.
//!
//! The file (`gongkai serve --deadlines FILE`), TOML:
//! ```toml
//! [[township]]
//! area = "11230523MB0000002X"   # the 统一社会信用代码 of a county (or city) government
//! month = 2
//! day = 28
//! ```

use std::{collections::BTreeMap, path::Path, time::SystemTime};

use chrono::{Datelike, NaiveDate};
use gongkai_proto::v1::{Agency, AgencyKind, AgencyLevel};

/// One configured township deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonthDay {
    /// 1..=12.
    pub month: u32,
    /// Day of the month; one every year has (no 2月29日).
    pub day: u32,
}

/// The township deadlines, per area.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deadlines {
    township: BTreeMap<String, MonthDay>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    township: Vec<Entry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    area: String,
    month: u32,
    day: u32,
}

/// The deadline that applies to one agency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// The last day, if any applies.
    pub day: Option<NaiveDate>,
    /// Where it comes from.
    pub rule: String,
}

impl Deadline {
    /// Whether a report not filed is late at `now`: the whole last day
    /// (China Standard Time) counts.
    pub fn passed(&self, now: SystemTime) -> bool {
        let Some(day) = self.day else {
            return false;
        };
        let Some(next) = day.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)) else {
            return false;
        };
        // 00:00 CST is 16:00 UTC the day before.
        let limit = next.and_utc().timestamp().saturating_sub(8 * 3600);
        let now = match now.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(_) => return false,
        };
        now >= limit
    }
}

impl Deadlines {
    /// Parses the deadlines file; each mistake names the entry and field.
    pub fn parse(text: &str) -> Result<Deadlines, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut township = BTreeMap::new();
        for (i, e) in file.township.into_iter().enumerate() {
            let at = format!("township[{i}]");
            gongkai_domain::ids::validate_uscc(&e.area)
                .map_err(|err| format!("{at}.area '{}': {err}", e.area))?;
            // 2001 is not a leap year: a day every year has.
            if NaiveDate::from_ymd_opt(2001, e.month, e.day).is_none() {
                return Err(format!(
                    "{at}: month {} day {} is not a day every year has",
                    e.month, e.day
                ));
            }
            if township
                .insert(
                    e.area.clone(),
                    MonthDay {
                        month: e.month,
                        day: e.day,
                    },
                )
                .is_some()
            {
                return Err(format!("{at}.area '{}' is listed twice", e.area));
            }
        }
        Ok(Deadlines { township })
    }

    /// Reads the deadlines file.
    pub fn load(path: &Path) -> Result<Deadlines, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Deadlines::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Whether any 乡镇/街道 deadline is configured: when none is,
    /// [`Deadlines::of`] reads no chain, and a caller need not build one.
    pub fn configures_townships(&self) -> bool {
        !self.township.is_empty()
    }

    /// The deadline of `agency`'s report for `year`; `chain` is the agency
    /// and its ancestors, nearest first, read only for a 乡镇/街道 agency
    /// (for its configured area): any other may pass an empty one.
    pub fn of(&self, agency: &Agency, chain: &[String], year: u32) -> Deadline {
        let next = year.saturating_add(1);
        let on = |month, day| {
            i32::try_from(next)
                .ok()
                .and_then(|y| NaiveDate::from_ymd_opt(y, month, day))
        };
        let level = agency.level();
        if level == AgencyLevel::Township {
            for area in chain {
                if let Some(md) = self.township.get(area) {
                    return Deadline {
                        day: on(md.month, md.day),
                        rule: format!(
                            "{}月{}日: 乡镇/街道, as configured for agencies/{area}",
                            md.month, md.day
                        ),
                    };
                }
            }
            return Deadline {
                day: None,
                rule: "乡镇/街道: no deadline configured for its area".into(),
            };
        }
        if agency.kind() == AgencyKind::Government {
            return Deadline {
                day: on(3, 31),
                rule: "3月31日: a county-level-or-higher government's own report".into(),
            };
        }
        Deadline {
            day: on(1, 31),
            rule: "1月31日: a department of a county-level-or-higher government".into(),
        }
    }
}

/// `YYYY-MM-DD`.
pub fn ymd(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agency(level: AgencyLevel, kind: AgencyKind) -> Agency {
        Agency {
            level: level.into(),
            kind: kind.into(),
            ..Agency::default()
        }
    }

    #[test]
    fn deadlines_by_kind_level_and_area() {
        let d =
            Deadlines::parse("[[township]]\narea = \"11330700099033995K\"\nmonth = 2\nday = 28\n")
                .unwrap();
        let dept = d.of(
            &agency(AgencyLevel::County, AgencyKind::Department),
            &[],
            2024,
        );
        assert_eq!(dept.day, NaiveDate::from_ymd_opt(2025, 1, 31));
        let gov = d.of(
            &agency(AgencyLevel::County, AgencyKind::Government),
            &[],
            2024,
        );
        assert_eq!(gov.day, NaiveDate::from_ymd_opt(2025, 3, 31));
        let town = agency(AgencyLevel::Township, AgencyKind::Government);
        let chain = [
            "11341702486344515H".to_owned(),
            "11330700099033995K".to_owned(),
        ];
        assert_eq!(
            d.of(&town, &chain, 2024).day,
            NaiveDate::from_ymd_opt(2025, 2, 28)
        );
        assert_eq!(d.of(&town, &chain[..1], 2024).day, None);
    }

    #[test]
    fn the_whole_last_day_counts_in_china_time() {
        let dl = Deadline {
            day: NaiveDate::from_ymd_opt(2025, 1, 31),
            rule: String::new(),
        };
        let at = |s: u64| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s);
        // 2025-01-31T16:00:00Z is 2025-02-01 00:00 CST.
        let limit = 1_738_339_200;
        assert!(!dl.passed(at(limit - 1)));
        assert!(dl.passed(at(limit)));
    }

    #[test]
    fn bad_files_name_the_entry() {
        let e = Deadlines::parse("[[township]]\narea = \"x\"\nmonth = 2\nday = 1\n").unwrap_err();
        assert!(e.starts_with("township[0].area 'x'"), "{e}");
        let e =
            Deadlines::parse("[[township]]\narea = \"11330700099033995K\"\nmonth = 2\nday = 29\n")
                .unwrap_err();
        assert!(e.contains("month 2 day 29"), "{e}");
    }
}
