//! HTML pages as government sites publish them: the report inside page
//! chrome (navigation, footers, scripts), headings as `<h*>` or
//! `<p><strong>`, tables with rowspan / colspan and `&nbsp;` cells.
//!
//! Tokenized with html5ever's tokenizer (character references, raw-text
//! elements, attributes as the standard reads them). No DOM is built: a
//! report page needs only where elements open and close, so [`Events`]
//! keeps a stack of the elements that matter (blocks, tables, chrome) and
//! closes them as the tree builder would (`<td>` closes the open cell, an end
//! tag closes what was opened after its element, within its scope). Building
//! html5ever's tree cost more than tokenizing the page, for nothing the
//! reader uses. The events are then read twice without recursion: once to
//! find layout tables and chrome that holds a table, once to read. Content
//! a table holds outside its cells is read as before the table, where the
//! tree builder moves it. A test reads generated sloppy pages both ways,
//! through these events and through html5ever's tree, and requires the same
//! blocks.

use std::{cell::RefCell, collections::HashMap};

use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
    states::RawKind,
};

use crate::{ImportError, blocks::Block};

/// Most elements a page may have. A real report page has a few thousand; a
/// page past this is refused before it is parsed, so parsing time and memory
/// stay bounded.
pub const MAX_ELEMENTS: usize = 200_000;

/// Largest colspan / rowspan honoured (the HTML standard's colspan limit;
/// also `w:gridSpan`'s in docx.rs, Word's own limit being 63 columns).
const MAX_SPAN: usize = 1000;

/// Most cells one table may expand to once spans are laid out (HTML and
/// docx alike).
pub(crate) const MAX_TABLE_CELLS: usize = 1_000_000;

/// Elements whose content is never the report.
const SKIPPED_TAGS: &[&str] = &[
    "head", "title", "script", "style", "noscript", "template", "nav", "header", "footer",
    "iframe", "svg", "math", "select", "button", "form", "object",
];

/// Words in a class or id that mark page chrome.
const CHROME_MARKERS: &[&str] = &[
    "nav",
    "menu",
    "header",
    "footer",
    "breadcrumb",
    "crumb",
    "sidebar",
    "copyright",
    "share",
    "print",
    "toolbar",
    "position",
];

/// Most parsing work a page may ask for, as elements × nesting depth: the
/// reader looks down its stack of open elements for end tags, implied
/// closes and scopes, so a page's reading cost grows with both. Real report pages stay
/// far below it (a few thousand elements, a few dozen deep).
pub const MAX_PARSE_WORK: usize = 50_000_000;

/// Elements that never hold others.
const VOID_TAGS: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "basefont", "bgsound", "frame",
];

/// How far down the open tags an end tag is looked for: one that matches
/// none of them (`</x>`) closes nothing, as in the parser.
const CLOSE_WINDOW: usize = 256;

/// Start tags and the deepest nesting, estimated from the tags alone without
/// parsing: `<name` opens unless void or self-closed; `</name` closes the
/// nearest open `name` (within [`CLOSE_WINDOW`]) and what was opened after
/// it, and closes nothing when none is open, as html5ever ignores it. Tags a
/// sloppy page leaves open count as open, so the depth is an upper bound.
fn shape_estimate(text: &str) -> (usize, usize) {
    let b = text.as_bytes();
    let (mut elements, mut deepest) = (0usize, 0usize);
    let mut open: Vec<&[u8]> = Vec::new();
    let mut i = 0usize;
    while let Some(off) = b
        .get(i..)
        .and_then(|rest| rest.iter().position(|&c| c == b'<'))
    {
        i = i.saturating_add(off).saturating_add(1);
        match b.get(i) {
            Some(c) if c.is_ascii_alphabetic() => {
                let name_end = b
                    .get(i..)
                    .and_then(|r| r.iter().position(|c| !c.is_ascii_alphanumeric()))
                    .map_or(b.len(), |n| i.saturating_add(n));
                let name = b.get(i..name_end).unwrap_or_default();
                let close = b
                    .get(name_end..)
                    .and_then(|r| r.iter().position(|&c| c == b'>'))
                    .map_or(b.len(), |n| name_end.saturating_add(n));
                let self_closed = close > 0 && b.get(close.saturating_sub(1)) == Some(&b'/');
                elements = elements.saturating_add(1);
                if elements > MAX_ELEMENTS {
                    // Refused anyway; the scan need go no further.
                    break;
                }
                if !self_closed
                    && !VOID_TAGS
                        .iter()
                        .any(|v| v.as_bytes().eq_ignore_ascii_case(name))
                {
                    open.push(name);
                    deepest = deepest.max(open.len());
                }
            }
            Some(b'/') => {
                let start = i.saturating_add(1);
                let name_end = b
                    .get(start..)
                    .and_then(|r| r.iter().position(|c| !c.is_ascii_alphanumeric()))
                    .map_or(b.len(), |n| start.saturating_add(n));
                let name = b.get(start..name_end).unwrap_or_default();
                let floor = open.len().saturating_sub(CLOSE_WINDOW);
                if let Some(at) = open
                    .get(floor..)
                    .and_then(|w| w.iter().rposition(|o| o.eq_ignore_ascii_case(name)))
                {
                    open.truncate(floor.saturating_add(at));
                }
            }
            _ => {}
        }
    }
    (elements, deepest)
}

/// Whether text looks like an HTML page or fragment: it starts with a tag, or
/// its first 12 KiB (about 4,000 characters of Chinese) hold a tag that opens
/// a table, body, paragraph, div or heading.
pub fn looks_like_html(text: &str) -> bool {
    const MARKERS: [&[u8]; 8] = [
        b"<table", b"<body", b"<p>", b"<p ", b"<div", b"<h1", b"<h2", b"<h3",
    ];
    let t = text.trim_start().as_bytes();
    let head = t.get(..t.len().min(12 * 1024)).unwrap_or(t);
    let starts_with_tag = head.first() == Some(&b'<')
        && head
            .get(1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'!');
    // Only where a '<' stands: plain text (most documents) costs one scan.
    starts_with_tag
        || head.iter().enumerate().any(|(i, b)| {
            *b == b'<'
                && MARKERS.iter().any(|m| {
                    head.get(i..i.saturating_add(m.len()))
                        .is_some_and(|w| w.eq_ignore_ascii_case(m))
                })
        })
}

