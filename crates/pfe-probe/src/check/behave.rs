//! The behaviour probes: what a client can trigger, done and watched.
//! Two resources of the check's account (A, B) and, when given, a second
//! account (C). Every probe keys its result into `Facts::behave`
//! (evidence, or what went wrong); what it creates it removes again, and
//! what it cannot remove is listed in `Facts::leftovers`.
//!
//! Ordering without sleeps: stanzas of one session are handled in order, so
//! once a ping from X is answered, everything X sent before has been
//! routed; a ping by the receiver then returns only after whatever was
//! routed to it. No probe waits for a fixed time; all of them together are
//! bounded by the check's deadline.

use std::collections::BTreeMap;

mod avatar;
mod bookmarks;
mod invites;
mod queries;
mod sasl2;
mod sm_sasl2;

use super::nonce;
use crate::xmpp::{
    self, Client, ClientConfig, DiscoInfo, DiscoItem, Element, Error, IqType, NS_CSI, NS_SM,
};

const NS_CLIENT: &str = "jabber:client";
const NS_PING: &str = "urn:xmpp:ping";
const NS_PRIVATE: &str = "jabber:iq:private";
const NS_PUBSUB: &str = "http://jabber.org/protocol/pubsub";
const NS_PUBSUB_OWNER: &str = "http://jabber.org/protocol/pubsub#owner";
const NS_DATA: &str = "jabber:x:data";
const NS_MAM: &str = "urn:xmpp:mam:2";
const NS_RSM: &str = "http://jabber.org/protocol/rsm";
const NS_FORWARD: &str = "urn:xmpp:forward:0";
const NS_DELAY: &str = "urn:xmpp:delay";
const NS_SID: &str = "urn:xmpp:sid:0";
const NS_ROSTER: &str = "jabber:iq:roster";
const NS_CARBONS: &str = "urn:xmpp:carbons:2";
const NS_PUSH: &str = "urn:xmpp:push:0";
const NS_BLOCKING: &str = "urn:xmpp:blocking";
const NS_REPORTING: &str = "urn:xmpp:reporting:1";
const REPORT_SPAM: &str = "urn:xmpp:reporting:spam";
const NS_MUC: &str = "http://jabber.org/protocol/muc";
const NS_MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";
const NS_OCCUPANT_ID: &str = "urn:xmpp:occupant-id:0";
const NS_CONFERENCE: &str = "jabber:x:conference";
const NS_CAPS: &str = "http://jabber.org/protocol/caps";
const NS_DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const NS_IBR_TOKEN: &str = "urn:xmpp:ibr-token:0";
const CHECK_NS: &str = "urn:pfe:check:0";
const CAPS_NODE: &str = "https://pfe.invalid/check";

pub(crate) type Results = BTreeMap<String, Result<String, String>>;

/// What the probes found, and what they left behind.
#[derive(Default, Debug)]
pub(crate) struct Out {
    pub(crate) results: Results,
    pub(crate) leftovers: Vec<String>,
    pub(crate) expires: Vec<String>,
    /// Milliseconds per step, in order.
    pub(crate) timings: Vec<(String, u64)>,
}

/// Record the time since the last lap under `name`.
fn lap(out: &mut Out, t: &mut tokio::time::Instant, name: &str) {
    let now = tokio::time::Instant::now();
    out.timings
        .push((name.into(), now.duration_since(*t).as_millis() as u64));
    *t = now;
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
        } else if req.attr("type") == Some("set")
            && req.child("query", NS_ROSTER).is_some()
            && req.attr("from").is_none_or(|f| f == self.bare)
        {
            // A roster push (RFC 6121 2.1.6).
            reply.set_attr("type", "result");
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

    async fn close(self) {
        self.c.close().await;
    }
}

