//! Sandbox and error-reporting tests of the plugin runtime, driven by deliberately misbehaving
//! plugin components (`tests/fixtures/`, built on first use by `support::artifacts`).
//!
//! Each failure must be contained (no host panic, no hang), classified as the right
//! [`PluginErrorKind`], attributed to the plugin, its version and the operation, and must leave
//! the loaded plugin usable for the next call (every call gets a fresh store).

use crate::support::corpus::fixture_component;
use benchhost::runtime::contract::{Context, HostOs, Role};
use benchhost::runtime::{
    ExecResult, LoadedPlugin, Limits, NoServices, Operation, PluginError, PluginErrorKind, PluginRuntime, RuntimeOptions,
    ServiceGateway,
};
use futures_util::future::BoxFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `describe` / `compose-service` / `mount-options` budget used here.
const BUDGET: Duration = Duration::from_secs(2);
/// Every hostile message starts with this.
const PREFIX: &str = "plugin \"hostile\" 0.1.0 compose-service: ";

/// A runtime with the default limits but a [`BUDGET`] for `describe`.
pub(crate) fn runtime() -> PluginRuntime {
    PluginRuntime::new(RuntimeOptions { cache_dir: None, limits: Limits { describe: BUDGET, ..Default::default() } })
        .expect("runtime starts")
}

async fn load_hostile(rt: &PluginRuntime) -> LoadedPlugin {
    let (origin, bytes) = fixture_component("hostile");
    rt.load(&origin, &bytes).await.unwrap_or_else(|e| panic!("hostile loads: {e}"))
}

/// The context of a call for `profile` on Linux, with no settings.
pub(crate) fn ctx(profile: &str) -> Context {
    Context { profile: profile.into(), settings: vec![], host_os: HostOs::Linux }
}

/// Checks the attribution every hostile failure shares and returns the error.
fn hostile_error(err: PluginError, operation: Operation) -> PluginError {
    assert_eq!(err.plugin, "hostile", "{err}");
    assert_eq!(err.version, "0.1.0", "{err}");
    assert_eq!(err.operation, operation, "{err}");
    let prefix = format!("plugin \"hostile\" 0.1.0 {operation}: ");
    assert!(err.to_string().starts_with(&prefix), "{err:?} does not start with {prefix:?}");
    err
}

/// `compose-service(profile)` must fail; returns the checked error.
async fn compose_fails(rt: &PluginRuntime, p: &LoadedPlugin, profile: &str) -> PluginError {
    match rt.compose_service(p, &ctx(profile)).await {
        Ok(services) => panic!("compose-service of {profile} succeeded with {} services", services.len()),
        Err(e) => hostile_error(e, Operation::ComposeService),
    }
}

/// The plugin still answers after a failure: a reported error and a successful call.
async fn still_works(rt: &PluginRuntime, p: &LoadedPlugin) {
    let err = compose_fails(rt, p, "hostile-err").await;
    assert!(matches!(&err.kind, PluginErrorKind::Reported(m) if m == "refused: reason 42"), "{err:?}");
    let spec = rt.mount_options(p, &ctx("hostile-loop")).await.expect("mount-options works after a failure");
    assert_eq!(spec.note, "fixture profile hostile-loop");
}

#[tokio::test]
async fn hostile_describe_is_normal() {
    let rt = runtime();
    let p = load_hostile(&rt).await;
    assert_eq!(p.info.name, "hostile");
    assert_eq!(p.info.version, "0.1.0");
    let profiles: Vec<(&str, Option<u16>)> = p.info.profiles.iter().map(|p| (p.name.as_str(), p.port)).collect();
    assert_eq!(
        profiles,
        [
            ("hostile-panic", Some(30001)),
            ("hostile-loop", Some(30002)),
            ("hostile-oom", Some(30003)),
            ("hostile-err", Some(30004)),
            ("hostile-fs", Some(30005)),
            ("hostile-http", Some(30006)),
            ("hostile-huge", Some(30007)),
            ("hostile-chatty", Some(30008)),
        ]
    );
    for profile in &p.info.profiles {
        assert_eq!(profile.protocol, "nfs", "{}", profile.name);
        assert!(matches!(profile.role, Role::Target), "{}", profile.name);
    }
}

