-- re-creation of shaula/rpi-prosody:conf.d/04-vhost.cfg.lua@5e9e670b22950238df6f8f030b73c3244aeabb2b (licence none stated); not a copy
local domain = os.getenv("DOMAIN")

ssl = {
	certificate = "/usr/local/etc/prosody/certs/prosody.crt";
	key = "/usr/local/etc/prosody/certs/prosody.key";
}

VirtualHost (domain)

Component ("proxy." .. domain) "proxy65"
	proxy65_address = domain
	proxy65_acl = { domain }

Component ("upload." .. domain) "http_upload"
	http_host = domain
	http_upload_file_size_limit = 10 * 1024 * 1024

Component ("muc." .. domain) "muc"
	name = "Prosody Chatrooms"
	restrict_room_creation = false
	max_history_messages = 1000
	modules_enabled = {
		"muc_mam";
	}
	muc_log_expires_after = "1y"
	muc_log_cleanup_interval = 4 * 60 * 60
