//! Orchestration: plugins + settings + Docker engine = a running, provisioned stack.
//! Depends on [`crate::runtime`] and [`crate::engine`]; the CLI depends on it.

pub mod compose;
pub mod describe_check;
pub mod error;
pub mod gateway;
pub mod grants;
pub mod mount;
pub mod plan;
pub mod plugins;
pub mod preflight;
pub mod registry;
pub mod settings;
pub mod stack;

pub use error::BenchError;

pub use crate::runtime::redact;
