//! pfe_probe::xmpp against a real Prosody 13 started by pfe_run::server (no mocks).
//!
//! Every test starts its own Prosody on fresh loopback ports in its own
//! temporary state directory, so tests are independent and can run in
//! parallel. Timings are printed with `--nocapture`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pfe_probe::xmpp::{
    self, CleartextAuthResponse, Client, ClientConfig, Error, Mechanism, NS_BIND2, NS_CSI, NS_FAST,
    NS_SASL2, NS_SM, Stage, Timeouts, TlsMode, TlsVerify,
};
use pfe_run::server::{self, CertFiles, Ports, Prosody, ServerError, StartOptions, StateDir};

const DOMAIN: &str = "localhost";
const USER: &str = "alice@localhost";
const PASSWORD: &str = "correct horse battery";

/// The hand-written part of the config; pfe_run::server adds the loopback
/// overrides (ports, paths, run_as_root, logging).
///
/// Note: Prosody's internal_hashed stores one SCRAM hash per account, chosen
/// by `password_hash` ("SHA-1" by default, or "SHA-256"), and offers only
/// that SCRAM mechanism; tests that need SCRAM-SHA-256 start a server with
/// `password_hash = "SHA-256"` (see [`Live::start_with`]).
const CONFIG: &str = r#"
modules_enabled = {
    "roster"; "saslauth"; "tls"; "disco"; "carbons"; "blocklist"; "mam";
    "smacks"; "csi_simple"; "ping"; "offline"; "vcard_legacy"; "pep";
    "external_services"; "register"; "bosh"; "websocket"; "http";
    "sasl2"; "sasl2_bind2"; "sasl2_fast";
}
allow_registration = false
c2s_require_encryption = true
s2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"
external_services = {
    { type = "stun", transport = "udp", host = "127.0.0.1", port = 3478 };
}

VirtualHost "localhost"

Component "conference.localhost" "muc"
Component "upload.localhost" "http_file_share"
"#;

/// Fields drop in order: Prosody is stopped before its directory goes.
struct Live {
    prosody: Prosody,
    state: StateDir,
    ports: Ports,
    cert: CertFiles,
    _tmp: tempfile::TempDir,
}

impl Live {
    /// A server with the default `password_hash` (SHA-1).
    fn start() -> Live {
        Live::start_with(None)
    }

    /// A server whose accounts are stored with `password_hash` (if given).
    /// Retried (fresh ports) if a port was taken between picking and binding.
    fn start_with(password_hash: Option<&str>) -> Live {
        pfe_testkit::start_retrying(|| Live::try_start(password_hash))
    }

    fn try_start(password_hash: Option<&str>) -> Result<Live, ServerError> {
        let t = Instant::now();
        let tmp = tempfile::tempdir().expect("tempdir");
        let state = StateDir::create(tmp.path().join("state"))?;
        let ports = Ports::pick()?;
        let cert = server::generate_cert(
            &state.certs_dir(),
            DOMAIN,
            &["conference.localhost", "upload.localhost"],
        )?;
        let mut overrides = server::loopback_overrides(&state, &ports);
        if let Some(h) = password_hash {
            overrides.push(("password_hash".into(), server::lua_string(h)));
        }
        let text = server::apply_overrides(CONFIG, &overrides);
        let config = state.write_config(&text)?;
        server::create_user(&config, USER, PASSWORD)?;
        let mut opts = StartOptions::new(&state, &ports);
        opts.kill_with_parent = true;
        opts.also_wait = vec![Ports::addr(ports.http), Ports::addr(ports.c2s_direct_tls)];
        let prosody = server::start(&config, &opts)?;
        eprintln!(
            "TIMING prosody start (cert+config+user+listen): {} ms",
            t.elapsed().as_millis()
        );
        Ok(Live {
            prosody,
            state,
            ports,
            cert,
            _tmp: tmp,
        })
    }

    fn c2s(&self) -> String {
        format!("127.0.0.1:{}", self.ports.c2s)
    }

