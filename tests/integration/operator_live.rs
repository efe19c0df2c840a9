//! `pfe check`'s operator rows against real servers on loopback: the
//! certificates a real Prosody serves (c2s STARTTLS and direct TLS, s2s
//! STARTTLS with to= each component, HTTPS with SNI) and its TLS versions
//! against tls_profile; TURN credentials proven against a real coturn;
//! directory login through a real slapd; the XEP-0157 abuse address (a
//! warning in production when none is configured).

use std::path::{Path, PathBuf};
use std::time::Duration;

use pfe_core::catalog::Catalog;
use pfe_core::engine::{self, Build, Request};
use pfe_probe::check::{self, Outcome, Report, Row, TargetOptions};
use pfe_probe::xmpp::TlsVerify;
use pfe_run::server::{self, Ports, Prosody, StartOptions, StateDir};

pub const USER: &str = "alice@localhost";
pub const PASSWORD: &str = "correct horse";

/// A certificate for `names` valid from `from` to `until` (unix seconds),
/// written as `<dir>/<stem>.crt` and `.key`; returns the certificate path.
pub fn write_cert(dir: &Path, stem: &str, names: &[&str], from: i64, until: i64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut p =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, names[0]);
    p.not_before = time::OffsetDateTime::from_unix_timestamp(from).unwrap();
    p.not_after = time::OffsetDateTime::from_unix_timestamp(until).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    let crt = dir.join(format!("{stem}.crt"));
    std::fs::write(&crt, cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{stem}.key")), key.serialize_pem()).unwrap();
    crt
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub const DAY: i64 = 86_400;

/// What to start: a real Prosody for `profile`/`env` with these features,
/// variables, `--set`s and process environment.
#[derive(Default)]
pub struct Setup<'a> {
    pub profile: &'a str,
    pub env: &'a str,
    pub with: &'a [&'a str],
    pub vars: Vec<(String, String)>,
    pub sets: Vec<String>,
    pub process_env: Vec<(String, String)>,
    /// Create USER in Prosody's own store.
    pub user: bool,
}

/// A running Prosody and the build it runs.
pub struct Server {
    pub prosody: Prosody,
    pub ports: Ports,
    pub build: Build,
    _tmp: tempfile::TempDir,
}

pub fn start_server(setup: Setup<'_>, certs: impl FnOnce(&Path)) -> Server {
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path().join("state")).unwrap();
    let ports = Ports::pick().unwrap();
    certs(&state.certs_dir());
    let mut req = Request::new(setup.profile, setup.env);
    req.domain = Some("localhost".into());
    req.with = setup.with.iter().map(|s| s.to_string()).collect();
    for (k, v) in &setup.vars {
        req.env.insert(k.clone(), v.clone());
    }
    req.sets = server::loopback_overrides(&state, &ports)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    req.sets.push("anti_spam_services={}".into());
    req.sets.extend(setup.sets);
    let build = engine::build(&Catalog::builtin(), &req).unwrap();
    let config = state.write_config(&build.config).unwrap();
    if setup.user {
        server::create_user(&config, USER, PASSWORD).unwrap();
    }
    let mut opts = StartOptions::new(&state, &ports);
    opts.kill_with_parent = true;
    opts.also_wait = vec![
        Ports::addr(ports.http),
        Ports::addr(ports.https),
        Ports::addr(ports.s2s),
        // Opened after c2s; under load a check that starts on c2s alone
        // found it refused.
        Ports::addr(ports.c2s_direct_tls),
    ];
    opts.env = setup.process_env;
    let prosody = server::start(&config, &opts).unwrap();
    Server {
        prosody,
        ports,
        build,
        _tmp: tmp,
    }
}

/// The standard development profile with a certificate for every name.
pub fn dev<'a>() -> Setup<'a> {
    Setup {
        profile: "standard",
        env: "development",
        user: true,
        ..Default::default()
    }
}

impl Server {
    /// `pfe check`'s library entry with the account USER (or `password`).
    pub fn check(&self, verify: TlsVerify, https: bool, password: &str) -> Result<Report, String> {
        let o = TargetOptions {
            server: self.ports.c2s_addr().to_string(),
            jid: USER.into(),
            password: password.into(),
            verify,
            direct_tls: false,
            alt_port: Some(self.ports.c2s_direct_tls),
            http: Some(format!(
                "127.0.0.1:{}",
                if https {
                    self.ports.https
                } else {
                    self.ports.http
                }
            )),
            https,
            timeout: Duration::from_secs(20),
            second: None,
            component_secret: None,
            s2s_port: Some(self.ports.s2s),
        };
        let target = check::plan_target(&self.build, &o);
        check::run_check(&self.build, &target)
            .unwrap()
            .map_err(|e| e.to_string())
    }
}

