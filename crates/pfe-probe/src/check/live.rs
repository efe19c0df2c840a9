//! The operator's rows of `pfe check`, planned from the resolved config
//! and proven from outside: the served certificates and TLS versions
//! ([`super::tls`]), the TURN credentials the server hands out
//! ([`super::turn`]), the LDAP server a directory login goes through, and
//! the XEP-0157 abuse address. [`plan`] decides what to probe,
//! [`run_side`] runs what needs no session (alongside it), [`rows`] judges
//! everything once the session's facts are in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pfe_core::catalog::CheckLocation;
use pfe_core::engine::Build;
use pfe_core::sandbox::SectionKind;
use pfe_core::value::Value;

use super::tls::{self, Endpoint, Kind, Profile};
use super::{Facts, Outcome, Promise, Proof, Row, Target, configured_port, host_of, turn};
use crate::xmpp::{self, Client, ClientConfig, TlsMode, TlsVerify};

/// Pseudo-feature of the served-certificate rows.
pub const SECURITY_CERTIFICATES: &str = "security/certificates";
/// Pseudo-feature of the TLS version row.
pub const SECURITY_TLS: &str = "security/tls";

/// `extra.probe` of every live operator row.
pub const LIVE_PROBE: &str = "live";

/// The LDAP server of `authentication/external`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LdapTarget {
    /// `host:port` as the config names it (`ldap_server`, port 389 unless given).
    pub addr: String,
    /// Where `ldap_server` was set.
    pub origin: String,
    /// `ldap_tls`: StartTLS on that connection.
    pub tls: bool,
}

/// What the live operator rows probe.
#[derive(Clone, Debug, Default)]
pub struct LivePlan {
    /// Every (endpoint, name) whose served certificate is judged.
    pub endpoints: Vec<Endpoint>,
    /// The c2s endpoint whose TLS versions are probed.
    pub versions: Option<Endpoint>,
    pub profile: Option<Profile>,
    /// services/turn is on: prove the handed-out credentials.
    pub turn: bool,
    pub ldap: Option<LdapTarget>,
    /// The abuse address the config publishes (`mailto:...`); `Some("")`:
    /// mod_server_contact_info is loaded but no address is configured.
    pub abuse: Option<String>,
    /// The environment serves the public (`public = true`): no abuse
    /// address is a warning, not n/a; handed-out URLs must be https/wss.
    pub public: bool,
    /// `http_external_url`: every handed-out URL must lie under it.
    pub external_url: Option<super::urls::ExternalUrl>,
}

fn origin_of(build: &Build, name: &str) -> Option<(Value, String)> {
    let o = build.evaluated.global().options.get(name)?;
    let at = o
        .history
        .last()
        .map(|h| {
            if &*h.layer == "--set" {
                "--set".to_string()
            } else {
                build.evaluated.display_origin(h)
            }
        })
        .unwrap_or_default();
    Some((o.value.clone(), at))
}

fn loads(build: &Build, module: &str) -> bool {
    build.evaluated.sections.iter().any(|s| {
        s.options
            .get("modules_enabled")
            .is_some_and(|m| m.value.string_list().iter().any(|x| x == module))
    })
}

/// `ldap_server` as `host:port` (a `ldap://` or `ldaps://` prefix and a
/// path dropped; the first of several space-separated servers).
pub fn ldap_addr(server: &str) -> String {
    let first = server.split_whitespace().next().unwrap_or("localhost");
    let (rest, port) = if let Some(r) = first.strip_prefix("ldaps://") {
        (r, 636)
    } else if let Some(r) = first.strip_prefix("ldap://") {
        (r, 389)
    } else {
        (first, 389)
    };
    let hostport = rest.split('/').next().unwrap_or(rest);
    if host_of(hostport) != hostport {
        hostport.to_string()
    } else {
        format!("{hostport}:{port}")
    }
}

