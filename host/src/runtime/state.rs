//! The data of one store: the sandbox (an empty WASI context), its limits, and what the host
//! imports of that call may reach.

use super::gateway::ServiceGateway;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Data of one store: the sandbox (an empty WASI context), limits, and what the imports may reach.
pub struct State {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) limits: StoreLimits,
    pub(super) imports: Imports,
}

/// What the host imports of one call may use (cloned out of the store for each import, so the
/// futures do not borrow the non-`Sync` WASI context).
#[derive(Clone)]
pub struct Imports {
    pub(super) plugin: String,
    pub(super) gateway: Arc<dyn ServiceGateway>,
    pub(super) http: reqwest::Client,
    pub(super) deadline: Instant,
    pub(super) redactions: Arc<std::sync::RwLock<Vec<String>>>,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl Imports {
    /// `requested` capped by what remains of the operation's budget.
    pub(super) fn bounded(&self, requested_ms: u32) -> Duration {
        let left = self.deadline.saturating_duration_since(Instant::now());
        Duration::from_millis(requested_ms as u64).min(left)
    }

    /// The secret values to hide from what this plugin logs.
    pub(super) fn secrets(&self) -> Vec<String> {
        self.redactions.read().map(|r| r.clone()).unwrap_or_default()
    }
}
