//! The engine's description of one container, independent of the plugin contract, and its
//! translation into an Engine API 1.41 create body.
//!
//! Every container is created with Docker's healthcheck off (`Healthcheck.Test = ["NONE"]`,
//! which also overrides a `HEALTHCHECK` in the image): a Docker healthcheck runs every interval
//! for the container's whole life, so also while a benchmark measures the system. Whoever needs
//! a service's health runs its test on demand (`DockerEngine::exec`).

use bollard::models::{
    ContainerCreateBody, DeviceMapping, HealthConfig, HostConfig, Mount, MountBindOptions, MountBindOptionsPropagationEnum, MountType,
    MountVolumeOptions, PortBinding,
};
use std::collections::HashMap;
use std::time::Duration;

/// A published port: container port to `host_ip:host`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PublishedPort {
    pub container: u16,
    pub host: u16,
    pub udp: bool,
    /// Address the host side binds, e.g. `127.0.0.1`.
    pub host_ip: String,
}

/// Where a mount comes from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum MountSource {
    /// A named volume (already created).
    Volume(String),
    /// RAM-backed tmpfs.
    Tmpfs,
    /// A host path.
    Bind(String),
    /// A host path with `rshared` propagation (mounts made inside appear on the host).
    BindShared(String),
}

/// One mount into the container.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MountSpec {
    pub source: MountSource,
    pub target: String,
    pub read_only: bool,
}

/// A file written into the container before start.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FileSpec {
    /// Absolute path in the container.
    pub path: String,
    pub contents: String,
    pub mode: u32,
}

/// Everything needed to create one container.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ContainerSpec {
    /// Container name (unique on the engine).
    pub name: String,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    pub ports: Vec<PublishedPort>,
    pub mounts: Vec<MountSpec>,
    pub files: Vec<FileSpec>,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub devices: Vec<String>,
    pub user: Option<String>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<Duration>,
    /// CPU cap in CPUs (e.g. 2.0).
    pub cpus: f64,
    /// Memory cap in bytes (swap capped to the same value: no swap).
    pub memory_bytes: i64,
    pub labels: HashMap<String, String>,
    /// Network (name) to attach to, with `aliases` as DNS names.
    pub network: String,
    pub aliases: Vec<String>,
}

impl ContainerSpec {
    /// The create body, with only fields Engine API 1.41 knows.
    pub(super) fn to_create_body(&self) -> ContainerCreateBody {
        let mut port_bindings = HashMap::new();
        let mut exposed = Vec::new();
        for p in &self.ports {
            let key = format!("{}/{}", p.container, if p.udp { "udp" } else { "tcp" });
            exposed.push(key.clone());
            port_bindings.insert(
                key,
                Some(vec![PortBinding { host_ip: Some(p.host_ip.clone()), host_port: Some(p.host.to_string()) }]),
            );
        }
        let mounts = self
            .mounts
            .iter()
            .map(|m| match &m.source {
                MountSource::Volume(name) => Mount {
                    typ: Some(MountType::VOLUME),
                    source: Some(name.clone()),
                    target: Some(m.target.clone()),
                    read_only: Some(m.read_only),
                    // The volume is created (labelled) before the container; should it be gone
                    // when the create lands (a create still in flight while an interrupted `up`
                    // sweeps), the engine makes it anew, and with these labels the sweep finds it.
                    volume_options: Some(MountVolumeOptions { labels: Some(self.labels.clone()), ..Default::default() }),
                    ..Default::default()
                },
                MountSource::Tmpfs => Mount { typ: Some(MountType::TMPFS), target: Some(m.target.clone()), ..Default::default() },
                MountSource::Bind(path) => Mount {
                    typ: Some(MountType::BIND),
                    source: Some(path.clone()),
                    target: Some(m.target.clone()),
                    read_only: Some(m.read_only),
                    ..Default::default()
                },
                MountSource::BindShared(path) => Mount {
                    typ: Some(MountType::BIND),
                    source: Some(path.clone()),
                    target: Some(m.target.clone()),
                    read_only: Some(m.read_only),
                    bind_options: Some(MountBindOptions { propagation: Some(MountBindOptionsPropagationEnum::RSHARED), ..Default::default() }),
                    ..Default::default()
                },
            })
            .collect();
        let devices = self
            .devices
            .iter()
            .map(|d| DeviceMapping {
                path_on_host: Some(d.clone()),
                path_in_container: Some(d.clone()),
                cgroup_permissions: Some("rwm".into()),
            })
            .collect::<Vec<_>>();
        let host_config = HostConfig {
            port_bindings: Some(port_bindings),
            mounts: Some(mounts),
            nano_cpus: Some((self.cpus * 1e9) as i64),
            memory: Some(self.memory_bytes),
            memory_swap: Some(self.memory_bytes),
            privileged: Some(self.privileged),
            cap_add: (!self.cap_add.is_empty()).then(|| self.cap_add.clone()),
            devices: (!devices.is_empty()).then_some(devices),
            network_mode: Some(self.network.clone()),
            ..Default::default()
        };
        ContainerCreateBody {
            image: Some(self.image.clone()),
            entrypoint: self.entrypoint.clone(),
            cmd: self.cmd.clone(),
            env: Some(self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            exposed_ports: Some(exposed),
            labels: Some(self.labels.clone()),
            user: self.user.clone(),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout.map(|d| d.as_secs().max(1) as i64),
            // Off, also when the image declares one (see the module docs).
            healthcheck: Some(HealthConfig { test: Some(vec!["NONE".to_string()]), ..Default::default() }),
            host_config: Some(host_config),
            ..Default::default()
        }
    }
}

/// A tar archive (to extract at `/`) holding `files` with their modes.
pub(super) fn files_tar(files: &[FileSpec]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for f in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(f.contents.len() as u64);
        header.set_mode(f.mode);
        header.set_mtime(0);
        header.set_cksum();
        builder.append_data(&mut header, f.path.trim_start_matches('/'), f.contents.as_bytes())?;
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_volume_the_engine_creates_on_the_fly_carries_the_container_labels() {
        let labels = HashMap::from([("benchhost.managed".to_string(), "true".to_string()), ("benchhost.run-id".to_string(), "r1".to_string())]);
        let spec = ContainerSpec {
            name: "c".into(),
            image: "i".into(),
            mounts: vec![
                MountSpec { source: MountSource::Volume("benchhost-p-data".into()), target: "/data".into(), read_only: false },
                MountSpec { source: MountSource::Tmpfs, target: "/tmp".into(), read_only: false },
            ],
            labels: labels.clone(),
            ..Default::default()
        };
        let mounts = spec.to_create_body().host_config.and_then(|h| h.mounts).unwrap_or_default();
        assert_eq!(mounts.len(), 2);
        assert_eq!(mounts[0].source.as_deref(), Some("benchhost-p-data"));
        assert_eq!(mounts[0].volume_options.as_ref().and_then(|o| o.labels.clone()), Some(labels));
        assert_eq!(mounts[1].volume_options, None, "a tmpfs has no volume to label");
    }

    #[test]
    fn every_container_has_dockers_healthcheck_off() {
        let body = ContainerSpec { name: "c".into(), image: "i".into(), ..Default::default() }.to_create_body();
        assert_eq!(serde_json::to_value(&body.healthcheck).unwrap(), serde_json::json!({"Test": ["NONE"]}));
    }
}
