#!/usr/bin/env bash
# A second Docker engine on this machine that looks like another host: its own network namespace
# with its own address (10.201.0.2, reached from here over a veth pair whose host end is
# 10.201.0.1), its own data root, exec root, containerd and cgroup parent. The two-host tests run
# the servers there (DOCKER_HOST=tcp://10.201.0.2:2375) and the clients here. Root only.
#
#   remote-engine.sh start [--owner PID] [--tls] [IMAGE...]
#       Makes the namespace and the veth pair anew, starts dockerd in the namespace (its data root
#       kept from an earlier start in this boot; one older than the boot is removed) and waits until it answers (at most 60 s), then loads each IMAGE from this machine's engine (skipped when the
#       remote engine has that image id already). Idempotent: a running rig is reused. With
#       --owner, the rig is stopped (as by `stop`) once PID and every other owner have exited;
#       that is how a test process stops it when it ends, however it ends. Prints DOCKER_HOST=...
#       With --tls the engine listens on tcp://10.201.0.2:2376 with `--tlsverify` instead (a CA,
#       the engine's certificate for 10.201.0.2 and a client's, made once with openssl in
#       /run/benchhost-remote-engine/tls) and DOCKER_CERT_PATH=... is printed too; a rig running in
#       the other mode is restarted in the one asked for (its containers stay).
#   remote-engine.sh load IMAGE...         loads images into the running rig, as start does
#   remote-engine.sh stop-engine           stops only dockerd (its data, namespace and veth stay;
#                                          `start` brings it back with the same containers)
#   remote-engine.sh stop                  stops dockerd and removes its containers, the
#                                          namespace, the veth pair, its mounts, cgroups and dirs
#   remote-engine.sh status                exit 0 when it answers, 1 when not
#
# dockerd is started with `nsenter --net=`, not `ip netns exec`: the latter also remounts /sys for
# the namespace, and dockerd then fails with "Devices cgroup isn't mounted". `--tls=false` says the
# plain TCP listener is meant: without it dockerd 20.10 waits 15 s before it starts, to show that
# such a listener gives root to whoever reaches it (here only this machine can).
set -euo pipefail

readonly NS=benchhost-remote
readonly HOST_IF=bhr-host ENGINE_IF=bhr-engine
readonly HOST_ADDR=10.201.0.1 ENGINE_ADDR=10.201.0.2 PREFIX=24 PLAIN_PORT=2375 TLS_PORT=2376
readonly DATA_ROOT=/var/lib/benchhost-remote-engine
readonly RUN_DIR=/run/benchhost-remote-engine
readonly EXEC_ROOT=$RUN_DIR/exec PIDFILE=$RUN_DIR/dockerd.pid SOCK=$RUN_DIR/docker.sock
readonly OWNERS=$RUN_DIR/owners LOG=/tmp/benchhost-remote-engine.log
readonly TLS_DIR=$RUN_DIR/tls MODE_FILE=$RUN_DIR/mode
readonly CGROUP_PARENT=benchhost-remote
readonly LOCK=/run/benchhost-remote-engine.lock
readonly START_LIMIT=60
# plain or tls: what `start` was asked for (--tls).
mode=plain
SELF=$(readlink -f "$0")
readonly SELF

say() { echo "remote-engine: $*" >&2; }
die() { say "$*"; exit 1; }

remote() { docker -H "unix://$SOCK" "$@"; }

