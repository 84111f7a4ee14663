//! Readiness: waiting until a started service answers its plugin's probe and its own
//! healthcheck, or failing with what the container said.
//!
//! The healthcheck's test is run by benchhost, once, when the probe answers: the container has
//! no Docker healthcheck (see [`crate::orchestration::health`]), so after `up` nothing probes
//! the service until `status` is asked.

use crate::orchestration::up::gateway::StackGateway;
use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
use crate::orchestration::health::{HealthTest, Verdict};
use crate::orchestration::plan::{Plan, PlannedProfile};
use crate::orchestration::plugins::registry::Registry;
use crate::runtime::contract::{DependencyCondition, Health, Service};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bounds of the pause between readiness probes (see `probe_pause`).
const PROBE_PAUSE_MIN: Duration = Duration::from_millis(10);
const PROBE_PAUSE_MAX: Duration = Duration::from_millis(250);

/// The strictest condition any service of the plan waits for on `service` (default: healthy,
/// so `up` returns only when everything answers).
pub fn wanted_condition(plan: &Plan, service: &str) -> DependencyCondition {
    let mut conditions = plan.services().flat_map(|(_, s)| s.depends_on.iter()).filter(|d| d.service == service).map(|d| d.condition);
    match conditions.next() {
        Some(DependencyCondition::CompletedSuccessfully) => DependencyCondition::CompletedSuccessfully,
        _ => DependencyCondition::Healthy,
    }
}

/// Waits until `service` satisfies `condition`. For `healthy`: the plugin's probe answers
/// `ready` and the healthcheck the plugin declares (if any) has passed once, its test run by
/// benchhost in the container as soon as the probe answers (the container has no Docker
/// healthcheck; Docker's first check would come only a whole interval after the start anyway,
/// API 1.41 having no start interval). Rounds are paced by [`probe_pause`]; an exit of the
/// container is seen through the engine's wait endpoint.
#[allow(clippy::too_many_arguments)]
pub async fn wait_ready(
    registry: &Registry,
    engine: &DockerEngine,
    planned: &PlannedProfile,
    service: &Service,
    id: &str,
    container: &str,
    condition: DependencyCondition,
    gateway: Arc<StackGateway>,
    timeout: Duration,
) -> Result<(), BenchError> {
    let plugin = registry.plugin(planned.plugin);
    let started = Instant::now();
    let deadline = started + timeout;
    let exited = engine.wait_exit(id);
    tokio::pin!(exited);
    if condition == DependencyCondition::CompletedSuccessfully {
        return match tokio::time::timeout_at(deadline.into(), &mut exited).await {
            Ok(Ok(0)) => Ok(()),
            Ok(Ok(code)) => Err(exited_error(engine, id, container, code, &plugin.info).await),
            Ok(Err(lost)) => Err(lost.into()),
            Err(_) => Err(timeout_error(engine, id, container, timeout, "still running (it should complete successfully)").await),
        };
    }
    let healthcheck = service.healthcheck.as_ref().and_then(HealthTest::of);
    loop {
        let round = Instant::now();
        let left = deadline.saturating_duration_since(round).max(Duration::from_millis(500));
        // The healthcheck's test runs only once the probe answers: an exec costs the engine a
        // runc process, CPU that a service still starting on a small machine needs more.
        let check = async {
            match registry.runtime.healthcheck(plugin, &planned.ctx, &service.name, gateway.clone(), Some(left)).await? {
                Health::Waiting(why) => Ok::<_, BenchError>(Some(why)),
                Health::Ready => Ok(match &healthcheck {
                    None => None,
                    Some(test) => match test.run(engine, id, left).await {
                        Verdict::Healthy => None,
                        Verdict::Unhealthy(failure) => Some(format!("the probe answers, but the healthcheck {:?} {}", test.argv, failure.full())),
                    },
                }),
            }
        };
        let last = tokio::select! {
            biased;
            code = &mut exited => return Err(match code {
                Ok(code) => exited_error(engine, id, container, code, &plugin.info).await,
                Err(lost) => lost.into(),
            }),
            waiting = check => match waiting? {
                // The probe can answer before the engine reports an exit: a container that is
                // no longer running is not ready, whatever the probe said.
                None => match engine.container_status(id).await {
                    Ok(s) if !s.running => return Err(exited_error(engine, id, container, s.exit_code.unwrap_or(-1), &plugin.info).await),
                    _ => return Ok(()),
                },
                Some(why) => why,
            },
        };
        if Instant::now() >= deadline {
            return Err(timeout_error(engine, id, container, timeout, &last).await);
        }
        tokio::select! {
            biased;
            code = &mut exited => return Err(match code {
                Ok(code) => exited_error(engine, id, container, code, &plugin.info).await,
                Err(lost) => lost.into(),
            }),
            _ = tokio::time::sleep(probe_pause(started.elapsed(), round.elapsed())) => {}
        }
    }
}

/// The pause before the next readiness probe: a twentieth of the time waited so far, between
/// `PROBE_PAUSE_MIN` and `PROBE_PAUSE_MAX`, so a service that answers after 1 s is seen within
/// about 50 ms; and never shorter than the last probe took, so a probe that execs in the
/// container cannot keep a core busy while the service starts.
fn probe_pause(waited: Duration, last_probe: Duration) -> Duration {
    (waited / 20).clamp(PROBE_PAUSE_MIN, PROBE_PAUSE_MAX).max(last_probe.min(PROBE_PAUSE_MAX))
}

/// The error for a container that stopped while `up` waited for it: the container, the
/// plugin that described it, the exit code, its last log lines and a hint.
async fn exited_error(engine: &DockerEngine, id: &str, container: &str, code: i64, plugin: &crate::runtime::contract::PluginInfo) -> BenchError {
    let logs = engine.logs_tail(id, 20).await;
    let image_setting = plugin.settings.iter().find(|s| s.name.ends_with("_IMAGE")).map(|s| format!(", or that {} names a working image", s.name)).unwrap_or_default();
    BenchError::Other(format!(
        "container {container} exited with code {code} while starting (plugin \"{}\" {})\n  last log lines:\n{}\n  hint: the server inside stopped; its log lines above say why. Check its settings{image_setting}; `benchhost up --keep-on-failure` keeps the container for `docker logs {container}`",
        plugin.name,
        plugin.version,
        indent(&logs)
    ))
}

/// The error for a service not ready in time: the last check (the healthcheck's output when it
/// was the test that failed) and the container's last log lines.
async fn timeout_error(engine: &DockerEngine, id: &str, container: &str, timeout: Duration, last: &str) -> BenchError {
    let logs = engine.logs_tail(id, 20).await;
    BenchError::Timeout(format!(
        "{container} was not ready within {}s (BENCH_STARTUP_TIMEOUT); last check: {last}\n  last log lines:\n{}",
        timeout.as_secs(),
        indent(&logs)
    ))
}

fn indent(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    if lines.is_empty() {
        return "    (no output)".into();
    }
    lines.iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}
