//! The host imports, with Rust-friendly wrappers: [`log`], [`sleep`], [`exec`],
//! [`tcp_exchange`], [`Http`], and [`Rest`], a JSON API session with get-or-create. Every call
//! is checked by the host (only this plugin's services and declared dependencies), bounded in
//! time, and logged at `-v`.

use crate::bindings::benchhost::plugin::host as wit;
use crate::Health;
pub use wit::{ExecOutput, HttpResponse, Level};

/// Writes a line to benchhost's log, prefixed with the plugin's name.
pub fn log(level: Level, message: &str) {
    wit::log(level, message)
}

/// Info-level [`log`].
pub fn info(message: &str) {
    wit::log(Level::Info, message)
}

/// Warn-level [`log`].
pub fn warn(message: &str) {
    wit::log(Level::Warn, message)
}

/// Pauses for `ms` milliseconds (counted against the operation's time budget).
pub fn sleep(ms: u32) {
    wit::sleep(ms)
}

/// Calls `attempt` until it returns [`Health::Ready`], at most `times` times, sleeping
/// `pause_ms` after each `Waiting`; an `Err` from `attempt` ends it at once. When every
/// attempt was `Waiting`, the last one's reason is the error.
///
/// ```ignore
/// host::poll(30, 500, || Ok(if status()? == "healthy" { Health::Ready } else { Health::Waiting("not healthy after 15 s".into()) }))?;
/// ```
pub fn poll(times: u32, pause_ms: u32, mut attempt: impl FnMut() -> Result<Health, String>) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..times {
        match attempt()? {
            Health::Ready => return Ok(()),
            Health::Waiting(why) => last = why,
        }
        sleep(pause_ms);
    }
    Err(last)
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

