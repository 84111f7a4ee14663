#!/usr/bin/env bash
# End-to-end check of the ganesha test image with a real NFS client (libnfs-utils
# on the host): start the container exactly as benchhost should, wait until
# nfs-ls answers, write a file over NFSv4, read it back, compare bytes; then the
# same over NFSv3 (rpcbind + pinned MOUNT port). Removes every container it made.
#
# Usage: tests/images/ganesha/smoke.sh [v4|v3|all]   (default all)
# Env:   IMAGE (default benchhost-test/ganesha:latest), NFS_HOST_PORT (22049),
#        MNT_HOST_PORT (22048)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGE=${IMAGE:-benchhost-test/ganesha:latest}
NFS_HOST_PORT=${NFS_HOST_PORT:-22049}
MNT_HOST_PORT=${MNT_HOST_PORT:-22048}
WHICH=${1:-all}

for t in docker nfs-ls nfs-cp nfs-cat; do
    command -v "$t" >/dev/null || { echo "smoke: missing $t (apt-get install -y libnfs-utils)" >&2; exit 1; }
done
docker image inspect "$IMAGE" >/dev/null 2>&1 || "$HERE/../build.sh" ganesha

TMP=$(mktemp -d)
CONTAINERS=()
cleanup() {
    for c in "${CONTAINERS[@]}"; do docker rm -fv "$c" >/dev/null 2>&1 || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# run_case NAME CONF URLQUERY WRITE_SIZE [extra docker create args...] -- [command argv...]
run_case() {
    local name=$1 conf=$2 query=$3 write_size=$4; shift 4
    local create_args=() cmd=()
    while [[ $# -gt 0 && $1 != -- ]]; do create_args+=("$1"); shift; done
    [[ $# -gt 0 ]] && shift
    cmd=("$@")
    local c="benchhost-smoke-ganesha-$name-$$"
    echo "== $name: $IMAGE ${cmd[*]:-(image CMD)}"
    # The settings benchhost needs: CAP_DAC_READ_SEARCH (open_by_handle_at) and
    # a seccomp profile that allows name_to_handle_at (default profile only
    # allows it with CAP_SYS_ADMIN). /export is the image's VOLUME.
    docker create --name "$c" \
        --cap-add DAC_READ_SEARCH --security-opt seccomp=unconfined \
        -p "127.0.0.1:$NFS_HOST_PORT:2049" "${create_args[@]}" \
        "$IMAGE" "${cmd[@]}" >/dev/null
    CONTAINERS+=("$c")
    # upload the config into the created container, as benchhost does
    docker cp "$conf" "$c:/etc/ganesha/ganesha.conf"

    local t0 url base="nfs://127.0.0.1/export"
    t0=$(now)
    docker start "$c" >/dev/null
    local tries=0
    until nfs-ls "$base?$query" >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [[ $tries -gt 600 ]] || [[ $(docker inspect -f '{{.State.Running}}' "$c") != true ]]; then
            echo "smoke: $name: server never answered; logs:" >&2
            docker logs "$c" 2>&1 | tail -30 >&2
            return 1
        fi
        sleep 0.05
    done
    local t_ls t_write size=$write_size d="$TMP/$name"
    t_ls=$(since "$t0")
    mkdir -p "$d"   # nfs-cp refuses to overwrite an existing local file
    head -c "$size" /dev/urandom >"$d/hello.txt"
    url="$base/hello-$name.txt?$query"
    nfs-cp "$d/hello.txt" "$url" >/dev/null
    t_write=$(since "$t0")
    nfs-cat "$url" >"$d/back.txt"
    cmp "$d/hello.txt" "$d/back.txt"
    nfs-cp "$url" "$d/back2.txt" >/dev/null
    cmp "$d/hello.txt" "$d/back2.txt"
    # the file really landed in the exported directory, owned by root (no_root_squash)
    docker exec "$c" stat -c '%U %s' "/export/hello-$name.txt" | grep -qx "root $size"
    echo "   start->nfs-ls ok: ${t_ls}s   start->first write ok: ${t_write}s   write+readback: identical ($size bytes)"
    # large read: 8 MiB written inside the container, read over NFS
    docker exec "$c" sh -c 'head -c 8388608 /dev/urandom >/export/big.bin'
    nfs-cp "$base/big.bin?$query" "$d/big.bin" >/dev/null
    [[ $(sha256sum <"$d/big.bin") == "$(docker exec "$c" sh -c 'sha256sum </export/big.bin')" ]]
    echo "   8 MiB read over NFS: identical"

    # docker health status turns healthy (image HEALTHCHECK: nfs-ls over v4)
    local h
    for _ in $(seq 1 100); do
        h=$(docker inspect -f '{{.State.Health.Status}}' "$c")
        [[ $h == healthy ]] && break
        sleep 0.1
    done
    echo "   docker health: $h after $(since "$t0")s"
    [[ $h == healthy ]]
    local ts
    ts=$(now)
    docker stop -t 10 "$c" >/dev/null
    echo "   docker stop took $(since "$ts")s, exit code $(docker inspect -f '{{.State.ExitCode}}' "$c")"
    docker rm -fv "$c" >/dev/null
}

if [[ $WHICH == v4 || $WHICH == all ]]; then
    # Debian bookworm's libnfs 4.0 encodes every NFSv4 COMPOUND into a 4 KiB
    # buffer, so one NFSv4 WRITE of more than ~3.9 KB fails client-side
    # ("Failed to write to dest file", nothing reaches the server; fixed in
    # libnfs 5.0). Hence a 3000-byte file over v4 here, 1 MiB over v3.
    run_case v4 "$HERE/ganesha.conf" "version=4&nfsport=$NFS_HOST_PORT" 3000
fi
if [[ $WHICH == v3 || $WHICH == all ]]; then
    run_case v3 "$HERE/ganesha-v3.conf" "version=3&nfsport=$NFS_HOST_PORT&mountport=$MNT_HOST_PORT" 1048576 \
        -p "127.0.0.1:$MNT_HOST_PORT:20048" -- \
        /bin/sh -c 'rpcbind && exec /usr/bin/ganesha.nfsd -F -L STDERR -f /etc/ganesha/ganesha.conf'
fi
echo "smoke: OK"