/// The rows of `feature`.
pub fn rows_of<'a>(r: &'a Report, feature: &str) -> Vec<&'a Row> {
    r.rows
        .iter()
        .filter(|row| row.promise.feature == feature)
        .collect()
}

pub fn text(row: &Row) -> String {
    match &row.outcome {
        Outcome::Pass { evidence } => format!("pass {evidence}"),
        Outcome::Fail { missing } => format!("FAIL {missing}"),
        Outcome::Warn { warning } => format!("warn {warning}"),
        Outcome::NotCheckable { why } => format!("n/a {why}"),
    }
}

fn ca_of(crt: &Path) -> TlsVerify {
    TlsVerify::CaFile(crt.to_path_buf())
}

#[test]
fn served_certificates_and_tls_versions_of_a_good_server_pass() {
    let mut crt = PathBuf::new();
    let s = start_server(dev(), |dir| {
        crt = write_cert(
            dir,
            "localhost",
            &[
                "localhost",
                "conference.localhost",
                "upload.localhost",
                "proxy.localhost",
            ],
            now() - DAY,
            // An hour short of 90 days: whole days left read 89 however
            // fast the check runs after the certificate is written.
            now() + 90 * DAY - 3600,
        );
    });
    let report = s.check(ca_of(&crt), true, PASSWORD).unwrap();
    let text_all = report.render_text();
    let certs = rows_of(&report, check::live::SECURITY_CERTIFICATES);
    // c2s STARTTLS, c2s direct TLS, s2s for the domain and every component,
    // HTTPS for the domain and the upload component.
    let kinds = |k: &str| {
        certs
            .iter()
            .filter(|r| r.promise.extra["promise"].starts_with(k))
            .count()
    };
    assert_eq!(kinds("c2s STARTTLS"), 1, "{text_all}");
    assert_eq!(kinds("c2s direct TLS"), 1, "{text_all}");
    assert!(kinds("s2s STARTTLS") >= 3, "{text_all}");
    assert_eq!(kinds("HTTPS"), 2, "{text_all}");
    for r in &certs {
        assert!(
            matches!(r.outcome, Outcome::Pass { .. }),
            "{}\n{text_all}\n{}",
            text(r),
            s.prosody.log_tail(30)
        );
        assert!(text(r).contains("chain verified against"), "{}", text(r));
        assert!(text(r).contains("(89 days)"), "{}", text(r));
    }
    let tls = rows_of(&report, check::live::SECURITY_TLS);
    assert_eq!(tls.len(), 1, "{text_all}");
    let t = text(tls[0]);
    // tls_profile = "intermediate" (config/core/security.cfg.lua): TLS 1.3
    // best, TLS 1.2 with an ECDHE AEAD suite, 1.1 and 1.0 refused (openssl).
    assert!(t.starts_with("pass "), "{t}");
    assert!(t.contains("best TLS 1.3"), "{t}");
    assert!(t.contains("TLS 1.2 accepted (TLS_ECDHE_"), "{t}");
    assert!(
        t.contains("TLS 1.1 refused") && t.contains("TLS 1.0 refused"),
        "{t}"
    );
    assert!(t.contains("tls_profile = \"intermediate\""), "{t}");
}

#[test]
fn an_expired_certificate_and_a_missing_upload_name_fail_by_name() {
    // One certificate for the domain and its MUC, expired two days ago; no
    // upload.localhost in it, so Prosody serves it for upload. too (its
    // parent-domain fallback), and tls_profile "modern" while TLS 1.2 is
    // still what we ask the checker to refuse.
    let mut crt = PathBuf::new();
    let setup = Setup {
        sets: vec!["tls_profile=\"modern\"".into()],
        ..dev()
    };
    let s = start_server(setup, |dir| {
        crt = write_cert(
            dir,
            "localhost",
            &["localhost", "conference.localhost"],
            now() - 30 * DAY,
            now() - 2 * DAY,
        );
    });
    // The session itself cannot verify an expired certificate: trust any
    // for the session, and judge the chain through the rows.
    let report = s
        .check(TlsVerify::InsecureAcceptAny, false, PASSWORD)
        .unwrap();
    let all = report.render_text();
    let certs = rows_of(&report, check::live::SECURITY_CERTIFICATES);
    let find = |kind: &str, name: &str| {
        certs
            .iter()
            .find(|r| r.promise.extra["promise"] == format!("{kind} certificate for {name}"))
            .map(|r| text(r))
            .unwrap_or_else(|| panic!("no {kind} row for {name}:\n{all}"))
    };
    let c2s = find("c2s STARTTLS", "localhost");
    assert!(
        c2s.starts_with("FAIL") && c2s.contains("EXPIRED") && c2s.contains("2 days ago"),
        "{c2s}"
    );
    let upload = find("s2s STARTTLS", "upload.localhost");
    assert!(
        upload.starts_with("FAIL")
            && upload.contains(
                "the served certificate does not cover upload.localhost (it names localhost, conference.localhost)"
            ),
        "{upload}"
    );
    // tls_profile = "modern": TLS 1.3 only, and Prosody keeps to it.
    let tls = text(rows_of(&report, check::live::SECURITY_TLS)[0]);
    assert!(
        tls.starts_with("pass") && tls.contains("TLS 1.2 refused"),
        "{tls}"
    );
    assert!(report.failed());
    // With the certificate as CA, the chain check names the expiry too.
    let report = s.check(ca_of(&crt), false, PASSWORD);
    assert!(
        report.is_err(),
        "the session must refuse an expired certificate"
    );
}

