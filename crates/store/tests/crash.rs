//! Crash test (issue 3 acceptance): a child process writes from many
//! concurrent writers and reports each acknowledged write; the parent kills
//! it with SIGKILL at a random moment, reopens the store and checks that every
//! acknowledged write is there and the audit chain verifies.
//!
//! `acknowledged_writes_survive_sigkill` is the test. Each cycle re-runs this
//! test binary as the child (`--exact crash_child --ignored --nocapture`),
//! naming the store directory in `GONGKAI_CRASH_CHILD_DIR`. `crash_child` is
//! the child's entry point, not a test: it is `#[ignore]`d and returns at once
//! when that variable is absent. The child opens the store, registers a small
//! supervision tree (the same request ids every cycle, so a retry replays),
//! prints `READY`, then runs 16 writer tasks over 12 shared reports, each
//! printing `ACK <uscc> <year> <revision> <state> <request id>` (flushed) after
//! every write the store acknowledged. The parent waits a random 50–400 ms
//! after the first `ACK`, kills the child, reopens the store and checks every
//! `ACK` it read, of this cycle and all before it: the revision is there with
//! its state and request id, the head is at or past it, the chain verifies
//! with one event per record, every report's revisions run 1..=head, and a
//! sample of acknowledged request ids replays its first result and writes
//! nothing. The same directory is reused, so later cycles recover a store
//! that was itself recovered.
//!
//! Normal run: 5 cycles. Longer mode, 20 cycles (or any number):
//!
//! ```text
//! GONGKAI_CRASH_CYCLES=20 cargo test -p gongkai-store --test crash -- --nocapture
//! ```
//!
//! The kill delays come from a seed printed at the start; set
//! `GONGKAI_CRASH_SEED` to replay them (the writers' interleaving is the
//! machine's).

mod common;
mod store_fixture;

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use common::open;
use gongkai_proto::v1::{ReviewComment, ReviewState};
use gongkai_store::{Action, Checked, PageRequest, ReportKey, Store, StoreError, StoreOptions};
use store_fixture::{Writes, agency, meta, report, uscc};

const DIR_ENV: &str = "GONGKAI_CRASH_CHILD_DIR";
const TAG_ENV: &str = "GONGKAI_CRASH_CHILD_TAG";
const CYCLES_ENV: &str = "GONGKAI_CRASH_CYCLES";
const SEED_ENV: &str = "GONGKAI_CRASH_SEED";
const DEFAULT_CYCLES: u32 = 5;
const WRITERS: u64 = 16;
const YEARS: [u32; 2] = [2023, 2024];
/// The child stops by itself after this long, should the parent die.
const CHILD_LIFETIME: Duration = Duration::from_secs(60);
/// How long the parent waits for the child's `READY`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Acknowledged writes the parent retries, per cycle, to check that a
/// request id applied before the crash replays its first result.
const RETRIES_PER_CYCLE: usize = 40;

/// xorshift64: enough randomness for kill delays and writers' choices.
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed | 1)
    }
    fn from_time(salt: u64) -> XorShift {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        XorShift::new(nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The supervision tree: a root, six agencies under it, one more level
/// under the first. (code, supervisor)
fn agencies() -> Vec<(String, Option<String>)> {
    let root = uscc(100);
    let mut out = vec![(root.clone(), None)];
    for n in 101..=106 {
        out.push((uscc(n), Some(root.clone())));
    }
    out.push((uscc(107), Some(uscc(101))));
    out
}

/// The reports the writers share: every non-root agency × two years.
fn reports() -> Vec<ReportKey> {
    agencies()
        .into_iter()
        .skip(1)
        .take(6)
        .flat_map(|(code, _)| {
            YEARS.map(|year| ReportKey {
                uscc: code.clone(),
                year,
            })
        })
        .collect()
}

/// The comment a return carries (the same on retry, so the request matches).
fn return_comments() -> Vec<ReviewComment> {
    vec![ReviewComment {
        text: "T3 总计 does not add up".into(),
        cell: "t3.R25.total".into(),
    }]
}

/// One line to the parent, written and flushed at once.
fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    // The parent may be gone; there is nobody to tell.
    let _ = out.write_all(format!("{line}\n").as_bytes());
    let _ = out.flush();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "entry point of the crash test's child process, not a test: run by acknowledged_writes_survive_sigkill"]
async fn crash_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let tag = std::env::var(TAG_ENV).unwrap_or_else(|_| "t".into());
    let store = match Store::open_sled(&dir, &StoreOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            emit(&format!("\nERROR open: {e}"));
            return;
        }
    };
    for (i, (code, sup)) in agencies().iter().enumerate() {
        let a = agency(code, &format!("机关{i}"), sup.as_deref());
        if let Err(e) = store
            .register_agency(&meta(&format!("register-{i}")), a)
            .await
        {
            emit(&format!("\nERROR register {code}: {e}"));
            return;
        }
    }
    // On a line of its own: the harness may have started one.
    emit("\nREADY");
    let deadline = Instant::now() + CHILD_LIFETIME;
    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let (store, tag) = (store.clone(), tag.clone());
            tokio::spawn(async move { writer(&store, &tag, t, deadline).await })
        })
        .collect();
    for w in writers {
        let _ = w.await;
    }
}

