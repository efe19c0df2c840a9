-- re-creation of alainwolf/roll.urown.net:server/config-files/etc/prosody/conf.d/example.net.cfg.lua@70cc210d77c77c38d7069e8702b8620c2f425007 (licence CC-BY-SA-4.0); not a copy
VirtualHost "example.net"
	ssl = {
		certificate = "/etc/ssl/certs/example.net.chained.cert.pem";
		key = "/etc/ssl/private/example.net.key.pem";
	}

	Component "conference.example.net" "muc"

	Component "proxy.example.net" "proxy65"
		modules_enabled = {
			"http_upload";
		}
