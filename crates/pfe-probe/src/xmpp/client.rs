//! The c2s client: connect, STARTTLS or direct TLS, SASL, bind, iq.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::error::{Error, Result, Stage};
use super::features::{Features, NS_BIND, NS_REGISTER_FEATURE, NS_SASL, NS_SASL2, NS_TLS};
use super::scram::{ScramClient, ScramHash, random_nonce};
use super::stream::{Conn, Limits, Timeouts, describe};
use super::tls::{TlsMode, TlsVerify};
use super::xml::{Element, NS_CLIENT, StreamHeader};

/// `http://jabber.org/protocol/disco#info`
pub const NS_DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// `http://jabber.org/protocol/disco#items`
pub const NS_DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// `urn:xmpp:extdisco:2` (XEP-0215)
pub const NS_EXTDISCO: &str = "urn:xmpp:extdisco:2";
/// `jabber:iq:register` (XEP-0077)
pub const NS_REGISTER: &str = "jabber:iq:register";
/// `urn:xmpp:http:upload:0` (XEP-0363)
pub const NS_HTTP_UPLOAD: &str = "urn:xmpp:http:upload:0";
const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const NS_PING: &str = "urn:xmpp:ping";
const NS_DATA_FORMS: &str = "jabber:x:data";

/// A SASL mechanism we can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// SCRAM-SHA-256 (RFC 7677)
    ScramSha256,
    /// SCRAM-SHA-1 (RFC 5802)
    ScramSha1,
    /// PLAIN (RFC 4616) — only ever sent over TLS.
    Plain,
}

impl Mechanism {
    /// The SASL name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::Plain => "PLAIN",
        }
    }

    /// Our preference order.
    pub const PREFERENCE: [Mechanism; 3] = [
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::Plain,
    ];
}

/// How to reach and log into an account.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `host:port` to connect to (e.g. `127.0.0.1:5222`).
    pub addr: String,
    /// Bare account JID `user@domain` (sent as the stream's `from`).
    pub jid: String,
    /// Account password.
    pub password: String,
    /// STARTTLS or direct TLS.
    pub tls_mode: TlsMode,
    /// Certificate verification (no default on purpose).
    pub tls_verify: TlsVerify,
    /// Resource to request at bind (`None`: let the server choose).
    pub resource: Option<String>,
    /// Time bounds.
    pub timeouts: Timeouts,
    /// Size bounds.
    pub limits: Limits,
}

impl ClientConfig {
    /// A config with default timeouts/limits and no resource preference.
    pub fn new(
        addr: impl Into<String>,
        jid: impl Into<String>,
        password: impl Into<String>,
        tls_mode: TlsMode,
        tls_verify: TlsVerify,
    ) -> Self {
        ClientConfig {
            addr: addr.into(),
            jid: jid.into(),
            password: password.into(),
            tls_mode,
            tls_verify,
            resource: None,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
        }
    }

    /// `(localpart, domain)` of [`Self::jid`].
    pub fn split_jid(&self) -> Result<(Option<&str>, &str)> {
        let jid = self.jid.as_str();
        if jid.contains('/') {
            return Err(Error::Config(format!(
                "account JID {jid:?} must be bare (no /resource)"
            )));
        }
        let (local, domain) = match jid.split_once('@') {
            Some((l, d)) => (Some(l), d),
            None => (None, jid),
        };
        if domain.is_empty() || local == Some("") {
            return Err(Error::Config(format!(
                "account JID {jid:?} is not of the form user@domain"
            )));
        }
        Ok((local, domain))
    }
}

/// Outcome of [`Client::probe_cleartext_auth`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleartextAuthProbe {
    /// SASL mechanisms offered on the cleartext stream.
    pub offered_mechanisms: Vec<String>,
    /// What the server did with our SCRAM-SHA-1 attempt.
    pub response: CleartextAuthResponse,
}

/// The server's answer to an authentication attempt on a cleartext stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CleartextAuthResponse {
    /// `<failure>` with this condition (e.g. `encryption-required`).
    Failure {
        condition: String,
        text: Option<String>,
    },
    /// A stream error (the server tore the stream down).
    StreamError { condition: String },
    /// The server closed the connection.
    Closed,
    /// The server went on with a SCRAM challenge: cleartext auth is possible.
    Challenge,
    /// The server reported success outright.
    Success,
}

impl CleartextAuthProbe {
    /// Whether the server refused (or did not allow) cleartext authentication.
    pub fn refused(&self) -> bool {
        !matches!(
            self.response,
            CleartextAuthResponse::Challenge | CleartextAuthResponse::Success
        )
    }
}

/// `iq` type of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IqType {
    /// `get`
    Get,
    /// `set`
    Set,
}

impl IqType {
    fn as_str(self) -> &'static str {
        match self {
            IqType::Get => "get",
            IqType::Set => "set",
        }
    }
}

/// A disco#info identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `category`, e.g. `server`, `conference`, `store`.
    pub category: String,
    /// `type`, e.g. `im`, `text`, `file`.
    pub kind: String,
    /// Optional human-readable name.
    pub name: Option<String>,
}

/// A disco#info result.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DiscoInfo {
    /// Identities.
    pub identities: Vec<Identity>,
    /// Feature `var`s.
    pub features: Vec<String>,
    /// Extended information forms (XEP-0128), raw.
    pub extensions: Vec<Element>,
}

impl DiscoInfo {
    /// Whether `feature` is listed.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// Whether an identity with this category (and type, if given) is listed.
    pub fn has_identity(&self, category: &str, kind: Option<&str>) -> bool {
        self.identities
            .iter()
            .any(|i| i.category == category && kind.is_none_or(|k| i.kind == k))
    }
}

