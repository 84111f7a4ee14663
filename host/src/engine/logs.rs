//! Container logs: all of them (saved into a run's results before `down` removes the
//! container) or streamed (`benchhost logs --follow`).

use super::{docker_message, DockerEngine};
use bollard::query_parameters::LogsOptions;
use futures_util::{Stream, StreamExt};

/// One chunk of a container's output (usually one line, newline included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// `true` for stderr.
    pub stderr: bool,
    pub text: String,
}

impl DockerEngine {
    /// Every line a container wrote to stdout and stderr, in order, each prefixed with its
    /// RFC 3339 timestamp from the engine. Errors carry the engine's message.
    pub async fn logs_all(&self, id: &str) -> Result<String, String> {
        let opts = LogsOptions { stdout: true, stderr: true, timestamps: true, tail: "all".into(), ..Default::default() };
        let mut stream = self.docker.logs(id, Some(opts));
        let mut out = String::new();
        while let Some(chunk) = stream.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk.map_err(|e| docker_message(&e))?.into_bytes()));
        }
        Ok(out)
    }

    /// A container's output: the last `tail` lines (all when `None`), then, with `follow`, what
    /// it writes until it stops or the stream is dropped.
    pub fn logs_stream(&self, id: &str, follow: bool, tail: Option<usize>) -> impl Stream<Item = Result<LogLine, String>> + '_ {
        let opts = LogsOptions {
            stdout: true,
            stderr: true,
            follow,
            tail: tail.map(|t| t.to_string()).unwrap_or_else(|| "all".into()),
            ..Default::default()
        };
        self.docker.logs(id, Some(opts)).map(|chunk| {
            let chunk = chunk.map_err(|e| docker_message(&e))?;
            let stderr = matches!(chunk, bollard::container::LogOutput::StdErr { .. });
            Ok(LogLine { stderr, text: String::from_utf8_lossy(&chunk.into_bytes()).into_owned() })
        })
    }
}
