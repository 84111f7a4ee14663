//! The names a run will create, checked against the engine before anything is created (the
//! dry run too): a container, network or volume of that name that benchhost did not make is
//! refused, never adopted. (The engine would otherwise hand back a user's existing volume as if
//! it were new, add a second network of the same name, or refuse a container only once the
//! dependencies are already up.) A benchhost-made leftover is
//! [`crate::orchestration::teardown::status::refuse_when_up`]'s to report.

use super::container_spec::container_spec;
use crate::engine::{DockerEngine, MountSource, ResourceKind};
use crate::orchestration::error::BenchError;
use crate::orchestration::labels::{resource_name, LABEL_MANAGED};
use crate::orchestration::plan::settings::GlobalSettings;
use crate::orchestration::plan::Plan;
use crate::orchestration::plugins::registry::Registry;
use std::collections::HashMap;

/// Every resource name `up` of `plan` creates: its network, each service's container and each
/// named volume (none under `BENCH_TMPFS=1`), derived by [`container_spec`] as `up` derives them.
pub fn run_names(registry: &Registry, plan: &Plan, globals: &GlobalSettings) -> Vec<(ResourceKind, String)> {
    let network = resource_name(&plan.target, "");
    let mut names = vec![(ResourceKind::Network, network.clone())];
    let no_labels = HashMap::new();
    for (planned, service) in plan.services() {
        let spec = container_spec(plan, planned, service, &registry.plugin(planned.plugin).info.name, &network, &no_labels, globals);
        names.push((ResourceKind::Container, spec.name));
        for m in spec.mounts {
            if let MountSource::Volume(v) = m.source
                && !names.contains(&(ResourceKind::Volume, v.clone())) {
                    names.push((ResourceKind::Volume, v));
                }
        }
    }
    names
}

/// Refuses when any of `names` is taken by a resource benchhost did not make (no
/// `benchhost.managed=true` label), naming every one with the command that removes it.
/// Errors: [`BenchError::NameTaken`] (exit 4); an engine error looking them up.
pub async fn check_names_free(engine: &DockerEngine, names: &[(ResourceKind, String)]) -> Result<(), BenchError> {
    let found = futures_util::future::try_join_all(names.iter().map(|(kind, name)| async move {
        Ok::<_, crate::engine::EngineError>((*kind, engine.named(*kind, name).await?))
    }))
    .await?;
    let taken: Vec<(ResourceKind, String)> = found
        .into_iter()
        .flat_map(|(kind, found)| found.into_iter().map(move |r| (kind, r)))
        .filter(|(_, r)| r.labels.get(LABEL_MANAGED).map(String::as_str) != Some("true"))
        .map(|(kind, r)| (kind, r.name))
        .collect();
    if taken.is_empty() {
        return Ok(());
    }
    Err(BenchError::NameTaken(taken))
}

#[cfg(test)]
mod tests {
    use crate::engine::ResourceKind;
    use crate::orchestration::error::name_taken_message;

    #[test]
    fn the_message_names_every_clash_and_how_to_free_it() {
        let one = name_taken_message(&[(ResourceKind::Volume, "benchhost-ganesha-export".into())]);
        assert!(one.starts_with("volume benchhost-ganesha-export already exists and was not made by benchhost"), "{one}");
        assert!(one.contains("`docker volume rm benchhost-ganesha-export`"), "{one}");
        let two = name_taken_message(&[(ResourceKind::Network, "benchhost-x".into()), (ResourceKind::Container, "benchhost-x-y".into())]);
        assert!(two.starts_with("network benchhost-x, container benchhost-x-y already exist and were not made"), "{two}");
        assert!(two.contains("`docker network rm benchhost-x; docker container rm -f benchhost-x-y`"), "{two}");
    }
}
