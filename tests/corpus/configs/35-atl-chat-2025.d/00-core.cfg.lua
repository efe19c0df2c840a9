-- re-creation of allthingslinux/xmpp.atl.chat:core/config/conf.d/00-core.cfg.lua@9ce902b624ee39da5712ff59ec4bf8b986a40955 (licence MIT); not a copy
pidfile = "/var/run/prosody/prosody.pid"

user = "prosody"
group = "prosody"

server_name = "atl.chat"

admins = { "admin@atl.chat" }

default_storage = "sql"
sql = {
	driver = "PostgreSQL",
	database = "prosody",
	username = "prosody",
	password = "ChangeMe123!",
	host = "xmpp-postgres",
	port = 5432,
	pool_size = 10,
	pool_overflow = 20,
	pool_timeout = 30,
	ssl = { mode = "prefer", protocol = "tlsv1_2+" },
}

storage = {
	accounts = "sql", roster = "sql", vcard = "sql", private = "sql",
	blocklist = "sql", archive = "sql", muc_log = "sql", offline = "sql",
	pubsub_nodes = "sql", pubsub_data = "sql", pep = "sql",
	http_file_share = "sql", account_activity = "sql",
	caps = "memory", carbons = "memory",
}

lua_gc_step_size = 13
lua_gc_pause = 110
gc = {
	speed = 200,
	threshold = 120,
}
