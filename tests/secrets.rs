//! Secret settings never reach the terminal, logs, results files or error messages.
//!
//! Each secret setting gets a distinctive value; then every command that could print it runs
//! (`up` at -v and -vv, successful and failing, `--dry-run`, `status --json`, `down`, `list`,
//! `plugin check`, `compose`, `env-example`), and stdout, stderr and every file of the results
//! directory are searched for each value. The `leaky` fixture plugin actively tries to leak its
//! secret through host logs, its stdout/stderr, panics and error messages. Each value is also
//! shown to have reached its container, so the search is not vacuous.

use crate::support::corpus;
use crate::support::docker::{self, engine_or_skip, text};
use std::path::Path;

const GANESHA: &str = "benchhost-test/ganesha:latest";
const SAMBA: &str = "benchhost-test/samba:latest";
const POSTGRES: &str = "benchhost-test/postgres:latest";
const LOCALSTACK: &str = "benchhost-test/localstack:latest";
const RCLONE: &str = "benchhost-test/rclone:latest";

/// `(setting, value)`: every secret under test, each a value found nowhere else.
const SECRETS: &[(&str, &str)] = &[
    ("AWS_SECRET_ACCESS_KEY", "AwsSecret-q7Zr4Lk2"),
    ("POSTGRES_PASSWORD", "PgSecret-x9Vb3Ne8"),
    ("SAMBA_PASSWORD", "SmbSecret-h5Tc8Wq1"),
    ("DITTOFS_ADMIN_PASSWORD", "DittoAdmin-m2Kd6Rf4"),
    ("DITTOFS_JWT_SECRET", "DittoJwt-p3Ys7Ug5-0123456789abcdef0123"),
    ("LEAKY_TOKEN", "LeakyToken-b8Qn1Xo6"),
];

/// Everything every run gets: the secrets, local images, the leaky fixture, an empty per-user
/// plugin directory.
fn env(results: &Path) -> Vec<(String, String)> {
    let plugin_dir = std::env::temp_dir().join("benchhost-secrets-no-plugins");
    std::fs::create_dir_all(&plugin_dir).unwrap();
    let mut e: Vec<(String, String)> = SECRETS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    e.extend(
        [
            ("BENCHHOST_PLUGIN_PATH", corpus::fixture_path("leaky").display().to_string()),
            ("BENCHHOST_PLUGIN_DIR", plugin_dir.display().to_string()),
            ("BENCH_RESULTS_DIR", results.display().to_string()),
            ("GANESHA_IMAGE", GANESHA.into()),
            ("LEAKY_IMAGE", GANESHA.into()),
            ("SAMBA_IMAGE", SAMBA.into()),
            ("POSTGRES_IMAGE", POSTGRES.into()),
            ("LOCALSTACK_IMAGE", LOCALSTACK.into()),
            ("RCLONE_IMAGE", RCLONE.into()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    e
}

/// Collects every output and checks it for secrets.
struct Transcript {
    env: Vec<(String, String)>,
    /// (what ran, stdout + stderr)
    outputs: Vec<(String, String)>,
}

impl Transcript {
    /// Runs benchhost and records its output; returns (exit code, stdout+stderr).
    fn run(&mut self, args: &[&str], extra: &[(&str, &str)]) -> (Option<i32>, String) {
        let mut all: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.extend_from_slice(extra);
        let started = std::time::Instant::now();
        let o = docker::benchhost(args, &all);
        eprintln!("benchhost {} took {:?}", args.join(" "), started.elapsed());
        let both = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert_ne!(o.status.code(), Some(101), "benchhost {args:?} panicked:\n{both}");
        self.outputs.push((format!("benchhost {}", args.join(" ")), both.clone()));
        (o.status.code(), both)
    }

    /// No secret value in any output so far.
    fn assert_no_secret(&self) {
        for (what, output) in &self.outputs {
            for (name, value) in SECRETS {
                assert!(!output.contains(value), "{name}'s value leaked into the output of `{what}`:\n{output}");
            }
        }
    }
}

/// No secret value in any file under `dir`; returns how many files were searched.
fn assert_no_secret_in_files(dir: &Path) -> usize {
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&p).unwrap();
            let content = String::from_utf8_lossy(&bytes);
            for (name, value) in SECRETS {
                assert!(!content.contains(value), "{name}'s value leaked into {}:\n{content}", p.display());
            }
        }
    }
    files
}

/// The container's environment as `docker inspect` shows it (the secret must be delivered).
fn container_env(container: &str) -> String {
    text(&docker::docker(&["inspect", "-f", "{{json .Config.Env}}", container]).stdout)
}

fn engine(test: &str) -> Option<docker::EngineGuard> {
    for image in [SAMBA, POSTGRES, LOCALSTACK, RCLONE] {
        drop(engine_or_skip(test, Some(image))?);
    }
    engine_or_skip(test, Some(GANESHA))
}

