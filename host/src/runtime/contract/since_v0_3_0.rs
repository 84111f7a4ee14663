//! The newest contract (`wit/since_v0.3.0/plugin.wit`): the host's bindings for plugins
//! built for it, their linker, and the host imports. Its plugin functions fail with a
//! `plugin-error` (a setting the user gave, or the plugin's own defect), and it adds
//! `empty-cache` (the cold pass of `benchhost bench`).

use super::super::state::State;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::Engine;

/// The first contract version these bindings run; they run every `0.3.x`.
pub const MIN_VERSION: &str = "0.3.0";

wasmtime::component::bindgen!({
    path: "../wit/since_v0.3.0",
    world: "benchhost-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [PartialEq],
});

use self::benchhost::plugin::host::{self as wit, ExecOutput, HttpRequest, HttpResponse, Level};

/// WASI 0.2 (backed by the empty context of each store) and this version's host imports.
pub(in crate::runtime) fn linker(engine: &Engine) -> anyhow::Result<Linker<State>> {
    let mut linker = Linker::<State>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("linking WASI: {e}"))?;
    BenchhostPlugin::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s).map_err(|e| anyhow::anyhow!("linking host imports: {e}"))?;
    Ok(linker)
}

impl self::benchhost::plugin::types::Host for State {}

impl wit::Host for State {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.imports.log(level, message);
        Ok(())
    }

    async fn http(&mut self, request: HttpRequest) -> wasmtime::Result<Result<HttpResponse, String>> {
        let imports = self.imports.clone();
        Ok(imports.http(request).await)
    }

    async fn exec(&mut self, service: String, argv: Vec<String>, timeout_ms: u32) -> wasmtime::Result<Result<ExecOutput, String>> {
        let imports = self.imports.clone();
        Ok(imports.exec(service, argv, timeout_ms).await)
    }

    async fn tcp_exchange(&mut self, service: String, port: u16, request: Vec<u8>, timeout_ms: u32) -> wasmtime::Result<Result<Vec<u8>, String>> {
        let imports = self.imports.clone();
        Ok(imports.tcp_exchange(&service, port, request, timeout_ms).await)
    }

    async fn sleep(&mut self, ms: u32) -> wasmtime::Result<()> {
        self.imports.sleep(ms).await;
        Ok(())
    }
}
