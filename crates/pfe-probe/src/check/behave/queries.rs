//! The server's one-query services, asked and their answers read: ping
//! (XEP-0199), software version (XEP-0092), entity time (XEP-0202, within
//! a sane skew of our clock), last activity (XEP-0012, the server's
//! uptime), ad-hoc commands (XEP-0050: the list, then a harmless command
//! executed to `completed`), the account's own registration data
//! (XEP-0077 `<registered/>`; nothing is changed), roster versioning
//! (XEP-0237: a `ver` comes back, and asking again with it gives an empty
//! result) and vCard4 (XEP-0292, Prosody's mod_vcard4 over PEP: published
//! and read back when the account has none, then removed; an existing one
//! is only read). Each answer is checked for its shape, not just for
//! being a result.

use super::{NS_PING, NS_PUBSUB_OWNER, NS_ROSTER, Out, Party, nonce};
use crate::xmpp::{DiscoItem, Element};

const NS_VERSION: &str = "jabber:iq:version";
const NS_TIME: &str = "urn:xmpp:time";
const NS_LAST: &str = "jabber:iq:last";
const NS_COMMANDS: &str = "http://jabber.org/protocol/commands";
const NS_REGISTER: &str = "jabber:iq:register";
const NS_VCARD4: &str = "urn:ietf:params:xml:ns:vcard-4.0";
const VCARD4_NODE: &str = "urn:xmpp:vcard4";
/// Entity time further from ours than this fails XEP-0202.
pub(super) const MAX_SKEW_SECS: u64 = 300;
/// The ad-hoc commands tried, in order: harmless, open to any account
/// (mod_uptime's `uptime`, mod_ping's `ping` where offered).
const HARMLESS_COMMANDS: [&str; 2] = ["uptime", "ping"];

/// Run every query; results go into `out` under their keys.
pub(super) async fn run(a: &mut Party, out: &mut Out) -> Result<(), String> {
    let domain = a.domain.clone();
    let r = ping(a, &domain).await;
    super::put(out, "ping", r);
    let r = version(a, &domain).await;
    super::put(out, "version", r);
    let r = time(a, &domain).await;
    super::put(out, "time", r);
    let r = last(a, &domain).await;
    super::put(out, "last", r);
    let r = adhoc(a, &domain).await;
    super::put(out, "adhoc", r);
    let r = registered(a, &domain).await;
    super::put(out, "register", r);
    let r = rosterver(a).await;
    super::put(out, "rosterver", r);
    let r = vcard4(a, out).await;
    super::put(out, "vcard4", r);
    Ok(())
}

async fn ping(a: &mut Party, domain: &str) -> Result<String, String> {
    let r = a
        .iq("get", Some(domain), Element::new("ping", NS_PING))
        .await?;
    if r.attr("from").is_some_and(|f| f != domain) {
        return Err(format!(
            "the ping answer came from {:?}, not {domain}",
            r.attr("from")
        ));
    }
    Ok(format!("a ping to {domain} was answered with a result"))
}

