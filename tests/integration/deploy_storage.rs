//! Storage for real: `pfe entrypoint` with PROSODY_STORAGE=sqlite (the
//! default) and =postgres against a real PostgreSQL (Debian's binaries,
//! started on loopback by the test). A message is archived (XEP-0313 MAM),
//! Prosody is stopped with SIGTERM and started again by a new entrypoint,
//! and the message comes back from the archive: nothing lost, either backend.
//!
//! Secrets travel as a container gets them: the admin password through
//! PROSODY_ADMIN_PASSWORD_FILE, the database password as
//! $CREDENTIALS_DIRECTORY/db_password written with a trailing newline (the
//! entrypoint reshapes it for Prosody's Credential()).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pfe_probe::xmpp::xml::NS_CLIENT;
use pfe_probe::xmpp::{Client, ClientConfig, Element, IqType, Timeouts, TlsMode, TlsVerify};
use pfe_run::server::Ports;
use pfe_testkit::{Entrypoint, Postgres, certificate, container_env, port_clash, require_tool};

const DOMAIN: &str = "localhost";
const ADMIN: &str = "admin@localhost";
const ADMIN_PASSWORD: &str = "correct horse battery staple";
const NS_MAM: &str = "urn:xmpp:mam:2";
const NS_FORWARD: &str = "urn:xmpp:forward:0";
const NS_RSM: &str = "http://jabber.org/protocol/rsm";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn client_config(c2s: u16, ca: &Path) -> ClientConfig {
    let mut cfg = ClientConfig::new(
        format!("127.0.0.1:{c2s}"),
        ADMIN,
        ADMIN_PASSWORD,
        TlsMode::StartTls,
        TlsVerify::CaFile(ca.to_path_buf()),
    );
    cfg.resource = Some("persistence".into());
    cfg.timeouts = Timeouts {
        connect: Duration::from_secs(5),
        read: Duration::from_secs(15),
        overall: Duration::from_secs(60),
    };
    cfg
}

/// Sends a chat message to the account's own bare JID: Prosody archives it.
async fn send_to_self(client: &mut Client, body: &str) {
    let msg = Element::new("message", NS_CLIENT)
        .with_attr("to", ADMIN)
        .with_attr("type", "chat")
        .with_attr("id", "persist-1")
        .with_child(Element::new("body", NS_CLIENT).with_text(body));
    client.send(&msg).await.expect("send message");
    // A ping round-trip: once answered, the message before it was handled.
    client
        .iq(
            IqType::Get,
            Some(DOMAIN),
            Element::new("ping", "urn:xmpp:ping"),
        )
        .await
        .expect("ping after the message");
}

/// The bodies in the account's archive: a MAM query whose results arrive as
/// <message><result><forwarded> before the iq result (Client::iq would skip
/// them, so the query is sent and read here).
async fn archived_bodies(client: &mut Client) -> Vec<String> {
    let query = Element::new("iq", NS_CLIENT)
        .with_attr("type", "set")
        .with_attr("id", "mam-query-1")
        .with_child(Element::new("query", NS_MAM).with_attr("queryid", "q1"));
    client.send(&query).await.expect("send MAM query");
    let mut bodies = Vec::new();
    loop {
        let el = client.recv().await.expect("MAM results");
        if el.is("message", NS_CLIENT) {
            let Some(result) = el.child("result", NS_MAM) else {
                continue;
            };
            assert_eq!(result.attr("queryid"), Some("q1"), "{el}");
            let body = result
                .child("forwarded", NS_FORWARD)
                .and_then(|f| f.child("message", NS_CLIENT))
                .and_then(|m| m.child("body", NS_CLIENT))
                .map(|b| b.text.clone());
            bodies.extend(body);
        } else if el.is("iq", NS_CLIENT) && el.attr("id") == Some("mam-query-1") {
            assert_eq!(el.attr("type"), Some("result"), "MAM query failed: {el}");
            assert!(el.child("fin", NS_MAM).is_some(), "no <fin/>: {el}");
            return bodies;
        }
    }
}

/// The archive's size per MAM's result set count, through Client::iq (a
/// page of zero items: only the <fin/> with its RSM count comes back).
async fn archive_count(client: &mut Client) -> Option<u64> {
    let query = Element::new("query", NS_MAM)
        .with_attr("queryid", "count")
        .with_child(
            Element::new("set", NS_RSM).with_child(Element::new("max", NS_RSM).with_text("0")),
        );
    let resp = client
        .iq(IqType::Set, None, query)
        .await
        .expect("MAM count query");
    let fin = resp.child("fin", NS_MAM)?;
    fin.child("set", NS_RSM)?
        .child("count", NS_RSM)?
        .text
        .trim()
        .parse()
        .ok()
}

struct Setup {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    ca: PathBuf,
    extra: BTreeMap<String, String>,
}

