//! The end of runs, shared by `down` and `clean`: logs saved, resources removed, the run's
//! record told.

use super::remove::remove_all;
use crate::orchestration::run_record::RunRecord;
use crate::engine::{DockerEngine, LabelledResources};
use crate::orchestration::error::BenchError;
use crate::orchestration::labels::*;
use std::time::Instant;

/// What [`retire`] did besides removing.
#[derive(Debug, Default)]
pub struct Retired {
    /// Log files written.
    pub logs: Vec<String>,
    /// Stale FUSE mounts detached, logs that could not be saved (when not strict).
    pub notes: Vec<String>,
}

/// The end of runs, shared by `down` and `clean`: saves the logs of `found`'s containers into
/// their runs' results directories (under `root_override` when given), removes `found`
/// (systems under test before infrastructure), detaches stale FUSE mounts of shared binds, and
/// adds a `down` entry saying `by` whom to each run's `run.json`. With `strict`, logs that
/// cannot be saved stop it before anything is removed (usage error); otherwise they become a
/// note.
pub async fn retire(
    engine: &DockerEngine,
    found: &LabelledResources,
    root_override: Option<&std::path::Path>,
    secrets: &[String],
    by: &str,
    strict: bool,
) -> Result<Retired, BenchError> {
    let started = Instant::now();
    let run_of = |l: &crate::engine::Labelled| l.labels.get(crate::orchestration::results::LABEL_RESULTS).cloned();
    let mut runs: std::collections::BTreeMap<String, LabelledResources> = Default::default();
    for c in &found.containers {
        if let Some(run) = run_of(c) {
            runs.entry(run).or_default().containers.push(c.clone());
        }
    }
    for n in &found.networks {
        if let Some(run) = run_of(n) {
            runs.entry(run).or_default().networks.push(n.clone());
        }
    }
    for v in &found.volumes {
        if let Some(run) = run_of(v) {
            runs.entry(run).or_default().volumes.push(v.clone());
        }
    }
    // Logs first: once the containers are gone they are lost for good.
    let mut retired = Retired::default();
    let mut logs_of: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (label, run) in &runs {
        let dir = crate::orchestration::results::RunDir::for_down(label, root_override);
        match dir.save_logs(engine, &run.containers, secrets).await {
            Ok(saved) => {
                retired.logs.extend(saved.iter().cloned());
                logs_of.insert(label, saved);
            }
            Err(problems) if strict => {
                return Err(BenchError::Usage(format!(
                    "could not save the logs into {}: {}; nothing was removed\n  hint: free the disk or fix the permissions, or save them elsewhere with `{by} --results-dir DIR`",
                    dir.path.display(),
                    problems.join("; ")
                )))
            }
            Err(problems) => retired.notes.push(format!("could not save some logs into {}: {}", dir.path.display(), problems.join("; "))),
        }
    }
    remove_all(engine, found).await?;
    for c in &found.containers {
        for path in c.labels.get(LABEL_SHARED_BINDS).map(|v| v.split(':').collect::<Vec<_>>()).unwrap_or_default() {
            retired.notes.extend(crate::orchestration::host::fuse::release_fuse_mount(path));
        }
    }
    let names = |items: &[crate::engine::Labelled]| items.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
    for (label, run) in &runs {
        RunRecord::add_down(
            label,
            root_override,
            serde_json::json!({
                "at": chrono::Local::now().to_rfc3339(),
                "by": by,
                "seconds": (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
                "removed": {"containers": names(&run.containers), "networks": names(&run.networks), "volumes": names(&run.volumes)},
                "logs": logs_of.get(label.as_str()).cloned().unwrap_or_default(),
                "notes": retired.notes,
            }),
        );
    }
    Ok(retired)
}
