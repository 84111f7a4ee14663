//! Settings: the process environment over `.env` (read as Compose v2 reads it:
//! [`super::env_file`]). A setting whose value is empty is unset, so its default applies, as
//! `${NAME:-default}` in the generated `docker-compose.yml` does. A plugin receives only the
//! settings it declared; the host applies the global ones (`BENCH_CPU_LIMIT`,
//! `BENCH_MEM_LIMIT`, ...) to every container itself so every system gets the same caps.

use crate::orchestration::error::BenchError;
use crate::runtime::contract::{Context, HostOs, PluginInfo};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest `.env` read, in bytes (64 MiB): a settings file, not a device or a dump.
const MAX_ENV_FILE: u64 = 64 << 20;

/// The bytes of the `.env` file at `path`. Errors (usage): not a regular file (a FIFO would
/// hang the read, `/dev/zero` never end), larger than [`MAX_ENV_FILE`], unreadable.
fn read_env_file(path: &Path) -> Result<Vec<u8>, BenchError> {
    use std::io::Read;
    let refuse = |why: String| BenchError::Usage(format!("{}: {why}\n  hint: point --env-file at a settings file (NAME=value lines)", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| refuse(format!("cannot read it: {e}")))?;
    if !meta.is_file() {
        return Err(refuse("is not a regular file".into()));
    }
    let file = std::fs::File::open(path).map_err(|e| refuse(format!("cannot read it: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_ENV_FILE + 1).read_to_end(&mut bytes).map_err(|e| refuse(format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > MAX_ENV_FILE {
        return Err(refuse(format!("is larger than {} MiB", MAX_ENV_FILE >> 20)));
    }
    Ok(bytes)
}

/// The setting naming the address clients reach the published ports at.
pub const SERVER_ADDRESS: &str = "BENCH_SERVER_ADDRESS";

/// Global settings the host applies itself: (name, default, description).
pub const GLOBAL_SETTINGS: &[(&str, &str, &str)] = &[
    ("BENCH_CPU_LIMIT", "2", "CPUs per container, the same for every system"),
    ("BENCH_MEM_LIMIT", "4g", "Memory per container (no swap), the same for every system"),
    ("BENCH_STARTUP_TIMEOUT", "180", "Seconds each service may take to become ready (benchhost up)"),
    ("BENCH_BIND_ADDRESS", "127.0.0.1", "Address the published ports listen on"),
    ("BENCH_SERVER_ADDRESS", "", "Address clients reach the published ports at, written into every mount command (e.g. 10.0.2.2 in a QEMU guest, or this machine's LAN address for a client elsewhere); empty: BENCH_BIND_ADDRESS when it is one address, else 127.0.0.1"),
    ("BENCH_TMPFS", "0", "1: every data volume is a tmpfs (RAM) instead of a Docker volume, for every system"),
    ("BENCH_DATA_DIR", "", "Disk under test: each data volume is bound to <dir>/<profile>/<volume> there (created by up, removed by down); empty: Docker's own volumes (benchhost up only; not this compose file)"),
    ("BENCH_RESULTS_DIR", "results", "Root of the per-run results directories (benchhost up/down; --results-dir wins)"),
];

#[path = "../../../../plugins/sdk/src/size.rs"]
mod size;
pub use size::parse_size;

/// Where setting values come from. A value that is empty, wherever it came from, counts as
/// unset (its default applies): [`Self::get`] and [`Self::origin`] are the one place that says so.
#[derive(Clone, Debug, Default)]
pub struct SettingsSource {
    /// Every value as given, empty ones included (an empty one in the environment still hides
    /// the `.env` value, as in Compose).
    values: HashMap<String, String>,
    /// The `.env` file that was read, if any.
    pub env_file: Option<PathBuf>,
    /// Names whose value came from the process environment (the rest came from `env_file`).
    from_environment: std::collections::HashSet<String>,
    /// Capabilities the user granted to third-party plugins (`--allow`, `BENCHHOST_ALLOW`).
    pub grants: crate::orchestration::plugins::grants::Grants,
}

impl SettingsSource {
    /// Reads `env_file` (an error if given and missing) or `./.env` (if present), then lets the
    /// process environment override it.
    pub fn load(env_file: Option<&Path>) -> Result<Self, BenchError> {
        let mut values = HashMap::new();
        let path = match env_file {
            Some(p) if !p.exists() => return Err(BenchError::Usage(format!("--env-file {}: no such file", p.display()))),
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(".env")).filter(|p| p.exists()),
        };
        if let Some(p) = &path {
            let bytes = read_env_file(p)?;
            let environment = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
            values = super::env_file::read(&bytes, environment).map_err(|e| BenchError::Usage(format!("{}: {e}", p.display())))?;
        }
        let mut from_environment = std::collections::HashSet::new();
        for (k, v) in std::env::vars() {
            from_environment.insert(k.clone());
            values.insert(k, v);
        }
        let grants = crate::orchestration::plugins::grants::Grants::new(&[], values.get("BENCHHOST_ALLOW").map(String::as_str));
        Ok(SettingsSource { values, env_file: path, from_environment, grants })
    }

    /// The process environment alone, for a command that needs no settings when `.env` cannot
    /// be read ([`Self::load`] failed).
    pub fn environment_only() -> Self {
        let values: HashMap<String, String> = std::env::vars().collect();
        let from_environment = values.keys().cloned().collect();
        let grants = crate::orchestration::plugins::grants::Grants::new(&[], values.get("BENCHHOST_ALLOW").map(String::as_str));
        SettingsSource { values, env_file: None, from_environment, grants }
    }

    /// A source with exactly `values` (tests).
    pub fn from_map(values: HashMap<String, String>) -> Self {
        SettingsSource { values, env_file: None, from_environment: Default::default(), grants: Default::default() }
    }

    /// Adds `--allow` grants to those from `BENCHHOST_ALLOW`.
    pub fn with_allow(mut self, allow: &[String]) -> Self {
        self.grants = crate::orchestration::plugins::grants::Grants::new(allow, self.get("BENCHHOST_ALLOW"));
        self
    }

    /// This source with `name` set to `value` (e.g. `up --with-profiling` sets `BENCH_PROFILING=1`).
    pub fn with_value(mut self, name: &str, value: &str) -> Self {
        self.values.insert(name.to_string(), value.to_string());
        self
    }

    /// Where the user's value of `name` came from, for error messages: `"the environment"`,
    /// the `.env` file's path, or `"the given settings"` (a source built by [`Self::from_map`]);
    /// `None` when `name` is unset or empty (its default applies).
    pub fn origin(&self, name: &str) -> Option<String> {
        if self.get(name).is_none() {
            None
        } else if self.from_environment.contains(name) {
            Some("the environment".into())
        } else if let Some(file) = &self.env_file {
            Some(file.display().to_string())
        } else {
            Some("the given settings".into())
        }
    }

    /// ` (from <origin>)` for messages about the user's value of `name`; empty when unset.
    fn from(&self, name: &str) -> String {
        self.origin(name).map(|o| format!(" (from {o})")).unwrap_or_default()
    }

    /// `NAME=value (from <origin>)`, the user's value of a setting that is no secret, for
    /// messages; `None` when unset (its default applies).
    pub fn given(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| format!("{name}={v}{}", self.from(name)))
    }

    /// The value of `name`; `None` when it is unset or empty, so that its default applies
    /// (Compose's `${NAME:-default}` treats an empty value as unset, and the one `.env` serves
    /// both). This holds for global and plugin settings, from the environment and `.env` alike.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The context for `profile` of `info`: each declared setting's value, or its default when
    /// unset or empty ([`Self::get`]), nothing else.
    pub fn context(&self, info: &PluginInfo, profile: &str, host_os: HostOs) -> Context {
        let settings = info
            .settings
            .iter()
            .map(|s| (s.name.clone(), self.get(&s.name).unwrap_or(&s.default_value).to_string()))
            .collect();
        Context { profile: profile.to_string(), settings, host_os }
    }

    /// What the global settings ask that this machine cannot give, as warnings (the run still
    /// starts: a remote engine's machine may be bigger). Today: `BENCH_MEM_LIMIT` above this
    /// machine's RAM (`total_memory`, bytes), where every container is in effect uncapped.
    pub fn machine_warnings(&self, globals: &GlobalSettings, total_memory: Option<u64>) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(total) = total_memory.filter(|t| *t > 0 && globals.memory_bytes as u64 > *t) {
            let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
            out.push(format!(
                "BENCH_MEM_LIMIT={}{} is more than this machine's {:.1} GiB of RAM: no container is held below what the machine has, so a system that fills its cache swaps or is killed by the kernel\n  hint: give at most {:.0}g (the same for every system), e.g. BENCH_MEM_LIMIT=4g",
                self.get("BENCH_MEM_LIMIT").unwrap_or_default(),
                self.from("BENCH_MEM_LIMIT"),
                gib(total),
                (gib(total) * 0.75).floor().max(1.0)
            ));
        }
        out
    }

    /// The global settings, validated.
    pub fn global(&self) -> Result<GlobalSettings, BenchError> {
        let cpu_raw = self.get("BENCH_CPU_LIMIT").unwrap_or("2");
        let cpus: f64 = cpu_raw
            .trim()
            .parse()
            .ok()
            .filter(|c: &f64| (0.01..=1024.0).contains(c))
            .ok_or_else(|| BenchError::Usage(format!("BENCH_CPU_LIMIT={cpu_raw:?}{} is not a number of CPUs between 0.01 and 1024 (e.g. 2 or 1.5)", self.from("BENCH_CPU_LIMIT"))))?;
        let mem_raw = self.get("BENCH_MEM_LIMIT").unwrap_or("4g");
        let memory_bytes = parse_size(mem_raw).map_err(|e| BenchError::Usage(format!("BENCH_MEM_LIMIT{}: {e}", self.from("BENCH_MEM_LIMIT"))))?;
        if memory_bytes < 64 << 20 {
            return Err(BenchError::Usage(format!("BENCH_MEM_LIMIT={mem_raw:?}{} is below 64M; a storage server needs more", self.from("BENCH_MEM_LIMIT"))));
        }
        if memory_bytes > 1 << 50 {
            return Err(BenchError::Usage(format!("BENCH_MEM_LIMIT={mem_raw:?}{} is more than 1 PiB; give a real size such as 4g", self.from("BENCH_MEM_LIMIT"))));
        }
        let timeout_raw = self.get("BENCH_STARTUP_TIMEOUT").unwrap_or("180");
        let startup_timeout = timeout_raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=86_400).contains(s))
            .map(Duration::from_secs)
            .ok_or_else(|| BenchError::Usage(format!("BENCH_STARTUP_TIMEOUT={timeout_raw:?}{} is not a number of seconds between 1 and 86400", self.from("BENCH_STARTUP_TIMEOUT"))))?;
        let bind_address = self.get("BENCH_BIND_ADDRESS").unwrap_or("127.0.0.1").to_string();
        if bind_address.parse::<std::net::IpAddr>().is_err() {
            return Err(BenchError::Usage(format!("BENCH_BIND_ADDRESS={bind_address:?}{} is not an IP address", self.from("BENCH_BIND_ADDRESS"))));
        }
        let server_address = self.server_address(&bind_address)?;
        let tmpfs = self.flag("BENCH_TMPFS")?.unwrap_or(false);
        let data_dir = self.data_dir()?;
        if tmpfs && data_dir.is_some() {
            return Err(BenchError::Usage(
                "BENCH_TMPFS=1 and BENCH_DATA_DIR are both set: data lives either in RAM or on the disk of BENCH_DATA_DIR\n  hint: unset one of them".into(),
            ));
        }
        Ok(GlobalSettings { cpus, memory_bytes: memory_bytes as i64, startup_timeout, bind_address, server_address, dial_host: None, tmpfs, data_dir })
    }

    /// `BENCH_SERVER_ADDRESS`: an IP address (not `0.0.0.0`/`::`) or a host name; when unset,
    /// `bind` if it is one address, else the loopback of its family (`127.0.0.1`, `::1`).
    /// Errors: anything else (exit 2).
    fn server_address(&self, bind: &str) -> Result<String, BenchError> {
        let Some(raw) = self.get("BENCH_SERVER_ADDRESS") else {
            // Docker publishes `0.0.0.0` on IPv4 and `::` on IPv6 only: the loopback of that family.
            return Ok(match bind.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V6(v6)) if v6.is_unspecified() => "::1".into(),
                Ok(ip) if ip.is_unspecified() => "127.0.0.1".into(),
                _ => bind.into(),
            });
        };
        let name = raw.trim();
        // A name whose labels are all digits is a mistyped IPv4 address (`256.1.1.1`, `127.1`).
        let host_name = |n: &str| {
            n.len() <= 253
                && n.split('.').all(|label| !label.is_empty() && label.len() <= 63 && !label.starts_with('-') && !label.ends_with('-') && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                && !n.split('.').all(|label| label.chars().all(|c| c.is_ascii_digit()))
        };
        let refuse = |why: &str| {
            BenchError::Usage(format!(
                "BENCH_SERVER_ADDRESS={}{} {why}\n  hint: the address clients reach this machine's published ports at, e.g. 10.0.2.2 inside a QEMU guest or 192.168.1.20; IPv6 without brackets (fd00::5)",
                crate::text::cut(format!("{raw:?}"), 200),
                self.from("BENCH_SERVER_ADDRESS")
            ))
        };
        match name.parse::<std::net::IpAddr>() {
            Ok(ip) if ip.is_unspecified() => Err(refuse("is no address a client can connect to")),
            Ok(_) => Ok(name.to_string()),
            Err(_) if host_name(name) => Ok(name.to_string()),
            Err(_) => Err(refuse("is neither an IP address nor a host name")),
        }
    }

    /// `BENCH_DATA_DIR` as an absolute path (a relative one is taken from the working
    /// directory); `None` when unset or empty. Errors: not a directory, or a path with `..`.
    fn data_dir(&self) -> Result<Option<PathBuf>, BenchError> {
        let Some(raw) = self.get("BENCH_DATA_DIR").filter(|v| !v.trim().is_empty()) else { return Ok(None) };
        if raw.trim() != raw {
            return Err(BenchError::Usage(format!("BENCH_DATA_DIR={raw:?}{} starts or ends with whitespace\n  hint: give the directory without surrounding spaces", self.from("BENCH_DATA_DIR"))));
        }
        let path = Path::new(raw);
        if path.components().any(|c| c == std::path::Component::ParentDir) {
            return Err(BenchError::Usage(format!("BENCH_DATA_DIR={raw:?}{} has a `..` component\n  hint: give the directory without `..`, e.g. /srv/bench-data", self.from("BENCH_DATA_DIR"))));
        }
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().map_err(|e| BenchError::Usage(format!("BENCH_DATA_DIR={raw:?}{}: the working directory is unreadable ({e}); give an absolute path", self.from("BENCH_DATA_DIR"))))?.join(path)
        };
        if path.exists() && !path.is_dir() {
            return Err(BenchError::Usage(format!("BENCH_DATA_DIR={raw:?}{} exists and is not a directory\n  hint: point it at a directory on the disk to measure (it is created when missing)", self.from("BENCH_DATA_DIR"))));
        }
        Ok(Some(path))
    }

    /// A yes/no setting: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off` (any case); `None`
    /// when unset or empty. Errors name the setting and the value.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, BenchError> {
        match self.get(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(Some(true)),
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(Some(false)),
            Some(v) => Err(BenchError::Usage(format!("{name}={v:?}{} is not a yes/no value; use 1 or 0", self.from(name)))),
        }
    }

    /// The values the user set for settings `infos` declare secret (to redact from output and
    /// blank in a dry run). Published defaults (LocalStack's `test` keys, `bench`) are no secrets
    /// and are left alone, so redaction does not mangle ordinary words (`SAMBA_USER=bench`).
    pub fn secrets<'a>(&self, infos: impl IntoIterator<Item = &'a PluginInfo>) -> Vec<String> {
        infos
            .into_iter()
            .flat_map(|i| i.settings.iter())
            .filter(|s| s.secret)
            .filter_map(|s| self.get(&s.name).filter(|v| !v.is_empty() && *v != s.default_value).map(str::to_string))
            .collect()
    }
}

