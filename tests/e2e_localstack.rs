//! End-to-end on the real Docker engine: the `localstack` infrastructure plugin on real
//! LocalStack 4.13.1 (`tests/images/build.sh localstack`), and on a second S3 implementation,
//! moto's server (`tests/images/build.sh moto`), which has no `/_localstack/health`: the plugin
//! must work with any S3-compatible image. S3 is driven with curl (SigV4-signed with the
//! default keys `test`/`test`, path-style), as an S3 client would.

use crate::support::docker::{self, benchhost, docker, engine_or_skip, force_clean, leftovers, text};
use std::process::Command;
use std::time::Instant;

const LOCALSTACK_IMAGE: &str = "benchhost-test/localstack:latest";
const MOTO_IMAGE: &str = "benchhost-test/moto:latest";
const CONTAINER: &str = "benchhost-localstack-localstack";

/// Removes the profile even when an assertion fails half-way.
struct Cleanup;
impl Drop for Cleanup {
    fn drop(&mut self) {
        force_clean("localstack");
    }
}

/// `curl -X method` on the published port 4566, SigV4-signed, with `body` (if any) uploaded:
/// (HTTP status, response body, seconds taken).
fn s3(method: &str, path: &str, body: Option<&[u8]>) -> (u16, Vec<u8>, f64) {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out");
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "test:test", "-X", method, "-w", "%{http_code}", "-o"]).arg(&out_file);
    if let Some(b) = body {
        let in_file = dir.path().join("in");
        std::fs::write(&in_file, b).unwrap();
        cmd.arg("--data-binary").arg(format!("@{}", in_file.display())).args(["-H", "Content-Type: application/octet-stream"]);
    }
    let t = Instant::now();
    let out = cmd.arg(format!("http://127.0.0.1:4566{path}")).output().expect("curl (apt-get install curl; --aws-sigv4 needs curl >= 7.75)");
    let secs = t.elapsed().as_secs_f64();
    (text(&out.stdout).trim().parse().unwrap_or(0), std::fs::read(&out_file).unwrap_or_default(), secs)
}

