//! Import + check of the sample report, the checker's whole job for one
//! published text, in every layout it is published in. Baselines in the same
//! run: import alone, check alone, and a plain UTF-8 validation plus line
//! split of the same bytes (the floor any reader of this text pays); per
//! layout, import alone and import + check; for `.docx`, unzip + XML text
//! extraction of the same file with the same crates.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SAMPLE: &[u8] = include_bytes!("../../../testdata/reports/baoqing-county-2024.md");

/// The sample in each layout (testdata/reports/layouts/).
const LAYOUTS: [(&str, &[u8]); 7] = [
    ("tab-separated", SAMPLE),
    (
        "html",
        include_bytes!("../../../testdata/reports/layouts/baoqing-county-2024.html"),
    ),
    (
        "html-word",
        include_bytes!("../../../testdata/reports/layouts/baoqing-county-2024.word.html"),
    ),
    (
        "html-gbk",
        include_bytes!("../../../testdata/reports/layouts/baoqing-county-2024.gbk.html"),
    ),
    (
        "pipe-rows",
        include_bytes!("../../../testdata/reports/layouts/baoqing-county-2024.pipe.md"),
    ),
    (
        "cell-per-line",
        include_bytes!("../../../testdata/reports/layouts/baoqing-county-2024.cells.txt"),
    ),
    (
        "trial-2019",
        include_bytes!("../../../testdata/reports/layouts/baoqing-county-2020-trial.md"),
    ),
];

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sample_report");
    g.throughput(Throughput::Elements(1));
    g.bench_function("baseline_utf8_lines", |b| {
        b.iter(|| {
            let text = std::str::from_utf8(black_box(SAMPLE)).map(|t| t.lines().count());
            black_box(text)
        })
    });
    g.bench_function("import", |b| {
        b.iter(|| black_box(gongkai_document::import(black_box(SAMPLE))))
    });
    // A bench of a sample that does not import would time nothing.
    let report = gongkai_document::import(SAMPLE)
        .expect("the sample imports")
        .report;
    g.bench_function("check", |b| {
        b.iter(|| black_box(gongkai_domain::check_alone(black_box(&report))))
    });
    g.bench_function("import_and_check", |b| {
        b.iter(|| black_box(import_and_check(black_box(SAMPLE))))
    });
    g.finish();

    let mut g = c.benchmark_group("layouts");
    g.throughput(Throughput::Elements(1));
    for (name, bytes) in LAYOUTS {
        g.bench_function(format!("{name}/import"), |b| {
            b.iter(|| black_box(gongkai_document::import(black_box(bytes))))
        });
        g.bench_function(format!("{name}/import_and_check"), |b| {
            b.iter(|| black_box(import_and_check(black_box(bytes))))
        });
    }
    // The report alone as an HTML page (the official layout, rendered: no
    // page chrome, no CMS markup): the smallest page the sample can be.
    let rendered =
        gongkai_document::render::render(&report, gongkai_document::render::Target::Html);
    g.bench_function("html-rendered/import_and_check", |b| {
        b.iter(|| black_box(import_and_check(black_box(rendered.as_bytes()))))
    });
    g.bench_function("html-rendered/baseline_html5ever_tokenize", |b| {
        b.iter(|| black_box(count_tokens(black_box(&rendered))))
    });
    // The floor of the HTML layouts: html5ever's tokenizer reading the page
    // into a sink that only counts the tokens.
    let page = include_str!("../../../testdata/reports/layouts/baoqing-county-2024.html");
    g.bench_function("html/baseline_html5ever_tokenize", |b| {
        b.iter(|| black_box(count_tokens(black_box(page))))
    });
    // A Word file (the sample as LibreOffice writes it from the rendered
    // layout): import + check against the floor of reading it at all with
    // the same crates, unzipping the main part and pulling its text out with
    // quick-xml.
    let docx = include_bytes!("../../../testdata/reports/layouts/baoqing-county-2024.docx");
    g.bench_function("docx/import_and_check", |b| {
        b.iter(|| black_box(import_and_check(black_box(docx))))
    });
    g.bench_function("docx/baseline_unzip_xml_text", |b| {
        b.iter(|| black_box(docx_text(black_box(docx))))
    });
    // PDF: the sample as LibreOffice exports the rendered layout (ruled
    // tables, T3 over two pages), and the same without rulings. Baseline:
    // the chosen crates' bare text extraction of the same file.
    for (name, bytes) in [("pdf", SAMPLE_PDF), ("pdf-unruled", SAMPLE_PDF_UNRULED)] {
        g.bench_function(format!("{name}/import"), |b| {
            b.iter(|| black_box(gongkai_document::import(black_box(bytes))))
        });
        g.bench_function(format!("{name}/import_and_check"), |b| {
            b.iter(|| black_box(import_and_check(black_box(bytes))))
        });
        g.bench_function(format!("{name}/baseline_hayro_text"), |b| {
            b.iter(|| black_box(bare_text(black_box(bytes))))
        });
    }
    for (name, target) in [
        (
            "render/markdown",
            gongkai_document::render::Target::Markdown,
        ),
        ("render/html", gongkai_document::render::Target::Html),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(gongkai_document::render::render(black_box(&report), target)))
        });
    }
    g.finish();
}

