//! Waiting on a container through the engine (its wait endpoint, a long poll) instead of
//! polling `inspect`: `up` races this against the readiness probe, so an exit during start is
//! seen at once and costs no requests while the container runs.

use super::{is_not_found, DockerEngine};
use bollard::query_parameters::WaitContainerOptions;
use futures_util::StreamExt;
use std::time::Duration;

impl DockerEngine {
    /// Resolves when the container is no longer running, with its exit code (`-1` when the
    /// engine does not say, e.g. the container was removed). Never resolves while it runs: when
    /// the wait connection ends without an answer (the client's request timeout on a long
    /// start, an engine hiccup), it asks `inspect` and waits again if the container still runs.
    pub async fn wait_exit(&self, id: &str) -> i64 {
        loop {
            let opts = WaitContainerOptions { condition: "not-running".into() };
            let mut stream = self.docker.wait_container(id, Some(opts));
            match stream.next().await {
                Some(Ok(r)) => return r.status_code,
                // bollard reports a non-zero exit code as an error.
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => return code,
                Some(Err(e)) if is_not_found(&e) => return -1,
                other => {
                    tracing::debug!("waiting for container {id} ended without an exit code ({other:?}); checking its state");
                    match self.container_status(id).await {
                        Ok(s) if !s.running => return s.exit_code.unwrap_or(-1),
                        _ => tokio::time::sleep(Duration::from_millis(500)).await,
                    }
                }
            }
        }
    }
}
