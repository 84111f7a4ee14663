//! Every workload in `workloads/*.fio` runs with the client VM's fio on a kernel NFS mount of
//! NFS-Ganesha, at the `small` size of `workloads/sizes.conf`, and does the I/O it says: fio's own
//! JSON is read back and checked for the operations each workload names.

use crate::support::client_vm::vm_or_skip;
use crate::support::docker::{benchhost, engine_or_skip, force_clean, leftovers, text};
use crate::support::repo_root;
use serde_json::Value;

const GANESHA_IMAGE: &str = "benchhost-test/ganesha:latest";

/// `sizes.conf`'s row `name`: (FILE_SIZE, NR_FILES, SEQ_BLOCK).
fn size(name: &str) -> (String, String, String) {
    let conf = std::fs::read_to_string(repo_root().join("workloads/sizes.conf")).unwrap();
    let row = conf.lines().map(str::split_whitespace).map(Iterator::collect::<Vec<_>>).find(|r| r.first() == Some(&name)).unwrap_or_else(|| panic!("no size {name}"));
    (row[1].to_string(), row[2].to_string(), row[3].to_string())
}

/// The workloads in the repository: (name, job file text), by name.
fn workloads() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(repo_root().join("workloads"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "fio"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    out
}

/// The sum of `field` (e.g. `write.total_ios`) over fio's jobs.
fn total(report: &Value, side: &str, field: &str) -> u64 {
    report["jobs"].as_array().unwrap().iter().map(|j| j[side][field].as_u64().unwrap_or(0)).sum()
}

#[test]
fn every_workload_runs_with_fio_on_a_kernel_nfs_mount_and_does_its_io() {
    let Some(_engine) = engine_or_skip("every_workload_runs_with_fio_on_a_kernel_nfs_mount_and_does_its_io", Some(GANESHA_IMAGE)) else { return };
    let Some(_vm) = vm_or_skip("every_workload_runs_with_fio_on_a_kernel_nfs_mount_and_does_its_io") else { return };
    let all = workloads();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["metadata", "mixed-rw", "rand-read-4k", "rand-write-4k", "seq-read", "seq-write"]);
    force_clean("ganesha");
    let up = benchhost(&["up", "ganesha"], &[("GANESHA_IMAGE", GANESHA_IMAGE), ("BENCH_SERVER_ADDRESS", "10.0.2.2")]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let mount = text(&up.stdout).lines().find(|l| l.contains("mount -t nfs")).unwrap().trim().replace("sudo ", "");
    let dir = mount.split_whitespace().last().unwrap().to_string();
    let (file_size, nr_files, seq_block) = size("small");
    let mut job = format!("set -e\n{mount}\nexport FILE_SIZE={file_size} NR_FILES={nr_files} SEQ_BLOCK={seq_block} IOENGINE=libaio RANDSEED=7\n");
    for (name, text) in &all {
        // The time-based jobs run 2 s; for the others RUNTIME is only a cap, which a slow
        // emulated client must not reach before every byte is read (CI read 10 of 16 MiB in 2 s).
        let runtime = if text.contains("time_based=0") { 120 } else { 2 };
        job.push_str(&format!(
            "cat >/root/{name}.fio <<'BENCHHOST_FIO_EOF'\n{text}BENCHHOST_FIO_EOF\nmkdir -p {dir}/{name}\nBENCH_DIR={dir}/{name} RUNTIME={runtime} fio --output-format=json --output=/root/{name}.json /root/{name}.fio\necho \"== {name}\"\ncat /root/{name}.json\necho \"== end\"\n"
        ));
    }
    job.push_str(&format!("umount {dir}\n"));
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("workloads.sh");
    std::fs::write(&file, job).unwrap();
    let vm = benchhost(&["vm", "run", file.to_str().unwrap(), "--timeout", "300"], &[]);
    let down = benchhost(&["down", "ganesha"], &[]);
    let (stdout, stderr) = (text(&vm.stdout), text(&vm.stderr));
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(leftovers("ganesha"), Vec::<String>::new());
    assert_eq!(vm.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let report = |name: &str| -> Value {
        let start = stdout.find(&format!("== {name}\n")).unwrap_or_else(|| panic!("no report of {name}:\n{stdout}\n{stderr}")) + name.len() + 4;
        let end = start + stdout[start..].find("== end\n").unwrap();
        serde_json::from_str(&stdout[start..end]).unwrap_or_else(|e| panic!("{name}: fio's JSON does not parse ({e}):\n{}", &stdout[start..end]))
    };
    let files: u64 = nr_files.parse().unwrap();
    let bytes = files * 64 * 1024;
    // Each workload does the operations it names, and only those.
    let seq_write = report("seq-write");
    assert_eq!(total(&seq_write, "write", "io_bytes"), bytes, "seq-write writes every byte of every file");
    assert_eq!(total(&seq_write, "read", "total_ios"), 0);
    let seq_read = report("seq-read");
    assert_eq!(total(&seq_read, "read", "io_bytes"), bytes, "seq-read reads every byte of every file");
    assert_eq!(total(&seq_read, "write", "total_ios"), 0);
    for (name, side, other) in [("rand-read-4k", "read", "write"), ("rand-write-4k", "write", "read")] {
        let r = report(name);
        assert!(total(&r, side, "total_ios") > 0, "{name} did no {side}");
        assert_eq!(total(&r, other, "total_ios"), 0, "{name} did {other}s");
        assert_eq!(r["jobs"][0]["job options"]["bs"], "4k");
    }
    let mixed = report("mixed-rw");
    let (reads, writes) = (total(&mixed, "read", "total_ios"), total(&mixed, "write", "total_ios"));
    assert!(reads > 0 && writes > 0, "mixed-rw: {reads} reads, {writes} writes");
    // 70 % reads, give or take the randomness of a short run.
    let share = reads as f64 / (reads + writes) as f64;
    assert!((0.55..0.85).contains(&share), "mixed-rw read share {share:.2}");
    let metadata = report("metadata");
    let phases: Vec<(String, u64)> = metadata["jobs"].as_array().unwrap().iter().map(|j| (j["jobname"].as_str().unwrap().to_string(), j["read"]["total_ios"].as_u64().unwrap() + j["write"]["total_ios"].as_u64().unwrap())).collect();
    // filecreate, filestat and filedelete count each create, stat and unlink as one I/O.
    let names: Vec<&str> = phases.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["create", "stat", "unlink"], "{phases:?}");
    for (phase, ops) in &phases {
        assert_eq!(*ops, files, "metadata {phase}: {ops} operations on {files} files");
    }
}
