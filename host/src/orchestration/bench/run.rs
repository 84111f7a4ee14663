//! `benchhost bench`: the matrix, one system at a time (`up` → attach on the client → its cells
//! → detach → `down`), each cell's result written as it ends, then the report.
//!
//! A cell that fails is recorded (with its logs) and the matrix goes on; when the system itself
//! died, its remaining cells are recorded as failed without running. Ctrl-C (SIGINT/SIGTERM)
//! stops the cell at once (fio is killed), takes the current system down and exits 130; the
//! interrupted cell has no result, so `--resume RUN_DIR` runs it again, and only the cells that
//! have no complete result.

use super::attach::{attach, detach, Attached};
use super::cell::{CellId, CellResult, CellStatus, SCHEMA};
use super::cell_run::{run_cell, CellContext, CellEnd, Fresh};
use super::redeploy::{redeploy, RedeployError};
use std::sync::atomic::AtomicBool;
use super::client::{host::HostClient, vm::VmClient, Client};
use crate::orchestration::plan::settings::SERVER_ADDRESS;
use super::matrix::{ClientKind, Matrix, LOCAL};
use crate::orchestration::results::write_whole;
use super::request::{matrix_for, BenchRequest};
use super::system::{bring_up, still_running, take_down, System};
use super::workloads::Workload;
use crate::engine::DockerEngine;
use crate::orchestration::commands::Session;
use crate::orchestration::error::BenchError;
use crate::orchestration::host::host_os;
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
    let bar = progress_bar((cells.len() - already_done) as u64);
    let mut report = BenchReport { run_dir: run_dir.clone(), cells: cells.len(), ran: 0, failed: Vec::new(), already_done, seconds: 0.0, cell_seconds: 0.0, report: None };
    let local_settings = local_settings(session);
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
        let line = |text: String| if bar.is_hidden() { say(&text) } else { bar.println(text) };
        // Up: a failure is every cell's of this system.
        let mut system = if profile == LOCAL {
            None
        } else {
            let engine = engine.as_ref().expect("an engine for a system");
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            let up = bring_up(session, engine, profile, &run_dir.join("systems")).await;
            bar.set_draw_target(draw_target());
            match up {
                Ok(s) => Some(s),
                Err(BenchError::Interrupted) => {
                    interrupted = true;
                    break;
                }
                Err(e) => {
                    let error = format!("{profile} did not come up: {}", crate::orchestration::redact(&e.to_string(), session.secrets));
                    fail_all(&run_dir, &todo, &error, &mut report, &bar, &line, &super::cell::ClientRef { kind: matrix.client.name().into(), ..Default::default() });
                    continue;
                }
            }
        };
        // The client: this machine, or a client VM booted for this system alone.
        let client = match matrix.client {
            ClientKind::Host => HostClient::new(&scratch.join("client")).map(Client::Host),
            ClientKind::Vm => {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
                say(&format!("{profile}: booting the client VM"));
                let vm = VmClient::start(session.signals).await.map(|v| Client::Vm(Box::new(v)));
                bar.set_draw_target(draw_target());
                vm
            }
        };
        let mut client = match client {
            Ok(c) => c,
            Err(BenchError::Interrupted) => {
                interrupted = true;
                finish_system(session, None, system.as_ref(), None).await?;
                break;
            }
            Err(e) => {
                let error = format!("the {} client did not start: {}", matrix.client.name(), crate::orchestration::redact(&e.to_string(), session.secrets));
                fail_all(&run_dir, &todo, &error, &mut report, &bar, &line, &super::cell::ClientRef { kind: matrix.client.name().into(), ..Default::default() });
                finish_system(session, None, system.as_ref(), None).await?;
                continue;
            }
        };
        let info = client.info();
        let attached = match attach(session, &mut client, system.as_ref(), &scratch).await {
            Ok(a) => a,
            Err(BenchError::Interrupted) => {
                interrupted = true;
                finish_system(session, Some(client), system.as_ref(), None).await?;
                break;
            }
            Err(e) => {
                let error = format!("mounting {profile} on the client failed: {}", crate::orchestration::redact(&e.to_string(), session.secrets));
                fail_all(&run_dir, &todo, &error, &mut report, &bar, &line, &info);
                finish_system(session, Some(client), system.as_ref(), None).await?;
                continue;
            }
        };
        let mut sampler = match (engine.as_ref(), system.as_ref()) {
            (Some(engine), Some(s)) => Some(super::sampler::Sampler::start(engine, &s.containers)),
            _ => None,
        };
        let mut attached = Some(attached);
        let mut dead: Option<String> = None;
        let mut reboots = 0;
        // The cells run on one deployment until one asks for a fresh one (see `redeploy`).
        let mut next = 0;
        let mut fresh: Option<Fresh> = None;
        let may_redeploy = AtomicBool::new(true);
        while let Some(on) = attached.as_ref() {
            let ctx = CellContext {
                session,
                scratch: &scratch,
                lost_mount: std::sync::Mutex::new(None),
                sampler: sampler.as_ref(),
                run_id: &run_id,
                run_dir: &run_dir,
                system: system.as_ref(),
                engine: engine.as_ref(),
                attached: on,
                client: info.clone(),
                runtime: matrix.runtime,
                ioengine: &matrix.ioengine,
                local_settings: &local_settings,
                secrets: session.secrets,
                fresh: fresh.as_ref(),
                may_redeploy: &may_redeploy,
            };
            let mut redeploy_for: Option<(usize, String, f64)> = None;
            for (i, cell) in todo.iter().enumerate().skip(next) {
                if dead.is_none()
                    && let Some(why) = client.gone() {
                        // A VM that stopped (a step that timed out, QEMU killed) is replaced, a
                        // few times per system: the cells after it need not fail with it.
                        if reboots == MAX_VM_REBOOTS {
                            dead = Some(format!("the client VM stopped ({why}), the {}th time for {profile}", MAX_VM_REBOOTS + 1));
                        } else {
                            reboots += 1;
                            line(format!("{profile}: the client VM stopped ({why}); booting a new one and mounting {profile} again"));
                            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
                            let again = reboot_client(session, &mut client, system.as_ref(), &scratch).await;
                            bar.set_draw_target(draw_target());
                            match again {
                                Ok(()) => {}
                                Err(BenchError::Interrupted) => {
                                    interrupted = true;
                                    break;
                                }
                                Err(e) => dead = Some(format!("the client VM stopped ({why}) and a new one could not take over: {}", crate::orchestration::redact(&e.to_string(), session.secrets))),
                            }
                        }
                    }
                if let Some(why) = &dead {
                    fail_all(&run_dir, &[cell], why, &mut report, &bar, &line, &info);
                    continue;
                }
                if guard.was_interrupted() {
                    interrupted = true;
                    break;
                }
                let (workload, size) = match lookup(&matrix, &workloads, cell) {
                    Ok(found) => found,
                    Err(e) => {
                        stop = Some(e);
                        break;
                    }
                };
                let end = tokio::select! {
                    r = run_cell(&ctx, &mut client, cell, workload, &size) => r,
                    _ = guard.interrupted() => {
                        interrupted = true;
                        break;
                    }
                };
                let result = match end {
                    CellEnd::Done(result) => result,
                    CellEnd::Redeploy { why, attempt } => {
                        redeploy_for = Some((i, why, attempt));
                        break;
                    }
                };
                if let Err(e) = save(&run_dir, &result) {
                    stop = Some(e);
                    break;
                }
                report.ran += 1;
                report.cell_seconds += result.record.seconds.get("total").copied().unwrap_or(0.0);
                bar.inc(1);
                line(cell_line(&report, &result, cells.len()));
                if result.status == CellStatus::Failed {
                    report.failed.push((cell.label(), result.error.clone().unwrap_or_default()));
                    if let Some(why) = ctx.lost_mount.lock().ok().and_then(|l| l.clone()) {
                        dead = Some(why);
                    }
                    if let (Some(engine), Some(s)) = (engine.as_ref(), system.as_ref())
                        && !still_running(engine, s).await {
                            dead = Some(format!("{profile} stopped during {}", cell.label()));
                        }
                }
            }
            drop(ctx);
            let Some((i, why, attempt)) = redeploy_for else { break };
            next = i;
            let (Some(engine), Some(old)) = (engine.as_ref(), system.as_ref()) else { break };
            line(format!("{}: its own cache cannot be emptied in place, so the cell runs again on a fresh deployment ({profile} down, up and mounted again): {why}", todo[i].label()));
            if let Some(s) = sampler.take() {
                s.stop().await;
            }
            let t = Instant::now();
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            let redeployed = redeploy(session, engine, &mut client, old, on, &run_dir.join("systems"), &scratch).await;
            bar.set_draw_target(draw_target());
            match redeployed {
                Ok((new, a)) => {
                    sampler = Some(super::sampler::Sampler::start(engine, &new.containers));
                    system = Some(new);
                    attached = Some(a);
                    fresh = Some(Fresh { cell: todo[i].clone(), why, attempt, seconds: (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0 });
                }
                Err(RedeployError::Down(e)) => {
                    stop = Some(BenchError::Other(format!("{profile} did not go down for a fresh deployment, so the matrix stops (the next system must run alone): {e}")));
                    attached = None;
                }
                Err(RedeployError::Up(BenchError::Interrupted)) => {
                    interrupted = true;
                    system = None;
                    attached = None;
                }
                Err(RedeployError::Up(e)) => {
                    system = None;
                    attached = None;
                    let error = format!("{profile} could not be deployed afresh for {}: {}", todo[i].label(), crate::orchestration::redact(&e.to_string(), session.secrets));
                    fail_all(&run_dir, &todo[i..], &error, &mut report, &bar, &line, &info);
                }
            }
        }
        if interrupted {
            say(&format!("interrupted: taking {profile} down (the current cell has no result; `benchhost bench --resume {}` runs it again)", run_dir.display()));
            guard.notice(format!("still taking {profile} down; benchhost exits when it is done"));
        }
        if let Some(s) = sampler {
            s.stop().await;
        }
        match stop {
            // The system that did not go down is not taken down again.
            Some(_) if attached.is_none() => client.stop().await,
            _ => finish_system(session, Some(client), system.as_ref(), attached.as_ref()).await?,
        }
        if interrupted || stop.is_some() || guard.was_interrupted() {
            interrupted |= stop.is_none();
            break;
        }
    }
    bar.finish_and_clear();
    let _ = std::fs::remove_dir_all(&scratch);
    // The report of what there is (after an interrupt too: `--resume` rebuilds it again).
    match super::report::rebuild(&run_dir, matrix.baseline.as_deref()) {
        Ok(files) => report.report = Some(files),
        Err(e) => say(&format!("warning: no report: {e}")),
    }
    report.seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
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

