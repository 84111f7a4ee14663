//! From a plugin's service (the contract) to the engine's container spec: names, labels,
//! ports, mounts, the healthcheck's labels and the global CPU/memory caps.
//!
//! The container gets no Docker healthcheck: the plugin's test goes into labels that `up` and
//! `status` run it from (see [`crate::orchestration::health`]), so nothing probes the system
//! during a benchmark.

use super::UpOptions;
use crate::engine::{ContainerSpec, FileSpec, MountSource, MountSpec, PublishedPort};
use crate::orchestration::health::HealthTest;
use crate::orchestration::labels::*;
use crate::orchestration::plan::{Plan, PlannedProfile};
use crate::orchestration::plan::settings::GlobalSettings;
use crate::runtime::contract::{Service, Transport, VolumeSource};
use std::collections::HashMap;
use std::time::Duration;

/// The labels on everything a run creates: managed, profile, run id and, when the run has
/// one, its results directory.
pub fn run_labels(plan: &Plan, opts: &UpOptions) -> HashMap<String, String> {
    let mut labels = HashMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_PROFILE.to_string(), plan.target.clone()),
        (LABEL_RUN.to_string(), opts.run_id.clone()),
    ]);
    if let Some(dir) = &opts.results {
        labels.insert(crate::orchestration::results::LABEL_RESULTS.to_string(), dir.path.display().to_string());
    }
    labels
}

/// The engine spec of one service: names, labels (with the healthcheck's, when the plugin
/// declares one), caps from the global settings.
pub fn container_spec(
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
    if let Some(test) = service.healthcheck.as_ref().and_then(HealthTest::of) {
        labels.extend(test.labels());
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
