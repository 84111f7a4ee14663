//! Checks of this machine before anything of a run is created: kernel features the planned
//! plugins declare in their `host-kernel` capability (`nfsd`, `fuse`), the shared mounts FUSE
//! servers show their mounts through, and the plan's host ports. Only a local engine's machine
//! can be read; with a remote `DOCKER_HOST` the first two are skipped (with a warning).

use crate::orchestration::error::BenchError;
use crate::orchestration::host::kernel::missing;
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

/// [`check_host_kernel`] against a root directory (tests use a fake `/proc`).
pub fn check_with(registry: &Registry, plan: &Plan, root: &Path) -> Result<(), BenchError> {
    if std::env::var("DOCKER_HOST").is_ok_and(|h| !h.is_empty() && !h.starts_with("unix://")) {
        tracing::warn!("DOCKER_HOST is remote: host kernel features are not checked");
        return Ok(());
    }
    for p in &plan.profiles {
        let info = &registry.plugin(p.plugin).info;
        for feature in &info.capabilities.host_kernel {
            if let Some(why) = missing(feature, root) {
                return Err(BenchError::HostUnsupported(format!(
                    "profile {} (plugin \"{}\" {}) needs the host kernel's {feature}, which this Docker host lacks: {why}",
                    p.profile, info.name, info.version
                )));
            }
        }
    }
    Ok(())
}

/// Host paths the plan bind-mounts with `rshared` propagation must exist (they are created)
/// and sit on a shared mount, or a FUSE mount made in the container never reaches the host.
pub fn check_shared_binds(plan: &Plan) -> Result<(), BenchError> {
    if std::env::var("DOCKER_HOST").is_ok_and(|h| !h.is_empty() && !h.starts_with("unix://")) {
        return Ok(());
    }
    for (p, s) in plan.services() {
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
