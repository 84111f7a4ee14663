//! The plugin runtime: wasmtime + wasmtime-wasi, the only module that names wasmtime.
//!
//! - One [`wasmtime::Engine`] per process, with epoch interruption (a 10 ms ticker thread) and
//!   wasmtime's on-disk compile cache (on by default; `$XDG_CACHE_HOME/benchhost/wasmtime`).
//! - Each plugin is compiled once and pre-instantiated ([`BenchhostPluginPre`]); every call gets
//!   a fresh [`Store`], so a trapped instance is never entered again.
//! - The sandbox: an empty WASI context (no preopens, env, args or sockets), stdout/stderr
//!   captured into a bounded buffer that is shown when a call fails, a memory limit per instance,
//!   and a time budget per operation after which the guest traps.

mod error;
mod gateway;
mod state;
pub mod version;

pub use error::{Operation, PluginError, PluginErrorKind};
pub use gateway::{ExecResult, NoServices, ServiceGateway};
pub use state::error_chain;

use state::State;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store, StoreLimitsBuilder, Trap};
use wasmtime_wasi::WasiCtxBuilder;

#[doc(hidden)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "benchhost-plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        additional_derives: [PartialEq],
    });
}

use bindings::{BenchhostPlugin, BenchhostPluginPre};

/// The contract's records (generated from `wit/plugin.wit`), used as the host's plugin model.
pub mod contract {
    pub use super::bindings::benchhost::plugin::types::*;
}
use contract::{Context, Health, MountSpec, PluginInfo, Service};

/// Epoch ticker period; budgets are rounded up to it.
const TICK: Duration = Duration::from_millis(10);
/// Bytes of guest stdout+stderr kept per call.
const GUEST_OUTPUT_CAP: usize = 64 << 10;

/// Limits applied to every call.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Linear memory per instance, bytes (default 128 MiB).
    pub memory_bytes: usize,
    /// Budget of `describe`, `compose-service`, `mount-options` (default 5 s).
    pub describe: Duration,
    /// Budget of one `healthcheck` call (default 15 s).
    pub healthcheck: Duration,
    /// Budget of `bootstrap` (default 180 s).
    pub bootstrap: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            describe: Duration::from_secs(5),
            healthcheck: Duration::from_secs(15),
            bootstrap: Duration::from_secs(180),
        }
    }
}

/// How the engine is set up.
#[derive(Clone, Debug, Default)]
pub struct RuntimeOptions {
    /// Directory of wasmtime's compile cache; `None` disables it.
    pub cache_dir: Option<PathBuf>,
    pub limits: Limits,
}

impl RuntimeOptions {
    /// The default: cache in `$XDG_CACHE_HOME/benchhost/wasmtime` (or `~/.cache/...`) unless
    /// `BENCHHOST_NO_CACHE` is set.
    pub fn from_env() -> Self {
        let cache_dir = if std::env::var_os("BENCHHOST_NO_CACHE").is_some() {
            None
        } else {
            dirs::cache_dir().map(|d| d.join("benchhost").join("wasmtime"))
        };
        RuntimeOptions { cache_dir, limits: Limits::default() }
    }
}

/// The process-wide engine and linker.
pub struct PluginRuntime {
    engine: Engine,
    /// Where compiled plugins are kept (see [`PluginRuntime::compile`]); `None`: no cache.
    artifacts: Option<PathBuf>,
    linker: Linker<State>,
    limits: Limits,
    http: reqwest::Client,
    /// Secret values removed from what plugins log.
    redactions: Arc<std::sync::RwLock<Vec<String>>>,
}

/// A compiled, pre-instantiated plugin and what it said about itself.
pub struct LoadedPlugin {
    pub info: PluginInfo,
    /// Where it came from, for messages (`built-in` or a file path).
    pub origin: String,
    pre: BenchhostPluginPre<State>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LoadedPlugin({} {} from {})", self.info.name, self.info.version, self.origin)
    }
}

