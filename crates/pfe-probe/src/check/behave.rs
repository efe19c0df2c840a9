//! The behaviour probes: what a client can trigger, done and watched.
//! Two resources of the check's account (A, B) and, when given, a second
//! account (C). Every probe keys its result into `Facts::behave`
//! (evidence, or what went wrong); what it creates it removes again, and
//! what it cannot remove is listed in `Facts::leftovers`.
//!
//! Ordering without sleeps: stanzas of one session are handled in order, so
//! once a ping from X is answered, everything X sent before has been
//! routed; a ping by the receiver then returns only after whatever was
//! routed to it. The only timed wait is the CSI hold (nothing must arrive).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::nonce;
use crate::xmpp::{self, Client, ClientConfig, DiscoInfo, DiscoItem, Element, Error, NS_SM};

const NS_CLIENT: &str = "jabber:client";
const NS_PING: &str = "urn:xmpp:ping";
const NS_PRIVATE: &str = "jabber:iq:private";
const NS_PUBSUB: &str = "http://jabber.org/protocol/pubsub";
const NS_PUBSUB_OWNER: &str = "http://jabber.org/protocol/pubsub#owner";
const NS_DATA: &str = "jabber:x:data";
const NS_MAM: &str = "urn:xmpp:mam:2";
const NS_RSM: &str = "http://jabber.org/protocol/rsm";
const NS_FORWARD: &str = "urn:xmpp:forward:0";
const NS_CARBONS: &str = "urn:xmpp:carbons:2";
const NS_BLOCKING: &str = "urn:xmpp:blocking";
const NS_MUC: &str = "http://jabber.org/protocol/muc";
const NS_MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";
const NS_OCCUPANT_ID: &str = "urn:xmpp:occupant-id:0";
const NS_CONFERENCE: &str = "jabber:x:conference";
const NS_CAPS: &str = "http://jabber.org/protocol/caps";
const NS_DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const CHECK_NS: &str = "urn:pfe:check:0";
const CAPS_NODE: &str = "https://pfe.invalid/check";

/// Whether the (unfinished) MAM probe runs.
const MAM_PROBE: bool = false;

pub(crate) type Results = BTreeMap<String, Result<String, String>>;

/// What the probes found, and what they left behind.
#[derive(Default, Debug)]
pub(crate) struct Out {
    pub(crate) results: Results,
    pub(crate) leftovers: Vec<String>,
    pub(crate) expires: Vec<String>,
}

/// One logged-in resource: a client plus the stanzas it received while
/// waiting for something else.
struct Party {
    c: Client,
    full: String,
    bare: String,
    domain: String,
    inbox: Vec<Element>,
    next: u64,
    tag: String,
}

fn text_of(e: &Error) -> String {
    e.to_string()
}

fn iq_error_text(resp: &Element) -> String {
    let err = resp.child("error", NS_CLIENT);
    let cond = err
        .and_then(|e| {
            e.children
                .iter()
                .find(|c| c.ns == NS_STANZAS && c.name != "text")
        })
        .map(|c| c.name.clone())
        .unwrap_or_else(|| "undefined-condition".into());
    let text = err
        .and_then(|e| e.child("text", NS_STANZAS))
        .map(|t| format!(" \"{}\"", t.text))
        .unwrap_or_default();
    format!("<{cond}/>{text}")
}

impl Party {
    async fn login(mut cfg: ClientConfig, resource: &str) -> xmpp::Result<Party> {
        cfg.resource = Some(format!("{resource}-{}", nonce()));
        let bare = cfg.jid.clone();
        let domain = cfg.split_jid()?.1.to_string();
        let c = Client::login(cfg, None).await?;
        let full = c.bound_jid().unwrap_or_default().to_string();
        Ok(Party {
            c,
            full,
            bare,
            domain,
            inbox: Vec::new(),
            next: 0,
            tag: nonce(),
        })
    }

    fn id(&mut self) -> String {
        self.next += 1;
        format!("pfe-b-{}-{}", self.tag, self.next)
    }

    async fn send(&mut self, el: Element) -> Result<(), String> {
        self.c.send(&el).await.map_err(|e| text_of(&e))
    }

    /// Initial presence (with entity capabilities, so mod_pep may ask).
    async fn presence(&mut self, ver: &str) -> Result<(), String> {
        self.send(
            Element::new("presence", NS_CLIENT).with_child(
                Element::new("c", NS_CAPS)
                    .with_attr("hash", "sha-1")
                    .with_attr("node", CAPS_NODE)
                    .with_attr("ver", ver),
            ),
        )
        .await
    }

