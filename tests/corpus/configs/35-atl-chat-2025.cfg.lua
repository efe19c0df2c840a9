-- re-creation of allthingslinux/xmpp.atl.chat:core/config/prosody.cfg.lua@9ce902b624ee39da5712ff59ec4bf8b986a40955 (licence MIT); not a copy
-- A community's Docker deployment (August 2025, Prosody 13): the main file
-- only Includes eight topic files by explicit name, with the call syntax
-- Include("..."). Among them: global http_cors_override and
-- network_backend, proxy65 loaded globally and as a Component, core
-- modules listed by hand, and the hosts file declaring Components with
-- Component("name", "type") - two arguments to one call.
Include("35-atl-chat-2025.d/00-core.cfg.lua")
Include("35-atl-chat-2025.d/05-network.cfg.lua")
Include("35-atl-chat-2025.d/20-modules.cfg.lua")
Include("35-atl-chat-2025.d/11-logging.cfg.lua")
Include("35-atl-chat-2025.d/12-metrics.cfg.lua")
Include("35-atl-chat-2025.d/21-security.cfg.lua")
Include("35-atl-chat-2025.d/30-hosts.cfg.lua")
Include("35-atl-chat-2025.d/90-contact.cfg.lua")
