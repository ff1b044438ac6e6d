//! gongkai-testkit: a real PostgreSQL for the tests, never a mock.
//!
//! Given `GONGKAI_TEST_DATABASE_URL`, the tests use that server (each test
//! in a database of its own, created there). Otherwise the kit starts a
//! throwaway cluster in a temporary directory from the installed server
//! binaries (Debian's `/usr/lib/postgresql/N/bin`; `GONGKAI_PG_BIN` names
//! another directory), as the `postgres` user when the tests run as root
//! (PostgreSQL refuses to run as root), and stops it when the test process
//! ends — however it ends. Why a supervising shell: a `static` is never
//! dropped, and a test process that panics or is killed runs no cleanup of
//! its own. The shell holds the cluster and reads its standard input, a
//! pipe whose only writer is the test process; when that process is gone,
//! the kernel closes the pipe, the read returns, and the shell stops the
//! cluster and removes its directory.
//!
//! Where PostgreSQL is not installed, starting fails with a message naming
//! the package to install.

use std::{
    io::{BufRead, BufReader, Write},
    net::TcpListener,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{
        Mutex, OnceLock, PoisonError,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

/// A server the tests should use instead of starting their own.
pub const URL_VAR: &str = "GONGKAI_TEST_DATABASE_URL";
/// The directory holding `initdb`, `pg_ctl`, `psql` …, if not Debian's.
pub const BIN_VAR: &str = "GONGKAI_PG_BIN";
/// The superuser of a cluster the kit starts (trust authentication, on
/// 127.0.0.1 only).
pub const SUPERUSER: &str = "gongkai";
/// What to install where the server binaries are missing.
pub const INSTALL_HINT: &str = "apt-get install postgresql";

/// Settings of a cluster the kit starts (default: fsync off, nothing added).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Whether the server syncs its writes to disk. Off is faster and loses
    /// nothing unless the machine itself crashes, which no test does; a test
    /// that measures durable commit cost turns it on.
    pub fsync: bool,
    /// Lines appended to `postgresql.conf`.
    pub settings: Vec<String>,
}

/// A PostgreSQL server for tests: one the kit started, or the one
/// `GONGKAI_TEST_DATABASE_URL` names.
#[derive(Debug)]
pub struct Cluster {
    /// The superuser's URL of the `postgres` database.
    admin_url: String,
    host: String,
    port: u16,
    /// Set when the kit started the server.
    local: Option<Local>,
}

#[derive(Debug)]
struct Local {
    bin: PathBuf,
    /// The temporary directory: `data/`, the log, the socket.
    root: PathBuf,
    /// Run the server binaries as `postgres` (the tests run as root).
    as_postgres: bool,
    /// The supervising shell and the write end of its standard input.
    keeper: Mutex<Option<(Child, ChildStdin)>>,
}

/// The server every test of this process shares (each test takes a database
/// of its own with [`Cluster::fresh_database`]). Started on first use.
///
/// # Panics
/// When no server can be had: PostgreSQL not installed (the message names
/// the package), or the cluster would not start (the message has its log).
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(|| {
        let cluster = match std::env::var(URL_VAR) {
            Ok(url) if !url.is_empty() => Cluster::external(&url),
            _ => Cluster::start(&Options::default()),
        };
        cluster.unwrap_or_else(|e| panic!("{e}"))
    })
}

/// A CA and a server certificate it signed, as PEM, for a cluster that
/// takes TLS ([`Cluster::start_tls`]).
#[derive(Clone, Debug)]
pub struct Pki {
    /// The CA's certificate: what a client trusts.
    pub ca: String,
    /// The server's certificate.
    pub cert: String,
    /// The server's private key.
    pub key: String,
}

