//! Orchestration: plugins + settings + Docker engine = a running, provisioned stack.
//! Depends on [`crate::runtime`] and [`crate::engine`]; the CLI depends on it.

pub mod clean;
pub mod compose;
pub mod data_dirs;
pub mod describe_check;
pub mod doctor;
pub mod dry_run;
pub mod error;
pub mod gateway;
pub mod grants;
pub mod host_mount;
pub mod labels;
pub mod log_lines;
pub mod mount;
pub mod opt_in;
pub mod page_cache;
pub mod plan;
pub mod plugins;
pub mod preflight;
pub mod progress;
pub mod registry;
pub mod results;
pub mod run_lock;
pub mod settings;
pub mod source_build;
pub mod stack;

pub use error::BenchError;

pub use crate::text::redact;