/// A good certificate for the domain and every name under it.
pub fn good_certs(dir: &Path) {
    write_cert(
        dir,
        "localhost",
        &["localhost", "*.localhost"],
        now() - DAY,
        now() + 90 * DAY,
    );
}

#[test]
fn turn_credentials_from_the_server_are_proven_against_coturn() {
    use pfe_testkit::services::turn::Coturn;
    const SECRET: &str = "turn-shared-secret-1";
    let coturn = Coturn::start(SECRET, "localhost").unwrap_or_else(|e| panic!("{}", e.message()));
    let port = coturn.port().to_string();
    let server = |secret: &str| {
        let setup = Setup {
            with: &["services/turn"],
            vars: vec![
                ("PROSODY_TURN_HOST".into(), "127.0.0.1".into()),
                ("PROSODY_TURN_PORT".into(), port.clone()),
            ],
            process_env: vec![("PROSODY_TURN_SECRET".into(), secret.into())],
            ..dev()
        };
        start_server(setup, good_certs)
    };
    // The same secret on both sides: STUN answers, the unauthenticated
    // Allocate is refused with 401, the handed-out credentials allocate.
    let s = server(SECRET);
    let report = s
        .check(TlsVerify::InsecureAcceptAny, false, PASSWORD)
        .unwrap();
    let all = report.render_text();
    let turn = rows_of(&report, "services/turn");
    let stun: Vec<_> = turn
        .iter()
        .filter(|r| r.promise.xep == "RFC 8489")
        .collect();
    let allocs: Vec<_> = turn
        .iter()
        .filter(|r| r.promise.xep == "RFC 5766")
        .collect();
    assert_eq!(stun.len(), 1, "{all}");
    assert_eq!(allocs.len(), 2, "udp and tcp:\n{all}");
    assert!(text(stun[0]).contains("mapped address 127.0.0.1:"), "{all}");
    for r in &allocs {
        let t = text(r);
        assert!(
            t.starts_with("pass")
                && t.contains("Allocate without credentials refused (401")
                && t.contains("relayed 127.0.0.1:")
                && t.contains("released"),
            "{t}\n{}",
            coturn.log_tail()
        );
    }
    drop(s);
    // Prosody's secret differs from coturn's: named as such.
    let s = server("not-the-turn-secret");
    let report = s
        .check(TlsVerify::InsecureAcceptAny, false, PASSWORD)
        .unwrap();
    let allocs: Vec<String> = rows_of(&report, "services/turn")
        .into_iter()
        .filter(|r| r.promise.xep == "RFC 5766")
        .map(text)
        .collect();
    assert_eq!(allocs.len(), 2, "{allocs:?}");
    for t in &allocs {
        assert!(
            t.starts_with("FAIL")
                && t.contains(
                    "the TURN server rejects the credentials Prosody hands out: the secrets differ"
                ),
            "{t}"
        );
    }
    assert!(report.failed());
}

