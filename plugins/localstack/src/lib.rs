//! LocalStack: an S3 API on port 4566 for the systems that keep data in S3 (infrastructure).
//! Its bootstrap creates the benchmark bucket (`S3_BUCKET`), so S3-backed systems start empty.

use benchhost_plugin_sdk::host::Http;
use benchhost_plugin_sdk::*;

struct LocalStack;

const PORT: u16 = 4566;

impl Plugin for LocalStack {
    fn describe() -> PluginInfo {
        PluginInfo::new("localstack", env!("CARGO_PKG_VERSION"), "LocalStack S3 (zero-latency S3 for measuring protocol overhead)")
            .profile(Profile::infrastructure("localstack", "LocalStack S3 API on port 4566 (infrastructure for S3-backed systems)", "s3", Some(PORT)))
            .setting(Setting::new("LOCALSTACK_IMAGE", "localstack/localstack:4.13.1", "LocalStack image (pinned)"))
            .setting(Setting::new("S3_BUCKET", "bench", "Bucket the S3-backed systems use; created by LocalStack's bootstrap"))
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, String> {
        Ok(vec![Service::new("localstack", ctx.setting("LOCALSTACK_IMAGE"))
            .env("SERVICES", "s3")
            .env("LS_LOG", "info")
            .publish(PORT, PORT)
            .healthcheck(Healthcheck::cmd(&["curl", "-sf", "http://localhost:4566/_localstack/health"], 1_000, 3_000, 60))
            .stop_signal("SIGTERM", 10_000)])
    }

    fn healthcheck(_ctx: &Context, service: &str) -> Result<Health, String> {
        let r = match Http::new("GET", service, PORT, "/_localstack/health").timeout_ms(2_000).send() {
            Ok(r) => r,
            Err(e) => return Ok(Health::Waiting(e)),
        };
        if r.status != 200 {
            return Ok(Health::Waiting(format!("/_localstack/health answered {}", r.status)));
        }
        let s3 = r.json().ok().and_then(|j| j["services"]["s3"].as_str().map(str::to_string)).unwrap_or_default();
        Ok(match s3.as_str() {
            "available" | "running" => Health::Ready,
            other => Health::Waiting(format!("LocalStack s3 service is {other:?}")),
        })
    }

    fn bootstrap(ctx: &Context) -> Result<(), String> {
        let bucket = ctx.setting("S3_BUCKET");
        if bucket.is_empty() || !bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.') {
            return Err(format!("S3_BUCKET={bucket:?} is not a valid bucket name (lowercase letters, digits, '-', '.')"));
        }
        let r = Http::new("PUT", "localstack", PORT, &format!("/{bucket}")).send()?;
        // 409 BucketAlreadyOwnedByYou: created by an earlier bootstrap, which is fine.
        if r.is_success() || r.status == 409 {
            host::info(&format!("bucket {bucket} ready"));
            Ok(())
        } else {
            Err(format!("creating bucket {bucket}: HTTP {} {}", r.status, r.text()))
        }
    }
}

register_plugin!(LocalStack);
