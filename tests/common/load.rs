//! Load on several `gongkai serve` replicas of one PostgreSQL database, for
//! the replica, crash and failover tests: lanes of writes with request
//! ids, each lane retrying a call whose outcome it did not learn on the
//! next replica with the same request id; what was acknowledged, kept to
//! be checked against the store afterwards.
//!
//! Each lane owns one report and writes it in turn: SubmitReport (new
//! content, a text of its own), then ReturnReport by the supervising
//! reviewer, then SubmitReport again … so every write is a revision with a
//! known number and content, and no lane's write conflicts with another's.

#![allow(dead_code)]

use std::{
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use gongkai_proto::v1 as pb;
use tonic::{Code, Status};

use super::serve::{
    AUDITOR, Clients, Principals, REVIEWER, SUBMITTER, city, county, dept1, gongkai_command,
    report_for, report_name,
};

/// An agency's 统一社会信用代码, made when asked.
type AgencyCode = fn() -> String;
/// Agencies whose reports the lanes write, and their submitters.
const AUTHORS: [(&str, AgencyCode); 2] = [("county-office", county), ("dept1-office", dept1)];
/// The reviewer who returns every lane's report (the city supervises both).
pub const REVIEWER_NAME: &str = "city-review";
/// The registrar of the supervision tree.
pub const ADMIN_NAME: &str = "ops";
/// The auditor who reads the chain.
pub const AUDITOR_NAME: &str = "inspector";

/// The principals the load needs (and an admin and an auditor).
pub fn principals() -> Principals {
    Principals::new(&[
        (ADMIN_NAME, "*", super::serve::ADMIN),
        (AUTHORS[0].0, &county(), SUBMITTER),
        (AUTHORS[1].0, &dept1(), SUBMITTER),
        (REVIEWER_NAME, &city(), REVIEWER),
        (AUDITOR_NAME, "*", AUDITOR),
    ])
}

/// How long one lane may take to have one write acknowledged, retries
/// included, before the test fails: longer than a replica's restart and a
/// failover with the engine's own retries (15 s).
const WRITE_LIMIT: Duration = Duration::from_secs(90);
/// How long one try may take.
const TRY_LIMIT: Duration = Duration::from_secs(20);

/// The replicas' current clients, by replica: a restarted replica listens
/// on a new port and its entry is replaced.
#[derive(Debug)]
pub struct Book(RwLock<Vec<Clients>>);

impl Book {
    /// Clients of each replica, in order.
    pub fn new(clients: Vec<Clients>) -> Arc<Book> {
        Arc::new(Book(RwLock::new(clients)))
    }

    /// Replica `i`'s clients now.
    pub fn get(&self, i: usize) -> Clients {
        let list = self.0.read().expect("book");
        list[i % list.len()].clone()
    }

    /// Replica `i` answers at new clients.
    pub fn replace(&self, i: usize, clients: Clients) {
        self.0.write().expect("book")[i] = clients;
    }
}

/// Whether the call's outcome is unknown to the caller, so the same call
/// (same request id) is to be sent again, to another replica: the replica
/// or its database was unreachable, or the connection broke mid-call.
/// Any other error is an answer, and fails the test.
pub fn in_doubt(s: &Status) -> bool {
    match s.code() {
        Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded | Code::Unknown => true,
        // A connection cut mid-call, as tonic tells it.
        Code::Internal => {
            let m = s.message();
            m.contains("h2 protocol error") || m.contains("transport") || m.contains("connection")
        }
        _ => false,
    }
}

/// One write a lane had acknowledged.
#[derive(Clone, Debug)]
pub struct Acked {
    /// The revision's number.
    pub revision: u32,
    /// The state it put the report in.
    pub state: pb::ReviewState,
    /// The content it holds (a return keeps the submitted content).
    pub report: pb::AnnualReport,
}

/// What one lane wrote.
#[derive(Clone, Debug)]
pub struct LaneRecord {
    /// The report's name.
    pub name: String,
    /// Every acknowledged write, in order (revision 1, 2, …).
    pub acked: Vec<Acked>,
}

/// Counts the load keeps while it runs.
#[derive(Debug, Default)]
pub struct Counts {
    /// Tries whose outcome was unknown and were sent again.
    pub resent: AtomicU64,
    /// Writes answered on a resend with the revision an earlier try had
    /// made (made before the answering try was sent): in doubt to the
    /// client, settled by the request id.
    pub settled_by_request_id: AtomicU64,
}

/// Lanes writing until stopped.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
    acks: tokio::sync::watch::Receiver<u64>,
    lanes: Vec<tokio::task::JoinHandle<LaneRecord>>,
}

