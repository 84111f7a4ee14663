//! `up`, `down` and `status` on the Docker engine.
//!
//! Every resource `up` creates is labelled `benchhost.managed=true`, `benchhost.profile=<target>`,
//! `benchhost.run-id=<id>`, plus `benchhost.plugin` / `benchhost.service` on containers. `down`
//! removes by profile label; a failed or interrupted `up` removes by run id, so it never leaves
//! anything behind (unless `--keep-on-failure`).

use super::data_dirs;
use super::error::BenchError;
use super::gateway::{dial_address, Endpoint, Endpoints, Notes, StackGateway};
use super::mount::{mount_command, MountCommand};
use super::plan::{Plan, PlannedProfile};
use super::registry::Registry;
use super::settings::GlobalSettings;
use crate::engine::{ContainerSpec, DockerEngine, FileSpec, HealthSpec, LabelledResources, MountSource, MountSpec, PublishedPort};
use crate::runtime::contract::{DependencyCondition, Health, HostOs, Service, Transport, VolumeSource};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use super::labels::{LABEL_DATA_DIR, LABEL_MANAGED, LABEL_PLUGIN, LABEL_PROFILE, LABEL_ROLE, LABEL_RUN, LABEL_SERVICE, LABEL_SHARED_BINDS};

/// Bounds of the pause between readiness probes (see `probe_pause`).
const PROBE_PAUSE_MIN: Duration = Duration::from_millis(10);
const PROBE_PAUSE_MAX: Duration = Duration::from_millis(250);

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
    pub results: Option<super::results::RunDir>,
    /// Secret values, removed from saved logs.
    pub secrets: Vec<String>,
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
    /// What the plugins logged while bootstrapping, as `<plugin>: <line>` (see [`Notes`]).
    pub bootstrap_log: Vec<String>,
}

pub use super::progress::Progress;

/// Docker resource names of a profile: `benchhost-<profile>[-<suffix>]`.
pub fn resource_name(profile: &str, suffix: &str) -> String {
    if suffix.is_empty() { format!("benchhost-{profile}") } else { format!("benchhost-{profile}-{suffix}") }
}

/// A new run id: UTC timestamp plus process id.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{}-{}", now.as_millis(), std::process::id())
}

/// Brings the planned stack up. The caller holds the run lock
/// ([`super::run_lock::acquire`]) and has checked [`refuse_when_up`] under it (before it
/// created the run's results directory). On failure, removes everything labelled with this
/// run id (unless `keep_on_failure`) and returns the error.
pub async fn up(registry: &Registry, engine: &DockerEngine, plan: &Plan, opts: &UpOptions, progress: &Progress) -> Result<UpReport, BenchError> {
    check_ports_free(plan, &opts.globals.bind_address)?;
    let result = bring_up(registry, engine, plan, opts, progress).await;
    if result.is_err() {
        if opts.keep_on_failure {
            progress.step(&format!("keeping what this run created (--keep-on-failure); remove it with `benchhost down {}`", plan.target));
        } else {
            if let Some(dir) = &opts.results {
                if let Ok(found) = engine.list_labelled(LABEL_RUN, &opts.run_id).await {
                    match dir.save_logs(engine, &found.containers, &opts.secrets).await {
                        Ok(saved) if !saved.is_empty() => progress.step(&format!("saved the logs of {} container(s) in {}", saved.len(), dir.path.join("logs").display())),
                        Ok(_) => {}
                        Err(problems) => progress.step(&format!("could not save every log: {}", problems.join("; "))),
                    }
                }
            }
            progress.step("removing what this run created");
            remove_run(engine, &opts.run_id).await;
        }
    }
    result
}

/// What is up, by profile: container names (with state), networks and volumes of every
/// profile with resources labelled `benchhost.managed=true`.
pub async fn profiles_up(engine: &DockerEngine) -> Result<std::collections::BTreeMap<String, Vec<String>>, BenchError> {
    let found = engine.list_labelled(LABEL_MANAGED, "true").await?;
    let mut by_profile: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let profile = |l: &HashMap<String, String>| l.get(LABEL_PROFILE).cloned().unwrap_or_else(|| "?".into());
    for c in &found.containers {
        by_profile.entry(profile(&c.labels)).or_default().push(format!("{} ({})", c.name, c.state));
    }
    for n in &found.networks {
        by_profile.entry(profile(&n.labels)).or_default().push(format!("network {}", n.name));
    }
    for v in &found.volumes {
        by_profile.entry(profile(&v.labels)).or_default().push(format!("volume {}", v.name));
    }
    Ok(by_profile)
}

