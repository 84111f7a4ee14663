//! The host imports (`benchhost:plugin/host`), one file each: the only effects a plugin has.
//! Every import is bounded by its own timeout and by what is left of the operation's budget.

mod exec;
mod http;
mod log;
mod sleep;
mod tcp;

pub use http::MAX_HTTP_BODY;
pub use tcp::MAX_TCP_REPLY;

use super::bindings::benchhost::plugin::host::{self as wit, ExecOutput, HttpRequest, HttpResponse, Level};
use super::state::State;

impl super::bindings::benchhost::plugin::types::Host for State {}

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
