//! Which Docker engine to talk to, found the way the Docker CLI finds it.
//!
//! The order is the CLI's (`resolveContextName` in docker/cli `cli/command/cli.go`):
//! a non-empty `DOCKER_HOST`; else a non-empty `DOCKER_CONTEXT`; else the `currentContext` of
//! `$DOCKER_CONFIG/config.json` (`~/.docker/config.json` without `DOCKER_CONFIG`); else the
//! platform default socket. The context named `default` is that default socket.
//!
//! A context lives in the CLI's context store (docker/cli `cli/context/store`): its metadata in
//! `<config dir>/contexts/meta/<sha256 hex of the name>/meta.json`, whose
//! `Endpoints.docker.Host` is the engine address and `Endpoints.docker.SkipTLSVerify` a bool;
//! its TLS material in `<config dir>/contexts/tls/<sha256 hex of the name>/docker/` as
//! `ca.pem`, `cert.pem` and `key.pem` (docker/cli `cli/context/tlsdata.go`).
//!
//! TLS for `DOCKER_HOST`: a non-empty `DOCKER_TLS_VERIFY` turns it on for a `tcp://` address,
//! with `ca.pem`, `cert.pem` and `key.pem` from `DOCKER_CERT_PATH` (the config directory
//! without it), as the CLI does; a `tcp://` address without a port gets 2375, or 2376 with TLS
//! (the CLI's `DefaultHTTPPort` / `DefaultTLSHTTPPort`). The engine's certificate is always
//! verified: TLS without verification (`DOCKER_TLS` alone, a context's `SkipTLSVerify`) is
//! refused with a hint, since the Engine API gives root on the engine's host.
//!
//! `ssh://[user@]host` runs `ssh` and `docker system dial-stdio` on that host (bollard's `ssh`
//! transport, which needs the `docker` CLI there and a key the local `ssh` can use without a
//! prompt). bollard 0.21 hands `ssh` the address with its port glued to the host name, so an
//! `ssh://host:port` is refused with a hint (a `Host` entry in `~/.ssh/config`).

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The platform default engine address (what the CLI's `default` context uses on Linux).
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// The Engine API's plain-TCP port when an address names none (Docker's `DefaultHTTPPort`).
const DEFAULT_TCP_PORT: u16 = 2375;
/// The Engine API's TLS port when an address names none (Docker's `DefaultTLSHTTPPort`).
const DEFAULT_TLS_PORT: u16 = 2376;

/// The environment the resolution reads, taken whole so tests can pass their own (no test
/// touches the process environment). Empty values count as unset, as in the CLI.
#[derive(Clone, Debug, Default)]
pub struct DockerEnv {
    /// `DOCKER_HOST`.
    pub docker_host: Option<String>,
    /// `DOCKER_CONTEXT`.
    pub docker_context: Option<String>,
    /// `DOCKER_CONFIG`: the CLI's config directory.
    pub docker_config: Option<PathBuf>,
    /// `DOCKER_TLS_VERIFY`: any non-empty value turns verified TLS on.
    pub tls_verify: Option<String>,
    /// `DOCKER_TLS`: TLS without verifying the engine (refused).
    pub tls: Option<String>,
    /// `DOCKER_CERT_PATH`: where `ca.pem`, `cert.pem`, `key.pem` are.
    pub cert_path: Option<PathBuf>,
    /// The user's home directory (for `~/.docker`).
    pub home: Option<PathBuf>,
}

impl DockerEnv {
    /// This process's environment.
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        DockerEnv {
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            docker_config: var("DOCKER_CONFIG").map(PathBuf::from),
            tls_verify: var("DOCKER_TLS_VERIFY"),
            tls: var("DOCKER_TLS"),
            cert_path: var("DOCKER_CERT_PATH").map(PathBuf::from),
            home: dirs::home_dir(),
        }
    }

    /// The CLI's config directory: `DOCKER_CONFIG`, else `~/.docker`.
    pub fn config_dir(&self) -> PathBuf {
        match (&self.docker_config, &self.home) {
            (Some(dir), _) => dir.clone(),
            (None, Some(home)) => home.join(".docker"),
            (None, None) => PathBuf::from(".docker"),
        }
    }
}