impl PluginRuntime {
    /// Builds the engine (cache per `opts`), the linker with the host imports and the WASI
    /// interfaces (backed by an empty context), and starts the epoch ticker.
    pub fn new(opts: RuntimeOptions) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Compiled plugins are cached by `compile`, not by wasmtime's cache (which keeps them
        // zstd-compressed and copies them out on every load).
        let artifacts = opts.cache_dir.as_ref().map(|dir| dir.join("artifacts"));
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("creating the wasm engine: {e}"))?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("benchhost-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })?;
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("linking WASI: {e}"))?;
        BenchhostPlugin::add_to_linker::<State, wasmtime::component::HasSelf<State>>(&mut linker, |s| s)
            .map_err(|e| anyhow::anyhow!("linking host imports: {e}"))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()?;
        Ok(PluginRuntime { engine, artifacts, linker, limits: opts.limits, http, redactions: Default::default() })
    }

    /// Secret values to replace with `***` in every line a plugin logs.
    pub fn set_redactions(&self, secrets: Vec<String>) {
        *self.redactions.write().unwrap_or_else(|e| e.into_inner()) = secrets;
    }

    /// Compiles `bytes` (through the cache), checks its imports against the host, and calls
    /// `describe`. `origin` names the source in messages (file path or `built-in`).
    pub async fn load(&self, origin: &str, bytes: &[u8]) -> Result<LoadedPlugin, PluginError> {
        let label = origin.rsplit('/').next().unwrap_or(origin).to_string();
        let invalid = |msg: String| PluginError {
            plugin: label.clone(),
            version: "?".into(),
            operation: Operation::Load,
            kind: PluginErrorKind::Invalid(msg),
            guest_output: String::new(),
        };
        if bytes.len() < 8 || &bytes[0..4] != b"\0asm" {
            return Err(invalid(format!("{origin} is not a WebAssembly file (bad magic bytes)")));
        }
        // Layer 1 is a component; version 1 is a core module.
        if bytes[6..8] == [0, 0] {
            return Err(invalid(format!(
                "{origin} is a core WebAssembly module, not a component; build it with `cargo build --target wasm32-wasip2`"
            )));
        }
        // Read the contract version before compiling: a clear message beats a linker error.
        let facts = version::read_facts(bytes).map_err(|e| invalid(format!("{origin}: {e}")))?;
        let api = facts.api_version().ok_or_else(|| {
            invalid(format!(
                "{origin} is not a benchhost plugin: it neither carries a {} section nor exports benchhost:plugin/plugin",
                version::API_VERSION_SECTION
            ))
        })?;
        version::check_supported(api).map_err(|e| invalid(format!("{origin} is {e}; rebuild it with a matching benchhost-plugin-sdk")))?;
        let component = self.compile(bytes).map_err(|e| invalid(format!("{origin} does not compile: {e:#}")))?;
        let pre = self.linker.instantiate_pre(&component).map_err(|e| {
            let unknown: Vec<&str> = facts
                .imports
                .iter()
                .map(String::as_str)
                .filter(|i| !(i.starts_with("wasi:") || *i == concat!("benchhost:plugin/host@", "0.1.0") || *i == "benchhost:plugin/types@0.1.0"))
                .collect();
            if unknown.is_empty() {
                invalid(format!("{origin} needs imports this benchhost does not provide: {e:#}"))
            } else {
                invalid(format!(
                    "{origin} needs {} which this benchhost does not provide (it provides benchhost:plugin@{} and WASI 0.2)",
                    unknown.join(", "),
                    version::CURRENT_API
                ))
            }
        })?;
        let pre = BenchhostPluginPre::new(pre)
            .map_err(|e| invalid(format!("{origin} does not export the benchhost:plugin/plugin@0.1.0 interface: {e:#}\n  hint: implement every function of the contract (benchhost-plugin-sdk's `register_plugin!` exports all of them)")))?;
        let mut plugin = LoadedPlugin {
            info: PluginInfo {
                name: label.clone(),
                version: "?".into(),
                description: String::new(),
                profiles: vec![],
                settings: vec![],
                capabilities: contract::Capabilities { privileged: false, cap_add: vec![], devices: vec![], host_binds: vec![], host_kernel: vec![] },
            },
            origin: origin.to_string(),
            pre,
        };
        let info = self.call_within(&plugin, Operation::Describe, Arc::new(NoServices), None, |p, s| Box::pin(async move {
                p.benchhost_plugin_plugin().call_describe(s).await.map(Ok)
            }))
            .await?;
        plugin.info = info;
        Ok(plugin)
    }

    /// `compose-service(ctx)`: the plugin's services for `ctx.profile`. No imports reach out.
    pub async fn compose_service(&self, plugin: &LoadedPlugin, ctx: &Context) -> Result<Vec<Service>, PluginError> {
        let ctx = ctx.clone();
        self.call_within(plugin, Operation::ComposeService, Arc::new(NoServices), None, move |p, s| Box::pin(async move {
            p.benchhost_plugin_plugin().call_compose_service(s, &ctx).await
        }))
        .await
    }

    /// `healthcheck(ctx, service)`: one probe through `gateway`, within the healthcheck budget
    /// or `budget` when that is shorter (the caller's own deadline).
    pub async fn healthcheck(
        &self,
        plugin: &LoadedPlugin,
        ctx: &Context,
        service: &str,
        gateway: Arc<dyn ServiceGateway>,
        budget: Option<Duration>,
    ) -> Result<Health, PluginError> {
        let ctx = ctx.clone();
        let service = service.to_string();
        self.call_within(plugin, Operation::Healthcheck, gateway, budget, move |p, s| Box::pin(async move {
            p.benchhost_plugin_plugin().call_healthcheck(s, &ctx, &service).await
        }))
        .await
    }

    /// `bootstrap(ctx)`: provisioning through `gateway`.
    pub async fn bootstrap(&self, plugin: &LoadedPlugin, ctx: &Context, gateway: Arc<dyn ServiceGateway>) -> Result<(), PluginError> {
        let ctx = ctx.clone();
        self.call_within(plugin, Operation::Bootstrap, gateway, None, move |p, s| Box::pin(async move {
            p.benchhost_plugin_plugin().call_bootstrap(s, &ctx).await
        }))
        .await
    }

    /// `mount-options(ctx)`. No imports reach out. The mount command is printed, so secret
    /// values (see [`PluginRuntime::set_redactions`]) are replaced with `***` in every field: a
    /// mount command never carries a password (mount helpers ask for it).
    pub async fn mount_options(&self, plugin: &LoadedPlugin, ctx: &Context) -> Result<MountSpec, PluginError> {
        let ctx = ctx.clone();
        let mut spec = self
            .call_within(plugin, Operation::MountOptions, Arc::new(NoServices), None, move |p, s| Box::pin(async move {
                p.benchhost_plugin_plugin().call_mount_options(s, &ctx).await
            }))
            .await?;
        let secrets = self.redactions.read().map(|r| r.clone()).unwrap_or_default();
        for field in std::iter::once(&mut spec.source).chain(std::iter::once(&mut spec.note)).chain(spec.options.iter_mut()) {
            *field = redact(field, &secrets);
        }
        Ok(spec)
    }

    /// Compiles `bytes`, through the artifact cache when there is one. A compiled plugin is
    /// kept uncompressed in `<cache>/artifacts/<sha256 of the wasm>-<engine settings>.cwasm` and
    /// mapped from there on later loads (`Component::deserialize_file`): no recompilation, no
    /// decompression, no copy, which makes a warm `benchhost list` about twice as fast as
    /// wasmtime's own (zstd) cache. A file is written under a temporary name and renamed, so
    /// a reader never sees half of one; a file that does not deserialize (another wasmtime, a
    /// damaged file) is compiled again and replaced. Only the newest [`MAX_ARTIFACTS`] files
    /// are kept.
    fn compile(&self, bytes: &[u8]) -> wasmtime::Result<Component> {
        let Some(dir) = &self.artifacts else {
            return Component::new(&self.engine, bytes);
        };
        use sha2::Digest;
        use std::hash::{Hash, Hasher};
        let mut settings = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut settings);
        let digest: String = sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        let path = dir.join(format!("{digest}-{:016x}.cwasm", settings.finish()));
        if path.is_file() {
            // SAFETY: the file is one this function wrote from `precompile_component` output, in
            // the user's own cache directory (the trust wasmtime's cache asks for as well);
            // deserialize checks that it is an artifact of this wasmtime and these settings.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => tracing::debug!("compiling again: cached {} does not load: {e:#}", path.display()),
            }
        }
        let artifact = self.engine.precompile_component(bytes)?;
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        let stored = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&tmp, &artifact)).and_then(|()| std::fs::rename(&tmp, &path));
        match stored {
            Ok(()) => prune_artifacts(dir),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                tracing::warn!("not caching the compiled plugin in {}: {e}", dir.display());
            }
        }
        // SAFETY: `artifact` was produced by this engine a moment ago.
        unsafe { Component::deserialize(&self.engine, &artifact) }
    }

    fn budget(&self, op: Operation) -> Duration {
        match op {
            Operation::Healthcheck => self.limits.healthcheck,
            Operation::Bootstrap => self.limits.bootstrap,
            _ => self.limits.describe,
        }
    }

    /// Runs one export in a fresh store, within the operation's budget (capped at `cap`), and
    /// classifies every failure.
    async fn call_within<T, F>(&self, plugin: &LoadedPlugin, op: Operation, gateway: Arc<dyn ServiceGateway>, cap: Option<Duration>, f: F) -> Result<T, PluginError>
    where
        T: Send,
        F: for<'a> FnOnce(
            &'a BenchhostPlugin,
            &'a mut Store<State>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = wasmtime::Result<Result<T, String>>> + Send + 'a>>,
    {
        let budget = cap.map_or(self.budget(op), |c| c.min(self.budget(op)));
        let output = state::GuestOutput::new(GUEST_OUTPUT_CAP);
        // An empty WASI context: no preopens, env, args; sockets deny every address.
        let wasi = WasiCtxBuilder::new().stdout(output.clone()).stderr(output.clone()).build();
        let state = State {
            wasi,
            table: Default::default(),
            limits: StoreLimitsBuilder::new().memory_size(self.limits.memory_bytes).instances(16).build(),
            imports: state::Imports {
                plugin: plugin.info.name.clone(),
                gateway,
                http: self.http.clone(),
                deadline: Instant::now() + budget,
                redactions: self.redactions.clone(),
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // Every tick the guest yields to the executor (so an interrupted `up` can drop the call
        // even while the guest spins) until the budget is spent, then it traps.
        let deadline = Instant::now() + budget;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Ok(wasmtime::UpdateDeadline::Interrupt)
            } else {
                Ok(wasmtime::UpdateDeadline::Yield(1))
            }
        });

        let err = |kind| PluginError {
            plugin: plugin.info.name.clone(),
            version: plugin.info.version.clone(),
            operation: op,
            kind,
            guest_output: tail(&output.contents(), 2048),
        };
        let started = Instant::now();
        let result = match plugin.pre.instantiate_async(&mut store).await {
            Ok(instance) => f(&instance, &mut store).await,
            Err(e) => Err(e),
        };
        tracing::debug!(plugin = %plugin.info.name, "{op} took {:?}", started.elapsed());
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(msg)) => Err(err(PluginErrorKind::Reported(cap_message(msg)))),
            Err(e) => Err(err(classify(&e, budget, self.limits.memory_bytes, &String::from_utf8_lossy(&output.contents())))),
        }
    }
}

