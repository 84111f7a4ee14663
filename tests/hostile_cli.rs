//! The hostile plugin corpus (`tests/fixtures/`) through the benchhost binary: `list`, `up`,
//! `compose` and `plugin check` with bad plugins on `BENCHHOST_PLUGIN_PATH`. Each case checks
//! the exit code, the message (plugin, version, operation, field, value, hint), that benchhost
//! itself did not panic, and that the built-in plugins still list and run.
//!
//! Where a failure must happen before Docker is touched, `DOCKER_HOST` points at a dead socket:
//! an exit code other than 4 then proves nothing was created. The tests at the end run real
//! containers (local test images) and hold the engine lock.

use crate::support::corpus::{fixture_path, INVALID_OUTPUT, LOADABLE, UNLOADABLE};
use crate::support::docker::{self, engine_or_skip, leftovers, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const IMAGE: &str = "benchhost-test/ganesha:latest";
/// An engine that cannot be reached: reaching it would be exit 4.
const DEAD_ENGINE: (&str, &str) = ("DOCKER_HOST", "unix:///nonexistent/benchhost-hostile-cli.sock");

/// What one benchhost run gave.
struct Run {
    code: Option<i32>,
    out: String,
    err: String,
}

/// An empty per-user plugin directory, so nothing installed on the machine is loaded.
fn empty_plugin_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("benchhost-hostile-cli-no-plugins");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The joined `BENCHHOST_PLUGIN_PATH` value for `plugins`.
fn plugin_path(plugins: &[PathBuf]) -> String {
    std::env::join_paths(plugins).unwrap().into_string().unwrap()
}

/// Runs benchhost with `plugins` as third-party plugins and `env` added, and checks it did not
/// panic (a guest's panic shows as `thread '<unnamed>'` inside "guest output", never as 101).
fn run(args: &[&str], plugins: &[PathBuf], env: &[(&str, &str)]) -> Run {
    let path = plugin_path(plugins);
    let dir = empty_plugin_dir();
    let mut all = vec![("BENCHHOST_PLUGIN_PATH", path.as_str()), ("BENCHHOST_PLUGIN_DIR", dir.to_str().unwrap())];
    all.extend_from_slice(env);
    let o = docker::benchhost(args, &all);
    let r = Run { code: o.status.code(), out: text(&o.stdout), err: text(&o.stderr) };
    assert_no_host_panic(args, &r);
    r
}

fn assert_no_host_panic(args: &[&str], r: &Run) {
    assert_ne!(r.code, Some(101), "benchhost {args:?} panicked:\n{}", r.err);
    assert!(r.code.is_some(), "benchhost {args:?} was killed by a signal:\n{}", r.err);
    for thread in ["thread 'main' panicked", "thread 'tokio-runtime-worker' panicked"] {
        assert!(!r.err.contains(thread), "benchhost {args:?} panicked:\n{}", r.err);
    }
}

fn all_unloadable() -> Vec<PathBuf> {
    UNLOADABLE.iter().map(|(n, _)| fixture_path(n)).collect()
}

/// [`all_unloadable`] without `loop-describe`, which costs every command its 5 s describe budget.
fn all_unloadable_but_slow() -> Vec<PathBuf> {
    UNLOADABLE.iter().filter(|(n, _)| *n != "loop-describe").map(|(n, _)| fixture_path(n)).collect()
}

fn all_loadable() -> Vec<PathBuf> {
    LOADABLE.iter().map(|n| fixture_path(n)).collect()
}

/// Every built-in profile, as `list --json` names them.
const BUILTIN_PROFILES: &[&str] = &[
    "dittofs-badger-s3", "dittofs-postgres-s3", "dittofs-badger-fs", "dittofs-smb", "ganesha", "juicefs", "kernel-nfs",
    "localstack", "postgres", "rclone", "samba",
];

/// `list --json` rows as (profile, source).
fn listed(r: &Run) -> Vec<(String, String)> {
    let rows: Vec<serde_json::Value> = serde_json::from_str(&r.out).unwrap_or_else(|e| panic!("list --json: {e}\n{}", r.out));
    rows.iter().map(|r| (r["profile"].as_str().unwrap().to_string(), r["source"].as_str().unwrap().to_string())).collect()
}

/// Broken files that are not even fixtures: a truncated component, an oversized file, a FIFO.
struct BrokenFiles {
    _dir: tempfile::TempDir,
    truncated: PathBuf,
    oversized: PathBuf,
    fifo: PathBuf,
}

fn broken_files() -> BrokenFiles {
    let dir = tempfile::tempdir().unwrap();
    let truncated = dir.path().join("truncated.wasm");
    let whole = std::fs::read(fixture_path("faults")).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 3]).unwrap();
    let oversized = dir.path().join("oversized.wasm");
    std::fs::File::create(&oversized).unwrap().set_len(65 << 20).unwrap(); // sparse: costs no disk
    let fifo = dir.path().join("fifo.wasm");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    BrokenFiles { _dir: dir, truncated, oversized, fifo }
}

