-- re-creation of YunoHost-Apps/prosody_ynh:conf/00.cfg.lua@bb81decacfcb26d421b9142b4e944d0347b57055 (licence AGPL-3.0); not a copy
-- no HTTPS listener: nginx terminates TLS in front
https_ports = {}
