//! The hostile corpus (one crate per theme in `tests/fixtures/`) at the runtime and planning
//! level: every kind of failure in every operation, invalid output refused while planning,
//! privileges that need a grant, and plugins that overreach in `describe`. The same corpus
//! through the binary: `hostile_cli.rs`; on the real engine: `faults.rs`.

use crate::runtime_sandbox::{ctx, load_error, runtime};
use crate::support::corpus::{self, fixture_component};
use benchhost::orchestration::plan::plan;
use benchhost::orchestration::plugins::registry::Registry;
use benchhost::orchestration::plan::settings::SettingsSource;
use benchhost::orchestration::BenchError;
use benchhost::runtime::contract::{Health, HostOs};
use benchhost::runtime::{LoadedPlugin, Limits, NoServices, Operation, PluginError, PluginErrorKind, PluginRuntime, RuntimeOptions};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A runtime with short budgets for every operation (the defaults are 5 s, 15 s and 180 s).
fn quick_runtime(budget: Duration) -> PluginRuntime {
    PluginRuntime::new(RuntimeOptions {
        cache_dir: None,
        limits: Limits { describe: budget, healthcheck: budget, bootstrap: budget, ..Default::default() },
    })
    .expect("runtime starts")
}

/// Loads fixture `name` (which must load) into `rt`.
async fn load_fixture(rt: &PluginRuntime, name: &str) -> LoadedPlugin {
    let (origin, bytes) = fixture_component(name);
    rt.load(&origin, &bytes).await.unwrap_or_else(|e| panic!("fixture {name} should load: {e}"))
}

/// Checks the attribution of a failure of `plugin` `version` in `operation`.
fn attributed(err: PluginError, plugin: &str, version: &str, operation: Operation) -> PluginError {
    assert_eq!((err.plugin.as_str(), err.version.as_str(), err.operation), (plugin, version, operation), "{err}");
    let prefix = format!("plugin \"{plugin}\" {version} {operation}: ");
    assert!(err.to_string().starts_with(&prefix), "{err} does not start with {prefix:?}");
    err
}

/// The built-in plugins plus fixture `name` as a third-party plugin, with the wasmtime cache
/// shared between tests (built-ins compile once).
async fn registry_with(names: &[&str]) -> Registry {
    let cache = std::env::temp_dir().join("benchhost-test-wasmtime-cache");
    let rt = PluginRuntime::new(RuntimeOptions { cache_dir: Some(cache), limits: Limits::default() }).expect("runtime starts");
    let files: Vec<PathBuf> = names.iter().map(|n| corpus::fixture_path(n)).collect();
    Registry::load_files(rt, &files).await.expect("the built-in plugins load")
}

/// The built-in plugins still plan (`ganesha` compose-service runs and validates) after a fixture misbehaved.
async fn builtins_still_plan(registry: &Registry) {
    let settings = SettingsSource::from_map(Default::default());
    let planned = plan(registry, &settings, "ganesha", HostOs::Linux).await.expect("ganesha still plans");
    assert_eq!(planned.profiles.last().unwrap().services[0].name, "ganesha");
}

#[tokio::test]
async fn panic_in_every_operation_is_trapped_and_attributed() {
    let rt = runtime();
    let p = load_fixture(&rt, "panic-ops").await;
    let gw = || Arc::new(NoServices);
    let cases: Vec<(Operation, &str, Result<(), PluginError>)> = vec![
        (Operation::ComposeService, "panic-ops: compose-service gave up on panic-compose", rt.compose_service(&p, &ctx("panic-compose")).await.map(|_| ())),
        (Operation::Healthcheck, "panic-ops: healthcheck of app gave up", rt.healthcheck(&p, &ctx("panic-healthcheck"), "app", gw(), None).await.map(|_| ())),
        (Operation::Bootstrap, "panic-ops: bootstrap gave up", rt.bootstrap(&p, &ctx("panic-bootstrap"), gw()).await),
        (Operation::MountOptions, "panic-ops: mount-options gave up", rt.mount_options(&p, &ctx("panic-mount")).await.map(|_| ())),
    ];
    for (op, message, result) in cases {
        let err = attributed(result.expect_err("the operation panics"), "panic-ops", "0.3.1", op);
        assert!(matches!(&err.kind, PluginErrorKind::Trapped(m) if m.contains("panicked")), "{op}: {:?}", err.kind);
        assert!(err.guest_output.contains(message), "{op}: guest output {:?}", err.guest_output);
        let hint = BenchError::from(err).hint().expect("a trap has a hint");
        assert!(hint.contains("plugin \"panic-ops\" 0.3.1") && hint.contains("benchhost plugin remove panic-ops"), "{hint}");
    }
    // Every call had a fresh instance: the profiles that do not panic in an operation still work.
    assert_eq!(rt.compose_service(&p, &ctx("panic-mount")).await.expect("compose works")[0].name, "app");
    assert!(matches!(rt.healthcheck(&p, &ctx("panic-mount"), "app", gw(), None).await, Ok(Health::Ready)));
    rt.bootstrap(&p, &ctx("panic-mount"), gw()).await.expect("bootstrap works");
    assert_eq!(rt.mount_options(&p, &ctx("panic-compose")).await.expect("mount works").source, "127.0.0.1:/export");
}

