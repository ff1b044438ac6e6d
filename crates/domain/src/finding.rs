//! Findings, their severity and location, and the verdict they add up to.

use gongkai_proto::v1 as pb;

use crate::{catalogue, shape::Value};

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Advisory.
    Info,
    /// Shown; may be answered with a written explanation.
    Warning,
    /// Blocks submission for review.
    Error,
}

impl Severity {
    /// Lower-case name: `info`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Where a finding points: a cell, a row, a section or a metadata field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// `t2`, `t3`, `t4`, `section`, `metadata` or `document`.
    pub table: &'static str,
    /// T3 row id (`R01`..`R25`), T2 row key, T4 block key, section number or
    /// metadata field.
    pub row: String,
    /// Column key; empty for a whole row or section.
    pub column: String,
}

impl Location {
    /// A location with a column.
    pub fn cell(
        table: &'static str,
        row: impl Into<String>,
        column: impl Into<String>,
    ) -> Location {
        Location {
            table,
            row: row.into(),
            column: column.into(),
        }
    }

    /// A location without a column.
    pub fn row(table: &'static str, row: impl Into<String>) -> Location {
        Location::cell(table, row, "")
    }

    /// Canonical path, e.g. `t3.R25.natural_person` or `section.6`: the
    /// non-empty parts joined by dots.
    pub fn path(&self) -> String {
        [self.table, self.row.as_str(), self.column.as_str()]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(".")
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path())
    }
}

/// One result of checking a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Stable rule id from the catalogue, e.g. `t3.balance`.
    pub rule: &'static str,
    /// Severity (the catalogue's default unless the rule says otherwise).
    pub severity: Severity,
    /// The primary cell or section.
    pub location: Location,
    /// What the rule expects, exactly.
    pub expected: Option<Value>,
    /// What was found, exactly.
    pub actual: Option<Value>,
    /// Chinese, then " — " and an English gloss.
    pub message: String,
    /// Paths of every cell the rule compared (the location among them).
    pub cells: Vec<String>,
}

impl Finding {
    /// A finding of `rule` at its catalogue severity.
    pub fn new(rule: &'static str, location: Location, message: impl Into<String>) -> Finding {
        Finding {
            rule,
            severity: catalogue::severity_of(rule),
            cells: vec![location.path()],
            location,
            expected: None,
            actual: None,
            message: message.into(),
        }
    }

    /// With the expected and actual values.
    pub fn values(mut self, expected: Value, actual: Value) -> Finding {
        self.expected = Some(expected);
        self.actual = Some(actual);
        self
    }

    /// With the cells the rule compared; the location is kept first.
    pub fn cells(mut self, cells: impl IntoIterator<Item = String>) -> Finding {
        let primary = self.location.path();
        self.cells = std::iter::once(primary.clone())
            .chain(cells.into_iter().filter(|c| *c != primary))
            .collect();
        self
    }

    /// At another severity than the catalogue's default.
    pub fn severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }
}

/// What the findings of one report add up to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No warning or error.
    Valid,
    /// Warnings, no error.
    ValidWithWarnings,
    /// At least one error.
    Invalid,
}

impl Verdict {
    /// The verdict of a set of findings.
    pub fn of(findings: &[Finding]) -> Verdict {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::Error) => Verdict::Invalid,
            Some(Severity::Warning) => Verdict::ValidWithWarnings,
            _ => Verdict::Valid,
        }
    }

    /// `valid`, `valid_with_warnings` or `invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::ValidWithWarnings => "valid_with_warnings",
            Verdict::Invalid => "invalid",
        }
    }
}

impl From<&Finding> for pb::Finding {
    fn from(f: &Finding) -> Self {
        pb::Finding {
            rule: f.rule.to_owned(),
            severity: match f.severity {
                Severity::Info => pb::Severity::Info,
                Severity::Warning => pb::Severity::Warning,
                Severity::Error => pb::Severity::Error,
            }
            .into(),
            location: Some(pb::Location {
                path: f.location.path(),
                table: f.location.table.to_owned(),
                row: f.location.row.clone(),
                column: f.location.column.clone(),
            }),
            expected: f.expected.map(|v| v.to_string()).unwrap_or_default(),
            actual: f.actual.map(|v| v.to_string()).unwrap_or_default(),
            message: f.message.clone(),
            cells: f.cells.clone(),
        }
    }
}

impl From<Verdict> for pb::Verdict {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Valid => pb::Verdict::Valid,
            Verdict::ValidWithWarnings => pb::Verdict::ValidWithWarnings,
            Verdict::Invalid => pb::Verdict::Invalid,
        }
    }
}
