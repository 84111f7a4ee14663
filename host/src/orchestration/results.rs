//! A run's results directory: `<root>/<YYYY-MM-DD_HHMMSS>/`. `up`'s holds `logs/` and the run
//! record `run.json`; `bench`'s holds `bench.json`, `raw/<profile>/`, `charts/`, `logs/`, the
//! report and, under `systems/`, the run directory of each system's `up`.
//!
//! `root` is `--results-dir`, else `BENCH_RESULTS_DIR`, else `./results`. `up` creates the
//! directory; the directory's path is a label on every container, so `down` saves each
//! container's logs into `logs/` before it removes them. `run.json` is
//! [`crate::orchestration::run_record`]'s. Secret values are removed from saved logs.

use crate::orchestration::error::BenchError;
use crate::orchestration::plan::settings::SettingsSource;
use crate::engine::{DockerEngine, Labelled};
use std::path::{Path, PathBuf};

pub use crate::orchestration::labels::LABEL_RESULTS;
/// The setting that moves the results root.
pub const RESULTS_SETTING: &str = "BENCH_RESULTS_DIR";
/// What secret values are replaced with.
pub const REDACTED: &str = "***";

/// The results root: `flag`, else `BENCH_RESULTS_DIR`, else `./results` (made absolute).
pub fn results_root(flag: Option<&Path>, settings: &SettingsSource) -> PathBuf {
    let root = flag.map(Path::to_path_buf).or_else(|| settings.get(RESULTS_SETTING).filter(|v| !v.is_empty()).map(PathBuf::from)).unwrap_or_else(|| PathBuf::from("results"));
    std::path::absolute(&root).unwrap_or(root)
}

/// One run's directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates `<root>/<local time YYYY-MM-DD_HHMMSS>` (with `-2`, `-3`, … when that exists)
    /// and its `subdirs` (relative paths, e.g. `logs`, `raw/ganesha`). Errors name the path and
    /// say how to move the root; nothing is left behind then.
    pub fn create(root: &Path, subdirs: &[String]) -> Result<RunDir, BenchError> {
        let fail = |p: &Path, e: std::io::Error| {
            BenchError::Usage(format!("cannot create the results directory {}: {e}\n  hint: choose another root with --results-dir DIR or {RESULTS_SETTING}", p.display()))
        };
        std::fs::create_dir_all(root).map_err(|e| fail(root, e))?;
        let stamp = chrono::Local::now().format("%Y-%m-%d_%H%M%S").to_string();
        let mut n = 1;
        let path = loop {
            let name = if n == 1 { stamp.clone() } else { format!("{stamp}-{n}") };
            let candidate = root.join(name);
            match std::fs::create_dir(&candidate) {
                Ok(()) => break candidate,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(fail(&candidate, e)),
            }
        };
        for d in subdirs.iter().map(|d| path.join(d)) {
            if let Err(e) = std::fs::create_dir_all(&d) {
                // No half-made run directory stays behind.
                let _ = std::fs::remove_dir_all(&path);
                return Err(fail(&d, e));
            }
        }
        Ok(RunDir { path })
    }

    /// The directory of a run as `down` finds it: its label, or, with `root_override`
    /// (`down --results-dir`), the directory of the same name under that root (created if
    /// needed).
    pub fn for_down(label: &str, root_override: Option<&Path>) -> RunDir {
        let labelled = PathBuf::from(label);
        match (root_override, labelled.file_name()) {
            (Some(root), Some(name)) => RunDir { path: root.join(name) },
            _ => RunDir { path: labelled },
        }
    }

    /// Saves the full logs of `containers` as `logs/<container>.log`, streamed (memory stays
    /// bounded by the longest line), each line with the engine's timestamp, secret values
    /// replaced by `***` (see [`super::log_lines`]). Returns the files written, or the
    /// problems: the directory or a file could not be written, or a log could not be read.
    pub async fn save_logs(&self, engine: &DockerEngine, containers: &[Labelled], secrets: &[String]) -> Result<Vec<String>, Vec<String>> {
        let dir = self.path.join("logs");
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return Err(vec![format!("cannot create {}: {e}", dir.display())]);
        }
        let saves = containers.iter().map(|c| {
            let file = dir.join(format!("{}.log", c.name));
            async move { save_one(engine, &c.id, &file, secrets).await.map(|()| file.display().to_string()).map_err(|e| format!("{}: {e}", file.display())) }
        });
        let (mut saved, mut failed) = (Vec::new(), Vec::new());
        for r in futures_util::future::join_all(saves).await {
            match r {
                Ok(f) => saved.push(f),
                Err(e) => failed.push(e),
            }
        }
        if failed.is_empty() { Ok(saved) } else { Err(failed) }
    }
}

