-- re-creation of getkaiwa/kaiwa-server:Docker/app/start.sh@854a239bb7747cbe5041765fe9d4eee29eec8cc0 (licence MIT); not a copy
-- The host file the start script appends with echo, with XMPP_DOMAIN=kaiwa.example.
VirtualHost "kaiwa.example"
	ssl = {
		certificate = "/etc/prosody/certs/localhost.crt";
		key = "/etc/prosody/certs/localhost.key";
	}
Component "chat.kaiwa.example" "muc"
	name = "The kaiwa.example chatrooms server"
	restrict_room_creation = "local"
	max_history_messages = 50;
	max_archive_query_results = 50;
	muc_log_by_default = true;
	muc_log_all_rooms = true;
