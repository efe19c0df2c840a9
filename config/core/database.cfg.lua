-- core/database.cfg.lua — storage backend (mod_storage_sql).
--
-- PROSODY_STORAGE=sqlite   (default) storage = "sql" with an SQLite3 file
--                          prosody.sqlite in Prosody's data directory.
-- PROSODY_STORAGE=postgres storage = "sql" on PostgreSQL; connection from
--                          PROSODY_DB_HOST (required), _PORT, _NAME, _USER.
--                          The password is never written into the config: it is
--                          Credential("db_password"), i.e. Prosody reads the file
--                          $CREDENTIALS_DIRECTORY/db_password at start (systemd
--                          LoadCredential=, or CREDENTIALS_DIRECTORY=/run/secrets
--                          with a Docker/Kubernetes secret named db_password).
-- Both drivers come from LuaDBI (lua-dbi-sqlite3 / lua-dbi-postgresql).

local env = pfe.env -- nil when unset or empty

local backend = (env("PROSODY_STORAGE") or "sqlite"):lower()

if backend == "sqlite" or backend == "sqlite3" then
    storage = "sql"
    sql = { driver = "SQLite3", database = "prosody.sqlite" }
elseif backend == "postgres" or backend == "postgresql" then
    local host = env("PROSODY_DB_HOST")
    if not host then
        error("PROSODY_STORAGE=postgres needs PROSODY_DB_HOST (the PostgreSQL host name); "
            .. "set it, or use PROSODY_STORAGE=sqlite")
    end
    local port_text = env("PROSODY_DB_PORT") or "5432"
    local port = tonumber(port_text)
    if not port_text:match("^%d+$") or port < 1 or port > 65535 then
        error(("PROSODY_DB_PORT must be a port number 1-65535, got %q"):format(port_text))
    end
    storage = "sql"
    sql = {
        driver = "PostgreSQL",
        host = host,
        port = math.tointeger(port),
        database = env("PROSODY_DB_NAME") or "prosody",
        username = env("PROSODY_DB_USER") or "prosody",
        password = Credential("db_password"),
    }
else
    error(("PROSODY_STORAGE=%q is not supported; use 'sqlite' (default) or 'postgres'"):format(backend))
end
