//! LocalStack: an S3 API on port 4566 for the systems that keep data in S3 (infrastructure).
//! Its bootstrap creates the benchmark bucket (`S3_BUCKET`), so S3-backed systems start empty.
//!
//! Ready means S3 itself answers, in two steps:
//! 1. `GET /_localstack/health` reports `"s3": "running"`. The container gets
//!    `EAGER_SERVICE_LOADING=1`, so S3 is started at boot; without it LocalStack reports
//!    `"available"` until the first S3 request. The endpoint answers 200 either way, so a 200
//!    alone proves nothing.
//! 2. A bucket operation answers: ListObjectsV2 of a bucket nobody creates
//!    ([`PROBE_BUCKET`]), unsigned (LocalStack and moto serve unsigned requests), must come back
//!    from S3: 404 `NoSuchBucket` (or 200 `ListBucketResult`). `GET /` is no such check: unsigned,
//!    LocalStack 4.13.1 answers it with an empty 200 of its own, not S3's ListBuckets.
//!
//! Other S3-compatible images (`LOCALSTACK_IMAGE`, e.g. moto's server in `tests/images/moto`)
//! have no health endpoint: when `/_localstack/health` answers 404, only step 2 is checked.
//! Any other answer (a 5xx while starting, a body that is not JSON) waits. Such an image must
//! listen on 4566 and have `sh` and `curl` for the Docker healthcheck; it ignores the LocalStack
//! variables.
//!
//! Stop: SIGTERM, SIGKILL 5 s later. Once serving, LocalStack 4.13.1 exits 1-2 s after SIGTERM;
//! a SIGTERM that arrives while it starts is lost (it starts anyway and serves until SIGKILL),
//! which `tests/images/localstack` handles in the image and the short grace bounds for any other
//! image. S3 data is in memory, so a SIGKILL loses nothing.

use benchhost_plugin_sdk::host::Http;
use benchhost_plugin_sdk::*;

struct LocalStack;

const PORT: u16 = 4566;

/// LocalStack's settings for a container that serves S3 only, on every interface, with no
/// analytics calls, no certificate download and no DNS server of its own.
const LOCALSTACK_ENV: [(&str, &str); 7] = [
    ("SERVICES", "s3"),
    ("EAGER_SERVICE_LOADING", "1"),
    ("GATEWAY_LISTEN", "0.0.0.0:4566"),
    ("DISABLE_EVENTS", "1"),
    ("SKIP_SSL_CERT_DOWNLOAD", "1"),
    ("DNS_ADDRESS", "0"),
    ("LS_LOG", "info"),
];

/// The bucket the readiness check lists: a valid name no system uses, so S3 answers NoSuchBucket.
const PROBE_BUCKET: &str = "benchhost-readiness-probe";

/// The Docker healthcheck: the same two steps as [`LocalStack::healthcheck`], in the container.
/// Step 2 runs until it passes once (marked in `/tmp`); later checks, every second for the life
/// of the container, only read the health report, so LocalStack's log does not get an S3
/// request line a second. A 404 from the health endpoint (not LocalStack) skips step 1.
const DOCKER_HEALTHCHECK: &str = concat!(
    "h=$(curl -s -w ' %{http_code}' http://127.0.0.1:4566/_localstack/health) || exit 1; ",
    "case \"$h\" in ",
    "*' 200') printf '%s' \"$h\" | grep -Eq '\"s3\": ?\"running\"' || exit 1;; ",
    "*' 404') ;; ",
    "*) exit 1;; esac; ",
    "[ -f /tmp/.benchhost-s3-answered ] && exit 0; ",
    "curl -s 'http://127.0.0.1:4566/benchhost-readiness-probe?list-type=2' | grep -Eq '<Code>NoSuchBucket</Code>|<ListBucketResult' ",
    "&& touch /tmp/.benchhost-s3-answered"
);

