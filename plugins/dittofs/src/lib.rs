//! DittoFS v0.29 (marmos91/dittofs) in Docker, provisioned over its REST API.
//!
//! Protocol facts of DittoFS v0.29.0, each exercised against the real server by
//! `tests/e2e_dittofs.rs` (the image `tests/images/dittofs` is built from that release):
//! - the API binds 127.0.0.1 unless `controlplane.host: 0.0.0.0`, logs go to a file unless
//!   `logging.output: stdout`, and the generated admin password is not printed without a
//!   TTY, so `DITTOFS_ADMIN_INITIAL_PASSWORD` is always set;
//! - readiness is `GET /health/ready` = 200; login `POST /api/v1/auth/login`;
//! - store bodies carry `config` as a JSON-encoded *string*; a badger store re-POSTed
//!   fails with 400 rather than 409, so every resource is read first and created only on 404;
//! - S3 remote stores need keys and `allow_private_endpoint` for LocalStack;
//! - shares default to `default_permission: none` and NFS root squash, so the share is created
//!   `read-write` and its NFS squash set to `none` like the competitors' `no_root_squash`;
//! - default adapters exist on first boot (nfs 12049, smb 1445): they are PUT, never POSTed,
//!   and only the tested adapter stays enabled.
//!
//! What the real v0.29.0 server answers, and what bootstrap therefore checks:
//! - `POST /api/v1/store/block/remote` answers 201 even when its S3 connectivity check fails
//!   (the body's `status.status` is then `unhealthy`), and a share on such a store makes
//!   `POST /api/v1/shares` block for minutes while the S3 client retries: the remote store's
//!   `GET .../status` is read before the share is created;
//! - `POST /api/v1/shares` answers 201 even when adding the share to the running server failed,
//!   and `GET /api/v1/shares/{name}/status` always answers 200: only its body's `status`
//!   (`healthy`, `degraded`, `unhealthy`, `unknown`; cached for 5 s) tells, so it is polled;
//! - `PUT /api/v1/adapters/{type}` answers 200 even when restarting the listener failed: only
//!   `running` in `GET /api/v1/adapters` tells;
//! - the API listens on IPv4 `0.0.0.0` only, so the container's healthcheck dials `127.0.0.1`.

use benchhost_plugin_sdk::host::{Http, Rest};
use benchhost_plugin_sdk::serde_json::{json, Value};
use benchhost_plugin_sdk::shared_settings::cache_size as cache_bytes;
use benchhost_plugin_sdk::*;

struct Dittofs;

const API: u16 = 8080;
const NFS_PORT: u16 = 12049;
/// The SMB port of the benchmark (the server's own default adapter port is 1445).
const SMB_PORT: u16 = 12445;
const SERVICE: &str = "dittofs";

/// One profile: metadata store type (`badger`, `postgres`), whether blocks go to S3, and the
/// protocol of the one adapter enabled.
struct Variant {
    name: &'static str,
    description: &'static str,
    meta: &'static str,
    s3: bool,
    proto: Protocol,
}

#[rustfmt::skip]
const VARIANTS: &[Variant] = &[
    Variant { name: "dittofs-badger-s3", meta: "badger", s3: true, proto: Protocol::Nfs, description: "DittoFS over NFSv4.1: BadgerDB metadata, local fs cache + S3 (LocalStack) blocks" },
    Variant { name: "dittofs-postgres-s3", meta: "postgres", s3: true, proto: Protocol::Nfs, description: "DittoFS over NFSv4.1: PostgreSQL metadata, local fs cache + S3 (LocalStack) blocks" },
    Variant { name: "dittofs-badger-fs", meta: "badger", s3: false, proto: Protocol::Nfs, description: "DittoFS over NFSv4.1: BadgerDB metadata, blocks on the local filesystem only" },
    Variant { name: "dittofs-smb", meta: "badger", s3: true, proto: Protocol::Smb, description: "DittoFS over SMB3 on 12445: BadgerDB metadata, local fs cache + S3 (LocalStack) blocks" },
];

impl Variant {
    /// The adapter this profile serves, the one it turns off, and the served port.
    fn adapters(&self) -> (&'static str, &'static str, u16) {
        if self.proto == Protocol::Smb { ("smb", "nfs", SMB_PORT) } else { ("nfs", "smb", NFS_PORT) }
    }
}

