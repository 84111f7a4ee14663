#!/usr/bin/env bash
# Build a local Docker image from real Debian packages: debootstrap --variant=minbase bookworm +
# apt-get install + a recipe's post-install step + docker import. No registry is needed (nothing
# is pulled); only the Debian mirror this machine's apt sources name.
#
# Usage: tests/images/build.sh [--force] [--refresh-base] [--tag IMAGE] NAME|RECIPE
#   NAME    one of tests/images/NAME/recipe.sh (ganesha, samba, dittofs, ...): builds
#           benchhost-test/NAME:latest
#   RECIPE  a path to any recipe.sh (e.g. your own competitor's, outside this repository): its
#           directory's name is the image NAME
#   --tag   the image to create instead of benchhost-test/NAME:latest (with VERSION_PKG, the
#           version tag goes to the same repository)
#
# A recipe is a bash file that sets PACKAGES (Debian packages, installed with
# --no-install-recommends), CHANGES (docker import --change lines) and optionally VERSION_PKG
# (also tag the image with that package's Debian version) and a function post_install_NAME,
# run on the host with the rootfs directory as $1 (use `chroot "$1" ...` or `chroot_pip "$1"
# PKG...` for commands inside).
#
# Env: BENCHHOST_IMAGE_CACHE  cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/benchhost/images)
#      DEBIAN_MIRROR          default: the archive in the configured apt sources (tests/lib/apt-sources.sh)
#      DEBIAN_SECURITY_MIRROR default: the security archive there (none: no security line)
# The minbase rootfs is cached as a tarball and shared between all images.
# If the image exists the script exits 0 at once; --force rebuilds it (from the cached base);
# --refresh-base also re-runs debootstrap.
set -euo pipefail

SUITE=bookworm
# shellcheck source=tests/lib/apt-sources.sh
source "$(dirname "$0")/../lib/apt-sources.sh"
MIRROR=$(debian_mirror)
SEC_MIRROR=$(debian_security_mirror)
CACHE=${BENCHHOST_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/benchhost/images}
BASE_TAR="$CACHE/base-$SUITE-minbase.tar"

T0=$(date +%s.%N)
log() { awk -v t0="$T0" -v t1="$(date +%s.%N)" -v m="$*" 'BEGIN { printf "[build.sh %6.1fs] %s\n", t1 - t0, m }' >&2; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }
usage() { echo "usage: $0 [--force] [--refresh-base] [--tag IMAGE] NAME|RECIPE   (NAME: a tests/images/NAME/recipe.sh; RECIPE: a path to a recipe.sh)" >&2; exit 2; }

FORCE=0
REFRESH_BASE=0
NAME=
TAG=
while [[ $# -gt 0 ]]; do
    case "$1" in
        --force|-f) FORCE=1 ;;
        --refresh-base) FORCE=1; REFRESH_BASE=1 ;;
        --tag) [[ $# -ge 2 && -n "$2" ]] || usage; TAG=$2; shift ;;
        --tag=*) TAG=${1#--tag=}; [[ -n "$TAG" ]] || usage ;;
        -h|--help) usage ;;
        -*) usage ;;
        *) [[ -z "$NAME" ]] || usage; NAME=$1 ;;
    esac
    shift
done
[[ -n "$NAME" ]] || usage

known_names() {
    local r names=()
    for r in "$(dirname "$0")"/*/recipe.sh; do names+=("$(basename "$(dirname "$r")")"); done
    echo "${names[*]}"
}
# NAME or a path to a recipe: the recipe file, and the image's NAME (its directory's name).
if [[ "$NAME" == */* || "$NAME" == *.sh ]]; then
    RECIPE=$NAME
    [[ -f "$RECIPE" ]] || die "no recipe at '$RECIPE'"
    NAME=$(basename "$(cd "$(dirname "$RECIPE")" && pwd)")
