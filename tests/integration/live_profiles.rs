//! Every shipped profile × {production, development}: generate → prosodyctl
//! check config → start Prosody 13 on loopback → `pfe check` (the library
//! for every pair, the CLI for a few) must see every promise on the wire:
//! XMPP features, the HTTP endpoints (WebSocket, BOSH, host-meta, an
//! XEP-0363 upload) and the security promises of the resolved config.
//! Negative cases: a module switched off with --set, a server weaker than
//! its config promises, hostile servers. Real Prosody, real sessions.

use pfe_testkit::pfe;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pfe_core::catalog::{Catalog, CheckLocation};
use pfe_core::engine::{self, Build, Request};
use pfe_probe::check::{self, HttpTarget, Level, Outcome, Report, Target};
use pfe_probe::xmpp::{ClientConfig, TlsMode, TlsVerify};
use pfe_run::server::{self, CertFiles, Ports, Prosody, ServerError, StartOptions, StateDir};

const DOMAIN: &str = "localhost";
const USER: &str = "alice@localhost";
const PASSWORD: &str = "correct horse";

/// A config for `profile`/`env`, made to run in `state` on `ports`.
fn build(profile: &str, env: &str, state: &StateDir, ports: &Ports, extra: &[&str]) -> Build {
    let mut req = Request::new(profile, env);
    req.domain = Some(DOMAIN.into());
    req.sets = server::loopback_overrides(state, ports)
        .into_iter()
        .filter(|(k, _)| k != "daemonize") // deprecated in Prosody 13: prosodyctl flags it
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    // No traffic off this machine: the anti-spam feature's default RTBL is remote.
    req.sets.push("anti_spam_services={}".into());
    req.sets.extend(extra.iter().map(|s| s.to_string()));
    engine::build(&Catalog::builtin(), &req).unwrap_or_else(|e| panic!("{profile}/{env}: {e:?}"))
}

/// A running Prosody for one profile/environment (fields drop in order:
/// Prosody stops before its directory goes).
struct Server {
    prosody: Prosody,
    build: Build,
    ports: Ports,
    cert: CertFiles,
    state: StateDir,
    _tmp: tempfile::TempDir,
}

impl Server {
    /// Start `profile`/`env` with `extra` --set overrides, account USER.
    /// Retried (fresh ports) if a port was taken between picking and binding.
    fn start(profile: &str, env: &str, extra: &[&str]) -> Server {
        Server::start_with(profile, env, extra, &[])
    }

    /// As [`Server::start`], with more accounts (password PASSWORD) created
    /// before Prosody starts: `prosodyctl register` beside a running
    /// Prosody shares its SQLite database and can fail under load.
    fn start_with(profile: &str, env: &str, extra: &[&str], users: &[&str]) -> Server {
        pfe_testkit::require_prosody();
        for attempt in 1.. {
            match Server::try_start(profile, env, extra, users) {
                Ok(s) => return s,
                Err(
                    e @ (ServerError::PortBusy { .. }
                    | ServerError::PortConflict { .. }
                    | ServerError::StartTimeout { .. }),
                ) if attempt < 3 => eprintln!("retrying Prosody start: {e}"),
                Err(e) => panic!("{profile}/{env}: {e}"),
            }
        }
        unreachable!()
    }

    fn try_start(
        profile: &str,
        env: &str,
        extra: &[&str],
        users: &[&str],
    ) -> Result<Server, ServerError> {
        let tmp = tempfile::tempdir().expect("tempdir");
        let state = StateDir::create(tmp.path().join("state"))?;
        let ports = Ports::pick()?;
        let cert = server::generate_cert(
            &state.certs_dir(),
            DOMAIN,
            &[
                "conference.localhost",
                "upload.localhost",
                "proxy.localhost",
            ],
        )?;
        let build = build(profile, env, &state, &ports, extra);
        let config = state.write_config(&build.config)?;
        server::create_user(&config, USER, PASSWORD)?;
        for user in users {
            server::create_user(&config, user, PASSWORD)?;
        }
        let mut opts = StartOptions::new(&state, &ports);
        opts.kill_with_parent = true;
        // services/turn's entries read ENV_PROSODY_TURN_SECRET.
        opts.env = vec![("PROSODY_TURN_SECRET".into(), "pfe-test-turn-secret".into())];
        opts.also_wait = vec![Ports::addr(ports.c2s_direct_tls)];
        if build.config.contains("\"http\"") {
            opts.also_wait.push(Ports::addr(ports.http));
        }
        let prosody = server::start(&config, &opts)?;
        Ok(Server {
            prosody,
            build,
            ports,
            cert,
            state,
            _tmp: tmp,
        })
    }

    fn c2s(&self) -> String {
        self.ports.c2s_addr().to_string()
    }

    /// The library's view: STARTTLS session, HTTP(S) on the loopback
    /// ports, direct TLS probed.
    fn target(&self, https: bool) -> Target {
        let mut cfg = ClientConfig::new(
            self.c2s(),
            USER,
            PASSWORD,
            TlsMode::StartTls,
            TlsVerify::CaFile(self.cert.cert.clone()),
        );
        cfg.timeouts.overall = Duration::from_secs(20);
        let mut t = Target::new(cfg);
        t.http = Some(HttpTarget {
            addr: format!(
                "127.0.0.1:{}",
                if https {
                    self.ports.https
                } else {
                    self.ports.http
                }
            ),
            host: DOMAIN.into(),
            tls: https.then(|| TlsVerify::CaFile(self.cert.cert.clone())),
        });
        t.direct_tls_addr = Some(format!("127.0.0.1:{}", self.ports.c2s_direct_tls));
        t
    }