/// The report lane `l` writes: the county's or the department's, a year
/// of its own (every other year, so no report is another's previous year
/// and the cross-year rules stay out of the way).
pub fn lane_report(l: usize) -> (&'static str, String, u32) {
    let (author, agency) = AUTHORS[l % AUTHORS.len()];
    let year = 2021 + 2 * u32::try_from(l / AUTHORS.len()).expect("lanes");
    (author, agency(), year)
}

/// The content of lane `l`'s `k`-th submission: the corrected sample for
/// its agency and year, with a text of its own in 六、其他需要报告的事项.
pub fn lane_content(l: usize, k: u32) -> pb::AnnualReport {
    let (_, agency, year) = lane_report(l);
    let mut r = report_for(year);
    let m = r.metadata.as_mut().expect("metadata");
    m.agency_uscc = agency;
    r.sections
        .get_or_insert_with(Default::default)
        .other_matters = Some(format!("lane {l}, submission {k}"));
    r
}

impl Load {
    /// Starts `lanes` lanes (one call in flight each) over the replicas of
    /// `book`; lane `l` starts on replica `l`.
    pub fn start(book: Arc<Book>, principals: &Principals, lanes: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let (tx, acks) = tokio::sync::watch::channel(0u64);
        let tx = Arc::new(tx);
        let lanes = (0..lanes)
            .map(|l| {
                let (author, agency, year) = lane_report(l);
                let lane = Lane {
                    l,
                    book: book.clone(),
                    submitter: principals.token(author).to_owned(),
                    reviewer: principals.token(REVIEWER_NAME).to_owned(),
                    name: report_name(&agency, year),
                    replica: l,
                };
                let (stop, counts, tx) = (stop.clone(), counts.clone(), tx.clone());
                tokio::spawn(lane.run(stop, counts, tx))
            })
            .collect();
        Load {
            stop,
            counts,
            acks,
            lanes,
        }
    }

    /// Writes acknowledged so far.
    pub fn acked(&self) -> u64 {
        *self.acks.borrow()
    }

    /// Tries sent again so far.
    pub fn resent(&self) -> u64 {
        self.counts.resent.load(Ordering::Relaxed)
    }

    /// Writes an earlier try had made, answered on a resend by request id.
    pub fn settled_by_request_id(&self) -> u64 {
        self.counts.settled_by_request_id.load(Ordering::Relaxed)
    }