#[test]
fn broken_plugins_are_skipped_with_a_warning_and_the_builtins_still_list() {
    let broken = broken_files();
    let mut plugins = all_unloadable();
    plugins.extend([fixture_path("port-thief"), broken.truncated.clone(), broken.oversized.clone(), broken.fifo.clone()]);
    plugins.extend(all_loadable());
    let started = Instant::now();
    let r = run(&["list", "--json"], &plugins, &[]);
    // loop-describe costs its describe budget (5 s), concurrently with the others.
    assert!(started.elapsed() < Duration::from_secs(30), "list took {:?}", started.elapsed());
    assert_eq!(r.code, Some(0), "{}", r.err);
    let rows = listed(&r);
    for p in BUILTIN_PROFILES {
        assert!(rows.iter().any(|(name, source)| name == p && source == "built-in"), "built-in {p} missing:\n{}", r.out);
    }
    // Every loadable fixture is listed as third-party, from its file.
    for n in LOADABLE {
        let file = fixture_path(n).display().to_string();
        assert!(rows.iter().any(|(_, source)| *source == file), "{n} not listed");
    }
    assert!(!rows.iter().any(|(name, _)| name == "port-thief" || name == "greedy-settings"), "{:?}", rows);

    let warnings: Vec<&str> = r.err.lines().filter(|l| l.starts_with("warning: skipped a plugin")).collect();
    assert_eq!(warnings.len(), UNLOADABLE.len() + 4, "one warning per broken file:\n{}", r.err);
    for (name, parts) in UNLOADABLE {
        let file = fixture_path(name).display().to_string();
        let w = r.err.split("warning: ").find(|w| w.contains(&format!("benchhost_fixture_{}.wasm", name.replace('-', "_"))) || (*name == "greedy-settings" && w.contains("\"greedy-settings\"")));
        let w = w.unwrap_or_else(|| panic!("no warning for {name} ({file}):\n{}", r.err));
        for part in *parts {
            assert!(w.contains(part), "{name}: {part:?} missing from warning:\n{w}");
        }
    }
    assert!(r.err.contains("warning: skipped a plugin: port 22049 is claimed by two plugins: ganesha (profile ganesha, built-in plugin ganesha) and port-thief"), "{}", r.err);
    let t = broken.truncated.display().to_string();
    assert!(r.err.contains(&format!("plugin \"truncated.wasm\" ? load: {t}: malformed WebAssembly")), "{}", r.err);
    assert!(r.err.contains(&format!("plugin \"oversized.wasm\" ? load: {} cannot be read: 68157440 bytes is more than the 64 MiB a plugin may have", broken.oversized.display())), "{}", r.err);
    assert!(r.err.contains(&format!("plugin \"fifo.wasm\" ? load: {} cannot be read: not a regular file", broken.fifo.display())), "{}", r.err);

    // The human listing still shows the built-ins, marked apart from third-party ones.
    let mut plugins = all_unloadable_but_slow();
    plugins.extend(all_loadable());
    let r = run(&["list"], &plugins, &[]);
    assert_eq!(r.code, Some(0), "{}", r.err);
    assert!(r.out.lines().any(|l| l.starts_with("ganesha ") && !l.ends_with("[third-party]")), "{}", r.out);
    assert!(r.out.lines().any(|l| l.starts_with("fault-exit ") && l.ends_with("[third-party]")), "{}", r.out);
}

