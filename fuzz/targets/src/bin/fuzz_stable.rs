//! The stable fuzzer: the same target bodies as the cargo-fuzz targets, for
//! machines without the nightly toolchain libFuzzer needs. It runs every
//! seed (the fixtures, the checked-in seeds and the inputs that once
//! crashed), then mutations of them — bit flips, interesting values, bytes
//! inserted, deleted, copied, spliced from another input, numbers
//! rewritten — until the time is up. Blind (no coverage feedback), but the
//! same code is exercised either way.
//!
//! A panic, an input that runs longer than `--timeout`, or a resident size
//! above `--rss-mb` is written to fuzz/artifacts/TARGET/ and ends the run
//! with exit code 1.
//!
//! ```text
//! fuzz_stable run TARGET [--seconds N] [--seed N] [--timeout SECS] [--rss-mb MB] [DIR...]
//! fuzz_stable replay TARGET FILE_OR_DIR...
//! fuzz_stable seeds          # rewrite fuzz/seeds/ from testdata/
//! fuzz_stable list
//! ```

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use gongkai_fuzz_targets::{TARGETS, Target, seeds, target};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sha2::{Digest, Sha256};

/// The repository root (this crate is fuzz/targets).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("replay") => replay(&args[1..]),
        Some("seeds") => seeds::write_all(&repo())
            .map(|files| println!("fuzz_stable: wrote {} seed files", files.len()))
            .map_err(|e| e.to_string()),
        Some("list") => {
            for t in &TARGETS {
                println!("{}", t.name);
            }
            Ok(())
        }
        _ => Err(
            "usage: fuzz_stable run TARGET [--seconds N] [--seed N] [--timeout SECS] [--rss-mb MB] [DIR...] | replay TARGET PATH... | seeds | list"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fuzz_stable: {e}");
            ExitCode::FAILURE
        }
    }
}

fn named(name: Option<&String>) -> Result<&'static Target, String> {
    let name = name.ok_or("name a target")?;
    target(name).ok_or_else(|| {
        let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        format!("no target {name}; the targets are {}", names.join(", "))
    })
}

/// Every file under `path` (or `path` itself), sorted.
fn files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            files(&e, out);
        }
    } else if path.is_file() {
        out.push(path.to_path_buf());
    }
}

fn load(dirs: &[PathBuf]) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    for d in dirs {
        files(d, &mut paths);
    }
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// What the watchdog sees: the input being run and since when.
struct Current {
    input: Vec<u8>,
    since: Instant,
}

fn artifact(target: &Target, kind: &str, input: &[u8]) -> PathBuf {
    let dir = repo().join("fuzz/artifacts").join(target.name);
    let _ = std::fs::create_dir_all(&dir);
    let hash = hex(&Sha256::digest(input)[..8]);
    let path = dir.join(format!("{kind}-{hash}"));
    let _ = std::fs::write(&path, input);
    path
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Resident set size of this process, in MiB (Linux).
fn rss_mb() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages.saturating_mul(4096) / (1024 * 1024))
}

/// Ends the process when one input runs too long or memory grows too far.
fn watchdog(target: &'static Target, current: Arc<Mutex<Current>>, timeout: Duration, rss: u64) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let (input, elapsed) = match current.lock() {
                Ok(c) => (c.input.clone(), c.since.elapsed()),
                Err(_) => continue,
            };
            if elapsed > timeout {
                let path = artifact(target, "timeout", &input);
                eprintln!(
                    "fuzz_stable: {}: an input ran {:.1}s (limit {}s); written to {}",
                    target.name,
                    elapsed.as_secs_f64(),
                    timeout.as_secs(),
                    path.display()
                );
                std::process::exit(1);
            }
            if let Some(mb) = rss_mb().filter(|mb| *mb > rss) {
                let path = artifact(target, "oom", &input);
                eprintln!(
                    "fuzz_stable: {}: resident size {mb} MiB (limit {rss}); last input written to {}",
                    target.name,
                    path.display()
                );
                std::process::exit(1);
            }
        }
    });
}

/// Runs one input; a panic is written out and returned as the error.
fn one(target: &'static Target, current: &Mutex<Current>, input: &[u8]) -> Result<(), String> {
    if let Ok(mut c) = current.lock() {
        c.input = input.to_vec();
        c.since = Instant::now();
    }
    let outcome = std::panic::catch_unwind(|| (target.run)(input));
    if let Ok(mut c) = current.lock() {
        c.since = Instant::now();
    }
    outcome.map_err(|_| {
        let path = artifact(target, "crash", input);
        format!(
            "{}: the input in {} panicked (replay: fuzz_stable replay {} {})",
            target.name,
            path.display(),
            target.name,
            path.display()
        )
    })
}

