//! The Docker engine, through the Engine API (bollard). The only module that names bollard.
//!
//! Talks to the engine the Docker CLI would use (`DOCKER_HOST`, `DOCKER_CONTEXT`, the CLI's
//! current context, the default socket: [`endpoint`]), negotiating the API version (Debian's
//! Docker 20.10 speaks API 1.41 and refuses newer clients) and sending only fields 1.41 knows.
//! Every resource it creates carries the labels the caller gives, so `down` and cleanup can
//! find exactly what a run created.

pub mod endpoint;
mod host_files;
mod images;
mod logs;
mod memory;
mod names;
mod request;
mod spec;
mod stats;
mod wait;

pub use endpoint::{Endpoint, EndpointError};
pub use images::{BuiltImage, ImageInfo};
pub use logs::LogLine;
pub use memory::MemoryUse;
pub use names::ResourceKind;
pub use stats::{SpanUse, StatSample};
pub use spec::{ContainerSpec, FileSpec, MountSource, MountSpec, PublishedPort};

use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthStatusEnum, NetworkCreateRequest, NetworkingConfig,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, ListContainersOptions, ListNetworksOptions,
    ListVolumesOptions, LogsOptions, RemoveContainerOptions, RemoveVolumeOptions,
    RestartContainerOptions, StopContainerOptions, UploadToContainerOptions,
};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

pub use crate::exec::ExecResult;

/// Failures talking to the engine, classified for messages and exit codes.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// `endpoint` is the engine's URL, `origin` what named it (`DOCKER_HOST`, ...), `hint`
    /// what to do where the engine runs.
    #[error("the Docker engine is not reachable at {endpoint} ({origin}): {detail}\n  hint: {hint}")]
    Unreachable { endpoint: String, origin: String, detail: String, hint: String },
    /// The configured engine address cannot be used (an unknown context, a bad address,
    /// missing TLS files), before anything is dialled.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("image {image} is not present locally and could not be pulled: {detail}\n  hint: {hint}")]
    ImageUnavailable { image: String, detail: String, hint: String },
    #[error("host port {port} is already in use{holder}\n  hint: stop whatever holds it (`ss -ltnp 'sport = :{port}'`), or `benchhost down` the profile that uses it")]
    PortInUse { port: u16, holder: String },
    #[error("{context}: {detail}")]
    Api { context: String, detail: String },
    /// The engine answered when the command connected and stopped answering while it worked
    /// (its host went away, dockerd stopped): `endpoint` and `origin` as in `Unreachable`,
    /// `during` what was being done, `detail` the last error seen.
    #[error("the Docker engine at {endpoint} ({origin}) stopped answering while {during}: {detail}\n  hint: {hint}")]
    Lost { endpoint: String, origin: String, during: String, detail: String, hint: String },
    #[error("building image {tag} from {context} failed: {detail}\n  hint: check that `docker build {context}` works, or unset the *_SRC setting to use the pinned image; with no image registry, a Dockerfile whose FROM images are not present cannot build: run a locally built image instead (`make local-images`, README \"No image registry\")")]
    Build { context: String, tag: String, detail: String },
}

fn api(context: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> EngineError {
    let context = context.into();
    move |e| EngineError::Api { context, detail: docker_message(&e) }
}

/// The engine's own message when there is one (it is what a user can act on).
fn docker_message(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, message } => format!("{message} (HTTP {status_code})"),
        other => crate::text::error_chain(other),
    }
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

/// State of a container as seen by `inspect`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerStatus {
    pub running: bool,
    /// Exit code once it stopped.
    pub exit_code: Option<i64>,
    /// `starting`, `healthy`, `unhealthy`, or `None` without a healthcheck.
    pub health: Option<String>,
    /// `Status` text, e.g. `running`, `exited`.
    pub status: String,
    /// The last healthcheck output, for messages.
    pub last_health_output: Option<String>,
}

/// A labelled resource found by [`DockerEngine::list_labelled`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labelled {
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
    /// Container state text (`running`, `exited`); empty for networks and volumes.
    pub state: String,
}