impl ExecOutput {
    /// The last `n` characters of stdout and stderr (joined by a space), on one line, for a
    /// `Waiting` reason or an error.
    pub fn tail(&self, n: usize) -> String {
        let t = format!("{} {}", self.stdout, self.stderr).trim().replace('\n', " | ");
        let count = t.chars().count();
        if count <= n { t } else { format!("...{}", t.chars().skip(count - n).collect::<String>()) }
    }
    /// `<what> exited <code>: <tail of n characters>`.
    pub fn failure(&self, what: &str, n: usize) -> String {
        format!("{what} exited {}: {}", self.exit_code, self.tail(n))
    }
    /// `Ok(self)` when the command exited 0, else `Err` with [`ExecOutput::failure`].
    pub fn success(self, what: &str, n: usize) -> Result<ExecOutput, String> {
        if self.exit_code == 0 { Ok(self) } else { Err(self.failure(what, n)) }
    }
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
    /// `GET path` on `service`'s container `port`.
    pub fn get(service: &str, port: u16, path: &str) -> Self {
        Http::new("GET", service, port, path)
    }
    /// `POST path` on `service`'s container `port`.
    pub fn post(service: &str, port: u16, path: &str) -> Self {
        Http::new("POST", service, port, path)
    }
    /// `PUT path` on `service`'s container `port`.
    pub fn put(service: &str, port: u16, path: &str) -> Self {
        Http::new("PUT", service, port, path)
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

/// A session with a JSON REST API served by one of the plugin's services: every request
/// carries the bearer token, if any, and bodies are JSON. [`Rest::get_or_create`] is the
/// idempotent provisioning step: read first, create only what is missing.
///
/// ```ignore
/// let api = Rest::new("dittofs", 8080).bearer(&token).write_timeout_ms(60_000);
/// api.get_or_create("/api/v1/shares", "export", json!({"name": "/export"}))?;
/// ```
#[derive(Clone, Debug)]
pub struct Rest {
    service: String,
    port: u16,
    token: Option<String>,
    write_timeout_ms: Option<u32>,
}

impl Rest {
    /// The API on `service`'s container `port`, without a token.
    pub fn new(service: &str, port: u16) -> Self {
        Rest { service: service.into(), port, token: None, write_timeout_ms: None }
    }
    /// Sends `Authorization: Bearer <token>` with every request.
    pub fn bearer(mut self, token: &str) -> Self {
        self.token = Some(token.into());
        self
    }
    /// Time limit in ms of every request but `GET` (default: [`Http::new`]'s 10 s), for
    /// servers that do real work on a write.
    pub fn write_timeout_ms(mut self, ms: u32) -> Self {
        self.write_timeout_ms = Some(ms);
        self
    }
    /// `method path` with an optional JSON `body`. `Err` only for transport failures.
    pub fn request(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> Result<HttpResponse, String> {
        let mut req = Http::new(method, &self.service, self.port, path);
        if let Some(token) = &self.token {
            req = req.bearer(token);
        }
        if let (Some(ms), false) = (self.write_timeout_ms, method == "GET") {
            req = req.timeout_ms(ms);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send()
    }
    /// `method path` with `body`; the response's JSON (`null` when it has none) on a 2xx, else
    /// `Err("<method> <path>: HTTP <status> <body>")`.
    pub fn expect_ok(&self, method: &str, path: &str, body: serde_json::Value) -> Result<serde_json::Value, String> {
        let r = self.request(method, path, Some(&body))?;
        if !r.is_success() {
            return Err(format!("{method} {path}: HTTP {} {}", r.status, r.text()));
        }
        Ok(r.json().unwrap_or(serde_json::Value::Null))
    }
    /// `GET path`: the response's JSON on a 2xx, else `Err("GET <path>: HTTP <status> <body>")`.
    pub fn get_json(&self, path: &str) -> Result<serde_json::Value, String> {
        let r = self.request("GET", path, None)?;
        if !r.is_success() {
            return Err(format!("GET {path}: HTTP {} {}", r.status, r.text()));
        }
        r.json()
    }
    /// `PUT body` to `path`, a resource of `collection`; on 404 `POST create` to `collection`,
    /// and on 409 (created meanwhile) `PUT` again. Errors name the request (the POST by the
    /// last segment of `path`), the status and the body.
    pub fn put_or_create(&self, path: &str, body: serde_json::Value, collection: &str, create: serde_json::Value) -> Result<(), String> {
        let r = self.request("PUT", path, Some(&body))?;
        match r.status {
            200 => Ok(()),
            404 => {
                let r = self.request("POST", collection, Some(&create))?;
                match r.status {
                    201 | 200 => Ok(()),
                    409 => self.expect_ok("PUT", path, body).map(|_| ()),
                    s => Err(format!("POST {collection} ({}): HTTP {s} {}", path.rsplit('/').next().unwrap_or(path), r.text())),
                }
            }
            s => Err(format!("PUT {path}: HTTP {s} {}", r.text())),
        }
    }
    /// `GET collection/name`: 200 keeps it (logged at info); 404 `POST`s `body` to
    /// `collection`, where 200, 201 and 409 (created meanwhile) count as done. Any other status
    /// is an error naming the request, the status and the body.
    pub fn get_or_create(&self, collection: &str, name: &str, body: serde_json::Value) -> Result<(), String> {
        let r = self.request("GET", &format!("{collection}/{name}"), None)?;
        match r.status {
            200 => {
                info(&format!("{collection}/{name} exists; keeping it"));
                Ok(())
            }
            404 => {
                let r = self.request("POST", collection, Some(&body))?;
                match r.status {
                    201 | 200 | 409 => Ok(()),
                    s => Err(format!("POST {collection} ({name}): HTTP {s} {}", r.text())),
                }
            }
            s => Err(format!("GET {collection}/{name}: HTTP {s} {}", r.text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExecOutput;

    #[test]
    fn exec_output_tail_and_failure() {
        let o = ExecOutput { exit_code: 2, stdout: "out\nline".into(), stderr: "err".into() };
        assert_eq!(o.failure("pg_isready", 200), "pg_isready exited 2: out | line err");
        assert_eq!(o.tail(3), "...err");
        assert!(o.success("x", 10).is_err());
    }
}
