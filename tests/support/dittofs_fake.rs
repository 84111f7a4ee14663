//! An in-process stand-in for the DittoFS v0.29.0 control plane, for the three failures the
//! real server (`tests/e2e_dittofs.rs`) cannot be made to show on demand. Everything else the
//! plugin does is tested on the real server.
//!
//! It answers the plugin's conversation the way v0.29.0 does when nothing goes wrong (login,
//! GET 404 then POST 201 for each store and the share, a `healthy` remote-store and share
//! status, PATCH of the share's NFS options, PUT and list of the adapters), plus one [`Fault`],
//! each taken from the v0.29.0 source:
//! - [`Fault::ShareFailsToLoad`]: `ShareHandler.Create` (internal/controlplane/api/handlers/
//!   shares.go) answers 201 after `runtime.AddShare` failed ("Share created but failed to add to
//!   runtime" is only logged), and `ShareHandler.Status` answers 200 with the report of
//!   `Runtime.HealthcheckShare` (pkg/controlplane/runtime/runtime.go): status `unknown`, message
//!   `share not found: ...`, since the runtime does not know the share.
//! - [`Fault::AdapterFailsToRestart`]: `adapters.Service.UpdateAdapter` (pkg/controlplane/
//!   runtime/adapters/service.go) logs "Failed to restart adapter after update" and returns nil,
//!   so `AdapterHandler.Update` answers 200, with `running` false there and in the list.
//! - [`Fault::BadRequest`]: the handlers' `BadRequest` (RFC 7807 `application/problem+json`
//!   with `type` "about:blank", `title` "Bad Request", `status` 400 and `detail`), e.g. what
//!   `POST /api/v1/store/metadata` answers when the store cannot be instantiated.
//!
//! The server runs on its own thread and runtime on 127.0.0.1:<free port> and stops when the
//! [`FakeDittofs`] is dropped.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The one failure the fake shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// The share is created (201) but never loads: its status stays `unknown`.
    ShareFailsToLoad,
    /// `PUT /api/v1/adapters/{0}` answers 200 but the adapter's listener does not start.
    AdapterFailsToRestart(&'static str),
    /// `POST {0}` answers 400 with the problem `detail` {1}.
    BadRequest(&'static str, &'static str),
}

/// One request as the fake saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedCall {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body: Option<Value>,
}

struct Inner {
    fault: Fault,
    admin_password: String,
    /// Paths created by a POST (`/api/v1/store/metadata/meta`, `/api/v1/shares/export`, ...).
    created: BTreeSet<String>,
    /// (type, enabled, running, port) of the first-boot adapters (nfs 12049, smb 1445).
    adapters: Vec<(String, bool, bool, u64)>,
    calls: Vec<RecordedCall>,
}

type Shared = Arc<Mutex<Inner>>;

/// A running fake control plane; dropping it stops the server.
pub struct FakeDittofs {
    addr: SocketAddr,
    shared: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

const TOKEN: &str = "fake-dittofs-access-token";

impl FakeDittofs {
    /// Starts with user `admin`/`admin_password` and `fault`; returns once listening.
    pub async fn start(admin_password: &str, fault: Fault) -> FakeDittofs {
        let shared: Shared = Arc::new(Mutex::new(Inner {
            fault,
            admin_password: admin_password.to_string(),
            created: BTreeSet::new(),
            adapters: vec![("nfs".into(), true, true, 12049), ("smb".into(), true, true, 1445)],
            calls: Vec::new(),
        }));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new().fallback(handle).with_state(shared.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("fake dittofs runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("fake dittofs: bind");
                let _ = addr_tx.send(listener.local_addr().expect("local_addr"));
                let _ = axum::serve(listener, app).with_graceful_shutdown(async move { let _ = stop_rx.await; }).await;
            });
        });
        let addr = addr_rx.await.expect("fake dittofs: server thread died before listening");
        FakeDittofs { addr, shared, stop: Some(stop_tx) }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.lock().unwrap().calls.clone()
    }
}

