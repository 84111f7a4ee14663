//! One cell on an attached target: a fresh directory, the layout, the cold pass's cache drops,
//! fio with the engine's stats sampled alongside, the directory removed, and the result.

use super::attach::{attach, detach, Attached};
use super::cell::{CacheState, CellId, CellRecord, CellResult, CellStatus, ClientRef, Pass, SCHEMA};
use super::client::{Client, FioCall, FioOutcome};
use super::sampler::Sampler;
use super::system::System;
use super::workloads::{fio_env, Size, Workload};
use crate::engine::DockerEngine;
use crate::orchestration::commands::Session;
use crate::orchestration::error::BenchError;
use crate::orchestration::host::host_os;
use crate::orchestration::up::cold::{empty_cache, restart, OwnCache};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What every cell of one system shares.
pub struct CellContext<'a> {
    pub session: &'a Session<'a>,
    /// Where `local`'s directory is made (a re-attach after a restart passes it on).
    pub scratch: &'a Path,
    /// Set when a restart the plugin asked for left the system unmounted on the client: the
    /// system's remaining cells must not run (they would measure the client's own directory).
    pub lost_mount: std::sync::Mutex<Option<String>>,
    pub run_id: &'a str,
    pub run_dir: &'a Path,
    pub system: Option<&'a System>,
    pub engine: Option<&'a DockerEngine>,
    pub attached: &'a Attached,
    /// The engine's stats of the system's containers (none for `local`).
    pub sampler: Option<&'a Sampler>,
    pub client: ClientRef,
    pub runtime: u32,
    pub ioengine: &'a str,
    /// The settings `local`'s cells record (a system's come from its `up`).
    pub local_settings: &'a BTreeMap<String, String>,
    pub secrets: &'a [String],
    /// Set when this deployment was made for one cell, whose system could not empty its own
    /// cache in place (see [`CellEnd::Redeploy`]).
    pub fresh: Option<&'a Fresh>,
    /// Cleared for the rest of the system's cells once a fresh deployment could not be emptied
    /// either: deploying afresh again would only cost time.
    pub may_redeploy: &'a AtomicBool,
}

/// A deployment made for one cold cell (`cell`): in place, its system's own cache could not be
/// emptied (`why`, the plugin's error); the failed attempt took `attempt` seconds and taking
/// the system down, bringing it up and mounting it again `seconds`.
#[derive(Clone, Debug)]
pub struct Fresh {
    pub cell: CellId,
    pub why: String,
    pub attempt: f64,
    pub seconds: f64,
}

/// How a cell ended.
#[derive(Debug)]
pub enum CellEnd {
    /// Its result, `ok` or `failed` (to be saved).
    Done(Box<CellResult>),
    /// A cold cell whose system's plugin could not empty the system's own cache in place (its
    /// `empty-cache` failed: `why`, after `attempt` seconds): the caller deploys the system
    /// afresh (down, which removes its volumes, then up and mount) and runs the cell again with
    /// [`CellContext::fresh`] naming it. Its files are removed; it has no result yet.
    Redeploy { why: String, attempt: f64 },
}

/// How long fio may run for a cell of `runtime` seconds: each job is capped at `runtime`, and
/// `metadata`'s three phases are not time-based, so three times that and two minutes more.
pub fn fio_timeout(runtime: u32) -> Duration {
    Duration::from_secs(u64::from(runtime) * 3 + 120)
}

