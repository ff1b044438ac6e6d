//! Bytes to text: UTF-8 (with or without a BOM), UTF-16 with a BOM, the
//! charset an HTML page declares, else GB18030 (a superset of GBK and
//! GB2312, which older government sites still serve).

use std::borrow::Cow;

use encoding_rs::{DecoderResult, Encoding, GB18030, UTF_8};

use crate::ImportError;

/// The text of a document, and the encoding it was read in.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// The text (borrowed when the bytes were UTF-8 already).
    pub text: Cow<'a, str>,
    /// The encoding's name, e.g. `UTF-8`, `GB18030`.
    pub encoding: &'static str,
}

/// How far into a page its `<meta charset>` is looked for (the HTML standard
/// says 1024 bytes; some sites put long scripts before it).
const META_WINDOW: usize = 4096;

/// The charset a page declares in its first bytes, if any.
fn declared_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = bytes.get(..bytes.len().min(META_WINDOW)).unwrap_or(bytes);
    let lower = head.to_ascii_lowercase();
    let at = lower.windows(8).position(|w| w == b"charset=")?;
    let rest = lower.get(at.saturating_add(8)..)?;
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
        .unwrap_or(rest.len());
    Encoding::for_label(rest.get(..end)?)
}

/// Decodes a document. Malformed input in the chosen encoding is an error
/// naming the encoding and the byte where decoding failed, never replaced.
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, ImportError> {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        let body = bytes.get(bom..).unwrap_or_default();
        return strict(enc, body);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Decoded {
            text: Cow::Borrowed(text),
            encoding: UTF_8.name(),
        }),
        Err(utf8) => {
            // A page that says what it is, in something other than UTF-8.
            let declared = declared_charset(bytes).filter(|e| *e != UTF_8);
            let enc = declared.unwrap_or(GB18030);
            strict(enc, bytes).map_err(|e| match e {
                ImportError::Undecodable { offset, .. } if declared.is_none() => {
                    // Neither reading works: name the first failure of each.
                    ImportError::Undecodable {
                        encodings: "UTF-8, GB18030",
                        offset: utf8.valid_up_to().min(offset),
                    }
                }
                other => other,
            })
        }
    }
}

fn strict<'a>(enc: &'static Encoding, bytes: &'a [u8]) -> Result<Decoded<'a>, ImportError> {
    match enc.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => Ok(Decoded {
            text,
            encoding: enc.name(),
        }),
        None => {
            // Find where: decode until the first malformed sequence, which
            // the decoder reports with its length and the bytes read past it.
            let mut decoder = enc.new_decoder_without_bom_handling();
            let room = decoder
                .max_utf8_buffer_length_without_replacement(bytes.len())
                .unwrap_or(bytes.len());
            let mut out = String::with_capacity(room);
            let (result, read) =
                decoder.decode_to_string_without_replacement(bytes, &mut out, true);
            let offset = match result {
                DecoderResult::Malformed(bad, extra) => {
                    read.saturating_sub(usize::from(bad).saturating_add(usize::from(extra)))
                }
                _ => read,
            };
            Err(ImportError::Undecodable {
                encodings: enc.name(),
                offset,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(decode("总体情况".as_bytes()).unwrap().text, "总体情况");
        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend_from_slice("总体情况".as_bytes());
        let d = decode(&bom).unwrap();
        assert_eq!((&*d.text, d.encoding), ("总体情况", "UTF-8"));
    }

    #[test]
    fn gbk_is_detected_without_a_declaration() {
        let (bytes, _, _) = GB18030.encode("一、总体情况\n宝清县人民政府");
        let d = decode(&bytes).unwrap();
        assert_eq!(d.text, "一、总体情况\n宝清县人民政府");
        assert_eq!(d.encoding, "gb18030");
    }

    #[test]
    fn a_declared_charset_is_used() {
        let mut page = b"<html><head><meta charset=\"gb2312\"></head><body>".to_vec();
        let (body, _, _) = encoding_rs::GBK.encode("总体情况");
        page.extend_from_slice(&body);
        let d = decode(&page).unwrap();
        assert!(d.text.contains("总体情况"));
        assert_eq!(d.encoding, "GBK");
    }

    #[test]
    fn undecodable_bytes_are_an_error_naming_where() {
        // 0xFF is neither UTF-8 nor a GB18030 lead byte.
        let err = decode(b"abc\xff\xff").unwrap_err();
        assert!(
            matches!(err, ImportError::Undecodable { offset: 3, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_declared_charset_names_where_its_bytes_go_wrong() {
        // 24 bytes of declaration, then a four-byte GB18030 sequence cut
        // short by a space at its last byte.
        let mut page = br#"<meta charset="gb18030">"#.to_vec();
        assert_eq!(page.len(), 24);
        page.extend_from_slice(b"\x81\x30\x81\x20 and more");
        let err = decode(&page).unwrap_err();
        assert!(
            matches!(err, ImportError::Undecodable { offset: 24, .. }),
            "{err:?}"
        );
    }
}
