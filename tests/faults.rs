//! Faults on the real Docker engine, injected one at a time: an engine that is not there, an
//! image that cannot be pulled, a busy port, a container that dies while starting, a healthcheck
//! that never passes, a failing bootstrap, SIGINT/SIGTERM in every phase of `up`, `up` twice and
//! `down` of nothing; then a loop of interrupted `up`s at pseudo-random moments from a fixed
//! seed. After each: the exit code and message, and no container, network or volume labelled
//! `benchhost.managed=true` (nor a dangling anonymous volume) left behind.
//!
//! The stacks come from the `faults` fixture plugin (`tests/fixtures/faults`), whose services
//! run the local test image `benchhost-test/ganesha` (`sh`, `sleep`), and from the built-in
//! ganesha and rclone plugins (rclone over real LocalStack, `benchhost-test/localstack`). Nothing
//! is pulled.

use crate::support::corpus;
use crate::support::docker::{self, dangling_volumes, engine_or_skip, text};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const IMAGE: &str = "benchhost-test/ganesha:latest";
const LOCALSTACK_IMAGE: &str = "benchhost-test/localstack:latest";
const RCLONE_IMAGE: &str = "benchhost-test/rclone:latest";

/// An empty per-user plugin directory (nothing installed on the machine is loaded).
fn no_installed_plugins() -> String {
    let dir = std::env::temp_dir().join("benchhost-faults-no-plugins");
    std::fs::create_dir_all(&dir).unwrap();
    dir.display().to_string()
}

/// The environment of every run: the `faults` fixture as a third-party plugin, local images.
fn base_env() -> Vec<(String, String)> {
    vec![
        ("BENCHHOST_PLUGIN_PATH".into(), corpus::fixture_path("faults").display().to_string()),
        ("BENCHHOST_PLUGIN_DIR".into(), no_installed_plugins()),
        ("GANESHA_IMAGE".into(), IMAGE.into()),
        ("FAULTS_IMAGE".into(), IMAGE.into()),
        ("LOCALSTACK_IMAGE".into(), LOCALSTACK_IMAGE.into()),
        ("RCLONE_IMAGE".into(), RCLONE_IMAGE.into()),
    ]
}

struct Run {
    code: Option<i32>,
    out: String,
    err: String,
}

/// Runs benchhost to completion with [`base_env`] plus `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let base = base_env();
    let mut all: Vec<(&str, &str)> = base.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(env);
    let o = docker::benchhost(args, &all);
    let r = Run { code: o.status.code(), out: text(&o.stdout), err: text(&o.stderr) };
    assert_ne!(r.code, Some(101), "benchhost {args:?} panicked:\n{}", r.err);
    r
}

/// Starts benchhost with stderr piped.
fn spawn(args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut cmd = docker::benchhost_command(args);
    for (k, v) in base_env() {
        cmd.env(k, v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("starting benchhost")
}

/// Reads `child`'s stderr until it contains `wanted`; returns everything read.
fn read_until(child: &mut Child, wanted: &str) -> String {
    docker::read_stderr_until(child, wanted)
}

/// Sends `signal` (`INT`, `TERM`) to `child`, then waits: (exit code, the rest of stderr).
fn interrupt(mut child: Child, signal: &str) -> (Option<i32>, String) {
    assert!(Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap().success());
    let mut rest = String::new();
    child.stderr.take().unwrap().read_to_string(&mut rest).unwrap();
    (child.wait().unwrap().code(), rest)
}

/// Takes every fault profile (and ganesha, rclone) down when a test ends, even half-way.
struct Cleanup;
impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in ["fault-exit", "fault-unready", "fault-unhealthy", "fault-bootstrap", "fault-slow-health", "fault-slow-bootstrap", "fault-pull", "fault-stack", "ganesha", "rclone"] {
            let _ = run(&["down", p], &[]);
        }
    }
}

/// The engine lock plus a clean start: nothing managed exists, and the dangling volumes now.
fn clean_engine(test: &str, images: &[&str]) -> Option<(docker::EngineGuard, Vec<String>)> {
    // The fixtures are built (on first use, about a minute) before the engine is held, so the
    // build never keeps other processes' Docker tests waiting.
    crate::support::artifacts::fixtures_dir();
    for image in &images[1..] {
        drop(engine_or_skip(test, Some(image))?);
    }
    let guard = engine_or_skip(test, Some(images[0]))?;
    drop(Cleanup);
    assert_eq!(docker::managed(), Vec::<String>::new(), "{test}: the engine is not clean before the test");
    Some((guard, dangling_volumes()))
}

