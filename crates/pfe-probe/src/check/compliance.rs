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
use super::http::{Detail, Seen};
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

/// What the check saw of one requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Seen { evidence: String },
    Missing { why: String },
    Unverifiable { why: String },
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
    /// What stands between `reached` and the next level (empty at Advanced).
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
                    },
                ..
            })) if p == "xmpp" => {
                seen(format!("WebSocket upgrade with subprotocol xmpp at {path}"))
            }
            Some(Ok(s)) => missing(format!(
                "{path} answered {} {} without a valid xmpp upgrade",
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
                        problem: None,
                        ..
                    },
                ..
            })) => seen(format!("BOSH session {sid} with stream features {f}")),
            Some(Ok(s)) => missing(format!(
                "BOSH answered {} {} without an XMPP session",
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
        status,
    }
}

/// Every category's requirements, judged from `facts`.
fn requirements(facts: &Facts) -> Vec<(&'static str, Vec<Requirement>)> {
    use Level::{Advanced, Core};
    let e = Eval { f: facts };
    let s = &facts.session;

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
    let caps = match e
        .stages()
        .find(|f| f.has("c", NS_CAPS) || f.has_ns(NS_CAPS))
    {
        Some(_) => seen("<c xmlns='http://jabber.org/protocol/caps'/> in stream features"),
        None => missing("no entity capabilities (<c/>) in any stream features"),
    };
    let pep = match &facts.account {
        Some(a) if a.has_identity("pubsub", Some("pep")) => {
            seen("identity pubsub/pep in the account's disco#info")
        }
        _ => missing("no pubsub/pep identity in the account's disco#info"),
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
        req(
            "Feature discovery",
            "XEP-0030",
            Core,
            e.server("http://jabber.org/protocol/disco#info"),
        ),
        req("Feature broadcasts", "XEP-0115", Advanced, caps),
        req(
            "Server extensibility",
            "XEP-0114",
            Core,
            Status::Unverifiable {
                why: "the component protocol is not visible to a client (Prosody implements it: mod_component)".into(),
            },
        ),
        req("Event publishing", "XEP-0163", Advanced, pep),
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
    let vcard = e.server("vcard-temp");
    let avatar_compat = match &vcard {
        Status::Seen { .. } => seen("vcard-temp storage (XEP-0054) holds vCard-based avatars"),
        _ => missing("no vcard-temp (XEP-0054) to hold vCard-based avatars"),
    };
    let upload = match (e.component("store", "file", NS_HTTP_UPLOAD), &facts.upload) {
        (Status::Seen { evidence }, Some(super::Outcome::Pass { .. })) => {
            seen(format!("{evidence}; a slot was PUT and fetched back"))
        }
        (Status::Seen { .. }, Some(super::Outcome::Fail { missing: m })) => missing(m.clone()),
        (st, _) => st,
    };
    let bookmarks_legacy = match (
        e.account("urn:xmpp:bookmarks:1#compat-pep"),
        e.server("jabber:iq:private"),
    ) {
        (st @ Status::Seen { .. }, _) | (_, st @ Status::Seen { .. }) => st,
        _ => missing("neither PEP bookmarks compatibility nor private XML storage"),
    };
    // Prosody (like the XEP) advertises self-ping optimisation per room.
    const SELF_PING: &str = "http://jabber.org/protocol/muc#self-ping-optimization";
    let self_ping = match (&facts.room, e.component("conference", "text", NS_MUC)) {
        (_, st @ Status::Missing { .. }) => st,
        (Some(Ok((room, info))), _) if info.has_feature(SELF_PING) => {
            seen(format!("{SELF_PING} in the disco#info of room {room}"))
        }
        (Some(Ok((room, _))), _) => missing(format!("room {room} does not advertise {SELF_PING}")),
        (Some(Err(err)), _) => missing(format!("a room's disco#info failed: {err}")),
        (None, _) => match e.component("conference", "text", SELF_PING) {
            st @ Status::Seen { .. } => st,
            _ => Status::Unverifiable {
                why: format!(
                    "the MUC service lists no public room to ask; {SELF_PING} is advertised per room"
                ),
            },
        },
    };
    let im = vec![
        req("Core features", "RFC 6121", Core, roster),
        req("vcard-temp", "XEP-0054", Core, vcard),
        req(
            "Outbound message synchronization",
            "XEP-0280",
            Core,
            e.server("urn:xmpp:carbons:2"),
        ),
        req("Group chat", "XEP-0045", Core, e.component("conference", "text", NS_MUC)),
        req(
            "Group chat",
            "XEP-0249",
            Core,
            Status::Unverifiable {
                why: "direct MUC invitations are messages between clients; the server only routes them".into(),
            },
        ),
        req("File upload", "XEP-0363", Core, upload),
        req(
            "User avatar compatibility",
            "XEP-0398",
            Advanced,
            e.account("urn:xmpp:pep-vcard-conversion:0"),
        ),
        req("User avatar compatibility", "XEP-0153", Advanced, avatar_compat),
        req("User blocking", "XEP-0191", Advanced, e.server("urn:xmpp:blocking")),
        req("Advanced group chat", "XEP-0048", Advanced, bookmarks_legacy),
        req(
            "Advanced group chat",
            "XEP-0313 (MUC archive)",
            Advanced,
            e.component("conference", "text", "urn:xmpp:mam:2"),
        ),
        req(
            "Advanced group chat",
            "XEP-0402",
            Advanced,
            e.account("urn:xmpp:bookmarks:1#compat"),
        ),
        req("Advanced group chat", "XEP-0410", Advanced, self_ping),
        req(
            "Private data via PubSub",
            "XEP-0223",
            Advanced,
            e.account("http://jabber.org/protocol/pubsub#publish-options"),
        ),
        req(
            "Private XML storage",
            "XEP-0049",
            Advanced,
            e.server("jabber:iq:private"),
        ),
        req("Stream management", "XEP-0198", Advanced, e.stream_management()),
        req(
            "History storage / retrieval",
            "XEP-0313",
            Advanced,
            e.account("urn:xmpp:mam:2"),
        ),
    ];

    let csi = if facts.post_auth.as_ref().is_some_and(|f| f.has_ns(NS_CSI)) {
        seen("<csi xmlns='urn:xmpp:csi:0'/> in stream features after authentication")
    } else {
        missing("no urn:xmpp:csi:0 stream feature")
    };
    let mobile = vec![
        req("Stream management", "XEP-0198", Core, e.stream_management()),
        req("Client state indication", "XEP-0352", Core, csi),
        req(
            "Third-party push notifications",
            "XEP-0357",
            Advanced,
            e.account("urn:xmpp:push:0"),
        ),
    ];

    let extdisco = match &facts.extdisco {
        Some(Ok(l)) if !l.is_empty() => seen(format!(
            "{} external service(s): {}",
            l.len(),
            l.iter()
                .map(|s| s.kind.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
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
        .all(|r| !matches!(r.status, Status::Missing { .. }))
}

/// Judge every category.
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
                    if matches!(r.status, Status::Missing { .. }) {
                        missing_for_next.push(format!("{} ({})", r.spec, r.feature));
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
        let suites = evaluate(&f);
        let by = |c: &str| suites.iter().find(|s| s.category == c).unwrap().clone();
        assert_eq!(by("Core").reached, Some(Level::Core));
        assert!(
            by("Core")
                .missing_for_next
                .iter()
                .any(|m| m.starts_with("XEP-0368")),
            "{:?}",
            by("Core").missing_for_next
        );
        // IM needs file upload for Core.
        assert_eq!(by("IM").reached, None);
        assert_eq!(by("IM").missing_for_next, ["XEP-0363 (File upload)"]);
        // Mobile without SM and CSI: nothing; its list names both.
        assert_eq!(by("Mobile").reached, None);
        assert_eq!(by("Mobile").missing_for_next.len(), 2);
        // Web names the Core category when that blocks the next level.
        assert!(
            by("Web")
                .missing_for_next
                .iter()
                .any(|m| m.starts_with("RFC 7395"))
        );
    }
}