/// Settings the host applies to every container of every system.
#[derive(Clone, Debug, PartialEq)]
pub struct GlobalSettings {
    /// `BENCH_CPU_LIMIT`, CPUs per container (default 2).
    pub cpus: f64,
    /// `BENCH_MEM_LIMIT`, bytes per container (default 4g).
    pub memory_bytes: i64,
    /// `BENCH_STARTUP_TIMEOUT`, seconds for each service to become ready (default 180).
    pub startup_timeout: Duration,
    /// `BENCH_BIND_ADDRESS`, where published ports listen (default 127.0.0.1).
    pub bind_address: String,
    /// `BENCH_SERVER_ADDRESS`, where clients reach the published ports: the host part of every
    /// mount command's source (default: the bind address when it is one address, else 127.0.0.1).
    pub server_address: String,
    /// Where benchhost itself dials published ports (readiness probes, plugins' http and tcp
    /// exchanges): `None` for a local engine (the bind address; loopback for a wildcard), the
    /// engine host's address for a remote one ([`GlobalSettings::aim_at_engine`]).
    pub dial_host: Option<std::net::IpAddr>,
    /// `BENCH_TMPFS=1`: every named data volume becomes a tmpfs (RAM), for every system.
    pub tmpfs: bool,
    /// `BENCH_DATA_DIR`: every named data volume is a bind of `<dir>/<profile>/<volume>` on
    /// this directory's disk (created by `up`, removed by `down` and `clean`); `None`: Docker's
    /// own named volumes, on the engine's data-root disk.
    pub data_dir: Option<PathBuf>,
}