/// Names of the resources bootstrap creates.
const META_STORE: &str = "meta";
const LOCAL_STORE: &str = "local";
const REMOTE_STORE: &str = "s3";
const SHARE: &str = "/export";

/// Host port of the Prometheus metrics listener when profiling is on.
const METRICS_PORT: u16 = 9090;

/// The size of one segment of a share's local journal (DittoFS v0.29.0, `pkg/block/journal`):
/// an S3-backed share frees local space only by evicting whole segments whose bytes are
/// uploaded, so with a `max_size` of one segment or less, a write larger than `max_size` waits
/// out its stall (60 s) and fails with NOSPC (measured: 200 MiB cap, 1 GiB write). Above it, a
/// write larger than the cap waits for uploads and succeeds (measured against LocalStack:
/// 300 MiB cap and 1 GiB; 1 GiB cap and 8 GiB).
const JOURNAL_SEGMENT: u64 = 256 << 20;

/// `max_size` of a share with no remote store (`dittofs-badger-fs`): there the local store is
/// the storage, not a cache, and nothing can be evicted, so `max_size` is the share's capacity.
/// 1 PiB: the volume's free space is the limit, as for the other local-disk systems.
const LOCAL_ONLY_MAX_SIZE: u64 = 1 << 50;

/// `BENCH_CACHE_SIZE` in bytes for a profile; `s3` profiles refuse a cap a write cannot get past.
fn cache_size(value: &str, s3: bool) -> Result<u64, String> {
    let bytes = cache_bytes(value)?;
    if s3 && bytes <= JOURNAL_SEGMENT {
        return Err(format!(
            "BENCH_CACHE_SIZE={value} is too small for DittoFS on S3: its journal frees space in whole 256 MiB segments, \
             so with a cap of 256 MiB or less any write larger than the cap fails (NOSPC); give more than 256MiB, e.g. 512MiB"
        ));
    }
    Ok(bytes)
}

/// The local `fs` block store's config: path, `max_size` and, when BENCH_WAL_ENABLED is set,
/// `durability`. On an S3-backed share `max_size` is BENCH_CACHE_SIZE, the hard cap of the
/// share's local journal and cache (a write that finds it full waits for uploads to free space);
/// on a local-only share it is [`LOCAL_ONLY_MAX_SIZE`]. `durability`: `local` (DittoFS's
/// default: data and metadata are synced before a write or COMMIT is acknowledged, S3 uploads
/// are asynchronous) or `writeback` (only the per-operation metadata sync is deferred to a
/// background ticker; data still goes through the synced journal, which cannot be turned off).
fn local_store_config(max_size: u64, wal: Option<bool>) -> Value {
    let mut config = json!({"path": "/data/content/blocks", "max_size": max_size});
    if let Some(wal) = wal {
        config["durability"] = json!(if wal { "local" } else { "writeback" });
    }
    config
}

/// The metadata store's `relaxed_durability` (badger and postgres): true, DittoFS's own default
/// (namespace operations such as create, rename, remove are acknowledged before their commit is
/// synced; a background sync follows within a bounded interval; file-size and block-manifest
/// commits stay synchronous), unless BENCH_WAL_ENABLED=1, which syncs every metadata commit.
/// Always sent explicitly, so the run does not depend on the server's default.
fn relaxed_durability(wal: Option<bool>) -> bool {
    wal != Some(true)
}

/// The metadata store's create body for store type `meta` (`badger` or `postgres`).
fn metadata_store_body(ctx: &Context, meta: &str, relaxed: bool) -> Value {
    let config = match meta {
        "postgres" => json!({
            "host": "postgres", "port": 5432, "sslmode": "disable", "relaxed_durability": relaxed,
            "user": ctx.setting("POSTGRES_USER"), "password": ctx.setting("POSTGRES_PASSWORD"), "database": ctx.setting("POSTGRES_DB"),
        }),
        _ => json!({"path": "/data/metadata/badger", "relaxed_durability": relaxed}),
    };
    json!({"name": META_STORE, "type": meta, "config": config.to_string()})
}

