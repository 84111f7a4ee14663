#!/usr/bin/env bash
# For machines without an image registry: builds every local image (tests/images/build.sh, from
# Debian packages, PyPI and the Go module proxy) and points this checkout's .env at them, so
# `make up PROFILE=dittofs-badger-s3` runs the real DittoFS and LocalStack with no pull.
#
# .env: created from .env.example when missing; each *_IMAGE line below is replaced (or
# appended), every other line is kept as it is. Run as root (build.sh needs it) or with sudo.
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

build=(tests/images/build.sh)
[[ $EUID -eq 0 ]] || build=(sudo tests/images/build.sh)
for pair in "${images[@]}"; do
    name=${pair#*=benchhost-test/}
    name=${name%:latest}
    printf '[local-images] building benchhost-test/%s\n' "$name" >&2
    "${build[@]}" "$name" >/dev/null
done

[[ -e "$env_file" ]] || cp .env.example "$env_file"
tmp=$(mktemp "$env_file.XXXXXX")
cp "$env_file" "$tmp"
for pair in "${images[@]}"; do
    key=${pair%%=*}
    if grep -q "^$key=" "$tmp"; then
        sed -i "s|^$key=.*|$pair|" "$tmp"
    else
        printf '%s\n' "$pair" >>"$tmp"
    fi
done
mv "$tmp" "$env_file"
printf '[local-images] %s now names the local images:\n' "$env_file" >&2
keys=$(IFS='|'; printf '%s' "${images[*]%%=*}")
grep -E "^($keys)=" "$env_file" | sed 's/^/  /' >&2
