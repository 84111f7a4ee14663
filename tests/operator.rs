//! The operator features around `up`, on the real Docker engine with real
//! NFS-Ganesha and Samba (local images): results directories and run records, logs saved by
//! `down`, one system at a time and `--replace`, `mount`/`umount`, `logs`, `doctor`, `clean`,
//! `drop-caches`, `--dry-run`, builds from a source checkout (`<PLUGIN>_SRC`), `BENCH_TMPFS`,
//! `BENCH_WAL_ENABLED` / `--with-profiling`, and the Makefile.

use crate::support::artifacts::benchhost_bin;
use crate::support::repo_root;
use crate::support::docker::{self, benchhost, docker, engine_or_skip, force_clean, leftovers, nfs_roundtrip, pattern, text};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

const GANESHA: &str = "benchhost-test/ganesha:latest";
const SAMBA: &str = "benchhost-test/samba:latest";

fn ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed ({:?}):\nstdout:\n{}\nstderr:\n{}", out.status.code(), text(&out.stdout), text(&out.stderr));
}

/// The single run directory under `root`.
fn only_run(root: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(root).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(runs.len(), 1, "expected one run in {}: {runs:?}", root.display());
    runs[0].clone()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

#[test]
fn results_dir_holds_run_record_and_logs_saved_by_down() {
    let Some(_engine) = engine_or_skip("results_dir_holds_run_record_and_logs_saved_by_down", Some(GANESHA)) else { return };
    force_clean("ganesha");
    let root = tempfile::tempdir().unwrap();
    let env = [("GANESHA_IMAGE", GANESHA)];
    let up = benchhost(&["up", "ganesha", "--results-dir", root.path().to_str().unwrap()], &env);
    ok(&up, "up ganesha");
    let err = text(&up.stderr);
    // Each step prints its own duration.
    assert!(err.contains("benchhost-ganesha-ganesha started (") && err.contains("ganesha bootstrapped ("), "{err}");
    let run = only_run(root.path());
    let name = run.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.len() == 17 && &name[10..11] == "_", "run directory named YYYY-MM-DD_HHMMSS: {name}");
    // up's directory holds its record and logs; the benchmark's folders are `bench`'s.
    assert!(run.join("logs").is_dir(), "logs missing");
    for d in ["raw", "metrics", "charts"] {
        assert!(!run.join(d).exists(), "up made {d}, which only a benchmark fills");
    }
    let record = read_json(&run.join("run.json"));
    assert_eq!(record["profile"], "ganesha");
    assert_eq!(record["outcome"], "ready");
    assert_eq!(record["plugins"][0]["name"], "ganesha");
    assert_eq!(record["plugins"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(record["settings"]["GANESHA_IMAGE"], GANESHA);
    assert_eq!(record["settings"]["BENCH_CPU_LIMIT"], "2");
    let image_id = text(&docker(&["image", "inspect", "-f", "{{.Id}}", GANESHA]).stdout).trim().to_string();
    assert_eq!(record["images"][0]["id"], image_id.as_str(), "the run records the image id it ran");
    assert_eq!(record["host"]["docker_api_version"], "1.41");
    assert_eq!(record["host"]["os"], std::env::consts::OS);
    let steps = record["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["step"].as_str().unwrap().contains("bootstrapped")), "{steps:?}");
    assert!(steps.iter().all(|s| s["seconds"].as_f64().unwrap() >= 0.0));
    assert!(record["seconds"].as_f64().unwrap() > 0.0);

    // down saves every container's logs into the run, before removing them.
    let down = benchhost(&["down", "ganesha"], &[]);
    ok(&down, "down");
    let log = std::fs::read_to_string(run.join("logs/benchhost-ganesha-ganesha.log")).expect("ganesha's log saved");
    assert!(log.contains("NFS SERVER INITIALIZED"), "the saved log is ganesha's own output:\n{log}");
    let record = read_json(&run.join("run.json"));
    assert_eq!(record["down"]["removed"]["containers"][0], "benchhost-ganesha-ganesha");
    assert!(record["down"]["logs"][0].as_str().unwrap().ends_with("logs/benchhost-ganesha-ganesha.log"));
    assert_eq!(leftovers("ganesha"), Vec::<String>::new());

    // BENCH_RESULTS_DIR moves the root; `down --results-dir` saves the logs elsewhere.
    let via_setting = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let env = [("GANESHA_IMAGE", GANESHA), ("BENCH_RESULTS_DIR", via_setting.path().to_str().unwrap())];
    ok(&benchhost(&["up", "ganesha"], &env), "up with BENCH_RESULTS_DIR");
    let run = only_run(via_setting.path());
    assert_eq!(read_json(&run.join("run.json"))["outcome"], "ready");
    ok(&benchhost(&["down", "ganesha", "--results-dir", elsewhere.path().to_str().unwrap()], &[]), "down --results-dir");
    let moved = elsewhere.path().join(run.file_name().unwrap()).join("logs/benchhost-ganesha-ganesha.log");
    assert!(moved.is_file(), "logs saved under --results-dir: {}", moved.display());
    assert_eq!(leftovers("ganesha"), Vec::<String>::new());
}

#[test]
fn failed_up_keeps_its_record_and_logs_and_removes_everything() {
    let Some(_engine) = engine_or_skip("failed_up_keeps_its_record_and_logs_and_removes_everything", Some(GANESHA)) else { return };
    force_clean("ganesha");
    let root = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A Dockerfile whose container exits at once: `up` fails while waiting.
    // (the plugin sets the entrypoint, so the server binary itself is replaced).
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {GANESHA}\nRUN printf '#!/bin/sh\\necho benchhost-test-dying >&2\\nexit 3\\n' > /usr/bin/ganesha.nfsd && chmod +x /usr/bin/ganesha.nfsd\n"),
    )
    .unwrap();
    let env = [("GANESHA_IMAGE", GANESHA), ("GANESHA_SRC", dir.path().to_str().unwrap())];
    let up = benchhost(&["up", "ganesha", "--results-dir", root.path().to_str().unwrap()], &env);
    assert!(!up.status.success());
    let err = text(&up.stderr);
    assert!(err.contains("exited with code 3") && err.contains("benchhost-test-dying"), "{err}");
    let run = only_run(root.path());
    let record = read_json(&run.join("run.json"));
    assert_eq!(record["outcome"], "failed");
    assert!(record["error"].as_str().unwrap().contains("exited with code 3"));
    assert_eq!(record["exit_code"], 1);
    let log = std::fs::read_to_string(run.join("logs/benchhost-ganesha-ganesha.log")).expect("logs saved before removal");
    assert!(log.contains("benchhost-test-dying"), "{log}");
    assert_eq!(leftovers("ganesha"), Vec::<String>::new());
    ok(&benchhost(&["clean", "--images"], &[]), "clean --images");
}

#[test]
fn one_system_at_a_time_and_replace() {
    let Some(_engine) = engine_or_skip("one_system_at_a_time_and_replace", Some(SAMBA)) else { return };
    force_clean("ganesha");
    force_clean("samba");
    let env = [("GANESHA_IMAGE", GANESHA), ("SAMBA_IMAGE", SAMBA)];
    ok(&benchhost(&["up", "ganesha"], &env), "up ganesha");
    let refused = benchhost(&["up", "samba"], &env);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let err = text(&refused.stderr);
    assert!(err.contains("profile ganesha is up") && err.contains("--replace"), "names what is up and how to replace it: {err}");
    assert_eq!(leftovers("samba"), Vec::<String>::new(), "a refused up creates nothing");

    let replaced = benchhost(&["up", "samba", "--replace"], &env);
    ok(&replaced, "up samba --replace");
    assert!(text(&replaced.stderr).contains("replaced ganesha"), "{}", text(&replaced.stderr));
    assert_eq!(leftovers("ganesha"), Vec::<String>::new(), "--replace removed ganesha");
    let ps = docker(&["inspect", "-f", "{{.State.Status}}", "benchhost-samba-samba"]);
    assert_eq!(text(&ps.stdout).trim(), "running");

    // logs: the profile's containers, one service, an unknown service.
    let logs = benchhost(&["logs", "samba", "--tail", "50"], &[]);
    ok(&logs, "logs samba");
    assert!(!text(&logs.stdout).trim().is_empty(), "samba logged something");
    let unknown = benchhost(&["logs", "samba", "nosuch"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("its services: samba"), "{}", text(&unknown.stderr));
    let down_logs = benchhost(&["logs", "ganesha"], &[]);
    assert_eq!(down_logs.status.code(), Some(2), "ganesha is not up: {}", text(&down_logs.stderr));

    // --follow streams until interrupted, then exits cleanly.
    let mut follow = docker::benchhost_command(&["logs", "samba", "--follow", "--tail", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(follow.try_wait().unwrap().is_none(), "--follow keeps running");
    send_signal(follow.id() as i32, 2);
    let status = follow.wait().unwrap();
    assert_eq!(status.code(), Some(0), "--follow ends quietly on Ctrl-C");

    // A dry run says what a real up would: refused, or (with --replace) the down first.
    let dry = benchhost(&["up", "ganesha", "--dry-run"], &env);
    assert_eq!(dry.status.code(), Some(2), "{}", text(&dry.stderr));
    assert!(text(&dry.stderr).contains("profile samba is up"), "{}", text(&dry.stderr));
    let dry = benchhost(&["up", "ganesha", "--dry-run", "--replace"], &env);
    ok(&dry, "dry run --replace");
    assert!(text(&dry.stdout).contains("down samba first (--replace)"), "{}", text(&dry.stdout));

    // Logs that cannot be saved stop down before anything is removed.
    let file = tempfile::NamedTempFile::new().unwrap();
    let refused = benchhost(&["down", "samba", "--results-dir", file.path().to_str().unwrap()], &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("nothing was removed"), "{}", text(&refused.stderr));
    assert_eq!(leftovers("samba").len(), 3, "samba is still up");

    ok(&benchhost(&["down", "samba"], &[]), "down samba");
    assert_eq!(docker::managed(), Vec::<String>::new());

    // Two ups started together: one system at a time holds (one runs, the other refuses).
    let a = docker::benchhost_command(&["up", "ganesha"]).envs(env).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let b = docker::benchhost_command(&["up", "samba"]).envs(env).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(2)], "ganesha: {}\nsamba: {}", text(&a.stderr), text(&b.stderr));
    ok(&benchhost(&["clean"], &[]), "clean");
    assert_eq!(docker::managed(), Vec::<String>::new());
}

fn send_signal(pid: i32, sig: i32) {
    let ok = std::process::Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().unwrap();
    assert!(ok.success());
}

#[test]
fn mount_prints_for_both_oses_runs_for_real_and_down_unmounts() {
    let Some(_engine) = engine_or_skip("mount_prints_for_both_oses_runs_for_real_and_down_unmounts", Some(GANESHA)) else { return };
    force_clean("ganesha");
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let mnt_s = mnt.to_str().unwrap();
    let linux = benchhost(&["mount", "ganesha", "--print", "--os", "linux", "--dir", mnt_s], &[]);
    ok(&linux, "mount --print linux");
    // The tests run as root: no sudo in front.
    assert_eq!(text(&linux.stdout).trim(), format!("mkdir -p {mnt_s} && mount -t nfs -o vers=4.1,tcp,port=22049 127.0.0.1:/export {mnt_s}"));
    let mac = benchhost(&["mount", "ganesha", "--print", "--os", "macos", "--dir", mnt_s], &[]);
    assert_eq!(text(&mac.stdout).trim(), format!("mkdir -p {mnt_s} && mount -t nfs -o vers=4,tcp,port=22049,resvport 127.0.0.1:/export {mnt_s}"));
    let smb_mac = benchhost(&["mount", "samba", "--print", "--os", "macos", "--dir", mnt_s], &[]);
    assert_eq!(text(&smb_mac.stdout).trim(), format!("mkdir -p {mnt_s} && mount_smbfs //bench@127.0.0.1:22445/export {mnt_s}"));
    let smb_linux = benchhost(&["mount", "samba", "--print", "--os", "linux", "--dir", mnt_s], &[]);
    assert_eq!(text(&smb_linux.stdout).trim(), format!("mkdir -p {mnt_s} && mount -t cifs -o port=22445,vers=3.0,username=bench //127.0.0.1/export {mnt_s}"));
    let infra = benchhost(&["mount", "postgres", "--print"], &[]);
    assert_eq!(infra.status.code(), Some(2), "{}", text(&infra.stderr));

    // Not up: refused with a hint.
    let not_up = benchhost(&["mount", "ganesha", "--dir", mnt_s], &[]);
    assert_eq!(not_up.status.code(), Some(2));
    assert!(text(&not_up.stderr).contains("benchhost up ganesha"), "{}", text(&not_up.stderr));

    // Up: the real mount runs; this kernel has no NFS client, so it fails clearly (exit 6).
    ok(&benchhost(&["up", "ganesha"], &[("GANESHA_IMAGE", GANESHA)]), "up");
    let real = benchhost(&["mount", "ganesha", "--dir", mnt_s], &[]);
    let err = text(&real.stderr);
    if real.status.success() {
        // A machine with an NFS client mounts for real; then umount must undo it.
        ok(&benchhost(&["umount", "ganesha"], &[]), "umount");
    } else {
        assert_eq!(real.status.code(), Some(6), "{err}");
        assert!(err.contains("mount -t nfs -o vers=4.1,tcp,port=22049 127.0.0.1:/export") && err.contains("hint:"), "{err}");
        assert!(!mnt.exists(), "a failed mount removes the directory it created");
    }

    // down unmounts what benchhost mount recorded first: a real tmpfs mount stands in for NFS.
    let state = std::env::temp_dir().join("benchhost-tests/state/mounts");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::create_dir_all(&mnt).unwrap();
    let m = std::process::Command::new("mount").args(["-t", "tmpfs", "benchhost-test", mnt_s]).status().unwrap();
    assert!(m.success(), "mount -t tmpfs (the tests run as root)");
    // A record that does not match what is mounted there is never acted on.
    std::fs::write(state.join("ganesha"), format!("{mnt_s}\tsomething-else\ttmpfs\n")).unwrap();
    let umount = benchhost(&["umount", "ganesha"], &[]);
    ok(&umount, "umount of a mismatched record");
    assert!(text(&umount.stderr).contains(&format!("left {mnt_s} alone")), "{}", text(&umount.stderr));
    assert!(std::fs::read_to_string("/proc/self/mountinfo").unwrap().contains(mnt_s), "still mounted");
    // A forged "profile" never reaches outside the state directory.
    let forged = benchhost(&["umount", "../../etc"], &[]);
    assert!(text(&forged.stderr).contains("nothing mounted"), "{}", text(&forged.stderr));
    std::fs::write(state.join("ganesha"), format!("{mnt_s}\tbenchhost-test\ttmpfs\n")).unwrap();
    let down = benchhost(&["down", "ganesha"], &[]);
    ok(&down, "down");
    assert!(text(&down.stderr).contains(&format!("unmounted {mnt_s}")), "{}", text(&down.stderr));
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(mnt_s), "down unmounted {mnt_s}");
    assert!(!state.join("ganesha").exists(), "the record is forgotten");
    let nothing = benchhost(&["umount", "ganesha"], &[]);
    ok(&nothing, "umount with nothing mounted");
    assert!(text(&nothing.stderr).contains("nothing mounted"), "{}", text(&nothing.stderr));
    assert_eq!(leftovers("ganesha"), Vec::<String>::new());
}

#[test]
fn doctor_reports_docker_ok_and_the_missing_nfs_client_and_nfsd() {
    let Some(_engine) = engine_or_skip("doctor_reports_docker_ok_and_the_missing_nfs_client_and_nfsd", None) else { return };
    let out = benchhost(&["doctor"], &[]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "required checks pass here:\n{report}\n{}", text(&out.stderr));
    let version = text(&docker(&["version", "-f", "{{.Server.Version}}"]).stdout).trim().to_string();
    assert!(report.contains("OK    docker engine") && report.contains(&format!("Docker {version} (API 1.41)")), "{report}");
    let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap();
    let has = |fs: &str| filesystems.lines().any(|l| l.split_whitespace().last() == Some(fs));
    // This machine's kernel has neither (README "Machine facts"); doctor must say so.
    assert_eq!(report.contains("WARN  kernel NFS client"), !has("nfs") && !has("nfs4"), "{report}");
    assert_eq!(report.contains("WARN  kernel nfsd (for kernel-nfs)"), !has("nfsd"), "{report}");
    assert!(report.contains("disk space") && report.contains("GiB free"), "{report}");
    assert!(report.contains("free ports"), "{report}");
    assert!(report.contains("architecture"), "{report}");
    let json = benchhost(&["doctor", "--json"], &[]);
    let checks: Value = serde_json::from_slice(&json.stdout).expect("doctor --json");
    let docker_check = checks.as_array().unwrap().iter().find(|c| c["name"] == "docker engine").unwrap();
    assert_eq!(docker_check["status"], "ok");
    assert_eq!(docker_check["required"], true);

    // A busy port of a profile is reported (warning, not failure).
    let holder = std::net::TcpListener::bind("127.0.0.1:22049").expect("port 22049 free for the test");
    let busy = benchhost(&["doctor"], &[]);
    assert_eq!(busy.status.code(), Some(0));
    assert!(text(&busy.stdout).contains("WARN  free ports") && text(&busy.stdout).contains("22049 (ganesha of ganesha)"), "{}", text(&busy.stdout));
    drop(holder);

    // No engine: the required check fails, exit 6, with an install/start hint.
    let dead = benchhost(&["doctor"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    assert_eq!(dead.status.code(), Some(6), "{}", text(&dead.stdout));
    assert!(text(&dead.stdout).contains("FAIL  docker engine") && text(&dead.stdout).contains("hint:"), "{}", text(&dead.stdout));
}

#[test]
fn clean_removes_every_run_and_built_images_only() {
    let Some(_engine) = engine_or_skip("clean_removes_every_run_and_built_images_only", Some(GANESHA)) else { return };
    force_clean("ganesha");
    // A source build of ganesha (base image created by the test), up, plus a stray labelled
    // volume from "another run".
    let base = "benchhost-test/srcbase:latest";
    ok(&docker(&["tag", GANESHA, base]), "docker tag");
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("Dockerfile"), format!("FROM {base}\nRUN echo built-from-source > /benchhost-src-marker\n")).unwrap();
    std::fs::write(src.path().join(".dockerignore"), "secret.txt\n").unwrap();
    std::fs::write(src.path().join("secret.txt"), "not in the context").unwrap();
    let env = [("GANESHA_IMAGE", GANESHA), ("GANESHA_SRC", src.path().to_str().unwrap())];

    let dry = benchhost(&["up", "ganesha", "--dry-run"], &env);
    ok(&dry, "dry run");
    assert!(text(&dry.stdout).contains(&format!("build benchhost-src/ganesha:latest from {}/Dockerfile", src.path().display())), "{}", text(&dry.stdout));
    assert!(text(&docker(&["images", "-q", "benchhost-src/ganesha"]).stdout).trim().is_empty(), "a dry run builds nothing");

    let up = benchhost(&["up", "ganesha"], &env);
    ok(&up, "up from source");
    assert!(text(&up.stderr).contains("built benchhost-src/ganesha:latest"), "{}", text(&up.stderr));
    let image = docker(&["inspect", "-f", "{{.Config.Image}}", "benchhost-ganesha-ganesha"]);
    assert_eq!(text(&image.stdout).trim(), "benchhost-src/ganesha:latest");
    let marker = docker(&["exec", "benchhost-ganesha-ganesha", "cat", "/benchhost-src-marker"]);
    assert_eq!(text(&marker.stdout).trim(), "built-from-source", "the container runs the image built from the checkout");
    let label = docker(&["image", "inspect", "-f", "{{index .Config.Labels \"benchhost.source\"}}", "benchhost-src/ganesha:latest"]);
    assert_eq!(text(&label.stdout).trim(), src.path().display().to_string());
    ok(&docker(&["volume", "create", "--label", "benchhost.managed=true", "--label", "benchhost.profile=zz-other", "benchhost-zz-other-data"]), "stray volume");

    // The user tags the built image: clean --images removes benchhost's tag only.
    ok(&docker(&["tag", "benchhost-src/ganesha:latest", "benchhost-test/keepme:v1"]), "user tag");
    let dry = benchhost(&["clean", "--images", "--dry-run"], &[]);
    ok(&dry, "clean --dry-run");
    let plan = text(&dry.stdout);
    assert!(plan.contains("remove container benchhost-ganesha-ganesha") && plan.contains("benchhost-zz-other-data") && plan.contains("benchhost-src/ganesha:latest"), "{plan}");
    assert!(!docker::managed().is_empty(), "a dry run removes nothing");

    let clean = benchhost(&["clean", "--images"], &[]);
    ok(&clean, "clean --images");
    assert!(text(&clean.stderr).contains("removed 1 container(s), 1 network(s), 2 volume(s), 1 image(s)"), "{}", text(&clean.stderr));
    assert!(text(&clean.stderr).contains("saved 1 log file(s)"), "clean saves the logs like down: {}", text(&clean.stderr));
    assert_eq!(docker::managed(), Vec::<String>::new());
    assert!(text(&docker(&["images", "-q", "benchhost-src/ganesha"]).stdout).trim().is_empty(), "the built image is gone");
    assert!(docker(&["image", "inspect", GANESHA]).status.success(), "images benchhost did not build are kept");
    assert!(docker(&["image", "inspect", "benchhost-test/keepme:v1"]).status.success(), "the user's tag of a built image is kept");
    ok(&docker(&["rmi", "benchhost-test/keepme:v1"]), "remove the user tag");
    ok(&docker(&["rmi", base]), "remove the test's base tag");

    // A broken Dockerfile: engine error (exit 4) with the builder's message; nothing created.
    std::fs::write(src.path().join("Dockerfile"), format!("FROM {GANESHA}\nRUN exit 7\n")).unwrap();
    let broken = benchhost(&["up", "ganesha"], &env);
    assert_eq!(broken.status.code(), Some(4), "{}", text(&broken.stderr));
    assert!(text(&broken.stderr).contains("building image benchhost-src/ganesha:latest") && text(&broken.stderr).contains("exit 7"), "{}", text(&broken.stderr));
    assert_eq!(docker::managed(), Vec::<String>::new());
}

#[test]
fn dry_run_takes_no_action_and_hides_secrets() {
    let Some(_engine) = engine_or_skip("dry_run_takes_no_action_and_hides_secrets", Some(GANESHA)) else { return };
    force_clean("ganesha");
    let secret = "Sup3r-Secret-Val!9";
    let before = docker::managed();
    let env = [("SAMBA_IMAGE", SAMBA), ("SAMBA_PASSWORD", secret)];
    let dry = benchhost(&["up", "samba", "--dry-run"], &env);
    ok(&dry, "up --dry-run");
    let plan = text(&dry.stdout);
    for expected in ["image benchhost-test/samba:latest: present", "create bridge network benchhost-samba", "create container benchhost-samba-samba", "\"HostPort\": \"22445\"", "wait until", "bootstrap samba", "mount -t cifs"] {
        assert!(plan.contains(expected), "dry run lacks {expected:?}:\n{plan}");
    }
    assert!(!plan.contains(secret) && !text(&dry.stderr).contains(secret), "the secret leaked into the dry run");
    assert!(plan.contains("SAMBA_PASSWORD=***"), "{plan}");
    let json = benchhost(&["up", "samba", "--dry-run", "--json"], &env);
    let actions: Value = serde_json::from_slice(&json.stdout).expect("dry run --json");
    let container = actions.as_array().unwrap().iter().find(|a| a["action"] == "container").unwrap();
    assert_eq!(container["request"]["create"]["Image"], SAMBA);
    assert_eq!(docker::managed(), before, "a dry run creates nothing");

    // BENCH_TMPFS and the cache size reach the request; S3 elsewhere drops LocalStack.
    let tmpfs = benchhost(&["up", "ganesha", "--dry-run", "--json"], &[("BENCH_TMPFS", "1")]);
    let actions: Value = serde_json::from_slice(&tmpfs.stdout).unwrap();
    let mounts = &actions.as_array().unwrap().iter().find(|a| a["action"] == "container").unwrap()["request"]["create"]["HostConfig"]["Mounts"];
    assert_eq!(mounts[0]["Type"], "tmpfs", "{mounts}");
    assert_eq!(mounts[0]["Target"], "/export");
    let rclone = benchhost(&["up", "rclone", "--dry-run"], &[("S3_ENDPOINT", "https://s3.example.com"), ("BENCH_CACHE_SIZE", "512MiB")]);
    ok(&rclone, "rclone dry run");
    assert!(!text(&rclone.stdout).contains("localstack"), "a real S3 endpoint starts no LocalStack:\n{}", text(&rclone.stdout));
    // The same BENCH_CACHE_SIZE reaches rclone and juicefs (DittoFS: tests/dittofs_contract.rs).
    let rclone_json = benchhost(&["up", "rclone", "--dry-run", "--json"], &[("S3_ENDPOINT", "https://s3.example.com"), ("BENCH_CACHE_SIZE", "512MiB")]);
    let actions: Value = serde_json::from_slice(&rclone_json.stdout).unwrap();
    let cmd: Vec<String> = actions.as_array().unwrap().iter().find(|a| a["action"] == "container").unwrap()["request"]["create"]["Cmd"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let at = cmd.iter().position(|a| a == "--vfs-cache-max-size").expect("rclone gets a cache size");
    assert_eq!(cmd[at + 1], "512MiB");
    let juicefs = benchhost(&["up", "juicefs", "--dry-run"], &[("BENCH_CACHE_SIZE", "512MiB"), ("BENCH_WAL_ENABLED", "0"), ("JUICEFS_MOUNT", "none")]);
    ok(&juicefs, "juicefs dry run");
    assert!(text(&juicefs.stdout).contains("\"JFS_CACHE_SIZE=512MiB\"") && text(&juicefs.stdout).contains("\"JFS_WRITEBACK=1\""), "{}", text(&juicefs.stdout));
    let profiling = benchhost(&["up", "dittofs-badger-fs", "--dry-run", "--with-profiling"], &[]);
    ok(&profiling, "dittofs --with-profiling dry run");
    assert!(text(&profiling.stdout).contains("pprof: true") && text(&profiling.stdout).contains("\"9090/tcp\""), "{}", text(&profiling.stdout));

    // Combinations that mean nothing are refused (usage, exit 2), naming who honours them.
    let wal = benchhost(&["up", "ganesha", "--dry-run"], &[("BENCH_WAL_ENABLED", "0")]);
    assert_eq!(wal.status.code(), Some(2));
    assert!(text(&wal.stderr).contains("systems that honour it: dittofs, juicefs"), "{}", text(&wal.stderr));
    let prof = benchhost(&["up", "samba", "--with-profiling", "--dry-run"], &[]);
    assert_eq!(prof.status.code(), Some(2));
    assert!(text(&prof.stderr).contains("systems that honour it: dittofs"), "{}", text(&prof.stderr));
    let bad = benchhost(&["up", "juicefs", "--dry-run"], &[("BENCH_WAL_ENABLED", "maybe")]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));

    // down/umount/drop-caches dry runs change nothing.
    ok(&benchhost(&["up", "ganesha"], &[("GANESHA_IMAGE", GANESHA)]), "up");
    let down = benchhost(&["down", "ganesha", "--dry-run"], &[]);
    ok(&down, "down --dry-run");
    assert!(text(&down.stdout).contains("save the logs of benchhost-ganesha-ganesha") && text(&down.stdout).contains("remove volume benchhost-ganesha-export"), "{}", text(&down.stdout));
    assert_eq!(leftovers("ganesha").len(), 3, "still up after a dry run");
    ok(&benchhost(&["down", "ganesha"], &[]), "down");
    let drop = benchhost(&["drop-caches", "--dry-run"], &[]);
    assert_eq!(text(&drop.stdout).lines().nth(1), Some("sync"), "{}", text(&drop.stdout));
}

#[test]
fn progress_on_a_terminal_prints_one_line_per_step() {
    let Some(_engine) = engine_or_skip("progress_on_a_terminal_prints_one_line_per_step", Some(GANESHA)) else { return };
    force_clean("ganesha");
    // `script` gives benchhost a pseudo-terminal, where spinners are enabled.
    let bin = benchhost_bin().display();
    let results = tempfile::tempdir().unwrap();
    let cmd = format!("GANESHA_IMAGE={GANESHA} {bin} up ganesha --results-dir {}", results.path().display());
    let out = std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]).output().expect("script (util-linux)");
    ok(&out, "up under a terminal");
    // What the terminal shows of each line: the text after its last carriage return, without
    // the clear-line sequence spinners use.
    let screen: Vec<String> = text(&out.stdout).lines().map(|l| l.rsplit('\r').next().unwrap_or("").replace("\x1b[2K", "")).collect();
    let screen = screen.join("\n");
    let steps: Vec<&str> = screen.lines().filter(|l| l.starts_with('[')).collect();
    assert!(steps.len() >= 5, "one line per step:\n{screen}");
    assert!(steps.iter().all(|l| l.matches("s] ").count() == 1), "steps run together on one line:\n{screen}");
    assert!(text(&out.stdout).contains("waiting for benchhost-ganesha-ganesha to answer"), "a spinner shows the wait on a terminal");
    ok(&benchhost(&["down", "ganesha"], &[]), "down");
}

#[test]
fn drop_caches_evicts_a_file_from_the_page_cache() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cached.bin");
    std::fs::write(&file, vec![7u8; 8 << 20]).unwrap();
    let _ = std::fs::read(&file).unwrap();
    let resident = |f: &Path| -> u64 {
        let out = std::process::Command::new("fincore").args(["-b", "-n", "-o", "RES"]).arg(f).output().expect("fincore (util-linux)");
        text(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("fincore: {}", text(&out.stdout)))
    };
    assert!(resident(&file) > 0, "the file is in the page cache after reading it");
    let out = benchhost(&["drop-caches"], &[]);
    ok(&out, "drop-caches");
    assert!(text(&out.stderr).contains("flushed the page cache"), "{}", text(&out.stderr));
    assert_eq!(resident(&file), 0, "drop-caches evicted it");
}

