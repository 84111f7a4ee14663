//! What a command run in a container returned: the Docker engine produces it, the plugin
//! runtime's `exec` import hands it to the plugin.

/// Output of a command run in a container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecResult {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}
