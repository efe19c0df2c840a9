modules_enabled:append { "posix" }
