//! A PDF font as far as reading text needs it: how a shown string splits
//! into character codes, what Unicode each code stands for, and how far each
//! one advances. The font programs themselves are never read.
//!
//! Unicode comes from the font's ToUnicode map; without one, from what the
//! PDF standard defines for the font's encoding (WinAnsi and the other simple
//! encodings, glyph names such as `uni5E74`, the predefined `UniGB-UCS2-H`,
//! `GBK-EUC-H` … CMaps, and CID → Unicode for Adobe's CJK character
//! collections). A code none of these covers has no Unicode: the caller
//! refuses the document rather than guess.

use std::sync::LazyLock;

use hayro_cmap::{BfString, CMap, CMapName, CidFamily};
use hayro_syntax::object::{Array, Dict, Name, Object, Stream};

/// What a code stands for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Unicode {
    Char(char),
    Text(String),
    /// Nothing the font says maps it to Unicode.
    Unknown,
}

impl Unicode {
    /// What a CMap maps a code to.
    fn of(bf: BfString) -> Unicode {
        match bf {
            BfString::Char(c) => Unicode::Char(c),
            BfString::String(s) => Unicode::text(&s),
        }
    }

    /// Text of one character or more: a single character allocates nothing
    /// (nearly every glyph is one).
    fn text(s: &str) -> Unicode {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Unicode::Char(c),
            _ => Unicode::Text(s.to_owned()),
        }
    }
}

/// One character code of a shown string.
#[derive(Clone, Debug)]
pub(crate) struct Code {
    pub unicode: Unicode,
    /// Advance in text space units (glyph width × the font's scale).
    pub width: f64,
    /// A single-byte code 32: word spacing applies to it.
    pub word_space: bool,
}

#[derive(Debug)]
enum Encoding {
    /// Two bytes per code, the code is the CID.
    Identity,
    /// A CMap (predefined or embedded) splits and maps the codes.
    CMap(Box<CMap>),
}

#[derive(Debug)]
enum Fallback {
    None,
    /// Codes are UTF-16 (the predefined Uni…-UCS2 / UTF16 CMaps).
    Utf16,
    /// Codes are GBK / GB18030 bytes (GBK-EUC-H, GB-EUC-H …).
    Gb18030,
    /// CIDs of an Adobe CJK collection, mapped through its UCS2 CMap.
    Collection(Box<CMap>),
}

#[derive(Debug)]
enum Kind {
    /// One byte per code, 256 entries.
    Simple {
        table: Box<[Option<char>; 256]>,
        widths: Box<[f64; 256]>,
    },
    Composite {
        encoding: Encoding,
        fallback: Fallback,
        /// Sorted (first CID, last CID, width).
        widths: Vec<(u32, u32, f64)>,
        default_width: f64,
        /// Vertical advance (W2 / DW2 are rare; DW2's −1000 is used).
        vertical: bool,
    },
}

/// A font of a page, ready to decode strings.
#[derive(Debug)]
pub(crate) struct Font {
    /// Its /BaseFont, for messages.
    pub name: String,
    to_unicode: Option<Box<CMap>>,
    kind: Kind,
    /// Glyph space → text space (1/1000, or a Type 3 font's matrix).
    scale: f64,
}

fn num(o: &Object<'_>) -> Option<f64> {
    match o {
        Object::Number(n) => Some(n.as_f64()),
        _ => None,
    }
}

