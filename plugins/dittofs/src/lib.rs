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
//!
//! How a cold pass empties an S3-backed share's local block store (`empty_cache`), as the
//! v0.29.0 source does it (and as DittoFS's own benchmark harness does before a cold read,
//! `internal/dfsbench/backend/dittofs.go` `dittofsEvict`): `POST /api/v1/system/drain-uploads`
//! (admin JWT; blocks until every block is uploaded, no wall-clock cap, 504 only when uploads
//! stall) until the share's `unsynced_bytes` stays at most 32 MiB, then
//! `POST /api/v1/shares/export/blockstore/evict` `{"local_only": true}`, which evicts every
//! sealed, fully uploaded journal segment and never one holding a record not yet uploaded
//! (`pkg/block/journal/reclaim.go`), and `GET /api/v1/shares/export/blockstore/stats` before
//! and after, to check that the local disk shed at least 80% of what it held (the harness's
//! gate) and that eviction was not suspended (an unhealthy remote turns it off silently).
//! `local_only` keeps the in-memory read buffer: evicting it replaces it with a no-op for the
//! process's life (`pkg/block/engine/engine.go` `DestroyCache`), and v0.29.0 never reads data
//! through it (`pkg/block/engine/read_internal.go` reads the journal or the remote), so there
//! is nothing there to empty and no restart. `dittofs-badger-fs` keeps no cache: its local
//! block store is the storage (the server refuses to evict it: "no remote store configured").
//!
//! What that eviction cannot free in v0.29.0, so the check fails instead of calling it cold
//! (reproduced with the `pkg/block/journal` package of that release): a segment is evictable only
//! when its `syncedRecords` equals its `records` (`reclaim.go` `evictable`; the active segment of
//! each of the 16 shards is force-sealed under the same condition, `sealSyncedActives`), but only
//! carve's `flipUpTo` raises `syncedRecords`, for records that still back live data
//! (`carve.go`). A write overwritten, truncated or deleted before its upload is therefore never
//! marked uploaded, while `unsynced_bytes` drops it at once (`segment.go` `appendRecord`,
//! `store.go` `Delete`/`Truncate`): its whole segment (256 MiB, one open per shard) stays local
//! with every later write appended to it, at 0 bytes unsynced. Random writes and the deletion of
//! a cell's files leave such records; restarting the server does not clear them (recovery counts
//! them again from their flags, `recovery.go`), the journal's GC repacks only sealed segments and
//! leaves the copy with `records` 0, not evictable either (`repackSegment`), and no REST route
//! reaches the journal otherwise. Only a fresh deployment (`benchhost down` removes the volumes)
//! starts with an evictable journal. `local_disk_used` is the journal's `LiveBytes + DeadBytes`
//! (`pkg/block/local/fs/fs.go` `Stats`), every payload byte written into a retained segment plus
//! again each dead one; no field tells live from dead bytes, so the check stays on the total.

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

    /// On S3: uploads drained, the share's local block store evicted and the drop checked (see
    /// the module's documentation); on the local filesystem only: no cache of its own.
    fn empty_cache(ctx: &Context) -> Result<CacheEmptied, String> {
        let v = ctx.select(VARIANTS, |v| v.name)?;
        if !v.s3 {
            return Ok(CacheEmptied::none());
        }
        let token = login(ctx)?;
        let share = SHARE.trim_start_matches('/');
        let stats_path = format!("/api/v1/shares/{share}/blockstore/stats");
        let stats = || -> Result<BlockTotals, String> { block_totals(&Rest::new(SERVICE, API).bearer(&token).get_json(&stats_path)?) };
        let before = stats()?;
        if !before.has_remote {
            return Err(format!("share {SHARE} has no remote block store, yet profile {} keeps its blocks on S3 (GET {stats_path}: has_remote false)", v.name));
        }
        let (rounds, drained) = drain_until_uploaded(&token, &stats)?;
        let r = Http::post(SERVICE, API, &format!("/api/v1/shares/{share}/blockstore/evict"))
            .bearer(&token)
            .json(&json!({"local_only": true}))
            .timeout_ms(60_000)
            .send()?;
        let freed = evict_answer(r.status, &r.text())?;
        let after = stats()?;
        check_cold(&before, &after, freed)?;
        let how = cold_how(rounds, drained.unsynced_bytes, &before, &after, freed);
        host::info(&how);
        Ok(CacheEmptied::emptied(how))
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

/// Unsynced bytes the drain tolerates as done: a file's last bytes can stay in the unsealed
/// append log until the next write, so exactly 0 may never come (DittoFS's harness,
/// `dittofsDrainDriftFloorBytes`, 32 MiB). They stay local, warm, and are never dropped.
const DRAIN_FLOOR_BYTES: i64 = 32 << 20;

/// Drain rounds before giving up (each one `drain-uploads` then the stats).
const DRAIN_ROUNDS: u32 = 10;

/// Below this many resident bytes before the eviction, its drop is not checked (the harness's
/// `dittofsColdBarrierFloorBytes`, 64 MiB: small data sets and metadata slack).
const COLD_CHECK_FLOOR_BYTES: i64 = 64 << 20;

/// What `empty_cache` reads of `GET /api/v1/shares/{name}/blockstore/stats` (`totals`, the
/// v0.29.0 `engine.BlockStoreStats`, `pkg/block/engine/stats.go`). Bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BlockTotals {
    /// `local_disk_used`: the share's local journal, the payload bytes written into its retained
    /// segments plus their dead (overwritten or deleted) bytes once more (see the module's doc).
    local_disk_used: i64,
    /// `unsynced_bytes`: local bytes not yet uploaded (never evicted).
    unsynced_bytes: i64,
    /// `pending_uploads`: blocks queued for upload.
    pending_uploads: i64,
    /// `has_remote`: the share has a remote block store.
    has_remote: bool,
    /// `eviction_suspended`: eviction is off while the remote is unhealthy.
    eviction_suspended: bool,
}

