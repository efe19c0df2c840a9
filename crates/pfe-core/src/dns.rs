//! `pfe dns`: the DNS records a deployment of a build needs, as data.
//!
//! From the resolved config: `_xmpp-client._tcp` (first of `c2s_ports`,
//! default 5222), `_xmpps-client._tcp` when `c2s_direct_tls_ports` is set
//! (XEP-0368), `_xmpp-server._tcp` (first of `s2s_ports`, default 5269) for
//! the domain and for every component that federates (MUC, HTTP upload),
//! and A/AAAA for the SRV target, every component, the proxy65 address and
//! the TURN host (when they are names, not addresses).

use std::net::IpAddr;

use crate::engine::Build;
use crate::sandbox::{Evaluated, SectionKind};
use crate::value::Value;
use serde::Serialize;

/// Component modules whose names other servers reach over s2s.
pub const FEDERATING_MODULES: &[&str] = &["muc", "http_file_share", "http_upload"];

/// The TTL written in the zone snippet.
pub const TTL: u32 = 3600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "UPPERCASE")]
pub enum Data {
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        /// Fully qualified, trailing dot.
        target: String,
    },
    A {
        address: std::net::Ipv4Addr,
    },
    Aaaa {
        address: std::net::Ipv6Addr,
    },
}

/// One record: owner name (fully qualified, trailing dot), data and why
/// the deployment needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    pub name: String,
    pub data: Data,
    pub why: String,
}

impl Record {
    /// The record type as written in zone files.
    pub fn rtype(&self) -> &'static str {
        match self.data {
            Data::Srv { .. } => "SRV",
            Data::A { .. } => "A",
            Data::Aaaa { .. } => "AAAA",
        }
    }

    /// The record data as written in zone files.
    pub fn rdata(&self) -> String {
        match &self.data {
            Data::Srv {
                priority,
                weight,
                port,
                target,
            } => format!("{priority} {weight} {port} {target}"),
            Data::A { address } => address.to_string(),
            Data::Aaaa { address } => address.to_string(),
        }
    }

    /// One zone-file line.
    pub fn zone_line(&self) -> String {
        format!(
            "{:<44} {TTL} IN {:<5} {}",
            self.name,
            self.rtype(),
            self.rdata()
        )
    }
}

/// What the records point at.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The XMPP domain (defaults to the build's).
    pub domain: Option<String>,
    /// The host the SRV records point to (default: the domain).
    pub target: Option<String>,
    /// The server's public addresses (A/AAAA).
    pub addresses: Vec<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{flag}: {value:?} is not a DNS name")]
    BadName { flag: &'static str, value: String },
    #[error("--host-address: give at least one address of the server (IPv4 or IPv6)")]
    NoAddress,
}

/// `name` lower-case with a trailing dot, if it is a host name.
pub fn fqdn(name: &str) -> Option<String> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    let ok = !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    ok.then(|| format!("{n}."))
}

fn first_port(ev: &Evaluated, key: &str) -> Option<u16> {
    match ev.global().options.get(key).map(|o| &o.value) {
        Some(Value::List(l)) => l.iter().find_map(|v| match v {
            Value::Int(i) => u16::try_from(*i).ok(),
            _ => None,
        }),
        Some(Value::Int(i)) => u16::try_from(*i).ok(),
        _ => None,
    }
}