/// What `GET /_localstack/health` says about S3: `Ok(Some(version))` when S3 is running,
/// `Ok(None)` when the endpoint does not exist (404: another S3 server), `Err(why)` otherwise.
fn localstack_s3_state(status: u16, body: &str) -> Result<Option<String>, String> {
    match status {
        404 => Ok(None),
        200 => {
            let v: serde_json::Value =
                serde_json::from_str(body).map_err(|e| format!("GET /_localstack/health answered 200 with a body that is not JSON ({e})"))?;
            match v["services"]["s3"].as_str() {
                Some("running") => Ok(Some(v["version"].as_str().unwrap_or("unknown version").to_string())),
                Some(state) => Err(format!("GET /_localstack/health reports s3 {state:?} (want \"running\")")),
                None => Err("GET /_localstack/health lists no s3 service (is SERVICES=s3 overridden?)".into()),
            }
        }
        other => Err(format!("GET /_localstack/health answered {other}")),
    }
}

/// Whether ListObjectsV2 of [`PROBE_BUCKET`] was answered by S3 (404 NoSuchBucket, or 200 with
/// a listing should someone have made it).
fn bucket_operation_answered(status: u16, body: &str) -> Result<(), String> {
    match status {
        404 if body.contains("<Code>NoSuchBucket</Code>") => Ok(()),
        200 if body.contains("<ListBucketResult") => Ok(()),
        _ => {
            let snippet: String = body.chars().take(200).collect();
            Err(format!("ListObjectsV2 of bucket {PROBE_BUCKET} answered {status}, not S3's NoSuchBucket: {}", snippet.trim()))
        }
    }
}