#[test]
fn plugin_check_refuses_each_broken_component_by_name() {
    for (name, parts) in UNLOADABLE {
        let file = fixture_path(name);
        let r = run(&["plugin", "check", file.to_str().unwrap()], &[], &[]);
        assert_eq!(r.code, Some(3), "{name}:\n{}", r.err);
        let first = r.err.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: plugin \""), "{name}: {first}");
        for part in *parts {
            assert!(r.err.contains(part), "{name}: {part:?} missing:\n{}", r.err);
        }
    }
    // A profile or port another plugin owns: a usage error naming both plugins.
    let r = run(&["plugin", "check", fixture_path("port-thief").to_str().unwrap()], &[], &[]);
    assert_eq!(r.code, Some(2), "{}", r.err);
    assert!(r.err.contains("port 22049 is claimed by two plugins: ganesha"), "{}", r.err);
    // Files that are not plugins at all.
    let broken = broken_files();
    for (file, part) in [(&broken.fifo, "not a regular file"), (&broken.oversized, "more than the 64 MiB a plugin may have")] {
        let r = run(&["plugin", "check", file.to_str().unwrap()], &[], &[]);
        assert_eq!(r.code, Some(2), "{}", r.err);
        assert!(r.err.contains(&format!("reading {}: ", file.display())) && r.err.contains(part), "{}", r.err);
    }
    // mount-options are checked for both host OSes.
    let r = run(&["plugin", "check", fixture_path("bad-mount").to_str().unwrap()], &[], &[]);
    assert_eq!(r.code, Some(3), "{}", r.err);
    for os in ["Linux", "macOS"] {
        for part in [
            format!("profile mount-comma mount-options (for {os}): mount-spec option \"vers=4.1,nolock\" must be one non-empty option without ','"),
            format!("profile mount-proto mount-options (for {os}): mount protocol \"ftp\" is not one of nfs, smb, fuse"),
            format!("profile mount-fuse-escape mount-options (for {os}): mount-spec source \"/tmp/../etc\" of a FUSE mount must be an absolute path without '..'"),
        ] {
            assert!(r.err.contains(&part), "{part:?} missing:\n{}", r.err);
        }
    }
    assert!(r.err.contains("error: plugin \"bad-mount\" 0.1.0 check: 10 problem(s):"), "{}", r.err);
    let r = run(&["plugin", "check", broken.truncated.to_str().unwrap()], &[], &[]);
    assert_eq!(r.code, Some(3), "{}", r.err);
    assert!(r.err.contains("malformed WebAssembly"), "{}", r.err);
}

#[test]
fn plugin_check_lists_every_invalid_profile() {
    let fixtures: std::collections::BTreeSet<&str> = INVALID_OUTPUT.iter().map(|c| c.0).collect();
    for f in fixtures {
        let r = run(&["plugin", "check", fixture_path(f).to_str().unwrap()], &[], &[]);
        assert_eq!(r.code, Some(3), "{f}:\n{}", r.err);
        let cases: Vec<_> = INVALID_OUTPUT.iter().filter(|c| c.0 == f).collect();
        let version = cases[0].1;
        assert!(r.out.starts_with(&format!("plugin {f} {version} (API 0.1.0)")), "{f}: {}", r.out);
        assert!(r.err.contains(&format!("error: plugin \"{f}\" {version} check: ")), "{f}: {}", r.err);
        // Both host OSes are planned; a compose-service problem is the same for both.
        for (_, _, profile, message) in &cases {
            let line = format!("  - profile {profile} (for Linux): plugin \"{f}\" {version} compose-service: {message}");
            assert!(r.err.contains(&line), "{f}: missing {line:?} in:\n{}", r.err);
        }
        assert!(r.err.contains(&format!("hint: plugin \"{f}\" {version} returned something benchhost refuses")), "{}", r.err);
    }
}

#[test]
fn up_refuses_invalid_output_before_reaching_the_engine() {
    for (plugin, version, profile, message) in INVALID_OUTPUT {
        let r = run(&["up", profile, "--allow", "path-escape:all"], &[fixture_path(plugin)], &[DEAD_ENGINE]);
        assert_eq!(r.code, Some(3), "{profile}:\n{}", r.err);
        let expected = format!("error: plugin \"{plugin}\" {version} compose-service: {message}\n  hint: plugin \"{plugin}\" {version} returned something benchhost refuses: a defect of the plugin, not of your settings. Report it to the plugin's author; a third-party plugin can be left out (`benchhost plugin remove {plugin}`, or take it out of BENCHHOST_PLUGIN_PATH)\n");
        assert_eq!(r.err, expected, "{profile}");
        assert_eq!(r.out, "", "{profile}");
        // A dry run validates the same way (it needs no engine either).
        let r = run(&["up", profile, "--dry-run", "--allow", "path-escape:all"], &[fixture_path(plugin)], &[DEAD_ENGINE]);
        assert_eq!((r.code, r.err.as_str(), r.out.as_str()), (Some(3), expected.as_str(), ""), "{profile} --dry-run");
    }
    // The same engine setting with a built-in that plans fine gets to the engine: exit 4.
    let r = run(&["up", "ganesha"], &all_loadable(), &[DEAD_ENGINE]);
    assert_eq!(r.code, Some(4), "{}", r.err);
}

#[test]
fn up_of_a_builtin_plans_with_every_hostile_plugin_loaded() {
    let mut plugins = all_unloadable();
    plugins.extend(all_loadable());
    let r = run(&["up", "ganesha"], &plugins, &[DEAD_ENGINE]);
    // Planning passed (exit 4 is the dead engine), so ganesha's plugin ran and validated.
    assert_eq!(r.code, Some(4), "{}", r.err);
    assert!(r.err.contains("error: the Docker engine is not reachable at unix:///nonexistent/benchhost-hostile-cli.sock"), "{}", r.err);
    assert_eq!(r.err.lines().filter(|l| l.starts_with("warning: skipped a plugin")).count(), UNLOADABLE.len(), "{}", r.err);
}

