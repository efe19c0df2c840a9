//! Run a real, throw-away Prosody on loopback: a state directory, a
//! self-signed certificate, free ports, the option overrides that make a
//! config run unprivileged inside that directory, process start/stop (no
//! stray processes: the handle's `Drop` stops it), and account creation.
//!
//! ```no_run
//! # fn demo() -> Result<(), pfe_run::server::ServerError> {
//! use pfe_run::server::*;
//! let state = StateDir::create("/tmp/pfe-demo")?;
//! let ports = Ports::pick()?;
//! generate_cert(&state.certs_dir(), "localhost", &["conference.localhost"])?;
//! let base = "VirtualHost \"localhost\"\n";
//! let cfg = state.write_config(&apply_overrides(base, &loopback_overrides(&state, &ports)))?;
//! let prosody = start(&cfg, &StartOptions::new(&state, &ports))?;
//! create_user(&cfg, "alice@localhost", "secret")?;
//! drop(prosody); // SIGTERM, then SIGKILL if it lingers
//! # Ok(()) }
//! ```

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What can go wrong running Prosody.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A file system operation failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Picking free ports failed.
    #[error("cannot pick free loopback ports: {0}")]
    Ports(#[source] io::Error),
    /// Certificate generation failed.
    #[error("cannot generate a certificate for {domain}: {detail}")]
    Cert { domain: String, detail: String },
    /// The program could not be started.
    #[error("cannot run {program}: {source} (is Prosody 13 installed and on PATH?)")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    /// Something already listens where Prosody should.
    #[error("{addr} already accepts connections before Prosody started (port clash?)")]
    PortBusy { addr: SocketAddr },
    /// Prosody exited before it listened.
    #[error("prosody exited ({status}) before listening on {addr}; last log lines of {}:\n{log_tail}", log.display())]
    EarlyExit {
        status: ExitStatus,
        addr: SocketAddr,
        log: PathBuf,
        log_tail: String,
    },
    /// Prosody could not bind one of its ports (it keeps running without it).
    #[error("prosody could not open a port (another server or test took it?); it was stopped; last log lines of {}:\n{log_tail}", log.display())]
    PortConflict { log: PathBuf, log_tail: String },
    /// Prosody did not listen in time.
    #[error("prosody did not listen on {addr} within {waited:?} (it was stopped); last log lines of {}:\n{log_tail}", log.display())]
    StartTimeout {
        addr: SocketAddr,
        waited: Duration,
        log: PathBuf,
        log_tail: String,
    },
    /// prosodyctl failed.
    #[error("prosodyctl {action} failed ({status}): {output}")]
    Prosodyctl {
        action: String,
        status: String,
        output: String,
    },
    /// A bad argument.
    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
}

/// Shorthand.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ServerError + 'a {
    move |source| ServerError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// The files of one local server:
/// `data/`, `certs/`, `prosody.cfg.lua`, `prosody.pid`, `prosody.log`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Create (or reuse) the layout under `root`; `data/` and `certs/` are
    /// made private (0700).
    pub fn create(root: impl Into<PathBuf>) -> Result<StateDir> {
        let root = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()
                .map_err(io_err("cannot resolve", &root))?
                .join(root)
        };
        let s = StateDir { root };
        for d in [s.root.clone(), s.data_dir(), s.certs_dir()] {
            fs::create_dir_all(&d).map_err(io_err("cannot create directory", &d))?;
        }
        for d in [s.data_dir(), s.certs_dir()] {
            fs::set_permissions(&d, fs::Permissions::from_mode(0o700))
                .map_err(io_err("cannot chmod", &d))?;
        }
        Ok(s)
    }

    /// The state directory itself (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `data/`: Prosody's `data_path`.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// `certs/`: Prosody's `certificates` directory.
    pub fn certs_dir(&self) -> PathBuf {
        self.root.join("certs")
    }

    /// `prosody.cfg.lua`
    pub fn config_path(&self) -> PathBuf {
        self.root.join("prosody.cfg.lua")
    }

    /// `prosody.pid`
    pub fn pid_path(&self) -> PathBuf {
        self.root.join("prosody.pid")
    }

    /// `prosody.log`
    pub fn log_path(&self) -> PathBuf {
        self.root.join("prosody.log")
    }

    /// Write `text` to [`Self::config_path`] (mode 0600); returns the path.
    pub fn write_config(&self, text: &str) -> Result<PathBuf> {
        let p = self.config_path();
        write_private(&p, text.as_bytes())?;
        Ok(p)
    }
}

fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err("cannot write", path))?;
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io_err("cannot chmod", path))?;
    f.write_all(data).map_err(io_err("cannot write", path))
}

/// Distinct free TCP ports on 127.0.0.1: all `n` are bound at once (so no
/// two are equal) and released on return. Another process could still take
/// one before it is used; [`start`] checks for that.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<io::Result<Vec<_>>>()
        .map_err(ServerError::Ports)?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<io::Result<Vec<_>>>()
        .map_err(ServerError::Ports)
}

/// The loopback ports of one server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// c2s with STARTTLS (`c2s_ports`).
    pub c2s: u16,
    /// c2s direct TLS, XEP-0368 (`c2s_direct_tls_ports`).
    pub c2s_direct_tls: u16,
    /// s2s (`s2s_ports`).
    pub s2s: u16,
    /// Plain HTTP (`http_ports`): BOSH, WebSocket, uploads, well-known.
    pub http: u16,
    /// HTTPS (`https_ports`).
    pub https: u16,
    /// External components (`component_ports`).
    pub component: u16,
}

impl Ports {
    /// Six distinct free loopback ports.
    pub fn pick() -> Result<Ports> {
        let p = free_ports(6)?;
        Ok(Ports {
            c2s: p[0],
            c2s_direct_tls: p[1],
            s2s: p[2],
            http: p[3],
            https: p[4],
            component: p[5],
        })
    }

    /// `127.0.0.1:<c2s>`
    pub fn c2s_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.c2s))
    }

    /// `127.0.0.1:<port>`
    pub fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }
}

/// Paths of a generated certificate and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFiles {
    /// `<certs>/<domain>.crt` (PEM); also usable as a client's CA file.
    pub cert: PathBuf,
    /// `<certs>/<domain>.key` (PEM PKCS#8, mode 0600).
    pub key: PathBuf,
}

/// The hosts a config serves (its VirtualHosts and Components), lower
/// case, in order, each once.
pub fn served_hosts(ev: &pfe_core::sandbox::Evaluated) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for s in ev.sections.iter().skip(1) {
        let n = s.name.to_ascii_lowercase();
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

/// `names` grouped for certificates: each name that is not a sub-domain of
/// another of `names`, with the names under it (`*.name` covers one level
/// only, so they are listed), in order.
pub fn certificate_roots(names: &[String]) -> Vec<(String, Vec<String>)> {
    let mut roots = Vec::new();
    for n in names {
        let under = |m: &String| n != m && n.ends_with(&format!(".{m}"));
        if names.iter().any(under) {
            continue;
        }
        let subs = names
            .iter()
            .filter(|m| *m != n && m.ends_with(&format!(".{n}")))
            .cloned()
            .collect();
        roots.push((n.clone(), subs));
    }
    roots
}

/// Generate a self-signed ECDSA P-256 certificate for `domain`, `*.domain`
/// and `extra_names` (e.g. component hosts), written as
/// `<certs_dir>/<domain>.crt` and `.key` — the layout Prosody's
/// `certificates = "<dir>"` option indexes.
pub fn generate_cert(certs_dir: &Path, domain: &str, extra_names: &[&str]) -> Result<CertFiles> {
    let valid = |n: &str| {
        !n.is_empty()
            && n.len() <= 253
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'*'))
    };
    for n in std::iter::once(&domain).chain(extra_names) {
        if !valid(n) {
            return Err(ServerError::Invalid {
                what: "certificate name",
                detail: format!("{n:?} is not a DNS name"),
            });
        }
    }
    let cert_err = |e: rcgen::Error| ServerError::Cert {
        domain: domain.to_string(),
        detail: e.to_string(),
    };
    let mut names = vec![domain.to_string(), format!("*.{domain}")];
    for n in extra_names {
        if !names.iter().any(|m| m == n) {
            names.push(n.to_string());
        }
    }
    let mut params = rcgen::CertificateParams::new(names).map_err(cert_err)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, domain);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "pfe test server");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = rcgen::KeyPair::generate().map_err(cert_err)?;
    let cert = params.self_signed(&key).map_err(cert_err)?;
    fs::create_dir_all(certs_dir).map_err(io_err("cannot create directory", certs_dir))?;
    let files = CertFiles {
        cert: certs_dir.join(format!("{domain}.crt")),
        key: certs_dir.join(format!("{domain}.key")),
    };
    write_private(&files.key, key.serialize_pem().as_bytes())?;
    fs::write(&files.cert, cert.pem()).map_err(io_err("cannot write", &files.cert))?;
    Ok(files)
}

