//! Resources by exact name, so a run can check that every name it will create is free before it
//! creates anything (the engine would otherwise adopt an existing volume, allow a second network
//! of the same name, or refuse a container only once its dependencies are up).

use super::{api, docker_message, is_not_found, DockerEngine, EngineError, Labelled};
use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions};
use std::collections::HashMap;

/// The kinds of resource a run creates by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    Container,
    Network,
    Volume,
}

impl ResourceKind {
    /// `container`, `network` or `volume`, as in messages and `docker <noun> rm`.
    pub fn noun(self) -> &'static str {
        match self {
            ResourceKind::Container => "container",
            ResourceKind::Network => "network",
            ResourceKind::Volume => "volume",
        }
    }
}

impl DockerEngine {
    /// Every resource of `kind` named exactly `name`: none, one, or for networks several (the
    /// engine allows two networks of one name). Errors: [`EngineError::Api`].
    pub async fn named(&self, kind: ResourceKind, name: &str) -> Result<Vec<Labelled>, EngineError> {
        match kind {
            ResourceKind::Container => {
                // The `name` filter is a regular expression over names with their leading `/`.
                let filters = HashMap::from([("name".to_string(), vec![format!("^/{}$", regex_literal(name))])]);
                let found = self
                    .docker
                    .list_containers(Some(ListContainersOptions { all: true, filters: Some(filters), ..Default::default() }))
                    .await
                    .map_err(api(format!("looking for container {name}")))?;
                Ok(found
                    .into_iter()
                    .filter(|c| c.names.iter().flatten().any(|n| n.trim_start_matches('/') == name))
                    .map(|c| Labelled {
                        id: c.id.unwrap_or_default(),
                        name: name.to_string(),
                        labels: c.labels.unwrap_or_default(),
                        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                    })
                    .collect())
            }
            ResourceKind::Network => {
                // The `name` filter matches part of a name: keep exact matches only.
                let filters = HashMap::from([("name".to_string(), vec![name.to_string()])]);
                let found = self
                    .docker
                    .list_networks(Some(ListNetworksOptions { filters: Some(filters) }))
                    .await
                    .map_err(api(format!("looking for network {name}")))?;
                Ok(found
                    .into_iter()
                    .filter(|n| n.name.as_deref() == Some(name))
                    .map(|n| Labelled { id: n.id.unwrap_or_default(), name: name.to_string(), labels: n.labels.unwrap_or_default(), state: String::new() })
                    .collect())
            }
            ResourceKind::Volume => match self.docker.inspect_volume(name).await {
                Ok(v) => Ok(vec![Labelled { id: v.name.clone(), name: v.name, labels: v.labels, state: String::new() }]),
                Err(e) if is_not_found(&e) => Ok(Vec::new()),
                Err(e) => Err(EngineError::Api { context: format!("looking for volume {name}"), detail: docker_message(&e) }),
            },
        }
    }
}

/// `name` with the characters a regular expression gives meaning to escaped (a Docker name
/// holds `[a-zA-Z0-9_.-]`, of which only `.` is special).
fn regex_literal(name: &str) -> String {
    name.chars().fold(String::new(), |mut out, c| {
        if !(c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            out.push('\\');
        }
        out.push(c);
        out
    })
}
