//! `gongkai-load`: load generator for `gongkai serve`.
//!
//! Runs `grpc.health.v1.Health/Check` (the transport baseline),
//! `ReportService/GetReport` (of a few pre-submitted reports) and
//! `ReportService/SubmitReport` (valid reports, a fresh agency/year pair per
//! call) at each concurrency of `--concurrency`, with exactly that many calls
//! in flight (closed loop: N tasks, each issuing its next call when the last
//! one answers). Prints req/s, p50, p99 and the ratio to the health-check
//! rate at the same concurrency, as a plain table and as Markdown for
//! BENCHMARKS.md.
//!
//! Without `--target` it starts `gongkai serve --local-trial` itself (the
//! `gongkai` binary next to this one, or `--spawn PATH`) on 127.0.0.1:0 with
//! a temporary data directory, which it removes at the end. Loopback only;
//! every phase is bounded in time.
//!
//! `--engine postgres` (or `--database URL`) starts it on PostgreSQL
//! instead (`serve --database URL --migrate`): on the database given, or on
//! a throwaway cluster the test kit starts (fsync on). It then also runs
//! the bare baseline of SubmitReport ([`bare`]): the same rows per
//! transaction written to the same database by tokio-postgres directly.

mod bare;

use std::{
    collections::BTreeMap,
    marker::PhantomData,
    net::{SocketAddr, ToSocketAddrs},
    path::{Path, PathBuf},
    process::{ExitCode, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context as _, bail};
use clap::Parser;
use gongkai_domain::{
    Report,
    shape::{T3Col, T3Row},
};
use gongkai_proto::v1::{
    self as pb, agency_service_client::AgencyServiceClient,
    report_service_client::ReportServiceClient,
};
use hdrhistogram::Histogram;
use prost::bytes::Buf as _;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::Mutex,
    task::JoinSet,
};
use tonic::{
    Code, Request,
    codec::{Codec, DecodeBuf, Decoder},
    codegen::{Bytes, http::uri::PathAndQuery},
    metadata::{Ascii, MetadataValue},
    transport::{Channel, Endpoint},
};
use tonic_health::pb::HealthCheckRequest;
use tonic_prost::ProstEncoder;

/// The 2021-format sample report; made valid in [`valid_report`].
const SAMPLE: &[u8] = include_bytes!("../../../../../testdata/reports/baoqing-county-2024.md");

/// Data years a submitted report may carry: those of the sample's (2021) format.
const FIRST_YEAR: u32 = 2021;
const LAST_YEAR: u32 = 2100;
const YEARS_PER_AGENCY: u64 = (LAST_YEAR - FIRST_YEAR + 1) as u64;
/// Agencies are used in blocks: consecutive submits go to different agencies
/// of a block (so the calls in flight are of distinct agencies), and each
/// agency's years follow each other (so most submits find the previous
/// year's report and run the cross-year rules against it).
const AGENCY_BLOCK: u64 = 64;
const PAIRS_PER_BLOCK: u64 = AGENCY_BLOCK * YEARS_PER_AGENCY;

/// The 31 characters of a 统一社会信用代码 (GB 32100-2015), in value order.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A Health/Check p99 above this means the transport stalls (see the warning
/// in [`print_results`]).
const STALLED_BASELINE_P99_MS: f64 = 10.0;