#[test]
fn directory_login_through_slapd_with_search_bind_and_starttls() {
    use pfe_testkit::services::ldap::Slapd;
    let slapd = Slapd::start_tls().unwrap_or_else(|e| panic!("{}", e.message()));
    slapd
        .add_user("alice", PASSWORD)
        .unwrap_or_else(|e| panic!("{}", e.message()));
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("ldap_password"), slapd.root_password()).unwrap();
    let ca = slapd.ca_pem().expect("a TLS slapd has a CA").to_path_buf();
    let server = |ldap: String| {
        let setup = Setup {
            profile: "enterprise",
            with: &["authentication/external"],
            vars: vec![
                ("PROSODY_LDAP_SERVER".into(), ldap),
                ("PROSODY_LDAP_BASE".into(), slapd.people_dn()),
                ("PROSODY_LDAP_ROOTDN".into(), slapd.root_dn().into()),
                ("PROSODY_LDAP_TLS".into(), "true".into()),
                // development opens registration, which LDAP cannot serve
                ("PROSODY_ALLOW_REGISTRATION".into(), "false".into()),
            ],
            process_env: vec![
                (
                    "CREDENTIALS_DIRECTORY".into(),
                    creds.path().to_string_lossy().into_owned(),
                ),
                ("LDAPTLS_CACERT".into(), ca.to_string_lossy().into_owned()),
            ],
            // No account in Prosody's own store: the directory has it.
            user: false,
            ..dev()
        };
        start_server(setup, good_certs)
    };
    let addr = format!("127.0.0.1:{}", slapd.port());
    let s = server(addr.clone());
    let report = s
        .check(TlsVerify::InsecureAcceptAny, false, PASSWORD)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", s.prosody.log_tail(40), slapd.log_tail()));
    let rows: Vec<String> = rows_of(&report, "authentication/external")
        .into_iter()
        .map(text)
        .collect();
    assert_eq!(rows.len(), 2, "{}", report.render_text());
    assert!(
        rows[0].starts_with("pass") && rows[0].contains(&addr) && rows[0].contains("StartTLS"),
        "{rows:?}"
    );
    assert!(
        rows[1].starts_with("pass") && rows[1].contains("not-authorized"),
        "{rows:?}"
    );
    // slapd saw the search bind as the root DN, StartTLS, and alice's bind.
    let log = std::fs::read_to_string(slapd.log_path()).unwrap();
    assert!(
        log.contains(&format!("BIND dn=\"{}\" method=128", slapd.root_dn())),
        "{log}"
    );
    assert!(
        log.contains("oid=1.3.6.1.4.1.1466.20037"),
        "no StartTLS:\n{log}"
    );
    assert!(
        log.contains(&format!(
            "BIND dn=\"{}\" method=128",
            slapd.user_dn("alice")
        )),
        "{log}"
    );
    drop(s);

    // An LDAP server that is not there: the login failure names it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().to_string();
    drop(closed);
    let s = server(dead.clone());
    let err = s
        .check(TlsVerify::InsecureAcceptAny, false, PASSWORD)
        .expect_err("no login without the directory");
    assert!(
        err.contains(&format!("the LDAP server {dead}")) && err.contains("UNREACHABLE"),
        "{err}"
    );
}

/// Production publishes PROSODY_CONTACT_EMAIL as the abuse address (pass);
/// without it the row is a warning naming the variable, and the check
/// still succeeds.
#[test]
fn abuse_contact_in_production_passes_when_set_and_warns_when_not() {
    let prod = |vars: Vec<(String, String)>| Setup {
        env: "production",
        vars,
        ..dev()
    };
    let abuse_row = |r: &Report| {
        let rows: Vec<&Row> = r
            .rows
            .iter()
            .filter(|row| {
                row.promise.xep == "XEP-0157"
                    && row.promise.extra.get("probe").map(String::as_str)
                        == Some(check::live::LIVE_PROBE)
            })
            .collect();
        assert_eq!(rows.len(), 1, "{}", r.render_text());
        rows[0].clone()
    };
    let s = start_server(
        prod(vec![(
            "PROSODY_CONTACT_EMAIL".into(),
            "abuse@localhost".into(),
        )]),
        good_certs,
    );
    let r = s
        .check(TlsVerify::InsecureAcceptAny, true, PASSWORD)
        .unwrap_or_else(|e| panic!("{e}\n{}", s.prosody.log_tail(30)));
    let row = abuse_row(&r);
    assert!(
        text(&row).starts_with("pass") && text(&row).contains("mailto:abuse@localhost"),
        "{}",
        text(&row)
    );
    assert_eq!(r.counts().warn, 0, "{}", r.render_text());
    drop(s);

    let s = start_server(prod(Vec::new()), good_certs);
    let r = s
        .check(TlsVerify::InsecureAcceptAny, true, PASSWORD)
        .unwrap_or_else(|e| panic!("{e}\n{}", s.prosody.log_tail(30)));
    let row = abuse_row(&r);
    let Outcome::Warn { warning } = &row.outcome else {
        panic!("{}", text(&row));
    };
    assert!(warning.contains("set PROSODY_CONTACT_EMAIL"), "{warning}");
    assert!(
        !r.failed(),
        "a warning fails no check:\n{}",
        r.render_text()
    );
    let shown = r.render_text();
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("warn") && l.contains("XEP-0157")),
        "{shown}"
    );
    assert!(shown.contains(" 1 warn, "), "{shown}");
}
