-- features/collaboration/muc.cfg.lua — group chats on conference.<domain>.
--
-- Everything after the Component line belongs to the MUC component. Room
-- defaults (public/persistent/history) are profile choices, see the profiles.
-- Group chat history (XEP-0313 for rooms, mod_muc_mam) is only loaded when
-- messaging/archive is enabled too.

feature_info = {
    name = "Group Chat (MUC)",
    description = "Multi-user chat rooms on conference.<domain> (XEP-0045) with occupant IDs (XEP-0421); "
        .. "room history archives (XEP-0313) when messaging/archive is enabled",
    xeps = { "XEP-0045", "XEP-0421", "XEP-0313" },
    stability = "stable",
    dependencies = { "messaging/core" },
    conflicts = {},
    modules = { "muc", "muc_mam" },
    toggles = { "PROSODY_FEATURES_COLLABORATION_MUC" },
    checks = {
        { xep = "XEP-0045", where = "component_disco", category = "conference", type = "text",
          var = "http://jabber.org/protocol/muc", module = "muc" },
        { xep = "XEP-0421", where = "component_disco", category = "conference", type = "text",
          var = "urn:xmpp:occupant-id:0", module = "muc" },
        { xep = "XEP-0313", where = "component_disco", category = "conference", type = "text",
          var = "urn:xmpp:mam:2", module = "muc_mam" },
    },
}

for _, domain in ipairs(pfe.domains) do Component("conference." .. domain) "muc"
    name = "Chatrooms"
    -- Only users of this server may create rooms (admins always may).
    restrict_room_creation = "local"
    if pfe.feature("messaging/archive") then
        modules_enabled:append { "muc_mam" }
    end
end
