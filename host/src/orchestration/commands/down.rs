//! `benchhost down`: under the run lock, unmount, save the logs, remove everything labelled with
//! the profile. Once started it finishes, even when interrupted, and says so.

use super::Session;
use crate::engine::DockerEngine;
use crate::orchestration::dry_run::{self, Action};
use crate::orchestration::error::BenchError;
use crate::orchestration::host::mounts;
use crate::orchestration::labels::LABEL_PROFILE;
use crate::orchestration::teardown::down::{down as remove_profile, DownOptions, DownReport};
use std::path::PathBuf;

/// How `down` ended.
#[derive(Debug)]
pub enum DownOutcome {
    /// `--dry-run`: what would be unmounted, saved and removed.
    DryRun(Vec<Action>),
    Done(DownDone),
}

/// What a `down` did.
#[derive(Debug)]
pub struct DownDone {
    pub report: DownReport,
    /// Nothing of the profile was on the engine.
    pub nothing: bool,
    /// A signal arrived while it removed (it finished first).
    pub interrupted: bool,
}

/// Takes `profile` down; `results_dir` saves the logs under `DIR/<run>` instead of the run's own
/// directory. Errors: an unknown profile with nothing to remove (usage), a mount that will not
/// go away, logs that cannot be saved (nothing removed), engine errors.
pub async fn down(session: &Session<'_>, profile: &str, results_dir: Option<PathBuf>, dry_run: bool) -> Result<DownOutcome, BenchError> {
    crate::orchestration::interrupt::before_work("before anything was removed");
    let engine = DockerEngine::connect().await?;
    if dry_run {
        let found = engine.list_labelled(LABEL_PROFILE, profile).await?;
        if found.is_empty() {
            session.registry.find(profile)?;
        }
        let recorded: Vec<(String, mounts::Record)> = mounts::recorded(profile).into_iter().map(|r| (profile.to_string(), r)).collect();
        return Ok(DownOutcome::DryRun(dry_run::removal_actions(&found, &recorded, true)));
    }
    let root = results_dir.map(|d| std::path::absolute(&d).unwrap_or(d));
    let _lock = super::hold_engine(&engine).await?;
    // An interrupted down would leave a half-removed stack: it finishes, then says so.
    let guard = session.signals.guard();
    guard.notice(format!("still taking {profile} down (each container is given its stop grace, 10 s unless its plugin sets another); benchhost exits when it is done"));
    let report = remove_profile(&engine, profile, &DownOptions { results_root: root, secrets: session.secrets.to_vec() }).await?;
    let nothing = report.containers.is_empty() && report.networks.is_empty() && report.volumes.is_empty();
    if nothing {
        // A typo is not "nothing to remove": say so (resources of uninstalled plugins are still
        // removed above).
        session.registry.find(profile)?;
    }
    Ok(DownOutcome::Done(DownDone { report, nothing, interrupted: guard.was_interrupted() }))
}
