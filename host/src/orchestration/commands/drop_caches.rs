//! `benchhost drop-caches`: flush this machine's page cache between runs.

use crate::orchestration::error::BenchError;
use crate::orchestration::host::{host_os, mounts, page_cache};

/// How `drop-caches` ended.
#[derive(Debug)]
pub enum DropCachesOutcome {
    /// `--dry-run`: the commands, each as argv.
    DryRun(Vec<Vec<String>>),
    /// Done; what was run.
    Done(String),
}

/// Flushes the page cache (Linux: sync + drop_caches; macOS: sync + purge), or lists the commands.
pub fn drop_caches(dry_run: bool) -> Result<DropCachesOutcome, BenchError> {
    let os = host_os();
    if dry_run {
        return Ok(DropCachesOutcome::DryRun(page_cache::commands(os, mounts::is_root())?));
    }
    Ok(DropCachesOutcome::Done(page_cache::drop_caches(os)?))
}