/// The `totals` of a block store stats answer; an error names the missing field.
fn block_totals(body: &Value) -> Result<BlockTotals, String> {
    let t = &body["totals"];
    let int = |k: &str| t[k].as_i64().ok_or_else(|| format!("block store stats have no integer totals.{k}: {body}"));
    Ok(BlockTotals {
        local_disk_used: int("local_disk_used")?,
        unsynced_bytes: int("unsynced_bytes")?,
        pending_uploads: int("pending_uploads")?,
        has_remote: t["has_remote"].as_bool().unwrap_or(false),
        eviction_suspended: t["eviction_suspended"].as_bool().unwrap_or(false),
    })
}

/// The answer of `POST /api/v1/system/drain-uploads`: its `duration` (Go's duration text) on
/// 200 `{"status": "drained", ...}`; an error with the server's `detail` for 504 (uploads
/// stalled: the remote stopped taking them) and any other status.
fn drain_answer(status: u16, body: &str) -> Result<String, String> {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let detail = json["detail"].as_str().map(str::to_string).unwrap_or_else(|| body.trim().chars().take(300).collect());
    match status {
        200 if json["status"] == "drained" => Ok(json["duration"].as_str().unwrap_or("?").to_string()),
        200 => Err(format!("POST /api/v1/system/drain-uploads answered 200 without status \"drained\": {body}")),
        504 => Err(format!("uploads to S3 stalled, so the local block store is kept (POST /api/v1/system/drain-uploads: HTTP 504 {detail})")),
        s => Err(format!("POST /api/v1/system/drain-uploads: HTTP {s} {detail}")),
    }
}

