//! `benchhost plugin new|check|install|list|remove`: third-party plugins, written (the crate
//! comes from [`crate::orchestration::plugins::scaffold`]), checked as `up` would plan and
//! validate every profile, installed into the per-user plugin directory with a checksum, listed
//! and removed.
//!
//! Installed plugins live in [`user_plugin_dir`] as `<name>.wasm` with a `<name>.wasm.sha256`
//! beside it (the checksum at install time, `sha256sum` format), so a later change is visible.

use crate::orchestration::error::BenchError;
use crate::orchestration::plan;
use crate::orchestration::plan::settings::SettingsSource;
use crate::orchestration::plugins::registry::{sha256_hex, user_plugin_dir, Registry};
use crate::orchestration::plugins::scaffold;
use crate::runtime::contract::{HostOs, PluginInfo};
use crate::runtime::{version, PluginRuntime, RuntimeOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What `plugin new` wrote, and the commands to go on with.
#[derive(Debug)]
pub struct Scaffolded {
    pub files: Vec<PathBuf>,
    /// The shell commands to build, check, install and start it, in order.
    pub next: Vec<String>,
}

/// Writes a new plugin crate `name` in `dir` (default `./<name>`) on the SDK at `sdk` (default: a
/// copy of the SDK this benchhost was built with, written into the crate), publishing `port`.
/// Errors (usage, nothing written): an invalid name, a non-empty `dir`, a profile name or a
/// host port a loaded plugin already claims (the new plugin would be refused when it loads).
pub fn new(registry: &Registry, name: &str, dir: Option<PathBuf>, sdk: Option<PathBuf>, port: u16) -> Result<Scaffolded, BenchError> {
    if let Ok(taken) = registry.find(name) {
        let owner = &registry.plugin(taken.plugin).info;
        return Err(BenchError::Usage(format!(
            "profile {name:?} is already plugin \"{}\" {}'s; a plugin that claims it again would not load\n  hint: choose another name, e.g. {name}2",
            owner.name, owner.version
        )));
    }
    if let Some(taken) = registry.profiles().into_iter().find(|p| p.profile.port == Some(port)) {
        let owner = &registry.plugin(taken.plugin).info;
        return Err(BenchError::Usage(format!(
            "host port {port} is profile {}'s (plugin \"{}\" {}); a plugin that claims it again would not load\n  hint: choose another with --port, one no loaded plugin claims (`benchhost list` shows them)",
            taken.profile.name, owner.name, owner.version
        )));
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    let files = scaffold::scaffold(name, &dir, sdk.as_deref(), port)?;
    let krate = format!("benchhost_plugin_{}", name.replace('-', "_"));
    let next = vec![
        format!("cd {} && cargo build --release --target wasm32-wasip2", dir.display()),
        format!("benchhost plugin check target/wasm32-wasip2/release/{krate}.wasm"),
        format!("benchhost plugin install target/wasm32-wasip2/release/{krate}.wasm"),
        format!("benchhost up {name} --allow {name}:cap-add:DAC_READ_SEARCH --allow {name}:cap-add:SYS_ADMIN"),
    ];
    Ok(Scaffolded { files, next })
}

/// `check`'s verdict on a report: the plugin's defect (exit 3) listing every problem.
pub fn verdict(report: &CheckReport) -> Result<(), BenchError> {
    if report.problems.is_empty() {
        return Ok(());
    }
    Err(BenchError::InvalidPluginOutput {
        plugin: report.name.clone(),
        version: report.version.clone(),
        operation: "check",
        message: format!("{} problem(s):\n{}", report.problems.len(), bullets(&report.problems)),
    })
}

/// `  - item` lines, or `  (none)`.
pub fn bullets(items: &[String]) -> String {
    if items.is_empty() {
        return "  (none)".into();
    }
    items.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n")
}

/// What `plugin check` found: the plugin's facts and every problem.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CheckReport {
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub profiles: Vec<String>,
    /// `NAME=default` (secrets shown as `NAME=***`).
    pub settings: Vec<String>,
    pub capabilities: Vec<String>,
    /// `--allow` flags `up` will need (third-party plugins get nothing by default).
    pub grants_needed: Vec<String>,
    pub problems: Vec<String>,
}

/// Loads `file` next to the built-in plugins, runs compose-service for every profile with the
/// default settings and validates the result exactly as `up` does.
pub async fn check(file: &Path) -> Result<CheckReport, BenchError> {
    let bytes = crate::orchestration::plugins::registry::read_plugin_file(file).map_err(|e| BenchError::Usage(format!("reading {}: {e}", file.display())))?;
    let runtime = PluginRuntime::new(RuntimeOptions::from_env()).map_err(|e| BenchError::Other(format!("{e:#}")))?;
    let mut registry = Registry::load_files(runtime, &[file.to_path_buf()]).await?;
    if !registry.load_errors.is_empty() {
        return Err(registry.load_errors.remove(0).into());
    }
    if let Some(c) = registry.conflicts.first() {
        return Err(BenchError::Usage(c.clone()));
    }
    let index = registry
        .plugins
        .iter()
        .position(|p| p.origin == crate::orchestration::plugins::registry::Origin::File(file.to_path_buf()))
        .expect("the checked plugin is loaded");
    let info: &PluginInfo = &registry.plugin(index).info;
    // Loading succeeded, so the file parses.
    let facts = version::read_facts(&bytes).unwrap_or_default();
    let mut problems = Vec::new();
    if info.profiles.is_empty() {
        problems.push("declares no profiles".to_string());
    }
    // Shapes are checked as if the user granted everything; what needs a grant is reported.
    let defaults = SettingsSource::from_map(HashMap::new()).with_allow(&[format!("{}:all", info.name)]);
    for p in &info.profiles {
        for os in [HostOs::Linux, HostOs::Macos] {
            match plan::plan(&registry, &defaults, &p.name, os).await {
                Ok(planned) => {
                    let target = planned.profiles.last().expect("target planned");
                    if p.role == crate::runtime::contract::Role::Target {
                        match registry.runtime.mount_options(registry.plugin(index), &target.ctx).await {
                            Ok(spec) => {
                                let checked = crate::orchestration::host::mount_command::at_server(&spec, "127.0.0.1")
                                    .and_then(|spec| crate::orchestration::host::mount_command::mount_command(&spec, os, "/mnt/x"));
                                if let Err(e) = checked {
                                    problems.push(format!("profile {} mount-options (for {}): {e}", p.name, os_name(os)));
                                }
                            }
                            Err(e) => problems.push(format!("profile {} (for {}): {e}", p.name, os_name(os))),
                        }
                    }
                }
                Err(e) => problems.push(format!("profile {} (for {}): {e}", p.name, os_name(os))),
            }
        }
    }
    problems.dedup();
    let caps = &info.capabilities;
    let mut capabilities = Vec::new();
    if caps.privileged {
        capabilities.push("privileged".to_string());
    }
    capabilities.extend(caps.cap_add.iter().map(|c| format!("cap-add {c}")));
    capabilities.extend(caps.devices.iter().map(|d| format!("device {d}")));
    capabilities.extend(caps.host_binds.iter().map(|b| format!("host-bind {b}")));
    capabilities.extend(caps.host_kernel.iter().map(|k| format!("host-kernel {k}")));
    Ok(CheckReport {
        name: info.name.clone(),
        version: info.version.clone(),
        api_version: facts.api_version().unwrap_or("?").to_string(),
        profiles: info.profiles.iter().map(|p| format!("{} ({}, {}): {}", p.name, p.protocol, if p.role == crate::runtime::contract::Role::Target { "target" } else { "infrastructure" }, p.description)).collect(),
        settings: info.settings.iter().map(|s| if s.secret { format!("{}=*** (secret)", s.name) } else { format!("{}={}", s.name, s.default_value) }).collect(),
        capabilities,
        grants_needed: crate::orchestration::plugins::grants::declared(info).iter().map(|c| format!("--allow {}:{c}", info.name)).collect(),
        problems,
    })
}

fn os_name(os: HostOs) -> &'static str {
    match os {
        HostOs::Linux => "Linux",
        HostOs::Macos => "macOS",
        HostOs::Other => "another OS",
    }
}