/// Runs `cell` and returns its result (a failure is a result with `status: failed`, not an
/// error), or asks for a fresh deployment ([`CellEnd::Redeploy`]) when the system's own cache
/// cannot be emptied in place, at most once per cell and not after a fresh deployment failed
/// the same way. Interrupts are the caller's.
pub async fn run_cell(ctx: &CellContext<'_>, client: &mut Client, cell: &CellId, workload: &Workload, size: &Size) -> CellEnd {
    let started_at = chrono::Local::now().to_rfc3339();
    let start = Instant::now();
    let stem = cell.file_name().trim_end_matches(".json").to_string();
    let dir = format!("{}/benchhost-{stem}", ctx.attached.dir.trim_end_matches('/'));
    let env = fio_env(size, &dir, ctx.runtime, ctx.ioengine, cell.seed());
    let mut seconds = BTreeMap::new();
    let mut record = CellRecord {
        run: ctx.run_id.to_string(),
        benchhost_version: env!("CARGO_PKG_VERSION").to_string(),
        plugin: ctx.system.and_then(|s| s.plugin.clone()),
        images: ctx.system.map(|s| s.images.clone()).unwrap_or_default(),
        settings: ctx.system.map(|s| s.settings.clone()).unwrap_or_else(|| ctx.local_settings.clone()),
        client: ctx.client.clone(),
        mount_command: ctx.attached.mount_command.clone(),
        directory: dir.clone(),
        workload_file: workload.file.clone(),
        workload_sha256: workload.sha256.clone(),
        params: env.clone(),
        cache: cache_state(cell.pass, ctx.system.is_some(), ctx.attached.in_ram),
        started_at,
        ..Default::default()
    };
    let call = |create_only: bool| FioCall { job_text: workload.text.clone(), job_name: format!("{}.fio", workload.name), env: env.clone(), create_only, timeout: fio_timeout(ctx.runtime) };
    let fresh = ctx.fresh.filter(|f| f.cell == *cell);
    let mut outcome = measure(ctx, client, cell, workload, &dir, &call, &mut seconds, &mut record.cache).await;
    if outcome.is_err() {
        // A cell that failed before its cleanup leaves its files: they go now.
        client.remove_dir(&dir).await;
    }
    if let Err(f) = &mut outcome
        && f.in_place {
            match fresh {
                None if ctx.may_redeploy.load(Ordering::Relaxed) => return CellEnd::Redeploy { why: f.error.clone(), attempt: round(start.elapsed().as_secs_f64()) },
                None => f.error.push_str(" (a fresh deployment did not help an earlier cell, so this one ran in place)"),
                Some(_) => {
                    ctx.may_redeploy.store(false, Ordering::Relaxed);
                    f.error.push_str(" (on a fresh deployment too: the system's later cold cells run in place)");
                }
            }
        }
    if let Some(f) = fresh {
        seconds.insert("in_place".into(), f.attempt);
        seconds.insert("redeploy".into(), f.seconds);
        if outcome.is_ok() {
            record.cache.system_cache = format!("{} on a fresh deployment (taken down, up and mounted again in {:.1} s), because in place: {}", record.cache.system_cache, f.seconds, f.why);
        }
    }
    seconds.insert("total".into(), round(start.elapsed().as_secs_f64()));
    record.seconds = seconds;
    record.ended_at = chrono::Local::now().to_rfc3339();
    let mut result = Box::new(CellResult { schema: SCHEMA.into(), cell: cell.clone(), status: CellStatus::Ok, error: None, logs: Vec::new(), record, resources: Vec::new(), s3: None, fio: serde_json::Value::Null });
    match outcome {
        Ok((fio, resources, s3)) => {
            result.fio = fio;
            result.resources = resources;
            result.s3 = s3;
        }
        Err(Failure { error, log, .. }) => {
            result.status = CellStatus::Failed;
            result.error = Some(crate::orchestration::redact(&error, ctx.secrets));
            if let Some(log) = log {
                result.logs.push(save_log(ctx, cell, &log));
            }
            if let Some(s) = ctx.system {
                // Where `down` saves the containers' logs.
                result.logs.push(relative(ctx.run_dir, &s.up_dir.join("logs")));
            }
        }
    }
    CellEnd::Done(result)
}

/// Why a cell failed: the error, fio's log when there is one, and whether it was the system's
/// own cache that could not be emptied in place (the plugin's `empty-cache` failed).
struct Failure {
    error: String,
    log: Option<String>,
    in_place: bool,
}

impl From<(String, Option<String>)> for Failure {
    fn from((error, log): (String, Option<String>)) -> Self {
        Failure { error, log, in_place: false }
    }
}

type Measured = (serde_json::Value, Vec<super::cell::ContainerUse>, Option<super::cell::S3Use>);

