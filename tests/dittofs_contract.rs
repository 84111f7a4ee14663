//! DittoFS plugin tests without a server: the three failures the real DittoFS v0.29.0 cannot be
//! made to show on demand, each against a stand-in that answers as the v0.29.0 code does
//! (`support/dittofs_fake.rs` names the code), and the plan the plugin makes (compose service,
//! mount options) where an end-to-end run cannot show it (another OS, refused settings).
//! Everything the real server can show is in `tests/e2e_dittofs.rs`.

use benchhost::orchestration::plugins::registry::Registry;
use benchhost::orchestration::plan::settings::SettingsSource;
use benchhost::runtime::contract::{Context, DependencyCondition, HostOs};
use benchhost::runtime::{ExecResult, PluginErrorKind, PluginRuntime, RuntimeOptions, ServiceGateway};
use crate::support::dittofs_fake::{Fault, FakeDittofs};
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

fn context_for(registry: &Registry, profile: &str, env: &[(&str, &str)]) -> Context {
    let p = registry.find(profile).unwrap();
    let settings = SettingsSource::from_map(env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>());
    settings.context(&registry.plugin(p.plugin).info, profile, HostOs::Linux)
}

fn plugin(registry: &Registry) -> &benchhost::runtime::LoadedPlugin {
    registry.plugin(registry.find(PROFILE).unwrap().plugin)
}

/// Runs bootstrap of `profile` against a fake showing `fault`; returns the error text and the
/// fake.
async fn bootstrap_error(profile: &str, fault: Fault) -> (String, FakeDittofs) {
    let fake = FakeDittofs::start("benchadmin", fault).await;
    let reg = registry().await;
    let ctx = context_for(&reg, profile, &[]);
    let err = reg.runtime.bootstrap(plugin(&reg), &ctx, Arc::new(ToFake(fake.addr()))).await.expect_err("bootstrap must fail");
    assert!(matches!(err.kind, PluginErrorKind::Reported(_)), "{:?}", err.kind);
    let text = err.to_string();
    assert!(text.starts_with("plugin \"dittofs\" 0.1.0 bootstrap: "), "{text}");
    (text, fake)
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_share_that_fails_to_load_fails_bootstrap_naming_the_share_and_its_stores() {
    let started = Instant::now();
    let (err, fake) = bootstrap_error(PROFILE, Fault::ShareFailsToLoad).await;
    assert!(
        err.contains("share /export (metadata store meta, local block store local, remote block store s3 (bucket bench at http://localstack:4566)) is unknown after 15 s: share not found"),
        "{err}"
    );
    // It polled the status (the server caches a report for 5 s) and enabled no adapter.
    let calls = fake.calls();
    let polls = calls.iter().filter(|c| c.path == "/api/v1/shares/export/status").count();
    assert!(polls >= 20, "status polled {polls} times");
    assert!(calls.iter().all(|c| !c.path.starts_with("/api/v1/adapters")), "adapters touched after a dead share");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_adapter_that_fails_to_restart_fails_bootstrap() {
    let (err, fake) = bootstrap_error(PROFILE, Fault::AdapterFailsToRestart("nfs")).await;
    assert!(err.contains("the nfs adapter did not start within 10 s"), "{err}");
    assert!(err.contains("\"running\":false") && err.contains("\"port\":12049"), "the error shows the adapter: {err}");
    // The PUT itself was answered 200: only the list's `running` told.
    let put = fake.calls().into_iter().find(|c| c.method == "PUT" && c.path == "/api/v1/adapters/nfs").expect("PUT nfs");
    assert_eq!(put.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_endpoint_answered_400_reports_the_servers_detail() {
    let detail = "Failed to create metadata store: badger: directory lock held";
    let (err, fake) = bootstrap_error(PROFILE, Fault::BadRequest("/api/v1/store/metadata", detail)).await;
    assert!(err.contains("POST /api/v1/store/metadata (meta): HTTP 400") && err.contains(detail), "{err}");
    // Nothing after the failed store.
    assert!(fake.calls().iter().all(|c| !c.path.starts_with("/api/v1/store/block") && !c.path.starts_with("/api/v1/shares")));
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_compose_service_and_refused_settings() {
    let reg = registry().await;
    let ctx = context_for(&reg, PROFILE, &[]);
    let services = reg.runtime.compose_service(plugin(&reg), &ctx).await.unwrap();
    let s = &services[0];
    // The published image by default (the tests pass benchhost-test/dittofs:latest).
    assert_eq!(s.image, "marmos91c/dittofs:v0.29.0");
    let hc = s.healthcheck.as_ref().expect("healthcheck");
    assert_eq!(hc.test, ["CMD", "wget", "-q", "--spider", "http://127.0.0.1:8080/health/ready"], "IPv4: the API does not listen on ::1");
    assert_eq!((s.depends_on[0].service.as_str(), s.depends_on[0].condition), ("localstack", DependencyCondition::Healthy));

    // Another S3 endpoint: no LocalStack.
    let ctx = context_for(&reg, PROFILE, &[("S3_ENDPOINT", "https://s3.eu-central-1.amazonaws.com")]);
    assert!(reg.runtime.compose_service(plugin(&reg), &ctx).await.unwrap()[0].depends_on.is_empty());

    // Refused before anything starts, naming the setting.
    for (env, expected) in [
        (("DITTOFS_JWT_SECRET", "short"), "DITTOFS_JWT_SECRET must be at least 32 characters (it has 5)"),
        (("BENCH_CACHE_SIZE", "256MiB"), "BENCH_CACHE_SIZE=256MiB is too small for DittoFS on S3"),
        (("BENCH_CACHE_SIZE", "lots"), "BENCH_CACHE_SIZE: "),
        (("BENCH_WAL_ENABLED", "maybe"), "BENCH_WAL_ENABLED=\"maybe\" is not a yes/no value"),
    ] {
        let ctx = context_for(&reg, PROFILE, &[env]);
        let err = reg.runtime.compose_service(plugin(&reg), &ctx).await.unwrap_err().to_string();
        assert!(err.starts_with("plugin \"dittofs\" 0.1.0 compose-service: ") && err.contains(expected), "{env:?}: {err}");
    }
    // No cache on a local-only share: no floor there.
    let ctx = context_for(&reg, "dittofs-badger-fs", &[("BENCH_CACHE_SIZE", "16MiB")]);
    assert!(reg.runtime.compose_service(plugin(&reg), &ctx).await.is_ok());
    // `benchhost compose` passes placeholders: not parsed.
    let ctx = context_for(&reg, PROFILE, &[("BENCH_CACHE_SIZE", "${BENCH_CACHE_SIZE:-1GiB}")]);
    assert!(reg.runtime.compose_service(plugin(&reg), &ctx).await.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_mount_options_per_os() {
    let reg = registry().await;
    let p = plugin(&reg);
    let mut ctx = context_for(&reg, PROFILE, &[]);
    ctx.host_os = HostOs::Macos;
    let mac = reg.runtime.mount_options(p, &ctx).await.unwrap();
    assert_eq!((mac.source.as_str(), mac.options.clone()), ("127.0.0.1:/export", vec!["vers=4".to_string(), "tcp".into(), "port=12049".into(), "resvport".into()]));
    let mut ctx = context_for(&reg, "dittofs-smb", &[]);
    ctx.host_os = HostOs::Macos;
    let mac = reg.runtime.mount_options(p, &ctx).await.unwrap();
    assert_eq!((mac.protocol.as_str(), mac.source.as_str()), ("smb", "//admin@127.0.0.1:12445/export"));
}
