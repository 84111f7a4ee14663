//! `up`, `down` and `status` on the Docker engine.
//!
//! Every resource `up` creates is labelled `benchhost.managed=true`, `benchhost.profile=<target>`,
//! `benchhost.run-id=<id>`, plus `benchhost.plugin` / `benchhost.service` on containers. `down`
//! removes by profile label; a failed or interrupted `up` removes by run id, so it never leaves
//! anything behind (unless `--keep-on-failure`).

use super::error::BenchError;
use super::gateway::{dial_address, Endpoint, Endpoints, StackGateway};
use super::mount::{mount_command, MountCommand};
use super::plan::{Plan, PlannedProfile};
use super::registry::Registry;
use super::settings::GlobalSettings;
use crate::engine::{ContainerSpec, DockerEngine, FileSpec, HealthSpec, LabelledResources, MountSource, MountSpec, PublishedPort};
use crate::runtime::contract::{DependencyCondition, Health, HostOs, Service, Transport, VolumeSource};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const LABEL_MANAGED: &str = "benchhost.managed";
pub const LABEL_PROFILE: &str = "benchhost.profile";
pub const LABEL_RUN: &str = "benchhost.run-id";
pub const LABEL_PLUGIN: &str = "benchhost.plugin";
pub const LABEL_SERVICE: &str = "benchhost.service";
/// `target` or `infrastructure`: `down` stops systems under test before what they depend on.
pub const LABEL_ROLE: &str = "benchhost.role";
/// Host paths bind-mounted with propagation (`:`-separated), checked for stale FUSE mounts by `down`.
pub const LABEL_SHARED_BINDS: &str = "benchhost.shared-binds";

/// How often readiness is polled.
const POLL: Duration = Duration::from_millis(100);

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
}

/// Progress lines on stderr, each with the time since `up` began.
pub struct Progress {
    start: Instant,
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress { start: Instant::now(), quiet }
    }
    pub fn step(&self, msg: &str) {
        if !self.quiet {
            eprintln!("[{:>6.2}s] {msg}", self.start.elapsed().as_secs_f64());
        }
    }
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

/// Docker resource names of a profile: `benchhost-<profile>[-<suffix>]`.
pub fn resource_name(profile: &str, suffix: &str) -> String {
    if suffix.is_empty() { format!("benchhost-{profile}") } else { format!("benchhost-{profile}-{suffix}") }
}

/// A new run id: UTC timestamp plus process id.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{}-{}", now.as_millis(), std::process::id())
}

/// Brings the planned stack up. On failure, removes everything labelled with this run id
/// (unless `keep_on_failure`) and returns the error.
pub async fn up(registry: &Registry, engine: &DockerEngine, plan: &Plan, opts: &UpOptions, progress: &Progress) -> Result<UpReport, BenchError> {
    let existing = engine.list_labelled(LABEL_PROFILE, &plan.target).await?;
    if !existing.is_empty() {
        let mut names: Vec<_> = existing.containers.iter().map(|c| format!("{} ({})", c.name, c.state)).collect();
        names.extend(existing.networks.iter().map(|n| format!("network {}", n.name)));
        names.extend(existing.volumes.iter().map(|v| format!("volume {}", v.name)));
        let what = if existing.containers.is_empty() { "has leftovers from an earlier run" } else { "is already up" };
        return Err(BenchError::Usage(format!(
            "profile {} {what}: {}\n  hint: `benchhost down {}` first",
            plan.target,
            names.join(", "),
            plan.target
        )));
    }
    check_ports_free(plan, &opts.globals.bind_address)?;
    let result = bring_up(registry, engine, plan, opts, progress).await;
    if result.is_err() {
        if opts.keep_on_failure {
            progress.step(&format!("keeping what this run created (--keep-on-failure); remove it with `benchhost down {}`", plan.target));
        } else {
            progress.step("removing what this run created");
            remove_run(engine, &opts.run_id).await;
        }
    }
    result
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
                    holder: format!(" (needed by service {} of profile {})", s.name, p.profile),
                }));
            }
        }
    }
    Ok(())
}