/// Nothing managed is left and no anonymous volume leaked.
fn assert_clean(what: &str, dangling_before: &[String]) {
    assert_eq!(docker::managed(), Vec::<String>::new(), "{what} left resources behind");
    assert_eq!(dangling_volumes(), dangling_before, "{what} leaked anonymous volumes");
}

#[test]
fn an_engine_that_is_not_there_is_exit_4_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    // A socket file nobody listens on (the engine died), and one that does not exist.
    let stale = dir.path().join("docker.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let stale = format!("unix://{}", stale.display());
    for host in [stale.as_str(), "unix:///nonexistent/benchhost-faults.sock", "tcp://127.0.0.1:1"] {
        for args in [&["up", "ganesha"][..], &["down", "ganesha"], &["status"]] {
            let r = run(args, &[("DOCKER_HOST", host)]);
            assert_eq!(r.code, Some(4), "{host} {args:?}:\n{}", r.err);
            assert!(r.err.contains(&format!("error: the Docker engine is not reachable at {host} (DOCKER_HOST): ")), "{host} {args:?}:\n{}", r.err);
            assert!(r.err.contains("hint: start Docker (`sudo systemctl start docker`, or `sudo dockerd &`), or set DOCKER_HOST"), "{}", r.err);
        }
    }
    // An engine that accepts the connection and never answers: bounded, not a hang.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("tcp://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        if let Ok((conn, _)) = silent.accept() {
            std::thread::sleep(Duration::from_secs(15));
            drop(conn);
        }
    });
    let started = Instant::now();
    let r = run(&["up", "ganesha"], &[("DOCKER_HOST", host.as_str())]);
    assert_eq!(r.code, Some(4), "{}", r.err);
    assert!(r.err.contains(&format!("error: the Docker engine is not reachable at {host} (DOCKER_HOST): no answer within 10 s")), "{}", r.err);
    assert!(started.elapsed() < Duration::from_secs(14), "{:?}", started.elapsed());
}

#[test]
fn an_image_that_is_missing_and_not_pullable_is_exit_4_naming_it() {
    let Some((_engine, dangling)) = clean_engine("an_image_that_is_missing_and_not_pullable_is_exit_4_naming_it", &[IMAGE]) else { return };
    let _cleanup = Cleanup;
    let r = run(&["up", "ganesha"], &[("GANESHA_IMAGE", "registry.invalid/benchhost/none:1")]);
    assert_eq!(r.code, Some(4), "{}", r.err);
    assert!(r.err.contains("error: image registry.invalid/benchhost/none:1 is not present locally and could not be pulled: "), "{}", r.err);
    assert!(r.err.contains("hint: make its registry reachable (`docker pull registry.invalid/benchhost/none:1`), or point GANESHA_IMAGE at an image you have (`docker images`)"), "{}", r.err);
    assert_clean("a missing image", &dangling);
    // A benchhost image is built locally, never pulled: the hint says how to build it.
    let r = run(&["up", "ganesha"], &[("GANESHA_IMAGE", "benchhost/ganesha:0.0-missing")]);
    assert_eq!(r.code, Some(4), "{}", r.err);
    assert!(r.err.contains("image benchhost/ganesha:0.0-missing is not present locally"), "{}", r.err);
    assert!(r.err.contains("run `tests/images/build.sh ganesha` (as root), or point GANESHA_IMAGE at an image you have"), "{}", r.err);
    assert_clean("a missing local image", &dangling);
}

