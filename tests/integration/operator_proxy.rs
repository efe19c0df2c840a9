//! `pfe proxy nginx` in front of a real Prosody, through a real nginx on
//! loopback terminating TLS (as in production: Prosody offers BOSH and
//! WebSocket clients SASL only on a secure request, which X-Forwarded-Proto
//! from a trusted proxy makes it): `pfe check --https` through nginx passes
//! every HTTP promise
//! (BOSH, WebSocket, host-meta, an XEP-0363 upload to the slot URL the
//! external URL gives); a body just under Prosody's upload limit passes
//! nginx; with nginx's limit set below Prosody's, nginx refuses it (413)
//! and `pfe proxy nginx --verify` names the mismatch.

use std::time::Duration;

use pfe_core::catalog::Catalog;
use pfe_core::engine::{self, Request};
use pfe_probe::xmpp::{self, HttpRequest, TlsVerify};
use pfe_run::server::{self, Ports, StartOptions, StateDir};
use pfe_testkit::pfe;
use pfe_testkit::services::nginx::Nginx;

const USER: &str = "alice@localhost";
const PASSWORD: &str = "correct horse";
const LIMIT: u64 = 300_000;

/// A PUT of `size` bytes through nginx (TLS) to the upload path; the status.
fn put(port: u16, size: u64) -> u16 {
    let body = vec![b'x'; size as usize];
    let req = HttpRequest {
        method: "PUT",
        path: "/file_share/not-a-slot/x.txt",
        host: "localhost",
        headers: &[("Content-Type", "text/plain")],
        body: Some(&body),
    };
    let addr = format!("127.0.0.1:{port}");
    let verify = TlsVerify::InsecureAcceptAny;
    let sent = xmpp::http_request(&addr, &req, Some(&verify), Duration::from_secs(10), None);
    pfe_probe::block_on(sent)
        .unwrap()
        .unwrap_or_else(|e| panic!("PUT through nginx: {e}"))
        .response
        .status
}

#[test]
fn nginx_from_pfe_proxy_carries_every_http_promise() {
    // nginx first (it leases its port), then Prosody told that URL.
    let mut nginx = Nginx::start("server { listen 127.0.0.1:@PORT@; return 204; }")
        .unwrap_or_else(|e| panic!("{}", e.message()));
    let external = format!("https://localhost:{}/", nginx.port());

    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path().join("state")).unwrap();
    let ports = Ports::pick().unwrap();
    let cert = server::generate_cert(
        &state.certs_dir(),
        "localhost",
        &["conference.localhost", "upload.localhost"],
    )
    .unwrap();
    let limit_set = format!("upload:http_file_share_size_limit={LIMIT}");
    let mut req = Request::new("standard", "development");
    req.domain = Some("localhost".into());
    req.env
        .insert("PROSODY_HTTP_EXTERNAL_URL".into(), external.clone());
    req.sets = server::loopback_overrides(&state, &ports)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    req.sets.push("anti_spam_services={}".into());
    req.sets.push(limit_set.clone());
    let build = engine::build(&Catalog::builtin(), &req).unwrap();
    let config = state.write_config(&build.config).unwrap();
    server::create_user(&config, USER, PASSWORD).unwrap();
    let mut opts = StartOptions::new(&state, &ports);
    opts.kill_with_parent = true;
    opts.also_wait = vec![Ports::addr(ports.http)];
    let prosody = server::start(&config, &opts).unwrap();

    let proxy = |extra: &[&str]| {
        let out = pfe()
            .args([
                "proxy",
                "nginx",
                "standard",
                "development",
                "--domain",
                "localhost",
            ])
            .args(["--set", &limit_set, "--listen", "127.0.0.1:@PORT@"])
            .args(["--certificate", &cert.cert.to_string_lossy()])
            .args(["--key", &cert.key.to_string_lossy()])
            .args(["--upstream", &format!("127.0.0.1:{}", ports.http)])
            .args(extra)
            .env("PROSODY_HTTP_EXTERNAL_URL", &external)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, block) = proxy(&[]);
    assert_eq!(code, Some(0), "{block}");
    assert!(
        block.contains(&format!("client_max_body_size {LIMIT};")),
        "{block}"
    );
    assert!(block.contains("proxy_read_timeout 150s;"), "{block}");
    nginx
        .reload_with(&block)
        .unwrap_or_else(|e| panic!("{}\n{block}", e.message()));

    let check = pfe()
        .args([
            "check",
            "--server",
            &ports.c2s_addr().to_string(),
            "--jid",
            USER,
        ])
        .args([
            "--profile",
            "standard",
            "--env",
            "development",
            "--insecure",
        ])
        .args(["--http", &format!("127.0.0.1:{}", nginx.port()), "--https"])
        .args(["--alt-port", &ports.c2s_direct_tls.to_string()])
        .env("PFE_CHECK_PASSWORD", PASSWORD)
        .env("PROSODY_HTTP_EXTERNAL_URL", &external)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(
        check.status.success(),
        "{report}{}\n{}\n{}",
        String::from_utf8_lossy(&check.stderr),
        nginx.log_tail(),
        prosody.log_tail(30)
    );
    for row in ["XEP-0124", "XEP-0206", "XEP-0156", "RFC 7395", "XEP-0363"] {
        let line = report
            .lines()
            .find(|l| l.contains(row))
            .unwrap_or_else(|| panic!("{row} missing:\n{report}"));
        assert!(line.contains("pass"), "{line}\n{report}");
    }
    // The URLs Prosody hands out (upload slot, host-meta links) name nginx
    // and answer there from the client's side.
    let urls: Vec<&str> = report
        .lines()
        .filter(|l| l.contains(pfe_probe::check::urls::SPEC))
        .collect();
    assert!(
        urls.len() >= 3,
        "upload PUT, GET and a host-meta link:\n{report}"
    );
    for line in &urls {
        assert!(
            line.starts_with("pass")
                && line.contains(&format!("://localhost:{}/", nginx.port()))
                && line.contains(&format!("under http_external_url {external}")),
            "{line}\n{report}"
        );
    }
    // Through nginx the access log saw each of them.
    let access = std::fs::read_to_string(nginx.access_log_path()).unwrap_or_default();
    for path in [
        "/http-bind",
        "/xmpp-websocket",
        "/.well-known/host-meta",
        "/file_share/",
    ] {
        assert!(access.contains(path), "{path} not proxied:\n{access}");
    }

    // Just under Prosody's limit: nginx passes it on (Prosody answers the
    // made-up slot itself, not with nginx's 413).
    let status = put(nginx.port(), LIMIT - 1);
    assert_ne!(status, 413, "nginx refused a body under Prosody's limit");
    let file = tmp.path().join("nginx.conf");
    std::fs::write(&file, &block).unwrap();
    let (code, text) = proxy(&["--verify", &file.to_string_lossy()]);
    assert_eq!(code, Some(0), "{text}");

    // nginx's limit below Prosody's: nginx refuses, pfe names it.
    let low = block.replace(
        &format!("client_max_body_size {LIMIT};"),
        "client_max_body_size 100k;",
    );
    nginx
        .reload_with(&low)
        .unwrap_or_else(|e| panic!("{}", e.message()));
    let status = put(nginx.port(), LIMIT - 1);
    assert_eq!(status, 413, "nginx's lower limit must refuse the body");
    std::fs::write(&file, &low).unwrap();
    let (code, text) = proxy(&["--verify", &file.to_string_lossy()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "uploads: nginx's client_max_body_size (102400 bytes) is below Prosody's http_file_share_size_limit of upload.localhost ({LIMIT} bytes)"
        )),
        "{text}"
    );
    drop(prosody);
}

