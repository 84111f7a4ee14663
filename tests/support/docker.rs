//! Helpers for tests that need the real Docker engine and local test images.
//!
//! Without an engine (or the image) a test is skipped with a message, unless
//! `BENCHHOST_REQUIRE_DOCKER=1` (set by `.ci/run` and `make test`), which turns a skip into a
//! failure: in CI, Docker tests must run.

use super::artifacts;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// Docker tests share host ports and labels: run them one at a time.
static ENGINE: Mutex<()> = Mutex::new(());

/// Exclusive use of the engine by one test: held in-process (threads of one test binary) and
/// across processes (an advisory lock on a file in the temp dir, so two `cargo test` runs on
/// one machine do not see each other's containers).
pub struct EngineGuard {
    _thread: MutexGuard<'static, ()>,
    _file: std::fs::File,
}

thread_local! {
    /// Whether this test's thread holds the engine ([`engine_or_skip`]). A benchhost run by a test
    /// that does not is pointed at no engine ([`benchhost_command`]): otherwise what another
    /// test has up at that moment (a dry run refuses while a profile is up) would decide it.
    static HOLDS_ENGINE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Drop for EngineGuard {
    fn drop(&mut self) {
        HOLDS_ENGINE.with(|h| h.set(false));
    }
}

/// Holds the engine for one test; `None` means skip (and the reason was printed).
pub fn engine_or_skip(test: &str, image: Option<&str>) -> Option<EngineGuard> {
    let required = std::env::var("BENCHHOST_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
    let missing = if !docker(&["info", "--format", "{{.ServerVersion}}"]).status.success() {
        Some("no Docker engine is reachable (start dockerd)".to_string())
    } else { image.filter(|i| !docker(&["image", "inspect", i]).status.success()).map(|image| format!("image {image} is missing (build it with tests/images/build.sh)")) };
    if let Some(why) = missing {
        if required {
            panic!("{test}: {why}, and BENCHHOST_REQUIRE_DOCKER=1");
        }
        eprintln!("SKIPPED {test}: {why} (set BENCHHOST_REQUIRE_DOCKER=1 to fail instead)");
        return None;
    }
    // Built before the engine is held: a build never delays other processes' Docker tests.
    artifacts::benchhost_bin();
    let thread = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let path = std::env::temp_dir().join("benchhost-docker-tests.lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    file.lock().unwrap_or_else(|e| panic!("locking {}: {e}", path.display()));
    HOLDS_ENGINE.with(|h| h.set(true));
    Some(EngineGuard { _thread: thread, _file: file })
}

/// Compose v2 as a command line (`docker compose`, or the copy tests/setup.sh puts at
/// `${XDG_CACHE_HOME:-~/.cache}/benchhost/compose-v2/docker-compose`); `None` means skip (the
/// reason was printed), and with `BENCHHOST_REQUIRE_DOCKER=1` a missing Compose fails `test`.
pub fn compose_v2_or_skip(test: &str) -> Option<Vec<String>> {
    if Command::new("docker").args(["compose", "version"]).output().is_ok_and(|o| o.status.success()) {
        return Some(vec!["docker".into(), "compose".into()]);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let Some(bin) = cache.map(|c| c.join("benchhost/compose-v2/docker-compose")).filter(|b| b.exists()) {
        return Some(vec![bin.display().to_string()]);
    }
    if std::env::var("BENCHHOST_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
        panic!("{test}: Compose v2 is missing (tests/setup.sh fetches it), and BENCHHOST_REQUIRE_DOCKER=1");
    }
    eprintln!("SKIPPED {test}: no Compose v2 (run tests/setup.sh; set BENCHHOST_REQUIRE_DOCKER=1 to fail instead)");
    None
}

/// Holds the engine for one test that needs every one of `images` (`None`: skip, the reason
/// printed); the lock is taken once, as it is not reentrant.
pub fn engine_with_images(test: &str, images: &[&str]) -> Option<EngineGuard> {
    let (last, rest) = images.split_last().expect("at least one image");
    for image in rest {
        drop(engine_or_skip(test, Some(image))?);
    }
    engine_or_skip(test, Some(last))
}

/// Removes a profile's resources when dropped, even when an assertion fails half-way.
pub struct Cleanup(pub &'static str);
impl Drop for Cleanup {
    fn drop(&mut self) {
        force_clean(self.0);
    }
}

/// Runs the docker CLI (an independent check of what benchhost did).
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("docker CLI")
}

/// The benchhost binary with `args`, run in the temp dir, with no third-party plugins, and
/// with results and mount records under the temp dir (never the user's `./results`); with no
/// engine unless the test holds it ([`engine_or_skip`]).
pub fn benchhost_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(artifacts::benchhost_bin());
    let scratch = std::env::temp_dir().join("benchhost-tests");
    cmd.args(args)
        .env_remove("BENCHHOST_PLUGIN_PATH")
        .env("BENCH_RESULTS_DIR", scratch.join("results"))
        .env("BENCHHOST_STATE_DIR", scratch.join("state"))
        .current_dir(std::env::temp_dir());
    if !HOLDS_ENGINE.with(|h| h.get()) {
        cmd.env("DOCKER_HOST", "unix:///nonexistent/benchhost-tests-without-the-engine.sock");
    }
    cmd
}

/// Runs the benchhost binary ([`benchhost_command`]) with `env` added.
pub fn benchhost(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = benchhost_command(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("running benchhost")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `"<kind> <name>"` of every container, network and volume carrying `label` (`key=value`).
pub fn labelled(label: &str) -> Vec<String> {
    let filter = format!("label={label}");
    let mut found = Vec::new();
    for (kind, args) in [
        ("container", vec!["ps", "-a", "--filter", filter.as_str(), "--format", "{{.Names}}"]),
        ("network", vec!["network", "ls", "--filter", filter.as_str(), "--format", "{{.Name}}"]),
        ("volume", vec!["volume", "ls", "--filter", filter.as_str(), "--format", "{{.Name}}"]),
    ] {
        let out = docker(&args);
        assert!(out.status.success(), "docker {args:?}: {}", text(&out.stderr));
        found.extend(text(&out.stdout).lines().filter(|l| !l.is_empty()).map(|l| format!("{kind} {l}")));
    }
    found
}

/// Names of containers, networks and volumes labelled `benchhost.profile=<profile>`.
pub fn leftovers(profile: &str) -> Vec<String> {
    labelled(&format!("benchhost.profile={profile}"))
}

/// Every benchhost-managed container, network and volume on the engine, of any profile.
pub fn managed() -> Vec<String> {
    labelled("benchhost.managed=true")
}

/// Removes anything a failed test left for `profile` (so the next test starts clean).
pub fn force_clean(profile: &str) {
    let _ = benchhost(&["down", profile], &[]);
}

/// Names of volumes no container uses (anonymous volumes a run failed to remove show up here).
pub fn dangling_volumes() -> Vec<String> {
    let out = docker(&["volume", "ls", "-q", "--filter", "dangling=true"]);
    let mut v: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    v.sort();
    v
}

/// A deterministic byte pattern of `size` bytes (no two neighbouring blocks alike).
pub fn pattern(size: usize) -> Vec<u8> {
    (0..size as u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect()
}

/// Writes `size` bytes to the NFS URL `url_of(name)` with the real libnfs client (`nfs-cp`),
/// reads them back and asserts they are identical. Returns the bytes written.
pub fn nfs_roundtrip(url_of: impl Fn(&str) -> String, name: &str, size: usize) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let payload = pattern(size);
    let (src, back) = (dir.path().join("in.bin"), dir.path().join("back.bin"));
    std::fs::write(&src, &payload).unwrap();
    let put = Command::new("nfs-cp").arg(&src).arg(url_of(name)).output().expect("nfs-cp (apt-get install libnfs-utils)");
    assert!(put.status.success(), "nfs-cp write: {} {}", text(&put.stdout), text(&put.stderr));
    let get = Command::new("nfs-cp").arg(url_of(name)).arg(&back).output().unwrap();
    assert!(get.status.success(), "nfs-cp read: {} {}", text(&get.stdout), text(&get.stderr));
    assert_eq!(std::fs::read(&back).unwrap(), payload, "bytes read back over NFS differ");
    payload
}

/// Asserts that Docker runs no healthcheck in `container`: no health state, and the check
/// turned off (`Healthcheck.Test = ["NONE"]`, which also overrides the image's `HEALTHCHECK`;
/// the test images declare one). benchhost runs the plugin's test itself, when asked.
/// Returns the test benchhost keeps in the `benchhost.healthcheck` label ("" without one).
pub fn assert_no_docker_healthcheck(container: &str) -> String {
    let out = docker(&["inspect", "-f", "{{json .State.Health}} {{json .Config.Healthcheck.Test}}", container]);
    assert_eq!(text(&out.stdout).trim(), r#"null ["NONE"]"#, "{container}: Docker runs a healthcheck: {}", text(&out.stderr));
    let label = docker(&["inspect", "-f", r#"{{index .Config.Labels "benchhost.healthcheck"}}"#, container]);
    text(&label.stdout).trim().to_string()
}

/// `status --json`'s entry of `container` (panics naming what status said when it is absent).
pub fn status_of(container: &str) -> serde_json::Value {
    let st = benchhost(&["status", "--json"], &[]);
    assert!(st.status.success(), "status: {}", text(&st.stderr));
    let all: serde_json::Value = serde_json::from_slice(&st.stdout).expect("status --json is JSON");
    all.as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["containers"].as_array().cloned().unwrap_or_default())
        .find(|c| c["name"] == container)
        .unwrap_or_else(|| panic!("{container} is not in status: {all}"))
}

/// Seconds since the epoch, as `docker events --since/--until` take them.
pub fn engine_time() -> String {
    format!("{:.3}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64())
}

/// The engine's events between `since` and `until` ([`engine_time`]) of `container` that show
/// something running in it besides its own processes: execs (benchhost's, anyone's) and Docker
/// healthchecks (`exec_create`, `exec_start`, `exec_die`, `health_status`), one line each.
pub fn execs_between(container: &str, since: &str, until: &str) -> Vec<String> {
    let out = docker(&[
        "events", "--since", since, "--until", until, "--filter", &format!("container={container}"),
        "--filter", "event=exec_create", "--filter", "event=exec_start", "--filter", "event=exec_die", "--filter", "event=health_status",
        "--format", "{{.Action}}",
    ]);
    assert!(out.status.success(), "docker events: {}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_string).collect()
}

/// Reads `child`'s piped stderr until it contains `wanted`; returns everything read. Panics
/// with what was read when the process ends first.
pub fn read_stderr_until(child: &mut std::process::Child, wanted: &str) -> String {
    use std::io::Read;
    let stderr = child.stderr.as_mut().expect("stderr is piped");
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains(wanted) {
        match stderr.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => panic!("benchhost ended before {wanted:?}:\n{}", String::from_utf8_lossy(&seen)),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// A SigV4-signed GET on LocalStack's published S3 port (keys `test`/`test`, us-east-1, path
/// style): (HTTP status, body). curl's `--aws-sigv4` needs curl 7.75 or later.
pub fn s3_get(path: &str) -> (u16, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    let out = Command::new("curl")
        .args(["-s", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "test:test", "-w", "%{http_code}", "-o"])
        .arg(&body)
        .arg(format!("http://127.0.0.1:4566{path}"))
        .output()
        .expect("curl (apt-get install curl; --aws-sigv4 needs curl >= 7.75)");
    let status = text(&out.stdout).trim().parse().unwrap_or(0);
    (status, std::fs::read(&body).unwrap_or_default())
}
