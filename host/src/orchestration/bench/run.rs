//! `benchhost bench`: the matrix, one system at a time (`up` → attach on the client → its cells
//! → detach → `down`: [`super::system_run`]), each cell's result written as it ends, then the
//! report.
//!
//! A cell that fails is recorded (with its logs) and the matrix goes on; when the system itself
//! died, its remaining cells are recorded as failed without running. Ctrl-C (SIGINT/SIGTERM)
//! stops the cell at once (fio is killed), takes the current system down and exits 130; the
//! interrupted cell has no result, so `--resume RUN_DIR` runs it again, and only the cells that
//! have no complete result.

use super::bar::MatrixBar;
use super::cell::{CellId, CellResult, CellStatus};
use super::matrix::{ClientKind, Matrix, LOCAL};
use super::request::{matrix_for, BenchRequest};
use super::system_run::{run_system, Shared, SystemEnd, Tally};
use crate::engine::DockerEngine;
use crate::orchestration::commands::Session;
use crate::orchestration::error::BenchError;
use crate::orchestration::host::host_os;
use crate::orchestration::plan::settings::SERVER_ADDRESS;
use crate::orchestration::progress::say;
use crate::orchestration::results::{results_root, RunDir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How `bench` ended.
#[derive(Debug)]
pub enum BenchOutcome {
    /// `--dry-run`: every cell and action, in order.
    DryRun(Vec<String>),
    Done(BenchReport),
}

/// What a run did.
#[derive(Debug, serde::Serialize)]
pub struct BenchReport {
    pub run_dir: PathBuf,
    /// Cells in the matrix.
    pub cells: usize,
    /// Cells run now, and of those the ones that failed (label, error).
    pub ran: usize,
    pub failed: Vec<(String, String)>,
    /// Cells an earlier run (`--resume`) had completed.
    pub already_done: usize,
    /// Wall-clock seconds of this invocation, and the sum of its cells' own seconds.
    pub seconds: f64,
    pub cell_seconds: f64,
    /// What the report wrote (`None` when it could not be built: see the warning it printed).
    pub report: Option<super::report::ReportFiles>,
}

/// Runs the benchmark `req` asks for (see the module doc). Errors: bad flags (usage, exit 2),
/// the engine unreachable, fio missing, results that cannot be written, a system that will not
/// go down (the matrix stops: the next could not come up alone), [`BenchError::Interrupted`].
pub async fn bench(session: &Session<'_>, req: BenchRequest) -> Result<BenchOutcome, BenchError> {
    let (matrix, workloads) = matrix_for(session.registry, &req, &crate::orchestration::host::fio::engine(session.settings, host_os()))?;
    check_client(session, &matrix)?;
    if req.dry_run {
        return Ok(BenchOutcome::DryRun(super::dry_run::actions(&matrix, &workloads)));
    }
    let started = Instant::now();
    let needs_engine = matrix.profiles.iter().any(|p| p != LOCAL);
    let engine = if needs_engine { Some(DockerEngine::connect().await?) } else { None };
    match matrix.client {
        ClientKind::Host => {
            super::client::host::fio_version()?;
        }
        ClientKind::Vm => {
            crate::orchestration::client_vm::locate().map_err(BenchError::HostUnsupported)?;
            crate::orchestration::client_vm::find_qemu().map_err(BenchError::HostUnsupported)?;
        }
    }
    // Clients in the VM reach this machine's published ports at QEMU's gateway address; a
    // remote engine's host they reach at its own address (QEMU's user-mode network sends the
    // guest's connections on from this machine), which `up` names by default.
    let vm_settings;
    let vm_session;
    let remote = engine.as_ref().is_some_and(|e| e.endpoint.is_remote());
    let session = if matrix.client == ClientKind::Vm && !remote && session.settings.given(SERVER_ADDRESS).is_none() {
        vm_settings = session.settings.clone().with_value(SERVER_ADDRESS, crate::orchestration::client_vm::HOST_ADDRESS);
        vm_session = Session { registry: session.registry, settings: &vm_settings, secrets: session.secrets, signals: session.signals };
        &vm_session
    } else {
        session
    };
    let run_dir = match &req.resume {
        Some(dir) => std::path::absolute(dir).unwrap_or(dir.clone()),
        None => {
            let mut subdirs: Vec<String> = matrix.profiles.iter().map(|p| format!("raw/{p}")).collect();
            subdirs.extend(["charts".to_string(), "logs".to_string(), "systems".to_string()]);
            let dir = RunDir::create(&results_root(req.results_dir.as_deref(), session.settings), &subdirs)?.path;
            if let Err(e) = matrix.save(&dir, &workloads) {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
            dir
        }
    };
    let scratch = run_dir.join("scratch");
    let run_id = run_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let cells = matrix.cells();
    let done: Vec<bool> = cells.iter().map(|c| complete(&run_dir, c)).collect();
    let already_done = done.iter().filter(|d| **d).count();
    say(&format!(
        "benchmark {run_id}: {} system(s) × {} workload(s) × {} size(s) × {} pass(es) × {} repeat(s) = {} cells{}, {} s each, fio on the {} client; results in {}",
        matrix.profiles.len(),
        matrix.workloads.len(),
        matrix.sizes.len(),
        matrix.passes.len(),
        matrix.repeats,
        cells.len(),
        if already_done > 0 { format!(" ({already_done} done before)") } else { String::new() },
        matrix.runtime,
        matrix.client.name(),
        run_dir.display()
    ));
    let mut guard = session.signals.guard();
    let bar = MatrixBar::new((cells.len() - already_done) as u64);
    let local_settings = local_settings(session);
    let shared = Shared { session, engine: engine.as_ref(), matrix: &matrix, workloads: &workloads, run_dir: &run_dir, scratch: &scratch, run_id: &run_id, local_settings: &local_settings, bar: &bar, cells: cells.len(), done_before: already_done };
    let mut tally = Tally::default();
    let mut interrupted = false;
    // An error that stops the matrix (results that cannot be written): the system is taken
    // down first, then it is returned.
    let mut stop: Option<BenchError> = None;
    for profile in &matrix.profiles {
        if guard.was_interrupted() {
            interrupted = true;
            break;
        }
        let todo: Vec<&CellId> = cells.iter().zip(&done).filter(|(c, d)| &c.profile == profile && !**d).map(|(c, _)| c).collect();
        if todo.is_empty() {
            continue;
        }
        match run_system(&shared, &mut guard, &mut tally, profile, &todo).await? {
            SystemEnd::Done => {}
            SystemEnd::Interrupted => {
                interrupted = true;
                break;
            }
            SystemEnd::Stop(e) => {
                stop = Some(e);
                break;
            }
        }
    }
    bar.finish();
    let _ = std::fs::remove_dir_all(&scratch);
    // The report of what there is (after an interrupt too: `--resume` rebuilds it again).
    let files = match super::report::rebuild(&run_dir, matrix.baseline.as_deref()) {
        Ok(files) => Some(files),
        Err(e) => {
            say(&format!("warning: no report: {e}"));
            None
        }
    };
    let report = BenchReport { run_dir: run_dir.clone(), cells: cells.len(), ran: tally.ran, failed: tally.failed, already_done, seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0, cell_seconds: tally.cell_seconds, report: files };
    if let Some(e) = stop {
        return Err(e);
    }
    if interrupted {
        return Err(BenchError::Interrupted);
    }
    Ok(BenchOutcome::Done(report))
}

/// Refuses, before anything starts, a system the client cannot mount: a FUSE system with the
/// VM (its mount is on this host), an NFS or SMB system with a host kernel that has no such
/// client. Errors: [`BenchError::HostUnsupported`] (exit 6) naming the profile, with the other
/// client as the hint.
fn check_client(session: &Session<'_>, matrix: &Matrix) -> Result<(), BenchError> {
    use crate::orchestration::host::kernel::kernel_feature_missing;
    for p in matrix.profiles.iter().filter(|p| *p != LOCAL) {
        let protocol = session.registry.find(p)?.profile.protocol.clone();
        let missing = match (matrix.client, protocol.as_str()) {
            (ClientKind::Vm, "fuse") => Some(format!("{p} is a FUSE system: its mount appears on this host, where the client VM cannot reach it\n  hint: benchmark it with --client host (in a separate run)")),
            (ClientKind::Host, "nfs") => kernel_feature_missing("nfs-client").map(|why| format!("{p} is mounted with the kernel's NFS client, and {why}\n  hint: or run fio in the client VM with --client vm (`make vm` builds it)")),
            (ClientKind::Host, "smb") => kernel_feature_missing("smb-client").map(|why| format!("{p} is mounted with the kernel's SMB client, and {why}\n  hint: or run fio in the client VM with --client vm (`make vm` builds it)")),
            _ => None,
        };
        if let Some(m) = missing {
            return Err(BenchError::HostUnsupported(m));
        }
    }
    Ok(())
}

/// Whether `cell` has a complete result in `run_dir`: its file parses and says `ok`.
pub fn complete(run_dir: &Path, cell: &CellId) -> bool {
    let file = run_dir.join("raw").join(&cell.profile).join(cell.file_name());
    std::fs::read_to_string(file).ok().and_then(|t| serde_json::from_str::<CellResult>(&t).ok()).is_some_and(|r| r.status == CellStatus::Ok && r.cell == *cell)
}

/// The settings `local`'s cells record: the global ones as resolved.
fn local_settings(session: &Session<'_>) -> BTreeMap<String, String> {
    let results = crate::orchestration::results::RESULTS_SETTING;
    crate::orchestration::plan::settings::GLOBAL_SETTINGS.iter().filter(|(n, _, _)| *n != results).map(|(n, d, _)| (n.to_string(), session.settings.get(n).unwrap_or(d).to_string())).collect()
}