/// The three PEM files of a TLS client (the CLI's names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// `ca.pem`: the CA the engine's certificate must chain to.
    pub ca: PathBuf,
    /// `cert.pem`: this client's certificate.
    pub cert: PathBuf,
    /// `key.pem`: this client's private key (unencrypted).
    pub key: PathBuf,
}

impl TlsFiles {
    /// `ca.pem`, `cert.pem` and `key.pem` in `dir`; each must exist. Errors: the missing ones.
    fn in_dir(dir: &Path) -> Result<TlsFiles, String> {
        let files = TlsFiles { ca: dir.join("ca.pem"), cert: dir.join("cert.pem"), key: dir.join("key.pem") };
        let missing: Vec<String> = [&files.ca, &files.cert, &files.key].iter().filter(|p| !p.is_file()).map(|p| p.display().to_string()).collect();
        if missing.is_empty() { Ok(files) } else { Err(format!("TLS needs {} and there is no {}", "ca.pem, cert.pem and key.pem", missing.join(", no "))) }
    }
}

/// Where the engine is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// A Unix socket on this machine.
    Unix(PathBuf),
    /// The Engine API over TCP, plain or with TLS. `host` is a name or an IP (IPv6 without
    /// brackets).
    Tcp { host: String, port: u16, tls: Option<TlsFiles> },
    /// The engine on `host`, reached by `ssh [user@]host docker system dial-stdio`.
    Ssh { user: Option<String>, host: String },
}

/// What named the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `DOCKER_HOST`.
    DockerHost,
    /// `DOCKER_CONTEXT=<name>`.
    DockerContext(String),
    /// The `currentContext` of the CLI's `config.json` at `config`.
    CurrentContext { name: String, config: PathBuf },
    /// Nothing did: the platform default socket.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::DockerHost => f.write_str("DOCKER_HOST"),
            Origin::DockerContext(name) => write!(f, "DOCKER_CONTEXT={name}"),
            Origin::CurrentContext { name, .. } => write!(f, "the Docker CLI's current context {name}"),
            Origin::Default => f.write_str("the default socket"),
        }
    }
}

/// A resolved engine address and what named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub address: Address,
    pub origin: Origin,
}

impl Endpoint {
    /// The platform default socket.
    pub fn default_socket(origin: Origin) -> Endpoint {
        Endpoint { address: Address::Unix(PathBuf::from(DEFAULT_SOCKET)), origin }
    }

    /// `unix`, `tcp`, `tcp+tls` or `ssh`.
    pub fn kind(&self) -> &'static str {
        match &self.address {
            Address::Unix(_) => "unix",
            Address::Tcp { tls: None, .. } => "tcp",
            Address::Tcp { tls: Some(_), .. } => "tcp+tls",
            Address::Ssh { .. } => "ssh",
        }
    }

    /// The address as a URL: `unix:///var/run/docker.sock`, `tcp://10.201.0.2:2375`,
    /// `tcp://[fd00::2]:2376`, `ssh://user@host`.
    pub fn url(&self) -> String {
        match &self.address {
            Address::Unix(path) => format!("unix://{}", path.display()),
            Address::Tcp { host, port, .. } => format!("tcp://{}:{port}", bracketed(host)),
            Address::Ssh { user: Some(user), host } => format!("ssh://{user}@{}", bracketed(host)),
            Address::Ssh { user: None, host } => format!("ssh://{}", bracketed(host)),
        }
    }

    /// Whether the engine runs on another machine: TCP or SSH to a host that is not this
    /// machine's loopback (`localhost`, 127.0.0.0/8, `::1`, `0.0.0.0`). A Unix socket is local.
    pub fn is_remote(&self) -> bool {
        match &self.address {
            Address::Unix(_) => false,
            Address::Tcp { host, .. } | Address::Ssh { host, .. } => !is_loopback(host),
        }
    }

    /// The engine host's name or IP when the engine is remote (what clients dial to reach its
    /// published ports); `None` for a local engine.
    pub fn host(&self) -> Option<&str> {
        match &self.address {
            Address::Tcp { host, .. } | Address::Ssh { host, .. } if self.is_remote() => Some(host),
            _ => None,
        }
    }
}

