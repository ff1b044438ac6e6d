//! `gongkai serve`: the gRPC service. Every flag can also be set by its
//! `GONGKAI_*` environment variable (containers set those).

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context as _;
use gongkai_server::{
    auth::{Credentials, Principal, entry_toml, new_token},
    logbuf::LogBuffer,
    serve::{Limits, Ops, Tls, serve_with},
    services::{Authenticator, BackupConfig, Ctx},
};
use gongkai_store::{Store, StoreOptions, postgres::PgEngine};
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// Log output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For people at a terminal.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Arguments of `gongkai serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, env = "GONGKAI_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Serve Prometheus metrics (`GET /metrics`, plain HTTP) on this address;
    /// off when not given. Keep it apart from the gRPC port.
    #[arg(long, env = "GONGKAI_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Directory of the sled store (created if missing); not used with
    /// --database.
    #[arg(
        long,
        env = "GONGKAI_DATA",
        default_value = "./data",
        value_name = "DIR"
    )]
    pub data: PathBuf,
    #[command(flatten)]
    pub database: super::store::Database,
    /// Apply the database's schema migrations before serving (several
    /// replicas may start with it at once). Without it, a database without
    /// this gongkai's schema is refused.
    #[arg(long, env = "GONGKAI_MIGRATE", requires = "url")]
    pub migrate: bool,
    /// Credentials file (TOML: principals with token SHA-256, agency, roles).
    #[arg(long, env = "GONGKAI_CREDENTIALS", value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Run without a credentials file: one all-powerful token is made up and
    /// printed. For trying gongkai on one machine only.
    #[arg(long, env = "GONGKAI_LOCAL_TRIAL", conflicts_with = "credentials")]
    pub local_trial: bool,
    /// TLS certificate chain (PEM); with --tls-key, serves TLS only.
    #[arg(
        long,
        env = "GONGKAI_TLS_CERT",
        requires = "tls_key",
        value_name = "FILE"
    )]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(
        long,
        env = "GONGKAI_TLS_KEY",
        requires = "tls_cert",
        value_name = "FILE"
    )]
    pub tls_key: Option<PathBuf>,
    /// CA (PEM) for client certificates; when given, clients must present one.
    #[arg(
        long,
        env = "GONGKAI_TLS_CLIENT_CA",
        requires = "tls_cert",
        value_name = "FILE"
    )]
    pub tls_client_ca: Option<PathBuf>,
    /// Largest message accepted or sent, bytes.
    #[arg(long, env = "GONGKAI_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Longest a call may run, seconds.
    #[arg(long, env = "GONGKAI_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Calls in flight before new ones are refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "GONGKAI_MAX_CONCURRENT_CALLS", default_value_t = 256)]
    pub max_concurrent_calls: usize,
    /// Calls one principal may have in flight, so that no caller alone takes
    /// every slot [default: a quarter of --max-concurrent-calls].
    #[arg(long, env = "GONGKAI_MAX_CALLS_PER_PRINCIPAL", value_name = "N")]
    pub max_calls_per_principal: Option<usize>,
    /// Calls without a token (server reflection) in flight, all such callers
    /// together; health checks are never limited.
    #[arg(long, env = "GONGKAI_MAX_ANONYMOUS_CALLS", default_value_t = 8)]
    pub max_anonymous_calls: usize,
    /// Longest from a call's headers to the end of its request body,
    /// seconds; a call that takes longer ends with DEADLINE_EXCEEDED and
    /// gives its slot back (4 MiB in 10 s is 3.4 Mbit/s).
    #[arg(long, env = "GONGKAI_REQUEST_BODY_TIMEOUT_SECS", default_value_t = 10)]
    pub request_body_timeout_secs: u64,
    /// On SIGTERM, how long calls in flight may finish, seconds.
    #[arg(long, env = "GONGKAI_DRAIN_TIMEOUT_SECS", default_value_t = 20)]
    pub drain_timeout_secs: u64,
    /// Into an empty store, put sample agencies (双鸭山市 → 宝清县 → two
    /// departments) and the real 宝清县 2024 report as a draft.
    #[arg(long, env = "GONGKAI_SEED_SAMPLE")]
    pub seed_sample: bool,
    /// Directory AdminService/BackupStore writes backups into (created if
    /// missing); without it, online backups are refused.
    #[arg(long, env = "GONGKAI_BACKUP_DIR", value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Server-named backups kept in --backup-dir after each new one (0: all).
    #[arg(long, env = "GONGKAI_BACKUP_KEEP", default_value_t = 7)]
    pub backup_keep: usize,
    /// Backups named by the caller kept in --backup-dir after each new one,
    /// the newest by modification time (0: all); counted apart from the
    /// server-named ones.
    #[arg(long, env = "GONGKAI_BACKUP_KEEP_NAMED", default_value_t = 7)]
    pub backup_keep_named: usize,
    /// 乡镇/街道 report deadlines per area (TOML, `[[township]] area, month,
    /// day`), which local rules set; without it townships have no deadline.
    #[arg(long, env = "GONGKAI_DEADLINES", value_name = "FILE")]
    pub deadlines: Option<PathBuf>,
    /// sled page cache, MiB.
    #[arg(long, env = "GONGKAI_CACHE_MB", default_value_t = 128)]
    pub cache_mb: u64,
    /// Log format.
    #[arg(long, env = "GONGKAI_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Starts the log: lines gathered and written many at a time (see
