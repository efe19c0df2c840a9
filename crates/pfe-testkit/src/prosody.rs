//! A container-like environment on loopback, `pfe entrypoint` as a child
//! process, and a throw-away PostgreSQL from Debian's binaries.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use pfe_run::server::{self, Ports, ServerError, StateDir};

use crate::{INSTALL_HINT, command as pfe, pfe_bin, require_tool};

/// The environment of a container on loopback: the domain, ports through
/// the catalog's PROSODY_*_PORT variables, everything else that makes the
/// config run unprivileged inside `root` through PFE_SET_* (the entrypoint's
/// equivalent of --set), no network beyond loopback (no RTBL), PATH.
pub fn container_env(root: &Path, ports: &Ports, domain: &str) -> BTreeMap<String, String> {
    let state = StateDir::create(root).expect("state dir");
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("PATH", std::env::var("PATH").unwrap_or_default());
    set("PROSODY_DOMAIN", domain.into());
    set("PROSODY_C2S_PORT", ports.c2s.to_string());
    set(
        "PROSODY_C2S_DIRECT_TLS_PORT",
        ports.c2s_direct_tls.to_string(),
    );
    set("PROSODY_S2S_PORT", ports.s2s.to_string());
    set("PROSODY_HTTP_PORT", ports.http.to_string());
    set("PROSODY_HTTPS_PORT", ports.https.to_string());
    set("PROSODY_ANTISPAM_RTBL", "none".into());
    set("PFE_RUNTIME_DIR", root.display().to_string());
    let covered = [
        "c2s_ports",
        "c2s_direct_tls_ports",
        "s2s_ports",
        "http_ports",
        "https_ports",
        "log",
        "daemonize",
    ];
    let mut n = 0;
    for (k, v) in server::loopback_overrides(&state, ports) {
        if covered.contains(&k.as_str()) {
            continue;
        }
        n += 1;
        set(&format!("PFE_SET_{n}"), format!("{k}={v}"));
    }
    env
}

/// Self-signed certificate for `domain` and its components in `root/certs`.
pub fn certificate(root: &Path, domain: &str) -> PathBuf {
    let names: Vec<String> = ["conference", "upload", "proxy"]
        .iter()
        .map(|s| format!("{s}.{domain}"))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    server::generate_cert(&root.join("certs"), domain, &names)
        .expect("certificate")
        .cert
}

