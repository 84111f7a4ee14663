//! `benchhost up`: plan, opt-in checks, source builds, preflight, then (under the run lock and
//! the signal guard) `--replace`, the check that every name it will create is free, the
//! results directory, the run record, the stack itself and, when interrupted, the sweep of
//! what this run created.

use super::{absolute_dir, refuse_empty_dir, Session};
use crate::engine::DockerEngine;
use crate::orchestration::dry_run::{self, Action};
use crate::orchestration::error::BenchError;
use crate::orchestration::host::{host_os, total_memory};
use crate::orchestration::labels::LABEL_RUN;
use crate::orchestration::plan::settings::SettingsSource;
use crate::orchestration::plan::source_build::SourceBuild;
use crate::orchestration::plan::{self, opt_in, source_build, Plan};
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::progress::{say, Progress};
use crate::orchestration::results::{results_root, RunDir};
use crate::orchestration::run_record::{RunRecord, RunStart, UpEnd};
use crate::orchestration::teardown::down::{down, DownOptions, DownReport};
use crate::orchestration::teardown::unfinished;
use crate::orchestration::teardown::status::{profiles_up, refuse_when_up};
use crate::orchestration::up::{self as stack, names, preflight, UpOptions, UpReport};
use std::path::PathBuf;

/// What `up` is asked to do.
#[derive(Clone, Debug, Default)]
pub struct UpRequest {
    pub profile: String,
    /// Keep the containers when `up` fails.
    pub keep_on_failure: bool,
    /// Directory the printed mount command mounts on (default `/mnt/benchhost/<profile>`).
    pub mount_dir: Option<String>,
    /// `down` whatever other profile is up first.
    pub replace: bool,
    /// Only say what would be done.
    pub dry_run: bool,
    /// Root of the results directory (default `BENCH_RESULTS_DIR`, else `./results`).
    pub results_dir: Option<PathBuf>,
    /// Sets `BENCH_PROFILING=1`.
    pub with_profiling: bool,
}

/// How `up` ended.
#[derive(Debug)]
pub enum UpOutcome {
    /// `--dry-run`: every action a real `up` would take, in order.
    DryRun(Vec<Action>),
    /// The stack is up and provisioned.
    Up(UpDone),
}

/// A stack that is up.
#[derive(Debug)]
pub struct UpDone {
    pub report: UpReport,
    /// The run's results directory.
    pub results_dir: PathBuf,
}

/// Brings `req.profile` up (see the module doc). Errors: unknown profile or bad flags/settings
/// (usage), plugin errors, engine errors, a system already up, a failed readiness wait,
/// [`BenchError::Interrupted`] (after removing what this run created).
pub async fn up(session: &Session<'_>, req: UpRequest) -> Result<UpOutcome, BenchError> {
    let (registry, secrets) = (session.registry, session.secrets);
    let profile = req.profile.clone();
    registry.find(&profile)?;
    refuse_empty_dir("--mount-dir", req.mount_dir.as_deref())?;
    let settings = if req.with_profiling { session.settings.clone().with_value("BENCH_PROFILING", "1") } else { session.settings.clone() };
    let globals = settings.global()?;
    for warning in settings.machine_warnings(&globals, total_memory()) {
        say(&format!("warning: {warning}"));
    }
    let os = host_os();
    for (name, _, _) in opt_in::OPT_IN_SETTINGS {
        settings.flag(name)?;
    }
    let mut plan = plan::plan(registry, &settings, &profile, os).await?;
    opt_in::check(registry, &plan, &settings)?;
    let builds = source_build::apply(registry, &settings, &mut plan)?;
    preflight::check_host_kernel(registry, &plan)?;
    preflight::check_shared_binds(&plan)?;
    let mut opts = UpOptions {
        globals,
        keep_on_failure: req.keep_on_failure,
        run_id: stack::new_run_id(),
        host_os: os,
        mount_dir: absolute_dir(req.mount_dir, &profile),
        results: None,
        secrets: secrets.to_vec(),
        memory_setting: settings.given("BENCH_MEM_LIMIT"),
    };
    if req.dry_run {
        return Ok(UpOutcome::DryRun(dry_run_actions(registry, &settings, &plan, &opts, &builds, req.replace).await?));
    }
    let engine = DockerEngine::connect().await?;
    opts.globals.aim_at_engine(&engine.endpoint, &settings)?;
    preflight::check_engine_capacity(&engine, &opts.globals, &settings)?;
    let _lock = super::hold_engine(&engine).await?;
    // Until here nothing exists and a signal ends the process; from here it is handled.
    let mut guard = session.signals.guard();
    let progress = Progress::new(false);
    if req.replace {
        for (other, _) in profiles_up(&engine).await? {
            if other != profile {
                // Not interruptible: a half-removed profile would be worse than a finished one.
                let report = down(&engine, &other, &DownOptions { results_root: None, secrets: secrets.to_vec() }).await?;
                progress.step(&replaced_step(&other, &report));
                if guard.was_interrupted() {
                    return Err(BenchError::Interrupted);
                }
            }
        }
    }
    refuse_when_up(&engine, &profile).await?;
    names::check_names_free(&engine, &names::run_names(registry, &plan, &opts.globals)).await?;
    let root = results_root(req.results_dir.as_deref(), &settings);
    let dir = RunDir::create(&root, &["logs".to_string()])?;
    opts.results = Some(dir.clone());
    let start = RunStart { registry, plan: &plan, settings: &settings, root: &root, builds: &builds, engine: &engine, run_id: &opts.run_id };
    let mut record = match RunRecord::start(&dir, &start) {
        Ok(record) => record,
        Err(e) => {
            // Nothing is on the engine yet: no run directory without its record stays either.
            let _ = std::fs::remove_dir_all(&dir.path);
            return Err(e);
        }
    };
    progress.step(&format!(
        "bringing up {profile} (run {}, {}; results in {})",
        opts.run_id,
        engine.describe(),
        dir.path.display()
    ));
    let work = async {
        source_build::build_all(&engine, &builds, &progress).await?;
        stack::up(registry, &engine, &plan, &opts, &progress).await
    };
    let outcome = tokio::select! {
        r = work => r,
        _ = guard.interrupted() => {
            let grace = stop_grace_of(&plan);
            progress.step(&format!("interrupted: removing what this run created (up to {grace} s: each container gets its stop grace)"));
            guard.notice(format!("still removing what this run created (up to {grace} s in all); benchhost exits when it is done"));
            if let Ok(found) = engine.list_labelled(LABEL_RUN, &opts.run_id).await {
                let _ = dir.save_logs(&engine, &found.containers, secrets).await;
            }
            if let Some(left) = unfinished::remove_or_leave_for_later(&engine, &opts.run_id, &profile).await {
                progress.step(&left);
            }
            Err(BenchError::Interrupted)
        }
    };
    let end = outcome.as_ref().map(|r| UpEnd { containers: &r.containers, bootstrap_log: &r.bootstrap_log, mount: r.mount.as_ref() });
    record.finish_up(&engine, &plan, &progress, end, secrets).await;
    Ok(UpOutcome::Up(UpDone { report: outcome?, results_dir: dir.path }))
}

