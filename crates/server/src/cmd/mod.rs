//! One module per subcommand, and how they read their input files.

use std::{io::Read, path::Path};

pub mod area;
pub mod check;
pub mod import;
pub mod remote;
pub mod render;
pub mod rules;
pub mod serve;
pub mod store;
pub mod token;

/// How an input file is named in messages: `-` is `<stdin>`.
pub fn display_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    }
}

/// The bytes of an input file (`-` reads standard input). At most
/// [`gongkai_document::MAX_DOCUMENT_BYTES`] are accepted: one byte more is
/// read to tell, never the rest, so a huge file or an endless pipe is
/// refused as soon as it is known to be too large.
pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    let max = gongkai_document::MAX_DOCUMENT_BYTES;
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let mut bytes = Vec::new();
    let result = if path == Path::new("-") {
        std::io::stdin().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    result.map_err(|e| format!("无法读取 — cannot read: {e}"))?;
    if bytes.len() > max {
        return Err(format!(
            "文件过大（超过{max}字节） — the document is more than the {max} bytes accepted"
        ));
    }
    Ok(bytes)
}