/// `pfe entrypoint` running as a child (it execs Prosody, so the child *is*
/// Prosody once started). Dropping it stops it.
pub struct Entrypoint {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Entrypoint {
    /// Starts `pfe entrypoint ARGS` with exactly `env`, output to `log`.
    pub fn spawn(env: &BTreeMap<String, String>, args: &[&str], log: &Path) -> Entrypoint {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let mut cmd = Command::new(pfe_bin());
        cmd.arg("entrypoint")
            .args(args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        // A killed test must not leave Prosody behind (kept across exec).
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Entrypoint {
            child: Some(cmd.spawn().expect("spawn pfe entrypoint")),
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether it exited, and how.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Polls `pfe healthcheck` until it says healthy. Err(log) if the
    /// process exits or the deadline passes.
    pub fn wait_healthy(
        &mut self,
        c2s: u16,
        domain: &str,
        within: Duration,
    ) -> Result<Duration, String> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.try_exit() {
                return Err(format!(
                    "pfe entrypoint exited ({status}):\n{}",
                    self.log_text()
                ));
            }
            let ok = pfe()
                .args([
                    "healthcheck",
                    "--server",
                    &format!("127.0.0.1:{c2s}"),
                    "--domain",
                    domain,
                    "--timeout",
                    "1000",
                ])
                .output()
                .expect("pfe healthcheck")
                .status
                .success();
            if ok {
                return Ok(start.elapsed());
            }
            if start.elapsed() > within {
                return Err(format!(
                    "not healthy within {within:?}:\n{}",
                    self.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then SIGKILL after 10 s; the exit status.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Entrypoint {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether Prosody failed to bind a port (another process took it between
/// picking and binding): the caller retries with fresh ports.
pub fn port_clash(log: &str) -> bool {
    log.contains("Failed to open server port") || log.contains("Address already in use")
}

/// Runs `cmd args` as the postgres user when we are root (PostgreSQL
/// refuses to run as root), else as ourselves.
fn as_postgres(program: &Path, args: &[&str]) -> Command {
    if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new(require_tool("runuser"));
        c.args(["-u", "postgres", "--"]).arg(program).args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    }
}

fn run(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{text}",
        out.status
    );
    text
}

/// Debian's PostgreSQL binaries (/usr/lib/postgresql/<major>/bin), newest.
pub fn postgres_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is not installed (/usr/lib/postgresql: {e}); {INSTALL_HINT}")
        })
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b).unwrap_or_else(|| {
        panic!("no PostgreSQL server binaries under /usr/lib/postgresql; {INSTALL_HINT}")
    })
}

/// A PostgreSQL cluster on 127.0.0.1 in a temporary directory, with a role
/// and database for Prosody (password authentication over TCP). Dropping it
/// stops the server.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: String,
}

impl Postgres {
    pub fn start() -> Postgres {
        let bin = postgres_bin();
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        fs::create_dir_all(&sock).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        if unsafe { libc::geteuid() } == 0 {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(chown.success(), "chown postgres failed");
        }
        let d = data.to_str().unwrap();
        run(
            as_postgres(
                &bin.join("initdb"),
                &[
                    "-D",
                    d,
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-instructions",
                ],
            ),
            "initdb",
        );
        let mut last = String::new();
        for _ in 0..3 {
            let port = server::free_ports(1).expect("port")[0];
            let opts = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off",
                sock.display()
            );
            let log = dir.path().join("postgres.log");
            let out = as_postgres(
                &bin.join("pg_ctl"),
                &[
                    "-D",
                    d,
                    "-l",
                    log.to_str().unwrap(),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    &opts,
                    "start",
                ],
            )
            .output()
            .expect("pg_ctl");
            if out.status.success() {
                let pg = Postgres {
                    dir,
                    bin,
                    port,
                    database: "prosody".into(),
                    user: "prosody".into(),
                    password: "pfe-Test-pw-42".into(),
                };
                pg.psql(&format!(
                    "CREATE ROLE {} LOGIN PASSWORD '{}'",
                    pg.user, pg.password
                ));
                pg.psql(&format!(
                    "CREATE DATABASE {} OWNER {}",
                    pg.database, pg.user
                ));
                return pg;
            }
            last = format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                fs::read_to_string(dir.path().join("postgres.log")).unwrap_or_default()
            );
        }
        panic!("PostgreSQL did not start:\n{last}");
    }

    /// Runs SQL as the superuser over the Unix socket; returns the output
    /// (unaligned, tuples only).
    pub fn psql(&self, sql: &str) -> String {
        let sock = self.dir.path().join("sock");
        run(
            as_postgres(
                &self.bin.join("psql"),
                &[
                    "-h",
                    sock.to_str().unwrap(),
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-AtX",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    sql,
                ],
            ),
            "psql",
        )
    }

    /// Like [`Self::psql`] in Prosody's database.
    pub fn query(&self, sql: &str) -> String {
        let sock = self.dir.path().join("sock");
        run(
            as_postgres(
                &self.bin.join("psql"),
                &[
                    "-h",
                    sock.to_str().unwrap(),
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    "-d",
                    &self.database,
                    "-AtX",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    sql,
                ],
            ),
            "psql",
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = as_postgres(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    }
}

/// Fails loudly when Prosody is not installed (the test command installs it).
pub fn require_prosody() {
    let ok = Command::new("prosodyctl")
        .arg("about")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(ok, "prosodyctl is missing: {INSTALL_HINT}");
}

/// Runs `start` (which picks fresh ports each time) until Prosody did not
/// lose a port race, at most three times: a port picked free can be taken
/// before Prosody binds it. Any other failure panics with its message.
pub fn start_retrying<T>(mut start: impl FnMut() -> Result<T, ServerError>) -> T {
    require_prosody();
    for attempt in 1.. {
        match start() {
            Ok(s) => return s,
            Err(
                e @ (ServerError::PortBusy { .. }
                | ServerError::PortConflict { .. }
                | ServerError::StartTimeout { .. }),
            ) if attempt < 3 => eprintln!("retrying Prosody start: {e}"),
            Err(e) => panic!("{e}"),
        }
    }
    unreachable!()
}
