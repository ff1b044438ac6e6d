//! A published document as a sequence of blocks: headings, prose lines and
//! table rows. Each layout reader produces blocks; [`crate::assemble`] reads
//! the report out of them, so the report's shape is known in one place.

/// One block of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// A heading (Markdown `#`…, or a line standing alone as one).
    Heading(String),
    /// A line of prose.
    Text(String),
    /// A table row: its cells, merged cells flattened to empty ones.
    Row(Vec<String>),
}

/// Reads the layout of text copied from a web page: Markdown headings, prose
/// lines, and tables as tab-separated lines.
pub fn from_tab_text(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.contains('\t') {
            let cells: Vec<String> = line.split('\t').map(|c| c.trim().to_owned()).collect();
            // A line of tabs alone is table spacing, not a row.
            if cells.iter().any(|c| !c.is_empty()) {
                out.push(Block::Row(cells));
            }
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        if hashes > 0 && trimmed[hashes..].starts_with(' ') {
            out.push(Block::Heading(trimmed[hashes..].trim().to_owned()));
        } else {
            out.push(Block::Text(trimmed.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_headings_prose_and_rows() {
        let blocks = from_tab_text("# 宝清县人民政府\n\n正文。\n\t\t\n规章\t0\t0\t0\n#不是标题");
        assert_eq!(
            blocks,
            vec![
                Block::Heading("宝清县人民政府".into()),
                Block::Text("正文。".into()),
                Block::Row(vec!["规章".into(), "0".into(), "0".into(), "0".into()]),
                Block::Text("#不是标题".into()),
            ]
        );
    }
}
