//! Walks a page's content: the glyphs it shows, where, and the straight lines
//! it draws (table rulings), in page space with y growing downwards.
//!
//! Only what reading needs is interpreted: the graphics state's matrix, the
//! text state, text-showing operators, path construction and painting, and
//! form XObjects (recursively, to a bounded depth). Every operator, also
//! inside a form drawn many times, counts against one budget for the whole
//! document, so a file cannot make the walk take more than bounded time.

use std::collections::HashMap;
use std::rc::Rc;

use hayro_syntax::content::TypedIter;
use hayro_syntax::content::ops::TypedInstruction as Op;
use hayro_syntax::object::{Array, Dict, Name, Object, ObjectIdentifier, Stream};
use hayro_syntax::page::{Page, Resources};

use super::fonts::{Code, Font, Unicode};

/// Most operators the walk performs over the whole document.
pub const MAX_OPERATORS: u64 = 2_000_000;
/// Most glyphs the document may show.
pub const MAX_GLYPHS: usize = 1_000_000;
/// Deepest nesting of form XObjects (and of q without Q).
pub const MAX_FORM_DEPTH: usize = 12;
const MAX_STATE_DEPTH: usize = 256;
/// Fonts one content stream remembers by name (see [`Pass::run`]).
const MAX_SELECTED_FONTS: usize = 32;

/// A glyph shown on a page, in page space (points, y downwards).
#[derive(Clone, Debug)]
pub struct Glyph {
    pub text: GlyphText,
    pub x0: f64,
    pub x1: f64,
    pub top: f64,
    pub bottom: f64,
    /// Its baseline (horizontal text), or its centre line (vertical).
    pub base: f64,
    pub size: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum GlyphText {
    Char(char),
    Text(String),
}

// Each runs for every glyph, from the layout (another codegen unit, where
// they were not inlined unasked).
impl Glyph {
    #[inline]
    pub fn center_x(&self) -> f64 {
        (self.x0 + self.x1) / 2.0
    }
    #[inline]
    pub fn center_y(&self) -> f64 {
        (self.top + self.bottom) / 2.0
    }
    #[inline]
    pub fn push_to(&self, out: &mut String) {
        match &self.text {
            GlyphText::Char(c) => out.push(*c),
            GlyphText::Text(s) => out.push_str(s),
        }
    }
    #[inline]
    pub fn first_char(&self) -> Option<char> {
        match &self.text {
            GlyphText::Char(c) => Some(*c),
            GlyphText::Text(s) => s.chars().next(),
        }
    }
    #[inline]
    pub fn is_space(&self) -> bool {
        match &self.text {
            GlyphText::Char(c) => c.is_whitespace(),
            GlyphText::Text(s) => s.chars().all(char::is_whitespace),
        }
    }
}

/// A horizontal or vertical line drawn on a page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    pub horizontal: bool,
    /// y of a horizontal line, x of a vertical one.
    pub at: f64,
    pub from: f64,
    pub to: f64,
}

/// What a page shows.
#[derive(Debug, Default)]
pub struct PageContent {
    pub width: f64,
    pub height: f64,
    pub glyphs: Vec<Glyph>,
    pub rules: Vec<Rule>,
    /// Images drawn.
    pub images: usize,
    /// Paths filled that are not rulings (e.g. text drawn as outlines).
    pub filled_shapes: usize,
}

/// Glyphs no Unicode could be found for, per font.
#[derive(Debug, Default)]
pub struct Undecodable {
    pub fonts: Vec<(String, usize)>,
}

impl Undecodable {
    fn add(&mut self, font: &str) {
        match self.fonts.iter_mut().find(|(f, _)| f == font) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => self.fonts.push((font.to_owned(), 1)),
        }
    }
}

/// Why the walk stopped.
#[derive(Debug)]
pub enum Exceeded {
    Operators,
    Glyphs,
}

type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// a × b: first a, then b.
fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