impl fmt::Display for Endpoint {
    /// `<url> (<origin>)`, e.g. `tcp://10.201.0.2:2375 (DOCKER_HOST)`; with TLS
    /// `tcp://10.201.0.2:2376 (TLS, DOCKER_HOST)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            "tcp+tls" => write!(f, "{} (TLS, {})", self.url(), self.origin),
            _ => write!(f, "{} ({})", self.url(), self.origin),
        }
    }
}

/// Why the configured engine address cannot be used: what named it, the value, the problem and
/// a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Docker engine named by {origin} ({value}) cannot be used: {problem}\n  hint: {hint}")]
pub struct EndpointError {
    /// What named the engine, e.g. `DOCKER_HOST`.
    pub origin: String,
    /// The value it gave (an address, a context name, a file).
    pub value: String,
    pub problem: String,
    pub hint: String,
}

/// Resolves the engine from `env` in the Docker CLI's order (see the module docs).
/// Errors: [`EndpointError`] naming the source and the value, e.g. an unknown context, an
/// unreadable `config.json`, a scheme benchhost cannot speak, missing TLS files.
pub fn resolve(env: &DockerEnv) -> Result<Endpoint, EndpointError> {
    if let Some(host) = &env.docker_host {
        let tls = match (&env.tls_verify, &env.tls) {
            (Some(_), _) => Tls::FromDir(env.cert_path.clone().unwrap_or_else(|| env.config_dir())),
            (None, Some(_)) => Tls::Unverified,
            (None, None) => Tls::Off,
        };
        return parse_host(host, tls, Origin::DockerHost);
    }
    if let Some(name) = &env.docker_context {
        return from_context(env, name, Origin::DockerContext(name.clone()));
    }
    let config = env.config_dir().join("config.json");
    match current_context(&config)? {
        Some(name) => from_context(env, &name, Origin::CurrentContext { name: name.clone(), config }),
        None => Ok(Endpoint::default_socket(Origin::Default)),
    }
}

/// How TLS is asked for.
enum Tls {
    Off,
    /// Verified TLS with the three PEM files in this directory.
    FromDir(PathBuf),
    /// TLS that does not verify the engine: refused.
    Unverified,
}

/// The `currentContext` of `config` (the CLI's `config.json`): `None` when the file is absent
/// or names none. Errors: a file that cannot be read or is not JSON (the CLI would only warn;
/// benchhost refuses rather than guess which engine to create containers on).
fn current_context(config: &Path) -> Result<Option<String>, EndpointError> {
    let text = match std::fs::read_to_string(config) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(config_error(config, format!("it cannot be read: {e}"))),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| config_error(config, format!("it is not JSON: {e}")))?;
    match json.get("currentContext") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(config_error(config, format!("its currentContext is {other}, not a context name"))),
    }
}

fn config_error(config: &Path, problem: String) -> EndpointError {
    EndpointError {
        origin: "the Docker CLI's config".into(),
        value: config.display().to_string(),
        problem,
        hint: "fix or move that file (`docker context ls` reads it too), or set DOCKER_HOST to name the engine".into(),
    }
}