async fn bring_up(registry: &Registry, engine: &DockerEngine, plan: &Plan, opts: &UpOptions, progress: &Progress) -> Result<UpReport, BenchError> {
    let base_labels = HashMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_PROFILE.to_string(), plan.target.clone()),
        (LABEL_RUN.to_string(), opts.run_id.clone()),
    ]);

    // Images first: nothing is created until every image is present; all missing ones are named.
    let mut missing = Vec::new();
    for (p, s) in plan.services() {
        let t = Instant::now();
        let plugin = &registry.plugin(p.plugin).info;
        let hint = image_hint(plugin, &s.image);
        match engine.ensure_image(&s.image, &hint, |line| tracing::info!("{line}")).await {
            Ok(()) => progress.step(&format!("image {} ready ({:.2}s)", s.image, t.elapsed().as_secs_f64())),
            Err(e @ crate::engine::EngineError::ImageUnavailable { .. }) => missing.push(e),
            Err(e) => return Err(e.into()),
        }
    }
    match missing.len() {
        0 => {}
        1 => return Err(missing.remove(0).into()),
        n => {
            let all: Vec<String> = missing.iter().map(|e| e.to_string()).collect();
            return Err(BenchError::Engine(crate::engine::EngineError::Api { context: format!("{n} images are unavailable"), detail: format!("\n{}", all.join("\n")) }));
        }
    }

    let network = resource_name(&plan.target, "");
    engine.create_network(&network, &base_labels).await?;
    progress.step(&format!("network {network} created"));

    let endpoints = Endpoints::default();
    let mut containers = Vec::new();
    for planned in &plan.profiles {
        let plugin = registry.plugin(planned.plugin);
        for service in &planned.services {
            let t = Instant::now();
            let spec = container_spec(plan, planned, service, &plugin.info.name, &network, &base_labels, &opts.globals);
            for m in &spec.mounts {
                if let MountSource::Volume(v) = &m.source {
                    engine.create_volume(v, &base_labels).await?;
                }
            }
            let id = engine.create_container(&spec).await?;
            containers.push(spec.name.clone());
            engine.start_container(&id, &spec.name).await?;
            let ports = spec.ports.iter().filter(|p| !p.udp).map(|p| (p.container, dial_address(&p.host_ip, p.host))).collect();
            endpoints.insert(&service.name, Endpoint { container_id: id.clone(), ports });
            progress.step(&format!("{} started ({:.2}s)", spec.name, t.elapsed().as_secs_f64()));

            let gateway = gateway_for(engine, plan, planned, &endpoints, &plugin.info.name);
            let condition = wanted_condition(plan, &service.name);
            let t = Instant::now();
            wait_ready(registry, engine, planned, service, &id, &spec.name, condition, gateway, opts.globals.startup_timeout).await?;
            progress.step(&format!("{} ready ({:.2}s)", spec.name, t.elapsed().as_secs_f64()));
        }
        let t = Instant::now();
        let gateway = gateway_for(engine, plan, planned, &endpoints, &plugin.info.name);
        registry.runtime.bootstrap(plugin, &planned.ctx, gateway).await?;
        progress.step(&format!("{} bootstrapped ({:.2}s)", planned.profile, t.elapsed().as_secs_f64()));
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
    Ok(UpReport { profile: plan.target.clone(), run_id: opts.run_id.clone(), containers, mount, seconds: progress.elapsed().as_secs_f64() })
}

