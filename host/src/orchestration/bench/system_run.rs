//! One system's part of the matrix ([`run_system`]): `up`, its client (this machine, or a
//! client VM booted for it alone), the mount, its cells in order, then unmount and `down`.
//!
//! A cell that fails is recorded (with its logs) and the next one runs; when the system itself
//! died or its mount was lost, its remaining cells are recorded as failed without running. A
//! client VM that stops is replaced (at most [`MAX_VM_REBOOTS`] times per system). A cold cell
//! whose system cannot empty its own cache in place runs again on a fresh deployment
//! ([`super::redeploy`]).

use super::attach::{attach, detach, Attached};
use super::bar::MatrixBar;
use super::cell::{CellId, CellRecord, CellResult, CellStatus, ClientRef, SCHEMA};
use super::cell_run::{run_cell, CellContext, CellEnd, Fresh};
use super::client::{host::HostClient, vm::VmClient, Client};
use super::matrix::{ClientKind, Matrix, LOCAL};
use super::redeploy::{redeploy, RedeployError};
use super::sampler::Sampler;
use super::system::{bring_up, still_running, take_down, System};
use super::workloads::{Size, Workload};
use crate::engine::DockerEngine;
use crate::orchestration::commands::Session;
use crate::orchestration::error::BenchError;
use crate::orchestration::interrupt::Guard;
use crate::orchestration::progress::say;
use crate::orchestration::results::write_whole;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// How many times a system's client VM is replaced after it stopped (see [`run_cells`]).
const MAX_VM_REBOOTS: usize = 2;

/// What every system's part of one matrix shares.
pub struct Shared<'a> {
    pub session: &'a Session<'a>,
    /// `None` when the matrix is `local` alone.
    pub engine: Option<&'a DockerEngine>,
    pub matrix: &'a Matrix,
    pub workloads: &'a [Workload],
    pub run_dir: &'a Path,
    /// Job files, fio's reports and `local`'s directory (removed after the matrix).
    pub scratch: &'a Path,
    pub run_id: &'a str,
    /// The settings `local`'s cells record.
    pub local_settings: &'a BTreeMap<String, String>,
    pub bar: &'a MatrixBar,
    /// Cells in the matrix, and those an earlier run had completed (for `[k/N]`).
    pub cells: usize,
    pub done_before: usize,
}

/// What the cells run so far did, over every system.
#[derive(Debug, Default)]
pub struct Tally {
    /// Cells given a result now (run, or failed without running).
    pub ran: usize,
    /// Of those, the failed ones: (label, error).
    pub failed: Vec<(String, String)>,
    /// The sum of their own seconds (`record.seconds.total`).
    pub cell_seconds: f64,
}

/// How a system's part ended.
#[derive(Debug)]
pub enum SystemEnd {
    /// Each of its cells has a result (ok or failed) and it is down: the next system may start.
    Done,
    /// A signal: the system is down and the current cell has no result.
    Interrupted,
    /// The matrix stops with this error (a result that cannot be written, a system that did not
    /// go down for a fresh deployment); the system is down where it could be taken down.
    Stop(BenchError),
}

