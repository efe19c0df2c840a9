-- expect: PFE020
modules_enabled = { "disco", "roster", "saslauth", "tls" }

VirtualHost "example.org"

Component("conference.example.org", "muc")   -- an external component, not a MUC
	component_secret = "s3cret"
