//! Invitations (XEP-0401 with Prosody's mod_invites_adhoc and
//! mod_invites_register): the account creates an account invite with the
//! ad-hoc command `urn:xmpp:invite#create-account` (admins only); the
//! token is redeemed on a second, unauthenticated
//! stream (`<preauth xmlns='urn:xmpp:pars:0'/>`, then XEP-0077 in-band
//! registration) for a throw-away account, which logs in and removes itself
//! (XEP-0077 `<remove/>`).

use super::{NS_DATA, Out, Party, nonce};
use crate::xmpp::{Client, ClientConfig, Element, Error, IqType, NS_REGISTER};

const NS_COMMANDS: &str = "http://jabber.org/protocol/commands";
const NS_PARS: &str = "urn:xmpp:pars:0";
const NODE_ACCOUNT: &str = "urn:xmpp:invite#create-account";

/// The token of an invite URI (`...;preauth=TOKEN;...`), and whether it
/// allows registration (`register` action, or `ibr=y`).
fn token_of(uri: &str) -> Option<(String, bool)> {
    let query = uri.split_once('?')?.1;
    let mut parts = query.split(';');
    let action = parts.next()?;
    let mut token = None;
    let mut ibr = false;
    for p in parts {
        match p.split_once('=') {
            Some(("preauth", t)) if !t.is_empty() => token = Some(t.to_string()),
            Some(("ibr", "y")) => ibr = true,
            _ => {}
        }
    }
    Some((token?, action == "register" || ibr))
}

/// Run one ad-hoc command; the `uri` field of its result form.
async fn create(a: &mut Party, node: &str) -> Result<String, String> {
    let domain = a.domain.clone();
    let r = a
        .iq(
            "set",
            Some(&domain),
            Element::new("command", NS_COMMANDS)
                .with_attr("node", node)
                .with_attr("action", "execute"),
        )
        .await?;
    let cmd = r
        .child("command", NS_COMMANDS)
        .ok_or_else(|| format!("the ad-hoc command {node} answered without <command/>"))?;
    if let Some(note) = cmd
        .child("note", NS_COMMANDS)
        .filter(|n| n.attr("type") == Some("error"))
    {
        return Err(format!("the ad-hoc command {node} failed: {}", note.text));
    }
    cmd.child("x", NS_DATA)
        .and_then(|x| {
            x.children_named("field", NS_DATA)
                .find(|f| f.attr("var") == Some("uri"))
        })
        .and_then(|f| f.child("value", NS_DATA))
        .map(|v| v.text.trim().to_string())
        .ok_or_else(|| format!("the ad-hoc command {node} gave no invite URI"))
}

/// `None`: the account may not create account invites (it is no admin):
/// not tried. A contact invite (`urn:xmpp:invite#invite`, open to every
/// user) is not made instead: unless `allow_user_invites` is on it cannot
/// register anyone, and its token would stay until `invite_expiry`.
pub(super) async fn run(
    cfg: &ClientConfig,
    a: &mut Party,
    out: &mut Out,
) -> Option<Result<String, String>> {
    let uri = match create(a, NODE_ACCOUNT).await {
        Ok(uri) => uri,
        Err(e) if e.contains("<forbidden/>") || e.contains("<not-authorized/>") => return None,
        Err(e) => return Some(Err(format!("creating an account invite: {e}"))),
    };
    let token = match token_of(&uri) {
        Some((token, true)) => token,
        _ => {
            out.expires.push(format!(
                "an account invite of {} (until invite_expiry passes)",
                a.bare
            ));
            return Some(Err(format!(
                "the invite URI {uri:?} carries no registration token (register;preauth=...)"
            )));
        }
    };
    let r = redeem(cfg, &token).await;
    if r.is_err() {
        out.expires.push(format!(
            "an unredeemed account invite of {} (until invite_expiry passes)",
            a.bare
        ));
    }
    Some(match r {
        Ok(Redeemed {
            jid,
            removed: Ok(()),
        }) => Ok(format!(
            "an invite from the ad-hoc command {NODE_ACCOUNT} was redeemed (<preauth/>, then in-band registration) for {jid}, which logged in and removed itself"
        )),
        Ok(Redeemed {
            jid,
            removed: Err(e),
        }) => {
            out.leftovers
                .push(format!("the account {jid} registered with an invite: {e}"));
            Ok(format!(
                "an invite from the ad-hoc command {NODE_ACCOUNT} was redeemed for {jid}, which logged in (removing it failed)"
            ))
        }
        Err(e) => Err(e),
    })
}

struct Redeemed {
    jid: String,
    removed: Result<(), String>,
}

/// A second, unauthenticated stream: `<preauth/>` with the token, then a
/// registration; the new account logs in and removes itself.
async fn redeem(cfg: &ClientConfig, token: &str) -> Result<Redeemed, String> {
    let e = |e: Error| e.to_string();
    let domain = cfg.split_jid().map_err(e)?.1.to_string();
    let mut c = Client::connect(cfg.clone()).await.map_err(e)?;
    if !c.is_encrypted() {
        c.starttls().await.map_err(e)?;
    }
    c.iq(
        IqType::Set,
        None,
        Element::new("preauth", NS_PARS).with_attr("token", token),
    )
    .await
    .map_err(|err| format!("the invite token was refused: {err}"))?;
    let user = format!("pfe-invite-{}", nonce());
    let password = format!("{}{}", nonce(), nonce());
    c.iq(
        IqType::Set,
        Some(&domain),
        Element::new("query", NS_REGISTER)
            .with_child(Element::new("username", NS_REGISTER).with_text(user.clone()))
            .with_child(Element::new("password", NS_REGISTER).with_text(password.clone())),
    )
    .await
    .map_err(|err| format!("registering with a valid invite token was refused: {err}"))?;
    c.close().await;
    let jid = format!("{user}@{domain}");
    let mut rcfg = cfg.clone();
    rcfg.jid = jid.clone();
    rcfg.password = password;
    rcfg.resource = Some(format!("pfe-invite-{}", nonce()));
    let mut rc = Client::login(rcfg, None)
        .await
        .map_err(|err| format!("{jid} was registered with the invite, but cannot log in: {err}"))?;
    let q = Element::new("query", NS_REGISTER).with_child(Element::new("remove", NS_REGISTER));
    // The server may close the stream right after removing.
    let removed = match rc.iq(IqType::Set, None, q).await {
        Ok(_) | Err(Error::Closed { .. } | Error::StreamError { .. }) => Ok(()),
        Err(err) => Err(err.to_string()),
    };
    rc.close().await;
    Ok(Redeemed { jid, removed })
}

#[cfg(test)]
mod tests {
    use super::token_of;

    #[test]
    fn invite_uris() {
        assert_eq!(
            token_of("xmpp:localhost?register;preauth=abc123"),
            Some(("abc123".into(), true))
        );
        assert_eq!(
            token_of("xmpp:alice@localhost?roster;preauth=t;ibr=y"),
            Some(("t".into(), true))
        );
        assert_eq!(
            token_of("xmpp:alice@localhost?roster;preauth=t"),
            Some(("t".into(), false))
        );
        assert_eq!(token_of("xmpp:localhost?register"), None);
        assert_eq!(token_of("https://example.org/"), None);
    }
}
