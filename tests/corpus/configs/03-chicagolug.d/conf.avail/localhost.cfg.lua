-- re-creation of chicagolug/chicagolug-prosody:conf.avail/localhost.cfg.lua@a98dc3072d23c80f266306542d1aaa61e9f95915 (licence CC0-1.0); not a copy
VirtualHost "localhost"
