//! The report of a benchmark run, rebuilt from its cell results (`benchhost report RUN_DIR`;
//! `bench` calls it at the end of a matrix).
//!
//! Reads every `RUN/raw/<profile>/*.json` ([`load`]), groups the repeats of each cell and reduces
//! them to median, min and max ([`summary`]), compares what the systems were measured with
//! ([`settings`]), and writes:
//! - `RUN/summary.csv`: a row per (system, workload, size, pass) ([`summary`] lists the columns);
//! - `RUN/charts/<workload>.svg`: a grouped bar chart per workload ([`charts`]);
//! - `RUN/report.md`: tables per workload, settings, warnings, what the numbers mean
//!   ([`markdown`]), linking the charts.
//!
//! Everything comes from the result files alone (secrets are `***` there), so a report can be
//! rebuilt anywhere, any time, and says nothing the files do not.

pub mod charts;
#[cfg(test)]
mod fixture;
pub mod load;
pub mod markdown;
pub mod settings;
pub mod summary;

use crate::orchestration::BenchError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What [`rebuild`] wrote.
#[derive(Clone, Debug, Serialize)]
pub struct ReportFiles {
    pub run_dir: PathBuf,
    /// Every file written: `summary.csv`, the charts, `report.md` (last).
    pub files: Vec<PathBuf>,
    /// Files skipped, settings that differ, charts not drawn: one sentence each.
    pub warnings: Vec<String>,
    /// Cell results read, and how many of them failed.
    pub cells: usize,
    pub failed: usize,
}

/// Rebuilds `summary.csv`, `charts/*.svg` and `report.md` in `run_dir` from `run_dir/raw/`,
/// percentages against `baseline`'s medians when given.
///
/// Errors: [`BenchError::Usage`] when `run_dir` is not a directory, has no `raw/` or no cell
/// result in it that can be read, or `baseline` is not one of its systems (each with a hint);
/// [`BenchError::Other`] when a directory cannot be listed or a file cannot be written.
pub fn rebuild(run_dir: &Path, baseline: Option<&str>) -> Result<ReportFiles, BenchError> {
    let hint = "hint: give a run directory that `benchhost bench` wrote (it holds raw/<profile>/<workload>__<size>__<pass>__r<N>.json), e.g. results/<run>";
    if !run_dir.is_dir() {
        return Err(BenchError::Usage(format!("{} is not a directory\n  {hint}", run_dir.display())));
    }
    if !run_dir.join("raw").is_dir() {
        return Err(BenchError::Usage(format!("{} has no raw/ directory of cell results\n  {hint}", run_dir.display())));
    }
    let loaded = load::read_raw(run_dir).map_err(BenchError::Other)?;
    if loaded.cells.is_empty() {
        let why = if loaded.files_seen == 0 { "no cell result (raw/*/*.json)".to_string() } else { format!("no readable cell result ({} file(s) skipped: {})", loaded.files_seen, loaded.warnings.join("; ")) };
        return Err(BenchError::Usage(format!("{} has {why}\n  {hint}", run_dir.display())));
    }
    let systems = summary::system_order(loaded.cells.iter().map(load::LoadedCell::system), baseline);
    if let Some(b) = baseline.filter(|b| !systems.iter().any(|s| s == b)) {
        return Err(BenchError::Usage(format!("--baseline {b}: {} has no results of that profile\n  hint: choose one of its systems: {}", run_dir.display(), systems.join(", "))));
    }
    let groups = summary::groups(&loaded.cells, baseline);
    let view = settings::compare(&loaded.cells);
    let mut warnings = loaded.warnings.clone();
    warnings.extend(view.warnings.iter().cloned());
    let mut files = Vec::new();

    let csv = summary::csv_text(&groups).map_err(BenchError::Other)?;
    files.push(write(&run_dir.join("summary.csv"), &csv)?);

    let charts_dir = run_dir.join("charts");
    std::fs::create_dir_all(&charts_dir).map_err(|e| BenchError::Other(format!("creating {}: {e}", charts_dir.display())))?;
    let mut charts = BTreeMap::new();
    let mut workloads: Vec<&str> = groups.iter().map(|g| g.workload.as_str()).collect();
    workloads.dedup();
    for w in workloads {
        let of_workload: Vec<&summary::Group> = groups.iter().filter(|g| g.workload == w).collect();
        match charts::render(w, &of_workload, &systems, baseline) {
            None => warnings.push(format!("no chart for {w}: every cell of it failed")),
            Some(Err(e)) => warnings.push(e),
            Some(Ok(svg)) => {
                let name = format!("{}.svg", file_stem(w));
                files.push(write(&charts_dir.join(&name), svg.as_bytes())?);
                charts.insert(w.to_string(), format!("charts/{name}"));
            }
        }
    }

    let run_id = loaded.cells.iter().map(|c| c.result.record.run.as_str()).find(|r| !r.is_empty()).map(str::to_string);
    let run_id = run_id.unwrap_or_else(|| run_dir.file_name().map_or_else(|| run_dir.display().to_string(), |n| n.to_string_lossy().into_owned()));
    let inputs = markdown::Inputs { run_id: &run_id, cells: &loaded.cells, groups: &groups, systems: &systems, settings: &view, baseline, charts: &charts, skipped: &loaded.warnings };
    files.push(write(&run_dir.join("report.md"), markdown::render(&inputs).as_bytes())?);

    let failed = loaded.cells.iter().filter(|c| c.metrics.is_err()).count();
    Ok(ReportFiles { run_dir: run_dir.to_path_buf(), files, warnings, cells: loaded.cells.len(), failed })
}

