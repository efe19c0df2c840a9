//! The live check: does a running server offer what the catalog promises?
//! Each enabled feature declares, per XEP, where on the wire it shows; this
//! module gathers those facts over one XMPP session and judges each promise.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::engine::Build;
use crate::sandbox::SectionKind;
use crate::xmpp::{self, Client, ClientConfig, DiscoInfo};

/// One thing a feature promises, e.g. XEP-0313 as `urn:xmpp:mam:2` in the
/// account's disco#info.
#[derive(Debug, Clone, Serialize)]
pub struct Promise {
    pub feature: String,
    pub xep: String,
    #[serde(rename = "where")]
    pub location: String,
    pub var: Option<String>,
    pub extra: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    Pass { evidence: String },
    Fail { missing: String },
    NotCheckable { why: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub promise: Promise,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The promises of the enabled features whose module the config loads.
/// A feature can only promise what its modules provide; checks tied to a
/// module the config does not load (an optional sub-feature switched off)
/// are not promises.
pub fn promises(build: &Build) -> Vec<Promise> {
    promises_for(build, &loaded_modules_declared(build))
}

/// Modules as the features declared them, before `--set` switched any off:
/// a promise stays a promise even when an override breaks it.
fn loaded_modules_declared(build: &Build) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in &build.evaluated.sections {
        if let SectionKind::Component { module } = &s.kind {
            out.insert(module.clone());
        }
        if let Some(m) = s.options.get("modules_enabled") {
            for (item, origin) in &m.item_origins {
                if origin.layer != "--set" {
                    out.insert(item.clone());
                }
            }
            if m.item_origins.is_empty() {
                out.extend(m.value.string_list());
            }
        }
    }
    out
}

fn promises_for(build: &Build, modules: &BTreeSet<String>) -> Vec<Promise> {
    let mut out = Vec::new();
    for f in &build.resolution.order {
        let info = &build.features[f];
        for c in &info.checks {
            if let Some(m) = &c.module
                && !modules.contains(m)
            {
                continue;
            }
            // `when = "option"`: promised only if that global option ends up true
            // (e.g. open registration, which production environments close).
            if let Some(option) = c.extra.get("when") {
                let on = build
                    .evaluated
                    .global()
                    .options
                    .get(option)
                    .and_then(|o| o.value.as_bool());
                if on != Some(true) {
                    continue;
                }
            }
            out.push(Promise {
                feature: f.clone(),
                xep: c.xep.clone(),
                location: c.location.clone(),
                var: c.var.clone(),
                extra: c.extra.clone(),
            });
        }
    }
    out
}

/// What one session saw.
#[derive(Debug, Default)]
struct Facts {
    pre_tls: Option<xmpp::Features>,
    pre_auth: Option<xmpp::Features>,
    post_auth: Option<xmpp::Features>,
    server: Option<DiscoInfo>,
    account: Option<DiscoInfo>,
    items: Vec<(String, DiscoInfo)>,
    extdisco: Option<Vec<xmpp::ExternalService>>,
}

async fn gather(cfg: ClientConfig, promises: &[Promise]) -> xmpp::Result<Facts> {
    let domain = cfg.split_jid()?.1.to_string();
    let bare = cfg.jid.clone();
    let mut client = Client::login(cfg, None).await?;
    let mut facts = Facts {
        pre_tls: client.features_pre_tls().cloned(),
        pre_auth: client.features_post_tls().cloned(),
        post_auth: client.features_post_auth().cloned(),
        ..Facts::default()
    };
    facts.server = Some(client.disco_info(&domain, None).await?);
    facts.account = Some(client.disco_info(&bare, None).await?);
    for item in client.disco_items(&domain, None).await? {
        if item.node.is_some() {
            continue;
        }
        if let Ok(info) = client.disco_info(&item.jid, None).await {
            facts.items.push((item.jid.clone(), info));
        }
    }
    if promises.iter().any(|p| p.location == "extdisco") {
        facts.extdisco = client.external_services(&domain).await.ok();
    }
    client.close().await;
    Ok(facts)
}

fn judge(p: &Promise, facts: &Facts) -> Outcome {
    let var = p.var.clone().unwrap_or_default();
    let stream = |f: &Option<xmpp::Features>, stage: &str| match f {
        Some(f) if f.has_ns(&var) => Outcome::Pass {
            evidence: format!("<{var}> in stream features {stage}"),
        },
        Some(f) => Outcome::Fail {
            missing: format!(
                "{var} not in stream features {stage} (saw: {})",
                f.summary()
            ),
        },
        None => Outcome::Fail {
            missing: format!("no stream features {stage}"),
        },
    };
    let disco = |d: &Option<DiscoInfo>, what: &str| match d {
        Some(d) if d.has_feature(&var) => Outcome::Pass {
            evidence: format!("{var} in {what} disco#info"),
        },
        _ => Outcome::Fail {
            missing: format!("{var} not in {what} disco#info"),
        },
    };
    match p.location.as_str() {
        "stream_pre_tls" => stream(&facts.pre_tls, "before TLS"),
        "stream_pre_auth" => stream(&facts.pre_auth, "after TLS, before authentication"),
        "stream_post_auth" => stream(&facts.post_auth, "after authentication"),
        "sasl2_inline" => match &facts.pre_auth {
            Some(f) if f.has_sasl2_inline(&var) => Outcome::Pass {
                evidence: format!("{var} inline in SASL2"),
            },
            _ => Outcome::Fail {
                missing: format!("{var} not inline in SASL2 features"),
            },
        },
        "server_disco" => disco(&facts.server, "the server's"),
        "account_disco" => disco(&facts.account, "the account's"),
        "component_disco" => {
            let category = p.extra.get("category");
            let found = facts.items.iter().find(|(_, info)| {
                (var.is_empty() || info.has_feature(&var))
                    && category.is_none_or(|c| {
                        info.has_identity(c, p.extra.get("type").map(String::as_str))
                    })
            });
            match found {
                Some((jid, _)) => Outcome::Pass {
                    evidence: format!("{var} on component {jid}"),
                },
                None => Outcome::Fail {
                    missing: format!(
                        "no item of the server's disco#items offers {var} (items: {})",
                        facts
                            .items
                            .iter()
                            .map(|(j, _)| j.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
            }
        }
        "extdisco" => match &facts.extdisco {
            Some(list) if !list.is_empty() => Outcome::Pass {
                evidence: format!("{} external service(s) listed", list.len()),
            },
            Some(_) => Outcome::Fail {
                missing: "the external services list is empty".into(),
            },
            None => Outcome::Fail {
                missing: "no answer to the external services query".into(),
            },
        },
        "http" => Outcome::NotCheckable {
            why: "HTTP endpoints are probed by `pfe check --http`".into(),
        },
        "none" => Outcome::NotCheckable {
            why: p
                .extra
                .get("why")
                .cloned()
                .unwrap_or_else(|| "not visible over XMPP".into()),
        },
        other => Outcome::NotCheckable {
            why: format!("unknown check location '{other}'"),
        },
    }
}

/// Opens one session with `cfg` and judges every promise.
pub async fn verify(cfg: ClientConfig, promises: &[Promise]) -> xmpp::Result<Vec<Row>> {
    let facts = gather(cfg, promises).await?;
    Ok(promises
        .iter()
        .map(|p| Row {
            promise: p.clone(),
            outcome: judge(p, &facts),
        })
        .collect())
}