#[test]
fn compose_renders_builtins_only_with_hostile_plugins_loaded() {
    let clean = run(&["compose", "--output", "-"], &[], &[]);
    assert_eq!(clean.code, Some(0), "{}", clean.err);
    let mut plugins = all_unloadable_but_slow();
    plugins.extend(all_loadable());
    let hostile = run(&["compose", "--output", "-"], &plugins, &[]);
    assert_eq!(hostile.code, Some(0), "{}", hostile.err);
    assert_eq!(hostile.out, clean.out, "third-party plugins changed the rendered compose file");
    assert!(hostile.out.contains("ganesha:") && !hostile.out.contains("fault-exit"), "{}", hostile.out);
}

#[test]
fn declared_privileges_need_a_grant_through_the_cli() {
    let plugins = [fixture_path("needs-grant")];
    let r = run(&["up", "needs-grant"], &plugins, &[DEAD_ENGINE]);
    assert_eq!(r.code, Some(2), "{}", r.err);
    assert!(r.err.contains("error: third-party plugin \"needs-grant\" 0.1.0 ("), "{}", r.err);
    assert!(r.err.contains("needs capabilities you have not granted: privileged, cap-add:NET_ADMIN, device:/dev/null, host-bind:/tmp/benchhost-fixture-grant"), "{}", r.err);
    assert!(r.err.contains("hint: review the plugin, then grant with --allow needs-grant:privileged --allow needs-grant:cap-add:NET_ADMIN"), "{}", r.err);
    assert!(r.err.contains("(or BENCHHOST_ALLOW=needs-grant:privileged,needs-grant:cap-add:NET_ADMIN,needs-grant:device:/dev/null,needs-grant:host-bind:/tmp/benchhost-fixture-grant)"), "{}", r.err);
    // Flags and BENCHHOST_ALLOW add up; one capability short is still refused.
    let r = run(
        &["up", "needs-grant", "--allow", "needs-grant:privileged", "--allow", "needs-grant:cap-add:CAP_NET_ADMIN"],
        &plugins,
        &[DEAD_ENGINE, ("BENCHHOST_ALLOW", "needs-grant:device:/dev/null")],
    );
    assert_eq!(r.code, Some(2), "{}", r.err);
    assert!(r.err.contains("needs a capability you have not granted: host-bind:/tmp/benchhost-fixture-grant"), "{}", r.err);
    // Everything granted: planning passes and the run reaches the (dead) engine.
    let r = run(&["up", "needs-grant", "--allow", "needs-grant:all"], &plugins, &[DEAD_ENGINE]);
    assert_eq!(r.code, Some(4), "{}", r.err);
    // plugin check says which grants `up` will need.
    let r = run(&["plugin", "check", plugins[0].to_str().unwrap()], &[], &[]);
    assert_eq!(r.code, Some(0), "{}", r.err);
    assert!(r.out.contains("to run it, grant (after reviewing it): --allow needs-grant:privileged --allow needs-grant:cap-add:NET_ADMIN --allow needs-grant:device:/dev/null --allow needs-grant:host-bind:/tmp/benchhost-fixture-grant"), "{}", r.out);
}

#[test]
fn traps_loops_and_memory_exhaustion_in_compose_service_exit_3_with_a_hint() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("panic-ops", "panic-compose", &["error: plugin \"panic-ops\" 0.3.1 compose-service: trapped: the plugin panicked", "panic-ops: compose-service gave up on panic-compose"]),
        ("spin", "spin-compose", &["error: plugin \"spin\" 0.2.0 compose-service: timed out after 5s (the plugin's time budget for this operation)"]),
        ("memory-hog", "hog-compose", &["error: plugin \"memory-hog\" 0.1.0 compose-service: ran out of memory (limit 128 MiB per instance)", "memory allocation of 1048576 bytes failed"]),
        ("memory-hog", "hog-once", &["ran out of memory (limit 128 MiB per instance)", "memory allocation of 1073741824 bytes failed"]),
        ("hostile", "hostile-loop", &["error: plugin \"hostile\" 0.1.0 compose-service: timed out after 5s"]),
    ];
    for (plugin, profile, parts) in cases {
        let file = fixture_path(plugin); // the first call builds the corpus: before the clock starts
        let started = Instant::now();
        let r = run(&["up", profile], &[file], &[DEAD_ENGINE]);
        assert!(started.elapsed() < Duration::from_secs(20), "{profile} took {:?}", started.elapsed());
        assert_eq!(r.code, Some(3), "{profile}:\n{}", r.err);
        for part in *parts {
            assert!(r.err.contains(part), "{profile}: {part:?} missing:\n{}", r.err);
        }
        assert!(r.err.contains(&format!("  hint: plugin \"{plugin}\" ")) && r.err.contains("failed inside its own code: a defect of the plugin, not of your settings"), "{profile}: {}", r.err);
        assert!(r.err.contains(&format!("`benchhost plugin remove {plugin}`")), "{profile}: {}", r.err);
    }
}

