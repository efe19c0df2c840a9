//! XMPP Compliance Suites 2023 (XEP-0479), server side: which level of the
//! Core, Web, IM, Mobile and A/V Calling categories the server reached,
//! judged only from what one `pfe check` saw on the wire. The mapping of
//! each requirement to its evidence is documented in docs/compliance.md.
//!
//! XEP-0479 names the server levels "Server" and "Advanced Server"; here
//! they are [`Level::Core`] and [`Level::Advanced`]. A category other than
//! Core is only reached at a level when the Core category is reached at
//! that level too ("all features from the core compliance category must be
//! met"). Requirements a client cannot observe (the component protocol,
//! direct MUC invitations) are [`Status::Unverifiable`]: named, but they do
//! not block a level.

use serde::Serialize;

use super::Facts;
use super::http::{Detail, Seen, has_mechanisms};
use crate::xmpp::{DiscoInfo, Features, NS_CSI, NS_HTTP_UPLOAD, NS_SM};

/// A compliance level (server side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// XEP-0479's "Server" column.
    Core,
    /// XEP-0479's "Advanced Server" column.
    Advanced,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Core => "Core",
            Level::Advanced => "Advanced",
        }
    }
}

/// What the check saw of one requirement. Only [`Status::Seen`] counts
/// toward a level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Seen working in this run (something happened: a query answered, a
    /// message delivered, a session resumed...).
    Seen {
        evidence: String,
    },
    /// Only advertised (disco#info, stream features): the feature may still
    /// be broken, misconfigured or unreachable. Does not count.
    Advertised {
        evidence: String,
    },
    Missing {
        why: String,
    },
    /// Not observable from here. Does not count either.
    Unverifiable {
        why: String,
    },
}

impl Status {
    /// The short word used in the summary.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Seen { .. } => "seen",
            Status::Advertised { .. } => "only advertised",
            Status::Missing { .. } => "missing",
            Status::Unverifiable { .. } => "unverifiable",
        }
    }

    /// The evidence or the reason.
    pub fn text(&self) -> &str {
        match self {
            Status::Seen { evidence } | Status::Advertised { evidence } => evidence,
            Status::Missing { why } | Status::Unverifiable { why } => why,
        }
    }
}

/// One requirement of a category.
#[derive(Debug, Clone, Serialize)]
pub struct Requirement {
    /// XEP-0479's feature name, e.g. "User Blocking".
    pub feature: String,
    /// The providing specification, e.g. "XEP-0191".
    pub spec: String,
    /// The lowest level that requires it.
    pub level: Level,
    /// The Prosody modules that provide it (XEP-0479's footnotes name the
    /// specifications; these are Prosody 13's implementations).
    pub modules: Vec<String>,
    #[serde(flatten)]
    pub status: Status,
}

/// One category's result.
#[derive(Debug, Clone, Serialize)]
pub struct Suite {
    /// Core, Web, IM, Mobile or A/V Calling.
    pub category: String,
    /// The highest level reached (`None`: not even Core).
    pub reached: Option<Level>,
    pub requirements: Vec<Requirement>,
    /// What kept the next level from being claimed (empty at Advanced):
    /// `SPEC (feature): missing | only advertised | unverifiable`.
    pub missing_for_next: Vec<String>,
}

const NS_CAPS: &str = "http://jabber.org/protocol/caps";
const NS_MUC: &str = "http://jabber.org/protocol/muc";

struct Eval<'a> {
    f: &'a Facts,
}

fn seen(evidence: impl Into<String>) -> Status {
    Status::Seen {
        evidence: evidence.into(),
    }
}

fn missing(why: impl Into<String>) -> Status {
    Status::Missing { why: why.into() }
}

/// Advertisement evidence combined with what the behaviour probe `key`
/// saw: seen working, broken (missing), or not tried (only advertised).
fn proven(f: &Facts, key: &str, advert: Status) -> Status {
    match (advert, f.behave.get(key)) {
        (Status::Seen { evidence }, Some(Ok(b))) => seen(format!("{b} ({evidence})")),
        (Status::Seen { evidence }, Some(Err(why))) => missing(format!("{evidence}, but {why}")),
        (Status::Seen { evidence }, None) => Status::Advertised { evidence },
        (Status::Advertised { evidence }, Some(Ok(b))) => seen(format!("{b} ({evidence})")),
        (other, _) => other,
    }
}

