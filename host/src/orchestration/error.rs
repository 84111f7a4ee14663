//! The error of a benchhost command, classified for the exit code (see README "Exit codes").

use crate::engine::{EngineError, ResourceKind};
use crate::runtime::PluginError;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Bad command-line input or settings (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A plugin trapped, timed out, or reported an error (exit 3), or refused a setting (exit 2).
    /// (Boxed: it is the largest variant, and every `Result` carries the error's size.)
    #[error(transparent)]
    Plugin(Box<PluginError>),
    /// A plugin returned something the host refuses (exit 3).
    #[error("plugin \"{plugin}\" {version} {operation}: {message}")]
    InvalidPluginOutput { plugin: String, version: String, operation: &'static str, message: String },
    /// The Docker engine failed or refused (exit 4).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Names the run would create are taken by resources benchhost did not make (exit 4).
    #[error("{}", name_taken_message(.0))]
    NameTaken(Vec<(crate::engine::ResourceKind, String)>),
    /// `cause` came with containers short of memory (`containers`, each `NAME (what)`). When one
    /// was `killed` by the kernel, the memory limit is the cause: the user's when they set it
    /// (`setting`: `BENCH_MEM_LIMIT=… (from …)`, exit 2), else exit 1. When they were only near
    /// it, `cause` keeps its exit code and this is a likely reason.
    #[error("{cause}\n  {}: {} {}", if *killed { "out of memory" } else { "maybe short of memory" }, containers.join(", "), match setting {
        Some(s) => format!("under {s}\n  hint: raise BENCH_MEM_LIMIT (every system gets the same limit)"),
        None => "under BENCH_MEM_LIMIT's default (4g)\n  hint: set BENCH_MEM_LIMIT higher (every system gets the same limit)".to_string(),
    })]
    OutOfMemory { cause: Box<BenchError>, containers: Vec<String>, killed: bool, setting: Option<String> },
    /// A service did not become ready in time (exit 5).
    #[error("{0}")]
    Timeout(String),
    /// The Docker host lacks something a profile needs, e.g. the kernel NFS server (exit 6).
    #[error("{0}")]
    HostUnsupported(String),
    /// `vm run`: the client VM did not reach the job, or the job did not end, within its limit;
    /// a client VM session: it did not boot, or a step did not end, within its limit. The VM was
    /// stopped (exit 124, as timeout(1)).
    #[error("{0}")]
    JobTimedOut(String),
    /// SIGINT/SIGTERM (exit 130).
    #[error("interrupted; removed what this run had created")]
    Interrupted,
    /// Anything else (exit 1).
    #[error("{0}")]
    Other(String),
}

impl From<PluginError> for BenchError {
    fn from(e: PluginError) -> Self {
        BenchError::Plugin(Box::new(e))
    }
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
            BenchError::Engine(_) | BenchError::NameTaken(_) => 4,
            BenchError::OutOfMemory { killed: true, setting: Some(_), .. } => 2,
            BenchError::OutOfMemory { killed: true, setting: None, .. } => 1,
            BenchError::OutOfMemory { cause, .. } => cause.exit_code(),
            BenchError::Timeout(_) => 5,
            BenchError::HostUnsupported(_) => 6,
            BenchError::JobTimedOut(_) => 124,
            BenchError::Interrupted => 130,
        }
    }
}

/// The message of [`BenchError::NameTaken`]: what is taken, why it is refused, how to free it.
pub(crate) fn name_taken_message(taken: &[(ResourceKind, String)]) -> String {
    let what: Vec<String> = taken.iter().map(|(kind, name)| format!("{} {name}", kind.noun())).collect();
    // `-f`: a user's container may be running.
    let removes: Vec<String> = taken
        .iter()
        .map(|(kind, name)| if *kind == ResourceKind::Container { format!("docker container rm -f {name}") } else { format!("docker {} rm {name}", kind.noun()) })
        .collect();
    let (exist, was, names, them) = if taken.len() == 1 { ("exists", "was", "that name", "it") } else { ("exist", "were", "those names", "them") };
    format!(
        "{} already {exist} and {was} not made by benchhost (no {} label): benchhost needs {names} for this run and never uses or removes what it did not create\n  hint: rename or remove {them} if you no longer need {them} (`{}`), then rerun",
        what.join(", "),
        crate::orchestration::labels::LABEL_MANAGED,
        removes.join("; ")
    )
}
