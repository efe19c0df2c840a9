-- re-creation of jitsi/docker-jitsi-meet:prosody/rootfs/defaults/conf.d/jitsi-meet.cfg.lua@467a149cbb3102374b7664af7549780f5c0d2494 (licence Apache-2.0); not a copy
admins = { "focus@auth.${XMPP_DOMAIN}" }

VirtualHost "${XMPP_DOMAIN}"
	authentication = "anonymous"
	ssl = {
		certificate = "/config/certs/${XMPP_DOMAIN}.crt";
		key = "/config/certs/${XMPP_DOMAIN}.key";
	}
	modules_enabled = { "bosh"; "pubsub"; "ping"; }
	c2s_require_encryption = false

VirtualHost "auth.${XMPP_DOMAIN}"
	authentication = "internal_plain"
	ssl = {
		certificate = "/config/certs/auth.${XMPP_DOMAIN}.crt";
		key = "/config/certs/auth.${XMPP_DOMAIN}.key";
	}

Component "conference.${XMPP_DOMAIN}" "muc"
	storage = "null"

Component "jitsi-videobridge.${XMPP_DOMAIN}"
	component_secret = "${JVB_COMPONENT_SECRET}"

Component "focus.${XMPP_DOMAIN}"
	component_secret = "${JICOFO_COMPONENT_SECRET}"
