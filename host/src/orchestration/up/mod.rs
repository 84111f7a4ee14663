//! `up` on the Docker engine: images, then the network and volumes, then containers created in
//! the background while profiles start in waves, then the mount command.
//!
//! Every resource `up` creates is labelled `benchhost.managed=true`, `benchhost.profile=<target>`,
//! `benchhost.run-id=<id>`, plus `benchhost.plugin` / `benchhost.service` on containers. `down`
//! removes by profile label; a failed or interrupted `up` removes by run id, so it never leaves
//! anything behind (unless `--keep-on-failure`).

use crate::orchestration::error::BenchError;
use crate::orchestration::host::mount_command::{at_server, mount_command, MountCommand};
use crate::orchestration::plan::Plan;
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::plan::settings::GlobalSettings;
use crate::engine::{ContainerSpec, DockerEngine};
use crate::runtime::contract::{HostOs, MountSpec, PluginInfo};

pub mod cold;
pub mod container_spec;
pub mod creations;
pub mod gateway;
pub mod images;
pub mod memory;
pub mod names;
pub mod preflight;
pub mod ready;
pub mod waves;

use preflight::check_ports_free;
use crate::orchestration::labels::{resource_name, LABEL_RUN};
use crate::orchestration::teardown::unfinished;
use crate::engine::EngineError;
use container_spec::{container_spec, run_labels};
use creations::Creations;

/// Options of `up`.
#[derive(Clone, Debug)]
pub struct UpOptions {
    pub globals: GlobalSettings,
    /// Keep what was created when `up` fails (for debugging).
    pub keep_on_failure: bool,
    /// Unique id of this run (labels every resource).
    pub run_id: String,
    pub host_os: HostOs,
    /// Directory the printed mount command mounts on.
    pub mount_dir: String,
    /// The run's results directory: its path labels every container, and a failed `up` saves
    /// the containers' logs there before removing them.
    pub results: Option<crate::orchestration::results::RunDir>,
    /// Secret values, removed from saved logs.
    pub secrets: Vec<String>,
    /// `BENCH_MEM_LIMIT=… (from …)` when the user set the memory limit, for the message of a
    /// failure caused by too little memory ([`memory`]).
    pub memory_setting: Option<String>,
}

/// What `up` reports when the stack is ready.
#[derive(Clone, Debug, serde::Serialize)]
pub struct UpReport {
    pub profile: String,
    pub run_id: String,
    pub containers: Vec<String>,
    pub mount: Option<MountCommand>,
    /// Seconds from the start of `up` to ready.
    pub seconds: f64,
    /// What the plugins logged while bootstrapping, as `<plugin>: <line>` (see [`gateway::Notes`]).
    pub bootstrap_log: Vec<String>,
    /// The plan and the started services, for calls into the plugin while the stack is up
    /// (`benchhost bench`'s cold pass, see [`cold`]). Not printed.
    #[serde(skip)]
    pub stack: Box<cold::RunningStack>,
}

pub use crate::orchestration::progress::Progress;

/// The mount command of a plugin's mount options on `dir`, its source naming `server` (the
/// address clients reach, [`at_server`]); an invalid spec is the plugin's defect
/// ([`BenchError::InvalidPluginOutput`], exit 3) naming it and `mount-options`.
pub fn plugin_mount_command(plugin: &PluginInfo, spec: &MountSpec, os: HostOs, dir: &str, server: &str) -> Result<MountCommand, BenchError> {
    at_server(spec, server).and_then(|spec| mount_command(&spec, os, dir)).map_err(|message| BenchError::InvalidPluginOutput {
        plugin: plugin.name.clone(),
        version: plugin.version.clone(),
        operation: "mount-options",
        message,
    })
}

/// A new run id: UTC timestamp plus process id.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{}-{}", now.as_millis(), std::process::id())
}

