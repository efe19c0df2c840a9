-- re-creation of shaula/rpi-prosody:conf.d/03-e2e-policy.cfg.lua@5e9e670b22950238df6f8f030b73c3244aeabb2b (licence none stated); not a copy
e2e_policy_chat = "required"
e2e_policy_muc = "required"
e2e_policy_whitelist = {}
e2e_policy_message_optional_chat = "Please encrypt one-to-one chats (OMEMO, OTR or PGP)."
e2e_policy_message_required_chat = "One-to-one chats must be encrypted here (OMEMO, OTR or PGP)."
e2e_policy_message_optional_muc = "Please encrypt group chats (OMEMO, OTR or PGP)."
e2e_policy_message_required_muc = "Group chats must be encrypted here (OMEMO, OTR or PGP)."
