//! A cheap c2s healthcheck: open a stream, wait for features, close politely.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::{Error, Result, Stage};
use super::features::Features;
use super::features::NS_TLS;
use super::stream::{Conn, Limits, Timeouts, describe};
use super::tls::TlsVerify;
use super::xml::StreamHeader;
use pfe_core::value::Value;

/// The server must answer as the domain that was asked for: another server
/// on the same port (host networking) answers as itself, or not at all.
fn check_from(header: &StreamHeader, domain: &str) -> Result<()> {
    match header.attr("from") {
        Some(from) if from.eq_ignore_ascii_case(domain) => Ok(()),
        other => Err(Error::Protocol {
            stage: Stage::StreamHeader,
            expected: format!("a stream from {domain}"),
            got: match other {
                Some(f) => format!("a stream from {f} (another server on this port?)"),
                None => "a stream header without 'from'".into(),
            },
        }),
    }
}

/// The config `pfe healthcheck` reads when not told where to probe: what
/// the entrypoint runs — PFE_USE_CONFIG, else PFE_CONFIG_OUTPUT, else
/// /etc/prosody/prosody.cfg.lua.
pub fn served_config_path(env: &HashMap<String, String>) -> PathBuf {
    ["PFE_USE_CONFIG", "PFE_CONFIG_OUTPUT"]
        .iter()
        .find_map(|k| env.get(*k).map(|v| v.trim()).filter(|v| !v.is_empty()))
        .map_or_else(
            || PathBuf::from(pfe_core::layout::CONFIG_PATH),
            PathBuf::from,
        )
}

/// Where a healthcheck probes and for which domain, and what decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `host:port`
    pub addr: String,
    pub domain: String,
    /// What the port came from, for messages.
    pub source: String,
}