/// Drains uploads until the share's `unsynced_bytes` is at most [`DRAIN_FLOOR_BYTES`] after
/// two drains in a row (a drain misses chunks that roll up while it runs), at most
/// [`DRAIN_ROUNDS`] drains. Returns the drains made and the last stats. Each drain may take as
/// long as the operation's budget leaves (the server has no cap; it ends it only on a stall).
fn drain_until_uploaded(token: &str, stats: &dyn Fn() -> Result<BlockTotals, String>) -> Result<(u32, BlockTotals), String> {
    let mut stable = 0;
    let mut last = None;
    for round in 1..=DRAIN_ROUNDS {
        let r = Http::post(SERVICE, API, "/api/v1/system/drain-uploads").bearer(token).timeout_ms(175_000).send()?;
        let took = drain_answer(r.status, &r.text())?;
        let now = stats()?;
        host::log(host::Level::Debug, &format!("drain-uploads round {round} took {took}: unsynced_bytes={} pending_uploads={}", now.unsynced_bytes, now.pending_uploads));
        stable = if now.unsynced_bytes <= DRAIN_FLOOR_BYTES { stable + 1 } else { 0 };
        if stable >= 2 {
            return Ok((round, now));
        }
        last = Some(now);
        host::sleep(500);
    }
    let last = last.expect("at least one round");
    Err(format!(
        "after {DRAIN_ROUNDS} drains (POST /api/v1/system/drain-uploads) share {SHARE} still has {} MiB not uploaded ({} uploads pending), so its local block store is kept",
        last.unsynced_bytes >> 20,
        last.pending_uploads
    ))
}

/// The answer of `POST /api/v1/shares/{name}/blockstore/evict`: 200 `bytes_freed`; 400
/// (`"eviction failed"`, the cause only in the server's debug log) or anything else is an error.
fn evict_answer(status: u16, body: &str) -> Result<i64, String> {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match status {
        200 => json["bytes_freed"].as_i64().ok_or_else(|| format!("the evict answer has no bytes_freed: {body}")),
        s => {
            let detail = json["detail"].as_str().map(str::to_string).unwrap_or_else(|| body.trim().chars().take(300).collect());
            Err(format!("POST /api/v1/shares/{}/blockstore/evict: HTTP {s} {detail} (the server log at DEBUG says why)", SHARE.trim_start_matches('/')))
        }
    }
}

/// Checks that the eviction emptied the local block store: not suspended, and at least 80% of
/// the resident bytes gone when there were more than [`COLD_CHECK_FLOOR_BYTES`] (else the
/// cold pass would read local disk and call it S3). `freed` is the evict answer's `bytes_freed`.
/// The error says why the bytes stayed: more than [`DRAIN_FLOOR_BYTES`] not uploaded, or else
/// segments v0.29.0 never evicts (records overwritten or deleted before their upload, see the
/// module's doc), which only a fresh deployment clears.
fn check_cold(before: &BlockTotals, after: &BlockTotals, freed: i64) -> Result<(), String> {
    if after.eviction_suspended {
        return Err(format!("eviction is suspended while the S3 store is unhealthy, so the local block store keeps {} MiB; check S3 (`benchhost logs`)", after.local_disk_used >> 20));
    }
    if before.local_disk_used > COLD_CHECK_FLOOR_BYTES && after.local_disk_used > before.local_disk_used / 5 {
        let fell = format!(
            "the local block store only fell from {} MiB to {} MiB after the eviction (want at least 80% gone; {} MiB freed, {} MiB not uploaded), so a cold pass would read local disk",
            before.local_disk_used >> 20,
            after.local_disk_used >> 20,
            freed >> 20,
            after.unsynced_bytes >> 20
        );
        if after.unsynced_bytes > DRAIN_FLOOR_BYTES {
            return Err(fell);
        }
        return Err(format!(
            "{fell}. DittoFS v0.29.0 evicts only journal segments whose every record is marked uploaded, and never marks (nor counts as \
             not uploaded) a write overwritten or deleted before its upload, as random writes and the deletion of earlier cells' files \
             leave them: such a segment (256 MiB, one open per shard) keeps itself and the data written into it since on local disk, \
             through restarts and the journal's GC. Only a fresh deployment (`benchhost down`, which removes its volumes, then `up`) \
             starts with an evictable journal (`benchhost bench` deploys one for such a cell)"
        ));
    }
    Ok(())
}