#[tokio::test]
async fn panic_is_trapped_with_its_message_and_the_plugin_stays_usable() {
    let rt = runtime();
    let p = load_hostile(&rt).await;
    let err = compose_fails(&rt, &p, "hostile-panic").await;
    assert!(
        matches!(&err.kind, PluginErrorKind::Trapped(m) if m.contains("panicked")),
        "want Trapped(..panicked..), got {:?}",
        err.kind
    );
    assert!(err.guest_output.contains("boom from hostile"), "guest output: {:?}", err.guest_output);
    // The panic message is shown to the user too.
    assert!(err.to_string().contains("guest output:") && err.to_string().contains("boom from hostile"), "{err}");
    still_works(&rt, &p).await;
}

#[tokio::test]
async fn infinite_loop_times_out_within_its_budget() {
    let rt = runtime();
    let p = load_hostile(&rt).await;
    let started = Instant::now();
    let err = compose_fails(&rt, &p, "hostile-loop").await;
    let took = started.elapsed();
    assert!(matches!(err.kind, PluginErrorKind::TimedOut(d) if d == BUDGET), "want TimedOut(2s), got {:?}", err.kind);
    assert!(took >= BUDGET, "timed out early, after {took:?}");
    assert!(took < BUDGET + Duration::from_secs(3), "took {took:?} for a {BUDGET:?} budget");
    assert_eq!(err.to_string(), format!("{PREFIX}timed out after 2s (the plugin's time budget for this operation)"));
    still_works(&rt, &p).await;
}

#[tokio::test]
async fn memory_hog_runs_out_of_memory() {
    let rt = runtime();
    let p = load_hostile(&rt).await;
    let err = compose_fails(&rt, &p, "hostile-oom").await;
    assert!(matches!(err.kind, PluginErrorKind::OutOfMemory(128)), "want OutOfMemory(128), got {:?}", err.kind);
    assert!(err.guest_output.contains("memory allocation of"), "guest output: {:?}", err.guest_output);
    assert!(err.to_string().starts_with(&format!("{PREFIX}ran out of memory (limit 128 MiB per instance)")), "{err}");
    still_works(&rt, &p).await;
}

#[tokio::test]
async fn reported_error_is_passed_through_verbatim() {
    let rt = runtime();
    let p = load_hostile(&rt).await;
    let err = compose_fails(&rt, &p, "hostile-err").await;
    assert!(matches!(&err.kind, PluginErrorKind::Reported(m) if m == "refused: reason 42"), "{:?}", err.kind);
    assert_eq!(err.guest_output, "");
    assert_eq!(err.to_string(), format!("{PREFIX}refused: reason 42"));
}

#[tokio::test]
async fn files_environment_and_sockets_are_denied() {
    let rt = runtime();
    let p = load_hostile(&rt).await;
    let err = compose_fails(&rt, &p, "hostile-fs").await;
    let PluginErrorKind::Reported(msg) = &err.kind else { panic!("want Reported, got {:?}", err.kind) };
    let parts: Vec<&str> = msg.split("; ").collect();
    assert_eq!(parts.len(), 3, "{msg}");
    let (fs, env, net) = (parts[0], parts[1], parts[2]);
    // No preopened directories: no path resolves (wasi-libc says ENOENT; older ones named the
    // missing preopen).
    assert!(
        fs.starts_with("fs: err(") && (fs.contains("No such file or directory") || fs.contains("pre-opened")),
        "file read was not denied: {fs}"
    );
    // No environment at all.
    assert_eq!(env, "env: err(environment variable not found)", "env was not empty");
    // Every socket address is refused.
    assert!(net.starts_with("net: err(Permission denied"), "connect was not denied: {net}");
    assert!(!msg.contains("ok("), "something escaped the sandbox: {msg}");
}