/// The engine of the CLI context `name` (`default` is the default socket).
fn from_context(env: &DockerEnv, name: &str, origin: Origin) -> Result<Endpoint, EndpointError> {
    if name == "default" {
        return Ok(Endpoint::default_socket(origin));
    }
    let store = env.config_dir().join("contexts");
    let id = crate::text::sha256_hex(name.as_bytes());
    let meta = store.join("meta").join(&id).join("meta.json");
    let fail = |problem: String, hint: &str| EndpointError { origin: origin.to_string(), value: name.to_string(), problem, hint: hint.to_string() };
    let text = match std::fs::read_to_string(&meta) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(
                format!("context \"{name}\" not found in {} (no {})", store.display(), meta.display()),
                "`docker context ls` lists the contexts there; create it with `docker context create`, pick another (`docker context use`), or unset DOCKER_CONTEXT",
            ));
        }
        Err(e) => return Err(fail(format!("{} cannot be read: {e}", meta.display()), "check that file's permissions")),
    };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| fail(format!("{} is not JSON: {e}", meta.display()), "recreate the context (`docker context rm` and `docker context create`)"))?;
    let Some(docker) = json.get("Endpoints").and_then(|e| e.get("docker")) else {
        return Err(fail(format!("context \"{name}\" has no docker endpoint ({} has no Endpoints.docker)", meta.display()), "recreate it with `docker context create {name} --docker host=...`"));
    };
    let host = docker.get("Host").and_then(|h| h.as_str()).unwrap_or_default();
    if host.is_empty() {
        return Ok(Endpoint::default_socket(origin));
    }
    let skip_verify = docker.get("SkipTLSVerify").and_then(|v| v.as_bool()).unwrap_or(false);
    let tls_dir = store.join("tls").join(&id).join("docker");
    let has_tls = std::fs::read_dir(&tls_dir).is_ok_and(|mut d| d.next().is_some());
    let tls = match (skip_verify, has_tls) {
        (true, _) => Tls::Unverified,
        (false, true) => Tls::FromDir(tls_dir),
        (false, false) => Tls::Off,
    };
    parse_host(host, tls, origin)
}

/// Parses an engine address (`unix://`, `tcp://`, `ssh://`) named by `origin`.
fn parse_host(value: &str, tls: Tls, origin: Origin) -> Result<Endpoint, EndpointError> {
    let fail = |problem: String, hint: &str| EndpointError { origin: origin.to_string(), value: value.to_string(), problem, hint: hint.to_string() };
    let (scheme, rest) = value.split_once("://").ok_or_else(|| fail("it has no scheme".into(), SCHEMES))?;
    let address = match scheme {
        "unix" => {
            if rest.is_empty() || !rest.starts_with('/') {
                return Err(fail("a unix:// address needs an absolute socket path".into(), "e.g. unix:///var/run/docker.sock"));
            }
            Address::Unix(PathBuf::from(rest))
        }
        "tcp" => {
            let authority = authority(rest).map_err(|p| fail(p, "e.g. tcp://10.0.0.2:2375, or tcp://[fd00::2]:2376 with TLS"))?;
            let tls = match tls {
                Tls::Off => None,
                Tls::FromDir(dir) => Some(TlsFiles::in_dir(&dir).map_err(|p| {
                    fail(p, "put the engine's CA and this client's certificate and key there (`docker context create` with ca=,cert=,key= copies them into the context), or point DOCKER_CERT_PATH at them")
                })?),
                Tls::Unverified => {
                    return Err(fail(
                        "TLS that does not verify the engine's certificate (DOCKER_TLS without DOCKER_TLS_VERIFY, or a context with SkipTLSVerify) is not supported".into(),
                        "give the engine's CA: DOCKER_TLS_VERIFY=1 with ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH, or a context created with ca=,cert=,key= and without skip-tls-verify",
                    ));
                }
            };
            let (host, port) = authority;
            let port = port.unwrap_or(if tls.is_some() { DEFAULT_TLS_PORT } else { DEFAULT_TCP_PORT });
            Address::Tcp { host, port, tls }
        }
        "ssh" => {
            let (user, hostport) = match rest.trim_end_matches('/').rsplit_once('@') {
                Some((user, h)) => (Some(user.to_string()), h),
                None => (None, rest.trim_end_matches('/')),
            };
            let (host, port) = authority(hostport).map_err(|p| fail(p, "e.g. ssh://user@engine-host"))?;
            if port.is_some() {
                return Err(fail(
                    "bollard 0.21 hands ssh the port glued to the host name, so an ssh:// address with a port does not connect".into(),
                    "give the port in ~/.ssh/config (`Host engine-host` / `Port 2222`) and use ssh://user@engine-host; or forward the engine's socket (`ssh -NL /tmp/engine.sock:/var/run/docker.sock user@host`) and set DOCKER_HOST=unix:///tmp/engine.sock",
                ));
            }
            Address::Ssh { user, host }
        }
        "npipe" => return Err(fail("named pipes exist only on Windows".into(), SCHEMES)),
        "fd" => return Err(fail("fd:// is a daemon's listener (socket activation), not an address a client can dial".into(), SCHEMES)),
        other => return Err(fail(format!("benchhost cannot speak {other}://"), SCHEMES)),
    };
    Ok(Endpoint { address, origin })
}