/// One system at a time: refuses (usage error) when `target` or any other profile has
/// resources on the engine, naming them and how to remove them (`down`, or `up --replace`).
pub async fn refuse_when_up(engine: &DockerEngine, target: &str) -> Result<(), BenchError> {
    let up = profiles_up(engine).await?;
    if let Some(names) = up.get(target) {
        let leftovers = names.iter().all(|n| n.starts_with("network ") || n.starts_with("volume "));
        let what = if leftovers { "has leftovers from an earlier run" } else { "is already up" };
        return Err(BenchError::Usage(format!("profile {target} {what}: {}\n  hint: `benchhost down {target}` first", names.join(", "))));
    }
    if let Some((other, names)) = up.iter().next() {
        return Err(BenchError::Usage(format!(
            "profile {other} is up ({}); benchhost runs one system at a time so they do not compete for the machine\n  hint: `benchhost down {other}` first, or `benchhost up {target} --replace`",
            names.join(", ")
        )));
    }
    Ok(())
}

/// Fails fast, before anything is created, when a host port of the plan is taken.
fn check_ports_free(plan: &Plan, bind: &str) -> Result<(), BenchError> {
    for (p, s) in plan.services() {
        for port in &s.ports {
            let addr = dial_address(bind, port.host);
            let bind_addr = std::net::SocketAddr::new(bind.parse().unwrap_or(addr.ip()), port.host);
            let free = match port.transport {
                Transport::Tcp => std::net::TcpListener::bind(bind_addr).is_ok(),
                Transport::Udp => std::net::UdpSocket::bind(bind_addr).is_ok(),
            };
            if !free {
                return Err(BenchError::Engine(crate::engine::EngineError::PortInUse {
                    port: port.host,
                    holder: match super::preflight::port_holder(port.host, port.transport == Transport::Udp) {
                        Some(who) => format!(" by {who} (needed by service {} of profile {})", s.name, p.profile),
                        None => format!(" (needed by service {} of profile {})", s.name, p.profile),
                    },
                }));
            }
        }
    }
    Ok(())
}

async fn bring_up(registry: &Registry, engine: &DockerEngine, plan: &Plan, opts: &UpOptions, progress: &Progress) -> Result<UpReport, BenchError> {
    let base_labels = run_labels(plan, opts);

    // Images first: nothing is created until every image is present; all missing ones are named.
    // Each image is checked (and pulled) once, all at the same time.
    let mut images: Vec<(&str, String)> = Vec::new();
    for (p, s) in plan.services() {
        if !images.iter().any(|(image, _)| *image == s.image) {
            images.push((&s.image, image_hint(&registry.plugin(p.plugin).info, &s.image)));
        }
    }
    let images_spinner = progress.spinner("checking images");
    let spinner = &images_spinner;
    let checks = images.iter().map(|(image, hint)| async move {
        let t = Instant::now();
        let r = engine
            .ensure_image(image, hint, |line| {
                spinner.message(line);
                tracing::info!("{line}")
            })
            .await;
        (r, t.elapsed())
    });
    let checked = futures_util::future::join_all(checks).await;
    drop(images_spinner);
    let mut missing = Vec::new();
    for ((image, _), (r, took)) in images.iter().zip(checked) {
        match r {
            Ok(()) => progress.step(&format!("image {image} ready ({:.2}s)", took.as_secs_f64())),
            Err(e @ crate::engine::EngineError::ImageUnavailable { .. }) => missing.push(e),
            Err(e) => return Err(e.into()),
        }
    }
    match missing.len() {
        0 => {}
        1 => return Err(missing.remove(0).into()),
        n => {
            let all: Vec<String> = missing.iter().map(|e| e.to_string()).collect();
            return Err(BenchError::Engine(crate::engine::EngineError::Api { context: format!("{n} images are unavailable"), detail: all.join("\n") }));
        }
    }

    // The network and every volume are created together, then every container (in the
    // background): creating needs nothing running, so later services are created while earlier
    // ones start.
    let network = resource_name(&plan.target, "");
    let specs: Vec<ContainerSpec> = plan
        .services()
        .map(|(planned, service)| container_spec(plan, planned, service, &registry.plugin(planned.plugin).info.name, &network, &base_labels, &opts.globals))
        .collect();
    let mut volumes: Vec<&str> = specs
        .iter()
        .flat_map(|s| s.mounts.iter())
        .filter_map(|m| if let MountSource::Volume(v) = &m.source { Some(v.as_str()) } else { None })
        .collect();
    volumes.sort_unstable();
    volumes.dedup();
    let data_dirs = data_dirs::prepare(opts.globals.data_dir.as_deref(), &plan.target, &volumes)?;
    let volume_labels: Vec<HashMap<String, String>> = data_dirs
        .iter()
        .map(|dir| {
            let mut labels = base_labels.clone();
            if let Some(dir) = dir {
                labels.insert(LABEL_DATA_DIR.to_string(), dir.display().to_string());
            }
            labels
        })
        .collect();
    let created = futures_util::future::try_join(
        engine.create_network(&network, &base_labels),
        futures_util::future::try_join_all(volumes.iter().zip(&data_dirs).zip(&volume_labels).map(|((v, dir), labels)| {
            engine.create_volume(v, labels, dir.as_deref().and_then(|d| d.to_str()))
        })),
    )
    .await;
    if let Err(e) = created {
        // Volumes that were created carry their directory's label and the sweep removes both;
        // a directory whose volume never came is removed here.
        data_dirs::remove_unused(engine, &volumes, &data_dirs).await;
        return Err(e.into());
    }
    progress.step(&format!("network {network} created"));
    let creations = Creations::spawn(engine, &specs);
    let containers: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();

    // Profiles start in waves: every profile whose dependencies are ready and bootstrapped
    // starts at the same time (juicefs: postgres and localstack together, then juicefs).
    let endpoints = Endpoints::default();
    let notes = Notes::default();
    let mut done: HashSet<&str> = HashSet::new();
    while done.len() < plan.profiles.len() {
        let wave: Vec<&PlannedProfile> = plan
            .profiles
            .iter()
            .filter(|p| !done.contains(p.profile.as_str()) && p.depends_on_profiles.iter().all(|d| done.contains(d.as_str())))
            .collect();
        if wave.is_empty() {
            return Err(BenchError::Other(format!("profiles of {} depend on each other in a cycle", plan.target)));
        }
        let starts = wave.iter().map(|planned| start_profile(registry, engine, plan, planned, &specs, &creations, &endpoints, &notes, opts, progress));
        futures_util::future::try_join_all(starts).await?;
        done.extend(wave.iter().map(|p| p.profile.as_str()));
    }

    let target = plan.profiles.last().expect("a plan has its target");
    let plugin = registry.plugin(target.plugin);
    let mount = if target.role == crate::runtime::contract::Role::Target {
        let spec = registry.runtime.mount_options(plugin, &target.ctx).await?;
        Some(mount_command(&spec, opts.host_os, &opts.mount_dir).map_err(|message| BenchError::InvalidPluginOutput {
            plugin: plugin.info.name.clone(),
            version: plugin.info.version.clone(),
            operation: "mount-options",
            message,
        })?)
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
    })
}

