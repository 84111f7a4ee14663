//! `benchhost clean`: the seed's clean-all. Unmounts what `benchhost mount` mounted, then
//! removes every container, network and volume labelled `benchhost.managed=true`, from any
//! run and any profile; with `images`, also the images benchhost built (`<PLUGIN>_SRC`).
//! Images pulled from registries or built by `tests/images/build.sh` are never removed.

use super::error::BenchError;
use super::stack::{remove_all, LABEL_MANAGED};
use crate::engine::{BuiltImage, DockerEngine, LabelledResources};

/// What `clean` removed (or, for a dry run, would remove).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CleanReport {
    pub unmounted: Vec<String>,
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
    pub images: Vec<String>,
}

/// Everything `clean` acts on: recorded mounts `(profile, dir)`, labelled resources and, with
/// `images`, the images benchhost built.
pub async fn targets(engine: &DockerEngine, images: bool) -> Result<(Vec<(String, String)>, LabelledResources, Vec<BuiltImage>), BenchError> {
    let mounts = super::host_mount::profiles_with_mounts()
        .into_iter()
        .flat_map(|p| super::host_mount::recorded(&p).into_iter().map(move |d| (p.clone(), d)))
        .collect();
    let found = engine.list_labelled(LABEL_MANAGED, "true").await?;
    let built = if images { engine.list_images_labelled(LABEL_MANAGED, "true").await? } else { vec![] };
    Ok((mounts, found, built))
}

/// Unmounts, then removes every labelled resource (targets before infrastructure) and, with
/// `images`, the images benchhost built.
pub async fn clean(engine: &DockerEngine, images: bool) -> Result<CleanReport, BenchError> {
    let (mounts, found, built) = targets(engine, images).await?;
    let mut report = CleanReport::default();
    for (profile, dir) in &mounts {
        match super::host_mount::unmount_dir(profile, dir, super::settings::host_os()) {
            Ok(Some(note)) => report.unmounted.push(note),
            Ok(None) => {}
            Err(e) => report.unmounted.push(format!("could not unmount {dir}: {e}")),
        }
    }
    remove_all(engine, &found).await?;
    report.containers = found.containers.iter().map(|c| c.name.clone()).collect();
    report.networks = found.networks.iter().map(|n| n.name.clone()).collect();
    report.volumes = found.volumes.iter().map(|v| v.name.clone()).collect();
    for image in &built {
        engine.remove_image(&image.id).await?;
        report.images.push(if image.tags.is_empty() { image.id.clone() } else { image.tags.join(", ") });
    }
    Ok(report)
}