/// A disco#items entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoItem {
    /// `jid`
    pub jid: String,
    /// `node`, if any.
    pub node: Option<String>,
    /// `name`, if any.
    pub name: Option<String>,
}

/// An XEP-0215 external service.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ExternalService {
    /// `type` (stun, turn, ...).
    pub kind: String,
    /// `host`
    pub host: String,
    /// `port`
    pub port: Option<u16>,
    /// `transport` (udp, tcp).
    pub transport: Option<String>,
    /// `username`
    pub username: Option<String>,
    /// `password`
    pub password: Option<String>,
    /// `expires`
    pub expires: Option<String>,
    /// `restricted`
    pub restricted: bool,
    /// `name`
    pub name: Option<String>,
}

/// What a jabber:iq:register `get` revealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The current stream features advertise in-band registration.
    pub feature_advertised: bool,
    /// The server's answer.
    pub outcome: RegistrationOutcome,
}

/// The server's answer to a registration form request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrationOutcome {
    /// A form came back.
    Form {
        /// Legacy field names (`username`, `password`, ...).
        fields: Vec<String>,
        /// `<registered/>` present (the account already exists).
        registered: bool,
        /// A data form (`jabber:x:data`) is included.
        data_form: bool,
        /// `<instructions>`
        instructions: Option<String>,
    },
    /// An iq error.
    Refused {
        /// `type` of the error.
        error_type: String,
        /// Defined condition, e.g. `service-unavailable`, `not-allowed`.
        condition: String,
    },
}

impl Registration {
    /// Whether new accounts can be registered in-band here.
    pub fn is_open(&self) -> bool {
        matches!(
            self.outcome,
            RegistrationOutcome::Form {
                registered: false,
                ..
            }
        )
    }
}

/// How [`Client::authenticate_sasl2_with`] logs in.
#[derive(Clone, Debug, Default)]
pub struct Sasl2Login {
    /// Inline elements of `<authenticate>` (Bind2, SM resume, FAST...).
    pub inline: Vec<Element>,
    /// `<user-agent id='...'>` (FAST keys its tokens by it).
    pub agent_id: Option<String>,
    pub credential: Sasl2Credential,
}

/// The credential of a SASL2 login.
#[derive(Clone, Debug, Default)]
pub enum Sasl2Credential {
    /// The account password, best SCRAM (PLAIN only over TLS).
    #[default]
    Password,
    /// The password with SCRAM-*-PLUS, bound with `tls-exporter`.
    PasswordPlus,
    /// A XEP-0484 token, as `HT-SHA-256-NONE`.
    Fast { token: String },
}

/// A c2s connection that exposes every negotiation stage.
pub struct Client {
    conn: Conn,
    cfg: ClientConfig,
    domain: String,
    localpart: Option<String>,
    header: Option<StreamHeader>,
    features_pre_tls: Option<Features>,
    features_post_tls: Option<Features>,
    features_post_auth: Option<Features>,
    mechanism: Option<Mechanism>,
    bound_jid: Option<String>,
    id_prefix: String,
    next_id: u64,
}

fn b64_payload(text: &str) -> std::result::Result<Vec<u8>, String> {
    let t = text.trim();
    if t.is_empty() || t == "=" {
        return Ok(Vec::new());
    }
    B64.decode(t)
        .map_err(|e| format!("invalid base64 {t:?}: {e}"))
}

/// (defined condition, text) of a SASL `<failure>` or `<error>`.
fn condition_of(el: &Element, ns: &str) -> (String, Option<String>) {
    let condition = el
        .children
        .iter()
        .find(|c| c.ns == ns && c.name != "text")
        .map(|c| c.name.clone())
        .unwrap_or_else(|| "undefined-condition".into());
    let text = el
        .child("text", ns)
        .map(|t| t.text.clone())
        .filter(|t| !t.is_empty());
    (condition, text)
}

/// The [`Error::IqError`] for an iq of type `error`.
fn iq_error(resp: &Element, to: Option<&str>, payload: &str) -> Error {
    let err = resp.child("error", NS_CLIENT);
    let (condition, text) = err
        .map(|e| condition_of(e, NS_STANZAS))
        .unwrap_or_else(|| ("undefined-condition".into(), None));
    Error::IqError {
        to: to.unwrap_or("(account)").to_string(),
        payload: payload.to_string(),
        error_type: err.and_then(|e| e.attr("type")).unwrap_or("").to_string(),
        condition,
        text,
    }
}

/// `<query xmlns=ns [node=node]/>`
fn disco_query(ns: &str, node: Option<&str>) -> Element {
    let mut q = Element::new("query", ns);
    if let Some(n) = node {
        q.set_attr("node", n);
    }
    q
}

impl DiscoInfo {
    /// The disco#info request for `node` (for [`Client::iq_many`]).
    pub fn request(node: Option<&str>) -> Element {
        disco_query(NS_DISCO_INFO, node)
    }

    /// Parse a disco#info result iq.
    pub fn from_result(resp: &Element) -> DiscoInfo {
        let mut info = DiscoInfo::default();
        if let Some(q) = resp.child("query", NS_DISCO_INFO) {
            for c in &q.children {
                if c.is("identity", NS_DISCO_INFO) {
                    info.identities.push(Identity {
                        category: c.attr("category").unwrap_or("").to_string(),
                        kind: c.attr("type").unwrap_or("").to_string(),
                        name: c.attr("name").map(str::to_string),
                    });
                } else if c.is("feature", NS_DISCO_INFO) {
                    if let Some(v) = c.attr("var") {
                        info.features.push(v.to_string());
                    }
                } else if c.is("x", NS_DATA_FORMS) {
                    info.extensions.push(c.clone());
                }
            }
        }
        info
    }
}