    /// Answer a request addressed to us; keep it in the inbox.
    async fn answer(&mut self, req: &Element) -> Result<(), String> {
        let mut reply = Element::new("iq", NS_CLIENT);
        if let Some(id) = req.attr("id") {
            reply.set_attr("id", id);
        }
        if let Some(from) = req.attr("from") {
            reply.set_attr("to", from);
        }
        let get = req.attr("type") == Some("get");
        if get && req.child("ping", NS_PING).is_some() {
            reply.set_attr("type", "result");
        } else if get && let Some(q) = req.child("query", NS_DISCO_INFO) {
            let mut answer = Element::new("query", NS_DISCO_INFO);
            if let Some(node) = q.attr("node") {
                answer.set_attr("node", node);
            }
            answer = answer
                .with_child(
                    Element::new("identity", NS_DISCO_INFO)
                        .with_attr("category", "client")
                        .with_attr("type", "bot")
                        .with_attr("name", "pfe check"),
                )
                .with_child(Element::new("feature", NS_DISCO_INFO).with_attr("var", NS_DISCO_INFO));
            reply.set_attr("type", "result");
            reply = reply.with_child(answer);
        } else if req.attr("type") == Some("set") && req.child("pubsub", NS_PUBSUB).is_some() {
            // A push notification (XEP-0357) to us as the app server.
            reply.set_attr("type", "result");
        } else {
            reply.set_attr("type", "error");
            reply = reply.with_child(
                Element::new("error", NS_CLIENT)
                    .with_attr("type", "cancel")
                    .with_child(Element::new("service-unavailable", NS_STANZAS)),
            );
        }
        self.send(reply).await
    }

    /// The next stanza (answering iq requests on the way, which are kept).
    async fn recv(&mut self) -> Result<Element, String> {
        let el = self.c.recv().await.map_err(|e| text_of(&e))?;
        if el.is("iq", NS_CLIENT) && matches!(el.attr("type"), Some("get" | "set")) {
            self.answer(&el).await?;
        }
        Ok(el)
    }

    /// Send an iq and wait for its answer; other stanzas go to the inbox.
    async fn iq(
        &mut self,
        kind: &str,
        to: Option<&str>,
        payload: Element,
    ) -> Result<Element, String> {
        let id = self.id();
        let mut el = Element::new("iq", NS_CLIENT)
            .with_attr("type", kind)
            .with_attr("id", id.clone());
        if let Some(to) = to {
            el.set_attr("to", to);
        }
        let desc = format!("<{} xmlns='{}'>", payload.name, payload.ns);
        self.send(el.with_child(payload)).await?;
        loop {
            let r = self.recv().await?;
            if r.is("iq", NS_CLIENT) && r.attr("id") == Some(id.as_str()) {
                return match r.attr("type") {
                    Some("result") => Ok(r),
                    _ => Err(format!(
                        "{desc} to {}: {}",
                        to.unwrap_or("the account"),
                        iq_error_text(&r)
                    )),
                };
            }
            self.inbox.push(r);
        }
    }

    /// A ping to the server: everything sent before is handled, everything
    /// routed to us before is in the inbox.
    async fn barrier(&mut self) -> Result<(), String> {
        let domain = self.domain.clone();
        self.iq("get", Some(&domain), Element::new("ping", NS_PING))
            .await
            .map(|_| ())
    }

    /// Take the first inbox stanza matching `f`.
    fn take(&mut self, f: impl Fn(&Element) -> bool) -> Option<Element> {
        let i = self.inbox.iter().position(f)?;
        Some(self.inbox.remove(i))
    }

    /// Wait (bounded by the session's deadline) for a stanza matching `f`.
    async fn wait(&mut self, f: impl Fn(&Element) -> bool, what: &str) -> Result<Element, String> {
        if let Some(el) = self.take(&f) {
            return Ok(el);
        }
        loop {
            let el = self
                .recv()
                .await
                .map_err(|e| format!("waiting for {what}: {e}"))?;
            if f(&el) {
                return Ok(el);
            }
            self.inbox.push(el);
        }
    }

    /// Wait at most `d` for a stanza matching `f` (None: none came).
    async fn within(
        &mut self,
        d: Duration,
        f: impl Fn(&Element) -> bool,
    ) -> Result<Option<Element>, String> {
        if let Some(el) = self.take(&f) {
            return Ok(Some(el));
        }
        let end = tokio::time::Instant::now() + d;
        loop {
            match tokio::time::timeout_at(end, self.recv()).await {
                Err(_) => return Ok(None),
                Ok(r) => {
                    let el = r?;
                    if f(&el) {
                        return Ok(Some(el));
                    }
                    self.inbox.push(el);
                }
            }
        }
    }

    async fn close(self) {
        self.c.close().await;
    }
}

fn message(to: &str, id: &str, body: &str) -> Element {
    Element::new("message", NS_CLIENT)
        .with_attr("to", to)
        .with_attr("type", "chat")
        .with_attr("id", id)
        .with_child(Element::new("body", NS_CLIENT).with_text(body))
}

