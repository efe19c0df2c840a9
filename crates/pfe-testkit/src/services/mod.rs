//! Real Debian daemons started on loopback for tests.
//!
//! Every harness here ([`ldap::Slapd`], [`nginx::Nginx`], [`turn::Coturn`],
//! [`dns::Knot`]) follows the same rules:
//!
//! - the daemon runs as a child process in the foreground (never daemonized,
//!   never through systemd), as its own process group, on `127.0.0.1` and a
//!   free port picked by binding port 0 and releasing it;
//! - every file it writes (config, data, pid, logs) is inside a
//!   [`tempfile::TempDir`] the harness owns;
//! - `start` returns only once the daemon really answers a protocol request
//!   (bounded by [`START_TIMEOUT`]); otherwise it returns an [`Error`] that
//!   carries the tail of the daemon's logs;
//! - a clash on the port (another process bound it between our release and
//!   the daemon's bind) is detected and retried on a new port;
//! - `Drop` kills the whole process group with SIGKILL and reaps the child,
//!   so nothing is left behind, also when a test panics. The kernel also kills
//!   the daemon if the test process dies (`PR_SET_PDEATHSIG`): daemons are
//!   spawned from one process-lifetime thread, so a harness may be moved
//!   between threads or kept in a `static`;
//! - a missing binary is an error naming the binary and its Debian package:
//!   the tests never skip.
//!
//! Ports are also reserved across processes with a lock file per port under
//! `/tmp/pfe-testkit-ports/` (`flock`), held for the harness's life: coturn and
//! Knot bind with `SO_REUSEPORT`, so two of them on one port would not fail
//! but silently share it; the lock keeps two harnesses (in any test
//! processes) from being handed the same port.

pub mod dns;
pub mod ldap;
pub mod nginx;
pub mod turn;

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long `start` waits for a daemon to answer before giving up.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How many ports `start` tries when the daemon finds its port taken.
const PORT_ATTEMPTS: usize = 5;

/// The loopback address every harness listens on.
pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A harness failure. Its `Debug` is the plain message (with real newlines),
/// so `.unwrap()` and `.expect()` print the daemon's log tail readably.
pub struct Error {
    msg: String,
}

impl Error {
    pub(crate) fn new(msg: impl Into<String>) -> Error {
        Error { msg: msg.into() }
    }

    /// The whole message.
    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::new(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Adds context to io errors.
pub(crate) trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::new(format!("{}: {e}", what())))
    }
}

