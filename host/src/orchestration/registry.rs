//! The set of loaded plugins: built-in ones (embedded in the binary) plus third-party `*.wasm`
//! files from `BENCHHOST_PLUGIN_PATH` (`:`-separated directories) and the per-user plugin
//! directory (`$XDG_DATA_HOME/benchhost/plugins`). A third-party plugin that fails to load is
//! reported and skipped; the others still work.

use super::error::BenchError;
use crate::runtime::contract::{Profile, Role};
use crate::runtime::{LoadedPlugin, PluginError, PluginRuntime};
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
}

/// All plugins, and the errors of those that failed to load.
pub struct Registry {
    pub runtime: PluginRuntime,
    pub plugins: Vec<RegisteredPlugin>,
    pub load_errors: Vec<PluginError>,
}

/// A profile together with the index of its plugin in [`Registry::plugins`].
#[derive(Clone, Debug)]
pub struct ProfileRef<'a> {
    pub profile: &'a Profile,
    pub plugin: usize,
}

impl Registry {
    /// Loads the built-in plugins and every `*.wasm` in the plugin directories, compiling them
    /// concurrently. Errors only if a *built-in* plugin fails (a build defect) or two plugins
    /// claim the same profile or port.
    pub async fn load(runtime: PluginRuntime) -> Result<Self, BenchError> {
        let mut sources: Vec<(Origin, String, Vec<u8>)> = BUILTIN_PLUGINS
            .iter()
            .map(|(name, bytes)| (Origin::BuiltIn, format!("built-in plugin {name}"), bytes.to_vec()))
            .collect();
        let mut load_errors = Vec::new();
        for dir in plugin_dirs() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "wasm")).collect();
            files.sort();
            for f in files {
                match std::fs::read(&f) {
                    Ok(bytes) => sources.push((Origin::File(f.clone()), f.display().to_string(), bytes)),
                    Err(e) => tracing::warn!("skipping plugin {}: {e}", f.display()),
                }
            }
        }
        let loads = sources.iter().map(|(_, label, bytes)| runtime.load(label, bytes));
        let results = futures_util::future::join_all(loads).await;
        let mut plugins = Vec::new();
        for ((origin, _, _), result) in sources.into_iter().zip(results) {
            match (result, &origin) {
                (Ok(plugin), _) => plugins.push(RegisteredPlugin { plugin, origin }),
                (Err(e), Origin::BuiltIn) => return Err(e.into()),
                (Err(e), Origin::File(_)) => load_errors.push(e),
            }
        }
        let registry = Registry { runtime, plugins, load_errors };
        registry.check_unique()?;
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
            BenchError::Usage(format!("unknown profile {name:?}\n\nknown profiles:\n{}", self.profile_table()))
        })
    }

    /// The plugin at `index`.
    pub fn plugin(&self, index: usize) -> &LoadedPlugin {
        &self.plugins[index].plugin
    }

    /// One line per profile: name, role, description (for `--help` and errors).
    pub fn profile_table(&self) -> String {
        let profiles = self.profiles();
        let width = profiles.iter().map(|p| p.profile.name.len()).max().unwrap_or(0);
        profiles
            .iter()
            .map(|p| {
                let role = if p.profile.role == Role::Infrastructure { " [infrastructure]" } else { "" };
                let third = match self.plugins[p.plugin].origin {
                    Origin::File(_) => " [third-party]",
                    Origin::BuiltIn => "",
                };
                format!("  {:width$}  {}{role}{third}", p.profile.name, p.profile.description)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Two plugins may not claim one profile name or one published port.
    fn check_unique(&self) -> Result<(), BenchError> {
        let profiles = self.profiles();
        for (i, a) in profiles.iter().enumerate() {
            for b in &profiles[i + 1..] {
                let (pa, pb) = (self.plugin(a.plugin), self.plugin(b.plugin));
                if a.profile.name == b.profile.name {
                    return Err(BenchError::Usage(format!(
                        "profile {:?} is claimed by two plugins: {} ({}) and {} ({})",
                        a.profile.name, pa.info.name, pa.origin, pb.info.name, pb.origin
                    )));
                }
                if a.plugin != b.plugin && a.profile.port.is_some() && a.profile.port == b.profile.port {
                    return Err(BenchError::Usage(format!(
                        "port {} is claimed by two plugins: {} (profile {}) and {} (profile {})",
                        a.profile.port.unwrap(), pa.info.name, a.profile.name, pb.info.name, b.profile.name
                    )));
                }
            }
        }
        Ok(())
    }
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

/// `$XDG_DATA_HOME/benchhost/plugins` (or `~/.local/share/benchhost/plugins`).
pub fn user_plugin_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("benchhost").join("plugins"))
}
