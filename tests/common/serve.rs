//! Helpers for the `serve_*` tests: a server started in-process on a
//! listener bound to 127.0.0.1:0, or the real binary reading its listening
//! line; credentials with one token per principal; the generated clients;
//! the sample report on the wire; and a small supervision tree.
//!
//! Nothing here sleeps to wait for readiness: an in-process server is
//! callable as soon as its listener is bound, and the binary is called only
//! after it printed "gongkai listening on ADDR".

#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use gongkai_proto::v1::{
    self as pb, admin_service_client::AdminServiceClient,
    agency_service_client::AgencyServiceClient, area_service_client::AreaServiceClient,
    audit_service_client::AuditServiceClient, document_service_client::DocumentServiceClient,
    report_service_client::ReportServiceClient, review_service_client::ReviewServiceClient,
};
use gongkai_server::{
    auth::{Credentials, Role, entry_toml, new_token},
    deadlines::Deadlines,
    serve::{Limits, Ops, Tls, serve_with},
    services::{Authenticator, Ctx},
};
use gongkai_store::{Store, StoreOptions};
use tonic::{Code, Request, Status, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
use tonic_types::StatusExt;

/// A 统一社会信用代码 from its first 17 characters and the right check character.
pub fn uscc(first17: &str) -> String {
    let check = gongkai_domain::ids::uscc_check_character(first17).expect("17 valid characters");
    format!("{first17}{check}")
}

/// 双鸭山市人民政府 (prefecture 230500): supervises the county.
pub fn city() -> String {
    uscc("11230500MB0000001")
}
/// 宝清县人民政府 (county 230523): the sample report's agency.
pub fn county() -> String {
    uscc("11230523MB0000002")
}
/// 宝清县财政局, a department under the county.
pub fn dept1() -> String {
    uscc("11230523MB0000003")
}
/// 宝清县教育局, a department under the county.
pub fn dept2() -> String {
    uscc("11230523MB0000004")
}
/// 金华市市场监督管理局: registered, in another tree (out of every scope above).
pub const OTHER: &str = "11330700099033995K";
/// 宁国市商务局: a valid code that is never registered.
pub const NOWHERE: &str = "11341702486344515H";

/// `agencies/{uscc}`.
pub fn agency_name(code: &str) -> String {
    format!("agencies/{code}")
}

/// `agencies/{uscc}/reports/{year}`.
pub fn report_name(code: &str, year: u32) -> String {
    format!("agencies/{code}/reports/{year}")
}

/// An agency to register (`supervisor` a 统一社会信用代码).
pub fn agency(
    code: &str,
    display_name: &str,
    region: &str,
    level: pb::AgencyLevel,
    kind: pb::AgencyKind,
    supervisor: Option<&str>,
) -> pb::Agency {
    pb::Agency {
        uscc: code.to_owned(),
        display_name: display_name.to_owned(),
        region_code: region.to_owned(),
        level: level.into(),
        kind: kind.into(),
        supervisor: supervisor.map(agency_name).unwrap_or_default(),
        ..pb::Agency::default()
    }
}

/// The small supervision tree, supervisors first: the city, the county
/// under it and two departments under the county; with `other`, also
/// 金华市市场监督管理局 as a root of its own. `Clients::register_tree`
/// registers them over gRPC; a seeded store takes them through its API.
pub fn tree_agencies(other: bool) -> Vec<pb::Agency> {
    use pb::{AgencyKind as K, AgencyLevel as L};
    let mut list = vec![
        agency(
            &city(),
            "双鸭山市人民政府",
            "230500",
            L::Prefectural,
            K::Government,
            None,
        ),
        agency(
            &county(),
            "宝清县人民政府",
            "230523",
            L::County,
            K::Government,
            Some(&city()),
        ),
        agency(
            &dept1(),
            "宝清县财政局",
            "230523",
            L::County,
            K::Department,
            Some(&county()),
        ),
        agency(
            &dept2(),
            "宝清县教育局",
            "230523",
            L::County,
            K::Department,
            Some(&county()),
        ),
    ];
    if other {
        list.push(agency(
            OTHER,
            "金华市市场监督管理局",
            "330700",
            L::Prefectural,
            K::Department,
            None,
        ));
    }
    list
}

/// Principals and their bearer tokens, as a credentials file.
#[derive(Debug, Clone, Default)]
pub struct Principals {
    /// The credentials file (TOML, hashes only).
    pub toml: String,
    tokens: BTreeMap<String, String>,
}

impl Principals {
    /// One principal per (name, agency or "*", roles).
    pub fn new(list: &[(&str, &str, &[Role])]) -> Principals {
        let mut p = Principals::default();
        for (name, agency, roles) in list {
            let token = new_token();
            let entry = entry_toml(name, agency, roles, &token).expect("entry");
            p.toml.push_str(&entry);
            p.toml.push('\n');
            p.tokens.insert((*name).to_owned(), token);
        }
        Credentials::parse(&p.toml).expect("credentials parse");
        p
    }

    /// The bearer token of a principal.
    pub fn token(&self, name: &str) -> &str {
        self.tokens
            .get(name)
            .unwrap_or_else(|| panic!("no principal {name}"))
    }
}

/// A request carrying `authorization: Bearer TOKEN` (no header for `None`).
pub fn authed<T>(token: Option<&str>, message: T) -> Request<T> {
    let mut r = Request::new(message);
    if let Some(t) = token {
        r.metadata_mut().insert(
            "authorization",
            format!("Bearer {t}").parse().expect("ascii token"),
        );
    }
    r
}

/// The generated clients over one channel.
#[derive(Debug, Clone)]
pub struct Clients {
    /// AdminService.
    pub admin: AdminServiceClient<Channel>,
    /// AgencyService.
    pub agency: AgencyServiceClient<Channel>,
    /// ReportService.
    pub report: ReportServiceClient<Channel>,
    /// ReviewService.
    pub review: ReviewServiceClient<Channel>,
    /// AuditService.
    pub audit: AuditServiceClient<Channel>,
    /// AreaService.
    pub area: AreaServiceClient<Channel>,
    /// DocumentService.
    pub document: DocumentServiceClient<Channel>,
    /// grpc.health.v1.
    pub health: tonic_health::pb::health_client::HealthClient<Channel>,
}

impl Clients {
    /// Clients over `channel`; large requests are allowed out so that the
    /// server's limit is what refuses them.
    pub fn new(channel: Channel) -> Clients {
        Clients {
            admin: AdminServiceClient::new(channel.clone()),
            agency: AgencyServiceClient::new(channel.clone()).max_encoding_message_size(usize::MAX),
            report: ReportServiceClient::new(channel.clone())
                .max_encoding_message_size(usize::MAX)
                .max_decoding_message_size(64 * 1024 * 1024),
            review: ReviewServiceClient::new(channel.clone()),
            audit: AuditServiceClient::new(channel.clone()),
            area: AreaServiceClient::new(channel.clone())
                .max_decoding_message_size(64 * 1024 * 1024),
            document: DocumentServiceClient::new(channel.clone())
                .max_encoding_message_size(usize::MAX),
            health: tonic_health::pb::health_client::HealthClient::new(channel),
        }
    }

    /// Plaintext clients to `addr`.
    pub async fn connect(addr: SocketAddr) -> Clients {
        Clients::new(plaintext_channel(addr).await.expect("connect"))
    }

    /// The overall health status.
    pub async fn health(&mut self) -> Result<ServingStatus, Status> {
        let r = self
            .health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await?;
        Ok(r.into_inner().status())
    }

    /// Registers an agency as `token`.
    #[allow(clippy::too_many_arguments)]
    pub async fn register(
        &mut self,
        token: &str,
        code: &str,
        display_name: &str,
        region: &str,
        level: pb::AgencyLevel,
        kind: pb::AgencyKind,
        supervisor: Option<&str>,
    ) -> Result<pb::Agency, Status> {
        self.register_agency(
            token,
            agency(code, display_name, region, level, kind, supervisor),
        )
        .await
    }

    /// Registers `agency` as `token`, with request id `register-{uscc}`.
    pub async fn register_agency(
        &mut self,
        token: &str,
        agency: pb::Agency,
    ) -> Result<pb::Agency, Status> {
        let request_id = format!("register-{}", agency.uscc);
        let r = self
            .agency
            .register_agency(authed(
                Some(token),
                pb::RegisterAgencyRequest {
                    agency: Some(agency),
                    request_id,
                },
            ))
            .await?;
        Ok(r.into_inner().agency.expect("agency in response"))
    }

    /// Registers [`tree_agencies`] in order (supervisors first), as a global
    /// admin.
    pub async fn register_tree(&mut self, admin: &str, other: bool) {
        for a in tree_agencies(other) {
            let what = format!("register {} ({})", a.display_name, a.uscc);
            self.register_agency(admin, a).await.expect(&what);
        }
    }

    /// Every audit event, as `auditor` (paged through).
    pub async fn audit_events(&mut self, auditor: &str) -> Vec<pb::AuditEvent> {
        self.audit_pages(auditor, 1000)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// Every page of audit events as `auditor` sees them, `size` a page,
    /// up to the first page without a next token.
    pub async fn audit_pages(&mut self, auditor: &str, size: i32) -> Vec<Vec<pb::AuditEvent>> {
        let mut pages = Vec::new();
        let mut page_token = String::new();
        loop {
            let r = self
                .audit
                .list_audit_events(authed(
                    Some(auditor),
                    pb::ListAuditEventsRequest {
                        page_size: size,
                        page_token: page_token.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .expect("list audit events")
                .into_inner();
            pages.push(r.events);
            if r.next_page_token.is_empty() {
                return pages;
            }
            page_token = r.next_page_token;
        }
    }

    /// The revision `name` names (a report's latest, or
    /// `…/revisions/N`), read as `token`.
    pub async fn get_revision(
        &mut self,
        token: &str,
        name: &str,
    ) -> Result<pb::ReportRevision, Status> {
        let r = self
            .report
            .get_report(authed(
                Some(token),
                pb::GetReportRequest {
                    name: name.to_owned(),
                    ..Default::default()
                },
            ))
            .await?;
        Ok(r.into_inner().revision.expect("revision in response"))
    }

    /// Submits `report` as `name` with a request id and expected revision.
    pub async fn submit(
        &mut self,
        token: &str,
        name: &str,
        report: Option<pb::AnnualReport>,
        expected_revision: u32,
        request_id: &str,
    ) -> Result<pb::ReportRevision, Status> {
        let r = self
            .report
            .submit_report(authed(
                Some(token),
                pb::SubmitReportRequest {
                    name: name.to_owned(),
                    report,
                    expected_revision,
                    request_id: request_id.to_owned(),
                },
            ))
            .await?;
        Ok(r.into_inner().revision.expect("revision in response"))
    }

    /// Approves revision `expected_revision` of `name`.
    pub async fn approve(
        &mut self,
        token: &str,
        name: &str,
        expected_revision: u32,
        request_id: &str,
    ) -> Result<pb::ReportRevision, Status> {
        let r = self
            .review
            .approve_report(authed(
                Some(token),
                pb::ApproveReportRequest {
                    name: name.to_owned(),
                    expected_revision,
                    request_id: request_id.to_owned(),
                },
            ))
            .await?;
        Ok(r.into_inner().revision.expect("revision in response"))
    }

    /// Returns revision `expected_revision` of `name` with `comments`.
    pub async fn return_report(
        &mut self,
        token: &str,
        name: &str,
        expected_revision: u32,
        comments: Vec<pb::ReviewComment>,
        request_id: &str,
    ) -> Result<pb::ReportRevision, Status> {
        let r = self
            .review
            .return_report(authed(
                Some(token),
                pb::ReturnReportRequest {
                    name: name.to_owned(),
                    expected_revision,
                    comments,
                    request_id: request_id.to_owned(),
                },
            ))
            .await?;
        Ok(r.into_inner().revision.expect("revision in response"))
    }

    /// Saves a draft.
    pub async fn save(
        &mut self,
        token: &str,
        name: &str,
        report: pb::AnnualReport,
        expected_revision: u32,
        request_id: &str,
    ) -> Result<pb::ReportRevision, Status> {
        let r = self
            .report
            .save_draft(authed(
                Some(token),
                pb::SaveDraftRequest {
                    name: name.to_owned(),
                    report: Some(report),
                    expected_revision,
                    request_id: request_id.to_owned(),
                },
            ))
            .await?;
        Ok(r.into_inner().revision.expect("revision in response"))
    }
}

/// A plaintext channel to `addr`.
pub async fn plaintext_channel(addr: SocketAddr) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
}

/// The sample report as imported, on the wire (with its real t3.balance error).
pub fn sample_report() -> pb::AnnualReport {
    let imported = gongkai_document::import(super::sample().as_bytes()).expect("sample imports");
    pb::AnnualReport::from(&imported.report)
}

/// The sample corrected on the wire: R25 (结转下年度继续办理) 0 in 自然人 and 总计.
pub fn corrected_report() -> pb::AnnualReport {
    let mut r = sample_report();
    let r25 = r
        .applications
        .as_mut()
        .and_then(|a| a.carried_forward.as_mut())
        .expect("the sample has T3 R25");
    assert_eq!(
        (r25.natural_person, r25.total),
        (1, 1),
        "the sample's error"
    );
    r25.natural_person = 0;
    r25.total = 0;
    r
}

/// The corrected sample relabelled as data year `year`.
pub fn report_for(year: u32) -> pb::AnnualReport {
    let mut r = corrected_report();
    r.metadata.as_mut().expect("metadata").data_year = year;
    r
}

/// The corrected sample with `k` more applications received, disclosed and
/// handled (自然人 and 总计), `k` more upheld reconsiderations, and `fee`.
pub fn varied(code: &str, k: u64, fee: &str) -> pb::AnnualReport {
    let mut r = corrected_report();
    r.metadata.as_mut().unwrap().agency_uscc = code.to_owned();
    let t3 = r.applications.as_mut().unwrap();
    for row in [
        t3.newly_received.as_mut().unwrap(),
        t3.disclosed.as_mut().unwrap(),
        t3.total_handled.as_mut().unwrap(),
    ] {
        row.natural_person += k;
        row.total += k;
    }
    let t4 = r.reconsideration_litigation.as_mut().unwrap();
    let rec = t4.reconsideration.as_mut().unwrap();
    rec.upheld += k;
    rec.total += k;
    match r.active_disclosure_table.as_mut().unwrap() {
        pb::annual_report::ActiveDisclosureTable::ActiveDisclosure(t) => {
            t.fees = Some(pb::Money {
                wan_yuan: fee.to_owned(),
            });
        }
        pb::annual_report::ActiveDisclosureTable::ActiveDisclosureTrial(_) => {
            panic!("2024 is in the 2021 format")
        }
    }
    r
}

/// The code and message of a call's outcome (OK for success).
pub fn code_of<T>(r: &Result<T, Status>) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

/// The fields of a status's BadRequest detail, in order (none without one).
pub fn bad_fields(s: &Status) -> Vec<String> {
    s.get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// A gongkai server running in this process on 127.0.0.1:0 with a store in
/// a temporary directory.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The store directory's parent (removed on drop).
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// Starts with default limits.
    pub async fn start(credentials: &str) -> TestServer {
        TestServer::start_with(credentials, Limits::default(), None).await
    }

    /// Starts with the given limits and TLS.
    pub async fn start_with(credentials: &str, limits: Limits, tls: Option<Tls>) -> TestServer {
        TestServer::start_full(credentials, limits, tls, Deadlines::default()).await
    }

    /// Starts with the given limits, TLS and township deadlines.
    pub async fn start_full(
        credentials: &str,
        limits: Limits,
        tls: Option<Tls>,
        deadlines: Deadlines,
    ) -> TestServer {
        TestServer::start_seeded(credentials, limits, tls, deadlines, Ops::default(), |_| {}).await
    }

    /// Starts with default limits and the given [`Ops`] (a metrics
    /// listener, a backup directory).
    pub async fn start_ops(credentials: &str, ops: Ops) -> TestServer {
        TestServer::start_seeded(
            credentials,
            Limits::default(),
            None,
            Deadlines::default(),
            ops,
            |_| {},
        )
        .await
    }

    /// Starts over a store first written by `seed` through the store's own
    /// API, which checks nothing: for what the server would refuse today
    /// but a store written under an earlier rule set, or restored, holds.
    /// Every other start-up comes here.
    pub async fn start_seeded(
        credentials: &str,
        limits: Limits,
        tls: Option<Tls>,
        deadlines: Deadlines,
        ops: Ops,
        seed: impl FnOnce(&Store),
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Store::open_sled(dir.path().join("data"), &StoreOptions::default())
            .expect("open the store");
        seed(&store);
        let ctx = Ctx {
            store,
            auth: Authenticator::Tokens(Arc::new(
                Credentials::parse(credentials).expect("credentials"),
            )),
            deadlines: Arc::new(deadlines),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve_with(listener, ctx, limits, tls, ops, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Clients connected to it.
    pub async fn clients(&self) -> Clients {
        Clients::connect(self.addr).await
    }

    /// Whether the server task is still running.
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Shuts it down (NOT_SERVING, drain, flush) and returns serve's result.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown().await.0
    }

    /// Shuts it down and returns serve's result with the store's directory,
    /// still there for a look after.
    pub async fn shutdown(mut self) -> (anyhow::Result<()>, tempfile::TempDir) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let task = self.task.take().expect("running");
        let result = match task.await {
            Ok(r) => r,
            Err(e) => Err(e.into()),
        };
        let dir = std::mem::replace(
            &mut self.dir,
            tempfile::tempdir().expect("temporary directory"),
        );
        (result, dir)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// The real `gongkai serve` as a child process.
#[derive(Debug)]
pub struct Running {
    /// The process.
    pub child: Child,
    /// The address from its listening line.
    pub addr: SocketAddr,
    /// The listening line itself.
    pub listening: String,
    /// Where its stderr goes.
    pub stderr_path: PathBuf,
    lines: mpsc::Receiver<String>,
    _dir: tempfile::TempDir,
}

/// `gongkai ARGS` with a clean environment (no `GONGKAI_*` variable of
/// the test's own environment, no RUST_LOG) plus `envs`.
pub fn gongkai_command(args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gongkai"));
    c.args(args).env("NO_COLOR", "1").env_remove("RUST_LOG");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("GONGKAI_") {
            c.env_remove(k);
        }
    }
    for (k, v) in envs {
        c.env(k, v);
    }
    c
}

/// Starts `gongkai ARGS` (normally `serve …`) and waits for its listening
/// line on stdout. Panics with its stderr if it exits first.
pub fn spawn_serve(args: &[&str], envs: &[(&str, &str)]) -> Running {
    let dir = tempfile::tempdir().expect("temporary directory");
    let stderr_path = dir.path().join("stderr.log");
    let mut child = gongkai_command(args, envs)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("spawn gongkai serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut running = Running {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        listening: String::new(),
        stderr_path,
        lines,
        _dir: dir,
    };
    loop {
        let line = running.next_line().unwrap_or_else(|| {
            panic!(
                "gongkai serve ended before listening; stderr:\n{}",
                running.stderr()
            )
        });
        if let Some(rest) = line.strip_prefix("gongkai listening on ") {
            let addr = rest.split(' ').next().expect("address");
            running.addr = addr.parse().expect("a socket address");
            running.listening = line;
            return running;
        }
    }
}

impl Running {
    /// The next line on stdout (None when stdout closed, or after 30 s).
    pub fn next_line(&mut self) -> Option<String> {
        self.lines.recv_timeout(Duration::from_secs(30)).ok()
    }

    /// After a `--local-trial` start: the next line is the `LOCAL TRIAL
    /// MODE` warning (asserted), the one after it `token: TOKEN`; returns
    /// TOKEN.
    #[track_caller]
    pub fn trial_token(&mut self) -> String {
        let warning = self
            .next_line()
            .unwrap_or_else(|| panic!("no local-trial warning line; stderr:\n{}", self.stderr()));
        assert!(
            warning.starts_with("LOCAL TRIAL MODE"),
            "not the local-trial warning: {warning}"
        );
        let line = self.next_line().expect("the token line");
        line.strip_prefix("token: ")
            .unwrap_or_else(|| panic!("not a token line: {line}"))
            .to_owned()
    }

    /// After a start with `--metrics-listen`: the metrics address from the
    /// line that follows the listening line.
    pub fn metrics_addr(&mut self) -> SocketAddr {
        let line = self.next_line().expect("the metrics line");
        line.strip_prefix("gongkai metrics on http://")
            .and_then(|rest| rest.strip_suffix("/metrics"))
            .unwrap_or_else(|| panic!("not the metrics line: {line}"))
            .parse()
            .expect("an address")
    }

    /// Its stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Plaintext clients to it.
    pub async fn clients(&self) -> Clients {
        Clients::connect(self.addr).await
    }

    /// Sends SIGTERM through `kill -TERM PID`.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Kills it with SIGKILL, as a crash or an OOM kill would (no drain, no
    /// flush), and reaps it.
    pub fn sigkill(&mut self) {
        self.child.kill().expect("SIGKILL gongkai serve");
        self.child.wait().expect("reap gongkai serve");
    }

    /// Waits (at most `limit`) for the process to exit.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "gongkai serve still running after {limit:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `GET path` over plain HTTP/1.1: (status line, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the metrics port");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read the response");
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("headers, then body");
    let status = head.lines().next().expect("status line").to_owned();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "a whole body with its length expected:\n{head}"
    );
    (status, body.to_owned())
}

/// The value of the metrics sample whose name and labels are exactly `series`.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .map(|v| v.trim().parse::<f64>().expect("a number"))
    })
}

/// Starts `gongkai serve` on 127.0.0.1:0 with `principals` as its
/// credentials file and its store, both in `dir`, and `extra` arguments and
/// `envs` variables.
pub fn spawn_in(
    dir: &Path,
    principals: &Principals,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> Running {
    let creds = credentials_file(dir, principals);
    let data = dir.join("data");
    let path = |p: &Path| p.to_str().expect("UTF-8 path").to_owned();
    let (creds, data) = (path(&creds), path(&data));
    let mut args = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--credentials",
        &creds,
        "--data",
        &data,
    ];
    args.extend_from_slice(extra);
    spawn_serve(&args, envs)
}

/// The store a served test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// sled in a temporary directory, the server in this process.
    Sled,
    /// A fresh database of the test kit's real PostgreSQL, served by the
    /// real binary (`gongkai serve --database URL --migrate`).
    Postgres,
}

/// Runs each named `async fn name(engine: Engine)` of the calling file on
/// both stores: as `sled::name` and `postgres::name`.
#[allow(unused_macros)]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sled {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::serve::Engine::Sled).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::serve::Engine::Postgres).await
                }
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_engines;

