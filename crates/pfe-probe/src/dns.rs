//! `pfe dns --verify`: asks a resolver (hickory) for every record of a DNS
//! plan ([`pfe_core::dns::plan`]) and judges each: pass when the planned
//! record is among the answers, FAIL with what was found otherwise. An SRV
//! whose only target is `.` says the service is deliberately absent
//! (RFC 2782), which is a FAIL when the plan has that service.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, Resolver};
use pfe_core::dns::{Data, Record};
use serde::Serialize;

/// One planned record and what the resolver said.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub record: Record,
    pub pass: bool,
    /// What was found, in zone-file data syntax (empty: nothing).
    pub found: Vec<String>,
    /// Why it failed (empty when it passed).
    pub problem: String,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "cannot read the system resolver configuration (/etc/resolv.conf): {0}; give --resolver HOST:PORT"
    )]
    SystemConfig(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
}

/// Where to ask.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// A DNS server to ask directly (UDP, then TCP); the system's resolvers
    /// when None.
    pub resolver: Option<SocketAddr>,
    /// Per query.
    pub timeout: Duration,
}

fn resolver(opts: &VerifyOptions) -> Result<Resolver<TokioConnectionProvider>, VerifyError> {
    let provider = TokioConnectionProvider::default();
    let mut builder = match opts.resolver {
        Some(addr) => {
            let mut config = ResolverConfig::new();
            config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
            config.add_name_server(NameServerConfig::new(addr, Protocol::Tcp));
            Resolver::builder_with_config(config, provider)
        }
        None => {
            Resolver::builder(provider).map_err(|e| VerifyError::SystemConfig(e.to_string()))?
        }
    };
    let o: &mut ResolverOpts = builder.options_mut();
    o.timeout = opts.timeout;
    o.attempts = 1;
    o.cache_size = 0;
    o.ndots = 0;
    Ok(builder.build())
}

fn absent(e: &ResolveError) -> String {
    if e.is_nx_domain() {
        "the name does not exist (NXDOMAIN)".into()
    } else if e.is_no_records_found() {
        "no record of this type".into()
    } else {
        format!("the query failed: {e}")
    }
}

/// Queries every record of `plan`; each query is bounded by
/// `opts.timeout`.
pub async fn verify(plan: &[Record], opts: &VerifyOptions) -> Result<Vec<Verdict>, VerifyError> {
    let r = resolver(opts)?;
    let mut out = Vec::new();
    for rec in plan {
        let (found, problem) = match &rec.data {
            Data::Srv { port, target, .. } => match r.srv_lookup(rec.name.as_str()).await {
                Ok(l) => {
                    let found: Vec<(u16, u16, u16, String)> = l
                        .iter()
                        .map(|s| {
                            (
                                s.priority(),
                                s.weight(),
                                s.port(),
                                s.target().to_ascii().to_ascii_lowercase(),
                            )
                        })
                        .collect();
                    let ok = found.iter().any(|(_, _, p, t)| p == port && t == target);
                    let problem = if ok {
                        String::new()
                    } else if found.iter().all(|(_, _, _, t)| t == ".") {
                        "the SRV target is \".\": the service is declared unavailable".into()
                    } else if found.iter().any(|(_, _, _, t)| t == target) {
                        format!("wrong port: expected {port} on {target}")
                    } else {
                        format!("expected port {port} on {target}")
                    };
                    (
                        found
                            .into_iter()
                            .map(|(pr, w, p, t)| format!("{pr} {w} {p} {t}"))
                            .collect(),
                        problem,
                    )
                }
                Err(e) => (Vec::new(), absent(&e)),
            },
            Data::A { address } => match r.ipv4_lookup(rec.name.as_str()).await {
                Ok(l) => {
                    let found: Vec<String> = l.iter().map(|a| a.0.to_string()).collect();
                    let ok = l.iter().any(|a| a.0 == *address);
                    let p = if ok {
                        String::new()
                    } else {
                        format!("expected {address}")
                    };
                    (found, p)
                }
                Err(e) => (Vec::new(), absent(&e)),
            },
            Data::Aaaa { address } => match r.ipv6_lookup(rec.name.as_str()).await {
                Ok(l) => {
                    let found: Vec<String> = l.iter().map(|a| a.0.to_string()).collect();
                    let ok = l.iter().any(|a| a.0 == *address);
                    let p = if ok {
                        String::new()
                    } else {
                        format!("expected {address}")
                    };
                    (found, p)
                }
                Err(e) => (Vec::new(), absent(&e)),
            },
        };
        out.push(Verdict {
            record: rec.clone(),
            pass: problem.is_empty(),
            found,
            problem,
        });
    }
    Ok(out)
}

/// [`verify`] on a runtime of its own.
pub fn verify_blocking(plan: &[Record], opts: &VerifyOptions) -> Result<Vec<Verdict>, VerifyError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| VerifyError::Runtime(e.to_string()))?;
    rt.block_on(verify(plan, opts))
}