/// Writes `bytes` to `path` whole (a `.tmp` beside it renamed into place); returns `path`.
fn write(path: &Path, bytes: &[u8]) -> Result<PathBuf, BenchError> {
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
    std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        BenchError::Other(format!("writing {}: {e}", path.display()))
    })?;
    Ok(path.to_path_buf())
}

/// A workload's name as a file name: anything but letters, digits, `-`, `_` and inner `.`
/// becomes `_` (a name read from a result file never leaves `charts/`).
fn file_stem(workload: &str) -> String {
    let stem: String = workload.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' }).collect();
    if stem.is_empty() || stem.starts_with('.') {
        format!("_{stem}")
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::ok;
    use super::*;
    use crate::orchestration::bench::cell::Pass;

    fn write_cell(run: &Path, cell: &load::LoadedCell) {
        let dir = run.join("raw").join(cell.system());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(cell.result.cell.file_name()), serde_json::to_string(&cell.result).unwrap()).unwrap();
    }

    fn usage(r: Result<ReportFiles, BenchError>) -> String {
        match r {
            Err(e @ BenchError::Usage(_)) => {
                assert_eq!(e.exit_code(), 2);
                e.to_string()
            }
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn a_run_directory_without_results_is_a_usage_error_with_a_hint() {
        let tmp = tempfile::tempdir().unwrap();
        let e = usage(rebuild(&tmp.path().join("nope"), None));
        assert!(e.contains("nope is not a directory") && e.contains("hint: give a run directory"), "{e}");
        let e = usage(rebuild(tmp.path(), None));
        assert!(e.contains("has no raw/ directory"), "{e}");
        std::fs::create_dir_all(tmp.path().join("raw/a")).unwrap();
        std::fs::write(tmp.path().join("raw/a/seq-read__small__cold__r1.json.tmp"), "{").unwrap();
        let e = usage(rebuild(tmp.path(), None));
        assert!(e.contains("has no cell result (raw/*/*.json)"), "{e}");
        std::fs::write(tmp.path().join("raw/a/x.json"), "[1, 2]").unwrap();
        let e = usage(rebuild(tmp.path(), None));
        assert!(e.contains("no readable cell result (1 file(s) skipped: skipped raw/a/x.json: its schema is \"\""), "{e}");
    }

    #[test]
    fn files_are_written_a_bad_file_is_a_warning_and_an_unknown_baseline_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path();
        write_cell(run, &ok("a", "small", Pass::Cold, 1, 100.0, &[]));
        write_cell(run, &ok("b", "small", Pass::Cold, 1, 50.0, &[]));
        std::fs::write(run.join("raw/b/broken.json"), "{\"schema\": \"benchhost.cell/1\"").unwrap();
        let e = usage(rebuild(run, Some("ganesha")));
        assert!(e.contains("--baseline ganesha: ") && e.contains("hint: choose one of its systems: a, b"), "{e}");
        let done = rebuild(run, Some("b")).unwrap();
        let names: Vec<String> = done.files.iter().map(|f| f.strip_prefix(run).unwrap().display().to_string()).collect();
        assert_eq!(names, ["summary.csv", "charts/seq-read.svg", "report.md"]);
        assert_eq!((done.cells, done.failed), (2, 0));
        assert_eq!(done.warnings.len(), 1, "{:?}", done.warnings);
        assert!(done.warnings[0].starts_with("skipped raw/b/broken.json: not JSON"), "{:?}", done.warnings);
        let md = std::fs::read_to_string(run.join("report.md")).unwrap();
        assert!(md.contains("| b (baseline) | 50.0 |\n| a | **100.0** +100.0 % |\n"), "{md}");
        assert!(md.contains("> **Warning:** skipped raw/b/broken.json"), "{md}");
        assert!(!run.join("report.md.tmp").exists());
    }

    #[test]
    fn a_workload_name_never_leaves_the_charts_directory() {
        assert_eq!(file_stem("seq-read"), "seq-read");
        assert_eq!(file_stem("../../etc/x"), "_.._.._etc_x");
        assert_eq!(file_stem(".hidden"), "_.hidden");
        assert_eq!(file_stem(""), "_");
    }
}