/// The server's config file: the minimal config for v0.29 in Docker (stores, shares and
/// adapters are runtime state created over REST, never YAML), with `controlplane.pprof`
/// (`/debug/pprof/*` on the API port, admin JWT required) and the metrics listener on
/// 0.0.0.0:9090 when `profiling`.
fn config_yaml(profiling: bool) -> String {
    let metrics = match profiling {
        true => format!("  enabled: true\n  host: 0.0.0.0\n  port: {METRICS_PORT}\n  path: /metrics\n  auth: none\n"),
        false => "  enabled: false\n".to_string(),
    };
    format!(
        "\
logging:
  level: INFO
  format: text
  output: stdout
shutdown_timeout: 30s
database:
  type: sqlite
  sqlite:
    path: /data/metadata/controlplane.db
controlplane:
  host: 0.0.0.0
  port: 8080
  require_initial_password_change: false
  pprof: {profiling}
metrics:
{metrics}"
    )
}

impl Plugin for Dittofs {
    fn describe() -> PluginInfo {
        let info = PluginInfo::new("dittofs").version(env!("CARGO_PKG_VERSION")).description("DittoFS NFS/SMB server with pluggable metadata and block stores");
        let info = VARIANTS.iter().fold(info, |info, v| {
            info.profile(Profile::target(v.name).description(v.description).protocol(v.proto).port(v.adapters().2))
        });
        info.setting(Setting::new("DITTOFS_IMAGE").default_value("marmos91c/dittofs:v0.29.0").description("DittoFS image (pinned tag)"))
            .setting(Setting::secret("DITTOFS_ADMIN_PASSWORD").default_value("benchadmin").description("Initial password of the DittoFS admin user (also the SMB login)"))
            .setting(Setting::secret("DITTOFS_JWT_SECRET").default_value("BenchmarkInfrastructureSecret32ch!").description("Control-plane JWT signing secret (at least 32 characters)"))
            .s3_settings()
            .postgres_settings()
            .cache_size_setting("DittoFS on S3: the local fs block store's max_size, the hard cap of the share's journal and cache (more than 256 MiB); dittofs-badger-fs has no cache and no cap")
            .wal_setting("DittoFS: 1 = durability `local`, metadata relaxed_durability false; 0 = durability `writeback` (data still journaled); empty = DittoFS's defaults (`local`, relaxed_durability true)")
            .profiling_setting("DittoFS: controlplane.pprof (/debug/pprof/* on the API port 8080, admin JWT) and Prometheus metrics on port 9090")
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, String> {
        let v = ctx.select(VARIANTS, |v| v.name)?;
        let secret = ctx.setting("DITTOFS_JWT_SECRET");
        if secret.len() < 32 {
            return Err(format!("DITTOFS_JWT_SECRET must be at least 32 characters (it has {})", secret.len()));
        }
        let password = ctx.setting("DITTOFS_ADMIN_PASSWORD");
        if password.chars().count() < 8 {
            // DittoFS itself refuses it at start ("password must be at least 8 characters").
            return Err(format!("DITTOFS_ADMIN_PASSWORD must be at least 8 characters (it has {}); DittoFS refuses a shorter admin password", password.chars().count()));
        }
        if let (true, Some(endpoint)) = (v.s3, ctx.concrete_setting("S3_ENDPOINT")) {
            let host = endpoint.strip_prefix("http://").or_else(|| endpoint.strip_prefix("https://")).unwrap_or("");
            if host.is_empty() || host.starts_with(['/', ':']) || host.chars().any(char::is_whitespace) {
                return Err(format!("S3_ENDPOINT={endpoint:?} is not an http:// or https:// URL with a host (e.g. http://localstack:4566)"));
            }
        }
        let profiling = ctx.setting_flag("BENCH_PROFILING")?.unwrap_or(false);
        ctx.setting_flag("BENCH_WAL_ENABLED")?;
        // Refused before anything starts (`benchhost compose` passes `${...}` placeholders).
        if let Some(cache) = ctx.concrete_setting("BENCH_CACHE_SIZE") {
            cache_size(cache, v.s3)?;
        }
        let port = v.adapters().2;
        Ok(vec![Service::new(SERVICE, ctx.setting("DITTOFS_IMAGE"))
            .command(&["start", "--foreground", "--config", "/config/config.yaml"])
            .file("/config/config.yaml", config_yaml(profiling))
            .env("DITTOFS_CONTROLPLANE_SECRET", secret)
            .env("DITTOFS_ADMIN_INITIAL_PASSWORD", password)
            .env("DITTOFS_LOGGING_LEVEL", "INFO")
            .publish(port, port)
            .publish(API, API)
            // The image's dirs are owned by uid 65532; named volumes inherit that ownership.
            .volume("metadata", "/data/metadata")
            .volume("content", "/data/content")
            // The API listens on IPv4 only; `localhost` may resolve to ::1 first.
            .healthcheck(Healthcheck::cmd(&["wget", "-q", "--spider", "http://127.0.0.1:8080/health/ready"]).retries(120))
            .stop_signal("SIGTERM").stop_grace_ms(30_000)
            .when(profiling, |s| s.publish(METRICS_PORT, METRICS_PORT))
            .when(v.s3, |s| s.s3_dependency(ctx))
            .when(v.meta == "postgres", |s| s.depends_on("postgres", DependencyCondition::Healthy))])
    }

    fn healthcheck(_ctx: &Context, service: &str) -> Result<Health, String> {
        Ok(probe::http_status(service, API, "/health/ready", 200))
    }

    fn bootstrap(ctx: &Context) -> Result<(), String> {
        let v = ctx.select(VARIANTS, |v| v.name)?;
        // Creating a share opens its stores and hot-reloads the adapters: writes get time.
        let api = Rest::new(SERVICE, API).bearer(&login(ctx)?).write_timeout_ms(60_000);
        log_version();

        let wal = ctx.setting_flag("BENCH_WAL_ENABLED")?;
        let relaxed = relaxed_durability(wal);
        api.get_or_create("/api/v1/store/metadata", META_STORE, metadata_store_body(ctx, v.meta, relaxed))?;
        let max_size = if v.s3 { cache_size(ctx.setting("BENCH_CACHE_SIZE"), true)? } else { LOCAL_ONLY_MAX_SIZE };
        let local = local_store_config(max_size, wal);
        api.get_or_create("/api/v1/store/block/local", LOCAL_STORE, json!({"name": LOCAL_STORE, "type": "fs", "config": local.to_string()}))?;
        host::info(&format!(
            "durability: local block store {LOCAL_STORE} durability={} max_size={max_size}; metadata store {META_STORE} relaxed_durability={relaxed}",
            local["durability"].as_str().unwrap_or("local (DittoFS's default)")
        ));
        let mut share = json!({"name": SHARE, "metadata_store_id": META_STORE, "local_block_store": LOCAL_STORE, "default_permission": "read-write"});
        let mut stores = format!("metadata store {META_STORE}, local block store {LOCAL_STORE}");
        if v.s3 {
            let (bucket, endpoint) = (ctx.setting("S3_BUCKET"), ctx.setting("S3_ENDPOINT"));
            let s3 = json!({
                "bucket": bucket, "region": ctx.setting("S3_REGION"), "endpoint": endpoint,
                "access_key_id": ctx.setting("AWS_ACCESS_KEY_ID"), "secret_access_key": ctx.setting("AWS_SECRET_ACCESS_KEY"),
                "force_path_style": true, "allow_private_endpoint": true,
            });
            api.get_or_create("/api/v1/store/block/remote", REMOTE_STORE, json!({"name": REMOTE_STORE, "type": "s3", "config": s3.to_string()}))?;
            // The store is created (201) even when S3 does not answer; a share on it would make
            // POST /shares wait minutes for the S3 client's retries. Its status says at once.
            let (status, message) = health_report(&api, &format!("/api/v1/store/block/remote/{REMOTE_STORE}/status"))?;
            if status != "healthy" {
                return Err(format!(
                    "remote block store {REMOTE_STORE} (bucket {bucket:?} at S3_ENDPOINT={endpoint}) is {status}: {message}; check S3_ENDPOINT, S3_BUCKET and the keys, and that the bucket exists"
                ));
            }
            share["remote_block_store"] = json!(REMOTE_STORE);
            stores.push_str(&format!(", remote block store {REMOTE_STORE} (bucket {bucket} at {endpoint})"));
        }
        let share_key = SHARE.trim_start_matches('/');
        api.get_or_create("/api/v1/shares", share_key, share)?;
        // Share create answers 201 even when adding it to the runtime failed, and the status
        // endpoint always answers 200: its body's `status` tells (cached 5 s, so poll).
        wait_share_healthy(&api, share_key, &stores)?;
        // Only the adapter under test runs; both exist from first boot, so PUT.
        let (on, off, port) = v.adapters();
        if on == "nfs" {
            api.expect_ok("PATCH", &format!("/api/v1/shares/{share_key}/adapters/nfs/config"), json!({"squash": "none"}))?;
        }
        put_adapter(&api, on, json!({"enabled": true, "port": port}))?;
        put_adapter(&api, off, json!({"enabled": false}))?;
        wait_adapter_running(&api, on, true)?;
        wait_adapter_running(&api, off, false)?;
        host::info(&format!("share {SHARE} served over {} on port {port}", on.to_uppercase()));
        Ok(())
    }

    fn mount_options(ctx: &Context) -> Result<MountSpec, String> {
        let v = ctx.select(VARIANTS, |v| v.name)?;
        Ok(match (v.proto, ctx.host_os) {
            (Protocol::Nfs, os) => MountSpec::nfs41(os, &format!("127.0.0.1:{SHARE}"), NFS_PORT)
                .note("as for every NFS system (DittoFS serves MOUNT on the NFS port too, so vers=3 works with mountport=12049,nolock)"),
            (_, HostOs::Macos) => MountSpec::smb3(HostOs::Macos, "export", SMB_PORT, "admin")
                .note("SMB as the DittoFS admin user; mount_smbfs asks for DITTOFS_ADMIN_PASSWORD"),
            (_, os) => MountSpec::smb3(os, "export", SMB_PORT, "admin")
                .note("SMB 3.0 as the DittoFS admin user; mount.cifs asks for DITTOFS_ADMIN_PASSWORD (default benchadmin). For scripts, \
                       add password=... or credentials=FILE to -o, or set PASSWD in mount's environment"),
        })
    }
}

/// Logs in as `admin` with DITTOFS_ADMIN_PASSWORD and returns the access token, first changing
/// the password to itself when the server forces a change (every other route answers 403 then).
fn login(ctx: &Context) -> Result<String, String> {
    let password = ctx.setting("DITTOFS_ADMIN_PASSWORD");
    let r = Http::post(SERVICE, API, "/api/v1/auth/login").json(&json!({"username": "admin", "password": password})).send()?;
    if r.status == 401 {
        return Err("login as admin failed (HTTP 401): DITTOFS_ADMIN_PASSWORD does not match the password the server was first started with; `benchhost down` removes its volumes".into());
    }
    if !r.is_success() {
        return Err(format!("login as admin: HTTP {} {}", r.status, r.text()));
    }
    let body = r.json()?;
    let token = body["access_token"].as_str().ok_or("login response has no access_token")?.to_string();
    if body["user"]["must_change_password"].as_bool() != Some(true) {
        return Ok(token);
    }
    // The new pair replaces the token.
    let r = Http::post(SERVICE, API, "/api/v1/users/me/password").bearer(&token).json(&json!({"new_password": password})).send()?;
    if !r.is_success() {
        return Err(format!("forced password change: HTTP {} {}", r.status, r.text()));
    }
    r.json()?["access_token"].as_str().map(str::to_string).ok_or_else(|| "password change response has no access_token".into())
}

/// Logs the version the running server reports (`dfs version --short`; the published image and
/// `tests/images/dittofs` both have the binary at /app/dfs). Never fails bootstrap.
fn log_version() {
    match host::exec(SERVICE, &["/app/dfs", "version", "--short"], 5_000) {
        // cobra prints the version on stderr.
        Ok(out) if out.exit_code == 0 => host::info(&format!("DittoFS version {} (dfs version --short)", format!("{}{}", out.stdout, out.stderr).trim())),
        Ok(out) => host::warn(&format!("dfs version --short exited {}: {}", out.exit_code, out.stderr.trim())),
        Err(e) => host::warn(&format!("dfs version --short: {e}")),
    }
}

/// PUT the adapter settings; POST on 404 (retrying PUT on 409), like `dfsctl adapter enable`.
fn put_adapter(api: &Rest, kind: &str, body: Value) -> Result<(), String> {
    let mut create = body.clone();
    create["type"] = json!(kind);
    api.put_or_create(&format!("/api/v1/adapters/{kind}"), body, "/api/v1/adapters", create)
}

/// GET a status endpoint: the health report's (`status`, `message`).
fn health_report(api: &Rest, path: &str) -> Result<(String, String), String> {
    let body = api.get_json(path)?;
    let status = body["status"].as_str().ok_or_else(|| format!("GET {path}: no status in {body}"))?.to_string();
    Ok((status, body["message"].as_str().unwrap_or("no message").to_string()))
}

/// Polls `GET /api/v1/shares/{key}/status` until its body says `healthy` (up to 15 s: the
/// server caches a report for 5 s). The error names the share, its `stores`, and the last
/// status and message.
fn wait_share_healthy(api: &Rest, key: &str, stores: &str) -> Result<(), String> {
    let path = format!("/api/v1/shares/{key}/status");
    host::poll(30, 500, || {
        let (status, message) = health_report(api, &path)?;
        Ok(match status.as_str() {
            "healthy" => Health::Ready,
            _ => Health::Waiting(format!("share {SHARE} ({stores}) is {status} after 15 s: {message}; the server log (`benchhost logs`) says why it did not load")),
        })
    })
}

/// Polls `GET /api/v1/adapters` until `kind` reports `running: running` (up to 10 s; the
/// real server starts a listener within the PUT): the PUT that enables or disables it
/// answers 200 even when restarting the listener failed.
fn wait_adapter_running(api: &Rest, kind: &str, running: bool) -> Result<(), String> {
    let want = if running { "start" } else { "stop" };
    let waiting = |last: String| Health::Waiting(format!("the {kind} adapter did not {want} within 10 s ({last}); the server log (`benchhost logs`) says why"));
    host::poll(50, 200, || {
        let r = api.request("GET", "/api/v1/adapters", None)?;
        if !r.is_success() {
            return Ok(waiting(format!("GET /api/v1/adapters: HTTP {}", r.status)));
        }
        Ok(match r.json()?.as_array().and_then(|a| a.iter().find(|e| e["type"] == kind)) {
            Some(e) if e["running"] == json!(running) => Health::Ready,
            Some(e) => waiting(format!("adapter {kind} is {e}")),
            None if !running => Health::Ready,
            None => waiting(format!("adapter {kind} is not listed")),
        })
    })
}

register_plugin!(Dittofs);

#[cfg(test)]
mod profiling_and_wal_tests {
    use super::*;

