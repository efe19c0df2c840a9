//! The live check: does a running server offer what the catalog promises?
//! Each enabled feature declares, per XEP, where on the wire it shows; the
//! resolved config adds the security promises (encryption, registration).
//! This module gathers those facts over one XMPP session plus a few bounded
//! side probes (a cleartext stream, an unauthenticated encrypted stream,
//! direct TLS, the HTTP endpoints), judges each promise, and summarises the
//! XMPP Compliance Suites 2023 levels the server reached (see
//! [`compliance`]).

mod behave;
pub mod compliance;
mod component;
mod http;
// The operator's live rows (served certificates and TLS, TURN, LDAP,
// XEP-0157): planned in `plan_target`, run in `inspect_inner`.
pub mod live;
pub mod tls;
pub mod turn;
// The URLs the server hands out, from the client's side.
pub mod urls;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::xmpp::{
    self, CleartextAuthProbe, Client, ClientConfig, DiscoInfo, DiscoItem, Element, Error,
    ExternalService, IqType, NS_EXTDISCO, NS_HTTP_UPLOAD, NS_REGISTER, Registration, Stage,
    TlsMode, TlsVerify, UploadSlot,
};
use pfe_core::catalog::{CheckLocation, HttpCheck, HttpProbe};
use pfe_core::engine::Build;
use pfe_core::sandbox::SectionKind;

pub use compliance::{Level, Requirement, Status, Suite};

/// One thing a feature (or the resolved config) promises, e.g. XEP-0313 as
/// `urn:xmpp:mam:2` in the account's disco#info.
#[derive(Debug, Clone, Serialize)]
pub struct Promise {
    pub feature: String,
    pub xep: String,
    #[serde(rename = "where")]
    pub location: CheckLocation,
    /// The probe and path of a `where = "http"` promise.
    #[serde(skip)]
    pub http: Option<HttpCheck>,
    pub var: Option<String>,
    pub extra: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    Pass {
        evidence: String,
    },
    Fail {
        missing: String,
    },
    /// Works, but short of what the environment expects (e.g. no abuse
    /// contact in production): shown, counted, never a failed check.
    Warn {
        warning: String,
    },
    NotCheckable {
        why: String,
    },
}

/// How many rows ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub not_checkable: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub promise: Promise,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What the outcome rests on: `behaviour` (something was done and
    /// seen to work, or seen to fail), `advertisement` (disco or stream
    /// features only), or `none` (not checkable).
    pub proof: Proof,
}

/// What a row's outcome rests on.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    Behaviour,
    Advertisement,
    None,
}

/// An external component (XEP-0114) the resolved config defines, and how
/// to reach and authenticate as it.
#[derive(Clone, Debug)]
pub struct ComponentTarget {
    /// The component's JID (its `Component "name"`).
    pub name: String,
    /// `host:port` of the component listener.
    pub addr: String,
    /// Its shared secret (`None`: unknown to pfe; the handshake is not tried).
    pub secret: Option<String>,
}

/// Pseudo-feature of the transport security promises.
pub const SECURITY_TRANSPORT: &str = "security/transport";
/// Pseudo-feature of the registration promise.
pub const SECURITY_REGISTRATION: &str = "security/registration";

/// The promises of the enabled features whose module the config loads,
/// followed by the security promises of the resolved config.
/// A feature can only promise what its modules provide; checks tied to a
/// module the config does not load (an optional sub-feature switched off)
/// are not promises.
pub fn promises(build: &Build) -> Vec<Promise> {
    let mut out = promises_for(build, &loaded_modules_declared(build));
    out.extend(security_promises(build));
    out
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
                if &*origin.layer != "--set" {
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
                location: c.location,
                http: c.http.clone(),
                var: c.var.clone(),
                extra: c.extra.clone(),
            });
        }
    }
    out
}

/// An option as Prosody resolves it for the served host: the VirtualHost's
/// own value, else the global one, else `default` (Prosody's). Returns the
/// value and where it was set.
fn resolved_bool(build: &Build, name: &str, default: bool) -> (bool, String) {
    let sections = [
        build.evaluated.section(&build.domain),
        Some(build.evaluated.global()),
    ];
    for s in sections.into_iter().flatten() {
        if let Some(o) = s.options.get(name)
            && let Some(b) = o.value.as_bool()
        {
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
            return (b, format!("{name} = {b} at {at}"));
        }
    }
    (
        default,
        format!("{name} unset: Prosody's default {default}"),
    )
}

/// The first port of a port-list option in the global section
/// (`c2s_ports`, `c2s_direct_tls_ports`, `http_ports`, ...).
pub fn configured_port(build: &Build, option: &str) -> Option<u16> {
    let v = &build.evaluated.global().options.get(option)?.value;
    let first = match v {
        pfe_core::value::Value::List(l) => l.first()?.clone(),
        other => other.clone(),
    };
    match first {
        pfe_core::value::Value::Int(n) => u16::try_from(n).ok(),
        pfe_core::value::Value::Str(s) => s.parse().ok(),
        _ => None,
    }
}

fn security_promise(
    feature: &str,
    spec: &str,
    probe: &str,
    what: &str,
    because: String,
) -> Promise {
    let mut extra = BTreeMap::new();
    extra.insert("probe".into(), probe.into());
    extra.insert("promise".into(), what.into());
    extra.insert("because".into(), because);
    Promise {
        feature: feature.into(),
        xep: spec.into(),
        location: CheckLocation::Security,
        http: None,
        var: None,
        extra,
    }
}

/// What the resolved config promises about transport security and account
/// creation: derived from `c2s_require_encryption`,
/// `allow_unencrypted_plain_auth`, `allow_registration` (Prosody's defaults
/// when unset) and the environment's `registration_open`, never from the
/// environment's name.
pub fn security_promises(build: &Build) -> Vec<Promise> {
    let mut out = Vec::new();
    let (require, why_require) = resolved_bool(build, "c2s_require_encryption", true);
    let (plain_ok, why_plain) = resolved_bool(build, "allow_unencrypted_plain_auth", false);
    if require {
        out.push(security_promise(
            SECURITY_TRANSPORT,
            "RFC 6120",
            "starttls_required",
            "STARTTLS is required before authentication",
            why_require.clone(),
        ));
    }
    if require || !plain_ok {
        let because = if require {
            why_require.clone()
        } else {
            why_plain
        };
        out.push(security_promise(
            SECURITY_TRANSPORT,
            "RFC 4616",
            "no_plain_before_tls",
            "no PLAIN before TLS",
            because,
        ));
    }
    if require {
        out.push(security_promise(
            SECURITY_TRANSPORT,
            "RFC 6120",
            "cleartext_auth_refused",
            "authentication on an unencrypted stream is refused",
            why_require,
        ));
    }
    let (open, why_open) = resolved_bool(build, "allow_registration", false);
    let env_closed = build.environment.registration_open == Some(false);
    if !open || env_closed {
        let mut because = Vec::new();
        if !open {
            because.push(why_open);
        }
        if env_closed {
            because.push(format!(
                "environment {}: registration_open = false",
                build.environment.id
            ));
        }
        out.push(security_promise(
            SECURITY_REGISTRATION,
            "XEP-0077",
            "registration_closed",
            "in-band registration is closed (no account without an invitation)",
            because.join("; "),
        ));
    }
    out
}

