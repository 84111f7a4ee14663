//! Planning: from a profile name to the ordered list of profiles and services to start.
//!
//! `compose-service` of the target profile names its dependencies; a dependency that is not one
//! of the plugin's own services must be an infrastructure profile of some plugin (e.g.
//! `localstack`), which is planned too, before it. Everything a plugin returns is validated here,
//! on every path, before any container exists.

use super::error::BenchError;
use super::registry::Registry;
use super::settings::SettingsSource;
use crate::runtime::contract::{Context, HostOs, Role, Service, VolumeSource};
use crate::runtime::LoadedPlugin;
use std::collections::{HashMap, HashSet};

/// One profile of the plan with its validated services, in start order.
#[derive(Clone, Debug)]
pub struct PlannedProfile {
    /// Index into [`Registry::plugins`].
    pub plugin: usize,
    pub profile: String,
    pub role: Role,
    pub ctx: Context,
    /// Services in dependency order (a service comes after the ones it depends on).
    pub services: Vec<Service>,
    /// Infrastructure profiles this one depends on (their services may be reached by its imports).
    pub depends_on_profiles: Vec<String>,
}

/// The whole stack of a `benchhost up <target>`.
#[derive(Clone, Debug)]
pub struct Plan {
    pub target: String,
    /// Dependencies first, the target last.
    pub profiles: Vec<PlannedProfile>,
}

impl Plan {
    /// Every service of the plan with the profile it belongs to.
    pub fn services(&self) -> impl Iterator<Item = (&PlannedProfile, &Service)> {
        self.profiles.iter().flat_map(|p| p.services.iter().map(move |s| (p, s)))
    }
}

/// Builds the plan for `target`. Errors: unknown profile (usage), plugin errors, invalid plugin
/// output naming plugin, operation, field and value.
pub async fn plan(registry: &Registry, settings: &SettingsSource, target: &str, host_os: HostOs) -> Result<Plan, BenchError> {
    let mut profiles: Vec<PlannedProfile> = Vec::new();
    let mut visiting: Vec<String> = Vec::new();
    plan_profile(registry, settings, target, host_os, &mut profiles, &mut visiting).await?;
    let plan = Plan { target: target.to_string(), profiles };
    check_stack(registry, &plan)?;
    Ok(plan)
}

fn plan_profile<'a>(
    registry: &'a Registry,
    settings: &'a SettingsSource,
    name: &'a str,
    host_os: HostOs,
    out: &'a mut Vec<PlannedProfile>,
    visiting: &'a mut Vec<String>,
) -> futures_util::future::BoxFuture<'a, Result<(), BenchError>> {
    Box::pin(async move {
        if out.iter().any(|p| p.profile == name) {
            return Ok(());
        }
        if visiting.iter().any(|v| v == name) {
            return Err(BenchError::Usage(format!("profiles depend on each other in a cycle: {} -> {name}", visiting.join(" -> "))));
        }
        let pref = registry.find(name)?;
        let (index, role) = (pref.plugin, pref.profile.role);
        let plugin = registry.plugin(index);
        if let super::registry::Origin::File(path) = &registry.plugins[index].origin {
            settings.grants.check(&plugin.info, &path.display().to_string())?;
        }
        let ctx = settings.context(&plugin.info, name, host_os);
        let services = registry.runtime.compose_service(plugin, &ctx).await?;
        let invalid = |message: String| BenchError::InvalidPluginOutput {
            plugin: plugin.info.name.clone(),
            version: plugin.info.version.clone(),
            operation: "compose-service",
            message,
        };
        validate_services(plugin, &services).map_err(invalid)?;
        let own: HashSet<&str> = services.iter().map(|s| s.name.as_str()).collect();
        let mut deps = Vec::new();
        for s in &services {
            for d in &s.depends_on {
                if own.contains(d.service.as_str()) {
                    continue;
                }
                match registry.profiles().into_iter().find(|p| p.profile.name == d.service) {
                    Some(p) if p.profile.role == Role::Infrastructure => {
                        if !deps.contains(&d.service) {
                            deps.push(d.service.clone());
                        }
                    }
                    Some(_) => {
                        return Err(invalid(format!(
                            "service {:?} depends on {:?}, a system under test; only infrastructure profiles can be dependencies",
                            s.name, d.service
                        )))
                    }
                    None => {
                        return Err(invalid(format!(
                            "service {:?} depends on {:?}, which is neither one of its services nor a known infrastructure profile",
                            s.name, d.service
                        )))
                    }
                }
            }
        }
        visiting.push(name.to_string());
        for d in &deps {
            plan_profile(registry, settings, d, host_os, out, visiting).await?;
        }
        visiting.pop();
        let services = start_order(services).map_err(invalid)?;
        out.push(PlannedProfile { plugin: index, profile: name.to_string(), role, ctx, services, depends_on_profiles: deps });
        Ok(())
    })
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 48
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_abs_path(p: &str) -> bool {
    p.starts_with('/') && !p.split('/').any(|c| c == "..") && !p.contains('\0')
}