/// Longest any single call may take before it counts as an error.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Load generator for `gongkai serve`: Health/Check, GetReport and
/// SubmitReport at 1, 16 and 64 calls in flight.
#[derive(Debug, Parser)]
#[command(name = "gongkai-load", version, about)]
struct Args {
    /// Address of a running server (loopback only, plaintext). Without it,
    /// a server is started with a temporary data directory.
    #[arg(long, value_name = "ADDR")]
    target: Option<String>,
    /// The `gongkai` binary to start when --target is absent (default: the
    /// `gongkai` next to this program).
    #[arg(long, value_name = "PATH", conflicts_with = "target")]
    spawn: Option<PathBuf>,
    /// Bearer token with the admin and submitter roles (a started server's
    /// local-trial token is read from its output).
    #[arg(long, env = "GONGKAI_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Measured seconds per RPC and concurrency.
    #[arg(long, default_value_t = 5)]
    duration_secs: u64,
    /// Unmeasured seconds before each measurement.
    #[arg(long, default_value_t = 1)]
    warmup_secs: u64,
    /// Calls in flight, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// The RPCs to run, comma-separated (health is the baseline of the ratios).
    /// (default: health,get,submit, and on PostgreSQL also bare,bare-no-lock)
    #[arg(long, value_delimiter = ',', value_enum)]
    rpcs: Option<Vec<Rpc>>,
    /// The store of a started server: sled (a temporary directory) or
    /// PostgreSQL (--database, else a throwaway cluster).
    #[arg(long, value_enum, default_value_t = Engine::Sled)]
    engine: Engine,
    /// With --engine postgres: the database to use (its gongkai tables are
    /// migrated and written; the baseline adds tables named load_bare_…).
    /// Without it a throwaway cluster is started.
    #[arg(long, value_name = "URL", conflicts_with = "target")]
    database: Option<String>,
    /// A throwaway cluster without fsync (default: fsync on, as in
    /// production).
    #[arg(long, conflicts_with = "database")]
    no_fsync: bool,
    /// How many times to run every point, the rounds one after another. On
    /// a shared machine a single pair of points can be several percent off
    /// either way; the goals are then judged on the median round.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=50))]
    rounds: u32,
    /// One HTTP/2 connection shared by all tasks, or one per task.
    #[arg(long, value_enum, default_value_t = Channels::Shared)]
    channels: Channels,
    /// Reports submitted before the run for GetReport to read.
    #[arg(long, default_value_t = 16)]
    get_reports: usize,
    /// Where a started server's log (stderr) goes; default: discarded.
    #[arg(long, value_name = "FILE", conflicts_with = "target")]
    server_log: Option<PathBuf>,
    /// Keep a started server's data directory instead of removing it.
    #[arg(long, conflicts_with = "target")]
    keep_data: bool,
    /// With --target: the server's process id, to report its CPU per call.
    #[arg(long, requires = "target")]
    server_pid: Option<u32>,
    /// Decode (and check) every reply into its message, as an application
    /// would. By default replies are taken as wire bytes (the first of each
    /// task is decoded and checked): on a shared machine the generator's
    /// own decoding would otherwise count against the server it measures.
    #[arg(long)]
    decode: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
enum Rpc {
    /// grpc.health.v1.Health/Check.
    Health,
    /// gongkai.v1.ReportService/GetReport.
    Get,
    /// gongkai.v1.ReportService/SubmitReport.
    Submit,
    /// PostgreSQL only: the rows of one SubmitReport, one transaction each,
    /// by tokio-postgres directly, the chain head locked first.
    Bare,
    /// The same without the chain: the inserts alone (no lock, no head).
    BareNoLock,
    /// PostgreSQL only: what one GetReport reads (the head, then the
    /// revision), by tokio-postgres directly: GetReport's floor.
    BareRead,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Engine {
    Sled,
    Postgres,
}

impl Rpc {
    fn label(self) -> &'static str {
        match self {
            Rpc::Health => "Health/Check",
            Rpc::Get => "GetReport",
            Rpc::Submit => "SubmitReport",
            Rpc::Bare => "bare baseline",
            Rpc::BareNoLock => "bare, no lock",
            Rpc::BareRead => "bare read",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Channels {
    /// All tasks share one tonic Channel (one HTTP/2 connection).
    Shared,
    /// Each task has its own Channel (its own connection).
    PerTask,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gongkai-load: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("gongkai-load: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The server under load: one we started (stopped and cleaned up at the
/// end) or one given by --target.
#[derive(Debug)]
struct Server {
    addr: SocketAddr,
    token: Option<String>,
    child: Option<Child>,
    data: Option<PathBuf>,
    keep_data: bool,
    /// The PostgreSQL database of a server on PostgreSQL.
    database: Option<String>,
    /// A throwaway cluster the server's database is in; stopped last.
    cluster: Option<gongkai_testkit::Cluster>,
}

impl Server {
    async fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM first, so the server drains and flushes like in production.
            #[cfg(unix)]
            if let Some(pid) = child.id() {
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .await;
            }
            match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
                Ok(_) => {}
                Err(_) => {
                    eprintln!("gongkai-load: server did not stop within 30 s; killing it");
                    let _ = child.kill().await;
                }
            }
        }
        if let Some(cluster) = self.cluster.take() {
            // Stopping it waits for the server: not on an async worker.
            let _ = tokio::task::spawn_blocking(move || drop(cluster)).await;
        }
        if let Some(dir) = self.data.take() {
            if self.keep_data {
                eprintln!("gongkai-load: server data kept in {}", dir.display());
            } else {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
}

/// The `gongkai` binary next to this program.
fn default_gongkai() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("locating this program")?;
    Ok(me.with_file_name(format!("gongkai{}", std::env::consts::EXE_SUFFIX)))
}

/// Under `cargo run`, brings the `gongkai` binary next to this one up to date
/// (cargo builds only the binary it runs), so an old server is never measured.
async fn build_gongkai(exe: &Path) -> anyhow::Result<()> {
    let (Some(cargo), Ok(manifest)) = (
        std::env::var_os("CARGO"),
        std::env::var("CARGO_MANIFEST_DIR"),
    ) else {
        return Ok(());
    };
    let profile = exe
        .parent()
        .and_then(Path::file_name)
        .and_then(|p| p.to_str())
        .map(|p| if p == "debug" { "dev" } else { p })
        .unwrap_or("release")
        .to_owned();
    eprintln!("gongkai-load: cargo build --profile {profile} --bin gongkai");
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--profile",
            &profile,
            "--bin",
            "gongkai",
        ])
        .arg("--manifest-path")
        .arg(Path::new(&manifest).join("Cargo.toml"))
        .stdin(Stdio::null())
        .status()
        .await
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --bin gongkai failed ({status})");
    }
    Ok(())
}

/// Starts `gongkai serve --local-trial` on 127.0.0.1:0 with a fresh data
/// directory and reads its address and token from stdout.
async fn spawn_server(args: &Args) -> anyhow::Result<Server> {
    let exe = match &args.spawn {
        Some(p) => p.clone(),
        None => {
            let exe = default_gongkai()?;
            build_gongkai(&exe).await?;
            exe
        }
    };
    if !exe.is_file() {
        bail!(
            "{} not found: build it (cargo build --release --bin gongkai), pass --spawn PATH, or --target ADDR",
            exe.display()
        );
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let data = std::env::temp_dir().join(format!("gongkai-load-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let stderr = match &args.server_log {
        Some(path) => Stdio::from(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => Stdio::null(),
    };
    let (cluster, database) = match (&args.database, args.engine) {
        (Some(url), _) => (None, Some(url.clone())),
        (None, Engine::Postgres) => {
            let fsync = !args.no_fsync;
            let cluster = tokio::task::spawn_blocking(move || {
                let c = gongkai_testkit::Cluster::start(&gongkai_testkit::Options {
                    fsync,
                    settings: Vec::new(),
                })?;
                let url = c.fresh_database()?;
                Ok::<_, String>((c, url))
            })
            .await?
            .map_err(|e| anyhow::anyhow!("starting a PostgreSQL cluster: {e}"))?;
            eprintln!(
                "gongkai-load: a throwaway PostgreSQL cluster on port {} (fsync {})",
                cluster.0.port(),
                if fsync { "on" } else { "off" }
            );
            (Some(cluster.0), Some(cluster.1))
        }
        (None, Engine::Sled) => (None, None),
    };
    let mut cmd = Command::new(&exe);
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--local-trial",
        // One principal (the trial's) makes every call: it may use every
        // slot, not only its share.
        "--max-calls-per-principal",
        "256",
    ]);
    match &database {
        Some(url) => cmd.args(["--migrate", "--database", url]),
        None => cmd.arg("--data").arg(data.join("store")),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true);
    // Settings from the environment that would contradict a local trial.
    for var in [
        "GONGKAI_LISTEN",
        "GONGKAI_DATA",
        "GONGKAI_CREDENTIALS",
        "GONGKAI_TLS_CERT",
        "GONGKAI_TLS_KEY",
        "GONGKAI_TLS_CLIENT_CA",
        "GONGKAI_DATABASE_URL",
        "GONGKAI_DATABASE_CA",
        "GONGKAI_MIGRATE",
    ] {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let mut server = Server {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        token: None,
        child: None,
        data: Some(data),
        keep_data: args.keep_data,
        database,
        cluster,
    };
    let stdout = child.stdout.take().context("server stdout")?;
    server.child = Some(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut addr = None;
    let mut token = None;
    let read = async {
        while addr.is_none() || token.is_none() {
            let Some(line) = lines.next_line().await? else {
                bail!("the server exited before announcing its address and token");
            };
            if let Some(rest) = line.strip_prefix("gongkai listening on ") {
                let a = rest.split_whitespace().next().unwrap_or_default();
                addr = Some(
                    a.parse::<SocketAddr>()
                        .with_context(|| format!("address in {line:?}"))?,
                );
            } else if let Some(t) = line.strip_prefix("token: ") {
                token = Some(t.trim().to_owned());
            }
        }
        Ok(())
    };
    let outcome = tokio::time::timeout(Duration::from_secs(30), read).await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            server.stop().await;
            return Err(e);
        }
        Err(_) => {
            server.stop().await;
            bail!("the server did not announce its address within 30 s");
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    server.addr = addr.context("address")?;
    server.token = token;
    Ok(server)
}

fn loopback_target(target: &str) -> anyhow::Result<SocketAddr> {
    let addrs: Vec<SocketAddr> = target
        .to_socket_addrs()
        .with_context(|| format!("--target {target}: not host:port"))?
        .collect();
    match addrs.iter().find(|a| a.ip().is_loopback()) {
        Some(a) if addrs.iter().all(|a| a.ip().is_loopback()) => Ok(*a),
        _ => bail!("--target {target}: loopback addresses only (127.0.0.1, ::1, localhost)"),
    }
}

async fn connect(addr: SocketAddr) -> anyhow::Result<Channel> {
    Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))
}

/// What every call needs.
#[derive(Clone, Debug)]
struct Shared {
    auth: MetadataValue<Ascii>,
    /// The valid report on the wire, adapted per call.
    template: Arc<pb::AnnualReport>,
    /// Names of the pre-submitted reports GetReport reads.
    get_names: Arc<Vec<String>>,
    /// Agencies registered so far (their 统一社会信用代码).
    agencies: Arc<Mutex<Vec<String>>>,
    /// Next (agency, year) pair for SubmitReport.
    next_pair: Arc<AtomicU64>,
    /// Distinguishes this run's agencies and request ids from earlier runs'.
    nonce: String,
    /// Every reply decoded and checked (`--decode`), or only each task's
    /// first, the rest taken as bytes.
    decode: bool,
    /// The bare baseline, on PostgreSQL.
    bare: Option<Arc<bare::Bare>>,
    /// The bare read, on PostgreSQL.
    bare_read: Option<Arc<bare::BareRead>>,
}

fn with_auth<T>(shared: &Shared, message: T) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut()
        .insert("authorization", shared.auth.clone());
    req.set_timeout(CALL_TIMEOUT);
    req
}

/// The sample report made valid: its T3 row R25 set to 0 (as the issue's
/// corrected report does), on the wire.
fn valid_report() -> anyhow::Result<pb::AnnualReport> {
    let imported = gongkai_document::import(SAMPLE).context("importing the sample report")?;
    let mut report: Report = imported.report;
    let t3 = report.t3.as_mut().context("the sample has no T3")?;
    t3.set(T3Row::R25, T3Col::NaturalPerson, 0);
    t3.set(T3Row::R25, T3Col::Total, 0);
    Ok(pb::AnnualReport::from(&report))
}

/// The `n`th 统一社会信用代码 of this run: "11330700" + 4 characters of
/// nonce + 5 of counter + check character.
fn uscc(nonce: &str, n: u64) -> anyhow::Result<String> {
    let mut counter = [b'0'; 5];
    let mut rest = n;
    for c in counter.iter_mut().rev() {
        let digit = usize::try_from(rest % 31)?;
        *c = USCC_ALPHABET[digit];
        rest /= 31;
    }
    if rest != 0 {
        bail!("agency counter {n} exceeds 31^5");
    }
    let first17 = format!("11330700{nonce}{}", std::str::from_utf8(&counter)?);
    let check = gongkai_domain::ids::uscc_check_character(&first17)
        .map_err(|e| anyhow::anyhow!("{first17}: {e}"))?;
    Ok(format!("{first17}{check}"))
}

/// Four characters of the USCC alphabet from the clock.
fn nonce() -> String {
    let mut x = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        ^ u128::from(std::process::id());
    (0..4)
        .map(|_| {
            let c = USCC_ALPHABET[usize::try_from(x % 31).unwrap_or(0)];
            x /= 31;
            char::from(c)
        })
        .collect()
}

/// Registers agencies until `total` exist, `in_flight` at a time.
async fn register_agencies(
    channel: &Channel,
    shared: &Shared,
    total: usize,
    in_flight: usize,
) -> anyhow::Result<()> {
    let mut agencies = shared.agencies.lock().await;
    let start = agencies.len();
    if total <= start {
        return Ok(());
    }
    let codes = (start..total)
        .map(|n| uscc(&shared.nonce, u64::try_from(n)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let queue = Arc::new(std::sync::Mutex::new(codes.clone().into_iter()));
    let mut tasks = JoinSet::new();
    for _ in 0..in_flight.max(1) {
        let queue = Arc::clone(&queue);
        let mut client = AgencyServiceClient::new(channel.clone());
        let shared = shared.clone();
        tasks.spawn(async move {
            loop {
                let next = queue
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .next();
                let Some(code) = next else {
                    return anyhow::Ok(());
                };
                let agency = pb::Agency {
                    uscc: code.clone(),
                    display_name: format!("负载测试机关{code}"),
                    region_code: "330700".into(),
                    level: pb::AgencyLevel::County.into(),
                    kind: pb::AgencyKind::Government.into(),
                    ..pb::Agency::default()
                };
                let req = pb::RegisterAgencyRequest {
                    agency: Some(agency),
                    request_id: format!("load-{}-agency-{code}", shared.nonce),
                };
                client
                    .register_agency(with_auth(&shared, req))
                    .await
                    .with_context(|| format!("RegisterAgency {code}"))?;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    agencies.extend(codes);
    Ok(())
}

/// The (agency, data year) of the `i`th submit: see [`AGENCY_BLOCK`].
fn pair(i: u64) -> Option<(usize, u32)> {
    let block = i / PAIRS_PER_BLOCK;
    let j = i % PAIRS_PER_BLOCK;
    let agency = block * AGENCY_BLOCK + j % AGENCY_BLOCK;
    let year = FIRST_YEAR + u32::try_from(j / AGENCY_BLOCK).ok()?;
    Some((usize::try_from(agency).ok()?, year))
}

/// Agencies needed for the first `pairs` submits.
fn agencies_for(pairs: u64) -> anyhow::Result<usize> {
    Ok(usize::try_from(
        pairs.div_ceil(PAIRS_PER_BLOCK).max(1) * AGENCY_BLOCK,
    )?)
}

/// The SubmitReport request of the `i`th submit, `None` when its agency is
/// not registered yet.
fn submit_request(shared: &Shared, agencies: &[String], i: u64) -> Option<pb::SubmitReportRequest> {
    let (n, year) = pair(i)?;
    let agency = agencies.get(n)?;
    let mut report = (*shared.template).clone();
    if let Some(m) = report.metadata.as_mut() {
        m.agency_uscc = agency.clone();
        m.data_year = year;
    }
    Some(pb::SubmitReportRequest {
        name: format!("agencies/{agency}/reports/{year}"),
        report: Some(report),
        expected_revision: 0,
        request_id: format!("load-{}-submit-{i}", shared.nonce),
    })
}

/// CPU time (user + system) a process has used so far, from
/// `/proc/PID/stat` (Linux; `None` elsewhere or when unreadable).
fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall, in clock ticks (USER_HZ, 100 on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis(
        utime.saturating_add(stime).saturating_mul(10),
    ))
}

/// CPU used by the server and by this program over a measurement.
#[derive(Clone, Copy, Debug, Default)]
struct Cpu {
    server: Option<Duration>,
    client: Option<Duration>,
}

impl Cpu {
    fn now(server_pid: Option<u32>) -> Cpu {
        Cpu {
            server: server_pid.and_then(|p| cpu_time(Some(p))),
            client: cpu_time(None),
        }
    }
    fn since(self, before: Cpu) -> Cpu {
        let diff = |a: Option<Duration>, b: Option<Duration>| Some(a?.saturating_sub(b?));
        Cpu {
            server: diff(self.server, before.server),
            client: diff(self.client, before.client),
        }
    }
}

/// One measured point.
#[derive(Debug)]
struct Point {
    rpc: Rpc,
    in_flight: usize,
    /// Which round (from 1) it was measured in; ratios compare within one.
    round: u32,
    ok: u64,
    elapsed: Duration,
    /// CPU used during the measured window (server and this program).
    cpu: Cpu,
    hist: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    /// SubmitReport ran out of registered (agency, year) pairs.
    exhausted: bool,
}

impl Point {
    /// The RPC's name, with the round when there was more than one.
    fn label(&self, rounds: u32) -> String {
        if rounds > 1 {
            format!("{} #{}", self.rpc.label(), self.round)
        } else {
            self.rpc.label().to_owned()
        }
    }

    fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }
    fn quantile_ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }
    /// Microseconds of CPU per successful call; "–" when unknown or when
    /// too little CPU was used for /proc's 10 ms ticks to say.
    fn cpu_per_call(&self, cpu: Option<Duration>) -> String {
        match cpu {
            Some(c) if self.ok > 0 && c >= Duration::from_millis(200) => {
                format!("{:.0}", c.as_secs_f64() * 1e6 / self.ok as f64)
            }
            _ => "–".into(),
        }
    }
}

/// What one task saw.
#[derive(Debug)]
struct TaskResult {
    hist: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    exhausted: bool,
    last_done: Instant,
}

fn new_hist() -> anyhow::Result<Histogram<u64>> {
    // Microseconds, 1 µs .. 60 s, 3 significant figures.
    Histogram::new_with_bounds(1, 60_000_000, 3).context("histogram")
}

/// Encodes requests with prost and takes replies as their wire bytes.
#[derive(Debug)]
struct RawReplies<T>(PhantomData<T>);

impl<T> Default for RawReplies<T> {
    fn default() -> Self {
        RawReplies(PhantomData)
    }
}

impl<T: prost::Message + Send + 'static> Codec for RawReplies<T> {
    type Encode = T;
    type Decode = Bytes;
    type Encoder = ProstEncoder<T>;
    type Decoder = BytesDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesDecoder
    }
}

/// A reply message's bytes, undecoded.
#[derive(Debug)]
struct BytesDecoder;

impl Decoder for BytesDecoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(buf.copy_to_bytes(buf.remaining())))
    }
}