/// The hint shown when an image is missing.
fn image_hint(plugin: &crate::runtime::contract::PluginInfo, image: &str) -> String {
    let setting = plugin.settings.iter().find(|s| s.name.ends_with("_IMAGE")).map(|s| s.name.clone());
    let point = match setting {
        Some(s) => format!("point {s} at an image you have (`docker images`)"),
        None => "check `docker images`".to_string(),
    };
    if image.starts_with("benchhost") {
        // benchhost/* and benchhost-test/* images are built locally; no registry has them.
        let name = image.split('/').nth(1).and_then(|r| r.split(':').next()).unwrap_or(&plugin.name);
        format!("this image is built locally, not pulled: run `tests/images/build.sh {name}` (as root), or {point}")
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
fn gateway_for(engine: &DockerEngine, plan: &Plan, planned: &PlannedProfile, endpoints: &Endpoints, plugin: &str) -> Arc<StackGateway> {
    let own: HashSet<String> = planned.services.iter().map(|s| s.name.clone()).collect();
    let mut allowed = own.clone();
    for dep in &planned.depends_on_profiles {
        if let Some(p) = plan.profiles.iter().find(|p| &p.profile == dep) {
            allowed.extend(p.services.iter().map(|s| s.name.clone()));
        }
    }
    Arc::new(StackGateway { engine: engine.clone(), endpoints: endpoints.clone(), allowed, own, plugin: plugin.to_string() })
}

/// Waits until `service` satisfies `condition`: for `healthy`, the container runs, its Docker
/// healthcheck (if any) passes and the plugin's probe answers `ready`.
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
    let deadline = Instant::now() + timeout;
    let mut last = String::from("not checked yet");
    loop {
        let status = engine.container_status(id).await?;
        if !status.running {
            let code = status.exit_code.unwrap_or(-1);
            if condition == DependencyCondition::CompletedSuccessfully && code == 0 {
                return Ok(());
            }
            let logs = engine.logs_tail(id, 20).await;
            return Err(BenchError::Other(format!(
                "container {container} exited with code {code} while starting\n  last log lines:\n{}",
                indent(&logs)
            )));
        }
        if condition != DependencyCondition::CompletedSuccessfully {
            let docker_ok = match (&service.healthcheck, status.health.as_deref()) {
                (None, _) => true,
                (Some(_), Some("healthy")) => true,
                (Some(_), Some("unhealthy")) => {
                    last = format!("Docker healthcheck unhealthy: {}", status.last_health_output.unwrap_or_default().trim());
                    false
                }
                (Some(_), h) => {
                    last = format!("Docker healthcheck {}", h.unwrap_or("not run yet"));
                    false
                }
            };
            if docker_ok {
                let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(500));
                match registry.runtime.healthcheck(plugin, &planned.ctx, &service.name, gateway.clone(), Some(left)).await? {
                    Health::Ready => return Ok(()),
                    Health::Waiting(why) => last = why,
                }
            }
        }
        if Instant::now() >= deadline {
            let logs = engine.logs_tail(id, 20).await;
            return Err(BenchError::Timeout(format!(
                "{container} was not ready within {}s (BENCH_STARTUP_TIMEOUT); last check: {last}\n  last log lines:\n{}",
                timeout.as_secs(),
                indent(&logs)
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn indent(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    if lines.is_empty() {
        return "    (no output)".into();
    }
    lines.iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

/// The engine spec of one service: names, labels, caps from the global settings.
fn container_spec(
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

/// Removes containers (in parallel), then networks, then volumes.
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
    for n in &found.networks {
        engine.remove_network(&n.id).await?;
    }
    for v in &found.volumes {
        engine.remove_volume(&v.name).await?;
    }
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
}

/// Removes every resource labelled with `profile` (containers, network, volumes).
pub async fn down(engine: &DockerEngine, profile: &str) -> Result<DownReport, BenchError> {
    let found = engine.list_labelled(LABEL_PROFILE, profile).await?;
    remove_all(engine, &found).await?;
    let mut notes = Vec::new();
    for c in &found.containers {
        for path in c.labels.get(LABEL_SHARED_BINDS).map(|v| v.split(':').collect::<Vec<_>>()).unwrap_or_default() {
            notes.extend(super::preflight::release_fuse_mount(path));
        }
    }
    Ok(DownReport {
        notes,
        containers: found.containers.iter().map(|c| c.name.clone()).collect(),
        networks: found.networks.iter().map(|n| n.name.clone()).collect(),
        volumes: found.volumes.iter().map(|v| v.name.clone()).collect(),
    })
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