/// Checks one plugin's services: names, images, ports, volumes, files, capabilities, durations.
fn validate_services(plugin: &LoadedPlugin, services: &[Service]) -> Result<(), String> {
    if services.is_empty() {
        return Err("returned no services".into());
    }
    let caps = &plugin.info.capabilities;
    let mut names = HashSet::new();
    for s in services {
        let n = &s.name;
        if !valid_name(n) {
            return Err(format!("service name {n:?} is invalid (use 1-48 of [a-z0-9-], starting with a letter or digit)"));
        }
        if !names.insert(n.as_str()) {
            return Err(format!("service name {n:?} appears twice"));
        }
        if s.image.is_empty() || s.image.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("service {n:?}: image {:?} is not an image reference", s.image));
        }
        let last = s.image.rsplit('/').next().unwrap_or("");
        if !last.contains(':') && !s.image.contains('@') {
            return Err(format!("service {n:?}: image {:?} is not pinned; give a tag or digest (repo:tag or repo@sha256:...)", s.image));
        }
        for (k, v) in &s.environment {
            if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
                return Err(format!("service {n:?}: environment variable {k:?} is invalid"));
            }
        }
        for (i, p) in s.ports.iter().enumerate() {
            if p.container == 0 || p.host == 0 {
                return Err(format!("service {n:?}: ports[{i}] maps {} -> {}; port 0 is not allowed", p.container, p.host));
            }
        }
        for (i, v) in s.volumes.iter().enumerate() {
            if !valid_abs_path(&v.target) {
                return Err(format!("service {n:?}: volumes[{i}].target {:?} must be an absolute path without '..'", v.target));
            }
            match &v.source {
                VolumeSource::Named(name) if !valid_name(name) => {
                    return Err(format!("service {n:?}: volumes[{i}] name {name:?} is invalid (use [a-z0-9-])"))
                }
                VolumeSource::Host(path) | VolumeSource::HostShared(path) => {
                    if !valid_abs_path(path) {
                        return Err(format!("service {n:?}: volumes[{i}] host path {path:?} must be absolute without '..'"));
                    }
                    if !caps.host_binds.iter().any(|prefix| path == prefix || path.starts_with(&format!("{}/", prefix.trim_end_matches('/')))) {
                        return Err(format!(
                            "service {n:?}: volumes[{i}] binds host path {path:?}, which the plugin did not declare in its host-binds capability"
                        ));
                    }
                }
                _ => {}
            }
        }
        for (i, f) in s.files.iter().enumerate() {
            if !valid_abs_path(&f.path) || f.path.ends_with('/') {
                return Err(format!("service {n:?}: files[{i}].path {:?} must be an absolute file path without '..'", f.path));
            }
            if f.mode > 0o7777 {
                return Err(format!("service {n:?}: files[{i}].mode {:#o} is not a file mode", f.mode));
            }
        }
        if s.privileged && !caps.privileged {
            return Err(format!("service {n:?} asks for privileged mode, which the plugin did not declare"));
        }
        for c in &s.cap_add {
            if !caps.cap_add.iter().any(|d| d.eq_ignore_ascii_case(c)) {
                return Err(format!("service {n:?} adds capability {c:?}, which the plugin did not declare"));
            }
        }
        for d in &s.devices {
            if !caps.devices.contains(d) {
                return Err(format!("service {n:?} needs device {d:?}, which the plugin did not declare"));
            }
        }
        if let Some(h) = &s.healthcheck {
            if h.test.is_empty() || !matches!(h.test[0].as_str(), "CMD" | "CMD-SHELL" | "NONE") {
                return Err(format!("service {n:?}: healthcheck test {:?} must start with CMD, CMD-SHELL or NONE", h.test));
            }
            if h.interval_ms == 0 || h.timeout_ms == 0 {
                return Err(format!("service {n:?}: healthcheck interval and timeout must be at least 1 ms"));
            }
        }
    }
    Ok(())
}

/// Orders services so each comes after the services it depends on within the plugin.
fn start_order(services: Vec<Service>) -> Result<Vec<Service>, String> {
    let names: HashSet<String> = services.iter().map(|s| s.name.clone()).collect();
    let mut remaining = services;
    let mut done: Vec<Service> = Vec::new();
    while !remaining.is_empty() {
        let placed: HashSet<String> = done.iter().map(|s| s.name.clone()).collect();
        let (ready, blocked): (Vec<Service>, Vec<Service>) = remaining
            .into_iter()
            .partition(|s| s.depends_on.iter().all(|d| !names.contains(&d.service) || placed.contains(&d.service)));
        if ready.is_empty() {
            let cycle: Vec<&str> = blocked.iter().map(|s| s.name.as_str()).collect();
            return Err(format!("services depend on each other in a cycle: {}", cycle.join(", ")));
        }
        done.extend(ready);
        remaining = blocked;
    }
    Ok(done)
}

/// Checks across the whole stack: service names (they share one network) and host ports unique.
fn check_stack(registry: &Registry, plan: &Plan) -> Result<(), BenchError> {
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut ports: HashMap<u16, (&str, &str)> = HashMap::new();
    for (p, s) in plan.services() {
        let plugin = &registry.plugin(p.plugin).info;
        let invalid = |message: String| BenchError::InvalidPluginOutput {
            plugin: plugin.name.clone(),
            version: plugin.version.clone(),
            operation: "compose-service",
            message,
        };
        if let Some(other) = names.insert(&s.name, &p.profile) {
            return Err(invalid(format!("service name {:?} is also used by profile {other}", s.name)));
        }
        for port in &s.ports {
            if let Some((svc, prof)) = ports.insert(port.host, (&s.name, &p.profile)) {
                return Err(invalid(format!("service {:?} publishes host port {}, already published by {svc} ({prof})", s.name, port.host)));
            }
        }
    }
    Ok(())
}