/// Everything carrying a label filter.
#[derive(Clone, Debug, Default)]
pub struct LabelledResources {
    pub containers: Vec<Labelled>,
    pub networks: Vec<Labelled>,
    pub volumes: Vec<Labelled>,
}

impl LabelledResources {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.volumes.is_empty()
    }
}

/// A connection to one Docker engine.
#[derive(Clone)]
pub struct DockerEngine {
    docker: Docker,
    /// Where the engine is and what named it.
    pub endpoint: Endpoint,
    /// The negotiated Engine API version, e.g. `1.41`.
    pub api_version: String,
    /// Engine version, e.g. `20.10.24+dfsg1`.
    pub engine_version: String,
    /// The engine's own id (`docker info`'s `ID`, the same from every client and whatever
    /// `DOCKER_HOST` names it by), or the endpoint when the engine has none.
    pub engine_id: String,
    /// CPUs the engine's host has (`docker info`'s `NCPU`), when it says: the most a
    /// container's CPU limit may be.
    pub cpus: Option<u32>,
    /// Memory of the engine's host in bytes (`MemTotal`), when it says.
    pub memory_bytes: Option<u64>,
}

impl DockerEngine {
    /// Connects to the engine the Docker CLI would use (see [`endpoint`]) and negotiates the
    /// API version. Errors: [`EngineError::Endpoint`] for a configuration that names no usable
    /// engine, [`EngineError::Unreachable`] with a hint.
    pub async fn connect() -> Result<Self, EngineError> {
        let endpoint = endpoint::resolve(&endpoint::DockerEnv::from_process())?;
        Self::connect_to(endpoint).await
    }

    /// Connects to `endpoint` and negotiates the API version; no answer within 10 s is
    /// [`EngineError::Unreachable`].
    pub async fn connect_to(endpoint: Endpoint) -> Result<Self, EngineError> {
        let unreachable = |detail: String| EngineError::Unreachable {
            endpoint: endpoint.url(),
            origin: endpoint.origin.to_string(),
            hint: unreachable_hint(&endpoint, &detail),
            detail: detail.trim_end().replace('\n', ""),
        };
        let docker = client(&endpoint).map_err(|e| unreachable(docker_message(&e)))?;
        let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
            .await
            .map_err(|_| unreachable("no answer within 10 s".into()))?
            .map_err(|e| unreachable(docker_message(&e)))?;
        let (version, info) = futures_util::future::try_join(docker.version(), docker.info()).await.map_err(|e| unreachable(docker_message(&e)))?;
        Ok(DockerEngine {
            api_version: docker.client_version().to_string(),
            engine_version: version.version.unwrap_or_default(),
            engine_id: info.id.filter(|id| !id.is_empty()).unwrap_or_else(|| endpoint.url()),
            cpus: info.ncpu.filter(|n| *n > 0).map(|n| n as u32),
            memory_bytes: info.mem_total.filter(|n| *n > 0).map(|n| n as u64),
            endpoint,
            docker,
        })
    }

    /// Whether the engine answers a ping within 3 s (it may have stopped since [`Self::connect`]).
    pub async fn answers(&self) -> bool {
        matches!(tokio::time::timeout(Duration::from_secs(3), self.docker.ping()).await, Ok(Ok(_)))
    }

    /// [`EngineError::Lost`] for this engine: it stopped answering while `during` (e.g.
    /// `"waiting for container X"`), `detail` the last error seen.
    pub fn lost(&self, during: impl Into<String>, detail: impl Into<String>) -> EngineError {
        EngineError::Lost {
            endpoint: self.endpoint.url(),
            origin: self.endpoint.origin.to_string(),
            during: during.into(),
            detail: detail.into(),
            hint: unreachable_hint(&self.endpoint, ""),
        }
    }

    /// `engine <version> API <api> at <url> (<origin>)`: which engine a command uses.
    pub fn describe(&self) -> String {
        format!("engine {} API {} at {}", self.engine_version, self.api_version, self.endpoint)
    }

