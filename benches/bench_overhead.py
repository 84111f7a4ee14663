#!/usr/bin/env python3
"""What `benchhost bench` costs a measurement, on the client VM and on FUSE; `make bench-overhead`.

For each client (the client VM against NFS-Ganesha; this host against JuiceFS over FUSE) it runs
one workload (default rand-read-4k, time-based, so every run lasts RUNTIME seconds) in REPEATS
interleaved rounds. Each round runs one cell through `benchhost bench --repeats 1` (its own
--results-dir) and once the same fio job file with the same parameters by hand on the same
system's mount (`benchhost up`, one layout and one run of fio in a `benchhost vm run` job or on
the host mount, then `benchhost down`). The order within a round is ABBA: even rounds (0, 2, ...)
run benchhost first, odd rounds by hand first, so slow drift of a noisy machine falls on both
sides alike instead of on one block of runs. It reports:

  * benchhost's own time per cell outside fio, up/down excluded: the cell's total minus fio's
    wall time, layout, cache drops and cleanup (record.seconds), in % of RUNTIME (goal <= 2 %),
    median over the rounds;
  * fio's wall time around its own runtime: the client's cost of starting fio and returning
    its report (through a VM session step on the VM), median over the rounds;
  * the median IOPS through benchhost against the median by hand (goal: within +-5 %; this
    difference of medians decides the exit status);
  * the median over the rounds of each round's paired difference (benchhost - by hand) / by hand,
    reported beside it;
  * the matrix's wall time against the sum of its cells (up, VM boot and down are the rest).
    Each round's `bench` is a matrix of one cell with its own up and down, so both numbers are
    summed over the rounds' bench summaries (`seconds`, `cell_seconds`).

On the VM client every round boots the VM twice (once for its `bench`, once for its `vm run`),
so rounds there cost far more than RUNTIME.

Python standard library only. Needs root (FUSE's shared mount), the engine, the local test
images and the client VM (`make vm`). Prints a markdown table; progress goes to stderr; raw
numbers, per round and in order, go to --out/results.json.
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


def through_benchhost(bin_, profile, client, workload, size, runtime, out, env, tag):
    """One cell: `benchhost bench --repeats 1` with its own results dir under out."""
    root = tempfile.mkdtemp(prefix=f"overhead-{tag}-", dir=out)
    t = time.monotonic()
    stdout, _ = run([bin_, "bench", profile, "--client", client, "--workloads", workload, "--sizes", size, "--passes", "warm", "--repeats", "1", "--runtime", str(runtime), "--results-dir", root, "--json"], env)
    wall = time.monotonic() - t
    summary = json.loads(stdout)
    raw = os.path.join(summary["run_dir"], "raw", profile)
    cells = [json.load(open(os.path.join(raw, f))) for f in sorted(os.listdir(raw)) if f.endswith(".json")]
    if len(cells) != 1:
        sys.exit(f"{raw}: {len(cells)} cell reports, expected 1")
    c = cells[0]
    s = c["record"]["seconds"]
    return {
        "iops": iops(c["fio"]),
        "own_s": s["total"] - s["fio"] - s.get("layout", 0) - s.get("cold", 0) - s.get("cleanup", 0),
        "around_fio_s": s["fio"] - fio_runtime_s(c["fio"]),
        "matrix_wall_s": summary["seconds"],
        "cells_s": summary["cell_seconds"],
        "command_wall_s": wall,
        "run_dir": summary["run_dir"],
        "randseed": c["record"]["params"]["RANDSEED"],
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


def by_hand(bin_, profile, client, workload, size, runtime, out, env, tag):
    """One run by hand: `benchhost up`, one layout and one fio run on its mount, `benchhost down`.
    RANDSEED is the one benchhost gives the same cell (r1 of a warm pass), read from `benchhost
    bench --dry-run`, so both sides write and read the same bytes at the same offsets."""
    params = {**size_row(size), "RUNTIME": str(runtime), "IOENGINE": "libaio", "RANDSEED": dry_run_seed(bin_, profile, client, workload, size, runtime, env)}
    up_env = {**env, "BENCH_RESULTS_DIR": os.path.join(out, "by-hand", tag)}
    if client == "vm":
        up_env["BENCH_SERVER_ADDRESS"] = "10.0.2.2"
    t = time.monotonic()
    stdout, _ = run([bin_, "up", profile], up_env)
    try:
        mount = [l for l in stdout.splitlines() if l.strip() and not l.startswith("#")]
        marker = "benchhost-overhead-report"
        if client == "vm":
            line = mount[-1].replace("sudo ", "")
            d = line.split()[-1]
            script = line + "\n" + fio_script(workload, params, [f"{d}/hand-{tag}"], marker) + f"umount {d}\n"
            job = os.path.join(out, f"by-hand-{tag}.sh")
            open(job, "w").write(script)
            text, _ = run([bin_, "vm", "run", job, "--timeout", str(runtime * 4 + 60)])
        else:
            script = fio_script(workload, params, [f"{FUSE_MOUNT}/hand-{tag}"], marker)
            text = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
        got = reports(text, marker)
        if len(got) != 1:
            sys.exit(f"by hand ({client}, {tag}): {len(got)} fio reports, expected 1")
    finally:
        run([bin_, "down", profile], up_env, check=False)
    return {"iops": iops(got[0]), "command_wall_s": time.monotonic() - t}


def dry_run_seed(bin_, profile, client, workload, size, runtime, env):
    """RANDSEED of the one cell `benchhost bench` would run, from its --dry-run listing."""
    stdout, _ = run([bin_, "bench", profile, "--client", client, "--workloads", workload, "--sizes", size, "--passes", "warm", "--repeats", "1", "--runtime", str(runtime), "--dry-run"], env)
    for word in stdout.split():
        if word.startswith("RANDSEED="):
            return word.split("=", 1)[1]
    sys.exit(f"benchhost bench --dry-run printed no RANDSEED:\n{stdout}")


def rounds(a, profile, client, env):
    """REPEATS rounds of one benchhost cell and one run by hand, ABBA: even rounds benchhost first."""
    out = []
    for i in range(a.repeats):
        tag = f"{client}-r{i}"
        order = ["benchhost", "by_hand"] if i % 2 == 0 else ["by_hand", "benchhost"]
        t = time.monotonic()
        got = {}
        for side in order:
            f = through_benchhost if side == "benchhost" else by_hand
            got[side] = f(a.bin, profile, client, a.workload, a.size, a.runtime, a.out, env, tag)
        b, h = got["benchhost"]["iops"], got["by_hand"]["iops"]
        r = {
            "round": i,
            "order": order,
            "benchhost": got["benchhost"],
            "by_hand": got["by_hand"],
            "paired_diff_pct": (b - h) / h * 100,
            "wall_s": time.monotonic() - t,
        }
        print(f"{client} round {i + 1}/{a.repeats} ({' then '.join(order)}): benchhost {b:,.0f} IOPS, by hand {h:,.0f} IOPS, {r['paired_diff_pct']:+.1f} %, {r['wall_s']:.1f} s", file=sys.stderr, flush=True)
        out.append(r)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/benchhost"))
    ap.add_argument("--workload", default="rand-read-4k")
    ap.add_argument("--size", default="small")
    ap.add_argument("--runtime", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5, help="number of rounds (one cell through benchhost and one run by hand each)")
    ap.add_argument("--out", default=os.path.join(ROOT, "target/bench-overhead"))
    ap.add_argument("--clients", default="vm,host")
    a = ap.parse_args()
    if a.repeats < 1:
        sys.exit("--repeats must be at least 1")
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
            rs = rounds(a, profile, client, env)
        finally:
            if client == "host":
                run(["umount", "-l", FUSE_MOUNT], check=False)
        bs = [r["benchhost"] for r in rs]
        results[client] = {
            "profile": profile,
            "rounds": rs,
            "benchhost": {
                "iops": [b["iops"] for b in bs],
                "own_s": [b["own_s"] for b in bs],
                "around_fio_s": [b["around_fio_s"] for b in bs],
                "matrix_wall_s": sum(b["matrix_wall_s"] for b in bs),
                "cells_s": sum(b["cells_s"] for b in bs),
                "command_wall_s": sum(b["command_wall_s"] for b in bs),
            },
            "by_hand": {"iops": [r["by_hand"]["iops"] for r in rs]},
            "paired_diff_pct": [r["paired_diff_pct"] for r in rs],
        }
    json.dump(results, open(os.path.join(a.out, "results.json"), "w"), indent=2)
    print(f"| client | system | {a.workload} IOPS via benchhost (median of {a.repeats}) | by hand | difference | benchhost's own time per cell | in % of RUNTIME={a.runtime} s | fio's wall time over its runtime | matrix wall / sum of cells | paired difference (median of rounds) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    for client, r in results.items():
        b, h = r["benchhost"], r["by_hand"]
        mb, mh = statistics.median(b["iops"]), statistics.median(h["iops"])
        diff = (mb - mh) / mh * 100
        paired = statistics.median(r["paired_diff_pct"])
        own = statistics.median(b["own_s"])
        pct = own / a.runtime * 100
        around = statistics.median(b["around_fio_s"])
        r["summary"] = {"median_iops_benchhost": mb, "median_iops_by_hand": mh, "diff_of_medians_pct": diff, "median_paired_diff_pct": paired, "own_s": own, "own_pct_of_runtime": pct, "around_fio_s": around}
        ok &= abs(diff) <= 5 and pct <= 2
        print(f"| {client} | {r['profile']} | {mb:,.0f} | {mh:,.0f} | {diff:+.1f} % | {own:.3f} s | {pct:.2f} % | {around:.2f} s | {b['matrix_wall_s']:.1f} s / {b['cells_s']:.1f} s | {paired:+.1f} % |")
    json.dump(results, open(os.path.join(a.out, "results.json"), "w"), indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
