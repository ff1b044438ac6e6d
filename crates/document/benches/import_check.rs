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
        b.iter(|| {
            let imported = gongkai_document::import(black_box(SAMPLE));
            black_box(imported.map(|i| gongkai_domain::check_alone(&i.report)))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("layouts");
    g.throughput(Throughput::Elements(1));
    for (name, bytes) in LAYOUTS {
        g.bench_function(format!("{name}/import"), |b| {
            b.iter(|| black_box(gongkai_document::import(black_box(bytes))))
        });
        g.bench_function(format!("{name}/import_and_check"), |b| {
            b.iter(|| {
                let imported = gongkai_document::import(black_box(bytes));
                black_box(imported.map(|i| gongkai_domain::check_alone(&i.report)))
            })
        });
    }
    // The report alone as an HTML page (the official layout, rendered: no
    // page chrome, no CMS markup): the smallest page the sample can be.
    let rendered =
        gongkai_document::render::render(&report, gongkai_document::render::Target::Html);
    g.bench_function("html-rendered/import_and_check", |b| {
        b.iter(|| {
            let imported = gongkai_document::import(black_box(rendered.as_bytes()));
            black_box(imported.map(|i| gongkai_domain::check_alone(&i.report)))
        })
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
        b.iter(|| {
            let imported = gongkai_document::import(black_box(docx));
            black_box(imported.map(|i| gongkai_domain::check_alone(&i.report)))
        })
    });
    g.bench_function("docx/baseline_unzip_xml_text", |b| {
        b.iter(|| black_box(docx_text(black_box(docx))))
    });
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
