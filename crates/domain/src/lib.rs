//! gongkai-domain: the annual report's shape, identifiers, rule catalogue and
//! checker. Pure: no I/O, no clock, no allocation-heavy parsing.
//!
//! - [`shape`]: every row, column and block of T2/T3/T4, declared once.
//! - [`Report`]: one report, and its exact mapping to the wire form.
//! - [`catalogue`]: the versioned list of rules with the years they apply to.
//! - [`check()`]: runs every rule; [`Verdict::of`] sums the findings up.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

pub mod area;
pub mod catalogue;
mod check;
mod finding;
pub mod ids;
pub mod money;
mod report;
pub mod shape;
pub mod text;

pub use catalogue::{RULES, RULESET_VERSION, Rule};
pub use check::{CheckError, check, check_alone, check_tables, range_findings};
pub use finding::{Finding, Location, Severity, Verdict};
pub use money::{Money, MoneyError};
pub use report::{
    AgencyLevel, ConvertError, FormatVersion, Metadata, Report, SECTIONS, Section, SectionSpec,
};