/// Where the server's HTTP endpoints are reached.
#[derive(Clone, Debug)]
pub struct HttpTarget {
    /// `host:port` to connect to.
    pub addr: String,
    /// The `Host` header (the XMPP domain: Prosody routes by it).
    pub host: String,
    /// `Some`: HTTPS, verified this way.
    pub tls: Option<TlsVerify>,
}

/// How to reach the server for one check.
#[derive(Clone, Debug)]
pub struct Target {
    /// The main session (STARTTLS or direct TLS, per its `tls_mode`).
    pub client: ClientConfig,
    /// The HTTP endpoints for `where = "http"` promises (`None`: those
    /// promises are not checkable).
    pub http: Option<HttpTarget>,
    /// A STARTTLS c2s address for the cleartext probes (no PLAIN, refused
    /// cleartext authentication) when the session itself uses direct TLS.
    pub starttls_addr: Option<String>,
    /// A direct-TLS (XEP-0368) c2s address to probe when the session uses
    /// STARTTLS (`None`: not probed).
    pub direct_tls_addr: Option<String>,
    /// A second account for the behaviour probes that need two parties
    /// (carbons, blocking, offline delivery, push app server, invitations).
    /// It should be disposable: the probes message it and change its state
    /// (all undone at the end). `None`: those probes do not run.
    pub second: Option<ClientConfig>,
    /// External components to handshake with (XEP-0114).
    pub components: Vec<ComponentTarget>,
    /// The operator's live probes (certificates, TLS, TURN, LDAP, contact).
    pub live: live::LivePlan,
}

/// The external components (`Component "name"` without a module, i.e.
/// Prosody's mod_component) of the resolved config, reached on `host` at
/// the first `component_ports` port (Prosody's default 5347). The secret is
/// the config's `component_secret` when it is a literal string, else
/// `secret` (e.g. from `--component-secret`).
pub fn component_targets(build: &Build, host: &str, secret: Option<&str>) -> Vec<ComponentTarget> {
    let port = configured_port(build, "component_ports").unwrap_or(5347);
    build
        .evaluated
        .sections
        .iter()
        .filter(|s| matches!(&s.kind, SectionKind::Component { module } if module == "component"))
        .map(|s| {
            let literal = s
                .options
                .get("component_secret")
                .and_then(|o| match &o.value {
                    pfe_core::value::Value::Str(v) => Some(v.clone()),
                    _ => None,
                });
            ComponentTarget {
                name: s.name.clone(),
                addr: format!("{host}:{port}"),
                secret: literal.or_else(|| secret.map(str::to_string)),
            }
        })
        .collect()
}

/// The host part of `host:port`.
pub fn host_of(addr: &str) -> &str {
    match addr.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => addr,
    }
}

impl Target {
    /// The session's own address for its TLS flavour; HTTP on the same host,
    /// port 5280, plain; no other probe addresses.
    pub fn new(client: ClientConfig) -> Target {
        let host = host_of(&client.addr).to_string();
        let domain = client
            .split_jid()
            .map(|(_, d)| d.to_string())
            .unwrap_or_else(|_| host.clone());
        let (starttls_addr, direct_tls_addr) = match client.tls_mode {
            TlsMode::StartTls => (Some(client.addr.clone()), None),
            TlsMode::DirectTls => (None, Some(client.addr.clone())),
        };
        Target {
            http: Some(HttpTarget {
                addr: format!("{host}:5280"),
                host: domain,
                tls: None,
            }),
            client,
            starttls_addr,
            direct_tls_addr,
            second: None,
            components: Vec::new(),
            live: live::LivePlan::default(),
        }
    }
}

/// `pfe check --timeout`: the overall deadline of one check, in ms.
pub const DEFAULT_TIMEOUT_MS: u64 = 15_000;

/// What the operator asked `pfe check` to reach; [`plan_target`] fills in
/// every default from the resolved config.
#[derive(Debug, Clone)]
pub struct TargetOptions {
    /// `host[:port]` of the c2s listener.
    pub server: String,
    pub jid: String,
    pub password: String,
    pub verify: TlsVerify,
    pub direct_tls: bool,
    /// The other c2s port on the same host.
    pub alt_port: Option<u16>,
    /// `host[:port]` of the HTTP server.
    pub http: Option<String>,
    pub https: bool,
    /// The overall deadline; every probe ends within it.
    pub timeout: Duration,
    /// A second, disposable account (JID, password) for the two-party
    /// behaviour probes.
    pub second: Option<(String, String)>,
    /// The external components' secret when the config does not hold it.
    pub component_secret: Option<String>,
    /// The s2s port for the served-certificate probes [default: the
    /// config's `s2s_ports`, else 5269].
    pub s2s_port: Option<u16>,
}

/// The addresses one check probes, with the defaults the config implies:
/// c2s 5222 (5223 with direct TLS), HTTP on the c2s host at the config's
/// `http_ports`/`https_ports` (5280/5281), the direct TLS probe at
/// `c2s_direct_tls_ports` (or the cleartext one at `c2s_ports`, 5222, when
/// the session itself uses direct TLS).
pub fn plan_target(build: &Build, o: &TargetOptions) -> Target {
    let with_port = |addr: &str, port: u16| {
        if host_of(addr) != addr {
            addr.to_string()
        } else {
            format!("{addr}:{port}")
        }
    };
    let addr = with_port(&o.server, if o.direct_tls { 5223 } else { 5222 });
    let host = host_of(&addr).to_string();
    let mode = if o.direct_tls {
        TlsMode::DirectTls
    } else {
        TlsMode::StartTls
    };
    let mut cfg = ClientConfig::new(
        addr,
        o.jid.clone(),
        o.password.clone(),
        mode,
        o.verify.clone(),
    );
    cfg.timeouts.overall = o.timeout;
    cfg.timeouts.connect = cfg.timeouts.connect.min(o.timeout);
    cfg.timeouts.read = cfg.timeouts.read.min(o.timeout);
    let mut target = Target::new(cfg.clone());
    if let Some((jid, password)) = &o.second {
        let mut second = cfg;
        second.jid = jid.clone();
        second.password = password.clone();
        target.second = Some(second);
    }
    target.components = component_targets(build, &host, o.component_secret.as_deref());
    let http_default = if o.https {
        configured_port(build, "https_ports").unwrap_or(5281)
    } else {
        configured_port(build, "http_ports").unwrap_or(5280)
    };
    target.http = Some(HttpTarget {
        addr: with_port(o.http.as_deref().unwrap_or(&host), http_default),
        host: build.domain.clone(),
        tls: o.https.then(|| o.verify.clone()),
    });
    match mode {
        TlsMode::StartTls => {
            target.direct_tls_addr = o
                .alt_port
                .or_else(|| configured_port(build, "c2s_direct_tls_ports"))
                .map(|p| format!("{host}:{p}"));
        }
        TlsMode::DirectTls => {
            let p = o
                .alt_port
                .or_else(|| configured_port(build, "c2s_ports"))
                .unwrap_or(5222);
            target.starttls_addr = Some(format!("{host}:{p}"));
        }
    }
    target.live = live::plan(build, &target, o.s2s_port);
    target
}

