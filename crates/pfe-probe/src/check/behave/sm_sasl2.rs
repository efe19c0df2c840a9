//! Stream resumption inside SASL2 (XEP-0198 over XEP-0388, Prosody's
//! mod_sasl2_sm): a resource of its own enables SM with resumption, sends
//! its presence and a message to itself and reads both without
//! acknowledging anything, and its TCP
//! connection is cut without `</stream>`. A new connection authenticates
//! with SASL2 `<authenticate>` carrying `<resume xmlns='urn:xmpp:sm:3'/>`:
//! the `<success/>` must hold `<resumed/>`, and the message must be
//! redelivered. Independent of the other probes (it runs beside them).

use super::{NS_CLIENT, body_is, message, nonce, redelivered_before_ack};
use crate::xmpp::{Client, ClientConfig, Element, Error, NS_SM};

/// `None`: the server offers no SM inline in SASL2 (not tried).
pub(super) async fn run(cfg: &ClientConfig) -> Option<Result<String, String>> {
    let mut scfg = cfg.clone();
    scfg.resource = Some(format!("pfe-sm2-{}", nonce()));
    let s = match Client::login(scfg.clone(), None).await {
        Ok(s) => s,
        Err(e) => return Some(Err(format!("logging in: {e}"))),
    };
    let offered = s
        .features_post_tls()
        .is_some_and(|f| f.has_sasl2_inline(NS_SM));
    if !offered {
        s.close().await;
        return None;
    }
    Some(inner(scfg, s).await)
}

async fn inner(scfg: ClientConfig, mut s: Client) -> Result<String, String> {
    let e = |e: Error| e.to_string();
    let full = s.bound_jid().unwrap_or_default().to_string();
    s.send(&Element::new("enable", NS_SM).with_attr("resume", "true"))
        .await
        .map_err(e)?;
    let enabled = s.recv().await.map_err(e)?;
    let Some(previd) = enabled
        .attr("id")
        .filter(|_| enabled.is("enabled", NS_SM))
        .filter(|_| matches!(enabled.attr("resume"), Some("true" | "1")))
        .map(str::to_string)
    else {
        s.close().await;
        return Err(format!(
            "<enable resume='true'/> was answered with <{}/>, not a resumable <enabled/>",
            enabled.name
        ));
    };
    // Available (our own presence comes back), then a message to ourselves:
    // two stanzas left unacknowledged.
    s.send(&Element::new("presence", NS_CLIENT))
        .await
        .map_err(e)?;
    let body = format!("pfe check sm sasl2 {}", nonce());
    s.send(&message(&full, &format!("sm2-{}", nonce()), &body))
        .await
        .map_err(e)?;
    loop {
        let el = s.recv().await.map_err(e)?;
        if body_is(&el, &body) {
            break;
        }
    }
    drop(s); // no </stream>: the session hibernates with the message unacked
    let mut r = Client::connect(scfg).await.map_err(e)?;
    if !r.is_encrypted() {
        r.starttls().await.map_err(e)?;
    }
    let resume = Element::new("resume", NS_SM)
        .with_attr("previd", previd)
        // Nothing acknowledged: everything since <enable/> is to come again.
        .with_attr("h", "0");
    let success = match r.authenticate_sasl2(vec![resume]).await {
        Ok(s) => s,
        Err(err) => {
            r.close().await;
            return Err(format!(
                "SASL2 <authenticate/> with inline <resume/>: {err}"
            ));
        }
    };
    let Some(resumed) = success.child("resumed", NS_SM) else {
        let why = success
            .child("failed", NS_SM)
            .map(|f| {
                let cond = f
                    .children
                    .iter()
                    .map(|c| c.name.clone())
                    .next()
                    .unwrap_or_default();
                format!("<failed/> <{cond}/>")
            })
            .unwrap_or_else(|| "neither <resumed/> nor <failed/>".into());
        r.close().await;
        return Err(format!(
            "SASL2 succeeded, but the inline <resume/> of the cut session was answered with {why}"
        ));
    };
    let h = resumed.attr("h").unwrap_or("?").to_string();
    let jid = r.bound_jid().unwrap_or_default().to_string();
    let redelivered = redelivered_before_ack(&mut r, &body).await.map_err(e)?;
    r.close().await;
    if !redelivered {
        return Err(
            "the session resumed inside SASL2 (<resumed/>), but the unacknowledged message was not redelivered".into(),
        );
    }
    Ok(format!(
        "a session cut without closing resumed inside SASL2 <success/> (<resumed h='{h}'/>, as {jid}) and redelivered the unacknowledged message"
    ))
}