    fn inspect(&self, promises: &[check::Promise], https: bool) -> Report {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(check::inspect(&self.target(https), promises))
            .unwrap_or_else(|e| panic!("{e}\n{}", self.prosody.log_tail(30)))
    }

    /// `pfe check` for `profile`/`env` against this server (CA-verified).
    fn cli_check(&self, profile: &str, env: &str, extra: &[&str]) -> std::process::Output {
        let mut c = pfe();
        c.args([
            "check",
            "--server",
            &self.c2s(),
            "--jid",
            USER,
            "--profile",
            profile,
            "--env",
            env,
            "--ca-file",
            &self.cert.cert.to_string_lossy(),
            "--http",
            &format!("127.0.0.1:{}", self.ports.https),
            "--https",
            "--alt-port",
            &self.ports.c2s_direct_tls.to_string(),
        ])
        .args(extra)
        .env("PFE_CHECK_PASSWORD", PASSWORD);
        c.output().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- prosody log tail ---\n{}", self.prosody.log_tail(40));
        }
    }
}

fn failed(report: &Report) -> Vec<String> {
    report
        .rows
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Fail { missing } => Some(format!(
                "{} {}: {missing}",
                r.promise.feature, r.promise.xep
            )),
            _ => None,
        })
        .collect()
}

fn passed(report: &Report, feature: &str) -> Vec<String> {
    report
        .rows
        .iter()
        .filter(|r| r.promise.feature == feature && matches!(r.outcome, Outcome::Pass { .. }))
        .map(|r| {
            r.promise
                .extra
                .get("probe")
                .cloned()
                .unwrap_or_else(|| r.promise.xep.clone())
        })
        .collect()
}

fn level(report: &Report, category: &str) -> Option<Level> {
    report
        .compliance
        .iter()
        .find(|s| s.category == category)
        .unwrap_or_else(|| panic!("no {category} in the compliance summary"))
        .reached
}

#[derive(Clone, Copy, PartialEq)]
enum Cli {
    None,
    Json,
    Text,
}