/// Runs one whole check on its own runtime: promises from `build`, every
/// probe of `target`. A DNS lookup still blocking a worker thread does not
/// hold up the return.
pub fn run_check(build: &Build, target: &Target) -> std::io::Result<xmpp::Result<Report>> {
    let promises = promises(build);
    crate::block_on(inspect(target, &promises))
}

/// What the main session was.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Session {
    /// `host:port`
    pub addr: String,
    /// `starttls` or `direct_tls`
    pub tls_mode: String,
    /// TLS version and cipher suite.
    pub tls: Option<String>,
    /// The SASL mechanism that authenticated.
    pub mechanism: String,
    /// The bound full JID.
    pub jid: String,
    /// Items of the domain's disco#items that answered disco#info.
    pub items: Vec<String>,
    /// Milliseconds for the whole check.
    pub elapsed_ms: u64,
    /// Milliseconds per part (the main session and each probe; the parts
    /// run at once).
    pub timings_ms: BTreeMap<String, u64>,
}

/// Everything one check found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub session: Session,
    pub rows: Vec<Row>,
    /// XMPP Compliance Suites 2023 (XEP-0479), server side.
    pub compliance: Vec<Suite>,
    /// What the behaviour probes did, by probe: evidence or what failed.
    pub behaviours: BTreeMap<String, Result<String, String>>,
    /// What the check created and could not remove (empty: nothing left
    /// behind, apart from what expires on its own, listed in `expires`).
    pub leftovers: Vec<String>,
    /// What the check created that the server keeps until it expires
    /// (archived messages).
    pub expires: Vec<String>,
}

impl Report {
    /// Whether any promise failed.
    pub fn failed(&self) -> bool {
        self.rows
            .iter()
            .any(|r| matches!(r.outcome, Outcome::Fail { .. }))
    }
}

/// The registration probe's findings.
#[derive(Debug, Clone)]
pub(crate) struct RegistrationFacts {
    pub(crate) form: Registration,
    /// The answer to a registration attempt without invitation, when a
    /// form was offered although registration is promised closed.
    pub(crate) attempt: Option<RegistrationAttempt>,
}

#[derive(Debug, Clone)]
pub(crate) enum RegistrationAttempt {
    Refused {
        condition: String,
        text: Option<String>,
    },
    /// The account was created (and, if `removed`, deleted again).
    Created {
        jid: String,
        removed: Result<(), String>,
    },
}

/// What the session and the probes saw.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub(crate) pre_tls: Option<xmpp::Features>,
    pub(crate) pre_auth: Option<xmpp::Features>,
    pub(crate) post_auth: Option<xmpp::Features>,
    pub(crate) server: Option<DiscoInfo>,
    pub(crate) account: Option<DiscoInfo>,
    pub(crate) items: Vec<(String, DiscoInfo)>,
    pub(crate) item_errors: Vec<(String, String)>,
    /// disco#info of one public room of a MUC service (None: no room listed).
    pub(crate) room: Option<Result<(String, DiscoInfo), String>>,
    pub(crate) extdisco: Option<Result<Vec<ExternalService>, String>>,
    pub(crate) roster: Option<Result<usize, String>>,
    pub(crate) session: Session,
    /// Cleartext probe: pre-TLS features and the cleartext auth attempt.
    pub(crate) cleartext: Option<Result<(xmpp::Features, CleartextAuthProbe), String>>,
    pub(crate) registration: Option<Result<RegistrationFacts, String>>,
    /// Direct TLS probe: what it saw, or why it failed (None: not probed).
    pub(crate) direct_tls: Option<Result<String, String>>,
    /// HTTP probes by (probe, path).
    pub(crate) http: BTreeMap<(String, String), http::Probe>,
    pub(crate) upload: Option<Outcome>,
    /// The behaviour probes: key → evidence, or what went wrong.
    pub(crate) behave: BTreeMap<String, Result<String, String>>,
    pub(crate) leftovers: Vec<String>,
    pub(crate) expires: Vec<String>,
    /// XEP-0114 handshakes (None: no external component defined).
    pub(crate) component: Option<Result<String, String>>,
}

/// Why each XEP-0215 entry could not be used: STUN needs a host, TURN a
/// host and credentials (username and password; Prosody derives them from
/// the secret, and sends none without it).
pub(crate) fn extdisco_problems(list: &[ExternalService]) -> Vec<String> {
    let mut out = Vec::new();
    for s in list {
        let name = format!(
            "{} {}{}{}",
            s.kind,
            s.host,
            s.port.map(|p| format!(":{p}")).unwrap_or_default(),
            s.transport
                .as_deref()
                .map(|t| format!("/{t}"))
                .unwrap_or_default()
        );
        if s.host.is_empty() {
            out.push(format!("{name}: no host"));
        }
        match s.kind.as_str() {
            "turn" | "turns"
                if s.username.as_deref().unwrap_or("").is_empty()
                    || s.password.as_deref().unwrap_or("").is_empty() =>
            {
                out.push(format!(
                    "{name}: no username/password (the TURN secret is not configured)"
                ));
            }
            "stun" | "stuns" => {}
            "" => out.push(format!("{name}: no type")),
            _ => {}
        }
    }
    out
}

const UPLOAD_BODY_PREFIX: &str = "pfe check: XEP-0363 upload probe ";

/// What the main session returns besides the facts: an upload slot.
struct MainOut {
    slot: Option<Result<(String, UploadSlot), String>>,
    elapsed: Duration,
}

fn probe_of(p: &Promise) -> Option<&str> {
    p.extra.get("probe").map(String::as_str)
}

fn err_text(e: &Error) -> String {
    e.to_string()
}