/// An installed plugin.
#[derive(Debug, serde::Serialize)]
pub struct Installed {
    pub name: String,
    pub file: PathBuf,
    pub sha256: String,
    /// Whether the file still has the checksum recorded at install time.
    pub unchanged: bool,
    /// `install` only: what was installed under this name before (`"0.1.0"`, or
    /// `"0.1.0 (identical)"` when the same file was installed again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<String>,
}

fn install_dir() -> Result<PathBuf, BenchError> {
    user_plugin_dir().ok_or_else(|| BenchError::Usage("no per-user data directory; set BENCHHOST_PLUGIN_DIR".into()))
}

/// Checks `file` (refusing it on any problem), then copies it to the plugin directory as
/// `<name>.wasm` with its checksum. An installed plugin of the same name is replaced when its
/// version differs (an upgrade or a downgrade) or the file is identical; one of the same version
/// with other contents is refused (usage error: results could no longer be told apart by
/// version) unless `force`.
pub async fn add(file: &Path, force: bool) -> Result<(CheckReport, Installed), BenchError> {
    let report = check(file).await?;
    if !report.problems.is_empty() {
        return Err(BenchError::Usage(format!("not installing {}: {}", file.display(), report.problems.join("; "))));
    }
    let dir = install_dir()?;
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::Other(format!("creating {}: {e}", dir.display())))?;
    let bytes = crate::orchestration::plugins::registry::read_plugin_file(file).map_err(|e| BenchError::Other(format!("reading {}: {e}", file.display())))?;
    let sha = sha256_hex(&bytes);
    let dest = dir.join(format!("{}.wasm", report.name));
    let replaced = match std::fs::read(&dest) {
        Err(_) => None,
        Ok(old) if sha256_hex(&old) == sha => Some(format!("{} (identical)", report.version)),
        Ok(old) => {
            let old_version = match check(&dest).await {
                Ok(r) => r.version,
                Err(_) => "an unreadable version".to_string(),
            };
            if old_version == report.version && !force {
                return Err(BenchError::Usage(format!(
                    "plugin {} {} is already installed as {} with other contents (sha256 {} there, {sha} here); a plugin's version must change when it does, or runs of the two cannot be told apart\n  hint: raise the plugin's version, or replace it anyway with `benchhost plugin install --force {}`",
                    report.name,
                    report.version,
                    dest.display(),
                    sha256_hex(&old),
                    file.display()
                )));
            }
            Some(old_version)
        }
    };
    let tmp = dir.join(format!(".{}.wasm.tmp", report.name));
    std::fs::write(&tmp, &bytes).and_then(|_| std::fs::rename(&tmp, &dest)).map_err(|e| BenchError::Other(format!("writing {}: {e}", dest.display())))?;
    std::fs::write(dir.join(format!("{}.wasm.sha256", report.name)), format!("{sha}  {}.wasm\n", report.name))
        .map_err(|e| BenchError::Other(format!("writing checksum: {e}")))?;
    Ok((report.clone(), Installed { name: report.name.clone(), file: dest, sha256: sha, unchanged: true, replaced }))
}