    /// Waits until `n` writes in all are acknowledged (at most `limit`);
    /// returns when that happened.
    pub async fn until_acked(&mut self, n: u64, limit: Duration) -> Instant {
        tokio::time::timeout(limit, self.acks.wait_for(|&a| a >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} writes not acknowledged within {limit:?}"))
            .expect("the load runs");
        Instant::now()
    }

    /// Stops the lanes after their current write (acknowledged, however
    /// many tries it takes) and returns what each wrote.
    pub async fn stop(self) -> Vec<LaneRecord> {
        self.stop.store(true, Ordering::Relaxed);
        let mut out = Vec::new();
        for lane in self.lanes {
            out.push(lane.await.expect("a lane ends without panic"));
        }
        out
    }
}

#[derive(Debug)]
struct Lane {
    l: usize,
    book: Arc<Book>,
    submitter: String,
    reviewer: String,
    name: String,
    /// The replica it calls next.
    replica: usize,
}

impl Lane {
    async fn run(
        mut self,
        stop: Arc<AtomicBool>,
        counts: Arc<Counts>,
        acks: Arc<tokio::sync::watch::Sender<u64>>,
    ) -> LaneRecord {
        let mut record = LaneRecord {
            name: self.name.clone(),
            acked: Vec::new(),
        };
        let mut submissions = 0u32;
        let mut content = pb::AnnualReport::default();
        while !stop.load(Ordering::Relaxed) {
            let expected = u32::try_from(record.acked.len()).expect("revisions");
            // Every write has a request id of its own, the same on every try.
            let request_id = format!("lane-{}-write-{}", self.l, expected + 1);
            let submit = expected % 2 == 0;
            if submit {
                submissions += 1;
                content = lane_content(self.l, submissions);
            }
            let started = Instant::now();
            let mut tries = 0u32;
            let mut sent_at;
            let revision = loop {
                tries += 1;
                sent_at = std::time::SystemTime::now();
                let mut c = self.book.get(self.replica);
                let call = async {
                    if submit {
                        c.submit(
                            &self.submitter,
                            &self.name,
                            Some(content.clone()),
                            expected,
                            &request_id,
                        )
                        .await
                    } else {
                        c.return_report(
                            &self.reviewer,
                            &self.name,
                            expected,
                            return_comments(expected + 1),
                            &request_id,
                        )
                        .await
                    }
                };
                let outcome = tokio::time::timeout(TRY_LIMIT, call)
                    .await
                    .unwrap_or_else(|_| Err(Status::deadline_exceeded("no answer in time")));
                match outcome {
                    Ok(r) => break r,
                    Err(s) if in_doubt(&s) => {
                        assert!(
                            started.elapsed() < WRITE_LIMIT,
                            "{request_id} on {}: no answer within {WRITE_LIMIT:?}, last {s:?}",
                            self.name
                        );
                        counts.resent.fetch_add(1, Ordering::Relaxed);
                        // The next replica; a short pause so that a lane
                        // facing every replica down does not spin.
                        self.replica = self.replica.wrapping_add(1);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(s) => panic!("{request_id} on {}: {s:?}", self.name),
                }
            };
            let state = if submit {
                pb::ReviewState::Submitted
            } else {
                pb::ReviewState::Returned
            };
            assert_eq!(
                (
                    revision.revision,
                    revision.state(),
                    revision.request_id.as_str()
                ),
                (expected + 1, state, request_id.as_str()),
                "{}: the answer to {request_id}",
                self.name
            );
            assert_eq!(revision.report.as_ref(), Some(&content), "{request_id}");
            let made = revision
                .create_time
                .and_then(|t| std::time::SystemTime::try_from(t).ok())
                .expect("a creation time");
            if tries > 1 && made < sent_at {
                counts.settled_by_request_id.fetch_add(1, Ordering::Relaxed);
            }
            record.acked.push(Acked {
                revision: revision.revision,
                state,
                report: content.clone(),
            });
            acks.send_modify(|a| *a += 1);
        }
        record
    }
}

/// A reviewer's comments on return `n` (a return needs one).
pub fn return_comments(n: u32) -> Vec<pb::ReviewComment> {
    vec![pb::ReviewComment {
        text: format!("请核对（第{n}次）"),
        cell: String::new(),
    }]
}

/// Registers the supervision tree through replica 0 (ops).
pub async fn register_tree(c: &mut Clients, principals: &Principals) {
    c.register_tree(principals.token(ADMIN_NAME), false).await;
}

/// Events the supervision tree's registration writes: one per agency.
pub fn tree_events() -> u64 {
    u64::try_from(super::serve::tree_agencies(false).len()).expect("a few agencies")
}

/// Checks through `c` that every acknowledged write is there, once, with
/// the content sent: each lane's report has exactly its acknowledged
/// revisions, each with its state and content. Returns the writes counted.
pub async fn check_acked(c: &Clients, principals: &Principals, lanes: &[LaneRecord]) -> u64 {
    let auditor = principals.token(AUDITOR_NAME).to_owned();
    let checks = lanes.iter().cloned().map(|lane| {
        let mut c = c.clone();
        let auditor = auditor.clone();
        tokio::spawn(async move {
            let mut get = async |name: String| {
                c.get_revision(&auditor, &name)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e:?}"))
            };
            if lane.acked.is_empty() {
                return 0u64;
            }
            let latest = get(lane.name.clone()).await;
            assert_eq!(
                latest.revision as usize,
                lane.acked.len(),
                "{}: the latest revision is the last acknowledged (none lost, none twice)",
                lane.name
            );
            for a in &lane.acked {
                let name = format!("{}/revisions/{}", lane.name, a.revision);
                let got = get(name.clone()).await;
                assert_eq!(got.state(), a.state, "{name}");
                assert_eq!(got.report.as_ref(), Some(&a.report), "{name}: content");
            }
            lane.acked.len() as u64
        })
    });
    let mut total = 0;
    for check in checks.collect::<Vec<_>>() {
        total += check.await.expect("check a lane");
    }
    total
}

/// Checks that the audit chain, read through `c`, is one sequence 1..=n
/// (no gap, no fork by number; the hash links are verify_database's to
/// check), and returns n.
pub async fn check_one_sequence(c: &mut Clients, principals: &Principals) -> u64 {
    let events = c.audit_events(principals.token(AUDITOR_NAME)).await;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.sequence, i as u64 + 1, "the chain has a gap or a fork");
    }
    events.len() as u64
}

