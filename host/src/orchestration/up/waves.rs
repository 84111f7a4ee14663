//! Profiles start in waves: every profile whose dependencies are ready and bootstrapped starts
//! at the same time; within a profile, services start in order, each once the one before is
//! ready, then the plugin bootstraps the profile.

use super::creations::Creations;
use crate::orchestration::up::gateway::{dial_address, Endpoint, Endpoints, Notes, StackGateway};
use super::ready::{wait_ready, wanted_condition};
use super::UpOptions;
use crate::engine::{ContainerSpec, DockerEngine};
use crate::orchestration::error::BenchError;
use crate::orchestration::labels::resource_name;
use crate::orchestration::plan::{Plan, PlannedProfile};
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::progress::Progress;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

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
        let dial = |p: &crate::engine::PublishedPort| match opts.globals.dial_host {
            Some(ip) => std::net::SocketAddr::new(ip, p.host),
            None => dial_address(&p.host_ip, p.host),
        };
        let ports = spec.ports.iter().filter(|p| !p.udp).map(|p| (p.container, dial(p))).collect();
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

/// The gateway for `planned`'s plugin: its services plus its dependency profiles' services.
pub fn gateway_for(engine: &DockerEngine, plan: &Plan, planned: &PlannedProfile, endpoints: &Endpoints, plugin: &str, notes: Option<&Notes>) -> Arc<StackGateway> {
    let own: HashSet<String> = planned.services.iter().map(|s| s.name.clone()).collect();
    let mut allowed = own.clone();
    for dep in &planned.depends_on_profiles {
        if let Some(p) = plan.profiles.iter().find(|p| &p.profile == dep) {
            allowed.extend(p.services.iter().map(|s| s.name.clone()));
        }
    }
    Arc::new(StackGateway { engine: engine.clone(), endpoints: endpoints.clone(), allowed, own, plugin: plugin.to_string(), notes: notes.cloned() })
}

/// Starts every profile of the plan, in waves: every profile whose dependencies are ready and
/// bootstrapped starts at the same time (juicefs: postgres and localstack together, then
/// juicefs). Returns what the plugins logged while bootstrapping.
#[allow(clippy::too_many_arguments)]
pub async fn start_all(
    registry: &Registry,
    engine: &DockerEngine,
    plan: &Plan,
    specs: &[ContainerSpec],
    creations: &Creations,
    endpoints: &Endpoints,
    opts: &UpOptions,
    progress: &Progress,
) -> Result<Notes, BenchError> {
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
        let starts = wave.iter().map(|planned| start_profile(registry, engine, plan, planned, specs, creations, endpoints, &notes, opts, progress));
        futures_util::future::try_join_all(starts).await?;
        done.extend(wave.iter().map(|p| p.profile.as_str()));
    }
    Ok(notes)
}