answers() { [[ -S $SOCK ]] && remote version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# The running dockerd's pid, or nothing.
engine_pid() {
    local pid
    [[ -r $PIDFILE ]] || return 0
    pid=$(<"$PIDFILE")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && grep -qa dockerd "/proc/$pid/cmdline" && echo "$pid"
    return 0
}

with_lock() {
    exec 9>"$LOCK"
    flock 9
}

# Whether the namespace, the veth pair and both addresses are all there.
network_ok() {
    ip addr show dev "$HOST_IF" 2>/dev/null | grep -q "inet $HOST_ADDR/$PREFIX " &&
        ip -n "$NS" addr show dev "$ENGINE_IF" 2>/dev/null | grep -q "inet $ENGINE_ADDR/$PREFIX "
}

remove_network() {
    if [[ -e /run/netns/$NS ]]; then ip netns delete "$NS"; fi
    if ip link show "$HOST_IF" >/dev/null 2>&1; then ip link delete "$HOST_IF"; fi
}

# The namespace and the veth pair, made anew (nothing runs in the namespace then). No default
# route in the namespace: nothing there reaches past this machine.
make_network() {
    remove_network
    ip netns add "$NS"
    ip link add "$HOST_IF" type veth peer name "$ENGINE_IF"
    ip link set "$ENGINE_IF" netns "$NS"
    ip addr add "$HOST_ADDR/$PREFIX" dev "$HOST_IF"
    ip link set "$HOST_IF" up
    ip -n "$NS" addr add "$ENGINE_ADDR/$PREFIX" dev "$ENGINE_IF"
    ip -n "$NS" link set "$ENGINE_IF" up
    ip -n "$NS" link set lo up
}

# Both listeners answer: the socket (for loading images) and the address clients use, in the
# mode asked for.
answers_both() {
    answers || return 1
    if [[ $mode == tls ]]; then
        docker -H "tcp://$ENGINE_ADDR:$TLS_PORT" --tlsverify --tlscacert "$TLS_DIR/client/ca.pem" \
            --tlscert "$TLS_DIR/client/cert.pem" --tlskey "$TLS_DIR/client/key.pem" \
            version --format '{{.Server.Version}}' >/dev/null 2>&1
    else
        docker -H "tcp://$ENGINE_ADDR:$PLAIN_PORT" version --format '{{.Server.Version}}' >/dev/null 2>&1
    fi
}

# A CA, the engine's certificate (for its address) and a client's, each made once: the client
# directory holds ca.pem, cert.pem and key.pem as DOCKER_CERT_PATH wants them.
make_certs() {
    local d=$TLS_DIR
    [[ -s $d/client/key.pem && -s $d/server/key.pem ]] && return 0
    mkdir -p "$d/ca" "$d/server" "$d/client"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=benchhost test CA" \
        -keyout "$d/ca/key.pem" -out "$d/ca/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$ENGINE_ADDR" -keyout "$d/server/key.pem" -out "$d/server/req.pem" 2>/dev/null
    printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$ENGINE_ADDR" >"$d/server/ext.cnf"
    openssl x509 -req -in "$d/server/req.pem" -CA "$d/ca/ca.pem" -CAkey "$d/ca/key.pem" -CAcreateserial \
        -days 30 -extfile "$d/server/ext.cnf" -out "$d/server/cert.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=benchhost test client" -keyout "$d/client/key.pem" -out "$d/client/req.pem" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >"$d/client/ext.cnf"
    openssl x509 -req -in "$d/client/req.pem" -CA "$d/ca/ca.pem" -CAkey "$d/ca/key.pem" -CAcreateserial \
        -days 30 -extfile "$d/client/ext.cnf" -out "$d/client/cert.pem" 2>/dev/null
    cp "$d/ca/ca.pem" "$d/server/ca.pem"
    cp "$d/ca/ca.pem" "$d/client/ca.pem"
    chmod 0644 "$d/client/key.pem"
}

# DOCKER_HOST for the mode asked for.
docker_host() {
    if [[ $mode == tls ]]; then echo "tcp://$ENGINE_ADDR:$TLS_PORT"; else echo "tcp://$ENGINE_ADDR:$PLAIN_PORT"; fi
}

start_engine() {
    local pid t0
    if [[ -n $(engine_pid) ]] && network_ok && [[ $(cat "$MODE_FILE" 2>/dev/null) == "$mode" ]] && answers_both; then
        return 0
    fi
    stop_engine
    # The rig's first start since this machine booted (RUN_DIR is on /run, the data root is
    # not): a data root from before is what a rig that was never stopped left, or what a stop
    # cut off half-way left (image records whose layers are gone: every create then fails
    # with "overlay2/…/link: no such file or directory"). It goes; `stop-engine` then `start`
    # keeps the mode file, so a restarted engine keeps its containers.
    if [[ ! -e $MODE_FILE && -e $DATA_ROOT ]]; then
        say "removing $DATA_ROOT, left from before this machine booted"
        unmount_under "$DATA_ROOT"
        rm -rf "$DATA_ROOT"
    fi
    make_network
    mkdir -p "$DATA_ROOT" "$EXEC_ROOT" "$OWNERS"
    # Its own identity: dockerd 20.10 derives the engine ID (`docker info`'s ID) from a key in
    # /etc/docker unless told otherwise, so without this both engines would say the same ID.
    echo "{\"deprecated-key-path\": \"$DATA_ROOT/key.json\"}" >"$RUN_DIR/daemon.json"
    local listen=(-H "tcp://$ENGINE_ADDR:$PLAIN_PORT" --tls=false)
    if [[ $mode == tls ]]; then
        make_certs
        listen=(-H "tcp://$ENGINE_ADDR:$TLS_PORT" --tlsverify --tlscacert "$TLS_DIR/server/ca.pem"
            --tlscert "$TLS_DIR/server/cert.pem" --tlskey "$TLS_DIR/server/key.pem")
    fi
    echo "$mode" >"$MODE_FILE"
    t0=$SECONDS
    # 9>&-: dockerd must not inherit this script's lock.
    setsid nsenter --net="/run/netns/$NS" dockerd \
        --config-file "$RUN_DIR/daemon.json" \
        --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE" \
        -H "unix://$SOCK" "${listen[@]}" \
        --cgroup-parent "$CGROUP_PARENT" >>"$LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    until answers_both; do
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS - t0 > START_LIMIT)); then
            tail -20 "$LOG" >&2
            stop_engine
            die "dockerd in namespace $NS did not answer within ${START_LIMIT}s (log above, all of it in $LOG)"
        fi
        sleep 0.2
    done
    say "engine up at $(docker_host) ($mode) in $((SECONDS - t0))s (log: $LOG)"
}