/// Streams one container's log into `file` through a [`crate::orchestration::log_lines::LineAssembler`].
async fn save_one(engine: &DockerEngine, id: &str, file: &Path, secrets: &[String]) -> Result<(), String> {
    use futures_util::StreamExt;
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(file).map_err(|e| e.to_string())?);
    let mut lines = crate::orchestration::log_lines::LineAssembler::new(true, secrets);
    let mut stream = std::pin::pin!(engine.logs_stream(id, false, None, true));
    while let Some(frame) = stream.next().await {
        let frame = frame.map_err(|e| format!("reading the container's log: {e}"))?;
        for line in lines.push(frame.stderr, &frame.text) {
            out.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
        }
    }
    for line in lines.finish() {
        out.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

/// Writes `bytes` to `path` whole: into `path.tmp`, then renamed over `path`, so a reader (or
/// `--resume` after a crash) sees the old file or the new one, never half of one.
/// Errors: the I/O error (the `.tmp` is removed then).
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// A results file that cannot be written, as the usage error a user can act on.
pub fn write_error(path: &Path, e: std::io::Error) -> BenchError {
    BenchError::Usage(format!("cannot write {}: {e}\n  hint: free space there, or choose another root with --results-dir DIR or {RESULTS_SETTING}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn run_dir_has_the_layout_and_unique_names() {
        let root = tempfile::tempdir().unwrap();
        let a = RunDir::create(root.path(), &["raw/ganesha".into(), "logs".into()]).unwrap();
        let b = RunDir::create(root.path(), &["logs".into()]).unwrap();
        assert_ne!(a.path, b.path, "two runs in the same second get distinct directories");
        for d in ["raw/ganesha", "logs"] {
            assert!(a.path.join(d).is_dir(), "{d} missing in {}", a.path.display());
        }
        let name = a.path.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(name.len(), "2026-11-30_001122".len(), "{name}");
        assert_eq!(&name[4..5], "-");
        assert_eq!(&name[10..11], "_");
    }

    #[test]
    fn root_comes_from_flag_then_setting_then_default() {
        let s = SettingsSource::from_map(HashMap::from([(RESULTS_SETTING.to_string(), "/tmp/r-setting".to_string())]));
        assert_eq!(results_root(Some(Path::new("/tmp/r-flag")), &s), PathBuf::from("/tmp/r-flag"));
        assert_eq!(results_root(None, &s), PathBuf::from("/tmp/r-setting"));
        let none = SettingsSource::from_map(HashMap::new());
        assert!(results_root(None, &none).ends_with("results"));
        assert!(results_root(None, &none).is_absolute());
    }

    #[test]
    fn down_override_keeps_the_run_name() {
        let d = RunDir::for_down("/srv/results/2026-11-30_010203", Some(Path::new("/tmp/elsewhere")));
        assert_eq!(d.path, PathBuf::from("/tmp/elsewhere/2026-11-30_010203"));
        assert_eq!(RunDir::for_down("/srv/results/x", None).path, PathBuf::from("/srv/results/x"));
    }
}
