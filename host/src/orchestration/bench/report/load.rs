//! Reading a run's cell results: every `RUN/raw/<profile>/*.json` ([`crate::orchestration::bench::cell`]).
//!
//! Only names ending in `.json` are read (a `.json.tmp` is a result being written). A file that
//! does not parse as a cell result of [`SCHEMA`] is skipped with a warning naming it; a cell
//! whose fio report cannot be read is kept as failed, the reason in its error.

use crate::orchestration::bench::cell::{CellResult, CellStatus, SCHEMA};
use crate::orchestration::bench::metrics::CellMetrics;
use std::path::{Path, PathBuf};

/// One result file, read.
#[derive(Clone, Debug)]
pub struct LoadedCell {
    /// The file, relative to the run directory (`raw/<profile>/<name>.json`).
    pub path: PathBuf,
    pub result: CellResult,
    /// The cell's numbers, or why there are none: the cell's own error when it failed, else
    /// what [`CellMetrics::from_fio`] said of its fio report.
    pub metrics: Result<CellMetrics, String>,
}

impl LoadedCell {
    /// The system's profile name.
    pub fn system(&self) -> &str {
        &self.result.cell.profile
    }
}

/// What [`read_raw`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// In path order.
    pub cells: Vec<LoadedCell>,
    /// One sentence per file skipped or read with a doubt, naming the file.
    pub warnings: Vec<String>,
    /// `.json` files seen, read or not.
    pub files_seen: usize,
}

/// Reads every cell result under `run_dir/raw/`.
///
/// Errors: `raw/` or one of its directories cannot be listed (the message names it). A file that
/// cannot be read or parsed is a warning, never an error.
pub fn read_raw(run_dir: &Path) -> Result<Loaded, String> {
    let raw = run_dir.join("raw");
    let mut loaded = Loaded::default();
    for profile_dir in sorted_entries(&raw)? {
        if !profile_dir.is_dir() {
            continue;
        }
        for file in sorted_entries(&profile_dir)? {
            if file.extension().is_none_or(|e| e != "json") || !file.is_file() {
                continue;
            }
            loaded.files_seen += 1;
            let rel = file.strip_prefix(run_dir).unwrap_or(&file).to_path_buf();
            match read_one(&file, &rel) {
                Ok((cell, warning)) => {
                    loaded.warnings.extend(warning);
                    loaded.cells.push(cell);
                }
                Err(why) => loaded.warnings.push(format!("skipped {}: {why}", rel.display())),
            }
        }
    }
    Ok(loaded)
}

/// One file: the cell, and a warning when its place does not match its content.
fn read_one(file: &Path, rel: &Path) -> Result<(LoadedCell, Option<String>), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read it: {e}"))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("not JSON ({e})"))?;
    let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema != SCHEMA {
        return Err(format!("its schema is {schema:?}, not {SCHEMA:?} (not a cell result this benchhost reads)"));
    }
    let result: CellResult = serde_json::from_value(value).map_err(|e| format!("not a cell result ({e})"))?;
    let dir = rel.parent().and_then(Path::file_name).and_then(|n| n.to_str()).unwrap_or("");
    let warning = (dir != result.cell.profile || rel.file_name().and_then(|n| n.to_str()) != Some(result.cell.file_name().as_str())).then(|| {
        format!("{} holds the cell {}: its path does not match (the cell's own id is used)", rel.display(), result.cell.label())
    });
    let metrics = match result.status {
        CellStatus::Failed => Err(result.error.clone().unwrap_or_else(|| "failed (no error recorded)".to_string())),
        CellStatus::Ok => CellMetrics::from_fio(&result.cell.workload, &result.fio).map_err(|e| format!("fio's report cannot be read: {e}")),
    };
    Ok((LoadedCell { path: rel.to_path_buf(), result, metrics }, warning))
}

/// A directory's entries, sorted by name.
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}
