//! One system of the matrix brought up alone for its cells and taken down after them, through
//! the same `up` and `down` as the commands (their run directories under `RUN/systems/`), and
//! what its cells record of it: plugin, images, settings (from the `run.json` `up` wrote).

use super::cell::{ImageRef, PluginRef};
use crate::engine::{DockerEngine, Labelled};
use crate::orchestration::commands::down::{down, DownOutcome};
use crate::orchestration::commands::up::{up, UpOutcome, UpRequest};
use crate::orchestration::commands::Session;
use crate::orchestration::error::BenchError;
use crate::orchestration::host::mount_command::MountCommand;
use crate::orchestration::labels::LABEL_PROFILE;
use crate::orchestration::up::cold::RunningStack;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A system that is up for its cells.
pub struct System {
    pub profile: String,
    /// `up`'s run directory (its `run.json` and, after `down`, the containers' logs).
    pub up_dir: PathBuf,
    /// Its containers (the target's and its infrastructure's), for the stats.
    pub containers: Vec<Labelled>,
    /// The mount command `up` printed (on `/mnt/benchhost/<profile>`, naming the server address).
    pub mount: MountCommand,
    /// `nfs`, `smb` or `fuse`.
    pub protocol: String,
    pub plugin: Option<PluginRef>,
    pub images: Vec<ImageRef>,
    /// As `up` recorded them: every setting, secrets as `***`.
    pub settings: BTreeMap<String, String>,
    /// What `up` started, for the plugin's `empty-cache` and the restarts it asks for.
    pub stack: RunningStack,
}

impl System {
    /// An image and labels for a short-lived container of this system on the engine's host
    /// (e.g. [`DockerEngine::drop_host_page_cache`]): its first image, and its first
    /// container's `benchhost.*` labels, so `down` or an interrupted run's sweep removes it.
    pub fn host_container(&self) -> (String, std::collections::HashMap<String, String>) {
        let image = self.images.first().map(|i| i.image.clone()).unwrap_or_default();
        let labels = self
            .containers
            .first()
            .map(|c| c.labels.iter().filter(|(k, _)| k.starts_with("benchhost.")).map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        (image, labels)
    }
}

/// Brings `profile` up with `session`'s settings, its run directory under `systems_root`.
/// Errors: whatever `up` returns (it has removed what it created), a profile without a mount
/// command (infrastructure: usage).
pub async fn bring_up(session: &Session<'_>, engine: &DockerEngine, profile: &str, systems_root: &Path) -> Result<System, BenchError> {
    let req = UpRequest { profile: profile.to_string(), results_dir: Some(systems_root.to_path_buf()), ..Default::default() };
    let done = match up(session, req).await? {
        UpOutcome::Up(done) => done,
        UpOutcome::DryRun(_) => return Err(BenchError::Other("up answered a dry run it was not asked for (a benchhost defect)".into())),
    };
    let Some(mount) = done.report.mount.clone() else {
        let _ = take_down(session, profile).await;
        return Err(BenchError::Usage(format!("{profile} has no mount command (infrastructure serves other systems)\n  hint: benchmark the systems that use it")));
    };
    let containers = match engine.list_labelled(LABEL_PROFILE, profile).await {
        Ok(found) => found.containers,
        Err(e) => {
            // It is up: it goes down before the error is the matrix's.
            let _ = take_down(session, profile).await;
            return Err(e.into());
        }
    };
    let record: serde_json::Value = std::fs::read_to_string(done.results_dir.join("run.json")).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    let protocol = if mount.argv.first().is_some_and(|a| a == "echo") { "fuse" } else if mount.argv.iter().any(|a| a == "cifs") { "smb" } else { "nfs" };
    Ok(System {
        profile: profile.to_string(),
        stack: (*done.report.stack).clone(),
        up_dir: done.results_dir,
        containers,
        mount,
        protocol: protocol.into(),
        plugin: plugin_of(&record, profile),
        images: images_of(&record),
        settings: {
            let mut settings: BTreeMap<String, String> = serde_json::from_value(record["settings"].clone()).unwrap_or_default();
            // Where `up` wrote its record: the benchmark's own directory, no setting of the system.
            settings.remove(crate::orchestration::results::RESULTS_SETTING);
            settings
        },
    })
}

/// Takes `profile` down (unmounting what `benchhost mount` mounted, saving the logs into its
/// `up` run directory). Errors: whatever `down` returns.
pub async fn take_down(session: &Session<'_>, profile: &str) -> Result<(), BenchError> {
    match down(session, profile, None, false).await? {
        DownOutcome::Done(_) | DownOutcome::DryRun(_) => Ok(()),
    }
}

/// Whether every container of the system still runs (a cell that failed may have killed it).
/// Asked three times 200 ms apart: a container that was just killed may still show as running.
pub async fn still_running(engine: &DockerEngine, system: &System) -> bool {
    for round in 0..3 {
        if round > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let all = match engine.list_labelled(LABEL_PROFILE, &system.profile).await {
            Ok(found) => system.containers.iter().all(|c| found.containers.iter().any(|f| f.id == c.id && f.state == "running")),
            Err(_) => false,
        };
        if !all {
            return false;
        }
    }
    true
}

fn plugin_of(record: &serde_json::Value, profile: &str) -> Option<PluginRef> {
    let plugins = record["plugins"].as_array()?;
    let p = plugins.iter().find(|p| p["profiles"].as_array().is_some_and(|ps| ps.iter().any(|x| x == profile)))?;
    Some(PluginRef { name: p["name"].as_str()?.into(), version: p["version"].as_str()?.into(), sha256: p["sha256"].as_str().unwrap_or_default().into() })
}

fn images_of(record: &serde_json::Value) -> Vec<ImageRef> {
    record["images"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| ImageRef { service: i["service"].as_str().unwrap_or_default().into(), image: i["image"].as_str().unwrap_or_default().into(), id: i["id"].as_str().unwrap_or_default().into() })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_of_up_names_the_plugin_and_images() {
        let r = serde_json::json!({
            "plugins": [{"name": "localstack", "version": "9.9.1", "sha256": "aa", "profiles": ["localstack"]}, {"name": "rclone", "version": "9.9.2", "sha256": "bb", "profiles": ["rclone"]}],
            "images": [{"service": "rclone", "image": "rclone/rclone:1.68", "id": "sha256:cc"}],
        });
        let p = plugin_of(&r, "rclone").unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str(), p.sha256.as_str()), ("rclone", "9.9.2", "bb"));
        assert!(plugin_of(&r, "ganesha").is_none());
        assert_eq!(images_of(&r)[0].id, "sha256:cc");
    }
}