/// Knows only this plugin's service `mine`; records what the plugin asked for.
#[derive(Default)]
struct OnlyMine {
    asked: Mutex<Vec<(String, u16)>>,
}

impl ServiceGateway for OnlyMine {
    fn resolve(&self, service: &str, port: u16) -> Result<SocketAddr, String> {
        self.asked.lock().unwrap().push((service.to_string(), port));
        if service == "mine" {
            // Nothing listens on the discard port; the test never gets here.
            Ok(SocketAddr::from(([127, 0, 0, 1], 9)))
        } else {
            Err(format!("service {service:?} is not a service of plugin hostile"))
        }
    }
    fn exec<'a>(&'a self, service: &'a str, _argv: Vec<String>, _t: Duration) -> BoxFuture<'a, Result<ExecResult, String>> {
        Box::pin(async move { Err(format!("exec in {service:?} is not allowed in this test")) })
    }
}

#[tokio::test]
async fn http_to_a_foreign_service_is_refused_by_the_gateway() {
    let rt = runtime();
    let p = load_hostile(&rt).await;

    let gateway = Arc::new(OnlyMine::default());
    let err = rt.bootstrap(&p, &ctx("hostile-http"), gateway.clone()).await.expect_err("bootstrap must fail");
    let err = hostile_error(err, Operation::Bootstrap);
    assert!(
        matches!(&err.kind, PluginErrorKind::Reported(m) if m == "http: service \"not-mine\" is not a service of plugin hostile"),
        "{:?}",
        err.kind
    );
    assert_eq!(*gateway.asked.lock().unwrap(), [("not-mine".to_string(), 80)]);

    let err = rt.bootstrap(&p, &ctx("hostile-http"), Arc::new(NoServices)).await.expect_err("bootstrap must fail");
    let err = hostile_error(err, Operation::Bootstrap);
    assert_eq!(
        err.to_string(),
        "plugin \"hostile\" 0.1.0 bootstrap: http: service \"not-mine\" cannot be reached from this operation (no services are running)"
    );
}

#[tokio::test]
async fn huge_output_fails_cleanly() {
    let rt = runtime();
    let p = load_hostile(&rt).await;
    let err = compose_fails(&rt, &p, "hostile-huge").await;
    // The guest cannot even lay out its 100 000 results; the host never sees them.
    assert!(matches!(err.kind, PluginErrorKind::OutOfMemory(128)), "want OutOfMemory(128), got {:?}", err.kind);
    assert!(err.guest_output.contains("memory allocation of"), "guest output: {:?}", err.guest_output);
    still_works(&rt, &p).await;
}

#[tokio::test]
async fn chatty_output_is_truncated_not_fatal() {
    let rt = runtime();
    let p = load_hostile(&rt).await;
    // 256 KiB of stdout+stderr, four times the buffer: the call still gets to report its error.
    let err = compose_fails(&rt, &p, "hostile-chatty").await;
    assert!(matches!(&err.kind, PluginErrorKind::Reported(m) if m == "chatty: done"), "{:?}", err.kind);
    // Only the tail is kept and shown, and it ends with the last thing the plugin wrote.
    assert!(err.guest_output.len() <= 2048, "guest output of {} bytes", err.guest_output.len());
    assert!(err.guest_output.ends_with("chatty: last line\n"), "{:?}", err.guest_output);
    assert!(err.to_string().starts_with(&format!("{PREFIX}chatty: done\n  guest output:\n    x")), "{err}");
}

/// A failed load: operation `load`, version unknown, the file name as the plugin.
pub(crate) fn load_error(err: PluginError, label: &str) -> String {
    assert_eq!(err.plugin, label, "{err}");
    assert_eq!(err.version, "?", "{err}");
    assert_eq!(err.operation, Operation::Load, "{err}");
    let PluginErrorKind::Invalid(msg) = err.kind else { panic!("want Invalid, got {:?}", err.kind) };
    msg
}