/// Runs `gongkai verify --database URL` and returns the events it
/// verified; fails the test unless the chain verifies.
pub async fn verify_database(url: &str) -> u64 {
    let url = url.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        gongkai_command(&["verify", "--database", &url], &[])
            .output()
            .expect("gongkai verify runs")
    })
    .await
    .expect("join");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "verify: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "audit chain verified: N events, M records"
    text.strip_prefix("audit chain verified: ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not verify's line: {text}"))
}

/// Waits (at most `limit`) until `c` reports `want`, polling health.
pub async fn until_health(
    c: &mut Clients,
    want: tonic_health::pb::health_check_response::ServingStatus,
    limit: Duration,
) -> Instant {
    let deadline = Instant::now() + limit;
    loop {
        // A hung call counts against the limit too.
        let left = deadline.saturating_duration_since(Instant::now());
        if let Ok(Ok(status)) = tokio::time::timeout(left, c.health()).await
            && status == want
        {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "health never {want:?} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Cycles a crash or failover test runs: `short` (CI), or
/// `GONGKAI_LONG_CYCLES` when set (e.g. 20).
pub fn cycles(short: usize) -> usize {
    match std::env::var("GONGKAI_LONG_CYCLES") {
        Ok(v) => {
            v.parse().ok().filter(|n| *n > 0).unwrap_or_else(|| {
                panic!("GONGKAI_LONG_CYCLES={v}: not a number of cycles above 0")
            })
        }
        Err(_) => short,
    }
}

/// Starts a replica, `gongkai serve --database URL --migrate` with
/// `principals`, its files in `dir` (a directory per replica), on a
/// blocking thread at once: several start together.
pub fn start_replica(
    dir: &std::path::Path,
    principals: &Principals,
    url: &str,
) -> tokio::task::JoinHandle<super::serve::Running> {
    let (dir, principals, url) = (dir.to_owned(), principals.clone(), url.to_owned());
    tokio::task::spawn_blocking(move || {
        super::serve::spawn_in(&dir, &principals, &["--database", &url, "--migrate"], &[])
    })
}