fn body_is(el: &Element, body: &str) -> bool {
    el.is("message", NS_CLIENT) && el.child("body", NS_CLIENT).is_some_and(|b| b.text == body)
}

fn form(form_type: &str, fields: &[(&str, &str)]) -> Element {
    let mut x = Element::new("x", NS_DATA)
        .with_attr("type", "submit")
        .with_child(
            Element::new("field", NS_DATA)
                .with_attr("var", "FORM_TYPE")
                .with_attr("type", "hidden")
                .with_child(Element::new("value", NS_DATA).with_text(form_type)),
        );
    for (var, value) in fields {
        x = x.with_child(
            Element::new("field", NS_DATA)
                .with_attr("var", *var)
                .with_child(Element::new("value", NS_DATA).with_text(*value)),
        );
    }
    x
}

/// Run every probe. `second` is the disposable second account.
pub(crate) async fn run(cfg: &ClientConfig, second: Option<&ClientConfig>) -> Out {
    let mut out = Out::default();
    let r = run_inner(cfg, second, &mut out).await;
    if let Err(e) = r {
        out.results
            .entry("session".into())
            .or_insert_with(|| Err(format!("the behaviour session failed: {e}")));
    }
    out
}

fn put(out: &mut Out, key: &str, r: Result<String, String>) {
    out.results.insert(key.into(), r);
}

