//! `benchhost plugin new|check|install|list|remove`: third-party plugins, written, checked,
//! installed and removed (the work is in [`crate::orchestration::plugins::install`]).

use crate::orchestration::error::BenchError;
pub use crate::orchestration::plugins::install::{CheckReport, Installed};
use crate::orchestration::plugins::install;
use std::path::{Path, PathBuf};

/// What `plugin new` wrote, and the commands to go on with.
#[derive(Debug)]
pub struct Scaffolded {
    pub files: Vec<PathBuf>,
    /// The shell commands to build, check, install and start it, in order.
    pub next: Vec<String>,
}

/// Writes a new plugin crate `name` in `dir` (default `./<name>`) on the SDK at `sdk` (default: a
/// copy of the SDK this benchhost was built with, written into the crate), publishing `port`.
pub fn new(name: &str, dir: Option<PathBuf>, sdk: Option<PathBuf>, port: u16) -> Result<Scaffolded, BenchError> {
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    let files = install::scaffold(name, &dir, sdk.as_deref(), port)?;
    let krate = format!("benchhost_plugin_{}", name.replace('-', "_"));
    let next = vec![
        format!("cd {} && cargo build --release --target wasm32-wasip2", dir.display()),
        format!("benchhost plugin check target/wasm32-wasip2/release/{krate}.wasm"),
        format!("benchhost plugin install target/wasm32-wasip2/release/{krate}.wasm"),
        format!("benchhost up {name} --allow {name}:cap-add:DAC_READ_SEARCH --allow {name}:cap-add:SYS_ADMIN"),
    ];
    Ok(Scaffolded { files, next })
}

/// Loads `file`, and validates every profile as `up` would.
pub async fn check(file: &Path) -> Result<CheckReport, BenchError> {
    install::check(file).await
}

/// `check`'s verdict on a report: the plugin's defect (exit 3) listing every problem.
pub fn verdict(report: &CheckReport) -> Result<(), BenchError> {
    if report.problems.is_empty() {
        return Ok(());
    }
    Err(BenchError::InvalidPluginOutput {
        plugin: report.name.clone(),
        version: report.version.clone(),
        operation: "check",
        message: format!("{} problem(s):\n{}", report.problems.len(), bullets(&report.problems)),
    })
}

/// Checks `file`, then copies it into the per-user plugin directory (checksum recorded); see
/// [`install::install`] for when an installed one is replaced (`force`).
pub async fn add(file: &Path, force: bool) -> Result<(CheckReport, Installed), BenchError> {
    install::install(file, force).await
}

/// The installed plugins and whether each still matches its checksum.
pub fn list() -> Result<Vec<Installed>, BenchError> {
    install::installed()
}

/// Removes the installed plugin `name`; returns its file.
pub fn remove(name: &str) -> Result<PathBuf, BenchError> {
    install::remove(name)
}

/// `  - item` lines, or `  (none)`.
pub fn bullets(items: &[String]) -> String {
    if items.is_empty() {
        return "  (none)".into();
    }
    items.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n")
}