fn apply(m: &Matrix, x: f64, y: f64) -> (f64, f64) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

#[derive(Clone)]
struct State {
    ctm: Matrix,
    font: Option<Rc<Font>>,
    size: f64,
    char_spacing: f64,
    word_spacing: f64,
    scaling: f64,
    leading: f64,
    rise: f64,
}

impl Default for State {
    fn default() -> State {
        State {
            ctm: IDENTITY,
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scaling: 1.0,
            leading: 0.0,
            rise: 0.0,
        }
    }
}

/// The walk over a whole document: budgets and caches shared by its pages.
#[derive(Default)]
pub struct Walker {
    operators: u64,
    glyphs: usize,
    fonts: HashMap<ObjectIdentifier, Rc<Font>>,
    forms: HashMap<ObjectIdentifier, Rc<Vec<u8>>>,
    pub undecodable: Undecodable,
    codes: Vec<Code>,
}

/// The page being walked.
struct Pass<'w> {
    walker: &'w mut Walker,
    out: PageContent,
    /// User space → page space (y down).
    base: Matrix,
    path: Vec<Vec<(f64, f64)>>,
    curved: bool,
}

impl Walker {
    /// Walks one page.
    pub fn page(&mut self, page: &Page<'_>) -> Result<PageContent, Exceeded> {
        let media = page.media_box();
        let (width, height) = ((media.x1 - media.x0).abs(), (media.y1 - media.y0).abs());
        let base = [
            1.0,
            0.0,
            0.0,
            -1.0,
            -media.x0.min(media.x1),
            media.y0.max(media.y1),
        ];
        let mut pass = Pass {
            walker: self,
            out: PageContent {
                width,
                height,
                ..PageContent::default()
            },
            base,
            path: Vec::new(),
            curved: false,
        };
        // A content stream the gate did not measure is not decoded.
        let raw = page.raw();
        let contents = raw.get::<Stream<'_>>(b"Contents").into_iter().chain(
            raw.get::<Array<'_>>(b"Contents")
                .into_iter()
                .flat_map(|a| a.iter::<Stream<'_>>().collect::<Vec<_>>()),
        );
        let mut unmeasured = false;
        for s in contents {
            unmeasured |= super::gate::unmeasured(s.dict());
        }
        if !unmeasured && let Some(stream) = page.page_stream() {
            pass.run(stream, page.resources(), State::default(), 0)?;
        }
        Ok(pass.out)
    }
}

fn number(o: &Object<'_>) -> f64 {
    match o {
        Object::Number(n) => n.as_f64(),
        _ => 0.0,
    }
}

fn matrix(n: [&hayro_syntax::object::Number; 6]) -> Matrix {
    n.map(hayro_syntax::object::Number::as_f64)
}

fn finite(m: Matrix) -> Option<Matrix> {
    m.iter().all(|v| v.is_finite()).then_some(m)
}