/// What every `import_and_check` bench times: the document read, the
/// report checked on its own.
fn import_and_check(
    bytes: &[u8],
) -> Result<Vec<gongkai_domain::Finding>, gongkai_document::ImportError> {
    gongkai_document::import(bytes).map(|i| gongkai_domain::check_alone(&i.report))
}

const SAMPLE_PDF: &[u8] =
    include_bytes!("../../../testdata/reports/layouts/baoqing-county-2024.pdf");
const SAMPLE_PDF_UNRULED: &[u8] =
    include_bytes!("../../../testdata/reports/layouts/baoqing-county-2024.unruled.pdf");

/// Bare text extraction with the crates the importer is built on: the file
/// opened by hayro-syntax, each page's content decoded and its operators
/// walked, each shown string mapped through its font's ToUnicode map
/// (hayro-cmap; parsed once per font), the characters appended to one
/// string. No positions, no layout, no limits: the floor any reader of this
/// PDF pays.
fn bare_text(bytes: &[u8]) -> usize {
    use hayro_cmap::{BfString, CMap};
    use hayro_syntax::content::ops::TypedInstruction as Op;
    use hayro_syntax::object::{Name, Object, Stream};
    use std::collections::HashMap;
    let Ok(pdf) = hayro_syntax::Pdf::new(bytes.to_vec()) else {
        return 0;
    };
    let mut text = String::new();
    let mut maps: HashMap<Vec<u8>, Option<std::rc::Rc<(CMap, usize)>>> = HashMap::new();
    for page in pdf.pages().iter() {
        let resources = page.resources();
        let mut font: Option<std::rc::Rc<(CMap, usize)>> = None;
        let show = |font: &Option<std::rc::Rc<(CMap, usize)>>, bytes: &[u8], text: &mut String| {
            let Some(f) = font else { return };
            let (map, width) = &**f;
            for code in bytes.chunks(*width) {
                let code = code.iter().fold(0u32, |c, b| (c << 8) | u32::from(*b));
                match map.lookup_bf_string(code) {
                    Some(BfString::Char(c)) => text.push(c),
                    Some(BfString::String(s)) => text.push_str(&s),
                    None => {}
                }
            }
        };
        let mut ops = page.typed_operations();
        while let Some(op) = ops.next() {
            match op {
                Op::TextFont(f) => {
                    let key = f.0.to_vec();
                    font = maps
                        .entry(key)
                        .or_insert_with(|| {
                            let dict = resources.get_font(f.0)?;
                            let width = if dict.get::<Name<'_>>(b"Subtype").as_deref()
                                == Some(b"Type0".as_slice())
                            {
                                2
                            } else {
                                1
                            };
                            let data = dict.get::<Stream<'_>>(b"ToUnicode")?.decoded().ok()?;
                            Some(std::rc::Rc::new((CMap::parse(&data, |_| None)?, width)))
                        })
                        .clone();
                }
                Op::ShowText(s) => show(&font, s.0.as_bytes(), &mut text),
                Op::ShowTexts(a) => {
                    for item in a.0.iter::<Object<'_>>() {
                        if let Object::String(s) = item {
                            show(&font, s.as_bytes(), &mut text);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    text.len()
}

/// The bytes of text in a `.docx`'s main part: the zip crate unzips it,
/// quick-xml reads its events; nothing else.
fn docx_text(bytes: &[u8]) -> usize {
    use std::io::Read;
    let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return 0;
    };
    let mut xml = String::new();
    if let Ok(mut part) = zip.by_name("word/document.xml") {
        let _ = part.read_to_string(&mut xml);
    }
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut text = 0usize;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Text(t)) => text = text.saturating_add(t.len()),
            Ok(quick_xml::events::Event::Eof) | Err(_) => return text,
            Ok(_) => {}
        }
    }
}

/// Tokens in a page, by html5ever's tokenizer alone.
fn count_tokens(page: &str) -> usize {
    use html5ever::tokenizer::{
        BufferQueue, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
    };
    struct Count(std::cell::Cell<usize>);
    impl TokenSink for Count {
        type Handle = ();
        fn process_token(&self, _: Token, _: u64) -> TokenSinkResult<()> {
            self.0.set(self.0.get().saturating_add(1));
            TokenSinkResult::Continue
        }
    }
    let tokenizer = Tokenizer::new(Count(std::cell::Cell::new(0)), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(page.into());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.get()
}

criterion_group!(benches, bench);
criterion_main!(benches);
