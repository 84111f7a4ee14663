//! `benchhost bench`: the matrix on real fio, against `local` (no server) and JuiceFS (FUSE on
//! this host, its data in real LocalStack and its metadata in real PostgreSQL); an interrupted
//! matrix resumed; a system that dies mid-matrix.

use crate::support::docker::{benchhost, benchhost_command, docker, engine_with_images, force_clean, leftovers, read_stderr_until, text};
use crate::support::fuse::SharedMount;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;

const JUICEFS_IMAGE: &str = "benchhost-test/juicefs:latest";
const POSTGRES_IMAGE: &str = "benchhost-test/postgres:latest";
const LOCALSTACK_IMAGE: &str = "benchhost-test/localstack:latest";
const PG_PASSWORD: &str = "pg-bench-secret-4k";
const S3_SECRET: &str = "s3-bench-secret-8w";

fn juicefs_env(mount: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("JUICEFS_IMAGE", JUICEFS_IMAGE),
        ("POSTGRES_IMAGE", POSTGRES_IMAGE),
        ("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE),
        ("POSTGRES_PASSWORD", PG_PASSWORD),
        ("AWS_SECRET_ACCESS_KEY", S3_SECRET),
        ("JUICEFS_MOUNT", mount),
    ]
}

/// The one run directory under `root`.
fn run_dir(root: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    assert_eq!(dirs.len(), 1, "one run directory expected in {}: {dirs:?}", root.display());
    dirs[0].clone()
}

/// Every result of `profile` in `run`: file name → JSON.
fn results(run: &Path, profile: &str) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(run.join("raw").join(profile))
        .map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "json")).map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap())).collect())
        .unwrap_or_default();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// fio's bytes of `side` (`read`/`write`) over every job of a result.
