//! Word documents (`.docx`, as Word and WPS save them) into blocks.
//!
//! A `.docx` is a zip of XML parts. The main part (found through
//! `_rels/.rels`, usually `word/document.xml`) is streamed with quick-xml,
//! never built into a tree: paragraphs become headings or lines of prose, in
//! order; tables are read from the document's own structure — `w:tbl` rows
//! of `w:tc` cells, `w:gridSpan` across grid columns, `w:vMerge` restart /
//! continue (WPS writes continue without a value) — and laid out on a grid
//! as `html.rs` lays out rowspan / colspan, merged cells flattened to empty
//! ones after their first. A table that holds tables lays out the page: its
//! cells are read as text around the data tables inside it. Content
//! controls (`w:sdt`), hyperlinks, insertions and smart tags are read
//! through; deleted text, field codes, drawings and text boxes are not.
//! Headings are told by their style (`heading N`, `标题 N`, an outline
//! level) and automatic numbering (`一、`, `（一）`) is written out in front of
//! the paragraph as Word shows it, so the section finder sees `三、…`.
//!
//! Bounds, so time and memory stay linear in the bytes given (≤ 16 MiB):
//! at most [`MAX_ENTRIES`] zip entries (checked on the declared counts
//! before the zip crate sizes its directory), at most [`MAX_MAIN_PART_BYTES`]
//! decompressed for the main part and [`MAX_AUX_PART_BYTES`] for each of
//! styles, numbering and relationships (a zip bomb stops there), XML nested
//! at most [`MAX_XML_DEPTH`] elements and tables at most [`MAX_TABLE_DEPTH`]
//! deep, and a table at most `html`'s cell bound once spans are laid out.

use std::{
    borrow::Cow,
    collections::HashMap,
    io::{Cursor, Read},
};

use quick_xml::{
    Reader,
    events::{BytesStart, Event},
};

use crate::{
    ImportError,
    blocks::Block,
    html::{MAX_TABLE_CELLS, span, too_many_cells},
};

/// Most entries a `.docx` may hold. Word writes about a dozen; a report with
/// images a few dozen.
pub const MAX_ENTRIES: u64 = 10_000;

/// Most bytes the main part may decompress to. A 100-page report's
/// `document.xml` is a few MiB.
pub const MAX_MAIN_PART_BYTES: u64 = 32 * 1024 * 1024;

/// Most bytes styles, numbering or a relationships part may decompress to.
pub const MAX_AUX_PART_BYTES: u64 = 4 * 1024 * 1024;

/// Deepest XML nesting read. Word nests a dozen elements, six more per table
/// inside a table.
pub const MAX_XML_DEPTH: usize = 512;

/// Deepest nesting of tables inside table cells.
pub const MAX_TABLE_DEPTH: usize = 32;

/// The magic of an OLE2 compound file: legacy `.doc`, `.wps`, `.xls`.
const OLE2_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Whether the bytes are a zip archive (a `.docx`, or some other zip).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Whether the bytes are an OLE2 compound file (legacy `.doc` / `.wps`).
pub fn is_ole2(bytes: &[u8]) -> bool {
    bytes.starts_with(OLE2_MAGIC)
}

fn damaged(reason: impl Into<String>) -> ImportError {
    ImportError::Damaged {
        format: "docx",
        reason: reason.into(),
    }
}

fn too_complex(what: String) -> ImportError {
    ImportError::TooComplex(what)
}

/// Reads a little-endian integer of `N` bytes at `at`.
fn le(bytes: &[u8], at: usize, n: usize) -> Option<u64> {
    let end = at.checked_add(n)?;
    let b = bytes.get(at..end)?;
    Some(b.iter().rev().fold(0u64, |v, x| (v << 8) | u64::from(*x)))
}

/// The entry counts the archive declares, in every end-of-central-directory
/// record it holds (zip and zip64): the zip crate sizes its directory by
/// them, so each is checked before the crate reads it.
fn check_declared_entries(bytes: &[u8]) -> Result<(), ImportError> {
    let refuse = |n: u64| {
        too_complex(format!(
            "压缩包声明有{n}个条目，上限{MAX_ENTRIES} — the zip declares {n} entries, more than the {MAX_ENTRIES} accepted"
        ))
    };
    for at in memchr::memmem::find_iter(bytes, b"PK\x05\x06") {
        // Entries on this disk, and in all.
        for n in [
            le(bytes, at.saturating_add(8), 2),
            le(bytes, at.saturating_add(10), 2),
        ]
        .into_iter()
        .flatten()
        {
            if n != 0xFFFF && n > MAX_ENTRIES {
                return Err(refuse(n));
            }
        }
    }
    for at in memchr::memmem::find_iter(bytes, b"PK\x06\x06") {
        for n in [
            le(bytes, at.saturating_add(24), 8),
            le(bytes, at.saturating_add(32), 8),
        ]
        .into_iter()
        .flatten()
        {
            if n > MAX_ENTRIES {
                return Err(refuse(n));
            }
        }
    }
    Ok(())
}

