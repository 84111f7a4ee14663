//! Checks of this machine before anything of a run is created: kernel features the planned
//! plugins declare in their `host-kernel` capability (`nfsd`, `fuse`), the shared mounts FUSE
//! servers show their mounts through, and the plan's host ports. With a remote engine (see
//! [`crate::engine::endpoint`]) the kernel features and the ports are checked on the engine's
//! host through short-lived containers once the images are there
//! ([`check_host_kernel_on_engine`], [`check_ports_free_on_engine`]), and a FUSE server's
//! host-shared mount is refused.

use crate::orchestration::error::BenchError;
use crate::orchestration::host::kernel::{KernelFacts, PROBE_SCRIPT};
use crate::orchestration::host::mountinfo::{mount_of, this_machine};
use crate::orchestration::host::ports::{is_free, port_holder};
use crate::orchestration::plan::Plan;
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::up::gateway::dial_address;
use crate::runtime::contract::Transport;
use crate::engine::DockerEngine;
use crate::orchestration::plan::settings::{GlobalSettings, SettingsSource};
use std::path::Path;

/// Fails with [`BenchError::HostUnsupported`] naming the plugin, the feature and a hint when the
/// host kernel lacks a feature a planned plugin declared.
pub fn check_host_kernel(registry: &Registry, plan: &Plan) -> Result<(), BenchError> {
    check_with(registry, plan, Path::new("/"))
}

/// [`check_host_kernel`] against a root directory (tests use a fake `/proc`). With a remote
/// engine this machine's kernel is not the one that matters: nothing is checked here, and
/// `up` checks the engine's host once the images are there ([`check_host_kernel_on_engine`]).
pub fn check_with(registry: &Registry, plan: &Plan, root: &Path) -> Result<(), BenchError> {
    if remote_engine().is_some() || kernel_image(registry, plan).is_none() {
        return Ok(());
    }
    check_facts(registry, plan, "this Docker host", &KernelFacts::of_root(root))
}

/// The first image of the first planned profile whose plugin declares a kernel feature;
/// `None` when none declares one (then there is nothing to check).
fn kernel_image(registry: &Registry, plan: &Plan) -> Option<String> {
    plan.profiles
        .iter()
        .find(|p| !registry.plugin(p.plugin).info.capabilities.host_kernel.is_empty())
        .and_then(|p| plan.services().find(|(q, _)| q.profile == p.profile).map(|(_, s)| s.image.clone()))
}

/// Fails with [`BenchError::HostUnsupported`] for the first feature a planned plugin declares
/// that `facts` lack; `host` names the machine.
fn check_facts(registry: &Registry, plan: &Plan, host: &str, facts: &KernelFacts) -> Result<(), BenchError> {
    for p in &plan.profiles {
        let info = &registry.plugin(p.plugin).info;
        for feature in &info.capabilities.host_kernel {
            if let Some(why) = facts.missing(feature) {
                return Err(BenchError::HostUnsupported(format!(
                    "profile {} (plugin \"{}\" {}) needs the host kernel's {feature}, which {host} lacks: {why}",
                    p.profile, info.name, info.version
                )));
            }
        }
    }
    Ok(())
}

/// The [`KernelFacts`] of the engine's host: [`PROBE_SCRIPT`] in a short-lived container of
/// `image` (present on the engine) with the host's `/` bind-mounted read-only at `/host`
/// ([`DockerEngine::run_on_host`], labelled `labels`). Errors: the engine's, or the text
/// "`image` printed nothing (no `sh`?)"; [`crate::engine::EngineError::Lost`] as itself.
pub async fn engine_host_kernel(engine: &DockerEngine, image: &str, labels: &std::collections::HashMap<String, String>) -> Result<KernelFacts, crate::engine::EngineError> {
    let host = engine.endpoint.host().unwrap_or("the engine's host").to_string();
    let argv = vec!["sh".to_string(), "-c".to_string(), PROBE_SCRIPT.to_string()];
    let context = format!("reading the kernel's features on {host} (a container of {image})");
    let out = engine.run_on_host(image, argv, vec!["/:/host:ro".to_string()], labels, context.clone()).await?;
    if out.trim().is_empty() {
        return Err(crate::engine::EngineError::Api { context, detail: format!("{image} printed nothing (no `sh`?)") });
    }
    Ok(KernelFacts::from_probe(&out))
}