/// A Lua string literal for `s`.
pub use pfe_core::value::lua_string;

/// The option assignments (name, Lua literal) a config needs to run as an
/// unprivileged, loopback-only server inside `state` on `ports`: process
/// options, paths, every listening port and interface, and logging to
/// `prosody.log` at level info. Put them in the global section (see
/// [`apply_overrides`]).
pub fn loopback_overrides(state: &StateDir, ports: &Ports) -> Vec<(String, String)> {
    let path = |p: PathBuf| lua_string(&p.to_string_lossy());
    let port = |p: u16| format!("{{ {p} }}");
    let lo = || "{ \"127.0.0.1\" }".to_string();
    vec![
        ("run_as_root".into(), "true".into()),
        ("daemonize".into(), "false".into()),
        ("pidfile".into(), path(state.pid_path())),
        ("data_path".into(), path(state.data_dir())),
        ("certificates".into(), path(state.certs_dir())),
        (
            "log".into(),
            format!(
                "{{ {{ levels = {{ min = \"info\" }}, to = \"file\", filename = {} }} }}",
                path(state.log_path())
            ),
        ),
        ("interfaces".into(), lo()),
        ("local_interfaces".into(), lo()),
        ("http_interfaces".into(), lo()),
        ("https_interfaces".into(), lo()),
        ("component_interfaces".into(), lo()),
        ("c2s_ports".into(), port(ports.c2s)),
        ("c2s_direct_tls_ports".into(), port(ports.c2s_direct_tls)),
        ("s2s_ports".into(), port(ports.s2s)),
        ("http_ports".into(), port(ports.http)),
        ("https_ports".into(), port(ports.https)),
        ("component_ports".into(), port(ports.component)),
    ]
}

/// Insert `KEY = VALUE` lines into the global section of `config`: before
/// its first `VirtualHost`/`Component` line, so that they are global
/// options and later global assignments in `config` cannot override them.
pub fn apply_overrides(config: &str, overrides: &[(String, String)]) -> String {
    insert_global(config, "loopback overrides (pfe::server)", overrides)
}

/// Like [`apply_overrides`], under the comment `-- <comment>`.
pub fn insert_global(config: &str, comment: &str, overrides: &[(String, String)]) -> String {
    let block: String = std::iter::once(format!("-- {comment}\n"))
        .chain(overrides.iter().map(|(k, v)| format!("{k} = {v}\n")))
        .collect();
    let mut out = String::with_capacity(config.len() + block.len() + 1);
    let mut inserted = false;
    for line in config.split_inclusive('\n') {
        let t = line.trim_start();
        if !inserted && (t.starts_with("VirtualHost") || t.starts_with("Component")) {
            out.push_str(&block);
            inserted = true;
        }
        out.push_str(line);
    }
    if !inserted {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&block);
    }
    out
}

/// How to start Prosody.
#[derive(Clone, Debug)]
pub struct StartOptions {
    /// The `prosody` executable (default: `prosody` from PATH).
    pub program: PathBuf,
    /// Where Prosody's stdout/stderr are appended (and the log tail is read).
    pub log_path: PathBuf,
    /// The address that must accept connections (normally c2s).
    pub wait_addr: SocketAddr,
    /// Further addresses that must accept connections (e.g. the HTTP port
    /// when the config enables mod_http); empty by default.
    pub also_wait: Vec<SocketAddr>,
    /// How long to wait for it.
    pub timeout: Duration,
    /// Ask the kernel to SIGKILL Prosody if the *thread* that spawned it
    /// dies (PR_SET_PDEATHSIG): a net for killed test processes. Only set
    /// it when the spawning thread outlives the handle.
    pub kill_with_parent: bool,
    /// Extra environment variables for Prosody (e.g. the secrets a config
    /// reads as `ENV_NAME`).
    pub env: Vec<(String, String)>,
}

impl StartOptions {
    /// Log to `state`'s `prosody.log`, wait up to 20 s for `ports.c2s`.
    pub fn new(state: &StateDir, ports: &Ports) -> Self {
        StartOptions {
            program: PathBuf::from("prosody"),
            log_path: state.log_path(),
            wait_addr: ports.c2s_addr(),
            also_wait: Vec::new(),
            timeout: Duration::from_secs(20),
            kill_with_parent: false,
            env: Vec::new(),
        }
    }
}

