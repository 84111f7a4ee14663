//! `log(level, message)`: a line in benchhost's log, prefixed with the plugin's name.

use crate::runtime::contract::latest::benchhost::plugin::host::Level;
use super::super::state::Imports;

/// Longest line a plugin may log, in characters; the rest is cut.
const MAX_LOG_LINE: usize = 4096;

impl Imports {
    /// Logs `message` at `level` with secrets replaced by `***`, control characters escaped
    /// and newlines shown as `\n`; info and above also go to the gateway (the run record keeps
    /// bootstrap's).
    pub(in super::super) fn log(&self, level: Level, message: String) {
        let message: String = message.chars().take(MAX_LOG_LINE).collect();
        let message = crate::text::printable_text(&crate::text::redact(&message, &self.secrets())).replace('\n', "\\n");
        let p = &self.plugin;
        match level {
            Level::Debug => tracing::debug!("[{p}] {message}"),
            Level::Info => tracing::info!("[{p}] {message}"),
            Level::Warn => tracing::warn!("[{p}] {message}"),
            Level::Error => tracing::error!("[{p}] {message}"),
        }
        match level {
            Level::Debug => {}
            Level::Info => self.gateway.note(&message),
            Level::Warn => self.gateway.note(&format!("warning: {message}")),
            Level::Error => self.gateway.note(&format!("error: {message}")),
        }
    }
}
