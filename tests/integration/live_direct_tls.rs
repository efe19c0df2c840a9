//! Direct TLS (XEP-0368) out of the box: the stock standard/production
//! config opens c2s_direct_tls_ports = { 5223 }; a real Prosody 13 started
//! from it (every port remapped to a free loopback port) answers direct TLS
//! with the host's certificate, and `pfe check` finds the port in the
//! config it resolves and sees XEP-0368 working. PROSODY_C2S_DIRECT_TLS_PORT=off
//! removes the listener: Prosody listens on no port beyond the others and
//! `pfe check` reports XEP-0368 missing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use pfe_core::catalog::Catalog;
use pfe_core::engine::{self, Build, Request};
use pfe_run::server::{self, CertFiles, Ports, Prosody, ServerError, StartOptions, StateDir};
use pfe_testkit::pfe;

const DOMAIN: &str = "localhost";
const USER: &str = "alice@localhost";
const PASSWORD: &str = "correct horse";
const COMPONENT_SECRET: &str = "pfe-test-gateway-secret";

/// standard/production with the loopback overrides of the live tests,
/// except that direct TLS is left to the catalog (`vars` are the caller's
/// environment, as an operator would set them).
fn request(state: &StateDir, ports: &Ports, vars: &[(&str, String)]) -> Request {
    let mut req = Request::new("standard", "production");
    req.domain = Some(DOMAIN.into());
    req.sets = server::loopback_overrides(state, ports)
        .into_iter()
        .filter(|(k, _)| k != "daemonize" && k != "c2s_direct_tls_ports")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    // No traffic off this machine: the anti-spam feature's default RTBL is remote.
    req.sets.push("anti_spam_services={}".into());
    req.env = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    req
}

fn build(req: &Request) -> Build {
    build_in(None, req)
}

/// [`build`] with an operator's catalog tree laid over the built-in one.
fn build_in(dir: Option<&Path>, req: &Request) -> Build {
    let catalog = match dir {
        Some(d) => Catalog::load(Some(d)).unwrap_or_else(|e| panic!("{e:?}")),
        None => Catalog::builtin(),
    };
    engine::build(&catalog, req).unwrap_or_else(|e| panic!("{e:?}"))
}