/// XEP-0352 with Prosody's mod_csi_simple: while a session is inactive,
/// presence updates (unimportant) are held, stamped with
/// `<delay from='account'/>`, and written when the client is active again
/// (any data from it flushes; `<active/>` ends the holding). Ordering
/// without timed waits: B's `<inactive/>` is followed on its stream by a
/// presence update, so once A sees that update, B's inactivity is in
/// force; A's two updates are routed before A's ping is answered; B then
/// sends `<active/>` and a ping, and its inbox must hold both updates with
/// the hold's `<delay/>`. A too small `csi_queue_size` flushes at once (no
/// `<delay/>` on the second update).
async fn csi(a: &mut Party, b: &mut Party) -> Result<String, String> {
    // Without <c/>: new caps would make mod_pep query the inactive
    // resource, and an iq is important (it flushes).
    let status = |t: &str| {
        Element::new("presence", NS_CLIENT)
            .with_child(Element::new("status", NS_CLIENT).with_text(t))
    };
    let tag = nonce();
    let (sb, s1, s2) = (
        format!("pfe check csi {tag} b"),
        format!("pfe check csi {tag} 1"),
        format!("pfe check csi {tag} 2"),
    );
    b.send(Element::new("inactive", NS_CSI)).await?;
    b.send(status(&sb)).await?;
    let bfull = b.full.clone();
    let has_status = |e: &Element, from: &str, t: &str| {
        e.is("presence", NS_CLIENT)
            && e.attr("from") == Some(from)
            && e.child("status", NS_CLIENT).is_some_and(|s| s.text == t)
    };
    a.wait(
        |e| has_status(e, &bfull, &sb),
        "the inactive resource's presence update",
    )
    .await?;
    a.send(status(&s1)).await?;
    a.send(status(&s2)).await?;
    a.barrier().await?;
    b.send(Element::new("active", NS_CSI)).await?;
    b.barrier().await?;
    let afull = a.full.clone();
    let bare = b.bare.clone();
    let mut seen = Vec::new();
    for s in [&s1, &s2] {
        let Some(p) = b.take(|e| has_status(e, &afull, s)) else {
            return Err(format!(
                "a presence update of {afull} did not reach {bfull} after <active/>"
            ));
        };
        let held = p
            .children_named("delay", NS_DELAY)
            .any(|d| d.attr("from") == Some(bare.as_str()));
        seen.push(held);
    }
    b.inbox.retain(|e| !e.is("presence", NS_CLIENT));
    a.inbox.retain(|e| !e.is("presence", NS_CLIENT));
    match seen.as_slice() {
        [true, true] => Ok(format!(
            "two presence updates of {afull} to inactive {bfull} were held (stamped <delay from='{bare}'/>) and delivered after <active/>"
        )),
        _ => Err(format!(
            "{} of two presence updates of {afull} reached inactive {bfull} at once (no <delay from='{bare}'/> of a hold)",
            seen.iter().filter(|h| !**h).count()
        )),
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

/// Asks a resumed session for an acknowledgement (XEP-0198 `<r/>`) and
/// reads up to the `<a/>`: whether the message with `body` came again on
/// the way (redelivered after the resumption).
async fn redelivered_before_ack(r: &mut Client, body: &str) -> Result<bool, Error> {
    r.send(&Element::new("r", NS_SM)).await?;
    let mut redelivered = false;
    loop {
        let el = r.recv().await?;
        if body_is(&el, body) {
            redelivered = true;
        }
        if el.is("a", NS_SM) {
            return Ok(redelivered);
        }
    }
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

/// A submitted form whose fields may carry several values.
fn form_multi(form_type: &str, fields: &[(&str, &[&str])]) -> Element {
    let mut x = form(form_type, &[]);
    for (var, values) in fields {
        let mut f = Element::new("field", NS_DATA).with_attr("var", *var);
        for v in *values {
            f = f.with_child(Element::new("value", NS_DATA).with_text(*v));
        }
        x = x.with_child(f);
    }
    x
}

/// Run every probe. `second` is the disposable second account.
/// Bounded by the check's deadline (`cfg.timeouts.overall` from now): a
/// probe still waiting then is cut off and reported, so a slow or silent
/// server gives failed rows, never a check that ends without a report.
pub(crate) async fn run(cfg: &ClientConfig, second: Option<&ClientConfig>) -> Out {
    let mut out = Out::default();
    let overall = cfg.timeouts.overall;
    // SM over SASL2 needs nobody else: it runs beside the others.
    let t = tokio::time::Instant::now();
    let sasl2 = async {
        let (r, logins) = tokio::join!(Box::pin(sm_sasl2::run(cfg)), Box::pin(sasl2::run(cfg)));
        (r, logins, t.elapsed().as_millis() as u64)
    };
    let (r, sasl2) = tokio::time::timeout(overall, async {
        tokio::join!(Box::pin(run_inner(cfg, second, &mut out)), Box::pin(sasl2))
    })
    .await
    .map_or((Err(()), None), |(r, s)| (Ok(r), Some(s)));
    if let Some((r, logins, ms)) = sasl2 {
        out.timings
            .push(("SASL2 logins, sm over SASL2 (beside)".into(), ms));
        if let Some(r) = r {
            put(&mut out, "sm_sasl2", r);
        }
        out.results.extend(logins);
    }
    let e = match r {
        Ok(Ok(())) => return out,
        Ok(Err(e)) => format!("the behaviour session failed: {e}"),
        Err(_) => format!(
            "the behaviour probes did not finish within {} ms (after: {})",
            overall.as_millis(),
            out.timings
                .last()
                .map_or("the logins", |(name, _)| name.as_str())
        ),
    };
    out.results.entry("session".into()).or_insert(Err(e));
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
    let mut t = tokio::time::Instant::now();
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
    lap(out, &mut t, "login");
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
    lap(out, &mut t, "offline");

    // Entity capabilities (XEP-0115): mod_pep asks for an unknown hash
    // while it handles the presence (mod_pep's presence hook sends the
    // disco#info query at once), so once a ping sent after the presence is
    // answered, the query is in the inbox (and was answered). No timed wait.
    {
        let node = format!("{CAPS_NODE}#{ver}");
        a.barrier().await?;
        let asked = a.take(|e| {
            e.is("iq", NS_CLIENT)
                && e.child("query", NS_DISCO_INFO)
                    .is_some_and(|q| q.attr("node") == Some(node.as_str()))
        });
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
    lap(out, &mut t, "caps");

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
    lap(out, &mut t, "private");

    // One-query services and their answers (XEP-0199, 0092, 0202, 0012,
    // 0050, 0077, 0237, 0292).
    Box::pin(queries::run(&mut a, out)).await?;
    lap(out, &mut t, "queries");

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
    lap(out, &mut t, "pep");

    // Message archive (XEP-0313): three messages from the second account,
    // found by id and by time, paged with RSM (needs C: see `mam`).
    if let Some(cp) = c.as_mut() {
        let r = mam(&mut a, cp, out).await;
        if r.is_ok() {
            out.expires.push(format!(
                "three messages from {} in the archive of {} (until archive_expires_after passes)",
                cp.bare, a.bare
            ));
        }
        b.inbox.clear();
        put(out, "mam", r);
    }
    lap(out, &mut t, "mam");

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
        // XEP-0377: the report rode on the block; accepted is all a
        // client can see of it.
        let rep = match &r {
            Ok(_) => Ok(format!(
                "a block of {} carrying <report xmlns='{NS_REPORTING}' reason='{REPORT_SPAM}'> was accepted and took effect, then lifted",
                cp.bare
            )),
            Err(e) => Err(format!("blocking with a report: {e}")),
        };
        put(out, "report", rep);
        put(out, "blocking", r);
    }
    lap(out, &mut t, "carbons+blocking");

    // Client state indication (XEP-0352): B inactive, A's presence updates
    // are held for B and flushed when B is active again.
    if b.c.features_post_auth().is_some_and(|f| f.has_ns(NS_CSI)) {
        put(out, "csi", csi(&mut a, &mut b).await);
        lap(out, &mut t, "csi");
    }

    // MUC (XEP-0045, 0313, 0410, 0421, 0249).
    let service = muc(&mut a, &mut b, c.as_mut(), out).await?;
    lap(out, &mut t, "muc");

    // Bookmarks (XEP-0402, XEP-0048 conversion) and avatars (XEP-0398,
    // XEP-0153) live in PEP.
    let bare = a.bare.clone();
    let pep = a
        .iq("get", Some(&bare), DiscoInfo::request(None))
        .await
        .is_ok_and(|r| DiscoInfo::from_result(&r).has_identity("pubsub", Some("pep")));
    if pep {
        let domain = a.domain.clone();
        let seen = Box::pin(bookmarks::run(
            &mut a,
            &mut b,
            service.as_deref().unwrap_or(&domain),
            out,
        ))
        .await;
        put(out, "bookmarks", seen.pep);
        put(out, "bookmarks_legacy", seen.legacy);
        lap(out, &mut t, "bookmarks");
        let seen = Box::pin(avatar::run(&mut a, &mut b, out)).await;
        put(out, "vcard", seen.vcard);
        put(out, "avatar", seen.avatar);
        lap(out, &mut t, "avatar");
    }

    // Invitations (XEP-0401): where the stream offers invite tokens.
    if a.c
        .features_post_tls()
        .is_some_and(|f| f.has_ns(NS_IBR_TOKEN))
        && let Some(r) = Box::pin(invites::run(cfg, &mut a, out)).await
    {
        put(out, "invites", r);
        lap(out, &mut t, "invites");
    }

    // Stream management (XEP-0198): acks, then resumption with redelivery.
    let (smr, push) = sm(cfg, &mut b, c.as_mut()).await;
    put(out, "sm", smr);
    if let Some(push) = push {
        if let Err(e) = &push
            && e.contains("disabling")
        {
            out.leftovers
                .push(format!("a push registration of {}: {e}", a.bare));
        }
        put(out, "push", push);
    }
    lap(out, &mut t, "sm");

    a.close().await;
    b.close().await;
    if let Some(cp) = c {
        cp.close().await;
    }
    Ok(())
}

/// XEP-0313 on the account's own archive. Prosody archives a message
/// between two accounts in the recipient's archive when the recipient's
/// preference allows it: `default_archive_policy` (or the account's own
/// prefs) `always`, or `roster` and the sender is a contact — the standard
/// profile archives only contacts. So the second account is put on the
/// roster for the probe (when the policy is `roster` and it is not there
/// yet) and taken off again. Messages between resources of one account
/// are never archived under `roster` (one is not one's own contact).
async fn mam(a: &mut Party, c: &mut Party, out: &mut Out) -> Result<String, String> {
    let prefs = a
        .iq("get", None, Element::new("prefs", NS_MAM))
        .await
        .map_err(|e| format!("reading the archiving preferences: {e}"))?;
    let default = prefs
        .child("prefs", NS_MAM)
        .and_then(|p| p.attr("default"))
        .unwrap_or("always")
        .to_string();
    if default == "never" {
        return Err(format!(
            "the archiving preference of {} is default='never' (default_archive_policy = false): no message is archived",
            a.bare
        ));
    }
    let mut added = false;
    if default == "roster" {
        let roster = a
            .iq("get", None, Element::new("query", NS_ROSTER))
            .await
            .map_err(|e| format!("reading the roster: {e}"))?;
        let listed = roster.child("query", NS_ROSTER).is_some_and(|q| {
            q.children
                .iter()
                .any(|i| i.attr("jid") == Some(c.bare.as_str()))
        });
        if !listed {
            a.iq(
                "set",
                None,
                Element::new("query", NS_ROSTER).with_child(
                    Element::new("item", NS_ROSTER)
                        .with_attr("jid", c.bare.clone())
                        .with_attr("name", "pfe check (temporary)"),
                ),
            )
            .await
            .map_err(|e| format!("adding {} to the roster (policy 'roster'): {e}", c.bare))?;
            added = true;
        }
    }
    let mut sid = None;
    let r = mam_inner(a, c, &mut sid).await;
    if let Some(sid) = sid {
        put(out, "stanza_id", sid);
    }
    if added {
        let removed = a
            .iq(
                "set",
                None,
                Element::new("query", NS_ROSTER).with_child(
                    Element::new("item", NS_ROSTER)
                        .with_attr("jid", c.bare.clone())
                        .with_attr("subscription", "remove"),
                ),
            )
            .await;
        if let Err(e) = removed {
            out.leftovers
                .push(format!("{} in the roster of {}: {e}", c.bare, a.bare));
        }
    }
    r.map(|s| {
        if added {
            format!(
                "{s} ({} was a contact for the probe: policy 'roster')",
                c.bare
            )
        } else {
            s
        }
    })
}

/// One archive query: its results (archive id, stamp, body) and the
/// `<fin/>` (complete, RSM last).
struct Page {
    results: Vec<(String, String, String)>,
    complete: bool,
    last: Option<String>,
}

async fn mam_query(a: &mut Party, x: Element, set: Option<Element>) -> Result<Page, String> {
    let qid = format!("q-{}", nonce());
    let mut q = Element::new("query", NS_MAM)
        .with_attr("queryid", qid.clone())
        .with_child(x);
    if let Some(set) = set {
        q = q.with_child(set);
    }
    let fin = a.iq("set", None, q).await?;
    let mut results = Vec::new();
    while let Some(m) = a.take(|e| {
        e.is("message", NS_CLIENT)
            && e.child("result", NS_MAM)
                .is_some_and(|r| r.attr("queryid") == Some(qid.as_str()))
    }) {
        let Some(r) = m.child("result", NS_MAM) else {
            continue;
        };
        let fwd = r.child("forwarded", NS_FORWARD);
        let stamp = fwd
            .and_then(|f| f.child("delay", NS_DELAY))
            .and_then(|d| d.attr("stamp"))
            .unwrap_or_default()
            .to_string();
        let body = fwd
            .and_then(|f| f.child("message", NS_CLIENT))
            .and_then(|m| m.child("body", NS_CLIENT))
            .map(|b| b.text.clone())
            .unwrap_or_default();
        results.push((r.attr("id").unwrap_or("").to_string(), stamp, body));
    }
    let fin = fin.child("fin", NS_MAM);
    Ok(Page {
        results,
        complete: fin.is_some_and(|f| matches!(f.attr("complete"), Some("true" | "1"))),
        last: fin
            .and_then(|f| f.child("set", NS_RSM))
            .and_then(|s| s.child("last", NS_RSM))
            .map(|l| l.text.clone()),
    })
}

/// `seen_sid`: the XEP-0359 result, once the stanza-ids were seen (and, when
/// the query by id ran, compared with the archive's ids).
async fn mam_inner(
    a: &mut Party,
    c: &mut Party,
    seen_sid: &mut Option<Result<String, String>>,
) -> Result<String, String> {
    let with = c.bare.clone();
    let tag = nonce();
    let bodies: Vec<String> = (1..=3)
        .map(|i| format!("pfe check mam {tag} {i}"))
        .collect();
    let to = a.bare.clone();
    for body in &bodies {
        let id = c.id();
        c.send(message(&to, &id, body)).await?;
    }
    c.barrier().await?;
    a.barrier().await?;
    // Delivered with the archive's <stanza-id by='account'/>: archived.
    let mut ids = Vec::new();
    for body in &bodies {
        let Some(m) = a.take(|e| body_is(e, body)) else {
            return Err(format!("a message from {with} to {to} did not arrive"));
        };
        let sid = m
            .children_named("stanza-id", NS_SID)
            .find(|s| s.attr("by") == Some(to.as_str()))
            .and_then(|s| s.attr("id"))
            .map(str::to_string);
        match sid {
            Some(id) => ids.push(id),
            None => {
                let why = format!(
                    "a message from {with} arrived without <stanza-id by='{to}'/>: it was not archived"
                );
                *seen_sid = Some(Err(why.clone()));
                return Err(why);
            }
        }
    }
    // By id (XEP-0313 `ids`): exactly the second message.
    let x = form_multi(NS_MAM, &[("ids", &[ids[1].as_str()])]);
    let page = mam_query(a, x, None)
        .await
        .map_err(|e| format!("querying the archive by id: {e}"))?;
    let stamp = match page.results.as_slice() {
        [(id, stamp, body)] if *id == ids[1] && *body == bodies[1] => {
            *seen_sid = Some(Ok(format!(
                "3 messages from {with} arrived with <stanza-id by='{to}'/>; the archive returned one under the same id {id}"
            )));
            stamp.clone()
        }
        r => {
            let why = format!(
                "a query by id {} returned {} result(s), not the message archived under it",
                ids[1],
                r.len()
            );
            *seen_sid = Some(Err(format!(
                "the <stanza-id/> {} is not an archive id: {why}",
                ids[1]
            )));
            return Err(why);
        }
    };
    let Some(secs) = parse_time(&stamp) else {
        return Err(format!(
            "the archived message's <delay stamp='{stamp}'/> is not a date"
        ));
    };
    // By time: nothing of ours ends before the second message's second.
    let before = format_time(secs.saturating_sub(1));
    let x = form_multi(
        NS_MAM,
        &[("end", &[before.as_str()]), ("with", &[with.as_str()])],
    );
    let page = mam_query(a, x, None)
        .await
        .map_err(|e| format!("querying the archive by time: {e}"))?;
    if page.results.iter().any(|(id, ..)| ids[1..].contains(id)) {
        return Err(format!(
            "a query with end={before} returned messages archived at {stamp}"
        ));
    }
    // By time from that second, paged with RSM one result at a time.
    let start = format_time(secs);
    let mut found: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        let mut set =
            Element::new("set", NS_RSM).with_child(Element::new("max", NS_RSM).with_text("1"));
        if let Some(after) = &after {
            set = set.with_child(Element::new("after", NS_RSM).with_text(after.clone()));
        }
        let x = form_multi(
            NS_MAM,
            &[("start", &[start.as_str()]), ("with", &[with.as_str()])],
        );
        let page = mam_query(a, x, Some(set))
            .await
            .map_err(|e| format!("paging the archive (RSM): {e}"))?;
        match page.results.as_slice() {
            [] if page.complete && found.ends_with(&bodies[1..]) => break,
            [(id, _, body)] => {
                if page.last.as_deref() != Some(id.as_str()) {
                    return Err(format!(
                        "the RSM <last/> {:?} of a page does not name its result {id}",
                        page.last
                    ));
                }
                found.push(body.clone());
                after = Some(id.clone());
                if page.complete {
                    break;
                }
            }
            r => {
                return Err(format!(
                    "an RSM page of max 1 (start {start}, with {with}) returned {} results{}",
                    r.len(),
                    if r.is_empty() {
                        " although the archive holds the messages (max_archive_query_results too low?)"
                    } else {
                        ""
                    }
                ));
            }
        }
        if pages >= 8 {
            break;
        }
    }
    let ours: Vec<&String> = found.iter().filter(|b| bodies.contains(b)).collect();
    if !found.ends_with(&bodies[1..]) || ours.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!(
            "paging the archive from {start} gave {ours:?}, not the messages just archived in order"
        ));
    }
    Ok(format!(
        "3 messages from {with} archived (stanza-id); found by id {}, by time (none before {before}, from {start}), paged one by one with RSM ({pages} pages)",
        ids[1]
    ))
}