/// The sockets listening (TCP) or bound (UDP) on the engine's host: its `/proc/net/*` read by
/// a short-lived container of `image` in the host's network ([`DockerEngine::read_host_files`],
/// labelled `labels`). Errors: the engine's.
pub async fn engine_host_sockets(engine: &DockerEngine, image: &str, labels: &std::collections::HashMap<String, String>) -> Result<Vec<crate::orchestration::host::ports::HostSocket>, crate::engine::EngineError> {
    let tables = engine.read_host_files(image, &["/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"], labels).await?;
    Ok(crate::orchestration::host::ports::host_sockets(&tables))
}

/// [`check_host_kernel`] on a remote engine's host: when a planned plugin declares a kernel
/// feature, [`PROBE_SCRIPT`] runs there in a short-lived container of that plugin's first
/// image (present on the engine by now) with the host's `/` bind-mounted read-only at `/host`
/// ([`DockerEngine::run_on_host`], labelled `labels` so an interrupted run's sweep removes
/// it), and a missing feature is [`BenchError::HostUnsupported`] naming the engine's host.
/// When the host cannot be read (an image without `sh`), a warning says so and the system's
/// own start is what remains.
pub async fn check_host_kernel_on_engine(engine: &DockerEngine, registry: &Registry, plan: &Plan, labels: &std::collections::HashMap<String, String>) -> Result<(), BenchError> {
    let Some(image) = kernel_image(registry, plan) else { return Ok(()) };
    let host = format!("the Docker engine's host {}", engine.endpoint.host().unwrap_or("(remote)"));
    match engine_host_kernel(engine, &image, labels).await {
        Ok(facts) => check_facts(registry, plan, &host, &facts),
        Err(e @ crate::engine::EngineError::Lost { .. }) => Err(e.into()),
        Err(e) => {
            tracing::warn!("the kernel features of {host} are not checked: {e}");
            Ok(())
        }
    }
}

/// Host paths the plan bind-mounts with `rshared` propagation must exist (they are created)
/// and sit on a shared mount, or a FUSE mount made in the container never reaches the host.
/// With a remote engine such a path is on the engine's host, where this machine's mount commands
/// cannot see it: refused (exit 6) naming the profile, the path and the engine.
pub fn check_shared_binds(plan: &Plan) -> Result<(), BenchError> {
    let remote = remote_engine();
    for (p, s) in plan.services() {
        if let Some(remote) = &remote {
            if let Some(path) = s.volumes.iter().find_map(|v| match &v.source {
                crate::runtime::contract::VolumeSource::HostShared(path) => Some(path),
                _ => None,
            }) {
                return Err(BenchError::HostUnsupported(format!(
                    "profile {} shows its FUSE mount in {path} on the Docker engine's host ({remote}), and a client on this machine cannot reach a mount there\n  hint: run benchhost on the engine's host for this system (unset DOCKER_HOST/DOCKER_CONTEXT there), or benchmark a system that serves over the network",
                    p.profile
                )));
            }
            continue;
        }
        for v in &s.volumes {
            let crate::runtime::contract::VolumeSource::HostShared(path) = &v.source else { continue };
            std::fs::create_dir_all(path)
                .map_err(|e| BenchError::HostUnsupported(format!("cannot create {path} (service {} of profile {}): {e}", s.name, p.profile)))?;
            let mounts = this_machine().unwrap_or_default();
            let canonical = std::fs::canonicalize(path).map(|c| c.display().to_string()).unwrap_or_else(|_| path.clone());
            if !mount_of(&mounts, &canonical).is_some_and(|m| m.shared) {
                return Err(BenchError::HostUnsupported(format!(
                    "{path} (where profile {} shows its FUSE mount) is not on a shared mount, so the mount made in the container cannot appear there\n  hint: sudo mount --bind {path} {path} && sudo mount --make-shared {path}   (or point the plugin's mount setting elsewhere)",
                    p.profile
                )));
            }
        }
    }
    Ok(())
}

