//! Durable writes per second and latency (p50, p99) of `Store::write` (a
//! `SaveDraft` on sled)
//! at 1, 16 and 64 concurrent writers, against a baseline in the same run:
//! bare sled three-tree transactions of the same value sizes (a revision, a
//! head, an audit event) made durable through the very same [`GroupCommit`].
//! Issue 3's goal: gongkai ≥ 80 % of the baseline's writes/s at 64 writers.
//!
//! Each writer count gets a fresh temporary directory for each side. Every
//! gongkai writer saves drafts of its own report (its own agency under a
//! shared city and province, so the area indexes have the depth of a real
//! county department) with `expected` = its previous revision, so there are
//! no conflicts; the report is the imported sample with its findings. The
//! baseline writes a revision-, a head- and an event-sized value (the sizes
//! gongkai stored) in one transaction over three trees, then waits on its own
//! `GroupCommit` over its own sled `db` file.
//!
//! Fsync latency on a shared machine drifts, so the two sides alternate:
//! gongkai, baseline, gongkai, baseline … (`GONGKAI_BENCH_ROUNDS` rounds,
//! each store kept open across its rounds), the measured time split evenly.
//! Only calls started after a round's warm-up count; the request (report
//! clone, encoded values) is made before the timed call.
//!
//! ```text
//! cargo bench -p gongkai-store --bench durable_writes
//! GONGKAI_BENCH_SECS=10 GONGKAI_BENCH_WRITERS=1,16,64,128 cargo bench -p gongkai-store --bench durable_writes
//! ```
//!
//! Env: `GONGKAI_BENCH_SECS` (measured seconds per side and writer count,
//! default 3), `GONGKAI_BENCH_ROUNDS` (default 3), `GONGKAI_BENCH_WARMUP_SECS`
//! (before the first round, default 0.5; a fifth of it before later rounds),
//! `GONGKAI_BENCH_WRITERS` (comma list, default `1,16,64`), `GONGKAI_BENCH_OUT`
//! (JSON lines file; default `durable_writes.jsonl` in the target directory),
//! `GONGKAI_BENCH_ONLY` (`gongkai` or `baseline`: run one side, to profile
//! it). Run without `--bench` (as `cargo test --benches` does) it is a short
//! smoke run.

use std::{
    fs::File,
    io::Write as _,
    path::{Path, PathBuf},
    sync::{
        Arc, Barrier,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use gongkai_proto::v1::{self as pb, Agency, AgencyKind, AgencyLevel};
use gongkai_store::{
    Checked, EventFilter, PageRequest, ReportKey, Store, StoreOptions, WriteMeta, WriteOp,
    durability::GroupCommit,
};
use hdrhistogram::Histogram;
use prost::Message;
use sled::Transactional;
use tempfile::TempDir;

const SAMPLE: &[u8] = include_bytes!("../../../testdata/reports/baoqing-county-2024.md");
const YEAR: u32 = 2024;
/// Latencies are recorded in µs, up to a minute.
const MAX_LATENCY_US: u64 = 60_000_000;

/// The measured window and the writer counts.
#[derive(Clone, Debug)]
struct Settings {
    warmup: Duration,
    measure: Duration,
    rounds: u32,
    writers: Vec<usize>,
    out: Option<PathBuf>,
    /// Run only `gongkai` or only `baseline` (for profiling one side).
    only: Option<String>,
}

impl Settings {
    fn from_env() -> Settings {
        let secs = |name: &str, default: f64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s > 0.0)
                .map_or(Duration::from_secs_f64(default), Duration::from_secs_f64)
        };
        // `cargo bench` passes `--bench`; `cargo test --benches` does not.
        let full = std::env::args().any(|a| a == "--bench");
        let writers = std::env::var("GONGKAI_BENCH_WRITERS")
            .ok()
            .map(|v| {
                v.split(',')
                    .filter_map(|n| n.trim().parse::<usize>().ok())
                    .filter(|n| *n > 0)
                    .collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty());
        let rounds = std::env::var("GONGKAI_BENCH_ROUNDS")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|r| *r > 0);
        let only = std::env::var("GONGKAI_BENCH_ONLY").ok();
        if full {
            Settings {
                warmup: secs("GONGKAI_BENCH_WARMUP_SECS", 0.5),
                measure: secs("GONGKAI_BENCH_SECS", 3.0),
                rounds: rounds.unwrap_or(3),
                writers: writers.unwrap_or_else(|| vec![1, 16, 64]),
                out: Some(
                    std::env::var_os("GONGKAI_BENCH_OUT")
                        .map_or_else(|| target_dir().join("durable_writes.jsonl"), PathBuf::from),
                ),
                only,
            }
        } else {
            Settings {
                warmup: Duration::from_millis(50),
                measure: Duration::from_millis(200),
                rounds: rounds.unwrap_or(2),
                writers: writers.unwrap_or_else(|| vec![1, 4]),
                out: None,
                only,
            }
        }
    }

    fn runs(&self, side: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == side)
    }
}

