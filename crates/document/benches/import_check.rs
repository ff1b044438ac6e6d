//! Import + check of the sample report, the checker's whole job for one
//! published text. Baselines in the same run: import alone, check alone, and
//! a plain UTF-8 validation plus line split of the same bytes (the floor any
//! reader of this text pays).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SAMPLE: &[u8] = include_bytes!("../../../testdata/reports/baoqing-county-2024.md");

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
    let report = gongkai_document::import(SAMPLE).map(|i| i.report).ok();
    g.bench_function("check", |b| {
        b.iter(|| {
            black_box(
                report
                    .as_ref()
                    .map(|r| gongkai_domain::check_alone(black_box(r))),
            )
        })
    });
    g.bench_function("import_and_check", |b| {
        b.iter(|| {
            let imported = gongkai_document::import(black_box(SAMPLE));
            black_box(imported.map(|i| gongkai_domain::check_alone(&i.report)))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
