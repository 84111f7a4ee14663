# shellcheck shell=bash
# Recipe for tests/images/build.sh postgres: PostgreSQL 15 from Debian bookworm (bookworm has no
# 16) behind an entrypoint that mimics the official `postgres` image (docker-entrypoint.sh next to
# this file), so benchhost's postgres plugin runs it exactly like `postgres:16-alpine`.
# Sourced by build.sh.
POSTGRES_RECIPE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# postgresql-15: server, initdb, pg_ctl, and (through postgresql-client-15) psql and pg_isready.
# shellcheck disable=SC2034  # PACKAGES, VERSION_PKG and CHANGES are read by build.sh
PACKAGES=(postgresql-15)
# shellcheck disable=SC2034
VERSION_PKG=postgresql-15
# shellcheck disable=SC2034
CHANGES=(
    # The version's own bin dir first: psql/pg_isready without Debian's Perl wrappers, and
    # initdb/pg_ctl/postgres, which Debian keeps out of /usr/bin.
    'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'ENV PGDATA=/var/lib/postgresql/data'
    'ENV LANG=C.UTF-8'
    'VOLUME /var/lib/postgresql/data'
    'EXPOSE 5432/tcp'
    # (docker import takes no STOPSIGNAL: stop with SIGINT, fast shutdown, as the official
    # image does; benchhost's postgres plugin sets it.)
    'ENTRYPOINT ["docker-entrypoint.sh"]'
    'CMD ["postgres"]'
)

post_install_postgres() {
    local r=$1
    install -m 0755 "$POSTGRES_RECIPE_DIR/docker-entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
    # The package's postinst made a Debian cluster (15/main, run by pg_ctlcluster); the
    # entrypoint uses PGDATA instead, like the official image.
    rm -rf "$r/etc/postgresql/15/main" "$r/var/lib/postgresql/15"
    mkdir -p "$r/var/lib/postgresql/data" "$r/var/run/postgresql" "$r/docker-entrypoint-initdb.d"
    chroot "$r" chown postgres:postgres /var/lib/postgresql /var/lib/postgresql/data /var/run/postgresql
    chmod 0700 "$r/var/lib/postgresql/data"
    chmod 3775 "$r/var/run/postgresql"
}
