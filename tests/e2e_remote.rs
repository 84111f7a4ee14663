//! Two hosts: the servers on a second Docker engine with its own address (the rig of
//! `tests/lib/remote-engine.sh`, `support::remote_engine`), benchhost and the clients on this
//! machine.

use crate::support::docker::{benchhost_command, text};
use crate::support::remote_engine::{remote_engine_or_skip, DOCKER_HOST, ENGINE_ADDRESS};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const RCLONE_IMAGE: &str = "benchhost-test/rclone:latest";
const GANESHA_IMAGE: &str = "benchhost-test/ganesha:latest";

/// The body of `GET path` from `host:port`, or the connect error (no proxy, plain HTTP/1.0).
fn http_get(host: &str, port: u16, path: &str) -> Result<String, std::io::Error> {
    let mut s = TcpStream::connect_timeout(&format!("{host}:{port}").parse().unwrap(), Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)?;
    Ok(reply.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default())
}

#[test]
fn remote_engine_is_another_host_whose_published_ports_are_at_its_own_address() {
    let test = "remote_engine_is_another_host_whose_published_ports_are_at_its_own_address";
    let Some(remote) = remote_engine_or_skip(test, &[RCLONE_IMAGE]) else { return };
    // Another engine, not this machine's under another name.
    let id = |out: std::process::Output| text(&out.stdout).trim().to_string();
    let local_id = id(crate::support::docker::docker(&["info", "--format", "{{.ID}}"]));
    let remote_id = id(remote.docker(&["info", "--format", "{{.ID}}"]));
    assert!(!remote_id.is_empty() && remote_id != local_id, "local {local_id}, remote {remote_id}");

    let name = "benchhost-test-remote-probe";
    let _ = remote.docker(&["rm", "-f", name]);
    let run = remote.docker(&["run", "-d", "--name", name, "-p", "18181:8080", RCLONE_IMAGE, "serve", "http", "/etc", "--addr", ":8080"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let container = text(&run.stdout).trim().to_string();
    // The port is published on the engine's host: reachable at its address, not at this
    // machine's loopback; the file served is that container's own.
    let mut body = Err(std::io::Error::other("not tried"));
    for _ in 0..50 {
        body = http_get(ENGINE_ADDRESS, 18181, "/hostname");
        if body.as_ref().is_ok_and(|b| !b.is_empty()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let gone = remote.docker(&["rm", "-f", name]);
    assert_eq!(body.expect("GET from the remote engine's host").trim(), &container[..12]);
    let local = http_get("127.0.0.1", 18181, "/hostname").map_err(|e| e.kind());
    assert_eq!(local, Err(std::io::ErrorKind::ConnectionRefused), "the port must not be on this machine");
    assert!(gone.status.success(), "{}", text(&gone.stderr));
    assert_eq!(remote.docker(&["ps", "-aq", "--filter", &format!("name={name}")]).stdout, b"");
}

#[test]
fn status_names_the_remote_engine_from_docker_host_a_context_or_the_current_context() {
    let test = "status_names_the_remote_engine_from_docker_host_a_context_or_the_current_context";
    let Some(remote) = remote_engine_or_skip(test, &[RCLONE_IMAGE]) else { return };
    let version = text(&remote.docker(&["version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"]).stdout).trim().to_string();
    let (version, api) = version.split_once(' ').expect("engine and API versions");
    let engine = |origin: &str| format!("engine {version} API {api} at {DOCKER_HOST} ({origin})");

    let status = |env: &[(&str, &str)]| {
        let mut cmd = benchhost_command(&["status"]);
        cmd.env_remove("DOCKER_HOST").env_remove("DOCKER_CONTEXT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("running benchhost");
        assert_eq!(out.status.code(), Some(0), "{env:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(status(&[("DOCKER_HOST", DOCKER_HOST)]), format!("{}\nnothing is up\n", engine("DOCKER_HOST")));

    // A context made by the Docker CLI itself, in a config directory of the test's own: benchhost
    // reads the CLI's store (meta.json under the SHA-256 of the name) as the CLI wrote it.
    let config = tempfile::tempdir().unwrap();
    let cfg = config.path().to_str().unwrap();
    let cli = |args: &[&str]| {
        let out = std::process::Command::new("docker").env("DOCKER_CONFIG", cfg).env_remove("DOCKER_HOST").env_remove("DOCKER_CONTEXT").args(args).output().expect("docker CLI");
        assert!(out.status.success(), "docker {args:?}: {}", text(&out.stderr));
    };
    cli(&["context", "create", "bh-two-host", "--docker", &format!("host={DOCKER_HOST}")]);
    assert_eq!(status(&[("DOCKER_CONFIG", cfg), ("DOCKER_CONTEXT", "bh-two-host")]), format!("{}\nnothing is up\n", engine("DOCKER_CONTEXT=bh-two-host")));
    cli(&["context", "use", "bh-two-host"]);
    assert_eq!(status(&[("DOCKER_CONFIG", cfg)]), format!("{}\nnothing is up\n", engine("the Docker CLI's current context bh-two-host")));
    // DOCKER_HOST still wins over the current context, as in the CLI.
    let local = status(&[("DOCKER_CONFIG", cfg), ("DOCKER_HOST", "unix:///var/run/docker.sock")]);
    assert!(local.starts_with("engine ") && local.contains(" at unix:///var/run/docker.sock (DOCKER_HOST)\n"), "{local}");
    drop(remote);
}

/// Issue 16's first step, as it should be: `up ganesha` on the remote engine is ready, names the
/// engine host in its mount command, and `down` leaves nothing on either engine. Ignored until
/// benchhost aims probes, the free-port check and mount commands at the engine host; today it
/// ends with exit 5, "not ready within ...: connect ganesha:2049: Connection refused" (the probe
/// dials 127.0.0.1 on this machine), or with BENCH_BIND_ADDRESS=10.201.0.2 with exit 4, "host port
/// 22049 is already in use" (the free-port check binds that address here).
#[test]
#[ignore = "issue 16 part 2: probes, the free-port check and mount commands are not yet aimed at a remote engine's host"]
fn e2e_remote_ganesha_up_ready_down_leaves_nothing_on_either_engine() {
    let test = "e2e_remote_ganesha_up_ready_down_leaves_nothing_on_either_engine";
    let Some(remote) = remote_engine_or_skip(test, &[GANESHA_IMAGE]) else { return };
    assert_eq!(remote.managed(), Vec::<String>::new(), "the remote engine is not clean before the test");
    let up = |args: &[&str]| {
        let mut cmd = benchhost_command(args);
        cmd.env("DOCKER_HOST", DOCKER_HOST).env("GANESHA_IMAGE", GANESHA_IMAGE).env("BENCH_STARTUP_TIMEOUT", "60");
        cmd.output().expect("running benchhost")
    };
    let r = up(&["up", "ganesha"]);
    let (out, err) = (text(&r.stdout), text(&r.stderr));
    let down = up(&["down", "ganesha"]);
    assert_eq!(r.status.code(), Some(0), "up on the remote engine:\n{err}");
    assert!(err.contains(&format!("at {DOCKER_HOST} (DOCKER_HOST)")), "{err}");
    assert!(out.contains(&format!("{ENGINE_ADDRESS}:/export /mnt/benchhost/ganesha")), "the mount command names the engine host:\n{out}");
    assert_eq!(down.status.code(), Some(0), "{}", text(&down.stderr));
    assert_eq!(remote.managed(), Vec::<String>::new());
    assert_eq!(crate::support::docker::managed(), Vec::<String>::new());
}
