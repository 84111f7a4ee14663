//! Runs whose resources are still on an engine that stopped answering: when a failed or
//! interrupted `up` cannot remove what it created (the engine's host went away, dockerd
//! stopped), the run is written down here, one file per run under
//! `<state dir>/unfinished/<engine id>/<run id>.json` (the state directory is
//! [`crate::orchestration::host::state_dir`], `~/.local/state/benchhost` by default), and the
//! next `up`, `down` or `clean` against that engine ([`sweep`], under the run lock) removes
//! them by the run's label once the engine answers again, and forgets the run.
//!
//! Keyed by the engine's own id ([`DockerEngine::engine_id`]), not by how `DOCKER_HOST` names
//! it, so any later command against the same engine finds the run.

use crate::engine::DockerEngine;
use crate::orchestration::teardown::remove::remove_run;
use std::path::PathBuf;

/// One run left on an engine: what [`record`] writes and [`sweep`] reads.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unfinished {
    /// The run id its resources are labelled with (`benchhost.run`).
    pub run_id: String,
    /// The profile that run brought up.
    pub profile: String,
    /// The engine's URL when it was recorded (for the message; the directory names its id).
    pub engine: String,
}

/// The directory of `engine_id`'s unfinished runs under the state directory `state` (the id
/// reduced to `[A-Za-z0-9]`, as the run lock's file name).
fn engine_dir(state: &std::path::Path, engine_id: &str) -> PathBuf {
    let id: String = engine_id.chars().filter(char::is_ascii_alphanumeric).take(96).collect();
    state.join("unfinished").join(id)
}

/// Writes `run` down for `engine`; returns the file. Errors: no state directory, or one that
/// cannot be written (the message names the path).
pub fn record(engine: &DockerEngine, run: &Unfinished) -> Result<PathBuf, String> {
    let root = crate::orchestration::host::state_dir().ok_or("no state directory (none of BENCHHOST_STATE_DIR, XDG_STATE_HOME, HOME is set)")?;
    record_in(&root, &engine.engine_id, run)
}

fn record_in(root: &std::path::Path, engine_id: &str, run: &Unfinished) -> Result<PathBuf, String> {
    let dir = engine_dir(root, engine_id);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let id: String = run.run_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let path = dir.join(format!("{id}.json"));
    let text = serde_json::to_string_pretty(run).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path)
}

/// The runs written down for `engine_id` under `root`, each with its file; unreadable files
/// are skipped.
fn recorded_in(root: &std::path::Path, engine_id: &str) -> Vec<(PathBuf, Unfinished)> {
    let Ok(entries) = std::fs::read_dir(engine_dir(root, engine_id)) else { return Vec::new() };
    let mut runs: Vec<(PathBuf, Unfinished)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| Some((p.clone(), serde_json::from_str(&std::fs::read_to_string(&p).ok()?).ok()?)))
        .collect();
    runs.sort_by(|a, b| a.1.run_id.cmp(&b.1.run_id));
    runs
}

/// The runs written down for `engine` (for `status`), oldest first; none without a state
/// directory.
pub fn recorded(engine: &DockerEngine) -> Vec<Unfinished> {
    let Some(root) = crate::orchestration::host::state_dir() else { return Vec::new() };
    recorded_in(&root, &engine.engine_id).into_iter().map(|(_, run)| run).collect()
}

/// Removes everything of run `run_id` ([`remove_run`]); when that does not finish (the engine
/// stopped answering), writes the run down for the next `up`, `down` or `clean` to remove
/// ([`sweep`]). Returns `None` when all is removed, else the line that says what stays and
/// who removes it.
pub async fn remove_or_leave_for_later(engine: &DockerEngine, run_id: &str, profile: &str) -> Option<String> {
    if remove_run(engine, run_id).await {
        return None;
    }
    let run = Unfinished { run_id: run_id.into(), profile: profile.into(), engine: engine.endpoint.url() };
    let url = engine.endpoint.url();
    Some(match record(engine, &run) {
        Ok(path) => format!(
            "the engine at {url} did not let this run's resources be removed: they stay there until it answers again, and the next `benchhost up`, `down` or `clean` against it removes them (run {run_id}, written down in {})",
            path.display()
        ),
        Err(e) => format!(
            "the engine at {url} did not let this run's resources be removed, and they could not be written down ({e}): once it answers, `benchhost down {profile}` removes them (run {run_id})"
        ),
    })
}

/// Removes what each unfinished run of `engine` left on it ([`remove_run`]) and forgets the
/// runs whose resources are gone. Returns a line per run removed, e.g. `removed what run
/// 1764… (ganesha) left when the engine at tcp://… stopped answering`. The caller holds the
/// run lock. A run whose removal does not finish stays written down for the next command.
pub async fn sweep(engine: &DockerEngine) -> Vec<String> {
    let Some(root) = crate::orchestration::host::state_dir() else { return Vec::new() };
    let mut lines = Vec::new();
    for (path, run) in recorded_in(&root, &engine.engine_id) {
        if remove_run(engine, &run.run_id).await {
            let _ = std::fs::remove_file(&path);
            lines.push(format!("removed what run {} ({}) left when the engine at {} stopped answering", run.run_id, run.profile, run.engine));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_written_down_per_engine_id_and_read_back() {
        let root = tempfile::tempdir().unwrap();
        let run = Unfinished { run_id: "1764000000000-42".into(), profile: "ganesha".into(), engine: "tcp://10.201.0.2:2375".into() };
        let path = record_in(root.path(), "ABCD:EF01:../x", &run).unwrap();
        assert_eq!(path, root.path().join("unfinished/ABCDEF01x/1764000000000-42.json"));
        assert_eq!(recorded_in(root.path(), "ABCD:EF01:../x"), vec![(path, run)]);
        assert!(recorded_in(root.path(), "another engine").is_empty());
        std::fs::write(root.path().join("unfinished/ABCDEF01x/junk.json"), "not json").unwrap();
        assert_eq!(recorded_in(root.path(), "ABCD:EF01:../x").len(), 1, "an unreadable file is skipped");
    }
}