#[test]
fn huge_output_is_cut_or_refused_and_never_floods_the_terminal() {
    let plugins = [fixture_path("huge-output")];
    let r = run(&["up", "huge-error"], &plugins, &[DEAD_ENGINE]);
    assert_eq!(r.code, Some(3), "{}", &r.err[..r.err.len().min(500)]);
    assert!(r.err.len() < 10 << 10, "{} bytes of error output", r.err.len());
    assert!(r.err.starts_with("error: plugin \"huge-output\" 0.1.0 compose-service: huge-error beginsxxxx"), "{}", &r.err[..200]);
    let cut = (8 << 20) + "huge-error begins".len() + "huge-error ends".len() - (8 << 10);
    assert!(r.err.contains(&format!("… ({cut} more bytes cut)")), "{}", &r.err[r.err.len().saturating_sub(300)..]);
    // An 8 MiB log line is cut to 4096 characters, even at -v where plugin logs are shown.
    let r = run(&["-v", "up", "huge-log"], &plugins, &[DEAD_ENGINE]);
    assert_eq!(r.code, Some(3), "{}", &r.err[..r.err.len().min(500)]);
    let line = r.err.lines().find(|l| l.contains("[huge-output] huge-log begins")).unwrap_or_else(|| panic!("log line missing:\n{}", &r.err[..r.err.len().min(2000)]));
    assert!(line.len() < 4300, "a log line of {} bytes", line.len());
    assert!(r.err.len() < 16 << 10, "{} bytes of output", r.err.len());
    assert!(r.err.contains("error: plugin \"huge-output\" 0.1.0 compose-service: logged"), "{}", r.err);
}

#[test]
fn wasi_and_host_imports_are_denied_through_the_cli() {
    let r = run(&["up", "wasi-escape"], &[fixture_path("wasi-escape")], &[DEAD_ENGINE]);
    assert_eq!(r.code, Some(3), "{}", r.err);
    for line in ["read /etc/passwd: err(No such file or directory", "connect 127.0.0.1:22: err(Permission denied", "env vars: ok(0 variables)", "resolve localhost: err("] {
        assert!(r.err.contains(line), "{line:?} missing:\n{}", r.err);
    }
    let r = run(&["up", "reach-compose"], &[fixture_path("foreign-reach")], &[DEAD_ENGINE]);
    assert_eq!(r.code, Some(3), "{}", r.err);
    assert!(r.err.contains("exec ganesha: err(exec in \"ganesha\" is not allowed in this operation)"), "{}", r.err);
}

// ------------------------------------------------------------------------------------------
// On the real engine.
// ------------------------------------------------------------------------------------------

/// Removes every profile of `plugin` fixtures a failed assertion may have left.
struct Cleanup(Vec<(&'static str, PathBuf)>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        for (profile, plugin) in &self.0 {
            let _ = run(&["down", profile], std::slice::from_ref(plugin), &[]);
        }
    }
}

