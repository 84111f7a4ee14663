#!/usr/bin/env bash
# For machines without an image registry: builds every local image (tests/images/build.sh, from
# Debian packages, PyPI and the Go module proxy) and points this checkout's .env at them, so
# `make up PROFILE=dittofs-badger-s3` runs the real DittoFS and LocalStack with no pull.
#
# .env: created from .env.example when missing; each *_IMAGE line below is replaced (or
# appended), every other line, and the file's owner and mode, are kept. Run as root (build.sh
# needs it), or as a user with sudo (the build then runs under sudo with this PATH).
# Usage: tests/local-images.sh [ENV_FILE]   (default: ./.env)
set -euo pipefail
cd "$(dirname "$0")/.."
env_file=${1:-.env}

# setting=image: the settings the built-in plugins read their image from.
images=(
    DITTOFS_IMAGE=benchhost-test/dittofs:latest
    LOCALSTACK_IMAGE=benchhost-test/localstack:latest
    POSTGRES_IMAGE=benchhost-test/postgres:latest
    GANESHA_IMAGE=benchhost-test/ganesha:latest
    SAMBA_IMAGE=benchhost-test/samba:latest
    RCLONE_IMAGE=benchhost-test/rclone:latest
    JUICEFS_IMAGE=benchhost-test/juicefs:latest
)

# build.sh needs root. Under sudo, keep the caller's PATH (Go may live outside sudo's
# secure_path) and the settings pip, Go and apt read from the environment.
build=(tests/images/build.sh)
if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "local-images.sh: building the images needs root (debootstrap, chroot); run it as root" >&2; exit 1; }
    keep=(PATH="$PATH")
    for v in GO GOPROXY GOFLAGS GOPATH GOMODCACHE GOCACHE PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_CERT DEBIAN_MIRROR DEBIAN_SECURITY_MIRROR HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
        [[ -z "${!v:-}" ]] || keep+=("$v=${!v}")
    done
    build=(sudo env "${keep[@]}" tests/images/build.sh)
fi
for pair in "${images[@]}"; do
    name=${pair#*=benchhost-test/}
    name=${name%:latest}
    printf '[local-images] building benchhost-test/%s\n' "$name" >&2
    "${build[@]}" "$name" >/dev/null
done

# .env is edited in place (its owner and mode stay): each KEY= or `export KEY=` line of an
# image setting is replaced, a missing one is appended.
if [[ ! -e "$env_file" ]]; then
    cp .env.example "$env_file"
    # Made by `sudo make local-images`: give it to the user who ran sudo.
    [[ -z "${SUDO_UID:-}" ]] || chown "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$env_file"
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cp "$env_file" "$tmp"
# A last line without its newline would be glued to the first appended line.
[[ ! -s "$tmp" || -z "$(tail -c1 "$tmp")" ]] || printf '\n' >>"$tmp"
for pair in "${images[@]}"; do
    key=${pair%%=*}
    if grep -Eq "^(export[[:space:]]+)?$key=" "$tmp"; then
        sed -Ei "s|^(export[[:space:]]+)?$key=.*|$pair|" "$tmp"
    else
        printf '%s\n' "$pair" >>"$tmp"
    fi
done
cat "$tmp" >"$env_file"
printf '[local-images] %s now names the local images:\n' "$env_file" >&2
keys=$(IFS='|'; printf '%s' "${images[*]%%=*}")
grep -E "^($keys)=" "$env_file" | sed 's/^/  /' >&2
