//! Several hosts in the model: standard/production for two domains renders
//! a VirtualHost and the per-domain components (conference., upload.,
//! proxy.) for each, `--set HOST:KEY` reaches one host and
//! `--set conference:KEY` every domain's MUC, and an operator's
//! local.cfg.lua adds components with any name and module, external ones
//! with their secret as `Credential`/`ENV_`, and one with its own
//! modules_enabled. The file passes `prosodyctl check config`, a real
//! Prosody 13 started from it (self-signed certificates for every served
//! name, as `pfe run` makes them) lets an account of each domain log in
//! with that domain's certificate, and the second domain's components
//! answer disco. The same server built for one domain refuses the second
//! domain's account: the login row can fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use pfe_core::catalog::Catalog;
use pfe_core::engine::{self, Build, Request};
use pfe_probe::xmpp::{Client, ClientConfig, TlsMode, TlsVerify};
use pfe_run::server::{self, Ports, Prosody, ServerError, StartOptions, StateDir};
use pfe_testkit::pfe;

const A: &str = "localhost";
const B: &str = "pfe-b.test";
const ALICE: &str = "alice@localhost";
const BOB: &str = "bob@pfe-b.test";
const PASSWORD: &str = "correct horse";
const COMPONENT_SECRET: &str = "pfe-test-gateway-secret";

/// The operator's tree: components no feature knows, one external with
/// its secret from a credential, one with an `ENV_` secret, a MUC with a
/// name of its own and its own modules, and a per-host option.
const LOCAL: &str = r#"-- operator additions
Component "gateway.localhost"
    component_secret = Credential("component_secret")
Component "irc.pfe-b.test"
    component_secret = ENV_PFE_TEST_IRC_SECRET
Component "rooms.pfe-b.test" "muc"
    modules_enabled = { "muc_mam" }
    name = "B's other rooms"
VirtualHost "pfe-b.test"
    motd_text = "welcome to b"
"#;

/// The built-in catalog with the operator's local.cfg.lua ([`LOCAL`]) in
/// `dir`, or without any tree.
fn catalog(dir: Option<&Path>) -> Catalog {
    let Some(dir) = dir else {
        return Catalog::builtin();
    };
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("local.cfg.lua"), LOCAL).unwrap();
    Catalog::load(Some(dir)).unwrap_or_else(|e| panic!("{e:?}"))
}

fn request(state: &StateDir, ports: &Ports, domains: &[&str]) -> Request {
    let mut req = Request::new("standard", "production");
    req.domain = Some(domains[0].into());
    req.more_domains = domains[1..].iter().map(|d| d.to_string()).collect();
    req.sets = server::loopback_overrides(state, ports)
        .into_iter()
        .filter(|(k, _)| k != "daemonize")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    // No traffic off this machine: the anti-spam feature's default RTBL is remote.
    req.sets.push("anti_spam_services={}".into());
    req.sets.push("conference:max_history_messages=7".into());
    if domains.contains(&B) {
        req.sets
            .push(format!("{B}:welcome_message=\"hello from b\""));
    }
    req
}

fn build(catalog: &Catalog, req: &Request) -> Build {
    engine::build(catalog, req).unwrap_or_else(|e| panic!("{e:?}"))
}

/// `prosodyctl check config` with the credentials the config reads.
fn check_config(config: &Path, creds: &Path) -> (bool, String) {
    let out = Command::new("prosodyctl")
        .arg("--config")
        .arg(config)
        .args(["check", "config"])
        .env("CREDENTIALS_DIRECTORY", creds)
        .env("PFE_TEST_IRC_SECRET", "irc-secret")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (
        out.status.success() && text.contains("All checks passed"),
        text,
    )
}

fn section<'a>(config: &'a str, header: &str) -> &'a str {
    let start = config
        .find(header)
        .unwrap_or_else(|| panic!("no {header} in\n{config}"));
    let rest = &config[start..];
    let end = rest[1..].find("\n----------").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

