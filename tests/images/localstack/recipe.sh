# shellcheck shell=bash
# Recipe for benchhost-test/localstack:latest, sourced by tests/images/build.sh (`build.sh localstack`).
#
# LocalStack's S3 (localstack-core from PyPI, installed with pip into the image's python3, which
# is Debian bookworm's 3.11) on port 4566, the server the `localstack` plugin runs
# (LOCALSTACK_IMAGE=benchhost-test/localstack:latest). See README.md here for what was measured.
#
# - localstack-core 4.13.1 is the newest release that runs on Python 3.11 (4.14 needs 3.12).
#   Two pins are needed with it: cbor2 6 moved a module LocalStack imports (start-up then fails
#   with "No component plugins found in namespace localstack.runtime.components"), and
#   pyOpenSSL 26 breaks the certificate code that runs at every start.
# - The image is started once during the build, in a network namespace of its own (loopback
#   only: the build uses no host port and proves the server needs no network). That start builds
#   LocalStack's service-catalog cache (/var/lib/localstack/cache/service-catalog-*.dill, ~4 s of
#   every cold start) and its TLS certificate into the image, and checks that S3 answers (health
#   says s3 "running", a bucket is created and deleted). It is stopped only after it is ready,
#   with SIGTERM, and SIGKILL after LS_STOP_GRACE seconds.
# - tini is PID 1 so SIGTERM reaches LocalStack (Python as PID 1 ignores it), through
#   localstack-s3 (in this directory): LocalStack 4.13.1 loses a SIGTERM that arrives while it
#   starts and then runs until SIGKILL, so before the gateway answers that script stops it with
#   SIGKILL. The default gateway server (twisted) is kept: the hypercorn one can hang when
#   stopped early as well.
# Env: LOCALSTACK_VERSION pins the PyPI release (default below).
# shellcheck disable=SC2034  # PACKAGES, CHANGES, VERSION_PKG are read by build.sh

LOCALSTACK_VERSION=${LOCALSTACK_VERSION:-4.13.1}
LS_RECIPE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LS_STOP_GRACE=15

# The server's settings, baked into the image (ENV) and used by the build-time start alike.
LS_ENV=(
    SERVICES=s3                  # S3 only
    EAGER_SERVICE_LOADING=1      # start S3 at boot: health says "running" before the first request
    GATEWAY_LISTEN=0.0.0.0:4566  # all interfaces (reached through a published port)
    DISABLE_EVENTS=1             # no analytics calls
    SKIP_SSL_CERT_DOWNLOAD=1     # no certificate download (5 s timeouts offline): self-signed
    DNS_ADDRESS=0                # no DNS server of its own on :53
    OVERRIDE_IN_DOCKER=1         # container layout (/var/lib/localstack) also during the build start
    DOCKER_BRIDGE_IP=127.0.0.1   # skip pinging 172.17.0.1/172.18.0.1 at import
)

# python3-pip pulls python3 (3.11); curl is the healthcheck's client (the plugin's too); tini PID 1.
PACKAGES=(python3 python3-pip curl ca-certificates tini)
VERSION_PKG=
CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'ENV PYTHONUNBUFFERED=1'
    "LABEL benchhost.localstack-version=$LOCALSTACK_VERSION"
    'EXPOSE 4566/tcp'
    'ENTRYPOINT ["/usr/bin/tini","--"]'
    # localstack-s3 (next to this recipe): LocalStack, with a stop that cannot hang.
    'CMD ["/usr/local/bin/localstack-s3"]'
    # Ready = S3 running in the health report, and (until it has once) a ListObjectsV2 of a
    # bucket nobody makes answered by S3 with NoSuchBucket: the localstack plugin's check.
    "HEALTHCHECK --interval=1s --timeout=3s --start-period=30s --retries=3 CMD curl -sf http://127.0.0.1:4566/_localstack/health | grep -Eq '\"s3\": ?\"running\"' && { [ -f /tmp/.benchhost-s3-answered ] || { curl -s 'http://127.0.0.1:4566/benchhost-readiness-probe?list-type=2' | grep -q '<Code>NoSuchBucket</Code>' && touch /tmp/.benchhost-s3-answered; }; }"
)
for kv in "${LS_ENV[@]}"; do CHANGES+=("ENV $kv"); done