/// `logbuf`), or one write per line if the flusher thread cannot start.
fn init_logs(format: LogFormat) -> Option<LogBuffer> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal, never into a file or a collector.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let buffer = LogBuffer::stderr().ok();
    let writer = match buffer.clone() {
        Some(b) => BoxMakeWriter::new(b),
        None => BoxMakeWriter::new(std::io::stderr),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
    if let Some(b) = buffer.clone() {
        // A panic's own message goes straight to stderr: the lines before it
        // go first.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            b.flush();
            previous(info);
        }));
    }
    buffer
}

/// Writes a secret readable by the owner only.
fn write_private(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, format!("{secret}\n").as_bytes())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}

/// Runs the server until SIGTERM or SIGINT.
pub fn run(args: &Args) -> ExitCode {
    let log = init_logs(args.log_format);
    let code = serve(args);
    if let Some(log) = log {
        log.flush();
    }
    code
}

fn serve(args: &Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gongkai: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run_async(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "serve failed");
            eprintln!("gongkai: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The store: in the database given, migrated first if asked; else the
/// sled directory.
async fn open_store(args: &Args) -> anyhow::Result<Store> {
    let Some(url) = &args.database.url else {
        let data = args.data.clone();
        let options = StoreOptions {
            cache_capacity: args.cache_mb.saturating_mul(1024 * 1024),
        };
        return tokio::task::spawn_blocking(move || Store::open_sled(&data, &options))
            .await?
            .with_context(|| format!("opening the store at {}", args.data.display()));
    };
    let options = args.database.options();
    if args.migrate {
        let m = PgEngine::open(url, &options)?
            .migrate()
            .await
            .context("migrating the database's schema")?;
        tracing::info!(from = m.from, to = m.to, "database schema migrated");
    }
    Store::open_postgres(url, &options)
        .await
        .context("opening the store in the database")
}

async fn run_async(args: &Args) -> anyhow::Result<()> {
    let (credentials, trial_token) = match (&args.credentials, args.local_trial) {
        (Some(path), _) => {
            let c = Credentials::load(path)?;
            if c.is_empty() {
                anyhow::bail!("{}: no principals: nobody could call", path.display());
            }
            tracing::info!(principals = c.len(), file = %path.display(), "credentials loaded");
            (c, None)
        }
        (None, true) => {
            let token = new_token();
            let p = Principal::local_trial();
            let text = entry_toml(
                &p.name,
                "*",
                &p.roles.iter().copied().collect::<Vec<_>>(),
                &token,
            )
            .map_err(anyhow::Error::msg)?;
            (
                Credentials::parse(&text).map_err(anyhow::Error::msg)?,
                Some(token),
            )
        }
        (None, false) => anyhow::bail!(
            "no credentials: pass --credentials FILE (see `gongkai token --help`), or --local-trial to try gongkai on this machine"
        ),
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Tls {
            cert: std::fs::read(cert).with_context(|| format!("--tls-cert {}", cert.display()))?,
            key: std::fs::read(key).with_context(|| format!("--tls-key {}", key.display()))?,
            client_ca: args
                .tls_client_ca
                .as_ref()
                .map(|ca| {
                    std::fs::read(ca).with_context(|| format!("--tls-client-ca {}", ca.display()))
                })
                .transpose()?,
        }),
        _ => None,
    };
    let deadlines = match &args.deadlines {
        Some(path) => {
            gongkai_server::deadlines::Deadlines::load(path).map_err(anyhow::Error::msg)?
        }
        None => gongkai_server::deadlines::Deadlines::default(),
    };
    let store = open_store(args).await?;
    if args.seed_sample && gongkai_server::sample::seed(&store).await? {
        tracing::info!("seeded the sample agencies and the 宝清县 2024 report");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let metrics = match args.metrics_listen {
        Some(at) => {
            let l = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("binding --metrics-listen {at}"))?;
            let metrics_addr = l.local_addr()?;
            tracing::info!(addr = %metrics_addr, "metrics at /metrics");
            Some((l, metrics_addr))
        }
        None => None,
    };
    let scheme = if tls.is_some() { "tls" } else { "plaintext" };
    match store.path() {
        Some(data) => tracing::info!(%addr, scheme, data = %data.display(), "gongkai listening"),
        None => tracing::info!(%addr, scheme, store = "postgres", "gongkai listening"),
    }
    println!("gongkai listening on {addr} ({scheme})");
    // Both listeners are bound already: a scrape right after either line works.
    if let Some((_, metrics_addr)) = &metrics {
        println!("gongkai metrics on http://{metrics_addr}/metrics");
    }
    if let Some(token) = &trial_token {
        let warning = "LOCAL TRIAL MODE: no credentials file; one made-up token may do everything. Never expose this server.";
        tracing::warn!("{warning}");
        println!("{warning}");
        println!("token: {token}");
        // Also in a file beside a sled store, so scripts need not scrape
        // the output.
        if let Some(data) = store.path() {
            let token_file = data.join("local-trial.token");
            write_private(&token_file, token)
                .with_context(|| format!("writing {}", token_file.display()))?;
            println!("token file: {}", token_file.display());
        }
        println!("try:   grpcurl -plaintext {addr} list");
        println!(
            "       grpcurl -plaintext -H 'authorization: Bearer {token}' -d '{{\"name\": \"agencies/{}/reports/2024\"}}' {addr} gongkai.v1.ReportService/GetReport",
            gongkai_server::sample::COUNTY
        );
    }
    let limits = Limits {
        max_message_bytes: args.max_message_bytes,
        request_timeout: Duration::from_secs(args.request_timeout_secs),
        max_concurrent_calls: args.max_concurrent_calls,
        max_calls_per_principal: args.max_calls_per_principal,
        max_anonymous_calls: args.max_anonymous_calls,
        request_body_timeout: Duration::from_secs(args.request_body_timeout_secs),
        drain_timeout: Duration::from_secs(args.drain_timeout_secs),
    };
    let ctx = Ctx {
        store,
        auth: Authenticator::Tokens(Arc::new(credentials)),
        deadlines: Arc::new(deadlines),
    };
    let ops = Ops {
        metrics: metrics.map(|(l, _)| l),
        backup: args.backup_dir.clone().map(|dir| BackupConfig {
            dir,
            keep: args.backup_keep,
            keep_named: args.backup_keep_named,
        }),
    };
    serve_with(listener, ctx, limits, tls, ops, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}
