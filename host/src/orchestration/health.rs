//! A service's healthcheck, run by benchhost when it needs the answer instead of by Docker on a
//! timer.
//!
//! The containers benchhost creates carry no Docker healthcheck: their `Healthcheck.Test` is
//! `["NONE"]`, which also turns off one the image declares. Docker runs a healthcheck every
//! interval for the container's whole life, and so during every benchmark cell: for ganesha an
//! `nfs-ls` each second, an exec through dockerd, containerd and runc, one NFS connection to the
//! server under test and a connection-reset line in its log. Measured on 2 cores (Docker 20.10,
//! idle ganesha, 30 s windows): about 9% of a core (2.2% in the container, the rest in the
//! engine's processes) and 57 log lines a minute with the check, 0.3% and none without.
//!
//! The test the plugin declares is kept on the container in two labels,
//! [`LABEL_HEALTHCHECK`] (the argv benchhost execs, as JSON) and [`LABEL_HEALTHCHECK_TIMEOUT`],
//! and benchhost runs it once each time it needs the answer: `up` as soon as the plugin's probe
//! answers (see `up::ready`), `status` each time it is asked. The generated docker-compose.yml
//! keeps Docker healthchecks: under Compose there is no benchhost to run them.

use crate::engine::DockerEngine;
use crate::orchestration::labels::{LABEL_HEALTHCHECK, LABEL_HEALTHCHECK_TIMEOUT};
use crate::runtime::contract::Healthcheck;
use std::collections::HashMap;
use std::time::Duration;

/// A healthcheck test as benchhost runs it: a program and its arguments (no shell unless the
/// plugin asked for one), and the time it may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthTest {
    /// The argv exec'd in the container.
    pub argv: Vec<String>,
    /// How long one run may take before it counts as failed.
    pub timeout: Duration,
}

/// What one run of a [`HealthTest`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The test exited 0.
    Healthy,
    /// The test exited non-zero, did not finish in time, or could not be run.
    Unhealthy(Failure),
}

/// Why a test did not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// It exited `code`; `output` is its stdout and stderr, trimmed.
    Exited { code: i64, output: String },
    /// It did not finish within `timeout`.
    TimedOut { timeout: Duration },
    /// The engine could not run it (`detail` is the engine's message).
    NotRun { detail: String },
}

impl Failure {
    /// One line for `status`: the exit code and the last non-empty line of the output (the
    /// line a failing check's reason is usually on), or the time-out, or the engine's message.
    pub fn last_line(&self) -> String {
        match self {
            Failure::Exited { code, output } => match output.lines().rev().map(str::trim).find(|l| !l.is_empty()) {
                Some(line) => format!("exited {code}: {line}"),
                None => format!("exited {code} (no output)"),
            },
            Failure::TimedOut { timeout } => format!("did not finish within {}", seconds(*timeout)),
            Failure::NotRun { detail } => format!("could not run: {detail}"),
        }
    }

    /// The whole story, for `up`'s messages: as [`Failure::last_line`] but with all the output.
    pub fn full(&self) -> String {
        match self {
            Failure::Exited { code, output } if !output.is_empty() => format!("exited {code}: {output}"),
            other => other.last_line(),
        }
    }
}

fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) { format!("{}s", ms / 1000) } else { format!("{:.1}s", d.as_secs_f64()) }
}

impl HealthTest {
    /// The test of a plugin's healthcheck, or `None` for `["NONE"]` (validation refuses every
    /// other shape before a container exists).
    pub fn of(h: &Healthcheck) -> Option<Self> {
        let argv = match h.test.first().map(String::as_str) {
            Some("CMD") => h.test[1..].to_vec(),
            Some("CMD-SHELL") => vec!["/bin/sh".to_string(), "-c".to_string(), h.test[1..].join(" ")],
            _ => return None,
        };
        Some(HealthTest { argv, timeout: Duration::from_millis(h.timeout_ms as u64) })
    }

    /// The labels that carry this test on a container.
    pub fn labels(&self) -> [(String, String); 2] {
        [
            (LABEL_HEALTHCHECK.to_string(), serde_json::to_string(&self.argv).unwrap_or_default()),
            (LABEL_HEALTHCHECK_TIMEOUT.to_string(), self.timeout.as_millis().to_string()),
        ]
    }

    /// The test a container's labels carry: `Ok(None)` without [`LABEL_HEALTHCHECK`] (no
    /// healthcheck declared, or a container of a benchhost that set Docker's instead); an error
    /// naming the label and its value when it is not a non-empty JSON array of strings. Without
    /// a readable timeout label the test gets `default_timeout`.
    pub fn from_labels(labels: &HashMap<String, String>, default_timeout: Duration) -> Result<Option<Self>, String> {
        let Some(raw) = labels.get(LABEL_HEALTHCHECK) else { return Ok(None) };
        let argv: Vec<String> = match serde_json::from_str::<Vec<String>>(raw) {
            Ok(argv) if !argv.is_empty() => argv,
            _ => return Err(format!("label {LABEL_HEALTHCHECK}={raw:?} is not a JSON array of strings (a program and its arguments)")),
        };
        let timeout = labels
            .get(LABEL_HEALTHCHECK_TIMEOUT)
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
            .unwrap_or(default_timeout);
        Ok(Some(HealthTest { argv, timeout }))
    }