/// What the reader keeps of an element.
#[derive(Debug)]
struct Element {
    name: html5ever::LocalName,
    /// A skipped tag, or a class or id naming page chrome.
    chrome: bool,
    rowspan: usize,
    colspan: usize,
}

impl Element {
    fn name(&self) -> &str {
        &self.name
    }

    fn skipped_tag(&self) -> bool {
        SKIPPED_TAGS.contains(&self.name())
    }
}

/// Whether `hay` holds `needle` (ASCII), ignoring ASCII case.
fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// A span attribute's value: 1 when absent or unreadable, at most [`MAX_SPAN`].
pub(crate) fn span(value: Option<&str>) -> usize {
    value
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_SPAN)
}

fn element(tag: &html5ever::tokenizer::Tag) -> Element {
    let (mut rowspan, mut colspan, mut marked) = (None, None, false);
    for a in &tag.attrs {
        match &*a.name.local {
            "class" | "id" => {
                marked |= CHROME_MARKERS
                    .iter()
                    .any(|m| contains_ignore_case(&a.value, m));
            }
            "rowspan" => rowspan = Some(&*a.value),
            "colspan" => colspan = Some(&*a.value),
            _ => {}
        }
    }
    Element {
        chrome: marked || SKIPPED_TAGS.contains(&&*tag.name),
        rowspan: span(rowspan),
        colspan: span(colspan),
        name: tag.name.clone(),
    }
}

/// An element without attributes (one the tree builder implies).
fn element_named(name: html5ever::LocalName) -> Element {
    Element {
        name,
        chrome: false,
        rowspan: 1,
        colspan: 1,
    }
}

/// Elements that end a line of text.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "ul"
            | "ol"
            | "section"
            | "article"
            | "main"
            | "body"
            | "blockquote"
            | "pre"
            | "dl"
            | "dt"
            | "dd"
            | "center"
            | "table"
            | "tr"
            | "td"
            | "th"
            | "caption"
            | "hr"
            | "br"
    )
}

/// Phrasing elements: they neither end a line nor hold a table, so unless
/// they mark chrome they are not tracked at all, and a page that leaves one
/// open (or closes one twice) disturbs nothing.
fn is_inline(name: &str) -> bool {
    matches!(
        name,
        "a" | "abbr"
            | "b"
            | "bdi"
            | "bdo"
            | "big"
            | "cite"
            | "code"
            | "data"
            | "dfn"
            | "em"
            | "font"
            | "i"
            | "kbd"
            | "label"
            | "mark"
            | "nobr"
            | "q"
            | "rp"
            | "rt"
            | "ruby"
            | "s"
            | "samp"
            | "small"
            | "span"
            | "strike"
            | "strong"
            | "sub"
            | "sup"
            | "time"
            | "tt"
            | "u"
            | "var"
    ) || name.contains(':')
}

/// Elements an end tag for a block does not close through (the standard's
/// "scope" boundaries).
fn is_scope_boundary(name: &str) -> bool {
    matches!(
        name,
        "table" | "td" | "th" | "caption" | "html" | "template" | "object" | "applet" | "marquee"
    )
}

const HEADINGS: &[&str] = &["h1", "h2", "h3", "h4", "h5", "h6"];

/// Start tags that end an open paragraph (the standard's list; `table` is
/// handled with the table's own rules).
fn closes_paragraph(name: &str) -> bool {
    HEADINGS.contains(&name)
        || matches!(
            name,
            "address"
                | "article"
                | "aside"
                | "blockquote"
                | "center"
                | "details"
                | "dialog"
                | "dir"
                | "div"
                | "dl"
                | "fieldset"
                | "figcaption"
                | "figure"
                | "footer"
                | "header"
                | "hgroup"
                | "main"
                | "menu"
                | "nav"
                | "ol"
                | "p"
                | "search"
                | "section"
                | "summary"
                | "ul"
                | "pre"
                | "listing"
                | "form"
                | "li"
                | "dd"
                | "dt"
                | "plaintext"
                | "hr"
                | "xmp"
        )
}

/// HTML start tags that end foreign content (the standard's list; `font`
/// only with attributes, which is not told apart here).
fn breaks_out_of_foreign(name: &str) -> bool {
    matches!(
        name,
        "b" | "big"
            | "blockquote"
            | "body"
            | "br"
            | "center"
            | "code"
            | "dd"
            | "div"
            | "dl"
            | "dt"
            | "em"
            | "embed"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "head"
            | "hr"
            | "i"
            | "img"
            | "li"
            | "listing"
            | "menu"
            | "meta"
            | "nobr"
            | "ol"
            | "p"
            | "pre"
            | "ruby"
            | "s"
            | "small"
            | "span"
            | "strong"
            | "strike"
            | "sub"
            | "sup"
            | "table"
            | "tt"
            | "u"
            | "ul"
            | "var"
    )
}

/// Elements that never hold others.
fn is_void(name: &str) -> bool {
    VOID_TAGS.contains(&name)
}

/// What reading the page sees: elements opening and closing, properly
/// nested, and the text between them.
#[derive(Debug)]
enum Event {
    Open(usize),
    Close(usize),
    /// A run of text: its place in [`Events::text`].
    Text(std::ops::Range<usize>),
}

/// An element on the stack of open elements.
struct Open {
    id: usize,
    inline: bool,
}

