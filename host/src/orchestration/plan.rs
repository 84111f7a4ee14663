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

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 48
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_abs_path(p: &str) -> bool {
    p.starts_with('/') && !p.split('/').any(|c| c == "..") && !p.contains('\0')
}

/// Most services one profile may have.
pub const MAX_SERVICES: usize = 32;
/// Longest single environment entry (`KEY=VALUE`) or argument, in bytes: Linux refuses to
/// `exec` with a longer one (MAX_ARG_STRLEN), so the container would die at start.
pub const MAX_ARG_BYTES: usize = 128 << 10;
/// Most bytes of environment plus entrypoint plus command of one service (Linux allows about
/// 2 MiB in all, shared with what the image adds).
pub const MAX_EXEC_BYTES: usize = 1 << 20;
/// Largest config file a plugin may have written into a container.
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// Checks one plugin's services: names, images, ports, volumes, files, capabilities, durations.
fn validate_services(plugin: &LoadedPlugin, services: &[Service]) -> Result<(), String> {
    if services.is_empty() {
        return Err("returned no services".into());
    }
    if services.len() > MAX_SERVICES {
        return Err(format!("returned {} services (at most {MAX_SERVICES} per profile)", services.len()));
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
        if let Err(why) = image_problem(&s.image) {
            return Err(format!("service {n:?}: image {:?} {why}", s.image));
        }
        let mut exec_bytes = 0usize;
        for (k, v) in &s.environment {
            let why = if k.is_empty() {
                Some("has an empty name")
            } else if k.contains('=') || k.contains('\0') {
                Some("has '=' or a NUL byte in its name")
            } else if v.contains('\0') {
                Some("has a NUL byte in its value")
            } else if k.len() + 1 + v.len() > MAX_ARG_BYTES {
                Some("is longer than the 128 KiB a process may receive in one variable")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(format!("service {n:?}: environment variable {k:?} {why}"));
            }
            exec_bytes += k.len() + v.len() + 2;
        }
        for (field, argv) in [("entrypoint", &s.entrypoint), ("command", &s.command)] {
            let Some(argv) = argv else { continue };
            if argv.is_empty() {
                return Err(format!("service {n:?}: {field} [] is empty (leave it unset to use the image's)"));
            }
            // The first word is the program, unless an entrypoint comes before the command.
            if argv[0].is_empty() && (field == "entrypoint" || s.entrypoint.is_none()) {
                return Err(format!("service {n:?}: {field}[0] (the program to run) is empty"));
            }
            for (i, a) in argv.iter().enumerate() {
                if a.contains('\0') {
                    return Err(format!("service {n:?}: {field}[{i}] {a:?} has a NUL byte"));
                }
                if a.len() >= MAX_ARG_BYTES {
                    return Err(format!("service {n:?}: {field}[{i}] is {} bytes, more than the 128 KiB one argument may have", a.len()));
                }
                exec_bytes += a.len() + 1;
            }
        }
        if exec_bytes > MAX_EXEC_BYTES {
            return Err(format!("service {n:?}: environment, entrypoint and command add up to {exec_bytes} bytes (at most {MAX_EXEC_BYTES})"));
        }
        for (i, p) in s.ports.iter().enumerate() {
            if p.container == 0 || p.host == 0 {
                return Err(format!("service {n:?}: ports[{i}] maps {} -> {}; port 0 is not allowed", p.container, p.host));
            }
        }
        let mut targets = HashSet::new();
        for (i, v) in s.volumes.iter().enumerate() {
            if v.target == "/" || !targets.insert(v.target.trim_end_matches('/')) {
                return Err(format!("service {n:?}: volumes[{i}].target {:?} is \"/\" or mounted twice", v.target));
            }
        }
        if let Some(sig) = &s.stop_signal {
            let ok = sig.parse::<u8>().is_ok_and(|n| (1..=64).contains(&n))
                || (sig.starts_with("SIG") && sig.len() <= 12 && sig[3..].chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '+' || c == '-'));
            if !ok {
                return Err(format!("service {n:?}: stop-signal {sig:?} is not a signal name (SIGTERM) or number"));
            }
        }
        if let Some(u) = &s.user
            && (u.is_empty() || !u.chars().all(|c| c.is_ascii_alphanumeric() || "_.-:".contains(c))) {
                return Err(format!("service {n:?}: user {u:?} must be name|uid[:group|gid]"));
            }
        for (k, _) in &s.environment {
            if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-') {
                return Err(format!("service {n:?}: environment variable name {k:?} may only hold letters, digits, '_', '.', '-'"));
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
            if f.contents.len() > MAX_FILE_BYTES {
                return Err(format!("service {n:?}: files[{i}] {:?} has {} bytes (a config file may have at most {MAX_FILE_BYTES})", f.path, f.contents.len()));
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
            let shape_ok = match h.test.first().map(String::as_str) {
                Some("CMD") | Some("CMD-SHELL") => h.test.len() >= 2 && !h.test[1].trim().is_empty(),
                Some("NONE") => h.test.len() == 1,
                _ => false,
            };
            if !shape_ok || h.test.iter().any(|a| a.contains('\0')) {
                return Err(format!(
                    "service {n:?}: healthcheck.test {:?} must be [\"CMD\", program, args...], [\"CMD-SHELL\", \"command\"] or [\"NONE\"]",
                    h.test
                ));
            }
            // Docker refuses intervals below 1 ms and panics on some degenerate shapes: keep sane.
            if h.interval_ms < 100 || h.timeout_ms < 100 {
                return Err(format!("service {n:?}: healthcheck interval ({} ms) and timeout ({} ms) must be at least 100 ms", h.interval_ms, h.timeout_ms));
            }
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

/// What is wrong with `image` as a service's image, completing "image X ...": not a reference
/// at all (empty, whitespace, control characters), or what [`check_image_reference`] refuses.
fn image_problem(image: &str) -> Result<(), String> {
    if image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("is not an image reference".into());
    }
    check_image_reference(image)
}

/// `image` with a `:latest` tag added when it has neither tag nor digest (for hints).
fn example_pin(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') || last.contains(':') || image.is_empty() || image.chars().any(char::is_whitespace) {
        "repo:tag".into()
    } else {
        format!("{image}:latest")
    }
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
    let mut ports: HashMap<(u16, bool), (&str, &str)> = HashMap::new();
    // Ports other plugins claim for their profiles are theirs, even when those are not up.
    let claimed: HashMap<u16, (String, String)> = registry
        .profiles()
        .into_iter()
        .filter_map(|p| p.profile.port.map(|port| (port, (registry.plugin(p.plugin).info.name.clone(), p.profile.name.clone()))))
        .collect();
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
            let udp = port.transport == crate::runtime::contract::Transport::Udp;
            if let Some((svc, prof)) = ports.insert((port.host, udp), (&s.name, &p.profile)) {
                return Err(invalid(format!("service {:?} publishes host port {}, already published by {svc} ({prof})", s.name, port.host)));
            }
            if let Some((owner, prof)) = claimed.get(&port.host).filter(|(owner, _)| *owner != plugin.name) {
                return Err(invalid(format!("service {:?} publishes host port {}, which plugin {owner} claims for profile {prof}", s.name, port.host)));
            }
        }
    }
    Ok(())
}