impl DiscoItem {
    /// The disco#items request for `node` (for [`Client::iq_many`]).
    pub fn request(node: Option<&str>) -> Element {
        disco_query(NS_DISCO_ITEMS, node)
    }

    /// Parse a disco#items result iq.
    pub fn list_from_result(resp: &Element) -> Vec<DiscoItem> {
        resp.child("query", NS_DISCO_ITEMS)
            .map(|q| {
                q.children_named("item", NS_DISCO_ITEMS)
                    .map(|i| DiscoItem {
                        jid: i.attr("jid").unwrap_or("").to_string(),
                        node: i.attr("node").map(str::to_string),
                        name: i.attr("name").map(str::to_string),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl ExternalService {
    /// Parse an XEP-0215 `<services/>` result iq.
    pub fn list_from_result(resp: &Element) -> Vec<ExternalService> {
        resp.child("services", NS_EXTDISCO)
            .map(|s| {
                s.children_named("service", NS_EXTDISCO)
                    .map(|e| {
                        let a = |k: &str| e.attr(k).map(str::to_string);
                        ExternalService {
                            kind: a("type").unwrap_or_default(),
                            host: a("host").unwrap_or_default(),
                            port: e.attr("port").and_then(|p| p.parse().ok()),
                            transport: a("transport"),
                            username: a("username"),
                            password: a("password"),
                            expires: a("expires"),
                            restricted: matches!(e.attr("restricted"), Some("true" | "1")),
                            name: a("name"),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An XEP-0363 upload slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadSlot {
    /// Where to PUT the file.
    pub put_url: String,
    /// Headers to send with the PUT (only `Authorization`, `Cookie` and
    /// `Expires`, as XEP-0363 allows).
    pub put_headers: Vec<(String, String)>,
    /// Where the file can be fetched afterwards.
    pub get_url: String,
}

impl UploadSlot {
    /// Parse a slot result iq.
    pub fn from_result(resp: &Element) -> Option<UploadSlot> {
        let slot = resp.child("slot", NS_HTTP_UPLOAD)?;
        let put = slot.child("put", NS_HTTP_UPLOAD)?;
        let get = slot.child("get", NS_HTTP_UPLOAD)?;
        let put_headers = put
            .children_named("header", NS_HTTP_UPLOAD)
            .filter_map(|h| {
                let name = h.attr("name")?;
                let allowed = ["Authorization", "Cookie", "Expires"]
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(name));
                let value = h.text.replace(['\r', '\n'], "");
                allowed.then(|| (name.to_string(), value))
            })
            .collect();
        Some(UploadSlot {
            put_url: put.attr("url")?.to_string(),
            put_headers,
            get_url: get.attr("url")?.to_string(),
        })
    }
}

impl Client {
    /// TCP connect, direct TLS if configured, open the stream and read the
    /// first features (before TLS for STARTTLS, after TLS for direct TLS).
    pub async fn connect(cfg: ClientConfig) -> Result<Client> {
        let (localpart, domain) = cfg.split_jid()?;
        let (localpart, domain) = (localpart.map(str::to_string), domain.to_string());
        let conn = Conn::connect(&cfg.addr, cfg.timeouts, cfg.limits).await?;
        let mut c = Client {
            conn,
            domain,
            localpart,
            header: None,
            features_pre_tls: None,
            features_post_tls: None,
            features_post_auth: None,
            mechanism: None,
            bound_jid: None,
            id_prefix: random_nonce()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect(),
            next_id: 0,
            cfg,
        };
        match c.cfg.tls_mode {
            TlsMode::DirectTls => {
                let verify = c.cfg.tls_verify.clone();
                c.conn
                    .start_tls(&verify, &c.domain, &[b"xmpp-client"])
                    .await?;
                c.restart_stream(Stage::FeaturesPostTls).await?;
            }
            TlsMode::StartTls => {
                c.restart_stream(Stage::FeaturesPreTls).await?;
            }
        }
        Ok(c)
    }

    /// Connect, STARTTLS (if configured), authenticate with `mechanism`
    /// (or the best offered), and bind a resource.
    pub async fn login(cfg: ClientConfig, mechanism: Option<Mechanism>) -> Result<Client> {
        let mut c = Client::connect(cfg).await?;
        if !c.is_encrypted() {
            c.starttls().await?;
        }
        c.authenticate(mechanism).await?;
        c.bind().await?;
        Ok(c)
    }

    async fn restart_stream(&mut self, stage: Stage) -> Result<&Features> {
        // RFC 6120 §4.7.1: the account name goes into `from` only once TLS
        // protects the stream (an eavesdropper would read it otherwise).
        let from = self.cfg.jid.clone();
        let from = (self.localpart.is_some() && self.conn.is_tls()).then_some(from.as_str());
        let h = self.conn.open_stream(&self.domain, from).await?;
        self.header = Some(h);
        let f = self.conn.read_features(stage).await?;
        let slot = match stage {
            Stage::FeaturesPreTls => &mut self.features_pre_tls,
            Stage::FeaturesPostTls => &mut self.features_post_tls,
            _ => &mut self.features_post_auth,
        };
        Ok(slot.insert(f))
    }

    /// The XMPP domain in use.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The config this client was made with.
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Whether the transport is TLS.
    pub fn is_encrypted(&self) -> bool {
        self.conn.is_tls()
    }

    /// The negotiated TLS version and cipher suite, e.g. `TLSv1_3
    /// TLS13_AES_256_GCM_SHA384` (`None` on a cleartext stream).
    pub fn tls_info(&self) -> Option<String> {
        self.conn.tls_info()
    }

    /// The server's latest stream header.
    pub fn stream_header(&self) -> Option<&StreamHeader> {
        self.header.as_ref()
    }

    /// Features offered on the cleartext stream (STARTTLS mode only).
    pub fn features_pre_tls(&self) -> Option<&Features> {
        self.features_pre_tls.as_ref()
    }

    /// Features offered after TLS, before authentication.
    pub fn features_post_tls(&self) -> Option<&Features> {
        self.features_post_tls.as_ref()
    }

    /// Features offered after authentication.
    pub fn features_post_auth(&self) -> Option<&Features> {
        self.features_post_auth.as_ref()
    }

    /// The most recent features.
    pub fn features(&self) -> &Features {
        self.features_post_auth
            .as_ref()
            .or(self.features_post_tls.as_ref())
            .or(self.features_pre_tls.as_ref())
            .expect("connect() always reads features")
    }

    /// The mechanism that authenticated this stream.
    pub fn mechanism(&self) -> Option<Mechanism> {
        self.mechanism
    }

    /// The full JID after [`Client::bind`].
    pub fn bound_jid(&self) -> Option<&str> {
        self.bound_jid.as_deref()
    }

    /// Reset the overall deadline to `d` from now.
    pub fn extend_deadline(&mut self, d: Duration) {
        self.conn.extend_deadline(d);
    }

    /// Upgrade with `<starttls/>` and read the post-TLS features.
    pub async fn starttls(&mut self) -> Result<&Features> {
        if self.conn.is_tls() {
            return Err(Error::Protocol {
                stage: Stage::StartTls,
                expected: "a cleartext stream".into(),
                got: "a stream that is already encrypted".into(),
            });
        }
        if !self.features().starttls {
            return Err(Error::FeatureMissing {
                stage: Stage::StartTls,
                feature: "<starttls/>".into(),
                offered: self.features().summary(),
            });
        }
        self.conn
            .send(Stage::StartTls, &format!("<starttls xmlns='{NS_TLS}'/>"))
            .await?;
        let (el, _) = self
            .conn
            .next_element(Stage::StartTls, "<proceed/> in answer to <starttls/>")
            .await?;
        if el.is("failure", NS_TLS) {
            return Err(Error::Tls {
                stage: Stage::StartTls,
                detail: "the server answered <starttls/> with <failure/>".into(),
            });
        }
        if !el.is("proceed", NS_TLS) {
            return Err(Error::Protocol {
                stage: Stage::StartTls,
                expected: "<proceed/>".into(),
                got: describe(&el),
            });
        }
        let verify = self.cfg.tls_verify.clone();
        self.conn.start_tls(&verify, &self.domain, &[]).await?;
        self.restart_stream(Stage::FeaturesPostTls).await
    }

    /// Try to authenticate before TLS with a SCRAM-SHA-1 client-first
    /// message (it carries only the username and a nonce, never the
    /// password) and report how the server reacted. Aborts the exchange if
    /// the server goes on. Only valid before [`Client::starttls`].
    pub async fn probe_cleartext_auth(&mut self) -> Result<CleartextAuthProbe> {
        if self.conn.is_tls() {
            return Err(Error::Protocol {
                stage: Stage::Sasl,
                expected: "a cleartext stream for the cleartext-auth probe".into(),
                got: "an encrypted stream".into(),
            });
        }
        let offered = self.features().sasl_mechanisms.clone();
        let user = self.localpart.clone().unwrap_or_else(|| "probe".into());
        let scram = ScramClient::new(ScramHash::Sha1, &user, "", None);
        let auth = format!(
            "<auth xmlns='{NS_SASL}' mechanism='SCRAM-SHA-1'>{}</auth>",
            B64.encode(scram.client_first())
        );
        self.conn.send(Stage::Sasl, &auth).await?;
        let response = match self
            .conn
            .next_element(Stage::Sasl, "the answer to a cleartext <auth/>")
            .await
        {
            Ok((el, _)) if el.is("failure", NS_SASL) => {
                let (condition, text) = condition_of(&el, NS_SASL);
                CleartextAuthResponse::Failure { condition, text }
            }
            Ok((el, _)) if el.is("challenge", NS_SASL) => {
                let _ = self
                    .conn
                    .send(Stage::Sasl, &format!("<abort xmlns='{NS_SASL}'/>"))
                    .await;
                let _ = self
                    .conn
                    .next_element(Stage::Sasl, "<failure><aborted/></failure>")
                    .await;
                CleartextAuthResponse::Challenge
            }
            Ok((el, _)) if el.is("success", NS_SASL) => CleartextAuthResponse::Success,
            Ok((el, _)) => {
                return Err(Error::Protocol {
                    stage: Stage::Sasl,
                    expected: "<failure/>, <challenge/> or <success/>".into(),
                    got: describe(&el),
                });
            }
            Err(Error::StreamError { condition, .. }) => {
                CleartextAuthResponse::StreamError { condition }
            }
            Err(Error::Closed { .. }) => CleartextAuthResponse::Closed,
            Err(e) => return Err(e),
        };
        Ok(CleartextAuthProbe {
            offered_mechanisms: offered,
            response,
        })
    }

    fn pick_mechanism(&self, wanted: Option<Mechanism>) -> Result<Mechanism> {
        let offered = &self.features().sasl_mechanisms;
        let tls = self.conn.is_tls();
        if let Some(m) = wanted {
            if m == Mechanism::Plain && !tls {
                return Err(Error::PlainOverCleartext);
            }
            if offered.iter().any(|o| o == m.name()) {
                return Ok(m);
            }
            return Err(Error::NoMechanism {
                offered: offered.clone(),
                usable: vec![m.name().to_string()],
            });
        }
        let usable: Vec<Mechanism> = Mechanism::PREFERENCE
            .into_iter()
            .filter(|m| tls || *m != Mechanism::Plain)
            .collect();
        usable
            .iter()
            .copied()
            .find(|m| offered.iter().any(|o| o == m.name()))
            .ok_or_else(|| Error::NoMechanism {
                offered: offered.clone(),
                usable: usable.iter().map(|m| m.name().to_string()).collect(),
            })
    }

    async fn sasl_step(&mut self, mech: &str, expected: &str) -> Result<Element> {
        let (el, _) = self.conn.next_element(Stage::Sasl, expected).await?;
        if el.is("failure", NS_SASL) {
            let (condition, text) = condition_of(&el, NS_SASL);
            return Err(Error::AuthFailed {
                mechanism: mech.to_string(),
                condition,
                text,
            });
        }
        if el.is("challenge", NS_SASL) || el.is("success", NS_SASL) {
            return Ok(el);
        }
        Err(Error::Protocol {
            stage: Stage::Sasl,
            expected: expected.to_string(),
            got: describe(&el),
        })
    }

    /// RFC 6120 SASL with `mechanism` (or the best offered), then restart the
    /// stream and read the post-auth features. SCRAM verifies the server
    /// signature; PLAIN is refused on a cleartext stream.
    pub async fn authenticate(&mut self, mechanism: Option<Mechanism>) -> Result<&Features> {
        let mech = self.pick_mechanism(mechanism)?;
        let name = mech.name();
        let user = self.localpart.clone().ok_or_else(|| {
            Error::Config(format!(
                "account JID {:?} has no localpart to authenticate as",
                self.cfg.jid
            ))
        })?;
        let scram_err = |detail: String| Error::Scram {
            mechanism: name.to_string(),
            detail,
        };
        match mech {
            Mechanism::Plain => {
                if !self.conn.is_tls() {
                    return Err(Error::PlainOverCleartext);
                }
                let payload = format!("\0{user}\0{}", self.cfg.password);
                self.conn
                    .send(
                        Stage::Sasl,
                        &format!(
                            "<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{}</auth>",
                            B64.encode(payload)
                        ),
                    )
                    .await?;
                let el = self.sasl_step(name, "<success/>").await?;
                if !el.is("success", NS_SASL) {
                    return Err(Error::Protocol {
                        stage: Stage::Sasl,
                        expected: "<success/> for PLAIN".into(),
                        got: describe(&el),
                    });
                }
            }
            Mechanism::ScramSha1 | Mechanism::ScramSha256 => {
                let hash = if mech == Mechanism::ScramSha1 {
                    ScramHash::Sha1
                } else {
                    ScramHash::Sha256
                };
                let mut scram = ScramClient::new(hash, &user, &self.cfg.password, None);
                self.conn
                    .send(
                        Stage::Sasl,
                        &format!(
                            "<auth xmlns='{NS_SASL}' mechanism='{name}'>{}</auth>",
                            B64.encode(scram.client_first())
                        ),
                    )
                    .await?;
                let el = self
                    .sasl_step(name, "<challenge/> with the server-first-message")
                    .await?;
                if !el.is("challenge", NS_SASL) {
                    return Err(Error::Protocol {
                        stage: Stage::Sasl,
                        expected: "<challenge/> with the server-first-message".into(),
                        got: describe(&el),
                    });
                }
                let server_first = String::from_utf8(b64_payload(&el.text).map_err(scram_err)?)
                    .map_err(|_| scram_err("server-first-message is not UTF-8".into()))?;
                let client_final = scram
                    .handle_server_first(&server_first)
                    .map_err(|e| scram_err(e.to_string()))?;
                self.conn
                    .send(
                        Stage::Sasl,
                        &format!(
                            "<response xmlns='{NS_SASL}'>{}</response>",
                            B64.encode(client_final)
                        ),
                    )
                    .await?;
                let mut el = self
                    .sasl_step(name, "<success/> with the server signature")
                    .await?;
                let mut verified = false;
                if el.is("challenge", NS_SASL) {
                    // Server-final as a challenge; answer with an empty response.
                    let data = b64_payload(&el.text).map_err(scram_err)?;
                    scram
                        .verify_server_final(&String::from_utf8_lossy(&data))
                        .map_err(|e| scram_err(e.to_string()))?;
                    verified = true;
                    self.conn
                        .send(Stage::Sasl, &format!("<response xmlns='{NS_SASL}'/>"))
                        .await?;
                    el = self.sasl_step(name, "<success/>").await?;
                    if !el.is("success", NS_SASL) {
                        return Err(Error::Protocol {
                            stage: Stage::Sasl,
                            expected: "<success/>".into(),
                            got: describe(&el),
                        });
                    }
                }
                if !verified {
                    let data = b64_payload(&el.text).map_err(scram_err)?;
                    if data.is_empty() {
                        return Err(scram_err(
                            "the server sent <success/> without its signature (v=...); cannot verify the server".into(),
                        ));
                    }
                    scram
                        .verify_server_final(&String::from_utf8_lossy(&data))
                        .map_err(|e| scram_err(e.to_string()))?;
                }
            }
        }
        self.mechanism = Some(mech);
        self.restart_stream(Stage::FeaturesPostAuth).await
    }

    /// XEP-0388 SASL2 `<authenticate>` with the best SCRAM mechanism offered
    /// in `<authentication>` (PLAIN only over TLS), carrying `inline`
    /// (e.g. `<resume xmlns='urn:xmpp:sm:3'/>`). SCRAM verifies the server
    /// signature from `<additional-data>`. Returns the `<success>` element
    /// (its children hold the inline results); SASL2 does not restart the
    /// stream, so whatever the server sends next is for [`Client::recv`].
    pub async fn authenticate_sasl2(&mut self, inline: Vec<Element>) -> Result<Element> {
        self.authenticate_sasl2_with(Sasl2Login {
            inline,
            ..Sasl2Login::default()
        })
        .await
    }

    /// SASL2 as [`Client::authenticate_sasl2`], with the credential and
    /// user-agent id of `login`: a SCRAM `-PLUS` mechanism bound to this TLS
    /// connection (`tls-exporter`), or a XEP-0484 FAST token
    /// (`HT-SHA-256-NONE`, whose `Responder` HMAC in `<additional-data>` is
    /// checked like a SCRAM server signature).
    pub async fn authenticate_sasl2_with(&mut self, login: Sasl2Login) -> Result<Element> {
        let offered = self.features().sasl2_mechanisms.clone();
        let tls = self.conn.is_tls();
        let user = self.localpart.clone().ok_or_else(|| {
            Error::Config(format!(
                "account JID {:?} has no localpart to authenticate as",
                self.cfg.jid
            ))
        })?;
        let usable = |names: &[&str]| Error::NoMechanism {
            offered: offered.clone(),
            usable: names.iter().map(|m| m.to_string()).collect(),
        };
        // (mechanism name, SCRAM exchange if any, FAST token if any)
        let (name, mut scram, fast): (String, Option<ScramClient>, Option<Vec<u8>>) =
            match &login.credential {
                Sasl2Credential::Password => {
                    let mech = Mechanism::PREFERENCE
                        .into_iter()
                        .filter(|m| tls || *m != Mechanism::Plain)
                        .find(|m| offered.iter().any(|o| o == m.name()))
                        .ok_or_else(|| usable(&Mechanism::PREFERENCE.map(Mechanism::name)))?;
                    let scram = match mech {
                        Mechanism::ScramSha256 => Some(ScramHash::Sha256),
                        Mechanism::ScramSha1 => Some(ScramHash::Sha1),
                        Mechanism::Plain => None,
                    }
                    .map(|h| ScramClient::new(h, &user, &self.cfg.password, None));
                    (mech.name().to_string(), scram, None)
                }
                Sasl2Credential::PasswordPlus => {
                    let (name, hash) = [
                        ("SCRAM-SHA-256-PLUS", ScramHash::Sha256),
                        ("SCRAM-SHA-1-PLUS", ScramHash::Sha1),
                    ]
                    .into_iter()
                    .find(|(n, _)| offered.iter().any(|o| o == n))
                    .ok_or_else(|| usable(&["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"]))?;
                    let data = self.conn.tls_exporter().ok_or_else(|| Error::Tls {
                        stage: Stage::Sasl,
                        detail: "no tls-exporter channel binding (needs TLS 1.3)".into(),
                    })?;
                    let scram = ScramClient::new(hash, &user, &self.cfg.password, None)
                        .with_channel_binding("tls-exporter", data);
                    (name.to_string(), Some(scram), None)
                }
                Sasl2Credential::Fast { token } => {
                    let name = "HT-SHA-256-NONE";
                    (name.to_string(), None, Some(token.as_bytes().to_vec()))
                }
            };
        let name = name.as_str();
        let scram_err = |detail: String| Error::Scram {
            mechanism: name.to_string(),
            detail,
        };
        let initial: Vec<u8> = match (&scram, &fast) {
            (Some(s), _) => s.client_first().into_bytes(),
            (None, Some(token)) => {
                let mut v = format!("{user}\0").into_bytes();
                v.extend(ScramHash::Sha256.hmac(token, b"Initiator"));
                v
            }
            (None, None) => format!("\0{user}\0{}", self.cfg.password).into_bytes(),
        };
        let mut agent = Element::new("user-agent", NS_SASL2);
        if let Some(id) = &login.agent_id {
            agent.set_attr("id", id.clone());
        }
        let mut auth = Element::new("authenticate", NS_SASL2)
            .with_attr("mechanism", name)
            .with_child(Element::new("initial-response", NS_SASL2).with_text(B64.encode(initial)))
            .with_child(
                agent.with_child(Element::new("software", NS_SASL2).with_text("pfe check")),
            );
        for el in login.inline {
            auth = auth.with_child(el);
        }
        self.conn
            .send(Stage::Sasl, &auth.to_xml_in(NS_CLIENT))
            .await?;
        loop {
            let (el, _) = self
                .conn
                .next_element(
                    Stage::Sasl,
                    "the SASL2 <challenge/>, <success/> or <failure/>",
                )
                .await?;
            if el.is("failure", NS_SASL2) {
                let (condition, text) = condition_of(&el, NS_SASL);
                return Err(Error::AuthFailed {
                    mechanism: format!("SASL2 {name}"),
                    condition,
                    text: text.or_else(|| el.child("text", NS_SASL2).map(|t| t.text.clone())),
                });
            }
            if el.is("challenge", NS_SASL2) {
                let Some(s) = scram.as_mut() else {
                    return Err(Error::Protocol {
                        stage: Stage::Sasl,
                        expected: format!("<success/> for {name}"),
                        got: describe(&el),
                    });
                };
                let server_first = String::from_utf8(b64_payload(&el.text).map_err(scram_err)?)
                    .map_err(|_| scram_err("server-first-message is not UTF-8".into()))?;
                let client_final = s
                    .handle_server_first(&server_first)
                    .map_err(|e| scram_err(e.to_string()))?;
                let resp = Element::new("response", NS_SASL2).with_text(B64.encode(client_final));
                self.conn
                    .send(Stage::Sasl, &resp.to_xml_in(NS_CLIENT))
                    .await?;
                continue;
            }
            if el.is("success", NS_SASL2) {
                let data = el
                    .child("additional-data", NS_SASL2)
                    .map(|d| b64_payload(&d.text))
                    .transpose()
                    .map_err(scram_err)?
                    .unwrap_or_default();
                if let Some(s) = &scram {
                    if data.is_empty() {
                        return Err(scram_err(
                            "SASL2 <success/> without the server signature in <additional-data/>; cannot verify the server".into(),
                        ));
                    }
                    s.verify_server_final(&String::from_utf8_lossy(&data))
                        .map_err(|e| scram_err(e.to_string()))?;
                }
                if let Some(token) = &fast
                    && data != ScramHash::Sha256.hmac(token, b"Responder")
                {
                    return Err(scram_err(
                        "SASL2 <success/> without the token's Responder HMAC in <additional-data/>; cannot verify the server".into(),
                    ));
                }
                self.mechanism = Mechanism::PREFERENCE.into_iter().find(|m| m.name() == name);
                if let Some(id) = el.child("authorization-identifier", NS_SASL2) {
                    self.bound_jid = Some(id.text.trim().to_string());
                }
                return Ok(el);
            }
            return Err(Error::Protocol {
                stage: Stage::Sasl,
                expected: "<challenge/>, <success/> or <failure/> of urn:xmpp:sasl:2".into(),
                got: describe(&el),
            });
        }
    }

    /// Bind a resource (RFC 6120 §7); returns the full JID.
    pub async fn bind(&mut self) -> Result<String> {
        let Some(f) = self.features_post_auth.as_ref() else {
            return Err(Error::Protocol {
                stage: Stage::Bind,
                expected: "an authenticated stream".into(),
                got: "an unauthenticated stream (call authenticate() first)".into(),
            });
        };
        if !f.has(NS_BIND, "bind") {
            return Err(Error::FeatureMissing {
                stage: Stage::Bind,
                feature: "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>".into(),
                offered: f.summary(),
            });
        }
        let mut bind = Element::new("bind", NS_BIND);
        if let Some(r) = &self.cfg.resource {
            bind = bind.with_child(Element::new("resource", NS_BIND).with_text(r.clone()));
        }
        let res = self.iq_stage(Stage::Bind, IqType::Set, None, bind).await?;
        let jid = res
            .child("bind", NS_BIND)
            .and_then(|b| b.child("jid", NS_BIND))
            .map(|j| j.text.trim().to_string())
            .filter(|j| !j.is_empty())
            .ok_or_else(|| Error::Protocol {
                stage: Stage::Bind,
                expected: "<bind><jid>user@domain/resource</jid></bind>".into(),
                got: describe(&res),
            })?;
        self.bound_jid = Some(jid.clone());
        Ok(jid)
    }

    /// Send a raw element at stream level (stanzas are written in
    /// `jabber:client`).
    pub async fn send(&mut self, el: &Element) -> Result<()> {
        self.conn.send(Stage::Iq, &el.to_xml_in(NS_CLIENT)).await
    }

    /// Wait for the next top-level element (anything).
    pub async fn recv(&mut self) -> Result<Element> {
        Ok(self.conn.next_element(Stage::Iq, "any stanza").await?.0)
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("pfe-{}-{}", self.id_prefix, self.next_id)
    }

    /// Send an iq `get`/`set` with `payload` to `to` (`None`: the account
    /// itself, i.e. the server handles it) and wait for the matching
    /// `result`, skipping unrelated stanzas. The whole response iq is
    /// returned; `type='error'` becomes [`Error::IqError`].
    pub async fn iq(
        &mut self,
        kind: IqType,
        to: Option<&str>,
        payload: Element,
    ) -> Result<Element> {
        self.iq_stage(Stage::Iq, kind, to, payload).await
    }

    async fn iq_stage(
        &mut self,
        stage: Stage,
        kind: IqType,
        to: Option<&str>,
        payload: Element,
    ) -> Result<Element> {
        let id = self.new_id();
        let payload_desc = format!("<{} xmlns='{}'>", payload.name, payload.ns);
        let mut el = Element::new("iq", NS_CLIENT)
            .with_attr("type", kind.as_str())
            .with_attr("id", id.clone());
        if let Some(to) = to {
            el.set_attr("to", to);
        }
        let el = el.with_child(payload);
        self.conn.send(stage, &el.to_xml_in(NS_CLIENT)).await?;
        let expected = format!("the iq result for {payload_desc} (id {id})");
        loop {
            let (resp, _) = self.conn.next_element(stage, &expected).await?;
            if !resp.is("iq", NS_CLIENT) {
                continue; // message, presence, nonzas: not ours
            }
            let rtype = resp.attr("type").unwrap_or("");
            if resp.attr("id") == Some(id.as_str()) && (rtype == "result" || rtype == "error") {
                if rtype == "error" {
                    return Err(iq_error(&resp, to, &payload_desc));
                }
                return Ok(resp);
            }
            if rtype == "get" || rtype == "set" {
                self.answer_incoming_iq(&resp).await?;
            }
        }
    }

    /// Answer an iq request from the server: pong to pings, an error otherwise.
    async fn answer_incoming_iq(&mut self, req: &Element) -> Result<()> {
        let mut reply = Element::new("iq", NS_CLIENT);
        if let Some(id) = req.attr("id") {
            reply.set_attr("id", id);
        }
        if let Some(from) = req.attr("from") {
            reply.set_attr("to", from);
        }
        let is_ping = req.attr("type") == Some("get") && req.child("ping", NS_PING).is_some();
        if is_ping {
            reply.set_attr("type", "result");
        } else {
            reply.set_attr("type", "error");
            reply = reply.with_child(
                Element::new("error", NS_CLIENT)
                    .with_attr("type", "cancel")
                    .with_child(Element::new("service-unavailable", NS_STANZAS)),
            );
        }
        self.conn.send(Stage::Iq, &reply.to_xml_in(NS_CLIENT)).await
    }

    /// XEP-0030 disco#info of `to` (optionally a `node`).
    pub async fn disco_info(&mut self, to: &str, node: Option<&str>) -> Result<DiscoInfo> {
        let resp = self
            .iq(IqType::Get, Some(to), disco_query(NS_DISCO_INFO, node))
            .await?;
        Ok(DiscoInfo::from_result(&resp))
    }

    /// XEP-0030 disco#items of `to` (optionally a `node`).
    pub async fn disco_items(&mut self, to: &str, node: Option<&str>) -> Result<Vec<DiscoItem>> {
        let resp = self
            .iq(IqType::Get, Some(to), disco_query(NS_DISCO_ITEMS, node))
            .await?;
        Ok(DiscoItem::list_from_result(&resp))
    }

    /// XEP-0215 external services (STUN/TURN...) announced by `to`.
    pub async fn external_services(&mut self, to: &str) -> Result<Vec<ExternalService>> {
        let resp = self
            .iq(IqType::Get, Some(to), Element::new("services", NS_EXTDISCO))
            .await?;
        Ok(ExternalService::list_from_result(&resp))
    }

    /// Send several iq requests at once (pipelined) and wait for every
    /// answer, in any order; one round trip instead of `requests.len()`.
    /// The outer error is a transport failure; each inner result is the
    /// response iq or its [`Error::IqError`].
    pub async fn iq_many(
        &mut self,
        requests: Vec<(IqType, Option<String>, Element)>,
    ) -> Result<Vec<Result<Element>>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let mut batch = String::new();
        let mut pending: Vec<(String, Option<String>, String)> = Vec::new();
        for (kind, to, payload) in requests {
            let id = self.new_id();
            let desc = format!("<{} xmlns='{}'>", payload.name, payload.ns);
            let mut el = Element::new("iq", NS_CLIENT)
                .with_attr("type", kind.as_str())
                .with_attr("id", id.clone());
            if let Some(to) = &to {
                el.set_attr("to", to.clone());
            }
            batch.push_str(&el.with_child(payload).to_xml_in(NS_CLIENT));
            pending.push((id, to, desc));
        }
        self.conn.send(Stage::Iq, &batch).await?;
        let mut results: Vec<Option<Result<Element>>> = (0..pending.len()).map(|_| None).collect();
        let mut left = pending.len();
        while left > 0 {
            let expected = format!(
                "{left} more iq result(s) of {} pipelined request(s)",
                pending.len()
            );
            let (resp, _) = self.conn.next_element(Stage::Iq, &expected).await?;
            if !resp.is("iq", NS_CLIENT) {
                continue;
            }
            let rtype = resp.attr("type").unwrap_or("");
            if rtype == "result" || rtype == "error" {
                let Some(i) = pending
                    .iter()
                    .position(|(id, ..)| resp.attr("id") == Some(id.as_str()))
                else {
                    continue;
                };
                if results[i].is_some() {
                    continue;
                }
                let (_, to, desc) = &pending[i];
                results[i] = Some(if rtype == "error" {
                    Err(iq_error(&resp, to.as_deref(), desc))
                } else {
                    Ok(resp)
                });
                left -= 1;
            } else if rtype == "get" || rtype == "set" {
                self.answer_incoming_iq(&resp).await?;
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every slot answered"))
            .collect())
    }

    /// XEP-0363: ask the upload service `service` for a slot for a file of
    /// `size` bytes.
    pub async fn upload_slot(
        &mut self,
        service: &str,
        filename: &str,
        size: u64,
        content_type: &str,
    ) -> Result<UploadSlot> {
        let req = Element::new("request", NS_HTTP_UPLOAD)
            .with_attr("filename", filename)
            .with_attr("size", size.to_string())
            .with_attr("content-type", content_type);
        let resp = self.iq(IqType::Get, Some(service), req).await?;
        UploadSlot::from_result(&resp).ok_or_else(|| Error::Protocol {
            stage: Stage::Iq,
            expected: "<slot xmlns='urn:xmpp:http:upload:0'> with <put url=...> and <get url=...>"
                .into(),
            got: describe(&resp),
        })
    }

    /// XEP-0077: ask for the registration form. Meaningful on an encrypted,
    /// *unauthenticated* stream (after [`Client::starttls`], before
    /// [`Client::authenticate`]); afterwards servers describe the logged-in
    /// account instead.
    pub async fn registration(&mut self) -> Result<Registration> {
        let feature_advertised = self.features().has(NS_REGISTER_FEATURE, "register");
        let domain = self.domain.clone();
        let outcome = match self
            .iq(
                IqType::Get,
                Some(&domain),
                Element::new("query", NS_REGISTER),
            )
            .await
        {
            Ok(resp) => {
                let q = resp.child("query", NS_REGISTER);
                RegistrationOutcome::Form {
                    fields: q
                        .map(|q| {
                            q.children
                                .iter()
                                .filter(|c| {
                                    c.ns == NS_REGISTER
                                        && !matches!(c.name.as_str(), "registered" | "instructions")
                                })
                                .map(|c| c.name.clone())
                                .collect()
                        })
                        .unwrap_or_default(),
                    registered: q.is_some_and(|q| q.child("registered", NS_REGISTER).is_some()),
                    data_form: q.is_some_and(|q| q.child("x", NS_DATA_FORMS).is_some()),
                    instructions: q
                        .and_then(|q| q.child("instructions", NS_REGISTER))
                        .map(|i| i.text.clone()),
                }
            }
            Err(Error::IqError {
                error_type,
                condition,
                ..
            }) => RegistrationOutcome::Refused {
                error_type,
                condition,
            },
            Err(e) => return Err(e),
        };
        Ok(Registration {
            feature_advertised,
            outcome,
        })
    }

    /// Close the stream politely and wait (briefly) for the server's close.
    pub async fn close(mut self) {
        let wait = self.cfg.timeouts.read.min(Duration::from_secs(2));
        self.conn.close(wait).await;
    }
}