/// The live rows' plan for `target` (whose addresses are already filled in
/// by [`super::plan_target`]); `s2s_port` overrides the config's
/// `s2s_ports`.
pub fn plan(build: &Build, target: &Target, s2s_port: Option<u16>) -> LivePlan {
    let domain = build.domain.clone();
    let host = host_of(&target.client.addr).to_string();
    let mut endpoints = Vec::new();
    let (starttls, direct) = match target.client.tls_mode {
        TlsMode::StartTls => (
            Some(target.client.addr.clone()),
            target.direct_tls_addr.clone(),
        ),
        TlsMode::DirectTls => (
            target.starttls_addr.clone(),
            Some(target.client.addr.clone()),
        ),
    };
    if let Some(a) = &starttls {
        endpoints.push(Endpoint {
            kind: Kind::C2sStartTls,
            addr: a.clone(),
            name: domain.clone(),
        });
    }
    if let Some(a) = &direct {
        endpoints.push(Endpoint {
            kind: Kind::C2sDirectTls,
            addr: a.clone(),
            name: domain.clone(),
        });
    }
    let components: Vec<(String, String)> = build
        .evaluated
        .sections
        .iter()
        .filter_map(|s| match &s.kind {
            SectionKind::Component { module } => Some((s.name.clone(), module.clone())),
            _ => None,
        })
        .collect();
    let s2s_off = build
        .evaluated
        .global()
        .options
        .get("modules_disabled")
        .is_some_and(|m| m.value.string_list().iter().any(|x| x == "s2s"));
    if !s2s_off {
        let port = s2s_port
            .or_else(|| configured_port(build, "s2s_ports"))
            .unwrap_or(5269);
        let addr = format!("{host}:{port}");
        for name in std::iter::once(domain.clone()).chain(components.iter().map(|c| c.0.clone())) {
            endpoints.push(Endpoint {
                kind: Kind::S2sStartTls,
                addr: addr.clone(),
                name,
            });
        }
    }
    let serves_http = super::promises(build)
        .iter()
        .any(|p| p.location == CheckLocation::Http);
    if let Some(h) = &target.http
        && h.tls.is_some()
        && serves_http
    {
        let http_hosts = std::iter::once(domain.clone()).chain(
            components
                .iter()
                .filter(|(_, m)| m.starts_with("http_"))
                .map(|c| c.0.clone()),
        );
        for name in http_hosts {
            endpoints.push(Endpoint {
                kind: Kind::Https,
                addr: h.addr.clone(),
                name,
            });
        }
    }
    let profile = Some(match origin_of(build, "tls_profile") {
        Some((v, at)) => Profile {
            name: v.as_str().unwrap_or_default().to_string(),
            origin: format!("at {at}"),
        },
        None => Profile {
            name: "intermediate".into(),
            origin: "unset: Prosody's default".into(),
        },
    });
    let ldap = (build
        .resolution
        .order
        .iter()
        .any(|f| f == "authentication/external"))
    .then(|| {
        let (server, origin) = origin_of(build, "ldap_server")
            .map(|(v, at)| (v.as_str().unwrap_or("localhost").to_string(), at))
            .unwrap_or_else(|| ("localhost".into(), "unset: default localhost".into()));
        LdapTarget {
            addr: ldap_addr(&server),
            origin,
            tls: origin_of(build, "ldap_tls")
                .and_then(|(v, _)| v.as_bool())
                .unwrap_or(false),
        }
    });
    let abuse = loads(build, "server_contact_info").then(|| {
        origin_of(build, "contact_info")
            .and_then(|(v, _)| v.get("abuse").map(Value::string_list))
            .and_then(|l| l.into_iter().next())
            .unwrap_or_default()
    });
    LivePlan {
        versions: endpoints.first().cloned(),
        endpoints,
        profile,
        turn: build.resolution.order.iter().any(|f| f == "services/turn"),
        ldap,
        abuse,
        public: build.environment.public,
        external_url: origin_of(build, "http_external_url").and_then(|(v, origin)| {
            v.as_str().map(|url| super::urls::ExternalUrl {
                url: url.to_string(),
                origin,
            })
        }),
    }
}

/// What the side probes found.
#[derive(Debug, Default)]
pub struct SideFacts {
    pub served: Vec<(Endpoint, Result<tls::Served, String>)>,
    pub versions: Option<tls::VersionFacts>,
    /// TCP connect to the LDAP server: how long it took, or why not.
    pub ldap: Option<Result<Duration, String>>,
    /// A login with a wrong password: refused (the condition) or not.
    pub wrong_password: Option<Result<String, String>>,
}

/// A TCP connection to `addr` within `timeout`.
pub async fn tcp_reach(addr: &str, timeout: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(started.elapsed()),
        Ok(Err(e)) => Err(format!("cannot connect to {addr}: {e}")),
        Err(_) => Err(format!("no TCP connection to {addr} within {timeout:?}")),
    }
}

async fn wrong_password(cfg: &ClientConfig) -> Result<String, String> {
    let mut c = cfg.clone();
    c.password = format!("{}-not-the-password", cfg.password);
    match Client::login(c, None).await {
        Err(xmpp::Error::AuthFailed {
            mechanism,
            condition,
            ..
        }) => Ok(format!("SASL {mechanism}: <{condition}/>")),
        Err(e) => Err(format!(
            "the wrong-password login did not get a SASL failure: {e}"
        )),
        Ok(client) => {
            client.close().await;
            Err("a login with a WRONG password succeeded".into())
        }
    }
}