/// The last `n` lines of the file at `path` (reads at most 64 KiB).
pub fn log_tail(path: &Path, n: usize) -> String {
    let Ok(mut f) = fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Whether Prosody logged a failure to bind a port after byte `from`.
fn port_failure_logged(path: &Path, from: u64) -> bool {
    let Ok(mut f) = fs::File::open(path) else {
        return false;
    };
    if f.seek(SeekFrom::Start(from)).is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let _ = f.take(4 * 1024 * 1024).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).contains("Failed to open server port")
}

fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(250)).is_ok()
}

/// A running Prosody; dropping it stops the process (SIGTERM, then SIGKILL
/// after 5 s) and reaps it.
#[derive(Debug)]
pub struct Prosody {
    child: Option<Child>,
    config: PathBuf,
    log_path: PathBuf,
    addr: SocketAddr,
}

/// Spawn `prosody --config <config_path> -F` and wait until
/// `opts.wait_addr` accepts TCP connections. On early exit or timeout the
/// process is stopped and the error carries the log tail.
pub fn start(config_path: &Path, opts: &StartOptions) -> Result<Prosody> {
    if !config_path.is_file() {
        return Err(ServerError::Invalid {
            what: "config path",
            detail: format!("{} is not a file", config_path.display()),
        });
    }
    if accepts(opts.wait_addr) {
        return Err(ServerError::PortBusy {
            addr: opts.wait_addr,
        });
    }
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&opts.log_path)
        .map_err(io_err("cannot open log", &opts.log_path))?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let log2 = log
        .try_clone()
        .map_err(io_err("cannot open log", &opts.log_path))?;
    let mut cmd = Command::new(&opts.program);
    cmd.envs(opts.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd.arg("--config")
        .arg(config_path)
        .arg("-F")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2));
    if opts.kill_with_parent {
        // SAFETY: prctl is async-signal-safe; nothing else runs in the hook.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = cmd.spawn().map_err(|source| ServerError::Spawn {
        program: opts.program.display().to_string(),
        source,
    })?;
    let mut p = Prosody {
        child: Some(child),
        config: config_path.to_path_buf(),
        log_path: opts.log_path.clone(),
        addr: opts.wait_addr,
    };
    let started = Instant::now();
    loop {
        if let Some(status) = p.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            p.child = None;
            return Err(ServerError::EarlyExit {
                status,
                addr: opts.wait_addr,
                log: opts.log_path.clone(),
                log_tail: log_tail(&opts.log_path, 30),
            });
        }
        if accepts(opts.wait_addr) && opts.also_wait.iter().all(|a| accepts(*a)) {
            if port_failure_logged(&opts.log_path, log_start) {
                p.terminate();
                return Err(ServerError::PortConflict {
                    log: opts.log_path.clone(),
                    log_tail: log_tail(&opts.log_path, 30),
                });
            }
            return Ok(p);
        }
        if started.elapsed() > opts.timeout {
            p.terminate();
            return Err(ServerError::StartTimeout {
                addr: opts.wait_addr,
                waited: started.elapsed(),
                log: opts.log_path.clone(),
                log_tail: log_tail(&opts.log_path, 30),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Prosody {
    /// The process id (0 once stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The config file it runs.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The address that was waited for.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        log_tail(&self.log_path, n)
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stop (SIGTERM, SIGKILL after 5 s) and return the exit status.
    pub fn stop(mut self) -> Option<ExitStatus> {
        self.terminate()
    }

    fn terminate(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: plain syscall on our own, not yet reaped, child.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(s)) => return Some(s),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Create account `jid` (`user@host`) with `password` using
/// `prosodyctl --config <config_path> register` (works whether or not the
/// server runs). The password goes through stdin, not the command line.
pub fn create_user(config_path: &Path, jid: &str, password: &str) -> Result<()> {
    let (user, host) = jid.split_once('@').ok_or_else(|| ServerError::Invalid {
        what: "JID",
        detail: format!("{jid:?} is not user@host"),
    })?;
    if user.is_empty() || host.is_empty() || host.contains('/') {
        return Err(ServerError::Invalid {
            what: "JID",
            detail: format!("{jid:?} is not a bare user@host"),
        });
    }
    if password.is_empty() || password.contains(['\n', '\r']) {
        return Err(ServerError::Invalid {
            what: "password",
            detail: "must be non-empty and on one line".into(),
        });
    }
    register_account(
        Path::new("prosodyctl"),
        config_path,
        user,
        host,
        password,
        Duration::from_secs(30),
        |_| {},
    )
}

/// `prosodyctl --config FILE register USER HOST` (`prosodyctl` may be any
/// path) with the password on stdin, never on a command line; `setup` can
/// adjust the command (environment). Replaces an existing account's
/// password. Killed after `timeout`; the password never appears in errors.
pub fn register_account(
    prosodyctl: &Path,
    config_path: &Path,
    user: &str,
    host: &str,
    password: &str,
    timeout: Duration,
    setup: impl FnOnce(&mut Command),
) -> Result<()> {
    let mut cmd = Command::new(prosodyctl);
    cmd.arg("--config")
        .arg(config_path)
        .args(["register", user, host])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    setup(&mut cmd);
    let mut child = cmd.spawn().map_err(|source| ServerError::Spawn {
        program: prosodyctl.display().to_string(),
        source,
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        // Prompted twice: "Enter new password" and "Retype new password".
        let _ = stdin.write_all(format!("{password}\n{password}\n").as_bytes());
    }
    let out = wait_with_timeout(child, timeout)?;
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return Err(ServerError::Prosodyctl {
            action: format!("register {user} {host}"),
            status: out.status.to_string(),
            output: text.trim().replace(password, "***"),
        });
    }
    Ok(())
}

fn wait_with_timeout(mut child: Child, timeout: Duration) -> Result<std::process::Output> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ServerError::Prosodyctl {
                    action: "register".into(),
                    status: format!("killed after {timeout:?}"),
                    output: "prosodyctl did not finish (waiting for input, or the database unreachable?)".into(),
                });
            }
        }
    }
    child
        .wait_with_output()
        .map_err(|source| ServerError::Spawn {
            program: "prosodyctl".into(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lua_strings_are_escaped() {
        assert_eq!(lua_string("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }

    #[test]
    fn overrides_go_before_the_first_host() {
        let cfg = "modules_enabled = { \"ping\" }\nVirtualHost \"localhost\"\nComponent \"c.localhost\" \"muc\"\n";
        let out = apply_overrides(
            cfg,
            &[("a".into(), "1".into()), ("b".into(), "{ 2 }".into())],
        );
        let a = out.find("a = 1\n").unwrap();
        let b = out.find("b = { 2 }\n").unwrap();
        let vh = out.find("VirtualHost").unwrap();
        assert!(out.starts_with("modules_enabled"));
        assert!(a < vh && b < vh);
        assert_eq!(out.matches("a = 1").count(), 1);
        let only_global = apply_overrides("x = 1", &[("a".into(), "1".into())]);
        assert!(only_global.ends_with("a = 1\n"), "{only_global}");
    }

    #[test]
    fn state_dir_cert_and_overrides() {
        let tmp = tempfile::tempdir().unwrap();
        let s = StateDir::create(tmp.path().join("st")).unwrap();
        assert!(s.data_dir().is_dir() && s.certs_dir().is_dir());
        let mode = fs::metadata(s.data_dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let files = generate_cert(&s.certs_dir(), "localhost", &["conference.localhost"]).unwrap();
        let key_mode = fs::metadata(&files.key).unwrap().permissions().mode() & 0o777;
        assert_eq!(key_mode, 0o600);
        let pem = fs::read_to_string(&files.cert).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(generate_cert(&s.certs_dir(), "bad name", &[]).is_err());

        let ports = Ports::pick().unwrap();
        let all = [
            ports.c2s,
            ports.c2s_direct_tls,
            ports.s2s,
            ports.http,
            ports.https,
            ports.component,
        ];
        let mut sorted = all.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 6);
        assert!(all.iter().all(|p| ![5222, 5269, 5280, 5281].contains(p)));
        let o = loopback_overrides(&s, &ports);
        let get = |k: &str| {
            o.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("run_as_root"), "true");
        assert_eq!(get("c2s_ports"), format!("{{ {} }}", ports.c2s));
        assert_eq!(get("interfaces"), "{ \"127.0.0.1\" }");
        assert!(get("data_path").contains("/st/data"));
        assert!(get("log").contains("prosody.log"));
    }

    #[test]
    fn start_reports_missing_config_and_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let s = StateDir::create(tmp.path()).unwrap();
        let ports = Ports::pick().unwrap();
        let err = start(&s.config_path(), &StartOptions::new(&s, &ports)).unwrap_err();
        assert!(matches!(err, ServerError::Invalid { .. }), "{err}");
        fs::write(s.log_path(), "one\ntwo\nthree\n").unwrap();
        assert_eq!(log_tail(&s.log_path(), 2), "two\nthree");
    }
}
