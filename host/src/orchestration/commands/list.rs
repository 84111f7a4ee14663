//! `benchhost list`: every profile of every plugin.

use crate::orchestration::plugins::registry::{Origin, Registry};
use crate::runtime::contract::Role;

/// One row of `list --json`.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ListEntry {
    pub profile: String,
    pub plugin: String,
    pub plugin_version: String,
    /// `target` (a system under test) or `infrastructure`.
    pub role: String,
    pub protocol: String,
    pub port: Option<u16>,
    pub description: String,
    /// `built-in` or the plugin file's path.
    pub source: String,
}

/// `list` rows for every profile, in the registry's order.
pub fn list(registry: &Registry) -> Vec<ListEntry> {
    registry
        .profiles()
        .into_iter()
        .map(|p| {
            let r = &registry.plugins[p.plugin];
            ListEntry {
                profile: p.profile.name.clone(),
                plugin: r.plugin.info.name.clone(),
                plugin_version: r.plugin.info.version.clone(),
                role: match p.profile.role {
                    Role::Target => "target".into(),
                    Role::Infrastructure => "infrastructure".into(),
                },
                protocol: p.profile.protocol.clone(),
                port: p.profile.port,
                description: p.profile.description.clone(),
                source: match &r.origin {
                    Origin::BuiltIn => "built-in".into(),
                    Origin::File(f) => f.display().to_string(),
                },
            }
        })
        .collect()
}