/// `target/` (the bench runs as `target/<profile>/deps/durable_writes-…`).
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(std::env::temp_dir)
}

/// A valid 统一社会信用代码 numbered `n`.
fn uscc(n: u64) -> String {
    let first17 = format!("11{:06}{:09}", 330_700, n);
    let check = gongkai_domain::ids::uscc_check_character(&first17).unwrap();
    format!("{first17}{check}")
}

fn meta(request_id: String) -> WriteMeta {
    WriteMeta {
        request_id,
        principal: "bench-submitter".into(),
        time: SystemTime::now(),
    }
}

/// The sample report as the server would store it, with its findings.
fn sample() -> (pb::AnnualReport, Checked) {
    let imported = gongkai_document::import(SAMPLE).unwrap();
    let mut findings: Vec<pb::Finding> = imported.findings.iter().map(pb::Finding::from).collect();
    findings.extend(
        gongkai_domain::check_alone(&imported.report)
            .iter()
            .map(pb::Finding::from),
    );
    (
        pb::AnnualReport::from(&imported.report),
        Checked {
            findings,
            ruleset_version: gongkai_domain::RULESET_VERSION.to_string(),
        },
    )
}

/// What one side measured, over all its rounds.
struct Run {
    writes: u64,
    errors: u64,
    seconds: f64,
    latency_us: Histogram<u64>,
}

impl Run {
    fn new() -> Run {
        Run {
            writes: 0,
            errors: 0,
            seconds: 0.0,
            latency_us: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).unwrap(),
        }
    }
    fn per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.writes as f64 / self.seconds
        } else {
            0.0
        }
    }
    /// Latency at quantile `q`, in ms (0 when nothing was measured).
    fn ms(&self, q: f64) -> f64 {
        self.latency_us.value_at_quantile(q) as f64 / 1000.0
    }
}

/// One side of the comparison: what it does per write, for each writer.
trait Side: Send + Sync + 'static {
    /// What the caller hands over (made before the timed call).
    type Input;
    fn prepare(&self, writer: usize) -> Self::Input;
    /// One durable write; false if it failed.
    fn write(&self, writer: usize, input: Self::Input) -> bool;
}

/// Runs `writers` threads against `side` for `warmup + measure`, adding the
/// calls started after the warm-up to `run`.
fn drive<S: Side>(
    name: &str,
    side: &Arc<S>,
    writers: usize,
    warmup: Duration,
    measure: Duration,
    run: &mut Run,
) {
    let start = Arc::new(Barrier::new(writers.saturating_add(1)));
    let handles: Vec<_> = (0..writers)
        .map(|i| {
            let side = Arc::clone(side);
            let start = Arc::clone(&start);
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    let mut h = Histogram::<u64>::new_with_bounds(1, MAX_LATENCY_US, 3).unwrap();
                    let (mut writes, mut errors) = (0u64, 0u64);
                    start.wait();
                    let t0 = Instant::now();
                    let (from, until) = (t0 + warmup, t0 + warmup + measure);
                    loop {
                        let input = side.prepare(i);
                        let began = Instant::now();
                        if began >= until {
                            break;
                        }
                        let ok = side.write(i, input);
                        if began >= from {
                            if ok {
                                writes += 1;
                                h.saturating_record(began.elapsed().as_micros() as u64);
                            } else {
                                errors += 1;
                            }
                        }
                    }
                    (writes, errors, h)
                })
                .unwrap()
        })
        .collect();
    start.wait();
    for handle in handles {
        let (writes, errors, h) = handle.join().unwrap();
        run.writes += writes;
        run.errors += errors;
        run.latency_us.add(h).unwrap();
    }
    run.seconds += measure.as_secs_f64();
}

