//! What is up on the engine, by profile: `status`, and the one-system-at-a-time rule `up` keeps.
//!
//! `status` tells each running container's health as it is when asked: it runs the
//! healthcheck test the container's labels carry once, in every container at the same time
//! (see [`crate::orchestration::health`]; benchhost's containers have no Docker healthcheck
//! that would have a stored answer). A container of an older benchhost, with Docker's
//! healthcheck and no label, is reported as Docker says.

use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
use crate::orchestration::health::{HealthTest, Verdict};
use crate::orchestration::labels::*;
use std::collections::HashMap;
use std::time::Duration;

/// The longest `status` lets one healthcheck run, whatever the plugin's timeout says.
pub const STATUS_CHECK_LIMIT: Duration = Duration::from_secs(10);
/// The time a test gets when its container has no readable timeout label (Docker's default
/// healthcheck timeout is 30 s; benchhost's plugins default to 5 s).
const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The profile [`profiles_up`] files a managed resource without a profile label under.
pub const UNNAMED: &str = "?";

/// What is up, by profile: container names (with state), networks and volumes of every
/// profile with resources labelled `benchhost.managed=true` (those without a profile label
/// under [`UNNAMED`]).
pub async fn profiles_up(engine: &DockerEngine) -> Result<std::collections::BTreeMap<String, Vec<String>>, BenchError> {
    let found = engine.list_labelled(LABEL_MANAGED, "true").await?;
    let mut by_profile: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let profile = |l: &HashMap<String, String>| l.get(LABEL_PROFILE).cloned().unwrap_or_else(|| UNNAMED.into());
    for c in &found.containers {
        by_profile.entry(profile(&c.labels)).or_default().push(format!("{} ({})", c.name, c.state));
    }
    for n in &found.networks {
        by_profile.entry(profile(&n.labels)).or_default().push(format!("network {}", n.name));
    }
    for v in &found.volumes {
        by_profile.entry(profile(&v.labels)).or_default().push(format!("volume {}", v.name));
    }
    Ok(by_profile)
}

/// One system at a time: refuses (usage error) when `target` or any other profile has
/// resources on the engine, naming them and how to remove them (`down`, or `up --replace`).
pub async fn refuse_when_up(engine: &DockerEngine, target: &str) -> Result<(), BenchError> {
    let up = profiles_up(engine).await?;
    if let Some(names) = up.get(target) {
        let leftovers = names.iter().all(|n| n.starts_with("network ") || n.starts_with("volume "));
        let what = if leftovers { "has leftovers from an earlier run" } else { "is already up" };
        return Err(BenchError::Usage(format!("profile {target} {what}: {}\n  hint: `benchhost down {target}` first", names.join(", "))));
    }
    if let Some(names) = up.get(UNNAMED) {
        return Err(BenchError::Usage(format!(
            "resources labelled {LABEL_MANAGED}=true but with no {LABEL_PROFILE} label are on the engine ({}); benchhost made none like that, and runs one system at a time\n  hint: `benchhost clean` removes everything labelled {LABEL_MANAGED}=true (or remove them with docker)",
            names.join(", ")
        )));
    }
    if let Some((other, names)) = up.iter().next() {
        return Err(BenchError::Usage(format!(
            "profile {other} is up ({}); benchhost runs one system at a time so they do not compete for the machine\n  hint: `benchhost down {other}` first, or `benchhost up {target} --replace`",
            names.join(", ")
        )));
    }
    Ok(())
}

/// One container in `status`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ContainerInfo {
    pub name: String,
    pub service: String,
    pub plugin: String,
    pub state: String,
    /// `healthy` or `unhealthy`: what the healthcheck's test said when `status` ran it; null
    /// when the service declares none or the container is not running. (`starting` only for a
    /// container of an older benchhost, as Docker reports it; `unknown` when the container's
    /// healthcheck label cannot be read.)
    pub health: Option<String>,
    /// With `unhealthy`: why, in one line: the test's exit code and last output line, `did not
    /// finish within 5s`, or the engine's refusal; with `unknown`, what is wrong with the
    /// label. Null otherwise.
    pub health_output: Option<String>,
}

/// One profile in `status`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProfileStatus {
    pub profile: String,
    pub run_id: String,
    pub containers: Vec<ContainerInfo>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

/// The health of one container now: `(health, output)` as [`ContainerInfo`] has them.
async fn health_now(engine: &DockerEngine, c: &crate::engine::Labelled) -> (Option<String>, Option<String>) {
    if c.state != "running" {
        return (None, None);
    }
    match HealthTest::from_labels(&c.labels, DEFAULT_CHECK_TIMEOUT) {
        Ok(Some(test)) => match test.run(engine, &c.id, STATUS_CHECK_LIMIT).await {
            Verdict::Healthy => (Some("healthy".into()), None),
            Verdict::Unhealthy(failure) => (Some("unhealthy".into()), Some(failure.last_line())),
        },
        Ok(None) => match engine.container_status(&c.id).await {
            Ok(s) => {
                let output = s.last_health_output.filter(|_| s.health.as_deref() == Some("unhealthy"));
                (s.health, output.map(|o| o.trim().lines().last().unwrap_or_default().to_string()))
            }
            Err(_) => (None, None),
        },
        Err(e) => (Some("unknown".into()), Some(e)),
    }
}

/// Every profile with benchhost resources on the engine, each running container's health as
/// its healthcheck says now (all run at once, each for at most its timeout, capped at
/// [`STATUS_CHECK_LIMIT`]).
pub async fn status(engine: &DockerEngine) -> Result<Vec<ProfileStatus>, BenchError> {
    let found = engine.list_labelled(LABEL_MANAGED, "true").await?;
    let healths = futures_util::future::join_all(found.containers.iter().map(|c| health_now(engine, c))).await;
    let mut by_profile: std::collections::BTreeMap<String, ProfileStatus> = Default::default();
    let entry = |map: &mut std::collections::BTreeMap<String, ProfileStatus>, labels: &HashMap<String, String>| -> String {
        let profile = labels.get(LABEL_PROFILE).cloned().unwrap_or_default();
        map.entry(profile.clone()).or_insert_with(|| ProfileStatus {
            profile: profile.clone(),
            run_id: labels.get(LABEL_RUN).cloned().unwrap_or_default(),
            containers: vec![],
            networks: vec![],
            volumes: vec![],
        });
        profile
    };
    for (c, (health, health_output)) in found.containers.iter().zip(healths) {
        let p = entry(&mut by_profile, &c.labels);
        by_profile.get_mut(&p).unwrap().containers.push(ContainerInfo {
            name: c.name.clone(),
            service: c.labels.get(LABEL_SERVICE).cloned().unwrap_or_default(),
            plugin: c.labels.get(LABEL_PLUGIN).cloned().unwrap_or_default(),
            state: c.state.clone(),
            health,
            health_output,
        });
    }
    for n in &found.networks {
        let p = entry(&mut by_profile, &n.labels);
        by_profile.get_mut(&p).unwrap().networks.push(n.name.clone());
    }
    for v in &found.volumes {
        let p = entry(&mut by_profile, &v.labels);
        by_profile.get_mut(&p).unwrap().volumes.push(v.name.clone());
    }
    Ok(by_profile.into_values().collect())
}