#[tokio::test]
async fn truncated_component_is_invalid() {
    let rt = runtime();
    let (_, bytes) = fixture_component("hostile");
    let err = rt.load("/tmp/cut/hostile.wasm", &bytes[..1000]).await.expect_err("a truncated component must not load");
    let msg = load_error(err, "hostile.wasm");
    // The file is walked before compiling, so the truncation is reported where it is.
    assert!(msg.starts_with("/tmp/cut/hostile.wasm: malformed WebAssembly: unexpected end-of-file"), "{msg}");
}

#[tokio::test]
async fn core_module_is_rejected() {
    let rt = runtime();
    let err = rt.load("/tmp/core.wasm", b"\0asm\x01\0\0\0").await.expect_err("a core module must not load");
    let msg = load_error(err, "core.wasm");
    assert!(msg.contains("core WebAssembly module"), "{msg}");
    assert!(msg.contains("wasm32-wasip2"), "{msg}");
}

#[tokio::test]
async fn random_bytes_are_rejected() {
    let rt = runtime();
    let bytes: Vec<u8> = (0u32..4096).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let err = rt.load("/tmp/noise.wasm", &bytes).await.expect_err("noise must not load");
    let msg = load_error(err, "noise.wasm");
    assert_eq!(msg, "/tmp/noise.wasm is not a WebAssembly file (bad magic bytes)");
    // Too short to hold a header at all.
    let err = rt.load("/tmp/empty.wasm", b"").await.expect_err("an empty file must not load");
    assert!(load_error(err, "empty.wasm").contains("not a WebAssembly file"));
}

#[tokio::test]
async fn panicking_describe_fails_the_load() {
    let rt = runtime();
    let (origin, bytes) = fixture_component("panic-describe");
    let err = rt.load(&origin, &bytes).await.expect_err("a plugin whose describe panics must not load");
    assert_eq!(err.plugin, "benchhost_fixture_panic_describe.wasm", "{err}");
    assert_eq!(err.version, "?", "{err}");
    assert_eq!(err.operation, Operation::Describe, "{err}");
    assert!(matches!(&err.kind, PluginErrorKind::Trapped(m) if m.contains("panicked")), "{:?}", err.kind);
    assert!(err.guest_output.contains("describe refused to describe"), "{:?}", err.guest_output);
    assert!(
        err.to_string().starts_with("plugin \"benchhost_fixture_panic_describe.wasm\" ? describe: trapped: "),
        "{err}"
    );
}


#[tokio::test]
async fn unsupported_import_is_named_not_a_raw_linker_error() {
    let (origin, bytes) = fixture_component("unsupported-import");
    // The fixture really imports the extra interface (the call in describe keeps it alive).
    let facts = benchhost::runtime::version::read_facts(&bytes).expect("the fixture parses");
    assert!(facts.imports.iter().any(|i| i == "test:extra/thing"), "imports: {:?}", facts.imports);
    assert_eq!(facts.api_version(), Some("0.1.0"), "{facts:?}");

    let rt = runtime();
    let err = rt.load(&origin, &bytes).await.expect_err("a plugin with an unknown import must not load");
    let msg = load_error(err, "benchhost_fixture_unsupported_import.wasm");
    assert!(msg.starts_with(&format!("{origin} needs ")), "{msg}");
    assert!(msg.contains("needs test:extra/thing which this benchhost does not provide"), "{msg}");
    assert!(msg.contains("benchhost:plugin@0.1.0"), "{msg}");
    // Only the foreign import is named: WASI and the contract's own interfaces are provided.
    assert!(!msg.contains("wasi:io") && !msg.contains("benchhost:plugin/types"), "{msg}");
    assert!(!msg.contains("matching implementation was not found in the linker"), "raw wasmtime error leaked: {msg}");
    println!("user-facing message: {msg}");
}