impl Pass<'_> {
    fn run(
        &mut self,
        content: &[u8],
        resources: &Resources<'_>,
        initial: State,
        depth: usize,
    ) -> Result<(), Exceeded> {
        let mut stack: Vec<State> = Vec::new();
        let mut st = initial;
        let mut tm = IDENTITY;
        let mut tlm = IDENTITY;
        // The fonts this content has selected, by resource name: a stream
        // selects its few fonts again for every text object, and a name
        // always means the same font within one resource dictionary.
        let mut selected: Vec<(Vec<u8>, Option<Rc<Font>>)> = Vec::new();
        let mut ops = TypedIter::new(content);
        while let Some(op) = ops.next() {
            self.walker.operators = self.walker.operators.saturating_add(1);
            if self.walker.operators > MAX_OPERATORS {
                return Err(Exceeded::Operators);
            }
            match op {
                Op::SaveState(_) if stack.len() < MAX_STATE_DEPTH => stack.push(st.clone()),
                Op::SaveState(_) => {}
                Op::RestoreState(_) => {
                    if let Some(s) = stack.pop() {
                        st = s;
                    }
                }
                Op::Transform(t) => {
                    let m = matrix([&t.0, &t.1, &t.2, &t.3, &t.4, &t.5]);
                    if let Some(m) = finite(mul(&m, &st.ctm)) {
                        st.ctm = m;
                    }
                }
                Op::MoveTo(p) => {
                    let pt = self.point(&st, p.0.as_f64(), p.1.as_f64());
                    self.path.push(vec![pt]);
                }
                Op::LineTo(p) => self.line_to(&st, p.0.as_f64(), p.1.as_f64()),
                Op::CubicTo(c) => self.curve(&st, c.4.as_f64(), c.5.as_f64()),
                Op::CubicStartTo(c) => self.curve(&st, c.2.as_f64(), c.3.as_f64()),
                Op::CubicEndTo(c) => self.curve(&st, c.2.as_f64(), c.3.as_f64()),
                Op::ClosePath(_) => self.close(),
                Op::RectPath(r) => {
                    let (x, y, w, h) = (r.0.as_f64(), r.1.as_f64(), r.2.as_f64(), r.3.as_f64());
                    let corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)];
                    let sub = corners
                        .iter()
                        .map(|(x, y)| self.point(&st, *x, *y))
                        .collect();
                    self.path.push(sub);
                }
                Op::StrokePath(_) => self.paint(true, false),
                Op::CloseAndStrokePath(_) => {
                    self.close();
                    self.paint(true, false);
                }
                Op::FillPathNonZero(_)
                | Op::FillPathNonZeroCompatibility(_)
                | Op::FillPathEvenOdd(_) => self.paint(false, true),
                Op::FillAndStrokeNonZero(_) | Op::FillAndStrokeEvenOdd(_) => self.paint(true, true),
                Op::CloseFillAndStrokeNonZero(_) | Op::CloseFillAndStrokeEvenOdd(_) => {
                    self.close();
                    self.paint(true, true);
                }
                Op::EndPath(_) => {
                    self.path.clear();
                    self.curved = false;
                }
                Op::BeginText(_) => {
                    tm = IDENTITY;
                    tlm = IDENTITY;
                }
                Op::EndText(_) => {}
                Op::CharacterSpacing(v) => st.char_spacing = v.0.as_f64(),
                Op::WordSpacing(v) => st.word_spacing = v.0.as_f64(),
                Op::HorizontalScaling(v) => st.scaling = v.0.as_f64() / 100.0,
                Op::TextLeading(v) => st.leading = v.0.as_f64(),
                Op::TextRise(v) => st.rise = v.0.as_f64(),
                Op::TextFont(f) => {
                    st.size = f.1.as_f64();
                    let name: &[u8] = f.0;
                    st.font = match selected.iter().find(|(n, _)| n.as_slice() == name) {
                        Some((_, font)) => font.clone(),
                        None => {
                            let font = self.font(resources, f.0);
                            // Bounded, so a stream of many names stays linear.
                            if selected.len() < MAX_SELECTED_FONTS {
                                selected.push((name.to_vec(), font.clone()));
                            }
                            font
                        }
                    };
                }
                Op::NextLine(t) => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, t.0.as_f64(), t.1.as_f64()], &tlm);
                    tm = tlm;
                }
                Op::NextLineAndSetLeading(t) => {
                    st.leading = -t.1.as_f64();
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, t.0.as_f64(), t.1.as_f64()], &tlm);
                    tm = tlm;
                }
                Op::SetTextMatrix(t) => {
                    if let Some(m) = finite(matrix([&t.0, &t.1, &t.2, &t.3, &t.4, &t.5])) {
                        tm = m;
                        tlm = m;
                    }
                }
                Op::NextLineUsingLeading(_) => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -st.leading], &tlm);
                    tm = tlm;
                }
                Op::ShowText(s) => self.show(&st, &mut tm, s.0.as_bytes())?,
                Op::NextLineAndShowText(s) => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -st.leading], &tlm);
                    tm = tlm;
                    self.show(&st, &mut tm, s.0.as_bytes())?;
                }
                Op::ShowTextWithParameters(s) => {
                    st.word_spacing = s.0.as_f64();
                    st.char_spacing = s.1.as_f64();
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -st.leading], &tlm);
                    tm = tlm;
                    self.show(&st, &mut tm, s.2.as_bytes())?;
                }
                Op::ShowTexts(items) => self.show_array(&st, &mut tm, items.0)?,
                Op::XObject(name) => self.xobject(&st, resources, name.0, depth)?,
                Op::InlineImage(_) => self.out.images = self.out.images.saturating_add(1),
                _ => {}
            }
        }
        Ok(())
    }

    fn point(&self, st: &State, x: f64, y: f64) -> (f64, f64) {
        let m = mul(&st.ctm, &self.base);
        apply(&m, x, y)
    }

    /// Extends the current subpath to a point (at most 10,000 points a
    /// subpath: a ruling has two, a table cell five).
    fn line_to(&mut self, st: &State, x: f64, y: f64) {
        let pt = self.point(st, x, y);
        match self.path.last_mut() {
            Some(sub) if sub.len() < 10_000 => sub.push(pt),
            Some(_) => {}
            None => self.path.push(vec![pt]),
        }
    }

    /// A curve: only its end point is kept, and the path is no ruling.
    fn curve(&mut self, st: &State, x: f64, y: f64) {
        self.curved = true;
        self.line_to(st, x, y);
    }

    fn close(&mut self) {
        if let Some(sub) = self.path.last_mut()
            && let (Some(first), Some(last)) = (sub.first().copied(), sub.last().copied())
            && first != last
        {
            sub.push(first);
        }
    }

    /// Keeps the straight horizontal and vertical pieces of the path as
    /// rulings: stroked lines, and filled rectangles thin enough to be a line
    /// (Word and WPS draw cell borders so). Anything else filled is a shape.
    fn paint(&mut self, stroke: bool, fill: bool) {
        let path = std::mem::take(&mut self.path);
        let curved = std::mem::take(&mut self.curved);
        for sub in &path {
            if stroke {
                for w in sub.windows(2) {
                    if let Some(rule) = rule(w[0], w[1]) {
                        self.out.rules.push(rule);
                    }
                }
            }
            if fill && !stroke {
                match thin_rect(sub) {
                    Some(rule) => self.out.rules.push(rule),
                    None if curved || sub.len() > 5 => {
                        self.out.filled_shapes = self.out.filled_shapes.saturating_add(1);
                    }
                    None => {}
                }
            }
        }
    }

    fn font(&mut self, resources: &Resources<'_>, name: &Name<'_>) -> Option<Rc<Font>> {
        let raw = resources.fonts.get_ref(name);
        if let Some(id) = raw.map(|r| ObjectIdentifier::new(r.obj_number, r.gen_number))
            && let Some(font) = self.walker.fonts.get(&id)
        {
            return Some(font.clone());
        }
        let dict = resources.get_font(name)?;
        let font = Rc::new(Font::new(&dict));
        if let Some(r) = raw {
            self.walker.fonts.insert(
                ObjectIdentifier::new(r.obj_number, r.gen_number),
                font.clone(),
            );
        }
        Some(font)
    }

    fn show_array(
        &mut self,
        st: &State,
        tm: &mut Matrix,
        items: &Array<'_>,
    ) -> Result<(), Exceeded> {
        for item in items.iter::<Object<'_>>() {
            match item {
                Object::String(s) => self.show(st, tm, s.as_bytes())?,
                Object::Number(n) => {
                    let shift = -n.as_f64() / 1000.0 * st.size;
                    let vertical = st.font.as_ref().is_some_and(|f| f.vertical());
                    let (tx, ty) = if vertical {
                        (0.0, shift)
                    } else {
                        (shift * st.scaling, 0.0)
                    };
                    *tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, ty], tm);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn show(&mut self, st: &State, tm: &mut Matrix, bytes: &[u8]) -> Result<(), Exceeded> {
        let Some(font) = st.font.clone() else {
            return Ok(());
        };
        let mut codes = std::mem::take(&mut self.walker.codes);
        codes.clear();
        font.decode(bytes, &mut codes);
        let vertical = font.vertical();
        // Between glyphs the text matrix only moves (by each glyph's
        // advance): the glyph-to-page matrix is worked out once, and each
        // glyph's origin is the first one's moved by the advance so far.
        let to_page = mul(tm, &mul(&st.ctm, &self.base));
        let params = [st.size * st.scaling, 0.0, 0.0, st.size, 0.0, st.rise];
        let trm = mul(&params, &to_page);
        let size = (trm[2] * trm[2] + trm[3] * trm[3]).sqrt();
        // The advance so far, in text space.
        let (mut ax, mut ay) = (0.0f64, 0.0f64);
        for code in &codes {
            self.walker.glyphs = self.walker.glyphs.saturating_add(1);
            if self.walker.glyphs > MAX_GLYPHS {
                self.walker.codes = codes;
                return Err(Exceeded::Glyphs);
            }
            let ox = trm[4] + ax * to_page[0] + ay * to_page[2];
            let oy = trm[5] + ax * to_page[1] + ay * to_page[3];
            let text = match &code.unicode {
                Unicode::Char(c) if usable(*c) => Some(GlyphText::Char(*c)),
                Unicode::Text(s) if s.chars().all(usable) => Some(GlyphText::Text(s.clone())),
                _ => None,
            };
            match text {
                None => self.walker.undecodable.add(&font.name),
                Some(text) if size.is_finite() && ox.is_finite() && oy.is_finite() => {
                    let glyph = if vertical {
                        // The origin of a vertical glyph is its top centre.
                        Glyph {
                            text,
                            x0: ox - size / 2.0,
                            x1: ox + size / 2.0,
                            top: oy,
                            bottom: oy + size,
                            base: oy + size / 2.0,
                            size,
                        }
                    } else {
                        let ex = if code.width > 0.0 {
                            ox + trm[0] * code.width
                        } else {
                            ox + size * 0.5
                        };
                        Glyph {
                            text,
                            x0: ox.min(ex),
                            x1: ox.max(ex),
                            top: oy - size * 0.85,
                            bottom: oy + size * 0.15,
                            base: oy,
                            size,
                        }
                    };
                    self.out.glyphs.push(glyph);
                }
                Some(_) => {}
            }
            let spacing = st.char_spacing
                + if code.word_space {
                    st.word_spacing
                } else {
                    0.0
                };
            if vertical {
                ay += -(code.width * st.size) + spacing;
            } else {
                ax += (code.width * st.size + spacing) * st.scaling;
            }
        }
        *tm = mul(&[1.0, 0.0, 0.0, 1.0, ax, ay], tm);
        self.walker.codes = codes;
        Ok(())
    }

    fn xobject(
        &mut self,
        st: &State,
        resources: &Resources<'_>,
        name: &Name<'_>,
        depth: usize,
    ) -> Result<(), Exceeded> {
        let Some(stream) = resources.get_x_object(name) else {
            return Ok(());
        };
        let dict = stream.dict();
        match dict.get::<Name<'_>>(b"Subtype").as_deref() {
            Some(b"Image") => {
                self.out.images = self.out.images.saturating_add(1);
                Ok(())
            }
            Some(b"Form") if depth < MAX_FORM_DEPTH => {
                let Some(content) = self.form_content(&stream) else {
                    return Ok(());
                };
                let matrix = dict
                    .get::<Array<'_>>(b"Matrix")
                    .map(|a| {
                        let v: Vec<f64> =
                            a.iter::<Object<'_>>().take(6).map(|o| number(&o)).collect();
                        <[f64; 6]>::try_from(v).unwrap_or(IDENTITY)
                    })
                    .and_then(finite)
                    .unwrap_or(IDENTITY);
                let own = dict.get::<Dict<'_>>(b"Resources").map(Resources::new);
                let mut inner = st.clone();
                inner.ctm = mul(&matrix, &st.ctm);
                let saved = std::mem::take(&mut self.path);
                let result = self.run(
                    &content,
                    own.as_ref().unwrap_or(resources),
                    inner,
                    depth.saturating_add(1),
                );
                self.path = saved;
                result
            }
            _ => Ok(()),
        }
    }

    fn form_content(&mut self, stream: &Stream<'_>) -> Option<Rc<Vec<u8>>> {
        if super::gate::unmeasured(stream.dict()) {
            return None;
        }
        let id = stream.obj_id();
        if let Some(c) = self.walker.forms.get(&id) {
            return Some(c.clone());
        }
        let data = Rc::new(stream.decoded().ok()?.into_owned());
        self.walker.forms.insert(id, data.clone());
        Some(data)
    }
}

