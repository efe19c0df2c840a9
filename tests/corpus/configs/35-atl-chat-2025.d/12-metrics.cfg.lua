-- re-creation of allthingslinux/xmpp.atl.chat:core/config/conf.d/12-metrics.cfg.lua@9ce902b624ee39da5712ff59ec4bf8b986a40955 (licence MIT); not a copy
statistics = "internal"
statistics_interval = "manual"
openmetrics_allow_ips = { "127.0.0.1", "::1" }
openmetrics_allow_cidr = "172.16.0.0/12"
