-- expect: PFE003
-- mod_welcome is enabled, but every host that loads it sets its own
-- welcome_message: the global value is overridden, never read.
modules_enabled = { "disco", "roster", "saslauth", "tls", "welcome" }
welcome_message = "Hello from the server"

VirtualHost "a.example.org"
    welcome_message = "Welcome to a.example.org"

VirtualHost "b.example.org"
    welcome_message = "Welcome to b.example.org"

Component "conference.example.org" "muc"