    fn cfg(&self, mode: TlsMode, password: &str) -> ClientConfig {
        let port = match mode {
            TlsMode::StartTls => self.ports.c2s,
            TlsMode::DirectTls => self.ports.c2s_direct_tls,
        };
        let mut c = ClientConfig::new(
            format!("127.0.0.1:{port}"),
            USER,
            password,
            mode,
            TlsVerify::CaFile(self.cert.cert.clone()),
        );
        c.resource = Some("pfe-test".into());
        c.timeouts = Timeouts {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(10),
            overall: Duration::from_secs(30),
        };
        c
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.state.log_path()).unwrap_or_default()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- prosody log tail ---\n{}", self.prosody.log_tail(40));
        }
    }
}

#[tokio::test]
async fn live_full_session_starttls_scram_sha256_disco() {
    let live = Live::start_with(Some("SHA-256"));
    let t0 = Instant::now();
    let mut c = Client::connect(live.cfg(TlsMode::StartTls, PASSWORD))
        .await
        .unwrap();

    let t_connect = t0.elapsed();

    // Before TLS: STARTTLS required, no PLAIN (nor any mechanism) offered.
    let pre = c.features_pre_tls().unwrap().clone();
    assert!(pre.starttls && pre.starttls_required, "{}", pre.summary());
    assert!(
        !pre.sasl_mechanisms.iter().any(|m| m == "PLAIN"),
        "PLAIN offered before TLS: {}",
        pre.summary()
    );
    assert!(!pre.has_ns(NS_SASL2), "{}", pre.summary());

    // After TLS: SASL + SASL2 with inline Bind2 and FAST.
    let t = Instant::now();
    let post = c.starttls().await.unwrap().clone();
    let t_tls = t.elapsed();
    assert!(c.is_encrypted());
    assert!(!post.starttls);
    for m in ["SCRAM-SHA-256", "PLAIN"] {
        assert!(
            post.sasl_mechanisms.iter().any(|x| x == m),
            "{}",
            post.summary()
        );
    }
    assert!(post.has(NS_SASL2, "authentication"), "{}", post.summary());
    assert!(!post.sasl2_mechanisms.is_empty(), "{}", post.summary());
    assert!(post.has_sasl2_inline(NS_BIND2), "{}", post.summary());
    assert!(post.has_sasl2_inline(NS_FAST), "{}", post.summary());

    // SCRAM-SHA-256 (server signature verified), then post-auth features.
    let t = Instant::now();
    let auth = c
        .authenticate(Some(Mechanism::ScramSha256))
        .await
        .unwrap()
        .clone();
    assert_eq!(c.mechanism(), Some(Mechanism::ScramSha256));
    assert!(auth.has(NS_SM, "sm"), "{}", auth.summary());
    assert!(auth.has(NS_CSI, "csi"), "{}", auth.summary());
    let t_auth = t.elapsed();
    let jid = c.bind().await.unwrap();
    assert_eq!(jid, "alice@localhost/pfe-test");
    let t_bound = t0.elapsed();

    // Five disco queries.
    let server = c.disco_info(DOMAIN, None).await.unwrap();
    for f in [
        "urn:xmpp:carbons:2",
        "urn:xmpp:blocking",
        "msgoffline",
        "vcard-temp",
        "urn:xmpp:extdisco:2",
    ] {
        assert!(
            server.has_feature(f),
            "server lacks {f}: {:?}",
            server.features
        );
    }
    assert!(
        server.has_identity("server", Some("im")),
        "{:?}",
        server.identities
    );
    let account = c.disco_info(USER, None).await.unwrap();
    assert!(
        account.has_feature("urn:xmpp:mam:2"),
        "{:?}",
        account.features
    );
    let items = c.disco_items(DOMAIN, None).await.unwrap();
    let jids: Vec<&str> = items.iter().map(|i| i.jid.as_str()).collect();
    assert!(jids.contains(&"conference.localhost"), "{jids:?}");
    assert!(jids.contains(&"upload.localhost"), "{jids:?}");
    let muc = c.disco_info("conference.localhost", None).await.unwrap();
    assert!(
        muc.has_identity("conference", Some("text")),
        "{:?}",
        muc.identities
    );
    assert!(
        muc.has_feature("http://jabber.org/protocol/muc"),
        "{:?}",
        muc.features
    );
    let upload = c.disco_info("upload.localhost", None).await.unwrap();
    assert!(
        upload.has_feature("urn:xmpp:http:upload:0"),
        "{:?}",
        upload.features
    );
    let t_disco = t0.elapsed();

    // XEP-0215: the static STUN service.
    let services = c.external_services(DOMAIN).await.unwrap();
    assert!(
        services.iter().any(|s| s.kind == "stun"
            && s.host == "127.0.0.1"
            && s.port == Some(3478)
            && s.transport.as_deref() == Some("udp")),
        "{services:?}"
    );
    c.close().await;

    // The same session again on the now warm server, timed end to end.
    let t = Instant::now();
    let mut c = Client::login(
        live.cfg(TlsMode::StartTls, PASSWORD),
        Some(Mechanism::ScramSha256),
    )
    .await
    .unwrap();
    let t_warm_bound = t.elapsed();
    for (to, node) in [
        (DOMAIN, None),
        (USER, None),
        ("conference.localhost", None),
        ("upload.localhost", None),
    ] {
        c.disco_info(to, node).await.unwrap();
    }
    c.disco_items(DOMAIN, None).await.unwrap();
    let t_warm = t.elapsed();
    c.close().await;
    eprintln!(
        "TIMING warm full session connect→STARTTLS→SCRAM-SHA-256→bind: {} ms; +5 disco queries: {} ms",
        t_warm_bound.as_millis(),
        t_warm.as_millis()
    );
    eprintln!(
        "TIMING full session connect→STARTTLS→SCRAM-SHA-256→bind: {} ms \
         (connect+features {} ms, STARTTLS {} ms, SCRAM+restart {} ms); +5 disco queries: {} ms",
        t_bound.as_millis(),
        t_connect.as_millis(),
        t_tls.as_millis(),
        t_auth.as_millis(),
        t_disco.as_millis()
    );
}

