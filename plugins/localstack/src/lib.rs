//! LocalStack: an S3 API on port 4566 for the systems that keep data in S3 (infrastructure).
//! Its bootstrap creates the benchmark bucket (`S3_BUCKET`), so S3-backed systems start empty.
//!
//! Readiness is plain S3, so any S3-compatible image that listens on 4566 and has `curl` works
//! as `LOCALSTACK_IMAGE` (the tests use moto's server, `tests/images/moto`): `GET /`
//! (ListBuckets, no credentials) answers 200 on LocalStack and on moto, and `PUT /<bucket>`
//! answers 200, or 409 BucketAlreadyOwnedByYou when the bucket exists (LocalStack; moto
//! answers 200). The LocalStack variables (`SERVICES`, `LS_LOG`) are ignored by other images.

use benchhost_plugin_sdk::host::Http;
use benchhost_plugin_sdk::*;

struct LocalStack;

const PORT: u16 = 4566;

impl Plugin for LocalStack {
    fn describe() -> PluginInfo {
        PluginInfo::new("localstack", env!("CARGO_PKG_VERSION"), "LocalStack S3 (zero-latency S3 for measuring protocol overhead)")
            .profile(Profile::infrastructure("localstack", "LocalStack S3 API on port 4566 (infrastructure for S3-backed systems)", "s3", Some(PORT)))
            .setting(Setting::new(
                "LOCALSTACK_IMAGE",
                "localstack/localstack:4.13.1",
                "LocalStack image (pinned), or any S3-compatible server image that listens on 4566 and has curl",
            ))
            .setting(Setting::new("S3_BUCKET", "bench", "Bucket the S3-backed systems use; created by LocalStack's bootstrap"))
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, String> {
        Ok(vec![Service::new("localstack", ctx.setting("LOCALSTACK_IMAGE"))
            .env("SERVICES", "s3")
            .env("LS_LOG", "info")
            .publish(PORT, PORT)
            // ListBuckets: S3 itself answers, on LocalStack and on any S3-compatible image.
            .healthcheck(Healthcheck::cmd(&["curl", "-sf", "-o", "/dev/null", "http://localhost:4566/"], 1_000, 3_000, 60))
            .stop_signal("SIGTERM", 10_000)])
    }

    fn healthcheck(_ctx: &Context, service: &str) -> Result<Health, String> {
        // ListBuckets without credentials: 200 once the S3 API serves requests.
        Ok(probe::http_status(service, PORT, "/", 200))
    }

    fn bootstrap(ctx: &Context) -> Result<(), String> {
        let bucket = ctx.setting("S3_BUCKET");
        if bucket.is_empty() || !bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.') {
            return Err(format!("S3_BUCKET={bucket:?} is not a valid bucket name (lowercase letters, digits, '-', '.')"));
        }
        let r = Http::new("PUT", "localstack", PORT, &format!("/{bucket}")).send()?;
        // 409 BucketAlreadyOwnedByYou (LocalStack; moto answers 200): created by an earlier
        // bootstrap, which is fine. 409 BucketAlreadyExists (someone else's) is not.
        if r.is_success() || (r.status == 409 && r.text().contains("BucketAlreadyOwnedByYou")) {
            host::info(&format!("bucket {bucket} ready"));
            Ok(())
        } else {
            Err(format!("creating bucket {bucket}: HTTP {} {}", r.status, r.text()))
        }
    }
}

register_plugin!(LocalStack);
