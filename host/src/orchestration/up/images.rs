//! Every image a plan needs, checked (and pulled) before anything is created; a missing one
//! is named with how to get it.

use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
use crate::orchestration::plan::Plan;
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::progress::Progress;
use std::time::Instant;

/// The images `tests/images/build.sh NAME` builds (one `tests/images/NAME/recipe.sh` each).
const LOCAL_IMAGES: &[&str] = &["dittofs", "ganesha", "juicefs", "localstack", "moto", "postgres", "rclone", "samba"];

/// The hint shown when an image is missing.
fn image_hint(plugin: &crate::runtime::contract::PluginInfo, image: &str) -> String {
    let setting = plugin.settings.iter().find(|s| s.name.ends_with("_IMAGE")).map(|s| s.name.clone());
    let point = match setting {
        Some(s) => format!(
            "point {s} at an image you have (`docker images`), or build one from a checkout with {}=/path/to/source",
            crate::orchestration::plan::source_build::source_setting(&plugin.name)
        ),
        None => "check `docker images`".to_string(),
    };
    if image.starts_with("benchhost") {
        // benchhost/* and benchhost-test/* images are built locally; no registry has them.
        let name = image.split('/').nth(1).and_then(|r| r.split(':').next()).unwrap_or(&plugin.name);
        if LOCAL_IMAGES.contains(&name) {
            format!("this image is built locally, not pulled: run `tests/images/build.sh {name}` (as root), or {point}")
        } else {
            format!("no local recipe builds {image} (tests/images/ has: {}); {point}", LOCAL_IMAGES.join(", "))
        }
    } else {
        format!("make its registry reachable (`docker pull {image}`), or {point}")
    }
}

/// Checks (and pulls) every image of the plan, all at the same time, before anything is
/// created; every missing one is named with its hint.
pub async fn ensure_all(registry: &Registry, engine: &DockerEngine, plan: &Plan, progress: &Progress) -> Result<(), BenchError> {
    // Images first: nothing is created until every image is present; all missing ones are named.
    // Each image is checked (and pulled) once, all at the same time.
    let mut images: Vec<(&str, String)> = Vec::new();
    for (p, s) in plan.services() {
        if !images.iter().any(|(image, _)| *image == s.image) {
            images.push((&s.image, image_hint(&registry.plugin(p.plugin).info, &s.image)));
        }
    }
    let images_spinner = progress.spinner("checking images");
    let spinner = &images_spinner;
    let checks = images.iter().map(|(image, hint)| async move {
        let t = Instant::now();
        let r = engine
            .ensure_image(image, hint, |line| {
                spinner.message(line);
                tracing::info!("{line}")
            })
            .await;
        (r, t.elapsed())
    });
    let checked = futures_util::future::join_all(checks).await;
    drop(images_spinner);
    let mut missing = Vec::new();
    for ((image, _), (r, took)) in images.iter().zip(checked) {
        match r {
            Ok(()) => progress.step(&format!("image {image} ready ({:.2}s)", took.as_secs_f64())),
            Err(e @ crate::engine::EngineError::ImageUnavailable { .. }) => missing.push(e),
            Err(e) => return Err(e.into()),
        }
    }
    match missing.len() {
        0 => {}
        1 => return Err(missing.remove(0).into()),
        n => {
            let all: Vec<String> = missing.iter().map(|e| e.to_string()).collect();
            return Err(BenchError::Engine(crate::engine::EngineError::Api { context: format!("{n} images are unavailable"), detail: all.join("\n") }));
        }
    }

    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_images_are_the_recipes_in_tests_images() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/images");
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().join("recipe.sh").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        found.sort();
        assert_eq!(found, super::LOCAL_IMAGES, "LOCAL_IMAGES must list every tests/images/NAME");
    }
}