/// Log in, read every stage's features, then pipeline the queries.
async fn main_session(
    cfg: ClientConfig,
    want_upload: Option<u64>,
    facts: &mut Facts,
) -> xmpp::Result<MainOut> {
    let started = Instant::now();
    let domain = cfg.split_jid()?.1.to_string();
    let bare = cfg.jid.clone();
    facts.session.addr = cfg.addr.clone();
    facts.session.tls_mode = match cfg.tls_mode {
        TlsMode::StartTls => "starttls".into(),
        TlsMode::DirectTls => "direct_tls".into(),
    };
    let mut client = Client::login(cfg, None).await?;
    facts.pre_tls = client.features_pre_tls().cloned();
    facts.pre_auth = client.features_post_tls().cloned();
    facts.post_auth = client.features_post_auth().cloned();
    facts.session.tls = client.tls_info();
    facts.session.mechanism = client.mechanism().map(|m| m.name()).unwrap_or("").into();
    facts.session.jid = client.bound_jid().unwrap_or("").into();

    let answers = client
        .iq_many(vec![
            (IqType::Get, Some(domain.clone()), DiscoInfo::request(None)),
            (IqType::Get, Some(bare), DiscoInfo::request(None)),
            (IqType::Get, Some(domain.clone()), DiscoItem::request(None)),
            (
                IqType::Get,
                Some(domain.clone()),
                Element::new("services", NS_EXTDISCO),
            ),
            (IqType::Get, None, Element::new("query", "jabber:iq:roster")),
        ])
        .await?;
    let mut answers = answers.into_iter();
    let mut next = || answers.next().expect("five answers");
    facts.server = Some(DiscoInfo::from_result(&next()?));
    facts.account = Some(DiscoInfo::from_result(&next()?));
    let items = DiscoItem::list_from_result(&next()?);
    facts.extdisco = Some(
        next()
            .map(|r| ExternalService::list_from_result(&r))
            .map_err(|e| err_text(&e)),
    );
    facts.roster = Some(
        next()
            .map(|r| {
                r.child("query", "jabber:iq:roster")
                    .map_or(0, |q| q.children.len())
            })
            .map_err(|e| err_text(&e)),
    );

    let jids: Vec<String> = items
        .into_iter()
        .filter(|i| i.node.is_none() && !i.jid.is_empty())
        .map(|i| i.jid)
        .collect();
    // disco#info of every item, and its disco#items (a MUC service's
    // public rooms), in one round trip.
    let answers = client
        .iq_many(
            jids.iter()
                .flat_map(|j| {
                    [
                        (IqType::Get, Some(j.clone()), DiscoInfo::request(None)),
                        (IqType::Get, Some(j.clone()), DiscoItem::request(None)),
                    ]
                })
                .collect(),
        )
        .await?;
    let mut answers = answers.into_iter();
    let mut room = None;
    for jid in jids {
        let (info, sub) = (answers.next(), answers.next());
        match info.expect("an answer per request") {
            Ok(r) => {
                let info = DiscoInfo::from_result(&r);
                if room.is_none()
                    && info.has_identity("conference", Some("text"))
                    && let Some(Ok(sub)) = sub
                {
                    room = DiscoItem::list_from_result(&sub)
                        .into_iter()
                        .find(|i| i.node.is_none() && i.jid.contains('@'))
                        .map(|i| i.jid);
                }
                facts.items.push((jid, info));
            }
            Err(e) => facts.item_errors.push((jid, err_text(&e))),
        }
    }
    facts.session.items = facts.items.iter().map(|(j, _)| j.clone()).collect();
    if let Some(room) = room {
        facts.room = Some(match client.disco_info(&room, None).await {
            Ok(info) => Ok((room, info)),
            Err(e @ Error::IqError { .. }) => Err(err_text(&e)),
            Err(e) => return Err(e),
        });
    }

    let mut out = MainOut {
        slot: None,
        elapsed: Duration::ZERO,
    };
    if let Some(size) = want_upload {
        let service = facts
            .items
            .iter()
            .find(|(_, i)| i.has_feature(NS_HTTP_UPLOAD) && i.has_identity("store", Some("file")))
            .map(|(j, _)| j.clone());
        out.slot = Some(match service {
            None => Err("no item of the server's disco#items is an upload service \
                 (store/file with urn:xmpp:http:upload:0)"
                .into()),
            Some(service) => {
                let name = format!("pfe-check-{}.txt", nonce());
                match client
                    .upload_slot(&service, &name, size, "text/plain")
                    .await
                {
                    Ok(slot) => Ok((service, slot)),
                    Err(e @ Error::IqError { .. }) => {
                        Err(format!("{service} refused an upload slot: {e}"))
                    }
                    Err(e) => return Err(e),
                }
            }
        });
    }
    client.close().await;
    out.elapsed = started.elapsed();
    Ok(out)
}