/// The engine `up` will use, when it is remote ([`crate::engine::Endpoint::is_remote`]); `None`
/// for a local one or a configuration that names none (connecting reports that).
fn remote_engine() -> Option<crate::engine::Endpoint> {
    crate::engine::endpoint::resolve(&crate::engine::endpoint::DockerEnv::from_process()).ok().filter(|e| e.is_remote())
}

/// Fails fast, before anything is created, when a host port of the plan is taken.
pub fn check_ports_free(plan: &Plan, bind: &str) -> Result<(), BenchError> {
    for (p, s) in plan.services() {
        for port in &s.ports {
            let addr = dial_address(bind, port.host);
            let bind_addr = std::net::SocketAddr::new(bind.parse().unwrap_or(addr.ip()), port.host);
            if !is_free(bind_addr.ip(), port.host, port.transport == Transport::Udp) {
                return Err(BenchError::Engine(crate::engine::EngineError::PortInUse {
                    port: port.host,
                    holder: match port_holder(port.host, port.transport == Transport::Udp) {
                        Some(who) => format!(" by {who} (needed by service {} of profile {})", s.name, p.profile),
                        None => format!(" (needed by service {} of profile {})", s.name, p.profile),
                    },
                }));
            }
        }
    }
    Ok(())
}

/// [`check_ports_free`] on a remote engine's host: its listening TCP and bound UDP sockets
/// are read there (`/proc/net/*` through a short-lived container of the plan's first image in
/// the host's network, [`DockerEngine::read_host_files`], labelled `labels` so an interrupted
/// run's sweep removes it), and a planned host port held on `bind` (or a wildcard) is
/// [`crate::engine::EngineError::PortInUse`] naming the engine's host. When the host cannot be
/// read (an image without `cat`), a warning says so and the engine's own refusal at container
/// start is what remains.
pub async fn check_ports_free_on_engine(engine: &DockerEngine, plan: &Plan, bind: &str, labels: &std::collections::HashMap<String, String>) -> Result<(), BenchError> {
    let Some((_, first)) = plan.services().next() else { return Ok(()) };
    if !plan.services().any(|(_, s)| !s.ports.is_empty()) {
        return Ok(());
    }
    let host = engine.endpoint.host().unwrap_or("the engine's host").to_string();
    let sockets = match engine_host_sockets(engine, &first.image, labels).await {
        Ok(s) => s,
        Err(e @ crate::engine::EngineError::Lost { .. }) => return Err(e.into()),
        Err(e) => {
            tracing::warn!("the host ports on {host} are not checked before start: {e}");
            return Ok(());
        }
    };
    let bind_ip: std::net::IpAddr = bind.parse().unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    for (p, s) in plan.services() {
        for port in &s.ports {
            let udp = port.transport == Transport::Udp;
            if let Some(held) = crate::orchestration::host::ports::holder_of(&sockets, bind_ip, port.host, udp) {
                return Err(BenchError::Engine(crate::engine::EngineError::PortInUse {
                    port: port.host,
                    holder: format!(
                        " on the engine's host {host} (a socket listens on {}; needed by service {} of profile {})",
                        std::net::SocketAddr::new(held.ip, held.port),
                        s.name,
                        p.profile
                    ),
                }));
            }
        }
    }
    Ok(())
}

/// Refuses a `BENCH_CPU_LIMIT` above the CPUs of the engine's host (the engine would refuse
/// each container, "Range of CPUs is from 0.01 to N", only once `up` had started). A usage
/// error (exit 2) naming the setting, its value, where it was set and the engine's CPUs; an
/// engine that does not say how many CPUs it has is not checked.
pub fn check_engine_capacity(engine: &DockerEngine, globals: &GlobalSettings, settings: &SettingsSource) -> Result<(), BenchError> {
    let Some(cpus) = engine.cpus else { return Ok(()) };
    if globals.cpus <= f64::from(cpus) {
        return Ok(());
    }
    let given = settings.given("BENCH_CPU_LIMIT").unwrap_or_else(|| format!("BENCH_CPU_LIMIT={} (its default)", globals.cpus));
    Err(BenchError::Usage(format!(
        "{given} is more CPUs than the Docker engine's host has ({cpus}): a container cannot be given more\n  hint: set BENCH_CPU_LIMIT to at most {cpus}; every system gets the same limit"
    )))
}
