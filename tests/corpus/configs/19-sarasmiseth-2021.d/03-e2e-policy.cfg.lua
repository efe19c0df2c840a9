-- re-creation of SaraSmiseth/prosody:conf.d/03-e2e-policy.cfg.lua@4bbcdb80e9dc3d290f9c1883b554b2f8c98a0a21 (licence none stated); not a copy
local stringy = require "stringy"

e2e_policy_chat = os.getenv("E2E_POLICY_CHAT")
e2e_policy_muc = os.getenv("E2E_POLICY_MUC")
e2e_policy_whitelist = stringy.split(os.getenv("E2E_POLICY_WHITELIST"), ", ")
e2e_policy_message_optional_chat = "Please use OMEMO, OTR or PGP for one-to-one chats here."
e2e_policy_message_required_chat = "One-to-one chats on this server must be encrypted (OMEMO, OTR or PGP)."
e2e_policy_message_optional_muc = "Please use OMEMO, OTR or PGP in group chats here."
e2e_policy_message_required_muc = "Group chats on this server must be encrypted (OMEMO, OTR or PGP)."
