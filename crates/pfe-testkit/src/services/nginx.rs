//! nginx (Debian packages `nginx`, and `libnginx-mod-stream` for `stream {}`)
//! on loopback.
//!
//! The caller gives the `server { … }` block(s) as text; the harness includes
//! them into a minimal `http {}` config whose every path (pid, error and
//! access logs, `client_body_temp_path`, `proxy_temp_path`, fastcgi/uwsgi/
//! scgi temp paths) is in its temp dir, and runs
//! `nginx -g 'daemon off;' -p <dir> -c <dir>/nginx.conf -e <dir>/logs/error.log`
//! (one master, one worker).
//!
//! In the blocks, these tokens are replaced before nginx sees them:
//!
//! - `@PORT@`: the harness's main port (required: the block must listen on
//!   `127.0.0.1:@PORT@`);
//! - `@PORT2@` … `@PORT9@`: extra free ports, leased when they appear;
//! - `@DIR@`: the temp dir (for certificates, a document root…).
//!
//! Readiness (and [`Nginx::reload_with`]'s completion) is proved on an
//! internal control server on one more loopback port, which answers
//! `GET /pfe-testkit-generation` with the config generation: the caller's
//! blocks never see it.

use super::{
    Context, Daemon, Error, PortLease, Probe, Result, StartError, find_binary, lease_port,
    loopback, retry_on_clash, wait_ready, write_file,
};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";
const GENERATION_PATH: &str = "/pfe-testkit-generation";

/// What to put in nginx's config. `http` is included inside `http { }`;
/// `stream`, when given, inside a `stream { }` (loading the stream module).
#[derive(Debug, Clone, Default)]
pub struct NginxConfig {
    pub http: String,
    pub stream: Option<String>,
}

impl NginxConfig {
    /// Only `http` blocks.
    pub fn http(block: &str) -> NginxConfig {
        NginxConfig {
            http: block.to_string(),
            stream: None,
        }
    }
}

/// A running nginx; killed (master and worker) and its files removed on drop.
pub struct Nginx {
    daemon: Daemon,
    /// `@PORT@` is key 1, `@PORTn@` key n.
    ports: BTreeMap<u8, PortLease>,
    control: PortLease,
    generation: u64,
    nginx: PathBuf,
    dir: TempDir,
}

impl Nginx {
    /// nginx serving `http_block` (one or more `server { … }` blocks, or any
    /// http-context text) inside `http { }`.
    pub fn start(http_block: &str) -> Result<Nginx> {
        Nginx::start_with(NginxConfig::http(http_block))
    }

    pub fn start_with(config: NginxConfig) -> Result<Nginx> {
        let nginx = find_binary("nginx", "nginx")?;
        check_tokens(&config)?;
        if config.stream.is_some() && !Path::new(STREAM_MODULE).is_file() {
            return Err(Error::new(format!(
                "a stream {{}} block needs {STREAM_MODULE}: install the Debian package \
                 libnginx-mod-stream"
            )));
        }
        let dir = tempfile::Builder::new()
            .prefix("pfe-nginx-")
            .tempdir()
            .context(|| "cannot create a temp dir for nginx".into())?;
        for sub in ["logs", "tmp"] {
            let p = dir.path().join(sub);
            std::fs::create_dir(&p).context(|| format!("cannot create {}", p.display()))?;
        }
        let d = dir.path().to_path_buf();
        let (daemon, ports, control) = retry_on_clash("nginx", || {
            let mut ports = BTreeMap::new();
            lease_tokens(&config, &mut ports)?;
            let control = lease_port(false)?;
            write_config(&d, &config, &ports, control.port, 1)?;
            let mut cmd = Command::new(&nginx);
            cmd.args(["-g", "daemon off;", "-p"])
                .arg(&d)
                .arg("-c")
                .arg(d.join("nginx.conf"))
                .arg("-e")
                .arg(d.join("logs/error.log"));
            // SIGTERM on the test process's death: the master then stops its
            // worker, which a SIGKILL of the master alone would leave behind.
            let mut daemon = Daemon::spawn(
                "nginx",
                cmd,
                &d.join("logs/nginx.out"),
                vec![d.join("logs/error.log")],
                libc::SIGTERM,
            )?;
            wait_ready(&mut daemon, &["[emerg]"], || {
                generation_probe(control.port, 1)
            })?;
            Ok::<_, StartError>((daemon, ports, control))
        })?;
        Ok(Nginx {
            daemon,
            ports,
            control,
            generation: 1,
            nginx,
            dir,
        })
    }

    /// The port `@PORT@` stood for.
    pub fn port(&self) -> u16 {
        self.ports[&1].port
    }

    /// The port `@PORTn@` stood for (`n` = 1 is `@PORT@`), if it was used.
    pub fn port_n(&self, n: u8) -> Option<u16> {
        self.ports.get(&n).map(|l| l.port)
    }

    /// `127.0.0.1:<port()>`.
    pub fn addr(&self) -> SocketAddr {
        loopback(self.port())
    }

