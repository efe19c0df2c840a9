#!/usr/bin/env python3
"""Cross-check: log into an account with slixmpp (STARTTLS, CA-verified).

usage: slixmpp_login.py JID PASSWORD HOST PORT CAFILE [MECH]
Prints "SESSION_STARTED <full jid>" and exits 0 on success; exits 1 on
auth failure, 2 on timeout. Bounded: gives up after 20 s.
"""
import asyncio
import sys

import slixmpp


async def main() -> int:
    jid, password, host, port, cafile = sys.argv[1:6]
    mech = sys.argv[6] if len(sys.argv) > 6 else None
    xmpp = slixmpp.ClientXMPP(jid, password, sasl_mech=mech)
    xmpp.ca_certs = cafile
    xmpp.enable_direct_tls = False
    xmpp.enable_starttls = True
    xmpp.enable_plaintext = False
    done: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_start(_event):
        xmpp.send_presence()
        if not done.done():
            done.set_result(("ok", str(xmpp.boundjid)))

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
    if status == "ok":
        print(f"SESSION_STARTED {detail}", flush=True)
        await xmpp.disconnect(wait=1.0)
        return 0
    print(f"FAILED {detail}", flush=True)
    xmpp.disconnect(wait=0.1)
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
