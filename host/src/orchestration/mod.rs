//! Orchestration: plugins + settings + Docker engine = a running, provisioned stack.
//! Depends on [`crate::runtime`] and [`crate::engine`]; the CLI depends on it.

pub mod compose;
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

/// Replaces every occurrence of each secret in `text` with `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 3) {
        out = out.replace(s.as_str(), "***");
    }
    out
}
