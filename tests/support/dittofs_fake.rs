//! In-process fake of the DittoFS **v0.29.0** control-plane REST API ("B" in
//! `shared/reference/dittofs.md`), for contract tests of the DittoFS plugin.
//!
//! Include it from an integration test with
//! `#[path = "support/dittofs_fake.rs"] mod dittofs_fake;`.
//!
//! The server runs on its own thread with its own Tokio runtime, so it works
//! from any test runtime flavour (and even from blocking code). It listens on
//! `127.0.0.1:<free port>` and stops when the [`FakeDittofs`] is dropped.
//!
//! Fidelity notes (all taken from the v0.29.0 handlers, see the reference):
//! - Handler errors are RFC 7807 `application/problem+json` bodies with
//!   `type` ("about:blank"), `title`, `status`, `detail`. v0.29.0's
//!   `Problem` struct *declares* `code`/`hint`, but `WriteProblem` never sets
//!   them and they are `omitempty`, so the real server never sends them;
//!   neither does this fake. Clients must key on the HTTP status.
//! - Auth middleware failures are plain text (`http.Error`), with a trailing
//!   newline: "Authorization header required", "Invalid or expired token",
//!   "Admin access required".
//! - Store `config` in requests must be a JSON-encoded *string*; responses
//!   carry it as an object, with secret-looking keys redacted to "********".
//! - Badger metadata stores hold a directory lock from the moment the create
//!   handler instantiates them (before the duplicate-name check), and the lock
//!   is never released while the server runs (not on 409, not on DELETE). So a
//!   second POST for a badger path that any earlier POST opened fails with
//!   **400**, not 409.
//! - Share create returns 201 with the share's store *ids* (UUIDs) in
//!   `metadata_store_id` / `local_block_store_id` / `remote_block_store_id`.
//! - Adapter POST responses carry `running: false` (the real handler never
//!   fills it on create); GET/PUT/list report `running == enabled`.
#![allow(dead_code, clippy::result_large_err)]

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::{Map, Value, json};

/// Request bodies above this size get 413 (`maxRequestBodyBytes` in v0.29.0).
const MAX_BODY: usize = 1 << 20;
/// Default access-token lifetime at v0.29.0 (15 minutes).
const ACCESS_TOKEN_SECS: u64 = 15 * 60;

/// One request as the fake saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedCall {
    pub method: String,
    /// The URI path as sent (still percent-encoded), without the query.
    pub path: String,
    pub status: u16,
    /// The request body parsed as JSON; `None` when empty or not JSON.
    pub body: Option<serde_json::Value>,
    /// Whether the request carried `Authorization: Bearer <valid access token>`.
    pub authorized: bool,
}

/// A running fake DittoFS control plane. Dropping it stops the server.
pub struct FakeDittofs {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeDittofs {
    /// Starts on 127.0.0.1:0 (a free port) with user `admin` / `admin_password`
    /// (as if `DITTOFS_ADMIN_INITIAL_PASSWORD` was set, so
    /// `must_change_password` is false) and the first-boot adapters
    /// (nfs 12049, smb 1445, both enabled). Returns once listening.
    pub async fn start(admin_password: &str) -> FakeDittofs {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::new(admin_password)),
        });
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = router(shared.clone());
        std::thread::Builder::new()
            .name("fake-dittofs".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("fake dittofs: build runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("fake dittofs: bind 127.0.0.1:0");
                    let addr = listener.local_addr().expect("fake dittofs: local_addr");
                    let _ = addr_tx.send(addr);
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stop_rx.await;
                        })
                        .await;
                });
            })
            .expect("fake dittofs: spawn thread");
        let addr = addr_rx
            .await
            .expect("fake dittofs: server thread died before listening");
        FakeDittofs {
            addr,
            shared,
            stop: Some(stop_tx),
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Every request so far, in the order the responses were produced.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.lock().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.shared.lock().calls.clear();
    }

    /// Snapshot of the server state:
    /// `{"metadata_stores":{name:{id,type,config}}, "local_block_stores":{..},
    ///   "remote_block_stores":{..}, "shares":{"/export":{..request body..}},
    ///   "share_nfs_configs":{"/export":{..}}, "share_permissions":{"/export":{"users":{u:level}}},
    ///   "adapters":{type:{enabled,port,running,config}}, "users":{name:{..}},
    ///   "badger_locked_paths":[..]}`.
    ///
    /// Store `config` is the object decoded from the JSON string the client
    /// sent (unredacted; `{}` when none). A share entry is the request body
    /// as sent, with `name` normalised to one leading `/` and
    /// `default_permission` set to the effective value (`"none"` if omitted).
    pub fn state(&self) -> serde_json::Value {
        self.shared.lock().snapshot()
    }

    /// Make `/health/ready` return 503 for the next `n` requests to it.
    pub fn set_not_ready_for(&self, n: usize) {
        self.shared.lock().not_ready_remaining = n;
    }
}

impl Drop for FakeDittofs {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

struct Shared {
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Clone)]
struct User {
    id: String,
    username: String,
    password: String,
    role: String,
    display_name: String,
    email: String,
    uid: Option<u32>,
    gid: Option<u32>,
    groups: Vec<String>,
    enabled: bool,
    must_change_password: bool,
    created_at: String,
    last_login: Option<String>,
}

#[derive(Clone)]
struct TokenInfo {
    username: String,
    role: String,
    must_change_password: bool,
}

#[derive(Clone)]
struct StoreCfg {
    id: String,
    name: String,
    /// "local" / "remote" for block stores, None for metadata stores.
    kind: Option<&'static str>,
    typ: String,
    /// The raw JSON string the client sent.
    config_raw: String,
    /// Its decoded form (None when the string was empty).
    config: Option<Value>,
    created_at: String,
}

#[derive(Clone)]
struct Share {
    id: String,
    name: String,
    body: Map<String, Value>,
    metadata_store_id: String,
    local_block_store_id: String,
    remote_block_store_id: Option<String>,
    read_only: bool,
    encrypt_data: bool,
    enabled: bool,
    default_permission: String,
    retention_policy: String,
    blocked_operations: Vec<String>,
    owner_uid: Option<u32>,
    created_at: String,
    updated_at: String,
    nfs: Map<String, Value>,
    user_perms: BTreeMap<String, String>,
}

#[derive(Clone)]
struct Adapter {
    id: String,
    typ: String,
    enabled: bool,
    port: i64,
    config: Map<String, Value>,
    created_at: String,
    updated_at: String,
}

struct Inner {
    started: SystemTime,
    rs: RandomState,
    counter: u64,
    users: BTreeMap<String, User>,
    access_tokens: BTreeMap<String, TokenInfo>,
    refresh_tokens: BTreeMap<String, String>,
    metadata: BTreeMap<String, StoreCfg>,
    local: BTreeMap<String, StoreCfg>,
    remote: BTreeMap<String, StoreCfg>,
    badger_locks: BTreeSet<String>,
    shares: BTreeMap<String, Share>,
    adapters: BTreeMap<String, Adapter>,
    calls: Vec<RecordedCall>,
    not_ready_remaining: usize,
}

impl Inner {
    fn new(admin_password: &str) -> Inner {
        let mut inner = Inner {
            started: SystemTime::now(),
            rs: RandomState::new(),
            counter: 0,
            users: BTreeMap::new(),
            access_tokens: BTreeMap::new(),
            refresh_tokens: BTreeMap::new(),
            metadata: BTreeMap::new(),
            local: BTreeMap::new(),
            remote: BTreeMap::new(),
            badger_locks: BTreeSet::new(),
            shares: BTreeMap::new(),
            adapters: BTreeMap::new(),
            calls: Vec::new(),
            not_ready_remaining: 0,
        };
        let now = now_rfc3339();
        let admin = User {
            id: inner.uuid(),
            username: "admin".into(),
            password: admin_password.into(),
            role: "admin".into(),
            display_name: "Administrator".into(),
            email: String::new(),
            uid: Some(0),
            gid: None,
            groups: vec!["admins".into()],
            enabled: true,
            must_change_password: false,
            created_at: now.clone(),
            last_login: None,
        };
        inner.users.insert("admin".into(), admin);
        for (typ, port) in [("nfs", 12049), ("smb", 1445)] {
            let id = inner.uuid();
            inner.adapters.insert(
                typ.into(),
                Adapter {
                    id,
                    typ: typ.into(),
                    enabled: true,
                    port,
                    config: Map::new(),
                    created_at: now.clone(),
                    updated_at: now.clone(),
                },
            );
        }
        inner
    }

    fn rand_u64(&mut self) -> u64 {
        self.counter += 1;
        let mut h = self.rs.build_hasher();
        h.write_u64(self.counter);
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        h.finish()
    }