/// Unmounts (when attached), stops the client (a VM powers off) and takes the system down.
/// Errors: `down` failed (the matrix stops).
async fn finish_system(session: &Session<'_>, client: Option<Client>, system: Option<&System>, attached: Option<&Attached>) -> Result<(), BenchError> {
    if let Some(mut client) = client {
        if let Some(a) = attached
            && let Err(e) = detach(&mut client, system, a).await {
                say(&format!("warning: {e}"));
            }
        client.stop().await;
    }
    if let Some(s) = system {
        take_down(session, &s.profile).await.map_err(|e| BenchError::Other(format!("{} did not go down, so the matrix stops (the next system must run alone): {e}", s.profile)))?;
    }
    Ok(())
}

/// How many times a system's client VM is replaced after it stopped (see the cell loop).
const MAX_VM_REBOOTS: usize = 2;

/// Boots a new client VM in place of `client` (which stopped), powers the old one off and
/// mounts `system` on the new one. Errors: the boot or the mount failed, a signal.
async fn reboot_client(session: &Session<'_>, client: &mut Client, system: Option<&System>, scratch: &Path) -> Result<(), BenchError> {
    let vm = VmClient::start(session.signals).await?;
    let old = std::mem::replace(client, Client::Vm(Box::new(vm)));
    old.stop().await;
    attach(session, client, system, scratch).await.map(|_| ())
}

