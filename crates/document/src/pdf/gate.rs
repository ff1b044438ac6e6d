//! Bounds what a PDF's streams can decode to, before anything decodes them.
//!
//! hayro-syntax decodes cross-reference and object streams while it opens a
//! file, and its filters grow their output without a limit: a few kilobytes
//! of Flate can inflate to gigabytes. So every stream of the file is measured
//! first, straight from the bytes: each Flate stream is inflated into one
//! fixed buffer that is counted and thrown away (nothing grows), and a stream
//! under a filter that cannot be measured that way is bounded by its worst
//! case (LZW at most 2,731 bytes out per byte in, RunLength 128); a Flate
//! stream whose worst case (1,032 per byte) fits what is left of the budget
//! is counted at that worst case without inflating it. The file is
//! refused if one stream could exceed [`MAX_STREAM_BYTES`] or all of them
//! [`MAX_TOTAL_BYTES`]; inflating stops as soon as either is passed, so the
//! measuring itself costs at most that much work.
//!
//! Font programs and images are not measured: nothing decodes them (the
//! importer reads no glyph outlines and no pixels). A stream counts as one
//! when its dictionary is flat and names `/Length1`, `/Length2`, `/Length3`
//! or an image or font-program `/Subtype`; the importer refuses to decode
//! any stream hayro-syntax sees so ([`unmeasured`]), so a stream skipped here
//! is never decoded.

use std::sync::LazyLock;

use flate2::{Decompress, FlushDecompress, Status};
use memchr::memmem::Finder;

/// The most one stream may decode to. A report's page content is tens of
/// kilobytes; an embedded CJK font subset a few megabytes.
pub const MAX_STREAM_BYTES: u64 = 32 << 20;
/// The most all streams of a file together may decode to.
pub const MAX_TOTAL_BYTES: u64 = 256 << 20;
/// The most streams a file may hold.
pub const MAX_STREAMS: usize = 100_000;

/// Why a file was refused before it was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// One stream decodes to more than [`MAX_STREAM_BYTES`].
    Stream { offset: usize, at_least: u64 },
    /// All streams together decode to more than [`MAX_TOTAL_BYTES`].
    Total { at_least: u64 },
    /// More than [`MAX_STREAMS`] streams.
    Streams,
}

/// Measures every stream of the file; `Ok` with the total when all are
/// within the bounds.
pub fn measure(bytes: &[u8]) -> Result<u64, Refused> {
    let mut total = 0u64;
    let mut streams = 0usize;
    let mut from = 0usize;
    let mut buffer = vec![0u8; 64 * 1024];
    let needles = &*NEEDLES;
    while let Some(found) = needles.stream.find(&bytes[from..]) {
        let at = from.saturating_add(found);
        from = at.saturating_add(6);
        // The keyword, not `endstream` nor a word that ends in "stream".
        if at > 0
            && bytes
                .get(at.wrapping_sub(1))
                .is_some_and(|b| b.is_ascii_alphanumeric())
        {
            continue;
        }
        let Some(dict) = dict_before(bytes, at) else {
            continue;
        };
        let data_start = match bytes.get(from..from.saturating_add(2)) {
            Some([b'\r', b'\n', ..]) => from.saturating_add(2),
            Some([b'\n' | b'\r', ..]) => from.saturating_add(1),
            _ => continue,
        };
        streams = streams.saturating_add(1);
        if streams > MAX_STREAMS {
            return Err(Refused::Streams);
        }
        let rest = bytes.get(data_start..).unwrap_or_default();
        let data_end = needles.endstream.find(rest).unwrap_or(rest.len());
        let data = &rest[..data_end];
        if skipped(dict) {
            from = data_start;
            continue;
        }
        let budget = MAX_STREAM_BYTES.min(MAX_TOTAL_BYTES.saturating_sub(total));
        let size = decoded_size(dict, data, budget, &mut buffer);
        if size > MAX_STREAM_BYTES {
            return Err(Refused::Stream {
                offset: at,
                at_least: size,
            });
        }
        total = total.saturating_add(size);
        if total > MAX_TOTAL_BYTES {
            return Err(Refused::Total { at_least: total });
        }
        from = data_start.saturating_add(data_end);
    }
    Ok(total)
}

/// Keys that mark a font program or an image.
const FONT_OR_IMAGE: [&[u8]; 7] = [
    b"/Length1",
    b"/Length2",
    b"/Length3",
    b"/Image",
    b"/Type1C",
    b"/CIDFontType0C",
    b"/OpenType",
];