/// The cell's phases.
#[allow(clippy::too_many_arguments)]
async fn measure(ctx: &CellContext<'_>, client: &mut Client, cell: &CellId, workload: &Workload, dir: &str, call: &dyn Fn(bool) -> FioCall, seconds: &mut BTreeMap<String, f64>, cache: &mut CacheState) -> Result<Measured, Failure> {
    // The engine's stats streams run for the whole system (see `sampler`).
    let sampler = ctx.sampler;
    client.fresh_dir(dir).await.map_err(|e| (e.to_string(), None))?;
    if workload.lays_out_files() {
        let t = Instant::now();
        let layout = client.fio(&call(true)).await.map_err(|e| (e.to_string(), None))?;
        seconds.insert("layout".into(), round(t.elapsed().as_secs_f64()));
        check(&layout, "laying the files out (fio --create_only=1)")?;
    }
    if cell.pass == Pass::Cold {
        if let Some(system) = ctx.system {
            let t = Instant::now();
            cache.system_cache = empty_own_cache(ctx, client, system).await.map_err(|(e, in_place)| Failure { error: format!("emptying {}'s own cache: {}", system.profile, crate::orchestration::redact(&e.to_string(), ctx.secrets)), log: None, in_place })?;
            seconds.insert("empty_cache".into(), round(t.elapsed().as_secs_f64()));
        }
        let t = Instant::now();
        client.drop_caches().await.map_err(|e| (format!("dropping the client's page cache: {e}"), None))?;
        if let Some(system) = ctx.system {
            match ctx.engine {
                // The servers' kernel is the remote engine's host's.
                Some(engine) if engine.endpoint.is_remote() => {
                    let (image, labels) = system.host_container();
                    engine.drop_host_page_cache(&image, &labels).await.map_err(|e| (format!("dropping the servers' page cache: {e}"), None))?;
                }
                _ if !client.shares_the_servers_kernel() => {
                    crate::orchestration::host::page_cache::drop_caches(host_os()).map_err(|e| (format!("dropping the servers' page cache: {e}"), None))?;
                }
                _ => {}
            }
        }
        seconds.insert("cold".into(), round(t.elapsed().as_secs_f64()));
    }
    let t = Instant::now();
    if let Some(s) = sampler {
        s.ready().await;
    }
    let mut stats = t.elapsed().as_secs_f64();
    let fio_start = Instant::now();
    let fio = client.fio(&call(false)).await;
    let fio_end = Instant::now();
    // The last sample comes while the cell's files go: the wait is not the cell's.
    let t = Instant::now();
    let ((resources, s3), cleanup) = tokio::join!(
        async {
            match sampler {
                Some(s) => s.span(fio_start, fio_end).await,
                None => (Vec::new(), None),
            }
        },
        async {
            let t = Instant::now();
            client.remove_dir(dir).await;
            t.elapsed().as_secs_f64()
        }
    );
    stats += (t.elapsed().as_secs_f64() - cleanup).max(0.0);
    seconds.insert("cleanup".into(), round(cleanup));
    seconds.insert("stats".into(), round(stats));
    let fio = fio.map_err(|e| (e.to_string(), None))?;
    seconds.insert("fio".into(), round(fio.seconds));
    check(&fio, "the measured run")?;
    let json = fio.json.unwrap_or_default();
    // A report the summary cannot read is no result: the cell runs again on --resume.
    if let Err(e) = super::metrics::CellMetrics::from_fio(&workload.name, &json) {
        return Err((format!("fio's report of the measured run cannot be read: {e}"), Some(fio.log)).into());
    }
    Ok((json, resources, s3))
}