/// What a real `up` would do, in order: the same refusal when a system is up (with `replace`,
/// the downs it would do first), then every action of [`dry_run::up_actions`]. Secret values
/// are shown blank in the requests. Works without an engine (then nothing is known to be up).
async fn dry_run_actions(registry: &Registry, settings: &SettingsSource, plan: &Plan, opts: &UpOptions, builds: &[SourceBuild], replace: bool) -> Result<Vec<Action>, BenchError> {
    let engine = DockerEngine::connect().await.ok();
    let mut replaced = Vec::new();
    if let Some(engine) = &engine {
        preflight::check_engine_capacity(engine, &opts.globals, settings)?;
        let up = profiles_up(engine).await?;
        if !replace || up.contains_key(&plan.target) {
            refuse_when_up(engine, &plan.target).await?;
        }
        names::check_names_free(engine, &names::run_names(registry, plan, &opts.globals)).await?;
        for (other, names) in up {
            replaced.push(Action {
                action: "replace",
                description: format!("down {other} first (--replace), saving its logs: {}", names.join(", ")),
                request: None,
            });
        }
    }
    // The user's secrets; a default is published (`.env.example`) and blanking it would blank
    // equal values that are no secret (`SAMBA_USER=bench`).
    let shown = settings.secrets(registry.plugins.iter().map(|r| &r.plugin.info));
    let mut actions = dry_run::up_actions(registry, plan, opts, builds, engine.as_ref(), &shown).await?;
    actions.splice(0..0, replaced);
    if engine.is_none() {
        // A real `up` would stop at these; say they are still to come.
        actions.insert(0, Action {
            action: "check",
            description: "the Docker engine is not reachable now: what is up, the names this run would create and BENCH_CPU_LIMIT against the engine's CPUs are not checked (a real `up` checks them first)".into(),
            request: None,
        });
    }
    Ok(actions)
}

/// How long removing `plan`'s containers may take, in seconds: systems under test are stopped
/// together, then infrastructure, each wave as long as its longest stop grace (Docker's
/// default, 10 s, where a service sets none).
fn stop_grace_of(plan: &Plan) -> u64 {
    let wave = |role: crate::runtime::contract::Role| {
        plan.services().filter(|(p, _)| p.role == role).map(|(_, s)| u64::from(s.stop_grace_ms.unwrap_or(10_000)).div_ceil(1000)).max().unwrap_or(0)
    };
    wave(crate::runtime::contract::Role::Target) + wave(crate::runtime::contract::Role::Infrastructure)
}

/// The step line of a profile `--replace` took down.
fn replaced_step(other: &str, report: &DownReport) -> String {
    let logs = report.logs.first().and_then(|f| std::path::Path::new(f).parent()).map(|d| format!("; its logs are in {}", d.display())).unwrap_or_default();
    format!(
        "replaced {other}: removed {} container(s), {} network(s), {} volume(s){logs} ({:.2}s)",
        report.containers.len(),
        report.networks.len(),
        report.volumes.len(),
        report.seconds
    )
}
