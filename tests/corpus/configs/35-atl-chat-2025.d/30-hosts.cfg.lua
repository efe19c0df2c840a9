-- re-creation of allthingslinux/xmpp.atl.chat:core/config/conf.d/30-vhosts-components.cfg.lua@9ce902b624ee39da5712ff59ec4bf8b986a40955 (licence MIT); not a copy
VirtualHost("atl.chat")
ssl = {
	certificate = "certs/live/atl.chat/fullchain.pem",
	key = "certs/live/atl.chat/privkey.pem",
}

Component("muc.atl.chat", "muc")
ssl = {
	certificate = "certs/live/atl.chat/fullchain.pem",
	key = "certs/live/atl.chat/privkey.pem",
}
name = "muc.atl.chat"
modules_enabled = {
	"muc_mam",
	"muc_notifications",
	"muc_offline_delivery",
}
restrict_room_creation = false
muc_room_default_public = true
muc_room_default_persistent = true
muc_room_locking = false
vcard_to_pep = true
muc_dont_archive_namespaces = {
}

Component("upload.atl.chat", "http_file_share")
ssl = {
	certificate = "certs/live/atl.chat/fullchain.pem",
	key = "certs/live/atl.chat/privkey.pem",
}
name = "upload.atl.chat"
http_external_url = "https://upload.atl.chat/"

Component("proxy.atl.chat", "proxy65")
ssl = {
	certificate = "certs/live/atl.chat/fullchain.pem",
	key = "certs/live/atl.chat/privkey.pem",
}
name = "proxy.atl.chat"
proxy65_address = "proxy.atl.chat"
