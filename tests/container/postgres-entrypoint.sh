#!/bin/sh
# The official image's contract, the part compose files use: on an empty data
# directory, initdb with POSTGRES_USER as superuser and the password from
# POSTGRES_PASSWORD_FILE (or POSTGRES_PASSWORD), create POSTGRES_DB, allow
# password logins over TCP; then run postgres listening on every interface.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  [ -r "$POSTGRES_PASSWORD_FILE" ] || { echo "postgres-entrypoint: cannot read POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE" >&2; exit 1; }
  password=$(cat "$POSTGRES_PASSWORD_FILE")
else
  password=${POSTGRES_PASSWORD:-}
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "$password" ] || { echo "postgres-entrypoint: no POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE" >&2; exit 1; }
  pwfile=$(mktemp)
  printf '%s\n' "$password" > "$pwfile"
  initdb -D "$PGDATA" -U "$user" -E UTF8 --auth-local=trust --auth-host=scram-sha-256 \
    --pwfile="$pwfile" --no-instructions > /dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    postgres --single -D "$PGDATA" -j postgres > /dev/null <<SQL
CREATE DATABASE "$db" OWNER "$user";
SQL
  fi
  echo "postgres-entrypoint: initialised $PGDATA (user $user, database $db)"
fi
[ "${1:-postgres}" = postgres ] && shift || true
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