/// Sizes of the three values a save_draft writes that the baseline copies.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    revision: usize,
    head: usize,
    event: usize,
}

/// gongkai: `save_draft` on each writer's own report.
struct Gongkai {
    store: Store,
    keys: Vec<ReportKey>,
    /// Each writer's latest revision.
    latest: Vec<AtomicU64>,
    report: pb::AnnualReport,
    checked: Checked,
    _dir: TempDir,
}

impl Gongkai {
    /// Opens a fresh store with a province, a city and one agency per writer,
    /// and learns the stored sizes from one write.
    fn open(writers: usize) -> (Gongkai, Sizes) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sled(dir.path().join("db"), &StoreOptions::default()).unwrap();
        // The reads below are async; the writers call from plain threads.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let register = |code: &str, name: String, level: AgencyLevel, supervisor: Option<&str>| {
            let agency = Agency {
                uscc: code.to_owned(),
                display_name: name,
                level: level.into(),
                kind: AgencyKind::Government.into(),
                supervisor: supervisor
                    .map(|s| format!("agencies/{s}"))
                    .unwrap_or_default(),
                ..Agency::default()
            };
            store
                .write(
                    meta(format!("register-{code}")),
                    WriteOp::RegisterAgency { agency },
                )
                .wait()
                .unwrap();
        };
        let (province, city) = (uscc(1), uscc(2));
        register(
            &province,
            "某省人民政府".into(),
            AgencyLevel::Provincial,
            None,
        );
        register(
            &city,
            "某市人民政府".into(),
            AgencyLevel::Prefectural,
            Some(&province),
        );
        let keys: Vec<ReportKey> = (0..writers)
            .map(|i| {
                let code = uscc(1000 + i as u64);
                register(
                    &code,
                    format!("某县第{i}局"),
                    AgencyLevel::County,
                    Some(&city),
                );
                ReportKey {
                    uscc: code,
                    year: YEAR,
                }
            })
            .collect();
        let (report, checked) = sample();

        // One write before the measurement, to learn the stored sizes.
        let probe = WriteOp::SaveDraft {
            key: keys[0].clone(),
            expected: 0,
            report: report.clone(),
            checked: checked.clone(),
        };
        let first = store
            .write(meta("size-probe".into()), probe)
            .wait()
            .and_then(|o| o.into_revision())
            .unwrap();
        let head = rt
            .block_on(store.head(&keys[0]))
            .unwrap()
            .unwrap_or_default();
        let event = rt
            .block_on(store.list_events(
                &EventFilter {
                    agency: Some(keys[0].uscc.clone()),
                    ..EventFilter::default()
                },
                &PageRequest::default(),
            ))
            .unwrap()
            .items
            .pop()
            .unwrap_or_default();
        // Stored values carry one format byte before the protobuf.
        let sizes = Sizes {
            revision: first.encoded_len() + 1,
            head: head.encoded_len() + 1,
            event: event.encoded_len() + 1,
        };
        let latest = (0..writers)
            .map(|i| AtomicU64::new(u64::from(i == 0)))
            .collect();
        let side = Gongkai {
            store,
            keys,
            latest,
            report,
            checked,
            _dir: dir,
        };
        (side, sizes)
    }
}

impl Side for Gongkai {
    type Input = (WriteMeta, pb::AnnualReport, Checked);

    fn prepare(&self, writer: usize) -> Self::Input {
        let next = self.latest[writer].load(Ordering::Relaxed) + 1;
        (
            meta(format!("w{writer}-{next}")),
            self.report.clone(),
            self.checked.clone(),
        )
    }

