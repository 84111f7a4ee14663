//! `benchhost clean`: the way back to an empty engine. Unmounts what `benchhost mount` mounted, then
//! removes every container, network and volume labelled `benchhost.managed=true`, from any
//! run and any profile; with `images`, also the images benchhost built (`<PLUGIN>_SRC`).
//! Images pulled from registries or built by `tests/images/build.sh` are never removed.

use crate::orchestration::error::BenchError;
use super::retire::retire;
use crate::orchestration::labels::LABEL_MANAGED;
use crate::engine::{BuiltImage, DockerEngine, LabelledResources};

/// What `clean` removed (or, for a dry run, would remove).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CleanReport {
    pub unmounted: Vec<String>,
    /// Log files saved into each run's results directory before its containers went.
    pub logs: Vec<String>,
    /// Logs that could not be saved (clean removes anyway: it is the way out), stale FUSE
    /// mounts detached.
    pub notes: Vec<String>,
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
    pub images: Vec<String>,
}

/// The repository of images built from source (`benchhost-src/<plugin>:latest`): the only
/// tags `clean --images` removes.
const SOURCE_BUILD_REPO: &str = "benchhost-src/";

/// Everything `clean` acts on: recorded mounts `(profile, dir)`, labelled resources and, with
/// `images`, the images benchhost built.
pub async fn targets(engine: &DockerEngine, images: bool) -> Result<(Vec<(String, crate::orchestration::host::mounts::Record)>, LabelledResources, Vec<BuiltImage>), BenchError> {
    let mounts = crate::orchestration::host::mounts::profiles_with_mounts()
        .into_iter()
        .flat_map(|p| crate::orchestration::host::mounts::recorded(&p).into_iter().map(move |d| (p.clone(), d)))
        .collect();
    let found = engine.list_labelled(LABEL_MANAGED, "true").await?;
    let built = if images {
        let mut built = engine.list_images_labelled(LABEL_MANAGED, "true").await?;
        // Derived images inherit labels; only images still tagged benchhost-src/* are benchhost's.
        built.retain(|i| i.tags.iter().any(|t| t.starts_with(SOURCE_BUILD_REPO)));
        built
    } else {
        vec![]
    };
    Ok((mounts, found, built))
}

/// Unmounts, then retires every labelled resource like `down` (logs saved best effort:
/// `clean` is the way out), and, with `images`, removes benchhost's tags of the images it built.
pub async fn clean(engine: &DockerEngine, images: bool, secrets: &[String]) -> Result<CleanReport, BenchError> {
    let (mounts, found, built) = targets(engine, images).await?;
    let mut report = CleanReport::default();
    for (profile, rec) in &mounts {
        // A mount that will not go away stops clean before it removes the server under it.
        if let Some(note) = crate::orchestration::host::mounts::unmount_record(profile, rec, crate::orchestration::host::host_os())? {
            report.unmounted.push(note);
        }
    }
    let retired = retire(engine, &found, None, secrets, "benchhost clean", false).await?;
    report.logs = retired.logs;
    report.notes = retired.notes;
    report.containers = found.containers.iter().map(|c| c.name.clone()).collect();
    report.networks = found.networks.iter().map(|n| n.name.clone()).collect();
    report.volumes = found.volumes.iter().map(|v| v.name.clone()).collect();
    for image in &built {
        for tag in image.tags.iter().filter(|t| t.starts_with(SOURCE_BUILD_REPO)) {
            // Only benchhost's own tag goes; an image also tagged or built upon by the user stays.
            engine.remove_image(tag).await?;
            report.images.push(tag.clone());
        }
    }
    Ok(report)
}
