-- re-creation of debian:prosody:/etc/prosody/conf.avail/example.com.cfg.lua@13.0.1-1~bpo12+1 (licence MIT); not a copy
-- Shipped in conf.avail only; not linked into conf.d.
VirtualHost "example.com"
	enabled = false
	ssl = {
		certificate = "/etc/prosody/certs/example.com.crt";
		key = "/etc/prosody/certs/example.com.key";
	}

Component "conference.example.com" "muc"
