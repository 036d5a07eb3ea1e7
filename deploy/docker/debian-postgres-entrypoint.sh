#!/bin/sh
# Entry point of the PostgreSQL image made from Debian's packages (debian-images.sh):
# the part of the official image's interface that compose.yaml uses. On an empty data
# directory ($PGDATA) it creates the cluster with POSTGRES_USER (default postgres) as
# superuser with POSTGRES_PASSWORD, password authentication from other hosts, and the
# database POSTGRES_DB (default: the user's name); then it runs the command (postgres).
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
user=${POSTGRES_USER:-postgres}
database=${POSTGRES_DB:-$user}

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
  password_file=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
  initdb --username="$user" --pwfile="$password_file" --encoding=UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$password_file"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  if [ "$database" != postgres ]; then
    echo "CREATE DATABASE \"$database\"" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "initialised $PGDATA: user $user, database $database"
fi
exec "$@"