#[test]
fn two_domains_render_every_host_and_load_in_prosody() {
    pfe_testkit::require_prosody();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path().join("state")).unwrap();
    let ports = Ports::pick().unwrap();
    let cat = catalog(Some(&tmp.path().join("catalog")));
    let b = build(&cat, &request(&state, &ports, &[A, B]));
    let c = &b.config;
    assert_eq!(b.domains, [A, B]);
    assert!(
        c.starts_with("-- prosody.cfg.lua for localhost, pfe-b.test — "),
        "{c}"
    );
    for d in [A, B] {
        assert!(c.contains(&format!("\nVirtualHost \"{d}\"\n")), "{d}: {c}");
        assert!(
            c.contains(&format!("\nComponent \"conference.{d}\" \"muc\"\n")),
            "{d}: {c}"
        );
        assert!(
            c.contains(&format!("\nComponent \"upload.{d}\" \"http_file_share\"\n")),
            "{d}: {c}"
        );
        // The same feature settings on every domain's component, and
        // `--set conference:` on each.
        let muc = section(c, &format!("Component \"conference.{d}\""));
        assert!(muc.contains("restrict_room_creation = \"local\""), "{muc}");
        assert!(muc.contains("max_history_messages = 7"), "{muc}");
        assert!(muc.contains("\"muc_mam\";"), "{muc}");
    }
    // The primary first, then the second domain with its own options only.
    assert!(c.find("VirtualHost \"localhost\"") < c.find("VirtualHost \"pfe-b.test\""));
    let vb = section(c, "VirtualHost \"pfe-b.test\"");
    assert!(vb.contains("motd_text = \"welcome to b\""), "{vb}");
    assert!(vb.contains("welcome_message = \"hello from b\""), "{vb}");
    let va = section(c, "VirtualHost \"localhost\"");
    assert!(!va.contains("welcome"), "{va}");
    // Components with any name and module, secrets as references.
    let gw = section(c, "Component \"gateway.localhost\"");
    assert!(
        gw.contains("component_secret = Credential(\"component_secret\")"),
        "{gw}"
    );
    let irc = section(c, "Component \"irc.pfe-b.test\"");
    assert!(
        irc.contains("component_secret = ENV_PFE_TEST_IRC_SECRET"),
        "{irc}"
    );
    let rooms = section(c, "Component \"rooms.pfe-b.test\" \"muc\"");
    assert!(rooms.contains("modules_enabled = {"), "{rooms}");
    assert!(rooms.contains("\"muc_mam\";"), "{rooms}");
    assert!(!c.contains(COMPONENT_SECRET) && !c.contains("irc-secret"));

    let config = state.write_config(c).unwrap();
    let creds = tmp.path().join("credentials");
    std::fs::create_dir_all(&creds).unwrap();
    std::fs::write(creds.join("component_secret"), COMPONENT_SECRET).unwrap();
    let (ok, text) = check_config(&config, &creds);
    assert!(ok, "prosodyctl check config:\n{text}\n{c}");
}