async fn run_inner(
    cfg: &ClientConfig,
    second: Option<&ClientConfig>,
    out: &mut Out,
) -> Result<(), String> {
    // A message to an offline second account, before it logs in.
    let (ra, rb) = tokio::join!(
        Party::login(cfg.clone(), "pfe-a"),
        Party::login(cfg.clone(), "pfe-b")
    );
    let mut a = ra.map_err(|e| text_of(&e))?;
    let mut b = rb.map_err(|e| text_of(&e))?;
    let ver = format!("{}=", nonce());
    a.presence(&ver).await?;
    b.presence(&format!("{}=", nonce())).await?;

    // Offline delivery (XEP-0160): to C while C is offline.
    let offline_body = format!("pfe check offline {}", nonce());
    if let Some(c2) = second {
        let mid = a.id();
        a.send(message(&c2.jid, &mid, &offline_body)).await?;
        a.barrier().await?;
    }
    let mut c = match second {
        Some(c2) => {
            let mut p = Party::login(c2.clone(), "pfe-c")
                .await
                .map_err(|e| format!("the second account {}: {e}", c2.jid))?;
            p.presence(&format!("{}=", nonce())).await?;
            Some(p)
        }
        None => None,
    };
    if let Some(cp) = c.as_mut() {
        cp.barrier().await?;
        let r = match cp.take(|e| body_is(e, &offline_body)) {
            Some(_) => Ok(format!(
                "a message to {} while offline arrived at its login",
                cp.bare
            )),
            None => Err(format!(
                "a message to {} while offline did not arrive at its login",
                cp.bare
            )),
        };
        put(out, "offline", r);
    }

    // Entity capabilities (XEP-0115): mod_pep asks for an unknown hash.
    {
        let node = format!("{CAPS_NODE}#{ver}");
        a.barrier().await?;
        let asked = a
            .within(Duration::from_millis(300), |e| {
                e.is("iq", NS_CLIENT)
                    && e.child("query", NS_DISCO_INFO)
                        .is_some_and(|q| q.attr("node") == Some(node.as_str()))
            })
            .await?;
        put(
            out,
            "caps",
            match asked {
                Some(q) => Ok(format!(
                    "after presence with caps ver {ver}, {} asked for node {node} (answered)",
                    q.attr("from").unwrap_or("the server")
                )),
                None => Err(format!(
                    "presence with an unknown caps hash was not queried (disco#info of {node})"
                )),
            },
        );
    }

    // Private XML storage (XEP-0049), a namespace of our own.
    {
        let v = nonce();
        let el = |t: &str| {
            Element::new("query", NS_PRIVATE)
                .with_child(Element::new("check", CHECK_NS).with_text(t))
        };
        let r = async {
            a.iq("set", None, el(&v)).await?;
            let got = a.iq("get", None, Element::new("query", NS_PRIVATE).with_child(Element::new("check", CHECK_NS))).await?;
            let back = got
                .child("query", NS_PRIVATE)
                .and_then(|q| q.child("check", CHECK_NS))
                .map(|c| c.text.clone());
            a.iq("set", None, Element::new("query", NS_PRIVATE).with_child(Element::new("check", CHECK_NS)))
                .await
                .map_err(|e| format!("stored, but clearing it failed: {e}"))?;
            if back.as_deref() == Some(v.as_str()) {
                Ok(format!("<check xmlns='{CHECK_NS}'> stored and read back through jabber:iq:private, then cleared"))
            } else {
                Err(format!("stored <check xmlns='{CHECK_NS}'>, but read back {back:?}"))
            }
        }
        .await;
        put(out, "private", r);
    }

    // PEP (XEP-0163) with publish-options (XEP-0223): publish to a node of
    // our own, read it from the other resource, read its config, delete it.
    {
        let node = format!("{CHECK_NS}#{}", nonce());
        let v = nonce();
        let publish = Element::new("pubsub", NS_PUBSUB)
            .with_child(
                Element::new("publish", NS_PUBSUB)
                    .with_attr("node", node.clone())
                    .with_child(
                        Element::new("item", NS_PUBSUB)
                            .with_attr("id", "current")
                            .with_child(Element::new("check", CHECK_NS).with_text(v.clone())),
                    ),
            )
            .with_child(Element::new("publish-options", NS_PUBSUB).with_child(form(
                "http://jabber.org/protocol/pubsub#publish-options",
                &[
                    ("pubsub#access_model", "whitelist"),
                    ("pubsub#persist_items", "true"),
                ],
            )));
        let bare = a.bare.clone();
        let published = a.iq("set", None, publish).await;
        let pep = match &published {
            Err(e) => Err(format!("publishing failed: {e}")),
            Ok(_) => match b
                .iq(
                    "get",
                    Some(&bare),
                    Element::new("pubsub", NS_PUBSUB).with_child(
                        Element::new("items", NS_PUBSUB).with_attr("node", node.clone()),
                    ),
                )
                .await
            {
                Ok(r) if r.to_xml_in(NS_CLIENT).contains(&v) => Ok(format!(
                    "an item published to PEP node {node} by one resource was read by another"
                )),
                Ok(_) => Err(format!("the item published to {node} did not come back")),
                Err(e) => Err(format!("reading {node} back failed: {e}")),
            },
        };
        let po = match &published {
            Err(e) => Err(format!("publishing with publish-options failed: {e}")),
            Ok(_) => match a
                .iq(
                    "get",
                    None,
                    Element::new("pubsub", NS_PUBSUB_OWNER).with_child(
                        Element::new("configure", NS_PUBSUB_OWNER).with_attr("node", node.clone()),
                    ),
                )
                .await
            {
                Ok(r) => {
                    let x = r.to_xml_in(NS_CLIENT);
                    if x.contains("pubsub#access_model") && x.contains("whitelist") {
                        Ok(format!(
                            "publish-options access_model=whitelist applied to {node}"
                        ))
                    } else {
                        Err(format!(
                            "publish-options were accepted, but {node} is not whitelist-only"
                        ))
                    }
                }
                Err(e) => Err(format!("reading the node configuration failed: {e}")),
            },
        };
        if published.is_ok()
            && let Err(e) = a
                .iq(
                    "set",
                    None,
                    Element::new("pubsub", NS_PUBSUB_OWNER).with_child(
                        Element::new("delete", NS_PUBSUB_OWNER).with_attr("node", node.clone()),
                    ),
                )
                .await
        {
            out.leftovers
                .push(format!("PEP node {node} of {bare}: {e}"));
        }
        put(out, "pep", pep);
        put(out, "publish_options", po);
    }

    // Message archive (XEP-0313): two messages from the second account,
    // found by time and paged with RSM one by one. Not run yet: on Prosody
    // 13 the query finds none of them (under investigation), and a probe
    // that fails on a working server must not judge anything.
    if MAM_PROBE {
        // Prosody archives no message between two resources of one
        // account: the sender is the second account when there is one.
        let r = match c.as_mut() {
            Some(cp) => mam(&mut a, cp).await,
            None => mam(&mut a, &mut b).await,
        };
        if r.is_ok() {
            out.expires.push(format!(
                "two messages to {} in its archive (removed when archive_expires_after passes)",
                a.bare
            ));
        }
        put(out, "mam", r);
    }

    // Carbons (XEP-0280), blocking (XEP-0191): need the second account.
    if let Some(cp) = c.as_mut() {
        put(out, "carbons", carbons(&mut a, &mut b, cp).await);
        let r = blocking(&mut a, cp).await;
        if let Err(e) = &r
            && e.contains("unblocking failed")
        {
            out.leftovers
                .push(format!("{} blocks {}: {e}", a.bare, cp.bare));
        }
        put(out, "blocking", r);
    }

    // MUC (XEP-0045, 0313, 0410, 0421, 0249).
    muc(&mut a, &mut b, c.as_mut(), out).await?;

    // Stream management (XEP-0198): acks, then resumption with redelivery.
    put(out, "sm", sm(cfg, &mut b).await);

    a.close().await;
    b.close().await;
    if let Some(cp) = c {
        cp.close().await;
    }
    Ok(())
}

