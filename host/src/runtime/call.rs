//! One sandboxed call: a fresh store with its limits and epoch deadline, the export run inside
//! it, and every failure classified into a [`PluginErrorKind`].

use super::contract::{ExportResult, Instance, PluginError as WirePluginError, SettingError};
use super::error::{Operation, PluginError, PluginErrorKind};
use super::gateway::ServiceGateway;
use super::guest_output::GuestOutput;
use super::state::{Imports, State};
use super::{LoadedPlugin, PluginRuntime};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{Store, StoreLimitsBuilder, Trap};
use wasmtime_wasi::WasiCtxBuilder;

/// Bytes of guest stdout+stderr kept per call.
const GUEST_OUTPUT_CAP: usize = 64 << 10;

/// Longest error message a plugin may report, in bytes; the rest is cut (an 8 MiB message must
/// not flood the terminal).
pub const REPORTED_MESSAGE_CAP: usize = 8 << 10;

/// The future an export call returns: the trap (outer) or the plugin's own error (inner).
pub(super) type CallFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = ExportResult<T>> + Send + 'a>>;

impl PluginRuntime {
    fn budget(&self, op: Operation) -> Duration {
        match op {
            Operation::Healthcheck => self.limits.healthcheck,
            // Both may wait for uploads to an object store.
            Operation::Bootstrap | Operation::EmptyCache => self.limits.bootstrap,
            _ => self.limits.describe,
        }
    }

    /// A store for one call of `plugin`: an empty WASI context (no preopens, env, args; sockets
    /// deny every address) writing into `output`, the memory limit, and an epoch deadline at
    /// which the guest yields every tick until `budget` is spent, then traps.
    fn store(&self, plugin: &LoadedPlugin, gateway: Arc<dyn ServiceGateway>, budget: Duration, output: &GuestOutput) -> Store<State> {
        let wasi = WasiCtxBuilder::new().stdout(output.clone()).stderr(output.clone()).build();
        let state = State {
            wasi,
            table: Default::default(),
            limits: StoreLimitsBuilder::new().memory_size(self.limits.memory_bytes).instances(16).build(),
            imports: Imports {
                plugin: plugin.info.name.clone(),
                gateway,
                http: self.http.clone(),
                deadline: Instant::now() + budget,
                redactions: self.redactions.clone(),
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // Yielding lets an interrupted `up` drop the call even while the guest spins.
        let deadline = Instant::now() + budget;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Ok(wasmtime::UpdateDeadline::Interrupt)
            } else {
                Ok(wasmtime::UpdateDeadline::Yield(1))
            }
        });
        store
    }

    /// Runs one export in a fresh store, within the operation's budget (capped at `cap`), and
    /// classifies every failure.
    pub(super) async fn call_within<T, F>(&self, plugin: &LoadedPlugin, op: Operation, gateway: Arc<dyn ServiceGateway>, cap: Option<Duration>, f: F) -> Result<T, PluginError>
    where
        T: Send,
        F: for<'a> FnOnce(&'a Instance, &'a mut Store<State>) -> CallFuture<'a, T>,
    {
        let budget = cap.map_or(self.budget(op), |c| c.min(self.budget(op)));
        let output = GuestOutput::new(GUEST_OUTPUT_CAP);
        let mut store = self.store(plugin, gateway, budget, &output);
        let err = |kind| PluginError {
            plugin: plugin.info.name.clone(),
            version: plugin.info.version.clone(),
            operation: op,
            kind,
            guest_output: tail(&output.contents(), 2048),
        };
        let started = Instant::now();
        let result = match plugin.pre.instantiate(&mut store).await {
            Ok(instance) => f(&instance, &mut store).await,
            Err(e) => Err(e),
        };
        tracing::debug!(plugin = %plugin.info.name, "{op} took {:?}", started.elapsed());
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(err(reported(e, plugin))),
            Err(e) => Err(err(classify(&e, budget, self.limits.memory_bytes, &String::from_utf8_lossy(&output.contents())))),
        }
    }
}

/// The error `plugin` returned, its message cut to [`REPORTED_MESSAGE_CAP`]. A setting error
/// about a setting the plugin does not declare is the plugin's defect.
fn reported(e: WirePluginError, plugin: &LoadedPlugin) -> PluginErrorKind {
    let cut = |m: String| crate::text::cut(m, REPORTED_MESSAGE_CAP);
    match e {
        WirePluginError::Defect(message) => PluginErrorKind::Reported(cut(message)),
        WirePluginError::Setting(SettingError { name, message }) if plugin.info.settings.iter().any(|s| s.name == name) => {
            PluginErrorKind::Setting { name, message: cut(message) }
        }
        WirePluginError::Setting(SettingError { name, message }) => {
            PluginErrorKind::Reported(cut(format!("{message} (blamed on setting {name:?}, which the plugin does not declare)")))
        }
    }
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