#[test]
fn builtins_still_run_with_every_hostile_plugin_loaded() {
    let Some(_engine) = engine_or_skip("builtins_still_run_with_every_hostile_plugin_loaded", Some(IMAGE)) else { return };
    let mut plugins = all_unloadable();
    plugins.extend(all_loadable());
    let _cleanup = Cleanup(vec![("ganesha", fixture_path("faults")), ("reach", fixture_path("foreign-reach"))]);
    assert_eq!(docker::managed(), Vec::<String>::new(), "the engine is not clean before the test");
    let env = [("GANESHA_IMAGE", IMAGE), ("FOREIGN_REACH_IMAGE", IMAGE)];

    let up = run(&["up", "ganesha"], &plugins, &env);
    assert_eq!(up.code, Some(0), "{}", up.err);
    assert!(up.out.contains("mount -t nfs -o vers=4.1,tcp,port=22049 127.0.0.1:/export"), "{}", up.out);
    assert_eq!(up.err.lines().filter(|l| l.starts_with("warning: skipped a plugin")).count(), UNLOADABLE.len(), "{}", up.err);
    // The server really answers: a real NFS client writes and reads back.
    docker::nfs_roundtrip(|f| format!("nfs://127.0.0.1/export/{f}?version=4&nfsport=22049"), "hostile.bin", 3000);

    // The other commands with every bad plugin but the slow one.
    let mut plugins = all_unloadable_but_slow();
    plugins.extend(all_loadable());
    let status = run(&["status", "--json"], &plugins, &[]);
    assert_eq!(status.code, Some(0), "{}", status.err);
    let status: serde_json::Value = serde_json::from_str(&status.out).unwrap();
    assert_eq!(status.as_array().map(|a| a.len()), Some(1), "{status}");
    assert_eq!(status[0]["profile"], "ganesha", "{status}");
    assert_eq!(status[0]["containers"][0]["state"], "running", "{status}");

    let down = run(&["down", "ganesha"], &plugins, &[]);
    assert_eq!(down.code, Some(0), "{}", down.err);
    assert!(down.err.contains("ganesha: removed 1 container(s), 1 network(s), 1 volume(s)"), "{}", down.err);
    assert_eq!(docker::managed(), Vec::<String>::new());

    // A plugin whose bootstrap reaches for other plugins' services gets nothing (benchhost runs
    // one system at a time, so ganesha is down again by now; it is not reachable either way).
    let reach = run(&["up", "reach"], &plugins, &env);
    assert_eq!(reach.code, Some(3), "{}", reach.err);
    for line in [
        "error: plugin \"foreign-reach\" 0.1.0 bootstrap: http ganesha:2049: err(service \"ganesha\" is not one of this plugin's services or dependencies (app))",
        "exec ganesha: err(exec in \"ganesha\" is not allowed: not a service of plugin foreign-reach)",
        "tcp ganesha:2049: err(service \"ganesha\" is not one of this plugin's services or dependencies (app))",
        "http app:8080: err(service \"app\" does not publish container port 8080 (published: [2049]))",
        "http app:2049 path: err(http path \"@evil.example/\" must start with '/')",
        "exec app empty: err(exec needs a non-empty argv)",
        // Its own container is its own: exec there works (argv, no shell).
        "exec app: ok(0 own container)",
    ] {
        assert!(reach.err.contains(line), "{line:?} missing:\n{}", reach.err);
    }
    assert!(reach.err.contains("removing what this run created"), "{}", reach.err);
    assert_eq!(leftovers("reach"), Vec::<String>::new());
    assert_eq!(docker::managed(), Vec::<String>::new());
}

/// `up` of `profile` of fixture `plugin` must fail with `code` after starting its container,
/// say each of `parts`, and remove everything.
fn up_fails_after_start(plugin: &str, profile: &'static str, env: &[(&str, &str)], code: i32, parts: &[&str]) {
    let file = fixture_path(plugin);
    let _cleanup = Cleanup(vec![(profile, file.clone())]);
    let r = run(&["up", profile], &[file], env);
    assert_eq!(r.code, Some(code), "{profile}:\n{}", r.err);
    assert!(r.err.contains(&format!("benchhost-{profile}-app started")), "{profile}: the container never started:\n{}", r.err);
    for part in parts {
        assert!(r.err.contains(part), "{profile}: {part:?} missing:\n{}", r.err);
    }
    assert!(r.err.contains("removing what this run created"), "{profile}: {}", r.err);
    assert_eq!(docker::managed(), Vec::<String>::new(), "{profile} left resources behind");
}

