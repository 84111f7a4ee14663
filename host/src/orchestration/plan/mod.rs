//! Planning: from a profile name to the ordered list of profiles and services to start.
//!
//! `compose-service` of the target profile names its dependencies; a dependency that is not one
//! of the plugin's own services must be an infrastructure profile of some plugin (e.g.
//! `localstack`), which is planned too, before it. Everything a plugin returns is validated here,
//! on every path, before any container exists.

pub mod env_file;
pub mod opt_in;
pub mod settings;
pub mod source_build;

use crate::orchestration::error::BenchError;
use crate::orchestration::validate::image_ref::image_problem;
use crate::orchestration::validate::services::validate_services;
use crate::orchestration::validate::stack::{check_stack, StackEntry};
use crate::orchestration::validate::image_ref::example_pin;
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::plan::settings::SettingsSource;
use crate::runtime::contract::{Context, HostOs, Role, Service};
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
    // Ports other plugins claim for their profiles are theirs, even when those are not up.
    let claimed: HashMap<u16, (String, String)> = registry
        .profiles()
        .into_iter()
        .filter_map(|p| p.profile.port.map(|port| (port, (registry.plugin(p.plugin).info.name.clone(), p.profile.name.clone()))))
        .collect();
    let stack: Vec<StackEntry> =
        plan.profiles.iter().map(|p| StackEntry { plugin: &registry.plugin(p.plugin).info, profile: &p.profile, services: &p.services }).collect();
    check_stack(&stack, &claimed)?;
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
        if let crate::orchestration::plugins::registry::Origin::File(path) = &registry.plugins[index].origin {
            settings.grants.check(&plugin.info, &path.display().to_string())?;
        }
        check_value_sizes(plugin, settings)?;
        let ctx = settings.context(&plugin.info, name, host_os);
        let services = registry.runtime.compose_service(plugin, &ctx).await.map_err(|e| users_setting_error(plugin, settings, e))?;
        let invalid = |message: String| BenchError::InvalidPluginOutput {
            plugin: plugin.info.name.clone(),
            version: plugin.info.version.clone(),
            operation: "compose-service",
            message,
        };
        check_user_images(plugin, settings, &services)?;
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

/// The most one `NAME=value` environment entry of a process may hold, its NUL included: Linux's
/// `MAX_ARG_STRLEN` (32 pages of 4 KiB; `execve(2)`, "Limits on size of arguments and
/// environment").
const MAX_ENV_ENTRY: usize = 32 * 4096;

/// Refuses a value the user gave one of `plugin`'s settings that is too long for any process to
/// receive in its environment, or a secret too short to be redacted (exit 2, naming the
/// setting and where it was set, never the value). Without this a plugin passing the long
/// value on would be blamed, and the short secret would show in output.
fn check_value_sizes(plugin: &LoadedPlugin, settings: &SettingsSource) -> Result<(), BenchError> {
    for s in &plugin.info.settings {
        let (Some(value), Some(origin)) = (settings.get(&s.name), settings.origin(&s.name)) else { continue };
        if s.name.len() + 1 + value.len() + 1 > MAX_ENV_ENTRY {
            return Err(BenchError::Usage(format!(
                "{} (from {origin}) is {} bytes long, more than the {} KiB one environment variable of a process may hold (Linux's MAX_ARG_STRLEN), so no container could receive it (value not shown)\n  hint: give {} a shorter value",
                s.name,
                value.len(),
                MAX_ENV_ENTRY / 1024,
                s.name
            )));
        }
        if s.secret && !value.is_empty() && value.chars().count() < crate::text::REDACT_MIN {
            return Err(BenchError::Usage(format!(
                "{} (from {origin}) is a secret shorter than {} characters, which benchhost cannot hide in its output and logs (blanking it would blank those letters everywhere); value not shown\n  hint: give {} a value of at least {} characters",
                s.name,
                crate::text::REDACT_MIN,
                s.name,
                crate::text::REDACT_MIN
            )));
        }
    }
    Ok(())
}

/// A compose-service error about a setting the user gave is the user's to fix, not a defect of
/// the plugin: a [`BenchError::Usage`] (exit 2) keeping the plugin's message and adding where the
/// value came from. A plugin of contract 0.2 or later says so with a setting error; for an older
/// plugin, an error that starts by naming one of its declared settings (`NAME=…`, `NAME: …`,
/// `NAME must …`) is read as one. A setting error about a value the user did not give (its
/// default applies) stays the plugin's (exit 3), as does every other error.
fn users_setting_error(plugin: &LoadedPlugin, settings: &SettingsSource, mut e: crate::runtime::PluginError) -> BenchError {
    use crate::runtime::PluginErrorKind as K;
    let named = match &e.kind {
        K::Setting { name, .. } => Some(name.as_str()),
        K::Reported(message) if !plugin.contract_version().says_whose_mistake() => plugin
            .info
            .settings
            .iter()
            .find(|d| message.strip_prefix(d.name.as_str()).is_some_and(|rest| rest.starts_with('=') || rest.starts_with(": ") || rest.starts_with(' ')))
            .map(|d| d.name.as_str()),
        _ => None,
    };
    match named.and_then(|name| settings.origin(name).map(|origin| (name, origin))) {
        Some((name, origin)) => BenchError::Usage(format!(
            "{}\n  ({name} was set in {origin}; plugin \"{}\" {} refused it in compose-service)",
            e.kind, plugin.info.name, plugin.info.version
        )),
        None => {
            if let K::Setting { message, .. } = &mut e.kind {
                e.kind = K::Reported(std::mem::take(message));
            }
            e.into()
        }
    }
}

/// An image that came from a setting the user gave (e.g. `LOCALSTACK_IMAGE`) is the user's to
/// fix, not the plugin's: a [`BenchError::Usage`] (exit 2) naming the setting, where its value
/// came from ([`SettingsSource::origin`]) and the fix. Images a plugin chose itself are left to
/// [`validate_services`] (a defect of the plugin, exit 3).
fn check_user_images(plugin: &LoadedPlugin, settings: &SettingsSource, services: &[Service]) -> Result<(), BenchError> {
    for s in services {
        let Err(why) = image_problem(&s.image) else { continue };
        let Some(declared) = plugin.info.settings.iter().find(|d| settings.get(&d.name) == Some(s.image.as_str())) else { continue };
        let origin = settings.origin(&declared.name).unwrap_or_default();
        let shown: String = match s.image.char_indices().nth(200) {
            Some((cut, _)) => format!("{}…", &s.image[..cut]),
            None => s.image.clone(),
        };
        return Err(BenchError::Usage(format!(
            "{name}={shown:?} (from {origin}): image {shown:?} {why}\n  hint: give {name} a tag or a digest, e.g. {name}={example}, or unset it to use {plugin}'s default {default}",
            name = declared.name,
            example = example_pin(&s.image),
            plugin = plugin.info.name,
            default = declared.default_value,
        )));
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