/// A server for `domains` with an account on each, and the certificate
/// file of each domain's root.
struct Server {
    prosody: Prosody,
    ports: Ports,
    certs: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Server {
    /// Standard/production for `domains`, with the operator's tree when
    /// `local`.
    fn start(domains: &[&str], local: bool) -> Server {
        pfe_testkit::start_retrying(|| Server::try_start(domains, local))
    }

    fn try_start(domains: &[&str], local: bool) -> Result<Server, ServerError> {
        let tmp = tempfile::tempdir().expect("tempdir");
        let state = StateDir::create(tmp.path().join("state"))?;
        let ports = Ports::pick()?;
        let dir = tmp.path().join("catalog");
        let cat = catalog(local.then_some(dir.as_path()));
        let b = build(&cat, &request(&state, &ports, domains));
        // As `pfe run` does: one certificate per served name that is not
        // under another, naming the ones under it.
        let roots = server::certificate_roots(&server::served_hosts(&b.evaluated));
        for (root, subs) in &roots {
            let subs: Vec<&str> = subs.iter().map(String::as_str).collect();
            server::generate_cert(&state.certs_dir(), root, &subs)?;
        }
        let config = state.write_config(&b.config)?;
        for jid in [ALICE, BOB] {
            if domains.contains(&jid.split_once('@').unwrap().1) {
                server::create_user(&config, jid, PASSWORD)?;
            }
        }
        let creds = tmp.path().join("credentials");
        std::fs::create_dir_all(&creds).unwrap();
        std::fs::write(creds.join("component_secret"), COMPONENT_SECRET).unwrap();
        let mut opts = StartOptions::new(&state, &ports);
        opts.kill_with_parent = true;
        opts.env = vec![
            (
                "CREDENTIALS_DIRECTORY".into(),
                creds.to_string_lossy().into_owned(),
            ),
            ("PFE_TEST_IRC_SECRET".into(), "irc-secret".into()),
        ];
        let prosody = server::start(&config, &opts)?;
        Ok(Server {
            prosody,
            ports,
            certs: state.certs_dir(),
            _tmp: tmp,
        })
    }

    /// Logs in as `jid`, trusting only its domain's certificate; the bound
    /// JID and what disco#items of the domain lists.
    fn login(&self, jid: &str) -> Result<(String, Vec<String>), String> {
        let domain = jid.split_once('@').unwrap().1;
        // A domain the server does not serve has no certificate: trust the
        // primary one's, so that a refusal is the server's, not TLS trust.
        let ca = [domain, A]
            .iter()
            .map(|d| self.certs.join(format!("{d}.crt")))
            .find(|p| p.exists())
            .expect("a certificate");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let cfg = ClientConfig::new(
                self.ports.c2s_addr().to_string(),
                jid,
                PASSWORD,
                TlsMode::StartTls,
                TlsVerify::CaFile(ca),
            );
            let mut c = Client::login(cfg, None).await.map_err(|e| e.to_string())?;
            let bound = c.bound_jid().unwrap_or_default().to_string();
            let items = c
                .disco_items(domain, None)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|i| i.jid)
                .collect();
            c.close().await;
            Ok((bound, items))
        })
    }
}

#[test]
fn an_account_of_each_domain_logs_in_with_its_certificate() {
    let s = Server::start(&[A, B], true);
    for (jid, domain) in [(ALICE, A), (BOB, B)] {
        let (bound, items) = s
            .login(jid)
            .unwrap_or_else(|e| panic!("{jid}: {e}\n{}", s.prosody.log_tail(30)));
        assert!(
            bound.starts_with(&format!("{jid}/")),
            "{jid}: bound {bound}"
        );
        for sub in ["conference", "upload"] {
            let host = format!("{sub}.{domain}");
            assert!(items.contains(&host), "{jid}: disco#items {items:?}");
        }
    }
}

#[test]
fn a_server_for_one_domain_refuses_the_other_domains_account() {
    let s = Server::start(&[A], false);
    s.login(ALICE)
        .unwrap_or_else(|e| panic!("{ALICE}: {e}\n{}", s.prosody.log_tail(30)));
    let err = s.login(BOB).unwrap_err();
    eprintln!("one domain, {BOB}: {err}");
    assert!(err.contains("host-unknown"), "{err}");
}

