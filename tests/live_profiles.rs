//! Every shipped profile × {production, development}: generate → prosodyctl
//! check config → start Prosody 13 on loopback → log in over XMPP and see
//! what each enabled feature promises. Real Prosody, real sessions.

use std::process::Command;

use pfe::catalog::Catalog;
use pfe::check::{self, Outcome};
use pfe::engine::{self, Request};
use pfe::server::{self, Ports, StartOptions, StateDir};
use pfe::xmpp::{ClientConfig, TlsMode, TlsVerify};

const DOMAIN: &str = "localhost";

fn require_prosody() {
    let ok = Command::new("prosodyctl")
        .arg("about")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "prosodyctl is missing: run scripts/install-deps.sh (the test command does)"
    );
}

/// A config for `profile`/`env`, made to run in `state` on `ports`.
fn build(
    profile: &str,
    env: &str,
    state: &StateDir,
    ports: &Ports,
    extra: &[&str],
) -> engine::Build {
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

fn live(profile: &str, env: &str) {
    require_prosody();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path()).unwrap();
    let ports = Ports::pick().unwrap();
    server::generate_cert(
        &state.certs_dir(),
        DOMAIN,
        &[
            "conference.localhost",
            "upload.localhost",
            "proxy.localhost",
        ],
    )
    .unwrap();
    let build = build(profile, env, &state, &ports, &[]);
    let config = state.write_config(&build.config).unwrap();

    let out = Command::new("prosodyctl")
        .arg("--config")
        .arg(&config)
        .args(["check", "config"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{profile}/{env}: prosodyctl check config failed:\n{text}"
    );
    assert!(
        text.contains("All checks passed"),
        "{profile}/{env}: prosodyctl check config:\n{text}"
    );

    server::create_user(&config, "alice@localhost", "correct horse").unwrap();
    let prosody = server::start(&config, &StartOptions::new(&state, &ports)).unwrap();

    let promises = check::promises(&build);
    assert!(!promises.is_empty(), "{profile}/{env} promises nothing");
    let cfg = ClientConfig::new(
        ports.c2s_addr().to_string(),
        "alice@localhost",
        "correct horse",
        TlsMode::StartTls,
        TlsVerify::InsecureAcceptAny,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = rt
        .block_on(check::verify(cfg, &promises))
        .unwrap_or_else(|e| panic!("{profile}/{env}: {e}\n{}", prosody.log_tail(30)));

    let failed: Vec<String> = rows
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Fail { missing } => Some(format!(
                "{} {}: {missing}",
                r.promise.feature, r.promise.xep
            )),
            _ => None,
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{profile}/{env}: promises broken:\n{}\n{}",
        failed.join("\n"),
        prosody.log_tail(30)
    );
    // Every enabled feature that declares checks shows at least one on the wire.
    for f in &build.resolution.order {
        let mine: Vec<_> = rows.iter().filter(|r| &r.promise.feature == f).collect();
        let checkable = mine
            .iter()
            .any(|r| !matches!(r.outcome, Outcome::NotCheckable { .. }));
        if checkable {
            assert!(
                mine.iter()
                    .any(|r| matches!(r.outcome, Outcome::Pass { .. })),
                "{profile}/{env}: nothing of {f} seen"
            );
        }
    }
    let log = prosody.log_tail(400);
    assert!(
        !log.contains("Error loading module") && !log.contains("Error initializing module"),
        "{profile}/{env}: module errors:\n{log}"
    );
    prosody.stop();
}

#[test]
fn minimal_production() {
    live("minimal", "production");
}
#[test]
fn minimal_development() {
    live("minimal", "development");
}
#[test]
fn standard_production() {
    live("standard", "production");
}
#[test]
fn standard_development() {
    live("standard", "development");
}
#[test]
fn enterprise_production() {
    live("enterprise", "production");
}
#[test]
fn enterprise_development() {
    live("enterprise", "development");
}
#[test]
fn development_production() {
    live("development", "production");
}
#[test]
fn development_development() {
    live("development", "development");
}

/// The negative case: a promised module switched off with --set makes the
/// check fail and name the XEP.
#[test]
fn a_disabled_module_breaks_its_promise() {
    require_prosody();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path()).unwrap();
    let ports = Ports::pick().unwrap();
    server::generate_cert(
        &state.certs_dir(),
        DOMAIN,
        &["conference.localhost", "upload.localhost"],
    )
    .unwrap();
    let build = build(
        "standard",
        "development",
        &state,
        &ports,
        &["modules_disabled={\"mam\"}", "conference:enabled=false"],
    );
    let config = state.write_config(&build.config).unwrap();
    server::create_user(&config, "bob@localhost", "pw-bob").unwrap();
    let prosody = server::start(&config, &StartOptions::new(&state, &ports)).unwrap();
    let cfg = ClientConfig::new(
        ports.c2s_addr().to_string(),
        "bob@localhost",
        "pw-bob",
        TlsMode::StartTls,
        TlsVerify::InsecureAcceptAny,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = rt
        .block_on(check::verify(cfg, &check::promises(&build)))
        .unwrap();
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail { .. }))
        .map(|r| r.promise.xep.as_str())
        .collect();
    assert!(
        failed.contains(&"XEP-0313"),
        "MAM off must fail XEP-0313: {failed:?}"
    );
    assert!(
        failed.contains(&"XEP-0045"),
        "MUC off must fail XEP-0045: {failed:?}"
    );
    prosody.stop();
}

/// `pfe check` and `pfe healthcheck` as scripts call them.
#[test]
fn check_and_healthcheck_commands() {
    require_prosody();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path()).unwrap();
    let ports = Ports::pick().unwrap();
    server::generate_cert(
        &state.certs_dir(),
        DOMAIN,
        &["conference.localhost", "upload.localhost"],
    )
    .unwrap();
    let build = build("standard", "production", &state, &ports, &[]);
    let config = state.write_config(&build.config).unwrap();
    server::create_user(&config, "carol@localhost", "pw-carol").unwrap();
    let prosody = server::start(&config, &StartOptions::new(&state, &ports)).unwrap();
    let addr = ports.c2s_addr().to_string();
    let pfe = || {
        let mut c = assert_cmd::Command::cargo_bin("pfe").unwrap();
        c.env_remove("PROSODY_PROFILE")
            .env_remove("PROSODY_ENVIRONMENT")
            .env_remove("PROSODY_DOMAIN");
        c
    };
    let out = pfe()
        .args([
            "check",
            "--server",
            &addr,
            "--jid",
            "carol@localhost",
            "--profile",
            "standard",
            "--env",
            "production",
            "--insecure",
            "--json",
        ])
        .env("PFE_CHECK_PASSWORD", "pw-carol")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    // The same server does not keep an enterprise profile's promises (proxy65, TURN...).
    pfe()
        .args([
            "check",
            "--server",
            &addr,
            "--jid",
            "carol@localhost",
            "--profile",
            "enterprise",
            "--env",
            "production",
            "--insecure",
        ])
        .env("PFE_CHECK_PASSWORD", "pw-carol")
        .assert()
        .code(1)
        .stdout(predicates::str::contains("FAIL"));
    // No trust decision, no check.
    pfe()
        .args([
            "check",
            "--server",
            &addr,
            "--jid",
            "carol@localhost",
            "--password",
            "x",
        ])
        .assert()
        .code(2);
    pfe()
        .args(["healthcheck", "--server", &addr, "--timeout", "3000"])
        .assert()
        .success();
    prosody.stop();
    pfe()
        .args(["healthcheck", "--server", &addr, "--timeout", "1000"])
        .assert()
        .code(1);
}