/// A character that can stand in text: not a control character, not the
/// replacement character, not a private-use code point (what a broken
/// ToUnicode map yields).
fn usable(c: char) -> bool {
    !(c.is_control() && c != '\t'
        || c == '\u{fffd}'
        || ('\u{e000}'..='\u{f8ff}').contains(&c)
        || ('\u{f0000}'..='\u{10ffff}').contains(&c))
}

/// A straight horizontal or vertical segment between two points.
fn rule(a: (f64, f64), b: (f64, f64)) -> Option<Rule> {
    let (dx, dy) = ((b.0 - a.0).abs(), (b.1 - a.1).abs());
    if !(dx.is_finite() && dy.is_finite()) {
        return None;
    }
    if dy <= 0.5 && dx > 1.0 {
        Some(Rule {
            horizontal: true,
            at: (a.1 + b.1) / 2.0,
            from: a.0.min(b.0),
            to: a.0.max(b.0),
        })
    } else if dx <= 0.5 && dy > 1.0 {
        Some(Rule {
            horizontal: false,
            at: (a.0 + b.0) / 2.0,
            from: a.1.min(b.1),
            to: a.1.max(b.1),
        })
    } else {
        None
    }
}

/// A filled axis-aligned rectangle at most 3 points thick, as the line along
/// its length.
fn thin_rect(sub: &[(f64, f64)]) -> Option<Rule> {
    if !(4..=5).contains(&sub.len()) {
        return None;
    }
    let xs = sub.iter().map(|p| p.0);
    let ys = sub.iter().map(|p| p.1);
    let (x0, x1) = (
        xs.clone().fold(f64::INFINITY, f64::min),
        xs.fold(f64::NEG_INFINITY, f64::max),
    );
    let (y0, y1) = (
        ys.clone().fold(f64::INFINITY, f64::min),
        ys.fold(f64::NEG_INFINITY, f64::max),
    );
    // Every corner on the box's edges: an axis-aligned rectangle.
    let on_box = sub.iter().all(|(x, y)| {
        ((x - x0).abs() < 0.01 || (x - x1).abs() < 0.01)
            && ((y - y0).abs() < 0.01 || (y - y1).abs() < 0.01)
    });
    if !on_box || !(x1 - x0).is_finite() || !(y1 - y0).is_finite() {
        return None;
    }
    let (w, h) = (x1 - x0, y1 - y0);
    if h <= 3.0 && w > h {
        Some(Rule {
            horizontal: true,
            at: (y0 + y1) / 2.0,
            from: x0,
            to: x1,
        })
    } else if w <= 3.0 && h > w {
        Some(Rule {
            horizontal: false,
            at: (x0 + x1) / 2.0,
            from: y0,
            to: y1,
        })
    } else {
        None
    }
}