/// Turns tokens into [`Event`]s.
#[derive(Default)]
struct Events {
    elements: Vec<Element>,
    events: Vec<Event>,
    /// The page's text, one run after another (one buffer, not a string
    /// per run).
    text: String,
    stack: Vec<Open>,
    /// Open `<svg>` / `<math>`: inside them `<x/>` closes itself.
    foreign: usize,
    /// What a table holds outside its cells, by the table's element: the
    /// tree builder moves it before the table ("foster parenting"), and
    /// [`Events::finish`] puts it there.
    fostered: HashMap<usize, Vec<Event>>,
    /// Fostered elements open now: events go to their table's list.
    fostering: Vec<Foster>,
    /// Text read in a table outside its cells: fostered if any of it is not
    /// white space, as the tree builder decides at the next tag.
    table_text: String,
}

/// A fostered element: the table it stands before, and its place on the
/// stack (it ends when the stack is shorter).
struct Foster {
    table: usize,
    depth: usize,
}

impl Events {
    fn name(&self, open: &Open) -> &str {
        self.elements.get(open.id).map_or("", Element::name)
    }

    /// Adds an event to the page, or to the events fostered before a table.
    fn emit(&mut self, event: Event) {
        let list = match self.fostering.last() {
            Some(f) => self.fostered.entry(f.table).or_default(),
            None => &mut self.events,
        };
        match (list.last_mut(), &event) {
            (Some(Event::Text(run)), Event::Text(more)) if run.end == more.start => {
                run.end = more.end;
            }
            _ => list.push(event),
        }
    }

    /// The table whose rows and bodies the stack's top is, if it is one of
    /// them: what opens there outside a cell is fostered.
    fn table_context(&self) -> Option<usize> {
        let top = self.stack.last()?;
        if !matches!(self.name(top), "table" | "tbody" | "thead" | "tfoot" | "tr") {
            return None;
        }
        let at = self.find(&["table"], |_, _| false)?;
        self.stack.get(at).map(|o| o.id)
    }

    /// Sends what follows, up to the end of the element about to open at
    /// the stack's top, before `table`.
    fn foster(&mut self, table: usize) {
        self.fostering.push(Foster {
            table,
            depth: self.stack.len(),
        });
    }