#[test]
fn a_busy_port_is_exit_4_naming_the_port_and_its_holder() {
    let Some((_engine, dangling)) = clean_engine("a_busy_port_is_exit_4_naming_the_port_and_its_holder", &[IMAGE]) else { return };
    let _cleanup = Cleanup;
    let holder = std::net::TcpListener::bind("127.0.0.1:22049").expect("port 22049 is free for the test");
    let r = run(&["up", "ganesha"], &[]);
    drop(holder);
    assert_eq!(r.code, Some(4), "{}", r.err);
    let me = std::process::id();
    assert!(r.err.contains(&format!("error: host port 22049 is already in use by pid {me} (")), "{}", r.err);
    assert!(r.err.contains("(needed by service ganesha of profile ganesha)"), "{}", r.err);
    assert!(r.err.contains("hint: stop whatever holds it (`ss -ltnp 'sport = :22049'`)"), "{}", r.err);
    assert_clean("a busy port", &dangling);

    // Held by another container's published port: the holder is Docker's proxy, and the hint
    // says how to find the container.
    let name = "benchhost-faults-port-holder";
    let _ = docker::docker(&["rm", "-fv", name]);
    let started = docker::docker(&["run", "-d", "--name", name, "-p", "127.0.0.1:22049:2049", IMAGE, "sleep", "60"]);
    assert!(started.status.success(), "{}", text(&started.stderr));
    let r = run(&["up", "ganesha"], &[]);
    let _ = docker::docker(&["rm", "-fv", name]); // -v: the image's anonymous volume too
    assert_eq!(r.code, Some(4), "{}", r.err);
    assert!(r.err.contains("error: host port 22049 is already in use by pid "), "{}", r.err);
    assert!(r.err.contains("(docker-proxy: a Docker container publishes it; `docker ps --filter publish=22049`)"), "{}", r.err);
    assert_clean("a port held by a container", &dangling);
}

#[test]
fn a_container_that_exits_while_starting_is_named_with_its_code_and_logs() {
    let Some((_engine, dangling)) = clean_engine("a_container_that_exits_while_starting_is_named_with_its_code_and_logs", &[IMAGE]) else { return };
    let _cleanup = Cleanup;
    let r = run(&["up", "fault-exit"], &[]);
    assert_eq!(r.code, Some(1), "{}", r.err);
    assert!(r.err.contains("error: container benchhost-fault-exit-app exited with code 7 while starting"), "{}", r.err);
    // Both lines, in either order: Docker interleaves a container's stdout and stderr lines
    // written back to back in no fixed order.
    assert!(r.err.contains("  last log lines:\n"), "{}", r.err);
    assert!(r.err.contains("\n    fault-exit is starting\n") && r.err.contains("\n    fault-exit: disk on fire\n"), "{}", r.err);
    assert!(r.err.contains("(plugin \"faults\" ") && r.err.contains("hint: the server inside stopped"), "{}", r.err);
    assert!(r.err.contains("removing what this run created"), "{}", r.err);
    assert_clean("a container that exits", &dangling);
}

#[test]
fn a_container_short_of_memory_is_named_with_the_setting_to_raise() {
    let Some((_engine, dangling)) = clean_engine("a_container_short_of_memory_is_named_with_the_setting_to_raise", &[IMAGE]) else { return };
    let _cleanup = Cleanup;
    // Killed: looked like any crash ("exited with code 137") with nothing about memory.
    let r = run(&["up", "fault-oom"], &[("BENCH_MEM_LIMIT", "64m")]);
    assert_eq!(r.code, Some(2), "the limit the user set is theirs to raise: {}", r.err);
    assert!(r.err.contains("error: container benchhost-fault-oom-app exited with code 137 while starting"), "{}", r.err);
    assert!(
        r.err.contains("out of memory: benchhost-fault-oom-app (killed by the kernel for lack of memory) under BENCH_MEM_LIMIT=64m (from the environment)"),
        "{}",
        r.err
    );
    assert!(r.err.contains("hint: raise BENCH_MEM_LIMIT"), "{}", r.err);
    assert!(!r.err.contains("defect of the plugin"), "{}", r.err);
    assert_clean("a container killed for memory", &dangling);
    // Starved but alive: the readiness wait ends first (its own exit code, 5), and the memory
    // in use is named as the likely reason.
    let r = run(&["up", "fault-starve"], &[("BENCH_MEM_LIMIT", "64m"), ("BENCH_STARTUP_TIMEOUT", "4")]);
    let line = r.err.lines().find(|l| l.contains("of memory: benchhost-fault-starve-app (")).unwrap_or_else(|| panic!("{}", r.err));
    if line.contains("(killed by the kernel") {
        assert_eq!(r.code, Some(2), "{}", r.err);
    } else {
        assert_eq!(r.code, Some(5), "{}", r.err);
        assert!(line.contains("maybe short of memory: benchhost-fault-starve-app (") && line.contains(" of its 64 MiB limit in use) under BENCH_MEM_LIMIT=64m"), "{line}");
    }
    assert_clean("a container starved of memory", &dangling);
    // With room, the same fault is no memory problem: nothing is said about memory.
    let r = run(&["up", "fault-starve"], &[("BENCH_MEM_LIMIT", "1g"), ("BENCH_STARTUP_TIMEOUT", "4")]);
    assert_eq!(r.code, Some(5), "{}", r.err);
    assert!(!r.err.contains("out of memory"), "{}", r.err);
    assert_clean("a container that is only slow", &dangling);
}

