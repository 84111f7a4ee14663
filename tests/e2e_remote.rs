//! Two hosts: the servers on a second Docker engine with its own address (the rig of
//! `tests/lib/remote-engine.sh`, `support::remote_engine`), benchhost and the clients on this
//! machine.

use crate::support::docker::{benchhost_command, text};
use crate::support::remote_engine::{remote_engine_or_skip, RemoteEngine, DOCKER_HOST, DOCKER_HOST_TLS, ENGINE_ADDRESS};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const RCLONE_IMAGE: &str = "benchhost-test/rclone:latest";
const GANESHA_IMAGE: &str = "benchhost-test/ganesha:latest";
const LOCALSTACK_IMAGE: &str = "benchhost-test/localstack:latest";

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

/// `benchhost` with the remote engine as `DOCKER_HOST` and the local ganesha image.
fn on_remote(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = benchhost_command(args);
    cmd.env("DOCKER_HOST", DOCKER_HOST).env("GANESHA_IMAGE", GANESHA_IMAGE).env("BENCH_STARTUP_TIMEOUT", "60");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("running benchhost")
}

/// `up ganesha` on the remote engine: its ports published on all the engine host's
/// interfaces, its probe dialled there, ready; the mount command names the engine host; a real
/// NFS client on this machine writes and reads a file that is then on the remote container's
/// export; `down` leaves nothing on either engine. Then the same with BENCH_BIND_ADDRESS set
/// to the engine host's address (the free-port check made there, not here).
#[test]
fn e2e_remote_ganesha_up_nfs_roundtrip_down_leaves_nothing_on_either_engine() {
    let test = "e2e_remote_ganesha_up_nfs_roundtrip_down_leaves_nothing_on_either_engine";
    let Some(remote) = remote_engine_or_skip(test, &[GANESHA_IMAGE]) else { return };
    let _clean = RemoteCleanup;
    assert_eq!(remote.managed(), Vec::<String>::new(), "the remote engine is not clean before the test");
    assert_eq!(crate::support::docker::managed(), Vec::<String>::new(), "the local engine is not clean before the test");

    for env in [&[][..], &[("BENCH_BIND_ADDRESS", ENGINE_ADDRESS)][..]] {
        let r = on_remote(&["up", "ganesha"], env);
        let (out, err) = (text(&r.stdout), text(&r.stderr));
        assert_eq!(r.status.code(), Some(0), "{env:?}: up on the remote engine:\n{err}");
        assert!(err.contains(&format!("at {DOCKER_HOST} (DOCKER_HOST); results in ")), "{err}");
        assert!(
            out.contains(&format!("mount -t nfs -o vers=4.1,tcp,port=22049 {ENGINE_ADDRESS}:/export /mnt/benchhost/ganesha")),
            "{env:?}: the mount command names the engine host:\n{out}"
        );
        let printed = on_remote(&["mount", "ganesha", "--print"], env);
        assert!(text(&printed.stdout).contains(&format!(" {ENGINE_ADDRESS}:/export /mnt/benchhost/ganesha")), "{env:?}: mount --print: {}", text(&printed.stdout));
        // Published where asked on the engine host; nothing of it on this machine's engine.
        let ports = text(&remote.docker(&["port", "benchhost-ganesha-ganesha", "2049/tcp"]).stdout);
        let bound = if env.is_empty() { "0.0.0.0:22049" } else { "10.201.0.2:22049" };
        assert_eq!(ports.lines().next(), Some(bound), "{env:?}: {ports}");
        assert_eq!(crate::support::docker::managed(), Vec::<String>::new(), "up put something on the local engine");

        // The client is here, the server there.
        let url = |f: &str| format!("nfs://{ENGINE_ADDRESS}/export/{f}?version=4&nfsport=22049");
        crate::support::docker::nfs_roundtrip(url, "remote.bin", 3000);
        let inside = remote.docker(&["exec", "benchhost-ganesha-ganesha", "stat", "-c", "%s", "/export/remote.bin"]);
        assert_eq!(text(&inside.stdout).trim(), "3000", "{}", text(&inside.stderr));

        let st = on_remote(&["status"], &[]);
        let st = text(&st.stdout);
        assert!(st.lines().next().is_some_and(|l| l.ends_with(&format!(" at {DOCKER_HOST} (DOCKER_HOST)"))), "{st}");
        assert!(st.contains("benchhost-ganesha-ganesha"), "{st}");

        down_leaves_nothing(&remote, "ganesha", &[]);
    }
}

