//! Bookmarks (XEP-0402) and their legacy private-XML view (XEP-0048/0049
//! conversion, Prosody's mod_bookmarks): resource A publishes a bookmark
//! of a room JID of the probe's own to `urn:xmpp:bookmarks:1` with the
//! publish-options XEP-0402 requires, resource B reads it back, and
//! `jabber:iq:private` `<storage xmlns='storage:bookmarks'/>` must list the
//! same room. The item is retracted at the end, and the legacy view must
//! drop it again.

use super::{NS_CLIENT, NS_PRIVATE, NS_PUBSUB, Out, Party, form, nonce};
use crate::xmpp::Element;

const NS_BOOKMARKS: &str = "urn:xmpp:bookmarks:1";
const NS_LEGACY: &str = "storage:bookmarks";

/// What the probe saw: the XEP-0402 part (`bookmarks`) and the legacy view
/// (`bookmarks_legacy`).
pub(super) struct Seen {
    pub(super) pep: Result<String, String>,
    pub(super) legacy: Result<String, String>,
}

/// Whether the legacy private-XML bookmarks list `room`.
async fn legacy_lists(a: &mut Party, room: &str) -> Result<bool, String> {
    let got = a
        .iq(
            "get",
            None,
            Element::new("query", NS_PRIVATE).with_child(Element::new("storage", NS_LEGACY)),
        )
        .await?;
    Ok(got
        .child("query", NS_PRIVATE)
        .and_then(|q| q.child("storage", NS_LEGACY))
        .is_some_and(|s| {
            s.children
                .iter()
                .any(|c| c.name == "conference" && c.attr("jid") == Some(room))
        }))
}

/// `service`: the MUC service the room JID is made up under (the domain
/// when there is none); nobody joins it.
pub(super) async fn run(a: &mut Party, b: &mut Party, service: &str, out: &mut Out) -> Seen {
    let room = format!("pfe-check-bookmark-{}@{service}", nonce());
    let name = format!("pfe check {}", nonce());
    let publish = Element::new("pubsub", NS_PUBSUB)
        .with_child(
            Element::new("publish", NS_PUBSUB)
                .with_attr("node", NS_BOOKMARKS)
                .with_child(
                    Element::new("item", NS_PUBSUB)
                        .with_attr("id", room.clone())
                        .with_child(
                            Element::new("conference", NS_BOOKMARKS)
                                .with_attr("name", name.clone())
                                .with_attr("autojoin", "false")
                                .with_child(Element::new("nick", NS_BOOKMARKS).with_text("pfe")),
                        ),
                ),
        )
        .with_child(Element::new("publish-options", NS_PUBSUB).with_child(form(
            "http://jabber.org/protocol/pubsub#publish-options",
            &[
                ("pubsub#persist_items", "true"),
                ("pubsub#max_items", "max"),
                ("pubsub#send_last_published_item", "never"),
                ("pubsub#access_model", "whitelist"),
            ],
        )));
    if let Err(e) = a.iq("set", None, publish).await {
        let why = format!("publishing a bookmark of {room} to {NS_BOOKMARKS} failed: {e}");
        return Seen {
            pep: Err(why.clone()),
            legacy: Err(why),
        };
    }
    let bare = a.bare.clone();
    let pep = match b
        .iq(
            "get",
            Some(&bare),
            Element::new("pubsub", NS_PUBSUB).with_child(
                Element::new("items", NS_PUBSUB)
                    .with_attr("node", NS_BOOKMARKS)
                    .with_child(Element::new("item", NS_PUBSUB).with_attr("id", room.clone())),
            ),
        )
        .await
    {
        Ok(r) => {
            let seen = r
                .child("pubsub", NS_PUBSUB)
                .and_then(|p| p.child("items", NS_PUBSUB))
                .is_some_and(|i| {
                    i.children_named("item", NS_PUBSUB).any(|it| {
                        it.attr("id") == Some(room.as_str())
                            && it
                                .child("conference", NS_BOOKMARKS)
                                .is_some_and(|c| c.attr("name") == Some(name.as_str()))
                    })
                });
            if seen {
                Ok(format!(
                    "a bookmark of {room} published by {} (persist_items, max_items=max, access_model=whitelist) was read by {}",
                    a.full, b.full
                ))
            } else {
                Err(format!(
                    "the bookmark of {room} published by {} did not come back to {}",
                    a.full, b.full
                ))
            }
        }
        Err(e) => Err(format!("{} reading {NS_BOOKMARKS}: {e}", b.full)),
    };
    let legacy = match legacy_lists(a, &room).await {
        Ok(true) => Ok(format!(
            "the bookmark of {room} published to {NS_BOOKMARKS} is listed by jabber:iq:private <storage xmlns='{NS_LEGACY}'/>"
        )),
        Ok(false) => Err(format!(
            "the bookmark of {room} published to {NS_BOOKMARKS} is not in the private-XML <storage xmlns='{NS_LEGACY}'/> (no conversion)"
        )),
        Err(e) => Err(format!("reading <storage xmlns='{NS_LEGACY}'/>: {e}")),
    };
    // Retract it; the legacy view must drop it too.
    let retract = Element::new("pubsub", NS_PUBSUB).with_child(
        Element::new("retract", NS_PUBSUB)
            .with_attr("node", NS_BOOKMARKS)
            .with_attr("notify", "true")
            .with_child(Element::new("item", NS_PUBSUB).with_attr("id", room.clone())),
    );
    match a.iq("set", None, retract).await {
        Err(e) => out.leftovers.push(format!(
            "the bookmark of {room} of {bare}: retracting it failed: {e}"
        )),
        Ok(_) => {
            if legacy.is_ok() && legacy_lists(a, &room).await.unwrap_or(true) {
                out.leftovers.push(format!(
                    "the bookmark of {room} of {bare}: retracted, but still in the private-XML bookmarks"
                ));
            }
        }
    }
    // Retraction notifications to resources that asked for them.
    let from_self = |e: &Element| {
        e.is("message", NS_CLIENT)
            && e.child("event", "http://jabber.org/protocol/pubsub#event")
                .is_some()
    };
    a.inbox.retain(|e| !from_self(e));
    b.inbox.retain(|e| !from_self(e));
    Seen { pep, legacy }
}
