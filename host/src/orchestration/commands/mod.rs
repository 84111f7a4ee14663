//! One function per command, each doing the whole job (the run lock, the plan, the run record,
//! the interrupt sweep) and returning a typed report. The CLI parses arguments, calls one of
//! these and renders its report as text or JSON; a program (the benchmark matrix) can call the
//! same functions.
//!
//! Live progress (timed steps, "waiting for …" notes) goes to stderr through
//! [`crate::orchestration::progress`] while a command works; what it found or did comes back
//! in its report.

pub mod clean;
pub mod compose;
pub mod doctor;
pub mod down;
pub mod drop_caches;
pub mod list;
pub mod logs;
pub mod mount;
pub mod plugin;
pub mod status;
pub mod up;
pub mod vm;

use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
use crate::orchestration::interrupt::Signals;
use crate::orchestration::run_lock::{self, RunLock};
use crate::orchestration::plan::settings::SettingsSource;
use crate::orchestration::plugins::registry::Registry;

/// What every command runs with: the loaded plugins, the settings, the secret values to keep
/// out of output, and the process's signal listener.
pub struct Session<'a> {
    pub registry: &'a Registry,
    pub settings: &'a SettingsSource,
    /// Values of every setting declared secret (removed from output, logs and results).
    pub secrets: &'a [String],
    pub signals: &'a Signals,
}

/// `dir` made absolute, or the default mount directory of `profile`
/// (`/mnt/benchhost/<profile>`).
pub(crate) fn absolute_dir(dir: Option<String>, profile: &str) -> String {
    match dir {
        Some(d) => std::path::absolute(&d).map(|p| p.display().to_string()).unwrap_or(d),
        None => format!("/mnt/benchhost/{profile}"),
    }
}

/// A directory flag given as an empty string: a usage error naming the flag, with an example.
pub(crate) fn refuse_empty_dir(flag: &str, dir: Option<&str>) -> Result<(), crate::orchestration::BenchError> {
    if dir.is_some_and(|d| d.trim().is_empty()) {
        return Err(crate::orchestration::BenchError::Usage(format!("{flag} is empty\n  hint: give a directory, e.g. {flag} /mnt/bench")));
    }
    Ok(())
}

/// What `up`, `down` and `clean` do first: take the engine's run lock
/// ([`run_lock::acquire`]), then remove what runs left on it when it stopped answering
/// ([`crate::orchestration::teardown::unfinished::sweep`]; a line on stderr per run removed).
pub async fn hold_engine(engine: &DockerEngine) -> Result<RunLock, BenchError> {
    let lock = run_lock::acquire(engine).await?;
    for line in crate::orchestration::teardown::unfinished::sweep(engine).await {
        crate::orchestration::progress::say(&line);
    }
    Ok(lock)
}