    fn uuid(&mut self) -> String {
        let a = self.rand_u64();
        let b = self.rand_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    fn token(&mut self, prefix: &str) -> String {
        let a = self.rand_u64();
        let b = self.rand_u64();
        format!("{prefix}.{a:016x}{b:016x}")
    }

    /// Issues a token pair and returns the login-shaped response body.
    fn token_pair(&mut self, username: &str) -> Value {
        let user = self
            .users
            .get(username)
            .cloned()
            .expect("token_pair: user exists");
        let access = self.token("fake-access");
        let refresh = self.token("fake-refresh");
        self.access_tokens.insert(
            access.clone(),
            TokenInfo {
                username: user.username.clone(),
                role: user.role.clone(),
                must_change_password: user.must_change_password,
            },
        );
        self.refresh_tokens
            .insert(refresh.clone(), user.username.clone());
        let expires_at = fmt_time(
            SystemTime::now() + Duration::from_secs(ACCESS_TOKEN_SECS),
            true,
        );
        json!({
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECS,
            "expires_at": expires_at,
            "user": user_json(&user),
        })
    }

    fn find_metadata(&self, reference: &str) -> Option<&StoreCfg> {
        self.metadata
            .get(reference)
            .or_else(|| self.metadata.values().find(|s| s.id == reference))
    }

    fn block_map(&self, kind: &str) -> &BTreeMap<String, StoreCfg> {
        if kind == "local" {
            &self.local
        } else {
            &self.remote
        }
    }

    fn block_map_mut(&mut self, kind: &str) -> &mut BTreeMap<String, StoreCfg> {
        if kind == "local" {
            &mut self.local
        } else {
            &mut self.remote
        }
    }

    /// `resolveBlockStoreRef`: name within the kind, else UUID of any kind.
    fn resolve_block(&self, reference: &str, kind: &str) -> Result<&StoreCfg, &'static str> {
        if let Some(s) = self.block_map(kind).get(reference) {
            return Ok(s);
        }
        let found = self
            .local
            .values()
            .chain(self.remote.values())
            .find(|s| s.id == reference);
        match found {
            None => Err("not found"),
            Some(s) if s.kind != Some(if kind == "local" { "local" } else { "remote" }) => {
                Err("wrong kind")
            }
            Some(s) => Ok(s),
        }
    }

    fn snapshot(&self) -> Value {
        let stores = |m: &BTreeMap<String, StoreCfg>| -> Value {
            let mut out = Map::new();
            for (name, s) in m {
                out.insert(
                    name.clone(),
                    json!({"id": s.id, "type": s.typ, "config": Value::Object(cfg_map(&s.config))}),
                );
            }
            Value::Object(out)
        };
        let mut shares = Map::new();
        let mut nfs = Map::new();
        let mut perms = Map::new();
        for (name, s) in &self.shares {
            shares.insert(name.clone(), Value::Object(s.body.clone()));
            nfs.insert(name.clone(), Value::Object(s.nfs.clone()));
            perms.insert(name.clone(), json!({"users": s.user_perms}));
        }
        let mut adapters = Map::new();
        for (typ, a) in &self.adapters {
            adapters.insert(
                typ.clone(),
                json!({"enabled": a.enabled, "port": a.port, "running": a.enabled, "config": a.config}),
            );
        }
        let mut users = Map::new();
        for (name, u) in &self.users {
            users.insert(
                name.clone(),
                json!({"role": u.role, "uid": u.uid, "gid": u.gid, "enabled": u.enabled,
                       "must_change_password": u.must_change_password, "groups": u.groups}),
            );
        }
        json!({
            "metadata_stores": stores(&self.metadata),
            "local_block_stores": stores(&self.local),
            "remote_block_stores": stores(&self.remote),
            "shares": shares,
            "share_nfs_configs": nfs,
            "share_permissions": perms,
            "adapters": adapters,
            "users": users,
            "badger_locked_paths": self.badger_locks.iter().collect::<Vec<_>>(),
        })
    }
}

// ---------------------------------------------------------------------------
// Router and middleware
// ---------------------------------------------------------------------------

type Sh = Arc<Shared>;

/// What the recorder learnt about the request; handlers read it as an extension.
#[derive(Clone)]
struct Ctx {
    body: Bytes,
    too_large: bool,
    auth: AuthState,
}

#[derive(Clone)]
enum AuthState {
    /// No `Authorization: Bearer <x>` header.
    Missing,
    /// A Bearer header whose token is not a live access token.
    Invalid,
    Valid(TokenInfo),
}

fn router(shared: Sh) -> Router {
    let public = Router::new()
        .route("/", get(root_redirect))
        .route("/health", get(liveness))
        .route("/health/", get(liveness))
        .route("/health/ready", get(readiness))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/login/", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/refresh/", post(refresh));

    let protected = Router::new()
        .route("/api/v1/auth/me", get(me))
        .route("/api/v1/users/me/password", post(change_own_password))
        .route("/api/v1/users/me/password/", post(change_own_password))
        // users
        .route("/api/v1/users", post(user_create).get(user_list))
        .route("/api/v1/users/", post(user_create).get(user_list))
        .route(
            "/api/v1/users/{username}",
            get(user_get).delete(user_delete),
        )
        // metadata stores
        .route("/api/v1/store/metadata", post(meta_create).get(meta_list))
        .route("/api/v1/store/metadata/", post(meta_create).get(meta_list))
        .route(
            "/api/v1/store/metadata/{name}",
            get(meta_get).put(meta_update).delete(meta_delete),
        )
        .route("/api/v1/store/metadata/{name}/status", get(meta_status))
        .route("/api/v1/store/metadata/{name}/health", get(meta_health))
        // block stores
        .route(
            "/api/v1/store/block/{kind}",
            post(block_create).get(block_list),
        )
        .route(
            "/api/v1/store/block/{kind}/",
            post(block_create).get(block_list),
        )
        .route(
            "/api/v1/store/block/{kind}/{name}",
            get(block_get).put(block_update).delete(block_delete),
        )
        .route(
            "/api/v1/store/block/{kind}/{name}/status",
            get(block_status),
        )
        .route(
            "/api/v1/store/block/{kind}/{name}/health",
            get(block_health),
        )
        // shares
        .route("/api/v1/shares", post(share_create).get(share_list))
        .route("/api/v1/shares/", post(share_create).get(share_list))
        .route(
            "/api/v1/shares/{name}",
            get(share_get).put(share_update).delete(share_delete),
        )
        .route("/api/v1/shares/{name}/status", get(share_status))
        .route(
            "/api/v1/shares/{name}/adapters/nfs/config",
            get(share_nfs_get).patch(share_nfs_patch),
        )
        .route(
            "/api/v1/shares/{name}/adapters/nfs/config/",
            get(share_nfs_get).patch(share_nfs_patch),
        )
        .route("/api/v1/shares/{name}/permissions", get(share_perm_list))
        .route(
            "/api/v1/shares/{name}/permissions/users/{username}",
            axum::routing::put(share_perm_set).delete(share_perm_remove),
        )
        // adapters
        .route("/api/v1/adapters", get(adapter_list).post(adapter_create))
        .route("/api/v1/adapters/", get(adapter_list).post(adapter_create))
        .route("/api/v1/adapters/ports", get(adapter_ports))
        .route(
            "/api/v1/adapters/{type}",
            get(adapter_get).put(adapter_update).delete(adapter_delete),
        )
        .route(
            "/api/v1/adapters/{type}/",
            get(adapter_get).put(adapter_update).delete(adapter_delete),
        )
        .route("/api/v1/adapters/{type}/status", get(adapter_status))
        .route_layer(middleware::from_fn(require_auth));

    public
        .merge(protected)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

/// Outermost layer: buffers the body (1 MiB cap), resolves the bearer token,
/// runs the request and records it.
async fn record(State(sh): State<Sh>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let (bytes, too_large) = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => (b, false),
        Err(_) => (Bytes::new(), true),
    };
    let auth = {
        let inner = sh.lock();
        match bearer_token(&parts.headers) {
            None => AuthState::Missing,
            Some(tok) => match inner.access_tokens.get(&tok) {
                Some(info) => AuthState::Valid(info.clone()),
                None => AuthState::Invalid,
            },
        }
    };
    let authorized = matches!(auth, AuthState::Valid(_));
    let parsed = if bytes.is_empty() {
        None
    } else {
        serde_json::from_slice::<Value>(&bytes).ok()
    };
    parts.extensions.insert(Ctx {
        body: bytes.clone(),
        too_large,
        auth,
    });
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    sh.lock().calls.push(RecordedCall {
        method,
        path,
        status: resp.status().as_u16(),
        body: parsed,
        authorized,
    });
    resp
}

/// `extractBearerToken`: "Bearer" (any case), one space, the token.
fn bearer_token(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if value.is_empty() {
        return None;
    }
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return None;
    }
    Some(token.to_string())
}

/// JWTAuth + RequirePasswordChange + RequireAdmin/RequireRole, per route group
/// as in v0.29.0's `pkg/controlplane/api/router.go`.
async fn require_auth(req: Request, next: Next) -> Response {
    let ctx = req.extensions().get::<Ctx>().cloned();
    let info = match ctx.map(|c| c.auth) {
        Some(AuthState::Valid(info)) => info,
        Some(AuthState::Invalid) => return plain(401, "Invalid or expired token"),
        _ => return plain(401, "Authorization header required"),
    };
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    // /auth/me and /users/me/password are JWTAuth only.
    if matched.starts_with("/api/v1/auth/me") || matched.starts_with("/api/v1/users/me/password") {
        return next.run(req).await;
    }
    if info.must_change_password {
        let u = &info.username;
        return plain(
            403,
            &format!(
                "account {u:?} must set a new password before performing other operations; \
                 run 'dfsctl user change-password' (as {u:?}) to set one"
            ),
        );
    }
    let is_get = req.method() == Method::GET;
    match matched.as_str() {
        "/api/v1/adapters/ports" => {}
        "/api/v1/users/{username}" if is_get => {} // handler checks self-or-admin
        "/api/v1/adapters" | "/api/v1/adapters/" if is_get => {
            if info.role != "admin" && info.role != "operator" {
                return plain(403, "Insufficient permissions");
            }
        }
        _ => {
            if info.role != "admin" {
                return plain(403, "Admin access required");
            }
        }
    }
    next.run(req).await
}

async fn not_found() -> Response {
    plain(404, "404 page not found")
}