/// `http_external_url` naming a port where nothing listens: every URL the
/// server hands out (upload slot, host-meta links) fails, naming it, while
/// the server's own HTTP port still works.
#[test]
fn http_external_url_where_nothing_listens_fails_naming_the_url() {
    use crate::operator_live::{PASSWORD, Setup, dev, good_certs, start_server, text};
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    let dead = format!("http://localhost:{port}/");
    drop(closed);
    let s = start_server(
        Setup {
            vars: vec![("PROSODY_HTTP_EXTERNAL_URL".into(), dead.clone())],
            ..dev()
        },
        good_certs,
    );
    let r = s
        .check(TlsVerify::InsecureAcceptAny, false, PASSWORD)
        .unwrap_or_else(|e| panic!("{e}\n{}", s.prosody.log_tail(30)));
    let rows: Vec<String> = r
        .rows
        .iter()
        .filter(|row| row.promise.xep == pfe_probe::check::urls::SPEC)
        .map(text)
        .collect();
    assert!(rows.len() >= 3, "{}", r.render_text());
    for row in &rows {
        assert!(
            row.starts_with("FAIL")
                && row.contains(&format!("://localhost:{port}/"))
                && row.contains("does not answer from here"),
            "{row}"
        );
    }
    assert!(r.failed());
}

/// No input breaks out of a directive: a newline, `;`, `}` or `$` in a flag
/// or in the external URL is refused, naming it, or quoted whole.
#[test]
fn hostile_values_never_become_nginx_directives() {
    let run = |url: &str, extra: &[&str]| {
        let out = pfe()
            .args([
                "proxy",
                "nginx",
                "standard",
                "development",
                "--domain",
                "localhost",
            ])
            .args(extra)
            .env("PROSODY_HTTP_EXTERNAL_URL", url)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = run("http://x.org/", &["--listen", "80;\n}\nserver { listen 81"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--listen") && err.contains("control characters"),
        "{err}"
    );
    let (code, _, err) = run("https://x.org/", &["--certificate", "/c/$host.crt"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--certificate") && err.contains("nginx expands $"),
        "{err}"
    );
    // A path with nginx syntax in it stays one quoted location path.
    let (code, out, err) = run("http://x.org/a;b}", &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("location \"/a;b}/http-bind\" {"), "{out}");
    assert_eq!(pfe_deploy::nginx::parse(&out).unwrap().len(), 1, "{out}");
    let (code, out, err) = run("https://x.org/", &["--key", "/k/a b;}{.key"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("ssl_certificate_key \"/k/a b;}{.key\";"),
        "{out}"
    );
    let tree = pfe_deploy::nginx::parse(&out).unwrap();
    assert_eq!(tree.len(), 1, "one server block:\n{out}");
}