#[test]
fn makefile_help_lists_a_target_for_every_command() {
    let root = repo_root();
    let out = std::process::Command::new("make").arg("-s").arg("-C").arg(root).output().expect("make");
    ok(&out, "make help");
    let help = text(&out.stdout);
    for target in ["build", "up", "down", "status", "list", "logs", "mount", "umount", "doctor", "clean", "drop-caches", "dry-run", "bench", "test", "images"] {
        assert!(help.contains(&format!("make {target} ")), "make help lacks {target}:\n{help}");
    }
}

/// `BENCH_DATA_DIR` puts each named volume on the chosen disk (`<dir>/<profile>/<volume>`): data
/// written over NFS lands there, `status` lists the volume, `down` removes volume and directory,
/// and a directory that already holds something is refused before anything is created.
#[test]
fn bench_data_dir_binds_every_volume_on_the_chosen_disk_and_down_removes_it() {
    let Some(_engine) = engine_or_skip("bench_data_dir_binds_every_volume_on_the_chosen_disk_and_down_removes_it", Some(GANESHA)) else { return };
    force_clean("ganesha");
    let data = tempfile::tempdir().unwrap();
    let data_s = data.path().to_str().unwrap();
    let env = [("GANESHA_IMAGE", GANESHA), ("BENCH_DATA_DIR", data_s)];
    let dir = data.path().join("ganesha").join("benchhost-ganesha-export");

    let dry = benchhost(&["up", "ganesha", "--dry-run"], &env);
    ok(&dry, "up --dry-run with BENCH_DATA_DIR");
    let plan = text(&dry.stdout);
    assert!(plan.contains(&format!("create directory {} and volume benchhost-ganesha-export bound to it", dir.display())), "{plan}");
    assert!(!data.path().join("ganesha").exists(), "a dry run creates nothing");

    ok(&benchhost(&["up", "ganesha"], &env), "up ganesha with BENCH_DATA_DIR");
    assert!(dir.is_dir(), "{} was created", dir.display());
    let device = text(&docker(&["volume", "inspect", "-f", "{{.Options.device}}", "benchhost-ganesha-export"]).stdout);
    assert_eq!(device.trim(), dir.to_str().unwrap(), "the volume is bound to the directory");
    let back = nfs_roundtrip(|n| format!("nfs://127.0.0.1/export/{n}?version=4&nfsport=22049"), "on-the-data-dir.bin", 3000);
    assert_eq!(back, pattern(3000));
    assert_eq!(std::fs::read(dir.join("on-the-data-dir.bin")).unwrap(), pattern(3000), "the file written over NFS is on the chosen disk");
    let status = text(&benchhost(&["status"], &[]).stdout);
    assert!(status.contains("benchhost-ganesha-export"), "{status}");

    ok(&benchhost(&["down", "ganesha"], &[]), "down");
    assert!(!dir.exists() && !data.path().join("ganesha").exists(), "down removes the volume's directory and the empty profile directory");
    assert!(data.path().exists(), "BENCH_DATA_DIR itself stays");
    assert_eq!(leftovers("ganesha"), Vec::<String>::new());

    // A directory that already holds something is not benchhost's: refused, nothing created.
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mine.txt"), b"the user's file").unwrap();
    let refused = benchhost(&["up", "ganesha"], &env);
    assert_eq!(refused.status.code(), Some(2), "stderr: {}", text(&refused.stderr));
    let err = text(&refused.stderr);
    assert!(err.contains("already exists;") && err.contains("benchhost-ganesha-export"), "{err}");
    assert_eq!(leftovers("ganesha"), Vec::<String>::new(), "nothing of the refused up is left");
    assert_eq!(std::fs::read(dir.join("mine.txt")).unwrap(), b"the user's file");
}
