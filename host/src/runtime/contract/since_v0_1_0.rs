//! Contract 0.1.0 (`wit/since_v0.1.0/plugin.wit`, frozen): the host's bindings for plugins
//! built for it, their linker, and the host imports as this version names them, converted to
//! and from the newest version's. Its plugin functions fail with a plain `string`.

use super::super::state::State;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::Engine;

/// The first contract version these bindings run; they run every `0.1.x`.
pub const MIN_VERSION: &str = "0.1.0";

wasmtime::component::bindgen!({
    path: "../wit/since_v0.1.0",
    world: "benchhost-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [PartialEq],
    // The records are unchanged in `since_v0_2_0` (which only adds `plugin-error`): share them.
    with: { "benchhost:plugin/types": super::since_v0_2_0::benchhost::plugin::types },
});

use super::since_v0_2_0::benchhost::plugin::host as latest;
use self::benchhost::plugin::host::{self as wit, ExecOutput, HttpRequest, HttpResponse, Level};

/// WASI 0.2 (backed by the empty context of each store) and this version's host imports.
pub(in crate::runtime) fn linker(engine: &Engine) -> anyhow::Result<Linker<State>> {
    let mut linker = Linker::<State>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("linking WASI: {e}"))?;
    BenchhostPlugin::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s).map_err(|e| anyhow::anyhow!("linking host imports: {e}"))?;
    Ok(linker)
}

/// A 0.1.0 plugin's error: a message that does not say whose mistake it is, so the plugin's
/// own until the caller reads more into it.
impl From<String> for super::PluginError {
    fn from(message: String) -> Self {
        super::PluginError::Defect(message)
    }
}

impl From<Level> for latest::Level {
    fn from(level: Level) -> Self {
        match level {
            Level::Debug => latest::Level::Debug,
            Level::Info => latest::Level::Info,
            Level::Warn => latest::Level::Warn,
            Level::Error => latest::Level::Error,
        }
    }
}

impl From<HttpRequest> for latest::HttpRequest {
    fn from(r: HttpRequest) -> Self {
        latest::HttpRequest { service: r.service, port: r.port, method: r.method, path: r.path, headers: r.headers, body: r.body, timeout_ms: r.timeout_ms }
    }
}

impl From<latest::HttpResponse> for HttpResponse {
    fn from(r: latest::HttpResponse) -> Self {
        HttpResponse { status: r.status, headers: r.headers, body: r.body }
    }
}

impl From<latest::ExecOutput> for ExecOutput {
    fn from(o: latest::ExecOutput) -> Self {
        ExecOutput { exit_code: o.exit_code, stdout: o.stdout, stderr: o.stderr }
    }
}

impl wit::Host for State {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.imports.log(level.into(), message);
        Ok(())
    }

    async fn http(&mut self, request: HttpRequest) -> wasmtime::Result<Result<HttpResponse, String>> {
        let imports = self.imports.clone();
        Ok(imports.http(request.into()).await.map(Into::into))
    }

    async fn exec(&mut self, service: String, argv: Vec<String>, timeout_ms: u32) -> wasmtime::Result<Result<ExecOutput, String>> {
        let imports = self.imports.clone();
        Ok(imports.exec(service, argv, timeout_ms).await.map(Into::into))
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