    #[test]
    fn profiling_turns_on_pprof_and_metrics_on_all_interfaces() {
        let off = config_yaml(false);
        assert!(off.contains("  pprof: false") && off.contains("metrics:\n  enabled: false\n"), "{off}");
        let on = config_yaml(true);
        assert!(on.contains("  pprof: true"), "{on}");
        assert!(on.contains("metrics:\n  enabled: true\n  host: 0.0.0.0\n  port: 9090\n"), "{on}");
        assert!(on.contains("logging:\n  level: INFO"), "INFO logging stays: {on}");
    }

    #[test]
    fn cache_size_refuses_a_cap_of_one_journal_segment_on_s3() {
        assert_eq!(cache_size("1GiB", true), Ok(1 << 30));
        assert_eq!(cache_size("257MiB", true), Ok(257 << 20));
        let err = cache_size("256MiB", true).unwrap_err();
        assert!(err.starts_with("BENCH_CACHE_SIZE=256MiB is too small for DittoFS on S3") && err.contains("512MiB"), "{err}");
        assert_eq!(cache_size("16MiB", false), Ok(16 << 20), "no floor without S3");
        assert!(cache_size("lots", true).unwrap_err().contains("BENCH_CACHE_SIZE"));
    }

    #[test]
    fn wal_maps_to_relaxed_durability() {
        assert!(relaxed_durability(None), "DittoFS's default");
        assert!(relaxed_durability(Some(false)));
        assert!(!relaxed_durability(Some(true)));
    }

    #[test]
    fn wal_maps_to_the_local_store_durability() {
        assert_eq!(local_store_config(1024, None), json!({"path": "/data/content/blocks", "max_size": 1024}));
        assert_eq!(local_store_config(1024, Some(true))["durability"], "local");
        assert_eq!(local_store_config(1024, Some(false))["durability"], "writeback");
    }
}