/// Longest error message a plugin may report, in bytes; the rest is cut (an 8 MiB message must
/// not flood the terminal).
pub const REPORTED_MESSAGE_CAP: usize = 8 << 10;

/// `msg` cut to [`REPORTED_MESSAGE_CAP`] bytes (at a character boundary), saying how much was cut.
fn cap_message(msg: String) -> String {
    if msg.len() <= REPORTED_MESSAGE_CAP {
        return msg;
    }
    let mut end = REPORTED_MESSAGE_CAP;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes cut)", &msg[..end], msg.len() - end)
}

/// `s` with control characters other than newline shown as escapes, so text from a plugin
/// cannot move the cursor, clear the screen or fake output lines.
pub fn printable_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\n' { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

/// Replaces every occurrence of each secret (3+ characters) in `text` with `***`, longest
/// first, so a secret that contains another (`bench1xyz`, `bench1`) is hidden whole.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut ordered: Vec<&String> = secrets.iter().filter(|s| s.len() >= 3).collect();
    ordered.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in ordered {
        out = out.replace(s.as_str(), "***");
    }
    out
}

/// Turns a wasmtime error into a [`PluginErrorKind`].
fn classify(e: &wasmtime::Error, budget: Duration, mem: usize, guest_output: &str) -> PluginErrorKind {
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PluginErrorKind::TimedOut(budget),
        Some(Trap::UnreachableCodeReached) => {
            // A Rust panic or abort; Rust's allocator aborts with "memory allocation of N bytes
            // failed" after the limiter refuses a memory grow.
            if guest_output.contains("memory allocation of") {
                PluginErrorKind::OutOfMemory(mem >> 20)
            } else {
                PluginErrorKind::Trapped("the plugin panicked (wasm `unreachable` executed)".into())
            }
        }
        Some(t) => PluginErrorKind::Trapped(t.to_string()),
        None => {
            let text = format!("{e:#}");
            if text.contains("memory") && (text.contains("limit") || text.contains("grow")) {
                PluginErrorKind::OutOfMemory(mem >> 20)
            } else {
                PluginErrorKind::Trapped(text)
            }
        }
    }
}

/// The last `max` bytes of `bytes` as text, starting at a line boundary when possible.
fn tail(bytes: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(bytes);
    if s.len() <= max {
        return s.into_owned();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    let t = &s[start..];
    match t.find('\n') {
        Some(i) => t[i + 1..].to_string(),
        None => t.to_string(),
    }
}

/// How many compiled plugins the artifact cache keeps (every rebuilt plugin is a new file).
pub const MAX_ARTIFACTS: usize = 256;

/// Removes the oldest `*.cwasm` files of `dir` beyond [`MAX_ARTIFACTS`].
fn prune_artifacts(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if files.len() > MAX_ARTIFACTS {
        files.sort();
        for (_, path) in &files[..files.len() - MAX_ARTIFACTS] {
            let _ = std::fs::remove_file(path);
        }
    }
}
