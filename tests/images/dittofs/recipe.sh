# shellcheck shell=bash
# Recipe for benchhost-test/dittofs:latest, sourced by tests/images/build.sh (`build.sh dittofs`).
#
# DittoFS's server `dfs` and its CLI `dfsctl`, built from the Go module
# github.com/marmos91/dittofs at DITTOFS_VERSION through the build host's Go module proxy (the
# module is plain Go with no cgo, so CGO_ENABLED=0 gives static binaries), laid out like the
# published image (its Dockerfile.goreleaser): user and group 65532 (`dittofs`, home /app),
# binary /app/dfs, /data/{metadata,content,cache} and /config owned by 65532 and declared
# volumes, ports 12049 (NFS), 12445 (SMB), 8080 (REST API), command
# `start --foreground --config /config/config.yaml`.
#
# Differences from the published image: Debian bookworm instead of Alpine 3.21; dfsctl is
# included (on PATH); the healthcheck client is busybox's wget (Alpine's wget is busybox too) and
# the image's HEALTHCHECK dials 127.0.0.1 rather than localhost (the API listens on IPv4 only,
# and localhost may resolve to ::1 first).
#
# How the module is built: `go mod download -json MODULE@VERSION` fetches exactly that version
# (checked against the Go checksum database), then `go build` runs inside the downloaded module,
# so the build uses the module's own go.mod and go.sum, as the release build does. (`go install
# MODULE/cmd/dfs@VERSION` would do the same build, but it also asks the proxy for the module's
# version list to look for a deprecation notice, and fails when the proxy refuses that list.)
# The version, commit and date are stamped with -ldflags like the release build (goreleaser),
# so `dfs version --short` prints DITTOFS_VERSION without the leading v, as the published
# image's does. Go's own module and build caches make a rebuild fast.
#
# Env: DITTOFS_VERSION (default below), GO (the go command, default `go`; Go >= 1.25, the
# module's `go` line, or GOTOOLCHAIN=auto to fetch one through the proxy).
# shellcheck disable=SC2034  # PACKAGES, CHANGES, VERSION_PKG are read by build.sh

DITTOFS_VERSION=${DITTOFS_VERSION:-0.29.0}
DITTOFS_VERSION=${DITTOFS_VERSION#v}
DITTOFS_MODULE=github.com/marmos91/dittofs

# ca-certificates and tzdata as in the published image; busybox for the healthcheck's wget.
PACKAGES=(ca-certificates tzdata busybox)
VERSION_PKG=
CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    "LABEL benchhost.dittofs-version=$DITTOFS_VERSION"
    "LABEL org.opencontainers.image.version=$DITTOFS_VERSION"
    'LABEL org.opencontainers.image.title=DittoFS'
    "LABEL org.opencontainers.image.source=https://$DITTOFS_MODULE"
    'WORKDIR /app'
    'USER 65532:65532'
    'EXPOSE 12049/tcp 12445/tcp 8080/tcp'
    'VOLUME ["/data/metadata","/data/content","/data/cache","/config"]'
    'HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/wget","-q","--spider","http://127.0.0.1:8080/health"]'
    'ENTRYPOINT ["/app/dfs"]'
    'CMD ["start","--foreground","--config","/config/config.yaml"]'
)

# Builds dfs and dfsctl into directory $1 (on the build host, with its Go and module proxy).
dittofs_build() {
    local out=$1 go=${GO:-go}
    command -v "$go" >/dev/null || { echo "dittofs recipe: no Go toolchain ('$go'); install Go >= 1.25 (or set GO=/path/to/go)" >&2; return 1; }
    local json dir info commit date
    json=$(CGO_ENABLED=0 "$go" mod download -json "$DITTOFS_MODULE@v$DITTOFS_VERSION") \
        || { echo "dittofs recipe: go mod download $DITTOFS_MODULE@v$DITTOFS_VERSION failed: $json" >&2; return 1; }
    dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
    info=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Info": "\(.*\)",*$/\1/p')
    commit=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)",*$/\1/p')
    date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null || true)
    [[ -d "$dir" && -f "$dir/cmd/dfs/main.go" ]] || { echo "dittofs recipe: the downloaded module has no cmd/dfs (dir '$dir')" >&2; return 1; }
    local ldflags="-s -w -X main.version=$DITTOFS_VERSION -X main.commit=${commit:-unknown} -X main.date=${date:-unknown}"
    (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=readonly "$go" build -trimpath -ldflags "$ldflags" -o "$out/" ./cmd/dfs ./cmd/dfsctl) \
        || { echo "dittofs recipe: go build of $DITTOFS_MODULE@v$DITTOFS_VERSION failed" >&2; return 1; }
}

post_install_dittofs() {
    local r=$1 bin
    bin=$(mktemp -d "${TMPDIR:-/tmp}/benchhost-dittofs-bin.XXXXXX")
    if ! dittofs_build "$bin"; then
        rm -rf "$bin"
        return 1
    fi
    install -D -m 0755 "$bin/dfs" "$r/app/dfs"
    install -D -m 0755 "$bin/dfsctl" "$r/usr/local/bin/dfsctl"
    rm -rf "$bin"
    ln -sf /app/dfs "$r/usr/local/bin/dfs"
    ln -sf /bin/busybox "$r/usr/local/bin/wget"
    local ver
    # cobra's cmd.Println writes to stderr
    ver=$(chroot "$r" /usr/bin/env -i /app/dfs version --short 2>&1)
    [[ "$ver" == "$DITTOFS_VERSION" ]] || { echo "dittofs recipe: /app/dfs reports version '$ver', not $DITTOFS_VERSION" >&2; return 1; }
    local help
    help=$(chroot "$r" /usr/bin/env -i /usr/local/bin/wget --help 2>&1 || true)
    [[ "$help" == *--spider* ]] || { echo "dittofs recipe: busybox has no wget --spider" >&2; return 1; }
    # As the published image's `adduser -S`: a system user outside useradd's UID range.
    echo 'dittofs:x:65532:' >>"$r/etc/group"
    echo 'dittofs:x:65532:65532:DittoFS:/app:/usr/sbin/nologin' >>"$r/etc/passwd"
    mkdir -p "$r/data/metadata" "$r/data/content" "$r/data/cache" "$r/config"
    chown -R 65532:65532 "$r/app" "$r/data" "$r/config"
}
