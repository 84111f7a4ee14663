//! What is up on the engine, by profile: `status`, and the one-system-at-a-time rule `up` keeps.

use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
use crate::orchestration::labels::*;
use std::collections::HashMap;

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
    /// `healthy`, `starting`, `unhealthy`, or null without a healthcheck.
    pub health: Option<String>,
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

/// Every profile with benchhost resources on the engine.
pub async fn status(engine: &DockerEngine) -> Result<Vec<ProfileStatus>, BenchError> {
    let found = engine.list_labelled(LABEL_MANAGED, "true").await?;
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
    for c in &found.containers {
        let p = entry(&mut by_profile, &c.labels);
        let health = engine.container_status(&c.id).await.ok().and_then(|s| s.health);
        by_profile.get_mut(&p).unwrap().containers.push(ContainerInfo {
            name: c.name.clone(),
            service: c.labels.get(LABEL_SERVICE).cloned().unwrap_or_default(),
            plugin: c.labels.get(LABEL_PLUGIN).cloned().unwrap_or_default(),
            state: c.state.clone(),
            health,
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