fn flag(args: &[String], name: &str) -> Result<Option<u64>, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => args
            .get(i.saturating_add(1))
            .and_then(|v| v.parse().ok())
            .map(Some)
            .ok_or_else(|| format!("{name} takes a number")),
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let target = named(args.first())?;
    let seconds = flag(args, "--seconds")?.unwrap_or(30);
    let seed = flag(args, "--seed")?.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let timeout = Duration::from_secs(flag(args, "--timeout")?.unwrap_or(10));
    let rss = flag(args, "--rss-mb")?.unwrap_or(2048);
    let mut dirs: Vec<PathBuf> = target.seeds.iter().map(|d| repo().join(d)).collect();
    let mut rest = args[1..].iter();
    while let Some(a) = rest.next() {
        if a.starts_with("--") {
            rest.next();
        } else {
            dirs.push(PathBuf::from(a));
        }
    }
    let corpus = load(&dirs);
    if corpus.is_empty() {
        return Err(format!("{}: no seeds in {dirs:?}", target.name));
    }
    let current = Arc::new(Mutex::new(Current {
        input: Vec::new(),
        since: Instant::now(),
    }));
    watchdog(target, Arc::clone(&current), timeout, rss);
    let start = Instant::now();
    for input in &corpus {
        one(target, &current, input)?;
    }
    let max_len = corpus
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0)
        .saturating_mul(2)
        .max(4096);
    let mut rng = StdRng::seed_from_u64(seed);
    let deadline = start + Duration::from_secs(seconds);
    let mut runs: u64 = corpus.len() as u64;
    while Instant::now() < deadline {
        let input = mutate(&mut rng, &corpus, max_len);
        one(target, &current, &input)?;
        runs = runs.saturating_add(1);
    }
    println!(
        "fuzz_stable: {}: {runs} runs ({} seeds, then mutations; seed {seed}) in {:.0}s, {} MiB resident, 0 crashes",
        target.name,
        corpus.len(),
        start.elapsed().as_secs_f64(),
        rss_mb().unwrap_or(0)
    );
    Ok(())
}

fn replay(args: &[String]) -> Result<(), String> {
    let target = named(args.first())?;
    let paths: Vec<PathBuf> = args[1..].iter().map(PathBuf::from).collect();
    let inputs = load(&paths);
    let current = Arc::new(Mutex::new(Current {
        input: Vec::new(),
        since: Instant::now(),
    }));
    watchdog(target, Arc::clone(&current), Duration::from_secs(60), 4096);
    for input in &inputs {
        one(target, &current, input)?;
    }
    println!(
        "fuzz_stable: {}: {} inputs replayed, 0 crashes",
        target.name,
        inputs.len()
    );
    Ok(())
}

/// Values that tend to sit on a boundary.
const INTERESTING: [u64; 12] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    i64::MAX as u64,
    u64::MAX,
    2024,
];

/// A seed changed by one to four mutations.
fn mutate(rng: &mut StdRng, corpus: &[Vec<u8>], max_len: usize) -> Vec<u8> {
    if rng.random_ratio(1, 50) {
        let len = rng.random_range(0..512);
        return (0..len).map(|_| rng.random()).collect();
    }
    let mut data = corpus[rng.random_range(0..corpus.len())].clone();
    // One, two or four: most inputs stay close to a seed, so that formats
    // as brittle as protobuf still decode and reach the code behind them.
    for _ in 0..1 << rng.random_range(0..3) {
        let len = data.len();
        match rng.random_range(0..9) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] = rng.random();
            }
            2 if len > 0 => {
                // An interesting value, 1, 2, 4 or 8 bytes, either byte order.
                let v = INTERESTING[rng.random_range(0..INTERESTING.len())];
                let width = [1, 2, 4, 8][rng.random_range(0..4)];
                let bytes = if rng.random() {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                let bytes = &bytes[..width.min(len)];
                let at = rng.random_range(0..=len.saturating_sub(bytes.len()));
                data[at..at.saturating_add(bytes.len())].copy_from_slice(bytes);
            }
            3 => {
                let at = rng.random_range(0..=len);
                let n = rng.random_range(1..=16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                data.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let at = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - at).min(256));
                data.drain(at..at.saturating_add(n));
            }
            5 if len > 0 => {
                // A chunk of itself copied elsewhere.
                let from = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - from).min(256));
                let chunk = data[from..from.saturating_add(n)].to_vec();
                let at = rng.random_range(0..=len);
                data.splice(at..at, chunk);
            }
            6 => {
                // A chunk of another input inserted (labels, tags, fields).
                let other = &corpus[rng.random_range(0..corpus.len())];
                if !other.is_empty() {
                    let from = rng.random_range(0..other.len());
                    let n = rng.random_range(1..=(other.len() - from).min(512));
                    let at = rng.random_range(0..=len);
                    data.splice(at..at, other[from..from.saturating_add(n)].iter().copied());
                }
            }
            7 => {
                // This input's head, another's tail.
                let other = &corpus[rng.random_range(0..corpus.len())];
                let cut = rng.random_range(0..=len);
                let from = rng.random_range(0..=other.len());
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            _ => {
                // A decimal number written in, as reports hold them.
                let v = INTERESTING[rng.random_range(0..INTERESTING.len())];
                let n = if rng.random() {
                    v
                } else {
                    rng.random_range(0..100_000)
                };
                let at = rng.random_range(0..=len);
                data.splice(at..at, n.to_string().into_bytes());
            }
        }
        data.truncate(max_len);
    }
    data
}