/// Records each of `cells` as failed with `error`, without running it.
fn fail_all(run_dir: &Path, cells: &[&CellId], error: &str, report: &mut BenchReport, bar: &indicatif::ProgressBar, line: &dyn Fn(String), client: &super::cell::ClientRef) {
    for cell in cells {
        let result = CellResult {
            schema: SCHEMA.into(),
            cell: (*cell).clone(),
            status: CellStatus::Failed,
            error: Some(error.to_string()),
            logs: vec!["systems".into()],
            record: super::cell::CellRecord { client: client.clone(), started_at: chrono::Local::now().to_rfc3339(), ended_at: chrono::Local::now().to_rfc3339(), ..Default::default() },
            resources: Vec::new(),
            s3: None,
            fio: serde_json::Value::Null,
        };
        if let Err(e) = save(run_dir, &result) {
            say(&format!("warning: {e}"));
        }
        report.ran += 1;
        report.failed.push((cell.label(), error.to_string()));
        bar.inc(1);
        line(format!("[{}] {}: FAILED (not run): {error}", report.already_done + report.ran, cell.label()));
    }
}

/// The line a cell ends with: `[k/N] ganesha seq-read/small/cold #1: seq-read 812.3 MB/s (fio 5.1 s)`.
fn cell_line(report: &BenchReport, r: &CellResult, total: usize) -> String {
    let k = report.already_done + report.ran;
    match r.status {
        CellStatus::Ok => format!("[{k}/{total}] {}: {} (fio {:.1} s)", r.cell.label(), super::metrics::CellMetrics::from_fio(&r.cell.workload, &r.fio).map(|m| m.headline()).unwrap_or_else(|e| format!("{}: {e}", r.cell.workload)), r.record.seconds.get("fio").copied().unwrap_or(0.0)),
        CellStatus::Failed => format!("[{k}/{total}] {}: FAILED: {}", r.cell.label(), r.error.as_deref().unwrap_or("")),
    }
}