/// Starts one profile's services in order, each once the one before is ready, then bootstraps
/// the profile.
#[allow(clippy::too_many_arguments)]
async fn start_profile(
    registry: &Registry,
    engine: &DockerEngine,
    plan: &Plan,
    planned: &PlannedProfile,
    specs: &[ContainerSpec],
    creations: &Creations,
    endpoints: &Endpoints,
    notes: &Notes,
    opts: &UpOptions,
    progress: &Progress,
) -> Result<(), BenchError> {
    let plugin = registry.plugin(planned.plugin);
    for service in &planned.services {
        let t = Instant::now();
        let name = resource_name(&plan.target, &service.name);
        let spec = specs.iter().find(|s| s.name == name).ok_or_else(|| BenchError::Other(format!("container {name} was not planned")))?;
        let id = creations.take(&spec.name).await?;
        engine.start_container(&id, &spec.name).await?;
        let ports = spec.ports.iter().filter(|p| !p.udp).map(|p| (p.container, dial_address(&p.host_ip, p.host))).collect();
        endpoints.insert(&service.name, Endpoint { container_id: id.clone(), ports });
        progress.step(&format!("{} started ({:.2}s)", spec.name, t.elapsed().as_secs_f64()));

        let gateway = gateway_for(engine, plan, planned, endpoints, &plugin.info.name, None);
        let condition = wanted_condition(plan, &service.name);
        let t = Instant::now();
        let waiting = progress.spinner(&format!("waiting for {} to answer", spec.name));
        wait_ready(registry, engine, planned, service, &id, &spec.name, condition, gateway, opts.globals.startup_timeout).await?;
        drop(waiting);
        progress.step(&format!("{} ready ({:.2}s)", spec.name, t.elapsed().as_secs_f64()));
    }
    let t = Instant::now();
    let gateway = gateway_for(engine, plan, planned, endpoints, &plugin.info.name, Some(notes));
    registry.runtime.bootstrap(plugin, &planned.ctx, gateway).await?;
    progress.step(&format!("{} bootstrapped ({:.2}s)", planned.profile, t.elapsed().as_secs_f64()));
    Ok(())
}

/// Containers being created in the background, by name. Dropping it aborts the creations
/// nobody awaited (a failed or interrupted `up`; the sweep by run id removes what landed).
struct Creations(std::sync::Mutex<HashMap<String, tokio::task::JoinHandle<Result<String, crate::engine::EngineError>>>>);