/// Seconds since the epoch of an XEP-0082 date-time (`Z` only).
fn parse_time(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || !s.ends_with('Z') || b[4] != b'-' || b[10] != b'T' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
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
    // The block carries a spam report (XEP-0377): a server with reporting
    // logs it, one without ignores it; either way the block must work.
    let report = Element::new("report", NS_REPORTING)
        .with_attr("reason", REPORT_SPAM)
        .with_child(
            Element::new("text", NS_REPORTING)
                .with_text("pfe check: a test report of the check's own second account"),
        );
    a.iq(
        "set",
        None,
        Element::new("block", NS_BLOCKING).with_child(item().with_child(report)),
    )
    .await
    .map_err(|e| format!("blocking {} (with a spam <report/>): {e}", c.bare))?;
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
        "a message from blocked {} (blocked with a spam <report/>) did not arrive; after unblocking it did",
        c.bare
    ))
}

async fn muc(
    a: &mut Party,
    b: &mut Party,
    c: Option<&mut Party>,
    out: &mut Out,
) -> Result<Option<String>, String> {
    let domain = a.domain.clone();
    let items = match a.iq("get", Some(&domain), DiscoItem::request(None)).await {
        Ok(r) => DiscoItem::list_from_result(&r),
        Err(e) => {
            put(out, "muc", Err(format!("disco#items of the domain: {e}")));
            return Ok(None);
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
        return Ok(None);
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
    Ok(Some(service))
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
///
/// With the second account C, the same resource first registers C's full
/// JID as its XEP-0357 app server (node of our own): the session going into
/// hibernation with the message unacknowledged must make the server publish
/// a notification to C (mod_cloud_notify pushes a hibernating session's
/// queue at once when hibernation starts); after resuming, the registration
/// is disabled again. The second result is the push row (None: not tried).
async fn sm(
    cfg: &ClientConfig,
    b: &mut Party,
    c: Option<&mut Party>,
) -> (Result<String, String>, Option<Result<String, String>>) {
    let mut push = c.map(|c| (c, format!("pfe-check-{}", nonce()), None::<String>));
    let r = sm_inner(cfg, b, &mut push).await;
    let Some((c, node, enabled)) = push else {
        return (r, None);
    };
    let Some(state) = enabled else {
        return (r, None);
    };
    if r.is_err() && state == "enabled" {
        return (
            r,
            Some(Err(format!(
                "{} stays registered as app server (node {node}): disabling it was not reached (the session could not be resumed)",
                c.full
            ))),
        );
    }
    if let Some(err) = state.strip_prefix("refused: ") {
        return (r, Some(Err(err.to_string())));
    }
    // The resumed session disabled the registration (or said why not).
    if let Some(err) = state.strip_prefix("disable failed: ") {
        return (
            r,
            Some(Err(format!(
                "disabling the push registration failed: {err}"
            ))),
        );
    }
    let cfull = c.full.clone();
    let account = cfg.jid.clone();
    // Prosody publishes from the host (the account's server).
    let host = c.domain.clone();
    let got = match c.barrier().await {
        Ok(()) => c.take(|e| {
            e.is("iq", NS_CLIENT)
                && e.attr("type") == Some("set")
                && e.attr("from").is_some_and(|f| f == account || f == host)
                && e.child("pubsub", NS_PUBSUB)
                    .and_then(|p| p.child("publish", NS_PUBSUB))
                    .is_some_and(|p| p.attr("node") == Some(node.as_str()))
        }),
        Err(e) => return (r, Some(Err(e))),
    };
    let push = match got {
        Some(_) => Ok(format!(
            "{cfull} registered as app server; the session hibernating with an unacknowledged message made {host} publish a notification for {account} to node {node} there (registration disabled after)"
        )),
        None => Err(format!(
            "{cfull} was registered as app server (node {node}), but no notification was published to it while the session hibernated with an unacknowledged message"
        )),
    };
    (r, Some(push))
}

/// `push`: the app server party, its node, and what became of the
/// registration (`None` not tried, `enabled`, `refused: ...`,
/// `disable failed: ...`).
async fn sm_inner(
    cfg: &ClientConfig,
    b: &mut Party,
    push: &mut Option<(&mut Party, String, Option<String>)>,
) -> Result<String, String> {
    let mut scfg = cfg.clone();
    scfg.resource = Some(format!("pfe-sm-{}", nonce()));
    let e = |e: Error| text_of(&e);
    let mut s = Client::login(scfg.clone(), None).await.map_err(e)?;
    if let Some((app, node, state)) = push.as_mut() {
        let enable = Element::new("enable", NS_PUSH)
            .with_attr("jid", app.full.clone())
            .with_attr("node", node.clone());
        // The <enable/> and a ping at once: the server handles them in
        // order, so a ping answered first means <enable/> got no answer.
        let domain = cfg.split_jid().map_err(e)?.1.to_string();
        let iq = |id: &str, to: Option<&str>, payload: Element| {
            let mut el = Element::new("iq", NS_CLIENT)
                .with_attr("type", if to.is_some() { "get" } else { "set" })
                .with_attr("id", id);
            if let Some(to) = to {
                el.set_attr("to", to);
            }
            el.with_child(payload)
        };
        s.send(&iq("push-enable", None, enable)).await.map_err(e)?;
        s.send(&iq(
            "push-ping",
            Some(&domain),
            Element::new("ping", NS_PING),
        ))
        .await
        .map_err(e)?;
        let mut answer = None;
        loop {
            let el = s.recv().await.map_err(e)?;
            if !el.is("iq", NS_CLIENT) {
                continue;
            }
            match el.attr("id") {
                Some("push-enable") => answer = Some(el),
                Some("push-ping") => break,
                _ => {}
            }
        }
        *state = match answer {
            None => Some(format!(
                "refused: registering {} as app server was refused: no answer to <enable/> (the server answered a later ping first)",
                app.full
            )),
            Some(r) if r.attr("type") == Some("result") => Some("enabled".into()),
            Some(r) => {
                let why = iq_error_text(&r);
                if why.starts_with("<service-unavailable/>")
                    || why.starts_with("<feature-not-implemented/>")
                {
                    None
                } else {
                    Some(format!(
                        "refused: registering {} as app server was refused: {why}",
                        app.full
                    ))
                }
            }
        };
    }
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
    let redelivered = redelivered_before_ack(&mut r, &body).await.map_err(e)?;
    if let Some((app, node, state)) = push.as_mut()
        && state.as_deref() == Some("enabled")
    {
        let disable = Element::new("disable", NS_PUSH)
            .with_attr("jid", app.full.clone())
            .with_attr("node", node.clone());
        if let Err(err) = r.iq(IqType::Set, None, disable).await {
            *state = Some(format!("disable failed: {err}"));
        }
    }
    r.close().await;
    if redelivered {
        Ok("acks counted (h=2 after 2 stanzas); a session cut without closing resumed with <resumed/> and redelivered the unacknowledged message".into())
    } else {
        Err("the session resumed, but the unacknowledged message was not redelivered".into())
    }
}

#[cfg(test)]
mod tests {
    use super::{format_time, parse_time};

    #[test]
    fn xep_0082_times_round_trip() {
        for secs in [0u64, 951_782_400, 1_700_000_000, 4_102_444_799] {
            assert_eq!(parse_time(&format_time(secs)), Some(secs), "{secs}");
        }
        assert_eq!(parse_time("2024-02-29T12:34:56Z"), Some(1_709_210_096));
        // Fractions are cut to the second (Prosody's stamps have none).
        assert_eq!(parse_time("2024-02-29T12:34:56.789Z"), Some(1_709_210_096));
        for bad in [
            "",
            "2024-02-29 12:34:56Z",
            "2024-02-29T12:34:56+01:00",
            "yyyy-mm-ddThh:mm:ssZ",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