/// One unary call whose reply comes back as bytes.
async fn raw_call<T: prost::Message + Send + 'static>(
    grpc: &mut tonic::client::Grpc<Channel>,
    path: &'static str,
    req: Request<T>,
) -> Result<Bytes, tonic::Status> {
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(format!("channel not ready: {e}")))?;
    let reply = grpc
        .unary(
            req,
            PathAndQuery::from_static(path),
            RawReplies::<T>::default(),
        )
        .await?;
    Ok(reply.into_inner())
}

/// Checks that a reply taken as bytes is the message it should be.
fn check_reply<M: prost::Message + Default + std::fmt::Debug>(
    bytes: &Bytes,
    ok: impl FnOnce(&M) -> bool,
) -> Result<(), tonic::Status> {
    let m = M::decode(bytes.as_ref())
        .map_err(|e| tonic::Status::internal(format!("reply does not decode: {e}")))?;
    if ok(&m) {
        Ok(())
    } else {
        Err(tonic::Status::internal(format!("unexpected reply: {m:?}")))
    }
}

/// One call of `rpc` over `grpc`, its reply taken as bytes and, when
/// `check` (every call with `--decode`, else a task's first), decoded and
/// checked; `Ok(false)` when SubmitReport has no pair left.
async fn call_once(
    rpc: Rpc,
    grpc: &mut tonic::client::Grpc<Channel>,
    shared: &Shared,
    agencies: &[String],
    seq: u64,
    check: bool,
) -> Result<bool, tonic::Status> {
    match rpc {
        Rpc::Health => {
            let mut req = Request::new(HealthCheckRequest {
                service: String::new(),
            });
            req.set_timeout(CALL_TIMEOUT);
            let reply = raw_call(grpc, "/grpc.health.v1.Health/Check", req).await?;
            if check {
                check_reply::<tonic_health::pb::HealthCheckResponse>(&reply, |r| {
                    r.status
                        == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
                })?;
            }
        }
        Rpc::Get => {
            let n = usize::try_from(seq).unwrap_or(0) % shared.get_names.len().max(1);
            let name = shared.get_names.get(n).cloned().unwrap_or_default();
            let req = pb::GetReportRequest {
                name,
                view: pb::ReportView::Latest.into(),
            };
            let wanted = check.then(|| req.name.clone());
            let reply = raw_call(
                grpc,
                "/gongkai.v1.ReportService/GetReport",
                with_auth(shared, req),
            )
            .await?;
            if let Some(name) = wanted {
                check_reply::<pb::GetReportResponse>(&reply, |r| {
                    r.revision.as_ref().is_some_and(|v| {
                        v.name.starts_with(&format!("{name}/revisions/")) && v.report.is_some()
                    })
                })?;
            }
        }
        Rpc::Submit => {
            let i = shared.next_pair.fetch_add(1, Ordering::Relaxed);
            let Some(req) = submit_request(shared, agencies, i) else {
                return Ok(false);
            };
            let reply = raw_call(
                grpc,
                "/gongkai.v1.ReportService/SubmitReport",
                with_auth(shared, req),
            )
            .await?;
            if check {
                check_reply::<pb::SubmitReportResponse>(&reply, |r| {
                    r.revision
                        .as_ref()
                        .is_some_and(|v| v.state() == pb::ReviewState::Submitted)
                })?;
            }
        }
        Rpc::Bare | Rpc::BareNoLock => {
            let bare = shared
                .bare
                .as_ref()
                .ok_or_else(|| tonic::Status::failed_precondition("no PostgreSQL baseline"))?;
            let lock = if rpc == Rpc::Bare {
                bare::Lock::With
            } else {
                bare::Lock::Without
            };
            bare.transaction(lock)
                .await
                .map_err(|e| tonic::Status::internal(format!("{e:#}")))?;
        }
        Rpc::BareRead => {
            shared
                .bare_read
                .as_ref()
                .ok_or_else(|| tonic::Status::failed_precondition("no PostgreSQL bare read"))?
                .read()
                .await
                .map_err(|e| tonic::Status::internal(format!("{e:#}")))?;
        }
    }
    Ok(true)
}

