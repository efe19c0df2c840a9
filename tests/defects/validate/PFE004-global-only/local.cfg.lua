Component("conference." .. pfe.domain) "muc"
    log = { { levels = { min = "debug" }, to = "console" } } -- logging is process-wide
