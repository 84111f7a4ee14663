//! Containers created in the background while earlier services start.

use crate::engine::{ContainerSpec, DockerEngine};
use crate::orchestration::error::BenchError;
use super::UpOptions;
use crate::engine::MountSource;
use crate::orchestration::labels::LABEL_DATA_DIR;
use crate::orchestration::host::data_dirs;
use crate::orchestration::plan::Plan;
use std::collections::HashMap;

/// Containers being created in the background, by name. Dropping it aborts the creations
/// nobody awaited (a failed or interrupted `up`; the sweep by run id removes what landed).
pub struct Creations(std::sync::Mutex<HashMap<String, tokio::task::JoinHandle<Result<String, crate::engine::EngineError>>>>);

impl Creations {
    pub fn spawn(engine: &DockerEngine, specs: &[ContainerSpec]) -> Self {
        let handles = specs
            .iter()
            .map(|spec| {
                let (engine, spec) = (engine.clone(), spec.clone());
                (spec.name.clone(), tokio::spawn(async move { engine.create_container(&spec).await }))
            })
            .collect();
        Creations(std::sync::Mutex::new(handles))
    }

    /// The id of container `name`, once it is created.
    pub async fn take(&self, name: &str) -> Result<String, BenchError> {
        let handle = self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
        let handle = handle.ok_or_else(|| BenchError::Other(format!("container {name} was not planned")))?;
        match handle.await {
            Ok(created) => Ok(created?),
            Err(e) => Err(BenchError::Other(format!("creating container {name}: {e}"))),
        }
    }
}

impl Drop for Creations {
    fn drop(&mut self) {
        for handle in self.0.get_mut().unwrap_or_else(|e| e.into_inner()).values() {
            handle.abort();
        }
    }
}

/// Creates the run's network and every named volume of `specs` together (the volumes in their
/// `BENCH_DATA_DIR` directories when set). On failure, a data directory whose volume never
/// came is removed here; what was created carries the run's labels for the sweep.
pub async fn create_network_and_volumes(
    engine: &DockerEngine,
    plan: &Plan,
    network: &str,
    specs: &[ContainerSpec],
    base_labels: &HashMap<String, String>,
    opts: &UpOptions,
) -> Result<(), BenchError> {
    let mut volumes: Vec<&str> = specs
        .iter()
        .flat_map(|s| s.mounts.iter())
        .filter_map(|m| if let MountSource::Volume(v) = &m.source { Some(v.as_str()) } else { None })
        .collect();
    volumes.sort_unstable();
    volumes.dedup();
    let data_dirs = data_dirs::prepare(opts.globals.data_dir.as_deref(), &plan.target, &volumes)?;
    let volume_labels: Vec<HashMap<String, String>> = data_dirs
        .iter()
        .map(|dir| {
            let mut labels = base_labels.clone();
            if let Some(dir) = dir {
                labels.insert(LABEL_DATA_DIR.to_string(), dir.display().to_string());
            }
            labels
        })
        .collect();
    let created = futures_util::future::try_join(
        engine.create_network(network, base_labels),
        futures_util::future::try_join_all(volumes.iter().zip(&data_dirs).zip(&volume_labels).map(|((v, dir), labels)| {
            engine.create_volume(v, labels, dir.as_deref().and_then(|d| d.to_str()))
        })),
    )
    .await;
    if let Err(e) = created {
        // Volumes that were created carry their directory's label and the sweep removes both;
        // a directory whose volume never came is removed here.
        data_dirs::remove_unused(engine, &volumes, &data_dirs).await;
        return Err(e.into());
    }
    Ok(())
}