#[test]
fn failures_after_start_exit_3_and_remove_everything() {
    let Some(_engine) = engine_or_skip("failures_after_start_exit_3_and_remove_everything", Some(IMAGE)) else { return };
    assert_eq!(docker::managed(), Vec::<String>::new(), "the engine is not clean before the test");
    let dangling = docker::dangling_volumes();
    let hint = "failed inside its own code: a defect of the plugin, not of your settings";
    up_fails_after_start("panic-ops", "panic-healthcheck", &[], 3, &["error: plugin \"panic-ops\" 0.3.1 healthcheck: trapped: the plugin panicked", "panic-ops: healthcheck of app gave up", hint]);
    up_fails_after_start("panic-ops", "panic-bootstrap", &[], 3, &["error: plugin \"panic-ops\" 0.3.1 bootstrap: trapped: the plugin panicked", "panic-ops: bootstrap gave up", hint]);
    up_fails_after_start("panic-ops", "panic-mount", &[], 3, &["error: plugin \"panic-ops\" 0.3.1 mount-options: trapped: the plugin panicked", "panic-ops: mount-options gave up", hint]);
    up_fails_after_start("memory-hog", "hog-mount", &[], 3, &["error: plugin \"memory-hog\" 0.1.0 mount-options: ran out of memory (limit 128 MiB per instance)", hint]);
    // A spinning probe is stopped at what is left of BENCH_STARTUP_TIMEOUT, not at its 15 s budget.
    let started = Instant::now();
    up_fails_after_start("spin", "spin-healthcheck", &[("BENCH_STARTUP_TIMEOUT", "2")], 3, &["error: plugin \"spin\" 0.2.0 healthcheck: timed out after", hint]);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    for (profile, part) in [
        ("mount-comma", "mount-options: mount-spec option \"vers=4.1,nolock\" must be one non-empty option without ','"),
        ("mount-empty-option", "mount-options: mount-spec option \"\" must be one non-empty option without ','"),
        ("mount-ctrl", "mount-options: mount-spec source \"127.0.0.1:/export\\n\\u{1b}[2Jrm -rf /\" contains control characters"),
        ("mount-proto", "mount-options: mount protocol \"ftp\" is not one of nfs, smb, fuse"),
        ("mount-fuse-escape", "mount-options: mount-spec source \"/tmp/../etc\" of a FUSE mount must be an absolute path without '..'"),
    ] {
        up_fails_after_start("bad-mount", profile, &[], 3, &[&format!("error: plugin \"bad-mount\" 0.1.0 {part}"), "returned something benchhost refuses"]);
    }
    assert_eq!(docker::dangling_volumes(), dangling, "anonymous volumes leaked");
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_spinning_plugin_at_once() {
    let Some(_engine) = engine_or_skip("ctrl_c_stops_a_spinning_plugin_at_once", Some(IMAGE)) else { return };
    let file = fixture_path("spin");
    let _cleanup = Cleanup(vec![("spin-bootstrap", file.clone())]);
    let dir = empty_plugin_dir();
    // bootstrap spins for its whole 180 s budget unless the interrupt can cut in.
    let mut child = docker::benchhost_command(&["up", "spin-bootstrap"])
        .env("BENCHHOST_PLUGIN_PATH", &file)
        .env("BENCHHOST_PLUGIN_DIR", &dir)
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = wait_for_line(&mut child, "benchhost-spin-bootstrap-app ready");
    std::thread::sleep(Duration::from_millis(300)); // well inside the spinning bootstrap
    let sent = Instant::now();
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    let err = format!("{seen}{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(took < Duration::from_secs(5), "the interrupt took {took:?} to land");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(docker::managed(), Vec::<String>::new());
}

/// Reads `child`'s stderr until a line contains `wanted`; returns what it read.
fn wait_for_line(child: &mut std::process::Child, wanted: &str) -> String {
    docker::read_stderr_until(child, wanted)
}

#[test]
fn a_mount_command_with_shell_metacharacters_stays_one_argument_each() {
    let Some(_engine) = engine_or_skip("a_mount_command_with_shell_metacharacters_stays_one_argument_each", Some(IMAGE)) else { return };
    let file = fixture_path("bad-mount");
    let _cleanup = Cleanup(vec![("mount-inject", file.clone())]);
    let mark = Path::new("/tmp/benchhost-fixture-pwned");
    let _ = std::fs::remove_file(mark);
    let r = run(&["up", "mount-inject", "--json"], std::slice::from_ref(&file), &[]);
    assert_eq!(r.code, Some(0), "{}", r.err);
    let report: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    let argv: Vec<&str> = report["mount"]["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(
        argv[argv.len() - 4..],
        ["-o", "vers=4.1,port=1$(touch /tmp/benchhost-fixture-pwned)", "127.0.0.1:/x; touch /tmp/benchhost-fixture-pwned", "/mnt/benchhost/mount-inject"]
    );
    let down = run(&["down", "mount-inject"], std::slice::from_ref(&file), &[]);
    assert_eq!(down.code, Some(0), "{}", down.err);

    // The line `up` prints for `eval "$(benchhost up …)"`, run by a real shell whose mkdir, sudo
    // and mount only print their arguments: each part stays one argument and nothing else runs.
    let r = run(&["up", "mount-inject"], std::slice::from_ref(&file), &[]);
    assert_eq!(r.code, Some(0), "{}", r.err);
    let line = r.out.trim();
    let script = "mkdir() { :; }; sudo() { \"$@\"; }; mount() { printf '<%s>\\n' \"$@\"; }; eval \"$1\"";
    let sh = Command::new("sh").args(["-c", script, "sh", line]).output().unwrap();
    assert!(sh.status.success(), "{}", text(&sh.stderr));
    assert_eq!(
        text(&sh.stdout),
        "<-t>\n<nfs>\n<-o>\n<vers=4.1,port=1$(touch /tmp/benchhost-fixture-pwned)>\n<127.0.0.1:/x; touch /tmp/benchhost-fixture-pwned>\n</mnt/benchhost/mount-inject>\n"
    );
    assert!(!mark.exists(), "the mount line ran an injected command");
    let down = run(&["down", "mount-inject"], &[file], &[]);
    assert_eq!(down.code, Some(0), "{}", down.err);
    assert_eq!(docker::managed(), Vec::<String>::new());
}

/// A contract 0.2.0 plugin says whose mistake an error is. A setting error about a value the
/// user gave is the user's: exit 2, the plugin's message, the setting and where its value came
/// from. The same refusal of a default the user never set, a defect (even one whose text starts
/// like a setting error), and a setting error about a setting the plugin does not declare are
/// the plugin's: exit 3. None of them reaches the engine.
#[test]
fn a_typed_setting_error_is_the_users_and_a_defect_the_plugins() {
    let plugin = [fixture_path("typed-errors")];
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("bench.env");
    std::fs::write(&env_file, "TYPED_ERRORS_SIZE=huge\n").unwrap();
    let env_file = env_file.to_str().unwrap();
    let with_file = |args: &[&str]| run(&[&["--env-file", env_file], args].concat(), &plugin, &[DEAD_ENGINE]);

    let r = with_file(&["up", "typed-setting"]);
    assert_eq!(r.code, Some(2), "{}", r.err);
    assert_eq!(
        r.err,
        format!("error: TYPED_ERRORS_SIZE=\"huge\" is not a size the plugin accepts\n  (TYPED_ERRORS_SIZE was set in {env_file}; plugin \"typed-errors\" 0.2.0 refused it in compose-service)\n")
    );
    let r = run(&["up", "typed-setting", "--dry-run"], &plugin, &[DEAD_ENGINE, ("TYPED_ERRORS_SIZE", "huge")]);
    assert_eq!(r.code, Some(2), "{}", r.err);
    assert!(r.err.contains("(TYPED_ERRORS_SIZE was set in the environment; plugin \"typed-errors\" 0.2.0 refused it in compose-service)"), "{}", r.err);

    let r = run(&["up", "typed-setting"], &plugin, &[DEAD_ENGINE]);
    assert_eq!((r.code, r.err.as_str()), (Some(3), "error: plugin \"typed-errors\" 0.2.0 compose-service: TYPED_ERRORS_SIZE=\"1\" is not a size the plugin accepts\n"));

    let r = with_file(&["up", "typed-defect"]);
    assert_eq!(
        (r.code, r.err.as_str()),
        (Some(3), "error: plugin \"typed-errors\" 0.2.0 compose-service: TYPED_ERRORS_SIZE=\"huge\" made the plugin trip over its own bug\n")
    );

    let r = with_file(&["up", "typed-undeclared"]);
    assert_eq!(r.code, Some(3), "{}", r.err);
    assert!(r.err.contains("TYPED_ERRORS_OTHER is refused (blamed on setting \"TYPED_ERRORS_OTHER\", which the plugin does not declare)"), "{}", r.err);

    // A setting error from another function is the user's too (exit 2), with the message.
    let r = with_file(&["up", "typed-mount", "--dry-run"]);
    assert_eq!((r.code, r.err.as_str()), (Some(2), "error: plugin \"typed-errors\" 0.2.0 mount-options: TYPED_ERRORS_SIZE=\"huge\" cannot be mounted\n"));
}

/// A contract 0.1.0 plugin's errors are plain messages; one that starts with a declared
/// setting's name refuses that setting: the user's when they gave it (exit 2), the plugin's
/// when its default applies (exit 3), as before 0.2.0 existed.
#[test]
fn a_0_1_plugin_refusing_a_setting_in_text_is_read_as_before() {
    let plugin = [fixture_path("text-errors")];
    let r = run(&["plugin", "check", plugin[0].to_str().unwrap()], &[], &[]);
    assert!(r.out.starts_with("plugin text-errors 0.1.0 (API 0.1.0)"), "{}", r.out);
    let r = run(&["up", "text-errors"], &plugin, &[DEAD_ENGINE, ("TEXT_ERRORS_SIZE", "huge")]);
    assert_eq!(
        (r.code, r.err.as_str()),
        (Some(2), "error: TEXT_ERRORS_SIZE=\"huge\" is not a size the plugin accepts\n  (TEXT_ERRORS_SIZE was set in the environment; plugin \"text-errors\" 0.1.0 refused it in compose-service)\n")
    );
    let r = run(&["up", "text-errors"], &plugin, &[DEAD_ENGINE]);
    assert_eq!((r.code, r.err.as_str()), (Some(3), "error: plugin \"text-errors\" 0.1.0 compose-service: TEXT_ERRORS_SIZE=\"1\" is not a size the plugin accepts\n"));
}