/// Runs `rpc` with `n` calls in flight in round `round`: `warmup`
/// unmeasured, then `duration` measured.
#[allow(clippy::too_many_arguments)]
async fn run_point(
    rpc: Rpc,
    n: usize,
    round: u32,
    channels: &[Channel],
    shared: &Shared,
    warmup: Duration,
    duration: Duration,
    server_pid: Option<u32>,
) -> anyhow::Result<Point> {
    let agencies = Arc::new(shared.agencies.lock().await.clone());
    let begin = Instant::now();
    let measure_from = begin + warmup;
    let end = measure_from + duration;
    let mut tasks = JoinSet::new();
    for t in 0..n {
        let channel = channels
            .get(t % channels.len().max(1))
            .context("no channel")?
            .clone();
        let shared = shared.clone();
        let agencies = Arc::clone(&agencies);
        tasks.spawn(async move {
            let mut grpc = tonic::client::Grpc::new(channel);
            let mut r = TaskResult {
                hist: new_hist()?,
                errors: BTreeMap::new(),
                exhausted: false,
                last_done: Instant::now(),
            };
            let mut seq = t as u64;
            loop {
                let start = Instant::now();
                if start >= end {
                    break;
                }
                let first = seq == t as u64;
                let check = shared.decode || first;
                let outcome = call_once(rpc, &mut grpc, &shared, &agencies, seq, check).await;
                seq = seq.wrapping_add(n as u64);
                let done = Instant::now();
                if start < measure_from {
                    match outcome {
                        Ok(true) => continue,
                        Ok(false) => {
                            r.exhausted = true;
                            break;
                        }
                        Err(_) => continue,
                    }
                }
                r.last_done = done;
                match outcome {
                    Ok(true) => {
                        let us = u64::try_from(done.duration_since(start).as_micros())
                            .unwrap_or(u64::MAX);
                        r.hist.saturating_record(us.max(1));
                    }
                    Ok(false) => {
                        r.exhausted = true;
                        break;
                    }
                    Err(status) => {
                        let key = format!("{:?}: {}", status.code(), status.message());
                        *r.errors.entry(key).or_default() += 1;
                        if status.code() == Code::Unavailable {
                            // Do not spin on a dead connection.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            }
            anyhow::Ok(r)
        });
    }
    // CPU counters at the start of the measured window.
    let cpu_start = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        Cpu::now(server_pid)
    });
    let mut point = Point {
        rpc,
        in_flight: n,
        round,
        ok: 0,
        elapsed: Duration::ZERO,
        cpu: Cpu::default(),
        hist: new_hist()?,
        errors: BTreeMap::new(),
        exhausted: false,
    };
    let mut last_done = measure_from;
    let bound = warmup + duration + CALL_TIMEOUT + Duration::from_secs(5);
    let joined = tokio::time::timeout(bound, async {
        while let Some(done) = tasks.join_next().await {
            let r = done??;
            point.hist.add(&r.hist).context("merging histograms")?;
            for (k, v) in r.errors {
                *point.errors.entry(k).or_default() += v;
            }
            point.exhausted |= r.exhausted;
            last_done = last_done.max(r.last_done);
        }
        anyhow::Ok(())
    })
    .await;
    match joined {
        Ok(r) => r?,
        Err(_) => {
            tasks.abort_all();
            bail!(
                "{} at {n} in flight did not finish within {bound:?}",
                rpc.label()
            );
        }
    }
    point.ok = point.hist.len();
    point.elapsed = last_done.saturating_duration_since(measure_from);
    point.cpu = Cpu::now(server_pid).since(cpu_start.await?);
    Ok(point)
}

/// Submits `count` reports (for GetReport to read); returns their names.
async fn presubmit(
    channel: &Channel,
    shared: &Shared,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let agencies = shared.agencies.lock().await.clone();
    let mut client = ReportServiceClient::new(channel.clone());
    let mut names = Vec::with_capacity(count);
    for _ in 0..count {
        let i = shared.next_pair.fetch_add(1, Ordering::Relaxed);
        let req = submit_request(shared, &agencies, i).context("agency pool too small")?;
        let name = req.name.clone();
        let resp = client
            .submit_report(with_auth(shared, req))
            .await
            .with_context(|| format!("SubmitReport {name}"))?
            .into_inner();
        let state = resp.revision.map(|r| r.state).unwrap_or_default();
        if state != i32::from(pb::ReviewState::Submitted) {
            bail!("SubmitReport {name}: state {state}, expected SUBMITTED");
        }
        names.push(name);
    }
    Ok(names)
}

/// Makes sure enough (agency, year) pairs are registered for a SubmitReport
/// point that may run at `rate` req/s.
async fn ensure_pairs(
    channel: &Channel,
    shared: &Shared,
    rate: f64,
    seconds: u64,
) -> anyhow::Result<()> {
    let used = shared.next_pair.load(Ordering::Relaxed);
    // Twice the best rate seen so far, and never less than 10,000 req/s
    // (at 16 in flight a submit point runs 5k+ req/s after a 1.5k one at 1).
    let need = (rate.max(5000.0) * 2.0 * seconds as f64).ceil() as u64;
    let want_pairs = used.saturating_add(need);
    let want_agencies = agencies_for(want_pairs)?;
    let have = shared.agencies.lock().await.len();
    if want_agencies > have {
        let t = Instant::now();
        register_agencies(channel, shared, want_agencies, 16).await?;
        eprintln!(
            "gongkai-load: registered {} agencies in {:.1} s",
            want_agencies - have,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

async fn run(args: Args) -> anyhow::Result<bool> {
    if args.concurrency.is_empty() || args.concurrency.contains(&0) {
        bail!("--concurrency: give positive numbers, e.g. 1,16,64");
    }
    if args.duration_secs == 0 {
        bail!("--duration-secs must be at least 1");
    }
    let server = match &args.target {
        Some(t) => Server {
            addr: loopback_target(t)?,
            token: None,
            child: None,
            data: None,
            keep_data: false,
            database: None,
            cluster: None,
        },
        None => spawn_server(&args).await?,
    };
    let result = measure(&args, &server).await;
    server.stop().await;
    result
}

async fn measure(args: &Args, server: &Server) -> anyhow::Result<bool> {
    let token = args
        .token
        .clone()
        .or_else(|| server.token.clone())
        .context("--token is needed with --target")?;
    let auth: MetadataValue<Ascii> = format!("Bearer {token}")
        .parse()
        .context("token is not ASCII")?;
    let setup = connect(server.addr).await?;
    let shared = Shared {
        auth,
        template: Arc::new(valid_report()?),
        get_names: Arc::new(Vec::new()),
        agencies: Arc::new(Mutex::new(Vec::new())),
        next_pair: Arc::new(AtomicU64::new(0)),
        nonce: nonce(),
        decode: args.decode,
        bare: None,
        bare_read: None,
    };

    let mut rpcs = args.rpcs.clone().unwrap_or_else(|| {
        if server.database.is_some() {
            vec![
                Rpc::Health,
                Rpc::Get,
                Rpc::Submit,
                Rpc::Bare,
                Rpc::BareNoLock,
                Rpc::BareRead,
            ]
        } else {
            vec![Rpc::Health, Rpc::Get, Rpc::Submit]
        }
    });
    rpcs.sort();
    rpcs.dedup();
    let wants_bare = rpcs.contains(&Rpc::Bare) || rpcs.contains(&Rpc::BareNoLock);
    let wants_bare_read = rpcs.contains(&Rpc::BareRead);
    if (wants_bare || wants_bare_read) && server.database.is_none() {
        bail!("--rpcs bare, bare-no-lock, bare-read: only with --engine postgres or --database");
    }
    let mut shared = shared;
    if rpcs.contains(&Rpc::Get) || wants_bare || wants_bare_read {
        let count = args.get_reports.max(1);
        register_agencies(&setup, &shared, agencies_for(u64::try_from(count)?)?, 4).await?;
        // One pool for the baselines, the size of gongkai's own.
        let pool = match &server.database {
            Some(url) if wants_bare || wants_bare_read => Some(bare::pool(
                url,
                gongkai_store::postgres::PgOptions::default().max_connections,
            )?),
            _ => None,
        };
        // What a submit writes, for the baseline: the tables' growth.
        let before = match &pool {
            Some(pool) if wants_bare => Some((pool.clone(), bare::counts(pool).await?)),
            _ => None,
        };
        shared.get_names = Arc::new(presubmit(&setup, &shared, count).await?);
        if let Some(pool) = pool.filter(|_| wants_bare_read) {
            shared.bare_read = Some(bare::BareRead::prepare(pool, count).await?);
        }
        if let Some((pool, counts)) = before {
            let (b, written) = bare::Bare::prepare(pool, &counts, count).await?;
            shared.bare = Some(b);
            let total: usize = written.iter().map(|w| w.2).sum();
            eprintln!(
                "gongkai-load: one SubmitReport wrote (the baseline's transaction, from {count} submits): {}; {total} bytes of columns",
                written
                    .iter()
                    .map(|(t, rows, bytes)| format!("{t} {rows} × ({bytes} B)"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let name = shared.get_names.first().cloned().unwrap_or_default();
        let got = ReportServiceClient::new(setup.clone())
            .get_report(with_auth(
                &shared,
                pb::GetReportRequest {
                    name: name.clone(),
                    view: pb::ReportView::Latest.into(),
                },
            ))
            .await
            .with_context(|| format!("GetReport {name}"))?
            .into_inner();
        let findings = got.revision.as_ref().map_or(0, |r| r.findings.len());
        eprintln!(
            "gongkai-load: messages: SubmitReport request ≈ {} bytes; GetReport response {} bytes ({} of them the report, {findings} findings)",
            prost::Message::encoded_len(shared.template.as_ref()) + 120,
            prost::Message::encoded_len(&got),
            got.revision
                .as_ref()
                .and_then(|r| r.report.as_ref())
                .map_or(0, prost::Message::encoded_len),
        );
    }

    let max_n = args.concurrency.iter().copied().max().unwrap_or(1);
    let channels: Vec<Channel> = match args.channels {
        Channels::Shared => vec![connect(server.addr).await?],
        Channels::PerTask => {
            let mut v = Vec::with_capacity(max_n);
            for _ in 0..max_n {
                v.push(connect(server.addr).await?);
            }
            v
        }
    };
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    eprintln!(
        "gongkai-load: {cores} cores, {model}; load average {}",
        load_average()
    );
    eprintln!(
        "gongkai-load: server {} ({}), {} s warm-up + {} s per point, channels: {}",
        server.addr,
        if server.child.is_some() {
            "started by gongkai-load"
        } else {
            "--target"
        },
        args.warmup_secs,
        args.duration_secs,
        match args.channels {
            Channels::Shared => "one shared",
            Channels::PerTask => "one per task",
        },
    );

    let server_pid = server
        .child
        .as_ref()
        .and_then(Child::id)
        .or(args.server_pid);
    let warmup = Duration::from_secs(args.warmup_secs);
    let duration = Duration::from_secs(args.duration_secs);
    let mut points = Vec::new();
    let mut best_submit_rate = 0.0_f64;
    for round in 1..=args.rounds {
        for &n in &args.concurrency {
            for &rpc in &rpcs {
                if rpc == Rpc::Submit {
                    ensure_pairs(
                        &setup,
                        &shared,
                        best_submit_rate,
                        args.warmup_secs + args.duration_secs,
                    )
                    .await?;
                }
                let conns = match args.channels {
                    Channels::Shared => &channels[..],
                    Channels::PerTask => &channels[..n],
                };
                let p =
                    run_point(rpc, n, round, conns, &shared, warmup, duration, server_pid).await?;
                if rpc == Rpc::Submit {
                    best_submit_rate = best_submit_rate.max(p.rate());
                }
                eprintln!(
                    "gongkai-load: {:<13} {n:>3} in flight: {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms{}",
                    rpc.label(),
                    p.rate(),
                    p.quantile_ms(0.5),
                    p.quantile_ms(0.99),
                    if p.errors.is_empty() {
                        ""
                    } else {
                        "  (errors)"
                    }
                );
                points.push(p);
            }
        }
    }
    eprintln!("gongkai-load: load average {}", load_average());
    print_results(&points, server.database.is_some());
    Ok(points.iter().all(|p| p.errors.is_empty() && !p.exhausted))
}

/// The median of some figures (the mean of the middle two for an even count).
fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() {
        0 => None,
        n if n % 2 == 1 => v.get(mid).copied(),
        _ => Some((v.get(mid - 1)? + v.get(mid)?) / 2.0),
    }
}

/// " (rounds: a, b, c)" when there was more than one.
fn spread(values: &[f64], show: impl Fn(f64) -> String) -> String {
    if values.len() < 2 {
        return String::new();
    }
    let each: Vec<String> = values.iter().map(|v| show(*v)).collect();
    format!(" (rounds: {})", each.join(", "))
}

/// `/proc/loadavg`'s first three fields: other work on the machine skews
/// the figures, so the run shows how busy it was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// The rate of `rpc` at `n` in flight in `round`.
fn rate_of(points: &[Point], rpc: Rpc, n: usize, round: u32) -> Option<f64> {
    points
        .iter()
        .find(|p| p.rpc == rpc && p.in_flight == n && p.round == round)
        .map(Point::rate)
        .filter(|r| *r > 0.0)
}

/// Per round at 64 in flight: `of`'s rate over `base`'s.
fn ratios_64(points: &[Point], of: Rpc, base: Rpc) -> Vec<f64> {
    points
        .iter()
        .filter(|p| p.rpc == of && p.in_flight == 64)
        .filter_map(|p| rate_of(points, base, 64, p.round).map(|b| p.rate() / b))
        .collect()
}

fn ratio(points: &[Point], p: &Point) -> String {
    match rate_of(points, Rpc::Health, p.in_flight, p.round) {
        Some(h) => format!("{:.1} %", 100.0 * p.rate() / h),
        None => "–".into(),
    }
}

fn print_results(points: &[Point], postgres: bool) {
    let rounds = points.iter().map(|p| p.round).max().unwrap_or(1);
    println!();
    println!(
        "{:<17} {:>9} {:>10} {:>9} {:>9} {:>10} {:>7} {:>12} {:>12}",
        "rpc",
        "in flight",
        "req/s",
        "p50 ms",
        "p99 ms",
        "vs health",
        "errors",
        "server µs/op",
        "client µs/op"
    );
    for p in points {
        println!(
            "{:<17} {:>9} {:>10.0} {:>9.2} {:>9.2} {:>10} {:>7} {:>12} {:>12}",
            p.label(rounds),
            p.in_flight,
            p.rate(),
            p.quantile_ms(0.5),
            p.quantile_ms(0.99),
            ratio(points, p),
            p.errors.values().sum::<u64>(),
            p.cpu_per_call(p.cpu.server),
            p.cpu_per_call(p.cpu.client)
        );
    }
    for p in points {
        for (e, count) in &p.errors {
            println!("  {} at {}: {count} × {e}", p.rpc.label(), p.in_flight);
        }
        if p.exhausted {
            println!(
                "  {} at {}: ran out of registered agency/year pairs",
                p.rpc.label(),
                p.in_flight
            );
        }
    }

    println!();
    // Health/Check does no work in the server: a slow tail there is the
    // transport stalling, and every ratio against it is then meaningless.
    let stalled: Vec<&Point> = points
        .iter()
        .filter(|p| p.rpc == Rpc::Health && p.quantile_ms(0.99) > STALLED_BASELINE_P99_MS)
        .collect();
    for p in &stalled {
        println!(
            "  WARNING: Health/Check p99 is {:.1} ms at {} in flight: the transport itself stalls \
             (on loopback typically Nagle + delayed ACK, 40 ms: are the server's accepted \
             sockets TCP_NODELAY?); ratios at {} in flight compare against a crippled baseline",
            p.quantile_ms(0.99),
            p.in_flight,
            p.in_flight
        );
    }
    if !stalled.is_empty() {
        println!();
    }
    // Issue 4's goals on sled; issue 14's on PostgreSQL.
    let (get_goal, p99_goal, issue) = if postgres {
        (0.50, 50.0, 14)
    } else {
        (0.60, 25.0, 4)
    };
    println!(
        "Goals (issue {issue}, {}, at 64 in flight{}):",
        if postgres { "PostgreSQL" } else { "sled" },
        if rounds > 1 {
            format!("; the median of {rounds} rounds")
        } else {
            String::new()
        }
    );
    let pct = |x: f64| format!("{:.1} %", 100.0 * x);
    let ratios = ratios_64(points, Rpc::Get, Rpc::Health);
    let floor = median(&ratios_64(points, Rpc::BareRead, Rpc::Health));
    match median(&ratios) {
        Some(r) => {
            println!(
                "  GetReport ≥ {} of Health/Check: {}{} — {}",
                pct(get_goal),
                pct(r),
                spread(&ratios, pct),
                match (r >= get_goal, stalled.iter().any(|p| p.in_flight == 64)) {
                    (true, false) => "met",
                    (true, true) => "met on paper only: the baseline stalled (see WARNING)",
                    (false, _) => "NOT met",
                }
            );
        }
        None => println!(
            "  GetReport ≥ {} of Health/Check: not measured (needs get and health at 64)",
            pct(get_goal)
        ),
    }
    if let Some(f) = floor {
        let of_floor = median(&ratios_64(points, Rpc::Get, Rpc::BareRead));
        println!(
            "  (the floor) bare read of the same rows: {} of Health/Check; GetReport is {} of it",
            pct(f),
            of_floor.map_or_else(|| "–".to_owned(), pct)
        );
    }
    let p99s: Vec<f64> = points
        .iter()
        .filter(|p| p.rpc == Rpc::Submit && p.in_flight == 64)
        .map(|p| p.quantile_ms(0.99))
        .collect();
    match median(&p99s) {
        Some(p99) => println!(
            "  SubmitReport p99 ≤ {p99_goal} ms: {p99:.2} ms{} — {}",
            spread(&p99s, |x| format!("{x:.2} ms")),
            if p99 <= p99_goal { "met" } else { "NOT met" }
        ),
        None => println!("  SubmitReport p99 ≤ {p99_goal} ms: not measured (needs submit at 64)"),
    }
    if postgres {
        for (base, goal) in [(Rpc::Bare, Some(0.50)), (Rpc::BareNoLock, None)] {
            let ratios = ratios_64(points, Rpc::Submit, base);
            let Some(r) = median(&ratios) else {
                continue;
            };
            match goal {
                Some(g) => println!(
                    "  SubmitReport ≥ {} of the {}: {}{} — {}",
                    pct(g),
                    base.label(),
                    pct(r),
                    spread(&ratios, pct),
                    if r >= g { "met" } else { "NOT met" }
                ),
                None => println!(
                    "  (for scale) SubmitReport / {}: {}{}",
                    base.label(),
                    pct(r),
                    spread(&ratios, pct)
                ),
            }
        }
    }

    println!();
    println!(
        "| RPC | in flight | req/s | p50 (ms) | p99 (ms) | vs Health/Check | server CPU µs/call | client CPU µs/call |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for p in points {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
            p.label(rounds),
            p.in_flight,
            p.rate(),
            p.quantile_ms(0.5),
            p.quantile_ms(0.99),
            ratio(points, p),
            p.cpu_per_call(p.cpu.server),
            p.cpu_per_call(p.cpu.client)
        );
    }
}