    /// Makes sure `image` is present: inspects it, and pulls it when missing. `progress` gets
    /// pull status lines. Errors: [`EngineError::ImageUnavailable`] naming the image and `hint`.
    pub async fn ensure_image(&self, image: &str, hint: &str, mut progress: impl FnMut(&str)) -> Result<(), EngineError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(api(format!("inspecting image {image}"))(e)),
        }
        progress(&format!("pulling {image}"));
        let opts = CreateImageOptions { from_image: Some(image.to_string()), ..Default::default() };
        let mut stream = self.docker.create_image(Some(opts), None, None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(status) = info.status {
                        progress(&format!("{image}: {status}"));
                    }
                }
                Err(e) => {
                    return Err(EngineError::ImageUnavailable { image: image.into(), detail: docker_message(&e), hint: hint.into() });
                }
            }
        }
        Ok(())
    }

    /// Creates a bridge network with `labels`. Returns its id.
    pub async fn create_network(&self, name: &str, labels: &HashMap<String, String>) -> Result<String, EngineError> {
        let req = NetworkCreateRequest {
            name: name.into(),
            driver: Some("bridge".into()),
            labels: Some(labels.clone()),
            ..Default::default()
        };
        let r = self.docker.create_network(req).await.map_err(api(format!("creating network {name}")))?;
        // The engine allows two networks of one name (CheckDuplicate left the API): one made by
        // someone else since `up` checked the names makes ours go again.
        if self.named(ResourceKind::Network, name).await?.len() > 1 {
            self.remove_network(&r.id).await?;
            return Err(EngineError::Api {
                context: format!("creating network {name}"),
                detail: "another network of that name appeared while up was running; this run's was removed (benchhost never shares a name with what it did not create)".into(),
            });
        }
        Ok(r.id)
    }

    /// Creates a named volume with `labels`; with `bind_dir` (an existing directory on the
    /// engine's host), the volume's data is that directory.
    pub async fn create_volume(&self, name: &str, labels: &HashMap<String, String>, bind_dir: Option<&str>) -> Result<(), EngineError> {
        // The local driver's bind options make a named volume whose data is `bind_dir` (on the
        // engine's host): it is labelled, listed and removed like any volume, and an empty one
        // is filled from the image (ownership included) on first mount.
        let driver_opts = bind_dir.map(|dir| {
            HashMap::from([("type".to_string(), "none".to_string()), ("o".to_string(), "bind".to_string()), ("device".to_string(), dir.to_string())])
        });
        let req = VolumeCreateRequest {
            name: Some(name.into()),
            labels: Some(labels.clone()),
            driver: bind_dir.map(|_| "local".to_string()),
            driver_opts,
            ..Default::default()
        };
        let made = self.docker.create_volume(req).await.map_err(api(format!("creating volume {name}")))?;
        // For a name that exists, the engine answers with that volume as it is: one made by
        // someone else since `up` checked the names is refused, not used.
        if labels.iter().any(|(k, v)| made.labels.get(k) != Some(v)) {
            return Err(EngineError::Api {
                context: format!("creating volume {name}"),
                detail: "a volume of that name appeared while up was running and is not this run's; it was not used (benchhost never adopts what it did not create)".into(),
            });
        }
        Ok(())
    }

    /// Creates (but does not start) a container from `spec` and writes `spec.files` into it.
    /// Returns the container id.
    pub async fn create_container(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        let body: ContainerCreateBody = spec.to_create_body();
        let mut endpoints = HashMap::new();
        endpoints.insert(spec.network.clone(), EndpointSettings { aliases: Some(spec.aliases.clone()), ..Default::default() });
        let body = ContainerCreateBody { networking_config: Some(NetworkingConfig { endpoints_config: Some(endpoints) }), ..body };
        let opts = CreateContainerOptions { name: Some(spec.name.clone()), ..Default::default() };
        let created = self
            .docker
            .create_container(Some(opts), body)
            .await
            .map_err(api(format!("creating container {}", spec.name)))?;
        if !spec.files.is_empty() {
            let tar = spec::files_tar(&spec.files).map_err(|e| EngineError::Api {
                context: format!("packing files for {}", spec.name),
                detail: e.to_string(),
            })?;
            let opts = UploadToContainerOptions { path: "/".into(), ..Default::default() };
            self.docker
                .upload_to_container(&created.id, Some(opts), bollard::body_full(tar.into()))
                .await
                .map_err(api(format!("writing config files into {}", spec.name)))?;
        }
        Ok(created.id)
    }

    /// Starts a created container. A port clash becomes [`EngineError::PortInUse`].
    pub async fn start_container(&self, id: &str, name: &str) -> Result<(), EngineError> {
        self.docker.start_container(id, None).await.map_err(|e| {
            let msg = docker_message(&e);
            match port_in_use(&msg) {
                Some(port) => EngineError::PortInUse { port, holder: String::new() },
                None => EngineError::Api { context: format!("starting container {name}"), detail: msg },
            }
        })
    }

    /// Restarts a running container: its stop signal, SIGKILL after `grace` (or its own stop
    /// timeout when `None`), then started again with the same file system, volumes and port
    /// bindings (`POST /containers/{id}/restart`). Errors: the engine's, naming `name`.
    pub async fn restart_container(&self, id: &str, name: &str, grace: Option<Duration>) -> Result<(), EngineError> {
        let opts = RestartContainerOptions { t: grace.map(|g| g.as_secs().max(1) as i32), signal: None };
        self.docker.restart_container(id, Some(opts)).await.map_err(api(format!("restarting container {name}")))
    }

    /// Inspects a container's state and health.
    pub async fn container_status(&self, id: &str) -> Result<ContainerStatus, EngineError> {
        let r = self.docker.inspect_container(id, None).await.map_err(api(format!("inspecting container {id}")))?;
        let state = r.state.unwrap_or_default();
        let health = state.health.as_ref().and_then(|h| h.status).and_then(|s| match s {
            HealthStatusEnum::EMPTY | HealthStatusEnum::NONE => None,
            other => Some(other.to_string()),
        });
        let last_health_output = state
            .health
            .as_ref()
            .and_then(|h| h.log.as_ref())
            .and_then(|l| l.last())
            .and_then(|l| l.output.clone());
        let running = state.running.unwrap_or(false);
        Ok(ContainerStatus {
            running,
            exit_code: if running { None } else { state.exit_code },
            health,
            status: state.status.map(|s| s.to_string()).unwrap_or_default(),
            last_health_output,
        })
    }

    /// The last `lines` lines of a container's stdout+stderr.
    pub async fn logs_tail(&self, id: &str, lines: usize) -> String {
        let opts = LogsOptions { stdout: true, stderr: true, tail: lines.to_string(), ..Default::default() };
        let mut stream = self.docker.logs(id, Some(opts));
        let mut out = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        out
    }

    /// Runs `argv` (no shell) in a running container, bounded by `timeout`.
    pub async fn exec(&self, id: &str, argv: Vec<String>, timeout: Duration) -> Result<ExecResult, String> {
        let work = async {
            let exec = self
                .docker
                .create_exec(id, CreateExecOptions { attach_stdout: Some(true), attach_stderr: Some(true), cmd: Some(argv), ..Default::default() })
                .await
                .map_err(|e| docker_message(&e))?;
            let mut stdout = String::new();
            let mut stderr = String::new();
            if let StartExecResults::Attached { mut output, .. } = self.docker.start_exec(&exec.id, None).await.map_err(|e| docker_message(&e))? {
                while let Some(msg) = output.next().await {
                    match msg.map_err(|e| docker_message(&e))? {
                        bollard::container::LogOutput::StdErr { message } => stderr.push_str(&String::from_utf8_lossy(&message)),
                        other => stdout.push_str(&String::from_utf8_lossy(&other.into_bytes())),
                    }
                }
            }
            let inspect = self.docker.inspect_exec(&exec.id).await.map_err(|e| docker_message(&e))?;
            Ok(ExecResult { exit_code: inspect.exit_code.unwrap_or(-1), stdout, stderr })
        };
        tokio::time::timeout(timeout, work).await.map_err(|_| format!("exec timed out after {timeout:?}"))?
    }

    /// Containers (running or not), networks and volumes carrying `label=value`.
    pub async fn list_labelled(&self, label: &str, value: &str) -> Result<LabelledResources, EngineError> {
        let filter = HashMap::from([("label".to_string(), vec![format!("{label}={value}")])]);
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions { all: true, filters: Some(filter.clone()), ..Default::default() }))
            .await
            .map_err(api("listing containers"))?
            .into_iter()
            .map(|c| Labelled {
                id: c.id.unwrap_or_default(),
                name: c.names.and_then(|n| n.first().cloned()).unwrap_or_default().trim_start_matches('/').to_string(),
                labels: c.labels.unwrap_or_default(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
            })
            .collect();
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions { filters: Some(filter.clone()) }))
            .await
            .map_err(api("listing networks"))?
            .into_iter()
            .map(|n| Labelled {
                id: n.id.unwrap_or_default(),
                name: n.name.unwrap_or_default(),
                labels: n.labels.unwrap_or_default(),
                state: String::new(),
            })
            .collect();
        let volumes = self
            .docker
            .list_volumes(Some(ListVolumesOptions { filters: Some(filter) }))
            .await
            .map_err(api("listing volumes"))?
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| Labelled { id: v.name.clone(), name: v.name, labels: v.labels, state: String::new() })
            .collect();
        Ok(LabelledResources { containers, networks, volumes })
    }

    /// Stops (its stop signal, then SIGKILL after `grace`, or after the container's own stop
    /// timeout when `None`) and removes a container with its anonymous volumes (an image's
    /// `VOLUME` that no named volume covers); absent is fine.
    pub async fn remove_container(&self, id: &str, grace: Option<Duration>) -> Result<(), EngineError> {
        let stop = StopContainerOptions { t: grace.map(|g| g.as_secs().max(1) as i32), signal: None };
        match self.docker.stop_container(id, Some(stop)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            // 304 "already stopped" and similar: remove with force below anyway.
            Err(_) => {}
        }
        match self.docker.remove_container(id, Some(RemoveContainerOptions { force: true, v: true, link: false })).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("removing container {id}"))(e)),
        }
    }

    /// Removes a network; absent is fine.
    pub async fn remove_network(&self, id: &str) -> Result<(), EngineError> {
        match self.docker.remove_network(id).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("removing network {id}"))(e)),
        }
    }

    /// Whether a volume called `name` exists (an engine error counts as "no").
    pub async fn volume_exists(&self, name: &str) -> bool {
        self.named(ResourceKind::Volume, name).await.is_ok_and(|found| !found.is_empty())
    }

    /// Removes a volume; absent is fine.
    pub async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        match self.docker.remove_volume(name, Some(RemoveVolumeOptions { force: true })).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("removing volume {name}"))(e)),
        }
    }
}