fn live(profile: &str, env: &str, https: bool, cli: Cli) {
    let s = Server::start(profile, env, &[]);
    let config = s.state.config_path();
    let out = Command::new("prosodyctl")
        .arg("--config")
        .arg(&config)
        .args(["check", "config"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("All checks passed"),
        "{profile}/{env}: prosodyctl check config:\n{text}"
    );

    let build = &s.build;
    let promises = check::promises(build);
    assert!(!promises.is_empty(), "{profile}/{env} promises nothing");
    let report = s.inspect(&promises, https);
    eprintln!("{profile}/{env}:\n{}", report.render_text());
    let f = failed(&report);
    assert!(
        f.is_empty(),
        "{profile}/{env}: promises broken:\n{}",
        f.join("\n")
    );
    // Every enabled feature that declares checks shows at least one on the wire.
    for f in &build.resolution.order {
        let mine: Vec<_> = report
            .rows
            .iter()
            .filter(|r| &r.promise.feature == f)
            .collect();
        let checkable = mine
            .iter()
            .any(|r| !matches!(r.outcome, Outcome::NotCheckable { .. }));
        if checkable {
            assert!(
                !passed(&report, f).is_empty(),
                "{profile}/{env}: nothing of {f} seen"
            );
        }
    }
    // The HTTP promises are probed, not waved through.
    let http: Vec<_> = report
        .rows
        .iter()
        .filter(|r| r.promise.location == "http")
        .collect();
    for r in &http {
        assert!(
            matches!(r.outcome, Outcome::Pass { .. }),
            "{profile}/{env}: {} {} {:?}",
            r.promise.feature,
            r.promise.xep,
            r.outcome
        );
    }
    let web = ["web/bosh", "web/websocket", "web/upload", "web/http"];
    let web_on: Vec<&&str> = web
        .iter()
        .filter(|w| build.resolution.order.iter().any(|f| f == **w))
        .collect();
    for w in &web_on {
        assert!(
            http.iter().any(|r| r.promise.feature == **w),
            "{profile}/{env}: {w} has no HTTP row"
        );
    }
    if https && web_on.contains(&&"web/bosh") {
        let bosh = report
            .rows
            .iter()
            .find(|r| r.promise.xep == "XEP-0206")
            .unwrap();
        let Outcome::Pass { evidence } = &bosh.outcome else {
            unreachable!()
        };
        assert!(evidence.contains("mechanisms["), "{evidence}");
    }
    // The security promises of the resolved config, all kept.
    let transport = passed(&report, check::SECURITY_TRANSPORT);
    assert_eq!(
        transport,
        [
            "starttls_required",
            "no_plain_before_tls",
            "cleartext_auth_refused"
        ],
        "{profile}/{env}"
    );
    let registration = passed(&report, check::SECURITY_REGISTRATION);
    let open = build
        .evaluated
        .global()
        .options
        .get("allow_registration")
        .and_then(|o| o.value.as_bool())
        == Some(true);
    if env == "production" {
        assert!(!open);
        assert_eq!(registration, ["registration_closed"], "{profile}/{env}");
    } else {
        assert_eq!(registration.is_empty(), open, "{profile}/{env}");
    }
    // XEP-0479: no shipped profile defines an external component, so
    // XEP-0114 is missing and no category is claimed at any level.
    assert_eq!(level(&report, "Core"), None, "{profile}/{env}");
    let core = &report.compliance[0];
    assert!(
        core.missing_for_next
            .iter()
            .any(|m| m.starts_with("XEP-0114") && m.ends_with("missing")),
        "{:?}",
        core.missing_for_next
    );
    for c in &report.compliance {
        assert_eq!(c.reached, None, "{profile}/{env} {}", c.category);
    }

    if cli != Cli::None {
        let args: &[&str] = if cli == Cli::Json { &["--json"] } else { &[] };
        let out = s.cli_check(profile, env, args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{profile}/{env}: pfe check failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if cli == Cli::Json {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(json["ok"], true);
            assert_eq!(json["summary"]["fail"], 0);
            // The catalog's promises, then the operator rows (served
            // certificates, TLS versions, ...).
            let results: Vec<_> = json["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["extra"]["probe"] != check::live::LIVE_PROBE)
                .collect();
            assert_eq!(results.len(), promises.len(), "{stdout}");
            for r in results {
                if r["where"] == "http" || r["where"] == "security" {
                    assert_eq!(r["result"], "pass", "{r}");
                }
            }
            // Without PROSODY_CONTACT_EMAIL a public environment (production)
            // gets a warning naming it, which does not fail the check.
            let abuse: Vec<_> = json["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| {
                    r["xep"] == "XEP-0157" && r["extra"]["probe"] == check::live::LIVE_PROBE
                })
                .collect();
            assert_eq!(abuse.len(), 1, "{stdout}");
            let want = if env == "production" {
                "warn"
            } else {
                "not_checkable"
            };
            assert_eq!(abuse[0]["result"], want, "{}", abuse[0]);
            if env == "production" {
                assert!(
                    abuse[0]["warning"]
                        .as_str()
                        .unwrap()
                        .contains("set PROSODY_CONTACT_EMAIL"),
                    "{}",
                    abuse[0]
                );
                assert_eq!(json["summary"]["warn"], 1, "{stdout}");
            }
            // The URLs the server handed out answer from here.
            for r in json["results"].as_array().unwrap() {
                if r["xep"] == check::urls::SPEC {
                    assert_eq!(r["result"], "pass", "{r}");
                }
            }
            let core = &json["compliance"][0];
            assert_eq!(core["category"], "Core");
            assert_eq!(core["reached"], serde_json::Value::Null, "{core}");
            assert!(json["session"]["timings_ms"]["session"].is_u64());
        } else {
            for needle in [
                "security/transport",
                "STARTTLS is required before authentication",
                "XMPP Compliance Suites 2023",
                " 0 fail",
            ] {
                assert!(stdout.contains(needle), "{needle}:\n{stdout}");
            }
        }
    }
    s.prosody.log_tail(1); // keep `s` alive to here
    let log = std::fs::read_to_string(s.state.log_path()).unwrap_or_default();
    assert!(
        !log.contains("Error loading module") && !log.contains("Error initializing module"),
        "{profile}/{env}: module errors:\n{log}"
    );
}

#[test]
fn minimal_production() {
    live("minimal", "production", true, Cli::Json);
}
#[test]
fn minimal_development() {
    live("minimal", "development", true, Cli::None);
}
#[test]
fn standard_production() {
    live("standard", "production", true, Cli::Json);
}
#[test]
fn standard_development() {
    live("standard", "development", true, Cli::Text);
}
#[test]
fn enterprise_production() {
    live("enterprise", "production", true, Cli::None);
}
#[test]
fn enterprise_development() {
    live("enterprise", "development", true, Cli::None);
}
#[test]
fn development_production() {
    live("development", "production", true, Cli::None);
}
#[test]
fn development_development() {
    live("development", "development", true, Cli::Json);
}

/// XEP-0410 is advertised per room: with a public room on the MUC
/// service, the check asks it, and the standard profile reaches IM Advanced.
#[test]
fn a_public_room_shows_muc_self_ping_and_im_advanced() {
    use pfe_probe::xmpp::{Client, Element};
    // The standard profile makes new rooms private; this one is listed.
    let s = Server::start(
        "standard",
        "development",
        &["conference:muc_room_default_public=true"],
    );
    let promises = check::promises(&s.build);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(async {
        let mut cfg = s.target(false).client;
        cfg.resource = Some("occupant".into());
        let mut occupant = Client::login(cfg, None).await.unwrap();
        let room = "lobby@conference.localhost";
        occupant
            .send(
                &Element::new("presence", "jabber:client")
                    .with_attr("to", format!("{room}/alice"))
                    .with_child(Element::new("x", "http://jabber.org/protocol/muc")),
            )
            .await
            .unwrap();
        // Our own presence back: the room exists.
        loop {
            let el = occupant.recv().await.unwrap();
            if el.name == "presence" && el.attr("from") == Some(&format!("{room}/alice")) {
                break;
            }
        }
        let report = check::inspect(&s.target(false), &promises).await.unwrap();
        occupant.close().await;
        report
    });
    let im = report
        .compliance
        .iter()
        .find(|c| c.category == "IM")
        .unwrap();
    let self_ping = im
        .requirements
        .iter()
        .find(|r| r.spec == "XEP-0410")
        .unwrap();
    assert!(
        matches!(&self_ping.status, check::Status::Seen { evidence } if evidence.contains("pfe-check-")),
        "{self_ping:?}"
    );
    // IM is still not claimed: Core lacks XEP-0114 (no external component).
    assert_eq!(im.reached, None, "{:?}", im.missing_for_next);
    assert!(
        im.missing_for_next
            .iter()
            .any(|m| m == "the Core category at Core level"),
        "{:?}",
        im.missing_for_next
    );
}

/// (feature, XEP) of every failed row.
fn failed_pairs(report: &Report) -> BTreeSet<(String, String)> {
    report
        .rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail { .. }))
        .map(|r| (r.promise.feature.clone(), r.promise.xep.clone()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(f, x)| (f.to_string(), x.to_string()))
        .collect()
}

/// One module switched off with --set fails exactly its feature's promises,
/// the library and `pfe check` name the XEP.
fn module_off(set: &str, expected: &[(&str, &str)]) {
    let s = Server::start("standard", "development", &[set]);
    // The promises are the profile's, not the server's --set.
    let promises = check::promises(&build("standard", "development", &s.state, &s.ports, &[]));
    let report = s.inspect(&promises, true);
    assert_eq!(failed_pairs(&report), pairs(expected), "{set}");
    let out = s.cli_check("standard", "development", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for (feature, xep) in expected {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("FAIL") && l.contains(feature) && l.contains(xep)),
            "{feature} {xep}:\n{stdout}"
        );
    }
}