async fn mam(a: &mut Party, b: &mut Party) -> Result<String, String> {
    let with = b.bare.clone();
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs().saturating_sub(2))
        .unwrap_or(0);
    let start = format_time(start);
    let bodies = [
        format!("pfe check mam 1 {}", nonce()),
        format!("pfe check mam 2 {}", nonce()),
    ];
    let to = a.bare.clone();
    for body in &bodies {
        let id = b.id();
        b.send(message(&to, &id, body)).await?;
    }
    b.barrier().await?;
    let query = |qid: &str, after: Option<&str>| {
        let mut set =
            Element::new("set", NS_RSM).with_child(Element::new("max", NS_RSM).with_text("1"));
        if let Some(after) = after {
            set = set.with_child(Element::new("after", NS_RSM).with_text(after));
        }
        Element::new("query", NS_MAM)
            .with_attr("queryid", qid)
            .with_child(form(NS_MAM, &[("start", &start), ("with", &with)]))
            .with_child(set)
    };
    // Page 1 (by time, max 1), then page 2 (after the first's id).
    let mut found: Vec<(String, String)> = Vec::new();
    let mut after: Option<String> = None;
    for page in 0..2 {
        let qid = format!("q{page}-{}", nonce());
        let fin = a
            .iq("set", None, query(&qid, after.as_deref()))
            .await
            .map_err(|e| format!("MAM query: {e}"))?;
        let mut results = Vec::new();
        while let Some(m) = a.take(|e| {
            e.is("message", NS_CLIENT)
                && e.child("result", NS_MAM)
                    .is_some_and(|r| r.attr("queryid") == Some(qid.as_str()))
        }) {
            let r = m.child("result", NS_MAM).expect("matched");
            let body = r
                .child("forwarded", NS_FORWARD)
                .and_then(|f| f.child("message", NS_CLIENT))
                .and_then(|m| m.child("body", NS_CLIENT))
                .map(|b| b.text.clone())
                .unwrap_or_default();
            results.push((r.attr("id").unwrap_or("").to_string(), body));
        }
        if results.len() != 1 {
            return Err(format!(
                "an RSM page of max 1 returned {} results ({}ly archived messages by time)",
                results.len(),
                if results.is_empty() {
                    "no recent"
                } else {
                    "several"
                }
            ));
        }
        let last = fin
            .child("fin", NS_MAM)
            .and_then(|f| f.child("set", NS_RSM))
            .and_then(|s| s.child("last", NS_RSM))
            .map(|l| l.text.clone());
        if last.as_deref() != Some(results[0].0.as_str()) {
            return Err(format!(
                "the RSM <last/> {last:?} does not name the result {}",
                results[0].0
            ));
        }
        after = last;
        found.extend(results);
    }
    let got: Vec<&str> = found.iter().map(|(_, b)| b.as_str()).collect();
    if got != [bodies[0].as_str(), bodies[1].as_str()] {
        return Err(format!(
            "paging the archive gave {got:?}, not the two messages just sent"
        ));
    }
    Ok(format!(
        "two messages from {with} archived; found by time (start {start}) and sender, paged one by one with RSM (after id {})",
        found[0].0
    ))
}

