//! DittoFS **contract tests**: the `dittofs` plugin, run through the real wasm runtime and
//! host imports, against a fake DittoFS v0.29 control plane (`support/dittofs_fake.rs`) that
//! implements the endpoints and status codes of `shared/reference/dittofs.md`. DittoFS itself
//! cannot be built on this machine; these tests pin the REST conversation instead.

#[path = "support/dittofs_fake.rs"]
mod dittofs_fake;

use benchhost::orchestration::registry::Registry;
use benchhost::orchestration::settings::SettingsSource;
use benchhost::runtime::contract::{Context, DependencyCondition, Health, HostOs};
use benchhost::runtime::{ExecResult, PluginErrorKind, PluginRuntime, RuntimeOptions, ServiceGateway};
use dittofs_fake::FakeDittofs;
use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

const PROFILE: &str = "dittofs-badger-s3";

/// Routes the plugin's `dittofs:8080` to the fake; everything else is refused.
struct ToFake(SocketAddr);

impl ServiceGateway for ToFake {
    fn resolve(&self, service: &str, port: u16) -> Result<SocketAddr, String> {
        if service == "dittofs" && port == 8080 { Ok(self.0) } else { Err(format!("{service}:{port} is not reachable in this test")) }
    }
    fn exec<'a>(&'a self, _s: &'a str, _a: Vec<String>, _t: Duration) -> BoxFuture<'a, Result<ExecResult, String>> {
        Box::pin(async { Err("no exec in this test".to_string()) })
    }
}

async fn registry() -> Registry {
    Registry::load(PluginRuntime::new(RuntimeOptions::default()).unwrap()).await.unwrap()
}

fn context(registry: &Registry, env: &[(&str, &str)]) -> Context {
    context_for(registry, PROFILE, env)
}

fn context_for(registry: &Registry, profile: &str, env: &[(&str, &str)]) -> Context {
    let p = registry.find(profile).unwrap();
    let settings = SettingsSource::from_map(env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>());
    settings.context(&registry.plugin(p.plugin).info, profile, HostOs::Linux)
}

/// Runs bootstrap of `profile` against a fresh fake; returns the fake.
async fn bootstrap_profile(reg: &Registry, profile: &str, env: &[(&str, &str)]) -> FakeDittofs {
    let fake = FakeDittofs::start("benchadmin").await;
    let ctx = context_for(reg, profile, env);
    reg.runtime.bootstrap(plugin(reg), &ctx, Arc::new(ToFake(fake.addr()))).await.unwrap_or_else(|e| panic!("{profile}: {e}"));
    fake
}

fn posted(fake: &FakeDittofs, path: &str) -> Option<Value> {
    fake.calls().into_iter().find(|c| c.method == "POST" && c.path == path).and_then(|c| c.body)
}

fn plugin(registry: &Registry) -> &benchhost::runtime::LoadedPlugin {
    registry.plugin(registry.find(PROFILE).unwrap().plugin)
}