    /// Runs the test once in the running container `id`, for at most its timeout or `limit`,
    /// whichever is shorter. A run that times out leaves its process in the container: the
    /// Engine API cannot stop an exec.
    pub async fn run(&self, engine: &DockerEngine, id: &str, limit: Duration) -> Verdict {
        let timeout = self.timeout.min(limit);
        // The engine's own bound is a margin later, so a slow test is told apart from an engine
        // that fails.
        match tokio::time::timeout(timeout, engine.exec(id, self.argv.clone(), timeout + Duration::from_secs(1))).await {
            Err(_) => Verdict::Unhealthy(Failure::TimedOut { timeout }),
            Ok(Ok(r)) if r.exit_code == 0 => Verdict::Healthy,
            Ok(Ok(r)) => Verdict::Unhealthy(Failure::Exited { code: r.exit_code, output: format!("{} {}", r.stdout.trim(), r.stderr.trim()).trim().to_string() }),
            Ok(Err(detail)) => Verdict::Unhealthy(Failure::NotRun { detail }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(test: &[&str], timeout_ms: u32) -> Healthcheck {
        Healthcheck { test: test.iter().map(|s| s.to_string()).collect(), interval_ms: 1_000, timeout_ms, retries: 3, start_period_ms: 0 }
    }

    #[test]
    fn a_test_goes_into_labels_and_comes_back_the_same() {
        let t = HealthTest::of(&hc(&["CMD", "nfs-ls", "nfs://127.0.0.1/export?version=4"], 5_000)).unwrap();
        assert_eq!(t.argv, ["nfs-ls", "nfs://127.0.0.1/export?version=4"]);
        let labels: HashMap<String, String> = t.labels().into_iter().collect();
        assert_eq!(labels[LABEL_HEALTHCHECK], r#"["nfs-ls","nfs://127.0.0.1/export?version=4"]"#);
        assert_eq!(labels[LABEL_HEALTHCHECK_TIMEOUT], "5000");
        assert_eq!(HealthTest::from_labels(&labels, Duration::from_secs(9)), Ok(Some(t)));
    }

    #[test]
    fn cmd_shell_runs_under_sh_and_none_is_no_test() {
        let t = HealthTest::of(&hc(&["CMD-SHELL", "curl -sf http://127.0.0.1 || exit 1"], 3_000)).unwrap();
        assert_eq!(t.argv, ["/bin/sh", "-c", "curl -sf http://127.0.0.1 || exit 1"]);
        assert_eq!(t.timeout, Duration::from_secs(3));
        assert_eq!(HealthTest::of(&hc(&["NONE"], 3_000)), None);
    }

    #[test]
    fn labels_without_a_test_or_with_a_broken_one() {
        assert_eq!(HealthTest::from_labels(&HashMap::new(), Duration::from_secs(5)), Ok(None));
        let broken = HashMap::from([(LABEL_HEALTHCHECK.to_string(), "nfs-ls x".to_string())]);
        let err = HealthTest::from_labels(&broken, Duration::from_secs(5)).unwrap_err();
        assert!(err.contains("benchhost.healthcheck=\"nfs-ls x\" is not a JSON array"), "{err}");
        let empty = HashMap::from([(LABEL_HEALTHCHECK.to_string(), "[]".to_string())]);
        assert!(HealthTest::from_labels(&empty, Duration::from_secs(5)).is_err());
        // No timeout label: the default.
        let bare = HashMap::from([(LABEL_HEALTHCHECK.to_string(), r#"["true"]"#.to_string())]);
        assert_eq!(HealthTest::from_labels(&bare, Duration::from_secs(7)).unwrap().unwrap().timeout, Duration::from_secs(7));
    }

    #[test]
    fn a_failure_in_one_line() {
        let f = Failure::Exited { code: 1, output: "connecting\nnfs_mount: RPC error: connection refused\n".into() };
        assert_eq!(f.last_line(), "exited 1: nfs_mount: RPC error: connection refused");
        assert_eq!(Failure::Exited { code: 3, output: String::new() }.last_line(), "exited 3 (no output)");
        assert_eq!(Failure::TimedOut { timeout: Duration::from_millis(5_000) }.last_line(), "did not finish within 5s");
        assert_eq!(Failure::TimedOut { timeout: Duration::from_millis(2_500) }.last_line(), "did not finish within 2.5s");
    }
}
