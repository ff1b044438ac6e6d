//! A PDF decompression bomb is refused without inflating it into memory:
//! the stream is measured through one fixed buffer. (Its own test binary: it
//! measures the process's peak memory.)

use std::io::Write;

use flate2::{Compression, write::ZlibEncoder};
use gongkai_document::{ImportError, import, pdf::PdfError};

mod common;

use common::peak_rss_kib;

#[test]
fn a_256_mib_bomb_is_refused_within_little_memory() {
    // 256 MiB of zeros compresses to about 256 KiB; built in pieces so the test
    // itself never holds it.
    let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..256 {
        e.write_all(&chunk).unwrap();
    }
    let bomb = e.finish().unwrap();
    drop(chunk);
    let mut file = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Filter /FlateDecode >>\nstream\n".to_vec();
    file.extend_from_slice(&bomb);
    file.extend_from_slice(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    let before = peak_rss_kib();
    let err = import(&file).unwrap_err();
    let grew_mib = peak_rss_kib().saturating_sub(before) / 1024;
    assert!(
        matches!(err, ImportError::Pdf(PdfError::StreamTooLarge { .. })),
        "{err:?}"
    );
    assert!(grew_mib < 64, "peak memory grew {grew_mib} MiB");
}