/// Whether `cell` has a complete result in `run_dir`: its file parses and says `ok`.
pub fn complete(run_dir: &Path, cell: &CellId) -> bool {
    let file = run_dir.join("raw").join(&cell.profile).join(cell.file_name());
    std::fs::read_to_string(file).ok().and_then(|t| serde_json::from_str::<CellResult>(&t).ok()).is_some_and(|r| r.status == CellStatus::Ok && r.cell == *cell)
}

/// Writes a cell's result whole (see [`write_whole`]).
fn save(run_dir: &Path, r: &CellResult) -> Result<(), BenchError> {
    let dir = run_dir.join("raw").join(&r.cell.profile);
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::Usage(format!("cannot create {}: {e}", dir.display())))?;
    let json = serde_json::to_vec_pretty(r).map_err(|e| BenchError::Other(format!("encoding a cell's result: {e}")))?;
    let file = dir.join(r.cell.file_name());
    write_whole(&file, &json).map_err(|e| crate::orchestration::results::write_error(&file, e))
}

fn lookup<'a>(m: &Matrix, workloads: &'a [Workload], cell: &CellId) -> Result<(&'a Workload, super::workloads::Size), BenchError> {
    let w = workloads.iter().find(|w| w.name == cell.workload);
    let s = m.size(&cell.size);
    match (w, s) {
        (Some(w), Some(s)) => Ok((w, s)),
        _ => Err(BenchError::Other(format!("the matrix has no workload {} or size {} (a damaged bench.json?)", cell.workload, cell.size))),
    }
}

/// The settings `local`'s cells record: the global ones as resolved.
fn local_settings(session: &Session<'_>) -> BTreeMap<String, String> {
    let results = crate::orchestration::results::RESULTS_SETTING;
    crate::orchestration::plan::settings::GLOBAL_SETTINGS.iter().filter(|(n, _, _)| *n != results).map(|(n, d, _)| (n.to_string(), session.settings.get(n).unwrap_or(d).to_string())).collect()
}

fn draw_target() -> indicatif::ProgressDrawTarget {
    indicatif::ProgressDrawTarget::stderr()
}

/// The bar over the whole matrix (drawn only on a terminal).
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), draw_target());
    bar.set_style(indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} cells, {elapsed} so far, ETA {eta}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    bar
}
