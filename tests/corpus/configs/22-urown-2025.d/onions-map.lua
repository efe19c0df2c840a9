-- stand-in written for this corpus, not a re-creation: the onion map that the main file Includes
-- from a separate checkout (xmpp-onion-map), which is not part of the source repository.
onions_map = {
	["jabber.ccc.de"] = "okj7xc6j2szr2y75.onion";
	["riseup.net"] = "4cjw6cwpeaeppfqz.onion";
}
