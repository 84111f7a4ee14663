//! Container logs as a stream of engine frames: saved into a run's results before `down`
//! removes the container, or shown by `benchhost logs [--follow]`.

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
    /// A container's output as the engine frames it (one line, or one piece of a line longer
    /// than 16 KiB, per item): the last `tail` lines (all when `None`), then, with `follow`,
    /// what it writes until it stops or the stream is dropped. With `timestamps`, every item
    /// starts with its RFC 3339 time and a space.
    pub fn logs_stream(&self, id: &str, follow: bool, tail: Option<usize>, timestamps: bool) -> impl Stream<Item = Result<LogLine, String>> + '_ {
        let opts = LogsOptions {
            stdout: true,
            stderr: true,
            follow,
            timestamps,
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