/// An array's items when every one is a plain number (as a `Widths` array's
/// hundreds of items are), read straight from its bytes: hayro reads each
/// item as a general object, many times the cost. `None` when any item is
/// something else (a reference, a comment …): the caller reads it through
/// hayro then.
fn plain_numbers(array: &Array<'_>) -> Option<Vec<f64>> {
    let number = |token: &[u8]| {
        let plain = token
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'));
        plain
            .then(|| std::str::from_utf8(token).ok()?.parse::<f64>().ok())
            .flatten()
            .filter(|n| n.is_finite())
    };
    array
        .data()
        .split(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0'))
        .filter(|t| !t.is_empty())
        .map(number)
        .collect()
}

/// Loads an embedded CMap's referenced parents from the predefined set.
fn predefined(name: CMapName<'_>) -> Option<&'static [u8]> {
    hayro_cmap::load_embedded(name)
}

fn parse_cmap(bytes: &[u8]) -> Option<Box<CMap>> {
    CMap::parse(bytes, predefined).map(Box::new)
}

fn stream_cmap(stream: &Stream<'_>) -> Option<Box<CMap>> {
    if super::gate::unmeasured(stream.dict()) {
        return None;
    }
    let data = stream.decoded().ok()?;
    parse_cmap(&data)
}

impl Font {
    /// Reads a font dictionary.
    pub fn new(dict: &Dict<'_>) -> Font {
        let name = dict
            .get::<Name<'_>>(b"BaseFont")
            .map(|n| n.as_str().to_owned())
            .unwrap_or_else(|| "(unnamed)".to_owned());
        let to_unicode = dict
            .get::<Stream<'_>>(b"ToUnicode")
            .and_then(|s| stream_cmap(&s));
        let subtype = dict.get::<Name<'_>>(b"Subtype");
        let composite = subtype.as_deref() == Some(b"Type0".as_slice());
        let type3 = subtype.as_deref() == Some(b"Type3".as_slice());
        let scale = if type3 {
            dict.get::<Array<'_>>(b"FontMatrix")
                .and_then(|m| m.iter::<Object<'_>>().next().as_ref().and_then(num))
                .filter(|a| a.is_finite() && *a > 0.0 && *a < 1.0)
                .unwrap_or(0.001)
        } else {
            0.001
        };
        let kind = if composite {
            composite_kind(dict)
        } else {
            simple_kind(dict, type3)
        };
        Font {
            name,
            to_unicode,
            kind,
            scale,
        }
    }

    /// Whether codes advance downwards (Identity-V and other vertical CMaps).
    pub fn vertical(&self) -> bool {
        matches!(self.kind, Kind::Composite { vertical: true, .. })
    }

    /// Splits a shown string into codes and decodes each.
    pub fn decode(&self, bytes: &[u8], out: &mut Vec<Code>) {
        match &self.kind {
            Kind::Simple { table, widths } => {
                for &b in bytes {
                    let code = u32::from(b);
                    let unicode = self
                        .mapped(code)
                        .or_else(|| table[usize::from(b)].map(Unicode::Char))
                        .unwrap_or(Unicode::Unknown);
                    out.push(Code {
                        unicode,
                        width: widths[usize::from(b)] * self.scale,
                        word_space: b == b' ',
                    });
                }
            }
            Kind::Composite {
                encoding,
                fallback,
                widths,
                default_width,
                vertical,
            } => {
                let mut i = 0usize;
                while i < bytes.len() {
                    let (code, len, cid) = match encoding {
                        Encoding::Identity => {
                            let hi = u32::from(bytes[i]);
                            let lo = bytes.get(i.saturating_add(1)).map_or(0, |b| u32::from(*b));
                            let code = hi.wrapping_shl(8) | lo;
                            (code, 2usize, code)
                        }
                        Encoding::CMap(cmap) => split(cmap, &bytes[i..]),
                    };
                    let raw = &bytes[i..bytes.len().min(i.saturating_add(len))];
                    i = i.saturating_add(len);
                    let unicode = self
                        .mapped(code)
                        .or_else(|| fallback_unicode(fallback, code, cid, raw))
                        .unwrap_or(Unicode::Unknown);
                    let width = if *vertical {
                        1000.0
                    } else {
                        cid_width(widths, cid).unwrap_or(*default_width)
                    };
                    out.push(Code {
                        unicode,
                        width: width * self.scale,
                        word_space: len == 1 && code == 32,
                    });
                }
            }
        }
    }

    fn mapped(&self, code: u32) -> Option<Unicode> {
        self.to_unicode
            .as_ref()?
            .lookup_bf_string(code)
            .map(Unicode::of)
    }
}

/// The code at the start of `bytes` under a CMap: the shortest length (1 to
/// 4 bytes) the CMap maps, as (code, length, CID).
fn split(cmap: &CMap, bytes: &[u8]) -> (u32, usize, u32) {
    let mut code = 0u32;
    for (n, b) in bytes.iter().take(4).enumerate() {
        code = code.wrapping_shl(8) | u32::from(*b);
        let len = n.saturating_add(1);
        if let Some(cid) = u8::try_from(len)
            .ok()
            .and_then(|l| cmap.lookup_cid_code(code, l))
        {
            return (code, len, cid);
        }
    }
    // Unmapped: one byte, CID 0 (.notdef).
    (bytes.first().map_or(0, |b| u32::from(*b)), 1, 0)
}

fn fallback_unicode(fallback: &Fallback, code: u32, cid: u32, raw: &[u8]) -> Option<Unicode> {
    match fallback {
        Fallback::None => None,
        Fallback::Utf16 => char::from_u32(code).map(Unicode::Char),
        Fallback::Gb18030 => {
            let (text, _, bad) = encoding_rs::GB18030.decode(raw);
            (!bad && !text.is_empty()).then(|| Unicode::text(&text))
        }
        Fallback::Collection(cmap) => cmap.lookup_bf_string(cid).map(Unicode::of),
    }
}

fn cid_width(widths: &[(u32, u32, f64)], cid: u32) -> Option<f64> {
    let i = widths.partition_point(|(_, last, _)| *last < cid);
    widths
        .get(i)
        .filter(|(first, _, _)| *first <= cid)
        .map(|(_, _, w)| *w)
}

fn composite_kind(dict: &Dict<'_>) -> Kind {
    let descendant = dict
        .get::<Array<'_>>(b"DescendantFonts")
        .and_then(|a| a.iter::<Dict<'_>>().next());
    let (encoding, name, vertical) = match dict.get::<Object<'_>>(b"Encoding") {
        Some(Object::Name(n)) => {
            let bytes: &[u8] = &n;
            match bytes {
                b"Identity-H" => (Encoding::Identity, bytes.to_vec(), false),
                b"Identity-V" => (Encoding::Identity, bytes.to_vec(), true),
                _ => {
                    let vertical = bytes.ends_with(b"-V");
                    let cmap = predefined(CMapName::from_bytes(bytes)).and_then(parse_cmap);
                    match cmap {
                        Some(c) => (Encoding::CMap(c), bytes.to_vec(), vertical),
                        None => (Encoding::Identity, bytes.to_vec(), vertical),
                    }
                }
            }
        }
        Some(Object::Stream(s)) => match stream_cmap(&s) {
            Some(c) => {
                let vertical = matches!(
                    c.metadata().writing_mode,
                    Some(hayro_cmap::WritingMode::Vertical)
                );
                (Encoding::CMap(c), Vec::new(), vertical)
            }
            None => (Encoding::Identity, Vec::new(), false),
        },
        _ => (Encoding::Identity, Vec::new(), false),
    };
    let contains = |needle: &[u8]| memchr::memmem::find(&name, needle).is_some();
    let fallback = if name.starts_with(b"Uni") && (contains(b"UCS2") || contains(b"UTF16")) {
        Fallback::Utf16
    } else if name.starts_with(b"GBK") || name.starts_with(b"GB-") || name.starts_with(b"GBpc") {
        Fallback::Gb18030
    } else {
        collection(descendant.as_ref())
    };
    let (widths, default_width) = descendant.as_ref().map_or((Vec::new(), 1000.0), cid_widths);
    Kind::Composite {
        encoding,
        fallback,
        widths,
        default_width,
        vertical,
    }
}

/// CID → Unicode through Adobe's UCS2 CMap of the font's collection.
fn collection(descendant: Option<&Dict<'_>>) -> Fallback {
    let Some(info) = descendant.and_then(|d| d.get::<Dict<'_>>(b"CIDSystemInfo")) else {
        return Fallback::None;
    };
    let registry = info.get::<hayro_syntax::object::String<'_>>(b"Registry");
    let ordering = info.get::<hayro_syntax::object::String<'_>>(b"Ordering");
    let (Some(registry), Some(ordering)) = (registry, ordering) else {
        return Fallback::None;
    };
    CidFamily::from_registry_ordering(registry.as_bytes(), ordering.as_bytes())
        .ucs2_cmap()
        .and_then(predefined)
        .and_then(parse_cmap)
        .map_or(Fallback::None, Fallback::Collection)
}

/// A CIDFont's /W and /DW.
fn cid_widths(font: &Dict<'_>) -> (Vec<(u32, u32, f64)>, f64) {
    let default = font
        .get::<Object<'_>>(b"DW")
        .as_ref()
        .and_then(num)
        .unwrap_or(1000.0);
    let mut out = Vec::new();
    if let Some(w) = font.get::<Array<'_>>(b"W") {
        let items: Vec<Object<'_>> = w.iter::<Object<'_>>().take(200_000).collect();
        let mut i = 0usize;
        while i < items.len() {
            let first = items.get(i).and_then(num);
            match (first, items.get(i.saturating_add(1))) {
                (Some(first), Some(Object::Array(list))) => {
                    let mut cid = first as u32;
                    for w in list.iter::<Object<'_>>().take(65_536) {
                        if let Some(w) = num(&w) {
                            out.push((cid, cid, w));
                        }
                        cid = cid.saturating_add(1);
                    }
                    i = i.saturating_add(2);
                }
                (Some(first), Some(last)) => {
                    if let (Some(last), Some(w)) =
                        (num(last), items.get(i.saturating_add(2)).and_then(num))
                    {
                        out.push((first as u32, last as u32, w));
                    }
                    i = i.saturating_add(3);
                }
                _ => break,
            }
        }
    }
    out.sort_by_key(|(first, _, _)| *first);
    (out, default)
}

fn simple_kind(dict: &Dict<'_>, type3: bool) -> Kind {
    let descriptor = dict.get::<Dict<'_>>(b"FontDescriptor");
    let flags = descriptor
        .as_ref()
        .and_then(|d| d.get::<Object<'_>>(b"Flags"))
        .as_ref()
        .and_then(num)
        .unwrap_or(0.0) as u32;
    let symbolic = flags & 4 != 0 && flags & 32 == 0;
    let mut table: Box<[Option<char>; 256]> = Box::new([None; 256]);
    let base = |name: &[u8], table: &mut [Option<char>; 256]| match name {
        b"WinAnsiEncoding" => fill_win_ansi(table),
        b"MacRomanEncoding" => fill_mac_roman(table),
        _ => fill_standard(table),
    };
    match dict.get::<Object<'_>>(b"Encoding") {
        Some(Object::Name(n)) => base(&n, &mut table),
        Some(Object::Dict(d)) => {
            match d.get::<Name<'_>>(b"BaseEncoding") {
                Some(n) => base(&n, &mut table),
                None if !symbolic && !type3 => fill_standard(&mut table),
                None => {}
            }
            if let Some(diffs) = d.get::<Array<'_>>(b"Differences") {
                let mut code = 0usize;
                for item in diffs.iter::<Object<'_>>().take(1024) {
                    match item {
                        Object::Number(n) => code = n.as_f64().clamp(0.0, 256.0) as usize,
                        Object::Name(n) => {
                            if let Some(slot) = table.get_mut(code) {
                                *slot = glyph_name(&n);
                            }
                            code = code.saturating_add(1);
                        }
                        _ => {}
                    }
                }
            }
        }
        _ if !symbolic && !type3 => fill_standard(&mut table),
        _ => {}
    }
    let missing = descriptor
        .as_ref()
        .and_then(|d| d.get::<Object<'_>>(b"MissingWidth"))
        .as_ref()
        .and_then(num)
        .unwrap_or(0.0);
    let mut widths: Box<[f64; 256]> = Box::new([missing; 256]);
    let first = dict
        .get::<Object<'_>>(b"FirstChar")
        .as_ref()
        .and_then(num)
        .unwrap_or(0.0)
        .clamp(0.0, 255.0) as usize;
    match dict.get::<Array<'_>>(b"Widths") {
        Some(w) => {
            // An item that is not a number keeps its slot's default.
            let items: Vec<Option<f64>> = match plain_numbers(&w) {
                Some(plain) => plain.into_iter().map(Some).collect(),
                None => w.iter::<Object<'_>>().map(|o| num(&o)).collect(),
            };
            for (slot, w) in widths.iter_mut().skip(first).zip(items) {
                if let Some(w) = w {
                    *slot = w;
                }
            }
        }
        // The standard 14 fonts carry no widths: an average advance keeps
        // the gaps between words measurable.
        None => widths.fill(if type3 { 0.0 } else { 500.0 }),
    }
    Kind::Simple { table, widths }
}