/// Whether the gate leaves a stream unmeasured: a flat dictionary (no
/// nested one whose keys could be mistaken for its own) naming a font
/// program or an image, as a whole name.
fn skipped(dict: &[u8]) -> bool {
    let inner = dict
        .get(2..dict.len().saturating_sub(2))
        .unwrap_or_default();
    let needles = &*NEEDLES;
    if needles.dict_open.find(inner).is_some() {
        return false;
    }
    needles.font_or_image.iter().any(|key| {
        let mut from = 0usize;
        while let Some(at) = key.find(&inner[from..]) {
            let end = from.saturating_add(at).saturating_add(key.needle().len());
            let delimited = inner
                .get(end)
                .is_none_or(|b| b.is_ascii_whitespace() || b"/<>[]()%".contains(b));
            if delimited {
                return true;
            }
            from = end;
        }
        false
    })
}

/// Whether hayro-syntax sees a stream as one the gate may have left
/// unmeasured (see [`skipped`]): such a stream must not be decoded.
pub fn unmeasured(dict: &hayro_syntax::object::Dict<'_>) -> bool {
    use hayro_syntax::object::Name;
    dict.contains_key(b"Length1")
        || dict.contains_key(b"Length2")
        || dict.contains_key(b"Length3")
        || dict
            .get::<Name<'_>>(b"Subtype")
            .is_some_and(|n| matches!(&*n, b"Image" | b"Type1C" | b"CIDFontType0C" | b"OpenType"))
}

/// The dictionary that ends right before `stream` (white space between).
fn dict_before(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let head = &bytes[..at];
    let end = head.iter().rposition(|b| !b.is_ascii_whitespace())?;
    if end < 1 || &head[end.saturating_sub(1)..=end] != b">>" {
        return None;
    }
    // Back to the matching `<<`, nested dictionaries counted; a stream's
    // dictionary is short, so the walk is bounded.
    let mut depth = 0usize;
    let mut i = end.saturating_add(1);
    let lowest = end.saturating_sub(64 * 1024);
    while i >= lowest.saturating_add(2) {
        let pair = &head[i.saturating_sub(2)..i];
        if pair == b">>" {
            depth = depth.saturating_add(1);
            i = i.saturating_sub(2);
        } else if pair == b"<<" {
            depth = depth.saturating_sub(1);
            i = i.saturating_sub(2);
            if depth == 0 {
                return Some(&head[i..=end]);
            }
        } else {
            i = i.saturating_sub(1);
        }
    }
    None
}

/// The filters a stream's dictionary names, in order (abbreviations
/// expanded); `None` when they cannot be read from the dictionary itself.
fn filters(dict: &[u8]) -> Option<Vec<&'static str>> {
    let Some(at) = NEEDLES.filter.find(dict) else {
        return Some(Vec::new());
    };
    let mut rest = &dict[at.saturating_add(7)..];
    while let [first, tail @ ..] = rest {
        if first.is_ascii_whitespace() {
            rest = tail;
        } else {
            break;
        }
    }
    let list = match rest.first() {
        Some(b'[') => {
            let close = rest.iter().position(|b| *b == b']')?;
            &rest[1..close]
        }
        Some(b'/') => {
            let end = rest
                .iter()
                .skip(1)
                .position(|b| b.is_ascii_whitespace() || b"/<>[]()".contains(b))
                .map_or(rest.len(), |p| p.saturating_add(1));
            &rest[..end]
        }
        // An indirect reference or something stranger.
        _ => return None,
    };
    let mut out = Vec::new();
    for name in list.split(|b| *b == b'/').skip(1) {
        let name = name.trim_ascii();
        out.push(match name {
            b"FlateDecode" | b"Fl" => "flate",
            b"LZWDecode" | b"LZW" => "lzw",
            b"RunLengthDecode" | b"RL" => "runlength",
            b"ASCII85Decode" | b"A85" | b"ASCIIHexDecode" | b"AHx" => "ascii",
            // Image codecs: hayro-syntax decodes them only for images, which
            // the importer never asks for.
            b"DCTDecode" | b"DCT" | b"JPXDecode" | b"JBIG2Decode" | b"CCITTFaxDecode" | b"CCF" => {
                "image"
            }
            b"Crypt" => "crypt",
            _ => return None,
        });
    }
    Some(out)
}

/// What a stream decodes to, or a number over `budget` once it is known to
/// exceed it.
fn decoded_size(dict: &[u8], data: &[u8], budget: u64, buffer: &mut [u8]) -> u64 {
    let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
    let over = budget.saturating_add(1);
    let Some(filters) = filters(dict) else {
        // Filters that cannot be told from the dictionary: the worst case of
        // the worst filter.
        return len.saturating_mul(2731).min(over);
    };
    match filters.as_slice() {
        [] | ["image", ..] => len,
        // Small enough that even its worst case (1,032 out per byte in) is
        // within the budget: counted at that, without inflating it.
        ["flate"] | ["flate", "image"] if len.saturating_mul(1032) <= budget => {
            len.saturating_mul(1032)
        }
        ["flate"] | ["flate", "image"] => inflated_size(data, budget, buffer),
        // Chains and the other expanding filters: their worst case.
        chain => chain
            .iter()
            .fold(len, |n, f| match *f {
                "flate" => n.saturating_mul(1032),
                "lzw" => n.saturating_mul(2731),
                "runlength" => n.saturating_mul(128),
                _ => n,
            })
            .min(over),
    }
}

