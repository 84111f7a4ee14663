//! The second Docker engine of the two-host tests: `tests/lib/remote-engine.sh` runs a dockerd in
//! a network namespace of its own at [`ENGINE_ADDRESS`] (this machine reaches it over a veth pair
//! as another host), with its own data root; the servers run there, the clients here.
//!
//! The rig is started once per test binary, on first use, with this process as its owner: the
//! script's watcher stops it (containers, namespace, veth, dirs) once every owning process has
//! exited, however it exits. A test holds the local engine too ([`docker::engine_with_images`]):
//! that serialises the two-host tests with every other Docker test (they share this machine's
//! ports, mounts and the images loaded from its engine), here and across test processes.
//!
//! Without root, `ip`, `nsenter` or `dockerd` a test is skipped with the reason, unless
//! `BENCHHOST_REQUIRE_DOCKER=1` (`make test`, CI), which makes it fail.

use super::docker::{self, EngineGuard};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The remote engine host's address (the namespace's end of the veth pair).
pub const ENGINE_ADDRESS: &str = "10.201.0.2";
/// `DOCKER_HOST` for the remote engine: plain TCP, as the rig.
pub const DOCKER_HOST: &str = "tcp://10.201.0.2:2375";
/// `DOCKER_HOST` for the remote engine restarted with TLS ([`RemoteEngine::restart_with_tls`]).
pub const DOCKER_HOST_TLS: &str = "tcp://10.201.0.2:2376";
/// The rig's own socket for the remote engine, in either mode: how the tests look at it.
const RIG_SOCKET: &str = "unix:///run/benchhost-remote-engine/docker.sock";

/// The outcome of starting the rig, once per process: `Err` holds the script's output.
static STARTED: OnceLock<Result<(), String>> = OnceLock::new();

/// Use of the remote engine by one test (and of the local engine, whose lock it holds).
pub struct RemoteEngine {
    _local: EngineGuard,
}

fn script() -> std::path::PathBuf {
    super::repo_root().join("tests/lib/remote-engine.sh")
}

fn run_script(args: &[&str]) -> Output {
    Command::new("bash").arg(script()).args(args).output().expect("running tests/lib/remote-engine.sh")
}

fn skip_or_fail(test: &str, why: &str) -> Option<RemoteEngine> {
    if std::env::var("BENCHHOST_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
        panic!("{test}: {why}, and BENCHHOST_REQUIRE_DOCKER=1");
    }
    eprintln!("SKIPPED {test}: {why} (set BENCHHOST_REQUIRE_DOCKER=1 to fail instead)");
    None
}

/// Holds the remote engine for one test, with `images` (from this machine's engine) loaded into
/// it; `None` means skip (the reason was printed).
pub fn remote_engine_or_skip(test: &str, images: &[&str]) -> Option<RemoteEngine> {
    if !rustix::process::geteuid().is_root() {
        return skip_or_fail(test, "the remote engine rig needs root (a network namespace and a second dockerd)");
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for tool in ["ip", "nsenter", "dockerd"] {
        if !std::env::split_paths(&path).any(|d| d.join(tool).is_file()) {
            return skip_or_fail(test, &format!("{tool} is not installed (the remote engine rig needs iproute2, util-linux and dockerd)"));
        }
    }
    let local = docker::engine_with_images(test, images)?;
    let started = STARTED.get_or_init(|| {
        let pid = std::process::id().to_string();
        let out = run_script(&["start", "--owner", &pid]);
        if out.status.success() { Ok(()) } else { Err(format!("{}{}", docker::text(&out.stdout), docker::text(&out.stderr))) }
    });
    if let Err(why) = started {
        panic!("{test}: tests/lib/remote-engine.sh start failed:\n{why}");
    }
    // A test that failed half-way may have left the engine stopped or in TLS mode.
    if !answers_plain() {
        let pid = std::process::id().to_string();
        let out = run_script(&["start", "--owner", &pid]);
        assert!(out.status.success(), "{test}: restarting the remote engine plain: {}", docker::text(&out.stderr));
    }
    let mut args = vec!["load"];
    args.extend_from_slice(images);
    let out = run_script(&args);
    assert!(out.status.success(), "{test}: loading {images:?} into the remote engine: {}", docker::text(&out.stderr));
    Some(RemoteEngine { _local: local })
}

/// Whether the remote engine answers plain TCP at [`DOCKER_HOST`] (the mode every test but
/// the TLS one expects).
fn answers_plain() -> bool {
    Command::new("docker").args(["-H", DOCKER_HOST, "version"]).output().is_ok_and(|o| o.status.success())
}

impl RemoteEngine {
    /// The docker CLI against the remote engine (through the rig's socket, so in TLS mode too).
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker").arg("-H").arg(RIG_SOCKET).args(args).output().expect("docker CLI")
    }

    /// `"<kind> <name>"` of everything labelled `benchhost.managed=true` on the remote engine.
    pub fn managed(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (kind, args) in [
            ("container", vec!["ps", "-a", "--filter", "label=benchhost.managed=true", "--format", "{{.Names}}"]),
            ("network", vec!["network", "ls", "--filter", "label=benchhost.managed=true", "--format", "{{.Name}}"]),
            ("volume", vec!["volume", "ls", "--filter", "label=benchhost.managed=true", "--format", "{{.Name}}"]),
        ] {
            let out = self.docker(&args);
            assert!(out.status.success(), "docker -H {RIG_SOCKET} {args:?}: {}", docker::text(&out.stderr));
            found.extend(docker::text(&out.stdout).lines().filter(|l| !l.is_empty()).map(|n| format!("{kind} {n}")));
        }
        found
    }

    /// Stops only the remote dockerd (its data stays): the engine host going away mid-run.
    pub fn stop_engine(&self) {
        let out = run_script(&["stop-engine"]);
        assert!(out.status.success(), "remote-engine.sh stop-engine: {}", docker::text(&out.stderr));
    }

    /// Starts the remote dockerd again after [`Self::stop_engine`], with the same data, plain
    /// TCP on [`DOCKER_HOST`] (a rig in TLS mode is restarted plain).
    pub fn start_engine(&self) {
        let pid = std::process::id().to_string();
        let out = run_script(&["start", "--owner", &pid]);
        assert!(out.status.success(), "remote-engine.sh start: {}", docker::text(&out.stderr));
    }

    /// Restarts the remote dockerd with `--tlsverify` on [`DOCKER_HOST_TLS`] (its own CA, the
    /// engine's certificate for [`ENGINE_ADDRESS`], a client's); returns the client's
    /// `DOCKER_CERT_PATH` (ca.pem, cert.pem, key.pem). [`Self::start_engine`] goes back.
    pub fn restart_with_tls(&self) -> String {
        let pid = std::process::id().to_string();
        let out = run_script(&["start", "--owner", &pid, "--tls"]);
        assert!(out.status.success(), "remote-engine.sh start --tls: {}", docker::text(&out.stderr));
        docker::text(&out.stdout).lines().find_map(|l| l.strip_prefix("DOCKER_CERT_PATH=").map(str::to_string)).expect("remote-engine.sh printed DOCKER_CERT_PATH")
    }

}
