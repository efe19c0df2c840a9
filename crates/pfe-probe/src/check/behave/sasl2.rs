//! SASL2 logins of their own, beside the other probes: XEP-0388 SASL2 with
//! SCRAM (server signature checked), XEP-0386 Bind2 inline (the
//! `<success/>` names a full JID and `<bound/>`, and that session answers
//! a ping), XEP-0484 FAST (a token requested inline in that login, used on
//! a new stream as `HT-SHA-256-NONE` with `invalidate='true'`, and then
//! refused on a third stream: invalidated), and XEP-0440 channel binding
//! (SCRAM-*-PLUS bound with `tls-exporter`, when the server lists it, on a
//! stream of its own). Each result goes under its key; a key missing
//! means the server offered nothing to try.

use super::{NS_PING, Results, nonce};
use crate::xmpp::{
    Client, ClientConfig, Element, Error, IqType, NS_BIND2, NS_FAST, NS_SASL2, Sasl2Credential,
    Sasl2Login,
};

const NS_SASL_CB: &str = "urn:xmpp:sasl-cb:0";
const FAST_MECH: &str = "HT-SHA-256-NONE";

/// A UUID-shaped user-agent id (FAST keys its tokens by it).
fn agent_id() -> String {
    let n = format!("{}{}{}", nonce(), nonce(), nonce());
    format!(
        "{}-{}-4{}-8{}-{}",
        &n[0..8],
        &n[8..12],
        &n[13..16],
        &n[17..20],
        &n[20..32]
    )
}

async fn stream(cfg: &ClientConfig) -> Result<Client, String> {
    let mut c = Client::connect(cfg.clone())
        .await
        .map_err(|e| e.to_string())?;
    if !c.is_encrypted() {
        c.starttls().await.map_err(|e| e.to_string())?;
    }
    Ok(c)
}