// ---------------------------------------------------------------------------
// Response helpers
// ---------------------------------------------------------------------------

fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        422 => "Unprocessable Entity",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

fn with_body(status: u16, content_type: &str, body: Vec<u8>) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("valid response")
}

/// `WriteJSON`: `application/json`, JSON + newline (Go's json.Encoder).
fn json_resp(status: u16, v: Value) -> Response {
    let mut body = serde_json::to_vec(&v).expect("serialisable");
    body.push(b'\n');
    with_body(status, "application/json", body)
}

/// `WriteProblem`: RFC 7807 body. No `code`/`hint` (never set at v0.29.0).
fn problem(status: u16, detail: &str) -> Response {
    let mut body = serde_json::to_vec(&json!({
        "type": "about:blank",
        "title": status_text(status),
        "status": status,
        "detail": detail,
    }))
    .expect("serialisable");
    body.push(b'\n');
    with_body(status, "application/problem+json", body)
}

/// Go's `http.Error`: plain text plus newline, nosniff.
fn plain(status: u16, msg: &str) -> Response {
    let mut resp = with_body(
        status,
        "text/plain; charset=utf-8",
        format!("{msg}\n").into_bytes(),
    );
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    resp
}

fn no_content() -> Response {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .expect("valid response")
}

fn healthy_report() -> Value {
    json!({"status": "healthy", "checked_at": now_rfc3339()})
}

// ---------------------------------------------------------------------------
// Request decoding with Go encoding/json semantics
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum K {
    Str,
    Bool,
    Int,
    U32,
    Obj,
    StrArr,
}

/// A decoded request: only the schema's fields, keyed canonically, nulls dropped.
struct Req(Map<String, Value>);

impl Req {
    fn s(&self, key: &str) -> String {
        self.0
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }
    fn opt_s(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(Value::as_str).map(str::to_string)
    }
    fn b(&self, key: &str) -> Option<bool> {
        self.0.get(key).and_then(Value::as_bool)
    }
    fn i(&self, key: &str) -> Option<i64> {
        self.0.get(key).and_then(Value::as_i64)
    }
    fn obj(&self, key: &str) -> Option<Map<String, Value>> {
        self.0.get(key).and_then(Value::as_object).cloned()
    }
    fn strs(&self, key: &str) -> Option<Vec<String>> {
        self.0.get(key).and_then(Value::as_array).map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
    }
    fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
}

fn invalid_body() -> Response {
    problem(400, "Invalid request body")
}

/// `decodeJSONBody` into a Go struct: 413 over 1 MiB; 400 "Invalid request
/// body" when the body is empty, not a JSON object, or a known field has the
/// wrong JSON type (e.g. a store `config` sent as an object instead of a
/// string). Unknown fields are ignored; field names match case-insensitively;
/// only the first JSON value is read (trailing data is ignored, like Go).
fn decode(ctx: &Ctx, schema: &[(&str, K)]) -> Result<Req, Response> {
    if ctx.too_large {
        return Err(problem(413, "request body exceeds the 1 MiB limit"));
    }
    let first = serde_json::Deserializer::from_slice(&ctx.body)
        .into_iter::<Value>()
        .next();
    let value = match first {
        Some(Ok(v)) => v,
        _ => return Err(invalid_body()),
    };
    let obj = match value {
        Value::Object(o) => o,
        Value::Null => Map::new(),
        _ => return Err(invalid_body()),
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let Some(&(key, kind)) = schema
            .iter()
            .find(|(key, _)| *key == k)
            .or_else(|| schema.iter().find(|(key, _)| key.eq_ignore_ascii_case(&k)))
        else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        let ok = match kind {
            K::Str => v.is_string(),
            K::Bool => v.is_boolean(),
            K::Int => v.as_i64().is_some(),
            K::U32 => v.as_u64().is_some_and(|n| n <= u32::MAX as u64),
            K::Obj => v.is_object(),
            K::StrArr => v
                .as_array()
                .is_some_and(|a| a.iter().all(|e| e.is_string() || e.is_null())),
        };
        if !ok {
            return Err(invalid_body());
        }
        out.insert(key.to_string(), v);
    }
    Ok(Req(out))
}

/// `GetConfig()` on a stored config string: "" → empty map; otherwise it
/// must decode into `map[string]any` (JSON `null` gives a nil map).
fn parse_config_string(raw: &str) -> Result<Option<Value>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(v @ (Value::Object(_) | Value::Null)) => Ok(Some(v)),
        Ok(other) => Err(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            match other {
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Number(_) => "number",
                _ => "bool",
            }
        )),
        Err(e) => Err(e.to_string()),
    }
}

fn cfg_map(cfg: &Option<Value>) -> Map<String, Value> {
    cfg.as_ref()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn cfg_str<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

fn nonempty_cfg_str(m: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| cfg_str(m, k).filter(|s| !s.is_empty()))
        .map(str::to_string)
}

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("secret") || k.contains("password") || k.ends_with("_key")
}

/// `redactSecretJSON`: secret-looking keys become "********", recursively.
fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    if is_secret_key(k) {
                        (k.clone(), Value::String("********".into()))
                    } else {
                        (k.clone(), redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// `mergeRedactedSecrets`: "********" in an update is replaced by the stored value.
fn restore_redacted(old: &Value, new: &mut Value) {
    if let (Value::Object(o), Value::Object(n)) = (old, new) {
        for (k, nv) in n.iter_mut() {
            let Some(ov) = o.get(k) else { continue };
            if nv.as_str() == Some("********") {
                *nv = ov.clone();
            } else {
                restore_redacted(ov, nv);
            }
        }
    }
}

fn store_json(s: &StoreCfg, with_status: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(s.id));
    m.insert("name".into(), json!(s.name));
    if let Some(kind) = s.kind {
        m.insert("kind".into(), json!(kind));
    }
    m.insert("type".into(), json!(s.typ));
    if let Some(cfg) = &s.config {
        m.insert("config".into(), redact(cfg));
    }
    m.insert("created_at".into(), json!(s.created_at));
    if with_status {
        m.insert("status".into(), healthy_report());
    }
    Value::Object(m)
}

fn user_json(u: &User) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(u.id));
    m.insert("username".into(), json!(u.username));
    if !u.display_name.is_empty() {
        m.insert("display_name".into(), json!(u.display_name));
    }
    if !u.email.is_empty() {
        m.insert("email".into(), json!(u.email));
    }
    m.insert("role".into(), json!(u.role));
    if let Some(uid) = u.uid {
        m.insert("uid".into(), json!(uid));
    }
    if let Some(gid) = u.gid {
        m.insert("gid".into(), json!(gid));
    }
    if !u.groups.is_empty() {
        m.insert("groups".into(), json!(u.groups));
    }
    m.insert("enabled".into(), json!(u.enabled));
    m.insert("must_change_password".into(), json!(u.must_change_password));
    m.insert("created_at".into(), json!(u.created_at));
    if let Some(ll) = &u.last_login {
        m.insert("last_login".into(), json!(ll));
    }
    Value::Object(m)
}

// ---------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------

async fn root_redirect() -> Response {
    Response::builder()
        .status(StatusCode::TEMPORARY_REDIRECT)
        .header(header::LOCATION, "/health")
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::from(
            "<a href=\"/health\">Temporary Redirect</a>.\n\n",
        ))
        .expect("valid response")
}

async fn liveness(State(sh): State<Sh>) -> Response {
    let started = sh.lock().started;
    let uptime = SystemTime::now()
        .duration_since(started)
        .unwrap_or_default();
    json_resp(
        200,
        json!({
            "status": "healthy",
            "timestamp": now_rfc3339(),
            "data": {
                "service": "dittofs",
                "started_at": fmt_time(started, false),
                "uptime": go_duration_secs(uptime.as_secs_f64().round() as u64),
                "uptime_sec": uptime.as_secs(),
                "control_plane_db": "reachable",
            }
        }),
    )
}

async fn readiness(State(sh): State<Sh>) -> Response {
    let mut inner = sh.lock();
    if inner.not_ready_remaining > 0 {
        inner.not_ready_remaining -= 1;
        return json_resp(
            503,
            json!({"status": "unhealthy", "timestamp": now_rfc3339(), "error": "registry not initialized"}),
        );
    }
    let running: Vec<String> = inner
        .adapters
        .values()
        .filter(|a| a.enabled)
        .map(|a| a.typ.clone())
        .collect();
    json_resp(
        200,
        json!({
            "status": "healthy",
            "timestamp": now_rfc3339(),
            "data": {
                "shares": inner.shares.len(),
                "metadata_stores": inner.metadata.len(),
                "adapters": {"running": running.len(), "types": running},
            }
        }),
    )
}

// ---------------------------------------------------------------------------
// Auth and users
// ---------------------------------------------------------------------------

async fn login(State(sh): State<Sh>, Extension(ctx): Extension<Ctx>) -> Response {
    let req = match decode(&ctx, &[("username", K::Str), ("password", K::Str)]) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let (username, password) = (req.s("username"), req.s("password"));
    if username.is_empty() || password.is_empty() {
        return problem(400, "Username and password are required");
    }
    let mut inner = sh.lock();
    let Some(user) = inner.users.get_mut(&username) else {
        return problem(401, "Invalid username or password");
    };
    if user.password != password {
        return problem(401, "Invalid username or password");
    }
    if !user.enabled {
        return problem(403, "User account is disabled");
    }
    user.last_login = Some(now_rfc3339());
    let body = inner.token_pair(&username);
    json_resp(200, body)
}