fn str_option(ev: &Evaluated, section: &str, key: &str) -> Option<String> {
    ev.section(section)
        .and_then(|s| s.options.get(key))
        .and_then(|o| o.value.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The records `build` needs.
pub fn plan(build: &Build, inputs: &Inputs) -> Result<Vec<Record>, PlanError> {
    let ev = &build.evaluated;
    let domain_text = inputs
        .domain
        .clone()
        .unwrap_or_else(|| build.domain.clone());
    let domain = fqdn(&domain_text).ok_or(PlanError::BadName {
        flag: "--domain",
        value: domain_text.clone(),
    })?;
    // Every served domain (the build's; `inputs.domain` renames the primary
    // one and the hosts named after it).
    let mut domains = vec![domain.clone()];
    for d in build.domains.iter().skip(1) {
        let d = fqdn(d).ok_or(PlanError::BadName {
            flag: "--domain",
            value: d.clone(),
        })?;
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    let given_target = match &inputs.target {
        Some(t) => Some(fqdn(t).ok_or(PlanError::BadName {
            flag: "--target",
            value: t.clone(),
        })?),
        None => None,
    };
    // Without --target each domain's records point at the domain itself.
    let target_of = |d: &str| given_target.clone().unwrap_or_else(|| d.to_string());
    let target = target_of(&domain);
    if inputs.addresses.is_empty() {
        return Err(PlanError::NoAddress);
    }
    let srv = |name: String, port: u16, why: String, target: String| Record {
        name,
        data: Data::Srv {
            priority: 0,
            weight: 5,
            port,
            target,
        },
        why,
    };
    let mut out = Vec::new();
    let c2s = first_port(ev, "c2s_ports").unwrap_or(5222);
    let direct_tls = first_port(ev, "c2s_direct_tls_ports");
    let s2s = first_port(ev, "s2s_ports").unwrap_or(5269);
    for d in &domains {
        let t = target_of(d);
        out.push(srv(
            format!("_xmpp-client._tcp.{d}"),
            c2s,
            format!("clients, STARTTLS on c2s port {c2s}"),
            t.clone(),
        ));
        if let Some(p) = direct_tls {
            out.push(srv(
                format!("_xmpps-client._tcp.{d}"),
                p,
                format!("clients, direct TLS (XEP-0368) on port {p}"),
                t.clone(),
            ));
        }
        out.push(srv(
            format!("_xmpp-server._tcp.{d}"),
            s2s,
            format!("federation, s2s port {s2s}"),
            t,
        ));
    }
    // The domain the build renders: components are named after it.
    let built = build.domain.to_ascii_lowercase();
    let rename = |host: &str| -> Option<String> {
        let h = host.to_ascii_lowercase();
        let h = match h.strip_suffix(&built) {
            Some(prefix) if prefix.is_empty() || prefix.ends_with('.') => {
                format!("{prefix}{}", domain.trim_end_matches('.'))
            }
            _ => h,
        };
        fqdn(&h)
    };
    let mut hosts: Vec<(String, String)> = vec![(target.clone(), "the server".into())];
    for d in domains.iter().skip(1) {
        hosts.push((
            target_of(d),
            format!("the server, for {}", d.trim_end_matches('.')),
        ));
    }
    for s in &ev.sections {
        let SectionKind::Component { module } = &s.kind else {
            continue;
        };
        let Some(name) = rename(&s.name) else {
            continue;
        };
        if FEDERATING_MODULES.contains(&module.as_str()) {
            // The server of the domain the component is under.
            let under = domains
                .iter()
                .filter(|d| name.ends_with(&format!(".{d}")))
                .max_by_key(|d| d.len())
                .map_or_else(|| target.clone(), |d| target_of(d));
            out.push(srv(
                format!("_xmpp-server._tcp.{name}"),
                s2s,
                format!("federation with the {module} component"),
                under,
            ));
        }
        hosts.push((name, format!("component {module}")));
    }
    if build
        .resolution
        .order
        .iter()
        .any(|f| f == "services/proxy65")
    {
        let addr = ev
            .sections
            .iter()
            .find_map(|s| str_option(ev, &s.name, "proxy65_address"));
        if let Some(a) = addr.filter(|a| a.parse::<IpAddr>().is_err())
            && let Some(n) = fqdn(&a)
        {
            hosts.push((n, "proxy65_address".into()));
        }
    }
    if build.resolution.order.iter().any(|f| f == "services/turn") {
        let host = build
            .env
            .get("PROSODY_TURN_HOST")
            .filter(|v| !v.trim().is_empty())
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| domain_text.clone());
        if host.parse::<IpAddr>().is_err()
            && let Some(n) = fqdn(&host)
        {
            hosts.push((n, "the STUN/TURN host (services/turn)".into()));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (name, why) in hosts {
        if !seen.insert(name.clone()) {
            continue;
        }
        for a in &inputs.addresses {
            out.push(Record {
                name: name.clone(),
                data: match a {
                    IpAddr::V4(v) => Data::A { address: *v },
                    IpAddr::V6(v) => Data::Aaaa { address: *v },
                },
                why: why.clone(),
            });
        }
    }
    Ok(out)
}

/// The records as a zone-file snippet, each with its reason as a comment.
pub fn zone_snippet(records: &[Record]) -> String {
    let mut out = String::from("; DNS records for this deployment (pfe dns)\n");
    for r in records {
        out.push_str(&format!("{}  ; {}\n", r.zone_line(), r.why));
    }
    out
}