/// The TCP ports process `pid` listens on (its socket inodes matched
/// against /proc/net/tcp{,6} entries in state LISTEN).
fn listening(pid: u32) -> BTreeSet<u16> {
    let mut inodes = BTreeSet::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        if let Ok(t) = std::fs::read_link(e.path()) {
            let t = t.to_string_lossy().into_owned();
            if let Some(i) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                inodes.insert(i.to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                let port = f[1].rsplit(':').next().unwrap();
                out.insert(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    out
}

struct Server {
    prosody: Prosody,
    build: Build,
    ports: Ports,
    cert: CertFiles,
    state: StateDir,
    /// The operator's catalog tree (`--config-dir`), if any.
    config_dir: Option<PathBuf>,
    _tmp: tempfile::TempDir,
}

impl Server {
    /// Start standard/production with PROSODY_C2S_DIRECT_TLS_PORT = `off`
    /// or a free port (the remap of 5223); `local` is a local.cfg.lua for
    /// an operator's catalog tree. Retried on a port race.
    fn start(off: bool, local: Option<&dyn Fn(&Ports) -> String>) -> Server {
        pfe_testkit::start_retrying(|| Server::try_start(off, local))
    }

    fn try_start(
        off: bool,
        local: Option<&dyn Fn(&Ports) -> String>,
    ) -> Result<Server, ServerError> {
        let tmp = tempfile::tempdir().expect("tempdir");
        let state = StateDir::create(tmp.path().join("state"))?;
        let ports = Ports::pick()?;
        let config_dir = local.map(|f| {
            let d = tmp.path().join("catalog");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("local.cfg.lua"), f(&ports)).unwrap();
            d
        });
        let cert = server::generate_cert(
            &state.certs_dir(),
            DOMAIN,
            &["conference.localhost", "upload.localhost"],
        )?;
        let build = build_in(
            config_dir.as_deref(),
            &request(&state, &ports, &Server::vars(off, &ports)),
        );
        let config = state.write_config(&build.config)?;
        server::create_user(&config, USER, PASSWORD)?;
        let mut opts = StartOptions::new(&state, &ports);
        opts.kill_with_parent = true;
        // Credential("component_secret"), as systemd or the container pass it.
        let creds = tmp.path().join("credentials");
        std::fs::create_dir_all(&creds).unwrap();
        std::fs::write(creds.join("component_secret"), COMPONENT_SECRET).unwrap();
        opts.env = vec![(
            "CREDENTIALS_DIRECTORY".into(),
            creds.to_string_lossy().into_owned(),
        )];
        // Every listener the config opens, so that counting them (and
        // checking them) never races Prosody's start under load.
        opts.also_wait = vec![
            Ports::addr(ports.https),
            Ports::addr(ports.http),
            Ports::addr(ports.s2s),
        ];
        if !off {
            opts.also_wait.push(Ports::addr(ports.c2s_direct_tls));
        }
        // An operator's local.cfg.lua here defines a component: its port
        // opens when the component host activates, after c2s, so a check
        // started on c2s alone could find it refused.
        if config_dir.is_some() {
            opts.also_wait.push(Ports::addr(ports.component));
        }
        let prosody = server::start(&config, &opts)?;
        Ok(Server {
            prosody,
            build,
            ports,
            cert,
            state,
            config_dir,
            _tmp: tmp,
        })
    }

    fn vars(off: bool, ports: &Ports) -> Vec<(&'static str, String)> {
        let v = if off {
            "off".to_string()
        } else {
            ports.c2s_direct_tls.to_string()
        };
        vec![("PROSODY_C2S_DIRECT_TLS_PORT", v)]
    }

    /// `pfe check --json` with the same variables: pfe resolves the same
    /// config, so it finds the direct TLS port itself (no --alt-port).
    fn check(&self, off: bool) -> serde_json::Value {
        let mut c = pfe();
        c.args([
            "check",
            "--server",
            &self.ports.c2s_addr().to_string(),
            "--jid",
            USER,
            "--profile",
            "standard",
            "--env",
            "production",
            "--ca-file",
            &self.cert.cert.to_string_lossy(),
            "--http",
            &format!("127.0.0.1:{}", self.ports.https),
            "--https",
            "--json",
        ])
        .env("PFE_CHECK_PASSWORD", PASSWORD)
        .env("PFE_CHECK_COMPONENT_SECRET", COMPONENT_SECRET);
        if let Some(d) = &self.config_dir {
            c.arg("--config-dir").arg(d);
        }
        for (k, v) in Server::vars(off, &self.ports) {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "pfe check failed:\n{stdout}\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.prosody.log_tail(30)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.state.log_path()).unwrap_or_default()
    }
}

/// The Direct TLS requirement of the Core category.
fn direct_tls_row(json: &serde_json::Value) -> serde_json::Value {
    let core = &json["compliance"][0];
    assert_eq!(core["category"], "Core", "{json}");
    core["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["spec"] == "XEP-0368")
        .unwrap_or_else(|| panic!("no XEP-0368 in {core}"))
        .clone()
}

#[test]
fn the_stock_config_opens_5223_with_the_host_certificate() {
    // Nothing remapped: what an operator gets.
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path().join("s")).unwrap();
    let ports = Ports::pick().unwrap();
    let stock = build(&request(&state, &ports, &[]));
    assert_eq!(
        stock.ports("c2s_direct_tls_ports"),
        [5223],
        "{}",
        stock.config
    );
    // The DNS plan follows the config.
    let out = pfe()
        .args([
            "dns",
            "standard",
            "production",
            "--domain",
            "example.org",
            "--host-address",
            "192.0.2.1",
        ])
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{plan}");
    assert!(
        plan.lines()
            .any(|l| l.starts_with("_xmpps-client._tcp.example.org.") && l.contains(" 5223 ")),
        "{plan}"
    );
    let out = pfe()
        .args([
            "dns",
            "standard",
            "production",
            "--domain",
            "example.org",
            "--host-address",
            "192.0.2.1",
        ])
        .env("PROSODY_C2S_DIRECT_TLS_PORT", "off")
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{plan}");
    assert!(!plan.contains("_xmpps-client"), "{plan}");
}

#[test]
fn stock_standard_production_answers_direct_tls_and_check_sees_it() {
    let s = Server::start(false, None);
    let port = s.ports.c2s_direct_tls;
    assert_eq!(s.build.ports("c2s_direct_tls_ports"), [port]);
    let out = Command::new("prosodyctl")
        .arg("--config")
        .arg(s.state.config_path())
        .args(["check", "config"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("All checks passed"),
        "{text}"
    );
    assert!(
        s.log().contains(&format!(
            "Activated service 'c2s_direct_tls' on [127.0.0.1]:{port}"
        )),
        "{}",
        s.log()
    );
    assert!(listening(s.prosody.pid()).contains(&port));

    let json = s.check(false);
    assert_eq!(json["ok"], true, "{json}");
    let row = direct_tls_row(&json);
    assert_eq!(row["status"], "seen", "{row}");
    let evidence = row["evidence"].as_str().unwrap_or_default();
    assert!(evidence.contains("TLS"), "{row}");
    eprintln!("direct TLS: {evidence}");
    let summary: Vec<String> = json["compliance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c["category"], c["reached"], c["missing_for_next"]
            )
        })
        .collect();
    eprintln!("compliance:\n{}", summary.join("\n"));
    // Direct TLS no longer keeps any level: only what the stock profile
    // does not define (an external component, XEP-0114) and what a client
    // cannot see.
    for c in json["compliance"].as_array().unwrap() {
        let missing = c["missing_for_next"].to_string();
        assert!(!missing.contains("XEP-0368"), "{c}");
    }
}

#[test]
fn off_removes_the_direct_tls_listener() {
    let s = Server::start(true, None);
    assert!(s.build.ports("c2s_direct_tls_ports").is_empty());
    assert!(
        !s.build.config.contains("c2s_direct_tls_ports"),
        "{}",
        s.build.config
    );
    let log = s.log();
    assert!(log.contains("Activated service 'c2s'"), "{log}");
    // Prosody's own record: the service exists, with nothing to listen on.
    assert!(
        log.contains("Activated service 'c2s_direct_tls' on no ports"),
        "{log}"
    );
    // Prosody listens on exactly the other ports: no direct TLS anywhere.
    let got = listening(s.prosody.pid());
    let want: BTreeSet<u16> = [s.ports.c2s, s.ports.s2s, s.ports.http, s.ports.https]
        .into_iter()
        .collect();
    assert_eq!(got, want);

    let json = s.check(true);
    let row = direct_tls_row(&json);
    assert_eq!(row["status"], "missing", "{row}");
    assert!(
        row["why"]
            .as_str()
            .unwrap_or_default()
            .contains("opens no direct-TLS port"),
        "{row}"
    );
}

/// What the stock profile leaves out for CS2023: an external component
/// (XEP-0114, Core). With one defined by the operator (local.cfg.lua, the
/// way a gateway is added), `pfe check` of the stock standard/production
/// config sees the component handshake and direct TLS and claims levels.
#[test]
fn with_an_external_component_the_stock_config_reaches_advanced() {
    let local = |ports: &Ports| {
        format!(
            "component_ports = {{ {} }}\n\
             component_interfaces = {{ \"127.0.0.1\" }}\n\
             Component \"gateway.localhost\"\n    \
             component_secret = Credential(\"component_secret\")\n",
            ports.component
        )
    };
    let s = Server::start(false, Some(&local));
    let json = s.check(false);
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(direct_tls_row(&json)["status"], "seen");
    let reached = |cat: &str| {
        json["compliance"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["category"] == cat)
            .unwrap_or_else(|| panic!("no {cat}: {json}"))
            .clone()
    };
    let summary: Vec<String> = json["compliance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c["category"], c["reached"], c["missing_for_next"]
            )
        })
        .collect();
    eprintln!("compliance with a component:\n{}", summary.join("\n"));
    let core = reached("Core");
    assert_eq!(core["reached"], "advanced", "{core}");
    let web = reached("Web");
    assert_eq!(web["reached"], "advanced", "{web}");
}
