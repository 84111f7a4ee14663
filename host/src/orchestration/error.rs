//! The error of a benchhost command, classified for the exit code (see README "Exit codes").

use crate::engine::EngineError;
use crate::runtime::PluginError;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Bad command-line input or settings (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A plugin trapped, timed out, or reported an error (exit 3), or refused a setting (exit 2).
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// A plugin returned something the host refuses (exit 3).
    #[error("plugin \"{plugin}\" {version} {operation}: {message}")]
    InvalidPluginOutput { plugin: String, version: String, operation: &'static str, message: String },
    /// The Docker engine failed or refused (exit 4).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A service did not become ready in time (exit 5).
    #[error("{0}")]
    Timeout(String),
    /// The Docker host lacks something a profile needs, e.g. the kernel NFS server (exit 6).
    #[error("{0}")]
    HostUnsupported(String),
    /// `vm run`: the client VM did not reach the job, or the job did not end, within its limit;
    /// the VM was stopped (exit 124, as timeout(1)).
    #[error("{0}")]
    JobTimedOut(String),
    /// SIGINT/SIGTERM (exit 130).
    #[error("interrupted; removed what this run had created")]
    Interrupted,
    /// Anything else (exit 1).
    #[error("{0}")]
    Other(String),
}

impl BenchError {
    /// What the user can do about a plugin's defect (trap, timeout, out of memory, refused
    /// output), shown after the error; `None` for other errors, whose messages carry their own.
    pub fn hint(&self) -> Option<String> {
        use crate::runtime::PluginErrorKind as K;
        let (plugin, version, what) = match self {
            BenchError::Plugin(e) if matches!(e.kind, K::TimedOut(_) | K::Trapped(_) | K::OutOfMemory(_)) && e.version != "?" => {
                (&e.plugin, &e.version, "failed inside its own code")
            }
            BenchError::InvalidPluginOutput { plugin, version, .. } => (plugin, version, "returned something benchhost refuses"),
            _ => return None,
        };
        Some(format!(
            "plugin \"{plugin}\" {version} {what}: a defect of the plugin, not of your settings. Report it to the plugin's author; a third-party plugin can be left out (`benchhost plugin remove {plugin}`, or take it out of BENCHHOST_PLUGIN_PATH)"
        ))
    }

    /// The process exit code for this error (README "Exit codes").
    pub fn exit_code(&self) -> i32 {
        match self {
            BenchError::Other(_) => 1,
            BenchError::Usage(_) => 2,
            BenchError::Plugin(e) if matches!(e.kind, crate::runtime::PluginErrorKind::Setting { .. }) => 2,
            BenchError::Plugin(_) | BenchError::InvalidPluginOutput { .. } => 3,
            BenchError::Engine(_) => 4,
            BenchError::Timeout(_) => 5,
            BenchError::HostUnsupported(_) => 6,
            BenchError::JobTimedOut(_) => 124,
            BenchError::Interrupted => 130,
        }
    }
}