#[tokio::test]
async fn live_scram_sha1_direct_tls_and_wrong_password() {
    let live = Live::start();
    let t = Instant::now();
    let c = Client::login(
        live.cfg(TlsMode::DirectTls, PASSWORD),
        Some(Mechanism::ScramSha1),
    )
    .await
    .unwrap();
    eprintln!(
        "TIMING direct TLS + SCRAM-SHA-1 login: {} ms",
        t.elapsed().as_millis()
    );
    assert!(c.features_pre_tls().is_none());
    let post = c.features_post_tls().unwrap();
    assert!(post.has(NS_SASL2, "authentication"), "{}", post.summary());
    assert_eq!(c.mechanism(), Some(Mechanism::ScramSha1));
    assert!(c.bound_jid().unwrap().starts_with("alice@localhost/"));
    c.close().await;

    let c = Client::login(
        live.cfg(TlsMode::StartTls, PASSWORD),
        Some(Mechanism::ScramSha1),
    )
    .await
    .unwrap();
    assert_eq!(c.mechanism(), Some(Mechanism::ScramSha1));
    c.close().await;

    let c = Client::login(
        live.cfg(TlsMode::StartTls, PASSWORD),
        Some(Mechanism::Plain),
    )
    .await
    .unwrap();
    assert_eq!(c.mechanism(), Some(Mechanism::Plain));
    c.close().await;

    let err = Client::login(
        live.cfg(TlsMode::StartTls, "wrong"),
        Some(Mechanism::ScramSha1),
    )
    .await
    .err()
    .expect("wrong password must fail");
    match &err {
        Error::AuthFailed {
            mechanism,
            condition,
            ..
        } => {
            assert_eq!(mechanism, "SCRAM-SHA-1");
            assert_eq!(condition, "not-authorized");
        }
        e => panic!("{e}"),
    }
}

#[tokio::test]
async fn live_cleartext_auth_refused_and_registration_closed() {
    let live = Live::start();
    let mut c = Client::connect(live.cfg(TlsMode::StartTls, PASSWORD))
        .await
        .unwrap();
    let probe = c.probe_cleartext_auth().await.unwrap();
    assert!(probe.refused(), "{probe:?}");
    assert!(
        !probe.offered_mechanisms.iter().any(|m| m == "PLAIN"),
        "{probe:?}"
    );
    assert_eq!(
        probe.response,
        CleartextAuthResponse::Failure {
            condition: "encryption-required".into(),
            text: None
        },
        "{probe:?}"
    );
    // PLAIN is never sent on the cleartext stream, whatever is asked.
    let err = c.authenticate(Some(Mechanism::Plain)).await.unwrap_err();
    assert!(matches!(err, Error::PlainOverCleartext), "{err}");
    drop(c);

    let mut c = Client::connect(live.cfg(TlsMode::StartTls, PASSWORD))
        .await
        .unwrap();
    c.starttls().await.unwrap();
    let reg = c.registration().await.unwrap();
    assert!(!reg.feature_advertised, "{reg:?}");
    assert!(!reg.is_open(), "registration must be closed: {reg:?}");
    eprintln!("registration answer: {reg:?}");
    c.close().await;
}