/// `bytes` in MiB with one decimal, for the record.
fn mib(bytes: i64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// The record's line for a cold pass: what was drained and evicted, with the local disk's size
/// before and after.
fn cold_how(rounds: u32, unsynced: i64, before: &BlockTotals, after: &BlockTotals, freed: i64) -> String {
    let left = if unsynced > 0 { format!("; {} not yet uploaded stays local", mib(unsynced)) } else { String::new() };
    format!(
        "uploads drained (POST /api/v1/system/drain-uploads, {rounds} round{}), the local block store evicted \
         (POST /api/v1/shares/export/blockstore/evict local_only: {} freed, local disk {} -> {}{left})",
        if rounds == 1 { "" } else { "s" },
        mib(freed),
        mib(before.local_disk_used),
        mib(after.local_disk_used)
    )
}

register_plugin!(Dittofs);

#[cfg(test)]
mod empty_cache_tests {
    use super::*;

    /// A stats answer as v0.29.0 writes it (`BlockStoreStatsResponse`, fields of
    /// `engine.BlockStoreStats`), trimmed to a few fields plus some it does not read.
    fn stats(used: i64, unsynced: i64, suspended: bool) -> Value {
        json!({"totals": {"file_count": 3, "blocks_dirty": 0, "local_disk_used": used, "local_disk_max": 1i64 << 30,
                          "unsynced_bytes": unsynced, "pending_uploads": 2, "has_remote": true, "eviction_suspended": suspended,
                          "read_buffer_entries": 0, "remote_healthy": !suspended},
               "per_share": [{"share_name": "/export", "stats": {}}]})
    }

    fn totals(used: i64, unsynced: i64) -> BlockTotals {
        BlockTotals { local_disk_used: used, unsynced_bytes: unsynced, pending_uploads: 0, has_remote: true, eviction_suspended: false }
    }

    #[test]
    fn stats_totals_are_read() {
        let t = block_totals(&stats(300 << 20, 5, false)).unwrap();
        assert_eq!(t, BlockTotals { local_disk_used: 300 << 20, unsynced_bytes: 5, pending_uploads: 2, has_remote: true, eviction_suspended: false });
        let err = block_totals(&json!({"totals": {"local_disk_used": 1}})).unwrap_err();
        assert!(err.starts_with("block store stats have no integer totals.unsynced_bytes"), "{err}");
        // A share without a remote reports has_remote false (omitted fields read as false).
        let local = block_totals(&json!({"totals": {"local_disk_used": 1, "unsynced_bytes": 0, "pending_uploads": 0}})).unwrap();
        assert!(!local.has_remote && !local.eviction_suspended);
    }

    #[test]
    fn drain_answers() {
        assert_eq!(drain_answer(200, r#"{"duration":"1.5s","status":"drained"}"#), Ok("1.5s".to_string()));
        let stalled = r#"{"type":"about:blank","title":"Gateway Timeout","status":504,"detail":"drain uploads stalled: no upload progress within 5m0s: context canceled"}"#;
        assert_eq!(
            drain_answer(504, stalled).unwrap_err(),
            "uploads to S3 stalled, so the local block store is kept (POST /api/v1/system/drain-uploads: HTTP 504 drain uploads stalled: no upload progress within 5m0s: context canceled)"
        );
        assert_eq!(drain_answer(500, "boom\n").unwrap_err(), "POST /api/v1/system/drain-uploads: HTTP 500 boom");
        assert!(drain_answer(200, "{}").unwrap_err().contains("without status \"drained\""));
    }

    #[test]
    fn evict_answers() {
        assert_eq!(evict_answer(200, r#"{"read_buffer_entries_cleared":0,"local_files_evicted":2,"bytes_freed":268435456}"#), Ok(256 << 20));
        let refused = r#"{"type":"about:blank","title":"Bad Request","status":400,"detail":"eviction failed"}"#;
        assert_eq!(evict_answer(400, refused).unwrap_err(), "POST /api/v1/shares/export/blockstore/evict: HTTP 400 eviction failed (the server log at DEBUG says why)");
        assert!(evict_answer(200, "{}").unwrap_err().contains("no bytes_freed"));
    }

    #[test]
    fn the_drop_is_checked_as_dittofs_harness_does() {
        // 1 GiB resident, 10 MiB left: cold.
        assert_eq!(check_cold(&totals(1 << 30, 0), &totals(10 << 20, 0), 1014 << 20), Ok(()));
        // 1 GiB resident, 300 MiB left of which 200 MiB not uploaded: not cold, for that reason.
        let err = check_cold(&totals(1 << 30, 0), &totals(300 << 20, 200 << 20), 724 << 20).unwrap_err();
        assert_eq!(err, "the local block store only fell from 1024 MiB to 300 MiB after the eviction (want at least 80% gone; 724 MiB freed, 200 MiB not uploaded), so a cold pass would read local disk");
        // Under 64 MiB resident: not checked.
        assert_eq!(check_cold(&totals(60 << 20, 0), &totals(60 << 20, 0), 0), Ok(()));
        let mut suspended = totals(1 << 30, 0);
        suspended.eviction_suspended = true;
        assert!(check_cold(&totals(1 << 30, 0), &suspended, 0).unwrap_err().starts_with("eviction is suspended while the S3 store is unhealthy, so the local block store keeps 1024 MiB"));
    }

    #[test]
    fn a_drained_store_that_keeps_its_bytes_is_explained() {
        // As measured after rand-write (81 -> 81 MiB) and mixed-rw (307 -> 307 MiB): all uploaded,
        // nothing freed. The segments are pinned by records overwritten or deleted before upload.
        let err = check_cold(&totals(81 << 20, 0), &totals(81 << 20, 0), 0).unwrap_err();
        assert!(
            err.starts_with("the local block store only fell from 81 MiB to 81 MiB after the eviction (want at least 80% gone; 0 MiB freed, 0 MiB not uploaded), so a cold pass would read local disk. DittoFS v0.29.0 evicts only journal segments whose every record is marked uploaded"),
            "{err}"
        );
        assert!(err.contains("a write overwritten or deleted before its upload") && err.contains("through restarts and the journal's GC"), "{err}");
        assert!(err.ends_with("Only a fresh deployment (`benchhost down`, which removes its volumes, then `up`) starts with an evictable journal (`benchhost bench` deploys one for such a cell)"), "{err}");
        // Up to the drain's floor not uploaded is still the pinned case (the drain stops there).
        assert!(check_cold(&totals(307 << 20, 0), &totals(307 << 20, DRAIN_FLOOR_BYTES), 0).unwrap_err().contains("DittoFS v0.29.0 evicts only"));
        assert!(!check_cold(&totals(307 << 20, 0), &totals(307 << 20, DRAIN_FLOOR_BYTES + 1), 0).unwrap_err().contains("DittoFS v0.29.0"));
    }

    #[test]
    fn the_record_line() {
        assert_eq!(
            cold_how(2, 0, &totals(1 << 30, 0), &totals(0, 0), 1 << 30),
            "uploads drained (POST /api/v1/system/drain-uploads, 2 rounds), the local block store evicted \
             (POST /api/v1/shares/export/blockstore/evict local_only: 1024.0 MiB freed, local disk 1024.0 MiB -> 0.0 MiB)"
        );
        assert!(cold_how(1, 3 << 20, &totals(5 << 20, 3 << 20), &totals(3 << 20, 3 << 20), 2 << 20).contains("1 round), ") && cold_how(1, 3 << 20, &totals(0, 0), &totals(0, 0), 0).ends_with("; 3.0 MiB not yet uploaded stays local)"));
    }

    #[test]
    fn a_local_only_profile_has_no_cache_of_its_own() {
        let ctx = Context { profile: "dittofs-badger-fs".into(), settings: vec![], host_os: HostOs::Linux };
        assert_eq!(<Dittofs as Plugin>::empty_cache(&ctx), Ok(CacheEmptied::none()));
    }
}

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
