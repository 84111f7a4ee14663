//! A stack that is up, emptied of its own cache for a cold pass of `benchhost bench`: the
//! target plugin's `empty-cache` (the contract of `runtime::contract::since_v0_3_0`) through the
//! same gateway as its bootstrap, then the restarts it asks for, each service waited for as
//! `up` waits for it (its plugin's probe, then its healthcheck once).

use super::gateway::Endpoints;
use super::ready::wait_ready;
use super::waves::gateway_for;
use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
use crate::orchestration::labels::resource_name;
use crate::orchestration::plan::Plan;
use crate::orchestration::plugins::registry::Registry;
use crate::runtime::contract::DependencyCondition;
use std::time::{Duration, Instant};

/// What `up` leaves for calls into the plugin while the stack is up: the plan it started and
/// the services' containers and published ports. `Default` (no plan) for a stack that is not
/// this process's.
#[derive(Clone, Debug, Default)]
pub struct RunningStack {
    pub plan: Option<Plan>,
    pub endpoints: Endpoints,
}

/// What the target plugin said of its system's own cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnCache {
    /// The plugin was built for a contract without `empty-cache`: it cannot be asked; the cache is kept.
    CannotAsk { contract: String },
    /// The system keeps no cache of its own (only the server kernel's page cache).
    None,
    /// Emptied: `how`, in the plugin's words; `restart`: the services to restart, in order.
    Emptied { how: String, restart: Vec<String> },
}

impl OwnCache {
    /// The record's words for it (`system_cache` of a cold cell); `restarted` the services
    /// restarted and how long that took, seconds.
    pub fn record(&self, restarted: Option<f64>) -> String {
        match self {
            OwnCache::CannotAsk { contract } => format!("kept (the plugin is built for contract {contract}, which has no empty-cache)"),
            OwnCache::None => "none (the system keeps no cache of its own)".into(),
            OwnCache::Emptied { how, restart } => match restarted {
                Some(s) if !restart.is_empty() => format!("emptied: {how}; restarted {} ({s:.1} s)", restart.join(", ")),
                _ => format!("emptied: {how}"),
            },
        }
    }
}

/// Asks the target's plugin to empty its system's own cache (`empty-cache`). The restart
/// services it names are checked to be the target's own. Errors: the plugin's error (exit 3 for
/// a defect), [`BenchError::InvalidPluginOutput`] for a restart naming no service of the target,
/// or a stack without a plan (a benchhost defect).
pub async fn empty_cache(registry: &Registry, engine: &DockerEngine, stack: &RunningStack, secrets: &[String]) -> Result<OwnCache, BenchError> {
    let plan = stack.plan.as_ref().ok_or_else(|| BenchError::Other("the stack's plan is unknown here (a benchhost defect)".into()))?;
    let target = plan.profiles.last().ok_or_else(|| BenchError::Other("an empty plan (a benchhost defect)".into()))?;
    let plugin = registry.plugin(target.plugin);
    let gateway = gateway_for(engine, plan, target, &stack.endpoints, &plugin.info.name, None);
    let Some(answer) = registry.runtime.empty_cache(plugin, &target.ctx, gateway).await? else {
        return Ok(OwnCache::CannotAsk { contract: plugin.contract_version().min_version().to_string() });
    };
    if let Some(bad) = answer.restart.iter().find(|s| !target.services.iter().any(|own| &own.name == *s)) {
        let own: Vec<&str> = target.services.iter().map(|s| s.name.as_str()).collect();
        return Err(BenchError::InvalidPluginOutput {
            plugin: plugin.info.name.clone(),
            version: plugin.info.version.clone(),
            operation: "empty-cache",
            message: format!("restart names {bad:?}, which is not a service of {} (its services: {})", target.profile, own.join(", ")),
        });
    }
    let how = crate::text::redact(answer.how.trim(), secrets);
    Ok(match (how.is_empty(), answer.restart.is_empty()) {
        (true, true) => OwnCache::None,
        (true, false) => OwnCache::Emptied { how: "the processes' memory".into(), restart: answer.restart },
        (false, _) => OwnCache::Emptied { how, restart: answer.restart },
    })
}

/// Restarts `services` of the target in order (same container, volumes and ports), each waited
/// for until ready within `timeout` (as `up` waits, `BENCH_STARTUP_TIMEOUT`). Returns the
/// seconds it took. Errors: the engine's, a service that exits or is not ready in time.
pub async fn restart(registry: &Registry, engine: &DockerEngine, stack: &RunningStack, services: &[String], timeout: Duration) -> Result<f64, BenchError> {
    let started = Instant::now();
    let plan = stack.plan.as_ref().ok_or_else(|| BenchError::Other("the stack's plan is unknown here (a benchhost defect)".into()))?;
    let target = plan.profiles.last().ok_or_else(|| BenchError::Other("an empty plan (a benchhost defect)".into()))?;
    let plugin = registry.plugin(target.plugin);
    for name in services {
        let service = target.services.iter().find(|s| &s.name == name).ok_or_else(|| BenchError::Other(format!("{name} is not a service of {}", target.profile)))?;
        let endpoint = stack.endpoints.get(name).ok_or_else(|| BenchError::Other(format!("{name} was not started by this run")))?;
        let container = resource_name(&plan.target, name);
        engine.restart_container(&endpoint.container_id, &container, service.stop_grace_ms.map(|ms| Duration::from_millis(u64::from(ms)))).await?;
        // Same container, same port bindings: the endpoint stays as it was.
        let gateway = gateway_for(engine, plan, target, &stack.endpoints, &plugin.info.name, None);
        wait_ready(registry, engine, target, service, &endpoint.container_id, &container, DependencyCondition::Healthy, gateway, timeout).await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_says_what_was_emptied_restarted_or_kept() {
        assert_eq!(OwnCache::CannotAsk { contract: "0.2.0".into() }.record(None), "kept (the plugin is built for contract 0.2.0, which has no empty-cache)");
        assert_eq!(OwnCache::None.record(None), "none (the system keeps no cache of its own)");
        let drained = OwnCache::Emptied { how: "uploads drained, blocks evicted".into(), restart: vec![] };
        assert_eq!(drained.record(None), "emptied: uploads drained, blocks evicted");
        let restarted = OwnCache::Emptied { how: "MDCACHE".into(), restart: vec!["ganesha".into()] };
        assert_eq!(restarted.record(Some(2.14)), "emptied: MDCACHE; restarted ganesha (2.1 s)");
    }
}