/// The Prosody modules behind a requirement.
fn modules_of(spec: &str) -> &'static [&'static str] {
    match spec {
        "RFC 6120" => &["c2s", "saslauth", "tls"],
        "RFC 7590" => &["tls"],
        "XEP-0368" => &["c2s (c2s_direct_tls_ports)"],
        "XEP-0030" => &["disco"],
        "XEP-0115" => &["disco", "pep"],
        "XEP-0114" => &["component"],
        "XEP-0163" => &["pep"],
        "RFC 7395" => &["websocket"],
        "XEP-0206" => &["bosh"],
        "RFC 6121" => &["roster", "presence", "message"],
        "XEP-0054" => &["vcard_legacy"],
        "XEP-0280" => &["carbons"],
        "XEP-0045" => &["muc"],
        "XEP-0249" => &["c2s routing (no module)"],
        "XEP-0363" => &["http_file_share"],
        "XEP-0398" | "XEP-0153" => &["vcard_legacy"],
        "XEP-0191" => &["blocklist"],
        "XEP-0048" | "XEP-0402" => &["bookmarks"],
        "XEP-0313 (MUC archive)" => &["muc_mam"],
        "XEP-0410" => &["muc"],
        "XEP-0223" => &["pep"],
        "XEP-0049" => &["private"],
        "XEP-0198" => &["smacks"],
        "XEP-0313" => &["mam"],
        "XEP-0352" => &["csi_simple"],
        "XEP-0357" => &["cloud_notify"],
        "XEP-0215" => &["external_services"],
        _ => &[],
    }
}

impl Eval<'_> {
    fn disco(&self, d: &Option<DiscoInfo>, who: &str, var: &str) -> Status {
        match d {
            Some(d) if d.has_feature(var) => seen(format!("{var} in {who} disco#info")),
            Some(_) => missing(format!("{var} not in {who} disco#info")),
            None => missing(format!("no disco#info from {who}")),
        }
    }

    fn server(&self, var: &str) -> Status {
        self.disco(&self.f.server, "the server's", var)
    }

    fn account(&self, var: &str) -> Status {
        self.disco(&self.f.account, "the account's", var)
    }

    /// An item of the domain with this identity category/type and feature.
    fn component(&self, category: &str, kind: &str, var: &str) -> Status {
        match self
            .f
            .items
            .iter()
            .find(|(_, i)| i.has_identity(category, Some(kind)) && i.has_feature(var))
        {
            Some((jid, _)) => seen(format!("{var} on {jid} ({category}/{kind})")),
            None => missing(format!(
                "no {category}/{kind} item of the domain offers {var}"
            )),
        }
    }

    fn stages(&self) -> impl Iterator<Item = &Features> {
        [&self.f.pre_tls, &self.f.pre_auth, &self.f.post_auth]
            .into_iter()
            .flatten()
    }

    fn stream_management(&self) -> Status {
        if self.f.post_auth.as_ref().is_some_and(|f| f.has_ns(NS_SM)) {
            seen("<sm xmlns='urn:xmpp:sm:3'/> in stream features after authentication")
        } else if self
            .f
            .pre_auth
            .as_ref()
            .is_some_and(|f| f.has_sasl2_inline(NS_SM))
        {
            seen("urn:xmpp:sm:3 inline in SASL2")
        } else {
            missing("no urn:xmpp:sm:3 stream feature")
        }
    }

    fn http_probe(&self, kind: &str) -> Option<&Result<Seen, String>> {
        self.f
            .http
            .iter()
            .find(|((k, _), _)| k == kind)
            .map(|(_, v)| v)
    }

    fn websocket(&self) -> Status {
        let path = self
            .f
            .http
            .keys()
            .find(|(k, _)| k == "websocket")
            .map(|(_, p)| p.clone())
            .unwrap_or_default();
        match self.http_probe("websocket") {
            Some(Ok(Seen {
                status: 101,
                detail:
                    Detail::WebSocket {
                        accept_valid: true,
                        protocol: Some(p),
                        features: Some(f),
                        problem: None,
                    },
                ..
            })) if p == "xmpp" && has_mechanisms(f) => seen(format!(
                "an XMPP stream over WebSocket at {path} up to SASL mechanisms ({})",
                f.sasl_mechanisms.join(" ")
            )),
            Some(Ok(Seen {
                detail:
                    Detail::WebSocket {
                        problem: Some(p), ..
                    },
                ..
            })) => missing(format!("{path}: {p}")),
            Some(Ok(s)) => missing(format!(
                "{path} answered {} {} without a valid xmpp upgrade and stream features with SASL mechanisms",
                s.status, s.reason
            )),
            Some(Err(e)) => missing(format!("{path}: {e}")),
            None => {
                missing("not probed: the profile promises no WebSocket endpoint (web/websocket)")
            }
        }
    }

    fn bosh(&self) -> Status {
        match self.http_probe("bosh") {
            Some(Ok(Seen {
                detail:
                    Detail::Bosh {
                        sid: Some(sid),
                        features: Some(f),
                        xmpp_version: Some(v),
                        problem: None,
                    },
                ..
            })) if v == "1.0" && has_mechanisms(f) => seen(format!(
                "BOSH session {sid} with xmpp:version 1.0 up to SASL mechanisms ({})",
                f.sasl_mechanisms.join(" ")
            )),
            Some(Ok(s)) => missing(format!(
                "BOSH answered {} {} without an XMPP session a client can log in on (sid, xmpp:version 1.0, SASL mechanisms)",
                s.status, s.reason
            )),
            Some(Err(e)) => missing(e.clone()),
            None => missing("not probed: the profile promises no BOSH endpoint (web/bosh)"),
        }
    }
}

