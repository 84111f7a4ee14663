//! Reading files of the engine's host through a short-lived container: how `up` learns about a
//! remote engine's machine (its listening sockets, its kernel's features) without a login there. The container runs
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
    /// Errors: as [`Self::run_on_host`].
    pub async fn read_host_files(&self, image: &str, paths: &[&str], labels: &HashMap<String, String>) -> Result<String, EngineError> {
        let mut argv = vec!["cat".to_string()];
        argv.extend(paths.iter().map(|p| p.to_string()));
        let context = format!("reading {} on the engine's host (a container of {image})", paths.join(", "));
        self.run_on_host(image, argv, Vec::new(), labels, context).await
    }

    /// Runs `argv` (its first word the entrypoint) in a new container of `image` (present on
    /// the engine) in the host's network namespace with `binds` (`SRC:DST[:ro]`, as the
    /// engine's `Binds`), labelled `labels`, and returns its stdout once it exits; the
    /// container is removed in every case (stderr is dropped, the exit code not looked at).
    /// Errors: the engine's (prefixed with `context`), an image without `argv[0]`, no exit
    /// within 30 s, [`EngineError::Lost`].
    pub async fn run_on_host(&self, image: &str, argv: Vec<String>, binds: Vec<String>, labels: &HashMap<String, String>, context: String) -> Result<String, EngineError> {
        self.run_host_container(image, argv, binds, Vec::new(), labels, context).await.map(|(_, out)| out)
    }

    /// Drops the page cache of the engine's host (`sync`, then `3` into `drop_caches`: page
    /// cache, dentries and inodes) from a short-lived container of `image` (present on the
    /// engine; it needs `sh`), labelled `labels`, with `CAP_SYS_ADMIN` and the host's
    /// `/proc/sys/vm` bind-mounted at `/host-vm` (a container's own `/proc/sys` is read-only;
    /// not `--privileged`, which some engines' hosts cannot grant). For a remote engine, whose
    /// host's kernel serves the containers' files.
    /// Errors: as [`Self::run_on_host`], or the write failing (its exit code).
    pub async fn drop_host_page_cache(&self, image: &str, labels: &HashMap<String, String>) -> Result<(), EngineError> {
        let context = format!("dropping the page cache of the engine's host (a container of {image} with CAP_SYS_ADMIN)");
        let script = "sync && echo 3 > /host-vm/drop_caches";
        let argv = ["sh", "-c", script].map(String::from).to_vec();
        match self.run_host_container(image, argv, vec!["/proc/sys/vm:/host-vm".into()], vec!["SYS_ADMIN".into()], labels, context.clone()).await? {
            (0, _) => Ok(()),
            (code, _) => Err(EngineError::Api { context, detail: format!("`sh -c '{script}'` exited with {code}") }),
        }
    }

    /// [`Self::run_on_host`] with `cap_add` (capability names, e.g. `SYS_ADMIN`), returning the
    /// exit code with stdout.
    async fn run_host_container(&self, image: &str, argv: Vec<String>, binds: Vec<String>, cap_add: Vec<String>, labels: &HashMap<String, String>, context: String) -> Result<(i64, String), EngineError> {
        let (entrypoint, cmd) = match argv.split_first() {
            Some((first, rest)) => (vec![first.clone()], rest.to_vec()),
            None => return Err(EngineError::Api { context, detail: "no command".into() }),
        };
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            entrypoint: Some(entrypoint),
            cmd: Some(cmd),
            labels: Some(labels.clone()),
            host_config: Some(HostConfig {
                network_mode: Some("host".into()),
                binds: (!binds.is_empty()).then_some(binds),
                cap_add: (!cap_add.is_empty()).then_some(cap_add),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = self.docker.create_container(None::<CreateContainerOptions>, body).await.map_err(api(context.clone()))?;
        let id = created.id;
        let work = async {
            self.docker.start_container(&id, None).await.map_err(api(context.clone()))?;
            let code = self.wait_exit(&id).await?;
            let opts = LogsOptions { stdout: true, stderr: false, ..Default::default() };
            let mut stream = self.docker.logs(&id, Some(opts));
            let mut out = String::new();
            while let Some(chunk) = stream.next().await {
                out.push_str(&String::from_utf8_lossy(&chunk.map_err(api(context.clone()))?.into_bytes()));
            }
            Ok((code, out))
        };
        let result = tokio::time::timeout(LIMIT, work).await.unwrap_or_else(|_| Err(EngineError::Api { context: context.clone(), detail: format!("no exit within {}s", LIMIT.as_secs()) }));
        let _ = self.docker.remove_container(&id, Some(RemoveContainerOptions { force: true, v: true, link: false })).await;
        result
    }
}
