#!/usr/bin/env python3
"""What `benchhost bench` costs a measurement, on the client VM and on FUSE; `make bench-overhead`.

For each client (the client VM against NFS-Ganesha; this host against JuiceFS over FUSE) it runs
one workload (default rand-read-4k, time-based, so every run lasts RUNTIME seconds) REPEATS times
through `benchhost bench`, then the same fio job file with the same parameters REPEATS times by
hand on the same system's mount (`benchhost up`, then fio in one `benchhost vm run` job or on the
host mount, then `benchhost down`), and reports:

  * benchhost's own time per cell outside fio, up/down excluded: the cell's total minus fio's
    wall time, layout, cache drops and cleanup (record.seconds), in % of RUNTIME (goal <= 2 %);
  * fio's wall time around its own runtime: the client's cost of starting fio and returning
    its report (through a VM session step on the VM);
  * the median IOPS through benchhost against by hand (goal: within +-5 %);
  * the matrix's wall time against the sum of its cells (up, VM boot and down are the rest).

Python standard library only. Needs root (FUSE's shared mount), the engine, the local test
images and the client VM (`make vm`). Prints a markdown table; raw numbers go to --out.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = {
    "GANESHA_IMAGE": "benchhost-test/ganesha:latest",
    "JUICEFS_IMAGE": "benchhost-test/juicefs:latest",
    "POSTGRES_IMAGE": "benchhost-test/postgres:latest",
    "LOCALSTACK_IMAGE": "benchhost-test/localstack:latest",
}
FUSE_MOUNT = "/tmp/benchhost-overhead-juicefs"


def run(argv, env=None, check=True):
    """Runs argv; returns (stdout, stderr). Exits with its stderr when it fails and check is set."""
    p = subprocess.run(argv, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if check and p.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p.stdout, p.stderr


def size_row(name):
    for line in open(os.path.join(ROOT, "workloads/sizes.conf")):
        f = line.split()
        if f and f[0] == name:
            return {"FILE_SIZE": f[1], "NR_FILES": f[2], "SEQ_BLOCK": f[3]}
    sys.exit(f"no size {name} in workloads/sizes.conf")


def iops(fio):
    return sum(j["read"]["iops"] + j["write"]["iops"] for j in fio["jobs"])


def fio_runtime_s(fio):
    return max(max(j["read"]["runtime"], j["write"]["runtime"]) for j in fio["jobs"]) / 1000.0


def through_benchhost(bin_, profile, client, workload, size, runtime, repeats, out, env):
    root = tempfile.mkdtemp(prefix="overhead-", dir=out)
    t = time.monotonic()
    stdout, _ = run([bin_, "bench", profile, "--client", client, "--workloads", workload, "--sizes", size, "--passes", "warm", "--repeats", str(repeats), "--runtime", str(runtime), "--results-dir", root, "--json"], env)
    wall = time.monotonic() - t
    summary = json.loads(stdout)
    raw = os.path.join(summary["run_dir"], "raw", profile)
    cells = [json.load(open(os.path.join(raw, f))) for f in sorted(os.listdir(raw)) if f.endswith(".json")]
    own, around = [], []
    for c in cells:
        s = c["record"]["seconds"]
        own.append(s["total"] - s["fio"] - s.get("layout", 0) - s.get("cold", 0) - s.get("cleanup", 0))
        around.append(s["fio"] - fio_runtime_s(c["fio"]))
    return {
        "iops": [iops(c["fio"]) for c in cells],
        "own_s": own,
        "around_fio_s": around,
        "matrix_wall_s": summary["seconds"],
        "cells_s": summary["cell_seconds"],
        "command_wall_s": wall,
    }


def fio_script(workload, params, dirs, report_marker):
    """A shell script running the job once per directory in dirs, each after a layout."""
    job = open(os.path.join(ROOT, "workloads", workload + ".fio")).read()
    lines = [f"cat >/tmp/{workload}.fio <<'BENCHHOST_EOF'", job.rstrip("\n"), "BENCHHOST_EOF"]
    for k, v in params.items():
        lines.append(f"export {k}='{v}'")
    for i, d in enumerate(dirs):
        lines += [
            f"rm -rf {d}; mkdir -p {d}",
            f"BENCH_DIR={d} fio --output-format=json --output=/tmp/layout.json --create_only=1 /tmp/{workload}.fio >/dev/null || exit 1",
            f"BENCH_DIR={d} fio --output-format=json --output=/tmp/run{i}.json /tmp/{workload}.fio >/dev/null || exit 1",
            f"echo {report_marker}; cat /tmp/run{i}.json; rm -rf {d}",
        ]
    return "\n".join(lines) + "\n"


def reports(text, marker):
    out = []
    for chunk in text.split(marker + "\n")[1:]:
        out.append(json.loads(chunk[chunk.index("{"):]))
    return out


def by_hand(bin_, profile, client, workload, size, runtime, repeats, out, env):
    params = {**size_row(size), "RUNTIME": str(runtime), "IOENGINE": "libaio"}
    up_env = {**env, "BENCH_RESULTS_DIR": os.path.join(out, "by-hand")}
    if client == "vm":
        up_env["BENCH_SERVER_ADDRESS"] = "10.0.2.2"
    stdout, _ = run([bin_, "up", profile], up_env)
    try:
        mount = [l for l in stdout.splitlines() if l.strip() and not l.startswith("#")]
        marker = "benchhost-overhead-report"
        if client == "vm":
            line = mount[-1].replace("sudo ", "")
            d = line.split()[-1]
            script = line + "\n" + fio_script(workload, params, [f"{d}/hand-{i}" for i in range(repeats)], marker) + f"umount {d}\n"
            job = os.path.join(out, "by-hand.sh")
            open(job, "w").write(script)
            text, _ = run([bin_, "vm", "run", job, "--timeout", str(repeats * (runtime * 4 + 60))])
        else:
            script = fio_script(workload, params, [f"{FUSE_MOUNT}/hand-{i}" for i in range(repeats)], marker)
            text = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
        return {"iops": [iops(r) for r in reports(text, marker)]}
    finally:
        run([bin_, "down", profile], up_env, check=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/benchhost"))
    ap.add_argument("--workload", default="rand-read-4k")
    ap.add_argument("--size", default="small")
    ap.add_argument("--runtime", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(ROOT, "target/bench-overhead"))
    ap.add_argument("--clients", default="vm,host")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    env = dict(IMAGES)
    env["JUICEFS_MOUNT"] = FUSE_MOUNT
    cases = {"vm": "ganesha", "host": "juicefs"}
    results = {}
    for client in a.clients.split(","):
        profile = cases[client]
        if client == "host":
            os.makedirs(FUSE_MOUNT, exist_ok=True)
            run(["mount", "--bind", FUSE_MOUNT, FUSE_MOUNT])
            run(["mount", "--make-shared", FUSE_MOUNT])
        try:
            b = through_benchhost(a.bin, profile, client, a.workload, a.size, a.runtime, a.repeats, a.out, env)
            h = by_hand(a.bin, profile, client, a.workload, a.size, a.runtime, a.repeats, a.out, env)
        finally:
            if client == "host":
                run(["umount", "-l", FUSE_MOUNT], check=False)
        results[client] = {"profile": profile, "benchhost": b, "by_hand": h}
    json.dump(results, open(os.path.join(a.out, "results.json"), "w"), indent=2)
    print(f"| client | system | {a.workload} IOPS via benchhost (median of {a.repeats}) | by hand | difference | benchhost's own time per cell | in % of RUNTIME={a.runtime} s | fio's wall time over its runtime | matrix wall / sum of cells |")
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for client, r in results.items():
        b, h = r["benchhost"], r["by_hand"]
        mb, mh = statistics.median(b["iops"]), statistics.median(h["iops"])
        diff = (mb - mh) / mh * 100
        own = statistics.median(b["own_s"])
        pct = own / a.runtime * 100
        around = statistics.median(b["around_fio_s"])
        ok &= abs(diff) <= 5 and pct <= 2
        print(f"| {client} | {r['profile']} | {mb:,.0f} | {mh:,.0f} | {diff:+.1f} % | {own:.3f} s | {pct:.2f} % | {around:.2f} s | {b['matrix_wall_s']:.1f} s / {b['cells_s']:.1f} s |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