impl GlobalSettings {
    /// Aims the published ports at a remote engine's host (`endpoint.is_remote()`; a local
    /// engine changes nothing): an unset `BENCH_BIND_ADDRESS` becomes `0.0.0.0` (all the engine
    /// host's interfaces), an unset `BENCH_SERVER_ADDRESS` the bind address when it is one, else
    /// the engine host; benchhost dials the bind address when it is one, else the server
    /// address, resolved here. Errors (exit 2): a loopback bind address (no client elsewhere
    /// reaches the engine host's loopback), or a dial host that does not resolve, each naming
    /// the setting and a hint.
    pub fn aim_at_engine(&mut self, endpoint: &crate::engine::Endpoint, settings: &SettingsSource) -> Result<(), BenchError> {
        let Some(host) = endpoint.host() else { return Ok(()) };
        if settings.get("BENCH_BIND_ADDRESS").is_none() {
            self.bind_address = "0.0.0.0".into();
        }
        let bind: std::net::IpAddr = self.bind_address.parse().map_err(|_| BenchError::Usage(format!("BENCH_BIND_ADDRESS={:?} is not an IP address", self.bind_address)))?;
        if bind.is_loopback() {
            return Err(BenchError::Usage(format!(
                "BENCH_BIND_ADDRESS={}{} publishes the ports on the loopback of the engine's host {host} ({endpoint}), which nothing on another machine reaches\n  hint: unset BENCH_BIND_ADDRESS (with a remote engine the ports are published on all its host's interfaces), or give one of {host}'s addresses",
                self.bind_address,
                settings.from("BENCH_BIND_ADDRESS")
            )));
        }
        if settings.get("BENCH_SERVER_ADDRESS").is_none() {
            self.server_address = if bind.is_unspecified() { host.to_string() } else { bind.to_string() };
        }
        let dial = if bind.is_unspecified() { self.server_address.clone() } else { bind.to_string() };
        let resolved = dial.parse::<std::net::IpAddr>().ok().or_else(|| {
            use std::net::ToSocketAddrs;
            (dial.as_str(), 0).to_socket_addrs().ok().and_then(|mut a| a.next()).map(|a| a.ip())
        });
        self.dial_host = Some(resolved.ok_or_else(|| {
            BenchError::Usage(format!(
                "the engine's host {dial} ({endpoint}) does not resolve to an address on this machine, so its published ports cannot be reached\n  hint: set BENCH_SERVER_ADDRESS to the engine host's IP address (an ssh:// host known only to ~/.ssh/config has none here)"
            ))
        })?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_engine_publishes_on_all_its_interfaces_and_is_dialled_at_its_host() {
        use crate::engine::endpoint::{resolve, DockerEnv};
        let endpoint = |host: &str| resolve(&DockerEnv { docker_host: Some(host.into()), ..Default::default() }).unwrap();
        let with = |pairs: &[(&str, &str)]| SettingsSource::from_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let aimed = |settings: &SettingsSource, host: &str| {
            let mut g = settings.global().unwrap();
            g.aim_at_engine(&endpoint(host), settings).map(|()| (g.bind_address, g.server_address, g.dial_host))
        };
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
        assert_eq!(aimed(&with(&[]), "tcp://10.201.0.2:2375").unwrap(), ("0.0.0.0".into(), "10.201.0.2".into(), ip("10.201.0.2")));
        // One address of the engine's host: bound, named and dialled.
        assert_eq!(aimed(&with(&[("BENCH_BIND_ADDRESS", "10.201.0.2")]), "tcp://10.201.0.2:2375").unwrap(), ("10.201.0.2".into(), "10.201.0.2".into(), ip("10.201.0.2")));
        // What the clients are told can differ from where benchhost dials (a VM behind NAT).
        assert_eq!(aimed(&with(&[("BENCH_SERVER_ADDRESS", "10.0.2.2")]), "tcp://10.201.0.2:2375").unwrap(), ("0.0.0.0".into(), "10.0.2.2".into(), ip("10.0.2.2")));
        // A local engine keeps the defaults.
        assert_eq!(aimed(&with(&[]), "unix:///var/run/docker.sock").unwrap(), ("127.0.0.1".into(), "127.0.0.1".into(), None));
        assert_eq!(aimed(&with(&[]), "tcp://127.0.0.1:2375").unwrap(), ("127.0.0.1".into(), "127.0.0.1".into(), None));
        let e = aimed(&with(&[("BENCH_BIND_ADDRESS", "127.0.0.1")]), "tcp://10.201.0.2:2375").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().starts_with("BENCH_BIND_ADDRESS=127.0.0.1"), "{e}");
        assert!(e.to_string().contains("loopback of the engine's host 10.201.0.2 (tcp://10.201.0.2:2375 (DOCKER_HOST))"), "{e}");
    }

    #[test]
    fn globals_default_and_validate() {
        let s = SettingsSource::from_map(HashMap::new());
        let g = s.global().unwrap();
        assert_eq!(g.cpus, 2.0);
        assert_eq!(g.memory_bytes, 4 << 30);
        let bad = SettingsSource::from_map(HashMap::from([("BENCH_CPU_LIMIT".into(), "-1".into())]));
        let e = bad.global().unwrap_err().to_string();
        assert!(e.contains("BENCH_CPU_LIMIT") && e.contains("-1"), "{e}");
        let bad = SettingsSource::from_map(HashMap::from([("BENCH_MEM_LIMIT".into(), "lots".into())]));
        assert!(bad.global().unwrap_err().to_string().contains("lots"));
        for (k, v) in [("BENCH_CPU_LIMIT", "1e99"), ("BENCH_CPU_LIMIT", "NaN"), ("BENCH_MEM_LIMIT", "1e99"), ("BENCH_STARTUP_TIMEOUT", "18446744073709551615"), ("BENCH_STARTUP_TIMEOUT", "0")] {
            let bad = SettingsSource::from_map(HashMap::from([(k.into(), v.into())]));
            let e = bad.global().unwrap_err().to_string();
            assert!(e.contains(k) && e.contains(v), "{k}={v}: {e}");
        }
    }

    #[test]
    fn an_empty_value_is_unset_so_its_default_applies() {
        let empty = |names: &[&str]| SettingsSource::from_map(names.iter().map(|n| (n.to_string(), String::new())).collect());
        let s = empty(&["BENCH_CPU_LIMIT", "BENCH_MEM_LIMIT", "BENCH_STARTUP_TIMEOUT", "BENCH_BIND_ADDRESS", "BENCH_TMPFS", "MY_SETTING"]);
        assert_eq!(s.global().unwrap(), SettingsSource::default().global().unwrap());
        assert_eq!((s.get("MY_SETTING"), s.origin("MY_SETTING")), (None, None));
        use crate::runtime::contract::{Capabilities, Setting};
        let info = PluginInfo {
            name: "my".into(),
            version: "0.1.0".into(),
            description: String::new(),
            profiles: vec![],
            settings: vec![Setting { name: "MY_SETTING".into(), default_value: "dflt".into(), description: String::new(), secret: false }],
            capabilities: Capabilities { privileged: false, cap_add: vec![], devices: vec![], host_binds: vec![], host_kernel: vec![] },
        };
        assert_eq!(s.context(&info, "p", HostOs::Linux).settings, vec![("MY_SETTING".to_string(), "dflt".to_string())]);
        // An empty value set later (the environment over `.env`) still hides the earlier one.
        let hidden = SettingsSource::from_map(HashMap::from([("BENCH_CPU_LIMIT".into(), "4".into())])).with_value("BENCH_CPU_LIMIT", "");
        assert_eq!(hidden.global().unwrap().cpus, 2.0);
    }

    #[test]
    fn data_dir_is_absolute_and_excludes_tmpfs() {
        let at = |pairs: &[(&str, &str)]| SettingsSource::from_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).global();
        assert_eq!(at(&[]).unwrap().data_dir, None);
        assert_eq!(at(&[("BENCH_DATA_DIR", "")]).unwrap().data_dir, None);
        assert_eq!(at(&[("BENCH_DATA_DIR", "/srv/bench")]).unwrap().data_dir, Some(PathBuf::from("/srv/bench")));
        let rel = at(&[("BENCH_DATA_DIR", "data")]).unwrap().data_dir.unwrap();
        assert!(rel.is_absolute() && rel.ends_with("data"), "{}", rel.display());
        let e = at(&[("BENCH_DATA_DIR", " /srv/bench")]).unwrap_err().to_string();
        assert!(e.contains("whitespace"), "{e}");
        let e = at(&[("BENCH_DATA_DIR", "/srv/../etc")]).unwrap_err().to_string();
        assert!(e.contains("BENCH_DATA_DIR") && e.contains(".."), "{e}");
        let e = at(&[("BENCH_DATA_DIR", "/etc/hostname")]).unwrap_err().to_string();
        assert!(e.contains("not a directory"), "{e}");
        let e = at(&[("BENCH_DATA_DIR", "/srv/bench"), ("BENCH_TMPFS", "1")]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("BENCH_TMPFS=1 and BENCH_DATA_DIR"), "{e}");
    }
}