async fn refresh(State(sh): State<Sh>, Extension(ctx): Extension<Ctx>) -> Response {
    let req = match decode(&ctx, &[("refresh_token", K::Str)]) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let token = req.s("refresh_token");
    if token.is_empty() {
        return problem(400, "Refresh token is required");
    }
    let mut inner = sh.lock();
    let Some(username) = inner.refresh_tokens.get(&token).cloned() else {
        return problem(401, "Invalid refresh token");
    };
    match inner.users.get(&username) {
        None => return problem(401, "User not found"),
        Some(u) if !u.enabled => return problem(403, "User account is disabled"),
        Some(_) => {}
    }
    let body = inner.token_pair(&username);
    json_resp(200, body)
}

fn claims(ctx: &Ctx) -> Option<TokenInfo> {
    match &ctx.auth {
        AuthState::Valid(info) => Some(info.clone()),
        _ => None,
    }
}

async fn me(State(sh): State<Sh>, Extension(ctx): Extension<Ctx>) -> Response {
    let Some(info) = claims(&ctx) else {
        return problem(401, "Authentication required");
    };
    match sh.lock().users.get(&info.username) {
        Some(u) => json_resp(200, user_json(u)),
        None => problem(401, "User not found"),
    }
}

async fn change_own_password(State(sh): State<Sh>, Extension(ctx): Extension<Ctx>) -> Response {
    let Some(info) = claims(&ctx) else {
        return problem(401, "Authentication required");
    };
    let req = match decode(
        &ctx,
        &[("current_password", K::Str), ("new_password", K::Str)],
    ) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let new_password = req.s("new_password");
    if new_password.is_empty() {
        return problem(400, "New password is required");
    }
    let mut inner = sh.lock();
    let Some(user) = inner.users.get_mut(&info.username) else {
        return problem(401, "User not found");
    };
    if !user.must_change_password {
        let current = req.s("current_password");
        if current.is_empty() {
            return problem(400, "Current password is required");
        }
        if current != user.password {
            return problem(401, "Current password is incorrect");
        }
    }
    user.password = new_password;
    user.must_change_password = false;
    let body = inner.token_pair(&info.username);
    json_resp(200, body)
}

async fn user_create(State(sh): State<Sh>, Extension(ctx): Extension<Ctx>) -> Response {
    let req = match decode(
        &ctx,
        &[
            ("username", K::Str),
            ("password", K::Str),
            ("email", K::Str),
            ("display_name", K::Str),
            ("role", K::Str),
            ("uid", K::U32),
            ("gid", K::U32),
            ("groups", K::StrArr),
            ("enabled", K::Bool),
            ("share_permissions", K::Obj),
        ],
    ) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let username = req.s("username");
    if username.is_empty() {
        return problem(400, "Username is required");
    }
    let password = req.s("password");
    if password.is_empty() {
        return problem(400, "Password is required");
    }
    let role = req
        .opt_s("role")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "user".into());
    if !["user", "admin", "operator"].contains(&role.as_str()) {
        return problem(400, "Invalid role. Must be 'user', 'admin', or 'operator'");
    }
    let mut inner = sh.lock();
    if inner.users.contains_key(&username) {
        return problem(409, "User already exists");
    }
    let user = User {
        id: inner.uuid(),
        username: username.clone(),
        password,
        must_change_password: role == "admin",
        role,
        display_name: req.s("display_name"),
        email: req.s("email"),
        uid: req.i("uid").map(|n| n as u32),
        gid: req.i("gid").map(|n| n as u32),
        groups: req.strs("groups").unwrap_or_default(),
        enabled: req.b("enabled").unwrap_or(true),
        created_at: now_rfc3339(),
        last_login: None,
    };
    let body = user_json(&user);
    inner.users.insert(username.clone(), user);
    if let Some(perms) = req.obj("share_permissions") {
        for (share, level) in perms {
            let key = normalize_share_name(&share);
            if let (Some(s), Some(level)) = (inner.shares.get_mut(&key), level.as_str()) {
                s.user_perms.insert(username.clone(), level.to_string());
            }
        }
    }
    json_resp(201, body)
}

async fn user_list(State(sh): State<Sh>) -> Response {
    let users: Vec<Value> = sh.lock().users.values().map(user_json).collect();
    json_resp(200, Value::Array(users))
}

async fn user_get(
    State(sh): State<Sh>,
    Extension(ctx): Extension<Ctx>,
    Path(username): Path<String>,
) -> Response {
    let info = claims(&ctx);
    let allowed = info
        .as_ref()
        .is_some_and(|i| i.role == "admin" || i.username == username);
    if !allowed {
        return problem(403, "Access denied");
    }
    match sh.lock().users.get(&username) {
        Some(u) => json_resp(200, user_json(u)),
        None => problem(404, "User not found"),
    }
}

async fn user_delete(State(sh): State<Sh>, Path(username): Path<String>) -> Response {
    match sh.lock().users.remove(&username) {
        Some(_) => no_content(),
        None => problem(404, "User not found"),
    }
}

// ---------------------------------------------------------------------------
// Metadata stores
// ---------------------------------------------------------------------------

fn clean_path(p: &str) -> String {
    let mut out = String::new();
    for part in p.split('/').filter(|s| !s.is_empty() && *s != ".") {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    if !p.starts_with('/') {
        out.remove(0);
    }
    out
}

fn negative_number(m: &Map<String, Value>, key: &str) -> Option<i64> {
    m.get(key)
        .and_then(Value::as_f64)
        .filter(|n| *n < 0.0)
        .map(|n| n as i64)
}

/// `CreateMetadataStoreFromConfig` without the I/O. Returns the badger lock
/// path to take, if any.
fn check_metadata_config(typ: &str, cfg: &Map<String, Value>) -> Result<Option<String>, String> {
    match typ {
        "memory" => Ok(None),
        "badger" => {
            let path = nonempty_cfg_str(cfg, &["path", "db_path"])
                .ok_or("badger metadata store requires path as string")?;
            for key in ["block_cache_mb", "index_cache_mb"] {
                if let Some(n) = negative_number(cfg, key) {
                    return Err(format!(
                        "badger metadata store {key} must be >= 0 (0 = auto), got {n}"
                    ));
                }
            }
            Ok(Some(clean_path(&path)))
        }
        "postgres" => {
            if cfg_str(cfg, "host").is_none() {
                return Err("postgres metadata store requires host".into());
            }
            if cfg_str(cfg, "database").is_none() && cfg_str(cfg, "dbname").is_none() {
                return Err("postgres metadata store requires database".into());
            }
            if cfg_str(cfg, "user").is_none() {
                return Err("postgres metadata store requires user".into());
            }
            if cfg_str(cfg, "password").is_none() {
                return Err("postgres metadata store requires password".into());
            }
            Ok(None)
        }
        "sqlite" => {
            nonempty_cfg_str(cfg, &["path", "db_path"])
                .ok_or("sqlite metadata store requires path as string")?;
            Ok(None)
        }
        other => Err(format!("unsupported metadata store type: {other}")),
    }
}

const STORE_SCHEMA: &[(&str, K)] = &[("name", K::Str), ("type", K::Str), ("config", K::Str)];

async fn meta_create(State(sh): State<Sh>, Extension(ctx): Extension<Ctx>) -> Response {
    let req = match decode(&ctx, STORE_SCHEMA) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let (name, typ, raw) = (req.s("name"), req.s("type"), req.s("config"));
    if name.is_empty() {
        return problem(400, "Store name is required");
    }
    if typ.is_empty() {
        return problem(400, "Store type is required");
    }
    let config = match parse_config_string(&raw) {
        Ok(c) => c,
        Err(e) => {
            return problem(
                400,
                &format!("Failed to create metadata store: failed to get config: {e}"),
            );
        }
    };
    let lock_path = match check_metadata_config(&typ, &cfg_map(&config)) {
        Ok(p) => p,
        Err(e) => return problem(400, &format!("Failed to create metadata store: {e}")),
    };
    let mut inner = sh.lock();
    // The store is instantiated (and a badger directory lock taken) before the
    // duplicate-name check, and never closed afterwards.
    if let Some(path) = lock_path
        && !inner.badger_locks.insert(path.clone())
    {
        return problem(
            400,
            &format!(
                "Failed to create metadata store: failed to open badger database: \
                 Cannot acquire directory lock on \"{path}\".  Another process is using \
                 this Badger DB.: resource temporarily unavailable"
            ),
        );
    }
    if inner.metadata.contains_key(&name) {
        return problem(409, "Metadata store already exists");
    }
    let store = StoreCfg {
        id: inner.uuid(),
        name: name.clone(),
        kind: None,
        typ,
        config_raw: raw,
        config,
        created_at: now_rfc3339(),
    };
    let body = store_json(&store, true);
    inner.metadata.insert(name, store);
    json_resp(201, body)
}

async fn meta_list(State(sh): State<Sh>) -> Response {
    let list: Vec<Value> = sh
        .lock()
        .metadata
        .values()
        .map(|s| store_json(s, true))
        .collect();
    json_resp(200, Value::Array(list))
}

async fn meta_get(State(sh): State<Sh>, Path(name): Path<String>) -> Response {
    match sh.lock().metadata.get(&name) {
        Some(s) => json_resp(200, store_json(s, true)),
        None => problem(404, "Metadata store not found"),
    }
}

async fn meta_status(State(sh): State<Sh>, Path(name): Path<String>) -> Response {
    match sh.lock().metadata.get(&name) {
        Some(_) => json_resp(200, healthy_report()),
        None => problem(404, "Metadata store not found"),
    }
}

async fn meta_health(State(sh): State<Sh>, Path(name): Path<String>) -> Response {
    match sh.lock().metadata.get(&name) {
        Some(_) => json_resp(
            200,
            json!({"healthy": true, "latency_ms": 0, "checked_at": fmt_time(SystemTime::now(), false)}),
        ),
        None => problem(404, "Metadata store not found"),
    }
}

async fn meta_update(
    State(sh): State<Sh>,
    Extension(ctx): Extension<Ctx>,
    Path(name): Path<String>,
) -> Response {
    let req = match decode(&ctx, &[("type", K::Str), ("config", K::Str)]) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let mut inner = sh.lock();
    let Some(store) = inner.metadata.get_mut(&name) else {
        return problem(404, "Metadata store not found");
    };
    // The real handler does not re-validate on update.
    if let Some(t) = req.opt_s("type") {
        store.typ = t;
    }
    if let Some(raw) = req.opt_s("config") {
        let mut new = parse_config_string(&raw).ok().flatten();
        if let (Some(old), Some(new)) = (&store.config, new.as_mut()) {
            restore_redacted(old, new);
        }
        store.config_raw = new.as_ref().map(Value::to_string).unwrap_or(raw);
        store.config = new;
    }
    json_resp(200, store_json(store, true))
}

async fn meta_delete(State(sh): State<Sh>, Path(name): Path<String>) -> Response {
    let mut inner = sh.lock();
    let Some(store) = inner.metadata.get(&name) else {
        return problem(404, "Metadata store not found");
    };
    if inner
        .shares
        .values()
        .any(|s| s.metadata_store_id == store.id)
    {
        return problem(
            409,
            "Cannot delete metadata store: it is in use by one or more shares",
        );
    }
    inner.metadata.remove(&name);
    no_content()
}

// ---------------------------------------------------------------------------
// Block stores
// ---------------------------------------------------------------------------

fn kind_of(kind: &str) -> Option<&'static str> {
    match kind {
        "local" => Some("local"),
        "remote" => Some("remote"),
        _ => None,
    }
}