else
    RECIPE="$(dirname "$0")/$NAME/recipe.sh"
    [[ -f "$RECIPE" ]] || die "unknown image NAME '$NAME' (known: $(known_names)); or give a path to a recipe.sh"
fi
[[ "$NAME" =~ ^[a-z0-9][a-z0-9._-]*$ ]] || die "image name '$NAME' (the recipe's directory) must be lowercase letters, digits, '.', '_' or '-'"
[[ -z "$TAG" || "$TAG" =~ ^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$ ]] || die "--tag '$TAG' is not an image reference (repo[:tag], lowercase repository)"
[[ -z "$TAG" || "$TAG" == *:* ]] || TAG="$TAG:latest"

# pip inside the rootfs $1 (for recipes), trusting the build host's CA bundle for this run only
# (a TLS-inspecting egress proxy needs it; the copy is deleted and never reaches the image) and
# keeping the host's proxy and index settings. Usage: chroot_pip ROOTFS PACKAGE...
chroot_pip() {
    local r=$1; shift
    local ca=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
    local pip_env=(PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 PIP_ROOT_USER_ACTION=ignore)
    if [[ -s "$ca" ]]; then
        cp "$ca" "$r/tmp/benchhost-build-ca.crt"
        pip_env+=(PIP_CERT=/tmp/benchhost-build-ca.crt)
    fi
    local v
    for v in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_DEFAULT_TIMEOUT; do
        [[ -z "${!v:-}" ]] || pip_env+=("$v=${!v}")
    done
    local rc=0
    chroot "$r" /usr/bin/env -i "${pip_env[@]}" \
        pip install --quiet --no-cache-dir --disable-pip-version-check --break-system-packages "$@" || rc=$?
    rm -f "$r/tmp/benchhost-build-ca.crt"
    return "$rc"
}

PACKAGES=()
CHANGES=()
VERSION_PKG=

# shellcheck source=/dev/null
source "$RECIPE"

IMAGE=${TAG:-benchhost-test/$NAME:latest}

[[ $EUID -eq 0 ]] || die "must run as root (debootstrap, chroot and docker import need it)"
command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "docker engine not reachable (start dockerd)"