/// Brings the planned stack up. The caller holds the run lock
/// ([`crate::orchestration::run_lock::acquire`]) and has checked [`crate::orchestration::teardown::status::refuse_when_up`] under it (before it
/// created the run's results directory). On failure, removes everything labelled with this
/// run id (unless `keep_on_failure`) and returns the error.
pub async fn up(registry: &Registry, engine: &DockerEngine, plan: &Plan, opts: &UpOptions, progress: &Progress) -> Result<UpReport, BenchError> {
    // A remote engine's ports are checked on its host, once the images are there.
    if !engine.endpoint.is_remote() {
        check_ports_free(plan, &opts.globals.bind_address)?;
    }
    let mut result = bring_up(registry, engine, plan, opts, progress).await;
    let mut lost = false;
    if let Err(e) = result {
        lost = matches!(e, BenchError::Engine(EngineError::Lost { .. })) || !engine.answers().await;
        result = Err(if lost {
            // Whatever failed, the cause is the engine that went away.
            match e {
                BenchError::Engine(EngineError::Lost { .. }) => e,
                other => BenchError::Engine(engine.lost(format!("bringing {} up", plan.target), other.to_string())),
            }
        } else {
            // Before anything is removed: what ran out of memory can only be asked of live containers.
            let (starved, killed) = if memory::may_be_memory(&e) { memory::starved(engine, &opts.run_id).await } else { (Vec::new(), false) };
            if starved.is_empty() { e } else { BenchError::OutOfMemory { cause: Box::new(e), containers: starved, killed, setting: opts.memory_setting.clone() } }
        });
    }
    if result.is_err() {
        if opts.keep_on_failure {
            progress.step(&format!("keeping what this run created (--keep-on-failure); remove it with `benchhost down {}`", plan.target));
        } else {
            if let Some(dir) = &opts.results
                && !lost
                && let Ok(found) = engine.list_labelled(LABEL_RUN, &opts.run_id).await {
                    match dir.save_logs(engine, &found.containers, &opts.secrets).await {
                        Ok(saved) if !saved.is_empty() => progress.step(&format!("saved the logs of {} container(s) in {}", saved.len(), dir.path.join("logs").display())),
                        Ok(_) => {}
                        Err(problems) => progress.step(&format!("could not save every log: {}", problems.join("; "))),
                    }
                }
            progress.step("removing what this run created");
            if let Some(left) = unfinished::remove_or_leave_for_later(engine, &opts.run_id, &plan.target).await {
                progress.step(&left);
            }
        }
    }
    result
}

async fn bring_up(registry: &Registry, engine: &DockerEngine, plan: &Plan, opts: &UpOptions, progress: &Progress) -> Result<UpReport, BenchError> {
    let base_labels = run_labels(plan, opts);

    images::ensure_all(registry, engine, plan, progress).await?;
    if engine.endpoint.is_remote() {
        preflight::check_host_kernel_on_engine(engine, registry, plan, &base_labels).await?;
        preflight::check_ports_free_on_engine(engine, plan, &opts.globals.bind_address, &base_labels).await?;
    }
    let network = resource_name(&plan.target, "");
    let specs: Vec<ContainerSpec> = plan
        .services()
        .map(|(planned, service)| container_spec(plan, planned, service, &registry.plugin(planned.plugin).info.name, &network, &base_labels, &opts.globals))
        .collect();
    creations::create_network_and_volumes(engine, plan, &network, &specs, &base_labels, opts).await?;
    progress.step(&format!("network {network} created"));
    let creations = Creations::spawn(engine, &specs);
    let containers: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();

    let endpoints = gateway::Endpoints::default();
    let notes = waves::start_all(registry, engine, plan, &specs, &creations, &endpoints, opts, progress).await?;
    let target = plan.profiles.last().expect("a plan has its target");
    let plugin = registry.plugin(target.plugin);
    let mount = if target.role == crate::runtime::contract::Role::Target {
        let spec = registry.runtime.mount_options(plugin, &target.ctx).await?;
        Some(plugin_mount_command(&plugin.info, &spec, opts.host_os, &opts.mount_dir, &opts.globals.server_address)?)
    } else {
        None
    };
    Ok(UpReport {
        profile: plan.target.clone(),
        run_id: opts.run_id.clone(),
        containers,
        mount,
        seconds: progress.elapsed().as_secs_f64(),
        bootstrap_log: notes.lines(),
        stack: Box::new(cold::RunningStack { plan: Some(plan.clone()), endpoints }),
    })
}
