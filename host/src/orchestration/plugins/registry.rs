//! The set of loaded plugins: built-in ones (embedded in the binary) plus third-party `*.wasm`
//! files from `BENCHHOST_PLUGIN_PATH` (`:`-separated directories or `.wasm` files) and the per-user plugin
//! directory (`$XDG_DATA_HOME/benchhost/plugins`). A third-party plugin that fails to load is
//! reported and skipped; the others still work.

use crate::orchestration::error::BenchError;
use crate::runtime::contract::{Profile, Role};
use crate::runtime::{LoadedPlugin, PluginError, PluginRuntime, RuntimeOptions};

use std::path::PathBuf;

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// Where a plugin came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    File(PathBuf),
}

/// One loaded plugin.
#[derive(Debug)]
pub struct RegisteredPlugin {
    pub plugin: LoadedPlugin,
    pub origin: Origin,
    /// SHA-256 of the component's bytes (hex), recorded in each run's `run.json`.
    pub sha256: String,
}

/// All plugins, and the errors of those that failed to load.
pub struct Registry {
    pub runtime: PluginRuntime,
    pub plugins: Vec<RegisteredPlugin>,
    pub load_errors: Vec<PluginError>,
    /// Third-party plugins left out because they claim a profile or port another plugin has.
    pub conflicts: Vec<String>,
}

/// A profile together with the index of its plugin in [`Registry::plugins`].
#[derive(Clone, Debug)]
pub struct ProfileRef<'a> {
    pub profile: &'a Profile,
    pub plugin: usize,
}

impl Registry {
    /// A runtime configured from the environment ([`RuntimeOptions::from_env`]) with every
    /// plugin loaded ([`Registry::load`]). Errors: the runtime cannot start (exit 1), as `load`.
    pub async fn start() -> Result<Self, BenchError> {
        let runtime = PluginRuntime::new(RuntimeOptions::from_env()).map_err(|e| BenchError::Other(format!("{e:#}")))?;
        Self::load(runtime).await
    }

    /// Secret values the runtime removes from what plugins log and report.
    pub fn set_redactions(&self, secrets: &[String]) {
        self.runtime.set_redactions(secrets.to_vec());
    }