fn first_port(v: Option<&Value>) -> Option<u16> {
    match v? {
        Value::Int(n) => u16::try_from(*n).ok(),
        Value::List(l) => l.iter().find_map(|x| first_port(Some(x))),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A loopback address to reach a listener bound to `interfaces`.
fn probe_host(interfaces: Option<&Value>) -> String {
    let list: Vec<String> = match interfaces {
        Some(Value::Str(s)) => vec![s.clone()],
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|v| match v {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let wildcard = |s: &str| matches!(s, "*" | "0.0.0.0" | "::" | "[::]");
    if list.is_empty() || list.iter().any(|s| wildcard(s) || s == "127.0.0.1") {
        return "127.0.0.1".into();
    }
    if list.iter().any(|s| s == "::1") {
        return "[::1]".into();
    }
    let first = &list[0];
    if first.contains(':') && !first.starts_with('[') {
        format!("[{first}]")
    } else {
        first.clone()
    }
}

/// Where `pfe healthcheck` probes without `--server`, and its domain
/// without `--domain` (`domain` given):
///
/// * from the config the container runs ([`served_config_path`]): the
///   first of `c2s_ports` (`c2s_direct_tls_ports` with `direct_tls`), on
///   loopback unless `c2s_interfaces`/`interfaces` exclude it; the domain
///   is PROSODY_DOMAIN, else the config's first VirtualHost;
/// * without a readable config: PROSODY_C2S_PORT
///   (PROSODY_C2S_DIRECT_TLS_PORT) on 127.0.0.1;
/// * else Prosody's defaults, 127.0.0.1:5222 (5223).
pub fn default_target(
    env: &HashMap<String, String>,
    domain: Option<&str>,
    direct_tls: bool,
) -> Target {
    let (ports_opt, var, default) = if direct_tls {
        ("c2s_direct_tls_ports", "PROSODY_C2S_DIRECT_TLS_PORT", 5223)
    } else {
        ("c2s_ports", "PROSODY_C2S_PORT", 5222)
    };
    let env_domain = env
        .get("PROSODY_DOMAIN")
        .map(|d| d.trim())
        .filter(|d| !d.is_empty());
    let config = served_config_path(env);
    if let Some(t) = from_config(&config, env, ports_opt, default) {
        let domain = domain
            .or(env_domain)
            .map(str::to_string)
            .or(t.1)
            .unwrap_or_else(|| "localhost".into());
        return Target {
            addr: t.0,
            domain,
            source: format!("{ports_opt} in {}", config.display()),
        };
    }
    let domain = domain.or(env_domain).unwrap_or("localhost").to_string();
    match env.get(var).and_then(|p| p.trim().parse::<u16>().ok()) {
        Some(p) => Target {
            addr: format!("127.0.0.1:{p}"),
            domain,
            source: var.into(),
        },
        None => Target {
            addr: format!("127.0.0.1:{default}"),
            domain,
            source: "Prosody's default port".into(),
        },
    }
}

/// What `pfe healthcheck` probes: `server` (its port defaulted later) for
/// `domain`, else PROSODY_DOMAIN, else localhost; without `server`,
/// [`default_target`] (the served config decides).
pub fn healthcheck_target(
    env: &HashMap<String, String>,
    server: Option<&str>,
    domain: Option<&str>,
    direct_tls: bool,
) -> Target {
    match server {
        None => default_target(env, domain, direct_tls),
        Some(s) => Target {
            addr: s.to_string(),
            domain: domain
                .or(env
                    .get("PROSODY_DOMAIN")
                    .map(|d| d.trim())
                    .filter(|d| !d.is_empty()))
                .unwrap_or("localhost")
                .to_string(),
            source: "--server".into(),
        },
    }
}

/// (addr, first VirtualHost) from the config at `path`, if it evaluates.
fn from_config(
    path: &Path,
    env: &HashMap<String, String>,
    ports_opt: &str,
    default: u16,
) -> Option<(String, Option<String>)> {
    if !path.is_file() {
        return None;
    }
    let lint = pfe_core::lint::lint_file(path, env.clone()).ok()?;
    let ev = lint.evaluated?;
    let global = ev.global();
    let opt = |name: &str| global.options.get(name).map(|o| &o.value);
    let port = first_port(opt(ports_opt)).unwrap_or(default);
    let host = probe_host(opt("c2s_interfaces").or(opt("interfaces")));
    let vhost = ev
        .sections
        .iter()
        .find(|s| s.kind == pfe_core::sandbox::SectionKind::VirtualHost)
        .map(|s| s.name.clone());
    Some((format!("{host}:{port}"), vhost))
}

/// `pfe healthcheck --timeout`: well inside the probe intervals of Docker
/// and Kubernetes, in ms.
pub const HEALTHCHECK_TIMEOUT_MS: u64 = 2_000;

/// `server` with the c2s port of its TLS flavour when it names none (5222,
/// or 5223 for direct TLS).
pub fn with_default_port(server: &str, direct_tls: bool) -> String {
    if crate::check::host_of(server) != server {
        server.to_string()
    } else {
        format!("{server}:{}", if direct_tls { 5223 } else { 5222 })
    }
}

/// How a healthcheck talks to the server.
#[derive(Clone, Debug)]
pub enum HealthMode {
    /// A cleartext stream up to its features.
    Plain,
    /// Then `<starttls/>` and the encrypted stream's features.
    StartTls(TlsVerify),
    /// TLS from the first byte (XEP-0368).
    DirectTls(TlsVerify),
}

impl HealthMode {
    /// The mode the flags ask for: `verify` is how to trust the certificate
    /// (`None`: no TLS flag was given). TLS without a way to trust the
    /// certificate is `None`: a usage error.
    pub fn from_flags(verify: Option<TlsVerify>, starttls: bool, direct_tls: bool) -> Option<Self> {
        match (verify, starttls, direct_tls) {
            (None, false, false) => Some(HealthMode::Plain),
            (None, _, _) => None,
            (Some(v), _, true) => Some(HealthMode::DirectTls(v)),
            (Some(v), _, false) => Some(HealthMode::StartTls(v)),
        }
    }
}

/// One healthcheck of `addr` for `domain` in `mode`, within `timeout`.
pub async fn probe(
    addr: &str,
    domain: &str,
    mode: &HealthMode,
    timeout: Duration,
) -> Result<HealthReport> {
    match mode {
        HealthMode::Plain => healthcheck(addr, domain, timeout).await,
        HealthMode::StartTls(v) => healthcheck_starttls(addr, domain, v, timeout).await,
        HealthMode::DirectTls(v) => healthcheck_tls(addr, domain, v, timeout).await,
    }
}

/// What a successful healthcheck saw.
#[derive(Clone, Debug)]
pub struct HealthReport {
    /// Time from connect to features received.
    pub elapsed: Duration,
    /// The stream `id` the server assigned.
    pub stream_id: Option<String>,
    /// The features offered to an anonymous stream.
    pub features: Features,
}

/// TCP connect to `addr` (`host:port`), send a stream header for `domain`,
/// wait for `<stream:features>`, then close with `</stream:stream>` and wait
/// (briefly) for the server's close; all within `timeout`. Sends no `from`
/// (there is no account).
///
/// Prosody 13 still logs every c2s connection at level info ("Client
/// connected" / "Client disconnected: closed"); the polite close keeps it
/// from logging anything at warn or error.
pub async fn healthcheck(addr: &str, domain: &str, timeout: Duration) -> Result<HealthReport> {
    run(addr, domain, None, timeout).await
}

/// Like [`healthcheck`] over direct TLS (XEP-0368) verified per `verify`.
pub async fn healthcheck_tls(
    addr: &str,
    domain: &str,
    verify: &TlsVerify,
    timeout: Duration,
) -> Result<HealthReport> {
    run(addr, domain, Some(verify), timeout).await
}

/// Like [`healthcheck`], then upgrade with `<starttls/>` (certificate
/// verified per `verify`) and wait for the features of the encrypted
/// stream, which are reported.
pub async fn healthcheck_starttls(
    addr: &str,
    domain: &str,
    verify: &TlsVerify,
    timeout: Duration,
) -> Result<HealthReport> {
    run_mode(addr, domain, Some(verify), true, timeout).await
}

async fn run(
    addr: &str,
    domain: &str,
    verify: Option<&TlsVerify>,
    timeout: Duration,
) -> Result<HealthReport> {
    run_mode(addr, domain, verify, false, timeout).await
}

async fn run_mode(
    addr: &str,
    domain: &str,
    verify: Option<&TlsVerify>,
    starttls: bool,
    timeout: Duration,
) -> Result<HealthReport> {
    let started = Instant::now();
    let work = async {
        let mut conn = Conn::connect(addr, Timeouts::all(timeout), Limits::default()).await?;
        if let (Some(v), false) = (verify, starttls) {
            conn.start_tls(v, domain, &[b"xmpp-client"]).await?;
        }
        let mut header = conn.open_stream(domain, None).await?;
        check_from(&header, domain)?;
        let stage = if verify.is_some() && !starttls {
            Stage::FeaturesPostTls
        } else {
            Stage::FeaturesPreTls
        };
        let mut features = conn.read_features(stage).await?;
        if let (Some(v), true) = (verify, starttls) {
            if !features.starttls {
                return Err(Error::FeatureMissing {
                    stage: Stage::StartTls,
                    feature: "<starttls/>".into(),
                    offered: features.summary(),
                });
            }
            conn.send(Stage::StartTls, &format!("<starttls xmlns='{NS_TLS}'/>"))
                .await?;
            let (el, _) = conn
                .next_element(Stage::StartTls, "<proceed/> in answer to <starttls/>")
                .await?;
            if !el.is("proceed", NS_TLS) {
                return Err(Error::Protocol {
                    stage: Stage::StartTls,
                    expected: "<proceed/>".into(),
                    got: describe(&el),
                });
            }
            conn.start_tls(v, domain, &[]).await?;
            header = conn.open_stream(domain, None).await?;
            check_from(&header, domain)?;
            features = conn.read_features(Stage::FeaturesPostTls).await?;
        }
        let elapsed = started.elapsed();
        let close_wait = timeout.saturating_sub(elapsed).min(Duration::from_secs(1));
        conn.close(close_wait).await;
        Ok(HealthReport {
            elapsed,
            stream_id: header.attr("id").map(str::to_string),
            features,
        })
    };
    // Belt and braces: every step is bounded already.
    match tokio::time::timeout(timeout + Duration::from_millis(100), work).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout {
            stage: Stage::Healthcheck,
            expected: format!("stream features from {addr} for {domain}"),
            waited: started.elapsed(),
            received: String::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_default_target_is_the_served_configs_c2s_port() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("prosody.cfg.lua");
        std::fs::write(
            &cfg,
            "interfaces = { \"*\" }\nc2s_ports = { 15222 }\nc2s_direct_tls_ports = { 15223 }\nVirtualHost \"chat.example.org\"\n",
        )
        .unwrap();
        let c = cfg.to_str().unwrap();
        // The config wins over a stale variable.
        let e = env(&[("PFE_CONFIG_OUTPUT", c), ("PROSODY_C2S_PORT", "5222")]);
        let t = default_target(&e, None, false);
        assert_eq!(
            (t.addr.as_str(), t.domain.as_str()),
            ("127.0.0.1:15222", "chat.example.org")
        );
        assert_eq!(default_target(&e, None, true).addr, "127.0.0.1:15223");
        // PFE_USE_CONFIG (Kubernetes) before PFE_CONFIG_OUTPUT.
        let e = env(&[
            ("PFE_USE_CONFIG", c),
            ("PFE_CONFIG_OUTPUT", "/nonexistent/x.cfg.lua"),
            ("PROSODY_DOMAIN", "other.example"),
        ]);
        let t = default_target(&e, Some("given.example"), false);
        assert_eq!(
            (t.addr.as_str(), t.domain.as_str()),
            ("127.0.0.1:15222", "given.example")
        );
        assert_eq!(default_target(&e, None, false).domain, "other.example");
        // Bound to one address: probe that one.
        std::fs::write(&cfg, "c2s_interfaces = { \"::1\" }\n").unwrap();
        let e = env(&[("PFE_CONFIG_OUTPUT", c)]);
        let t = default_target(&e, None, false);
        assert_eq!(
            (t.addr.as_str(), t.domain.as_str()),
            ("[::1]:5222", "localhost")
        );
        // No config: the variable, else Prosody's default.
        let e = env(&[
            ("PFE_CONFIG_OUTPUT", "/nonexistent/x.cfg.lua"),
            ("PROSODY_C2S_PORT", "25222"),
        ]);
        assert_eq!(default_target(&e, None, false).addr, "127.0.0.1:25222");
        let e = env(&[("PFE_CONFIG_OUTPUT", "/nonexistent/x.cfg.lua")]);
        assert_eq!(default_target(&e, None, false).addr, "127.0.0.1:5222");
        assert_eq!(default_target(&e, None, true).addr, "127.0.0.1:5223");
    }

    #[test]
    fn a_given_server_keeps_the_old_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("prosody.cfg.lua");
        std::fs::write(
            &cfg,
            "c2s_ports = { 15222 }\nVirtualHost \"chat.example.org\"\n",
        )
        .unwrap();
        let e = env(&[("PFE_CONFIG_OUTPUT", cfg.to_str().unwrap())]);
        let t = healthcheck_target(&e, Some("10.0.0.1"), None, false);
        assert_eq!(
            (t.addr.as_str(), t.domain.as_str()),
            ("10.0.0.1", "localhost")
        );
        let t = healthcheck_target(&e, None, None, false);
        assert_eq!(
            (t.addr.as_str(), t.domain.as_str()),
            ("127.0.0.1:15222", "chat.example.org")
        );
    }

    /// Another server on the port (host networking) answers as itself.
    #[tokio::test]
    async fn a_stream_from_another_domain_is_unhealthy() {
        for from in [Some("other.example"), None] {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap().to_string();
            tokio::spawn(async move {
                let (mut s, _) = l.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let from = from.map(|f| format!(" from='{f}'")).unwrap_or_default();
                let reply = format!(
                    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x'{from} version='1.0'><stream:features/>"
                );
                let _ = s.write_all(reply.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(3)).await;
            });
            let err = healthcheck(&addr, "chat.example.org", Duration::from_secs(2))
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("a stream from chat.example.org"), "{err}");
        }
    }
}
