#!/usr/bin/env bash
# Installs and starts what the test suite needs, where this machine allows it, or stops with
# the exact instruction. Used by `make test` and `.ci/run`.
#   - the wasm32-wasip2 Rust target (rustup)
#   - a Docker engine (Debian/Ubuntu: apt-get install docker.io; started with dockerd if down)
#   - debootstrap (builds the local test images); the tests' real clients: libnfs-utils (NFS),
#     smbclient (SMB), postgresql-client (psql)
#   - the local test images (tests/images/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
as_root() { if [[ $EUID -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

if ! rustc --print target-libdir --target wasm32-wasip2 >/dev/null 2>&1 || \
   [[ ! -d "$(rustc --print target-libdir --target wasm32-wasip2 2>/dev/null)" ]]; then
    command -v rustup >/dev/null || die "the wasm32-wasip2 target is missing and rustup is not installed: install rustup (https://rustup.rs), then rerun"
    say "installing the wasm32-wasip2 Rust target"
    rustup target add wasm32-wasip2
fi

missing=()
command -v docker >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v nfs-cp >/dev/null || missing+=(libnfs-utils)
command -v smbclient >/dev/null || missing+=(smbclient)
command -v psql >/dev/null || missing+=(postgresql-client)
if ((${#missing[@]})); then
    if command -v apt-get >/dev/null; then
        say "installing ${missing[*]} (apt-get)"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
            || { as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; } \
            || die "could not install ${missing[*]}: run \`sudo apt-get install -y ${missing[*]}\` and rerun"
    else
        die "missing ${missing[*]}: install Docker, debootstrap and libnfs-utils with your package manager, then rerun"
    fi
fi

if ! docker info >/dev/null 2>&1; then
    if [[ $EUID -eq 0 ]] && command -v dockerd >/dev/null; then
        say "starting dockerd in the background (log: /tmp/benchhost-dockerd.log)"
        setsid dockerd >/tmp/benchhost-dockerd.log 2>&1 < /dev/null &
        for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
        docker info >/dev/null 2>&1 || { tail -20 /tmp/benchhost-dockerd.log >&2; die "dockerd did not come up (log above)"; }
    else
        die "the Docker engine is not reachable: start it (\`sudo systemctl start docker\`) or set DOCKER_HOST, then rerun"
    fi
fi
# Compose v2 validates the generated docker-compose.yml (its `configs: content:` needs v2).
# Debian bookworm only has v1, so take trixie's static v2 binary into the cache (not installed).
COMPOSE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/benchhost/compose-v2"
if ! docker compose version >/dev/null 2>&1 && [[ ! -x "$COMPOSE_DIR/docker-compose" ]]; then
    say "fetching Compose v2 (Debian trixie docker-compose 2.26.1) into $COMPOSE_DIR"
    tmp=$(mktemp -d)
    curl -fsSL -o "$tmp/c.deb" http://deb.debian.org/debian/pool/main/d/docker-compose/docker-compose_2.26.1-4_"$(dpkg --print-architecture)".deb \
        || die "could not download Compose v2: install the Docker Compose plugin (\`docker compose version\` must work), then rerun"
    dpkg-deb -x "$tmp/c.deb" "$tmp/x"
    mkdir -p "$COMPOSE_DIR"
    install -m 0755 "$tmp/x/usr/libexec/docker/cli-plugins/docker-compose" "$COMPOSE_DIR/docker-compose"
    rm -rf "$tmp"
fi

say "Docker $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

images=(ganesha)
for recipe in tests/images/*/recipe.sh; do [[ -f "$recipe" ]] && images+=("$(basename "$(dirname "$recipe")")"); done
for image in "${images[@]}"; do
    if [[ $EUID -ne 0 ]]; then
        docker image inspect "benchhost-test/$image:latest" >/dev/null 2>&1 \
            || die "image benchhost-test/$image:latest is missing: run \`sudo tests/images/build.sh $image\` and rerun"
    else
        tests/images/build.sh "$image" >/dev/null
    fi
done
say "ready"