fn nonce() -> String {
    let mut raw = [0u8; 6];
    getrandom::fill(&mut raw).expect("the OS random source works");
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// A cleartext stream: its features and an authentication attempt.
async fn cleartext_probe(
    mut cfg: ClientConfig,
    addr: String,
) -> Result<(xmpp::Features, CleartextAuthProbe), String> {
    cfg.addr = addr;
    cfg.tls_mode = TlsMode::StartTls;
    let mut c = Client::connect(cfg).await.map_err(|e| err_text(&e))?;
    let features = c.features().clone();
    let probe = c.probe_cleartext_auth().await.map_err(|e| err_text(&e))?;
    c.close().await;
    Ok((features, probe))
}

/// An encrypted, unauthenticated stream: the registration form, and when a
/// form comes back although registration is promised closed, an attempt to
/// register without invitation (removed again should it succeed).
async fn registration_probe(cfg: ClientConfig, attempt: bool) -> Result<RegistrationFacts, String> {
    let domain = cfg.split_jid().map_err(|e| err_text(&e))?.1.to_string();
    let mut c = Client::connect(cfg.clone())
        .await
        .map_err(|e| err_text(&e))?;
    if !c.is_encrypted() {
        c.starttls().await.map_err(|e| err_text(&e))?;
    }
    let form = c.registration().await.map_err(|e| err_text(&e))?;
    let mut facts = RegistrationFacts {
        form,
        attempt: None,
    };
    if attempt && facts.form.is_open() {
        let user = format!("pfe-probe-{}", nonce());
        let password = format!("{}{}", nonce(), nonce());
        let q = Element::new("query", NS_REGISTER)
            .with_child(Element::new("username", NS_REGISTER).with_text(user.clone()))
            .with_child(Element::new("password", NS_REGISTER).with_text(password.clone()));
        facts.attempt = Some(match c.iq(IqType::Set, Some(&domain), q).await {
            Err(Error::IqError {
                condition, text, ..
            }) => RegistrationAttempt::Refused { condition, text },
            Err(e) => return Err(err_text(&e)),
            Ok(_) => {
                let jid = format!("{user}@{domain}");
                let mut rcfg = cfg;
                rcfg.jid = jid.clone();
                rcfg.password = password;
                let removed = async {
                    let mut rc = Client::login(rcfg, None).await?;
                    let q = Element::new("query", NS_REGISTER)
                        .with_child(Element::new("remove", NS_REGISTER));
                    // The server may close the stream right after removing.
                    match rc.iq(IqType::Set, None, q).await {
                        Ok(_) | Err(Error::Closed { .. } | Error::StreamError { .. }) => Ok(()),
                        Err(e) => Err(e),
                    }
                }
                .await
                .map_err(|e: Error| err_text(&e));
                RegistrationAttempt::Created { jid, removed }
            }
        });
    }
    c.close().await;
    Ok(facts)
}

/// XEP-0077 open registration: an unauthenticated stream's form for a new
/// account (fields to fill, not `<registered/>`).
fn open_registration(r: &Result<RegistrationFacts, String>) -> Result<String, String> {
    let f = match r {
        Err(e) => return Err(format!("asking for the registration form: {e}")),
        Ok(f) => &f.form,
    };
    match &f.outcome {
        xmpp::RegistrationOutcome::Form { fields, .. }
            if f.is_open() && fields.iter().any(|x| x == "username") =>
        {
            Ok(format!(
                "an unauthenticated stream got a registration form for a new account (fields: {})",
                fields.join(", ")
            ))
        }
        xmpp::RegistrationOutcome::Form { fields, .. } => Err(format!(
            "the registration form of an unauthenticated stream offers no account to create (fields: {})",
            fields.join(", ")
        )),
        xmpp::RegistrationOutcome::Refused { condition, .. } => Err(format!(
            "an unauthenticated stream asking for the registration form was refused: <{condition}/>"
        )),
    }
}

/// A direct-TLS stream to `addr`: TLS (verified like the session) and
/// stream features.
async fn direct_tls_probe(cfg: &ClientConfig, addr: &str) -> Result<String, String> {
    let domain = cfg.split_jid().map_err(|e| err_text(&e))?.1.to_string();
    let t = cfg.timeouts.overall;
    let r = xmpp::healthcheck_tls(addr, &domain, &cfg.tls_verify, t)
        .await
        .map_err(|e| err_text(&e))?;
    Ok(format!(
        "direct TLS on {addr}: stream features {}",
        r.features.summary()
    ))
}

/// Run one check: the main session and the side probes at once, then judge
/// every promise and summarise compliance. An error means the main session
/// failed (nothing can be judged); failed side probes become failed rows.
pub async fn inspect(target: &Target, promises: &[Promise]) -> xmpp::Result<Report> {
    let started = Instant::now();
    let overall = target.client.timeouts.overall;
    let work = inspect_inner(target, promises, started);
    let mut report = match tokio::time::timeout(overall + Duration::from_millis(500), work).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Err(live::explain_login_failure(&target.live, e).await),
        Err(_) => {
            return Err(Error::Timeout {
                stage: Stage::Iq,
                expected: "the check to finish".into(),
                waited: started.elapsed(),
                received: String::new(),
            });
        }
    };
    report.session.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

async fn inspect_inner(
    target: &Target,
    promises: &[Promise],
    started: Instant,
) -> xmpp::Result<Report> {
    let cfg = &target.client;
    let wants = |probe: &str| {
        promises
            .iter()
            .any(|p| p.location == CheckLocation::Security && probe_of(p) == Some(probe))
    };
    // The cleartext stream is the session's own in STARTTLS mode; in direct
    // TLS mode a separate probe reads it (when a STARTTLS port is known).
    let cleartext_addr = match cfg.tls_mode {
        TlsMode::StartTls => cfg.addr.clone(),
        TlsMode::DirectTls => target.starttls_addr.clone().unwrap_or_default(),
    };
    let need_cleartext = !cleartext_addr.is_empty()
        && (wants("cleartext_auth_refused")
            || (cfg.tls_mode == TlsMode::DirectTls
                && (wants("starttls_required") || wants("no_plain_before_tls"))));
    let need_registration = wants("registration_closed");
    // Open registration promised (XEP-0077 in the stream features): the
    // same unauthenticated stream must serve a form for a new account
    // (nothing is registered: the check's own throttle would be spent).
    let need_open_registration = promises
        .iter()
        .any(|p| p.xep == "XEP-0077" && p.location == CheckLocation::StreamPreAuth);
    let direct_addr = match cfg.tls_mode {
        TlsMode::StartTls => target.direct_tls_addr.clone(),
        TlsMode::DirectTls => None,
    };
    let http_probes = http::planned(promises);
    let upload_size = promises
        .iter()
        .any(|p| {
            p.http
                .as_ref()
                .is_some_and(|h| h.probe == HttpProbe::Upload)
        })
        .then(|| (UPLOAD_BODY_PREFIX.len() + 12 + 1) as u64);

    let mut facts = Facts::default();
    let side = async {
        let cleartext = async {
            if need_cleartext {
                let r = cleartext_probe(cfg.clone(), cleartext_addr.clone()).await;
                Some((r, started.elapsed()))
            } else {
                None
            }
        };
        let registration = async {
            if need_registration || need_open_registration {
                let r = registration_probe(cfg.clone(), need_registration).await;
                Some((r, started.elapsed()))
            } else {
                None
            }
        };
        let direct = async {
            match &direct_addr {
                Some(a) => Some((direct_tls_probe(cfg, a).await, started.elapsed())),
                None => None,
            }
        };
        let web = async {
            let r = http::run_all(&http_probes, target.http.as_ref(), cfg.timeouts.overall).await;
            (r, started.elapsed())
        };
        let behaviours = async {
            // Boxed: the probes' futures are large for a caller's stack.
            let r = Box::pin(behave::run(cfg, target.second.as_ref())).await;
            (r, started.elapsed())
        };
        let components = async {
            if target.components.is_empty() {
                None
            } else {
                let r = component::check_all(&target.components, cfg.timeouts.overall).await;
                Some((r, started.elapsed()))
            }
        };
        let live_side = async {
            let r = live::run_side(&target.live, cfg).await;
            (r, started.elapsed())
        };
        let (c, r, d, w, (b, components, live_side)) =
            tokio::join!(cleartext, registration, direct, web, async {
                tokio::join!(behaviours, components, live_side)
            });
        (c, r, d, w, b, components, live_side)
    };
    // Both at once; a failed main session ends the check at once.
    let (main_out, (cleartext, registration, direct, web, behaviours, components, live_side)) = {
        let main = main_session(cfg.clone(), upload_size, &mut facts);
        tokio::pin!(side);
        tokio::pin!(main);
        let mut side_out = None;
        let main_out = loop {
            tokio::select! {
                m = &mut main => break m,
                s = &mut side, if side_out.is_none() => side_out = Some(s),
            }
        }?;
        let side_out = match side_out {
            Some(s) => s,
            None => side.await,
        };
        (main_out, side_out)
    };
    let ms = |d: Duration| d.as_millis() as u64;
    let timings = &mut facts.session.timings_ms;
    timings.insert("session".into(), ms(main_out.elapsed));
    if let Some((_, t)) = &cleartext {
        timings.insert("cleartext probe".into(), ms(*t));
    }
    if let Some((_, t)) = &registration {
        timings.insert("registration probe".into(), ms(*t));
    }
    if let Some((_, t)) = &direct {
        timings.insert("direct TLS probe".into(), ms(*t));
    }
    if !web.0.is_empty() {
        timings.insert("HTTP probes".into(), ms(web.1));
    }
    timings.insert("behaviour probes".into(), ms(behaviours.1));
    if let Some((_, t)) = &components {
        timings.insert("component handshake".into(), ms(*t));
    }
    for (name, t) in &behaviours.0.timings {
        timings.insert(format!("behaviour: {name}"), *t);
    }
    if !target.live.endpoints.is_empty() || target.live.ldap.is_some() {
        timings.insert("TLS, LDAP probes".into(), ms(live_side.1));
    }
    facts.behave = behaviours.0.results;
    facts.leftovers = behaviours.0.leftovers;
    facts.expires = behaviours.0.expires;
    facts.component = components.map(|c| c.0);
    facts.cleartext = cleartext.map(|c| c.0);
    facts.registration = registration.map(|c| c.0);
    if need_open_registration && let Some(r) = &facts.registration {
        facts
            .behave
            .insert("register_open".into(), open_registration(r));
    }
    // XEP-0363's discovery: the service found in disco#items granted a slot.
    if let Some(slot) = &main_out.slot {
        facts.behave.insert(
            "upload_slot".into(),
            match slot {
                Ok((service, s)) => Ok(format!(
                    "{service}, found in the server's disco#items, granted an upload slot (PUT {})",
                    s.put_url
                )),
                Err(e) => Err(e.clone()),
            },
        );
    }
    facts.direct_tls = direct.map(|c| c.0);
    facts.http = web.0;
    let mut handed_out = Vec::new();
    let feature_of = |probe: HttpProbe| {
        promises
            .iter()
            .find(|p| p.http.as_ref().is_some_and(|h| h.probe == probe))
            .map(|p| p.feature.clone())
    };
    if let (Some(Ok((_, slot))), Some(feature)) = (&main_out.slot, feature_of(HttpProbe::Upload)) {
        for (source, url) in [
            (urls::Source::UploadPut, &slot.put_url),
            (urls::Source::UploadGet, &slot.get_url),
        ] {
            handed_out.push(urls::HandedOut {
                source,
                feature: feature.clone(),
                url: url.clone(),
            });
        }
    }
    if let Some(feature) = feature_of(HttpProbe::HostMeta) {
        for seen in facts.http.values().flatten() {
            if let http::Detail::HostMeta { links, .. } = &seen.detail {
                for (rel, href) in links {
                    if let Some(source) = urls::Source::of_link(rel)
                        && !handed_out.iter().any(|h| h.url == *href)
                    {
                        handed_out.push(urls::HandedOut {
                            source,
                            feature: feature.clone(),
                            url: href.clone(),
                        });
                    }
                }
            }
        }
    }
    if let Some(slot) = main_out.slot {
        let remaining = cfg.timeouts.overall.saturating_sub(started.elapsed());
        facts.upload = Some(match slot {
            Err(missing) => Outcome::Fail { missing },
            Ok((service, slot)) => match &target.http {
                None => Outcome::NotCheckable {
                    why: "no HTTP target to reach the upload URL through".into(),
                },
                Some(h) => {
                    let body = format!("{UPLOAD_BODY_PREFIX}{}\n", nonce());
                    let t = Instant::now();
                    let o = http::upload(
                        &service,
                        &slot,
                        body.as_bytes(),
                        h,
                        &cfg.tls_verify,
                        remaining,
                    )
                    .await;
                    facts
                        .session
                        .timings_ms
                        .insert("upload PUT+GET".into(), ms(t.elapsed()));
                    o
                }
            },
        });
    }
    let mut rows: Vec<Row> = promises
        .iter()
        .map(|p| {
            let (outcome, proof) = with_behaviour(p, judge(p, &facts, target), &facts);
            Row {
                promise: p.clone(),
                outcome,
                proof,
            }
        })
        .collect();
    let t = Instant::now();
    let stored = matches!(facts.upload, Some(Outcome::Pass { .. }));
    let domain = domain_of(cfg);
    let judge = urls::Judge {
        public: target.live.public,
        external: target.live.external_url.as_ref(),
        server_addr: &cfg.addr,
        domain: &domain,
        stored,
        verify: &cfg.tls_verify,
        deadline: Instant::now() + overall_left(cfg, started),
    };
    rows.extend(urls::rows(&handed_out, &judge).await);
    if !handed_out.is_empty() {
        facts
            .session
            .timings_ms
            .insert("client URLs".into(), ms(t.elapsed()));
    }
    let t = Instant::now();
    let deadline = Instant::now() + overall_left(cfg, started);
    rows.extend(live::rows(&target.live, live_side.0, &facts, &cfg.tls_verify, deadline).await);
    if target.live.turn {
        facts
            .session
            .timings_ms
            .insert("TURN probes".into(), ms(t.elapsed()));
    }
    let compliance = compliance::evaluate(&facts);
    Ok(Report {
        session: facts.session.clone(),
        rows,
        compliance,
        behaviours: facts.behave.clone(),
        leftovers: facts.leftovers.clone(),
        expires: facts.expires.clone(),
    })
}

/// The domain of the session's JID.
fn domain_of(cfg: &ClientConfig) -> String {
    cfg.split_jid()
        .map(|(_, d)| d.to_string())
        .unwrap_or_default()
}

/// What is left of the check's deadline (at least a second for the probes
/// that run after the session).
fn overall_left(cfg: &ClientConfig, started: Instant) -> Duration {
    cfg.timeouts
        .overall
        .saturating_sub(started.elapsed())
        .max(Duration::from_secs(1))
}

/// The behaviour probe that proves a catalog promise, if any.
fn behaviour_key(p: &Promise) -> Option<&'static str> {
    use CheckLocation as L;
    Some(match (p.xep.as_str(), p.location) {
        ("XEP-0313", L::ComponentDisco) => "muc_mam",
        ("XEP-0313", _) => "mam",
        ("XEP-0045", _) => "muc",
        ("XEP-0421", _) => "occupant_id",
        ("XEP-0280", _) => "carbons",
        ("XEP-0191", _) => "blocking",
        ("XEP-0198", L::Sasl2Inline) => "sm_sasl2",
        ("XEP-0198", _) => "sm",
        ("XEP-0402", _) => "bookmarks",
        ("XEP-0048" | "XEP-0411", _) => "bookmarks_legacy",
        ("XEP-0054", _) => "vcard",
        ("XEP-0398", _) => "avatar",
        ("XEP-0401", _) => "invites",
        ("XEP-0160", _) => "offline",
        ("XEP-0049", _) => "private",
        ("XEP-0163", _) => "pep",
        ("XEP-0352", _) => "csi",
        ("XEP-0357", _) => "push",
        ("XEP-0199", _) => "ping",
        ("XEP-0092", _) => "version",
        ("XEP-0202", _) => "time",
        ("XEP-0012", _) => "last",
        ("XEP-0050", _) => "adhoc",
        ("XEP-0077", L::StreamPreAuth) => "register_open",
        ("XEP-0077", _) => "register",
        ("XEP-0237", _) => "rosterver",
        ("XEP-0292", _) => "vcard4",
        ("XEP-0359", _) => "stanza_id",
        ("XEP-0377", _) => "report",
        ("XEP-0388", _) => "sasl2",
        ("XEP-0386", _) => "bind2",
        ("XEP-0484", _) => "fast",
        ("XEP-0440", _) => "channel_binding",
        ("XEP-0363", L::ComponentDisco) => "upload_slot",
        _ => return None,
    })
}

