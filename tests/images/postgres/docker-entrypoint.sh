#!/bin/sh
# Entrypoint of benchhost-test/postgres: PostgreSQL 16 (the build recipe.sh installs) behind the
# environment contract of the official `postgres` image, so the same service definition runs on
# either:
#
#   POSTGRES_PASSWORD          superuser password (required unless POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_USER              superuser name (default postgres)
#   POSTGRES_DB                database created at first start (default $POSTGRES_USER)
#   POSTGRES_INITDB_ARGS       extra initdb arguments (split on spaces)
#   POSTGRES_HOST_AUTH_METHOD  pg_hba method for TCP connections from anywhere (default scram-sha-256)
#   PGDATA                     data directory (default /var/lib/postgresql/data)
#   /docker-entrypoint-initdb.d/*.sh|*.sql  run once, after the database is created
#
# Like the official image: on first start (no $PGDATA/PG_VERSION) it runs initdb as the postgres
# user (local socket and 127.0.0.1 stay `trust`, as initdb makes them), listens on '*' and on
# the sockets /var/run/postgresql (the official image's) and /tmp (this build's default), appends
# `host all all all <method>` to pg_hba.conf, creates the database through a temporary server
# that listens on the socket only, then execs postgres as PID 1 (stop it with SIGINT: fast
# shutdown). A non-empty PGDATA is used as it is.
set -eu

# `docker run IMAGE -c fsync=off`: options for postgres.
if [ "${1#-}" != "$1" ]; then
    set -- postgres "$@"
fi
if [ "${1:-}" != postgres ]; then
    exec "$@"
fi

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chmod 0700 "$PGDATA"
    chmod 3775 /var/run/postgresql
    find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

log() { printf '%s docker-entrypoint.sh: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*" >&2; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    POSTGRES_USER=${POSTGRES_USER:-postgres}
    POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
        log "error: the database is uninitialized and POSTGRES_PASSWORD is not set (set it, or POSTGRES_HOST_AUTH_METHOD=trust)"
        exit 1
    fi

    log "initializing $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
    pwfile=$(mktemp)  # mode 0600: the password never appears in an argv
    printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
    if [ -n "${POSTGRES_PASSWORD:-}" ]; then
        # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is word-split, as in the official image
        initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-}
    else
        # shellcheck disable=SC2086
        initdb --username="$POSTGRES_USER" --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-}
    fi
    rm -f "$pwfile"

    # The socket where the official image has it (/var/run/postgresql) and where this build's
    # server and libpq look by default (/tmp).
    printf "\nlisten_addresses = '*'\nunix_socket_directories = '/var/run/postgresql, /tmp'\n" >>"$PGDATA/postgresql.conf"
    printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

    # A temporary server on the Unix socket only: nothing can connect over TCP (and
    # `pg_isready -h 127.0.0.1` fails) until the database is complete.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    if [ "$POSTGRES_DB" != postgres ]; then
        psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
            --set db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db";
SQL
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh)
                log "running $f"
                # shellcheck disable=SC1090  # the user's init scripts, sourced as in the official image
                . "$f"
                ;;
            *.sql) log "running $f"; psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f "$f" ;;
            *) [ ! -e "$f" ] || log "ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    log "PostgreSQL init process complete; ready for start up"
fi

exec "$@"