/// An empty database of its own on the test kit's PostgreSQL (started on
/// first use; `GONGKAI_TEST_DATABASE_URL` names another server).
pub async fn fresh_database() -> String {
    tokio::task::spawn_blocking(|| {
        gongkai_testkit::shared()
            .fresh_database()
            .unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .expect("join")
}

/// A server under test: in this process on a sled store, or the real
/// binary on a fresh PostgreSQL database.
#[derive(Debug)]
pub enum Served {
    /// `TestServer`, sled.
    InProcess(TestServer),
    /// `gongkai serve --database URL --migrate`, and the directory of its
    /// credentials file.
    Binary(Running, tempfile::TempDir),
}

impl Served {
    /// Starts a server on `engine` with `principals`.
    pub async fn start(engine: Engine, principals: &Principals) -> Served {
        match engine {
            Engine::Sled => Served::InProcess(TestServer::start(&principals.toml).await),
            Engine::Postgres => {
                let url = fresh_database().await;
                let dir = tempfile::tempdir().expect("temporary directory");
                let running = spawn_in(
                    dir.path(),
                    principals,
                    &["--database", &url, "--migrate"],
                    &[],
                );
                Served::Binary(running, dir)
            }
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        match self {
            Served::InProcess(s) => s.addr,
            Served::Binary(r, _) => r.addr,
        }
    }

    /// Clients connected to it.
    pub async fn clients(&self) -> Clients {
        Clients::connect(self.addr()).await
    }
}

/// Writes a credentials file into `dir` and returns its path.
pub fn credentials_file(dir: &Path, principals: &Principals) -> PathBuf {
    let path = dir.join("credentials.toml");
    std::fs::write(&path, &principals.toml).expect("write credentials");
    path
}

/// Shorthand for roles.
pub const SUBMITTER: &[Role] = &[Role::Submitter];
/// Shorthand for roles.
pub const REVIEWER: &[Role] = &[Role::Reviewer];
/// Shorthand for roles.
pub const AUDITOR: &[Role] = &[Role::Auditor];
/// Shorthand for roles.
pub const ADMIN: &[Role] = &[Role::Admin];
