//! The error of a benchhost command, classified for the exit code (see README "Exit codes").

use crate::engine::EngineError;
use crate::runtime::PluginError;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Bad command-line input or settings (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A plugin trapped, timed out, or reported an error (exit 3).
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
    /// SIGINT/SIGTERM (exit 130).
    #[error("interrupted; removed what this run had created")]
    Interrupted,
    /// Anything else (exit 1).
    #[error("{0}")]
    Other(String),
}

impl BenchError {
    /// The process exit code for this error (README "Exit codes").
    pub fn exit_code(&self) -> i32 {
        match self {
            BenchError::Other(_) => 1,
            BenchError::Usage(_) => 2,
            BenchError::Plugin(_) | BenchError::InvalidPluginOutput { .. } => 3,
            BenchError::Engine(_) => 4,
            BenchError::Timeout(_) => 5,
            BenchError::HostUnsupported(_) => 6,
            BenchError::Interrupted => 130,
        }
    }
}