#[test]
fn mam_off_fails_xep_0313() {
    module_off(
        "modules_disabled={\"mam\"}",
        &[
            ("messaging/archive", "XEP-0313"),
            ("messaging/archive", "XEP-0359"),
        ],
    );
}

#[test]
fn cloud_notify_off_fails_xep_0357() {
    module_off(
        "modules_disabled={\"cloud_notify\"}",
        &[("mobile/push", "XEP-0357")],
    );
}

#[test]
fn muc_component_off_fails_xep_0045() {
    module_off(
        "conference:enabled=false",
        &[
            ("collaboration/muc", "XEP-0045"),
            ("collaboration/muc", "XEP-0421"),
            ("collaboration/muc", "XEP-0313"),
        ],
    );
}

/// A server weaker than its config promises: encryption optional, PLAIN in
/// cleartext, registration open. The production promises fail, each
/// naming what the server did; the account the probe managed to register
/// is removed again.
#[test]
fn weakened_server_breaks_the_security_promises() {
    let s = Server::start(
        "standard",
        "production",
        &[
            "c2s_require_encryption=false",
            "allow_unencrypted_plain_auth=true",
            "allow_registration=true",
            "registration_invite_only=false",
        ],
    );
    let promises = check::promises(&build("standard", "production", &s.state, &s.ports, &[]));
    let report = s.inspect(&promises, false);
    let security: Vec<(String, String)> = report
        .rows
        .iter()
        // The security promises, not the operator rows (client URLs).
        .filter(|r| {
            r.promise.location == "security" && r.promise.extra["probe"] != check::live::LIVE_PROBE
        })
        .map(|r| {
            (
                r.promise.extra["probe"].clone(),
                match &r.outcome {
                    Outcome::Fail { missing } => missing.clone(),
                    other => panic!("{}: {other:?}", r.promise.extra["probe"]),
                },
            )
        })
        .collect();
    let msg = |probe: &str| {
        security
            .iter()
            .find(|(p, _)| p == probe)
            .map(|(_, m)| m.as_str())
            .unwrap_or_else(|| panic!("no {probe} row"))
    };
    assert!(msg("starttls_required").contains("does not require STARTTLS"));
    assert!(msg("no_plain_before_tls").contains("PLAIN is offered on the cleartext stream"));
    assert!(msg("cleartext_auth_refused").contains("SCRAM challenge"));
    let reg = msg("registration_closed");
    assert!(
        reg.contains("registration is OPEN") && reg.contains("removed again"),
        "{reg}"
    );
    // Nothing left behind: the only account is the test's own.
    let out = Command::new("prosodyctl")
        .arg("--config")
        .arg(s.state.config_path())
        .args(["shell", "user", "list", DOMAIN])
        .output()
        .unwrap();
    let users = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{users}");
    assert!(
        users.contains(USER) && users.contains("Showing all 1 users"),
        "{users}"
    );
    // Every other promise still holds.
    assert!(
        report
            .rows
            .iter()
            .filter(|r| r.promise.location != "security")
            .all(|r| !matches!(r.outcome, Outcome::Fail { .. })),
        "{}",
        failed(&report).join("\n")
    );
}

/// A listener that accepts and then sends `reply` (or nothing) forever.
fn hostile(reply: Option<&'static [u8]>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut s in l.incoming().flatten() {
            if let Some(r) = reply {
                let _ = s.write_all(r);
            }
            held.push(s);
        }
    });
    addr
}

fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    addr
}

/// `pfe check` against a server that sends garbage, or nothing: a clear
/// error on stderr, exit 1, within the deadline.
#[test]
fn check_cli_gives_up_on_hostile_servers_within_the_timeout() {
    for (reply, expect) in [
        (
            Some(&b"\x16\x03\x01\x00garbage<<>>&&\r\n"[..]),
            "stream header: malformed XML",
        ),
        (None, "timed out after"),
    ] {
        let addr = hostile(reply);
        let t = Instant::now();
        let out = pfe()
            .args([
                "check",
                "--server",
                &addr,
                "--jid",
                USER,
                "--password",
                "x",
                "--insecure",
                "--http",
                &closed_port(),
                "--timeout",
                "1500",
            ])
            .output()
            .unwrap();
        let took = t.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expect), "{expect}: {stderr}");
        assert!(took < Duration::from_secs(4), "{took:?}: {stderr}");
        let t = Instant::now();
        pfe()
            .args(["healthcheck", "--server", &addr, "--timeout", "800"])
            .assert()
            .code(1)
            .stderr(predicates::str::contains("unhealthy:"));
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }
}

