-- re-creation of shaula/rpi-prosody:conf.d/02-storage.cfg.lua@5e9e670b22950238df6f8f030b73c3244aeabb2b (licence none stated); not a copy
default_storage = "sql"
sql = {
	driver = "SQLite3";
	database = "prosody.sqlite";
}
archive_store = "archive2"
storage = {
	archive2 = "sql";
}
archive_expires_after = "1y"