fn bad_kind() -> Response {
    problem(400, "Invalid block store kind: must be 'local' or 'remote'")
}

fn type_valid_for_kind(kind: &str, typ: &str) -> bool {
    match kind {
        "local" => typ == "fs" || typ == "memory",
        _ => typ == "s3" || typ == "memory",
    }
}

/// `runtime.ValidateBlockStoreConfig` without touching the filesystem or DNS.
fn check_block_config(kind: &str, typ: &str, config: &Option<Value>) -> Result<(), String> {
    let cfg = cfg_map(config);
    match (kind, typ) {
        (_, "memory") => Ok(()),
        ("local", "fs") => {
            let path = match cfg.get("path") {
                None => return Err("fs local block store requires path in config".into()),
                Some(Value::String(p)) => p.clone(),
                Some(_) => return Err("fs local block store path must be a string".into()),
            };
            if path.is_empty() {
                return Err("fs local block store requires path in config".into());
            }
            // pathutil.ExpandPath turns "~" into $HOME, which is absolute.
            if !(path.starts_with('/') || path == "~" || path.starts_with("~/")) {
                return Err(format!(
                    "fs local block store path must be absolute, got {path:?}"
                ));
            }
            Ok(())
        }
        ("remote", "s3") => {
            for (key, msg) in [
                ("bucket", "s3 remote block store requires bucket in config"),
                (
                    "access_key_id",
                    "s3 remote block store requires access_key_id in config",
                ),
                (
                    "secret_access_key",
                    "s3 remote block store requires secret_access_key in config",
                ),
            ] {
                if cfg_str(&cfg, key).is_none_or(str::is_empty) {
                    return Err(msg.into());
                }
            }
            let endpoint = cfg_str(&cfg, "endpoint").unwrap_or_default();
            let allow_private =
                cfg.get("allow_private_endpoint").and_then(Value::as_bool) == Some(true);
            validate_endpoint(endpoint, allow_private)?;
            if let Some(c) = cfg.get("compression") {
                let Some(obj) = c.as_object() else {
                    return Err("compression: expected object".into());
                };
                match obj.get("algo") {
                    None => {}
                    Some(Value::String(a)) if a == "zstd" || a == "lz4" => {}
                    Some(Value::String(a)) => {
                        return Err(format!(
                            "compression.algo: unsupported value {a:?} (want zstd or lz4)"
                        ));
                    }
                    Some(_) => return Err("compression.algo: expected string".into()),
                }
            }
            Ok(())
        }
        (kind, typ) => Err(format!("unsupported {kind} block store type: {typ}")),
    }
}

/// `s3store.ValidateEndpoint`, with DNS replaced by a rule: a hostname with
/// no dot (docker service names such as `localstack`, `minio`, `localhost`)
/// or ending in .local/.localhost/.internal counts as private; dotted names
/// count as public. IP literals are classified as Go's netip would.
fn validate_endpoint(endpoint: &str, allow_private: bool) -> Result<(), String> {
    const UNSAFE: &str = "s3 block store: unsafe endpoint";
    if endpoint.is_empty() {
        return Ok(());
    }
    let normalized = match endpoint.find("://") {
        Some(i) if i > 0 && valid_scheme(&endpoint[..i]) => endpoint.to_string(),
        _ => format!("https://{endpoint}"),
    };
    let (scheme, rest) = normalized.split_once("://").expect("has scheme");
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!("{UNSAFE}: scheme {scheme:?} must be http or https"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(stripped) = hostport.strip_prefix('[') {
        stripped.split(']').next().unwrap_or_default().to_string()
    } else {
        hostport.split(':').next().unwrap_or_default().to_string()
    };
    if host.is_empty() {
        return Err(format!("{UNSAFE}: missing host in {endpoint:?}"));
    }
    let private_msg = |what: &str| {
        format!(
            "{UNSAFE}: host {host:?} resolves to private/internal address {what} \
             (set allow_private_endpoint=true to permit)"
        )
    };
    match host.parse::<IpAddr>() {
        Ok(ip) => {
            let ip = match ip {
                IpAddr::V6(v6) => v6
                    .to_ipv4_mapped()
                    .map(IpAddr::V4)
                    .unwrap_or(IpAddr::V6(v6)),
                v4 => v4,
            };
            if ip.is_unspecified() {
                return Err(format!(
                    "{UNSAFE}: host {host:?} resolves to unspecified address"
                ));
            }
            if ip.is_multicast() {
                return Err(format!(
                    "{UNSAFE}: host {host:?} resolves to multicast address"
                ));
            }
            let link_local = match ip {
                IpAddr::V4(v4) => v4.is_link_local(),
                IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
            };
            if link_local {
                return Err(format!(
                    "{UNSAFE}: host {host:?} resolves to link-local address {ip} (cloud metadata)"
                ));
            }
            if allow_private {
                return Ok(());
            }
            let private = match ip {
                IpAddr::V4(v4) => {
                    v4.is_loopback() || v4.is_private() || v4.is_broadcast() || v4.octets()[0] == 0
                }
                IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
            };
            if private {
                return Err(private_msg(&ip.to_string()));
            }
            Ok(())
        }
        Err(_) => {
            let h = host.trim_end_matches('.').to_ascii_lowercase();
            let private = !h.contains('.')
                || h.ends_with(".localhost")
                || h.ends_with(".local")
                || h.ends_with(".internal");
            if private && !allow_private {
                return Err(private_msg("(docker/private network)"));
            }
            Ok(())
        }
    }
}

fn valid_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
}

async fn block_create(
    State(sh): State<Sh>,
    Extension(ctx): Extension<Ctx>,
    Path(kind): Path<String>,
) -> Response {
    let Some(kind) = kind_of(&kind) else {
        return bad_kind();
    };
    let req = match decode(&ctx, STORE_SCHEMA) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let (name, typ, raw) = (req.s("name"), req.s("type"), req.s("config"));
    if name.is_empty() {
        return problem(400, "Store name is required");
    }
    if typ.is_empty() {
        return problem(400, "Store type is required");
    }
    if !type_valid_for_kind(kind, &typ) {
        return problem(
            400,
            &format!("Store type '{typ}' is not valid for kind '{kind}'"),
        );
    }
    let config = match parse_config_string(&raw) {
        Ok(c) => c,
        Err(e) => {
            return problem(
                400,
                &format!("Invalid block store config: failed to get config: {e}"),
            );
        }
    };
    if let Err(e) = check_block_config(kind, &typ, &config) {
        return problem(400, &format!("Invalid block store config: {e}"));
    }
    let mut inner = sh.lock();
    if inner.block_map(kind).contains_key(&name) {
        return problem(409, "Block store already exists");
    }
    let store = StoreCfg {
        id: inner.uuid(),
        name: name.clone(),
        kind: Some(kind),
        typ,
        config_raw: raw,
        config,
        created_at: now_rfc3339(),
    };
    let body = store_json(&store, true);
    inner.block_map_mut(kind).insert(name, store);
    json_resp(201, body)
}

async fn block_list(State(sh): State<Sh>, Path(kind): Path<String>) -> Response {
    let Some(kind) = kind_of(&kind) else {
        return bad_kind();
    };
    let inner = sh.lock();
    let list: Vec<Value> = inner
        .block_map(kind)
        .values()
        .map(|s| store_json(s, true))
        .collect();
    json_resp(200, Value::Array(list))
}

async fn block_get(State(sh): State<Sh>, Path((kind, name)): Path<(String, String)>) -> Response {
    let Some(kind) = kind_of(&kind) else {
        return bad_kind();
    };
    match sh.lock().block_map(kind).get(&name) {
        Some(s) => json_resp(200, store_json(s, true)),
        None => problem(404, "Block store not found"),
    }
}

