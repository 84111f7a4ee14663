//! `exec(service, argv, timeout)`: a command (no shell) in one of the plugin's containers.

use crate::runtime::contract::latest::benchhost::plugin::host::ExecOutput;
use super::super::state::Imports;

impl Imports {
    /// Runs `argv` in `service`'s container through the gateway, within the timeout and the
    /// budget; the argv is logged at debug level with secrets replaced by `***`.
    pub(in super::super) async fn exec(&self, service: String, argv: Vec<String>, timeout_ms: u32) -> Result<ExecOutput, String> {
        if argv.is_empty() {
            return Err("exec needs a non-empty argv".into());
        }
        let timeout = self.bounded(timeout_ms);
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(plugin = %self.plugin, %service, "exec {}", crate::text::redact(&format!("{argv:?}"), &self.secrets()));
        }
        let r = self.gateway.exec(&service, argv, timeout).await;
        r.map(|r| ExecOutput { exit_code: r.exit_code, stdout: r.stdout, stderr: r.stderr })
    }
}