/// `pfe check` and `pfe healthcheck` as scripts call them.
#[test]
fn check_and_healthcheck_commands() {
    let s = Server::start("standard", "production", &[]);
    let addr = s.c2s();
    let ca = s.cert.cert.to_string_lossy().into_owned();
    // The same server does not keep an enterprise profile's promises (proxy65, TURN...).
    let out = s.cli_check("enterprise", "production", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL"), "{stdout}");
    // No trust decision, no check.
    pfe()
        .args(["check", "--server", &addr, "--jid", USER, "--password", "x"])
        .assert()
        .code(2);
    // A wrong password is an error, not a report.
    pfe()
        .args([
            "check",
            "--server",
            &addr,
            "--jid",
            USER,
            "--password",
            "wrong",
            "--insecure",
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("not-authorized"));
    // Direct TLS session; the STARTTLS port for the cleartext probes.
    let out = pfe()
        .args([
            "check",
            "--server",
            &format!("127.0.0.1:{}", s.ports.c2s_direct_tls),
            "--direct-tls",
            "--alt-port",
            &s.ports.c2s.to_string(),
            "--jid",
            USER,
            "--ca-file",
            &ca,
            "--http",
            &format!("127.0.0.1:{}", s.ports.https),
            "--https",
            "--json",
        ])
        .env("PFE_CHECK_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["session"]["tls_mode"], "direct_tls");

    pfe()
        .args(["healthcheck", "--server", &addr, "--timeout", "3000"])
        .assert()
        .success()
        .stdout(predicates::str::contains("healthy"));
    pfe()
        .args([
            "healthcheck",
            "--server",
            &addr,
            "--ca-file",
            &ca,
            "--timeout",
            "3000",
        ])
        .assert()
        .success();
    pfe()
        .args([
            "healthcheck",
            "--server",
            &format!("127.0.0.1:{}", s.ports.c2s_direct_tls),
            "--direct-tls",
            "--insecure",
        ])
        .assert()
        .success();
    // The certificate is checked: a CA that did not sign it fails.
    let other = tempfile::tempdir().unwrap();
    let wrong = server::generate_cert(other.path(), DOMAIN, &[]).unwrap();
    pfe()
        .args([
            "healthcheck",
            "--server",
            &addr,
            "--tls",
            "--ca-file",
            &wrong.cert.to_string_lossy(),
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("TLS"));
    pfe()
        .args(["healthcheck", "--server", &addr, "--tls"])
        .assert()
        .code(2);
    drop(s);
    pfe()
        .args(["healthcheck", "--server", &addr, "--timeout", "1000"])
        .assert()
        .code(1);
}

/// `pfe run` in a fresh state directory stores SCRAM-SHA-256 hashes
/// (remembered in <state>/password_hash); a state directory with earlier
/// data and no such record keeps Prosody's SHA-1.
#[test]
fn pfe_run_uses_scram_sha_256_for_fresh_state_dirs() {
    pfe_testkit::require_prosody();
    let tmp = tempfile::tempdir().unwrap();
    let run = |state: &PathBuf, expect: &str, new_user: bool| {
        let ports = Ports::pick().unwrap();
        let bin = assert_cmd::cargo::cargo_bin("pfe");
        let mut cmd = Command::new(bin);
        cmd.args(["run", "minimal", "development", "--state-dir"])
            .arg(state)
            .args([
                "--c2s-port",
                &ports.c2s.to_string(),
                "--http-port",
                &ports.http.to_string(),
            ]);
        if new_user {
            cmd.args(["--user", "bob@localhost:pw-bob"]);
        }
        let mut child = cmd
            .env("PROSODY_LOG_LEVEL", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while std::net::TcpStream::connect(ports.c2s_addr()).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "pfe run did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = pfe()
            .args([
                "check",
                "--server",
                &ports.c2s_addr().to_string(),
                "--jid",
                "bob@localhost",
                "--password",
                "pw-bob",
                "--insecure",
                "--profile",
                "minimal",
                "--env",
                "development",
                "--json",
            ])
            .output()
            .unwrap();
        // Stop the Prosody that `pfe run` became (our own child, by its pid).
        // SAFETY: plain syscall on our own, not yet reaped, child.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let status = child.wait().unwrap();
        let mut err = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        assert!(err.contains(&format!("password_hash {expect}")), "{err}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
        });
        assert_eq!(json["session"]["mechanism"], format!("SCRAM-{expect}"));
        use std::os::unix::process::ExitStatusExt;
        assert!(
            status.success() || status.signal() == Some(libc::SIGTERM),
            "{status:?}"
        );
    };
    let fresh = tmp.path().join("fresh");
    run(&fresh, "SHA-256", true);
    assert_eq!(
        std::fs::read_to_string(fresh.join("password_hash")).unwrap(),
        "SHA-256\n"
    );
    run(&fresh, "SHA-256", false); // remembered, and bob still logs in
    // Data from before pfe remembered the choice: SHA-1 stays.
    let old = tmp.path().join("old");
    std::fs::create_dir_all(old.join("data").join("localhost")).unwrap();
    run(&old, "SHA-1", true);
}

const BOB: &str = "bob@localhost";

impl Server {
    /// The library's view with the second account (the server must have
    /// been started with BOB) and HTTPS.
    fn target2(&self) -> Target {
        let mut t = self.target(true);
        let mut second = t.client.clone();
        second.jid = BOB.into();
        t.second = Some(second);
        t
    }

    fn inspect_target(&self, t: &Target) -> Report {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let promises = check::promises(&self.build);
        rt.block_on(check::inspect(t, &promises))
            .unwrap_or_else(|e| panic!("{e}\n{}", self.prosody.log_tail(30)))
    }
}

fn behaviour(report: &Report, key: &str) -> Result<String, String> {
    report
        .behaviours
        .get(key)
        .cloned()
        .unwrap_or_else(|| panic!("no behaviour {key}: {:?}", report.behaviours))
}

/// The check's account as the server's admin: only admins may create
/// account invites (the catalog keeps `allow_user_invites = false`).
const ADMIN: &str = "admins={\"alice@localhost\"}";

/// Every behaviour probe passes on a stock standard/development server
/// (whose admin runs the check).
#[test]
fn behaviours_pass_on_a_stock_standard_server() {
    let s = Server::start_with("standard", "development", &[ADMIN], &[BOB]);
    let t = s.target2();
    let report = s.inspect_target(&t);
    eprintln!("{}\n{:#?}", report.render_text(), report.behaviours);
    for key in [
        "offline",
        "caps",
        "private",
        "pep",
        "publish_options",
        "carbons",
        "blocking",
        "muc",
        "occupant_id",
        "self_ping",
        "muc_mam",
        "invite",
        "sm",
        "mam",
        "csi",
        "push",
        "bookmarks",
        "bookmarks_legacy",
        "vcard",
        "avatar",
        "invites",
        "sm_sasl2",
        "ping",
        "version",
        "time",
        "last",
        "adhoc",
        "register",
        "register_open",
        "rosterver",
        "vcard4",
        "stanza_id",
        "report",
        "sasl2",
        "bind2",
        "fast",
        "channel_binding",
        "upload_slot",
    ] {
        assert!(
            behaviour(&report, key).is_ok(),
            "{key}: {:?}",
            behaviour(&report, key)
        );
    }
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    assert!(failed(&report).is_empty(), "{}", failed(&report).join("\n"));
    // The upload row includes the CORS headers web clients need.
    let upload = report
        .rows
        .iter()
        .find(|r| r.promise.xep == "XEP-0363" && r.promise.location == CheckLocation::Http)
        .expect("an upload row");
    let Outcome::Pass { evidence } = &upload.outcome else {
        panic!("{:?}", upload.outcome)
    };
    assert!(
        evidence.contains("preflight") && evidence.contains("Access-Control-Allow-Origin"),
        "{evidence}"
    );
    // Rows proven by the new probes rest on behaviour.
    for (xep, location) in [
        ("XEP-0402", CheckLocation::AccountDisco),
        ("XEP-0048", CheckLocation::AccountDisco),
        ("XEP-0398", CheckLocation::AccountDisco),
        ("XEP-0054", CheckLocation::ServerDisco),
        ("XEP-0401", CheckLocation::StreamPreAuth),
        ("XEP-0198", CheckLocation::Sasl2Inline),
    ] {
        let row = report
            .rows
            .iter()
            .find(|r| r.promise.xep == xep && r.promise.location == location)
            .unwrap_or_else(|| panic!("no {xep} row"));
        assert_eq!(row.proof, check::Proof::Behaviour, "{xep}");
    }
    // No row of a stock standard/development check rests on advertisement
    // alone any more.
    let advertised: Vec<String> = report
        .rows
        .iter()
        .filter(|r| r.proof == check::Proof::Advertisement)
        .map(|r| format!("{} {:?}", r.promise.xep, r.promise.location))
        .collect();
    assert!(advertised.is_empty(), "advertisement only: {advertised:?}");
    let count = |p: check::Proof| report.rows.iter().filter(|r| r.proof == p).count();
    eprintln!(
        "proof: {} behaviour, {} advertisement, {} none",
        count(check::Proof::Behaviour),
        count(check::Proof::Advertisement),
        count(check::Proof::None)
    );
}

/// One module off (or a --set) on a server the admin checks: `keys` are
/// the behaviours that must fail (with `needle` in the first), `ok` those
/// that must still work, and each `(xep, location)` row must fail.
fn broken_rows(
    set: &str,
    keys: &[&str],
    needle: &str,
    ok: &[&str],
    rows: &[(&str, CheckLocation)],
) -> Report {
    let report = inspect_weakened(&[set, ADMIN], &[ADMIN]);
    for (i, key) in keys.iter().enumerate() {
        let why = behaviour(&report, key).expect_err(key);
        if i == 0 {
            assert!(why.contains(needle), "{set}: {key}: {why}");
        }
    }
    for key in ok {
        assert!(
            behaviour(&report, key).is_ok(),
            "{set}: {key}: {:?}",
            behaviour(&report, key)
        );
    }
    for (xep, location) in rows {
        assert!(
            report.rows.iter().any(|r| r.promise.xep == *xep
                && r.promise.location == *location
                && matches!(r.outcome, Outcome::Fail { .. })),
            "{set}: no failed {xep} row\n{}",
            report.render_text()
        );
    }
    assert!(report.leftovers.is_empty(), "{set}: {:?}", report.leftovers);
    report
}

/// Without mod_bookmarks, PEP still stores the XEP-0402 bookmark, but the
/// legacy private-XML view (mod_private alone) does not show it.
#[test]
fn bookmarks_off_fails_the_private_xml_conversion() {
    broken_rows(
        "modules_disabled={\"bookmarks\"}",
        &["bookmarks_legacy"],
        "no conversion",
        &["bookmarks", "private"],
        &[
            ("XEP-0402", CheckLocation::AccountDisco),
            ("XEP-0048", CheckLocation::AccountDisco),
        ],
    );
}

/// Without mod_vcard_legacy the PEP avatar never reaches vcard-temp.
#[test]
fn vcard_legacy_off_fails_the_avatar_conversion() {
    broken_rows(
        "modules_disabled={\"vcard_legacy\"}",
        &["avatar", "vcard"],
        "vcard-temp GET",
        &["pep"],
        &[
            ("XEP-0398", CheckLocation::AccountDisco),
            ("XEP-0054", CheckLocation::ServerDisco),
        ],
    );
}

/// Registration from loopback blocklisted: the invite is created and its
/// token accepted, the registration refused, while urn:xmpp:ibr-token:0
/// stays advertised.
#[test]
fn blocklisted_registration_fails_the_invite_row() {
    let report = broken_rows(
        "registration_blocklist={\"127.0.0.1\"}",
        &["invites"],
        "registering with a valid invite token was refused",
        &[],
        &[("XEP-0401", CheckLocation::StreamPreAuth)],
    );
    failed_though_advertised(&report, "XEP-0401");
}

/// A queue of one unacknowledged stanza: a session cut with two unacked
/// cannot be resumed, and the inline <resume/> of SASL2 fails although
/// urn:xmpp:sm:3 stays inline in SASL2.
#[test]
fn sm_queue_of_one_fails_sm_inline_in_sasl2() {
    let report = broken_rows(
        "smacks_max_queue_size=1",
        &["sm_sasl2"],
        "inline <resume/>",
        &[],
        &[("XEP-0198", CheckLocation::Sasl2Inline)],
    );
    let (row, missing) = failed_row(&report, "XEP-0198", Some(CheckLocation::Sasl2Inline));
    assert!(missing.starts_with("advertised ("), "{missing}");
    assert_eq!(row.proof, check::Proof::Behaviour);
}

/// CORS switched off for the upload component: the PUT and GET still
/// work, a web client's preflight does not.
#[test]
fn upload_without_cors_fails_xep_0363() {
    let report = broken_rows(
        "http_cors_override={file_share={enabled=false}}",
        &[],
        "",
        &[],
        &[("XEP-0363", CheckLocation::Http)],
    );
    let (_, missing) = failed_row(&report, "XEP-0363", Some(CheckLocation::Http));
    assert!(missing.contains("CORS preflight"), "{missing}");
}

/// The row of `xep` (at `location`, if given), which must have failed, and
/// what it says is missing; panics with the report otherwise.
fn failed_row<'a>(
    report: &'a Report,
    xep: &str,
    location: Option<CheckLocation>,
) -> (&'a check::Row, &'a str) {
    let row = report
        .rows
        .iter()
        .find(|r| r.promise.xep == xep && location.is_none_or(|l| r.promise.location == l))
        .unwrap_or_else(|| panic!("no {xep} row\n{}", report.render_text()));
    match &row.outcome {
        Outcome::Fail { missing } => (row, missing.as_str()),
        other => panic!("{xep}: {other:?}\n{}", report.render_text()),
    }
}

/// A row that failed although the server advertised the feature.
fn failed_though_advertised(report: &Report, xep: &str) {
    let (_, missing) = failed_row(report, xep, None);
    assert!(missing.starts_with("advertised ("), "{missing}");
}

/// The library check, with the second account, of a standard/development
/// server started with `sets`, against what the config built with
/// `promised` promises: the operator's config, which the running server
/// may weaken.
fn inspect_weakened(sets: &[&str], promised: &[&str]) -> Report {
    let s = Server::start_with("standard", "development", sets, &[BOB]);
    let t = s.target2();
    let promises = check::promises(&build(
        "standard",
        "development",
        &s.state,
        &s.ports,
        promised,
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(check::inspect(&t, &promises)).unwrap()
}

/// A behaviour broken by --set while its advertisement stays: the row
/// that rested on the advertisement now fails, naming what happened.
fn behaviour_broken(set: &str, key: &str, xep: &str, needle: &str) -> Report {
    let report = inspect_weakened(&[set], &[]);
    let why = behaviour(&report, key).expect_err(set);
    assert!(why.contains(needle), "{set}: {why}");
    let row = report
        .rows
        .iter()
        .find(|r| r.promise.xep == xep && matches!(r.outcome, Outcome::Fail { .. }))
        .unwrap_or_else(|| panic!("{set}: no failed {xep} row\n{}", report.render_text()));
    let Outcome::Fail { missing } = &row.outcome else {
        unreachable!()
    };
    assert!(missing.starts_with("advertised ("), "{missing}");
    assert_eq!(row.proof, check::Proof::Behaviour);
    report
}

/// Prosody advertises urn:xmpp:mam:2 on the MUC service regardless; with
/// archiving off by default, a new room has no archive.
#[test]
fn muc_log_off_fails_the_muc_archive_row() {
    behaviour_broken(
        "conference:muc_log_by_default=false",
        "muc_mam",
        "XEP-0313",
        "does not archive",
    );
}

/// mod_bookmarks advertises jabber:iq:private without mod_private; storing
/// a namespace of our own then fails.
#[test]
fn private_off_fails_xep_0049_although_bookmarks_advertise_it() {
    behaviour_broken(
        "modules_disabled={\"private\"}",
        "private",
        "XEP-0049",
        "jabber:iq:private",
    );
}

/// A server whose archive answers no more than 0 results per query:
/// messages are archived (stanza-id), but no query can page through them.
#[test]
fn archive_query_limit_zero_fails_the_mam_row() {
    let report = behaviour_broken(
        "max_archive_query_results=0",
        "mam",
        "XEP-0313",
        "returned 0",
    );
    // The stanza-ids still come, but no archive query finds them.
    let why = behaviour(&report, "stanza_id").expect_err("stanza_id");
    assert!(why.contains("not an archive id"), "{why}");
    assert!(
        report.rows.iter().any(|r| r.promise.xep == "XEP-0359"
            && matches!(&r.outcome, Outcome::Fail { missing } if missing.starts_with("advertised ("))),
        "{}",
        report.render_text()
    );
}

/// A CSI queue of one stanza flushes on the second held stanza: presence
/// updates reach the inactive resource at once, urn:xmpp:csi:0 stays.
#[test]
fn csi_queue_of_one_fails_xep_0352() {
    behaviour_broken("csi_queue_size=1", "csi", "XEP-0352", "at once");
}

/// A server that cannot store a push registration (no device slot): the
/// app server is refused although urn:xmpp:push:0 is advertised.
#[test]
fn refused_app_server_fails_xep_0357() {
    behaviour_broken("push_max_devices=0", "push", "XEP-0357", "refused");
}

/// FAST tokens that expire as they are issued: the token comes inline in
/// SASL2, urn:xmpp:fast:0 stays inline, the login with it is refused.
#[test]
fn expiring_fast_tokens_fail_xep_0484() {
    behaviour_broken("sasl2_fast_token_ttl=0", "fast", "XEP-0484", "was refused");
}

/// Without mod_uptime there is no command any account may run (the admin
/// commands stay, and with them the XEP-0050 advertisement), and no
/// jabber:iq:last (its advertisement goes too).
#[test]
fn uptime_off_fails_ad_hoc_and_last_activity() {
    let report = broken_rows(
        "modules_disabled={\"uptime\"}",
        &["adhoc", "last"],
        "none of",
        &["ping", "version", "time"],
        &[
            ("XEP-0050", CheckLocation::ServerDisco),
            ("XEP-0012", CheckLocation::ServerDisco),
        ],
    );
    failed_though_advertised(&report, "XEP-0050");
}

/// The config promises open registration (the stream feature); the server
/// closes it: no form for a new account.
#[test]
fn closed_registration_fails_the_open_registration_row() {
    broken_rows(
        "allow_registration=false",
        &["register_open"],
        "registration form",
        &["register"],
        &[("XEP-0077", CheckLocation::StreamPreAuth)],
    );
}

/// The file share refuses every slot (1 byte allowed): the service is still
/// discovered, the slot it should grant is refused.
#[test]
fn tiny_upload_limit_fails_the_upload_discovery_row() {
    let report = broken_rows(
        "upload:http_file_share_size_limit=1",
        &["upload_slot"],
        "refused an upload slot",
        &[],
        &[("XEP-0363", CheckLocation::ComponentDisco)],
    );
    let (_, missing) = failed_row(&report, "XEP-0363", Some(CheckLocation::ComponentDisco));
    assert!(missing.starts_with("advertised ("), "{missing}");
}

/// Modules whose advertisement and behaviour come together (no config
/// breaks one without the other): switched off, the query fails and so
/// does the row. mod_spam_reporting's reports are invisible to a client
/// (the block they ride on still works), so only its row fails.
#[test]
fn query_modules_off_fail_their_rows() {
    let set = "modules_disabled={\"version\",\"time\",\"vcard4\",\"spam_reporting\",\"sasl2_bind2\",\"user_account_management\"}";
    let report = inspect_weakened(&[set], &[]);
    for key in ["version", "time", "vcard4", "register"] {
        behaviour(&report, key).expect_err(key);
    }
    assert!(behaviour(&report, "report").is_ok());
    assert!(
        !report.behaviours.contains_key("bind2"),
        "{:?}",
        report.behaviours
    );
    for (xep, location) in [
        ("XEP-0092", CheckLocation::ServerDisco),
        ("XEP-0202", CheckLocation::ServerDisco),
        ("XEP-0292", CheckLocation::AccountDisco),
        ("XEP-0377", CheckLocation::ServerDisco),
        ("XEP-0386", CheckLocation::Sasl2Inline),
        ("XEP-0077", CheckLocation::ServerDisco),
    ] {
        assert!(
            report.rows.iter().any(|r| r.promise.xep == xep
                && r.promise.location == location
                && matches!(r.outcome, Outcome::Fail { .. })),
            "no failed {xep} row\n{}",
            report.render_text()
        );
    }
}

/// Without mod_ping or SASL2 their rows fail (the behaviour probes need
/// ping as their barrier, so they stop: the rows fail on advertisement).
#[test]
fn ping_and_sasl2_off_fail_their_rows() {
    let set = "modules_disabled={\"ping\",\"sasl2\",\"sasl2_bind2\",\"sasl2_fast\",\"sasl2_sm\"}";
    let report = inspect_weakened(&[set], &[]);
    for (xep, location) in [
        ("XEP-0199", CheckLocation::ServerDisco),
        ("XEP-0388", CheckLocation::StreamPreAuth),
        ("XEP-0484", CheckLocation::Sasl2Inline),
    ] {
        assert!(
            report.rows.iter().any(|r| r.promise.xep == xep
                && r.promise.location == location
                && matches!(r.outcome, Outcome::Fail { .. })),
            "no failed {xep} row\n{}",
            report.render_text()
        );
    }
}