#[test]
fn a_service_that_never_gets_ready_times_out_with_the_last_check_and_logs() {
    let Some((_engine, dangling)) = clean_engine("a_service_that_never_gets_ready_times_out_with_the_last_check_and_logs", &[IMAGE]) else { return };
    let _cleanup = Cleanup;
    let started = Instant::now();
    let r = run(&["up", "fault-unready"], &[("BENCH_STARTUP_TIMEOUT", "3")]);
    assert_eq!(r.code, Some(5), "{}", r.err);
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    assert!(
        r.err.contains("error: benchhost-fault-unready-app was not ready within 3s (BENCH_STARTUP_TIMEOUT); last check: app: the fixture says it is still warming up"),
        "{}",
        r.err
    );
    assert!(r.err.contains("app log line one") && r.err.contains("app log line two"), "{}", r.err);
    assert_clean("a probe that never passes", &dangling);

    // The declared healthcheck (run by benchhost) fails: its output is the last check.
    let r = run(&["up", "fault-unhealthy"], &[("BENCH_STARTUP_TIMEOUT", "3")]);
    assert_eq!(r.code, Some(5), "{}", r.err);
    assert!(r.err.contains("error: benchhost-fault-unhealthy-app was not ready within 3s (BENCH_STARTUP_TIMEOUT); last check: "), "{}", r.err);
    assert!(r.err.contains("exited 3: probe says no"), "the healthcheck's output is not quoted:\n{}", r.err);
    assert!(r.err.contains("app log line two"), "{}", r.err);
    assert_clean("a healthcheck that never passes", &dangling);
}

#[test]
fn a_failing_bootstrap_is_exit_3_naming_plugin_and_operation() {
    let Some((_engine, dangling)) = clean_engine("a_failing_bootstrap_is_exit_3_naming_plugin_and_operation", &[IMAGE]) else { return };
    let _cleanup = Cleanup;
    let r = run(&["up", "fault-bootstrap"], &[]);
    assert_eq!(r.code, Some(3), "{}", r.err);
    assert!(r.err.contains("benchhost-fault-bootstrap-app ready"), "{}", r.err);
    assert!(r.err.contains("error: plugin \"faults\" 0.4.2 bootstrap: the fixture refuses to provision: export /export is read-only (code 17)"), "{}", r.err);
    assert_clean("a failing bootstrap", &dangling);
}

#[test]
fn up_twice_refuses_without_duplicates_and_down_twice_succeeds() {
    let Some((_engine, dangling)) = clean_engine("up_twice_refuses_without_duplicates_and_down_twice_succeeds", &[IMAGE]) else { return };
    let _cleanup = Cleanup;
    let r = run(&["up", "fault-stack"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.err);
    assert!(r.out.contains("mount -t nfs -o vers=4.1,port=32801 127.0.0.1:/export /mnt/benchhost/fault-stack"), "{}", r.out);
    let ids = |_: ()| text(&docker::docker(&["ps", "-aq", "--no-trunc", "--filter", "label=benchhost.profile=fault-stack"]).stdout);
    let before = ids(());
    assert_eq!(before.lines().count(), 3, "{before}");

    let again = run(&["up", "fault-stack"], &[]);
    assert_eq!(again.code, Some(2), "{}", again.err);
    assert!(again.err.contains("error: profile fault-stack is already up: benchhost-fault-stack-"), "{}", again.err);
    assert!(again.err.contains("hint: `benchhost down fault-stack` first"), "{}", again.err);
    assert_eq!(ids(()), before, "the second up changed the containers");
    assert_eq!(docker::managed().len(), 3 + 1 + 6, "{:?}", docker::managed());

    let down = run(&["down", "fault-stack"], &[]);
    assert_eq!(down.code, Some(0), "{}", down.err);
    assert!(down.err.contains("fault-stack: removed 3 container(s), 1 network(s), 6 volume(s)"), "{}", down.err);
    assert_clean("up twice", &dangling);
    let down = run(&["down", "fault-stack"], &[]);
    assert_eq!(down.code, Some(0), "{}", down.err);
    assert!(down.err.contains("fault-stack: nothing to remove"), "{}", down.err);
}

/// An image registry that accepts connections and never answers: a pull from it hangs.
struct SilentRegistry {
    port: u16,
    _accept: std::thread::JoinHandle<()>,
}

fn silent_registry() -> SilentRegistry {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accept = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s); // never read, never answered, never closed while the test runs
        }
    });
    SilentRegistry { port, _accept: accept }
}

