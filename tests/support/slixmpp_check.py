#!/usr/bin/env python3
"""The XMPP session of `pfe check`, done with slixmpp (benchmark baseline).

usage: slixmpp_check.py JID PASSWORD HOST PORT CAFILE

Same session as pfe's: STARTTLS (CA-verified), SASL (SCRAM, best offered),
bind; then at once disco#info of the domain and of the account,
disco#items of the domain, XEP-0215 external services and the roster; then
at once disco#info and disco#items of every item; a public room's
disco#info when a MUC service lists one; an XEP-0363 upload slot from the
upload service; close. (pfe check additionally probes the HTTP endpoints, a
cleartext stream and direct TLS, concurrently.)

Prints one line per query and "DONE <n> features"; exits 0 on success,
1 on failure, 2 on timeout (20 s).
"""
import asyncio
import sys
import xml.etree.ElementTree as ET

import slixmpp

NS_INFO = "http://jabber.org/protocol/disco#info"
NS_ITEMS = "http://jabber.org/protocol/disco#items"


def query(xmpp, to, ns, tag="query", attrs=None):
    iq = xmpp.Iq()
    iq["type"] = "get"
    if to:
        iq["to"] = to
    iq.append(ET.Element(f"{{{ns}}}{tag}", attrs or {}))
    return iq.send(timeout=10)


async def tolerant(fut):
    try:
        return await fut
    except (slixmpp.exceptions.IqError, slixmpp.exceptions.IqTimeout) as e:
        return e


def features(iq):
    if isinstance(iq, Exception):
        return []
    return [f.get("var") for f in iq.xml.iter(f"{{{NS_INFO}}}feature")]


def identities(iq):
    if isinstance(iq, Exception):
        return []
    return [(i.get("category"), i.get("type")) for i in iq.xml.iter(f"{{{NS_INFO}}}identity")]


def items(iq):
    if isinstance(iq, Exception):
        return []
    return [i.get("jid") for i in iq.xml.iter(f"{{{NS_ITEMS}}}item") if not i.get("node")]


async def session(xmpp, domain, bare):
    info, account, disco_items, extdisco, roster = await asyncio.gather(
        tolerant(query(xmpp, domain, NS_INFO)),
        tolerant(query(xmpp, bare, NS_INFO)),
        tolerant(query(xmpp, domain, NS_ITEMS)),
        tolerant(query(xmpp, domain, "urn:xmpp:extdisco:2", "services")),
        tolerant(query(xmpp, None, "jabber:iq:roster")),
    )
    n = len(features(info)) + len(features(account))
    print(f"domain {len(features(info))} features, account {len(features(account))}, "
          f"extdisco {'error' if isinstance(extdisco, Exception) else 'ok'}, "
          f"roster {'error' if isinstance(roster, Exception) else 'ok'}")
    jids = items(disco_items)
    answers = await asyncio.gather(*[
        tolerant(query(xmpp, j, ns)) for j in jids for ns in (NS_INFO, NS_ITEMS)
    ])
    room = None
    upload = None
    for k, jid in enumerate(jids):
        item_info, item_items = answers[2 * k], answers[2 * k + 1]
        n += len(features(item_info))
        print(f"item {jid}: {len(features(item_info))} features")
        if ("conference", "text") in identities(item_info) and room is None:
            room = next((r for r in items(item_items) if "@" in r), None)
        if ("store", "file") in identities(item_info):
            upload = jid
    if room:
        n += len(features(await tolerant(query(xmpp, room, NS_INFO))))
    if upload:
        slot = await tolerant(query(xmpp, upload, "urn:xmpp:http:upload:0", "request",
                                    {"filename": "bench.txt", "size": "42",
                                     "content-type": "text/plain"}))
        print(f"upload slot from {upload}: {'error' if isinstance(slot, Exception) else 'ok'}")
    return n


async def main() -> int:
    jid, password, host, port, cafile = sys.argv[1:6]
    bare = slixmpp.JID(jid).bare
    domain = slixmpp.JID(jid).domain
    xmpp = slixmpp.ClientXMPP(jid, password)
    xmpp.ca_certs = cafile
    xmpp.enable_direct_tls = False
    xmpp.enable_starttls = True
    xmpp.enable_plaintext = False
    done: asyncio.Future = asyncio.get_running_loop().create_future()

    async def on_start(_event):
        try:
            n = await session(xmpp, domain, bare)
            if not done.done():
                done.set_result(("ok", n))
        except Exception as e:  # noqa: BLE001 - report any failure
            if not done.done():
                done.set_result(("fail", repr(e)))

    def on_fail(event):
        if not done.done():
            done.set_result(("fail", str(event)))

    xmpp.add_event_handler("session_start", on_start)
    xmpp.add_event_handler("failed_all_auth", on_fail)
    xmpp.add_event_handler("connection_failed", on_fail)
    xmpp.connect(host, int(port))
    try:
        status, detail = await asyncio.wait_for(done, 20)
    except asyncio.TimeoutError:
        print("TIMEOUT", flush=True)
        return 2
    await xmpp.disconnect(wait=1.0)
    if status == "ok":
        print(f"DONE {detail} features", flush=True)
        return 0
    print(f"FAILED {detail}", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