/// Checks a Docker image reference: `[registry[:port]/]path[:tag][@sha256:<64 hex>]`, lowercase
/// path components, and pinned by a tag or a digest. The error completes "image X ...".
pub fn check_image_reference(image: &str) -> Result<(), String> {
    if image.is_empty() || image.len() > 255 || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("is not an image reference".into());
    }
    let (name_tag, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let hex = d.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
            return Err("has a malformed digest (want @sha256:<64 lowercase hex>)".into());
        }
    }
    let last_slash = name_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (&name_tag[..last_slash + i], Some(&name_tag[last_slash + i + 1..])),
        None => (name_tag, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty() && t.len() <= 128 && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') && t.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !ok {
            return Err(format!("has an invalid tag {t:?}"));
        }
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // A first component with '.' or ':' (or localhost) is a registry host[:port].
    if parts.len() > 1 && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost") {
        parts.remove(0);
    }
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            && c.ends_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
    };
    if parts.iter().any(|c| !component_ok(c)) {
        return Err("is not a valid repository name (lowercase letters, digits, '.', '_', '-')".into());
    }
    if tag.is_none() && digest.is_none() {
        return Err("is not pinned; give a tag or digest (repo:tag or repo@sha256:...)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_image_reference;

    #[test]
    fn image_references() {
        for ok in ["postgres:16-alpine", "benchhost-test/ganesha:latest", "localhost:5000/x/y:1", "images.example.com/a/b:v1.2", "apnar/nfs-ganesha@sha256:8185271b0b0e4d7c9a2c7a6f3d2a6b1c0e9f8d7c6b5a4f3e2d1c0b9a8f7e6d5c"] {
            assert_eq!(check_image_reference(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [("UPPER/Bad:", "invalid tag"), ("x:1;rm", "invalid tag"), ("UPPER/x:1", "repository"), ("nginx", "not pinned"), ("a b:1", "not an image"), ("x@sha256:12", "digest")] {
            assert!(check_image_reference(bad).unwrap_err().contains(why), "{bad}");
        }
    }
}