/// The zip archive, opened, with its entry count checked.
struct Package<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
}

impl<'a> Package<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self, ImportError> {
        check_declared_entries(bytes)?;
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
            damaged(format!(
                "不是可读的ZIP压缩包：{e} — not a readable zip archive: {e}"
            ))
        })?;
        if u64::try_from(zip.len()).unwrap_or(u64::MAX) > MAX_ENTRIES {
            return Err(too_complex(format!(
                "压缩包有{}个条目，上限{MAX_ENTRIES} — the zip holds {} entries, more than the {MAX_ENTRIES} accepted",
                zip.len(),
                zip.len()
            )));
        }
        Ok(Package { zip })
    }

    /// A part's bytes, at most `limit` decompressed; `None` when absent.
    fn part(&mut self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, ImportError> {
        let file = match self.zip.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => {
                return Err(damaged(format!(
                    "无法读取{name}：{e} — cannot read {name}: {e}"
                )));
            }
        };
        let bomb = || {
            too_complex(format!(
                "{name}解压后超过{limit}字节 — {name} decompresses to more than the {limit} bytes accepted"
            ))
        };
        // The declared size refuses an honest bomb at once; the read bound
        // refuses one whose header lies.
        if file.size() > limit {
            return Err(bomb());
        }
        let mut out = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0));
        file.take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| {
                damaged(format!(
                    "{name}解压失败：{e} — {name} does not decompress: {e}"
                ))
            })?;
        if u64::try_from(out.len()).unwrap_or(u64::MAX) > limit {
            return Err(bomb());
        }
        Ok(Some(out))
    }

    /// A part's text (see [`part_text`]), at most `limit` bytes
    /// decompressed; `None` when absent.
    fn text(&mut self, name: &str, limit: u64) -> Result<Option<String>, ImportError> {
        self.part(name, limit)?
            .map(|bytes| part_text(name, bytes))
            .transpose()
    }
}

/// A part's text: UTF-8 (with or without a BOM), or UTF-16 with a BOM.
fn part_text(name: &str, mut bytes: Vec<u8>) -> Result<String, ImportError> {
    if let Some((encoding, _)) = encoding_rs::Encoding::for_bom(&bytes)
        && encoding != encoding_rs::UTF_8
    {
        let (text, _, bad) = encoding.decode(&bytes);
        if bad {
            return Err(damaged(format!(
                "{name}不是有效的UTF-16文本 — {name} is not valid UTF-16"
            )));
        }
        return Ok(text.into_owned());
    }
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    // Moved, not copied: the main part is the largest thing read.
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        damaged(format!(
            "{name}第{at}字节起不是UTF-8 — {name} is not UTF-8 from byte {at}"
        ))
    })
}

fn xml_error(name: &str, reader: &Reader<&[u8]>, e: impl std::fmt::Display) -> ImportError {
    let at = reader.error_position();
    damaged(format!(
        "{name}的XML在第{at}字节处有误：{e} — {name} is not well-formed XML at byte {at}: {e}"
    ))
}

/// A qualified name's local part (`w:tbl` → `tbl`), by a plain scan: names
/// are a few bytes, and memchr's set-up (as quick-xml's `local_name` runs
/// it) cost more than the scan, once per tag of the document.
fn local(name: &[u8]) -> &[u8] {
    // Word's own prefix, `w:`, is one letter: looked for first.
    if let [_, b':', rest @ ..] = name {
        return rest;
    }
    name.iter()
        .position(|b| *b == b':')
        .and_then(|at| name.get(at.saturating_add(1)..))
        .unwrap_or(name)
}

/// The value of an attribute by local name (`w:val` → `val`).
fn attr<'x>(e: &'x BytesStart<'_>, name: &[u8]) -> Option<Cow<'x, str>> {
    // Without the duplicate check: it keeps a list of the keys seen, and
    // Word never repeats an attribute.
    e.attributes().with_checks(false).flatten().find_map(|a| {
        (local(a.key.as_ref()) == name).then(|| match a.value {
            Cow::Borrowed(b) => String::from_utf8_lossy(b),
            Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
        })
    })
}