/// Takes every profile used here down, even when an assertion fails half-way.
struct Cleanup(Vec<(String, String)>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let env: Vec<(&str, &str)> = self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        for p in ["leaky-up", "leaky-bootstrap", "samba", "postgres", "rclone", "dittofs-badger-s3"] {
            let _ = docker::benchhost(&["down", p], &env);
        }
    }
}

#[test]
fn secret_values_never_appear_in_output_logs_results_or_errors() {
    let Some(_engine) = engine("secret_values_never_appear_in_output_logs_results_or_errors") else { return };
    let results = tempfile::tempdir().unwrap();
    let mut t = Transcript { env: env(results.path()), outputs: Vec::new() };
    let _cleanup = Cleanup(t.env.clone());
    drop(Cleanup(t.env.clone()));

    // A plugin that tries to leak its secret everywhere it can, before anything runs.
    let (code, out) = t.run(&["-vv", "up", "leaky-compose"], &[]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("[leaky] compose-service: the token is ***"), "the log line was not there (redacted):\n{out}");
    assert!(out.contains("compose-service refuses; token=***") && out.contains("compose-service stdout: ***"), "{out}");
    let (code, out) = t.run(&["-v", "up", "leaky-panic"], &[]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("panicking with token ***"), "{out}");
    let (code, out) = t.run(&["-vv", "up", "leaky-up", "--dry-run"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("LEAKY_TOKEN"), "the dry run does not show the container's environment:\n{out}");

    // The secret reaches its container (the legitimate path) and nothing else.
    let (code, out) = t.run(&["-vv", "up", "leaky-up"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("[leaky] bootstrap: the token is ***") && out.contains("note with token ***"), "{out}");
    assert!(container_env("benchhost-leaky-up-app").contains("LEAKY_TOKEN=LeakyToken-b8Qn1Xo6"), "the secret never reached the container");
    let (code, out) = t.run(&["-vv", "status", "--json"], &[]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = t.run(&["-vv", "up", "leaky-up"], &[]);
    assert_eq!(code, Some(2), "{out}");
    let (code, out) = t.run(&["-vv", "down", "leaky-up"], &[]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = t.run(&["-vv", "up", "leaky-bootstrap"], &[]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("bootstrap refuses; token=***"), "{out}");

    // Built-in systems with their secret settings, on real servers.
    let (code, out) = t.run(&["-vv", "up", "samba"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(container_env("benchhost-samba-samba").contains("SmbSecret-h5Tc8Wq1"), "SAMBA_PASSWORD never reached samba");
    let (code, out) = t.run(&["-v", "status"], &[]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = t.run(&["-vv", "down", "samba"], &[]);
    assert_eq!(code, Some(0), "{out}");

    let (code, out) = t.run(&["-v", "up", "postgres", "--json"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(container_env("benchhost-postgres-postgres").contains("PgSecret-x9Vb3Ne8"), "POSTGRES_PASSWORD never reached postgres");
    let (code, out) = t.run(&["-v", "down", "postgres", "--json"], &[]);
    assert_eq!(code, Some(0), "{out}");

    let (code, out) = t.run(&["-vv", "up", "rclone"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(container_env("benchhost-rclone-rclone").contains("AwsSecret-q7Zr4Lk2"), "AWS_SECRET_ACCESS_KEY never reached rclone");
    let (code, out) = t.run(&["-vv", "down", "rclone"], &[]);
    assert_eq!(code, Some(0), "{out}");

    // A failing up with every DittoFS secret set: the container cannot start (no DittoFS in the
    // ganesha image), and the error, the -vv log and the dry run must not show them.
    let ditto = [("DITTOFS_IMAGE", GANESHA), ("S3_ENDPOINT", "https://s3.example.com")];
    let (code, out) = t.run(&["-vv", "up", "dittofs-badger-s3", "--dry-run"], &ditto);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = t.run(&["-vv", "up", "dittofs-badger-s3"], &ditto);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("benchhost-dittofs-badger-s3-dittofs"), "{out}");

    // Commands that only describe.
    for args in [&["-vv", "list"][..], &["list", "--json"], &["compose", "--output", "-"], &["env-example", "--output", "-"]] {
        let (code, out) = t.run(args, &[]);
        assert_eq!(code, Some(0), "{args:?}: {out}");
    }
    let leaky = corpus::fixture_path("leaky");
    // Its profiles misbehave on purpose, so the check fails (exit 3), quoting what they said.
    let (code, out) = t.run(&["-vv", "plugin", "check", leaky.to_str().unwrap()], &[]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("profile leaky-compose (for Linux): plugin \"leaky\" 0.1.0 compose-service: compose-service refuses; token="), "{out}");
    assert!(out.contains("LEAKY_TOKEN=*** (secret)"), "{out}");

    t.assert_no_secret();
    let files = assert_no_secret_in_files(results.path());
    assert!(files >= 4, "only {files} results files were written under {}", results.path().display());
    assert_eq!(docker::leftovers("leaky-up"), Vec::<String>::new());
}