/// Printable ASCII as StandardEncoding has it (its quotes are curly).
fn fill_standard(table: &mut [Option<char>; 256]) {
    for (b, slot) in table.iter_mut().enumerate().take(0x7f).skip(0x20) {
        *slot = u8::try_from(b).ok().map(char::from);
    }
    table[0x27] = Some('’');
    table[0x60] = Some('‘');
}

/// A single-byte encoding's table, built once.
fn single_byte(encoding: &'static encoding_rs::Encoding) -> [Option<char>; 256] {
    let mut table = [None; 256];
    for (b, slot) in table.iter_mut().enumerate().skip(0x20) {
        let Ok(byte) = u8::try_from(b) else { continue };
        let bytes = [byte];
        let (text, bad) = encoding.decode_without_bom_handling(&bytes);
        *slot = if bad { None } else { text.chars().next() };
    }
    table
}

static WIN_ANSI: LazyLock<[Option<char>; 256]> =
    LazyLock::new(|| single_byte(encoding_rs::WINDOWS_1252));
static MAC_ROMAN: LazyLock<[Option<char>; 256]> =
    LazyLock::new(|| single_byte(encoding_rs::MACINTOSH));

fn fill_win_ansi(table: &mut [Option<char>; 256]) {
    *table = *WIN_ANSI;
}