impl Drop for FakeDittofs {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({"type": "about:blank", "title": title, "status": status.as_u16(), "detail": detail});
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

async fn handle(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let mut inner = shared.lock().unwrap();
    let response = route(&mut inner, &method, &path, &headers, parsed.as_ref());
    inner.calls.push(RecordedCall { method: method.to_string(), path, status: response.status().as_u16(), body: parsed });
    response
}

fn route(inner: &mut Inner, method: &Method, path: &str, headers: &HeaderMap, body: Option<&Value>) -> Response {
    if path == "/api/v1/auth/login" && method == Method::POST {
        let ok = body.is_some_and(|b| b["username"] == "admin" && b["password"] == inner.admin_password.as_str());
        if !ok {
            return problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Invalid username or password");
        }
        return json_response(StatusCode::OK, json!({"access_token": TOKEN, "token_type": "Bearer", "user": {"username": "admin", "must_change_password": false}}));
    }
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
        // The auth middleware's plain-text answer.
        return (StatusCode::UNAUTHORIZED, "Invalid or expired token\n").into_response();
    }
    if let Fault::BadRequest(p, detail) = inner.fault
        && method == Method::POST
        && path == p
    {
        return problem(StatusCode::BAD_REQUEST, "Bad Request", detail);
    }
    let collections = ["/api/v1/store/metadata", "/api/v1/store/block/local", "/api/v1/store/block/remote", "/api/v1/shares"];
    if method == Method::POST && collections.contains(&path) {
        let name = body.and_then(|b| b["name"].as_str()).unwrap_or("").trim_start_matches('/').to_string();
        let key = format!("{path}/{name}");
        if !inner.created.insert(key) {
            return problem(StatusCode::CONFLICT, "Conflict", "already exists");
        }
        return json_response(StatusCode::CREATED, json!({"name": name}));
    }
    if method == Method::GET && path.starts_with("/api/v1/store/block/remote/") && path.ends_with("/status") {
        return json_response(StatusCode::OK, json!({"status": "healthy", "message": "S3 bucket accessible: bench (region: us-east-1)"}));
    }
    if method == Method::GET && path.starts_with("/api/v1/shares/") && path.ends_with("/status") {
        let share = path.trim_start_matches("/api/v1/shares/").trim_end_matches("/status");
        if !inner.created.contains(&format!("/api/v1/shares/{share}")) {
            return problem(StatusCode::NOT_FOUND, "Not Found", "Share not found");
        }
        return match inner.fault {
            Fault::ShareFailsToLoad => json_response(StatusCode::OK, json!({"status": "unknown", "message": format!("share not found: share /{share} not found")})),
            _ => json_response(StatusCode::OK, json!({"status": "healthy"})),
        };
    }
    if method == Method::GET && collections.iter().any(|c| path.starts_with(&format!("{c}/"))) {
        return if inner.created.contains(path) { json_response(StatusCode::OK, json!({})) } else { problem(StatusCode::NOT_FOUND, "Not Found", "not found") };
    }
    if method == Method::PATCH && path.starts_with("/api/v1/shares/") && path.ends_with("/adapters/nfs/config") {
        return json_response(StatusCode::OK, json!({"squash": body.and_then(|b| b.get("squash")).cloned()}));
    }
    if method == Method::GET && path == "/api/v1/adapters" {
        let list: Vec<Value> = inner.adapters.iter().map(|(t, e, r, p)| json!({"type": t, "enabled": e, "running": r, "port": p})).collect();
        return json_response(StatusCode::OK, Value::Array(list));
    }
    if method == Method::PUT && path.starts_with("/api/v1/adapters/") {
        let kind = path.trim_start_matches("/api/v1/adapters/").to_string();
        let fails = matches!(inner.fault, Fault::AdapterFailsToRestart(k) if k == kind);
        let Some(a) = inner.adapters.iter_mut().find(|a| a.0 == kind) else {
            return problem(StatusCode::NOT_FOUND, "Not Found", "Adapter not found");
        };
        if let Some(e) = body.and_then(|b| b["enabled"].as_bool()) {
            a.1 = e;
        }
        if let Some(p) = body.and_then(|b| b["port"].as_u64()) {
            a.3 = p;
        }
        a.2 = a.1 && !fails;
        let a = a.clone();
        return json_response(StatusCode::OK, json!({"type": a.0, "enabled": a.1, "running": a.2, "port": a.3}));
    }
    problem(StatusCode::NOT_FOUND, "Not Found", &format!("no route {method} {path} in the fake"))
}
