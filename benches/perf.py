#!/usr/bin/env python3
"""benchhost performance harness; run it through benches/perf.sh.

Measures, on the local engine and the local test images:
  * `benchhost list` wall time, warm and with an empty compile cache (fresh XDG_CACHE_HOME);
  * `benchhost up` wall time, and how long after an independent probe first gets an answer
    `up` exits (the probe is this process: an ONC RPC NULL call to the NFS program, with record
    marking, over TCP on the published port, every 5 ms from the moment the engine reports the
    container started; see StartWatch for why not earlier);
  * the same stack through Compose v2 (`docker compose --profile P up -d --wait`, then until
    the probe answers as well, since not every compose service has a healthcheck);
  * `benchhost down` wall time;
  * peak RSS of `benchhost up` (ru_maxrss from wait4, what `/usr/bin/time -f %M` reports).

benchhost and compose runs alternate, so both see the same machine load. Only the Python
standard library is used. Prints a table of medians, ratios and pass/fail against the goals;
raw numbers and each run's output go to --out (JSON + logs).
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

NFS_PROGRAM = 100003


def rpc_null_call(xid, program, version):
    """An ONC RPC v2 NULL call with AUTH_NONE, preceded by its record mark (RFC 5531)."""
    body = struct.pack(">10I", xid, 0, 2, program, version, 0, 0, 0, 0, 0)
    return struct.pack(">I", 0x80000000 | len(body)) + body


def rpc_reply_ok(reply, xid):
    """True for an accepted, successful reply to `xid`."""
    if len(reply) < 28:
        return False
    _mark, rxid, mtype, stat, _vflavor, vlen = struct.unpack(">6I", reply[:24])
    if rxid != xid or mtype != 1 or stat != 0 or len(reply) < 28 + vlen:
        return False
    (accept,) = struct.unpack(">I", reply[24 + vlen:28 + vlen])
    return accept == 0


class StartWatch(threading.Thread):
    """Sets `started` when the engine reports the start of a container labelled
    benchhost.service=<service> (benchhost's and compose's containers both carry it).

    The probe waits for it: a connection to the published port before the container's network
    is attached makes docker-proxy dial the container address too early, the host's ARP entry
    for it goes INCOMPLETE, and every later packet to it waits for the next ARP solicitation
    (net.ipv4.neigh.*.retrans_time_ms, 1 s): the probe itself would delay the service by up to
    1 s. No client does that to a real `up`, so the probe does not either.
    """

    def __init__(self, service):
        super().__init__(daemon=True)
        self.started = threading.Event()
        self.proc = subprocess.Popen(
            ["docker", "events", "--since", f"{time.time() - 0.05:.6f}", "--filter", "type=container", "--filter", "event=start",
             "--filter", f"label=benchhost.service={service}", "--format", "{{.ID}}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def run(self):
        for _line in self.proc.stdout:
            self.started.set()
            return

    def close(self):
        self.proc.kill()
        self.proc.wait()


class Probe(threading.Thread):
    """Loops an NFS NULL call on 127.0.0.1:port until the first good reply; records when.
    Probing begins once `gate` is set (see StartWatch)."""

    def __init__(self, port, version, gate=None, interval=0.005, limit=180.0):
        super().__init__(daemon=True)
        self.port, self.version, self.interval, self.limit = port, version, interval, limit
        self.gate = gate
        self.first = None  # time.monotonic() of the first good reply
        self.attempts = 0
        self.last_error = "not tried"
        self._halt = threading.Event()

    def stop(self):
        self._halt.set()
        if self.gate is not None:
            self.gate.set()

    def run(self):
        xid = 0x70657266  # "perf"
        call = rpc_null_call(xid, NFS_PROGRAM, self.version)
        end = time.monotonic() + self.limit
        if self.gate is not None:
            self.gate.wait(self.limit)
        while not self._halt.is_set() and time.monotonic() < end:
            self.attempts += 1
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as s:
                    s.settimeout(1.0)
                    s.sendall(call)
                    data = b""
                    while len(data) < 28:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if rpc_reply_ok(data, xid):
                        self.first = time.monotonic()
                        return
                    self.last_error = f"bad or empty reply ({len(data)} bytes)"
            except OSError as e:
                self.last_error = str(e)
            time.sleep(self.interval)


def run(argv, env=None, log=None, timeout=600):
    """Runs argv; returns (seconds, exit code, peak RSS in KiB, stdout text, start, end).
    A run killed by a signal nobody here sent (another process on a busy machine signalling a
    stale pid that is now one of ours) is run again, up to twice, with a note."""
    for attempt in range(3):
        r = run_once(argv, env, log, timeout)
        if r[1] >= 0 or r[1] == -9:
            return r
        print(f"note: {' '.join(os.path.basename(a) for a in argv[:2])} was killed by signal {-r[1]} from outside; running it again",
              file=sys.stderr, flush=True)
    return r


def run_once(argv, env, log, timeout):
    out = open(log + ".out", "w") if log else subprocess.DEVNULL
    err = open(log + ".err", "w") if log else subprocess.DEVNULL
    try:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.001)
        t1 = time.monotonic()
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log:
            out.close()
            err.close()
    text = open(log + ".out").read() if log else ""
    return t1 - t0, p.returncode, ru.ru_maxrss, text, t0, t1


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Harness:
    def __init__(self, args):
        self.a = args
        self.bin = os.path.abspath(args.benchhost)
        self.compose = args.compose.split() if args.compose else None
        self.env = dict(os.environ)
        self.env.update({
            "GANESHA_IMAGE": args.ganesha_image,
            "LOCALSTACK_IMAGE": args.localstack_image,
            "RCLONE_IMAGE": args.rclone_image,
            # run records of `up` (results/<timestamp>/) go with the harness output
            "BENCH_RESULTS_DIR": os.path.join(os.path.abspath(args.out), "results"),
        })
        self.out = args.out
        os.makedirs(os.path.join(self.out, "logs"), exist_ok=True)
        self.raw = {}
        self.ports = {}

    def log(self, name):
        return os.path.join(self.out, "logs", name)

    def note(self, msg):
        print(msg, file=sys.stderr, flush=True)

    # -- list -------------------------------------------------------------------------------
    def bench_list(self):
        secs, code, rss, text, _, _ = run([self.bin, "list", "--json"], self.env, self.log("list-warmup"))
        if code != 0:
            sys.exit(f"benchhost list failed (exit {code}); see {self.log('list-warmup')}.err")
        self.ports = {p["profile"]: p["port"] for p in json.loads(text)}
        warm = []
        for i in range(self.a.list_runs):
            secs, code, rss, _, _, _ = run([self.bin, "list"], self.env)
            warm.append(secs)
        self.raw["list_warm_s"] = warm
        cold = []
        cold_rss = []
        for i in range(self.a.runs):
            d = tempfile.mkdtemp(prefix="benchhost-perf-cache-")
            env = dict(self.env, XDG_CACHE_HOME=d)
            secs, code, rss, _, _, _ = run([self.bin, "list"], env, self.log(f"list-cold-{i}"))
            shutil.rmtree(d, ignore_errors=True)
            if code != 0:
                sys.exit(f"cold benchhost list failed (exit {code}); see {self.log(f'list-cold-{i}')}.err")
            cold.append(secs)
            cold_rss.append(rss)
        self.raw["list_cold_s"] = cold
        self.raw["list_cold_rss_kib"] = cold_rss
        self.note(f"list: warm median {median(warm) * 1000:.1f} ms, cold median {median(cold):.2f} s")

    # -- up / down / compose ----------------------------------------------------------------
    def bench_stack(self, profile, nfs_version):
        port = self.ports[profile]
        r = self.raw.setdefault(profile, {"up_s": [], "probe_s": [], "lag_s": [], "rss_kib": [], "down_s": [],
                                          "compose_s": [], "compose_exit_s": [], "compose_probe_s": [], "compose_down_s": []})
        for i in range(self.a.runs):
            # benchhost
            watch = StartWatch(profile)
            watch.start()
            probe = Probe(port, nfs_version, watch.started)
            probe.start()
            secs, code, rss, _, t0, t1 = run([self.bin, "up", profile], self.env, self.log(f"{profile}-up-{i}"))
            probe.join(timeout=5)
            probe.stop()
            watch.close()
            if code != 0:
                run([self.bin, "down", profile], self.env)
                sys.exit(f"benchhost up {profile} failed (exit {code}); see {self.log(f'{profile}-up-{i}')}.err")
            if probe.first is None:
                run([self.bin, "down", profile], self.env)
                sys.exit(f"the probe never got an answer from {profile} on 127.0.0.1:{port}: {probe.last_error}")
            r["up_s"].append(secs)
            r["probe_s"].append(probe.first - t0)
            r["lag_s"].append(t1 - probe.first)
            r["rss_kib"].append(rss)
            dsecs, dcode, _, _, _, _ = run([self.bin, "down", profile], self.env, self.log(f"{profile}-down-{i}"))
            if dcode != 0:
                sys.exit(f"benchhost down {profile} failed (exit {dcode}); see {self.log(f'{profile}-down-{i}')}.err")
            r["down_s"].append(dsecs)
            self.note(f"{profile} run {i + 1}/{self.a.runs}: up {secs:.2f} s (probe answered at {probe.first - t0:.2f} s, "
                      f"up exited {1000 * (t1 - probe.first):+.0f} ms later), rss {rss / 1024:.1f} MiB, down {dsecs:.2f} s")
            if not self.compose:
                continue
            # the same stack through Compose v2
            watch = StartWatch(profile)
            watch.start()
            probe = Probe(port, nfs_version, watch.started)
            probe.start()
            secs, code, _, _, t0, t1 = run(self.compose_argv(profile, "up", "-d", "--wait"), self.env, self.log(f"{profile}-compose-up-{i}"))
            probe.join(timeout=60)
            probe.stop()
            watch.close()
            if code != 0 or probe.first is None:
                self.compose_down(profile, i)
                sys.exit(f"compose up {profile} failed (exit {code}, probe: {probe.last_error}); see {self.log(f'{profile}-compose-up-{i}')}.err")
            ready = max(t1, probe.first)
            r["compose_s"].append(ready - t0)
            r["compose_exit_s"].append(secs)
            r["compose_probe_s"].append(probe.first - t0)
            csecs = self.compose_down(profile, i)
            r["compose_down_s"].append(csecs)
            self.note(f"{profile} run {i + 1}/{self.a.runs}: compose ready {ready - t0:.2f} s "
                      f"(exit {secs:.2f} s, probe {probe.first - t0:.2f} s), down -v {csecs:.2f} s")

    def compose_argv(self, profile, *cmd):
        return self.compose + ["-f", "docker-compose.yml", "-p", "benchhost-perf", "--profile", profile, *cmd]

    def compose_down(self, profile, i):
        secs, code, _, _, _, _ = run(self.compose_argv(profile, "down", "-v"), self.env, self.log(f"{profile}-compose-down-{i}"))
        if code != 0:
            sys.exit(f"compose down {profile} failed (exit {code}); see {self.log(f'{profile}-compose-down-{i}')}.err")
        return secs

    # -- report -----------------------------------------------------------------------------
    def report(self):
        rows = []

        def row(what, goal, value, ok, detail):
            rows.append((what, goal, value, "pass" if ok else ("n/a" if ok is None else "FAIL"), detail))

        w, c = median(self.raw["list_warm_s"]), median(self.raw["list_cold_s"])
        row("`benchhost list`, warm", "≤ 20 ms", f"{w * 1000:.1f} ms", w <= 0.020,
            f"median of {len(self.raw['list_warm_s'])}, max {max(self.raw['list_warm_s']) * 1000:.1f} ms")
        row("`benchhost list`, empty compile cache", "≤ 1.5 s", f"{c:.2f} s", c <= 1.5,
            f"median of {len(self.raw['list_cold_s'])}, max {max(self.raw['list_cold_s']):.2f} s")
        rss_all = []
        for profile in self.a.profiles:
            r = self.raw[profile]
            up, lag, probe = median(r["up_s"]), median(r["lag_s"]), median(r["probe_s"])
            row(f"`up {profile}` after the probe's first answer", "≤ 150 ms", f"{lag * 1000:.0f} ms", lag <= 0.150,
                f"up {up:.2f} s; probe first answered at {probe:.2f} s")
            if r["compose_s"]:
                comp = median(r["compose_s"])
                ratio = up / comp
                row(f"`up {profile}` / compose up --wait", "≤ 0.5×", f"{ratio:.3f}×", ratio <= 0.5,
                    f"{up:.2f} s vs {comp:.2f} s (compose exit {median(r['compose_exit_s']):.2f} s, probe {median(r['compose_probe_s']):.2f} s)")
            else:
                row(f"`up {profile}` / compose up --wait", "≤ 0.5×", "-", None, "Compose v2 not found (tests/setup.sh installs it)")
            d = median(r["down_s"])
            cd = f"; compose down -v {median(r['compose_down_s']):.2f} s" if r["compose_down_s"] else ""
            row(f"`down {profile}`", "≤ 2 s", f"{d:.2f} s", max(r["down_s"]) <= 2.0, f"max {max(r['down_s']):.2f} s{cd}")
            rss_all += r["rss_kib"]
        peak = max(rss_all) / 1024
        row("peak RSS of `benchhost up`", "≤ 64 MB", f"{peak:.1f} MiB", peak <= 64, f"max over {len(rss_all)} runs of {', '.join(self.a.profiles)}")

        head = ("what", "goal", "median", "result", "detail")
        widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(5)]
        fmt = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
        lines = [fmt.format(*head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [fmt.format(*x) for x in rows]
        table = "\n".join(lines)
        print(table)
        with open(os.path.join(self.out, "results.json"), "w") as f:
            json.dump({"raw": self.raw, "table": [dict(zip(head, x)) for x in rows], "runs": self.a.runs}, f, indent=2)
        with open(os.path.join(self.out, "results.md"), "w") as f:
            f.write(table + "\n")
        self.note(f"raw numbers and logs: {self.out}")
        return all(x[3] != "FAIL" for x in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchhost", default="target/release/benchhost")
    ap.add_argument("--compose", default="", help="Compose v2 command, e.g. 'docker compose' (empty: skip the comparison)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--list-runs", type=int, default=20)
    ap.add_argument("--profiles", nargs="+", default=["ganesha", "rclone"])
    ap.add_argument("--ganesha-image", default="benchhost/ganesha:4.3-2")
    ap.add_argument("--localstack-image", default="benchhost-test/localstack:latest")
    ap.add_argument("--rclone-image", default="benchhost-test/rclone:latest")
    ap.add_argument("--out", default="target/perf")
    args = ap.parse_args()
    h = Harness(args)
    h.bench_list()
    versions = {"ganesha": 4, "rclone": 3, "kernel-nfs": 4}
    for profile in args.profiles:
        h.bench_stack(profile, versions.get(profile, 4))
    sys.exit(0 if h.report() else 1)


if __name__ == "__main__":
    main()