/// A host port taken on the engine's host (not on this machine) is refused before anything is
/// created, naming that host: exit 4, nothing of the run left there.
#[test]
fn a_port_taken_on_the_remote_engines_host_is_refused_naming_that_host() {
    let test = "a_port_taken_on_the_remote_engines_host_is_refused_naming_that_host";
    let Some(remote) = remote_engine_or_skip(test, &[GANESHA_IMAGE, RCLONE_IMAGE]) else { return };
    let _clean = RemoteCleanup;
    let holder = "benchhost-test-remote-port-holder";
    let _ = remote.docker(&["rm", "-f", holder]);
    let run = remote.docker(&["run", "-d", "--name", holder, "-p", "22049:8080", RCLONE_IMAGE, "serve", "http", "/etc", "--addr", ":8080"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let r = on_remote(&["up", "ganesha"], &[]);
    let gone = remote.docker(&["rm", "-f", holder]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(4), "{err}");
    assert!(
        err.contains("error: host port 22049 is already in use on the engine's host 10.201.0.2 (a socket listens on 0.0.0.0:22049; needed by service ganesha of profile ganesha)"),
        "{err}"
    );
    assert!(!err.contains("network benchhost-ganesha created"), "refused after creating: {err}");
    assert!(gone.status.success(), "{}", text(&gone.stderr));
    assert_eq!(remote.managed(), Vec::<String>::new());
}

/// `down profile` on the remote engine (with `env`) succeeds and leaves nothing of benchhost's
/// on either engine.
fn down_leaves_nothing(remote: &RemoteEngine, profile: &str, env: &[(&str, &str)]) {
    let down = on_remote(&["down", profile], env);
    assert_eq!(down.status.code(), Some(0), "down {profile}: {}", text(&down.stderr));
    assert_eq!(remote.managed(), Vec::<String>::new(), "down {profile} left resources on the remote engine");
    assert_eq!(crate::support::docker::managed(), Vec::<String>::new(), "down {profile} left resources on this machine's engine");
}

/// Removes what a test's `up ganesha` or `up rclone` may have left on the remote engine, even
/// when an assertion fails half-way.
struct RemoteCleanup;
impl Drop for RemoteCleanup {
    fn drop(&mut self) {
        for profile in ["ganesha", "rclone"] {
            let _ = on_remote(&["down", profile], &[]);
        }
    }
}

/// `GET path` of LocalStack's S3 API on the remote engine's host, SigV4-signed with its
/// published test keys: (HTTP status, body).
fn remote_s3_get(path: &str) -> (u16, String) {
    let out = std::process::Command::new("curl")
        .args(["-s", "--noproxy", "*", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "test:test", "-w", "\n%{http_code}"])
        .arg(format!("http://{ENGINE_ADDRESS}:4566{path}"))
        .output()
        .expect("curl");
    let out = text(&out.stdout);
    let (body, status) = out.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

/// rclone over its LocalStack S3 dependency on the remote engine: both ready and bootstrapped
/// there (the bucket made by the plugin's http exchange, dialled at the engine host), the mount
/// command naming the engine host, an NFSv3 round trip from this machine reaching the bucket,
/// and `down` leaving nothing on either engine.
#[test]
fn e2e_remote_rclone_over_localstack_s3_up_nfs_roundtrip_down() {
    let test = "e2e_remote_rclone_over_localstack_s3_up_nfs_roundtrip_down";
    let Some(remote) = remote_engine_or_skip(test, &[RCLONE_IMAGE, LOCALSTACK_IMAGE]) else { return };
    let _clean = RemoteCleanup;
    assert_eq!(remote.managed(), Vec::<String>::new(), "the remote engine is not clean before the test");
    let env = [("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE), ("RCLONE_IMAGE", RCLONE_IMAGE)];
    let up = on_remote(&["up", "rclone"], &env);
    let (out, err) = (text(&up.stdout), text(&up.stderr));
    assert_eq!(up.status.code(), Some(0), "up rclone on the remote engine:\n{err}");
    assert!(err.contains("localstack bootstrapped") && err.contains("rclone bootstrapped"), "{err}");
    assert!(
        out.contains(&format!("mount -t nfs -o vers=3,tcp,port=42049,mountport=42049,nolock {ENGINE_ADDRESS}:/ /mnt/benchhost/rclone")),
        "the mount command names the engine host:\n{out}"
    );
    let (status, listing) = remote_s3_get("/bench?list-type=2");
    assert_eq!(status, 200, "bucket bench on the remote LocalStack after up: {listing}");

    let url = |f: &str| format!("nfs://{ENGINE_ADDRESS}/{f}?version=3&nfsport=42049&mountport=42049&auto-traverse-mounts=0");
    let payload = crate::support::docker::nfs_roundtrip(url, "remote.bin", 20_000);
    // rclone uploads 5 s after close (--vfs-write-back): poll the remote S3, bounded.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let (status, body) = remote_s3_get("/bench?list-type=2");
        if status == 200 && body.contains("<Key>remote.bin</Key>") {
            break body;
        }
        assert!(std::time::Instant::now() < deadline, "remote.bin not in bucket bench within 30 s: {body}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(listed.contains(&format!("<Size>{}</Size>", payload.len())), "{listed}");

    down_leaves_nothing(&remote, "rclone", &[]);
}

/// A kernel feature a plugin declares is checked on the remote engine's host, where the
/// server runs (a short-lived container reads its kernel), not on this machine: kernel-nfs
/// needs nfsd, which that host's kernel lacks: exit 6 naming the engine's host, before
/// anything of the run is created (the image is any with `sh`: only the check runs).
#[test]
fn kernel_nfs_on_a_remote_engine_is_refused_by_the_kernel_of_the_engines_host() {
    let test = "kernel_nfs_on_a_remote_engine_is_refused_by_the_kernel_of_the_engines_host";
    let Some(remote) = remote_engine_or_skip(test, &[GANESHA_IMAGE]) else { return };
    let r = on_remote(&["up", "kernel-nfs"], &[("KERNEL_NFS_IMAGE", GANESHA_IMAGE)]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(6), "{err}");
    assert!(
        err.contains("error: profile kernel-nfs (plugin \"kernel-nfs\" ") && err.contains(") needs the host kernel's nfsd, which the Docker engine's host 10.201.0.2 lacks: /proc/filesystems has no nfsd"),
        "{err}"
    );
    assert!(!err.contains("network benchhost-kernel-nfs created"), "refused after creating: {err}");
    assert_eq!(remote.managed(), Vec::<String>::new(), "the check's container or the run's resources are left");
}

/// Names of the remote engine's running containers whose name starts with `prefix`.
fn running(remote: &RemoteEngine, prefix: &str) -> Vec<String> {
    let out = remote.docker(&["ps", "--filter", &format!("name={prefix}"), "--filter", "status=running", "--format", "{{.Names}}"]);
    text(&out.stdout).lines().filter(|l| l.starts_with(prefix)).map(str::to_string).collect()
}

/// The remote engine stops while `up rclone` waits for LocalStack: `up` says the engine
/// stopped answering and exits 4; what it had created stays on the stopped engine, written
/// down in benchhost's state directory; once the engine is back, the next `up` (of another
/// profile) removes it first and says so, and after `down` nothing is left.
#[test]
fn the_remote_engine_stopping_during_up_is_exit_4_and_the_next_up_removes_what_that_run_left() {
    let test = "the_remote_engine_stopping_during_up_is_exit_4_and_the_next_up_removes_what_that_run_left";
    let Some(remote) = remote_engine_or_skip(test, &[RCLONE_IMAGE, LOCALSTACK_IMAGE, GANESHA_IMAGE]) else { return };
    let _clean = RemoteCleanup;
    assert_eq!(remote.managed(), Vec::<String>::new(), "the remote engine is not clean before the test");
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap();
    let env = [("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE), ("RCLONE_IMAGE", RCLONE_IMAGE), ("BENCHHOST_STATE_DIR", state_dir)];
    let mut cmd = benchhost_command(&["up", "rclone"]);
    cmd.env("DOCKER_HOST", DOCKER_HOST).env("BENCH_STARTUP_TIMEOUT", "120");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("running benchhost");
    // LocalStack takes seconds to answer: stop the engine as soon as its container runs.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while running(&remote, "benchhost-rclone-").is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!("up ended ({status}) before a container of it ran:\n{}", text(&out.stderr));
        }
        assert!(std::time::Instant::now() < deadline, "no container of up rclone ran within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    remote.stop_engine();
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    remote.start_engine();
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains(&format!("error: the Docker engine at {DOCKER_HOST} (DOCKER_HOST) stopped answering while ")), "{err}");
    assert!(err.contains("the next `benchhost up`, `down` or `clean` against it removes them (run "), "{err}");
    let run_id = err.split("removes them (run ").nth(1).and_then(|r| r.split(',').next()).expect("the run id in the message").to_string();
    let recorded: Vec<_> = walk(state.path()).into_iter().filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    assert_eq!(recorded.len(), 1, "one unfinished run written down: {recorded:?}");
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&recorded[0]).unwrap()).unwrap();
    assert_eq!((record["run_id"].as_str(), record["profile"].as_str(), record["engine"].as_str()), (Some(run_id.as_str()), Some("rclone"), Some(DOCKER_HOST)));

    // The engine kept what the run had created (stopped by its restart).
    let left = remote.managed();
    assert!(left.iter().any(|r| r.starts_with("container benchhost-rclone-")) && left.iter().any(|r| r == "network benchhost-rclone"), "{left:?}");
    // `status` tells of the unfinished run (and shows what it left as up).
    let status = on_remote(&["status"], &[("BENCHHOST_STATE_DIR", state_dir)]);
    let status_out = text(&status.stdout);
    assert!(status_out.contains(&format!("unfinished: run {run_id} (rclone) could not be removed when the engine at {DOCKER_HOST} stopped answering; the next `benchhost up`, `down` or `clean` against this engine removes what it left")), "{status_out}");
    let up = on_remote(&["up", "ganesha"], &[("BENCHHOST_STATE_DIR", state_dir)]);
    let up_err = text(&up.stderr);
    assert_eq!(up.status.code(), Some(0), "{up_err}");
    assert!(up_err.contains(&format!("removed what run {run_id} (rclone) left when the engine at {DOCKER_HOST} stopped answering")), "{up_err}");
    assert_eq!(remote.managed().iter().filter(|r| r.contains("rclone")).count(), 0, "{:?}", remote.managed());
    assert!(walk(state.path()).iter().all(|p| p.extension().is_none_or(|x| x != "json")), "the run is still written down");
    let status = on_remote(&["status"], &[("BENCHHOST_STATE_DIR", state_dir)]);
    assert!(!text(&status.stdout).contains("unfinished:"), "{}", text(&status.stdout));
    down_leaves_nothing(&remote, "ganesha", &[]);
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { found.extend(walk(&p)) } else { found.push(p) }
    }
    found
}

/// Puts the remote engine back to plain TCP when the TLS test ends, however it ends.
struct PlainAgain<'a>(&'a RemoteEngine);
impl Drop for PlainAgain<'_> {
    fn drop(&mut self) {
        self.0.start_engine();
    }
}

/// A remote engine that speaks only TLS with client certificates (`dockerd --tlsverify`):
/// benchhost reaches it with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, says so, and `up`,
/// readiness, bootstrap and `down` of ganesha work through it; without TLS, with a CA that did
/// not sign the engine's certificate, or with a client certificate the engine does not trust,
/// exit 4 with what to fix; `doctor` warns about plain TCP and not about TLS.
#[test]
fn a_remote_engine_behind_tls_is_reached_with_docker_tls_verify_and_docker_cert_path() {
    let test = "a_remote_engine_behind_tls_is_reached_with_docker_tls_verify_and_docker_cert_path";
    let Some(remote) = remote_engine_or_skip(test, &[GANESHA_IMAGE]) else { return };
    let doctor = text(&on_remote(&["doctor"], &[]).stdout);
    assert!(doctor.contains(&format!("plain TCP without TLS to {DOCKER_HOST} (DOCKER_HOST): anyone who can reach that port is root on the engine's host")), "{doctor}");
    assert!(doctor.contains("kernel nfsd on 10.201.0.2 (for kernel-nfs)") && doctor.contains("OK    free ports on 10.201.0.2"), "doctor checks the engine's host:\n{doctor}");

    // Dropped last: after the engine is plain again, `down` removes what a failure left.
    let _clean = RemoteCleanup;
    let certs = remote.restart_with_tls();
    let _plain = PlainAgain(&remote);
    let tls = |args: &[&str], extra: &[(&str, &str)]| {
        let mut env = vec![("DOCKER_HOST", DOCKER_HOST_TLS), ("DOCKER_TLS_VERIFY", "1"), ("DOCKER_CERT_PATH", certs.as_str())];
        env.extend_from_slice(extra);
        on_remote(args, &env)
    };
    let st = tls(&["status"], &[]);
    assert_eq!(st.status.code(), Some(0), "{}", text(&st.stderr));
    let first = text(&st.stdout).lines().next().unwrap_or_default().to_string();
    assert!(first.starts_with("engine ") && first.ends_with(&format!(" at {DOCKER_HOST_TLS} (TLS, DOCKER_HOST)")), "{first}");
    let doctor = text(&tls(&["doctor"], &[]).stdout);
    assert!(doctor.contains(&format!("at {DOCKER_HOST_TLS} (TLS, DOCKER_HOST)")) && !doctor.contains("plain TCP without TLS"), "{doctor}");

    // Plain HTTP to the TLS listener.
    let plain = on_remote(&["status"], &[("DOCKER_HOST", DOCKER_HOST_TLS)]);
    assert_eq!(plain.status.code(), Some(4));
    assert!(text(&plain.stderr).contains(&format!("hint: {DOCKER_HOST_TLS} speaks TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH")), "{}", text(&plain.stderr));
    // Another CA; then a client certificate no CA of the engine signed.
    let openssl = |dir: &std::path::Path, cn: &str| {
        let out = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", &format!("/CN={cn}")])
            .arg("-keyout").arg(dir.join("key.pem")).arg("-out").arg(dir.join("cert.pem"))
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    let other_ca = tempfile::tempdir().unwrap();
    openssl(other_ca.path(), "another CA");
    std::fs::rename(other_ca.path().join("cert.pem"), other_ca.path().join("ca.pem")).unwrap();
    for f in ["cert.pem", "key.pem"] {
        std::fs::copy(std::path::Path::new(&certs).join(f), other_ca.path().join(f)).unwrap();
    }
    let r = tls(&["status"], &[("DOCKER_CERT_PATH", other_ca.path().to_str().unwrap())]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(4), "{err}");
    assert!(err.contains("invalid peer certificate") && err.contains(&format!("hint: the engine's certificate does not verify against {}", other_ca.path().join("ca.pem").display())), "{err}");
    let stranger = tempfile::tempdir().unwrap();
    openssl(stranger.path(), "stranger");
    std::fs::copy(std::path::Path::new(&certs).join("ca.pem"), stranger.path().join("ca.pem")).unwrap();
    let r = tls(&["status"], &[("DOCKER_CERT_PATH", stranger.path().to_str().unwrap())]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(4), "{err}");
    // How the refusal surfaces depends on when the engine's alert arrives (TLS 1.3 checks the
    // client's certificate after the client's side of the handshake): both hints name it.
    assert!(err.contains("  hint: the engine ") && err.contains(&format!("this client's certificate ({})", stranger.path().join("cert.pem").display())), "{err}");

    // The whole of up and down through TLS.
    let up = tls(&["up", "ganesha"], &[]);
    let (out, err) = (text(&up.stdout), text(&up.stderr));
    assert_eq!(up.status.code(), Some(0), "{err}");
    assert!(err.contains(&format!("at {DOCKER_HOST_TLS} (TLS, DOCKER_HOST); results in ")) && err.contains("ganesha bootstrapped"), "{err}");
    assert!(out.contains(&format!(" {ENGINE_ADDRESS}:/export /mnt/benchhost/ganesha")), "{out}");
    let url = |f: &str| format!("nfs://{ENGINE_ADDRESS}/export/{f}?version=4&nfsport=22049");
    crate::support::docker::nfs_roundtrip(url, "tls.bin", 2000);
    down_leaves_nothing(&remote, "ganesha", &[("DOCKER_HOST", DOCKER_HOST_TLS), ("DOCKER_TLS_VERIFY", "1"), ("DOCKER_CERT_PATH", certs.as_str())]);
}

/// `bench` with the servers on the remote engine and fio in the client VM (a third machine,
/// in effect): the VM mounts ganesha at the engine host's address, the cold pass drops the
/// servers' page cache on that host, the engine's stats of the remote container are sampled,
/// and nothing is left on either engine.
#[test]
fn bench_with_the_client_vm_measures_ganesha_on_the_remote_engine() {
    let test = "bench_with_the_client_vm_measures_ganesha_on_the_remote_engine";
    let Some(remote) = remote_engine_or_skip(test, &[GANESHA_IMAGE]) else { return };
    let Some(_vm) = crate::support::client_vm::vm_or_skip(test) else { return };
    let _clean = RemoteCleanup;
    assert_eq!(remote.managed(), Vec::<String>::new(), "the remote engine is not clean before the test");
    let root = tempfile::tempdir().unwrap();
    let args = ["bench", "ganesha", "--client", "vm", "--workloads", "seq-write,seq-read", "--sizes", "small", "--passes", "cold", "--repeats", "1", "--runtime", "20", "--results-dir", root.path().to_str().unwrap()];
    let r = on_remote(&args, &[]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(0), "{err}");
    assert!(err.contains(&format!("at {DOCKER_HOST} (DOCKER_HOST); results in ")), "{err}");
    let run = std::fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().path()).find(|p| p.is_dir()).expect("a run directory");
    let cell = |name: &str| -> serde_json::Value { serde_json::from_str(&std::fs::read_to_string(run.join("raw/ganesha").join(name)).unwrap()).unwrap() };
    let bytes = |r: &serde_json::Value, side: &str| -> u64 { r["fio"]["jobs"].as_array().unwrap().iter().map(|j| j[side]["io_bytes"].as_u64().unwrap()).sum() };
    for (name, side) in [("seq-write__small__cold__r1.json", "write"), ("seq-read__small__cold__r1.json", "read")] {
        let c = cell(name);
        assert_eq!(c["status"], "ok", "{name}: {}", c["error"]);
        assert_eq!(c["record"]["client"]["kind"], "vm", "{name}");
        let mount = c["record"]["mount_command"].as_str().unwrap();
        assert!(mount.contains(&format!(" {ENGINE_ADDRESS}:/export ")), "{name}: the VM mounts the engine's host: {mount}");
        assert_eq!((c["record"]["cache"]["client_page_cache"].as_str(), c["record"]["cache"]["server_page_cache"].as_str()), (Some("dropped"), Some("dropped")), "{name}");
        assert!(bytes(&c, side) >= 256 * 64 * 1024, "{name}: fio moved {} bytes", bytes(&c, side));
        let ganesha = c["resources"].as_array().unwrap().iter().find(|u| u["container"] == "benchhost-ganesha-ganesha").unwrap_or_else(|| panic!("{name}: no stats of the remote container: {}", c["resources"]));
        let net = ganesha[if side == "write" { "net_rx_bytes" } else { "net_tx_bytes" }].as_u64().unwrap_or(0);
        assert!(net >= 16 * 1024 * 1024, "{name}: the remote container's network {side} {net} bytes, want the 16 MiB fio moved: {ganesha}");
    }
    assert_eq!(remote.managed(), Vec::<String>::new(), "bench left resources on the remote engine");
    assert_eq!(crate::support::docker::managed(), Vec::<String>::new());
}