async fn version(a: &mut Party, domain: &str) -> Result<String, String> {
    let r = a
        .iq("get", Some(domain), Element::new("query", NS_VERSION))
        .await?;
    let q = r.child("query", NS_VERSION);
    let text = |n: &str| {
        q.and_then(|q| q.child(n, NS_VERSION))
            .map(|e| e.text.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    match (text("name"), text("version")) {
        (Some(name), Some(ver)) => Ok(format!(
            "{domain} answered jabber:iq:version: {name} {ver}{}",
            text("os").map(|o| format!(" on {o}")).unwrap_or_default()
        )),
        _ => Err(format!(
            "the jabber:iq:version answer of {domain} lacks <name/> or <version/>"
        )),
    }
}

/// XEP-0082 `±hh:mm` or `Z`.
fn valid_tzo(s: &str) -> bool {
    let b = s.as_bytes();
    s == "Z"
        || (b.len() == 6
            && matches!(b[0], b'+' | b'-')
            && b[1..3].iter().all(u8::is_ascii_digit)
            && b[3] == b':'
            && b[4..6].iter().all(u8::is_ascii_digit))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn time(a: &mut Party, domain: &str) -> Result<String, String> {
    let r = a
        .iq("get", Some(domain), Element::new("time", NS_TIME))
        .await?;
    let t = r.child("time", NS_TIME);
    let text = |n: &str| t.and_then(|t| t.child(n, NS_TIME)).map(|e| e.text.trim());
    let (Some(tzo), Some(utc)) = (text("tzo"), text("utc")) else {
        return Err(format!(
            "the urn:xmpp:time answer of {domain} lacks <tzo/> or <utc/>"
        ));
    };
    if !valid_tzo(tzo) {
        return Err(format!("<tzo>{tzo}</tzo> of {domain} is not ±hh:mm or Z"));
    }
    let Some(secs) = super::parse_time(utc) else {
        return Err(format!(
            "<utc>{utc}</utc> of {domain} is not an XEP-0082 date-time in UTC"
        ));
    };
    let now = now_secs();
    let skew = now.abs_diff(secs);
    if skew > MAX_SKEW_SECS {
        return Err(format!(
            "{domain}'s clock is {skew} s off ours (utc {utc}; more than {MAX_SKEW_SECS} s)"
        ));
    }
    Ok(format!(
        "{domain} answered urn:xmpp:time: utc {utc} ({skew} s from ours), tzo {tzo}"
    ))
}

async fn last(a: &mut Party, domain: &str) -> Result<String, String> {
    let r = a
        .iq("get", Some(domain), Element::new("query", NS_LAST))
        .await?;
    let secs = r.child("query", NS_LAST).and_then(|q| q.attr("seconds"));
    match secs.map(|s| s.parse::<u64>()) {
        Some(Ok(s)) => Ok(format!("{domain} answered jabber:iq:last: up {s} s")),
        Some(Err(_)) => Err(format!(
            "the jabber:iq:last answer of {domain} has seconds={:?}, not a number",
            secs.unwrap_or_default()
        )),
        None => Err(format!(
            "the jabber:iq:last answer of {domain} has no seconds"
        )),
    }
}

async fn adhoc(a: &mut Party, domain: &str) -> Result<String, String> {
    let r = a
        .iq("get", Some(domain), DiscoItem::request(Some(NS_COMMANDS)))
        .await
        .map_err(|e| format!("listing the commands: {e}"))?;
    let items = DiscoItem::list_from_result(&r);
    let nodes: Vec<String> = items.iter().filter_map(|i| i.node.clone()).collect();
    let Some(node) = HARMLESS_COMMANDS
        .iter()
        .find(|n| nodes.iter().any(|m| m == *n))
    else {
        return Err(format!(
            "{domain} lists {} command(s) for the account, none of {HARMLESS_COMMANDS:?} (listed: {})",
            nodes.len(),
            nodes.join(", ")
        ));
    };
    let r = a
        .iq(
            "set",
            Some(domain),
            Element::new("command", NS_COMMANDS)
                .with_attr("node", *node)
                .with_attr("action", "execute"),
        )
        .await
        .map_err(|e| format!("executing command {node}: {e}"))?;
    let status = r
        .child("command", NS_COMMANDS)
        .and_then(|c| c.attr("status"))
        .unwrap_or("");
    if status != "completed" {
        return Err(format!(
            "command {node} of {domain} ended with status {status:?}, not completed"
        ));
    }
    Ok(format!(
        "{domain} lists {} command(s); {node} executed to completed",
        nodes.len()
    ))
}

async fn registered(a: &mut Party, domain: &str) -> Result<String, String> {
    let r = a
        .iq("get", None, Element::new("query", NS_REGISTER))
        .await?;
    let q = r.child("query", NS_REGISTER);
    if q.and_then(|q| q.child("registered", NS_REGISTER)).is_none() {
        return Err(format!(
            "jabber:iq:register get of the logged-in account on {domain} has no <registered/>"
        ));
    }
    let user = q
        .and_then(|q| q.child("username", NS_REGISTER))
        .map(|u| u.text.clone())
        .unwrap_or_default();
    Ok(format!(
        "jabber:iq:register get of the account answered <registered/> (username {user:?}); nothing changed"
    ))
}

async fn rosterver(a: &mut Party) -> Result<String, String> {
    let r = a
        .iq(
            "get",
            None,
            Element::new("query", NS_ROSTER).with_attr("ver", ""),
        )
        .await?;
    let Some(ver) = r
        .child("query", NS_ROSTER)
        .and_then(|q| q.attr("ver"))
        .map(str::to_string)
    else {
        return Err("a roster get with ver='' was answered without a ver".into());
    };
    let again = a
        .iq(
            "get",
            None,
            Element::new("query", NS_ROSTER).with_attr("ver", ver.clone()),
        )
        .await?;
    match again.child("query", NS_ROSTER) {
        None => Ok(format!(
            "a roster get with ver='' returned ver {ver:?}; asking again with it returned an empty result"
        )),
        Some(q) if !q.children.is_empty() => Err(format!(
            "a roster get with the current ver {ver:?} returned the whole roster again ({} item(s))",
            q.children.len()
        )),
        Some(q) => Err(format!(
            "a roster get with the current ver {ver:?} returned a roster (ver {:?}) instead of an empty result",
            q.attr("ver")
        )),
    }
}

fn vcard4_get() -> Element {
    Element::new("vcard", NS_VCARD4)
}

async fn vcard4(a: &mut Party, out: &mut Out) -> Result<String, String> {
    let bare = a.bare.clone();
    match a.iq("get", Some(&bare), vcard4_get()).await {
        Ok(r) if r.child("vcard", NS_VCARD4).is_some() => {
            return Ok(format!(
                "{bare} has a vCard4: read through the urn:ietf:params:xml:ns:vcard-4.0 IQ (not overwritten, nothing published)"
            ));
        }
        Ok(_) => return Err(format!("the vCard4 IQ of {bare} answered without <vcard/>")),
        Err(e) if e.contains("<item-not-found/>") => {}
        Err(e) => return Err(format!("reading the vCard4 of {bare}: {e}")),
    }
    let mark = format!("pfe check {}", nonce());
    let card = Element::new("vcard", NS_VCARD4).with_child(
        Element::new("fn", NS_VCARD4)
            .with_child(Element::new("text", NS_VCARD4).with_text(mark.clone())),
    );
    a.iq("set", None, card)
        .await
        .map_err(|e| format!("publishing a vCard4 (account had none): {e}"))?;
    let back = a.iq("get", Some(&bare), vcard4_get()).await;
    let delete = a
        .iq(
            "set",
            None,
            Element::new("pubsub", NS_PUBSUB_OWNER)
                .with_child(Element::new("delete", NS_PUBSUB_OWNER).with_attr("node", VCARD4_NODE)),
        )
        .await;
    if let Err(e) = delete {
        out.leftovers.push(format!(
            "the vCard4 (PEP node {VCARD4_NODE}) of {bare}: {e}"
        ));
    }
    let got = back.map_err(|e| format!("reading back the vCard4 just published: {e}"))?;
    let same = got
        .child("vcard", NS_VCARD4)
        .and_then(|v| v.child("fn", NS_VCARD4))
        .and_then(|f| f.child("text", NS_VCARD4))
        .is_some_and(|t| t.text == mark);
    if !same {
        return Err(format!(
            "a vCard4 was published for {bare}, but reading it back did not return it"
        ));
    }
    Ok(format!(
        "{bare} had no vCard4: one was published and read back through the IQ (PEP node {VCARD4_NODE}), then removed"
    ))
}

#[cfg(test)]
mod tests {
    use super::valid_tzo;

    #[test]
    fn tzo_forms() {
        for ok in ["Z", "+00:00", "-05:30", "+14:00"] {
            assert!(valid_tzo(ok), "{ok}");
        }
        for bad in ["", "UTC", "+0000", "05:00", "+5:00"] {
            assert!(!valid_tzo(bad), "{bad}");
        }
    }
}