/// One writer of the child: moves random shared reports one step through
/// review, printing each acknowledged write. A conflict (another writer got
/// there first) is expected; anything else is reported as `ERROR`.
async fn writer(store: &Store, tag: &str, t: u64, deadline: Instant) {
    let mut rng = XorShift::from_time(t);
    let reports = reports();
    let mut n = 0u64;
    while Instant::now() < deadline {
        let key = &reports[rng.below(reports.len() as u64) as usize];
        n += 1;
        let id = format!("{tag}-w{t}-{n}");
        let w = meta(&id);
        let head = match store.head(key).await {
            Ok(h) => h,
            Err(e) => {
                emit(&format!("ERROR head {key:?}: {e}"));
                return;
            }
        };
        let latest = head.as_ref().map_or(0, |h| h.latest_revision);
        let state = head.map(|h| h.latest_state());
        let step = async |action| {
            let comments = if action == Action::Return {
                return_comments()
            } else {
                Vec::new()
            };
            store
                .transition(&w, key, latest, action, Checked::default(), comments)
                .await
        };
        let result = match state {
            Some(ReviewState::Draft) if rng.below(4) != 0 => step(Action::Submit).await,
            Some(ReviewState::Submitted) if rng.below(2) == 0 => step(Action::Approve).await,
            Some(ReviewState::Submitted) => step(Action::Return).await,
            _ => {
                store
                    .save_draft(&w, key, latest, report(&id), Checked::default())
                    .await
            }
        };
        match result {
            Ok(r) => emit(&format!(
                "ACK {} {} {} {} {id}",
                key.uscc, key.year, r.revision, r.state
            )),
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => {
                emit(&format!("ERROR {id} on {key:?}: {e}"));
                return;
            }
        }
    }
}

/// An acknowledged write.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ack {
    state: i32,
    request_id: String,
}

/// Kills the child if the parent fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What one cycle saw.
#[derive(Debug)]
struct Cycle {
    acks: Vec<((ReportKey, u32), Ack)>,
    killed_after: Duration,
}