/// The command line follows: `pfe dns` plans records for every domain,
/// `pfe certs` looks for a certificate for every served name.
#[test]
fn dns_and_certs_cover_every_domain() {
    let out = pfe()
        .args([
            "dns",
            "standard",
            "production",
            "--domain",
            "a.example",
            "--domain",
            "b.example",
            "--host-address",
            "192.0.2.1",
        ])
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{plan}");
    for d in ["a.example", "b.example"] {
        for srv in [
            "_xmpp-client._tcp",
            "_xmpps-client._tcp",
            "_xmpp-server._tcp",
        ] {
            assert!(
                plan.lines().any(
                    |l| l.starts_with(&format!("{srv}.{d}. ")) && l.contains(&format!(" {d}."))
                ),
                "{srv}.{d}: {plan}"
            );
        }
        let conference = format!("_xmpp-server._tcp.conference.{d}.");
        let fields = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert!(
            plan.lines().any(|l| fields(l).first() == Some(&conference)
                && fields(l).get(7) == Some(&format!("{d}."))),
            "{conference}: {plan}"
        );
        for host in [
            d.to_string(),
            format!("conference.{d}"),
            format!("upload.{d}"),
        ] {
            assert!(
                plan.lines().any(|l| fields(l)[..].starts_with(&[
                    format!("{host}."),
                    "3600".into(),
                    "IN".into(),
                    "A".into(),
                    "192.0.2.1".into()
                ])),
                "{host}: {plan}"
            );
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = pfe()
        .args(["certs", "standard", "production", "--json", "--dir"])
        .arg(tmp.path())
        .env("PROSODY_DOMAINS", "a.example, b.example")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let text = json.to_string();
    for name in [
        "a.example",
        "b.example",
        "conference.a.example",
        "conference.b.example",
        "upload.b.example",
    ] {
        assert!(text.contains(&format!("\"{name}\"")), "{name}: {text}");
    }
}

/// Generated deployments carry the list: compose and Kubernetes set
/// PROSODY_DOMAINS beside PROSODY_DOMAIN (the primary), the TLS Secret is
/// mounted for every domain, and a single domain stays PROSODY_DOMAIN alone.
#[test]
fn deployments_carry_the_domain_list() {
    use pfe_deploy::{compose, k8s};
    let req = |domains: &[&str]| {
        let mut r = Request::new("standard", "production");
        r.domain = Some(domains[0].into());
        r.more_domains = domains[1..].iter().map(|d| d.to_string()).collect();
        r
    };
    let file = |files: &[(String, String)], name: &str| {
        files
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .1
            .clone()
    };
    let cat = Catalog::builtin();
    let two = req(&["a.example", "b.example"]);
    let c = compose::render(&cat, &two, &compose::Options::default()).unwrap();
    let base = file(&c.files, "compose.yaml");
    assert!(
        base.contains("PROSODY_DOMAIN: ${PROSODY_DOMAIN:-a.example}\n"),
        "{base}"
    );
    assert!(
        base.contains("PROSODY_DOMAINS: ${PROSODY_DOMAINS:-a.example,b.example}\n"),
        "{base}"
    );
    assert!(
        base.contains("--domain a.example --domain b.example -o DIR"),
        "{base}"
    );
    let k = k8s::render(&cat, &two, &k8s::Options::default()).unwrap();
    let sts = file(&k.files, "statefulset.yaml");
    assert!(
        sts.contains("- name: PROSODY_DOMAINS\n              value: a.example,b.example\n"),
        "{sts}"
    );
    for d in ["a.example", "b.example"] {
        for ext in ["crt", "key"] {
            assert!(
                sts.contains(&format!("path: {d}.{ext}\n")),
                "{d}.{ext}: {sts}"
            );
        }
    }
    let config = file(&k.files, "configmap.yaml");
    for d in ["a.example", "b.example"] {
        assert!(config.contains(&format!("VirtualHost \"{d}\"")), "{config}");
    }
    let one = req(&["a.example"]);
    let c = compose::render(&cat, &one, &compose::Options::default()).unwrap();
    assert!(!file(&c.files, "compose.yaml").contains("PROSODY_DOMAINS"));
    let k = k8s::render(&cat, &one, &k8s::Options::default()).unwrap();
    assert!(!file(&k.files, "statefulset.yaml").contains("PROSODY_DOMAINS"));
}