/// Runs `todo` (cells of `profile` without a complete result, in matrix order) as the module
/// doc says. Errors: the system did not go down at the end (the matrix stops: the next system
/// could not come up alone).
pub async fn run_system(sh: &Shared<'_>, guard: &mut Guard, tally: &mut Tally, profile: &str, todo: &[&CellId]) -> Result<SystemEnd, BenchError> {
    let session = sh.session;
    let redacted = |e: &BenchError| crate::orchestration::redact(&e.to_string(), session.secrets);
    let no_client = ClientRef { kind: sh.matrix.client.name().into(), ..Default::default() };
    // Up: a failure is every cell's of this system.
    let mut system = if profile == LOCAL {
        None
    } else {
        let engine = sh.engine.expect("an engine for a system");
        match sh.bar.hidden(bring_up(session, engine, profile, &sh.run_dir.join("systems"))).await {
            Ok(s) => Some(s),
            Err(BenchError::Interrupted) => return Ok(SystemEnd::Interrupted),
            Err(e) => {
                fail_all(sh, tally, todo, &format!("{profile} did not come up: {}", redacted(&e)), &no_client);
                return Ok(SystemEnd::Done);
            }
        }
    };
    let client = match sh.matrix.client {
        ClientKind::Host => HostClient::new(&sh.scratch.join("client")).map(Client::Host),
        ClientKind::Vm => {
            sh.bar
                .hidden(async {
                    say(&format!("{profile}: booting the client VM"));
                    VmClient::start(session.signals).await.map(|v| Client::Vm(Box::new(v)))
                })
                .await
        }
    };
    let mut client = match client {
        Ok(c) => c,
        Err(BenchError::Interrupted) => {
            finish_system(session, None, system.as_ref(), None).await?;
            return Ok(SystemEnd::Interrupted);
        }
        Err(e) => {
            fail_all(sh, tally, todo, &format!("the {} client did not start: {}", sh.matrix.client.name(), redacted(&e)), &no_client);
            finish_system(session, None, system.as_ref(), None).await?;
            return Ok(SystemEnd::Done);
        }
    };
    let info = client.info();
    let mut attached = match attach(session, &mut client, system.as_ref(), sh.scratch).await {
        Ok(a) => Some(a),
        Err(BenchError::Interrupted) => {
            finish_system(session, Some(client), system.as_ref(), None).await?;
            return Ok(SystemEnd::Interrupted);
        }
        Err(e) => {
            fail_all(sh, tally, todo, &format!("mounting {profile} on the client failed: {}", redacted(&e)), &info);
            finish_system(session, Some(client), system.as_ref(), None).await?;
            return Ok(SystemEnd::Done);
        }
    };
    let mut sampler = match (sh.engine, system.as_ref()) {
        (Some(engine), Some(s)) => Some(Sampler::start(engine, &s.containers)),
        _ => None,
    };
    let mut state = CellsState { next: 0, dead: None, reboots: 0 };
    let mut fresh: Option<Fresh> = None;
    let may_redeploy = AtomicBool::new(true);
    let mut interrupted = false;
    let mut stop: Option<BenchError> = None;
    // The cells run on one deployment until one asks for a fresh one (see `redeploy`).
    while let Some(on) = attached.as_ref() {
        let ctx = CellContext {
            session,
            scratch: sh.scratch,
            lost_mount: std::sync::Mutex::new(None),
            sampler: sampler.as_ref(),
            run_id: sh.run_id,
            run_dir: sh.run_dir,
            system: system.as_ref(),
            engine: sh.engine,
            attached: on,
            client: info.clone(),
            runtime: sh.matrix.runtime,
            ioengine: &sh.matrix.ioengine,
            local_settings: sh.local_settings,
            secrets: session.secrets,
            fresh: fresh.as_ref(),
            may_redeploy: &may_redeploy,
        };
        let end = run_cells(sh, guard, tally, &ctx, &mut client, todo, &mut state).await;
        drop(ctx);
        let (at, why, attempt) = match end {
            CellsEnd::Finished => break,
            CellsEnd::Interrupted => {
                interrupted = true;
                break;
            }
            CellsEnd::Stop(e) => {
                stop = Some(e);
                break;
            }
            CellsEnd::Redeploy { at, why, attempt } => (at, why, attempt),
        };
        state.next = at;
        let (Some(engine), Some(old)) = (sh.engine, system.as_ref()) else { break };
        sh.bar.line(format!("{}: its own cache cannot be emptied in place, so the cell runs again on a fresh deployment ({profile} down, up and mounted again): {why}", todo[at].label()));
        if let Some(s) = sampler.take() {
            s.stop().await;
        }
        let t = Instant::now();
        match sh.bar.hidden(redeploy(session, engine, &mut client, old, on, &sh.run_dir.join("systems"), sh.scratch)).await {
            Ok((new, a)) => {
                sampler = Some(Sampler::start(engine, &new.containers));
                system = Some(new);
                attached = Some(a);
                fresh = Some(Fresh { cell: todo[at].clone(), why, attempt, seconds: (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0 });
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
                let error = format!("{profile} could not be deployed afresh for {}: {}", todo[at].label(), redacted(&e));
                fail_all(sh, tally, &todo[at..], &error, &info);
            }
        }
    }
    if interrupted {
        say(&format!("interrupted: taking {profile} down (the current cell has no result; `benchhost bench --resume {}` runs it again)", sh.run_dir.display()));
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
    Ok(match stop {
        Some(e) => SystemEnd::Stop(e),
        None if interrupted || guard.was_interrupted() => SystemEnd::Interrupted,
        None => SystemEnd::Done,
    })
}

/// Where a system's cells are, across its deployments and client VMs.
struct CellsState {
    /// The index in `todo` of the next cell to run.
    next: usize,
    /// Why the remaining cells cannot run (the system died, its mount or client is gone).
    dead: Option<String>,
    /// Client VMs replaced so far.
    reboots: usize,
}

/// How the cells on one deployment ended.
enum CellsEnd {
    /// Every cell has a result.
    Finished,
    Interrupted,
    Stop(BenchError),
    /// `todo[at]` asks for a fresh deployment (see [`CellEnd::Redeploy`]).
    Redeploy { at: usize, why: String, attempt: f64 },
}

/// Runs `todo[state.next..]` on the deployment `ctx` describes, each result saved as it ends.
async fn run_cells(sh: &Shared<'_>, guard: &mut Guard, tally: &mut Tally, ctx: &CellContext<'_>, client: &mut Client, todo: &[&CellId], state: &mut CellsState) -> CellsEnd {
    for (i, cell) in todo.iter().enumerate().skip(state.next) {
        let profile = &cell.profile;
        if state.dead.is_none()
            && let Some(why) = client.gone()
        {
            // A VM that stopped (a step that timed out, QEMU killed) is replaced, a few times
            // per system: the cells after it need not fail with it.
            if state.reboots == MAX_VM_REBOOTS {
                state.dead = Some(format!("the client VM stopped ({why}), the {}th time for {profile}", MAX_VM_REBOOTS + 1));
            } else {
                state.reboots += 1;
                sh.bar.line(format!("{profile}: the client VM stopped ({why}); booting a new one and mounting {profile} again"));
                match sh.bar.hidden(reboot_client(sh.session, client, ctx.system, sh.scratch)).await {
                    Ok(()) => {}
                    Err(BenchError::Interrupted) => return CellsEnd::Interrupted,
                    Err(e) => state.dead = Some(format!("the client VM stopped ({why}) and a new one could not take over: {}", crate::orchestration::redact(&e.to_string(), sh.session.secrets))),
                }
            }
        }
        if let Some(why) = &state.dead {
            fail_all(sh, tally, &[cell], why, &ctx.client);
            continue;
        }
        if guard.was_interrupted() {
            return CellsEnd::Interrupted;
        }
        let (workload, size) = match lookup(sh.matrix, sh.workloads, cell) {
            Ok(found) => found,
            Err(e) => return CellsEnd::Stop(e),
        };
        let end = tokio::select! {
            r = run_cell(ctx, client, cell, workload, &size) => r,
            _ = guard.interrupted() => return CellsEnd::Interrupted,
        };
        let result = match end {
            CellEnd::Done(result) => result,
            CellEnd::Redeploy { why, attempt } => return CellsEnd::Redeploy { at: i, why, attempt },
        };
        if let Err(e) = save(sh.run_dir, &result) {
            return CellsEnd::Stop(e);
        }
        tally.ran += 1;
        tally.cell_seconds += result.record.seconds.get("total").copied().unwrap_or(0.0);
        sh.bar.inc();
        sh.bar.line(cell_line(sh.done_before + tally.ran, sh.cells, &result));
        if result.status == CellStatus::Failed {
            tally.failed.push((cell.label(), result.error.clone().unwrap_or_default()));
            if let Some(why) = ctx.lost_mount.lock().ok().and_then(|l| l.clone()) {
                state.dead = Some(why);
            }
            if let (Some(engine), Some(s)) = (ctx.engine, ctx.system)
                && !still_running(engine, s).await
            {
                state.dead = Some(format!("{profile} stopped during {}", cell.label()));
            }
        }
    }
    CellsEnd::Finished
}

/// Unmounts (when attached), stops the client (a VM powers off) and takes the system down.
/// Errors: `down` failed (the matrix stops).
async fn finish_system(session: &Session<'_>, client: Option<Client>, system: Option<&System>, attached: Option<&Attached>) -> Result<(), BenchError> {
    if let Some(mut client) = client {
        if let Some(a) = attached
            && let Err(e) = detach(&mut client, system, a).await
        {
            say(&format!("warning: {e}"));
        }
        client.stop().await;
    }
    if let Some(s) = system {
        take_down(session, &s.profile).await.map_err(|e| BenchError::Other(format!("{} did not go down, so the matrix stops (the next system must run alone): {e}", s.profile)))?;
    }
    Ok(())
}

/// Boots a new client VM in place of `client` (which stopped), powers the old one off and
/// mounts `system` on the new one. Errors: the boot or the mount failed, a signal.
async fn reboot_client(session: &Session<'_>, client: &mut Client, system: Option<&System>, scratch: &Path) -> Result<(), BenchError> {
    let vm = VmClient::start(session.signals).await?;
    let old = std::mem::replace(client, Client::Vm(Box::new(vm)));
    old.stop().await;
    attach(session, client, system, scratch).await.map(|_| ())
}

/// Records each of `cells` as failed with `error`, without running it.
fn fail_all(sh: &Shared<'_>, tally: &mut Tally, cells: &[&CellId], error: &str, client: &ClientRef) {
    for cell in cells {
        let result = CellResult {
            schema: SCHEMA.into(),
            cell: (*cell).clone(),
            status: CellStatus::Failed,
            error: Some(error.to_string()),
            logs: vec!["systems".into()],
            record: CellRecord { client: client.clone(), started_at: chrono::Local::now().to_rfc3339(), ended_at: chrono::Local::now().to_rfc3339(), ..Default::default() },
            resources: Vec::new(),
            s3: None,
            fio: serde_json::Value::Null,
        };
        if let Err(e) = save(sh.run_dir, &result) {
            say(&format!("warning: {e}"));
        }
        tally.ran += 1;
        tally.failed.push((cell.label(), error.to_string()));
        sh.bar.inc();
        sh.bar.line(format!("[{}] {}: FAILED (not run): {error}", sh.done_before + tally.ran, cell.label()));
    }
}

/// The line cell `k` of `total` ends with: `[k/N] ganesha seq-read/small/cold #1: seq-read 812.3 MB/s (fio 5.1 s)`.
fn cell_line(k: usize, total: usize, r: &CellResult) -> String {
    match r.status {
        CellStatus::Ok => format!("[{k}/{total}] {}: {} (fio {:.1} s)", r.cell.label(), super::metrics::CellMetrics::from_fio(&r.cell.workload, &r.fio).map(|m| m.headline()).unwrap_or_else(|e| format!("{}: {e}", r.cell.workload)), r.record.seconds.get("fio").copied().unwrap_or(0.0)),
        CellStatus::Failed => format!("[{k}/{total}] {}: FAILED: {}", r.cell.label(), r.error.as_deref().unwrap_or("")),
    }
}

/// Writes a cell's result whole (see [`write_whole`]).
fn save(run_dir: &Path, r: &CellResult) -> Result<(), BenchError> {
    let dir = run_dir.join("raw").join(&r.cell.profile);
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::Usage(format!("cannot create {}: {e}", dir.display())))?;
    let json = serde_json::to_vec_pretty(r).map_err(|e| BenchError::Other(format!("encoding a cell's result: {e}")))?;
    let file = dir.join(r.cell.file_name());
    write_whole(&file, &json).map_err(|e| crate::orchestration::results::write_error(&file, e))
}

/// The workload and size of `cell`. Errors: the matrix has neither (a damaged `bench.json`).
fn lookup<'a>(m: &Matrix, workloads: &'a [Workload], cell: &CellId) -> Result<(&'a Workload, Size), BenchError> {
    let w = workloads.iter().find(|w| w.name == cell.workload);
    let s = m.size(&cell.size);
    match (w, s) {
        (Some(w), Some(s)) => Ok((w, s)),
        _ => Err(BenchError::Other(format!("the matrix has no workload {} or size {} (a damaged bench.json?)", cell.workload, cell.size))),
    }
}