/// Everything that needs no session: the TLS handshakes, the LDAP server's
/// reachability and a wrong-password login.
pub async fn run_side(plan: &LivePlan, cfg: &ClientConfig) -> SideFacts {
    let t = cfg.timeouts.overall.min(Duration::from_secs(10));
    let served = futures_join(plan.endpoints.iter().map(|ep| async move {
        (
            ep.clone(),
            tls::handshake(ep, rustls::DEFAULT_VERSIONS, t).await,
        )
    }));
    let versions = async {
        match &plan.versions {
            Some(ep) => Some(tls::probe_versions(ep, t).await),
            None => None,
        }
    };
    let ldap = async {
        match &plan.ldap {
            Some(l) => Some(tcp_reach(&l.addr, t).await),
            None => None,
        }
    };
    let wrong = async {
        match &plan.ldap {
            Some(_) => Some(wrong_password(cfg).await),
            None => None,
        }
    };
    let (served, versions, ldap, wrong_password) = tokio::join!(served, versions, ldap, wrong);
    SideFacts {
        served,
        versions,
        ldap,
        wrong_password,
    }
}

/// Runs every future at once, keeping their order.
pub(crate) async fn futures_join<F: std::future::Future>(
    futs: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut futs: Vec<std::pin::Pin<Box<F>>> = futs.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (f, slot) in futs.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

pub(crate) fn row(feature: &str, spec: &str, promise: String, outcome: Outcome) -> Row {
    let mut extra = BTreeMap::new();
    extra.insert("promise".into(), promise);
    // Marks the operator rows (not catalog promises) in `--json`.
    extra.insert("probe".into(), LIVE_PROBE.into());
    Row {
        promise: Promise {
            feature: feature.into(),
            xep: spec.into(),
            location: CheckLocation::Security,
            http: None,
            var: None,
            extra,
        },
        proof: match outcome {
            Outcome::NotCheckable { .. } => Proof::None,
            Outcome::Warn { .. } => Proof::Advertisement,
            _ => Proof::Behaviour,
        },
        outcome,
    }
}

/// The XEP-0157 abuse addresses in the domain's disco#info.
fn published_abuse(facts: &Facts) -> Vec<String> {
    const NS_DATA: &str = "jabber:x:data";
    let Some(info) = &facts.server else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for form in &info.extensions {
        let fields: Vec<_> = form.children_named("field", NS_DATA).collect();
        let is_serverinfo = fields.iter().any(|f| {
            f.attr("var") == Some("FORM_TYPE")
                && f.children_named("value", NS_DATA)
                    .any(|v| v.text.trim() == "http://jabber.org/network/serverinfo")
        });
        if !is_serverinfo {
            continue;
        }
        for f in fields {
            if f.attr("var") == Some("abuse-addresses") {
                out.extend(
                    f.children_named("value", NS_DATA)
                        .map(|v| v.text.trim().to_string()),
                );
            }
        }
    }
    out
}

/// The rows of the live operator checks. TURN runs here (it needs the
/// session's XEP-0215 answer), bounded by `deadline`.
pub(crate) async fn rows(
    plan: &LivePlan,
    side: SideFacts,
    facts: &Facts,
    verify: &TlsVerify,
    deadline: Instant,
) -> Vec<Row> {
    let mut out = Vec::new();
    for (ep, served) in &side.served {
        let outcome = match served {
            Ok(s) => tls::judge_served(ep, s, verify),
            // No s2s listener where pfe looked: often firewalled from here,
            // or another port (--s2s-port); not a served certificate to judge.
            Err(e) if ep.kind == Kind::S2sStartTls && e.contains("cannot connect") => {
                Outcome::NotCheckable {
                    why: format!(
                        "no s2s listener reachable at {} ({e}); pfe check --s2s-port PORT",
                        ep.addr
                    ),
                }
            }
            Err(e) => Outcome::Fail {
                missing: format!(
                    "{} {} for {}: no TLS session: {e}",
                    ep.kind.label(),
                    ep.addr,
                    ep.name
                ),
            },
        };
        out.push(row(
            SECURITY_CERTIFICATES,
            "RFC 6125",
            format!("{} certificate for {}", ep.kind.label(), ep.name),
            outcome,
        ));
    }
    if let (Some(ep), Some(p), Some(v)) = (&plan.versions, &plan.profile, &side.versions) {
        out.push(row(
            SECURITY_TLS,
            "tls_profile",
            "TLS versions and cipher as tls_profile allows".into(),
            tls::judge_versions(ep, p, v),
        ));
    }
    if plan.turn {
        match &facts.extdisco {
            Some(Ok(list)) => {
                let stun: Vec<_> = list.iter().filter(|s| s.kind == "stun").collect();
                let turn: Vec<_> = list.iter().filter(|s| s.kind == "turn").collect();
                for s in stun {
                    let o = match turn::binding(s, deadline).await {
                        Ok(e) => Outcome::Pass { evidence: e },
                        Err(e) => Outcome::Fail {
                            missing: format!("stun {}: {e}", s.host),
                        },
                    };
                    out.push(row(
                        "services/turn",
                        "RFC 8489",
                        "STUN binding at the advertised server".into(),
                        o,
                    ));
                }
                if turn.is_empty() {
                    out.push(row(
                        "services/turn",
                        "RFC 5766",
                        "TURN with the handed-out credentials".into(),
                        Outcome::Fail {
                            missing: "the server lists no TURN service (XEP-0215)".into(),
                        },
                    ));
                }
                for s in turn {
                    let o = turn::allocate_both(s, deadline).await;
                    out.push(row(
                        "services/turn",
                        "RFC 5766",
                        "TURN allocate with the handed-out credentials".into(),
                        o,
                    ));
                }
            }
            Some(Err(e)) => out.push(row(
                "services/turn",
                "RFC 5766",
                "TURN with the handed-out credentials".into(),
                Outcome::Fail {
                    missing: format!("no XEP-0215 answer to take credentials from: {e}"),
                },
            )),
            None => {}
        }
    }
    if let Some(l) = &plan.ldap {
        let reach = match &side.ldap {
            Some(Ok(t)) => Outcome::Pass {
                evidence: format!(
                    "{} (ldap_server at {}) accepts TCP connections from here ({} ms){}; the session logged in through it",
                    l.addr,
                    l.origin,
                    t.as_millis(),
                    if l.tls {
                        ", StartTLS (ldap_tls = true)"
                    } else {
                        ""
                    }
                ),
            },
            Some(Err(e)) => Outcome::Fail {
                missing: format!(
                    "the LDAP server {} (ldap_server at {}) does not answer from here: {e}",
                    l.addr, l.origin
                ),
            },
            None => Outcome::NotCheckable {
                why: "the LDAP probe did not run".into(),
            },
        };
        out.push(row(
            "authentication/external",
            "RFC 4513",
            "directory login through the LDAP server".into(),
            reach,
        ));
        let wrong = match &side.wrong_password {
            Some(Ok(how)) => Outcome::Pass {
                evidence: format!("a login with a wrong password was refused: {how}"),
            },
            Some(Err(e)) => Outcome::Fail { missing: e.clone() },
            None => Outcome::NotCheckable {
                why: "the wrong-password probe did not run".into(),
            },
        };
        out.push(row(
            "authentication/external",
            "RFC 4513",
            "a wrong password is refused".into(),
            wrong,
        ));
    }
    if let Some(expected) = &plan.abuse {
        let published = published_abuse(facts);
        let none = || {
            format!(
                "no abuse address configured (set PROSODY_CONTACT_EMAIL); published: {}",
                if published.is_empty() {
                    "none".to_string()
                } else {
                    published.join(", ")
                }
            )
        };
        let o = if expected.is_empty() && plan.public {
            Outcome::Warn {
                warning: format!(
                    "{}; a public service should publish where abuse is reported (XEP-0157)",
                    none()
                ),
            }
        } else if expected.is_empty() {
            Outcome::NotCheckable { why: none() }
        } else if published.iter().any(|p| p == expected) {
            Outcome::Pass {
                evidence: format!(
                    "abuse-addresses {} in the serverinfo form of the domain's disco#info",
                    published.join(", ")
                ),
            }
        } else {
            Outcome::Fail {
                missing: format!(
                    "the config publishes {expected} as abuse address, but the domain's disco#info has {}",
                    if published.is_empty() {
                        "no http://jabber.org/network/serverinfo abuse-addresses".to_string()
                    } else {
                        published.join(", ")
                    }
                ),
            }
        };
        out.push(row(
            "messaging/core",
            "XEP-0157",
            "abuse address published".into(),
            o,
        ));
    }
    out
}

/// The main session failed: when it logs in through LDAP, the error says
/// which server and whether it answers from here.
pub async fn explain_login_failure(plan: &LivePlan, err: xmpp::Error) -> xmpp::Error {
    let Some(l) = plan.ldap.as_ref() else {
        return err;
    };
    let xmpp::Error::AuthFailed {
        mechanism,
        condition,
        text,
    } = err
    else {
        return err;
    };
    let why = match tcp_reach(&l.addr, Duration::from_secs(3)).await {
        Ok(_) => format!(
            "this server authenticates against the LDAP server {} (ldap_server at {}), which answers from here: check the user's directory entry and password, PROSODY_LDAP_BASE/FILTER and the search bind (PROSODY_LDAP_ROOTDN, ldap_password)",
            l.addr, l.origin
        ),
        Err(e) => format!(
            "this server authenticates against the LDAP server {} (ldap_server at {}), which is UNREACHABLE: {e}",
            l.addr, l.origin
        ),
    };
    xmpp::Error::AuthFailed {
        mechanism,
        condition,
        text: Some(match text {
            Some(t) => format!("{t}; {why}"),
            None => why,
        }),
    }
}
