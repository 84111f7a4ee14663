//! Waiting on a container through the engine (its wait endpoint, a long poll) instead of
//! polling `inspect`: `up` races this against the readiness probe, so an exit during start is
//! seen at once and costs no requests while the container runs.

use super::{is_not_found, DockerEngine, EngineError};
use bollard::query_parameters::WaitContainerOptions;
use futures_util::StreamExt;
use std::time::Duration;

/// Unanswered pings in a row (each up to 3 s, 500 ms apart) after which [`DockerEngine::wait_exit`]
/// says the engine is lost.
pub const LOST_AFTER: u32 = 3;

impl DockerEngine {
    /// Resolves when the container is no longer running, with its exit code (`-1` when the
    /// engine does not say, e.g. the container was removed). Never resolves while it runs: when
    /// the wait connection ends without an answer (the client's request timeout on a long
    /// start, an engine hiccup), it asks `inspect` and waits again if the container still runs.
    /// Errors: [`EngineError::Lost`] once the engine has not answered a ping
    /// [`LOST_AFTER`] times in a row (a few seconds: its host went away, dockerd stopped).
    pub async fn wait_exit(&self, id: &str) -> Result<i64, EngineError> {
        let mut silent = 0;
        loop {
            let opts = WaitContainerOptions { condition: "not-running".into() };
            let mut stream = self.docker.wait_container(id, Some(opts));
            match stream.next().await {
                Some(Ok(r)) => return Ok(r.status_code),
                // bollard reports a non-zero exit code as an error.
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => return Ok(code),
                Some(Err(e)) if is_not_found(&e) => return Ok(-1),
                other => {
                    tracing::debug!("waiting for container {id} ended without an exit code ({other:?}); checking its state");
                    match self.container_status(id).await {
                        Ok(s) if !s.running => return Ok(s.exit_code.unwrap_or(-1)),
                        Ok(_) => silent = 0,
                        Err(e) if !self.answers().await => {
                            silent += 1;
                            if silent >= LOST_AFTER {
                                return Err(self.lost(format!("waiting for container {id}"), e.to_string()));
                            }
                        }
                        Err(_) => silent = 0,
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}
