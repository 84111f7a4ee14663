#!/usr/bin/env bash
# Installs and starts what the test suite needs, where this machine allows it, or stops with
# the exact instruction. Used by `make test` and `.ci/run`.
#   - the wasm32-wasip2 Rust target (rustup)
#   - a Docker engine: used when `docker info` answers; else Debian's docker.io is installed when
#     there is no dockerd, and dockerd is started in the background (root)
#   - debootstrap (builds the local test images); the tests' real clients: libnfs-utils (NFS),
#     smbclient (SMB), postgresql-client (psql); shellcheck (make test lints every script); fio (the
#     report is tested on the host's fio results)
#   - the local test images (tests/images/build.sh)
#   - the client VM, a real Linux NFS/SMB client for the tests (tests/vm/build.sh; cached per user)
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

# shellcheck source=tests/lib/apt-sources.sh
source tests/lib/apt-sources.sh

# `docker info` bounded in time (a hung engine must not hang the set-up); its error in $engine_error.
engine_error=
engine_answers() { engine_error=$(timeout 20 docker info 2>&1 >/dev/null) && return 0; [[ -n "$engine_error" ]] || engine_error="docker info did not answer within 20 s"; return 1; }
# An engine chosen by the environment or the CLI's context is someone else's to start.
engine_elsewhere() { [[ -n "${DOCKER_HOST:-}" || ( -n "${DOCKER_CONTEXT:-}" && "${DOCKER_CONTEXT}" != default ) ]]; }

# What to install is decided by what answers, not by which binaries exist: a machine may ship the
# Docker CLI with no engine behind it (then Debian's docker.io brings dockerd).
missing=()
command -v docker >/dev/null || missing+=(docker.io)
if ! command -v docker >/dev/null || ! engine_answers; then
    if ! engine_elsewhere && ! command -v dockerd >/dev/null; then
        [[ " ${missing[*]} " == *" docker.io "* ]] || missing+=(docker.io)
    fi
fi
command -v debootstrap >/dev/null || missing+=(debootstrap)
# debootstrap of Debian checks the archive's signature (a non-Debian host lacks the keys).
[[ -e /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
command -v nfs-cp >/dev/null || missing+=(libnfs-utils)
command -v smbclient >/dev/null || missing+=(smbclient)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v shellcheck >/dev/null || missing+=(shellcheck)
# fio: the load generator of `benchhost bench --client host` (the client VM has its own), and the
# report test runs it.
command -v fio >/dev/null || missing+=(fio)
# The two-host tests' second engine (tests/lib/remote-engine.sh): a network namespace and a veth
# pair (iproute2), dockerd entered into it (nsenter, util-linux).
command -v ip >/dev/null || missing+=(iproute2)
command -v nsenter >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
    if command -v apt-get >/dev/null; then
        say "installing ${missing[*]} (apt-get)"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
            || { as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; } \
            || die "could not install ${missing[*]}: run \`sudo apt-get install -y ${missing[*]}\` and rerun"
    else
        die "missing ${missing[*]}: install Docker (engine and CLI), debootstrap, libnfs-utils, smbclient, psql, shellcheck and fio with your package manager, then rerun"
    fi
fi

if ! engine_answers; then
    if engine_elsewhere; then
        die "the Docker engine of DOCKER_HOST=${DOCKER_HOST:-} DOCKER_CONTEXT=${DOCKER_CONTEXT:-} does not answer ($engine_error): start it there, or unset them to use a local engine, then rerun"
    elif [[ "$engine_error" == *"permission denied"* ]]; then
        die "the Docker engine runs but this user may not use it ($engine_error): add yourself to the docker group (\`sudo usermod -aG docker $USER\`, then log in again) or run as root"
    elif pgrep -x dockerd >/dev/null; then
        die "dockerd is running but does not answer ($engine_error): look at its log, or restart it, then rerun"
    elif [[ $EUID -eq 0 ]] && command -v dockerd >/dev/null; then
        say "starting dockerd in the background (log: /tmp/benchhost-dockerd.log)"
        setsid dockerd >/tmp/benchhost-dockerd.log 2>&1 < /dev/null &
        for _ in $(seq 1 120); do engine_answers && break; sleep 0.5; done
        engine_answers || { tail -20 /tmp/benchhost-dockerd.log >&2; die "dockerd did not come up within 60 s (log above)"; }
    elif command -v dockerd >/dev/null; then
        die "the Docker engine is not running: start it (\`sudo systemctl start docker\`, or \`sudo setsid dockerd &\`), then rerun"
    else
        die "no Docker engine is reachable and dockerd is not installed: install Debian's docker.io (\`sudo apt-get install -y docker.io\`) or Docker Engine, start it, then rerun"
    fi
fi
# Compose v2 validates the generated docker-compose.yml (its `configs: content:` needs v2).
# Debian bookworm only has v1, so take the next suite's (trixie) static v2 binary from the
# configured Debian mirror into the cache (not installed).
COMPOSE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/benchhost/compose-v2"
if ! docker compose version >/dev/null 2>&1 && [[ ! -x "$COMPOSE_DIR/docker-compose" ]]; then
    say "fetching Compose v2 (Debian trixie's docker-compose) into $COMPOSE_DIR"
    tmp=$(mktemp -d)
    (cd "$tmp" && apt_with_suite trixie -q download docker-compose >/dev/null 2>&1) \
        || die "could not download Compose v2 from the configured Debian mirror: install the Docker Compose plugin (\`docker compose version\` must work), then rerun"
    dpkg-deb -x "$tmp"/docker-compose_*.deb "$tmp/x"
    mkdir -p "$COMPOSE_DIR"
    install -m 0755 "$tmp/x/usr/libexec/docker/cli-plugins/docker-compose" "$COMPOSE_DIR/docker-compose"
    rm -rf "$tmp"
fi

say "Docker $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

images=()
for recipe in tests/images/*/recipe.sh; do [[ -f "$recipe" ]] && images+=("$(basename "$(dirname "$recipe")")"); done
for image in "${images[@]}"; do
    if [[ $EUID -ne 0 ]]; then
        docker image inspect "benchhost-test/$image:latest" >/dev/null 2>&1 \
            || die "image benchhost-test/$image:latest is missing: run \`sudo tests/images/build.sh $image\` and rerun"
    else
        tests/images/build.sh "$image" >/dev/null
    fi
done
# The client VM (kernel, busybox, fio, mount helpers) from Debian packages; reused when current.
tests/vm/build.sh || die "could not build the client VM (tests/vm/build.sh, output above)"
say "ready"