/// An unsigned GET on the published port: (HTTP status, body).
fn plain_get(path: &str) -> (u16, String) {
    let out = Command::new("curl").args(["-s", "-w", "\n%{http_code}"]).arg(format!("http://127.0.0.1:4566{path}")).output().expect("curl");
    let all = text(&out.stdout);
    let (body, status) = all.rsplit_once('\n').unwrap_or(("", &all));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn e2e_localstack_real_server_is_ready_when_s3_answers() {
    let Some(_engine) = engine_or_skip("e2e_localstack_real_server_is_ready_when_s3_answers", Some(LOCALSTACK_IMAGE)) else { return };
    force_clean("localstack");
    let _cleanup = Cleanup;

    let t = Instant::now();
    let up = benchhost(&["-v", "up", "localstack"], &[("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE)]);
    let up_secs = t.elapsed().as_secs_f64();
    let err = text(&up.stderr);
    assert!(up.status.success(), "up failed ({:?}):\n{err}", up.status.code());
    eprintln!("up localstack: {up_secs:.2}s\n{err}");
    // Bootstrap made the bucket on the real server and says which one it is (an info line: -v).
    assert!(err.contains("bucket bench ready on LocalStack 4.13.1"), "{err}");

    // What the readiness check saw: S3 running, every other service off, the pinned version.
    let (status, body) = plain_get("/_localstack/health");
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).expect("health is JSON");
    assert_eq!(health["version"], "4.13.1", "{health}");
    assert_eq!(health["services"]["s3"], "running", "{health}");
    let running: Vec<&String> = health["services"].as_object().unwrap().iter().filter(|(_, v)| *v != "disabled").map(|(k, _)| k).collect();
    assert_eq!(running, ["s3"], "only S3 should be enabled: {health}");

    // The image: LocalStack's version label, tini as PID 1, the plugin's settings in the env.
    let label = docker(&["image", "inspect", "-f", "{{index .Config.Labels \"benchhost.localstack-version\"}}", LOCALSTACK_IMAGE]);
    assert_eq!(text(&label.stdout).trim(), "4.13.1");
    let path = docker(&["inspect", "-f", "{{.Path}} {{json .Args}}", CONTAINER]);
    assert_eq!(text(&path.stdout).trim(), r#"/usr/bin/tini ["--","/usr/local/bin/localstack-s3"]"#);
    let env = text(&docker(&["inspect", "-f", "{{json .Config.Env}}", CONTAINER]).stdout);
    for kv in ["SERVICES=s3", "EAGER_SERVICE_LOADING=1", "GATEWAY_LISTEN=0.0.0.0:4566", "DISABLE_EVENTS=1", "SKIP_SSL_CERT_DOWNLOAD=1", "DNS_ADDRESS=0"] {
        assert!(env.contains(kv), "{kv} missing from the container's environment: {env}");
    }
    // Docker runs no healthcheck (the image's HEALTHCHECK is off too); the plugin's `sh -c`
    // command, kept in a label, passes on the real image when status runs it.
    assert!(docker::assert_no_docker_healthcheck(CONTAINER).starts_with(r#"["sh","-c","#));
    let entry = docker::status_of(CONTAINER);
    assert_eq!((entry["health"].as_str(), entry["health_output"].as_str()), (Some("healthy"), None), "{entry}");

    // S3 itself, signed as a client signs: the bucket exists, an object goes in and comes back.
    let payload = docker::pattern(300_123);
    let (status, body, first_secs) = s3("PUT", "/bench/dir/obj.bin", Some(&payload));
    assert_eq!(status, 200, "PutObject: {}", text(&body));
    let (status, body, _) = s3("GET", "/bench?list-type=2&prefix=dir/", None);
    let listing = text(&body);
    assert_eq!(status, 200, "{listing}");
    assert!(listing.contains("<Key>dir/obj.bin</Key>") && listing.contains("<Size>300123</Size>"), "{listing}");
    let (status, body, get_secs) = s3("GET", "/bench/dir/obj.bin", None);
    assert_eq!(status, 200);
    assert!(body == payload, "GetObject returned {} bytes that differ from the {} put", body.len(), payload.len());
    eprintln!("first PutObject after up: {:.0} ms; GetObject: {:.0} ms", first_secs * 1000.0, get_secs * 1000.0);
    // A second CreateBucket of the bucket is what a second bootstrap sends: LocalStack answers
    // 200 again (us-east-1 semantics), which the plugin takes as "already there".
    let (status, body, _) = s3("PUT", "/bench", None);
    assert_eq!(status, 200, "{}", text(&body));
    // Readiness was not LocalStack's empty 200 to an unsigned `GET /`: the probe bucket's
    // ListObjectsV2 is S3's NoSuchBucket.
    let (status, body) = plain_get("/benchhost-readiness-probe?list-type=2");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("<Code>NoSuchBucket</Code>"), "{body}");
    let (status, body) = plain_get("/");
    assert_eq!((status, body.as_str()), (200, ""), "unsigned GET / on LocalStack 4.13.1");
    let (status, _, _) = s3("DELETE", "/bench/dir/obj.bin", None);
    assert_eq!(status, 204);

    // down stops LocalStack with SIGTERM (tini passes it on) well inside the 5 s grace.
    let t = Instant::now();
    let down = benchhost(&["down", "localstack"], &[]);
    let down_secs = t.elapsed().as_secs_f64();
    assert!(down.status.success(), "down: {}", text(&down.stderr));
    eprintln!("down localstack: {down_secs:.2}s");
    assert!(down_secs < 4.5, "down took {down_secs:.1}s: LocalStack did not stop on SIGTERM");
    assert_eq!(leftovers("localstack"), Vec::<String>::new());
}

#[test]
fn e2e_localstack_plugin_works_with_another_s3_implementation_moto() {
    let Some(_engine) = engine_or_skip("e2e_localstack_plugin_works_with_another_s3_implementation_moto", Some(MOTO_IMAGE)) else { return };
    force_clean("localstack");
    let _cleanup = Cleanup;

    let up = benchhost(&["-v", "up", "localstack"], &[("LOCALSTACK_IMAGE", MOTO_IMAGE)]);
    let err = text(&up.stderr);
    assert!(up.status.success(), "up failed ({:?}):\n{err}", up.status.code());
    // No health endpoint there (404), so readiness and bootstrap fall back to S3 alone.
    let (status, body) = plain_get("/_localstack/health");
    assert_eq!(status, 404, "moto should not know /_localstack/health: {body}");
    assert!(err.contains("bucket bench ready on an S3 server without /_localstack/health (not LocalStack)"), "{err}");
    // The healthcheck's 404 branch, run by status (Docker runs none).
    docker::assert_no_docker_healthcheck(CONTAINER);
    let entry = docker::status_of(CONTAINER);
    assert_eq!((entry["health"].as_str(), entry["health_output"].as_str()), (Some("healthy"), None), "the healthcheck's 404 branch: {entry}");

    let (status, body, _) = s3("PUT", "/bench/k", Some(b"moto"));
    assert_eq!(status, 200, "{}", text(&body));
    let (status, body, _) = s3("GET", "/bench/k", None);
    assert_eq!((status, body.as_slice()), (200, &b"moto"[..]));

    let down = benchhost(&["down", "localstack"], &[]);
    assert!(down.status.success(), "down: {}", text(&down.stderr));
    assert_eq!(leftovers("localstack"), Vec::<String>::new());
}

/// Removes a container started with the docker CLI, also when an assertion fails.
struct RemoveContainer(String);
impl Drop for RemoveContainer {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.0]);
    }
}

#[test]
fn e2e_localstack_image_stops_fast_at_any_moment_of_its_start() {
    let Some(_engine) = engine_or_skip("e2e_localstack_image_stops_fast_at_any_moment_of_its_start", Some(LOCALSTACK_IMAGE)) else { return };
    // LocalStack 4.13.1 itself loses a SIGTERM that arrives after its handler is installed and
    // before its gateway serves (it then runs until SIGKILL); the image's localstack-s3 sends
    // SIGKILL instead in that window. `docker stop -t 20` at moments across the start must
    // never wait for the 20 s.
    let mut killed_while_starting = 0;
    for delay_ms in [200u64, 500, 800, 1100, 1400, 2000, 3000] {
        let run = docker(&["run", "-d", LOCALSTACK_IMAGE]);
        assert!(run.status.success(), "docker run: {}", text(&run.stderr));
        let id = text(&run.stdout).trim().to_string();
        let _rm = RemoveContainer(id.clone());
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let t = Instant::now();
        let stop = docker(&["stop", "-t", "20", &id]);
        let secs = t.elapsed().as_secs_f64();
        assert!(stop.status.success(), "docker stop: {}", text(&stop.stderr));
        let code = text(&docker(&["inspect", "-f", "{{.State.ExitCode}}", &id]).stdout).trim().to_string();
        let logs = docker(&["logs", &id]);
        let logs = format!("{}{}", text(&logs.stdout), text(&logs.stderr));
        eprintln!("stop {delay_ms} ms after the start: {secs:.2}s, exit {code}");
        assert!(secs < 5.0, "stop {delay_ms} ms after the start took {secs:.1}s (exit {code}):\n{logs}");
        if logs.contains("stopped before LocalStack served: SIGKILL") {
            killed_while_starting += 1;
            assert_eq!(code, "137", "{logs}");
        } else {
            // Stopped by SIGTERM: either before Python installed LocalStack's handler (exit
            // 143) or once serving, an orderly shutdown (exit 0).
            assert!(code == "0" || code == "143", "stop {delay_ms} ms after the start: exit {code}:\n{logs}");
        }
    }
    eprintln!("{killed_while_starting} of 7 stops came while LocalStack was starting (SIGKILL)");
}