    /// Text read in a table outside its cells goes where the tree builder
    /// puts it, now that a tag ends it.
    fn settle_table_text(&mut self) {
        if self.table_text.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.table_text);
        let table = self.table_context();
        // White space as HTML counts it: a no-break space is text.
        let fostered = pending.bytes().any(|b| !b.is_ascii_whitespace());
        match table {
            Some(t) if fostered => {
                self.foster(t);
                self.push_text(&pending);
                self.fostering.pop();
            }
            _ => self.push_text(&pending),
        }
    }

    fn open(&mut self, el: Element, inline: bool) {
        let id = self.elements.len();
        if matches!(el.name(), "svg" | "math") {
            self.foreign = self.foreign.saturating_add(1);
        }
        self.elements.push(el);
        self.emit(Event::Open(id));
        self.stack.push(Open { id, inline });
    }

    /// An element that opens and closes at once (`<br>`, `</p>` unopened).
    fn empty(&mut self, el: Element) {
        let id = self.elements.len();
        self.elements.push(el);
        self.emit(Event::Open(id));
        self.emit(Event::Close(id));
    }

    /// An element an end tag makes (`</br>`, `</p>` unopened): in a table
    /// outside its cells, fostered like any other.
    fn empty_maybe_fostered(&mut self, el: Element) {
        let table = self.table_context();
        if let Some(t) = table {
            self.foster(t);
        }
        self.empty(el);
        if table.is_some() {
            self.fostering.pop();
        }
    }

    /// Closes the element at `at` on the stack and everything opened after it.
    fn close_from(&mut self, at: usize) {
        while self.stack.len() > at {
            if let Some(open) = self.stack.pop() {
                if matches!(self.name(&open), "svg" | "math") {
                    self.foreign = self.foreign.saturating_sub(1);
                }
                self.emit(Event::Close(open.id));
                // A fostered element's end: back to where events went.
                while self
                    .fostering
                    .last()
                    .is_some_and(|f| f.depth >= self.stack.len())
                {
                    self.fostering.pop();
                }
            }
        }
    }

    /// The events in the tree builder's order: each table's fostered
    /// events just before it (without recursion: fostered content may hold
    /// tables that foster too).
    fn finish(mut self) -> (Vec<Element>, Vec<Event>, String) {
        let mut out = Vec::with_capacity(self.events.len());
        let mut lists = vec![std::mem::take(&mut self.events).into_iter()];
        while let Some(list) = lists.last_mut() {
            match list.next() {
                None => {
                    lists.pop();
                }
                Some(Event::Open(id)) if self.fostered.contains_key(&id) => {
                    let before = self.fostered.remove(&id).unwrap_or_default();
                    lists.push(vec![Event::Open(id)].into_iter());
                    lists.push(before.into_iter());
                }
                Some(event) => out.push(event),
            }
        }
        (self.elements, out, self.text)
    }

    /// Where the nearest open element named one of `names` is on the stack,
    /// looking down no further than the first element `stop` holds for.
    fn find(&self, names: &[&str], stop: impl Fn(&str, &Open) -> bool) -> Option<usize> {
        for (i, open) in self.stack.iter().enumerate().rev() {
            let name = self.name(open);
            if names.contains(&name) {
                return Some(i);
            }
            if stop(name, open) {
                return None;
            }
        }
        None
    }

    fn in_table(&self) -> bool {
        self.find(&["table"], |_, _| false).is_some()
    }

    fn close_named(&mut self, names: &[&str], stop: impl Fn(&str, &Open) -> bool) {
        if let Some(at) = self.find(names, stop) {
            self.close_from(at);
        }
    }

    fn start(&mut self, tag: &html5ever::tokenizer::Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        // An HTML block or phrase inside <svg> or <math> ends them (an icon
        // left unclosed must not hide the rest of the page).
        if self.foreign > 0
            && breaks_out_of_foreign(name)
            && let Some(at) = self
                .stack
                .iter()
                .position(|o| matches!(self.name(o), "svg" | "math"))
        {
            self.close_from(at);
        }
        let table_scope = |n: &str, _: &Open| n == "table";
        match name {
            "td" | "th" | "tr" | "tbody" | "thead" | "tfoot" | "caption" => {
                // Outside a table these are ignored, as by the tree builder.
                if !self.in_table() {
                    return TokenSinkResult::Continue;
                }
                self.close_named(&["td", "th"], table_scope);
                if name != "td" && name != "th" {
                    self.close_named(&["tr"], table_scope);
                }
                if !matches!(name, "td" | "th" | "tr") {
                    self.close_named(&["tbody", "thead", "tfoot", "caption"], table_scope);
                }
                // What was fostered (opened in the table outside its cells)
                // ends here: the tree builder clears the stack back to the
                // row, the table body or the table.
                let context: &[&str] = match name {
                    "td" | "th" => &["tr", "tbody", "thead", "tfoot", "table"],
                    "tr" => &["tbody", "thead", "tfoot", "table"],
                    _ => &["table"],
                };
                if let Some(at) = self.find(context, |_, _| false) {
                    self.close_from(at.saturating_add(1));
                }
                // A cell straight inside a table is in a row the tree builder
                // makes for it.
                if matches!(name, "td" | "th") && self.find(&["tr"], table_scope).is_none() {
                    self.open(element_named(html5ever::LocalName::from("tr")), false);
                }
            }
            // A table opened in a table but outside its cells ends it; one
            // opened in a paragraph ends the paragraph (as in standards
            // mode, which report pages declare).
            "table" => {
                self.close_named(&["p"], |n, _| is_scope_boundary(n) || n == "button");
                if let Some(at) = self.find(&["table", "td", "th", "caption"], |_, _| false)
                    && self.stack.get(at).is_some_and(|o| self.name(o) == "table")
                {
                    self.close_from(at);
                }
            }
            _ if closes_paragraph(name) => {
                self.close_named(&["p"], |n, _| is_scope_boundary(n) || n == "button");
                match name {
                    // A list item closes the open one, looking past div and
                    // p but not past other blocks (the standard's "special"
                    // elements); dd and dt likewise.
                    "li" => self.close_named(&["li"], |n, o| {
                        !o.inline && !matches!(n, "address" | "div" | "p")
                    }),
                    "dd" | "dt" => self.close_named(&["dd", "dt"], |n, o| {
                        !o.inline && !matches!(n, "address" | "div" | "p")
                    }),
                    // A heading does not hold a heading.
                    _ if HEADINGS.contains(&name)
                        && self
                            .stack
                            .last()
                            .is_some_and(|o| HEADINGS.contains(&self.name(o))) =>
                    {
                        self.close_from(self.stack.len().saturating_sub(1));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        // In a table outside its cells (nothing in between but phrasing,
        // which is not tracked): what is not table structure is fostered.
        let table_context = self.table_context();
        let fostered = table_context.filter(|_| {
            !matches!(
                name,
                "caption"
                    | "colgroup"
                    | "col"
                    | "tbody"
                    | "tfoot"
                    | "thead"
                    | "td"
                    | "th"
                    | "tr"
                    | "table"
                    | "style"
                    | "script"
                    | "template"
                    | "input"
                    | "form"
            )
        });
        // A form there holds nothing: the tree builder closes it at once
        // (old pages wrap a table's rows in one).
        if table_context.is_some() && name == "form" {
            self.empty(element(tag));
            return TokenSinkResult::Continue;
        }
        if is_void(name) || (tag.self_closing && self.foreign > 0) {
            if matches!(name, "br" | "hr") {
                self.empty_maybe_fostered(element(tag));
            }
            return TokenSinkResult::Continue;
        }
        let el = element(tag);
        let inline = is_inline(name);
        // A phrasing element inside a chrome one of its name is tracked too,
        // so that its end tag does not end the chrome.
        let nested_in_chrome = || {
            self.stack.iter().any(|o| {
                o.inline
                    && self
                        .elements
                        .get(o.id)
                        .is_some_and(|e| e.chrome && e.name() == name)
            })
        };
        if !inline || el.chrome || nested_in_chrome() {
            if let Some(t) = fostered {
                self.foster(t);
            }
            self.open(el, inline);
        }
        match name {
            "script" => TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                TokenSinkResult::RawData(RawKind::Rawtext)
            }
            "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
            "plaintext" => TokenSinkResult::Plaintext,
            _ => TokenSinkResult::Continue,
        }
    }

    fn end(&mut self, tag: &html5ever::tokenizer::Tag) {
        let name: &str = &tag.name;
        match name {
            // Content after </body> is still the body's.
            "body" | "html" => {}
            "br" => self.empty_maybe_fostered(element(tag)),
            "td" | "th" | "tr" | "tbody" | "thead" | "tfoot" | "caption" => {
                self.close_named(&[name], |n, _| n == "table");
            }
            "table" => self.close_named(&["table"], |_, _| false),
            // Any heading's end tag ends the open heading.
            _ if HEADINGS.contains(&name) => {
                self.close_named(HEADINGS, |n, _| is_scope_boundary(n));
            }
            "p" => {
                let at = self.find(&["p"], |n, _| is_scope_boundary(n) || n == "button");
                match at {
                    Some(at) => self.close_from(at),
                    // </p> with no <p> open is an empty paragraph: a line end.
                    None => self.empty_maybe_fostered(element(tag)),
                }
            }
            _ if is_inline(name) => {
                self.close_named(&[name], |_, o| !o.inline);
            }
            _ => self.close_named(&[name], |n, _| is_scope_boundary(n)),
        }
    }

    fn text(&mut self, t: &str) {
        if self.table_context().is_some() {
            self.table_text.push_str(t);
        } else {
            self.push_text(t);
        }
    }

    fn push_text(&mut self, t: &str) {
        let start = self.text.len();
        self.text.push_str(t);
        let end = self.text.len();
        self.emit(Event::Text(start..end));
    }
}

/// The tokenizer's sink: it is called through `&self`.
struct Sink(RefCell<Events>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut ev = self.0.borrow_mut();
        if !matches!(token, Token::CharacterTokens(_) | Token::NullCharacterToken) {
            ev.settle_table_text();
        }
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => return ev.start(&tag),
                TagKind::EndTag => ev.end(&tag),
            },
            Token::CharacterTokens(t) => ev.text(&t),
            Token::EOFToken => ev.close_from(0),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// The page as events, the elements they name and the text they hold.
fn events(text: &str) -> (Vec<Element>, Vec<Event>, String) {
    let tokenizer = Tokenizer::new(
        Sink(RefCell::new(Events::default())),
        TokenizerOpts::default(),
    );
    let input = BufferQueue::default();
    input.push_back(text.into());
    // The sink never asks to stop for a script, so one feed reads it all.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.into_inner().finish()
}

/// Collapses runs of white space (other than no-break spaces kept as
/// published) to one space.
fn push_text(buf: &mut String, text: &str) {
    // Most text nodes are a run without white space: copied whole.
    if !text.bytes().any(|b| b.is_ascii_whitespace() || b == 0xe2) {
        buf.push_str(text);
        return;
    }
    for c in text.chars() {
        if c.is_ascii_whitespace() || c == '\u{200b}' {
            if !buf.ends_with(' ') && !buf.is_empty() {
                buf.push(' ');
            }
        } else {
            buf.push(c);
        }
    }
}

fn flush_line(buf: &mut String, out: &mut Vec<Block>) {
    let line = buf.trim_matches(|c: char| c.is_whitespace());
    if !line.is_empty() {
        out.push(Block::Text(line.to_owned()));
    }
    buf.clear();
}

/// A data table being read: rows of (text, rowspan, colspan).
#[derive(Default)]
struct TableGrid {
    rows: Vec<Vec<(String, usize, usize)>>,
}

impl TableGrid {
    /// Lays the cells out on a grid, merged cells flattened to empty ones
    /// after their first.
    fn flatten(self) -> Result<Vec<Vec<String>>, ImportError> {
        let mut out: Vec<Vec<String>> = Vec::with_capacity(self.rows.len());
        // Rows still covered by a rowspan from above, per column.
        let mut covered: Vec<usize> = Vec::new();
        let mut cells = 0usize;
        for row in self.rows {
            let mut line: Vec<String> = Vec::new();
            let mut col = 0usize;
            let taken = |line: &mut Vec<String>, col: &mut usize, covered: &mut Vec<usize>| {
                while covered.get(*col).is_some_and(|n| *n > 0) {
                    line.push(String::new());
                    *col = col.saturating_add(1);
                }
            };
            for (text, rowspan, colspan) in row {
                taken(&mut line, &mut col, &mut covered);
                // Checked before laying out: one row of wide cells must not
                // grow past the bound first.
                if cells.saturating_add(line.len()).saturating_add(colspan) > MAX_TABLE_CELLS {
                    return Err(too_many_cells());
                }
                // The cell's text, trimmed, in its first column; the columns
                // it spans after that are empty.
                let trimmed = text.trim_matches(char::is_whitespace);
                line.push(if trimmed.len() == text.len() {
                    text
                } else {
                    trimmed.to_owned()
                });
                line.extend(std::iter::repeat_n(
                    String::new(),
                    colspan.saturating_sub(1),
                ));
                for i in 0..colspan {
                    let at = col.saturating_add(i);
                    if covered.len() <= at {
                        covered.resize(at.saturating_add(1), 0);
                    }
                    if let Some(c) = covered.get_mut(at) {
                        *c = rowspan;
                    }
                }
                col = col.saturating_add(colspan);
            }
            // Columns to the right of the last cell (covered from above or
            // not): the row spans the whole grid, each in its own column.
            if line.len() < covered.len() {
                line.resize(covered.len(), String::new());
            }
            // Every rowspan counts this row.
            for c in &mut covered {
                *c = c.saturating_sub(1);
            }
            cells = cells.saturating_add(line.len());
            if cells > MAX_TABLE_CELLS {
                return Err(too_many_cells());
            }
            if line.iter().any(|c| !c.is_empty()) {
                out.push(line);
            }
        }
        Ok(out)
    }
}

pub(crate) fn too_many_cells() -> ImportError {
    ImportError::TooComplex(format!(
        "表格展开后超过{MAX_TABLE_CELLS}个单元格 — a table spans more than {MAX_TABLE_CELLS} cells once merged cells are laid out"
    ))
}

/// Reads an HTML page into blocks.
pub fn from_html(text: &str) -> Result<Vec<Block>, ImportError> {
    let (elements, depth) = shape_estimate(text);
    if elements > MAX_ELEMENTS {
        return Err(ImportError::TooComplex(format!(
            "页面约有{elements}个元素，上限{MAX_ELEMENTS} — the page has about {elements} elements, more than the {MAX_ELEMENTS} accepted"
        )));
    }
    if elements.saturating_mul(depth) > MAX_PARSE_WORK {
        return Err(ImportError::TooComplex(format!(
            "页面约有{elements}个元素、嵌套约{depth}层，超出解析上限 — the page has about {elements} elements nested about {depth} deep; elements × depth is more than the {MAX_PARSE_WORK} accepted"
        )));
    }
    let (elements, events, text) = events(text);
    read(&elements, &events, &text)
}

/// Reads the events of a page into blocks.
fn read(elements: &[Element], events: &[Event], text: &str) -> Result<Vec<Block>, ImportError> {
    let el = |id: usize| elements.get(id);

    // Tables that hold other tables lay out the page; only the innermost
    // tables are data. What looks like chrome but holds a table is not
    // chrome: sites wrap the article in `id="printContent"`, `class="…-header"`.
    let mut layout_table = vec![false; elements.len()];
    let mut not_chrome = vec![false; elements.len()];
    let mut open_tables: Vec<usize> = Vec::new();
    let mut open_chrome: Vec<usize> = Vec::new();
    for event in events {
        match event {
            Event::Open(id) => match el(*id) {
                Some(e) if e.name() == "table" => {
                    for t in &open_tables {
                        if let Some(flag) = layout_table.get_mut(*t) {
                            *flag = true;
                        }
                    }
                    for c in &open_chrome {
                        if let Some(flag) = not_chrome.get_mut(*c) {
                            *flag = true;
                        }
                    }
                    open_tables.push(*id);
                }
                Some(e) if e.chrome => open_chrome.push(*id),
                _ => {}
            },
            // What was pushed on opening is popped on closing.
            Event::Close(id) => {
                if open_tables.last() == Some(id) {
                    open_tables.pop();
                } else if open_chrome.last() == Some(id) {
                    open_chrome.pop();
                }
            }
            Event::Text(_) => {}
        }
    }

    let mut out = Vec::new();
    let mut line = String::new();
    let mut skipping: Option<usize> = None;
    let mut table: Option<(usize, TableGrid)> = None;
    let mut cell: Option<(String, usize, usize)> = None;
    // The page's <title> (the first), read though the head is skipped: some
    // pages state the year and agency nowhere else.
    let mut title_el: Option<usize> = None;
    let mut title = String::new();
    let mut titled = false;
    for event in events {
        match event {
            Event::Text(run) => {
                if title_el.is_some() {
                    push_text(&mut title, text.get(run.clone()).unwrap_or_default());
                }
                if skipping.is_some() {
                    continue;
                }
                let t = text.get(run.clone()).unwrap_or_default();
                match cell.as_mut() {
                    Some((buf, _, _)) => push_text(buf, t),
                    None => push_text(&mut line, t),
                }
            }
            Event::Open(id) => {
                if !titled && el(*id).is_some_and(|e| e.name() == "title") {
                    title_el = Some(*id);
                    titled = true;
                }
                if skipping.is_some() {
                    continue;
                }
                let Some(e) = el(*id) else { continue };
                // Inside a data table a class such as "table-header" is
                // styling, not chrome: only skipped tags are dropped there.
                let chrome = if table.is_some() {
                    e.skipped_tag()
                } else {
                    e.chrome
                };
                if chrome && !not_chrome.get(*id).copied().unwrap_or(false) {
                    skipping = Some(*id);
                    continue;
                }
                let name = e.name();
                let data_table = table.is_some();
                match name {
                    "table" if !layout_table.get(*id).copied().unwrap_or(false) => {
                        flush_line(&mut line, &mut out);
                        table = Some((*id, TableGrid::default()));
                    }
                    "tr" if data_table => {
                        if let Some((_, g)) = table.as_mut() {
                            g.rows.push(Vec::new());
                        }
                    }
                    "td" | "th" if data_table => {
                        cell = Some((String::new(), e.rowspan, e.colspan));
                    }
                    "br" | "p" | "div" if cell.is_some() => {
                        if let Some((buf, _, _)) = cell.as_mut() {
                            push_text(buf, " ");
                        }
                    }
                    _ if cell.is_none() && is_block(name) => {
                        flush_line(&mut line, &mut out);
                    }
                    _ => {}
                }
            }
            Event::Close(id) => {
                if title_el == Some(*id) {
                    title_el = None;
                }
                if let Some(skipped) = skipping {
                    if skipped == *id {
                        skipping = None;
                    }
                    continue;
                }
                let Some(e) = el(*id) else { continue };
                match e.name() {
                    "td" | "th" if cell.is_some() => {
                        if let (Some(c), Some((_, g))) = (cell.take(), table.as_mut()) {
                            match g.rows.last_mut() {
                                Some(row) => row.push(c),
                                // A cell outside any <tr>: a row of its own.
                                None => g.rows.push(vec![c]),
                            }
                        }
                    }
                    "table" if table.as_ref().is_some_and(|(t, _)| t == id) => {
                        if let Some((_, g)) = table.take() {
                            out.extend(g.flatten()?.into_iter().map(Block::Row));
                        }
                    }
                    name if cell.is_none() && is_block(name) => {
                        flush_line(&mut line, &mut out);
                    }
                    _ => {}
                }
            }
        }
    }
    flush_line(&mut line, &mut out);
    let title = title.trim();
    if !title.is_empty() {
        out.insert(0, Block::DocumentTitle(title.to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrome_is_skipped_and_paragraphs_are_lines() {
        let page = r#"<html><head><title>x</title><script>var a="一、总体情况";</script></head>
<body><div class="nav">首页 | 政务公开</div>
<div class="content"><p><strong>一、总体情况</strong></p><p>全年&nbsp;更新
831条。</p></div>
<div id="footer">版权所有</div></body></html>"#;
        let blocks = from_html(page).unwrap();
        // The page's <title> is kept apart from its text, first.
        assert_eq!(
            blocks,
            vec![
                Block::DocumentTitle("x".into()),
                Block::Text("一、总体情况".into()),
                Block::Text("全年\u{a0}更新 831条。".into()),
            ]
        );
    }

    #[test]
    fn chrome_that_holds_a_table_is_the_article() {
        let page = r#"<body><div class="header">首页</div><div id="printContent"><p>一、总体情况</p>
<table><tr><td>规章</td><td>0</td></tr></table></div><div class="footer">版权所有</div></body>"#;
        assert_eq!(
            from_html(page).unwrap(),
            vec![
                Block::Text("一、总体情况".into()),
                Block::Row(vec!["规章".into(), "0".into()]),
            ]
        );
    }

    #[test]
    fn classes_that_look_like_chrome_inside_a_data_table_are_kept() {
        let page = r#"<table><tr class="table-header"><th>信息内容</th><th>本年制发件数</th></tr><tr><td class="nav-cell">规章</td><td>0</td></tr></table>"#;
        assert_eq!(
            from_html(page).unwrap(),
            vec![
                Block::Row(vec!["信息内容".into(), "本年制发件数".into()]),
                Block::Row(vec!["规章".into(), "0".into()]),
            ]
        );
    }

    #[test]
    fn a_short_row_under_a_rowspan_keeps_every_column() {
        let page =
            "<table><tr><td>a</td><td>b</td><td rowspan=2>c</td></tr><tr><td>x</td></tr></table>";
        assert_eq!(
            from_html(page).unwrap(),
            vec![
                Block::Row(vec!["a".into(), "b".into(), "c".into()]),
                Block::Row(vec!["x".into(), "".into(), "".into()]),
            ]
        );
    }

    #[test]
    fn spans_are_laid_out_on_a_grid() {
        let page = "<table><tr><td rowspan=2>a</td><td colspan=2>b</td></tr><tr><td>c</td><td>&nbsp;</td></tr></table>";
        let blocks = from_html(page).unwrap();
        assert_eq!(
            blocks,
            vec![
                Block::Row(vec!["a".into(), "b".into(), "".into()]),
                Block::Row(vec!["".into(), "c".into(), "".into()]),
            ]
        );
    }

    #[test]
    fn layout_tables_are_read_as_text_around_their_data_tables() {
        let page = "<table><tr><td><p>一、总体情况</p><table><tr><td>规章</td><td>0</td></tr></table></td></tr></table>";
        let blocks = from_html(page).unwrap();
        assert_eq!(
            blocks,
            vec![
                Block::Text("一、总体情况".into()),
                Block::Row(vec!["规章".into(), "0".into()]),
            ]
        );
    }

    #[test]
    fn shape_is_estimated_from_tags() {
        assert_eq!(shape_estimate("<p>a<br>b<img src=x/></p><p>c</p>"), (4, 1));
        assert_eq!(shape_estimate("<div><div><span/></div></div>"), (3, 2));
        assert_eq!(shape_estimate("<P>a<BR>b<Img src=x></P>"), (3, 1));
        assert_eq!(shape_estimate("a < b, 1<2 </x>"), (0, 0));
    }

    #[test]
    fn too_many_elements_is_refused_before_parsing() {
        let page = "<div>".repeat(MAX_ELEMENTS + 1);
        assert!(matches!(from_html(&page), Err(ImportError::TooComplex(_))));
    }

    #[test]
    fn cells_and_rows_left_open_are_closed_by_the_next() {
        let page = "<table><tr><td>a<td>b<tr><td>c</table><p>after";
        assert_eq!(
            from_html(page).unwrap(),
            vec![
                Block::Row(vec!["a".into(), "b".into()]),
                Block::Row(vec!["c".into(), "".into()]),
                Block::Text("after".into()),
            ]
        );
    }

    #[test]
    fn raw_text_elements_hold_no_markup() {
        let page = "<title>宝清县人民政府</title><script>document.write('<table><tr><td>9</td></tr></table><p>');</script><p>正文</p><style>p{}</style>";
        assert_eq!(
            from_html(page).unwrap(),
            vec![
                Block::DocumentTitle("宝清县人民政府".into()),
                Block::Text("正文".into())
            ]
        );
    }

    #[test]
    fn an_end_tag_does_not_close_across_a_cell() {
        let page = "<div><table><tr><td>甲</div>乙</td><td>丙</td></tr></table>丁</div>";
        assert_eq!(
            from_html(page).unwrap(),
            vec![
                Block::Row(vec!["甲乙".into(), "丙".into()]),
                Block::Text("丁".into()),
            ]
        );
    }

    #[test]
    fn chrome_spans_end_at_their_own_end_tag() {
        let page = r#"<p>甲<span class="share">分享<span>微信</span>更多</span>乙</p>"#;
        assert_eq!(from_html(page).unwrap(), vec![Block::Text("甲乙".into())]);
    }

    #[test]
    fn paragraphs_end_where_blocks_start_and_at_stray_end_tags() {
        let page = "<p>甲<div>乙</div>丙</p>丁<td>戊</td>";
        assert_eq!(
            from_html(page).unwrap(),
            vec![
                Block::Text("甲".into()),
                Block::Text("乙".into()),
                Block::Text("丙".into()),
                Block::Text("丁戊".into()),
            ]
        );
    }

    #[test]
    fn what_a_table_holds_outside_its_cells_is_read_before_it() {
        let page = "<p>说明</p><table><tr><td>1</td></tr>注：单位为件<tr><td>2</td></tr><p class=\"nav\">首页</p></table>";
        assert_eq!(
            from_html(page).unwrap(),
            vec![
                Block::Text("说明".into()),
                Block::Text("注：单位为件".into()),
                Block::Row(vec!["1".into()]),
                Block::Row(vec!["2".into()]),
            ]
        );
    }

    #[test]
    fn rows_wrapped_in_a_form_are_the_table_s() {
        let page = "<table><form action=x><tr><td>规章</td><td>0</td></tr></form></table>";
        assert_eq!(
            from_html(page).unwrap(),
            vec![Block::Row(vec!["规章".into(), "0".into()])]
        );
    }

    /// html5ever's own tree of a page as events: every element, as the
    /// tree builder placed it.
    fn tree_events(page: &str) -> (Vec<Element>, Vec<Event>, String) {
        use ego_tree::iter::Edge;
        let html = scraper::Html::parse_document(page);
        let mut elements = Vec::new();
        let mut events = Vec::new();
        let mut text = String::new();
        let mut ids = HashMap::new();
        for edge in html.tree.root().traverse() {
            match edge {
                Edge::Open(n) => match n.value() {
                    scraper::Node::Text(t) => {
                        let start = text.len();
                        text.push_str(t);
                        match events.last_mut() {
                            Some(Event::Text(run)) if run.end == start => run.end = text.len(),
                            _ => events.push(Event::Text(start..text.len())),
                        }
                    }
                    scraper::Node::Element(el) => {
                        let attr =
                            |name: &str| el.attrs().find(|(n, _)| *n == name).map(|(_, v)| v);
                        let marked = el.attrs().any(|(n, v)| {
                            (n == "class" || n == "id")
                                && CHROME_MARKERS.iter().any(|m| contains_ignore_case(v, m))
                        });
                        ids.insert(n.id(), elements.len());
                        events.push(Event::Open(elements.len()));
                        elements.push(Element {
                            name: el.name.local.clone(),
                            chrome: marked || SKIPPED_TAGS.contains(&el.name()),
                            rowspan: span(attr("rowspan")),
                            colspan: span(attr("colspan")),
                        });
                    }
                    _ => {}
                },
                Edge::Close(n) => {
                    if let Some(id) = ids.get(&n.id()) {
                        events.push(Event::Close(*id));
                    }
                }
            }
        }
        (elements, events, text)
    }

    /// A page as sloppy sites write them: optional end tags left out, blocks
    /// in paragraphs, chrome by class, spans, line breaks, scripts.
    fn page() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let text = prop_oneof![
            Just("甲".to_owned()),
            Just("乙 丙".to_owned()),
            Just("\n".to_owned()),
            Just("<br>".to_owned()),
            Just("&nbsp;".to_owned()),
            Just("<script>var s='</div><td>';</script>".to_owned()),
            Just("</p>".to_owned()),
            Just("</div>".to_owned()),
            Just("<b>己<i>庚</b>辛</i>".to_owned()),
            Just("<td>戊</td>".to_owned()),
            Just("<p/>".to_owned()),
            Just("</br>".to_owned()),
            Just("<h3>辛".to_owned()),
            Just("<svg><text>壬<rect/></text></svg>".to_owned()),
            Just("<svg><circle/>癸<p>子".to_owned()),
        ];
        text.prop_recursive(4, 48, 6, |inner| {
            let kids = proptest::collection::vec(inner, 0..4).prop_map(|k| k.concat());
            let class = prop_oneof![
                Just(""),
                Just(r#" class="nav""#),
                Just(r#" id="printContent""#),
                Just(r#" class="share""#),
            ];
            prop_oneof![
                (kids.clone(), class.clone(), any::<bool>()).prop_map(|(k, c, close)| {
                    format!("<div{c}>{k}{}", if close { "</div>" } else { "" })
                }),
                (kids.clone(), any::<bool>())
                    .prop_map(|(k, close)| format!("<p>{k}{}", if close { "</p>" } else { "" })),
                (kids.clone(), class).prop_map(|(k, c)| format!("<span{c}>{k}</span>")),
                (kids.clone()).prop_map(|k| format!("<h2>{k}</h2>")),
                proptest::collection::vec(
                    (
                        proptest::collection::vec(kids.clone(), 1..4),
                        any::<bool>(),
                        any::<bool>()
                    ),
                    1..4
                )
                .prop_map(|rows| {
                    let mut t = String::from(if rows.len() == 2 {
                        "<table><tbody>"
                    } else {
                        "<table>"
                    });
                    for (cells, close_td, close_tr) in rows {
                        t.push_str("<tr>");
                        for (i, c) in cells.into_iter().enumerate() {
                            t.push_str(["<td>", "<th colspan=2>", "<td rowspan=\"2\">"][i % 3]);
                            t.push_str(&c);
                            if close_td {
                                t.push_str("</td>");
                            }
                        }
                        if close_tr {
                            t.push_str("</tr>");
                        }
                    }
                    t.push_str("</table>");
                    t
                }),
                (proptest::collection::vec(kids, 1..3), any::<bool>()).prop_map(
                    |(items, close)| {
                        let mut l = String::from("<ul>");
                        for i in items {
                            l.push_str("<li>");
                            l.push_str(&i);
                            if close {
                                l.push_str("</li>");
                            }
                        }
                        l.push_str("</ul>");
                        l
                    }
                ),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Reading the events gives the blocks that reading html5ever's
        /// tree of the page gives.
        #[test]
        fn events_read_as_the_tree_builder_s_tree(body in page()) {
            let page = format!("<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>");
            let (elements, events, text) = tree_events(&page);
            proptest::prop_assert_eq!(from_html(&page), read(&elements, &events, &text), "{}", page);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Any sequence of tags, opened and closed in any order, reads
        /// without a panic.
        #[test]
        fn tag_soup_reads_without_a_panic(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "<table>", "</table>", "<tr>", "</tr>", "<td rowspan=3>", "</td>", "<th colspan=9>",
                "<tbody>", "</tbody>", "<caption>", "<p>", "</p>", "<div class=nav>", "</div>",
                "<li>", "</li>", "<ul>", "</ul>", "<h2>", "</h3>", "<svg>", "</svg>", "<math>",
                "<circle/>", "<form>", "</form>", "<script>", "</script>", "<style>", "<b>",
                "</b>", "<span class=share>", "</span>", "<br>", "</br>", "<select>", "<option>",
                "<template>", "</template>", "<textarea>", "<title>", "<plaintext>", "<o:p>",
                "</o:p>", "甲", " ", "&nbsp;", "<!--", "-->", "<![CDATA[", "]]>", "</body>",
                "<body>", "</html>", "<head>", "<frameset>", "<noscript>", "<iframe>", "<dd>",
                "<dt>", "</dl>", "<hr/>", "<table/>",
            ]),
            0..200,
        )) {
            let page = parts.concat();
            let _ = from_html(&page);
        }
    }
}