    fn write(&self, writer: usize, (w, report, checked): Self::Input) -> bool {
        let expected = self.latest[writer].load(Ordering::Relaxed);
        let op = WriteOp::SaveDraft {
            key: self.keys[writer].clone(),
            expected: u32::try_from(expected).unwrap(),
            report,
            checked,
        };
        let saved = self
            .store
            .write(w, op)
            .wait()
            .and_then(|o| o.into_revision());
        if let Ok(r) = &saved {
            self.latest[writer].store(u64::from(r.revision), Ordering::Relaxed);
        }
        saved.is_ok()
    }
}

/// Baseline: one sled transaction over three trees inserting a revision-,
/// a head- and an event-sized value, then the same group commit.
struct Baseline {
    trees: (sled::Tree, sled::Tree, sled::Tree),
    commit: GroupCommit,
    /// Each writer's `uscc · year`, as gongkai's head key.
    prefixes: Vec<Vec<u8>>,
    /// Each writer's latest revision.
    latest: Vec<AtomicU64>,
    sequence: AtomicU64,
    sizes: Sizes,
    template: Vec<u8>,
    _db: sled::Db,
    _dir: TempDir,
}

impl Baseline {
    fn open(writers: usize, sizes: Sizes) -> Baseline {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(StoreOptions::default().cache_capacity)
            .open()
            .unwrap();
        let trees = (
            db.open_tree("revisions").unwrap(),
            db.open_tree("heads").unwrap(),
            db.open_tree("events").unwrap(),
        );
        db.flush().unwrap();
        let commit = GroupCommit::start(
            db.clone(),
            File::open(path.join("db")).unwrap(),
            Some(path.join("blobs")),
        )
        .unwrap();
        let prefixes = (0..writers)
            .map(|i| {
                let mut k = uscc(1000 + i as u64).into_bytes();
                k.extend_from_slice(&u16::try_from(YEAR).unwrap().to_be_bytes());
                k
            })
            .collect();
        let template = (0..sizes.revision.max(sizes.head).max(sizes.event))
            .map(|i| (i % 251) as u8)
            .collect();
        Baseline {
            trees,
            commit,
            prefixes,
            latest: (0..writers).map(|_| AtomicU64::new(0)).collect(),
            sequence: AtomicU64::new(0),
            sizes,
            template,
            _db: db,
            _dir: dir,
        }
    }
}

impl Side for Baseline {
    /// Revision key and the three values, fresh as an encoder makes them.
    type Input = (Vec<u8>, sled::IVec, sled::IVec, sled::IVec);

    fn prepare(&self, writer: usize) -> Self::Input {
        let next = self.latest[writer].load(Ordering::Relaxed) + 1;
        let mut revision_key = self.prefixes[writer].clone();
        revision_key.extend_from_slice(&u32::try_from(next).unwrap().to_be_bytes());
        (
            revision_key,
            sled::IVec::from(&self.template[..self.sizes.revision]),
            sled::IVec::from(&self.template[..self.sizes.head]),
            sled::IVec::from(&self.template[..self.sizes.event]),
        )
    }

    fn write(&self, writer: usize, (revision_key, revision, head, event): Self::Input) -> bool {
        let head_key = self.prefixes[writer].as_slice();
        let event_key = self.sequence.fetch_add(1, Ordering::Relaxed).to_be_bytes();
        let (revisions, heads, events) = &self.trees;
        let tx: Result<(), sled::transaction::TransactionError<()>> = (revisions, heads, events)
            .transaction(|(r, h, e)| {
                r.insert(revision_key.as_slice(), revision.clone())?;
                h.insert(head_key, head.clone())?;
                e.insert(&event_key, event.clone())?;
                Ok(())
            });
        let ok = tx.is_ok() && self.commit.wait_durable().is_ok();
        if ok {
            self.latest[writer].fetch_add(1, Ordering::Relaxed);
        }
        ok
    }
}