if [[ $FORCE -eq 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "cached: $IMAGE exists (use --force to rebuild)"
    echo "$IMAGE"
    v=$(docker image inspect -f '{{index .Config.Labels "benchhost.version-tag"}}' "$IMAGE" 2>/dev/null || true)
    if [[ -n "$v" && "$v" != "<no value>" ]]; then
        docker tag "$IMAGE" "$v"
        echo "$v"
    fi
    exit 0
fi

command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install -y debootstrap)"
mkdir -p "$CACHE"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/benchhost-img-$NAME.XXXXXX")
cleanup() {
    # unmount anything left mounted inside the chroot, then remove it
    for m in proc dev/pts dev sys; do
        if mountpoint -q "$WORK/root/$m" 2>/dev/null; then umount -l "$WORK/root/$m" || true; fi
    done
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

# --- shared base rootfs ----------------------------------------------------
if [[ $REFRESH_BASE -eq 1 || ! -s "$BASE_TAR" ]]; then
    log "debootstrap --variant=minbase $SUITE from $MIRROR (cold base)"
    B="$WORK/base"
    mkdir -p "$B/etc/dpkg/dpkg.cfg.d"
    # No docs/man/locales in any image (also honoured during debootstrap's own unpack of later packages).
    cat >"$B/etc/dpkg/dpkg.cfg.d/01-benchhost-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
    debootstrap --variant=minbase "$SUITE" "$B" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -30 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
    cat >"$B/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
EOF
    [[ -z "$SEC_MIRROR" ]] || echo "deb $SEC_MIRROR $SUITE-security main" >>"$B/etc/apt/sources.list"
    cat >"$B/etc/apt/apt.conf.d/01-benchhost" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
    # never start services from maintainer scripts inside the chroot
    printf '#!/bin/sh\nexit 101\n' >"$B/usr/sbin/policy-rc.d"
    chmod 0755 "$B/usr/sbin/policy-rc.d"
    # debootstrap's first stage ignores dpkg path-excludes: drop docs/locales by hand
    find "$B"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -rf "$B"/usr/share/doc/* "$B"/usr/share/man/* "$B"/usr/share/info/* "$B"/var/cache/apt/archives/*.deb \
        "$B"/var/lib/apt/lists/* "$B"/var/log/*.log "$B"/var/log/apt/* 2>/dev/null || true
    tar -C "$B" --numeric-owner -cf "$BASE_TAR.tmp" .
    mv "$BASE_TAR.tmp" "$BASE_TAR"
    rm -rf --one-file-system "$B"
    log "base cached: $BASE_TAR ($(du -h "$BASE_TAR" | cut -f1))"
else
    log "using cached base $BASE_TAR"
fi

# --- image rootfs ------------------------------------------------------------
R="$WORK/root"
mkdir -p "$R"
tar -C "$R" --numeric-owner -xpf "$BASE_TAR"
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc"

in_chroot() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }

log "apt-get install ${PACKAGES[*]}"
in_chroot apt-get update -qq >"$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log" >&2; die "apt-get update failed"; }
in_chroot apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >>"$WORK/apt.log" 2>&1 \
    || { tail -40 "$WORK/apt.log" >&2; die "apt-get install failed"; }

VERSION_TAG=
if [[ -n "$VERSION_PKG" ]]; then
    # shellcheck disable=SC2016  # ${Version} is a dpkg-query format field
    ver=$(in_chroot dpkg-query -W -f='${Version}' "$VERSION_PKG")
    # docker tag charset is [A-Za-z0-9_.-], max 128, must not start with . or -
    tagver=$(printf '%s' "$ver" | tr -c 'A-Za-z0-9_.-' '_' | sed 's/^[.-]*//' | cut -c1-128)
    if [[ -n "$TAG" ]]; then VERSION_TAG="${TAG%:*}:$tagver"; else VERSION_TAG="benchhost/$NAME:$tagver"; fi
    log "$VERSION_PKG version $ver -> tag $VERSION_TAG"
fi

if declare -F "post_install_$NAME" >/dev/null; then
    log "post-install step for $NAME"
    "post_install_$NAME" "$R"
fi

umount "$R/proc"
# slim down
in_chroot apt-get clean
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/debconf/*-old \
    "$R"/var/log/*.log "$R"/var/log/apt/* "$R"/usr/share/doc/* "$R"/usr/share/man/* \
    "$R"/tmp/* "$R"/var/tmp/* 2>/dev/null || true
# resolv.conf/hostname/hosts are provided by docker at run time
: >"$R/etc/resolv.conf"
rm -f "$R/etc/hostname"

OLD_ID=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
import_args=()
for c in "${CHANGES[@]}"; do import_args+=(--change "$c"); done
[[ -z "$VERSION_TAG" ]] || import_args+=(--change "LABEL benchhost.version-tag=$VERSION_TAG")
import_args+=(--message "benchhost test image $NAME (debootstrap $SUITE minbase)")

log "docker import -> $IMAGE ($(du -sh "$R" | cut -f1) rootfs)"
tar -C "$R" --numeric-owner -cf - . | docker import "${import_args[@]}" - "$IMAGE" >/dev/null
[[ -z "$VERSION_TAG" ]] || docker tag "$IMAGE" "$VERSION_TAG"
# drop the image this one replaces (--force), unless a container still uses it
if [[ -n "$OLD_ID" && "$OLD_ID" != "$(docker image inspect -f '{{.Id}}' "$IMAGE")" ]]; then
    docker image rm "$OLD_ID" >/dev/null 2>&1 || true
fi

log "done: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
echo "$IMAGE"
[[ -z "$VERSION_TAG" ]] || echo "$VERSION_TAG"