impl Creations {
    fn spawn(engine: &DockerEngine, specs: &[ContainerSpec]) -> Self {
        let handles = specs
            .iter()
            .map(|spec| {
                let (engine, spec) = (engine.clone(), spec.clone());
                (spec.name.clone(), tokio::spawn(async move { engine.create_container(&spec).await }))
            })
            .collect();
        Creations(std::sync::Mutex::new(handles))
    }

    /// The id of container `name`, once it is created.
    async fn take(&self, name: &str) -> Result<String, BenchError> {
        let handle = self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
        let handle = handle.ok_or_else(|| BenchError::Other(format!("container {name} was not planned")))?;
        match handle.await {
            Ok(created) => Ok(created?),
            Err(e) => Err(BenchError::Other(format!("creating container {name}: {e}"))),
        }
    }
}

impl Drop for Creations {
    fn drop(&mut self) {
        for handle in self.0.get_mut().unwrap_or_else(|e| e.into_inner()).values() {
            handle.abort();
        }
    }
}

/// The labels on everything a run creates: managed, profile, run id and, when the run has
/// one, its results directory.
pub(super) fn run_labels(plan: &Plan, opts: &UpOptions) -> HashMap<String, String> {
    let mut labels = HashMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_PROFILE.to_string(), plan.target.clone()),
        (LABEL_RUN.to_string(), opts.run_id.clone()),
    ]);
    if let Some(dir) = &opts.results {
        labels.insert(super::results::LABEL_RESULTS.to_string(), dir.path.display().to_string());
    }
    labels
}

/// The images `tests/images/build.sh NAME` builds (a recipe each; ganesha's is in the script).
const LOCAL_IMAGES: &[&str] = &["dittofs", "ganesha", "juicefs", "localstack", "moto", "postgres", "rclone", "samba"];

/// The hint shown when an image is missing.
fn image_hint(plugin: &crate::runtime::contract::PluginInfo, image: &str) -> String {
    let setting = plugin.settings.iter().find(|s| s.name.ends_with("_IMAGE")).map(|s| s.name.clone());
    let point = match setting {
        Some(s) => format!(
            "point {s} at an image you have (`docker images`), or build one from a checkout with {}=/path/to/source",
            super::source_build::source_setting(&plugin.name)
        ),
        None => "check `docker images`".to_string(),
    };
    if image.starts_with("benchhost") {
        // benchhost/* and benchhost-test/* images are built locally; no registry has them.
        let name = image.split('/').nth(1).and_then(|r| r.split(':').next()).unwrap_or(&plugin.name);
        if LOCAL_IMAGES.contains(&name) {
            format!("this image is built locally, not pulled: run `tests/images/build.sh {name}` (as root), or {point}")
        } else {
            format!("no local recipe builds {image} (tests/images/ has: {}); {point}", LOCAL_IMAGES.join(", "))
        }
    } else {
        format!("make its registry reachable (`docker pull {image}`), or {point}")
    }
}

/// The strictest condition any service of the plan waits for on `service` (default: healthy,
/// so `up` returns only when everything answers).
fn wanted_condition(plan: &Plan, service: &str) -> DependencyCondition {
    let mut conditions = plan.services().flat_map(|(_, s)| s.depends_on.iter()).filter(|d| d.service == service).map(|d| d.condition);
    match conditions.next() {
        Some(DependencyCondition::CompletedSuccessfully) => DependencyCondition::CompletedSuccessfully,
        _ => DependencyCondition::Healthy,
    }
}

/// The gateway for `planned`'s plugin: its services plus its dependency profiles' services.
fn gateway_for(engine: &DockerEngine, plan: &Plan, planned: &PlannedProfile, endpoints: &Endpoints, plugin: &str, notes: Option<&Notes>) -> Arc<StackGateway> {
    let own: HashSet<String> = planned.services.iter().map(|s| s.name.clone()).collect();
    let mut allowed = own.clone();
    for dep in &planned.depends_on_profiles {
        if let Some(p) = plan.profiles.iter().find(|p| &p.profile == dep) {
            allowed.extend(p.services.iter().map(|s| s.name.clone()));
        }
    }
    Arc::new(StackGateway { engine: engine.clone(), endpoints: endpoints.clone(), allowed, own, plugin: plugin.to_string(), notes: notes.cloned() })
}

