//! How findings look: on a terminal, and as JSON lines.

use std::io::IsTerminal;

use gongkai_domain::{Finding, Severity, Verdict, shape::Value};
use serde_json::{Value as Json, json};

/// Output format of the commands that print results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: one block per file.
    Text,
    /// One JSON object per file per line.
    Json,
}

/// A cell value as JSON: counts as numbers, money as an exact decimal string.
pub fn value_json(v: Option<Value>) -> Json {
    match v {
        None => Json::Null,
        Some(Value::Count(n)) => json!(n),
        Some(Value::Delta(n)) => json!(n),
        Some(Value::Money(m)) => json!(m.to_string()),
    }
}

/// A finding on one line: `SEVERITY RULE LOCATION: MESSAGE`.
pub fn finding_line(f: &Finding) -> String {
    format!(
        "{} {} {}: {}",
        f.severity.as_str(),
        f.rule,
        f.location,
        f.message
    )
}

/// An import's findings on stderr, one line each (its stdout is the result).
pub fn eprint_findings(findings: &[Finding]) {
    for f in findings {
        eprintln!("{}", finding_line(f));
    }
}

/// A finding as JSON.
pub fn finding_json(f: &Finding) -> Json {
    json!({
        "rule": f.rule,
        "severity": f.severity.as_str(),
        "location": f.location.path(),
        "expected": value_json(f.expected),
        "actual": value_json(f.actual),
        "message": f.message,
        "cells": f.cells,
    })
}

struct Paint {
    on: bool,
}

impl Paint {
    fn severity(&self, s: Severity) -> String {
        let (code, word) = match s {
            Severity::Error => ("31", "error"),
            Severity::Warning => ("33", "warning"),
            Severity::Info => ("36", "info"),
        };
        if self.on {
            format!("\x1b[{code}m{word:<7}\x1b[0m")
        } else {
            format!("{word:<7}")
        }
    }

    fn verdict(&self, v: Verdict) -> String {
        let code = match v {
            Verdict::Valid => "32",
            Verdict::ValidWithWarnings => "33",
            Verdict::Invalid => "31",
        };
        if self.on {
            format!("\x1b[1;{code}m{}\x1b[0m", v.as_str())
        } else {
            v.as_str().to_owned()
        }
    }
}

/// A file's result for people.
pub fn text_block(file: &str, verdict: Verdict, findings: &[Finding]) -> String {
    let paint = Paint {
        on: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    let mut out = format!(
        "{file}: {} ({} errors, {} warnings, {} info)\n",
        paint.verdict(verdict),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    for f in findings {
        out.push_str(&format!(
            "  {} {:<24} {}",
            paint.severity(f.severity),
            f.rule,
            f.location
        ));
        if let (Some(e), Some(a)) = (f.expected, f.actual) {
            out.push_str(&format!("  expected {e}, actual {a}"));
        }
        out.push_str(&format!("\n          {}\n", f.message));
    }
    out
}
