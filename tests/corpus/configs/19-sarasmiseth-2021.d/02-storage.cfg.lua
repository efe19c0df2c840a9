-- re-creation of SaraSmiseth/prosody:conf.d/02-storage.cfg.lua@4bbcdb80e9dc3d290f9c1883b554b2f8c98a0a21 (licence none stated); not a copy
default_storage = "sql"
sql = {
	driver = os.getenv("DB_DRIVER");
	database = os.getenv("DB_DATABASE");
	host = os.getenv("DB_HOST");
	port = os.getenv("DB_PORT");
	username = os.getenv("DB_USERNAME");
	password = os.getenv("DB_PASSWORD");
}

-- keep archives where the old community mod_mam wrote them
archive_store = "archive2"
storage = {
	archive2 = "sql";
}
archive_expires_after = "1y"
