//! Errors of plugin operations. Every message starts with the plugin, its version and the
//! operation, e.g. `plugin "dittofs" 0.1.0 bootstrap: ...`, so a user knows whom to blame.

use std::fmt;
use std::time::Duration;

/// Which export (or loading step) was running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Load,
    Describe,
    ComposeService,
    Healthcheck,
    Bootstrap,
    MountOptions,
    /// `empty-cache` (the contract of `since_v0_3_0` and later), before a cold cell of `benchhost bench`.
    EmptyCache,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Load => "load",
            Operation::Describe => "describe",
            Operation::ComposeService => "compose-service",
            Operation::Healthcheck => "healthcheck",
            Operation::Bootstrap => "bootstrap",
            Operation::MountOptions => "mount-options",
            Operation::EmptyCache => "empty-cache",
        })
    }
}

/// What went wrong, classified so callers (and exit codes) can tell a guest bug from a timeout.
#[derive(Debug, thiserror::Error)]
pub enum PluginErrorKind {
    /// The guest returned `err(message)`: a plain message (contract 0.1) or a `defect`.
    #[error("{0}")]
    Reported(String),
    /// The guest refused the value of setting `name`, one it declares (contract 0.2 and later):
    /// the user's to fix when the user gave the value. `message` is the whole sentence.
    #[error("{message}")]
    Setting { name: String, message: String },
    /// The guest ran past its time budget (epoch deadline).
    #[error("timed out after {0:?} (the plugin's time budget for this operation)")]
    TimedOut(Duration),
    /// A memory grow beyond the per-instance limit was refused.
    #[error("ran out of memory (limit {0} MiB per instance)")]
    OutOfMemory(usize),
    /// The guest trapped (a Rust panic shows as `unreachable`).
    #[error("trapped: {0}")]
    Trapped(String),
    /// The file is not a loadable benchhost plugin component.
    #[error("{0}")]
    Invalid(String),
}

/// An error from one plugin operation.
#[derive(Debug)]
pub struct PluginError {
    /// Plugin name (or the file name when `describe` could not run).
    pub plugin: String,
    /// Plugin version, or `?` when unknown.
    pub version: String,
    pub operation: Operation,
    pub kind: PluginErrorKind,
    /// The tail of what the guest wrote to stderr/stdout (e.g. a panic message), if anything.
    pub guest_output: String,
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin \"{}\" {} {}: {}", self.plugin, self.version, self.operation, self.kind)?;
        if !self.guest_output.trim().is_empty() {
            write!(f, "\n  guest output:")?;
            for line in self.guest_output.trim_end().lines() {
                write!(f, "\n    {line}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for PluginError {}