fn fill_mac_roman(table: &mut [Option<char>; 256]) {
    *table = *MAC_ROMAN;
}

/// A glyph name's character: `uniXXXX`, `uXXXX[XX]`, or a name of the Adobe
/// Glyph List that reports use (ASCII and common punctuation).
fn glyph_name(name: &[u8]) -> Option<char> {
    let name = std::str::from_utf8(name).ok()?;
    let name = name.split('.').next().unwrap_or(name);
    let hex = |s: &str| u32::from_str_radix(s, 16).ok().and_then(char::from_u32);
    if let Some(h) = name.strip_prefix("uni").filter(|h| h.len() == 4) {
        return hex(h);
    }
    if let Some(h) = name
        .strip_prefix('u')
        .filter(|h| (4..=6).contains(&h.len()) && h.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return hex(h);
    }
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next())
        && c.is_ascii_alphabetic()
    {
        return Some(c);
    }
    const DIGITS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    if let Some(d) = DIGITS.iter().position(|d| *d == name) {
        return char::from_digit(u32::try_from(d).ok()?, 10);
    }
    Some(match name {
        "space" | "nbspace" => ' ',
        "exclam" => '!',
        "quotedbl" => '"',
        "numbersign" => '#',
        "dollar" => '$',
        "percent" => '%',
        "ampersand" => '&',
        "quotesingle" => '\'',
        "parenleft" => '(',
        "parenright" => ')',
        "asterisk" => '*',
        "plus" => '+',
        "comma" => ',',
        "hyphen" | "minus" => '-',
        "period" => '.',
        "slash" => '/',
        "colon" => ':',
        "semicolon" => ';',
        "less" => '<',
        "equal" => '=',
        "greater" => '>',
        "question" => '?',
        "at" => '@',
        "bracketleft" => '[',
        "backslash" => '\\',
        "bracketright" => ']',
        "underscore" => '_',
        "braceleft" => '{',
        "bar" => '|',
        "braceright" => '}',
        "quoteleft" => '‘',
        "quoteright" => '’',
        "quotedblleft" => '“',
        "quotedblright" => '”',
        "endash" => '–',
        "emdash" => '—',
        "bullet" => '•',
        "periodcentered" => '·',
        "ellipsis" => '…',
        "degree" => '°',
        "yen" => '¥',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyph_names() {
        assert_eq!(glyph_name(b"uni5E74"), Some('年'));
        assert_eq!(glyph_name(b"u5E74"), Some('年'));
        assert_eq!(glyph_name(b"seven"), Some('7'));
        assert_eq!(glyph_name(b"period.alt"), Some('.'));
        assert_eq!(glyph_name(b"A"), Some('A'));
        assert_eq!(glyph_name(b"g123"), None);
        assert_eq!(glyph_name(b"cid00042"), None);
    }

    #[test]
    fn one_mapped_character_is_a_char_more_are_text() {
        assert_eq!(Unicode::of(BfString::Char('年')), Unicode::Char('年'));
        assert_eq!(
            Unicode::of(BfString::String("年".to_owned())),
            Unicode::Char('年')
        );
        assert_eq!(Unicode::text("fi"), Unicode::Text("fi".to_owned()));
    }

    #[test]
    fn plain_number_arrays_are_read_from_their_bytes_and_anything_else_is_left_to_hayro() {
        use hayro_syntax::object::FromBytes;
        let read = |b: &'static [u8]| {
            let array = Array::from_bytes(b);
            assert!(
                array.is_some(),
                "{} is an array",
                String::from_utf8_lossy(b)
            );
            array.and_then(|a| plain_numbers(&a))
        };
        assert_eq!(
            read(b"[500 -12.5\n.5 5. +3\r\n0]"),
            Some(vec![500.0, -12.5, 0.5, 5.0, 3.0, 0.0])
        );
        assert_eq!(read(b"[]"), Some(vec![]));
        // A reference, a nested array, a comment, a name: hayro reads them.
        assert_eq!(read(b"[500 12 0 R]"), None);
        assert_eq!(read(b"[500 [1 2]]"), None);
        assert_eq!(read(b"[500 % width\n600]"), None);
        assert_eq!(read(b"[500/W]"), None);
        // What hayro reads the same array as.
        let array = Array::from_bytes(b"[500 -12.5\n.5 5. +3\r\n0]").expect("an array");
        let by_hayro: Vec<f64> = array.iter::<Object<'_>>().filter_map(|o| num(&o)).collect();
        assert_eq!(plain_numbers(&array), Some(by_hayro));
    }

    #[test]
    fn cid_widths_are_found_in_ranges() {
        let w = vec![(1, 1, 500.0), (3, 9, 250.0)];
        assert_eq!(cid_width(&w, 1), Some(500.0));
        assert_eq!(cid_width(&w, 2), None);
        assert_eq!(cid_width(&w, 9), Some(250.0));
        assert_eq!(cid_width(&w, 10), None);
    }
}