/// A row's outcome with what its behaviour probe saw: advertised and seen
/// working passes, advertised and seen broken fails, advertised alone
/// passes as advertisement only.
fn with_behaviour(p: &Promise, outcome: Outcome, facts: &Facts) -> (Outcome, Proof) {
    use CheckLocation as L;
    if matches!(outcome, Outcome::NotCheckable { .. }) {
        return (outcome, Proof::None);
    }
    match p.location {
        L::Http | L::Security | L::Extdisco => return (outcome, Proof::Behaviour),
        L::ServerDisco if p.xep == "XEP-0030" => return (outcome, Proof::Behaviour),
        _ => {}
    }
    let seen = behaviour_key(p).and_then(|k| facts.behave.get(k));
    match (outcome, seen) {
        (Outcome::Pass { evidence }, Some(Ok(b))) => (
            Outcome::Pass {
                evidence: format!("{b} (advertised: {evidence})"),
            },
            Proof::Behaviour,
        ),
        (Outcome::Pass { evidence }, Some(Err(why))) => (
            Outcome::Fail {
                missing: format!("advertised ({evidence}), but {why}"),
            },
            Proof::Behaviour,
        ),
        (o, _) => (o, Proof::Advertisement),
    }
}

fn judge(p: &Promise, facts: &Facts, target: &Target) -> Outcome {
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
    use CheckLocation as L;
    match p.location {
        L::StreamPreTls => stream(&facts.pre_tls, "before TLS"),
        L::StreamPreAuth => stream(&facts.pre_auth, "after TLS, before authentication"),
        L::StreamPostAuth => stream(&facts.post_auth, "after authentication"),
        L::Sasl2Inline => match &facts.pre_auth {
            Some(f) if f.has_sasl2_inline(&var) => Outcome::Pass {
                evidence: format!("{var} inline in SASL2"),
            },
            _ => Outcome::Fail {
                missing: format!("{var} not inline in SASL2 features"),
            },
        },
        L::ServerDisco => disco(&facts.server, "the server's"),
        L::AccountDisco => disco(&facts.account, "the account's"),
        L::ComponentDisco => {
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
                None => {
                    let mut missing = format!(
                        "no item of the server's disco#items offers {var} (items: {})",
                        facts
                            .items
                            .iter()
                            .map(|(j, _)| j.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    for (j, e) in &facts.item_errors {
                        missing += &format!("; {j}: {e}");
                    }
                    Outcome::Fail { missing }
                }
            }
        }
        L::Extdisco => match &facts.extdisco {
            Some(Ok(list)) if !extdisco_problems(list).is_empty() => Outcome::Fail {
                missing: extdisco_problems(list).join("; "),
            },
            Some(Ok(list)) if !list.is_empty() => Outcome::Pass {
                evidence: format!(
                    "{} external service(s) listed: {}",
                    list.len(),
                    list.iter()
                        .map(|s| format!(
                            "{} {}{}",
                            s.kind,
                            s.host,
                            s.port.map(|p| format!(":{p}")).unwrap_or_default()
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            Some(Ok(_)) => Outcome::Fail {
                missing: "the external services list is empty".into(),
            },
            Some(Err(e)) => Outcome::Fail {
                missing: format!("no external services: {e}"),
            },
            None => Outcome::Fail {
                missing: "no answer to the external services query".into(),
            },
        },
        L::Http => {
            let Some(h) = &p.http else {
                return Outcome::NotCheckable {
                    why: "the HTTP check names no probe".into(),
                };
            };
            if h.probe == HttpProbe::Upload {
                return facts.upload.clone().unwrap_or(Outcome::NotCheckable {
                    why: "the upload probe did not run".into(),
                });
            }
            if target.http.is_none() {
                return Outcome::NotCheckable {
                    why: "no HTTP address to probe (pfe check --http HOST:PORT)".into(),
                };
            }
            match facts
                .http
                .get(&(h.probe.as_str().to_string(), h.path.clone()))
            {
                Some(result) => http::judge(p, result),
                None => Outcome::NotCheckable {
                    why: format!("HTTP probe '{}' of {} did not run", h.probe, h.path),
                },
            }
        }
        L::Security => judge_security(p, facts, target),
        L::None => Outcome::NotCheckable {
            why: p
                .extra
                .get("why")
                .cloned()
                .unwrap_or_else(|| "not visible over XMPP".into()),
        },
    }
}

fn judge_security(p: &Promise, facts: &Facts, target: &Target) -> Outcome {
    let because = p.extra.get("because").cloned().unwrap_or_default();
    let what = p.extra.get("promise").cloned().unwrap_or_default();
    let pass = |evidence: String| Outcome::Pass {
        evidence: format!("{evidence} [{because}]"),
    };
    let fail = |missing: String| Outcome::Fail {
        missing: format!("{what}, but {missing} [{because}]"),
    };
    let no_cleartext = || Outcome::NotCheckable {
        why: format!(
            "{what}: the session used direct TLS and no STARTTLS port is known to probe the cleartext stream{}",
            if target.starttls_addr.is_none() {
                " (pfe check --alt-port PORT)"
            } else {
                ""
            }
        ),
    };
    let pre_tls = facts.pre_tls.as_ref().or(facts
        .cleartext
        .as_ref()
        .and_then(|c| c.as_ref().ok())
        .map(|c| &c.0));
    match p.extra.get("probe").map(String::as_str) {
        Some("starttls_required") => match pre_tls {
            Some(f) if f.starttls_required => {
                pass("<starttls><required/></starttls> offered before TLS".into())
            }
            Some(f) => fail(format!(
                "the cleartext stream does not require STARTTLS (features: {})",
                f.summary()
            )),
            None => match &facts.cleartext {
                Some(Err(e)) => fail(format!("the cleartext probe failed: {e}")),
                _ => no_cleartext(),
            },
        },
        Some("no_plain_before_tls") => match pre_tls {
            Some(f) => {
                let plain: Vec<&String> = f
                    .sasl_mechanisms
                    .iter()
                    .chain(&f.sasl2_mechanisms)
                    .filter(|m| matches!(m.as_str(), "PLAIN" | "LOGIN"))
                    .collect();
                if plain.is_empty() {
                    pass(format!(
                        "SASL mechanisms before TLS: {}",
                        if f.sasl_mechanisms.is_empty() && f.sasl2_mechanisms.is_empty() {
                            "none".to_string()
                        } else {
                            f.sasl_mechanisms
                                .iter()
                                .chain(&f.sasl2_mechanisms)
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(" ")
                        }
                    ))
                } else {
                    fail(format!(
                        "{} is offered on the cleartext stream",
                        plain
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }
            }
            None => match &facts.cleartext {
                Some(Err(e)) => fail(format!("the cleartext probe failed: {e}")),
                _ => no_cleartext(),
            },
        },
        Some("cleartext_auth_refused") => match &facts.cleartext {
            Some(Ok((_, probe))) => {
                let answer = match &probe.response {
                    xmpp::CleartextAuthResponse::Failure { condition, text } => format!(
                        "<failure><{condition}/></failure>{}",
                        text.as_ref()
                            .map(|t| format!(" \"{t}\""))
                            .unwrap_or_default()
                    ),
                    xmpp::CleartextAuthResponse::StreamError { condition } => {
                        format!("stream error <{condition}/>")
                    }
                    xmpp::CleartextAuthResponse::Closed => "the server closed the stream".into(),
                    xmpp::CleartextAuthResponse::Challenge => {
                        "a SCRAM challenge (the exchange went on)".into()
                    }
                    xmpp::CleartextAuthResponse::Success => "<success/>".into(),
                };
                if probe.refused() {
                    pass(format!(
                        "a cleartext SCRAM-SHA-1 <auth/> was answered with {answer}"
                    ))
                } else {
                    fail(format!("a cleartext <auth/> was answered with {answer}"))
                }
            }
            Some(Err(e)) => fail(format!("the cleartext probe failed: {e}")),
            None => no_cleartext(),
        },
        Some("registration_closed") => match &facts.registration {
            Some(Ok(r)) => {
                let advertised = if r.form.feature_advertised {
                    "the iq-register stream feature is advertised; "
                } else {
                    ""
                };
                match (&r.form.outcome, &r.attempt) {
                    (xmpp::RegistrationOutcome::Refused { condition, .. }, _) => pass(format!(
                        "{advertised}the registration form is refused before login: <{condition}/>"
                    )),
                    (_, Some(RegistrationAttempt::Refused { condition, text })) => pass(format!(
                        "{advertised}a form is offered (for invitations), but registering without one is refused: <{condition}/>{}",
                        text.as_ref()
                            .map(|t| format!(" \"{t}\""))
                            .unwrap_or_default()
                    )),
                    (_, Some(RegistrationAttempt::Created { jid, removed })) => fail(format!(
                        "registration is OPEN: the probe created {jid} without invitation ({})",
                        match removed {
                            Ok(()) => "removed again".to_string(),
                            Err(e) => format!("could NOT remove it: {e}; delete it by hand"),
                        }
                    )),
                    (xmpp::RegistrationOutcome::Form { registered, .. }, None) => fail(format!(
                        "a registration form is offered before login (registered={registered})"
                    )),
                }
            }
            Some(Err(e)) => fail(format!("the registration probe failed: {e}")),
            None => Outcome::NotCheckable {
                why: "the registration probe did not run".into(),
            },
        },
        other => Outcome::NotCheckable {
            why: format!("unknown security probe {other:?}"),
        },
    }
}

impl Report {
    /// How many rows passed, warned, failed and were not checkable.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for r in &self.rows {
            match r.outcome {
                Outcome::Pass { .. } => c.pass += 1,
                Outcome::Warn { .. } => c.warn += 1,
                Outcome::Fail { .. } => c.fail += 1,
                Outcome::NotCheckable { .. } => c.not_checkable += 1,
            }
        }
        c
    }

    /// The human-readable report: session, one line per promise, the
    /// compliance summary and the totals.
    pub fn render_text(&self) -> String {
        let s = &self.session;
        let mut out = format!(
            "session  {} {}{}, SASL {}, bound {}
",
            s.addr,
            if s.tls_mode == "direct_tls" {
                "direct TLS"
            } else {
                "STARTTLS"
            },
            s.tls
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default(),
            s.mechanism,
            s.jid
        );
        if !s.items.is_empty() {
            out += &format!(
                "items    {}
",
                s.items.join(", ")
            );
        }
        let fw = self
            .rows
            .iter()
            .map(|r| r.promise.feature.len())
            .max()
            .unwrap_or(7)
            .max(7);
        let xw = self
            .rows
            .iter()
            .map(|r| r.promise.xep.len())
            .max()
            .unwrap_or(4)
            .max(4);
        out += &format!(
            "\n{:<6} {:<fw$}  {:<xw$}  EVIDENCE\n",
            "RESULT", "FEATURE", "SPEC"
        );
        for r in &self.rows {
            let (mark, text) = match &r.outcome {
                Outcome::Pass { evidence } => ("pass", evidence.clone()),
                Outcome::Fail { missing } => ("FAIL", missing.clone()),
                Outcome::Warn { warning } => ("warn", warning.clone()),
                Outcome::NotCheckable { why } => ("n/a", why.clone()),
            };
            let text = match r.promise.extra.get("promise") {
                Some(what) if !matches!(r.outcome, Outcome::Fail { .. }) => {
                    format!("{what}: {text}")
                }
                _ => text,
            };
            out += &format!(
                "{mark:<6} {:<fw$}  {:<xw$}  {text}\n",
                r.promise.feature, r.promise.xep
            );
        }
        out += "\nXMPP Compliance Suites 2023 (XEP-0479), server side, from what was seen:\n";
        let cw = self
            .compliance
            .iter()
            .map(|c| c.category.len())
            .max()
            .unwrap_or(4);
        for c in &self.compliance {
            let level = c.reached.map_or("-", Level::name);
            let next = match (c.reached, c.missing_for_next.is_empty()) {
                (_, true) => String::new(),
                (None, false) => format!("  Core kept by {}", c.missing_for_next.join(", ")),
                (Some(_), false) => {
                    format!("  Advanced kept by {}", c.missing_for_next.join(", "))
                }
            };
            out += &format!("  {:<cw$}  {level:<8}{next}\n", c.category);
            if let Some(reached) = c.reached {
                let mods: Vec<String> = c
                    .requirements
                    .iter()
                    .filter(|r| r.level <= reached)
                    .map(|r| format!("{} {}", r.spec, r.modules.join("+")))
                    .collect();
                out += &format!("  {:<cw$}  provided by {}\n", "", mods.join(", "));
            }
        }
        let (b, a) = self.rows.iter().fold((0, 0), |(b, a), r| match r.proof {
            Proof::Behaviour => (b + 1, a),
            Proof::Advertisement => (b, a + 1),
            Proof::None => (b, a),
        });
        out += &format!(
            "\nproof: {b} rows seen working (or failing), {a} rows on advertisement only\n"
        );
        if let Some(Err(e)) = self.behaviours.get("session") {
            out += &format!("behaviour probes cut short: {e}\n");
        }
        if !self.leftovers.is_empty() {
            out += &format!("NOT removed: {}\n", self.leftovers.join("; "));
        }
        if !self.expires.is_empty() {
            out += &format!("expires on its own: {}\n", self.expires.join("; "));
        }
        let c = self.counts();
        let warn = if c.warn > 0 {
            format!("{} warn, ", c.warn)
        } else {
            String::new()
        };
        out += &format!(
            "\n{} promises: {} pass, {warn}{} fail, {} not checkable ({} ms)\n",
            self.rows.len(),
            c.pass,
            c.fail,
            c.not_checkable,
            s.elapsed_ms
        );
        out
    }
}

/// Opens one session with `cfg` (HTTP on the same host, port 5280) and
/// judges every promise. See [`inspect`] for the full report.
pub async fn verify(cfg: ClientConfig, promises: &[Promise]) -> xmpp::Result<Vec<Row>> {
    Ok(inspect(&Target::new(cfg), promises).await?.rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_addresses() {
        assert_eq!(host_of("127.0.0.1:5222"), "127.0.0.1");
        assert_eq!(host_of("[::1]:5222"), "[::1]");
        assert_eq!(host_of("example.org"), "example.org");
    }

    #[test]
    fn security_promises_follow_the_resolved_config() {
        let catalog = pfe_core::catalog::Catalog::builtin();
        let build = |env: &str, sets: &[&str]| {
            let mut req = pfe_core::engine::Request::new("standard", env);
            req.sets = sets.iter().map(|s| s.to_string()).collect();
            pfe_core::engine::build(&catalog, &req).unwrap()
        };
        let probes = |b: &Build| {
            security_promises(b)
                .into_iter()
                .map(|p| p.extra["probe"].clone())
                .collect::<Vec<_>>()
        };
        let prod = build("production", &[]);
        assert_eq!(
            probes(&prod),
            [
                "starttls_required",
                "no_plain_before_tls",
                "cleartext_auth_refused",
                "registration_closed"
            ]
        );
        let p = &security_promises(&prod)[0];
        assert!(
            p.extra["because"].contains("c2s_require_encryption = true at"),
            "{:?}",
            p.extra
        );
        // Development opens registration (allow_registration = true) and the
        // environment does not say otherwise: no registration promise.
        let dev = build("development", &["allow_registration=true"]);
        assert!(!probes(&dev).contains(&"registration_closed".to_string()));
        // Switching encryption off in the config removes those promises.
        let open = build("development", &["c2s_require_encryption=false"]);
        assert_eq!(probes(&open)[0], "no_plain_before_tls");
        assert!(!probes(&open).contains(&"starttls_required".to_string()));
        // An operator opening registration in production breaks the
        // environment's promise: it is still made.
        let forced = build("production", &["allow_registration=true"]);
        let reg = security_promises(&forced)
            .into_iter()
            .find(|p| p.extra["probe"] == "registration_closed")
            .unwrap();
        assert!(reg.extra["because"].contains("registration_open = false"));
    }
}
