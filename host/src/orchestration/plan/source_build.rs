//! Images built from a source checkout instead of pulled: `<PLUGIN>_SRC=/path/to/checkout`
//! (e.g. `DITTOFS_SRC`) makes `up` build that checkout's root `Dockerfile` through the Engine
//! API and run it in place of the pinned `<PLUGIN>_IMAGE`.
//!
//! The built image is tagged `benchhost-src/<plugin>:latest` and labelled
//! `benchhost.managed=true` and `benchhost.source=<path>`, so `benchhost clean --images`
//! removes it. The engine's build cache makes a rebuild of an unchanged checkout quick.

use crate::orchestration::error::BenchError;
use crate::orchestration::plan::Plan;
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::plan::settings::SettingsSource;
use crate::engine::DockerEngine;
use std::collections::HashMap;
use std::path::PathBuf;

use crate::orchestration::labels::{LABEL_MANAGED, LABEL_SOURCE};

/// One image to build before `up`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SourceBuild {
    pub plugin: String,
    /// The setting that asked for it, e.g. `DITTOFS_SRC`.
    pub setting: String,
    /// The checkout (its root holds the `Dockerfile`).
    pub context: PathBuf,
    /// The tag services now use.
    pub tag: String,
    /// The image it replaces.
    pub replaces: String,
}

/// The setting naming a plugin's source checkout: `<NAME>_SRC`, upper case, `-` as `_`.
pub fn source_setting(plugin: &str) -> String {
    format!("{}_SRC", plugin.to_ascii_uppercase().replace('-', "_"))
}

/// For every plugin of `plan` whose `<NAME>_SRC` is set, points the services that run the
/// plugin's `<NAME>_IMAGE` at the image to build, and returns the builds. Errors (usage): the
/// directory or its `Dockerfile` is missing, or no service uses `<NAME>_IMAGE`.
pub fn apply(registry: &Registry, settings: &SettingsSource, plan: &mut Plan) -> Result<Vec<SourceBuild>, BenchError> {
    let mut builds: Vec<SourceBuild> = Vec::new();
    for planned in &mut plan.profiles {
        let name = registry.plugins[planned.plugin].plugin.info.name.clone();
        let setting = source_setting(&name);
        let Some(src) = settings.get(&setting).filter(|v| !v.trim().is_empty()) else { continue };
        let context = std::path::absolute(src).unwrap_or_else(|_| PathBuf::from(src));
        if !context.join("Dockerfile").is_file() {
            return Err(BenchError::Usage(format!(
                "{setting}={src:?}: {} has no Dockerfile at its root\n  hint: point {setting} at the root of a {name} checkout, or unset it to use the pinned image",
                context.display()
            )));
        }
        let image_setting = format!("{}_IMAGE", name.to_ascii_uppercase().replace('-', "_"));
        let pinned = planned.ctx.settings.iter().find(|(k, _)| *k == image_setting).map(|(_, v)| v.clone());
        let tag = format!("benchhost-src/{name}:latest");
        let mut replaced = None;
        for service in &mut planned.services {
            if Some(&service.image) == pinned.as_ref() {
                replaced = Some(std::mem::replace(&mut service.image, tag.clone()));
            }
        }
        let Some(replaces) = replaced else {
            return Err(BenchError::Usage(format!(
                "{setting} is set, but no service of plugin {name} (profile {}) runs {image_setting} ({})\n  hint: unset {setting}",
                planned.profile,
                pinned.as_deref().unwrap_or("not declared")
            )));
        };
        if !builds.iter().any(|b| b.tag == tag) {
            builds.push(SourceBuild { plugin: name, setting, context, tag, replaces });
        }
    }
    Ok(builds)
}

/// Builds every image of `builds` (build output goes to `progress`).
pub async fn build_all(engine: &DockerEngine, builds: &[SourceBuild], progress: &crate::orchestration::progress::Progress) -> Result<(), BenchError> {
    for b in builds {
        let t = std::time::Instant::now();
        progress.step(&format!("building {} from {} ({})", b.tag, b.context.join("Dockerfile").display(), b.setting));
        let spinner = progress.spinner(&format!("building {}", b.tag));
        let labels = HashMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_SOURCE.to_string(), b.context.display().to_string()),
        ]);
        let id = engine
            .build_image(&b.context, &b.tag, &labels, |line| {
                spinner.message(line);
                tracing::info!("build {}: {line}", b.tag);
            })
            .await?;
        drop(spinner);
        progress.step(&format!("built {} ({}) ({:.2}s)", b.tag, short_id(&id), t.elapsed().as_secs_f64()));
    }
    Ok(())
}

fn short_id(id: &str) -> &str {
    let hex = id.trim_start_matches("sha256:");
    &hex[..hex.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_name_follows_the_plugin_name() {
        assert_eq!(source_setting("dittofs"), "DITTOFS_SRC");
        assert_eq!(source_setting("kernel-nfs"), "KERNEL_NFS_SRC");
    }
}