#[tokio::test]
async fn a_loop_in_every_operation_ends_at_its_budget() {
    let budget = Duration::from_millis(700);
    let rt = quick_runtime(budget);
    let p = load_fixture(&rt, "spin").await;
    for (op, profile) in [
        (Operation::ComposeService, "spin-compose"),
        (Operation::Healthcheck, "spin-healthcheck"),
        (Operation::Bootstrap, "spin-bootstrap"),
        (Operation::MountOptions, "spin-mount"),
    ] {
        let c = ctx(profile);
        let started = Instant::now();
        let result = match op {
            Operation::ComposeService => rt.compose_service(&p, &c).await.map(|_| ()),
            Operation::Healthcheck => rt.healthcheck(&p, &c, "app", Arc::new(NoServices), None).await.map(|_| ()),
            Operation::Bootstrap => rt.bootstrap(&p, &c, Arc::new(NoServices)).await,
            _ => rt.mount_options(&p, &c).await.map(|_| ()),
        };
        let took = started.elapsed();
        let err = attributed(result.expect_err("the loop is stopped"), "spin", "0.2.0", op);
        assert!(matches!(err.kind, PluginErrorKind::TimedOut(d) if d == budget), "{op}: {:?}", err.kind);
        assert!(took >= budget && took < budget + Duration::from_secs(2), "{op}: took {took:?} for a {budget:?} budget");
    }
    // The caller's own deadline is shorter than the healthcheck budget: it wins.
    let started = Instant::now();
    let err = rt.healthcheck(&p, &ctx("spin-healthcheck"), "app", Arc::new(NoServices), Some(Duration::from_millis(200))).await.unwrap_err();
    assert!(matches!(err.kind, PluginErrorKind::TimedOut(d) if d == Duration::from_millis(200)), "{:?}", err.kind);
    assert!(started.elapsed() < Duration::from_millis(600), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_spinning_guest_can_be_cancelled() {
    // A long budget: only dropping the call (what Ctrl-C during `up` does) ends it early.
    let rt = quick_runtime(Duration::from_secs(60));
    let p = load_fixture(&rt, "spin").await;
    let started = Instant::now();
    let c = ctx("spin-bootstrap");
    let call = rt.bootstrap(&p, &c, Arc::new(NoServices));
    let r = tokio::time::timeout(Duration::from_millis(300), call).await;
    assert!(r.is_err(), "the spinning bootstrap returned: {r:?}");
    // The guest yields every epoch tick, so the timeout's cancellation lands right away instead
    // of after the 60 s budget.
    assert!(started.elapsed() < Duration::from_secs(2), "cancellation took {:?}", started.elapsed());
    // And the plugin is still usable.
    assert_eq!(rt.mount_options(&p, &ctx("spin-compose")).await.expect("mount works").note, "fixture");
}

#[tokio::test]
async fn a_looping_describe_fails_the_load_at_its_budget() {
    let rt = quick_runtime(Duration::from_millis(500));
    let (origin, bytes) = fixture_component("loop-describe");
    let started = Instant::now();
    let err = rt.load(&origin, &bytes).await.expect_err("a describe that never returns cannot load");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let err = attributed(err, "benchhost_fixture_loop_describe.wasm", "?", Operation::Describe);
    assert!(matches!(err.kind, PluginErrorKind::TimedOut(d) if d == Duration::from_millis(500)), "{:?}", err.kind);
}

#[tokio::test]
async fn memory_exhaustion_in_any_operation_is_out_of_memory() {
    let rt = runtime();
    let p = load_fixture(&rt, "memory-hog").await;
    for (profile, op, wanted) in [
        ("hog-compose", Operation::ComposeService, "memory allocation of 1048576 bytes failed"),
        ("hog-once", Operation::ComposeService, "memory allocation of 1073741824 bytes failed"),
        ("hog-mount", Operation::MountOptions, "memory allocation of"),
    ] {
        let r = match op {
            Operation::ComposeService => rt.compose_service(&p, &ctx(profile)).await.map(|_| ()),
            _ => rt.mount_options(&p, &ctx(profile)).await.map(|_| ()),
        };
        let err = attributed(r.expect_err("out of memory"), "memory-hog", "0.1.0", op);
        assert!(matches!(err.kind, PluginErrorKind::OutOfMemory(128)), "{profile}: {:?}", err.kind);
        assert!(err.guest_output.contains(wanted), "{profile}: {:?}", err.guest_output);
        assert!(err.to_string().contains("ran out of memory (limit 128 MiB per instance)"), "{err}");
    }
}

#[tokio::test]
async fn huge_messages_are_cut_and_huge_logs_do_not_hurt() {
    let rt = runtime();
    let p = load_fixture(&rt, "huge-output").await;
    let err = attributed(rt.compose_service(&p, &ctx("huge-error")).await.unwrap_err(), "huge-output", "0.1.0", Operation::ComposeService);
    let PluginErrorKind::Reported(msg) = &err.kind else { panic!("{:?}", err.kind) };
    assert!(msg.starts_with("huge-error beginsxxx"), "{}", &msg[..40]);
    assert!(msg.len() < 9 << 10, "a reported message of {} bytes reached the user", msg.len());
    assert!(msg.ends_with(&format!("… ({} more bytes cut)", (8 << 20) + "huge-error begins".len() + "huge-error ends".len() - (8 << 10))), "{}", &msg[msg.len() - 60..]);
    // An 8 MiB log line is cut by the host (4096 characters) and the call goes on.
    let started = Instant::now();
    let err = rt.compose_service(&p, &ctx("huge-log")).await.unwrap_err();
    assert!(matches!(&err.kind, PluginErrorKind::Reported(m) if m == "logged"), "{:?}", err.kind);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test]
async fn wasi_files_environment_sockets_and_names_are_all_denied() {
    let rt = runtime();
    let p = load_fixture(&rt, "wasi-escape").await;
    let err = attributed(rt.compose_service(&p, &ctx("wasi-escape")).await.unwrap_err(), "wasi-escape", "0.1.0", Operation::ComposeService);
    let PluginErrorKind::Reported(report) = &err.kind else { panic!("{:?}", err.kind) };
    let lines: std::collections::BTreeMap<&str, &str> = report.lines().filter_map(|l| l.split_once(": ")).collect();
    assert_eq!(lines.len(), 11, "{report}");
    for attempt in ["read /etc/passwd", "write /tmp/benchhost-wasi-escape", "list /", "list ."] {
        assert!(lines[attempt].starts_with("err(") && lines[attempt].contains("No such file or directory"), "{attempt}: {}", lines[attempt]);
    }
    for attempt in ["connect 127.0.0.1:22", "listen 127.0.0.1:0", "udp bind"] {
        assert!(lines[attempt].starts_with("err(Permission denied"), "{attempt}: {}", lines[attempt]);
    }
    assert!(lines["resolve localhost"].starts_with("err("), "{}", lines["resolve localhost"]);
    assert_eq!(lines["env vars"], "ok(0 variables)");
    assert_eq!(lines["args"], "ok(0 arguments)");
    assert!(!std::path::Path::new("/tmp/benchhost-wasi-escape").exists(), "the guest wrote to the host");
}

#[tokio::test]
async fn host_imports_reach_nothing_during_compose_service() {
    let rt = runtime();
    let p = load_fixture(&rt, "foreign-reach").await;
    let err = attributed(rt.compose_service(&p, &ctx("reach-compose")).await.unwrap_err(), "foreign-reach", "0.1.0", Operation::ComposeService);
    let PluginErrorKind::Reported(report) = &err.kind else { panic!("{:?}", err.kind) };
    assert_eq!(
        report,
        "http ganesha:2049: err(service \"ganesha\" cannot be reached from this operation (no services are running))\n\
         exec ganesha: err(exec in \"ganesha\" is not allowed in this operation)\n\
         tcp ganesha:2049: err(service \"ganesha\" cannot be reached from this operation (no services are running))\n\
         http app:8080: err(service \"app\" cannot be reached from this operation (no services are running))\n\
         http app:2049 path: err(service \"app\" cannot be reached from this operation (no services are running))\n\
         exec app empty: err(exec needs a non-empty argv)\n\
         exec app: err(exec in \"app\" is not allowed in this operation)"
    );
}

#[tokio::test]
async fn components_that_are_not_this_contract_do_not_load() {
    let rt = runtime();
    let cases: &[(&str, &[&str])] = &[
        ("wit-next", &["is built for benchhost plugin API 0.4.0; this benchhost supports 0.1.0–0.3.x; rebuild it with a matching benchhost-plugin-sdk"]),
        ("wit-major", &["is built for benchhost plugin API 9.0.0; this benchhost supports 0.1.0–0.3.x"]),
        (
            "missing-exports",
            &["does not export the benchhost:plugin/plugin@0.1.0 interface", "`compose-service`", "hint: implement every function of the contract"],
        ),
        ("not-a-plugin", &["is not a benchhost plugin: it neither carries a benchhost:api-version section nor exports benchhost:plugin/plugin"]),
        ("core-module", &["is a core WebAssembly module, not a component; build it with `cargo build --target wasm32-wasip2`"]),
    ];
    for (name, parts) in cases {
        let (origin, bytes) = fixture_component(name);
        let err = rt.load(&origin, &bytes).await.expect_err(name);
        let msg = load_error(err, &format!("benchhost_fixture_{}.wasm", name.replace('-', "_")));
        assert!(msg.starts_with(&origin), "{name}: {msg}");
        for part in *parts {
            assert!(msg.contains(part), "{name}: {part:?} missing from {msg}");
        }
    }
    // The copied contract really is another version (the real one is untouched).
    let facts = benchhost::runtime::version::read_facts(&fixture_component("wit-next").1).unwrap();
    assert_eq!(facts.api_version(), Some("0.4.0"));
    assert!(facts.imports.iter().any(|i| i == "benchhost:plugin/host@0.4.0"), "{:?}", facts.imports);
    // Truncated anywhere, a real fixture is refused (never a panic).
    let (_, whole) = fixture_component("faults");
    for cut in [9, 100, whole.len() / 2, whole.len() - 1] {
        let err = rt.load("/tmp/cut/faults.wasm", &whole[..cut]).await.expect_err("truncated");
        let msg = load_error(err, "faults.wasm");
        assert!(msg.contains("malformed WebAssembly") || msg.contains("unexpected end"), "cut at {cut}: {msg}");
    }
}

#[tokio::test]
async fn invalid_plugin_output_of_every_kind_is_refused_while_planning() {
    let fixtures: Vec<&str> = corpus::INVALID_OUTPUT.iter().map(|c| c.0).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let registry = registry_with(&fixtures).await;
    assert!(registry.load_errors.is_empty() && registry.conflicts.is_empty(), "{:?} {:?}", registry.load_errors, registry.conflicts);
    // path-escape declares a host-bind; granting it must not let any path escape.
    let settings = SettingsSource::from_map(Default::default()).with_allow(&["path-escape:all".into()]);
    for (plugin, version, profile, message) in corpus::INVALID_OUTPUT {
        let err = plan(&registry, &settings, profile, HostOs::Linux).await.expect_err(profile);
        match &err {
            BenchError::InvalidPluginOutput { plugin: p, version: v, operation, message: m } => {
                assert_eq!((p.as_str(), v.as_str(), *operation), (*plugin, *version, "compose-service"), "{profile}");
                assert_eq!(m, message, "{profile}");
            }
            other => panic!("{profile}: want InvalidPluginOutput, got {other:?}"),
        }
        assert_eq!(err.exit_code(), 3, "{profile}");
        assert_eq!(err.to_string(), format!("plugin \"{plugin}\" {version} compose-service: {message}"));
        let hint = err.hint().expect("refused output has a hint");
        assert!(hint.contains(&format!("plugin \"{plugin}\" {version} returned something benchhost refuses")), "{hint}");
        assert!(hint.contains(&format!("benchhost plugin remove {plugin}")), "{hint}");
    }
    builtins_still_plan(&registry).await;
}

#[tokio::test]
async fn declared_privileges_need_the_users_grant_and_undeclared_ones_never_pass() {
    let registry = registry_with(&["needs-grant", "undeclared"]).await;
    let ungranted = SettingsSource::from_map(Default::default());
    let err = plan(&registry, &ungranted, "needs-grant", HostOs::Linux).await.expect_err("needs grants");
    assert_eq!(err.exit_code(), 2);
    let msg = err.to_string();
    assert!(msg.starts_with("third-party plugin \"needs-grant\" 0.1.0 ("), "{msg}");
    assert!(msg.contains("benchhost_fixture_needs_grant.wasm) needs capabilities you have not granted: privileged, cap-add:NET_ADMIN, device:/dev/null, host-bind:/tmp/benchhost-fixture-grant"), "{msg}");
    assert!(msg.contains("hint: review the plugin, then grant with --allow needs-grant:privileged --allow needs-grant:cap-add:NET_ADMIN --allow needs-grant:device:/dev/null --allow needs-grant:host-bind:/tmp/benchhost-fixture-grant"), "{msg}");
    // A grant for one capability leaves the others refused; a grant for another plugin counts for nothing.
    let partial = SettingsSource::from_map(Default::default()).with_allow(&["needs-grant:privileged".into(), "undeclared:all".into()]);
    let msg = plan(&registry, &partial, "needs-grant", HostOs::Linux).await.expect_err("still needs grants").to_string();
    assert!(msg.contains("needs capabilities you have not granted: cap-add:NET_ADMIN, device:/dev/null, host-bind:/tmp/benchhost-fixture-grant"), "{msg}");
    let all = SettingsSource::from_map(Default::default()).with_allow(&["needs-grant:all".into()]);
    let planned = plan(&registry, &all, "needs-grant", HostOs::Linux).await.expect("granted");
    let svc = &planned.profiles[0].services[0];
    assert!(svc.privileged && svc.cap_add == ["NET_ADMIN"] && svc.devices == ["/dev/null"], "{svc:?}");
    // "all" for undeclared grants nothing it did not declare.
    let err = plan(&registry, &partial, "undeclared-priv", HostOs::Linux).await.expect_err("undeclared");
    assert!(matches!(err, BenchError::InvalidPluginOutput { .. }), "{err:?}");
    builtins_still_plan(&registry).await;
}

#[tokio::test]
async fn plugins_that_overreach_in_describe_are_left_out_and_builtins_stay() {
    let registry = registry_with(&["greedy-settings", "port-thief", "panic-describe", "wit-next"]).await;
    assert_eq!(registry.load_errors.len(), 3, "{:?}", registry.load_errors);
    let greedy = registry.load_errors.iter().find(|e| e.plugin == "greedy-settings").expect("greedy-settings refused");
    assert_eq!((greedy.version.as_str(), greedy.operation), ("0.1.0", Operation::Describe));
    assert!(
        matches!(&greedy.kind, PluginErrorKind::Invalid(m) if m.starts_with("setting \"GITHUB_TOKEN\" is outside what a third-party plugin may read: its own GREEDY_SETTINGS_* settings and BENCH_CACHE_SIZE")),
        "{greedy}"
    );
    assert_eq!(registry.conflicts.len(), 1, "{:?}", registry.conflicts);
    assert!(
        registry.conflicts[0].starts_with("port 22049 is claimed by two plugins: ganesha (profile ganesha, built-in plugin ganesha) and port-thief (profile port-thief, ")
            && registry.conflicts[0].ends_with("benchhost_fixture_port_thief.wasm); the second is not loaded"),
        "{}",
        registry.conflicts[0]
    );
    let names: Vec<&str> = registry.plugins.iter().map(|p| p.plugin.info.name.as_str()).collect();
    for builtin in ["dittofs", "ganesha", "juicefs", "kernel-nfs", "localstack", "postgres", "rclone", "samba"] {
        assert!(names.contains(&builtin), "{builtin} missing from {names:?}");
    }
    assert!(!names.iter().any(|n| ["greedy-settings", "port-thief"].contains(n)), "{names:?}");
    builtins_still_plan(&registry).await;
}
