//! User avatars through PEP and vcard-temp (XEP-0398 conversion, XEP-0153,
//! Prosody's mod_vcard_legacy): a tiny PNG published as
//! `urn:xmpp:avatar:data` + `urn:xmpp:avatar:metadata` must come back from
//! a vcard-temp GET of the account as `<PHOTO>` with the same bytes, and
//! the account's next presence must carry its hash
//! (`<x xmlns='vcard-temp:x:update'><photo/>`). An account that already has
//! an avatar is not touched: its own avatar is compared instead. What the
//! probe published is removed again (nodes it created are deleted).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha1::{Digest, Sha1};

use super::{NS_CLIENT, NS_PUBSUB, NS_PUBSUB_OWNER, Out, Party};
use crate::xmpp::Element;

const NS_DATA: &str = "urn:xmpp:avatar:data";
const NS_META: &str = "urn:xmpp:avatar:metadata";
const NS_VCARD: &str = "vcard-temp";
const NS_UPDATE: &str = "vcard-temp:x:update";
/// A 1×1 transparent PNG (68 bytes).
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// What the probe saw: vcard-temp answered (`vcard`, XEP-0054) and the
/// avatar conversion (`avatar`, XEP-0398/0153).
pub(super) struct Seen {
    pub(super) vcard: Result<String, String>,
    pub(super) avatar: Result<String, String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn items(node: &str) -> Element {
    Element::new("pubsub", NS_PUBSUB)
        .with_child(Element::new("items", NS_PUBSUB).with_attr("node", node))
}

fn publish(node: &str, id: &str, payload: Element) -> Element {
    Element::new("pubsub", NS_PUBSUB).with_child(
        Element::new("publish", NS_PUBSUB)
            .with_attr("node", node)
            .with_child(
                Element::new("item", NS_PUBSUB)
                    .with_attr("id", id)
                    .with_child(payload),
            ),
    )
}

/// The items of `node` (`None`: the node does not exist).
async fn node_items(a: &mut Party, node: &str) -> Result<Option<Vec<Element>>, String> {
    match a.iq("get", None, items(node)).await {
        Ok(r) => Ok(Some(
            r.child("pubsub", NS_PUBSUB)
                .and_then(|p| p.child("items", NS_PUBSUB))
                .map(|i| i.children_named("item", NS_PUBSUB).cloned().collect())
                .unwrap_or_default(),
        )),
        Err(e) if e.contains("<item-not-found/>") => Ok(None),
        Err(e) => Err(e),
    }
}

/// The current avatar of the metadata items: (id, type), if one is set.
fn current(meta: &[Element]) -> Option<(String, String)> {
    let info = meta
        .last()?
        .child("metadata", NS_META)?
        .children_named("info", NS_META)
        .find(|i| i.attr("url").is_none())?;
    Some((
        info.attr("id")?.to_string(),
        info.attr("type").unwrap_or("").to_string(),
    ))
}

pub(super) async fn run(a: &mut Party, b: &mut Party, out: &mut Out) -> Seen {
    let fail = |why: String| Seen {
        vcard: Err(why.clone()),
        avatar: Err(why),
    };
    let (meta, data) = match (node_items(a, NS_META).await, node_items(a, NS_DATA).await) {
        (Ok(m), Ok(d)) => (m, d),
        (Err(e), _) | (_, Err(e)) => return fail(format!("reading the avatar nodes: {e}")),
    };
    let existing = meta.as_deref().and_then(current);
    let bytes = B64.decode(PNG_B64).expect("a valid constant");
    let (id, kind, ours) = match &existing {
        Some((id, kind)) => (id.clone(), kind.clone(), false),
        None => (hex(&Sha1::digest(&bytes)), "image/png".to_string(), true),
    };
    let bare = a.bare.clone();
    if ours {
        let data_item = Element::new("data", NS_DATA).with_text(PNG_B64);
        let meta_item = Element::new("metadata", NS_META).with_child(
            Element::new("info", NS_META)
                .with_attr("id", id.clone())
                .with_attr("bytes", bytes.len().to_string())
                .with_attr("type", kind.clone())
                .with_attr("width", "1")
                .with_attr("height", "1"),
        );
        let r = async {
            a.iq("set", None, publish(NS_DATA, &id, data_item)).await?;
            a.iq("set", None, publish(NS_META, &id, meta_item)).await
        }
        .await;
        if let Err(e) = r {
            cleanup(a, &id, meta.is_some(), data.is_some(), out).await;
            return fail(format!("publishing an avatar to {NS_DATA}/{NS_META}: {e}"));
        }
    }
    // vcard-temp of the account must show it.
    let seen = match a.iq("get", None, Element::new("vCard", NS_VCARD)).await {
        Err(e) => Seen {
            vcard: Err(format!("vcard-temp GET of {bare}: {e}")),
            avatar: Err(format!("vcard-temp GET of {bare}: {e}")),
        },
        Ok(r) => {
            let photo = r
                .child("vCard", NS_VCARD)
                .and_then(|v| v.child("PHOTO", NS_VCARD));
            let binval = photo
                .and_then(|p| p.child("BINVAL", NS_VCARD))
                .map(|b| b.text.split_whitespace().collect::<String>());
            let got = binval.as_deref().and_then(|b| B64.decode(b).ok());
            let vcard = Ok(format!("vcard-temp GET of {bare} answered with a <vCard/>"));
            let avatar = match got {
                Some(g) if hex(&Sha1::digest(&g)) == id => {
                    // XEP-0153: the next presence carries the hash.
                    match photo_in_presence(a, b, &id).await {
                        Ok(()) => Ok(format!(
                            "{} avatar {id} ({kind}, PEP {NS_META}) came back from vcard-temp as <PHOTO> with the same bytes, and {}'s presence carried <photo>{id}</photo>",
                            if ours { "a published" } else { "the account's" },
                            a.full
                        )),
                        Err(e) => Err(format!("avatar {id} is in vcard-temp, but {e}")),
                    }
                }
                Some(g) => Err(format!(
                    "vcard-temp <PHOTO> of {bare} holds {} bytes with SHA-1 {}, not the PEP avatar {id}",
                    g.len(),
                    hex(&Sha1::digest(&g))
                )),
                None if photo.is_some() => Err(format!(
                    "vcard-temp of {bare} has a <PHOTO> without the avatar's bytes (BINVAL)"
                )),
                None => Err(format!(
                    "the PEP avatar {id} of {bare} is not in its vcard-temp (no <PHOTO>: no conversion)"
                )),
            };
            Seen { vcard, avatar }
        }
    };
    if ours {
        cleanup(a, &id, meta.is_some(), data.is_some(), out).await;
    }
    seen
}

/// A presence from A must reach B with `<photo>id</photo>`.
async fn photo_in_presence(a: &mut Party, b: &mut Party, id: &str) -> Result<(), String> {
    a.send(Element::new("presence", NS_CLIENT)).await?;
    a.barrier().await?;
    b.barrier().await?;
    let afull = a.full.clone();
    let p = b.take(|e| e.is("presence", NS_CLIENT) && e.attr("from") == Some(afull.as_str()));
    b.inbox.retain(|e| !e.is("presence", NS_CLIENT));
    match p {
        None => Err(format!("a presence of {afull} did not reach {}", b.full)),
        Some(p) => {
            let photo = p
                .child("x", NS_UPDATE)
                .and_then(|x| x.child("photo", NS_UPDATE))
                .map(|ph| ph.text.trim().to_string());
            match photo {
                Some(h) if h == id => Ok(()),
                other => Err(format!(
                    "a presence of {afull} carried <photo> {other:?}, not {id} (XEP-0153)"
                )),
            }
        }
    }
}

/// Remove what the probe published: nodes it created are deleted, in a
/// node that existed before its item is retracted (and an empty
/// `<metadata/>` says "no avatar" again).
async fn cleanup(a: &mut Party, id: &str, meta_existed: bool, data_existed: bool, out: &mut Out) {
    let bare = a.bare.clone();
    for (node, existed) in [(NS_META, meta_existed), (NS_DATA, data_existed)] {
        let r = if existed {
            let r = a
                .iq(
                    "set",
                    None,
                    Element::new("pubsub", NS_PUBSUB).with_child(
                        Element::new("retract", NS_PUBSUB)
                            .with_attr("node", node)
                            .with_child(Element::new("item", NS_PUBSUB).with_attr("id", id)),
                    ),
                )
                .await;
            if r.is_ok() && node == NS_META {
                a.iq(
                    "set",
                    None,
                    publish(NS_META, "current", Element::new("metadata", NS_META)),
                )
                .await
            } else {
                r
            }
        } else {
            a.iq(
                "set",
                None,
                Element::new("pubsub", NS_PUBSUB_OWNER)
                    .with_child(Element::new("delete", NS_PUBSUB_OWNER).with_attr("node", node)),
            )
            .await
        };
        if let Err(e) = r
            && !e.contains("<item-not-found/>")
        {
            out.leftovers
                .push(format!("avatar {id} in PEP node {node} of {bare}: {e}"));
        }
    }
}