/// Both sides at one writer count, alternating rounds.
fn compare(writers: usize, s: &Settings) -> (Sizes, Run, Run) {
    let (g, sizes) = Gongkai::open(writers);
    let (g, b) = (Arc::new(g), Arc::new(Baseline::open(writers, sizes)));
    let (mut gr, mut br) = (Run::new(), Run::new());
    let measure = s.measure / s.rounds;
    for round in 0..s.rounds {
        let warmup = if round == 0 { s.warmup } else { s.warmup / 5 };
        if s.runs("gongkai") {
            drive("gongkai", &g, writers, warmup, measure, &mut gr);
        }
        if s.runs("baseline") {
            drive("baseline", &b, writers, warmup, measure, &mut br);
        }
    }
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(g.store.flush())
        .unwrap();
    (sizes, gr, br)
}

fn main() {
    let s = Settings::from_env();
    let mut out = s.out.as_ref().and_then(|p| {
        if let Some(parent) = p.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        File::create(p).ok()
    });
    println!(
        "durable writes: {:.1} s measured per side and writer count, in {} alternating rounds \
         after a {:.1} s warm-up; {} CPUs",
        s.measure.as_secs_f64(),
        s.rounds,
        s.warmup.as_secs_f64(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    let mut rows = Vec::new();
    for &writers in &s.writers {
        let (sizes, g, b) = compare(writers, &s);
        if g.errors > 0 || b.errors > 0 {
            eprintln!(
                "warning: {writers} writers: {} gongkai and {} baseline writes failed",
                g.errors, b.errors
            );
        }
        let ratio = if b.per_sec() > 0.0 {
            g.per_sec() / b.per_sec()
        } else {
            0.0
        };
        let json = format!(
            concat!(
                "{{\"bench\":\"durable_writes\",\"writers\":{},\"seconds\":{:.3},\"rounds\":{},",
                "\"value_bytes\":{{\"revision\":{},\"head\":{},\"event\":{}}},",
                "\"gongkai\":{{\"writes\":{},\"errors\":{},\"writes_per_s\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}},",
                "\"baseline\":{{\"writes\":{},\"errors\":{},\"writes_per_s\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}},",
                "\"ratio\":{:.4}}}"
            ),
            writers,
            s.measure.as_secs_f64(),
            s.rounds,
            sizes.revision,
            sizes.head,
            sizes.event,
            g.writes,
            g.errors,
            g.per_sec(),
            g.ms(0.5),
            g.ms(0.99),
            b.writes,
            b.errors,
            b.per_sec(),
            b.ms(0.5),
            b.ms(0.99),
            ratio,
        );
        println!("{json}");
        if let Some(f) = out.as_mut() {
            let _ = writeln!(f, "{json}");
        }
        rows.push((writers, sizes, g, b, ratio));
    }
    if let Some((_, sizes, ..)) = rows.first() {
        println!(
            "\nvalue sizes: revision {} B, head {} B, event {} B",
            sizes.revision, sizes.head, sizes.event
        );
    }
    println!(
        "{:>7} | {:>14} {:>9} {:>9} | {:>14} {:>9} {:>9} | {:>6}",
        "writers", "gongkai w/s", "p50 ms", "p99 ms", "baseline w/s", "p50 ms", "p99 ms", "ratio"
    );
    for (writers, _, g, b, ratio) in &rows {
        println!(
            "{:>7} | {:>14.1} {:>9.3} {:>9.3} | {:>14.1} {:>9.3} {:>9.3} | {:>5.1}%",
            writers,
            g.per_sec(),
            g.ms(0.5),
            g.ms(0.99),
            b.per_sec(),
            b.ms(0.5),
            b.ms(0.99),
            ratio * 100.0
        );
    }
    if let Some((.., ratio)) = rows.iter().find(|r| r.0 == 64) {
        println!(
            "issue 3 goal, gongkai ≥ 80 % of the baseline at 64 writers: {:.1} % ({})",
            ratio * 100.0,
            if *ratio >= 0.8 { "met" } else { "not met" }
        );
    }
    if let Some(p) = &s.out {
        println!("\nJSON lines: {}", p.display());
    }
}