/// Inflates zlib data (or raw deflate, as hayro-syntax falls back to) into a
/// buffer that is reused, counting the bytes; stops past `budget`.
fn inflated_size(data: &[u8], budget: u64, buffer: &mut [u8]) -> u64 {
    let zlib = inflate_counting(data, true, budget, buffer);
    if zlib.1 {
        return zlib.0;
    }
    let raw = inflate_counting(data, false, budget, buffer);
    zlib.0.max(raw.0)
}

/// (bytes out, whether the stream decoded without error).
fn inflate_counting(data: &[u8], zlib: bool, budget: u64, buffer: &mut [u8]) -> (u64, bool) {
    let mut inflater = Decompress::new(zlib);
    loop {
        let consumed = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
        let input = data.get(consumed..).unwrap_or_default();
        let before = inflater.total_out();
        match inflater.decompress(input, buffer, FlushDecompress::None) {
            Ok(Status::StreamEnd) => return (inflater.total_out(), true),
            Ok(_) => {}
            Err(_) => return (inflater.total_out(), false),
        }
        let out = inflater.total_out();
        if out > budget {
            return (out, true);
        }
        // No progress: the input ran out before the stream's end.
        if out == before && usize::try_from(inflater.total_in()).unwrap_or(usize::MAX) == consumed {
            return (out, true);
        }
    }
}

/// The first `needle` in `haystack` (memchr's SIMD substring search: the
/// whole file is scanned, font programs included).
/// What the gate searches for, each searcher built once: building one
/// costs more than running it over the short dictionaries it mostly reads,
/// and a file has hundreds of them.
struct Needles {
    stream: Finder<'static>,
    endstream: Finder<'static>,
    dict_open: Finder<'static>,
    filter: Finder<'static>,
    font_or_image: [Finder<'static>; FONT_OR_IMAGE.len()],
}

static NEEDLES: LazyLock<Needles> = LazyLock::new(|| Needles {
    stream: Finder::new(b"stream"),
    endstream: Finder::new(b"endstream"),
    dict_open: Finder::new(b"<<"),
    filter: Finder::new(b"/Filter"),
    font_or_image: FONT_OR_IMAGE.map(Finder::new),
});

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::ZlibEncoder};
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut out = format!("1 0 obj\n{dict}\nstream\n").into_bytes();
        out.extend_from_slice(data);
        out.extend_from_slice(b"\nendstream\nendobj\n");
        out
    }

    #[test]
    fn flate_streams_are_measured_by_inflating() {
        // 2 MiB of compressed noise: too large to be counted at its worst
        // case, so inflated and counted exactly.
        let mut x: u32 = 1;
        let noise: Vec<u8> = (0..3 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let data = zlib(&noise);
        let file = stream("<< /Length 5 /Filter /FlateDecode >>", &data);
        assert_eq!(measure(&file), Ok(3 << 20));
        // A small stream is counted at its worst case.
        let small = stream("<< /Filter /FlateDecode >>", &zlib(b"BT ET"));
        assert_eq!(measure(&small), Ok(14 * 1032));
    }

    #[test]
    fn a_bomb_is_refused_without_inflating_it_all() {
        let data = zlib(&vec![0u8; 64 << 20]);
        let file = stream(
            "<< /Filter [ /FlateDecode ] /DecodeParms << /K 1 >> >>",
            &data,
        );
        match measure(&file) {
            Err(Refused::Stream { at_least, .. }) => assert!(at_least > MAX_STREAM_BYTES),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unmeasurable_filters_are_bounded_by_their_worst_case() {
        let file = stream("<< /Filter /LZWDecode >>", &[0u8; 100_000]);
        assert!(matches!(measure(&file), Err(Refused::Stream { .. })));
        let file = stream("<< /Filter 7 0 R >>", &[0u8; 100]);
        // 100 bytes and the end of line before `endstream`, × 2,731.
        assert_eq!(measure(&file), Ok(101 * 2731));
    }

    #[test]
    fn font_programs_and_images_are_left_unmeasured_only_when_unambiguous() {
        let bomb = zlib(&vec![0u8; 64 << 20]);
        let font = stream("<< /Length1 9 /Filter /FlateDecode >>", &bomb);
        assert_eq!(measure(&font), Ok(0));
        // /Length10 is not /Length1; a nested dictionary may hide the key.
        let not_font = stream("<< /Length10 9 /Filter /FlateDecode >>", &bomb);
        assert!(measure(&not_font).is_err());
        let nested = stream("<< /X << /Length1 9 >> /Filter /FlateDecode >>", &bomb);
        assert!(measure(&nested).is_err());
    }

    #[test]
    fn endstream_and_words_ending_in_stream_are_not_streams() {
        assert_eq!(measure(b"endstream upstream\n"), Ok(0));
    }
}
