//! Removing labelled resources: a run's (by run id, after a failed or interrupted `up`) or any
//! set found by label (systems under test before infrastructure).

use crate::engine::{DockerEngine, LabelledResources};
use crate::orchestration::error::BenchError;
use crate::orchestration::labels::*;
use crate::orchestration::host::data_dirs;
use std::time::Duration;

/// Removes everything labelled with `run_id`, repeating until the engine lists nothing
/// (a create in flight when `up` was interrupted may land a moment later).
/// Requests the engine had accepted when `up` was cancelled still complete, so a sweep only
/// ends after two empty listings 500 ms apart (bounded to about 10 s). Returns whether it
/// ended so; `false` when the engine still listed something, or did not answer, at the end.
pub async fn remove_run(engine: &DockerEngine, run_id: &str) -> bool {
    let mut empty_in_a_row = 0;
    let mut warned = false;
    for _ in 0..20 {
        match engine.list_labelled(LABEL_RUN, run_id).await {
            Ok(found) if found.is_empty() => {
                empty_in_a_row += 1;
                if empty_in_a_row == 2 {
                    return true;
                }
            }
            Ok(found) => {
                empty_in_a_row = 0;
                if let Err(e) = remove_all(engine, &found).await {
                    tracing::warn!("removing resources of run {run_id}: {e}");
                }
            }
            // Once: an engine that stopped answering would repeat it every round.
            Err(e) if !warned => {
                warned = true;
                tracing::warn!("listing resources of run {run_id}: {e}");
            }
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

/// Removes containers (in parallel), then networks and volumes (in parallel).
/// Systems under test stop first (in parallel), then the infrastructure they use: a client
/// such as JuiceFS closes its session cleanly while PostgreSQL is still there.
pub async fn remove_all(engine: &DockerEngine, found: &LabelledResources) -> Result<(), BenchError> {
    let (infra, targets): (Vec<_>, Vec<_>) =
        found.containers.iter().partition(|c| c.labels.get(LABEL_ROLE).is_some_and(|r| r == "infrastructure"));
    for wave in [targets, infra] {
        let stops = wave.iter().map(|c| engine.remove_container(&c.id, None));
        for r in futures_util::future::join_all(stops).await {
            r?;
        }
    }
    // A volume's data directory (BENCH_DATA_DIR) goes first: should it not go, the volume
    // stays listed and a later `down` or `clean` tries again.
    for v in &found.volumes {
        if let Some(dir) = v.labels.get(LABEL_DATA_DIR) {
            data_dirs::remove(dir, &v.name)?;
        }
    }
    // Networks and volumes are independent of each other once the containers are gone: all are
    // tried, at the same time; the first failure is returned.
    let networks = futures_util::future::join_all(found.networks.iter().map(|n| engine.remove_network(&n.id)));
    let volumes = futures_util::future::join_all(found.volumes.iter().map(|v| engine.remove_volume(&v.name)));
    let (networks, volumes) = futures_util::future::join(networks, volumes).await;
    networks.into_iter().chain(volumes).collect::<Result<Vec<()>, _>>()?;
    Ok(())
}