fn format_time(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

async fn carbons(a: &mut Party, b: &mut Party, c: &mut Party) -> Result<String, String> {
    b.iq("set", None, Element::new("enable", NS_CARBONS))
        .await
        .map_err(|e| format!("enabling carbons: {e}"))?;
    let body = format!("pfe check carbons {}", nonce());
    let id = a.id();
    a.send(message(&c.bare, &id, &body)).await?;
    a.barrier().await?;
    b.barrier().await?;
    let copy = b.take(|e| {
        e.child("sent", NS_CARBONS)
            .and_then(|s| s.child("forwarded", NS_FORWARD))
            .and_then(|f| f.child("message", NS_CLIENT))
            .is_some_and(|m| m.child("body", NS_CLIENT).is_some_and(|x| x.text == body))
    });
    let _ = b.iq("set", None, Element::new("disable", NS_CARBONS)).await;
    c.barrier().await?;
    c.take(|e| body_is(e, &body));
    match copy {
        Some(_) => Ok(format!(
            "a message from {} to {} was copied to {} (<sent/>)",
            a.full, c.bare, b.full
        )),
        None => Err(format!(
            "a message from {} to {} was not copied to {} with carbons enabled",
            a.full, c.bare, b.full
        )),
    }
}

async fn blocking(a: &mut Party, c: &mut Party) -> Result<String, String> {
    let cbare = c.bare.clone();
    let item = || Element::new("item", NS_BLOCKING).with_attr("jid", cbare.clone());
    a.iq(
        "set",
        None,
        Element::new("block", NS_BLOCKING).with_child(item()),
    )
    .await
    .map_err(|e| format!("blocking {}: {e}", c.bare))?;
    let blocked = format!("pfe check blocked {}", nonce());
    let id = c.id();
    c.send(message(&a.full, &id, &blocked)).await?;
    c.barrier().await?;
    a.barrier().await?;
    let arrived = a.take(|e| body_is(e, &blocked)).is_some();
    let unblock = a
        .iq(
            "set",
            None,
            Element::new("unblock", NS_BLOCKING).with_child(item()),
        )
        .await;
    if let Err(e) = unblock {
        return Err(format!("unblocking failed: {e}"));
    }
    c.barrier().await?;
    c.inbox.clear();
    if arrived {
        return Err(format!(
            "a message from {} arrived although {} blocked it",
            c.bare, a.bare
        ));
    }
    let after = format!("pfe check unblocked {}", nonce());
    let id = c.id();
    c.send(message(&a.full, &id, &after)).await?;
    c.barrier().await?;
    a.barrier().await?;
    if a.take(|e| body_is(e, &after)).is_none() {
        return Err(format!(
            "after unblocking {}, its message did not arrive",
            c.bare
        ));
    }
    Ok(format!(
        "a message from blocked {} did not arrive; after unblocking it did",
        c.bare
    ))
}

async fn muc(
    a: &mut Party,
    b: &mut Party,
    c: Option<&mut Party>,
    out: &mut Out,
) -> Result<(), String> {
    let domain = a.domain.clone();
    let items = match a.iq("get", Some(&domain), DiscoItem::request(None)).await {
        Ok(r) => DiscoItem::list_from_result(&r),
        Err(e) => {
            put(out, "muc", Err(format!("disco#items of the domain: {e}")));
            return Ok(());
        }
    };
    let mut service = None;
    for i in items.iter().filter(|i| i.node.is_none()) {
        if let Ok(r) = a.iq("get", Some(&i.jid), DiscoInfo::request(None)).await {
            let info = DiscoInfo::from_result(&r);
            if info.has_identity("conference", Some("text")) && info.has_feature(NS_MUC) {
                service = Some(i.jid.clone());
                break;
            }
        }
    }
    let Some(service) = service else {
        return Ok(());
    };
    let room = format!("pfe-check-{}@{service}", nonce());
    let r = muc_inner(a, b, c, &room, out).await;
    // Destroy whatever happened.
    let destroyed = a
        .iq(
            "set",
            Some(&room),
            Element::new("query", NS_MUC_OWNER).with_child(Element::new("destroy", NS_MUC_OWNER)),
        )
        .await;
    if let Err(e) = destroyed
        && !e.contains("item-not-found")
    {
        out.leftovers
            .push(format!("room {room}: destroying it failed: {e}"));
    }
    if let Err(e) = r {
        out.results.entry("muc".into()).or_insert(Err(e));
    }
    Ok(())
}

fn presence_from(room_nick: &str) -> impl Fn(&Element) -> bool + '_ {
    move |e| {
        e.is("presence", NS_CLIENT) && e.attr("from") == Some(room_nick) && e.attr("type").is_none()
    }
}

fn occupant_id(e: &Element) -> Option<String> {
    e.child("occupant-id", NS_OCCUPANT_ID)
        .and_then(|o| o.attr("id"))
        .map(str::to_string)
}

async fn join(p: &mut Party, room: &str, nick: &str) -> Result<Element, String> {
    let rn = format!("{room}/{nick}");
    p.send(
        Element::new("presence", NS_CLIENT)
            .with_attr("to", rn.clone())
            .with_child(
                Element::new("x", NS_MUC)
                    .with_child(Element::new("history", NS_MUC).with_attr("maxstanzas", "0")),
            ),
    )
    .await?;
    let error = |e: &Element| {
        e.is("presence", NS_CLIENT)
            && e.attr("from") == Some(rn.as_str())
            && e.attr("type") == Some("error")
    };
    let el = p
        .wait(
            |e| presence_from(&rn)(e) || error(e),
            &format!("our presence from {rn}"),
        )
        .await?;
    if el.attr("type") == Some("error") {
        return Err(format!("joining {rn} was refused: {}", iq_error_text(&el)));
    }
    Ok(el)
}