/// The channel-binding types the features list (XEP-0440).
fn cb_types(c: &Client) -> Vec<String> {
    c.features()
        .raw
        .child("sasl-channel-binding", NS_SASL_CB)
        .map(|l| {
            l.children
                .iter()
                .filter_map(|b| b.attr("type").map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) async fn run(cfg: &ClientConfig) -> Results {
    let mut out = Results::new();
    let mut cfg = cfg.clone();
    cfg.resource = None;
    let first = match stream(&cfg).await {
        Ok(c) => c,
        Err(e) => {
            out.insert("sasl2".into(), Err(format!("opening a stream: {e}")));
            return out;
        }
    };
    let f = first.features().clone();
    if f.sasl2_mechanisms.is_empty() {
        first.close().await;
        return out;
    }
    let plus = f.sasl2_mechanisms.iter().any(|m| m.ends_with("-PLUS"));
    let (main, cb) = tokio::join!(Box::pin(login(first, &cfg, &mut out)), async {
        if plus {
            Some(Box::pin(channel_binding(&cfg)).await)
        } else {
            None
        }
    });
    if let Some(cb) = cb {
        out.insert("channel_binding".into(), cb);
    }
    if let Some((token, agent)) = main {
        Box::pin(fast(&cfg, &token, &agent, &mut out)).await;
    }
    out
}

/// The SASL2 + Bind2 login; returns a FAST token and its agent id.
async fn login(mut c: Client, cfg: &ClientConfig, out: &mut Results) -> Option<(String, String)> {
    let f = c.features().clone();
    let bind2 = f.has_sasl2_inline(NS_BIND2);
    let want_fast = f.raw.child("authentication", NS_SASL2).is_some_and(|a| {
        a.child("inline", NS_SASL2)
            .and_then(|i| i.child("fast", NS_FAST))
            .is_some_and(|fe| fe.children.iter().any(|m| m.text.trim() == FAST_MECH))
    });
    let tag = format!("pfe-check-{}", nonce());
    let mut inline = Vec::new();
    if bind2 {
        inline.push(
            Element::new("bind", NS_BIND2)
                .with_child(Element::new("tag", NS_BIND2).with_text(tag.clone())),
        );
    }
    if want_fast {
        inline.push(Element::new("request-token", NS_FAST).with_attr("mechanism", FAST_MECH));
    }
    let agent = agent_id();
    let success = match c
        .authenticate_sasl2_with(Sasl2Login {
            inline,
            agent_id: Some(agent.clone()),
            credential: Sasl2Credential::Password,
        })
        .await
    {
        Ok(s) => s,
        Err(e) => {
            let e = format!("SASL2 <authenticate/>: {e}");
            if bind2 {
                out.insert("bind2".into(), Err(format!("not reached: {e}")));
            }
            if want_fast {
                out.insert("fast".into(), Err(format!("not reached: {e}")));
            }
            out.insert("sasl2".into(), Err(e));
            c.close().await;
            return None;
        }
    };
    let mech = c.mechanism().map_or("PLAIN", |m| m.name());
    let jid = c.bound_jid().unwrap_or_default().to_string();
    out.insert(
        "sasl2".into(),
        Ok(format!(
            "SASL2 <authenticate mechanism='{mech}'/> succeeded (server signature in <additional-data/> verified) as {jid}"
        )),
    );
    if bind2 {
        let bound = success.child("bound", NS_BIND2).is_some();
        let domain = cfg
            .split_jid()
            .map(|(_, d)| d.to_string())
            .unwrap_or_default();
        let r = if !bound || !jid.contains('/') {
            Err(format!(
                "SASL2 with inline <bind xmlns='{NS_BIND2}'/> succeeded, but {}",
                if bound {
                    format!("the authorization identifier {jid:?} is not a full JID")
                } else {
                    "the <success/> has no <bound/>".into()
                }
            ))
        } else {
            match c
                .iq(IqType::Get, Some(&domain), Element::new("ping", NS_PING))
                .await
            {
                Ok(_) => Ok(format!(
                    "Bind2 inline in SASL2 bound {jid} (<bound/>, tag {tag}); that session answered a ping without a separate bind"
                )),
                Err(e) => Err(format!(
                    "Bind2 named {jid}, but a ping on that session failed: {e}"
                )),
            }
        };
        out.insert("bind2".into(), r);
    }
    let token = success
        .child("token", NS_FAST)
        .and_then(|t| t.attr("token"))
        .map(str::to_string);
    c.close().await;
    if want_fast && token.is_none() {
        out.insert(
            "fast".into(),
            Err(format!(
                "a FAST token ({FAST_MECH}) was requested inline, but the <success/> carried no <token/>"
            )),
        );
    }
    token.filter(|_| want_fast).map(|t| (t, agent))
}

/// Log in with the token (invalidating it), then see it refused.
async fn fast(cfg: &ClientConfig, token: &str, agent: &str, out: &mut Results) {
    let attempt = |invalidate: bool| async move {
        let mut c = stream(cfg).await?;
        let mut fast = Element::new("fast", NS_FAST);
        if invalidate {
            fast.set_attr("invalidate", "true");
        }
        let r = c
            .authenticate_sasl2_with(Sasl2Login {
                inline: vec![fast],
                agent_id: Some(agent.to_string()),
                credential: Sasl2Credential::Fast {
                    token: token.to_string(),
                },
            })
            .await;
        let jid = c.bound_jid().unwrap_or_default().to_string();
        c.close().await;
        Ok::<_, String>(r.map(|_| jid))
    };
    let r = match attempt(true).await {
        Err(e) => Err(format!("a new stream for the FAST login: {e}")),
        Ok(Err(e)) => Err(format!(
            "the FAST token requested in SASL2 was refused on a new stream ({FAST_MECH}): {e}"
        )),
        Ok(Ok(jid)) => match attempt(false).await {
            Ok(Err(Error::AuthFailed { .. })) => Ok(format!(
                "a FAST token requested inline logged in on a new stream ({FAST_MECH}, Responder HMAC verified) as {jid}, invalidated with it, and was refused after"
            )),
            Ok(Ok(_)) => Err(
                "the FAST token logged in, but still worked after invalidate='true' (it stays until it expires)"
                    .into(),
            ),
            Ok(Err(e)) => Err(format!(
                "the FAST token logged in; checking its invalidation failed: {e}"
            )),
            Err(e) => Err(format!(
                "the FAST token logged in; checking its invalidation failed: {e}"
            )),
        },
    };
    out.insert("fast".into(), r);
}

/// SCRAM-*-PLUS with `tls-exporter` on a stream of its own.
async fn channel_binding(cfg: &ClientConfig) -> Result<String, String> {
    let mut c = stream(cfg).await?;
    let types = cb_types(&c);
    if !types.iter().any(|t| t == "tls-exporter") {
        c.close().await;
        return Err(format!(
            "the server lists channel bindings {types:?}; pfe binds only with tls-exporter (TLS 1.3)"
        ));
    }
    let r = c
        .authenticate_sasl2_with(Sasl2Login {
            credential: Sasl2Credential::PasswordPlus,
            ..Sasl2Login::default()
        })
        .await;
    let jid = c.bound_jid().unwrap_or_default().to_string();
    c.close().await;
    match r {
        Ok(_) => Ok(format!(
            "a SASL2 login with SCRAM-*-PLUS bound to the TLS channel (tls-exporter; listed: {}) succeeded as {jid}, server signature verified",
            types.join(", ")
        )),
        Err(e) => Err(format!(
            "a SCRAM-*-PLUS login with tls-exporter channel binding failed: {e}"
        )),
    }
}