/// Reads a part with quick-xml, handing each start (with whether it is
/// empty) and end to `f`, and counting depth against [`MAX_XML_DEPTH`].
fn walk(
    name: &str,
    text: &str,
    mut on: impl FnMut(XmlEvent<'_, '_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut depth = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| xml_error(name, &reader, e))?;
        match event {
            Event::Start(e) => {
                depth = depth.saturating_add(1);
                if depth > MAX_XML_DEPTH {
                    return Err(too_complex(format!(
                        "{name}的XML嵌套超过{MAX_XML_DEPTH}层 — {name} nests XML more than {MAX_XML_DEPTH} deep"
                    )));
                }
                on(XmlEvent::Start(&e, local(e.name().as_ref()), false))?;
            }
            Event::Empty(e) => on(XmlEvent::Start(&e, local(e.name().as_ref()), true))?,
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                on(XmlEvent::End(local(e.name().as_ref())))?;
            }
            Event::Text(t) => {
                let t = t.decode().map_err(|e| xml_error(name, &reader, e))?;
                on(XmlEvent::Text(&t))?;
            }
            Event::CData(t) => {
                let t = t.decode().map_err(|e| xml_error(name, &reader, e))?;
                on(XmlEvent::Text(&t))?;
            }
            Event::GeneralRef(r) => {
                let c = match r
                    .resolve_char_ref()
                    .map_err(|e| xml_error(name, &reader, e))?
                {
                    Some(c) => Some(c),
                    None => match &*r {
                        b"amp" => Some('&'),
                        b"lt" => Some('<'),
                        b"gt" => Some('>'),
                        b"quot" => Some('"'),
                        b"apos" => Some('\''),
                        // Word declares no entities: an unknown one is dropped.
                        _ => None,
                    },
                };
                if let Some(c) = c {
                    let mut buf = [0u8; 4];
                    on(XmlEvent::Text(c.encode_utf8(&mut buf)))?;
                }
            }
            Event::Eof => return Ok(()),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

enum XmlEvent<'e, 'x> {
    /// A start tag, its local name, and whether it is also its end
    /// (`<w:br/>`).
    Start(&'e BytesStart<'x>, &'e [u8], bool),
    /// An end tag's local name.
    End(&'e [u8]),
    Text(&'e str),
}

// ------------------------------------------------------------ relationships

/// The targets of a relationships part whose type ends in `kind`, resolved
/// against `base` (the folder of the part they belong to).
fn relationship(rels: &str, kind: &str, base: &str) -> Result<Option<String>, ImportError> {
    let mut found = None;
    walk("relationships", rels, |e| {
        if let XmlEvent::Start(e, name, _) = e
            && found.is_none()
            && name == b"Relationship"
            && attr(e, b"Type").is_some_and(|t| t.ends_with(kind))
            && attr(e, b"TargetMode").is_none_or(|m| m != "External")
            && let Some(target) = attr(e, b"Target")
        {
            found = Some(resolve(base, &target));
        }
        Ok(())
    })?;
    Ok(found)
}

/// A relationship target resolved to a zip entry name.
fn resolve(base: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if let Some(abs) = target.strip_prefix('/') {
        return abs.to_owned();
    } else {
        base.split('/').filter(|p| !p.is_empty()).collect()
    };
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

// ------------------------------------------------------------ styles

/// What a paragraph style says about headings and numbering.
#[derive(Clone, Debug, Default)]
struct Style {
    based_on: Option<String>,
    heading: bool,
    num: Option<(String, usize)>,
}

/// Whether a style name is a heading's: Word's built-in `heading N` (also
/// in the localized names WPS writes) and `Title`.
fn heading_name(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    n.starts_with("heading") || n.starts_with("标题") || n == "title"
}

/// What a paragraph style means once `basedOn` is followed: whether it is a
/// heading, and its list numbering.
type Resolved = (bool, Option<(String, usize)>);

/// The paragraph styles, each resolved once (not once per paragraph).
fn read_styles(text: &str) -> Result<HashMap<String, Resolved>, ImportError> {
    let mut styles = HashMap::new();
    let mut current: Option<(String, Style)> = None;
    let mut num_id: Option<String> = None;
    let mut ilvl = 0usize;
    walk("styles.xml", text, |e| {
        match e {
            // By local name (`w:style` → `style`), whatever its prefix.
            XmlEvent::Start(e, name, empty) => match name {
                b"style" if attr(e, b"type").is_none_or(|t| t == "paragraph") => {
                    if let Some(id) = attr(e, b"styleId") {
                        current = Some((id.into_owned(), Style::default()));
                    }
                    if empty {
                        current = None;
                    }
                }
                b"name" => {
                    if let (Some((_, s)), Some(v)) = (current.as_mut(), attr(e, b"val")) {
                        s.heading |= heading_name(&v);
                    }
                }
                b"basedOn" => {
                    if let (Some((_, s)), Some(v)) = (current.as_mut(), attr(e, b"val")) {
                        s.based_on = Some(v.into_owned());
                    }
                }
                b"outlineLvl" => {
                    if let (Some((_, s)), Some(v)) = (current.as_mut(), attr(e, b"val")) {
                        // 9 is body text.
                        s.heading |= v.parse::<u8>().is_ok_and(|l| l < 9);
                    }
                }
                b"numId" if current.is_some() => num_id = attr(e, b"val").map(Cow::into_owned),
                b"ilvl" if current.is_some() => {
                    ilvl = attr(e, b"val").and_then(|v| v.parse().ok()).unwrap_or(0);
                }
                _ => {}
            },
            XmlEvent::End(name) => match name {
                b"numPr" => {
                    if let (Some((_, s)), Some(id)) = (current.as_mut(), num_id.take()) {
                        s.num = Some((id, ilvl));
                    }
                    ilvl = 0;
                }
                b"style" => {
                    if let Some((id, s)) = current.take() {
                        styles.insert(id, s);
                    }
                }
                _ => {}
            },
            XmlEvent::Text(_) => {}
        }
        Ok(())
    })?;
    Ok(styles
        .keys()
        .map(|id| (id.clone(), style_of(&styles, id)))
        .collect())
}

/// A style's heading flag and numbering, following `basedOn` (at most ten
/// steps: a cycle ends there).
fn style_of(styles: &HashMap<String, Style>, id: &str) -> (bool, Option<(String, usize)>) {
    let (mut heading, mut num) = (false, None);
    let mut at = Some(id);
    for _ in 0..10 {
        let Some(s) = at.and_then(|id| styles.get(id)) else {
            break;
        };
        heading |= s.heading;
        if num.is_none() {
            num.clone_from(&s.num);
        }
        at = s.based_on.as_deref();
    }
    (heading, num)
}

// ------------------------------------------------------------ numbering

/// One level of a list definition.
#[derive(Clone, Debug, Default)]
struct Level {
    start: u32,
    format: String,
    text: String,
}

/// List definitions: `w:num` → its abstract definition's levels.
#[derive(Debug, Default)]
struct Numbering {
    abstracts: HashMap<String, Vec<Level>>,
    nums: HashMap<String, String>,
    /// Counters per num id, per level.
    counters: HashMap<String, [u32; 9]>,
}

fn read_numbering(text: &str) -> Result<Numbering, ImportError> {
    let mut n = Numbering::default();
    let mut abstract_id: Option<String> = None;
    let mut levels: Vec<Level> = Vec::new();
    let mut level: Option<(usize, Level)> = None;
    let mut num_id: Option<String> = None;
    walk("numbering.xml", text, |e| {
        match e {
            XmlEvent::Start(e, name, _) => match name {
                b"abstractNum" => {
                    abstract_id = attr(e, b"abstractNumId").map(Cow::into_owned);
                    levels = vec![Level::default(); 9];
                }
                b"lvl" if abstract_id.is_some() => {
                    let i = attr(e, b"ilvl")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0usize);
                    level = Some((
                        i,
                        Level {
                            start: 1,
                            ..Level::default()
                        },
                    ));
                }
                b"start" => {
                    if let (Some((_, l)), Some(v)) = (level.as_mut(), attr(e, b"val")) {
                        l.start = v.parse().unwrap_or(1);
                    }
                }
                b"numFmt" => {
                    if let (Some((_, l)), Some(v)) = (level.as_mut(), attr(e, b"val")) {
                        l.format = v.into_owned();
                    }
                }
                b"lvlText" => {
                    if let (Some((_, l)), Some(v)) = (level.as_mut(), attr(e, b"val")) {
                        l.text = v.into_owned();
                    }
                }
                b"num" => num_id = attr(e, b"numId").map(Cow::into_owned),
                b"abstractNumId" => {
                    if let (Some(id), Some(v)) = (num_id.as_ref(), attr(e, b"val")) {
                        n.nums.insert(id.clone(), v.into_owned());
                    }
                }
                _ => {}
            },
            XmlEvent::End(name) => match name {
                b"lvl" => {
                    if let Some((i, l)) = level.take()
                        && let Some(slot) = levels.get_mut(i)
                    {
                        *slot = l;
                    }
                }
                b"abstractNum" => {
                    if let Some(id) = abstract_id.take() {
                        n.abstracts.insert(id, std::mem::take(&mut levels));
                    }
                }
                b"num" => num_id = None,
                _ => {}
            },
            XmlEvent::Text(_) => {}
        }
        Ok(())
    })?;
    Ok(n)
}

/// 1..=99 in Chinese numerals, as 一、 and （十一） print them.
fn chinese(n: u32) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let digit = |d: u32| {
        DIGITS
            .get(usize::try_from(d).unwrap_or(0))
            .copied()
            .unwrap_or("")
    };
    match n {
        0..=9 => digit(n).to_owned(),
        10..=19 => format!("十{}", if n == 10 { "" } else { digit(n % 10) }),
        20..=99 => format!(
            "{}十{}",
            digit(n / 10),
            if n.is_multiple_of(10) {
                ""
            } else {
                digit(n % 10)
            }
        ),
        _ => n.to_string(),
    }
}

fn format_number(n: u32, format: &str) -> String {
    match format {
        "chineseCounting"
        | "chineseCountingThousand"
        | "ideographTraditional"
        | "japaneseCounting"
        | "taiwaneseCounting"
        | "chineseLegalSimplified" => chinese(n),
        "decimalFullWidth" | "decimalFullWidth2" => n
            .to_string()
            .chars()
            .map(|c| char::from_u32(u32::from(c).saturating_add(0xFEE0)).unwrap_or(c))
            .collect(),
        "upperLetter" | "lowerLetter" => {
            let base = if format == "upperLetter" { b'A' } else { b'a' };
            let i = u8::try_from(n.saturating_sub(1) % 26).unwrap_or(0);
            char::from(base.saturating_add(i)).to_string()
        }
        "decimalEnclosedCircle" | "decimalEnclosedCircleChinese" if (1..=20).contains(&n) => {
            char::from_u32(0x245F_u32.saturating_add(n)).map_or_else(|| n.to_string(), String::from)
        }
        "bullet" | "none" => String::new(),
        _ => n.to_string(),
    }
}

impl Numbering {
    /// The number a paragraph of list `num` at level `ilvl` shows, counting
    /// it ("一、", "（二）", "3."); empty for bullets and unknown lists.
    fn next(&mut self, num: &str, ilvl: usize) -> String {
        let Some(levels) = self.nums.get(num).and_then(|a| self.abstracts.get(a)) else {
            return String::new();
        };
        let ilvl = ilvl.min(8);
        let counters = self.counters.entry(num.to_owned()).or_insert([0; 9]);
        for (i, c) in counters.iter_mut().enumerate() {
            let start = levels.get(i).map_or(1, |l| l.start);
            if i == ilvl {
                *c = if *c == 0 { start } else { c.saturating_add(1) };
            } else if i > ilvl {
                *c = 0;
            } else if *c == 0 {
                *c = start;
            }
        }
        let Some(level) = levels.get(ilvl) else {
            return String::new();
        };
        if level.format == "bullet" || level.format == "none" {
            return String::new();
        }
        let mut out = level.text.clone();
        for (i, l) in levels.iter().enumerate().take(9) {
            let placeholder = format!("%{}", i.saturating_add(1));
            if out.contains(&placeholder) {
                let value = counters.get(i).copied().unwrap_or(0);
                out = out.replace(&placeholder, &format_number(value, &l.format));
            }
        }
        out
    }
}

// ------------------------------------------------------------ the document

/// A cell of a table being read.
#[derive(Debug, Default)]
struct Cell {
    /// What it holds as blocks: its paragraphs' lines, and the rows of
    /// tables inside it (read only when the table it is in lays out the page).
    blocks: Vec<Block>,
    span: usize,
    /// `w:vMerge` or `w:hMerge` continuing the cell before it.
    continued: bool,
}

impl Cell {
    /// Its text in a data table: its lines joined by a space.
    fn text(self) -> String {
        let mut lines = self.blocks.into_iter().filter_map(|b| match b {
            Block::Text(t) | Block::Heading(t) => Some(t),
            Block::Row(_) | Block::DocumentTitle(_) => None,
        });
        let mut text = lines.next().unwrap_or_default();
        for l in lines {
            text.push(' ');
            text.push_str(&l);
        }
        text
    }
}

/// A table being read.
#[derive(Debug, Default)]
struct Table {
    rows: Vec<(usize, Vec<Cell>)>,
    /// Holds another table: it lays out the page.
    layout: bool,
}

/// A paragraph being read.
#[derive(Debug, Default)]
struct Paragraph {
    lines: Vec<String>,
    line: String,
    /// Its style says it is a heading.
    style_heading: bool,
    /// Its style's list numbering.
    style_num: Option<(String, usize)>,
    num: Option<(Option<String>, usize)>,
    outline: bool,
}

/// Whether an element's content is never the report's text.
fn skipped(name: &[u8]) -> bool {
    matches!(
        name,
        b"delText"
            | b"instrText"
            | b"delInstrText"
            | b"drawing"
            | b"pict"
            | b"object"
            | b"Fallback"
            | b"sdtPr"
            | b"sdtEndPr"
            | b"rPr"
            | b"oMath"
            | b"oMathPara"
            | b"footnoteReference"
            | b"endnoteReference"
            | b"commentReference"
    )
}

struct Reading<'s> {
    styles: &'s HashMap<String, Resolved>,
    numbering: Numbering,
    out: Vec<Block>,
    tables: Vec<Table>,
    paragraph: Option<Paragraph>,
    /// A skipped element open: the depth inside it. quick-xml refuses an
    /// end tag that does not match its start, so the depth alone finds the
    /// element's end.
    skipping: Option<usize>,
    /// The last `w:pStyle`'s attributes and the style they named.
    last_style: Option<(Vec<u8>, Option<&'s Resolved>)>,
    in_tc_pr: bool,
    in_tr_pr: bool,
    in_p_pr: bool,
    in_num_pr: bool,
    /// Inside a `w:t`: only its text is the document's (white space between
    /// elements, as an indenting writer leaves it, is not).
    in_text: bool,
    cells: usize,
}

impl Reading<'_> {
    /// Where finished blocks go: the open cell of the innermost table, else
    /// the document.
    fn sink(&mut self) -> &mut Vec<Block> {
        match self
            .tables
            .last_mut()
            .and_then(|t| t.rows.last_mut())
            .and_then(|(_, r)| r.last_mut())
        {
            Some(cell) => &mut cell.blocks,
            None => &mut self.out,
        }
    }

    fn cell(&mut self) -> Option<&mut Cell> {
        self.tables
            .last_mut()
            .and_then(|t| t.rows.last_mut())
            .and_then(|(_, r)| r.last_mut())
    }

    fn start(&mut self, e: &BytesStart<'_>, name: &[u8], empty: bool) -> Result<(), ImportError> {
        if let Some(depth) = self.skipping.as_mut() {
            if !empty {
                *depth = depth.saturating_add(1);
            }
            return Ok(());
        }
        if skipped(name) {
            if !empty {
                self.skipping = Some(0);
            }
            return Ok(());
        }
        match name {
            b"tbl" => {
                if self.tables.len() >= MAX_TABLE_DEPTH {
                    return Err(too_complex(format!(
                        "表格嵌套超过{MAX_TABLE_DEPTH}层 — tables nested more than {MAX_TABLE_DEPTH} deep"
                    )));
                }
                if let Some(outer) = self.tables.last_mut() {
                    outer.layout = true;
                }
                // An empty table holds nothing to lay out.
                if !empty {
                    self.tables.push(Table::default());
                }
            }
            b"tr" => {
                if let Some(t) = self.tables.last_mut() {
                    t.rows.push((0, Vec::new()));
                }
            }
            b"trPr" => self.in_tr_pr = !empty,
            b"gridBefore" if self.in_tr_pr => {
                let n = span(attr(e, b"val").as_deref());
                if let Some((before, _)) = self.tables.last_mut().and_then(|t| t.rows.last_mut()) {
                    *before = n;
                }
            }
            b"tc" => {
                if let Some((_, row)) = self.tables.last_mut().and_then(|t| t.rows.last_mut()) {
                    row.push(Cell {
                        span: 1,
                        ..Cell::default()
                    });
                }
            }
            b"tcPr" => self.in_tc_pr = !empty,
            b"gridSpan" if self.in_tc_pr => {
                let n = span(attr(e, b"val").as_deref());
                if let Some(c) = self.cell() {
                    c.span = n;
                }
            }
            // No value is "continue" (WPS writes it so).
            b"vMerge" | b"hMerge" if self.in_tc_pr => {
                let restart = attr(e, b"val").is_some_and(|v| v == "restart");
                if let Some(c) = self.cell() {
                    c.continued = !restart;
                }
            }
            b"t" => self.in_text = !empty,
            // An empty paragraph holds nothing.
            b"p" if !empty => self.paragraph = Some(Paragraph::default()),
            b"pPr" => self.in_p_pr = !empty,
            b"pStyle" if self.in_p_pr => {
                // Paragraphs in a run mostly share their style: the same
                // attributes, byte for byte, are the style looked up last.
                let raw = e.attributes_raw();
                let style = match &self.last_style {
                    Some((last, style)) if last.as_slice() == raw => *style,
                    _ => {
                        let style = attr(e, b"val").and_then(|v| self.styles.get(&*v));
                        self.last_style = Some((raw.to_vec(), style));
                        style
                    }
                };
                if let (Some(p), Some((heading, num))) = (self.paragraph.as_mut(), style) {
                    p.style_heading = *heading;
                    p.style_num.clone_from(num);
                }
            }
            b"outlineLvl" if self.in_p_pr => {
                if let (Some(p), Some(v)) = (self.paragraph.as_mut(), attr(e, b"val")) {
                    p.outline = v.parse::<u8>().is_ok_and(|l| l < 9);
                }
            }
            b"numPr" if self.in_p_pr => {
                self.in_num_pr = !empty;
                if let Some(p) = self.paragraph.as_mut() {
                    p.num = Some((None, 0));
                }
            }
            b"numId" if self.in_num_pr => {
                if let (Some(p), Some(v)) = (self.paragraph.as_mut(), attr(e, b"val")) {
                    p.num.get_or_insert((None, 0)).0 = Some(v.into_owned());
                }
            }
            b"ilvl" if self.in_num_pr => {
                if let Some(p) = self.paragraph.as_mut() {
                    p.num.get_or_insert((None, 0)).1 =
                        attr(e, b"val").and_then(|v| v.parse().ok()).unwrap_or(0);
                }
            }
            b"tab" | b"ptab" if !self.in_p_pr => self.push(" "),
            b"br" | b"cr" => {
                if let Some(p) = self.paragraph.as_mut() {
                    let line = std::mem::take(&mut p.line);
                    p.lines.push(line);
                }
            }
            b"noBreakHyphen" => self.push("-"),
            _ => {}
        }
        // An empty element has no end to read: each flag above is set to
        // `!empty`, and an empty paragraph or table is not opened.
        Ok(())
    }

    fn text(&mut self, t: &str) {
        if self.skipping.is_some() || !self.in_text {
            return;
        }
        self.push(t);
    }

    /// Adds text to the open paragraph.
    fn push(&mut self, t: &str) {
        if let Some(p) = self.paragraph.as_mut() {
            p.line.push_str(t);
        }
    }

    fn end(&mut self, name: &[u8]) -> Result<(), ImportError> {
        if let Some(depth) = self.skipping.as_mut() {
            match depth.checked_sub(1) {
                Some(inner) => *depth = inner,
                None => self.skipping = None,
            }
            return Ok(());
        }
        match name {
            b"t" => self.in_text = false,
            b"trPr" => self.in_tr_pr = false,
            b"tcPr" => self.in_tc_pr = false,
            b"pPr" => self.in_p_pr = false,
            b"numPr" => self.in_num_pr = false,
            b"p" => {
                if let Some(p) = self.paragraph.take() {
                    self.finish_paragraph(p);
                }
            }
            b"tbl" => {
                if let Some(t) = self.tables.pop() {
                    let blocks = self.lay_out(t)?;
                    self.sink().extend(blocks);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish_paragraph(&mut self, mut p: Paragraph) {
        let (style_heading, style_num) = (p.style_heading, p.style_num.take());
        // Direct numbering wins; numId 0 turns the style's off.
        let num = match p.num.take() {
            Some((Some(id), lvl)) => Some((id, lvl)),
            Some((None, lvl)) => style_num.map(|(id, _)| (id, lvl)),
            None => style_num,
        }
        .filter(|(id, _)| id != "0");
        let mut prefix = num.map(|(id, lvl)| self.numbering.next(&id, lvl));
        let heading = style_heading || p.outline;
        // In a cell the lines are kept once, as blocks: a data table joins
        // them into its cell's text, a layout table reads them as lines.
        let in_cell = self.cell().is_some();
        let sink = self.sink();
        // The lines a break ended, then the last (most paragraphs have one).
        for l in p.lines.into_iter().chain(std::iter::once(p.line)) {
            // Most lines hold no surrounding space: kept as they are.
            let t = l.trim();
            if t.is_empty() {
                continue;
            }
            let mut l = if t.len() == l.len() { l } else { t.to_owned() };
            // The list number goes before the first line that has text.
            if let Some(prefix) = prefix.take() {
                l.insert_str(0, &prefix);
            }
            sink.push(if heading && !in_cell {
                Block::Heading(l)
            } else {
                Block::Text(l)
            });
        }
    }

    /// A finished table as blocks: its rows on a grid when it holds data,
    /// its cells' blocks in reading order when it lays out the page.
    fn lay_out(&mut self, table: Table) -> Result<Vec<Block>, ImportError> {
        let mut out = Vec::new();
        if table.layout {
            for (_, row) in table.rows {
                for cell in row {
                    out.extend(cell.blocks);
                }
            }
            return Ok(out);
        }
        // Every grid position laid out counts, the empty ones a row skips
        // (`w:gridBefore`) too.
        let mut lay = |cells: usize| {
            self.cells = self.cells.saturating_add(cells);
            if self.cells > MAX_TABLE_CELLS {
                return Err(too_many_cells());
            }
            Ok(())
        };
        for (before, row) in table.rows {
            lay(before)?;
            let mut line: Vec<String> = vec![String::new(); before];
            for cell in row {
                lay(cell.span)?;
                let width = line.len().saturating_add(cell.span);
                line.push(if cell.continued {
                    String::new()
                } else {
                    cell.text()
                });
                line.resize(width, String::new());
            }
            if line.iter().any(|c| !c.is_empty()) {
                out.push(Block::Row(line));
            }
        }
        Ok(out)
    }
}

/// Reads a `.docx` into blocks.
pub fn from_docx(bytes: &[u8]) -> Result<Vec<Block>, ImportError> {
    let mut package = Package::open(bytes)?;
    let main = match package.text("_rels/.rels", MAX_AUX_PART_BYTES)? {
        Some(rels) => relationship(&rels, "/officeDocument", "")?,
        None => None,
    }
    .unwrap_or_else(|| "word/document.xml".to_owned());
    let Some(document) = package.text(&main, MAX_MAIN_PART_BYTES)? else {
        return Err(ImportError::NotAReport(format!(
            "ZIP压缩包中没有{main}，不是Word文档 — a zip archive without {main} is not a Word document"
        )));
    };
    let folder = main.rsplit_once('/').map_or("", |(f, _)| f).to_owned();
    let rels_name = format!(
        "{folder}/_rels/{}.rels",
        main.rsplit('/').next().unwrap_or("")
    );
    let doc_rels = package.text(&rels_name, MAX_AUX_PART_BYTES)?;
    let aux = |package: &mut Package<'_>, kind: &str, default: &str| {
        let name = match &doc_rels {
            Some(r) => relationship(r, kind, &folder)?,
            None => None,
        }
        .unwrap_or_else(|| format!("{folder}/{default}"));
        package.text(&name, MAX_AUX_PART_BYTES)
    };
    let styles = match aux(&mut package, "/styles", "styles.xml")? {
        Some(t) => read_styles(&t)?,
        None => HashMap::new(),
    };
    let numbering = match aux(&mut package, "/numbering", "numbering.xml")? {
        Some(t) => read_numbering(&t)?,
        None => Numbering::default(),
    };
    read_document(&main, &document, &styles, numbering)
}

/// Reads the main part's XML into blocks.
fn read_document(
    name: &str,
    text: &str,
    styles: &HashMap<String, Resolved>,
    numbering: Numbering,
) -> Result<Vec<Block>, ImportError> {
    let mut r = Reading {
        styles,
        numbering,
        out: Vec::new(),
        tables: Vec::new(),
        paragraph: None,
        skipping: None,
        last_style: None,
        in_tc_pr: false,
        in_tr_pr: false,
        in_p_pr: false,
        in_num_pr: false,
        in_text: false,
        cells: 0,
    };
    walk(name, text, |e| match e {
        XmlEvent::Start(e, name, empty) => r.start(e, name, empty),
        XmlEvent::End(name) => r.end(name),
        XmlEvent::Text(t) => {
            r.text(t);
            Ok(())
        }
    })?;
    // Tables a damaged document leaves open still hold what was read.
    while let Some(t) = r.tables.pop() {
        let blocks = r.lay_out(t)?;
        r.sink().extend(blocks);
    }
    Ok(r.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_word_shows_them() {
        assert_eq!(chinese(1), "一");
        assert_eq!(chinese(10), "十");
        assert_eq!(chinese(11), "十一");
        assert_eq!(chinese(23), "二十三");
        assert_eq!(format_number(3, "decimalFullWidth"), "３");
        assert_eq!(format_number(2, "decimalEnclosedCircle"), "②");
    }

    #[test]
    fn relationship_targets_resolve_against_their_folder() {
        assert_eq!(resolve("word", "styles.xml"), "word/styles.xml");
        assert_eq!(resolve("word", "../customXml/x.xml"), "customXml/x.xml");
        assert_eq!(resolve("", "/word/document.xml"), "word/document.xml");
    }

    #[test]
    fn only_text_inside_w_t_is_read_not_indentation_between_runs() {
        let xml = "<w:document xmlns:w=\"w\"><w:body>\n  <w:tbl>\n    <w:tr>\n      <w:tc>\n        <w:p>\n          <w:r>\n            <w:t>7</w:t>\n          </w:r>\n          <w:r><w:t xml:space=\"preserve\">8 </w:t></w:r>\n          <w:r><w:tab/><w:t>件</w:t></w:r>\n        </w:p>\n      </w:tc>\n    </w:tr>\n  </w:tbl>\n</w:body></w:document>";
        let out = read_document("document.xml", xml, &HashMap::new(), Numbering::default());
        assert_eq!(out.unwrap(), vec![Block::Row(vec!["78  件".into()])]);
    }

    #[test]
    fn each_paragraph_has_its_own_style_when_styles_alternate_and_repeat() {
        let styles: HashMap<String, Resolved> = [
            ("H".to_owned(), (true, None)),
            ("Body".to_owned(), (false, None)),
        ]
        .into_iter()
        .collect();
        let para = |style: &str, text: &str| {
            format!(
                "<w:p><w:pPr><w:pStyle w:val=\"{style}\"/></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>"
            )
        };
        let body: String = [
            para("H", "一、总体情况"),
            para("Body", "甲"),
            para("Body", "乙"),
            para("H", "二、主动公开"),
            para("Missing", "丙"),
            para("H", "三、收到和处理"),
        ]
        .concat();
        let xml = format!("<w:document xmlns:w=\"w\"><w:body>{body}</w:body></w:document>");
        let out = read_document("document.xml", &xml, &styles, Numbering::default());
        assert_eq!(
            out.unwrap(),
            vec![
                Block::Heading("一、总体情况".into()),
                Block::Text("甲".into()),
                Block::Text("乙".into()),
                Block::Heading("二、主动公开".into()),
                Block::Text("丙".into()),
                Block::Heading("三、收到和处理".into()),
            ]
        );
    }

    #[test]
    fn legacy_and_zip_magic_are_told_apart() {
        assert!(is_ole2(&[
            0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0
        ]));
        assert!(is_zip(b"PK\x03\x04rest"));
        assert!(!is_zip(b"<html>"));
    }
}