fn setup(pg: Option<&Postgres>) -> Setup {
    require_tool("prosody");
    require_tool("prosodyctl");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let ca = certificate(&root, DOMAIN);
    let admin_pw = root.join("admin.pw");
    std::fs::write(&admin_pw, format!("{ADMIN_PASSWORD}\n")).unwrap();
    let mut extra: BTreeMap<String, String> = [
        ("PROSODY_PROFILE", "minimal"),
        ("PROSODY_ENVIRONMENT", "production"),
        ("PROSODY_FEATURES_MESSAGING_ARCHIVE", "true"),
        ("PROSODY_ADMINS", ADMIN),
        ("PFE_SET_90", "default_archive_policy=true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    extra.insert(
        "PROSODY_ADMIN_PASSWORD_FILE".into(),
        admin_pw.display().to_string(),
    );
    if let Some(pg) = pg {
        let creds = root.join("credentials");
        std::fs::create_dir_all(&creds).unwrap();
        std::fs::write(creds.join("db_password"), format!("{}\n", pg.password)).unwrap();
        for (k, v) in [
            ("PROSODY_STORAGE", "postgres".to_string()),
            ("PROSODY_DB_HOST", "127.0.0.1".to_string()),
            ("PROSODY_DB_PORT", pg.port.to_string()),
            ("PROSODY_DB_NAME", pg.database.clone()),
            ("PROSODY_DB_USER", pg.user.clone()),
            ("CREDENTIALS_DIRECTORY", creds.display().to_string()),
        ] {
            extra.insert(k.into(), v);
        }
    }
    Setup {
        _tmp: tmp,
        root,
        ca,
        extra,
    }
}

/// Starts the entrypoint on fresh loopback ports (retrying a port clash)
/// and waits until `pfe healthcheck` is happy.
fn start(s: &Setup, round: u32) -> (Entrypoint, Ports) {
    let config = s.root.join("prosody.cfg.lua");
    for attempt in 1..=3 {
        let ports = Ports::pick().unwrap();
        let mut env = container_env(&s.root, &ports, DOMAIN);
        env.extend(s.extra.clone());
        let log = s.root.join(format!("entrypoint-{round}-{attempt}.log"));
        let mut ep = Entrypoint::spawn(&env, &["--config-output", config.to_str().unwrap()], &log);
        match ep.wait_healthy(ports.c2s, DOMAIN, Duration::from_secs(60)) {
            Ok(t) => {
                eprintln!("round {round}: healthy after {} ms", t.as_millis());
                return (ep, ports);
            }
            Err(log) if attempt < 3 && port_clash(&log) => eprintln!("retrying (port clash)"),
            Err(log) => panic!("{log}"),
        }
    }
    unreachable!()
}

fn persistence(pg: Option<&Postgres>) {
    let s = setup(pg);
    let body = format!(
        "kept across restarts ({}) {}",
        if pg.is_some() { "postgres" } else { "sqlite" },
        std::process::id()
    );
    let rt = runtime();

    let (mut ep, ports) = start(&s, 1);
    rt.block_on(async {
        let mut c = Client::login(client_config(ports.c2s, &s.ca), None)
            .await
            .expect("the admin account from PROSODY_ADMIN_PASSWORD_FILE logs in");
        send_to_self(&mut c, &body).await;
        let bodies = archived_bodies(&mut c).await;
        assert!(bodies.contains(&body), "not archived: {bodies:?}");
        c.close().await;
    });
    let status = ep.stop().expect("stopped");
    assert!(
        status.success(),
        "Prosody did not shut down cleanly on SIGTERM ({status}):\n{}",
        ep.log_text()
    );
    assert!(
        ep.log_text().contains("Shutdown complete"),
        "{}",
        ep.log_text()
    );

    let (mut ep, ports) = start(&s, 2);
    rt.block_on(async {
        let mut c = Client::login(client_config(ports.c2s, &s.ca), None)
            .await
            .expect("login after the restart");
        let bodies = archived_bodies(&mut c).await;
        assert!(
            bodies.contains(&body),
            "lost across the restart: {bodies:?}"
        );
        let count = archive_count(&mut c)
            .await
            .expect("MAM's <fin/> carries the RSM count");
        assert!(count >= 1, "archive count after the restart: {count}");
        c.close().await;
    });
    assert!(ep.stop().expect("stopped").success(), "{}", ep.log_text());

    let sqlite = s.root.join("data/prosody.sqlite");
    match pg {
        None => assert!(sqlite.is_file(), "no {}", sqlite.display()),
        Some(pg) => {
            assert!(
                !sqlite.exists(),
                "postgres storage wrote {}",
                sqlite.display()
            );
            let rows = pg.query(&format!(
                "SELECT count(*) FROM prosodyarchive WHERE value LIKE '%{}%'",
                body.replace('\'', "''")
            ));
            let n: u64 = rows
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("psql said {rows:?}"));
            assert!(n >= 1, "the message is not in PostgreSQL's prosodyarchive");
            // The private copy of the reshaped db_password is in the runtime dir.
            let copies: Vec<_> = std::fs::read_dir(&s.root)
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("pfe-credentials-")
                })
                .collect();
            assert!(
                !copies.is_empty(),
                "db_password with a newline should have been reshaped"
            );
            let copy = std::fs::read_to_string(copies[0].path().join("db_password")).unwrap();
            assert_eq!(copy, pg.password, "trailing newline dropped");
        }
    }
}

#[test]
fn sqlite_keeps_messages_across_restarts() {
    persistence(None);
}

#[test]
fn postgres_keeps_messages_across_restarts() {
    let pg = Postgres::start();
    persistence(Some(&pg));
}
