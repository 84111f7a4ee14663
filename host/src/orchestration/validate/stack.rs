//! Checks across a whole planned stack: service names (they share one network) and host ports.

use crate::orchestration::error::BenchError;
use crate::runtime::contract::{PluginInfo, Service, Transport};
use std::collections::HashMap;

/// One planned profile as [`check_stack`] sees it: the plugin that describes it, its name and
/// its services.
pub struct StackEntry<'a> {
    pub plugin: &'a PluginInfo,
    pub profile: &'a str,
    pub services: &'a [Service],
}

/// Checks across the whole stack: service names (they share one network) and host ports unique,
/// and no host port that another plugin claims for one of its profiles (`claimed`: port →
/// (plugin, profile)), even when that profile is not up. Errors are the plugin's defect
/// ([`BenchError::InvalidPluginOutput`], exit 3) naming the service and port.
pub fn check_stack(stack: &[StackEntry<'_>], claimed: &HashMap<u16, (String, String)>) -> Result<(), BenchError> {
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut ports: HashMap<(u16, bool), (&str, &str)> = HashMap::new();
    for entry in stack {
        let plugin = entry.plugin;
        let invalid = |message: String| BenchError::InvalidPluginOutput {
            plugin: plugin.name.clone(),
            version: plugin.version.clone(),
            operation: "compose-service",
            message,
        };
        for s in entry.services {
            if let Some(other) = names.insert(&s.name, entry.profile) {
                return Err(invalid(format!("service name {:?} is also used by profile {other}", s.name)));
            }
            for port in &s.ports {
                let udp = port.transport == Transport::Udp;
                if let Some((svc, prof)) = ports.insert((port.host, udp), (&s.name, entry.profile)) {
                    return Err(invalid(format!("service {:?} publishes host port {}, already published by {svc} ({prof})", s.name, port.host)));
                }
                if let Some((owner, prof)) = claimed.get(&port.host).filter(|(owner, _)| *owner != plugin.name) {
                    return Err(invalid(format!("service {:?} publishes host port {}, which plugin {owner} claims for profile {prof}", s.name, port.host)));
                }
            }
        }
    }
    Ok(())
}