impl Pki {
    /// A new CA and a server certificate for `names` (DNS names).
    pub fn new(names: &[&str]) -> Result<Pki, String> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let err = |e: rcgen::Error| format!("making a test certificate: {e}");
        let ca_key = KeyPair::generate().map_err(err)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "gongkai test CA");
        let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().map_err(err)?;
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = CertificateParams::new(names)
            .map_err(err)?
            .signed_by(&key, &issuer)
            .map_err(err)?;
        Ok(Pki {
            ca: ca_cert.pem(),
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }
}

impl Cluster {
    /// Starts a cluster of its own that takes TLS (and plain connections)
    /// with `pki`'s server certificate, its files written into `dir` (which
    /// the server must be able to read: handed to `postgres` when the tests
    /// run as root).
    pub fn start_tls(pki: &Pki, dir: &Path) -> Result<Cluster, String> {
        let write = |name: &str, text: &str, mode: u32| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok::<_, String>(path)
        };
        let cert = write("server.crt", &pki.cert, 0o644)?;
        let key = write("server.key", &pki.key, 0o600)?;
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        if running_as_root() {
            give_to_postgres(dir)?;
        }
        Cluster::start(&Options {
            settings: vec![
                "ssl = on".to_owned(),
                format!("ssl_cert_file = '{}'", cert.display()),
                format!("ssl_key_file = '{}'", key.display()),
            ],
            ..Options::default()
        })
    }

    /// A server that runs elsewhere, named by its superuser URL.
    pub fn external(url: &str) -> Result<Cluster, String> {
        let (host, port) = host_port(url)
            .ok_or_else(|| format!("{URL_VAR}='{url}': not a postgres://user@host:port/db URL"))?;
        let cluster = Cluster {
            admin_url: url.to_owned(),
            host,
            port,
            local: None,
        };
        cluster.psql("SELECT 1")?;
        Ok(cluster)
    }

    /// Starts a new cluster of its own (a test that kills or promotes a
    /// server needs one nobody else uses). Stopped and removed on drop, or
    /// when the process ends.
    pub fn start(options: &Options) -> Result<Cluster, String> {
        let bin = server_bin()?;
        let as_postgres = running_as_root();
        let mut last = String::new();
        // A port found free may be taken before the server binds it: retry.
        for _ in 0..5 {
            let root = temp_root(as_postgres)?;
            let port = free_port()?;
            let local = Local {
                bin: bin.clone(),
                root: root.clone(),
                as_postgres,
                keeper: Mutex::new(None),
            };
            let init = local
                .run(
                    "initdb",
                    &[
                        "-D",
                        &path_str(&root.join("data")),
                        "-U",
                        SUPERUSER,
                        "--auth=trust",
                        "--no-sync",
                        "--encoding=UTF8",
                        "--locale=C",
                        "--no-instructions",
                    ],
                )
                .and_then(|_| local.configure(port, options));
            if let Err(e) = init {
                let _ = std::fs::remove_dir_all(&root);
                return Err(e);
            }
            match local.launch() {
                Ok(()) => return Ok(Cluster::local(local, port)),
                Err(e) => {
                    last = e;
                    let _ = std::fs::remove_dir_all(&root);
                }
            }
        }
        Err(format!("PostgreSQL would not start: {last}"))
    }

    fn local(local: Local, port: u16) -> Cluster {
        Cluster {
            admin_url: format!("postgres://{SUPERUSER}@127.0.0.1:{port}/postgres"),
            host: "127.0.0.1".into(),
            port,
            local: Some(local),
        }
    }

    /// A streaming standby of this cluster (made by `pg_basebackup`), in a
    /// cluster of its own. `synchronous`: the primary waits for the standby
    /// to have each commit before it answers, so a commit acknowledged by
    /// the primary survives the primary's death.
    pub fn standby(&self, synchronous: bool) -> Result<Cluster, String> {
        let primary = self
            .local
            .as_ref()
            .ok_or("a standby needs a cluster the kit started")?;
        let root = temp_root(primary.as_postgres)?;
        let port = free_port()?;
        let local = Local {
            bin: primary.bin.clone(),
            root: root.clone(),
            as_postgres: primary.as_postgres,
            keeper: Mutex::new(None),
        };
        let conninfo = format!(
            "host=127.0.0.1 port={} user={SUPERUSER} application_name=standby",
            self.port
        );
        local.run(
            "pg_basebackup",
            &[
                "-D",
                &path_str(&root.join("data")),
                "-d",
                &conninfo,
                "-X",
                "stream",
                "-R",
                // An immediate checkpoint: the default spreads it over minutes.
                "--checkpoint=fast",
                "--no-sync",
            ],
        )?;
        // The copied postgresql.conf names the primary's port and socket; the
        // lines appended last win.
        local.append_conf(&[
            format!("port = {port}"),
            format!("unix_socket_directories = '{}'", path_str(&root)),
        ])?;
        local.launch()?;
        let standby = Cluster::local(local, port);
        if synchronous {
            self.psql("ALTER SYSTEM SET synchronous_standby_names = 'standby'")?;
            self.psql("SELECT pg_reload_conf()")?;
            self.wait_for(
                "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'",
                "1",
            )?;
        } else {
            self.wait_for("SELECT count(*) FROM pg_stat_replication", "1")?;
        }
        Ok(standby)
    }

    /// Promotes a standby to primary, waiting until it accepts writes.
    pub fn promote(&self) -> Result<(), String> {
        let local = self
            .local
            .as_ref()
            .ok_or("only a cluster the kit started")?;
        local.run("pg_ctl", &["promote", "-w", "-D", &path_str(&local.data())])?;
        self.wait_for("SELECT pg_is_in_recovery()", "f")
    }

    /// Kills the server at once (SIGKILL to the postmaster), as a crash
    /// would: no shutdown checkpoint, connections cut.
    pub fn kill(&self) -> Result<(), String> {
        let local = self
            .local
            .as_ref()
            .ok_or("only a cluster the kit started")?;
        let pid_file = local.data().join("postmaster.pid");
        let text = std::fs::read_to_string(&pid_file)
            .map_err(|e| format!("{}: {e}", pid_file.display()))?;
        let pid = text.lines().next().unwrap_or_default().trim().to_owned();
        let status = Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .map_err(|e| format!("kill: {e}"))?;
        if !status.success() {
            return Err(format!("kill -KILL {pid} failed"));
        }
        Ok(())
    }

    /// Starts the server again on its data directory after [`Cluster::kill`]
    /// (crash recovery replays its WAL), on the same port, waiting until it
    /// accepts connections. A killed postmaster's backends may still hold
    /// the shared memory for a moment: the start is tried again until it
    /// succeeds, 30 s at most. The supervising shell still stops it at the
    /// end.
    pub fn start_again(&self) -> Result<(), String> {
        let local = self
            .local
            .as_ref()
            .ok_or("only a cluster the kit started")?;
        let data = path_str(&local.data());
        let log = path_str(&local.root.join("server.log"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match local.run(
                "pg_ctl",
                &["start", "-w", "-t", "60", "-D", &data, "-l", &log],
            ) {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// The host the server listens on.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Its TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        with_database(&self.admin_url, db)
    }

    /// Creates an empty database no other test uses and returns its URL.
    pub fn fresh_database(&self) -> Result<String, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("gongkai_test_{}_{n}", std::process::id());
        self.psql(&format!("CREATE DATABASE {name}"))?;
        Ok(self.url(&name))
    }

    /// The installed client program `name` (`pg_dump`, `pg_restore` …):
    /// beside the server binaries the kit runs, else found on `PATH`.
    pub fn client(&self, name: &str) -> PathBuf {
        match &self.local {
            Some(l) => l.bin.join(name),
            None => server_bin().map_or_else(|_| PathBuf::from(name), |b| b.join(name)),
        }
    }

    /// Runs one SQL statement as the superuser in the `postgres` database;
    /// returns its output unaligned, tuples only.
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        self.psql_in(&self.admin_url, sql)
    }

    /// Runs one SQL statement against `url`.
    pub fn psql_in(&self, url: &str, sql: &str) -> Result<String, String> {
        let psql = self.client("psql");
        let out = Command::new(&psql)
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url,
                "-c",
                sql,
            ])
            .output()
            .map_err(|e| format!("{}: {e} (install it: {INSTALL_HINT})", psql.display()))?;
        if !out.status.success() {
            return Err(format!(
                "psql '{sql}': {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Polls `sql` until it prints `want` (30 s at most).
    fn wait_for(&self, sql: &str, want: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.psql(sql);
            if got.as_deref() == Ok(want) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("'{sql}' never gave {want} (last: {got:?})"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(local) = &self.local {
            local.stop();
        }
    }
}

impl Local {
    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The command `tool` of the server binaries, as `postgres` when root.
    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(tool)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{tool}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{tool} {}: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    fn configure(&self, port: u16, options: &Options) -> Result<(), String> {
        let mut lines = vec![
            format!("port = {port}"),
            "listen_addresses = '127.0.0.1'".to_owned(),
            format!("unix_socket_directories = '{}'", path_str(&self.root)),
            format!("fsync = {}", if options.fsync { "on" } else { "off" }),
            "max_connections = 300".to_owned(),
            "wal_level = replica".to_owned(),
            "max_wal_senders = 4".to_owned(),
            "hot_standby = on".to_owned(),
            "log_min_messages = warning".to_owned(),
        ];
        lines.extend(options.settings.iter().cloned());
        self.append_conf(&lines)
    }

    fn append_conf(&self, lines: &[String]) -> Result<(), String> {
        let conf = self.data().join("postgresql.conf");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .map_err(|e| format!("{}: {e}", conf.display()))?;
        let mut text = String::from("\n# gongkai-testkit\n");
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        f.write_all(text.as_bytes())
            .map_err(|e| format!("{}: {e}", conf.display()))
    }

    /// Starts the server under the supervising shell and waits until it
    /// accepts connections.
    fn launch(&self) -> Result<(), String> {
        const SCRIPT: &str = r#"
root=$1; shift
"$@" start -w -t 120 -D "$root/data" -l "$root/server.log" >/dev/null 2>&1 || {
    cat "$root/server.log" >&2; rm -rf "$root"; exit 1; }
echo ready
read -r _ || true
"$@" stop -w -m fast -D "$root/data" >/dev/null 2>&1 ||
    "$@" stop -m immediate -D "$root/data" >/dev/null 2>&1
rm -rf "$root"
"#;
        let mut cmd = Command::new("sh");
        cmd.args(["-c", SCRIPT, "sh"]).arg(&self.root);
        if self.as_postgres {
            cmd.args(["runuser", "-u", "postgres", "--"]);
        }
        let mut child = cmd
            .arg(self.bin.join("pg_ctl"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("sh: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin pipe")?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        if line.trim() != "ready" {
            let out = child.wait_with_output().map_err(|e| e.to_string())?;
            return Err(format!(
                "pg_ctl start failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        *self.keeper.lock().unwrap_or_else(PoisonError::into_inner) = Some((child, stdin));
        Ok(())
    }

    /// Stops the server and removes its directory (closing the shell's
    /// input is its signal), waiting until that is done.
    fn stop(&self) {
        let keeper = self
            .keeper
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((mut child, stdin)) = keeper {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

/// The directory of the server binaries: `GONGKAI_PG_BIN`, else the newest
/// `/usr/lib/postgresql/N/bin` that has `initdb`.
fn server_bin() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var(BIN_VAR) {
        let dir = PathBuf::from(dir);
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
        return Err(format!("{BIN_VAR}={} has no initdb", dir.display()));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        format!(
            "PostgreSQL server binaries not found (no /usr/lib/postgresql/N/bin/initdb, \
             {BIN_VAR} unset, {URL_VAR} unset): the tests need a real PostgreSQL; \
             install it with `{INSTALL_HINT}` or set {URL_VAR}"
        )
    })
}

/// The effective user is root (`/proc/self` belongs to it).
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A new directory under the system's temporary directory, owned by
/// `postgres` when the server will run as that user.
fn temp_root(as_postgres: bool) -> Result<PathBuf, String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let root = std::env::temp_dir().join(format!("gongkai-pg-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    if as_postgres {
        give_to_postgres(&root)?;
    }
    Ok(root)
}

/// Hands `path`, and what it holds, to the `postgres` user the server runs as.
fn give_to_postgres(path: &Path) -> Result<(), String> {
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path)
        .status()
        .map_err(|e| format!("chown: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "chown postgres {}: is there a postgres user? ({INSTALL_HINT})",
            path.display()
        ))
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `url` with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_at = base.find("://").map_or(0, |i| i + 3);
    let path_at = base[authority_at..]
        .find('/')
        .map_or(base.len(), |i| authority_at + i);
    let mut out = format!("{}/{db}", &base[..path_at]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// The first host and port of a URL (default port 5432).
fn host_port(url: &str) -> Option<(String, u16)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let first = hostport.split(',').next()?;
    match first.rsplit_once(':') {
        Some((h, p)) => Some((h.to_owned(), p.parse().ok()?)),
        None => Some((first.to_owned(), 5432)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_get_their_database_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5/postgres", "x"),
            "postgres://u@h:5/x"
        );
        assert_eq!(
            with_database("postgres://u@h:5/postgres?sslmode=disable", "x"),
            "postgres://u@h:5/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:5", "x"), "postgres://u@h:5/x");
        assert_eq!(
            host_port("postgres://u:p@a:7,b:8/db"),
            Some(("a".into(), 7))
        );
        assert_eq!(host_port("postgres://h/db"), Some(("h".into(), 5432)));
    }

    #[test]
    fn the_shared_cluster_gives_each_test_a_database_of_its_own() {
        let a = shared().fresh_database().unwrap();
        let b = shared().fresh_database().unwrap();
        assert_ne!(a, b);
        shared()
            .psql_in(&a, "CREATE TABLE only_in_a (n int)")
            .unwrap();
        assert!(shared().psql_in(&b, "SELECT * FROM only_in_a").is_err());
    }

    #[test]
    fn a_killed_cluster_starts_again_with_what_it_committed() {
        let cluster = Cluster::start(&Options::default()).unwrap();
        let db = cluster.fresh_database().unwrap();
        cluster
            .psql_in(&db, "CREATE TABLE t (n int); INSERT INTO t VALUES (7)")
            .unwrap();
        cluster.kill().unwrap();
        cluster.start_again().unwrap();
        assert_eq!(cluster.psql_in(&db, "SELECT n FROM t").unwrap(), "7");
    }

    #[test]
    fn a_started_cluster_serves_fresh_databases_and_a_standby_takes_over() {
        let primary = Cluster::start(&Options::default()).unwrap();
        let db = primary.fresh_database().unwrap();
        primary
            .psql_in(&db, "CREATE TABLE t (n int); INSERT INTO t VALUES (41)")
            .unwrap();
        let standby = primary.standby(true).unwrap();
        primary.psql_in(&db, "INSERT INTO t VALUES (1)").unwrap();
        primary.kill().unwrap();
        standby.promote().unwrap();
        let standby_db = standby.url(db.rsplit('/').next().unwrap());
        // Synchronous: the commit the primary acknowledged is on the standby.
        assert_eq!(
            standby
                .psql_in(&standby_db, "SELECT sum(n) FROM t")
                .unwrap(),
            "42"
        );
        standby
            .psql_in(&standby_db, "INSERT INTO t VALUES (0)")
            .unwrap();
        let root = standby.local.as_ref().unwrap().root.clone();
        drop(standby);
        assert!(!root.exists(), "a dropped cluster removes its directory");
    }
}
