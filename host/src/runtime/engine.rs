//! The process-wide wasmtime [`Engine`]: component model, epoch interruption driven by a ticker
//! thread, and the limits every call runs under.

use std::path::PathBuf;
use std::time::Duration;
use wasmtime::{Config, Engine};

/// Epoch ticker period; budgets are rounded up to it.
pub(super) const TICK: Duration = Duration::from_millis(10);

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
    /// Directory of the compile cache (compiled plugins live in its `artifacts/`); `None`
    /// disables it.
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

/// A component-model engine with epoch interruption, and the thread that advances its epoch
/// every [`TICK`] for as long as the engine lives. Compiled plugins are cached by
/// [`super::artifacts`], not by wasmtime's cache (which keeps them zstd-compressed and copies
/// them out on every load).
pub(super) fn new_engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
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
    Ok(engine)
}
