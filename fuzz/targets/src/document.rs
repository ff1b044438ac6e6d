//! Target `document`: bytes → `gongkai_document::import` (the entry point
//! `gongkai check`, `gongkai import` and ImportDocument share: every
//! encoding and layout sniffed from the bytes), then what `gongkai check`
//! does with the report, and the report rendered back.

use gongkai_document::render::{Target, render};

/// The body.
pub fn run(data: &[u8]) {
    let Ok(imported) = gongkai_document::import(data) else {
        return;
    };
    let _ = (imported.layout.name(), imported.encoding);
    crate::check::check_report(&imported.report, None);
    for target in [Target::Markdown, Target::Html] {
        let _ = render(&imported.report, target);
    }
}