impl Plugin for LocalStack {
    fn describe() -> PluginInfo {
        PluginInfo::new("localstack", env!("CARGO_PKG_VERSION"), "LocalStack S3 (zero-latency S3 for measuring protocol overhead)")
            .profile(Profile::infrastructure("localstack", "LocalStack S3 API on port 4566 (infrastructure for S3-backed systems)", "s3", Some(PORT)))
            .setting(Setting::new(
                "LOCALSTACK_IMAGE",
                "localstack/localstack:4.13.1",
                "LocalStack image (pinned), or any S3-compatible server image that listens on 4566 and has sh and curl",
            ))
            .setting(Setting::new("S3_BUCKET", "bench", "Bucket the S3-backed systems use; created by LocalStack's bootstrap"))
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, Error> {
        // Refused before anything starts (`benchhost compose` passes `${...}` placeholders).
        let bucket = ctx.setting("S3_BUCKET");
        if !bucket.starts_with("${") {
            check_bucket(bucket).map_err(|e| Error::setting("S3_BUCKET", e))?;
        }
        let mut s = Service::new("localstack", ctx.setting("LOCALSTACK_IMAGE"));
        for (k, v) in LOCALSTACK_ENV {
            s = s.env(k, v);
        }
        Ok(vec![s
            .publish(PORT, PORT)
            .healthcheck(Healthcheck::cmd(&["sh", "-c", DOCKER_HEALTHCHECK], 1_000, 3_000, 60))
            .stop_signal("SIGTERM", 5_000)])
    }

    fn healthcheck(_ctx: &Context, service: &str) -> Result<Health, String> {
        let health = match Http::new("GET", service, PORT, "/_localstack/health").timeout_ms(2_000).send() {
            Ok(r) => r,
            Err(e) => return Ok(Health::Waiting(format!("GET /_localstack/health: {e}"))),
        };
        if let Err(why) = localstack_s3_state(health.status, &health.text()) {
            return Ok(Health::Waiting(why));
        }
        let path = format!("/{PROBE_BUCKET}?list-type=2");
        Ok(match Http::new("GET", service, PORT, &path).timeout_ms(2_000).send() {
            Ok(r) => match bucket_operation_answered(r.status, &r.text()) {
                Ok(()) => Health::Ready,
                Err(why) => Health::Waiting(why),
            },
            Err(e) => Health::Waiting(format!("ListObjectsV2 of bucket {PROBE_BUCKET}: {e}")),
        })
    }

    fn bootstrap(ctx: &Context) -> Result<(), String> {
        let bucket = ctx.setting("S3_BUCKET");
        check_bucket(bucket)?;
        // Which server this is, for the log (LocalStack says its version; others have no endpoint).
        let server = match Http::new("GET", "localstack", PORT, "/_localstack/health").send() {
            Ok(r) => match localstack_s3_state(r.status, &r.text()) {
                Ok(Some(version)) => format!("LocalStack {version}"),
                Ok(None) => "an S3 server without /_localstack/health (not LocalStack)".to_string(),
                Err(why) => format!("LocalStack ({why})"),
            },
            Err(_) => "an S3 server".to_string(),
        };
        let r = Http::new("PUT", "localstack", PORT, &format!("/{bucket}")).send()?;
        // An existing bucket of ours: 200 again from LocalStack and moto (us-east-1 semantics),
        // 409 BucketAlreadyOwnedByYou from S3 servers that follow other regions; both are fine.
        // 409 BucketAlreadyExists (someone else's) is not.
        if r.is_success() || (r.status == 409 && r.text().contains("BucketAlreadyOwnedByYou")) {
            host::info(&format!("bucket {bucket} ready on {server}"));
            Ok(())
        } else {
            Err(format!("creating bucket {bucket} on {server}: HTTP {} {}", r.status, r.text()))
        }
    }
}

/// S3's bucket naming rules (3 to 63 of lowercase letters, digits, '-' and '.', starting and
/// ending with a letter or digit); the error starts with the setting's name.
fn check_bucket(bucket: &str) -> Result<(), String> {
    let chars_ok = bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = bucket.starts_with(|c: char| c.is_ascii_alphanumeric()) && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if (3..=63).contains(&bucket.len()) && chars_ok && ends_ok {
        Ok(())
    } else {
        Err(format!("S3_BUCKET={bucket:?} is not a valid bucket name (3 to 63 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)"))
    }
}

register_plugin!(LocalStack);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_must_say_s3_running() {
        let running = r#"{"services": {"s3": "running", "sqs": "disabled"}, "edition": "community", "version": "4.13.1"}"#;
        assert_eq!(localstack_s3_state(200, running), Ok(Some("4.13.1".into())));
        // Without EAGER_SERVICE_LOADING the endpoint answers 200 with s3 "available".
        let lazy = r#"{"services": {"s3": "available"}, "version": "4.13.1"}"#;
        assert_eq!(localstack_s3_state(200, lazy), Err("GET /_localstack/health reports s3 \"available\" (want \"running\")".into()));
        assert!(localstack_s3_state(200, r#"{"services": {"sqs": "running"}}"#).unwrap_err().contains("no s3 service"));
        assert!(localstack_s3_state(200, "<html>").unwrap_err().contains("not JSON"));
        assert_eq!(localstack_s3_state(503, ""), Err("GET /_localstack/health answered 503".into()));
        // No such endpoint: another S3 server.
        assert_eq!(localstack_s3_state(404, "<Error><Code>NoSuchBucket</Code></Error>"), Ok(None));
    }

    #[test]
    fn the_bucket_operation_must_be_answered_by_s3() {
        let missing = "<?xml version='1.0' encoding='utf-8'?>\n<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>";
        assert_eq!(bucket_operation_answered(404, missing), Ok(()));
        assert_eq!(bucket_operation_answered(200, "<ListBucketResult xmlns=\"x\"><KeyCount>0</KeyCount></ListBucketResult>"), Ok(()));
        // LocalStack's own empty 200 (what it answers an unsigned `GET /`) is not S3.
        assert!(bucket_operation_answered(200, "").unwrap_err().starts_with("ListObjectsV2 of bucket benchhost-readiness-probe answered 200"));
        // A 404 that is not S3's (a web server's page) neither.
        assert!(bucket_operation_answered(404, "<html>Not Found</html>").is_err());
        assert!(bucket_operation_answered(500, "<Error><Code>InternalError</Code></Error>").is_err());
    }

    #[test]
    fn the_probe_bucket_is_a_valid_bucket_name_and_the_docker_healthcheck_lists_it() {
        assert!(PROBE_BUCKET.chars().all(|c| c.is_ascii_lowercase() || c == '-') && (3..=63).contains(&PROBE_BUCKET.len()));
        assert!(DOCKER_HEALTHCHECK.contains(&format!("http://127.0.0.1:4566/{PROBE_BUCKET}?list-type=2")), "{DOCKER_HEALTHCHECK}");
    }
}