/// Runs the child on `path`, kills it `delay` after its first
/// acknowledged write, and returns
/// every write it acknowledged.
fn run_child(path: &Path, logs: &Path, cycle: u32, delay: Duration) -> Cycle {
    let stderr_path = logs.join(format!("child-{cycle}.stderr"));
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, path)
        .env(TAG_ENV, format!("c{cycle}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                // A line without its newline was cut by the kill: not an ACK.
                Ok(0) | Err(_) => return,
                Ok(_) if !line.ends_with('\n') => return,
                Ok(_) => {
                    if tx.send(line.trim_end().to_owned()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
    // The harness's own lines, then READY, then the first acknowledged
    // write: the random delay runs from there, so every cycle kills writers
    // that are under way, however slow the machine.
    let mut lines = Vec::new();
    let waiting = Instant::now();
    let mut ready = false;
    loop {
        let left = READY_TIMEOUT.saturating_sub(waiting.elapsed());
        match rx.recv_timeout(left) {
            Ok(l) if l == "READY" => ready = true,
            Ok(l) if l.starts_with("ERROR") => panic!("child {cycle}: {l}\n{}", stderr()),
            Ok(l) if ready && l.starts_with("ACK ") => {
                lines.push(l);
                break;
            }
            Ok(l) => lines.push(l),
            Err(e) => panic!(
                "child {cycle}: no write acknowledged ({e}; ready: {ready}); it said {lines:?}\n{}",
                stderr()
            ),
        }
    }
    let first_ack = Instant::now();
    std::thread::sleep(delay);
    if let Some(status) = child.0.try_wait().unwrap() {
        panic!(
            "child {cycle} ended by itself ({status}) before the kill\n{}",
            stderr()
        );
    }
    // Child::kill is SIGKILL on Unix.
    child.0.kill().unwrap();
    let killed_after = first_ack.elapsed();
    let status = child.0.wait().unwrap();
    assert!(!status.success(), "child {cycle} was not killed: {status}");
    reader.join().unwrap();
    let mut acks = Vec::new();
    for l in lines.into_iter().chain(rx.try_iter()) {
        if l.starts_with("ERROR") {
            panic!("child {cycle}: {l}\n{}", stderr());
        }
        let Some(rest) = l.strip_prefix("ACK ") else {
            continue;
        };
        let f: Vec<&str> = rest.split(' ').collect();
        assert_eq!(f.len(), 5, "child {cycle}: malformed ACK line {l:?}");
        let key = ReportKey {
            uscc: f[0].into(),
            year: f[1].parse().unwrap(),
        };
        let ack = Ack {
            state: f[3].parse().unwrap(),
            request_id: f[4].into(),
        };
        acks.push(((key, f[2].parse().unwrap()), ack));
    }
    Cycle { acks, killed_after }
}

/// Every revision of a report, through all pages.
async fn all_revisions(store: &Store, key: &ReportKey) -> Vec<gongkai_proto::v1::ReportRevision> {
    let mut out = Vec::new();
    let mut page = PageRequest {
        size: 500,
        cursor: String::new(),
    };
    loop {
        let p = store.list_revisions(key, &page).await.unwrap();
        out.extend(p.items);
        if p.next_cursor.is_empty() {
            return out;
        }
        page.cursor = p.next_cursor;
    }
}

/// Checks the reopened store against every acknowledged write so far;
/// returns the number of report revisions stored.
async fn check(store: &Store, acked: &BTreeMap<(ReportKey, u32), Ack>, cycle: u32) -> u64 {
    let v = store.verify().await.unwrap();
    assert_eq!(v.broken, None, "cycle {cycle}: the audit chain is broken");
    for ((key, rev), ack) in acked {
        let r = store.revision(key, *rev).await.unwrap().unwrap_or_else(|| {
            panic!("cycle {cycle}: acknowledged {key:?} revision {rev} is lost")
        });
        assert_eq!(
            (r.state, &r.request_id),
            (ack.state, &ack.request_id),
            "cycle {cycle}: {key:?} revision {rev} is not the acknowledged one"
        );
        let head = store
            .head(key)
            .await
            .unwrap()
            .expect("an acknowledged report");
        assert!(
            head.latest_revision >= *rev,
            "cycle {cycle}: {key:?} head {} is behind acknowledged revision {rev}",
            head.latest_revision
        );
    }
    // Beyond the acknowledged: every report whole, head and indexes agreeing.
    let mut revisions = 0u64;
    for key in reports() {
        let Some(head) = store.head(&key).await.unwrap() else {
            continue;
        };
        let revs = all_revisions(store, &key).await;
        let numbers: Vec<u32> = revs.iter().map(|r| r.revision).collect();
        let expected: Vec<u32> = (1..=head.latest_revision).collect();
        assert_eq!(numbers, expected, "cycle {cycle}: {key:?} revisions");
        assert_eq!(
            revs.last().map(|r| r.state),
            Some(head.latest_state),
            "cycle {cycle}: {key:?} head state"
        );
        if head.approved_revision > 0 {
            let a = &revs[head.approved_revision as usize - 1];
            assert_eq!(a.state(), ReviewState::Approved, "cycle {cycle}: {key:?}");
        }
        let listed = store
            .list_reports(
                &gongkai_store::ReportFilter {
                    area: Some(agencies()[0].0.clone()),
                    state: Some(head.latest_state()),
                    year: Some(key.year),
                    ..Default::default()
                },
                &PageRequest {
                    size: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(
            listed.items.iter().any(|s| s.key == key && s.head == head),
            "cycle {cycle}: {key:?} missing from the area/state index"
        );
        revisions += u64::from(head.latest_revision);
    }
    // One event per agency and per revision: nothing half-written.
    let agency_count = agencies().len() as u64;
    assert_eq!(
        (v.events, v.records),
        (agency_count + revisions, agency_count + revisions),
        "cycle {cycle}: events vs records"
    );
    revisions
}

/// Retries some acknowledged writes with their request ids: each must
/// replay its first result and write nothing.
async fn retry_acknowledged(store: &Store, acks: &[((ReportKey, u32), Ack)], rng: &mut XorShift) {
    let before = store.verify().await.unwrap().events;
    for _ in 0..RETRIES_PER_CYCLE.min(acks.len()) {
        let ((key, rev), ack) = &acks[rng.below(acks.len() as u64) as usize];
        let w = meta(&ack.request_id);
        let expected = rev - 1;
        let state = ReviewState::try_from(ack.state).unwrap();
        let again = match state {
            ReviewState::Draft => {
                store
                    .save_draft(
                        &w,
                        key,
                        expected,
                        report(&ack.request_id),
                        Checked::default(),
                    )
                    .await
            }
            ReviewState::Submitted => {
                store
                    .transition(
                        &w,
                        key,
                        expected,
                        Action::Submit,
                        Checked::default(),
                        vec![],
                    )
                    .await
            }
            ReviewState::Approved => {
                store
                    .transition(
                        &w,
                        key,
                        expected,
                        Action::Approve,
                        Checked::default(),
                        vec![],
                    )
                    .await
            }
            ReviewState::Returned => {
                store
                    .transition(
                        &w,
                        key,
                        expected,
                        Action::Return,
                        Checked::default(),
                        return_comments(),
                    )
                    .await
            }
            ReviewState::Unspecified => panic!("acknowledged with no state"),
        }
        .unwrap_or_else(|e| panic!("retry of {} failed: {e}", ack.request_id));
        assert_eq!(
            (again.revision, again.state, &again.request_id),
            (*rev, ack.state, &ack.request_id)
        );
    }
    assert_eq!(
        store.verify().await.unwrap().events,
        before,
        "a retry wrote"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let cycles: u32 = std::env::var(CYCLES_ENV)
        .ok()
        .map(|c| c.parse().expect("GONGKAI_CRASH_CYCLES is a number"))
        .unwrap_or(DEFAULT_CYCLES);
    let seed: u64 = std::env::var(SEED_ENV)
        .ok()
        .map(|s| s.parse().expect("GONGKAI_CRASH_SEED is a number"))
        .unwrap_or_else(|| XorShift::from_time(0).next());
    println!("crash test: {cycles} cycles, {SEED_ENV}={seed}");
    let mut rng = XorShift::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let mut acked: BTreeMap<(ReportKey, u32), Ack> = BTreeMap::new();
    let started = Instant::now();
    for cycle in 0..cycles {
        let delay = Duration::from_millis(50 + rng.below(351));
        let c = run_child(&path, dir.path(), cycle, delay);
        assert!(
            !c.acks.is_empty(),
            "cycle {cycle}: no write was acknowledged in {:?}",
            c.killed_after
        );
        for (k, a) in &c.acks {
            let earlier = acked.insert(k.clone(), a.clone());
            assert!(
                earlier.is_none(),
                "cycle {cycle}: {k:?} acknowledged twice ({earlier:?}, {a:?})"
            );
        }
        let store = open(&path);
        let stored = check(&store, &acked, cycle).await;
        retry_acknowledged(&store, &c.acks, &mut rng).await;
        drop(store);
        println!(
            "cycle {cycle}: killed {} ms after the first acknowledged write, {} writes acknowledged, {} acknowledged in all, {stored} revisions stored",
            c.killed_after.as_millis(),
            c.acks.len(),
            acked.len()
        );
    }
    println!(
        "crash test: {cycles} cycles in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
