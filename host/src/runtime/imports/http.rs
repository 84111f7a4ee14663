//! `http(request)`: one HTTP/1.1 request to a service the plugin may reach.

use crate::runtime::contract::latest::benchhost::plugin::host::{HttpRequest, HttpResponse};
use super::super::state::Imports;
use crate::text::error_chain;

/// Largest HTTP response body a plugin receives (4 MiB).
pub const MAX_HTTP_BODY: usize = 4 << 20;

impl Imports {
    /// Sends `req` to the host address of its service's port (no redirects, no proxy), within
    /// its timeout and the operation's budget; the body is capped at [`MAX_HTTP_BODY`].
    pub(in super::super) async fn http(&self, req: HttpRequest) -> Result<HttpResponse, String> {
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
}