# Runs LocalStack once in the rootfs $1 inside a fresh network namespace (see the top) and
# stops it. Called through `unshare --net`, so it brings loopback up first.
localstack_build_start() {
    local r=$1 log=$2 grace=$3; shift 3
    ip link set lo up
    local t0 t1 pid health="" ok=0 i
    t0=$(date +%s.%N)
    chroot "$r" /usr/bin/env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@" \
        /usr/bin/python3 -m localstack.runtime.main >"$log" 2>&1 &
    pid=$!
    for ((i = 0; i < 1200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        health=$(chroot "$r" curl -s --max-time 2 http://127.0.0.1:4566/_localstack/health || true)
        if [[ $health =~ \"s3\":\ ?\"running\" ]]; then ok=1; break; fi
        sleep 0.1
    done
    t1=$(date +%s.%N)
    if ((ok)); then
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "localstack recipe: cold start to s3 running: %.1fs\n", b - a }' >&2
        [[ $health =~ \"version\":\ ?\"([^\"]*)\" ]] && echo "localstack recipe: health: s3 running, version ${BASH_REMATCH[1]}" >&2
        # Unsigned requests are served (no credentials needed): a bucket round trip proves S3.
        local code
        code=$(chroot "$r" curl -s -o /dev/null -w '%{http_code}' -X PUT http://127.0.0.1:4566/benchhost-build-check)
        [[ $code == 200 ]] || { echo "localstack recipe: PUT /benchhost-build-check answered $code" >&2; ok=0; }
        code=$(chroot "$r" curl -s -o /dev/null -w '%{http_code}' -X DELETE http://127.0.0.1:4566/benchhost-build-check)
        [[ $code == 204 ]] || { echo "localstack recipe: DELETE /benchhost-build-check answered $code" >&2; ok=0; }
        # Stop only once Ready. was printed (a stop during start-up is where servers hang).
        for ((i = 0; i < 100; i++)); do grep -q '^Ready\.' "$log" && break; sleep 0.1; done
    fi
    local s0 s1 stopped=0
    s0=$(date +%s.%N)
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { stopped=1; break; }
        sleep 0.1
    done
    if ((!stopped)); then
        echo "localstack recipe: no exit ${grace}s after SIGTERM: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    s1=$(date +%s.%N)
    awk -v a="$s0" -v b="$s1" 'BEGIN { printf "localstack recipe: stop took %.1fs\n", b - a }' >&2
    ((ok)) || { tail -40 "$log" >&2; echo "localstack recipe: LocalStack did not serve S3 (log above)" >&2; return 1; }
}

post_install_localstack() {
    local r=$1
    install -m 0755 "$LS_RECIPE_DIR/localstack-s3" "$r/usr/local/bin/localstack-s3"
    # twisted[tls]: the default gateway server imports twisted.internet.ssl, which needs
    # service_identity; base-runtime does not pull it in.
    chroot_pip "$r" "localstack-core[base-runtime]==$LOCALSTACK_VERSION" "cbor2<6" "pyopenssl<26" "twisted[tls]"
    local v
    v=$(chroot "$r" /usr/bin/python3 -c 'import localstack.version as v; print(v.__version__)')
    [[ $v == "$LOCALSTACK_VERSION" ]] || { echo "localstack recipe: installed localstack-core is $v, want $LOCALSTACK_VERSION" >&2; return 1; }

    local log="$r/tmp/localstack-build-start.log"
    # The runtime waits for its gateway at "localhost" before it prints Ready.; the base has no
    # /etc/hosts (Docker writes one into every container), so the build start gets its own.
    local hosts_tmp=
    if [[ ! -e $r/etc/hosts ]]; then
        hosts_tmp=$r/etc/hosts
        printf '127.0.0.1\tlocalhost\n' >"$hosts_tmp"
    fi
    unshare --net -- bash -c "$(declare -f localstack_build_start); localstack_build_start \"\$@\"" _ \
        "$r" "$log" "$LS_STOP_GRACE" "${LS_ENV[@]}"
    rm -f "$hosts_tmp"
    local cache=("$r"/var/lib/localstack/cache/service-catalog-*.dill)
    [[ -s ${cache[0]} ]] || { ls -lR "$r/var/lib/localstack" >&2; echo "localstack recipe: no service-catalog cache after the build start" >&2; return 1; }
    local baked
    baked=$(find "$r/var/lib/localstack/cache" -mindepth 1 -maxdepth 1 -printf '%f ')
    echo "localstack recipe: baked into /var/lib/localstack/cache: $baked($(du -sh "$r/var/lib/localstack/cache" | cut -f1))" >&2
    # Keep the cache (catalog index, certificate); drop what belongs to that one run.
    rm -f "$r/var/lib/localstack/cache/machine.json"
    rm -rf "$r/var/lib/localstack/tmp" "$r/var/lib/localstack/logs" "$r/var/lib/localstack/state" "$r/tmp/localstack"
}
