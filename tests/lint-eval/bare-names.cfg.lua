-- Bare names that are not options evaluate to nil; a global function is an
-- option no module reads (Prosody keeps it).
admins = { ibrahim }
statistics_interval = manual
function helper(x) return x end
c2s_timeout = helper(300)
VirtualHost "example.org"
	modules_disabled = { modules_enabled and "offline" or "carbons" }
Component("proxy.example.org", "proxy65")