fn fio_bytes(r: &Value, side: &str) -> u64 {
    r["fio"]["jobs"].as_array().unwrap().iter().map(|j| j[side]["io_bytes"].as_u64().unwrap()).sum()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(files(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn bench_dry_run_lists_every_cell_and_action() {
    let out = benchhost(&["bench", "local", "ganesha", "--client", "vm", "--sizes", "small", "--workloads", "seq-read,metadata", "--repeats", "2", "--runtime", "4", "--dry-run"], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cells: Vec<&str> = stdout.lines().filter(|l| l.starts_with("cell ")).collect();
    // 2 systems × 2 workloads × 1 size × 2 passes × 2 repeats.
    assert_eq!(cells.len(), 16, "{stdout}");
    assert!(stdout.starts_with("run 16 cells: 2 system(s) × 2 workload(s) × 1 size(s) × 2 pass(es) × 2 repeat(s), 4 s each, fio on the vm client (I/O engine libaio)"), "{stdout}");
    let first = cells[0];
    assert!(first.starts_with("cell local seq-read/small/cold #1: mkdir <mount>/benchhost-seq-read__small__cold__r1; fio --create_only=1 workloads/seq-read.fio; drop the client's page cache; fio --output-format=json workloads/seq-read.fio with BENCH_DIR=<mount>/benchhost-seq-read__small__cold__r1 FILE_SIZE=64k IOENGINE=libaio NR_FILES=256 RANDSEED=3168330351 RUNTIME=4 SEQ_BLOCK=64k"), "{first}");
    let meta = cells.iter().find(|c| c.starts_with("cell ganesha metadata/small/warm #2")).unwrap();
    assert!(!meta.contains("create_only") && !meta.contains("drop") && !meta.contains("empty"), "metadata lays nothing out and a warm pass drops nothing: {meta}");
    let cold = cells.iter().find(|c| c.starts_with("cell ganesha seq-read/small/cold #1")).unwrap();
    assert!(cold.contains("; fio --create_only=1 workloads/seq-read.fio; empty ganesha's own cache (its plugin's empty-cache; the client unmounted around any restart it asks for); drop the client's and the servers' page caches; fio --output-format=json"), "{cold}");
    assert!(stdout.contains("\nup ganesha (as `benchhost up ganesha`") && stdout.contains("\numount ganesha; down ganesha"), "{stdout}");
    let json = benchhost(&["bench", "local", "--sizes", "small", "--workloads", "seq-write", "--passes", "warm", "--repeats", "1", "--dry-run", "--json"], &[]);
    let actions: Vec<String> = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(actions.iter().filter(|a| a.starts_with("cell ")).count(), 1, "{actions:?}");
}

#[test]
fn bench_refuses_a_bad_matrix_with_exit_2_and_a_hint() {
    let cases: [(&[&str], &str); 9] = [
        (&["bench"], "bench needs at least one profile"),
        (&["bench", "lokal"], "unknown profile \"lokal\"\n\nknown profiles:"),
        (&["bench", "localstack"], "localstack is infrastructure"),
        (&["bench", "local", "local"], "local is named twice"),
        (&["bench", "local", "--sizes", "huge"], "--sizes: no size \"huge\""),
        (&["bench", "local", "--passes", "hot"], "--passes: no pass \"hot\""),
        (&["bench", "local", "--baseline", "ganesha"], "--baseline ganesha is not one of the profiles benchmarked (local)"),
        (&["bench", "local", "--repeats", "0"], "--repeats 0 is out of range"),
        (&["bench", "--resume", "/tmp", "--sizes", "small"], "--resume runs the matrix"),
    ];
    for (args, wanted) in cases {
        let out = benchhost(&[args, &["--dry-run"]].concat(), &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(wanted) && (err.contains("hint:") || err.contains("known profiles:")), "{args:?}: {err}");
    }
    // A client that cannot mount the system is named before anything starts (exit 6).
    let out = benchhost(&["bench", "juicefs", "--client", "vm", "--dry-run"], &[]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("juicefs is a FUSE system: its mount appears on this host, where the client VM cannot reach it"), "{}", text(&out.stderr));
    let out = benchhost(&["bench", "--resume", "/nonexistent/run"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/run/bench.json"), "{}", text(&out.stderr));
}

#[test]
fn an_interrupted_matrix_resumes_with_only_the_missing_cells() {
    let root = tempfile::tempdir().unwrap();
    let root_s = root.path().to_str().unwrap();
    let args = ["bench", "local", "--workloads", "seq-write,rand-read-4k", "--sizes", "small", "--passes", "warm", "--repeats", "3", "--runtime", "2", "--results-dir", root_s];
    let mut child = benchhost_command(&args).stderr(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let seen = read_stderr_until(&mut child, "seq-write/small/warm #2: seq-write");
    assert!(seen.contains("[2/6] local seq-write/small/warm #2: seq-write"), "{seen}");
    rustix::process::kill_process(rustix::process::Pid::from_child(&child), rustix::process::Signal::INT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let run = run_dir(root.path());
    let before = results(&run, "local");
    assert!((2..6).contains(&before.len()), "{before:?}");
    assert!(before.iter().all(|(_, r)| r["status"] == "ok"), "only complete cells have a result: {before:?}");
    let stamps: Vec<(String, std::time::SystemTime)> = before.iter().map(|(f, _)| (f.clone(), std::fs::metadata(run.join("raw/local").join(f)).unwrap().modified().unwrap())).collect();
    let resumed = benchhost(&["bench", "--resume", run.to_str().unwrap()], &[]);
    let err = text(&resumed.stderr);
    assert!(resumed.status.success(), "{err}");
    assert!(err.contains(&format!("= 6 cells ({} done before)", before.len())), "{err}");
    assert_eq!(err.matches("] local ").count(), 6 - before.len(), "only the missing cells run:\n{err}");
    let after = results(&run, "local");
    assert_eq!(after.len(), 6);
    assert!(after.iter().all(|(_, r)| r["status"] == "ok" && fio_bytes(r, "write") + fio_bytes(r, "read") > 0), "{after:?}");
    for (f, t) in stamps {
        assert_eq!(std::fs::metadata(run.join("raw/local").join(&f)).unwrap().modified().unwrap(), t, "{f} was run again");
    }
    assert!(!run.join("scratch").exists(), "the scratch directory stays behind");
}

#[test]
fn bench_local_and_juicefs_on_the_host_records_fio_and_the_engine() {
    let test = "bench_local_and_juicefs_on_the_host_records_fio_and_the_engine";
    let Some(_engine) = engine_with_images(test, &[POSTGRES_IMAGE, LOCALSTACK_IMAGE, JUICEFS_IMAGE]) else { return };
    const MOUNT: &str = "/tmp/benchhost-bench-juicefs";
    force_clean("juicefs");
    let _shared = SharedMount::new(MOUNT);
    let root = tempfile::tempdir().unwrap();
    let args = ["bench", "juicefs", "local", "--workloads", "seq-write,seq-read,metadata", "--sizes", "small", "--passes", "cold,warm", "--repeats", "1", "--runtime", "20", "--baseline", "local", "--results-dir", root.path().to_str().unwrap()];
    let out = benchhost(&args, &juicefs_env(MOUNT));
    let err = text(&out.stderr);
    let left = leftovers("juicefs");
    force_clean("juicefs");
    assert!(out.status.success(), "{err}");
    assert!(left.is_empty(), "bench left {left:?}");
    assert!(err.contains("[12/12] local metadata/small/warm #1: metadata"), "{err}");
    let run = run_dir(root.path());
    assert!(run.join("bench.json").is_file() && run.join("workloads/seq-write.fio").is_file());
    let jfs = results(&run, "juicefs");
    let local = results(&run, "local");
    assert_eq!(jfs.len(), 6, "{jfs:?}");
    assert_eq!(local.len(), 6);
    for (name, r) in jfs.iter().chain(&local) {
        assert_eq!(r["status"], "ok", "{name}: {r}");
        assert_eq!(r["schema"], "benchhost.cell/1");
        assert!(r["fio"]["fio version"].as_str().unwrap().starts_with("fio-"), "{name}");
        assert_eq!(r["record"]["client"]["kind"], "host");
        assert_eq!(r["record"]["params"]["NR_FILES"], "256");
    }
    let get = |rs: &[(String, Value)], f: &str| rs.iter().find(|(n, _)| n == f).unwrap_or_else(|| panic!("no {f}")).1.clone();
    // seq-write writes every file whole: 256 × 64 KiB.
    let w = get(&jfs, "seq-write__small__cold__r1.json");
    assert_eq!(fio_bytes(&w, "write"), 256 * 64 * 1024);
    assert_eq!((w["record"]["cache"]["client_page_cache"].as_str(), w["record"]["cache"]["server_page_cache"].as_str()), (Some("dropped"), Some("dropped")), "{}", w["record"]["cache"]);
    // The cold pass empties JuiceFS's own cache (its plugin's empty-cache, no restart)...
    let emptied = w["record"]["cache"]["system_cache"].as_str().unwrap();
    assert!(emptied.starts_with("emptied: ") && !emptied.contains("restarted"), "{emptied}");
    assert!(w["record"]["seconds"]["empty_cache"].as_f64().is_some(), "{}", w["record"]["seconds"]);
    // ...so a cold read comes from S3: LocalStack sent at least the files' bytes.
    let cold = get(&jfs, "seq-read__small__cold__r1.json");
    assert_eq!(fio_bytes(&cold, "read"), 256 * 64 * 1024);
    assert!(cold["s3"]["bytes_out"].as_u64().unwrap() >= 256 * 64 * 1024, "a cold read after emptying the cache: {}", cold["s3"]);
    assert_eq!(w["record"]["plugin"]["name"], "juicefs");
    assert_eq!(w["record"]["mount_command"], format!("# FUSE: already mounted at {MOUNT}"));
    let names: Vec<&str> = w["resources"].as_array().unwrap().iter().map(|c| c["container"].as_str().unwrap()).collect();
    assert!(names.contains(&"benchhost-juicefs-juicefs") && names.contains(&"benchhost-juicefs-localstack") && names.contains(&"benchhost-juicefs-postgres"), "{names:?}");
    let juicefs = w["resources"].as_array().unwrap().iter().find(|c| c["container"] == "benchhost-juicefs-juicefs").unwrap();
    assert!(juicefs["samples"].as_u64().unwrap() >= 2 && juicefs["cpu_percent_mean"].as_f64().unwrap() > 0.0, "{juicefs}");
    // JuiceFS uploads what was written (fsync at the end): LocalStack received at least that.
    assert!(w["s3"]["bytes_in"].as_u64().unwrap() >= 256 * 64 * 1024, "{}", w["s3"]);
    let r = get(&jfs, "seq-read__small__warm__r1.json");
    assert_eq!(fio_bytes(&r, "read"), 256 * 64 * 1024);
    assert_eq!(r["record"]["cache"]["system_cache"], "kept");
    eprintln!("juicefs seq-read S3 bytes out: cold {}, warm {}", cold["s3"]["bytes_out"], r["s3"]["bytes_out"]);
    assert!(r["record"]["seconds"]["layout"].as_f64().unwrap() > 0.0);
    let m = get(&local, "metadata__small__cold__r1.json");
    let ops: Vec<u64> = m["fio"]["jobs"].as_array().unwrap().iter().map(|j| j["read"]["total_ios"].as_u64().unwrap() + j["write"]["total_ios"].as_u64().unwrap()).collect();
    assert_eq!(ops, [256, 256, 256], "create, stat, unlink each file once");
    assert_eq!(m["record"]["cache"]["server_page_cache"], "none");
    assert!(m["resources"].as_array().unwrap().is_empty());
    // No secret in any file of the run.
    for f in files(&run) {
        let t = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!t.contains(PG_PASSWORD) && !t.contains(S3_SECRET), "a secret in {}", f.display());
    }
    assert_eq!(w["record"]["settings"]["AWS_SECRET_ACCESS_KEY"], "***");
}

#[test]
fn a_system_that_dies_mid_matrix_is_recorded_and_the_rest_completes() {
    let test = "a_system_that_dies_mid_matrix_is_recorded_and_the_rest_completes";
    let Some(_engine) = engine_with_images(test, &[POSTGRES_IMAGE, LOCALSTACK_IMAGE, JUICEFS_IMAGE]) else { return };
    const MOUNT: &str = "/tmp/benchhost-bench-juicefs-dies";
    force_clean("juicefs");
    let _shared = SharedMount::new(MOUNT);
    let root = tempfile::tempdir().unwrap();
    let args = ["bench", "juicefs", "local", "--workloads", "seq-write", "--sizes", "small", "--passes", "warm", "--repeats", "4", "--runtime", "2", "--results-dir", root.path().to_str().unwrap()];
    let mut cmd = benchhost_command(&args);
    for (k, v) in juicefs_env(MOUNT) {
        cmd.env(k, v);
    }
    let mut child = cmd.stderr(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let seen = read_stderr_until(&mut child, "juicefs seq-write/small/warm #1: ");
    assert!(seen.contains("[1/8] juicefs seq-write/small/warm #1"), "{seen}");
    let kill = docker(&["kill", "benchhost-juicefs-juicefs"]);
    assert!(kill.status.success(), "{}", text(&kill.stderr));
    let out = child.wait_with_output().unwrap();
    let err = seen + &text(&out.stderr);
    let left = leftovers("juicefs");
    force_clean("juicefs");
    assert_eq!(out.status.code(), Some(1), "a failed cell makes the exit 1:\n{err}");
    assert!(left.is_empty(), "{left:?}");
    let run = run_dir(root.path());
    let jfs = results(&run, "juicefs");
    assert_eq!(jfs.len(), 4, "{jfs:?}");
    assert_eq!(jfs[0].1["status"], "ok");
    let failed: Vec<&Value> = jfs.iter().map(|(_, r)| r).filter(|r| r["status"] == "failed").collect();
    assert!(failed.len() >= 2, "{jfs:?}");
    assert!(failed.iter().any(|r| r["error"].as_str().unwrap().contains("juicefs stopped during juicefs seq-write/small/warm")), "{failed:?}");
    let local = results(&run, "local");
    assert_eq!(local.len(), 4);
    assert!(local.iter().all(|(_, r)| r["status"] == "ok"), "the matrix went on after the dead system: {local:?}");
    assert!(err.contains("FAILED"), "{err}");
}

#[test]
fn bench_through_the_client_vm_on_ganesha_samba_and_dittofs_with_the_report() {
    use crate::support::client_vm::vm_or_skip;
    const GANESHA_IMAGE: &str = "benchhost-test/ganesha:latest";
    const SAMBA_IMAGE: &str = "benchhost-test/samba:latest";
    const DITTOFS_IMAGE: &str = "benchhost-test/dittofs:latest";
    const SAMBA_PASSWORD: &str = "smb-bench-secret-3z";
    let test = "bench_through_the_client_vm_on_ganesha_samba_and_dittofs_with_the_report";
    let Some(_engine) = engine_with_images(test, &[GANESHA_IMAGE, SAMBA_IMAGE, DITTOFS_IMAGE, LOCALSTACK_IMAGE]) else { return };
    let Some(_vm) = vm_or_skip(test) else { return };
    for p in ["ganesha", "samba", "dittofs-badger-s3"] {
        force_clean(p);
    }
    let root = tempfile::tempdir().unwrap();
    let args = ["bench", "ganesha", "samba", "dittofs-badger-s3", "local", "--client", "vm", "--workloads", "seq-write,rand-read-4k", "--sizes", "small", "--passes", "cold", "--repeats", "1", "--runtime", "2", "--baseline", "ganesha", "--results-dir", root.path().to_str().unwrap(), "--json"];
    let env = [("GANESHA_IMAGE", GANESHA_IMAGE), ("SAMBA_IMAGE", SAMBA_IMAGE), ("SAMBA_PASSWORD", SAMBA_PASSWORD), ("DITTOFS_IMAGE", DITTOFS_IMAGE), ("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE)];
    let out = benchhost(&args, &env);
    let err = text(&out.stderr);
    let left: Vec<String> = ["ganesha", "samba", "dittofs-badger-s3"].iter().flat_map(|p| leftovers(p)).collect();
    for p in ["ganesha", "samba", "dittofs-badger-s3"] {
        force_clean(p);
    }
    assert!(out.status.success(), "{err}");
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(err.matches("booting the client VM").count(), 4, "one VM per system:\n{err}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((summary["cells"].as_u64(), summary["ran"].as_u64(), summary["failed"].as_array().map(Vec::len)), (Some(8), Some(8), Some(0)), "{summary}");
    let run = run_dir(root.path());
    let rows = crate::report::csv_rows(&run.join("summary.csv"));
    for p in ["ganesha", "samba", "dittofs-badger-s3", "local"] {
        let rs = results(&run, p);
        assert_eq!(rs.len(), 2, "{p}: {rs:?}");
        for (name, r) in &rs {
            assert_eq!(r["status"], "ok", "{p}/{name}: {}", r["error"]);
            assert_eq!(r["record"]["client"]["kind"], "vm");
            assert!(r["record"]["client"]["kernel"].as_str().unwrap().starts_with("6.1."), "{}", r["record"]["client"]);
            // local in the VM is its root file system, in RAM: no page cache to drop.
            assert_eq!(r["record"]["cache"]["client_page_cache"], if p == "local" { "none (a RAM file system)" } else { "dropped" });
            assert_eq!(r["record"]["cache"]["server_page_cache"], if p == "local" { "none" } else { "dropped" });
            // The system's own cache on the cold pass: ganesha's MDCACHE goes with a restart
            // (the client unmounted around it), Samba keeps none, DittoFS drains and evicts.
            let own = r["record"]["cache"]["system_cache"].as_str().unwrap();
            match p {
                "ganesha" => assert!(own.starts_with("emptied: ") && own.contains("; restarted ganesha ("), "{p}: {own}"),
                "samba" => assert_eq!(own, "none (the system keeps no cache of its own)"),
                "dittofs-badger-s3" => assert!(own.starts_with("emptied: ") && !own.contains("restarted"), "{p}: {own}"),
                _ => assert_eq!(own, "none"),
            }
            if p != "local" {
                assert!(r["record"]["mount_command"].as_str().unwrap().contains("10.0.2.2"), "{}", r["record"]["mount_command"]);
                assert!(!r["resources"].as_array().unwrap().is_empty(), "{p}: no engine stats");
            }
        }
        // summary.csv's numbers are fio's: MB/s of seq-write is bw_bytes / 10^6, IOPS of
        // rand-read-4k is fio's read IOPS.
        let w = &rs.iter().find(|(n, _)| n.starts_with("seq-write")).unwrap().1;
        let fio_mb: f64 = w["fio"]["jobs"].as_array().unwrap().iter().map(|j| j["write"]["bw_bytes"].as_f64().unwrap()).sum::<f64>() / 1e6;
        let row = rows.iter().find(|r| r["system"] == p && r["workload"] == "seq-write").unwrap();
        assert!((row["mb_s_median"].parse::<f64>().unwrap() - fio_mb).abs() < 1e-6, "{p}: {row:?} vs fio {fio_mb}");
        let rr = &rs.iter().find(|(n, _)| n.starts_with("rand-read-4k")).unwrap().1;
        let fio_iops: f64 = rr["fio"]["jobs"].as_array().unwrap().iter().map(|j| j["read"]["iops"].as_f64().unwrap()).sum();
        let row = rows.iter().find(|r| r["system"] == p && r["workload"] == "rand-read-4k").unwrap();
        assert!((row["iops_median"].parse::<f64>().unwrap() - fio_iops).abs() < 1e-6 * fio_iops.max(1.0), "{p}: {row:?} vs fio {fio_iops}");
        assert!(fio_iops > 0.0, "{p} did no random reads");
        if p == "dittofs-badger-s3" {
            // Its local block store evicted, the cold random reads fetch blocks from S3.
            assert!(rr["s3"]["bytes_out"].as_u64().unwrap() >= 4096, "{}", rr["s3"]);
        }
    }
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("### seq-write: MB/s, higher is better") && report.contains("![seq-write: MB/s per system](charts/seq-write.svg)"), "{report}");
    assert!(report.contains("ganesha (baseline)") && report.contains("local (ceiling)") && report.contains("**"), "{report}");
    for chart in ["seq-write", "rand-read-4k"] {
        let svg = std::fs::read_to_string(run.join("charts").join(format!("{chart}.svg"))).unwrap();
        assert!(svg.contains("dittofs-badger-s3") && svg.contains("samba"), "{chart}.svg");
    }
    for f in files(&run) {
        let t = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!t.contains(SAMBA_PASSWORD), "the SMB password in {}", f.display());
    }
}

#[test]
fn ctrl_c_mid_cell_takes_the_system_down_and_leaves_no_result_for_that_cell() {
    use crate::support::fuse::fuse_mounted;
    let test = "ctrl_c_mid_cell_takes_the_system_down_and_leaves_no_result_for_that_cell";
    let Some(_engine) = engine_with_images(test, &[POSTGRES_IMAGE, LOCALSTACK_IMAGE, JUICEFS_IMAGE]) else { return };
    const MOUNT: &str = "/tmp/benchhost-bench-juicefs-sigint";
    force_clean("juicefs");
    let _shared = SharedMount::new(MOUNT);
    let root = tempfile::tempdir().unwrap();
    // rand-read-4k is time-based: the second cell is surely running 2 s after the first ended.
    let args = ["bench", "juicefs", "--workloads", "rand-read-4k", "--sizes", "small", "--passes", "warm", "--repeats", "3", "--runtime", "8", "--results-dir", root.path().to_str().unwrap()];
    let mut cmd = benchhost_command(&args);
    for (k, v) in juicefs_env(MOUNT) {
        cmd.env(k, v);
    }
    let mut child = cmd.stderr(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let seen = read_stderr_until(&mut child, "juicefs rand-read-4k/small/warm #1: ");
    std::thread::sleep(std::time::Duration::from_secs(2));
    rustix::process::kill_process(rustix::process::Pid::from_child(&child), rustix::process::Signal::INT).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = seen + &text(&out.stderr);
    let left = leftovers("juicefs");
    force_clean("juicefs");
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(left.is_empty(), "Ctrl-C left {left:?}");
    assert!(!fuse_mounted(MOUNT), "the FUSE mount stayed");
    assert!(err.contains("interrupted: taking juicefs down (the current cell has no result; `benchhost bench --resume"), "{err}");
    let run = run_dir(root.path());
    let done = results(&run, "juicefs");
    assert_eq!(done.len(), 1, "only the finished cell has a result: {done:?}");
    assert_eq!(done[0].1["status"], "ok");
    assert!(run.join("report.md").is_file(), "the report of what was done");
}

#[test]
fn a_client_vm_that_stops_is_replaced_and_the_remaining_cells_run() {
    use crate::support::client_vm::vm_or_skip;
    let test = "a_client_vm_that_stops_is_replaced_and_the_remaining_cells_run";
    let Some(_vm) = vm_or_skip(test) else { return };
    let root = tempfile::tempdir().unwrap();
    // `local` in the VM needs no engine: only the client is at stake.
    let args = ["bench", "local", "--client", "vm", "--workloads", "seq-write", "--sizes", "small", "--passes", "warm", "--repeats", "3", "--runtime", "20", "--results-dir", root.path().to_str().unwrap()];
    let mut child = benchhost_command(&args).stderr(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let seen = read_stderr_until(&mut child, "local seq-write/small/warm #1: ");
    // QEMU dies under benchhost (as a step that timed out stops it).
    let kill = std::process::Command::new("pkill").args(["-KILL", "-P", &child.id().to_string(), "-f", "qemu-system"]).output().unwrap();
    assert!(kill.status.success(), "no QEMU under benchhost: {}", text(&kill.stderr));
    let out = child.wait_with_output().unwrap();
    let err = seen + &text(&out.stderr);
    let qemu_left = std::process::Command::new("pgrep").args(["-f", "qemu-system"]).output().unwrap();
    assert!(!qemu_left.status.success(), "QEMU left running: {}", text(&qemu_left.stdout));
    assert!(err.contains("local: the client VM stopped (") && err.contains("booting a new one and mounting local again"), "{err}");
    assert_eq!(err.matches("booting the client VM").count(), 1, "{err}");
    let run = run_dir(root.path());
    let done = results(&run, "local");
    assert_eq!(done.len(), 3, "{done:?}");
    // The cell QEMU died in (if it was running one) failed; every cell after it ran on the new VM.
    let last = &done.iter().find(|(n, _)| n == "seq-write__small__warm__r3.json").unwrap().1;
    assert_eq!(last["status"], "ok", "{}", last["error"]);
    assert_eq!(fio_bytes(last, "write"), 256 * 64 * 1024);
    let failed: Vec<&String> = done.iter().filter(|(_, r)| r["status"] != "ok").map(|(n, _)| n).collect();
    assert!(failed.len() <= 1 && failed.iter().all(|n| n.as_str() == "seq-write__small__warm__r2.json"), "{failed:?}");
    assert_eq!(out.status.code(), Some(if failed.is_empty() { 0 } else { 1 }), "{err}");
}

#[test]
fn a_cold_cell_whose_cache_cannot_be_emptied_in_place_runs_on_a_fresh_deployment() {
    // A FAKE cache (the `fake-cache` fixture, tests/fixtures-current): DittoFS v0.29.0's journal
    // pins itself only after some runs of writes and deletes, not on demand (two tries here
    // evicted everything), so a fixture plays a cache that empties once per deployment
    // (`fake-cache-pin`: a marker in the deployment's own volume) or never (`fake-cache-stuck`).
    // The engine, the volumes, `down`, `up`, fio and the files are real.
    use crate::support::corpus;
    const IMAGE: &str = "benchhost-test/ganesha:latest";
    let test = "a_cold_cell_whose_cache_cannot_be_emptied_in_place_runs_on_a_fresh_deployment";
    let Some(_engine) = engine_with_images(test, &[IMAGE]) else { return };
    for p in ["fake-cache-pin", "fake-cache-stuck"] {
        force_clean(p);
    }
    let root = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = tempfile::tempdir().unwrap();
    let fixture = corpus::current_fixture_path("fake-cache").display().to_string();
    let env = [("BENCHHOST_PLUGIN_PATH", fixture.as_str()), ("BENCHHOST_PLUGIN_DIR", plugins.path().to_str().unwrap()), ("FAKE_CACHE_IMAGE", IMAGE), ("FAKE_CACHE_DIR", dir.path().to_str().unwrap())];
    let args = ["bench", "fake-cache-pin", "fake-cache-stuck", "--workloads", "seq-read", "--sizes", "small", "--passes", "cold", "--repeats", "2", "--runtime", "10", "--results-dir", root.path().to_str().unwrap(), "--json"];
    let out = benchhost(&args, &env);
    let err = text(&out.stderr);
    let left: Vec<String> = ["fake-cache-pin", "fake-cache-stuck"].iter().flat_map(|p| leftovers(p)).collect();
    for p in ["fake-cache-pin", "fake-cache-stuck"] {
        force_clean(p);
    }
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(out.status.code(), Some(1), "the stuck system's cells failed:\n{err}");
    let run = run_dir(root.path());
    // fake-cache-pin: #1 empties in place; #2 cannot, so it runs again on a fresh deployment.
    let pin = results(&run, "fake-cache-pin");
    assert_eq!(pin.len(), 2, "{pin:?}");
    let first = &pin[0].1;
    assert_eq!(first["status"], "ok", "{}", first["error"]);
    assert_eq!(first["record"]["cache"]["system_cache"], "emptied: the fixture's cache marked emptied (/cache/pinned)");
    assert!(first["record"]["seconds"].get("redeploy").is_none(), "{}", first["record"]["seconds"]);
    let second = &pin[1].1;
    assert_eq!(second["status"], "ok", "{}", second["error"]);
    let own = second["record"]["cache"]["system_cache"].as_str().unwrap();
    assert!(own.starts_with("emptied: the fixture's cache marked emptied (/cache/pinned) on a fresh deployment (taken down, up and mounted again in "), "{own}");
    assert!(own.ends_with("because in place: emptying fake-cache-pin's own cache: plugin \"fake-cache\" 0.1.0 empty-cache: the fixture's cache is pinned since an earlier empty-cache (only a fresh deployment empties it)"), "{own}");
    let seconds = &second["record"]["seconds"];
    assert!(seconds["redeploy"].as_f64().unwrap() > 0.2 && seconds["in_place"].as_f64().unwrap() > 0.0, "{seconds}");
    // The cell ran whole on the fresh deployment: its files laid out again and read.
    assert_eq!(fio_bytes(second, "read"), 256 * 64 * 1024, "{}", second["fio"]);
    assert!(err.contains("fake-cache-pin seq-read/small/cold #2: its own cache cannot be emptied in place, so the cell runs again on a fresh deployment (fake-cache-pin down, up and mounted again): emptying fake-cache-pin's own cache: "), "{err}");
    // The stats follow the new deployment's containers (the old ones are gone).
    let services: Vec<&Value> = second["resources"].as_array().unwrap().iter().map(|r| &r["service"]).collect();
    assert_eq!(services, [&Value::from("app")], "{}", second["resources"]);
    // fake-cache-stuck: #1 fails on the fresh deployment too; #2 then runs in place only.
    let stuck = results(&run, "fake-cache-stuck");
    assert_eq!(stuck.len(), 2, "{stuck:?}");
    let e1 = stuck[0].1["error"].as_str().unwrap();
    assert!(stuck[0].1["status"] == "failed" && e1.contains("the fixture's cache never empties (on a fresh deployment too: the system's later cold cells run in place)"), "{e1}");
    let e2 = stuck[1].1["error"].as_str().unwrap();
    assert!(stuck[1].1["status"] == "failed" && e2.contains("the fixture's cache never empties (a fresh deployment did not help an earlier cell, so this one ran in place)"), "{e2}");
    assert_eq!(err.matches("fake-cache-stuck seq-read/small/cold #1: its own cache cannot be emptied in place").count(), 1, "{err}");
    assert!(!err.contains("fake-cache-stuck seq-read/small/cold #2: its own cache cannot be emptied in place"), "{err}");
    // One `up` directory per deployment: two for each system.
    let ups = std::fs::read_dir(run.join("systems")).unwrap().count();
    assert_eq!(ups, 4, "one up per deployment");
    // Nothing of the cells is left in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the cells' files stayed");
}

#[test]
fn every_cold_read_cell_on_one_dittofs_deployment_fetches_its_blocks_from_s3() {
    // fio writes the same bytes in every run of a job with the same seed, and DittoFS v0.29.0
    // stores a file whose chunks are already in S3 as references it then reads back as zeros
    // once evicted, without a request to S3. Each cell has its own seed (RANDSEED), so the
    // second cell's files are new data that the cold reads must fetch.
    use crate::support::client_vm::vm_or_skip;
    const DITTOFS_IMAGE: &str = "benchhost-test/dittofs:latest";
    let test = "every_cold_read_cell_on_one_dittofs_deployment_fetches_its_blocks_from_s3";
    let Some(_engine) = engine_with_images(test, &[DITTOFS_IMAGE, LOCALSTACK_IMAGE]) else { return };
    let Some(_vm) = vm_or_skip(test) else { return };
    force_clean("dittofs-badger-s3");
    let root = tempfile::tempdir().unwrap();
    let args = ["bench", "dittofs-badger-s3", "--client", "vm", "--workloads", "rand-read-4k", "--sizes", "small", "--passes", "cold", "--repeats", "2", "--runtime", "3", "--results-dir", root.path().to_str().unwrap()];
    let out = benchhost(&args, &[("DITTOFS_IMAGE", DITTOFS_IMAGE), ("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE)]);
    let err = text(&out.stderr);
    let left = leftovers("dittofs-badger-s3");
    force_clean("dittofs-badger-s3");
    assert!(out.status.success(), "{err}");
    assert!(left.is_empty(), "{left:?}");
    let rs = results(&run_dir(root.path()), "dittofs-badger-s3");
    assert_eq!(rs.len(), 2, "{rs:?}");
    let seeds: Vec<&Value> = rs.iter().map(|(_, r)| &r["record"]["params"]["RANDSEED"]).collect();
    assert_ne!(seeds[0], seeds[1], "one seed per cell");
    for (name, r) in &rs {
        assert_eq!(r["status"], "ok", "{name}: {}", r["error"]);
        assert!(r["record"]["seconds"].get("redeploy").is_none(), "{name}: both on one deployment");
        let read = fio_bytes(r, "read");
        let fetched = r["s3"]["bytes_out"].as_u64().unwrap();
        // Every 4 KiB read comes from a block fetched whole: S3 sent at least what fio read
        // up to the 16 MiB of the files (the blocks fetched are kept for the rest of the cell).
        assert!(read > 0 && fetched >= read.min(16 << 20) / 2, "{name}: fio read {read} bytes, S3 sent {fetched}: {}", r["s3"]);
    }
}