/// The installed plugins, with whether each still matches its recorded checksum.
pub fn list() -> Result<Vec<Installed>, BenchError> {
    let dir = install_dir()?;
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(vec![]) };
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "wasm")).collect();
    files.sort();
    for f in files {
        let name = f.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let sha = std::fs::read(&f).map(|b| sha256_hex(&b)).unwrap_or_default();
        let recorded = std::fs::read_to_string(dir.join(format!("{name}.wasm.sha256"))).unwrap_or_default();
        let unchanged = recorded.split_whitespace().next() == Some(sha.as_str());
        out.push(Installed { name, file: f, sha256: sha, unchanged, replaced: None });
    }
    Ok(out)
}

/// Removes the installed plugin `name`. Errors (usage) when it is not installed.
pub fn remove(name: &str) -> Result<PathBuf, BenchError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err(BenchError::Usage(format!("{name:?} is not a plugin name ([a-z0-9-]); see `benchhost plugin list`")));
    }
    let dir = install_dir()?;
    let file = dir.join(format!("{name}.wasm"));
    if !file.exists() {
        let names: Vec<String> = list()?.into_iter().map(|i| i.name).collect();
        return Err(BenchError::Usage(format!("plugin {name:?} is not installed in {} (installed: {})", dir.display(), if names.is_empty() { "none".into() } else { names.join(", ") })));
    }
    std::fs::remove_file(&file).map_err(|e| BenchError::Other(format!("removing {}: {e}", file.display())))?;
    let _ = std::fs::remove_file(dir.join(format!("{name}.wasm.sha256")));
    Ok(file)
}
