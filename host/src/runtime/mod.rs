//! The plugin runtime: wasmtime + wasmtime-wasi, the only module that names wasmtime.
//!
//! - [`engine`]: one [`wasmtime::Engine`] per process, with epoch interruption (a 10 ms ticker
//!   thread), and the [`Limits`] of every call.
//! - [`artifacts`]: the compile cache; each plugin is compiled once and mapped on later loads.
//! - [`load`]: the file checked (component, contract version) and linked, then `describe`.
//! - [`call`]: every call gets a fresh [`wasmtime::Store`], so a trapped instance is never
//!   entered again. The sandbox: an empty WASI context (no preopens, env, args or sockets),
//!   stdout/stderr captured into a bounded buffer ([`guest_output`]) that is shown when a call
//!   fails, a memory limit per instance, and a time budget per operation after which the guest
//!   traps.
//! - [`contract`]: the bindings of each contract version; [`operations`]: the exports after
//!   `describe`; [`imports`]: the host imports, one file each.

mod artifacts;
mod call;
mod engine;
mod error;
mod gateway;
mod guest_output;
mod imports;
mod load;
mod operations;
mod state;
pub mod version;

pub use artifacts::MAX_ARTIFACTS;
pub use call::REPORTED_MESSAGE_CAP;
pub use engine::{Limits, RuntimeOptions};
pub use error::{Operation, PluginError, PluginErrorKind};
pub use crate::exec::ExecResult;
pub use gateway::{NoServices, ServiceGateway};
pub use imports::{MAX_HTTP_BODY, MAX_TCP_REPLY};
pub use load::LoadedPlugin;

use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::Engine;

pub mod contract;

/// The process-wide engine and linker.
pub struct PluginRuntime {
    engine: Engine,
    /// Where compiled plugins are kept (see [`artifacts`]); `None`: no cache.
    artifacts: Option<PathBuf>,
    linkers: contract::Linkers,
    limits: Limits,
    http: reqwest::Client,
    /// Secret values removed from what plugins log.
    redactions: Arc<std::sync::RwLock<Vec<String>>>,
}

impl PluginRuntime {
    /// Builds the engine (cache per `opts`), a linker per contract version with its host
    /// imports and the WASI interfaces (backed by an empty context), and starts the epoch ticker.
    pub fn new(opts: RuntimeOptions) -> anyhow::Result<Self> {
        let engine = engine::new_engine()?;
        let artifacts = opts.cache_dir.as_ref().map(|dir| dir.join("artifacts"));
        let linkers = contract::Linkers::new(&engine)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()?;
        Ok(PluginRuntime { engine, artifacts, linkers, limits: opts.limits, http, redactions: Default::default() })
    }

    /// Secret values to replace with `***` in every line a plugin logs.
    pub fn set_redactions(&self, secrets: Vec<String>) {
        *self.redactions.write().unwrap_or_else(|e| e.into_inner()) = secrets;
    }
}