/// Finds `name` on `PATH` or in the sbin directories (a non-root `PATH` often
/// lacks them). The error names the binary and the Debian package to install.
pub fn find_binary(name: &str, package: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
    for dir in dirs {
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(Error::new(format!(
        "{name} not found on PATH nor in /usr/sbin, /sbin: install the Debian package \
         {package} (scripts/install-deps.sh does)"
    )))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// How long a helper tool (openssl, slapadd, ldapadd, kdig…) may run.
pub(crate) const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a helper tool to completion (killed after [`TOOL_TIMEOUT`]); a
/// non-zero exit is an error carrying its output.
pub(crate) fn run_tool(cmd: Command, stdin: Option<&[u8]>) -> Result<Output> {
    let shown = format!("{cmd:?}");
    let out = output_with_timeout(cmd, stdin, TOOL_TIMEOUT)?;
    if !out.status.success() {
        return Err(Error::new(format!(
            "{shown} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(out)
}

/// Runs `cmd` with `stdin` (or none), collecting its output; kills it and
/// errs if it has not exited after `timeout` (a peer that accepts and never
/// answers must not hang a test).
pub(crate) fn output_with_timeout(
    mut cmd: Command,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output> {
    use std::io::Write;
    let shown = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().context(|| format!("cannot run {shown}"))?;
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        // A tool that exits early closes the pipe: its status tells why.
        let _ = pipe.write_all(input);
    }
    let mut out_pipe = child.stdout.take().expect("stdout is piped");
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out_pipe.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err_pipe.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .context(|| format!("cannot wait for {shown}"))?
        {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::new(format!(
                "{shown} did not finish within {timeout:?} (killed)"
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

/// A small unpredictable-enough number for ids and serials (no rand crate).
pub(crate) fn nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.finish()
}

// ---- ports ----------------------------------------------------------------

/// A loopback port that was free when leased, reserved against other
/// pfe-testkit harnesses (in any process) until dropped.
#[derive(Debug)]
pub(crate) struct PortLease {
    pub port: u16,
    _lock: File,
}

/// `/tmp/pfe-testkit-ports` (fixed, so test processes with different
/// `TMPDIR`s still see each other's leases; mode 1777 like /tmp, so every
/// user's tests share it), else `$TMPDIR/pfe-testkit-ports`.
fn port_lock_dir() -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let fixed = PathBuf::from("/tmp/pfe-testkit-ports");
    if fs::create_dir_all(&fixed).is_ok() {
        let _ = fs::set_permissions(&fixed, fs::Permissions::from_mode(0o1777));
        return Ok(fixed);
    }
    let dir = std::env::temp_dir().join("pfe-testkit-ports");
    fs::create_dir_all(&dir).context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Leases a port free on 127.0.0.1 for TCP (and UDP too when `udp`).
pub(crate) fn lease_port(udp: bool) -> Result<PortLease> {
    let dir = port_lock_dir()?;
    let mut last = String::from("no attempt");
    for _ in 0..64 {
        let tcp = match TcpListener::bind((LOOPBACK, 0)) {
            Ok(l) => l,
            Err(e) => {
                last = format!("bind 127.0.0.1:0: {e}");
                continue;
            }
        };
        let port = tcp.local_addr()?.port();
        let _udp = if udp {
            match UdpSocket::bind((LOOPBACK, port)) {
                Ok(s) => Some(s),
                Err(e) => {
                    last = format!("UDP 127.0.0.1:{port} taken: {e}");
                    continue;
                }
            }
        } else {
            None
        };
        let path = dir.join(format!("{port}.lock"));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .context(|| format!("cannot open {}", path.display()))?;
        match lock.try_lock() {
            Ok(()) => {
                #[cfg(test)]
                tests::maybe_block(tcp, _udp);
                return Ok(PortLease { port, _lock: lock });
            }
            Err(e) => last = format!("port {port} is leased by another harness: {e}"),
        }
    }
    Err(Error::new(format!(
        "no free loopback port found after 64 tries (last: {last})"
    )))
}

// ---- processes ------------------------------------------------------------

type SpawnJob = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns on one thread that lives as long as the process: the kernel's
/// parent-death signal fires when the *thread* that forked a child exits,
/// so children of short-lived test threads must not be forked there.
fn spawn_on_lifetime_thread(cmd: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnJob>> = OnceLock::new();
    let tx = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("pfe-testkit-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("cannot start the pfe-testkit spawner thread");
        tx
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    tx.send((cmd, reply_tx))
        .map_err(|_| io::Error::other("the pfe-testkit spawner thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| io::Error::other("the pfe-testkit spawner thread is gone"))?
}

/// A running daemon: its own process group, killed and reaped on drop.
pub(crate) struct Daemon {
    name: String,
    child: Child,
    exited: Option<ExitStatus>,
    logs: Vec<PathBuf>,
}

impl Daemon {
    /// Starts `cmd` (stdin closed, stdout and stderr to `out_log`)
    /// as the leader of a new process group. `death_signal` is what the
    /// kernel sends it when the test process dies (nginx wants SIGTERM, so
    /// its master takes its workers down with it). `logs` are the files
    /// whose tails go into error messages (`out_log` is always one).
    pub(crate) fn spawn(
        name: &str,
        mut cmd: Command,
        out_log: &Path,
        mut logs: Vec<PathBuf>,
        death_signal: libc::c_int,
    ) -> Result<Daemon> {
        // A retried start must not find the last attempt's "address already
        // in use": every log starts empty.
        for p in &logs {
            if p.exists() {
                File::create(p).context(|| format!("cannot truncate {}", p.display()))?;
            }
        }
        let out = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(out_log)
            .context(|| format!("cannot create {}", out_log.display()))?;
        let err = out.try_clone()?;
        let parent = std::process::id() as libc::pid_t;
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        // SAFETY: prctl and getppid are async-signal-safe; the closure
        // allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    death_signal as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    return Err(io::Error::other("the test process exited"));
                }
                Ok(())
            });
        }
        let shown = format!("{cmd:?}");
        let child = spawn_on_lifetime_thread(cmd).context(|| format!("cannot start {shown}"))?;
        logs.insert(0, out_log.to_path_buf());
        Ok(Daemon {
            name: name.to_string(),
            child,
            exited: None,
            logs,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the daemon has exited (it is then reaped).
    pub(crate) fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.exited = Some(status);
        }
        self.exited
    }

    /// The last lines of each log file, labelled.
    pub(crate) fn log_tail(&self) -> String {
        let mut s = String::new();
        for p in &self.logs {
            s.push_str(&format!("--- tail of {}:\n{}", p.display(), tail(p, 40)));
            if !s.ends_with('\n') {
                s.push('\n');
            }
        }
        s
    }

    /// All the logs' text (for pattern checks while starting).
    fn logs_text(&self) -> String {
        self.logs
            .iter()
            .map(|p| tail(p, 200))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.exit_status().is_none() {
            let pid = self.child.id() as libc::pid_t;
            // SAFETY: plain syscalls. The group id is the unreaped leader's
            // pid, which cannot have been reused yet.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
            let _ = self.child.wait();
        }
        // A leader that already exited on its own (only while starting) is
        // left alone: its group id may belong to someone else by now.
    }
}

/// The last `lines` lines of a file (at most 64 KiB read), or a note.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) => return format!("(cannot read: {e})\n"),
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    let _ = f.seek(SeekFrom::Start(start));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    if all.is_empty() {
        return "(empty)\n".into();
    }
    let mut s = all[from..].join("\n");
    s.push('\n');
    s
}

/// Why a start attempt failed.
pub(crate) enum StartError {
    /// The port was taken: try another.
    Clash(String),
    Fatal(Error),
}

impl From<Error> for StartError {
    fn from(e: Error) -> StartError {
        StartError::Fatal(e)
    }
}

/// Log text that means "the port was taken", in each daemon's words.
const CLASH_PATTERNS: &[&str] = &["address already in use", "errno=98", "(98:"];

/// What a readiness probe says.
pub(crate) enum Probe {
    Ready,
    NotYet(String),
}

/// Polls `probe` until it says Ready, the daemon exits, its log shows a port
/// clash or one of `fatal_patterns` (lower-case), or [`START_TIMEOUT`] passes.
pub(crate) fn wait_ready(
    daemon: &mut Daemon,
    fatal_patterns: &[&str],
    mut probe: impl FnMut() -> Probe,
) -> std::result::Result<(), StartError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(status) = daemon.exit_status() {
            let logs = daemon.logs_text().to_lowercase();
            let msg = format!(
                "{} exited ({status}) before answering.\n{}",
                daemon.name,
                daemon.log_tail()
            );
            if CLASH_PATTERNS.iter().any(|p| logs.contains(p)) {
                return Err(StartError::Clash(msg));
            }
            return Err(StartError::Fatal(Error::new(msg)));
        }
        let logs = daemon.logs_text().to_lowercase();
        if CLASH_PATTERNS.iter().any(|p| logs.contains(p)) {
            return Err(StartError::Clash(format!(
                "{} could not bind its port.\n{}",
                daemon.name,
                daemon.log_tail()
            )));
        }
        if let Some(p) = fatal_patterns.iter().find(|p| logs.contains(*p)) {
            return Err(StartError::Fatal(Error::new(format!(
                "{} logged {p:?} while starting.\n{}",
                daemon.name,
                daemon.log_tail()
            ))));
        }
        let last = match probe() {
            Probe::Ready => return Ok(()),
            Probe::NotYet(why) => why,
        };
        if started.elapsed() > START_TIMEOUT {
            return Err(StartError::Fatal(Error::new(format!(
                "{} did not answer within {:?} (last probe: {last}).\n{}",
                daemon.name,
                START_TIMEOUT,
                daemon.log_tail()
            ))));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Runs `attempt` until it succeeds, retrying on a port clash.
pub(crate) fn retry_on_clash<T>(
    name: &str,
    mut attempt: impl FnMut() -> std::result::Result<T, StartError>,
) -> Result<T> {
    let mut last = String::new();
    for _ in 0..PORT_ATTEMPTS {
        match attempt() {
            Ok(t) => return Ok(t),
            Err(StartError::Fatal(e)) => return Err(e),
            Err(StartError::Clash(msg)) => last = msg,
        }
    }
    Err(Error::new(format!(
        "{name}: its port was taken {PORT_ATTEMPTS} times in a row; last:\n{last}"
    )))
}

/// Writes a file, with the path in the error.
pub(crate) fn write_file(path: &Path, text: impl AsRef<[u8]>) -> Result<()> {
    fs::write(path, text).context(|| format!("cannot write {}", path.display()))
}

// ---- a throwaway CA -------------------------------------------------------

/// A self-signed CA made with `openssl` (EC P-256, valid 7 days) that issues
/// server certificates for loopback names. Files live in the directory given
/// to [`TestCa::generate`].
#[derive(Debug, Clone)]
pub struct TestCa {
    dir: PathBuf,
    ca_pem: PathBuf,
    ca_key: PathBuf,
}

/// A certificate issued by a [`TestCa`]: PEM files.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
}

impl TestCa {
    /// Makes `dir/ca.pem` and `dir/ca.key` (`dir` must exist).
    pub fn generate(dir: &Path) -> Result<TestCa> {
        let openssl = find_binary("openssl", "openssl")?;
        let ca_pem = dir.join("ca.pem");
        let ca_key = dir.join("ca.key");
        let mut cmd = Command::new(&openssl);
        cmd.args(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt"])
            .arg("ec_paramgen_curve:prime256v1")
            .args(["-nodes", "-days", "7", "-subj", "/CN=pfe-testkit CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(&ca_key)
            .arg("-out")
            .arg(&ca_pem);
        run_tool(cmd, None)?;
        Ok(TestCa {
            dir: dir.to_path_buf(),
            ca_pem,
            ca_key,
        })
    }

    /// The CA certificate (PEM): what a client must trust.
    pub fn ca_pem(&self) -> &Path {
        &self.ca_pem
    }

    /// Issues `<stem>.pem` / `<stem>.key` for a server: CN is the first DNS
    /// name (or the first IP), with all names and IPs as subjectAltNames.
    pub fn issue(&self, stem: &str, dns_names: &[&str], ips: &[IpAddr]) -> Result<IssuedCert> {
        let openssl = find_binary("openssl", "openssl")?;
        let key_pem = self.dir.join(format!("{stem}.key"));
        let csr = self.dir.join(format!("{stem}.csr"));
        let cert_pem = self.dir.join(format!("{stem}.pem"));
        let ext = self.dir.join(format!("{stem}.ext"));
        let cn = dns_names
            .first()
            .map(|s| s.to_string())
            .or_else(|| ips.first().map(|i| i.to_string()))
            .ok_or_else(|| Error::new("TestCa::issue needs at least one name or IP"))?;
        let sans: Vec<String> = dns_names
            .iter()
            .map(|n| format!("DNS:{n}"))
            .chain(ips.iter().map(|i| format!("IP:{i}")))
            .collect();
        write_file(
            &ext,
            format!(
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
                 extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName={}\n",
                sans.join(",")
            ),
        )?;
        let mut req = Command::new(&openssl);
        req.args(["req", "-new", "-newkey", "ec", "-pkeyopt"])
            .arg("ec_paramgen_curve:prime256v1")
            .args(["-nodes", "-subj", &format!("/CN={cn}")])
            .arg("-keyout")
            .arg(&key_pem)
            .arg("-out")
            .arg(&csr);
        run_tool(req, None)?;
        let mut sign = Command::new(&openssl);
        sign.args(["x509", "-req", "-days", "7", "-set_serial"])
            .arg(format!("0x{:016x}", nonce() >> 1))
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(&self.ca_pem)
            .arg("-CAkey")
            .arg(&self.ca_key)
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&cert_pem);
        run_tool(sign, None)?;
        Ok(IssuedCert { cert_pem, key_pem })
    }

    /// A certificate for `localhost`, `127.0.0.1` and `::1`.
    pub fn issue_loopback(&self, stem: &str) -> Result<IssuedCert> {
        self.issue(
            stem,
            &["localhost"],
            &[LOOPBACK, IpAddr::V6(Ipv6Addr::LOCALHOST)],
        )
    }
}

/// `127.0.0.1:port`.
pub(crate) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::new(LOOPBACK, port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    thread_local! {
        /// How many of this thread's next leases to keep bound (a clash).
        static BLOCK_NEXT: Cell<usize> = const { Cell::new(0) };
        static BLOCKERS: RefCell<Vec<(TcpListener, Option<UdpSocket>)>> =
            const { RefCell::new(Vec::new()) };
    }

    /// Called by lease_port with its probe sockets: keeps them bound when a
    /// clash was asked for, so the daemon finds its port taken.
    pub(super) fn maybe_block(tcp: TcpListener, udp: Option<UdpSocket>) {
        if BLOCK_NEXT.get() > 0 {
            BLOCK_NEXT.set(BLOCK_NEXT.get() - 1);
            BLOCKERS.with_borrow_mut(|b| b.push((tcp, udp)));
        }
    }

    fn blocked_ports() -> Vec<u16> {
        BLOCKERS.with_borrow(|b| {
            b.iter()
                .map(|(t, _)| t.local_addr().unwrap().port())
                .collect()
        })
    }

    /// Each daemon, finding its first port taken, starts on another.
    #[test]
    fn a_taken_port_is_retried_on_another() {
        let t = Instant::now();
        BLOCK_NEXT.set(1);
        let ldap = ldap::Slapd::start().unwrap();
        eprintln!("slapd after a clash: {:?}", t.elapsed());
        let t = Instant::now();
        BLOCK_NEXT.set(1);
        let web = nginx::Nginx::start("server { listen 127.0.0.1:@PORT@; return 200; }").unwrap();
        eprintln!("nginx after a clash: {:?}", t.elapsed());
        let t = Instant::now();
        BLOCK_NEXT.set(1);
        let turn = turn::Coturn::start("s", "example.org").unwrap();
        eprintln!("coturn after a clash: {:?}", t.elapsed());
        let t = Instant::now();
        BLOCK_NEXT.set(1);
        let knot = dns::Knot::start(&[("example.org", &dns::minimal_zone("example.org"))]).unwrap();
        eprintln!("knot after a clash: {:?}", t.elapsed());
        let blocked = blocked_ports();
        assert_eq!(blocked.len(), 4);
        for (name, port) in [
            ("slapd", ldap.port()),
            ("nginx", web.port()),
            ("coturn", turn.port()),
            ("knot", knot.port()),
        ] {
            assert!(!blocked.contains(&port), "{name} got a blocked port {port}");
        }
        assert!(turn::stun_binding(turn.addr()).is_ok());
        assert_eq!(
            knot.query("example.org", dns::rtype::SOA).unwrap().rcode,
            dns::rcode::NOERROR
        );
    }

    #[test]
    fn a_missing_binary_names_itself_and_its_package() {
        let err = find_binary("pfe-no-such-daemon", "pfe-no-such-package").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("pfe-no-such-daemon") && msg.contains("pfe-no-such-package"),
            "{msg}"
        );
        assert!(find_binary("slapd", "slapd").is_ok());
    }

    #[test]
    fn leases_are_exclusive_across_open_files() {
        let a = lease_port(true).unwrap();
        // The same port's lock file, opened again (as another process
        // would), cannot be locked while the lease lives.
        let path = port_lock_dir().unwrap().join(format!("{}.lock", a.port));
        let f = File::open(&path).unwrap();
        assert!(f.try_lock().is_err());
        drop(a);
        assert!(f.try_lock().is_ok());
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("log");
        fs::write(&p, "a\nb\nc\n").unwrap();
        assert_eq!(tail(&p, 2), "b\nc\n");
        assert!(tail(&d.path().join("none"), 2).contains("cannot read"));
    }
}