    /// `http://127.0.0.1:<port()>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// Swaps in new blocks with a real reload (SIGHUP to the master): checks
    /// the new config with `nginx -t` first (an error leaves the old one
    /// running), then returns once new connections get the new config (the
    /// new worker answers and the old one has stopped accepting).
    /// Ports already leased keep their numbers; new `@PORTn@` get new ones.
    pub fn reload_with(&mut self, http_block: &str) -> Result<()> {
        self.reload_with_config(NginxConfig::http(http_block))
    }

    pub fn reload_with_config(&mut self, config: NginxConfig) -> Result<()> {
        check_tokens(&config)?;
        let d = self.dir.path().to_path_buf();
        lease_tokens(&config, &mut self.ports).map_err(|e| match e {
            StartError::Fatal(e) => e,
            StartError::Clash(m) => Error::new(m),
        })?;
        let generation = self.generation + 1;
        let saved = save_config(&d)?;
        write_config(&d, &config, &self.ports, self.control.port, generation)?;
        let mut test = Command::new(&self.nginx);
        test.args(["-t", "-q", "-p"])
            .arg(&d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .arg("-e")
            .arg(d.join("logs/error.log"));
        let out = test.output().context(|| "cannot run nginx -t".into())?;
        if !out.status.success() {
            restore_config(&d, saved)?;
            return Err(Error::new(format!(
                "nginx -t refused the new config ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let master = self.daemon.pid();
        let old_workers = children_of(master);
        // SAFETY: kill(2) of our own unreaped child.
        if unsafe { libc::kill(master as libc::pid_t, libc::SIGHUP) } != 0 {
            return Err(Error::new(format!(
                "cannot send SIGHUP to nginx (pid {master}): {}",
                io::Error::last_os_error()
            )));
        }
        let deadline = Instant::now() + super::START_TIMEOUT;
        loop {
            if let Some(status) = self.daemon.exit_status() {
                return Err(Error::new(format!(
                    "nginx exited ({status}) while reloading.\n{}",
                    self.daemon.log_tail()
                )));
            }
            let last = match generation_probe(self.control.port, generation) {
                Probe::Ready => break,
                Probe::NotYet(why) => why,
            };
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "nginx did not take the new config within {:?} (last: {last}).\n{}",
                    super::START_TIMEOUT,
                    self.daemon.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // An old worker closes its listening sockets when it starts shutting
        // down, and retitles itself "… is shutting down" just before.
        while Instant::now() < deadline {
            let accepting = old_workers.iter().any(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|c| !String::from_utf8_lossy(&c).contains("shutting down"))
                    .unwrap_or(false)
            });
            if !accepting {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(20));
        self.generation = generation;
        Ok(())
    }

    /// The temp dir (`nginx.conf`, `server.conf`, `logs/`, `tmp/`); `@DIR@`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn error_log_path(&self) -> PathBuf {
        self.dir.path().join("logs/error.log")
    }

    pub fn access_log_path(&self) -> PathBuf {
        self.dir.path().join("logs/access.log")
    }

    /// The tail of nginx's logs, for assertion messages.
    pub fn log_tail(&self) -> String {
        self.daemon.log_tail()
    }

    /// The master's pid.
    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }
}

/// Every `@PORT@`-ish token in the config, as port numbers 1..=9.
fn port_tokens(config: &NginxConfig) -> Vec<u8> {
    let text = format!(
        "{}\n{}",
        config.http,
        config.stream.as_deref().unwrap_or("")
    );
    let mut out = vec![];
    if text.contains("@PORT@") {
        out.push(1);
    }
    for n in 2..=9u8 {
        if text.contains(&format!("@PORT{n}@")) {
            out.push(n);
        }
    }
    out
}

fn check_tokens(config: &NginxConfig) -> Result<()> {
    if !port_tokens(config).contains(&1) {
        return Err(Error::new(
            "Nginx: the config must use @PORT@ (e.g. `listen 127.0.0.1:@PORT@;`): \
             it is the harness's main port",
        ));
    }
    Ok(())
}

fn lease_tokens(
    config: &NginxConfig,
    ports: &mut BTreeMap<u8, PortLease>,
) -> std::result::Result<(), StartError> {
    for n in port_tokens(config) {
        if let std::collections::btree_map::Entry::Vacant(v) = ports.entry(n) {
            v.insert(lease_port(false)?);
        }
    }
    Ok(())
}

fn substitute(text: &str, dir: &Path, ports: &BTreeMap<u8, PortLease>) -> String {
    let mut s = text.replace("@DIR@", &dir.display().to_string());
    for (n, lease) in ports {
        let token = if *n == 1 {
            "@PORT@".to_string()
        } else {
            format!("@PORT{n}@")
        };
        s = s.replace(&token, &lease.port.to_string());
    }
    s
}

fn write_config(
    d: &Path,
    config: &NginxConfig,
    ports: &BTreeMap<u8, PortLease>,
    control: u16,
    generation: u64,
) -> Result<()> {
    write_file(&d.join("server.conf"), substitute(&config.http, d, ports))?;
    let (load_stream, stream) = match &config.stream {
        Some(s) => {
            write_file(&d.join("stream.conf"), substitute(s, d, ports))?;
            (
                format!("load_module {STREAM_MODULE};\n"),
                format!("stream {{\n    include {}/stream.conf;\n}}\n", d.display()),
            )
        }
        None => (String::new(), String::new()),
    };
    // As root, workers would drop to `nobody`, who may not read what a test
    // puts in @DIR@ (0600 keys from TestCa, say) nor write root's temp
    // paths: keep them root.
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root root;\n"
    } else {
        ""
    };
    let mime = if Path::new("/etc/nginx/mime.types").is_file() {
        "    include /etc/nginx/mime.types;\n"
    } else {
        ""
    };
    write_file(
        &d.join("nginx.conf"),
        format!(
            "# Written by pfe-testkit for one test run.\n\
             {load_stream}{user}\
             worker_processes 1;\n\
             pid {d}/nginx.pid;\n\
             lock_file {d}/nginx.lock;\n\
             error_log {d}/logs/error.log info;\n\
             events {{\n    worker_connections 512;\n}}\n\
             http {{\n\
             {mime}\
             \x20   default_type application/octet-stream;\n\
             \x20   types_hash_max_size 2048;\n\
             \x20   access_log {d}/logs/access.log;\n\
             \x20   client_body_temp_path {d}/tmp/client_body;\n\
             \x20   proxy_temp_path {d}/tmp/proxy;\n\
             \x20   fastcgi_temp_path {d}/tmp/fastcgi;\n\
             \x20   uwsgi_temp_path {d}/tmp/uwsgi;\n\
             \x20   scgi_temp_path {d}/tmp/scgi;\n\
             \x20   # pfe-testkit's control server (readiness, reload generation).\n\
             \x20   server {{\n\
             \x20       listen 127.0.0.1:{control};\n\
             \x20       access_log off;\n\
             \x20       location = {GENERATION_PATH} {{ return 200 \"{generation}\"; }}\n\
             \x20       location / {{ return 404; }}\n\
             \x20   }}\n\
             \x20   include {d}/server.conf;\n\
             }}\n\
             {stream}",
            d = d.display(),
        ),
    )
}

type SavedConfig = Vec<(PathBuf, Option<Vec<u8>>)>;

fn save_config(d: &Path) -> Result<SavedConfig> {
    ["nginx.conf", "server.conf", "stream.conf"]
        .iter()
        .map(|f| {
            let p = d.join(f);
            Ok((p.clone(), std::fs::read(&p).ok()))
        })
        .collect()
}

fn restore_config(_d: &Path, saved: SavedConfig) -> Result<()> {
    for (p, content) in saved {
        match content {
            Some(c) => write_file(&p, c)?,
            None => {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    Ok(())
}

fn generation_probe(control: u16, generation: u64) -> Probe {
    match http_get(loopback(control), GENERATION_PATH) {
        Ok(r) if r.status == 200 && r.body == generation.to_string().as_bytes() => Probe::Ready,
        Ok(r) => Probe::NotYet(format!(
            "control server answered {} {:?}, want generation {generation}",
            r.status,
            String::from_utf8_lossy(&r.body)
        )),
        Err(e) => Probe::NotYet(format!("control server: {e}")),
    }
}

/// Pids whose parent is `pid` (from /proc).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let after = &s[s.rfind(')')? + 1..];
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

// ---- a tiny HTTP/1.1 client ------------------------------------------------

/// A parsed HTTP response (chunked bodies decoded).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET path` over HTTP/1.1 with `Connection: close` (5 s timeouts).
pub fn http_get(addr: SocketAddr, path: &str) -> io::Result<HttpResponse> {
    http_exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// Sends `request` (raw bytes: a whole HTTP/1.1 request, which should ask
/// for `Connection: close`), reads until the server closes, and parses.
pub fn http_exchange(addr: SocketAddr, request: &[u8]) -> io::Result<HttpResponse> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(request)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
}

/// Parses a whole HTTP/1.x response.
pub fn parse_response(raw: &[u8]) -> io::Result<HttpResponse> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers in the response"))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|_| status_line.starts_with("HTTP/1."))
        .ok_or_else(|| bad(&format!("bad status line {status_line:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            Some((n.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    } else if let Some(len) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chunked_and_sized_bodies() {
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"abcde");
        assert_eq!(r.header("x-a"), Some("b"));
        let r = parse_response(b"HTTP/1.0 404 Not Found\r\nContent-Length: 2\r\n\r\nnoXX").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &b"no"[..]));
        assert!(parse_response(b"SSH-2.0\r\n\r\n").is_err());
    }

    #[test]
    fn port_tokens_are_required_and_found() {
        assert!(check_tokens(&NginxConfig::http("server { listen 80; }")).is_err());
        let c = NginxConfig {
            http: "listen 127.0.0.1:@PORT@; listen 127.0.0.1:@PORT3@;".into(),
            stream: Some("listen 127.0.0.1:@PORT2@;".into()),
        };
        assert_eq!(port_tokens(&c), vec![1, 2, 3]);
    }
}
