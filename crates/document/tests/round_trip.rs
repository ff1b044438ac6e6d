//! import(render(r)) == r, for Markdown and HTML, over generated reports of
//! both formats: every cell, the sections' prose, the metadata the layout
//! prints (agency, year, 统一社会信用代码, 行政区划代码, 发布日期).
//!
//! Rows of T2 and T3 the document did not contain are left out of the
//! rendering and read back absent.
//!
//! The agency's level is not part of the published layout and is left unset.
//! A table is published under its section's heading, so a report with a
//! table has that section (its prose may be empty).

use chrono::NaiveDate;
use gongkai_document::{
    import,
    render::{Target, render},
};
use gongkai_domain::{
    FormatVersion, Metadata, Money, Report,
    shape::{CellKind, T3_COLUMNS, T3Row, T4_BLOCKS, T4_COLUMNS, Value},
};
use proptest::prelude::*;

/// Prose as agencies write it: Chinese words, digits, full stops and commas,
/// one line per paragraph, some citing 第二十条 first. No tabs or pipes (those are table rows in text),
/// no Chinese ordinals at the start (those would be section headings).
fn prose() -> impl Strategy<Value = String> {
    // Some lines cite the regulation first, as prose does ("第二十条规定…").
    let line = "(第二十条)?[加强规范完善工作信息公开网站平台政务建设管理制度落实保障主动]{1,12}[0-9]{0,4}[，。]?[依申请办理答复监督评议]{0,10}。";
    proptest::collection::vec(line, 0..4).prop_map(|lines| lines.join("\n"))
}

fn money() -> impl Strategy<Value = Money> {
    (0u64..10_000_000_000, 0usize..=6).prop_map(|(n, scale)| {
        let digits = format!("{n:0>7}");
        let s = if scale == 0 {
            n.to_string()
        } else {
            let (int, frac) = digits.split_at(digits.len() - scale);
            format!(
                "{}.{frac}",
                int.trim_start_matches('0').parse::<u64>().unwrap_or(0)
            )
        };
        s.parse().unwrap()
    })
}

fn value(kind: CellKind) -> BoxedStrategy<Value> {
    match kind {
        CellKind::Count => prop_oneof![0u64..100, any::<u64>()]
            .prop_map(Value::Count)
            .boxed(),
        CellKind::Delta => prop_oneof![-100i64..100, any::<i64>()]
            .prop_map(Value::Delta)
            .boxed(),
        CellKind::Money => money().prop_map(Value::Money).boxed(),
    }
}

fn report() -> impl Strategy<Value = Report> {
    let format = prop_oneof![
        Just(FormatVersion::Current2021),
        Just(FormatVersion::Trial2019)
    ];
    format.prop_flat_map(|format| {
        let layout = format.t2_layout();
        let years = match format {
            FormatVersion::Current2021 => 2021u32..2100,
            FormatVersion::Trial2019 => 2019u32..2021,
        };
        let t2_values: Vec<BoxedStrategy<Value>> =
            layout.cells().map(|c| value(c.column.kind)).collect();
        let meta = (
            // Names keep their full-width brackets as published.
            "[宝清县人民政府办公室市场监督管理局街道办事处]{0,12}(（[县政务服务中心]{1,6}）)?",
            years,
            proptest::option::of("[0-9A-HJ-NP-RTUWXY]{18}"),
            proptest::option::of("[1-6][0-9]{5}"),
            proptest::option::of((2019i32..2100, 1u32..=12, 1u32..=28)),
        );
        (
            meta,
            proptest::array::uniform6(proptest::option::of(prose())),
            proptest::option::of(t2_values),
            proptest::option::of(proptest::collection::vec(
                prop_oneof![0u64..1000, any::<u64>()],
                26 * 7,
            )),
            proptest::option::of(proptest::collection::vec(any::<u64>(), 15)),
            // Rows the document did not contain: left out, read back absent.
            proptest::collection::vec(proptest::bool::weighted(0.1), 26 + 8),
        )
            .prop_map(
                move |((name, year, uscc, region, date), sections, t2v, t3v, t4v, absent)| {
                    let mut r = Report::empty(format, year);
                    r.metadata = Metadata {
                        agency_name: name,
                        data_year: year,
                        agency_uscc: uscc,
                        region_code: region,
                        publication_date: date
                            .and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
                        agency_level: None,
                    };
                    r.sections = sections;
                    r.t2 = t2v.map(|values| {
                        let mut t2 = gongkai_domain::shape::T2::zeros(layout);
                        for (cell, v) in layout.cells().zip(values) {
                            assert!(t2.set(&cell, v));
                        }
                        t2
                    });
                    r.t3 = t3v.map(|values| {
                        let mut t3 = gongkai_domain::shape::T3::default();
                        for (i, row) in T3Row::rows_of(format).enumerate() {
                            for (j, col) in T3_COLUMNS.iter().enumerate() {
                                t3.set(row, col.col, values[i * 7 + j]);
                            }
                            if absent[i] {
                                t3.set_absent(row);
                            }
                        }
                        t3
                    });
                    if let Some(t2) = r.t2.as_mut() {
                        let rows = layout.blocks.iter().flat_map(|b| b.rows.iter());
                        for (row, gone) in rows.zip(&absent[26..]) {
                            if *gone {
                                t2.set_row_absent(layout, row.key);
                            }
                        }
                    }
                    r.t4 = t4v.map(|values| {
                        let mut t4 = gongkai_domain::shape::T4::default();
                        for (i, b) in T4_BLOCKS.iter().enumerate() {
                            for (j, c) in T4_COLUMNS.iter().enumerate() {
                                t4.set(b.block, c.col, values[i * 5 + j]);
                            }
                        }
                        t4
                    });
                    for (i, has_table) in [
                        (1, r.t2.is_some()),
                        (2, r.t3.is_some()),
                        (3, r.t4.is_some()),
                    ] {
                        if has_table && r.sections[i].is_none() {
                            r.sections[i] = Some(String::new());
                        }
                    }
                    r
                },
            )
    })
}

fn round_trip(r: &Report, target: Target) -> Result<(), TestCaseError> {
    let text = render(r, target);
    let back = import(text.as_bytes())
        .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?
        .report;
    prop_assert_eq!(&back, r, "{}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn markdown_round_trip(r in report()) {
        round_trip(&r, Target::Markdown)?;
    }

    #[test]
    fn html_round_trip(r in report()) {
        round_trip(&r, Target::Html)?;
    }
}

#[test]
fn the_sample_round_trips_through_both() {
    let sample = include_bytes!("../../../testdata/reports/baoqing-county-2024.md");
    let r = import(sample).unwrap().report;
    for target in [Target::Markdown, Target::Html] {
        let text = render(&r, target);
        let again = import(text.as_bytes()).unwrap();
        assert_eq!(again.report, r, "{target:?}");
        assert!(
            again.findings.is_empty(),
            "{target:?}: {:#?}",
            again.findings
        );
    }
}
