//! `down`: unmount, save logs, remove everything labelled with a profile.

use super::retire::retire;
use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
use crate::orchestration::labels::*;
use std::time::Instant;

/// What `down` removed.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DownReport {
    /// Anything `down` did besides removing resources (e.g. detaching a stale FUSE mount).
    pub notes: Vec<String>,
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
    /// Log files saved into the run's results directory.
    pub logs: Vec<String>,
    /// Seconds `down` took.
    pub seconds: f64,
}

/// Options of `down`.
#[derive(Clone, Debug, Default)]
pub struct DownOptions {
    /// `down --results-dir DIR`: save logs under this root instead of the run's own directory.
    pub results_root: Option<std::path::PathBuf>,
    /// Secret values, removed from saved logs.
    pub secrets: Vec<String>,
}

/// Unmounts what `benchhost mount` mounted for `profile`, then [`retire`]s everything labelled
/// with `profile` (logs saved first, strictly: containers, network and volumes are removed
/// only once their logs are safe).
pub async fn down(engine: &DockerEngine, profile: &str, opts: &DownOptions) -> Result<DownReport, BenchError> {
    let started = Instant::now();
    // A mount that will not go away stops down before it removes the server under it.
    let mut notes = crate::orchestration::host::mounts::unmount_recorded(profile)?;
    let found = engine.list_labelled(LABEL_PROFILE, profile).await?;
    let retired = retire(engine, &found, opts.results_root.as_deref(), &opts.secrets, &format!("benchhost down {profile}"), true).await?;
    notes.extend(retired.notes);
    Ok(DownReport {
        notes,
        containers: found.containers.iter().map(|c| c.name.clone()).collect(),
        networks: found.networks.iter().map(|n| n.name.clone()).collect(),
        volumes: found.volumes.iter().map(|v| v.name.clone()).collect(),
        logs: retired.logs,
        seconds: started.elapsed().as_secs_f64(),
    })
}