    /// Loads the built-in plugins and every `*.wasm` in the plugin directories
    /// ([`plugin_dirs`]), compiling them concurrently.
    pub async fn load(runtime: PluginRuntime) -> Result<Self, BenchError> {
        let mut files = Vec::new();
        for dir in plugin_dirs() {
            // An entry may also name one `.wasm` file.
            if dir.extension().is_some_and(|e| e == "wasm") && !dir.is_dir() {
                files.push(dir);
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "wasm")).collect();
            found.sort();
            files.extend(found);
        }
        Self::load_files(runtime, &files).await
    }

    /// Loads the built-in plugins plus exactly `files`. Errors only if a *built-in* plugin
    /// fails (a build defect). A third-party plugin that fails to load, or claims a profile or
    /// port another plugin has, is left out and reported in [`Registry::load_errors`] /
    /// [`Registry::conflicts`].
    pub async fn load_files(runtime: PluginRuntime, files: &[PathBuf]) -> Result<Self, BenchError> {
        let mut sources: Vec<(Origin, String, Vec<u8>)> = BUILTIN_PLUGINS
            .iter()
            .map(|(name, bytes)| (Origin::BuiltIn, format!("built-in plugin {name}"), bytes.to_vec()))
            .collect();
        // Unreadable files are reported like any plugin that fails to load (tracing is not set
        // up yet when the CLI loads the registry, so a log line would be lost).
        let mut unreadable = Vec::new();
        for f in files {
            match read_plugin_file(f) {
                Ok(bytes) => sources.push((Origin::File(f.clone()), f.display().to_string(), bytes)),
                Err(e) => unreadable.push(PluginError {
                    plugin: f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    version: "?".into(),
                    operation: crate::runtime::Operation::Load,
                    kind: crate::runtime::PluginErrorKind::Invalid(format!("{} cannot be read: {e}", f.display())),
                    guest_output: String::new(),
                }),
            }
        }
        let loads = sources.iter().map(|(_, label, bytes)| runtime.load(label, bytes));
        let results = futures_util::future::join_all(loads).await;
        let mut registry = Registry { runtime, plugins: Vec::new(), load_errors: unreadable, conflicts: Vec::new() };
        for ((origin, _, bytes), result) in sources.into_iter().zip(results) {
            let sha256 = sha256_hex(&bytes);
            // What describe returned must be valid too; third-party plugins get the stricter rules.
            // (The runtime's own error type, as `load` returns it.)
            #[allow(clippy::result_large_err)]
            let result = result.and_then(|plugin| {
                match crate::orchestration::validate::describe::check_info(&plugin.info, matches!(origin, Origin::File(_))) {
                    Ok(()) => Ok(plugin),
                    Err(message) => Err(PluginError {
                        plugin: crate::orchestration::validate::describe::printable_text(&plugin.info.name),
                        version: crate::orchestration::validate::describe::printable_text(&plugin.info.version),
                        operation: crate::runtime::Operation::Describe,
                        kind: crate::runtime::PluginErrorKind::Invalid(crate::orchestration::validate::describe::printable_text(&message)),
                        guest_output: String::new(),
                    }),
                }
            });
            match (result, &origin) {
                (Ok(plugin), Origin::BuiltIn) => registry.plugins.push(RegisteredPlugin { plugin, origin, sha256 }),
                (Ok(plugin), Origin::File(_)) => match registry.conflict_with(&plugin) {
                    Some(msg) => registry.conflicts.push(msg),
                    None => registry.plugins.push(RegisteredPlugin { plugin, origin, sha256 }),
                },
                (Err(e), Origin::BuiltIn) => return Err(e.into()),
                (Err(e), Origin::File(_)) => registry.load_errors.push(e),
            }
        }
        Ok(registry)
    }

    /// Every profile of every plugin, in load order.
    pub fn profiles(&self) -> Vec<ProfileRef<'_>> {
        self.plugins
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.plugin.info.profiles.iter().map(move |profile| ProfileRef { profile, plugin: i }))
            .collect()
    }

    /// The profile named `name`, or a usage error listing the known ones.
    pub fn find(&self, name: &str) -> Result<ProfileRef<'_>, BenchError> {
        self.profiles().into_iter().find(|p| p.profile.name == name).ok_or_else(|| {
            let guess = self.closest_profile(name).map(|g| format!("; did you mean {g:?}?")).unwrap_or_default();
            BenchError::Usage(format!("unknown profile {name:?}{guess}\n\nknown profiles:\n{}", self.profile_table(None)))
        })
    }

    /// The known profile most like `name` (a typo, a wrong case, a missing or extra suffix), if
    /// one is close enough to suggest: Jaro-Winkler similarity of at least 0.8 (as clap does for
    /// subcommands), or `name` is a prefix of exactly one profile.
    pub fn closest_profile(&self, name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        let profiles = self.profiles();
        let prefixed: Vec<&str> = profiles.iter().map(|p| p.profile.name.as_str()).filter(|p| p.starts_with(&lower) && !lower.is_empty()).collect();
        if let [only] = prefixed.as_slice() {
            return Some(only.to_string());
        }
        profiles
            .iter()
            .map(|p| (strsim::jaro_winkler(&lower, &p.profile.name), p.profile.name.clone()))
            .filter(|(score, _)| *score >= 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, name)| name)
    }

    /// The plugin at `index`.
    pub fn plugin(&self, index: usize) -> &LoadedPlugin {
        &self.plugins[index].plugin
    }

    /// One line per profile: name, role, description (for `--help` and errors). With `width`
    /// (columns), a description that does not fit wraps onto lines indented under it.
    pub fn profile_table(&self, width: Option<usize>) -> String {
        let profiles = self.profiles();
        let name_width = profiles.iter().map(|p| p.profile.name.len()).max().unwrap_or(0);
        let indent = " ".repeat(name_width + 4);
        profiles
            .iter()
            .map(|p| {
                let role = if p.profile.role == Role::Infrastructure { " [infrastructure]" } else { "" };
                let third = match self.plugins[p.plugin].origin {
                    Origin::File(_) => " [third-party]",
                    Origin::BuiltIn => "",
                };
                let line = format!("  {:name_width$}  {}{role}{third}", p.profile.name, p.profile.description);
                match width {
                    Some(w) if line.chars().count() > w => textwrap::wrap(&line, textwrap::Options::new(w).subsequent_indent(&indent)).join("\n"),
                    _ => line,
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Why `candidate` cannot join: a profile name or published port another plugin claims.
    fn conflict_with(&self, candidate: &LoadedPlugin) -> Option<String> {
        let origin = |p: &LoadedPlugin| p.origin.clone();
        for new in &candidate.info.profiles {
            for have in self.profiles() {
                let owner = self.plugin(have.plugin);
                if new.name == have.profile.name {
                    return Some(format!(
                        "profile {:?} is claimed by two plugins: {} ({}) and {} ({}); the second is not loaded",
                        new.name, owner.info.name, origin(owner), candidate.info.name, origin(candidate)
                    ));
                }
                if let Some(port) = new.port.filter(|p| owner.info.name != candidate.info.name && Some(*p) == have.profile.port) {
                    return Some(format!(
                        "port {} is claimed by two plugins: {} (profile {}, {}) and {} (profile {}, {}); the second is not loaded",
                        port, owner.info.name, have.profile.name, origin(owner), candidate.info.name, new.name, origin(candidate)
                    ));
                }
            }
        }
        None
    }
}

/// Largest plugin file benchhost reads (64 MiB; built-in plugins are 80-210 KiB).
pub const MAX_PLUGIN_FILE: u64 = 64 << 20;

/// Reads a plugin file: a regular file (not a FIFO or device, even through a symlink) of at
/// most [`MAX_PLUGIN_FILE`] bytes.
pub fn read_plugin_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_PLUGIN_FILE {
        return Err(format!("{} bytes is more than the {} MiB a plugin may have", meta.len(), MAX_PLUGIN_FILE >> 20));
    }
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(MAX_PLUGIN_FILE + 1).read_to_end(&mut bytes)).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_PLUGIN_FILE {
        return Err("grew past the size limit while being read".into());
    }
    Ok(bytes)
}

/// `BENCHHOST_PLUGIN_PATH` entries, then the per-user plugin directory.
pub fn plugin_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("BENCHHOST_PLUGIN_PATH")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    if let Some(d) = user_plugin_dir() {
        dirs.push(d);
    }
    dirs
}

/// `BENCHHOST_PLUGIN_DIR`, else `$XDG_DATA_HOME/benchhost/plugins` (or
/// `~/.local/share/benchhost/plugins`): where `benchhost plugin install` puts plugins.
pub fn user_plugin_dir() -> Option<PathBuf> {
    match std::env::var_os("BENCHHOST_PLUGIN_DIR") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => dirs::data_dir().map(|d| d.join("benchhost").join("plugins")),
    }
}

/// How a plugin file is identified in run records and install checksums.
pub use crate::text::sha256_hex;
