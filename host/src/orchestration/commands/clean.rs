//! `benchhost clean`: everything benchhost created, from any run, removed under the run lock
//! (it finishes once started); or, with `dry_run`, listed.

use super::Session;
use crate::engine::DockerEngine;
use crate::orchestration::dry_run::{self, Action};
use crate::orchestration::error::BenchError;
use crate::orchestration::teardown::clean::{self, CleanReport};

/// How `clean` ended.
#[derive(Debug)]
pub enum CleanOutcome {
    /// `--dry-run`: what would be unmounted, saved and removed.
    DryRun(Vec<Action>),
    Done(CleanReport),
}

/// Cleans up (with `images`, also the images benchhost built from source).
pub async fn clean(session: &Session<'_>, images: bool, dry_run: bool) -> Result<CleanOutcome, BenchError> {
    crate::orchestration::interrupt::before_work("before anything was removed");
    let engine = DockerEngine::connect().await?;
    if dry_run {
        let (mounts, found, built) = clean::targets(&engine, images).await?;
        let mut actions = dry_run::removal_actions(&found, &mounts, true);
        actions.extend(built.iter().map(|i| Action {
            action: "remove-image",
            description: format!("remove image {} ({})", i.tags.join(", "), i.id),
            request: None,
        }));
        return Ok(CleanOutcome::DryRun(actions));
    }
    let _lock = super::hold_engine(&engine).await?;
    // Like down: once started, clean finishes.
    let guard = session.signals.guard();
    guard.notice("still cleaning up (each container is given its stop grace, 10 s unless its plugin sets another); benchhost exits when it is done".into());
    Ok(CleanOutcome::Done(clean::clean(&engine, images, session.secrets).await?))
}
