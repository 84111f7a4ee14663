//! The [`ServiceGateway`] of a running stack: a plugin's host imports reach its own services
//! and those of the infrastructure profiles it depends on, at their published ports, and
//! nothing else.

use crate::engine::DockerEngine;
use crate::runtime::{ExecResult, ServiceGateway};
use futures_util::future::BoxFuture;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A started service: its container and published ports (container port -> host address).
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub container_id: String,
    pub ports: HashMap<u16, SocketAddr>,
}

/// Services started so far in this run, shared by every gateway of the run (and kept by a
/// [`super::cold::RunningStack`] for the plugin's calls once the stack is up).
#[derive(Clone, Default)]
pub struct Endpoints(Arc<Mutex<HashMap<String, Endpoint>>>);

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.0.lock().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        f.debug_tuple("Endpoints").field(&names).finish()
    }
}

impl Endpoints {
    pub fn insert(&self, service: &str, endpoint: Endpoint) {
        self.0.lock().unwrap().insert(service.to_string(), endpoint);
    }
    /// The endpoint of `service`, when it was started.
    pub fn get(&self, service: &str) -> Option<Endpoint> {
        self.0.lock().unwrap().get(service).cloned()
    }
}

/// Lines plugins log during bootstrap (info and above, secrets redacted), in order, as
/// `<plugin>: <line>`; the run record keeps them as `bootstrap_log` (e.g. the version a server
/// reports). At most [`Notes::CAP`] lines are kept.
#[derive(Clone, Default)]
pub struct Notes(Arc<Mutex<Vec<String>>>);

impl Notes {
    /// Most lines kept for one run.
    pub const CAP: usize = 256;

    pub fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() < Self::CAP {
            lines.push(line);
        }
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The address to dial for a port published on `bind` (a wildcard bind is dialled on loopback).
pub fn dial_address(bind: &str, port: u16) -> SocketAddr {
    let ip: IpAddr = bind.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    // Docker publishes `::` on IPv6 only (docker-proxy `-host-ip ::`): dial the loopback of
    // the same family.
    let ip = match ip {
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, port)
}

/// What one plugin operation may reach.
pub struct StackGateway {
    pub engine: DockerEngine,
    pub endpoints: Endpoints,
    /// Services this plugin may reach over http and tcp (its own and its dependencies').
    pub allowed: HashSet<String>,
    /// Services this plugin may exec in (its own only).
    pub own: HashSet<String>,
    pub plugin: String,
    /// Where this operation's log lines are kept (bootstrap only).
    pub notes: Option<Notes>,
}

impl ServiceGateway for StackGateway {
    fn resolve(&self, service: &str, port: u16) -> Result<SocketAddr, String> {
        if !self.allowed.contains(service) {
            let mut allowed: Vec<_> = self.allowed.iter().cloned().collect();
            allowed.sort();
            return Err(format!("service {service:?} is not one of this plugin's services or dependencies ({})", allowed.join(", ")));
        }
        let ep = self.endpoints.get(service).ok_or_else(|| format!("service {service:?} is not running yet"))?;
        ep.ports.get(&port).copied().ok_or_else(|| {
            let mut published: Vec<_> = ep.ports.keys().collect();
            published.sort();
            format!("service {service:?} does not publish container port {port} (published: {published:?})")
        })
    }

    fn exec<'a>(&'a self, service: &'a str, argv: Vec<String>, timeout: Duration) -> BoxFuture<'a, Result<ExecResult, String>> {
        Box::pin(async move {
            if !self.own.contains(service) {
                return Err(format!("exec in {service:?} is not allowed: not a service of plugin {}", self.plugin));
            }
            let ep = self.endpoints.get(service).ok_or_else(|| format!("service {service:?} is not running yet"))?;
            self.engine.exec(&ep.container_id, argv, timeout).await
        })
    }

    fn note(&self, line: &str) {
        if let Some(notes) = &self.notes {
            notes.push(format!("{}: {line}", self.plugin));
        }
    }
}