#[tokio::test]
async fn live_healthcheck_and_http_probes() {
    let live = Live::start();
    let before = live.log().len();
    let r = xmpp::healthcheck(&live.c2s(), DOMAIN, Duration::from_secs(5))
        .await
        .unwrap();
    eprintln!(
        "TIMING healthcheck (STARTTLS port): {} ms",
        r.elapsed.as_millis()
    );
    // How fast is the benchmarks' business (scripts/bench-check.sh); a
    // loaded CI machine must not fail a test over it.
    assert!(r.features.starttls_required, "{}", r.features.summary());
    assert!(r.stream_id.is_some());

    let tls_addr = format!("127.0.0.1:{}", live.ports.c2s_direct_tls);
    let verify = TlsVerify::CaFile(live.cert.cert.clone());
    let r = xmpp::healthcheck_tls(&tls_addr, DOMAIN, &verify, Duration::from_secs(5))
        .await
        .unwrap();
    eprintln!(
        "TIMING healthcheck (direct TLS port): {} ms",
        r.elapsed.as_millis()
    );
    assert!(
        r.features.has(NS_SASL2, "authentication"),
        "{}",
        r.features.summary()
    );

    // STARTTLS healthcheck: the encrypted stream's features come back.
    let r = xmpp::healthcheck_starttls(&live.c2s(), DOMAIN, &verify, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(!r.features.starttls, "{}", r.features.summary());
    assert!(
        r.features.sasl_mechanisms.iter().any(|m| m == "PLAIN"),
        "{}",
        r.features.summary()
    );
    // A CA that did not sign the server's certificate: refused.
    let other = tempfile::tempdir().unwrap();
    let wrong = TlsVerify::CaFile(
        server::generate_cert(other.path(), DOMAIN, &[])
            .unwrap()
            .cert,
    );
    assert!(
        xmpp::healthcheck_starttls(&live.c2s(), DOMAIN, &wrong, Duration::from_secs(5))
            .await
            .is_err()
    );

    // A polite close leaves nothing above info in Prosody's log.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = live.log();
    let new = &log[before.min(log.len())..];
    for line in new.lines() {
        assert!(
            !line.contains("\twarn\t") && !line.contains("\terror\t"),
            "healthcheck caused a warning: {line}\n{new}"
        );
    }

    let http = format!("127.0.0.1:{}", live.ports.http);
    let bosh = xmpp::http_get(
        &http,
        DOMAIN,
        "/http-bind",
        &[],
        None,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    eprintln!(
        "TIMING HTTP GET /http-bind: {} ms",
        bosh.elapsed.as_millis()
    );
    assert_eq!(bosh.status, 200, "{bosh:?}");

    let ws = xmpp::websocket_probe(
        &http,
        DOMAIN,
        "/xmpp-websocket",
        None,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert!(ws.upgraded(), "{ws:?}");
    assert_eq!(ws.protocol.as_deref(), Some("xmpp"), "{ws:?}");

    let https = format!("127.0.0.1:{}", live.ports.https);
    let bosh_tls = xmpp::http_get(
        &https,
        DOMAIN,
        "/http-bind",
        &[],
        Some(&verify),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(bosh_tls.status, 200, "{bosh_tls:?}");

    let host_meta = xmpp::http_get(
        &http,
        DOMAIN,
        "/.well-known/host-meta",
        &[],
        None,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(host_meta.status, 200, "{host_meta:?}");
    assert_eq!(
        host_meta.header("content-type"),
        Some("application/xrd+xml"),
        "{host_meta:?}"
    );

    let missing = xmpp::http_get(
        &http,
        DOMAIN,
        "/no-such-path",
        &[],
        None,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(missing.status, 404, "{missing:?}");
}

#[tokio::test]
async fn live_wrong_ca_is_rejected() {
    let live = Live::start();
    let other = tempfile::tempdir().unwrap();
    let other_cert = server::generate_cert(other.path(), DOMAIN, &[]).unwrap();
    let mut cfg = live.cfg(TlsMode::StartTls, PASSWORD);
    cfg.tls_verify = TlsVerify::CaFile(other_cert.cert);
    let mut c = Client::connect(cfg).await.unwrap();
    let err = c.starttls().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Tls {
                stage: Stage::TlsHandshake,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("certificate"), "{err}");

    let mut cfg = live.cfg(TlsMode::StartTls, PASSWORD);
    cfg.tls_verify = TlsVerify::InsecureAcceptAny;
    let c = Client::login(cfg, None).await.unwrap();
    assert_eq!(c.mechanism(), Some(Mechanism::ScramSha1));
    c.close().await;
}

fn support(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(name)
}

#[test]
fn live_slixmpp_cross_check() {
    let live = Live::start();
    let mut child = Command::new("python3")
        .arg(support("slixmpp_login.py"))
        .args([USER, PASSWORD, "127.0.0.1", &live.ports.c2s.to_string()])
        .arg(&live.cert.cert)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (with slixmpp: python3 -m pip install slixmpp)");
    let deadline = Instant::now() + Duration::from_secs(40);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("SESSION_STARTED alice@localhost/"),
        "slixmpp login failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

#[tokio::test]
async fn garbage_server_fails_within_timeout() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let _ = s.write_all(b"\x16\x03\x01\x00garbage<<>>&&\r\n").await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    let t = Instant::now();
    let err = xmpp::healthcheck(&addr, DOMAIN, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(matches!(err, Error::Xml { .. }), "{err}");

    let mut cfg = ClientConfig::new(
        &addr,
        USER,
        PASSWORD,
        TlsMode::StartTls,
        TlsVerify::InsecureAcceptAny,
    );
    cfg.timeouts = Timeouts::all(Duration::from_secs(3));
    let err = Client::login(cfg, None).await.err().unwrap();
    assert!(
        matches!(
            err,
            Error::Xml {
                stage: Stage::StreamHeader,
                ..
            }
        ),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
}

#[tokio::test]
async fn silent_server_times_out_within_deadline() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let t = Instant::now();
    let err = xmpp::healthcheck(&addr, DOMAIN, Duration::from_secs(2))
        .await
        .unwrap_err();
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert!(matches!(err, Error::Timeout { .. }), "{err}");

    let mut cfg = ClientConfig::new(
        &addr,
        USER,
        PASSWORD,
        TlsMode::DirectTls,
        TlsVerify::InsecureAcceptAny,
    );
    cfg.timeouts = Timeouts::all(Duration::from_secs(2));
    let t = Instant::now();
    let err = Client::login(cfg, None).await.err().unwrap();
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert!(
        matches!(
            err,
            Error::Timeout {
                stage: Stage::TlsHandshake,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn server_start_fails_fast_with_log_tail_on_bad_config() {
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path()).unwrap();
    let ports = Ports::pick().unwrap();
    let text = server::apply_overrides(
        "VirtualHost \"localhost\"\nthis is not lua (\n",
        &server::loopback_overrides(&state, &ports),
    );
    let config = state.write_config(&text).unwrap();
    let t = Instant::now();
    let err = server::start(&config, &StartOptions::new(&state, &ports)).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    match &err {
        ServerError::EarlyExit { log_tail, .. } => {
            assert!(log_tail.to_lowercase().contains("error"), "{err}")
        }
        e => panic!("{e}"),
    }
}

#[test]
fn server_drop_stops_prosody_and_clears_pid() {
    let live = Live::start();
    let pid = live.prosody.pid();
    assert!(pid > 0);
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let pidfile = std::fs::read_to_string(live.state.pid_path()).unwrap_or_default();
    assert_eq!(pidfile.trim(), pid.to_string(), "pidfile");
    let t = Instant::now();
    drop(live);
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "prosody {pid} still running"
    );
}