async fn muc_inner(
    a: &mut Party,
    b: &mut Party,
    c: Option<&mut Party>,
    room: &str,
    out: &mut Out,
) -> Result<(), String> {
    join(a, room, "a").await?;
    // An instant room: accept the default configuration (Prosody locks new
    // rooms until their owner configures them).
    a.iq(
        "set",
        Some(room),
        Element::new("query", NS_MUC_OWNER)
            .with_child(Element::new("x", NS_DATA).with_attr("type", "submit")),
    )
    .await
    .map_err(|e| format!("configuring the new room {room}: {e}"))?;
    let first = join(b, room, "b").await?;
    let body = format!("pfe check muc {}", nonce());
    let id = a.id();
    a.send(
        Element::new("message", NS_CLIENT)
            .with_attr("to", room)
            .with_attr("type", "groupchat")
            .with_attr("id", id)
            .with_child(Element::new("body", NS_CLIENT).with_text(body.clone())),
    )
    .await?;
    let from_a = format!("{room}/a");
    let got = b
        .wait(
            |e| body_is(e, &body) && e.attr("from") == Some(from_a.as_str()),
            "the groupchat message from the other occupant",
        )
        .await?;
    a.wait(|e| body_is(e, &body), "our own groupchat message reflected")
        .await?;
    put(
        out,
        "muc",
        Ok(format!(
            "room {room} created; two occupants joined and exchanged a groupchat message"
        )),
    );
    // XEP-0421: the occupant id of b, before and after rejoining.
    let before = occupant_id(&first);
    let rn = format!("{room}/b");
    b.send(
        Element::new("presence", NS_CLIENT)
            .with_attr("to", rn.clone())
            .with_attr("type", "unavailable"),
    )
    .await?;
    b.wait(
        |e| {
            e.is("presence", NS_CLIENT)
                && e.attr("from") == Some(rn.as_str())
                && e.attr("type") == Some("unavailable")
        },
        "our unavailable presence from the room",
    )
    .await?;
    let again = join(b, room, "b").await?;
    let after = occupant_id(&again);
    put(
        out,
        "occupant_id",
        match (before, after, occupant_id(&got)) {
            (Some(x), Some(y), Some(_)) if x == y => Ok(format!(
                "occupant-id {x} stable across a rejoin, and on messages"
            )),
            (Some(x), Some(y), _) if x != y => {
                Err(format!("occupant-id changed across a rejoin: {x} then {y}"))
            }
            (Some(_), Some(_), None) => Err("a groupchat message carried no occupant-id".into()),
            _ => Err("presence from the room carried no <occupant-id/>".into()),
        },
    );
    // XEP-0410: self-ping.
    put(
        out,
        "self_ping",
        match b.iq("get", Some(&rn), Element::new("ping", NS_PING)).await {
            Ok(_) => Ok(format!("a ping to our own occupant JID {rn} was answered")),
            Err(e) => Err(format!("self-ping to {rn}: {e}")),
        },
    );
    // XEP-0313 on the room: its disco#info, then its archive.
    let info = a
        .iq("get", Some(room), DiscoInfo::request(None))
        .await
        .map(|r| DiscoInfo::from_result(&r));
    let mam = match info {
        Err(e) => Err(format!("disco#info of {room}: {e}")),
        Ok(i) if !i.has_feature(NS_MAM) => Err(format!(
            "room {room} does not archive (no urn:xmpp:mam:2 in its disco#info)"
        )),
        Ok(_) => {
            let qid = format!("m-{}", nonce());
            match a
                .iq(
                    "set",
                    Some(room),
                    Element::new("query", NS_MAM).with_attr("queryid", qid.clone()),
                )
                .await
            {
                Err(e) => Err(format!("querying the archive of {room}: {e}")),
                Ok(_) => {
                    let hit = a.take(|e| {
                        e.child("result", NS_MAM).is_some_and(|r| {
                            r.attr("queryid") == Some(qid.as_str())
                                && r.child("forwarded", NS_FORWARD)
                                    .and_then(|f| f.child("message", NS_CLIENT))
                                    .is_some_and(|m| {
                                        m.child("body", NS_CLIENT).is_some_and(|x| x.text == body)
                                    })
                        })
                    });
                    a.inbox.retain(|e| e.child("result", NS_MAM).is_none());
                    match hit {
                        Some(_) => Ok(format!(
                            "room {room} advertises urn:xmpp:mam:2 and its archive returned the message"
                        )),
                        None => Err(format!(
                            "room {room} advertises urn:xmpp:mam:2, but its archive lacks the message"
                        )),
                    }
                }
            }
        }
    };
    put(out, "muc_mam", mam);
    // XEP-0249: a direct invitation, routed to the invitee.
    let (invitee, who): (&mut Party, &str) = match c {
        Some(c) => (c, "the second account"),
        None => (b, "the other resource"),
    };
    let to = invitee.full.clone();
    let id = a.id();
    a.send(
        Element::new("message", NS_CLIENT)
            .with_attr("to", to.clone())
            .with_attr("id", id)
            .with_child(Element::new("x", NS_CONFERENCE).with_attr("jid", room)),
    )
    .await?;
    a.barrier().await?;
    invitee.barrier().await?;
    let got = invitee.take(|e| {
        e.child("x", NS_CONFERENCE)
            .is_some_and(|x| x.attr("jid") == Some(room))
    });
    put(
        out,
        "invite",
        match got {
            Some(_) => Ok(format!(
                "a direct invitation to {room} reached {who} ({to})"
            )),
            None => Err(format!("a direct invitation to {room} did not reach {to}")),
        },
    );
    a.inbox
        .retain(|e| !e.attr("from").is_some_and(|f| f.starts_with(room)));
    b.inbox
        .retain(|e| !e.attr("from").is_some_and(|f| f.starts_with(room)));
    Ok(())
}