/// Starts `up profile` and returns it once it is in `phase`: `pull`, `create`, `start`, `wait`
/// or `bootstrap`. Returns the child and what it printed so far.
fn up_in_phase(phase: &str, registry: &SilentRegistry) -> (Child, String, &'static str) {
    match phase {
        "pull" => {
            let image = format!("127.0.0.1:{}/benchhost-test/never:1", registry.port);
            let mut child = spawn(&["-v", "up", "fault-pull"], &[("FAULTS_PULL_IMAGE", &image)]);
            let seen = read_until(&mut child, &format!("pulling {image}"));
            std::thread::sleep(Duration::from_millis(300));
            (child, seen, "fault-pull")
        }
        "create" => {
            let mut child = spawn(&["up", "fault-stack"], &[]);
            let seen = read_until(&mut child, "network benchhost-fault-stack created");
            (child, seen, "fault-stack")
        }
        "start" => {
            let mut child = spawn(&["up", "fault-stack"], &[]);
            let seen = read_until(&mut child, "network benchhost-fault-stack created");
            // The first container exists but has not started yet.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let state = text(&docker::docker(&["ps", "-a", "--filter", "name=^benchhost-fault-stack-first$", "--format", "{{.State}}"]).stdout);
                match state.trim() {
                    "created" => break,
                    "" => assert!(Instant::now() < deadline, "the container was never created"),
                    other => panic!("missed the start phase: the container is already {other}"),
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            (child, seen, "fault-stack")
        }
        "wait" => {
            let mut child = spawn(&["up", "fault-slow-health"], &[]);
            let seen = read_until(&mut child, "benchhost-fault-slow-health-app started");
            std::thread::sleep(Duration::from_millis(700)); // inside a 2 s probe (host sleep)
            (child, seen, "fault-slow-health")
        }
        "bootstrap" => {
            let mut child = spawn(&["up", "fault-slow-bootstrap"], &[]);
            let seen = read_until(&mut child, "benchhost-fault-slow-bootstrap-app ready");
            std::thread::sleep(Duration::from_millis(300)); // inside a 60 s bootstrap (host sleep)
            (child, seen, "fault-slow-bootstrap")
        }
        other => panic!("unknown phase {other}"),
    }
}

#[cfg(unix)]
#[test]
fn sigint_and_sigterm_in_every_phase_of_up_remove_everything_and_exit_130() {
    let Some((_engine, dangling)) = clean_engine("sigint_and_sigterm_in_every_phase_of_up_remove_everything_and_exit_130", &[IMAGE]) else { return };
    let _cleanup = Cleanup;
    let registry = silent_registry();
    for signal in ["INT", "TERM"] {
        for phase in ["pull", "create", "start", "wait", "bootstrap"] {
            let (child, seen, profile) = up_in_phase(phase, &registry);
            let sent = Instant::now();
            let (code, rest) = interrupt(child, signal);
            let all = format!("{seen}{rest}");
            assert_eq!(code, Some(130), "SIG{signal} during {phase}:\n{all}");
            assert!(sent.elapsed() < Duration::from_secs(15), "SIG{signal} during {phase} took {:?} to finish", sent.elapsed());
            assert!(rest.contains("interrupted"), "SIG{signal} during {phase}:\n{all}");
            assert!(rest.contains("error: interrupted; removed what this run had created"), "SIG{signal} during {phase}:\n{all}");
            if phase == "start" {
                assert!(!all.contains("benchhost-fault-stack-first started"), "the signal missed the start phase:\n{all}");
            }
            assert_clean(&format!("SIG{signal} during {phase} of up {profile}"), &dangling);
        }
    }
}

/// xorshift64*: the moments of the interrupt loop, reproducible from the seed.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..hi` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}

/// How long `up profile` takes here, from start to exit (then it is taken down again).
fn time_up(profile: &str) -> Duration {
    let started = Instant::now();
    let r = run(&["up", profile], &[]);
    let took = started.elapsed();
    assert_eq!(r.code, Some(0), "up {profile}: {}", r.err);
    assert_eq!(run(&["down", profile], &[]).code, Some(0));
    took
}

#[cfg(unix)]
#[test]
fn interrupted_ups_at_random_moments_leave_nothing() {
    let Some((_engine, dangling)) = clean_engine("interrupted_ups_at_random_moments_leave_nothing", &[IMAGE, RCLONE_IMAGE, LOCALSTACK_IMAGE]) else { return };
    let _cleanup = Cleanup;
    const SEED: u64 = 0x5eed_b3c4_0005;
    const RUNS: usize = 24;
    let deadline = Instant::now() + Duration::from_secs(6 * 60);
    // The moments are drawn from the whole of an uninterrupted `up` as measured here, so they
    // fall in every phase on a fast machine and a slow one alike.
    let ganesha = time_up("ganesha").as_millis() as u64;
    let rclone = time_up("rclone").as_millis() as u64;
    eprintln!("uninterrupted: up ganesha {ganesha} ms, up rclone {rclone} ms (start to exit)");
    let mut rng = XorShift(SEED);
    let (mut interrupted, mut finished, mut early) = (0, 0, 0);
    for i in 0..RUNS {
        // Every third run is rclone (a dependency: LocalStack is started and waited for first).
        let (profile, delay) = if i % 3 == 2 { ("rclone", rng.millis(0, rclone)) } else { ("ganesha", rng.millis(0, ganesha)) };
        let signal = if rng.next().is_multiple_of(4) { "TERM" } else { "INT" };
        let child = spawn(&["up", profile], &[]);
        let started = Instant::now();
        std::thread::sleep(delay);
        let (code, rest) = interrupt(child, signal);
        let what = format!("run {i}: SIG{signal} {}ms into up {profile}", delay.as_millis());
        match code {
            // Interrupted before it created anything (loading plugins, planning).
            Some(130) if rest.contains("error: interrupted (before anything was created)") => {
                early += 1;
                assert!(!rest.contains(" created ("), "{what}: created something before the handler:\n{rest}");
            }
            Some(130) => {
                interrupted += 1;
                assert!(rest.contains("error: interrupted; removed what this run had created"), "{what}:\n{rest}");
            }
            // It finished before the signal: take it down.
            Some(0) => {
                finished += 1;
                let down = run(&["down", profile], &[]);
                assert_eq!(down.code, Some(0), "{what}: down: {}", down.err);
            }
            // Killed by the signal before benchhost handles it (still loading plugins and
            // planning; a signal before benchhost installs its handler): fine as long as it had
            // created nothing.
            None => {
                early += 1;
                assert!(!rest.contains(" created"), "{what}: killed after creating something:\n{rest}");
            }
            other => panic!("{what}: exit {other:?}:\n{rest}"),
        }
        assert_clean(&what, &dangling);
        let took = started.elapsed();
        eprintln!("{what}: exit {code:?} after {took:?}");
        if took > Duration::from_secs(6) {
            eprintln!("  (slow; its stderr after the signal:)\n{rest}");
        }
        // The sweep after an interrupt is bounded (about 10 s) even when the engine lags.
        assert!(took < delay + Duration::from_secs(20), "{what}: took {took:?}:\n{rest}");
        assert!(Instant::now() < deadline, "the loop ran past its 6 minute deadline at run {i}");
    }
    eprintln!("{RUNS} runs: {interrupted} interrupted, {finished} finished first, {early} killed before the handler");
    assert!(interrupted >= RUNS / 2, "only {interrupted} of {RUNS} runs were interrupted mid-way");
}
