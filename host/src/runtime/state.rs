//! Per-call store state and the host imports (`log`, `http`, `exec`, `tcp-exchange`, `sleep`).
//! Every import is bounded by its own timeout and by what is left of the operation's budget.

use super::bindings::benchhost::plugin::host::{self as wit, ExecOutput, HttpRequest, HttpResponse, Level};
use super::gateway::ServiceGateway;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Largest HTTP response body a plugin receives (4 MiB).
pub const MAX_HTTP_BODY: usize = 4 << 20;
/// Largest reply a `tcp-exchange` returns (64 KiB).
pub const MAX_TCP_REPLY: usize = 64 << 10;

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
    fn bounded(&self, requested_ms: u32) -> Duration {
        let left = self.deadline.saturating_duration_since(Instant::now());
        Duration::from_millis(requested_ms as u64).min(left)
    }

    async fn do_http(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let addr = self.gateway.resolve(&req.service, req.port)?;
        if !req.path.starts_with('/') {
            return Err(format!("http path {:?} must start with '/'", req.path));
        }
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| format!("http method {:?} is not valid", req.method))?;
        let url = format!("http://{addr}{}", req.path);
        let timeout = self.bounded(req.timeout_ms);
        let mut builder = self.http.request(method, &url).timeout(timeout).body(req.body);
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        tracing::debug!(plugin = %self.plugin, service = %req.service, port = req.port, "http {} {}", req.method, req.path);
        let resp = builder.send().await.map_err(|e| {
            if e.is_timeout() {
                format!("http {} {} to {}:{} timed out after {timeout:?}", req.method, req.path, req.service, req.port)
            } else {
                format!("http {} {} to {}:{} failed: {}", req.method, req.path, req.service, req.port, error_chain(&e))
            }
        })?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let mut body = Vec::new();
        let mut resp = resp;
        while let Some(chunk) = resp.chunk().await.map_err(|e| format!("reading http body: {}", error_chain(&e)))? {
            if body.len() + chunk.len() > MAX_HTTP_BODY {
                return Err(format!("http response body of {} {} exceeds {} bytes", req.method, req.path, MAX_HTTP_BODY));
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(plugin = %self.plugin, "http {} {} -> {status}", req.method, req.path);
        Ok(HttpResponse { status, headers, body })
    }

    async fn do_tcp_exchange(&self, service: &str, port: u16, request: Vec<u8>, timeout_ms: u32) -> Result<Vec<u8>, String> {
        let addr = self.gateway.resolve(service, port)?;
        let timeout = self.bounded(timeout_ms);
        tracing::debug!(plugin = %self.plugin, %service, port, "tcp-exchange of {} bytes", request.len());
        let work = async {
            let mut stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect {service}:{port}: {e}"))?;
            stream.write_all(&request).await.map_err(|e| format!("send to {service}:{port}: {e}"))?;
            let mut buf = vec![0u8; MAX_TCP_REPLY];
            let n = stream.read(&mut buf).await.map_err(|e| format!("receive from {service}:{port}: {e}"))?;
            buf.truncate(n);
            Ok(buf)
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| format!("tcp exchange with {service}:{port} timed out after {timeout:?}"))?
    }
}

/// Guest stdout+stderr of one call. Every write is accepted (a chatty plugin must not fail
/// because a buffer is full: Rust's `println!` panics when stdout refuses a write), but only the
/// last `cap` bytes are kept, which is where a panic or allocation-failure message ends up.
#[derive(Clone)]
pub struct GuestOutput {
    cap: usize,
    buf: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl GuestOutput {
    pub fn new(cap: usize) -> Self {
        GuestOutput { cap, buf: Default::default() }
    }

    fn push(&self, bytes: &[u8]) {
        let mut buf = self.buf.lock().unwrap();
        buf.extend_from_slice(bytes);
        if buf.len() > 2 * self.cap {
            let cut = buf.len() - self.cap;
            buf.drain(..cut);
        }
    }

    /// The last `cap` bytes written.
    pub fn contents(&self) -> Vec<u8> {
        let buf = self.buf.lock().unwrap();
        buf[buf.len().saturating_sub(self.cap)..].to_vec()
    }
}

impl wasmtime_wasi::cli::IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn wasmtime_wasi::p2::OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl wasmtime_wasi::p2::OutputStream for GuestOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> wasmtime_wasi::p2::StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> wasmtime_wasi::p2::StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> wasmtime_wasi::p2::StreamResult<usize> {
        Ok(self.cap.max(1))
    }
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// `e` and its sources, joined by `: ` (reqwest hides the useful part in the source chain).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

impl super::bindings::benchhost::plugin::types::Host for State {}

impl wit::Host for State {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let message: String = message.chars().take(4096).collect();
        let secrets = self.imports.redactions.read().map(|r| r.clone()).unwrap_or_default();
        let message = super::printable_text(&super::redact(&message, &secrets)).replace('\n', "\\n");
        let p = &self.imports.plugin;
        match level {
            Level::Debug => tracing::debug!("[{p}] {message}"),
            Level::Info => tracing::info!("[{p}] {message}"),
            Level::Warn => tracing::warn!("[{p}] {message}"),
            Level::Error => tracing::error!("[{p}] {message}"),
        }
        match level {
            Level::Debug => {}
            Level::Info => self.imports.gateway.note(&message),
            Level::Warn => self.imports.gateway.note(&format!("warning: {message}")),
            Level::Error => self.imports.gateway.note(&format!("error: {message}")),
        }
        Ok(())
    }

    async fn http(&mut self, request: HttpRequest) -> wasmtime::Result<Result<HttpResponse, String>> {
        let imports = self.imports.clone();
        Ok(imports.do_http(request).await)
    }

    async fn exec(&mut self, service: String, argv: Vec<String>, timeout_ms: u32) -> wasmtime::Result<Result<ExecOutput, String>> {
        if argv.is_empty() {
            return Ok(Err("exec needs a non-empty argv".into()));
        }
        let imports = self.imports.clone();
        let timeout = imports.bounded(timeout_ms);
        if tracing::enabled!(tracing::Level::DEBUG) {
            let secrets = imports.redactions.read().map(|r| r.clone()).unwrap_or_default();
            tracing::debug!(plugin = %imports.plugin, %service, "exec {}", super::redact(&format!("{argv:?}"), &secrets));
        }
        let r = imports.gateway.exec(&service, argv, timeout).await;
        Ok(r.map(|r| ExecOutput { exit_code: r.exit_code, stdout: r.stdout, stderr: r.stderr }))
    }

    async fn tcp_exchange(&mut self, service: String, port: u16, request: Vec<u8>, timeout_ms: u32) -> wasmtime::Result<Result<Vec<u8>, String>> {
        let imports = self.imports.clone();
        Ok(imports.do_tcp_exchange(&service, port, request, timeout_ms).await)
    }

    async fn sleep(&mut self, ms: u32) -> wasmtime::Result<()> {
        let d = self.imports.bounded(ms);
        tokio::time::sleep(d).await;
        Ok(())
    }
}