/// Waits until `service` satisfies `condition`. For `healthy`: the plugin's probe answers
/// `ready` and the healthcheck the plugin declares (if any) has passed once. Docker runs that
/// check first only a whole interval after the start (API 1.41 has no start interval), so
/// benchhost runs its test in the container itself as soon as the probe answers. Rounds are
/// paced by [`probe_pause`]; an exit of the container is seen through the engine's wait
/// endpoint.
#[allow(clippy::too_many_arguments)]
async fn wait_ready(
    registry: &Registry,
    engine: &DockerEngine,
    planned: &PlannedProfile,
    service: &Service,
    id: &str,
    container: &str,
    condition: DependencyCondition,
    gateway: Arc<StackGateway>,
    timeout: Duration,
) -> Result<(), BenchError> {
    let plugin = registry.plugin(planned.plugin);
    let started = Instant::now();
    let deadline = started + timeout;
    let exited = engine.wait_exit(id);
    tokio::pin!(exited);
    if condition == DependencyCondition::CompletedSuccessfully {
        return match tokio::time::timeout_at(deadline.into(), &mut exited).await {
            Ok(0) => Ok(()),
            Ok(code) => Err(exited_error(engine, id, container, code, &plugin.info).await),
            Err(_) => Err(timeout_error(engine, id, container, timeout, "still running (it should complete successfully)").await),
        };
    }
    let healthcheck = service.healthcheck.as_ref().and_then(|h| {
        let argv = match h.test.first().map(String::as_str) {
            Some("CMD") => h.test[1..].to_vec(),
            Some("CMD-SHELL") => vec!["/bin/sh".to_string(), "-c".to_string(), h.test[1..].join(" ")],
            _ => return None,
        };
        Some((argv, Duration::from_millis(h.timeout_ms as u64)))
    });
    loop {
        let round = Instant::now();
        let left = deadline.saturating_duration_since(round).max(Duration::from_millis(500));
        // The healthcheck's test runs only once the probe answers: an exec costs the engine a
        // runc process, CPU that a service still starting on a small machine needs more.
        let check = async {
            match registry.runtime.healthcheck(plugin, &planned.ctx, &service.name, gateway.clone(), Some(left)).await? {
                Health::Waiting(why) => Ok::<_, BenchError>(Some(why)),
                Health::Ready => Ok(match &healthcheck {
                    None => None,
                    Some((argv, limit)) => match engine.exec(id, argv.clone(), (*limit).min(left)).await {
                        Ok(r) if r.exit_code == 0 => None,
                        Ok(r) => Some(format!(
                            "the probe answers, but the healthcheck {argv:?} exited {}: {}",
                            r.exit_code,
                            format!("{} {}", r.stdout, r.stderr).trim()
                        )),
                        Err(e) => Some(format!("the probe answers, but the healthcheck {argv:?} failed: {e}")),
                    },
                }),
            }
        };
        let last = tokio::select! {
            biased;
            code = &mut exited => return Err(exited_error(engine, id, container, code, &plugin.info).await),
            waiting = check => match waiting? {
                // The probe can answer before the engine reports an exit: a container that is
                // no longer running is not ready, whatever the probe said.
                None => match engine.container_status(id).await {
                    Ok(s) if !s.running => return Err(exited_error(engine, id, container, s.exit_code.unwrap_or(-1), &plugin.info).await),
                    _ => return Ok(()),
                },
                Some(why) => why,
            },
        };
        if Instant::now() >= deadline {
            return Err(timeout_error(engine, id, container, timeout, &last).await);
        }
        tokio::select! {
            biased;
            code = &mut exited => return Err(exited_error(engine, id, container, code, &plugin.info).await),
            _ = tokio::time::sleep(probe_pause(started.elapsed(), round.elapsed())) => {}
        }
    }
}

/// The pause before the next readiness probe: a twentieth of the time waited so far, between
/// `PROBE_PAUSE_MIN` and `PROBE_PAUSE_MAX`, so a service that answers after 1 s is seen within
/// about 50 ms; and never shorter than the last probe took, so a probe that execs in the
/// container cannot keep a core busy while the service starts.
fn probe_pause(waited: Duration, last_probe: Duration) -> Duration {
    (waited / 20).clamp(PROBE_PAUSE_MIN, PROBE_PAUSE_MAX).max(last_probe.min(PROBE_PAUSE_MAX))
}

/// The error for a container that stopped while `up` waited for it: the container, the
/// plugin that described it, the exit code, its last log lines and a hint.
async fn exited_error(engine: &DockerEngine, id: &str, container: &str, code: i64, plugin: &crate::runtime::contract::PluginInfo) -> BenchError {
    let logs = engine.logs_tail(id, 20).await;
    let image_setting = plugin.settings.iter().find(|s| s.name.ends_with("_IMAGE")).map(|s| format!(", or that {} names a working image", s.name)).unwrap_or_default();
    BenchError::Other(format!(
        "container {container} exited with code {code} while starting (plugin \"{}\" {})\n  last log lines:\n{}\n  hint: the server inside stopped; its log lines above say why. Check its settings{image_setting}; `benchhost up --keep-on-failure` keeps the container for `docker logs {container}`",
        plugin.name,
        plugin.version,
        indent(&logs)
    ))
}