async fn block_status(
    State(sh): State<Sh>,
    Path((kind, name)): Path<(String, String)>,
) -> Response {
    let Some(kind) = kind_of(&kind) else {
        return bad_kind();
    };
    match sh.lock().block_map(kind).get(&name) {
        Some(_) => json_resp(200, healthy_report()),
        None => problem(404, "Block store not found"),
    }
}

async fn block_health(
    State(sh): State<Sh>,
    Path((kind, name)): Path<(String, String)>,
) -> Response {
    let Some(kind) = kind_of(&kind) else {
        return bad_kind();
    };
    match sh.lock().block_map(kind).get(&name) {
        Some(_) => json_resp(
            200,
            json!({"healthy": true, "latency_ms": 0, "checked_at": fmt_time(SystemTime::now(), false)}),
        ),
        None => problem(404, "Block store not found"),
    }
}

async fn block_update(
    State(sh): State<Sh>,
    Extension(ctx): Extension<Ctx>,
    Path((kind, name)): Path<(String, String)>,
) -> Response {
    let Some(kind) = kind_of(&kind) else {
        return bad_kind();
    };
    let req = match decode(&ctx, &[("type", K::Str), ("config", K::Str)]) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let mut inner = sh.lock();
    let Some(existing) = inner.block_map(kind).get(&name).cloned() else {
        return problem(404, "Block store not found");
    };
    let mut updated = existing.clone();
    if let Some(t) = req.opt_s("type") {
        if !type_valid_for_kind(kind, &t) {
            return problem(
                400,
                &format!("Store type '{t}' is not valid for kind '{kind}'"),
            );
        }
        updated.typ = t;
    }
    if let Some(raw) = req.opt_s("config") {
        let mut new = match parse_config_string(&raw) {
            Ok(c) => c,
            Err(e) => {
                return problem(
                    400,
                    &format!("Invalid block store config: failed to get config: {e}"),
                );
            }
        };
        if let (Some(old), Some(new)) = (&existing.config, new.as_mut()) {
            restore_redacted(old, new);
        }
        updated.config_raw = new.as_ref().map(Value::to_string).unwrap_or(raw);
        updated.config = new;
    }
    if (req.has("type") || req.has("config"))
        && let Err(e) = check_block_config(kind, &updated.typ, &updated.config)
    {
        return problem(400, &format!("Invalid block store config: {e}"));
    }
    let body = store_json(&updated, true);
    inner.block_map_mut(kind).insert(name, updated);
    json_resp(200, body)
}

async fn block_delete(
    State(sh): State<Sh>,
    Path((kind, name)): Path<(String, String)>,
) -> Response {
    let Some(kind) = kind_of(&kind) else {
        return bad_kind();
    };
    let mut inner = sh.lock();
    let Some(store) = inner.block_map(kind).get(&name) else {
        return problem(404, "Block store not found");
    };
    let id = store.id.clone();
    let in_use = inner.shares.values().any(|s| {
        s.local_block_store_id == id || s.remote_block_store_id.as_deref() == Some(id.as_str())
    });
    if in_use {
        return problem(
            409,
            "Cannot delete block store: it is in use by one or more shares",
        );
    }
    inner.block_map_mut(kind).remove(&name);
    no_content()
}

// ---------------------------------------------------------------------------
// Shares
// ---------------------------------------------------------------------------

/// `normalizeShareName`: URL-unescape, then exactly one leading slash.
fn normalize_share_name(name: &str) -> String {
    let decoded = percent_decode(name).unwrap_or_else(|| name.to_string());
    format!("/{}", decoded.trim_start_matches('/'))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

const SHARE_PERMISSIONS: &[&str] = &["none", "read", "read-write", "admin"];

fn default_nfs_options() -> Map<String, Value> {
    let Value::Object(m) = json!({
        "squash": "root_to_guest",
        "allow_auth_sys": true,
        "require_kerberos": false,
        "min_kerberos_level": "krb5",
        "netgroup": "",
        "disable_readdirplus": false,
    }) else {
        unreachable!()
    };
    m
}

fn share_json(s: &Share) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(s.id));
    m.insert("name".into(), json!(s.name));
    m.insert("metadata_store_id".into(), json!(s.metadata_store_id));
    m.insert("local_block_store_id".into(), json!(s.local_block_store_id));
    m.insert(
        "remote_block_store_id".into(),
        json!(s.remote_block_store_id),
    );
    m.insert("read_only".into(), json!(s.read_only));
    m.insert("enabled".into(), json!(s.enabled));
    m.insert("encrypt_data".into(), json!(s.encrypt_data));
    m.insert("default_permission".into(), json!(s.default_permission));
    if let Some(uid) = s.owner_uid {
        m.insert("owner_uid".into(), json!(uid));
        m.insert("owner_gid".into(), json!(uid));
    }
    if !s.blocked_operations.is_empty() {
        m.insert("blocked_operations".into(), json!(s.blocked_operations));
    }
    m.insert("retention_policy".into(), json!(s.retention_policy));
    for key in [
        "retention_ttl",
        "local_store_size",
        "read_buffer_size",
        "quota_bytes",
    ] {
        if let Some(v) = s
            .body
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
        {
            m.insert(key.into(), json!(v));
        }
    }
    m.insert("used_bytes".into(), json!(0));
    m.insert("physical_bytes".into(), json!(0));
    m.insert("usage_percent".into(), json!(0.0));
    let flag =
        |key: &str, default: bool| s.body.get(key).and_then(Value::as_bool).unwrap_or(default);
    m.insert(
        "acl_flag_inherited_canonicalization".into(),
        json!(flag("acl_flag_inherited_canonicalization", true)),
    );
    for key in [
        "access_based_enumeration",
        "change_notify_disabled",
        "streams_disabled",
        "continuous_availability",
        "allow_mfsymlink",
        "trash_enabled",
        "trash_restrict_to_admin",
    ] {
        m.insert(key.into(), json!(flag(key, false)));
    }
    for key in ["trash_retention_days", "trash_max_bytes"] {
        m.insert(
            key.into(),
            json!(s.body.get(key).and_then(Value::as_i64).unwrap_or(0)),
        );
    }
    m.insert("created_at".into(), json!(s.created_at));
    m.insert("updated_at".into(), json!(s.updated_at));
    m.insert("status".into(), healthy_report());
    Value::Object(m)
}

const SHARE_SCHEMA: &[(&str, K)] = &[
    ("name", K::Str),
    ("metadata_store_id", K::Str),
    ("local_block_store", K::Str),
    ("remote_block_store", K::Str),
    ("read_only", K::Bool),
    ("owner", K::Str),
    ("encrypt_data", K::Bool),
    ("default_permission", K::Str),
    ("blocked_operations", K::StrArr),
    ("retention_policy", K::Str),
    ("retention_ttl", K::Str),
    ("local_store_size", K::Str),
    ("read_buffer_size", K::Str),
    ("quota_bytes", K::Str),
    ("acl_flag_inherited_canonicalization", K::Bool),
    ("access_based_enumeration", K::Bool),
    ("change_notify_disabled", K::Bool),
    ("streams_disabled", K::Bool),
    ("continuous_availability", K::Bool),
    ("allow_mfsymlink", K::Bool),
    ("trash_enabled", K::Bool),
    ("trash_retention_days", K::Int),
    ("trash_restrict_to_admin", K::Bool),
    ("trash_max_bytes", K::Int),
    ("trash_exclude_patterns", K::StrArr),
];

fn block_ref_error(tier: &str, reference: &str, err: &str) -> Response {
    if err == "wrong kind" {
        problem(
            400,
            &format!("{tier} block store has the wrong kind: {reference}"),
        )
    } else {
        problem(400, &format!("{tier} block store not found: {reference}"))
    }
}

fn parse_retention(policy: &str) -> Result<String, Response> {
    let p = policy.trim().to_ascii_lowercase();
    if p.is_empty() {
        return Ok("lru".into());
    }
    if ["pin", "ttl", "lru"].contains(&p.as_str()) {
        Ok(p)
    } else {
        Err(problem(
            400,
            &format!(
                "invalid retention policy {:?}: must be one of pin, ttl, lru",
                policy.trim()
            ),
        ))
    }
}

