-- re-creation of debian:prosody:/etc/prosody/conf.avail/localhost.cfg.lua@13.0.1-1~bpo12+1 (licence MIT); not a copy
-- Debian's conf.d entry, present wherever the package is installed.
VirtualHost "localhost"