/// The error for a service not ready in time: the last check, what Docker's own healthcheck
/// says, and the container's last log lines.
async fn timeout_error(engine: &DockerEngine, id: &str, container: &str, timeout: Duration, last: &str) -> BenchError {
    let docker = match engine.container_status(id).await.ok().and_then(|s| s.health.map(|h| (h, s.last_health_output))) {
        Some((h, output)) if h == "unhealthy" => format!("; Docker healthcheck unhealthy: {}", output.unwrap_or_default().trim()),
        Some((h, _)) => format!("; Docker healthcheck {h}"),
        None => String::new(),
    };
    let logs = engine.logs_tail(id, 20).await;
    BenchError::Timeout(format!(
        "{container} was not ready within {}s (BENCH_STARTUP_TIMEOUT); last check: {last}{docker}\n  last log lines:\n{}",
        timeout.as_secs(),
        indent(&logs)
    ))
}

fn indent(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    if lines.is_empty() {
        return "    (no output)".into();
    }
    lines.iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

/// The engine spec of one service: names, labels, caps from the global settings.
pub(super) fn container_spec(
    plan: &Plan,
    planned: &PlannedProfile,
    service: &Service,
    plugin: &str,
    network: &str,
    base_labels: &HashMap<String, String>,
    globals: &GlobalSettings,
) -> ContainerSpec {
    let mut labels = base_labels.clone();
    labels.insert(LABEL_PLUGIN.into(), plugin.into());
    labels.insert(LABEL_SERVICE.into(), service.name.clone());
    let role = if planned.role == crate::runtime::contract::Role::Infrastructure { "infrastructure" } else { "target" };
    labels.insert(LABEL_ROLE.into(), role.into());
    let shared: Vec<&str> = service
        .volumes
        .iter()
        .filter_map(|v| if let VolumeSource::HostShared(p) = &v.source { Some(p.as_str()) } else { None })
        .collect();
    if !shared.is_empty() {
        labels.insert(LABEL_SHARED_BINDS.into(), shared.join(":"));
    }
    let ms = |ms: u32| Duration::from_millis(ms as u64);
    let mut aliases = vec![service.name.clone()];
    // An infrastructure profile with one service is also reachable by its profile name.
    if planned.services.len() == 1 && planned.profile != service.name {
        aliases.push(planned.profile.clone());
    }
    ContainerSpec {
        name: resource_name(&plan.target, &service.name),
        image: service.image.clone(),
        entrypoint: service.entrypoint.clone(),
        cmd: service.command.clone(),
        env: service.environment.clone(),
        ports: service
            .ports
            .iter()
            .map(|p| PublishedPort { container: p.container, host: p.host, udp: p.transport == Transport::Udp, host_ip: globals.bind_address.clone() })
            .collect(),
        mounts: service
            .volumes
            .iter()
            .map(|v| MountSpec {
                source: match &v.source {
                    VolumeSource::Named(_) if globals.tmpfs => MountSource::Tmpfs,
                    VolumeSource::Named(n) => MountSource::Volume(resource_name(&plan.target, n)),
                    VolumeSource::Tmpfs => MountSource::Tmpfs,
                    VolumeSource::Host(p) => MountSource::Bind(p.clone()),
                    VolumeSource::HostShared(p) => MountSource::BindShared(p.clone()),
                },
                target: v.target.clone(),
                read_only: v.read_only,
            })
            .collect(),
        files: service.files.iter().map(|f| FileSpec { path: f.path.clone(), contents: f.contents.clone(), mode: f.mode }).collect(),
        healthcheck: service.healthcheck.as_ref().map(|h| HealthSpec {
            test: h.test.clone(),
            interval: ms(h.interval_ms),
            timeout: ms(h.timeout_ms),
            retries: h.retries,
            start_period: ms(h.start_period_ms),
        }),
        privileged: service.privileged,
        cap_add: service.cap_add.clone(),
        devices: service.devices.clone(),
        user: service.user.clone(),
        stop_signal: service.stop_signal.clone(),
        stop_timeout: service.stop_grace_ms.map(ms),
        cpus: globals.cpus,
        memory_bytes: globals.memory_bytes,
        labels,
        network: network.into(),
        aliases,
    }
}

/// Removes everything labelled with `run_id`, repeating until the engine lists nothing
/// (a create in flight when `up` was interrupted may land a moment later).
/// Requests the engine had accepted when `up` was cancelled still complete, so a sweep only
/// ends after two empty listings 500 ms apart (bounded to about 10 s).
pub async fn remove_run(engine: &DockerEngine, run_id: &str) {
    let mut empty_in_a_row = 0;
    for _ in 0..20 {
        match engine.list_labelled(LABEL_RUN, run_id).await {
            Ok(found) if found.is_empty() => {
                empty_in_a_row += 1;
                if empty_in_a_row == 2 {
                    return;
                }
            }
            Ok(found) => {
                empty_in_a_row = 0;
                if let Err(e) = remove_all(engine, &found).await {
                    tracing::warn!("removing resources of run {run_id}: {e}");
                }
            }
            Err(e) => tracing::warn!("listing resources of run {run_id}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Removes containers (in parallel), then networks and volumes (in parallel).
/// Systems under test stop first (in parallel), then the infrastructure they use: a client
/// such as JuiceFS closes its session cleanly while PostgreSQL is still there.
async fn remove_all(engine: &DockerEngine, found: &LabelledResources) -> Result<(), BenchError> {
    let (infra, targets): (Vec<_>, Vec<_>) =
        found.containers.iter().partition(|c| c.labels.get(LABEL_ROLE).is_some_and(|r| r == "infrastructure"));
    for wave in [targets, infra] {
        let stops = wave.iter().map(|c| engine.remove_container(&c.id, None));
        for r in futures_util::future::join_all(stops).await {
            r?;
        }
    }
    // A volume's data directory (BENCH_DATA_DIR) goes first: should it not go, the volume
    // stays listed and a later `down` or `clean` tries again.
    for v in &found.volumes {
        if let Some(dir) = v.labels.get(LABEL_DATA_DIR) {
            data_dirs::remove(dir, &v.name)?;
        }
    }
    // Networks and volumes are independent of each other once the containers are gone: all are
    // tried, at the same time; the first failure is returned.
    let networks = futures_util::future::join_all(found.networks.iter().map(|n| engine.remove_network(&n.id)));
    let volumes = futures_util::future::join_all(found.volumes.iter().map(|v| engine.remove_volume(&v.name)));
    let (networks, volumes) = futures_util::future::join(networks, volumes).await;
    networks.into_iter().chain(volumes).collect::<Result<Vec<()>, _>>()?;
    Ok(())
}

/// What `down` removed.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DownReport {
    /// Anything `down` did besides removing resources (e.g. detaching a stale FUSE mount).
    pub notes: Vec<String>,
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
    /// Log files saved into the run's results directory.
    pub logs: Vec<String>,
    /// Seconds `down` took.
    pub seconds: f64,
}

/// Options of `down`.
#[derive(Clone, Debug, Default)]
pub struct DownOptions {
    /// `down --results-dir DIR`: save logs under this root instead of the run's own directory.
    pub results_root: Option<std::path::PathBuf>,
    /// Secret values, removed from saved logs.
    pub secrets: Vec<String>,
}

/// Unmounts what `benchhost mount` mounted for `profile`, then [`retire`]s everything labelled
/// with `profile` (logs saved first, strictly: containers, network and volumes are removed
/// only once their logs are safe).
pub async fn down(engine: &DockerEngine, profile: &str, opts: &DownOptions) -> Result<DownReport, BenchError> {
    let started = Instant::now();
    // A mount that will not go away stops down before it removes the server under it.
    let mut notes = super::host_mount::unmount_recorded(profile)?;
    let found = engine.list_labelled(LABEL_PROFILE, profile).await?;
    let retired = retire(engine, &found, opts.results_root.as_deref(), &opts.secrets, &format!("benchhost down {profile}"), true).await?;
    notes.extend(retired.notes);
    Ok(DownReport {
        notes,
        containers: found.containers.iter().map(|c| c.name.clone()).collect(),
        networks: found.networks.iter().map(|n| n.name.clone()).collect(),
        volumes: found.volumes.iter().map(|v| v.name.clone()).collect(),
        logs: retired.logs,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What [`retire`] did besides removing.
#[derive(Debug, Default)]
pub(super) struct Retired {
    /// Log files written.
    pub logs: Vec<String>,
    /// Stale FUSE mounts detached, logs that could not be saved (when not strict).
    pub notes: Vec<String>,
}

/// The end of runs, shared by `down` and `clean`: saves the logs of `found`'s containers into
/// their runs' results directories (under `root_override` when given), removes `found`
/// (systems under test before infrastructure), detaches stale FUSE mounts of shared binds, and
/// adds a `down` entry saying `by` whom to each run's `run.json`. With `strict`, logs that
/// cannot be saved stop it before anything is removed (usage error); otherwise they become a
/// note.
pub(super) async fn retire(
    engine: &DockerEngine,
    found: &LabelledResources,
    root_override: Option<&std::path::Path>,
    secrets: &[String],
    by: &str,
    strict: bool,
) -> Result<Retired, BenchError> {
    let started = Instant::now();
    let run_of = |l: &crate::engine::Labelled| l.labels.get(super::results::LABEL_RESULTS).cloned();
    let mut runs: std::collections::BTreeMap<String, LabelledResources> = Default::default();
    for c in &found.containers {
        if let Some(run) = run_of(c) {
            runs.entry(run).or_default().containers.push(c.clone());
        }
    }
    for n in &found.networks {
        if let Some(run) = run_of(n) {
            runs.entry(run).or_default().networks.push(n.clone());
        }
    }
    for v in &found.volumes {
        if let Some(run) = run_of(v) {
            runs.entry(run).or_default().volumes.push(v.clone());
        }
    }
    // Logs first: once the containers are gone they are lost for good.
    let mut retired = Retired::default();
    let mut logs_of: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (label, run) in &runs {
        let dir = super::results::RunDir::for_down(label, root_override);
        match dir.save_logs(engine, &run.containers, secrets).await {
            Ok(saved) => {
                retired.logs.extend(saved.iter().cloned());
                logs_of.insert(label, saved);
            }
            Err(problems) if strict => {
                return Err(BenchError::Usage(format!(
                    "could not save the logs into {}: {}; nothing was removed\n  hint: free the disk or fix the permissions, or save them elsewhere with `{by} --results-dir DIR`",
                    dir.path.display(),
                    problems.join("; ")
                )))
            }
            Err(problems) => retired.notes.push(format!("could not save some logs into {}: {}", dir.path.display(), problems.join("; "))),
        }
    }
    remove_all(engine, found).await?;
    for c in &found.containers {
        for path in c.labels.get(LABEL_SHARED_BINDS).map(|v| v.split(':').collect::<Vec<_>>()).unwrap_or_default() {
            retired.notes.extend(super::preflight::release_fuse_mount(path));
        }
    }
    let names = |items: &[crate::engine::Labelled]| items.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
    for (label, run) in &runs {
        let dir = super::results::RunDir::for_down(label, root_override);
        // With --results-dir the record moves along: the run's own record plus this entry.
        let mut record = super::results::RunDir { path: label.into() }.read_record();
        if let Some(obj) = record.as_object_mut() {
            obj.insert("down".into(), serde_json::json!({
                "at": chrono::Local::now().to_rfc3339(),
                "by": by,
                "seconds": (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
                "removed": {"containers": names(&run.containers), "networks": names(&run.networks), "volumes": names(&run.volumes)},
                "logs": logs_of.get(label.as_str()).cloned().unwrap_or_default(),
                "notes": retired.notes,
            }));
        }
        if let Err(e) = dir.write_record(&record) {
            tracing::warn!("{e}");
        }
    }
    Ok(retired)
}

/// One container in `status`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ContainerInfo {
    pub name: String,
    pub service: String,
    pub plugin: String,
    pub state: String,
    /// `healthy`, `starting`, `unhealthy`, or null without a healthcheck.
    pub health: Option<String>,
}

/// One profile in `status`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProfileStatus {
    pub profile: String,
    pub run_id: String,
    pub containers: Vec<ContainerInfo>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

/// Every profile with benchhost resources on the engine.
pub async fn status(engine: &DockerEngine) -> Result<Vec<ProfileStatus>, BenchError> {
    let found = engine.list_labelled(LABEL_MANAGED, "true").await?;
    let mut by_profile: std::collections::BTreeMap<String, ProfileStatus> = Default::default();
    let entry = |map: &mut std::collections::BTreeMap<String, ProfileStatus>, labels: &HashMap<String, String>| -> String {
        let profile = labels.get(LABEL_PROFILE).cloned().unwrap_or_default();
        map.entry(profile.clone()).or_insert_with(|| ProfileStatus {
            profile: profile.clone(),
            run_id: labels.get(LABEL_RUN).cloned().unwrap_or_default(),
            containers: vec![],
            networks: vec![],
            volumes: vec![],
        });
        profile
    };
    for c in &found.containers {
        let p = entry(&mut by_profile, &c.labels);
        let health = engine.container_status(&c.id).await.ok().and_then(|s| s.health);
        by_profile.get_mut(&p).unwrap().containers.push(ContainerInfo {
            name: c.name.clone(),
            service: c.labels.get(LABEL_SERVICE).cloned().unwrap_or_default(),
            plugin: c.labels.get(LABEL_PLUGIN).cloned().unwrap_or_default(),
            state: c.state.clone(),
            health,
        });
    }
    for n in &found.networks {
        let p = entry(&mut by_profile, &n.labels);
        by_profile.get_mut(&p).unwrap().networks.push(n.name.clone());
    }
    for v in &found.volumes {
        let p = entry(&mut by_profile, &v.labels);
        by_profile.get_mut(&p).unwrap().volumes.push(v.name.clone());
    }
    Ok(by_profile.into_values().collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_images_are_the_recipes_in_tests_images() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/images");
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().join("recipe.sh").is_file() || e.file_name() == "ganesha")
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        found.sort();
        assert_eq!(found, super::LOCAL_IMAGES, "LOCAL_IMAGES must list every tests/images/NAME");
    }
}