/// Empties `system`'s own cache through its plugin (`empty-cache`), restarting the services it
/// names with the client unmounted around the restarts; returns the record's words for it.
/// Errors, each with whether a fresh deployment may do what this could not (`true` only for
/// the plugin's own error or trap: not the engine's, not a signal's): the plugin's, a restart
/// that fails, a FUSE system asking for a restart (its mount lives in the container), a mount
/// that cannot be made again (then `lost_mount` is set).
async fn empty_own_cache(ctx: &CellContext<'_>, client: &mut Client, system: &System) -> Result<String, (BenchError, bool)> {
    let engine = ctx.engine.ok_or_else(|| (BenchError::Other("no engine for a system (a benchhost defect)".into()), false))?;
    let registry = ctx.session.registry;
    let own = empty_cache(registry, engine, &system.stack, ctx.secrets).await.map_err(|e| {
        let in_place = matches!(e, BenchError::Plugin(_));
        (e, in_place)
    })?;
    own_cache_restarts(ctx, client, system, engine, own).await.map_err(|e| (e, false))
}

/// The restarts `own` asks for, around an unmount and a mount; the record's words.
async fn own_cache_restarts(ctx: &CellContext<'_>, client: &mut Client, system: &System, engine: &DockerEngine, own: OwnCache) -> Result<String, BenchError> {
    let registry = ctx.session.registry;
    let OwnCache::Emptied { restart: services, .. } = &own else { return Ok(own.record(None)) };
    if services.is_empty() {
        return Ok(own.record(None));
    }
    if system.protocol == "fuse" {
        return Err(BenchError::Other(format!("its plugin asks to restart {}, but a FUSE system's mount lives in its container and would not come back on the client; the plugin must empty its cache without a restart", services.join(", "))));
    }
    detach(client, Some(system), ctx.attached).await?;
    let timeout = ctx.session.settings.global()?.startup_timeout;
    let restarted = restart(registry, engine, &system.stack, services, timeout).await;
    let again = match &restarted {
        Ok(_) => attach(ctx.session, client, Some(system), ctx.scratch).await.map(|_| ()),
        Err(_) => Err(BenchError::Other("not mounted again after the failed restart".into())),
    };
    if let Err(e) = &again
        && let Ok(mut lost) = ctx.lost_mount.lock() {
            *lost = Some(format!("{} is no longer mounted on the client after restarting {}: {e}", system.profile, services.join(", ")));
        }
    let seconds = restarted?;
    again?;
    Ok(own.record(Some(seconds)))
}

/// A fio run that failed, timed out or wrote no report, as the cell's error.
fn check(fio: &FioOutcome, what: &str) -> Result<(), (String, Option<String>)> {
    let tail = || fio.log.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
    if fio.timed_out {
        return Err((format!("fio timed out in {what}"), Some(fio.log.clone())));
    }
    match (fio.status, &fio.json) {
        (Some(0), Some(_)) => Ok(()),
        (Some(0), None) => Err((format!("fio wrote no JSON report in {what}: {}", tail()), Some(fio.log.clone()))),
        (status, _) => Err((format!("fio failed in {what} (exit {}): {}", status.map(|s| s.to_string()).unwrap_or_else(|| "on a signal".into()), tail()), Some(fio.log.clone()))),
    }
}

/// What the pass did to each cache. `local` in RAM (the VM's root file system, a tmpfs) has no
/// page cache to drop: its files are the cache.
fn cache_state(pass: Pass, has_server: bool, in_ram: bool) -> CacheState {
    let client = match pass {
        _ if in_ram => "none (a RAM file system)",
        Pass::Cold => "dropped",
        Pass::Warm => "kept",
    };
    let server = match (has_server, pass) {
        (false, _) => "none",
        (true, Pass::Cold) => "dropped",
        (true, Pass::Warm) => "kept",
    };
    CacheState { client_page_cache: client.into(), server_page_cache: server.into(), system_cache: if has_server { "kept".into() } else { "none".into() } }
}

/// Writes a failed cell's log as `logs/cells/<profile>/<stem>.log`; its path relative to the
/// run directory.
fn save_log(ctx: &CellContext<'_>, cell: &CellId, log: &str) -> String {
    let dir = ctx.run_dir.join("logs").join("cells").join(&cell.profile);
    let file = dir.join(cell.file_name().replace(".json", ".log"));
    let _ = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, crate::orchestration::redact(log, ctx.secrets)));
    relative(ctx.run_dir, &file)
}

fn relative(base: &Path, p: &Path) -> String {
    p.strip_prefix(base).unwrap_or(p).display().to_string()
}

fn round(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}