/// The `config` field of a store body: must be a JSON *string* holding an object (§5).
fn store_config(body: &Value) -> Value {
    let s = body["config"].as_str().unwrap_or_else(|| panic!("config must be a JSON string, got {}", body["config"]));
    serde_json::from_str(s).expect("config string holds JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_bootstrap_sends_the_reference_sequence_and_is_idempotent() {
    let fake = FakeDittofs::start("benchadmin").await;
    let reg = registry().await;
    let ctx = context(&reg, &[]);
    let gw = Arc::new(ToFake(fake.addr()));

    reg.runtime.bootstrap(plugin(&reg), &ctx, gw.clone()).await.expect("bootstrap succeeds");

    let calls = fake.calls();
    let seq: Vec<(String, String, u16)> = calls.iter().map(|c| (c.method.clone(), c.path.clone(), c.status)).collect();
    let expected: Vec<(&str, &str, u16)> = vec![
        ("POST", "/api/v1/auth/login", 200),
        ("GET", "/api/v1/store/metadata/meta", 404),
        ("POST", "/api/v1/store/metadata", 201),
        ("GET", "/api/v1/store/block/local/local", 404),
        ("POST", "/api/v1/store/block/local", 201),
        ("GET", "/api/v1/store/block/remote/s3", 404),
        ("POST", "/api/v1/store/block/remote", 201),
        ("GET", "/api/v1/shares/export", 404),
        ("POST", "/api/v1/shares", 201),
        ("GET", "/api/v1/shares/export/status", 200),
        ("PATCH", "/api/v1/shares/export/adapters/nfs/config", 200),
        ("PUT", "/api/v1/adapters/nfs", 200),
        ("PUT", "/api/v1/adapters/smb", 200),
        ("GET", "/api/v1/adapters", 200),
    ];
    let expected: Vec<(String, String, u16)> = expected.into_iter().map(|(m, p, s)| (m.into(), p.into(), s)).collect();
    assert_eq!(seq, expected);
    // Every call after login carries the admin token.
    assert!(calls[1..].iter().all(|c| c.authorized), "unauthorized call in {calls:#?}");

    // Login with the admin password from the settings (default benchadmin).
    assert_eq!(calls[0].body, Some(json!({"username": "admin", "password": "benchadmin"})));
    // Metadata store: badger under the metadata volume; config is a JSON string.
    let meta = calls[2].body.clone().unwrap();
    assert_eq!((meta["name"].as_str(), meta["type"].as_str()), (Some("meta"), Some("badger")));
    assert_eq!(store_config(&meta), json!({"path": "/data/metadata/badger"}));
    // Local fs block store sized by BENCH_CACHE_SIZE (default 1GiB).
    let local = calls[4].body.clone().unwrap();
    assert_eq!((local["name"].as_str(), local["type"].as_str()), (Some("local"), Some("fs")));
    assert_eq!(store_config(&local), json!({"path": "/data/content/blocks", "max_size": 1u64 << 30}));
    // Remote S3 store: keys required, LocalStack needs allow_private_endpoint (§5B).
    let remote = calls[6].body.clone().unwrap();
    assert_eq!((remote["name"].as_str(), remote["type"].as_str()), (Some("s3"), Some("s3")));
    assert_eq!(
        store_config(&remote),
        json!({
            "bucket": "bench", "region": "us-east-1", "endpoint": "http://localstack:4566",
            "access_key_id": "test", "secret_access_key": "test",
            "force_path_style": true, "allow_private_endpoint": true
        })
    );
    // Share /export, read-write for squashed clients, on the three stores.
    assert_eq!(
        calls[8].body,
        Some(json!({"name": "/export", "metadata_store_id": "meta", "local_block_store": "local", "remote_block_store": "s3", "default_permission": "read-write"}))
    );
    assert_eq!(calls[10].body, Some(json!({"squash": "none"})));
    assert_eq!(calls[11].body, Some(json!({"enabled": true, "port": 12049})));
    assert_eq!(calls[12].body, Some(json!({"enabled": false})));

    // The server ends in the provisioned state: only NFS enabled, on 12049.
    let state = fake.state();
    assert_eq!(state["adapters"]["nfs"]["enabled"], json!(true));
    assert_eq!(state["adapters"]["nfs"]["port"], json!(12049));
    assert_eq!(state["adapters"]["smb"]["enabled"], json!(false));
    assert_eq!(state["shares"]["/export"]["default_permission"], json!("read-write"));
    let before = state.clone();

    // A second run creates nothing new: no POST but the login, and the same state.
    fake.clear_calls();
    reg.runtime.bootstrap(plugin(&reg), &ctx, gw).await.expect("second bootstrap succeeds");
    let again = fake.calls();
    let posts: Vec<&str> = again.iter().filter(|c| c.method == "POST").map(|c| c.path.as_str()).collect();
    assert_eq!(posts, vec!["/api/v1/auth/login"], "second run must only log in and read: {again:#?}");
    assert!(again.iter().all(|c| c.status < 400), "second run hit an error: {again:#?}");
    let after = fake.state();
    for key in ["metadata_stores", "local_block_stores", "remote_block_stores", "shares", "adapters"] {
        assert_eq!(after[key], before[key], "{key} changed on re-run");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_settings_reach_the_bodies() {
    let fake = FakeDittofs::start("s3cret-admin").await;
    let reg = registry().await;
    let ctx = context(
        &reg,
        &[
            ("DITTOFS_ADMIN_PASSWORD", "s3cret-admin"),
            ("S3_BUCKET", "other-bucket"),
            ("S3_ENDPOINT", "http://minio:9000"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "SECRETKEY"),
            ("BENCH_CACHE_SIZE", "256M"),
        ],
    );
    reg.runtime.bootstrap(plugin(&reg), &ctx, Arc::new(ToFake(fake.addr()))).await.unwrap();
    let calls = fake.calls();
    let body = |path: &str| calls.iter().find(|c| c.method == "POST" && c.path == path).and_then(|c| c.body.clone()).unwrap();
    assert_eq!(body("/api/v1/auth/login")["password"], json!("s3cret-admin"));
    assert_eq!(store_config(&body("/api/v1/store/block/local"))["max_size"], json!(256u64 << 20));
    let s3 = store_config(&body("/api/v1/store/block/remote"));
    assert_eq!((s3["bucket"].as_str(), s3["endpoint"].as_str()), (Some("other-bucket"), Some("http://minio:9000")));
    assert_eq!((s3["access_key_id"].as_str(), s3["secret_access_key"].as_str()), (Some("AKID"), Some("SECRETKEY")));
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_wrong_admin_password_names_plugin_operation_and_hint() {
    let fake = FakeDittofs::start("the-real-one").await;
    let reg = registry().await;
    let ctx = context(&reg, &[]);
    let err = reg.runtime.bootstrap(plugin(&reg), &ctx, Arc::new(ToFake(fake.addr()))).await.unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("plugin \"dittofs\" 0.1.0 bootstrap: "), "{text}");
    assert!(matches!(err.kind, PluginErrorKind::Reported(_)), "{:?}", err.kind);
    assert!(text.contains("401") && text.contains("DITTOFS_ADMIN_PASSWORD"), "{text}");
    // Nothing was provisioned after the failed login.
    assert!(fake.calls().iter().all(|c| c.path == "/api/v1/auth/login"));
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_healthcheck_waits_for_ready_then_reports_ready() {
    let fake = FakeDittofs::start("benchadmin").await;
    fake.set_not_ready_for(2);
    let reg = registry().await;
    let ctx = context(&reg, &[]);
    let gw = Arc::new(ToFake(fake.addr()));
    let p = plugin(&reg);
    for _ in 0..2 {
        match reg.runtime.healthcheck(p, &ctx, "dittofs", gw.clone(), None).await.unwrap() {
            Health::Waiting(why) => assert!(why.contains("/health/ready") && why.contains("503"), "{why}"),
            Health::Ready => panic!("ready while the server answers 503"),
        }
    }
    assert_eq!(reg.runtime.healthcheck(p, &ctx, "dittofs", gw, None).await.unwrap(), Health::Ready);
    let paths: Vec<_> = fake.calls().iter().map(|c| (c.path.clone(), c.status)).collect();
    assert_eq!(paths, vec![("/health/ready".to_string(), 503), ("/health/ready".to_string(), 503), ("/health/ready".to_string(), 200)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_compose_service_matches_the_reference_checklist() {
    let reg = registry().await;
    let ctx = context(&reg, &[]);
    let services = reg.runtime.compose_service(plugin(&reg), &ctx).await.unwrap();
    assert_eq!(services.len(), 1);
    let s = &services[0];
    assert_eq!(s.name, "dittofs");
    assert_eq!(s.image, "marmos91c/dittofs:v0.29.0");
    assert_eq!(s.command.as_deref(), Some(&["start", "--foreground", "--config", "/config/config.yaml"].map(String::from)[..]));
    let env: HashMap<_, _> = s.environment.iter().cloned().collect();
    assert_eq!(env.get("DITTOFS_ADMIN_INITIAL_PASSWORD").map(String::as_str), Some("benchadmin"));
    assert!(env.get("DITTOFS_CONTROLPLANE_SECRET").is_some_and(|v| v.len() >= 32));
    let config = &s.files.iter().find(|f| f.path == "/config/config.yaml").expect("config file").contents;
    for needle in ["host: 0.0.0.0", "output: stdout", "port: 8080", "level: INFO"] {
        assert!(config.contains(needle), "config lacks {needle:?}:\n{config}");
    }
    let ports: Vec<(u16, u16)> = s.ports.iter().map(|p| (p.container, p.host)).collect();
    assert_eq!(ports, vec![(12049, 12049), (8080, 8080)]);
    assert_eq!(s.depends_on.len(), 1);
    assert_eq!((s.depends_on[0].service.as_str(), s.depends_on[0].condition), ("localstack", DependencyCondition::Healthy));

    // A real S3 endpoint: LocalStack is not a dependency.
    let ctx = context(&reg, &[("S3_ENDPOINT", "https://s3.eu-central-1.amazonaws.com")]);
    let services = reg.runtime.compose_service(plugin(&reg), &ctx).await.unwrap();
    assert!(services[0].depends_on.is_empty());

    // A short JWT secret is refused with the setting's name.
    let ctx = context(&reg, &[("DITTOFS_JWT_SECRET", "short")]);
    let err = reg.runtime.compose_service(plugin(&reg), &ctx).await.unwrap_err();
    assert_eq!(err.to_string(), "plugin \"dittofs\" 0.1.0 compose-service: DITTOFS_JWT_SECRET must be at least 32 characters (it has 5)");
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_mount_options_pin_the_nfs_version_per_os() {
    let reg = registry().await;
    let p = plugin(&reg);
    let mut ctx = context(&reg, &[]);
    let linux = reg.runtime.mount_options(p, &ctx).await.unwrap();
    assert_eq!((linux.protocol.as_str(), linux.source.as_str()), ("nfs", "127.0.0.1:/export"));
    assert_eq!(linux.options, vec!["vers=4.1", "tcp", "port=12049"]);
    ctx.host_os = HostOs::Macos;
    let mac = reg.runtime.mount_options(p, &ctx).await.unwrap();
    assert_eq!(mac.options, vec!["vers=4", "tcp", "port=12049", "resvport"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_postgres_s3_metadata_store_body() {
    let reg = registry().await;
    let fake = bootstrap_profile(&reg, "dittofs-postgres-s3", &[("POSTGRES_USER", "pguser"), ("POSTGRES_PASSWORD", "pgpass"), ("POSTGRES_DB", "pgdb")]).await;
    let meta = posted(&fake, "/api/v1/store/metadata").expect("metadata store created");
    assert_eq!((meta["name"].as_str(), meta["type"].as_str()), (Some("meta"), Some("postgres")));
    assert_eq!(
        store_config(&meta),
        json!({"host": "postgres", "port": 5432, "user": "pguser", "password": "pgpass", "database": "pgdb", "sslmode": "disable"})
    );
    // Blocks still go to S3, and NFS is the adapter under test.
    assert!(posted(&fake, "/api/v1/store/block/remote").is_some());
    assert_eq!(fake.state()["adapters"]["nfs"]["enabled"], json!(true));
    assert_eq!(fake.state()["adapters"]["smb"]["enabled"], json!(false));
    // It depends on both infrastructure profiles.
    let ctx = context_for(&reg, "dittofs-postgres-s3", &[]);
    let s = reg.runtime.compose_service(plugin(&reg), &ctx).await.unwrap();
    let deps: Vec<&str> = s[0].depends_on.iter().map(|d| d.service.as_str()).collect();
    assert_eq!(deps, vec!["localstack", "postgres"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_badger_fs_uses_only_the_local_block_store() {
    let reg = registry().await;
    let fake = bootstrap_profile(&reg, "dittofs-badger-fs", &[]).await;
    assert!(fake.calls().iter().all(|c| !c.path.starts_with("/api/v1/store/block/remote")), "no remote store may be touched");
    let share = posted(&fake, "/api/v1/shares").unwrap();
    assert_eq!(share, json!({"name": "/export", "metadata_store_id": "meta", "local_block_store": "local", "default_permission": "read-write"}));
    assert_eq!(store_config(&posted(&fake, "/api/v1/store/metadata").unwrap()), json!({"path": "/data/metadata/badger"}));
    assert!(fake.state()["remote_block_stores"].as_object().is_none_or(|m| m.is_empty()));
    // No S3, so no LocalStack.
    let ctx = context_for(&reg, "dittofs-badger-fs", &[]);
    let s = reg.runtime.compose_service(plugin(&reg), &ctx).await.unwrap();
    assert!(s[0].depends_on.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_smb_enables_smb_on_12445_and_disables_nfs() {
    let reg = registry().await;
    let fake = bootstrap_profile(&reg, "dittofs-smb", &[]).await;
    let puts: Vec<(String, Option<Value>)> =
        fake.calls().into_iter().filter(|c| c.method == "PUT" && c.path.starts_with("/api/v1/adapters/")).map(|c| (c.path, c.body)).collect();
    assert_eq!(
        puts,
        vec![
            ("/api/v1/adapters/smb".to_string(), Some(json!({"enabled": true, "port": 12445}))),
            ("/api/v1/adapters/nfs".to_string(), Some(json!({"enabled": false}))),
        ]
    );
    let state = fake.state();
    assert_eq!((state["adapters"]["smb"]["enabled"].as_bool(), state["adapters"]["smb"]["port"].as_u64()), (Some(true), Some(12445)));
    assert_eq!(state["adapters"]["nfs"]["enabled"], json!(false));
    // No NFS squash patch for an SMB-only profile.
    assert!(fake.calls().iter().all(|c| c.method != "PATCH"));
    // Published: SMB 12445 and the API, not NFS.
    let ctx = context_for(&reg, "dittofs-smb", &[]);
    let s = reg.runtime.compose_service(plugin(&reg), &ctx).await.unwrap();
    let ports: Vec<(u16, u16)> = s[0].ports.iter().map(|p| (p.container, p.host)).collect();
    assert_eq!(ports, vec![(12445, 12445), (8080, 8080)]);
    let m = reg.runtime.mount_options(plugin(&reg), &ctx).await.unwrap();
    assert_eq!((m.protocol.as_str(), m.source.as_str()), ("smb", "//127.0.0.1/export"));
    assert_eq!(m.options, vec!["port=12445", "vers=3.0", "username=admin"]);
}
