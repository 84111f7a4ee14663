//! Reading files of the engine's host through a short-lived container: how `up` learns about a
//! remote engine's machine (its listening sockets) without a login there. The container runs
//! `cat` in the host's network namespace (`--network host`), so `/proc/net/*` are the host's
//! tables; `/proc/filesystems` is the host kernel's in any container (one kernel).

use super::{api, DockerEngine, EngineError};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, LogsOptions, RemoveContainerOptions};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

/// How long the `cat` container may take from create to exit.
const LIMIT: Duration = Duration::from_secs(30);

impl DockerEngine {
    /// Runs `cat <paths>` in a new container of `image` (present on the engine) in the host's
    /// network namespace, labelled `labels`, and returns its stdout once it exits; the
    /// container is removed in every case. A path missing there only makes `cat` skip it
    /// (its stderr is dropped), so the answer holds what could be read.
    /// Errors: the engine's (naming the image), an image without `cat`, or no exit within 30 s.
    pub async fn read_host_files(&self, image: &str, paths: &[&str], labels: &HashMap<String, String>) -> Result<String, EngineError> {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            entrypoint: Some(vec!["cat".to_string()]),
            cmd: Some(paths.iter().map(|p| p.to_string()).collect()),
            labels: Some(labels.clone()),
            host_config: Some(HostConfig { network_mode: Some("host".into()), ..Default::default() }),
            ..Default::default()
        };
        let context = format!("reading {} on the engine's host (a container of {image})", paths.join(", "));
        let created = self.docker.create_container(None::<CreateContainerOptions>, body).await.map_err(api(context.clone()))?;
        let id = created.id;
        let work = async {
            self.docker.start_container(&id, None).await.map_err(api(context.clone()))?;
            self.wait_exit(&id).await;
            let opts = LogsOptions { stdout: true, stderr: false, ..Default::default() };
            let mut stream = self.docker.logs(&id, Some(opts));
            let mut out = String::new();
            while let Some(chunk) = stream.next().await {
                out.push_str(&String::from_utf8_lossy(&chunk.map_err(api(context.clone()))?.into_bytes()));
            }
            Ok(out)
        };
        let result = tokio::time::timeout(LIMIT, work).await.unwrap_or_else(|_| Err(EngineError::Api { context: context.clone(), detail: format!("no exit within {}s", LIMIT.as_secs()) }));
        let _ = self.docker.remove_container(&id, Some(RemoveContainerOptions { force: true, v: true, link: false })).await;
        result
    }
}