# Stops dockerd (it stops its containers and its containerd on the way out); KILL after 30 s.
stop_engine() {
    local pid i
    pid=$(engine_pid)
    if [[ -n $pid ]]; then
        kill -TERM "$pid"
        for ((i = 0; i < 150; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    # Its containerd and shims, and what ran in its containers, if dockerd was killed before it
    # could stop them.
    pkill_under "$EXEC_ROOT"
    kill_cgroup
    rm -f "$PIDFILE"
}

# Kills every process in this rig's cgroup parent (its containers' processes).
kill_cgroup() {
    local f pid
    for f in /sys/fs/cgroup/*/"$CGROUP_PARENT"/*/cgroup.procs; do
        [[ -r $f ]] || continue
        while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$f"
    done
}

# Kills the processes whose command line names DIR (this rig's containerd and shims only).
pkill_under() {
    local dir=$1 p
    for p in /proc/[0-9]*; do
        grep -qaF -- "$dir" "$p/cmdline" 2>/dev/null && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    return 0
}

# Unmounts everything under DIR, deepest first.
unmount_under() {
    local dir=$1 m
    awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done
}

remove_all() {
    local c
    stop_engine
    unmount_under "$EXEC_ROOT"
    unmount_under "$DATA_ROOT"
    remove_network
    rm -rf "$DATA_ROOT" "$RUN_DIR"
    for c in /sys/fs/cgroup/*/"$CGROUP_PARENT"; do
        [[ -d $c ]] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    return 0
}

load_images() {
    local image want have
    for image in "$@"; do
        want=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null) || die "image $image is not on this machine's engine (build it with tests/images/build.sh)"
        have=$(remote image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
        [[ $want == "$have" ]] && continue
        docker save "$image" | remote load -q >&2
    done
}

# Records PID as an owner (with its start time, so a reused pid is not taken for it) and makes
# sure a watcher runs.
add_owner() {
    local pid=$1 started
    started=$(awk '{print $22}' "/proc/$pid/stat") || die "no process $pid"
    mkdir -p "$OWNERS"
    echo "$started" >"$OWNERS/$pid"
    if ! { [[ -r $RUN_DIR/watcher.pid ]] && kill -0 "$(<"$RUN_DIR/watcher.pid")" 2>/dev/null; }; then
        setsid "$SELF" watch >>"$LOG" 2>&1 </dev/null 9>&- &
        echo $! >"$RUN_DIR/watcher.pid"
    fi
}

# Drops owners that have exited; true when one is left.
owners_alive() {
    local f pid alive=1
    for f in "$OWNERS"/*; do
        [[ -e $f ]] || continue
        pid=${f##*/}
        if [[ -r /proc/$pid/stat && $(awk '{print $22}' "/proc/$pid/stat") == "$(<"$f")" ]]; then
            alive=0
        else
            rm -f "$f"
        fi
    done
    return $alive
}

watch_owners() {
    while sleep 1; do
        with_lock
        [[ -d $OWNERS ]] || exit 0
        if ! owners_alive; then
            say "every owner has exited: stopping the rig"
            rm -f "$RUN_DIR/watcher.pid"
            remove_all
            exit 0
        fi
        exec 9>&-
    done
}

[[ $EUID -eq 0 ]] || die "needs root (network namespaces and a second dockerd)"
for tool in ip nsenter dockerd docker flock; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

cmd=${1:-}
shift || true
case "$cmd" in
    start)
        owner=
        if [[ ${1:-} == --owner ]]; then
            owner=${2:?--owner needs a pid}
            shift 2
        fi
        if [[ ${1:-} == --tls ]]; then
            mode=tls
            shift
        fi
        with_lock
        start_engine
        [[ -n $owner ]] && add_owner "$owner"
        load_images "$@"
        echo "DOCKER_HOST=$(docker_host)"
        [[ $mode == plain ]] || echo "DOCKER_CERT_PATH=$TLS_DIR/client"
        ;;
    load)
        with_lock
        answers || die "the rig is not running (remote-engine.sh start)"
        load_images "$@"
        ;;
    stop-engine)
        with_lock
        stop_engine
        ;;
    stop)
        with_lock
        remove_all
        say "stopped; namespace $NS, veth $HOST_IF, $DATA_ROOT and $RUN_DIR removed"
        ;;
    status)
        answers
        ;;
    watch)
        watch_owners
        ;;
    *)
        die "usage: remote-engine.sh start [--owner PID] [--tls] [IMAGE...] | load IMAGE... | stop-engine | stop | status"
        ;;
esac