/// SM: enable with resumption, check the ack count, read a message and cut
/// the TCP connection without closing; resume on a new connection
/// acknowledging less, and see `<resumed/>` and the message again.
async fn sm(cfg: &ClientConfig, b: &mut Party) -> Result<String, String> {
    let mut scfg = cfg.clone();
    scfg.resource = Some(format!("pfe-sm-{}", nonce()));
    let e = |e: Error| text_of(&e);
    let mut s = Client::login(scfg.clone(), None).await.map_err(e)?;
    if !s.features_post_auth().is_some_and(|f| f.has_ns(NS_SM)) {
        s.close().await;
        return Err("no urn:xmpp:sm:3 stream feature after authentication".into());
    }
    let full = s.bound_jid().unwrap_or_default().to_string();
    s.send(&Element::new("enable", NS_SM).with_attr("resume", "true"))
        .await
        .map_err(e)?;
    let enabled = s.recv().await.map_err(e)?;
    if !enabled.is("enabled", NS_SM) {
        s.close().await;
        return Err(format!(
            "<enable resume='true'/> was answered with <{}/>",
            enabled.name
        ));
    }
    let Some(previd) = enabled
        .attr("id")
        .filter(|_| matches!(enabled.attr("resume"), Some("true" | "1")))
        .map(str::to_string)
    else {
        s.close().await;
        return Err(
            "<enabled/> without resume='true' and an id: sessions cannot be resumed".into(),
        );
    };
    // Two stanzas from us (presence, ping), then <r/>: h must be 2.
    s.send(&Element::new("presence", NS_CLIENT))
        .await
        .map_err(e)?;
    let domain = b.domain.clone();
    s.send(
        &Element::new("iq", NS_CLIENT)
            .with_attr("type", "get")
            .with_attr("id", "sm-ping")
            .with_attr("to", domain)
            .with_child(Element::new("ping", NS_PING)),
    )
    .await
    .map_err(e)?;
    s.send(&Element::new("r", NS_SM)).await.map_err(e)?;
    let mut inbound = 0u32; // stanzas the server sent us
    let h = loop {
        let el = s.recv().await.map_err(e)?;
        if el.is("a", NS_SM) {
            break el.attr("h").and_then(|h| h.parse::<u32>().ok());
        }
        if el.is("r", NS_SM) {
            continue;
        }
        if matches!(el.name.as_str(), "message" | "presence" | "iq") {
            inbound += 1;
        }
    };
    if h != Some(2) {
        s.close().await;
        return Err(format!("after 2 stanzas the server acknowledged h={h:?}"));
    }
    // A message to this resource; read it, then cut the connection.
    let body = format!("pfe check sm {}", nonce());
    let id = b.id();
    b.send(message(&full, &id, &body)).await?;
    b.barrier().await?;
    loop {
        let el = s.recv().await.map_err(e)?;
        if body_is(&el, &body) {
            break;
        }
        if matches!(el.name.as_str(), "message" | "presence" | "iq") {
            inbound += 1;
        }
    }
    drop(s); // no </stream>: the session hibernates
    // Resume, acknowledging everything but the message.
    let mut r = Client::connect(scfg).await.map_err(e)?;
    if !r.is_encrypted() {
        r.starttls().await.map_err(e)?;
    }
    r.authenticate(None).await.map_err(e)?;
    r.send(
        &Element::new("resume", NS_SM)
            .with_attr("previd", previd.clone())
            .with_attr("h", inbound.to_string()),
    )
    .await
    .map_err(e)?;
    let answer = r.recv().await.map_err(e)?;
    if !answer.is("resumed", NS_SM) {
        let cond = answer
            .children
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_default();
        r.close().await;
        return Err(format!(
            "resuming the cut session was answered with <{}/> <{cond}/>",
            answer.name
        ));
    }
    let mut redelivered = false;
    r.send(&Element::new("r", NS_SM)).await.map_err(e)?;
    loop {
        let el = r.recv().await.map_err(e)?;
        if body_is(&el, &body) {
            redelivered = true;
        }
        if el.is("a", NS_SM) {
            break;
        }
    }
    r.close().await;
    if redelivered {
        Ok("acks counted (h=2 after 2 stanzas); a session cut without closing resumed with <resumed/> and redelivered the unacknowledged message".into())
    } else {
        Err("the session resumed, but the unacknowledged message was not redelivered".into())
    }
}
