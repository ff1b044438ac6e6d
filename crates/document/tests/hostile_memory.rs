//! Merged cells are bounded before they are laid out: one row of very wide
//! cells is refused without first growing to millions of cells. (Its own
//! test binary: it measures the process's peak memory.)

use gongkai_document::{ImportError, import};

mod common;

use common::peak_rss_kib;

#[test]
fn a_row_of_wide_cells_is_refused_before_it_is_laid_out() {
    // 20,000 cells of colspan 1000: 20 million cells once laid out.
    let page = format!(
        "<table><tr>{}</tr></table>",
        "<td colspan=1000>1</td>".repeat(20_000)
    );
    let before = peak_rss_kib();
    let err = import(page.as_bytes()).unwrap_err();
    let grew_mib = peak_rss_kib().saturating_sub(before) / 1024;
    assert!(matches!(err, ImportError::TooComplex(_)), "{err:?}");
    assert!(
        grew_mib < 200,
        "peak memory grew {grew_mib} MiB for a {} byte page",
        page.len()
    );
}
