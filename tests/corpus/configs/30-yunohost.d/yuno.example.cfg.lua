-- re-creation of YunoHost-Apps/prosody_ynh:conf/domain.tpl.cfg.lua@bb81decacfcb26d421b9142b4e944d0347b57055 (licence AGPL-3.0); not a copy
-- Rendered with __DOMAIN__ = yuno.example, __APP__ = prosody and a TURN
-- password. __TURN_EXTERNAL_PORT__ is left as in the template: when the
-- coturn setting is missing it stays a bare name, which evaluates to nil.
VirtualHost "yuno.example"
	enable = true
	ssl = {
		certificate = "/etc/yunohost/certs/yuno.example/crt.pem";
		key = "/etc/yunohost/certs/yuno.example/key.pem";
	}
	authentication = "ldap"
	ldap_base = "ou=users,dc=yunohost,dc=org"
	ldap_filter = "(&(|(mail=$user@$host)(uid=$user))(permission=cn=prosody.main,ou=permission,dc=yunohost,dc=org))"

	modules_enabled = {
		"mam"; "cloud_notify"; "smacks"; "turn_external";
		"bosh"; "websocket";
		"csi_battery_saver";
	}
	-- csi_battery_saver takes over from csi_simple; registration is LDAP's job
	modules_disabled = {
		"register";
		"csi_simple";
	}

	disco_items = {
		{ "muc.yuno.example" },
		{ "pubsub.yuno.example" },
		{ "xmpp-upload.yuno.example" },
	};

	turn_external_secret = "turn-password-from-coturn"
	turn_external_host = "yuno.example"
	turn_external_port = __TURN_EXTERNAL_PORT__

	http_paths = {
		bosh = "/xmpp-bosh";
	}

Component "muc.yuno.example" "muc"
	name = "yuno.example Chatrooms"
	modules_enabled = {
		"vcard_muc";
		"muc_mam";
	}
	muc_event_rate = 0.5
	muc_burst_factor = 10
	room_default_config = {
		logging = true,
		persistent = true
	};
	muc_log_expires_after = "1w"

Component "pubsub.yuno.example" "pubsub"
	name = "yuno.example Publish/Subscribe"
	unrestricted_node_creation = true

Component "xmpp-upload.yuno.example" "http_upload"
	name = "yuno.example Sharing Service"
	http_upload_path = "/var/xmpp-upload/yuno.example/upload/"
	http_external_url = "https://xmpp-upload.yuno.example"
	http_upload_file_size_limit = 50 * 1024 * 1024
	http_upload_quota = 1 * 1024 * 1024 * 1024
	http_upload_expire_after = 60 * 60 * 24 * 7