const SCHEMES: &str = "benchhost speaks unix:///path/to/docker.sock, tcp://host:port (TLS with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH) and ssh://[user@]host";

/// `host[:port]` or `[v6]:port` (a trailing `/` allowed, nothing after it): the host (without
/// brackets) and the port when given.
fn authority(s: &str) -> Result<(String, Option<u16>), String> {
    let s = s.strip_suffix('/').unwrap_or(s);
    if s.contains('/') {
        return Err(format!("the address has a path ({}), which the Engine API is not served under", &s[s.find('/').unwrap_or(0)..]));
    }
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("an IPv6 address needs its closing ]")?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':').ok_or("after [IPv6] comes :port")?)),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => return Err("an IPv6 address goes in brackets: [fd00::2]:2375".into()),
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err("the address names no host".into());
    }
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| format!("the port {p:?} is not a port number (1-65535)"))?),
    };
    Ok((host.to_string(), port))
}

/// `localhost` (and `*.localhost`), 127.0.0.0/8, `::1`, and the unspecified addresses
/// (`0.0.0.0`, `::`), which a client on Linux reaches as this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

fn bracketed(host: &str) -> String {
    if host.contains(':') { format!("[{host}]") } else { host.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment whose config directory is `dir` and nothing else set.
    fn env_in(dir: &Path) -> DockerEnv {
        DockerEnv { docker_config: Some(dir.to_path_buf()), home: Some(PathBuf::from("/nonexistent-home")), ..Default::default() }
    }

    /// Writes a context like `docker context create` does: meta.json under the name's SHA-256,
    /// and TLS files when given.
    fn write_context(dir: &Path, name: &str, host: &str, skip_verify: bool, tls: &[&str]) {
        let id = crate::text::sha256_hex(name.as_bytes());
        let meta = dir.join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        let json = serde_json::json!({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip_verify}}});
        std::fs::write(meta.join("meta.json"), json.to_string()).unwrap();
        if !tls.is_empty() {
            let t = dir.join("contexts/tls").join(&id).join("docker");
            std::fs::create_dir_all(&t).unwrap();
            for f in tls {
                std::fs::write(t.join(f), "-----BEGIN CERTIFICATE-----\n").unwrap();
            }
        }
    }

    fn write_config(dir: &Path, json: &str) {
        std::fs::write(dir.join("config.json"), json).unwrap();
    }

    #[test]
    fn a_context_is_read_from_the_directory_named_by_the_sha256_of_its_name() {
        // `docker context create remote --docker host=tcp://10.9.0.7:2375` writes this file
        // (docker/cli contextdirOf: the hex SHA-256 digest of the name, `printf remote | sha256sum`).
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("contexts/meta/b71199ebd070b36beab7317920c2c2f1d777df8d05e5527d8458fda57cb17a7a");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(meta.join("meta.json"), r#"{"Name":"remote","Metadata":{"Description":""},"Endpoints":{"docker":{"Host":"tcp://10.9.0.7:2375","SkipTLSVerify":false}}}"#).unwrap();
        let env = DockerEnv { docker_context: Some("remote".into()), ..env_in(dir.path()) };
        assert_eq!(resolve(&env).unwrap().address, Address::Tcp { host: "10.9.0.7".into(), port: 2375, tls: None });
    }

    #[test]
    fn nothing_set_is_the_default_socket() {
        let dir = tempfile::tempdir().unwrap();
        let ep = resolve(&env_in(dir.path())).unwrap();
        assert_eq!(ep, Endpoint { address: Address::Unix(PathBuf::from("/var/run/docker.sock")), origin: Origin::Default });
        assert_eq!(ep.to_string(), "unix:///var/run/docker.sock (the default socket)");
        assert_eq!((ep.kind(), ep.is_remote(), ep.host()), ("unix", false, None));
        // A config.json without currentContext, or naming "default", is the default socket too.
        write_config(dir.path(), r#"{"auths": {}}"#);
        assert_eq!(resolve(&env_in(dir.path())).unwrap().address, Address::Unix(PathBuf::from(DEFAULT_SOCKET)));
        write_config(dir.path(), r#"{"currentContext": "default"}"#);
        let ep = resolve(&env_in(dir.path())).unwrap();
        assert_eq!(ep.url(), "unix:///var/run/docker.sock");
        assert_eq!(ep.origin, Origin::CurrentContext { name: "default".into(), config: dir.path().join("config.json") });
    }

    #[test]
    fn docker_host_wins_over_docker_context_and_the_current_context() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "ctx-env", "tcp://10.9.0.1:2375", false, &[]);
        write_context(dir.path(), "ctx-file", "tcp://10.9.0.2:2375", false, &[]);
        write_config(dir.path(), r#"{"currentContext": "ctx-file"}"#);
        let mut env = env_in(dir.path());
        assert_eq!(resolve(&env).unwrap().to_string(), "tcp://10.9.0.2:2375 (the Docker CLI's current context ctx-file)");
        env.docker_context = Some("ctx-env".into());
        assert_eq!(resolve(&env).unwrap().to_string(), "tcp://10.9.0.1:2375 (DOCKER_CONTEXT=ctx-env)");
        env.docker_host = Some("tcp://10.201.0.2:2375".into());
        let ep = resolve(&env).unwrap();
        assert_eq!(ep.to_string(), "tcp://10.201.0.2:2375 (DOCKER_HOST)");
        assert_eq!((ep.kind(), ep.is_remote(), ep.host()), ("tcp", true, Some("10.201.0.2")));
        // DOCKER_CONTEXT=default is the default socket even with a current context set.
        env.docker_host = None;
        env.docker_context = Some("default".into());
        assert_eq!(resolve(&env).unwrap().to_string(), "unix:///var/run/docker.sock (DOCKER_CONTEXT=default)");
    }

    #[test]
    fn the_config_directory_defaults_to_dot_docker_in_home() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".docker")).unwrap();
        write_context(&home.path().join(".docker"), "here", "unix:///run/other.sock", false, &[]);
        write_config(&home.path().join(".docker"), r#"{"currentContext": "here"}"#);
        let env = DockerEnv { home: Some(home.path().to_path_buf()), ..Default::default() };
        assert_eq!(resolve(&env).unwrap().address, Address::Unix(PathBuf::from("/run/other.sock")));
    }

    #[test]
    fn a_context_with_tls_files_is_tcp_tls_on_port_2376_by_default() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "secure", "tcp://engine.example:2376", false, &["ca.pem", "cert.pem", "key.pem"]);
        let env = DockerEnv { docker_context: Some("secure".into()), ..env_in(dir.path()) };
        let ep = resolve(&env).unwrap();
        let t = dir.path().join("contexts/tls").join(crate::text::sha256_hex(b"secure")).join("docker");
        assert_eq!(ep.address, Address::Tcp { host: "engine.example".into(), port: 2376, tls: Some(TlsFiles { ca: t.join("ca.pem"), cert: t.join("cert.pem"), key: t.join("key.pem") }) });
        assert_eq!((ep.kind(), ep.host()), ("tcp+tls", Some("engine.example")));
        assert_eq!(ep.to_string(), "tcp://engine.example:2376 (TLS, DOCKER_CONTEXT=secure)");
        // Without the key, it says which file is missing.
        std::fs::remove_file(t.join("key.pem")).unwrap();
        let e = resolve(&env).unwrap_err();
        assert_eq!((e.origin.as_str(), e.value.as_str()), ("DOCKER_CONTEXT=secure", "tcp://engine.example:2376"));
        assert!(e.problem.ends_with(&format!("there is no {}", t.join("key.pem").display())), "{}", e.problem);
    }

    #[test]
    fn docker_tls_verify_takes_the_files_from_docker_cert_path_or_the_config_directory() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs");
        std::fs::create_dir_all(&certs).unwrap();
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(certs.join(f), "x").unwrap();
        }
        let env = DockerEnv { docker_host: Some("tcp://10.201.0.2".into()), tls_verify: Some("1".into()), cert_path: Some(certs.clone()), ..env_in(dir.path()) };
        let ep = resolve(&env).unwrap();
        assert_eq!(ep.url(), "tcp://10.201.0.2:2376");
        assert_eq!(ep.address, Address::Tcp { host: "10.201.0.2".into(), port: 2376, tls: Some(TlsFiles { ca: certs.join("ca.pem"), cert: certs.join("cert.pem"), key: certs.join("key.pem") }) });
        // Without DOCKER_CERT_PATH: the config directory, which has none of them here.
        let e = resolve(&DockerEnv { cert_path: None, ..env.clone() }).unwrap_err();
        assert_eq!(e.origin, "DOCKER_HOST");
        assert!(e.problem.contains(&dir.path().join("ca.pem").display().to_string()), "{}", e.problem);
        // Without TLS, a portless tcp:// address is 2375; TLS settings do nothing to a socket.
        let plain = DockerEnv { tls_verify: None, ..env.clone() };
        assert_eq!(resolve(&plain).unwrap().address, Address::Tcp { host: "10.201.0.2".into(), port: 2375, tls: None });
        let sock = DockerEnv { docker_host: Some("unix:///run/d.sock".into()), ..env };
        assert_eq!(resolve(&sock).unwrap().kind(), "unix");
    }

    #[test]
    fn tls_without_verification_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let env = DockerEnv { docker_host: Some("tcp://10.201.0.2:2376".into()), tls: Some("1".into()), ..env_in(dir.path()) };
        let e = resolve(&env).unwrap_err();
        assert!(e.problem.contains("does not verify the engine's certificate"), "{e}");
        write_context(dir.path(), "insecure", "tcp://10.201.0.2:2376", true, &[]);
        let e = resolve(&DockerEnv { docker_context: Some("insecure".into()), ..env_in(dir.path()) }).unwrap_err();
        assert_eq!(e.origin, "DOCKER_CONTEXT=insecure");
        assert!(e.hint.contains("without skip-tls-verify"), "{e}");
    }

    #[test]
    fn an_unknown_context_names_where_it_was_looked_for() {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), r#"{"currentContext": "gone"}"#);
        let e = resolve(&env_in(dir.path())).unwrap_err();
        assert_eq!(e.origin, "the Docker CLI's current context gone");
        assert_eq!(e.value, "gone");
        let store = dir.path().join("contexts");
        assert!(e.problem.starts_with(&format!("context \"gone\" not found in {} (no {}/meta/", store.display(), store.display())), "{}", e.problem);
        assert!(e.to_string().starts_with("the Docker engine named by the Docker CLI's current context gone (gone) cannot be used: context \"gone\" not found in "), "{e}");
        assert!(e.hint.contains("docker context ls"), "{e}");
    }

    #[test]
    fn a_config_json_that_is_not_json_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), "{not json");
        let e = resolve(&env_in(dir.path())).unwrap_err();
        assert_eq!(e.value, dir.path().join("config.json").display().to_string());
        assert!(e.problem.starts_with("it is not JSON: "), "{}", e.problem);
        // DOCKER_HOST does not read it at all.
        let env = DockerEnv { docker_host: Some("unix:///run/x.sock".into()), ..env_in(dir.path()) };
        assert_eq!(resolve(&env).unwrap().url(), "unix:///run/x.sock");
    }

    #[test]
    fn addresses_parse_as_the_cli_writes_them() {
        let parse = |v: &str| parse_host(v, Tls::Off, Origin::DockerHost);
        assert_eq!(parse("tcp://[fd00::2]:2380").unwrap().address, Address::Tcp { host: "fd00::2".into(), port: 2380, tls: None });
        assert_eq!(parse("tcp://[fd00::2]:2380").unwrap().url(), "tcp://[fd00::2]:2380");
        assert_eq!(parse("tcp://host.lan:2375/").unwrap().url(), "tcp://host.lan:2375");
        assert_eq!(parse("ssh://bench@10.0.0.9").unwrap().address, Address::Ssh { user: Some("bench".into()), host: "10.0.0.9".into() });
        assert_eq!(parse("ssh://engine").unwrap().url(), "ssh://engine");
        for (value, problem) in [
            ("10.0.0.2:2375", "it has no scheme"),
            ("http://10.0.0.2:2375", "benchhost cannot speak http://"),
            ("npipe:////./pipe/docker_engine", "named pipes exist only on Windows"),
            ("tcp://10.0.0.2:99999", "the port \"99999\" is not a port number (1-65535)"),
            ("tcp://10.0.0.2:2375/v1.41", "the address has a path (/v1.41), which the Engine API is not served under"),
            ("tcp://fd00::2:2375", "an IPv6 address goes in brackets: [fd00::2]:2375"),
            ("tcp://:2375", "the address names no host"),
            ("unix://docker.sock", "a unix:// address needs an absolute socket path"),
        ] {
            let e = parse(value).unwrap_err();
            assert_eq!((e.value.as_str(), e.problem.as_str()), (value, problem));
            assert_eq!(e.origin, "DOCKER_HOST");
        }
        let e = parse("ssh://bench@10.0.0.9:2222").unwrap_err();
        assert!(e.problem.contains("with a port does not connect") && e.hint.contains("ssh -NL"), "{e}");
    }

    #[test]
    fn only_loopback_tcp_and_ssh_are_local() {
        let parse = |v: &str| parse_host(v, Tls::Off, Origin::DockerHost).unwrap();
        for local in ["tcp://127.0.0.1:2375", "tcp://127.8.0.1:2375", "tcp://localhost:2375", "tcp://[::1]:2375", "ssh://me@localhost", "unix:///run/docker.sock"] {
            assert!(!parse(local).is_remote() && parse(local).host().is_none(), "{local}");
        }
        assert_eq!(parse("ssh://me@build-box").host(), Some("build-box"));
        assert_eq!(parse("tcp://[fd00::2]:2375").host(), Some("fd00::2"));
        // 0.0.0.0 dials this machine (Linux routes the unspecified address to loopback).
        assert!(!parse("tcp://0.0.0.0:2375").is_remote());
        assert!(parse("tcp://10.201.0.2:2375").is_remote());
    }
}
