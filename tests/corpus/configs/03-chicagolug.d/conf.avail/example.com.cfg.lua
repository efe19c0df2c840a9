-- re-creation of chicagolug/chicagolug-prosody:conf.avail/example.com.cfg.lua@a98dc3072d23c80f266306542d1aaa61e9f95915 (licence CC0-1.0); not a copy
-- Available but not linked into conf.d, so never loaded.
VirtualHost "example.com"
	enabled = false
	ssl = {
		certificate = "/etc/prosody/certs/example.com.crt";
		key = "/etc/prosody/certs/example.com.key";
	}

Component "conference.example.com" "muc"
