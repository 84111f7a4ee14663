//! End-to-end on the real Docker engine with real NFS-Ganesha (local image built from Debian
//! packages by `tests/images/build.sh ganesha`) and a real NFS client (libnfs-utils).

use crate::support::docker::{self, benchhost, dangling_volumes, docker, engine_or_skip, force_clean, leftovers, text, Cleanup};
use std::process::Command;

const IMAGE: &str = "benchhost-test/ganesha:latest";

fn nfs_url(file: &str) -> String {
    format!("nfs://127.0.0.1/export/{file}?version=4&nfsport=22049")
}

#[test]
fn e2e_ganesha_up_nfs_roundtrip_down_leaves_nothing() {
    let Some(_engine) = engine_or_skip("e2e_ganesha_up_nfs_roundtrip_down_leaves_nothing", Some(IMAGE)) else { return };
    force_clean("ganesha");
    let env = [("GANESHA_IMAGE", IMAGE)];

    let up = benchhost(&["up", "ganesha"], &env);
    let (out, err) = (text(&up.stdout), text(&up.stderr));
    assert!(up.status.success(), "up failed ({:?}):\n{err}", up.status.code());
    assert!(
        out.contains("mount -t nfs -o vers=4.1,tcp,port=22049 127.0.0.1:/export /mnt/benchhost/ganesha"),
        "mount command missing from stdout:\n{out}"
    );
    assert!(err.contains("ganesha is up"), "{err}");

    // Right after `up`: a real NFSv4 client writes and reads back (no grace period).
    // bookworm's libnfs 4.0 cannot send one NFSv4 WRITE over ~3.9 KB, so the file is 3000 bytes.
    docker::nfs_roundtrip(nfs_url, "hello.bin", 3000);
    // The file really is on the server's export volume.
    let inside = docker(&["exec", "benchhost-ganesha-ganesha", "stat", "-c", "%s", "/export/hello.bin"]);
    assert_eq!(text(&inside.stdout).trim(), "3000");

    // Docker runs no healthcheck in it (nothing probes the server during a benchmark); the
    // plugin's test is in a label, and status --json runs it: running and healthy, with its
    // resources.
    assert_eq!(docker::assert_no_docker_healthcheck("benchhost-ganesha-ganesha"), r#"["nfs-ls","nfs://127.0.0.1/export?version=4"]"#);
    let st = benchhost(&["status", "--json"], &[]);
    let status: serde_json::Value = serde_json::from_slice(&st.stdout).expect("status --json is JSON");
    let entry = status.as_array().unwrap().iter().find(|p| p["profile"] == "ganesha").expect("ganesha in status");
    assert_eq!(entry["containers"][0]["name"], "benchhost-ganesha-ganesha");
    assert_eq!(entry["containers"][0]["state"], "running");
    assert_eq!(entry["containers"][0]["health"], "healthy");
    assert_eq!(entry["containers"][0]["health_output"], serde_json::Value::Null);
    assert_eq!(entry["networks"], serde_json::json!(["benchhost-ganesha"]));
    assert_eq!(entry["volumes"], serde_json::json!(["benchhost-ganesha-export"]));

    // The same cpu/memory caps as every system (defaults 2 CPUs, 4g).
    let caps = docker(&["inspect", "-f", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}", "benchhost-ganesha-ganesha"]);
    assert_eq!(text(&caps.stdout).trim(), format!("2000000000 {}", 4u64 << 30));

    // A second `up` refuses instead of duplicating.
    let again = benchhost(&["up", "ganesha"], &env);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("already up"), "{}", text(&again.stderr));

    let down = benchhost(&["down", "ganesha"], &[]);
    assert!(down.status.success(), "down: {}", text(&down.stderr));
    assert!(text(&down.stderr).contains("removed 1 container(s), 1 network(s), 1 volume(s)"), "{}", text(&down.stderr));
    assert_eq!(leftovers("ganesha"), Vec::<String>::new());

    // down with nothing up succeeds; a profile nobody knows is a usage error.
    let down = benchhost(&["down", "ganesha"], &[]);
    assert!(down.status.success());
    assert!(text(&down.stderr).contains("nothing to remove"));
    let typo = benchhost(&["down", "ganehsa"], &[]);
    assert_eq!(typo.status.code(), Some(2), "{}", text(&typo.stderr));
    assert!(text(&typo.stderr).contains("unknown profile \"ganehsa\""));
}

/// Lines of the ganesha container's log since `since` ([`docker::engine_time`]) that say a
/// client connection was reset: what each `nfs-ls` (the healthcheck) leaves behind.
fn connection_resets_since(container: &str, since: &str) -> usize {
    let logs = docker(&["logs", "--since", since, container]);
    format!("{}{}", text(&logs.stdout), text(&logs.stderr)).lines().filter(|l| l.contains("recv errno 104")).count()
}

/// Rewrites the export's `Access_Type` in the container's ganesha.conf and has Ganesha reread
/// its exports (SIGHUP to PID 1, which Ganesha handles).
fn set_export_access(container: &str, access: &str) {
    let script = format!("sed -i 's/Access_Type = .*;/Access_Type = {access};/' /etc/ganesha/ganesha.conf && kill -HUP 1");
    let out = docker(&["exec", container, "sh", "-c", &script]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Polls `status --json` (up to 5 s) until `container`'s health is `wanted`; returns the entry.
fn status_until(container: &str, wanted: &str) -> serde_json::Value {
    let mut entry = docker::status_of(container);
    for _ in 0..10 {
        if entry["health"] == wanted {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        entry = docker::status_of(container);
    }
    entry
}

#[test]
fn e2e_nothing_probes_an_idle_ganesha_and_status_runs_its_check_when_asked() {
    let Some(_engine) = engine_or_skip("e2e_nothing_probes_an_idle_ganesha_and_status_runs_its_check_when_asked", Some(IMAGE)) else { return };
    force_clean("ganesha");
    let _cleanup = Cleanup("ganesha");
    let container = "benchhost-ganesha-ganesha";
    let up = benchhost(&["up", "ganesha"], &[("GANESHA_IMAGE", IMAGE)]);
    assert!(up.status.success(), "up failed ({:?}):\n{}", up.status.code(), text(&up.stderr));

    // A benchmark-length idle period: nothing runs in the container (no exec, no Docker
    // healthcheck), and the server sees no client (each healthcheck run is one NFS connection,
    // which Ganesha logs as reset when nfs-ls leaves).
    let since = docker::engine_time();
    std::thread::sleep(std::time::Duration::from_secs(5));
    let until = docker::engine_time();
    assert_eq!(docker::execs_between(container, &since, &until), Vec::<String>::new(), "something ran in {container} while it was idle");
    assert_eq!(connection_resets_since(container, &since), 0, "a client connected to the idle server");
    assert_eq!(docker::assert_no_docker_healthcheck(container), r#"["nfs-ls","nfs://127.0.0.1/export?version=4"]"#);

    // `status` runs the plugin's test once, now: one exec of exactly that test, and the server
    // sees its connection (so the idle window above would have seen one).
    let since = docker::engine_time();
    let entry = docker::status_of(container);
    assert_eq!((entry["health"].as_str(), entry["health_output"].as_str()), (Some("healthy"), None), "{entry}");
    let until = docker::engine_time();
    let execs = docker::execs_between(container, &since, &until);
    assert_eq!(execs, ["exec_create: nfs-ls nfs://127.0.0.1/export?version=4", "exec_start: nfs-ls nfs://127.0.0.1/export?version=4", "exec_die"], "{execs:?}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(connection_resets_since(container, &since), 1, "the healthcheck's connection is not in Ganesha's log");

    // The server stops serving the export (its access set to None and reread): status says
    // unhealthy with what the check printed, as JSON and as text.
    set_export_access(container, "None");
    let entry = status_until(container, "unhealthy");
    assert_eq!(entry["state"], "running", "{entry}");
    assert_eq!(entry["health"], "unhealthy", "{entry}");
    let why = entry["health_output"].as_str().unwrap_or_default();
    assert!(why.starts_with("exited ") && why.contains("NFS4ERR_NOENT"), "the check's own output is not quoted: {entry}");
    let plain = benchhost(&["status"], &[]);
    assert!(text(&plain.stdout).contains(&format!("unhealthy: {why}")), "{}", text(&plain.stdout));

    // Served again: healthy again (no stored answer from before).
    set_export_access(container, "RW");
    let entry = status_until(container, "healthy");
    assert_eq!((entry["health"].as_str(), entry["health_output"].as_str()), (Some("healthy"), None), "{entry}");

    // A hung server (stopped by SIGSTOP): the check gets no answer, and status says so within
    // the plugin's 5 s timeout instead of waiting with it.
    let stop = docker(&["kill", "-s", "STOP", container]);
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    let t = std::time::Instant::now();
    let entry = docker::status_of(container);
    let waited = t.elapsed();
    let cont = docker(&["kill", "-s", "CONT", container]);
    assert!(cont.status.success(), "{}", text(&cont.stderr));
    assert_eq!((entry["health"].as_str(), entry["health_output"].as_str()), (Some("unhealthy"), Some("did not finish within 5s")), "{entry}");
    assert!(waited < std::time::Duration::from_secs(8), "status took {waited:?}");
    let entry = status_until(container, "healthy");
    assert_eq!(entry["health"], "healthy", "{entry}");
}

#[test]
fn e2e_caps_come_from_bench_settings() {
    let Some(_engine) = engine_or_skip("e2e_caps_come_from_bench_settings", Some(IMAGE)) else { return };
    force_clean("ganesha");
    let up = benchhost(&["up", "ganesha"], &[("GANESHA_IMAGE", IMAGE), ("BENCH_CPU_LIMIT", "1.5"), ("BENCH_MEM_LIMIT", "512m")]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let caps = docker(&["inspect", "-f", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}", "benchhost-ganesha-ganesha"]);
    force_clean("ganesha");
    assert_eq!(text(&caps.stdout).trim(), format!("1500000000 {}", 512u64 << 20));
    assert_eq!(leftovers("ganesha"), Vec::<String>::new());
}

#[test]
fn e2e_failed_up_removes_what_it_created() {
    let Some(_engine) = engine_or_skip("e2e_failed_up_removes_what_it_created", Some(IMAGE)) else { return };
    force_clean("dittofs-badger-s3");
    let dangling_before = dangling_volumes();
    // A DittoFS profile on an image without DittoFS: the container cannot start, after the
    // network and volumes exist. A real S3 endpoint keeps LocalStack (not available here) out.
    let env = [("DITTOFS_IMAGE", IMAGE), ("S3_ENDPOINT", "https://s3.example.com")];
    let up = benchhost(&["up", "dittofs-badger-s3"], &env);
    let err = text(&up.stderr);
    assert!(!up.status.success(), "up unexpectedly succeeded:\n{err}");
    assert!(err.contains("benchhost-dittofs-badger-s3-dittofs"), "error should name the container:\n{err}");
    assert!(err.contains("removing what this run created"), "{err}");
    assert_eq!(leftovers("dittofs-badger-s3"), Vec::<String>::new());

    // With --keep-on-failure the resources stay for debugging, and `down` removes them.
    let up = benchhost(&["up", "dittofs-badger-s3", "--keep-on-failure"], &env);
    assert!(!up.status.success());
    let kept = leftovers("dittofs-badger-s3");
    assert!(kept.iter().any(|k| k == "network benchhost-dittofs-badger-s3"), "{kept:?}");
    assert!(kept.iter().any(|k| k == "volume benchhost-dittofs-badger-s3-metadata"), "{kept:?}");
    let down = benchhost(&["down", "dittofs-badger-s3"], &[]);
    assert!(down.status.success());
    assert_eq!(leftovers("dittofs-badger-s3"), Vec::<String>::new());
    // The ganesha image declares VOLUME /export, which this service does not cover: its
    // anonymous volume goes with the container, unlabelled or not.
    assert_eq!(dangling_volumes(), dangling_before, "anonymous volumes leaked");
}

#[test]
fn e2e_missing_image_and_busy_port_fail_before_creating_anything() {
    let Some(_engine) = engine_or_skip("e2e_missing_image_and_busy_port_fail_before_creating_anything", Some(IMAGE)) else { return };
    force_clean("ganesha");
    let up = benchhost(&["up", "ganesha"], &[("GANESHA_IMAGE", "benchhost-test/does-not-exist:1")]);
    let err = text(&up.stderr);
    assert_eq!(up.status.code(), Some(4), "{err}");
    assert!(err.contains("image benchhost-test/does-not-exist:1 is not present locally and could not be pulled"), "{err}");
    assert!(err.contains("GANESHA_IMAGE"), "hint should name the setting:\n{err}");
    assert_eq!(leftovers("ganesha"), Vec::<String>::new());

    let holder = std::net::TcpListener::bind("127.0.0.1:22049").expect("port 22049 free for the test");
    let up = benchhost(&["up", "ganesha"], &[("GANESHA_IMAGE", IMAGE)]);
    drop(holder);
    let err = text(&up.stderr);
    assert_eq!(up.status.code(), Some(4), "{err}");
    assert!(err.contains("host port 22049 is already in use") && err.contains("service ganesha"), "{err}");
    assert_eq!(leftovers("ganesha"), Vec::<String>::new());
}

#[cfg(unix)]
#[test]
fn e2e_sigint_during_wait_removes_everything_and_exits_130() {
    use std::io::{BufRead, BufReader};
    let Some(_engine) = engine_or_skip("e2e_sigint_during_wait_removes_everything_and_exits_130", Some(IMAGE)) else { return };
    force_clean("localstack");
    // LocalStack's healthcheck (curl) can never pass on the ganesha image: `up` waits forever.
    let mut child = docker::benchhost_command(&["up", "localstack"])
        .env("LOCALSTACK_IMAGE", IMAGE)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("benchhost-localstack-localstack started") {
            break;
        }
    }
    assert!(seen.contains("started"), "up never started the container:\n{seen}");
    assert!(!leftovers("localstack").is_empty(), "the container should exist while waiting");
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "stderr after SIGINT:\n{}", rest.join("\n"));
    assert!(rest.join("\n").contains("interrupted"), "{rest:?}");
    assert_eq!(leftovers("localstack"), Vec::<String>::new());
}
