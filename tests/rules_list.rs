//! `gongkai rules` lists the rule catalogue: every rule of SPEC.md's
//! catalogue with its severity and the first data year it applies to.

mod common;

use common::{gongkai, json_lines, stdout};

/// SPEC.md's catalogue: id, default severity, first data year. The rules on
/// T2's 本年制发件数 / 现行有效件数 columns exist only in the 2021 format; every
/// other rule applies from 2019, the first year of a national format.
const SPEC_CATALOGUE: [(&str, &str, u64); 16] = [
    ("t3.balance", "error", 2019),
    ("t3.outcome-total", "error", 2019),
    ("t3.row-total", "error", 2019),
    ("t4.block-total", "error", 2019),
    ("value.range", "error", 2019),
    ("agency.uscc", "error", 2019),
    ("report.format-version", "error", 2019),
    ("report.section-missing", "error", 2019),
    ("t2.in-force-below-issued", "warning", 2021),
    ("t2.regulations-unexpected", "warning", 2021),
    ("cross-year.carry-over", "warning", 2019),
    ("cross-year.in-force", "info", 2021),
    ("text.count-mismatch", "warning", 2019),
    ("text.fee-unstated", "warning", 2019),
    ("import.blank-cell", "warning", 2019),
    ("import.label-drift", "warning", 2019),
];

fn rules_json() -> serde_json::Value {
    let out = gongkai(&["rules", "--format", "json"], None);
    assert_eq!(out.status.code(), Some(0));
    let mut lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "one JSON document");
    lines.remove(0)
}

#[test]
fn json_lists_every_spec_rule_with_severity_and_first_year() {
    let doc = rules_json();
    let version = doc["version"].as_str().expect("version string");
    assert!(!version.is_empty());
    let rules = doc["rules"].as_array().expect("rules array");
    for (id, severity, first_year) in SPEC_CATALOGUE {
        let rule = rules
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from `gongkai rules`"));
        assert_eq!(rule["severity"], severity, "{id}");
        assert_eq!(rule["first_year"], first_year, "{id}");
    }
}

#[test]
fn json_rules_are_well_formed_and_unique() {
    let doc = rules_json();
    let rules = doc["rules"].as_array().unwrap();
    let mut ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for r in rules {
        assert!(
            ["error", "warning", "info"].contains(&r["severity"].as_str().unwrap()),
            "{r}"
        );
        let first = r["first_year"].as_u64().unwrap();
        assert!((2019..=2100).contains(&first), "{r}");
        if let Some(last) = r["last_year"].as_u64() {
            assert!(last >= first, "{r}");
        }
        for summary in ["summary_zh", "summary_en"] {
            assert!(!r[summary].as_str().unwrap_or("").is_empty(), "{r}");
        }
    }
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "rule ids are unique");
}

#[test]
fn catalogue_order_starts_as_in_the_spec() {
    // Findings are ordered by the catalogue, so its order is part of the output.
    let doc = rules_json();
    let ids: Vec<&str> = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let spec_ids: Vec<&str> = SPEC_CATALOGUE.iter().map(|(id, _, _)| *id).collect();
    let in_listing: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| spec_ids.contains(id))
        .collect();
    assert_eq!(in_listing, spec_ids);
}

#[test]
fn text_lists_every_rule_with_severity_and_years() {
    let out = gongkai(&["rules"], None);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let doc = rules_json();
    let rules = doc["rules"].as_array().unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(
        header,
        format!(
            "gongkai rule set {} ({} rules)",
            doc["version"].as_str().unwrap(),
            rules.len()
        )
    );
    for (id, severity, first_year) in SPEC_CATALOGUE {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("{id} not listed:\n{text}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[1], severity, "{line}");
        assert_eq!(words[2], format!("{first_year}–"), "{line}");
    }
    // Every rule of the JSON listing is in the text listing, in the same order.
    let listed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| rules.iter().any(|r| r["id"] == *w))
        .collect();
    let json_ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(listed, json_ids);
}