/// Seconds bollard waits for one request (its own default).
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// A bollard client for `endpoint` (nothing is dialled yet).
fn client(endpoint: &Endpoint) -> Result<Docker, bollard::errors::Error> {
    use endpoint::Address;
    let url = endpoint.url();
    let version = bollard::API_DEFAULT_VERSION;
    match &endpoint.address {
        Address::Unix(_) => Docker::connect_with_unix(&url, REQUEST_TIMEOUT_SECS, version),
        Address::Tcp { tls: None, .. } => Docker::connect_with_http(&url, REQUEST_TIMEOUT_SECS, version),
        Address::Tcp { tls: Some(t), .. } => Docker::connect_with_ssl(&url, &t.key, &t.cert, &t.ca, REQUEST_TIMEOUT_SECS, version),
        Address::Ssh { .. } => Docker::connect_with_ssh(&url, REQUEST_TIMEOUT_SECS, version, None),
    }
}

/// What to do when `endpoint` does not answer (`detail` is what went wrong): start this
/// machine's engine, or the remote one (and check what names it); speak TLS to an engine that
/// does.
fn unreachable_hint(endpoint: &Endpoint, detail: &str) -> String {
    // dockerd's answer to plain HTTP on a TLS listener.
    if detail.contains("Client sent an HTTP request to an HTTPS server") {
        return format!(
            "{} speaks TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to a directory with its ca.pem and this client's cert.pem and key.pem (or use a context created with ca=,cert=,key=)",
            endpoint.url()
        );
    }
    // rustls's words for the two sides of a failed handshake.
    if let endpoint::Address::Tcp { tls: Some(files), .. } = &endpoint.address {
        if detail.contains("invalid peer certificate") {
            return format!(
                "the engine's certificate does not verify against {} (it must be signed by that CA and name the address dialled, {}): point DOCKER_CERT_PATH at the ca.pem of the CA that signed the engine's certificate (dockerd's --tlscacert side)",
                files.ca.display(),
                endpoint.host().unwrap_or("the engine's host")
            );
        }
        if detail.contains("BadCertificate") || detail.contains("CertificateRequired") || detail.contains("UnknownCA") || detail.contains("certificate required") {
            return format!(
                "the engine refused this client's certificate ({}): it must be signed by the CA the engine trusts (dockerd --tlscacert) for client authentication",
                files.cert.display()
            );
        }
        // With TLS 1.3 the engine checks the client's certificate after the client thinks the
        // handshake done, so a refusal can surface only as a connection closed before the answer.
        if detail.contains("connection was not ready") || detail.contains("connection closed before message completed") {
            return format!(
                "the engine closed the TLS connection before answering, which is how it refuses a client certificate it does not trust: check that this client's certificate ({}) is signed by the CA the engine trusts (dockerd --tlscacert) for client authentication",
                files.cert.display()
            );
        }
    }
    let unset = match &endpoint.origin {
        endpoint::Origin::DockerHost => "or set DOCKER_HOST",
        endpoint::Origin::DockerContext(_) => "or unset DOCKER_CONTEXT",
        endpoint::Origin::CurrentContext { .. } => "or `docker context use default`",
        endpoint::Origin::Default => "or set DOCKER_HOST",
    };
    match (endpoint.host(), &endpoint.address) {
        (Some(host), endpoint::Address::Ssh { .. }) => format!(
            "check `ssh {host} docker version` (benchhost runs `docker system dial-stdio` there through ssh, with no password prompt), {unset} for this machine's engine"
        ),
        (Some(host), _) => format!(
            "start the engine on {host} (`sudo systemctl start docker` there) and check that it listens on {} and that this machine can reach it, {unset} for this machine's engine",
            endpoint.url()
        ),
        (None, _) => format!("start Docker (`sudo systemctl start docker`, or `sudo dockerd &`), {unset}"),
    }
}

/// The port in an engine "port is already allocated" / "address already in use" message.
fn port_in_use(msg: &str) -> Option<u16> {
    if !(msg.contains("port is already allocated") || msg.contains("address already in use")) {
        return None;
    }
    // "Bind for 0.0.0.0:22049 failed: ..." or "listen tcp4 127.0.0.1:22049: bind: ..."
    msg.split(|c: char| !c.is_ascii_digit() && c != ':' && c != '.')
        .filter_map(|tok| tok.trim_end_matches([':', '.']).rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()))
        .next()
}

#[cfg(test)]
mod tests {
    use super::port_in_use;

    #[test]
    fn port_in_use_is_read_from_both_engine_messages() {
        assert_eq!(port_in_use("driver failed programming external connectivity on endpoint x: Bind for 0.0.0.0:22049 failed: port is already allocated"), Some(22049));
        assert_eq!(port_in_use("Error starting userland proxy: listen tcp4 127.0.0.1:12049: bind: address already in use"), Some(12049));
        assert_eq!(port_in_use("no such image"), None);
    }
}
