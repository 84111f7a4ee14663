//! The host imports, with Rust-friendly wrappers. Every call is checked by the host (only this
//! plugin's services and declared dependencies), bounded in time, and logged at `-v`.

use crate::bindings::benchhost::plugin::host as wit;
pub use wit::{ExecOutput, HttpResponse, Level};

/// Writes a line to benchhost's log, prefixed with the plugin's name.
pub fn log(level: Level, message: &str) {
    wit::log(level, message)
}

/// Info-level [`log`].
pub fn info(message: &str) {
    wit::log(Level::Info, message)
}

/// Pauses for `ms` milliseconds (counted against the operation's time budget).
pub fn sleep(ms: u32) {
    wit::sleep(ms)
}

/// Runs `argv` (no shell) inside the plugin's running container `service`.
///
/// ```ignore
/// let out = host::exec("postgres", &["pg_isready", "-h", "127.0.0.1"], 5_000)?;
/// if out.exit_code != 0 { return Ok(Health::Waiting(out.stdout)); }
/// ```
pub fn exec(service: &str, argv: &[&str], timeout_ms: u32) -> Result<ExecOutput, String> {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    wit::exec(service, &argv, timeout_ms)
}

/// Sends `request` over TCP to `service`'s container `port` and returns the first reply segment.
pub fn tcp_exchange(service: &str, port: u16, request: &[u8], timeout_ms: u32) -> Result<Vec<u8>, String> {
    wit::tcp_exchange(service, port, request, timeout_ms)
}

/// An HTTP request to one of the plugin's services, built fluently and sent with [`Http::send`].
///
/// ```ignore
/// let r = Http::new("POST", "dittofs", 8080, "/api/v1/auth/login")
///     .json(&serde_json::json!({"username": "admin", "password": pw}))
///     .send()?;
/// if !r.is_success() { return Err(format!("login: HTTP {} {}", r.status, r.text())); }
/// let token = r.json()?["access_token"].as_str().unwrap_or_default().to_string();
/// ```
#[derive(Clone, Debug)]
pub struct Http {
    req: wit::HttpRequest,
}

impl Http {
    /// `method` `path` on `service`'s container `port`; 10 s timeout by default.
    pub fn new(method: &str, service: &str, port: u16, path: &str) -> Self {
        Http {
            req: wit::HttpRequest {
                service: service.into(),
                port,
                method: method.into(),
                path: path.into(),
                headers: vec![],
                body: vec![],
                timeout_ms: 10_000,
            },
        }
    }
    /// Adds a request header (CR/LF in names or values is refused by the host).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.req.headers.push((name.into(), value.into()));
        self
    }
    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }
    /// A JSON body with `Content-Type: application/json`.
    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.req.body = body.to_string().into_bytes();
        self.header("Content-Type", "application/json")
    }
    /// A raw request body (no Content-Type is set).
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.req.body = body;
        self
    }
    /// Time limit of this request in ms (also capped by the operation's budget).
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.req.timeout_ms = ms;
        self
    }
    /// Sends the request. `Err` only for transport failures; any HTTP status is `Ok`.
    pub fn send(&self) -> Result<HttpResponse, String> {
        wit::http(&self.req)
    }
}

impl HttpResponse {
    /// The body as (lossy) UTF-8, for error messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body parsed as JSON; the error quotes the start of the body.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let t = self.text();
            format!("response is not JSON ({e}): {}", t.chars().take(200).collect::<String>())
        })
    }
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}