async fn share_create(State(sh): State<Sh>, Extension(ctx): Extension<Ctx>) -> Response {
    let req = match decode(&ctx, SHARE_SCHEMA) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let raw_name = req.s("name");
    if raw_name.is_empty() {
        return problem(400, "Share name is required");
    }
    let name = normalize_share_name(&raw_name);
    let meta_ref = req.s("metadata_store_id");
    if meta_ref.is_empty() {
        return problem(400, "Metadata store ID is required");
    }
    let local_ref = req.s("local_block_store");
    if local_ref.is_empty() {
        return problem(400, "Local block store is required");
    }
    let mut inner = sh.lock();
    let Some(meta_id) = inner.find_metadata(&meta_ref).map(|s| s.id.clone()) else {
        return problem(400, &format!("Metadata store not found: {meta_ref}"));
    };
    let local_id = match inner.resolve_block(&local_ref, "local") {
        Ok(s) => s.id.clone(),
        Err(e) => return block_ref_error("Local", &local_ref, e),
    };
    let remote_id = match req.opt_s("remote_block_store").filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => match inner.resolve_block(&r, "remote") {
            Ok(s) => Some(s.id.clone()),
            Err(e) => return block_ref_error("Remote", &r, e),
        },
    };
    let default_permission = match req.s("default_permission") {
        p if p.is_empty() => "none".to_string(),
        p if SHARE_PERMISSIONS.contains(&p.as_str()) => p,
        p => {
            return problem(
                400,
                &format!("Invalid default_permission: {p} (want none|read|read-write|admin)"),
            );
        }
    };
    let retention_policy = match parse_retention(&req.s("retention_policy")) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    for key in ["trash_retention_days", "trash_max_bytes"] {
        if req.i(key).is_some_and(|n| n < 0) {
            return problem(400, &format!("{key} must be >= 0"));
        }
    }
    let owner_uid = match req.opt_s("owner").filter(|o| !o.is_empty()) {
        None => None,
        Some(owner) => match inner.users.get(&owner) {
            None => return problem(400, &format!("Owner user {owner:?} not found")),
            Some(u) => match u.uid {
                None => return problem(400, &format!("Owner user {owner:?} has no UID")),
                Some(uid) => Some(uid),
            },
        },
    };
    if inner.shares.contains_key(&name) {
        return problem(409, "Share already exists");
    }
    // State keeps the body as sent (all fields, known or not), normalised.
    let mut body = serde_json::from_slice::<Value>(&ctx.body)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    body.insert("name".into(), json!(name));
    body.insert("default_permission".into(), json!(default_permission));
    let now = now_rfc3339();
    let share = Share {
        id: inner.uuid(),
        name: name.clone(),
        body,
        metadata_store_id: meta_id,
        local_block_store_id: local_id,
        remote_block_store_id: remote_id,
        read_only: req.b("read_only").unwrap_or(false),
        encrypt_data: req.b("encrypt_data").unwrap_or(false),
        enabled: true,
        default_permission,
        retention_policy,
        blocked_operations: req.strs("blocked_operations").unwrap_or_default(),
        owner_uid,
        created_at: now.clone(),
        updated_at: now,
        nfs: default_nfs_options(),
        user_perms: BTreeMap::new(),
    };
    let resp = share_json(&share);
    inner.shares.insert(name, share);
    json_resp(201, resp)
}

async fn share_list(State(sh): State<Sh>) -> Response {
    let list: Vec<Value> = sh.lock().shares.values().map(share_json).collect();
    json_resp(200, Value::Array(list))
}

fn share_key(name: &str) -> Result<String, Response> {
    let n = normalize_share_name(name);
    if n == "/" {
        Err(problem(400, "Share name is required"))
    } else {
        Ok(n)
    }
}

async fn share_get(State(sh): State<Sh>, Path(name): Path<String>) -> Response {
    let key = match share_key(&name) {
        Ok(k) => k,
        Err(r) => return r,
    };
    match sh.lock().shares.get(&key) {
        Some(s) => json_resp(200, share_json(s)),
        None => problem(404, "Share not found"),
    }
}

async fn share_status(State(sh): State<Sh>, Path(name): Path<String>) -> Response {
    let key = match share_key(&name) {
        Ok(k) => k,
        Err(r) => return r,
    };
    match sh.lock().shares.get(&key) {
        Some(_) => json_resp(200, healthy_report()),
        None => problem(404, "Share not found"),
    }
}

async fn share_update(
    State(sh): State<Sh>,
    Extension(ctx): Extension<Ctx>,
    Path(name): Path<String>,
) -> Response {
    let key = match share_key(&name) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let req = match decode(
        &ctx,
        &[
            ("metadata_store_id", K::Str),
            ("local_block_store_id", K::Str),
            ("remote_block_store_id", K::Str),
            ("read_only", K::Bool),
            ("encrypt_data", K::Bool),
            ("default_permission", K::Str),
            ("blocked_operations", K::StrArr),
            ("retention_policy", K::Str),
            ("retention_ttl", K::Str),
            ("local_store_size", K::Str),
            ("read_buffer_size", K::Str),
            ("quota_bytes", K::Str),
            ("acl_flag_inherited_canonicalization", K::Bool),
            ("access_based_enumeration", K::Bool),
            ("change_notify_disabled", K::Bool),
            ("streams_disabled", K::Bool),
            ("continuous_availability", K::Bool),
            ("allow_mfsymlink", K::Bool),
            ("trash_enabled", K::Bool),
            ("trash_retention_days", K::Int),
            ("trash_restrict_to_admin", K::Bool),
            ("trash_max_bytes", K::Int),
            ("trash_exclude_patterns", K::StrArr),
        ],
    ) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let mut inner = sh.lock();
    let Some(mut share) = inner.shares.get(&key).cloned() else {
        return problem(404, "Share not found");
    };
    if let Some(m) = req.opt_s("metadata_store_id") {
        match inner.find_metadata(&m) {
            Some(s) => share.metadata_store_id = s.id.clone(),
            None => return problem(400, &format!("Metadata store not found: {m}")),
        }
    }
    if let Some(l) = req.opt_s("local_block_store_id") {
        match inner.resolve_block(&l, "local") {
            Ok(s) => share.local_block_store_id = s.id.clone(),
            Err(e) => return block_ref_error("Local", &l, e),
        }
    }
    if let Some(r) = req.opt_s("remote_block_store_id") {
        if r.is_empty() {
            share.remote_block_store_id = None;
        } else {
            match inner.resolve_block(&r, "remote") {
                Ok(s) => share.remote_block_store_id = Some(s.id.clone()),
                Err(e) => return block_ref_error("Remote", &r, e),
            }
        }
    }
    if let Some(p) = req.opt_s("default_permission") {
        if !SHARE_PERMISSIONS.contains(&p.as_str()) {
            return problem(
                400,
                &format!("Invalid default_permission: {p} (want none|read|read-write|admin)"),
            );
        }
        share.default_permission = p;
    }
    if let Some(p) = req.opt_s("retention_policy") {
        match parse_retention(&p) {
            Ok(p) => share.retention_policy = p,
            Err(resp) => return resp,
        }
    }
    if let Some(b) = req.b("read_only") {
        share.read_only = b;
    }
    if let Some(b) = req.b("encrypt_data") {
        share.encrypt_data = b;
    }
    if let Some(ops) = req.strs("blocked_operations") {
        share.blocked_operations = ops;
    }
    for (k, v) in &req.0 {
        share.body.insert(k.clone(), v.clone());
    }
    share.updated_at = now_rfc3339();
    let body = share_json(&share);
    inner.shares.insert(key, share);
    json_resp(200, body)
}

async fn share_delete(State(sh): State<Sh>, Path(name): Path<String>) -> Response {
    let key = match share_key(&name) {
        Ok(k) => k,
        Err(r) => return r,
    };
    match sh.lock().shares.remove(&key) {
        Some(_) => no_content(),
        None => problem(404, "Share not found"),
    }
}

async fn share_nfs_get(State(sh): State<Sh>, Path(name): Path<String>) -> Response {
    match sh.lock().shares.get(&normalize_share_name(&name)) {
        Some(s) => json_resp(200, Value::Object(s.nfs.clone())),
        None => problem(404, "Share not found"),
    }
}

async fn share_nfs_patch(
    State(sh): State<Sh>,
    Extension(ctx): Extension<Ctx>,
    Path(name): Path<String>,
) -> Response {
    let key = normalize_share_name(&name);
    let mut inner = sh.lock();
    // Share lookup happens before the body is decoded.
    let Some(share) = inner.shares.get_mut(&key) else {
        return problem(404, "Share not found");
    };
    let req = match decode(
        &ctx,
        &[
            ("squash", K::Str),
            ("anonymous_uid", K::U32),
            ("anonymous_gid", K::U32),
            ("allow_auth_sys", K::Bool),
            ("require_kerberos", K::Bool),
            ("min_kerberos_level", K::Str),
            ("netgroup", K::Str),
            ("disable_readdirplus", K::Bool),
        ],
    ) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if let Some(ng) = req.opt_s("netgroup")
        && !ng.is_empty()
    {
        return problem(400, &format!("Netgroup not found: {ng}"));
    }
    if let Some(sq) = req.opt_s("squash") {
        const MODES: &[&str] = &[
            "none",
            "root_to_admin",
            "root_to_guest",
            "all_to_admin",
            "all_to_guest",
        ];
        if !sq.is_empty() && !MODES.contains(&sq.as_str()) {
            return problem(
                400,
                &format!(
                    "Invalid squash: {sq} (want none|root_to_admin|root_to_guest|all_to_admin|all_to_guest)"
                ),
            );
        }
    }
    for (k, v) in req.0 {
        share.nfs.insert(k, v);
    }
    json_resp(200, Value::Object(share.nfs.clone()))
}

async fn share_perm_list(State(sh): State<Sh>, Path(name): Path<String>) -> Response {
    let inner = sh.lock();
    let Some(share) = inner.shares.get(&normalize_share_name(&name)) else {
        return problem(404, "Share not found");
    };
    let list: Vec<Value> = share
        .user_perms
        .iter()
        .map(|(u, l)| json!({"type": "user", "name": u, "level": l}))
        .collect();
    json_resp(200, Value::Array(list))
}

async fn share_perm_set(
    State(sh): State<Sh>,
    Extension(ctx): Extension<Ctx>,
    Path((name, username)): Path<(String, String)>,
) -> Response {
    let req = match decode(&ctx, &[("level", K::Str)]) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let level = req.s("level");
    if !SHARE_PERMISSIONS.contains(&level.as_str()) {
        return problem(400, &format!("Invalid permission level: {level}"));
    }
    let mut inner = sh.lock();
    if !inner.users.contains_key(&username) {
        return problem(404, "User not found");
    }
    match inner.shares.get_mut(&normalize_share_name(&name)) {
        Some(share) => {
            share.user_perms.insert(username, level);
            no_content()
        }
        None => problem(404, "Share not found"),
    }
}