fn req(feature: &str, spec: &str, level: Level, status: Status) -> Requirement {
    Requirement {
        feature: feature.into(),
        spec: spec.into(),
        level,
        modules: modules_of(spec).iter().map(|m| m.to_string()).collect(),
        status,
    }
}

/// Every category's requirements, judged from `facts`.
fn requirements(facts: &Facts) -> Vec<(&'static str, Vec<Requirement>)> {
    use Level::{Advanced, Core};
    let e = Eval { f: facts };
    let s = &facts.session;
    let p = |key: &str, advert: Status| proven(facts, key, advert);
    // XEP-0198: the classic resumption, and inline in SASL2 where offered.
    let sm = || match (p("sm", e.stream_management()), facts.behave.get("sm_sasl2")) {
        (Status::Seen { evidence }, Some(Ok(b))) => seen(format!("{evidence}; {b}")),
        (Status::Seen { evidence }, Some(Err(why))) => {
            missing(format!("{evidence}, but inline in SASL2: {why}"))
        }
        (other, _) => other,
    };

    let direct_tls = if s.tls_mode == "direct_tls" {
        seen(format!("the session itself used direct TLS on {}", s.addr))
    } else {
        match &facts.direct_tls {
            Some(Ok(ev)) => seen(ev.clone()),
            Some(Err(err)) => missing(err.clone()),
            None => missing(
                "not probed: the config opens no direct-TLS port (c2s_direct_tls_ports); `pfe check --alt-port PORT` probes one",
            ),
        }
    };
    // mod_disco always sends <c/>: it shows nothing about the server using
    // its clients' capabilities; mod_pep asking for ours does.
    let caps_advert = match e.stages().find(|f| f.has(NS_CAPS, "c")) {
        Some(_) => seen("<c xmlns='http://jabber.org/protocol/caps'/> in stream features"),
        None => missing("no entity capabilities (<c/>) in any stream features"),
    };
    let pep = match &facts.account {
        Some(a) if a.has_identity("pubsub", Some("pep")) => {
            seen("identity pubsub/pep in the account's disco#info")
        }
        _ => missing("no pubsub/pep identity in the account's disco#info"),
    };
    let component = match &facts.component {
        Some(Ok(ev)) => seen(ev.clone()),
        Some(Err(why)) => missing(why.clone()),
        None => missing(
            "the config defines no external component (Component \"name\" with component_secret): nothing accepts jabber:component:accept",
        ),
    };
    let disco = match &facts.server {
        Some(d) if d.has_feature("http://jabber.org/protocol/disco#info") => seen(format!(
            "the domain answered disco#info ({} features, {} identities)",
            d.features.len(),
            d.identities.len()
        )),
        Some(_) => missing("the domain's disco#info lacks http://jabber.org/protocol/disco#info"),
        None => missing("no disco#info from the domain"),
    };
    let core = vec![
        req(
            "Core features",
            "RFC 6120",
            Core,
            seen(format!(
                "stream negotiated: TLS, SASL {}, bound {}",
                s.mechanism, s.jid
            )),
        ),
        req(
            "TLS",
            "RFC 7590",
            Core,
            seen(format!(
                "{} ({})",
                if s.tls_mode == "direct_tls" {
                    "direct TLS"
                } else {
                    "STARTTLS"
                },
                s.tls.as_deref().unwrap_or("TLS")
            )),
        ),
        req("Direct TLS", "XEP-0368", Advanced, direct_tls),
        req("Feature discovery", "XEP-0030", Core, disco),
        req(
            "Feature broadcasts",
            "XEP-0115",
            Advanced,
            p("caps", caps_advert),
        ),
        req("Server extensibility", "XEP-0114", Core, component),
        req("Event publishing", "XEP-0163", Advanced, p("pep", pep)),
    ];

    let web = vec![
        req("Web connection mechanisms", "RFC 7395", Core, e.websocket()),
        req("Web connection mechanisms", "XEP-0206", Core, e.bosh()),
    ];

    let roster = match &facts.roster {
        Some(Ok(n)) => seen(format!("roster get answered ({n} items)")),
        Some(Err(err)) => missing(format!("roster get failed: {err}")),
        None => missing("roster not queried"),
    };
    let vcard = p("vcard", e.server("vcard-temp"));
    let upload = match (e.component("store", "file", NS_HTTP_UPLOAD), &facts.upload) {
        (Status::Seen { evidence }, Some(super::Outcome::Pass { .. })) => {
            seen(format!("a slot was PUT and fetched back ({evidence})"))
        }
        (Status::Seen { .. }, Some(super::Outcome::Fail { missing: m })) => missing(m.clone()),
        (Status::Seen { evidence }, _) => Status::Advertised { evidence },
        (st, _) => st,
    };
    let muc = e.component("conference", "text", NS_MUC);
    // XEP-0313 for MUC: Prosody advertises mam:2 on the service always, on
    // a room only when that room archives; judged on the room pfe created.
    let muc_mam = match &muc {
        Status::Seen { .. } => p(
            "muc_mam",
            Status::Advertised {
                evidence: "a MUC service".into(),
            },
        ),
        other => other.clone(),
    };
    let muc_sub = |key: &str| match &muc {
        Status::Seen { .. } => match facts.behave.get(key) {
            Some(Ok(ev)) => seen(ev.clone()),
            Some(Err(why)) => missing(why.clone()),
            None => missing(format!("not tried ({key} needs the MUC probe)")),
        },
        other => other.clone(),
    };
    let im = vec![
        req("Core features", "RFC 6121", Core, roster),
        req("vcard-temp", "XEP-0054", Core, vcard),
        req(
            "Outbound message synchronization",
            "XEP-0280",
            Core,
            p("carbons", e.server("urn:xmpp:carbons:2")),
        ),
        req("Group chat", "XEP-0045", Core, p("muc", muc.clone())),
        req(
            "Group chat",
            "XEP-0249",
            Core,
            match facts.behave.get("invite") {
                Some(Ok(ev)) => seen(ev.clone()),
                Some(Err(why)) => missing(why.clone()),
                None => Status::Unverifiable {
                    why: "a direct invitation was not sent (needs a MUC service)".into(),
                },
            },
        ),
        req("File upload", "XEP-0363", Core, upload),
        req(
            "User avatar compatibility",
            "XEP-0398",
            Advanced,
            p("avatar", e.account("urn:xmpp:pep-vcard-conversion:0")),
        ),
        req(
            "User avatar compatibility",
            "XEP-0153",
            Advanced,
            p("avatar", e.server("vcard-temp")),
        ),
        req(
            "User blocking",
            "XEP-0191",
            Advanced,
            p("blocking", e.server("urn:xmpp:blocking")),
        ),
        req(
            "Advanced group chat",
            "XEP-0048",
            Advanced,
            p(
                "bookmarks_legacy",
                e.account("urn:xmpp:bookmarks:1#compat-pep"),
            ),
        ),
        req(
            "Advanced group chat",
            "XEP-0313 (MUC archive)",
            Advanced,
            muc_mam,
        ),
        req(
            "Advanced group chat",
            "XEP-0402",
            Advanced,
            p("bookmarks", e.account("urn:xmpp:bookmarks:1#compat")),
        ),
        req(
            "Advanced group chat",
            "XEP-0410",
            Advanced,
            muc_sub("self_ping"),
        ),
        req(
            "Private data via PubSub",
            "XEP-0223",
            Advanced,
            p(
                "publish_options",
                e.account("http://jabber.org/protocol/pubsub#publish-options"),
            ),
        ),
        req(
            "Private XML storage",
            "XEP-0049",
            Advanced,
            p("private", e.server("jabber:iq:private")),
        ),
        req("Stream management", "XEP-0198", Advanced, sm()),
        req(
            "History storage / retrieval",
            "XEP-0313",
            Advanced,
            p("mam", e.account("urn:xmpp:mam:2")),
        ),
    ];

    let csi = if facts.post_auth.as_ref().is_some_and(|f| f.has_ns(NS_CSI)) {
        seen("<csi xmlns='urn:xmpp:csi:0'/> in stream features after authentication")
    } else {
        missing("no urn:xmpp:csi:0 stream feature")
    };
    let mobile = vec![
        req("Stream management", "XEP-0198", Core, sm()),
        req("Client state indication", "XEP-0352", Core, p("csi", csi)),
        req(
            "Third-party push notifications",
            "XEP-0357",
            Advanced,
            p("push", e.account("urn:xmpp:push:0")),
        ),
    ];

    let extdisco = match &facts.extdisco {
        Some(Ok(l)) if !l.is_empty() => match super::extdisco_problems(l) {
            problems if problems.is_empty() => seen(format!(
                "{} external service(s), each with the fields its type needs: {}",
                l.len(),
                l.iter()
                    .map(|s| s.kind.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            problems => missing(problems.join("; ")),
        },
        Some(Ok(_)) => missing("the external services list is empty"),
        Some(Err(err)) => missing(err.clone()),
        None => missing("external services not queried"),
    };
    let av = vec![req(
        "STUN/TURN server discovery",
        "XEP-0215",
        Core,
        extdisco,
    )];

    vec![
        ("Core", core),
        ("Web", web),
        ("IM", im),
        ("Mobile", mobile),
        ("A/V Calling", av),
    ]
}

fn met(reqs: &[Requirement], level: Level) -> bool {
    reqs.iter()
        .filter(|r| r.level <= level)
        .all(|r| matches!(r.status, Status::Seen { .. }))
}

/// Judge every category: a level is reached only when every requirement up
/// to it was seen working (advertised, missing and unverifiable all block).
pub(crate) fn evaluate(facts: &Facts) -> Vec<Suite> {
    let all = requirements(facts);
    let core_reqs = all[0].1.clone();
    all.into_iter()
        .map(|(category, reqs)| {
            let is_core = category == "Core";
            let ok = |l: Level| met(&reqs, l) && (is_core || met(&core_reqs, l));
            let reached = if ok(Level::Advanced) {
                Some(Level::Advanced)
            } else if ok(Level::Core) {
                Some(Level::Core)
            } else {
                None
            };
            let next = match reached {
                None => Some(Level::Core),
                Some(Level::Core) => Some(Level::Advanced),
                Some(Level::Advanced) => None,
            };
            let mut missing_for_next = Vec::new();
            if let Some(next) = next {
                for r in reqs.iter().filter(|r| r.level <= next) {
                    if !matches!(r.status, Status::Seen { .. }) {
                        let item = format!("{} ({}): {}", r.spec, r.feature, r.status.word());
                        if !missing_for_next.contains(&item) {
                            missing_for_next.push(item);
                        }
                    }
                }
                if !is_core && !met(&core_reqs, next) {
                    missing_for_next.push(format!("the Core category at {} level", next.name()));
                }
            }
            Suite {
                category: category.into(),
                reached,
                requirements: reqs,
                missing_for_next,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmpp::Identity;

    #[test]
    fn levels_follow_the_evidence() {
        let mut f = Facts::default();
        f.session.tls_mode = "starttls".into();
        f.roster = Some(Ok(0));
        f.server = Some(DiscoInfo {
            features: vec![
                "http://jabber.org/protocol/disco#info".into(),
                "vcard-temp".into(),
                "urn:xmpp:carbons:2".into(),
            ],
            ..Default::default()
        });
        f.account = Some(DiscoInfo::default());
        f.items.push((
            "conference.localhost".into(),
            DiscoInfo {
                identities: vec![Identity {
                    category: "conference".into(),
                    kind: "text".into(),
                    name: None,
                }],
                features: vec![NS_MUC.into()],
                ..Default::default()
            },
        ));
        // Advertised only: nothing is claimed, and the summary says why.
        let suites = evaluate(&f);
        let by = |s: &[Suite], c: &str| s.iter().find(|x| x.category == c).unwrap().clone();
        assert_eq!(by(&suites, "Core").reached, None);
        assert!(
            by(&suites, "Core")
                .missing_for_next
                .contains(&"XEP-0114 (Server extensibility): missing".to_string()),
            "{:?}",
            by(&suites, "Core").missing_for_next
        );
        assert_eq!(by(&suites, "IM").reached, None);
        assert!(
            by(&suites, "IM").missing_for_next.contains(
                &"XEP-0280 (Outbound message synchronization): only advertised".to_string()
            ),
            "{:?}",
            by(&suites, "IM").missing_for_next
        );
        // A component handshake and carbons seen working: Core is claimed,
        // XEP-0280 no longer blocks IM; the provider modules are named.
        f.component = Some(Ok("handshake".into()));
        f.behave.insert("carbons".into(), Ok("copied".into()));
        let suites = evaluate(&f);
        assert_eq!(by(&suites, "Core").reached, Some(Level::Core));
        let im = by(&suites, "IM");
        assert!(
            !im.missing_for_next
                .iter()
                .any(|m| m.starts_with("XEP-0280")),
            "{:?}",
            im.missing_for_next
        );
        let carbons = im
            .requirements
            .iter()
            .find(|r| r.spec == "XEP-0280")
            .unwrap();
        assert_eq!(carbons.modules, ["carbons"]);
        // A behaviour seen broken turns the advertisement into a miss.
        f.behave.insert("carbons".into(), Err("no copy".into()));
        let im = by(&evaluate(&f), "IM");
        let carbons = im
            .requirements
            .iter()
            .find(|r| r.spec == "XEP-0280")
            .unwrap();
        assert!(matches!(&carbons.status, Status::Missing { why } if why.contains("no copy")));
        // Unverifiable never counts: XEP-0249 without a MUC probe.
        let g = im
            .requirements
            .iter()
            .find(|r| r.spec == "XEP-0249")
            .unwrap();
        assert!(matches!(g.status, Status::Unverifiable { .. }));
        assert!(
            im.missing_for_next
                .iter()
                .any(|m| m == "XEP-0249 (Group chat): unverifiable")
        );
    }
}
