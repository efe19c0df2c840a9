-- re-creation of jitsi/jitsi-meet:doc/debian/jitsi-meet-prosody/prosody.cfg.lua-jvb.example@09efaecc41e38502fc8d1162af3b26e539f1d5c4 (licence Apache-2.0); not a copy
-- Jitsi Meet's Prosody host file as the Debian package installs it: Jitsi's
-- own plugin directory, a global ssl block with a "protocol" string, TURN
-- through external_services, a main host loading Jitsi modules, MUC
-- Components that each carry their own admins list, and Components whose
-- module is one of Jitsi's *_component plugins or client_proxy.

plugin_paths = { "/usr/share/jitsi-meet/prosody-plugins/" }

muc_mapper_domain_base = "jitmeet.example.com";

external_service_secret = "__turnSecret__";
external_services = {
	{ type = "stun", host = "jitmeet.example.com", port = 3478 },
	{ type = "turn", host = "jitmeet.example.com", port = 3478, transport = "udp", secret = true, ttl = 86400, algorithm = "turn" },
	{ type = "turns", host = "jitmeet.example.com", port = 5349, transport = "tcp", secret = true, ttl = 86400, algorithm = "turn" }
};

cross_domain_bosh = false;
consider_bosh_secure = true;

ssl = {
	protocol = "tlsv1_2+";
	ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"
}

unlimited_jids = {
	"focusUser@auth.jitmeet.example.com",
	"jvb@auth.jitmeet.example.com"
}

VirtualHost "jitmeet.example.com"
	authentication = "jitsi-anonymous"
	ssl = {
		certificate = "/etc/prosody/certs/jitmeet.example.com.crt";
		key = "/etc/prosody/certs/jitmeet.example.com.key";
	}
	av_moderation_component = "avmoderation.jitmeet.example.com"
	speakerstats_component = "speakerstats.jitmeet.example.com"
	conference_duration_component = "conferenceduration.jitmeet.example.com"
	end_conference_component = "endconference.jitmeet.example.com"
	modules_enabled = {
		"bosh"; "pubsub"; "ping";
		"speakerstats"; "external_services"; "conference_duration";
		"end_conference"; "muc_lobby_rooms"; "muc_breakout_rooms";
		"av_moderation";
	}
	c2s_require_encryption = false
	lobby_muc = "lobby.jitmeet.example.com"
	breakout_rooms_muc = "breakout.jitmeet.example.com"
	main_muc = "conference.jitmeet.example.com"

Component "conference.jitmeet.example.com" "muc"
	restrict_room_creation = true
	storage = "memory"
	modules_enabled = { "muc_meeting_id"; "muc_domain_mapper"; "polls"; "muc_rate_limit"; }
	admins = { "focusUser@auth.jitmeet.example.com" }
	muc_room_locking = false
	muc_room_default_public_jids = true

Component "breakout.jitmeet.example.com" "muc"
	restrict_room_creation = true
	storage = "memory"
	modules_enabled = { "muc_meeting_id"; "muc_domain_mapper"; "muc_rate_limit"; "polls"; }
	admins = { "focusUser@auth.jitmeet.example.com" }
	muc_room_locking = false
	muc_room_default_public_jids = true

Component "internal.auth.jitmeet.example.com" "muc"
	storage = "memory"
	modules_enabled = { "ping"; }
	admins = { "focusUser@auth.jitmeet.example.com", "jvb@auth.jitmeet.example.com" }
	muc_room_locking = false
	muc_room_default_public_jids = true

VirtualHost "auth.jitmeet.example.com"
	modules_enabled = { "limits_exception"; }
	authentication = "internal_hashed"

Component "focus.jitmeet.example.com" "client_proxy"
	target_address = "focusUser@auth.jitmeet.example.com"

Component "speakerstats.jitmeet.example.com" "speakerstats_component"
	muc_component = "conference.jitmeet.example.com"

Component "conferenceduration.jitmeet.example.com" "conference_duration_component"
	muc_component = "conference.jitmeet.example.com"

Component "endconference.jitmeet.example.com" "end_conference"
	muc_component = "conference.jitmeet.example.com"

Component "avmoderation.jitmeet.example.com" "av_moderation_component"
	muc_component = "conference.jitmeet.example.com"

Component "lobby.jitmeet.example.com" "muc"
	storage = "memory"
	restrict_room_creation = true
	muc_room_locking = false
	muc_room_default_public_jids = true
	modules_enabled = { "muc_rate_limit"; "polls"; }

VirtualHost "jigasi.meet.jitsi"
	enabled = false
	modules_enabled = { "ping"; "bosh"; "muc_password_check"; }
	authentication = "token"
	app_id = "jitsi";
	asap_key_server = "https://jaas-public-keys.jitsi.net/jitsi-components/prod-8x8"
	asap_accepted_issuers = { "jaas-components" }
	asap_accepted_audiences = { "jigasi.jitmeet.example.com" }