async fn share_perm_remove(
    State(sh): State<Sh>,
    Path((name, username)): Path<(String, String)>,
) -> Response {
    match sh.lock().shares.get_mut(&normalize_share_name(&name)) {
        Some(share) => {
            share.user_perms.remove(&username);
            no_content()
        }
        None => problem(404, "Share not found"),
    }
}

// ---------------------------------------------------------------------------
// Adapters
// ---------------------------------------------------------------------------

fn adapter_json(a: &Adapter, running: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(a.id));
    m.insert("type".into(), json!(a.typ));
    m.insert("enabled".into(), json!(a.enabled));
    m.insert("running".into(), json!(running));
    m.insert("port".into(), json!(a.port));
    if !a.config.is_empty() {
        m.insert("config".into(), Value::Object(a.config.clone()));
    }
    m.insert("created_at".into(), json!(a.created_at));
    m.insert("updated_at".into(), json!(a.updated_at));
    m.insert("status".into(), adapter_report(a, running));
    Value::Object(m)
}

fn adapter_report(a: &Adapter, running: bool) -> Value {
    if running {
        healthy_report()
    } else {
        json!({"status": "unknown", "message": format!("adapter {} not running", a.typ), "checked_at": now_rfc3339()})
    }
}

async fn adapter_list(State(sh): State<Sh>) -> Response {
    let list: Vec<Value> = sh
        .lock()
        .adapters
        .values()
        .map(|a| adapter_json(a, a.enabled))
        .collect();
    json_resp(200, Value::Array(list))
}

async fn adapter_ports(State(sh): State<Sh>) -> Response {
    let list: Vec<Value> = sh
        .lock()
        .adapters
        .values()
        .map(|a| json!({"type": a.typ, "port": a.port, "enabled": a.enabled, "running": a.enabled}))
        .collect();
    json_resp(200, Value::Array(list))
}

async fn adapter_create(State(sh): State<Sh>, Extension(ctx): Extension<Ctx>) -> Response {
    let req = match decode(
        &ctx,
        &[
            ("type", K::Str),
            ("enabled", K::Bool),
            ("port", K::Int),
            ("config", K::Obj),
        ],
    ) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let typ = req.s("type");
    if typ.is_empty() {
        return problem(400, "Adapter type is required");
    }
    let mut inner = sh.lock();
    if inner.adapters.contains_key(&typ) {
        return problem(409, "Adapter already exists");
    }
    let now = now_rfc3339();
    let adapter = Adapter {
        id: inner.uuid(),
        typ: typ.clone(),
        enabled: req.b("enabled").unwrap_or(true),
        port: req.i("port").unwrap_or(0),
        config: req.obj("config").unwrap_or_default(),
        created_at: now.clone(),
        updated_at: now,
    };
    // The real Create handler never sets `running` in its response.
    let body = adapter_json(&adapter, false);
    inner.adapters.insert(typ, adapter);
    json_resp(201, body)
}

async fn adapter_get(State(sh): State<Sh>, Path(typ): Path<String>) -> Response {
    match sh.lock().adapters.get(&typ) {
        Some(a) => json_resp(200, adapter_json(a, a.enabled)),
        None => problem(404, "Adapter not found"),
    }
}

async fn adapter_status(State(sh): State<Sh>, Path(typ): Path<String>) -> Response {
    match sh.lock().adapters.get(&typ) {
        Some(a) => json_resp(200, adapter_report(a, a.enabled)),
        None => problem(404, "Adapter not found"),
    }
}

async fn adapter_update(
    State(sh): State<Sh>,
    Extension(ctx): Extension<Ctx>,
    Path(typ): Path<String>,
) -> Response {
    // Body is decoded before the adapter is looked up.
    let req = match decode(
        &ctx,
        &[("enabled", K::Bool), ("port", K::Int), ("config", K::Obj)],
    ) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let mut inner = sh.lock();
    let Some(a) = inner.adapters.get_mut(&typ) else {
        return problem(404, "Adapter not found");
    };
    if let Some(e) = req.b("enabled") {
        a.enabled = e;
    }
    if let Some(p) = req.i("port") {
        a.port = p;
    }
    if let Some(c) = req.obj("config") {
        a.config = c;
    }
    a.updated_at = now_rfc3339();
    json_resp(200, adapter_json(a, a.enabled))
}

async fn adapter_delete(State(sh): State<Sh>, Path(typ): Path<String>) -> Response {
    match sh.lock().adapters.remove(&typ) {
        Some(_) => no_content(),
        None => problem(404, "Adapter not found"),
    }
}

// ---------------------------------------------------------------------------
// Time formatting (Go's RFC 3339 encodings, UTC)
// ---------------------------------------------------------------------------

fn now_rfc3339() -> String {
    fmt_time(SystemTime::now(), true)
}

/// `time.Time` JSON (RFC3339Nano, trailing zeros trimmed) or, with
/// `nanos == false`, `time.RFC3339`.
fn fmt_time(t: SystemTime, nanos: bool) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    if nanos && d.subsec_nanos() != 0 {
        let frac = format!("{:09}", d.subsec_nanos());
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Go's `Duration.String()` for a whole number of seconds.
fn go_duration_secs(total: u64) -> String {
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

// ---------------------------------------------------------------------------
// Self-tests (cheap; they run in every test binary that includes this file)
// ---------------------------------------------------------------------------

#[cfg(test)]
mod fake_self_tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Minimal HTTP/1.1 client (no extra dependency): returns (status, body).
    async fn raw(
        addr: SocketAddr,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        if let Some(t) = token {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() {
            req.push_str("Content-Type: application/json\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf).to_string();
        let status = text[9..12].parse().unwrap();
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    async fn login(addr: SocketAddr) -> String {
        let (st, body) = raw(
            addr,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(r#"{"username":"admin","password":"pw"}"#),
        )
        .await;
        assert_eq!(st, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn fake_dittofs_auth_and_store_contract() {
        let fake = FakeDittofs::start("pw").await;
        let a = fake.addr();
        assert_eq!(raw(a, "GET", "/api/v1/adapters", None, None).await.0, 401);
        let bad = r#"{"username":"admin","password":"nope"}"#;
        assert_eq!(
            raw(a, "POST", "/api/v1/auth/login", None, Some(bad))
                .await
                .0,
            401
        );
        let tok = login(a).await;
        let t = Some(tok.as_str());
        let p = "/api/v1/store/metadata";
        let obj = r#"{"name":"m","type":"memory","config":{}}"#;
        assert_eq!(raw(a, "POST", p, t, Some(obj)).await.0, 400);
        let badger = r#"{"name":"m","type":"badger","config":"{\"path\":\"/data/meta\"}"}"#;
        assert_eq!(raw(a, "POST", p, t, Some(badger)).await.0, 201);
        assert_eq!(raw(a, "POST", p, t, Some(badger)).await.0, 400);
        let mem = r#"{"name":"x","type":"memory"}"#;
        assert_eq!(raw(a, "POST", p, t, Some(mem)).await.0, 201);
        assert_eq!(raw(a, "POST", p, t, Some(mem)).await.0, 409);
        let s3 = r#"{"name":"s3","type":"s3","config":"{\"bucket\":\"b\",\"access_key_id\":\"k\",\"secret_access_key\":\"s\",\"endpoint\":\"http://localstack:4566\"}"}"#;
        assert_eq!(
            raw(a, "POST", "/api/v1/store/block/remote", t, Some(s3))
                .await
                .0,
            400
        );
        let state = fake.state();
        assert_eq!(
            state["metadata_stores"]["m"]["config"]["path"],
            "/data/meta"
        );
        assert_eq!(state["adapters"]["smb"]["port"], 1445);
        let calls = fake.calls();
        assert_eq!(calls[0].status, 401);
        assert!(!calls[0].authorized);
        assert!(calls.last().unwrap().authorized);
    }

    #[tokio::test]
    async fn fake_dittofs_readiness_and_limits() {
        let fake = FakeDittofs::start("pw").await;
        let a = fake.addr();
        fake.set_not_ready_for(1);
        assert_eq!(raw(a, "GET", "/health/ready", None, None).await.0, 503);
        let (st, body) = raw(a, "GET", "/health/ready", None, None).await;
        assert_eq!(st, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["data"]["adapters"]["running"], 2);
        let tok = login(a).await;
        let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(MAX_BODY));
        let (st, _) = raw(a, "POST", "/api/v1/shares", Some(&tok), Some(&big)).await;
        assert_eq!(st, 413);
        assert!(fake.calls().last().unwrap().body.is_none());
    }

    #[test]
    fn fake_dittofs_helpers() {
        assert_eq!(
            fmt_time(UNIX_EPOCH + Duration::from_secs(951_782_400), false),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(normalize_share_name("%2Fexport"), "/export");
        assert_eq!(normalize_share_name("//export"), "/export");
        assert!(validate_endpoint("http://localstack:4566", false).is_err());
        assert!(validate_endpoint("http://localstack:4566", true).is_ok());
        assert!(validate_endpoint("http://10.1.2.3:9000", false).is_err());
        assert!(validate_endpoint("http://169.254.169.254", true).is_err());
        assert!(validate_endpoint("https://s3.fr-par.scw.cloud", false).is_ok());
        assert!(validate_endpoint("", false).is_ok());
        assert_eq!(go_duration_secs(3725), "1h2m5s");
    }
}
