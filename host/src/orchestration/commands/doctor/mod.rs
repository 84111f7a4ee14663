//! `benchhost doctor`: report-only checks of what a benchmark machine needs, each with an
//! install hint for the host OS. Only the Docker engine and free disk space are required;
//! everything else warns (it matters only to some profiles or to the benchmark client).

use crate::orchestration::error::BenchError;
use crate::orchestration::host::host_os;
use crate::orchestration::plan;
use crate::orchestration::results::results_root;
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::plan::settings::SettingsSource;
use crate::engine::DockerEngine;
use crate::runtime::contract::{HostOs, Role, Transport};
use std::path::Path;
use std::process::Command;

pub mod check;
mod engine_host;

pub use check::{check, Check, Status};

/// Free bytes below which disk space fails (1 GiB) and warns (10 GiB).
const DISK_FAIL: u64 = 1 << 30;
const DISK_WARN: u64 = 10 << 30;

/// What `doctor` found, for this OS.
#[derive(Clone, Debug)]
pub struct DoctorReport {
    pub os: HostOs,
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// The required checks that failed, by name.
    pub fn failed(&self) -> Vec<&str> {
        self.checks.iter().filter(|c| c.required && c.status == Status::Fail).map(|c| c.name.as_str()).collect()
    }

    /// `doctor`'s verdict: [`BenchError::HostUnsupported`] (exit 6) naming the required checks
    /// that failed.
    pub fn verdict(&self) -> Result<(), BenchError> {
        let failed = self.failed();
        if failed.is_empty() { Ok(()) } else { Err(BenchError::HostUnsupported(format!("doctor: required check(s) failed: {}", failed.join(", ")))) }
    }
}

/// `benchhost doctor`: every check for this OS, results space under the default results root.
pub async fn doctor(registry: &Registry, settings: &SettingsSource) -> DoctorReport {
    let os = host_os();
    DoctorReport { os, checks: run(registry, settings, os, &results_root(None, settings)).await }
}

/// Runs every check. `results_root` is where run results go (its free space is checked).
pub async fn run(registry: &Registry, settings: &SettingsSource, os: HostOs, results_root: &Path) -> Vec<Check> {
    let mut checks = Vec::new();
    let engine = DockerEngine::connect().await;
    checks.push(match &engine {
        Ok(e) => {
            let api_ok = semver_at_least(&e.api_version, 1, 41);
            check(
                "docker engine",
                if api_ok { Status::Ok } else { Status::Fail },
                true,
                format!("Docker {} (API {}) at {}", e.engine_version, e.api_version, e.endpoint),
                "benchhost needs Engine API 1.41 or later (Docker 20.10+): upgrade Docker",
            )
        }
        Err(err) => check(
            "docker engine",
            Status::Fail,
            true,
            err.to_string().lines().next().unwrap_or_default().to_string(),
            engine_hint(os, std::env::var("DOCKER_HOST").ok().as_deref(), find_on_path("dockerd").is_some()),
        ),
    });
    if let Ok(e) = &engine {
        checks.extend(engine_transport_check(&e.endpoint));
    }
    checks.push(compose_check());
    checks.push(fio_check(settings, os));
    checks.extend(mount_helper_checks(os));
    let remote = engine.as_ref().ok().filter(|e| e.endpoint.is_remote());
    if os == HostOs::Linux {
        let nfs = crate::orchestration::host::kernel::kernel_feature_missing("nfs-client");
        checks.push(check("kernel NFS client", if nfs.is_none() { Status::Ok } else { Status::Warn }, false, match &nfs {
            None => "nfs in /proc/filesystems or as a module".to_string(),
            Some(why) => why.lines().next().unwrap_or_default().to_string(),
        }, nfs.as_deref().and_then(|w| w.split("hint: ").nth(1)).unwrap_or_default()));
    }
    // The servers' kernel and ports are the engine host's.
    if let Some(e) = remote {
        checks.extend(engine_host::checks(registry, settings, os, e).await);
    } else if os == HostOs::Linux {
        let fuse = crate::orchestration::host::kernel::kernel_feature_missing("fuse");
        checks.push(check("FUSE (/dev/fuse, for juicefs)", if fuse.is_none() { Status::Ok } else { Status::Warn }, false, if fuse.is_none() { "/dev/fuse present" } else { "/dev/fuse does not exist" }, "`sudo modprobe fuse`; only the juicefs profile needs it"));
        let nfsd = crate::orchestration::host::kernel::kernel_feature_missing("nfsd");
        checks.push(check("kernel nfsd (for kernel-nfs)", if nfsd.is_none() { Status::Ok } else { Status::Warn }, false, match &nfsd {
            None => "nfsd in /proc/filesystems or as a module".to_string(),
            Some(why) => why.lines().next().unwrap_or_default().to_string(),
        }, nfsd.as_deref().and_then(|w| w.split("hint: ").nth(1)).unwrap_or_default()));
    }
    if os == HostOs::Linux && std::env::consts::ARCH == "x86_64" {
        checks.push(client_vm_check().await);
    }
    if remote.is_none() {
        checks.push(ports_check(registry, settings, os).await);
    }
    checks.push(disk_check(results_root));
    checks.push(arch_check(registry, settings, os, engine.as_ref().ok()).await);
    if let Ok(e) = &engine {
        checks.push(images_check(registry, settings, os, e).await);
    }
    checks
}

/// A warning for an engine reached over plain TCP: the Engine API without TLS gives root on
/// the engine's host to anyone who can reach that port (dockerd says the same at start). `None`
/// for a socket, TLS or ssh.
pub fn engine_transport_check(endpoint: &crate::engine::Endpoint) -> Option<Check> {
    (endpoint.kind() == "tcp").then(|| {
        check(
            "docker engine transport",
            Status::Warn,
            false,
            format!("plain TCP without TLS to {endpoint}: anyone who can reach that port is root on the engine's host"),
            "protect it with TLS (dockerd --tlsverify --tlscacert/--tlscert/--tlskey, then DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH here, or a context created with ca=,cert=,key=), use ssh://user@host, or keep the port on a network only you reach",
        )
    })
}

/// The client VM of `vm run`: whether it is built, QEMU is there, and which accelerator it
/// would use (a KVM probe boots once, at most [`client_vm::accel::PROBE_LIMIT`], then its
/// verdict is cached).
async fn client_vm_check() -> Check {
    use crate::orchestration::client_vm;
    let name = "client VM (vm run)";
    // An error's text is "what\n  hint: what to do".
    let split = |text: String| {
        let (what, hint) = text.split_once("\n  hint: ").unwrap_or((text.as_str(), ""));
        (what.to_string(), hint.to_string())
    };
    let artifacts = match client_vm::locate() {
        Ok(a) => a,
        Err(e) => {
            let (what, hint) = split(e);
            return check(name, Status::Warn, false, what, hint);
        }
    };
    let qemu = match client_vm::find_qemu() {
        Ok(q) => q,
        Err(e) => {
            let (what, hint) = split(e);
            return check(name, Status::Warn, false, format!("built (kernel {}), but {what}", artifacts.kernel_release()), hint);
        }
    };
    let accel = client_vm::accel::choose(&qemu, &artifacts, client_vm::AccelRequest::Auto).await;
    check(
        name,
        Status::Ok,
        false,
        format!("built in {} (kernel {}); accelerator {}: {}", artifacts.dir.display(), artifacts.kernel_release(), accel.accel.name(), accel.reason),
        "",
    )
}

/// Whether `version` (`major.minor`) is at least `major.minor`.
fn semver_at_least(version: &str, major: u64, minor: u64) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

/// Compose v2: the docker plugin, a `docker-compose` v2 on PATH, or the copy `make test` puts
/// in `~/.cache/benchhost/compose-v2/`.
fn compose_check() -> Check {
    let hint = "only for running the generated docker-compose.yml by hand: install the compose plugin (`sudo apt-get install docker-compose-plugin`, or Docker Desktop); Debian bookworm packages only v1";
    let cached = dirs::cache_dir().map(|d| d.join("benchhost/compose-v2/docker-compose").display().to_string()).unwrap_or_default();
    for argv in [vec!["docker", "compose", "version"], vec!["docker-compose", "version"], vec![cached.as_str(), "version"]] {
        if let Ok(o) = Command::new(argv[0]).args(&argv[1..]).output() {
            let v = String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or_default().trim().to_string();
            if o.status.success() && (v.contains(" v2.") || v.contains("version 2.")) {
                return check("compose v2 (optional)", Status::Ok, false, format!("{v} (`{}`)", argv[..argv.len() - 1].join(" ")), "");
            }
        }
    }
    check("compose v2 (optional)", Status::Warn, false, "not found (`docker compose`, `docker-compose` v2)", hint)
}

/// The images of every target profile (and its infrastructure) that are not present locally.
async fn images_check(registry: &Registry, settings: &SettingsSource, os: HostOs, engine: &DockerEngine) -> Check {
    let mut missing: Vec<String> = Vec::new();
    let mut total = 0;
    for p in registry.profiles().iter().filter(|p| p.profile.role == Role::Target) {
        let Ok(plan) = plan::plan(registry, settings, &p.profile.name, os).await else { continue };
        for (_, s) in plan.services() {
            total += 1;
            if !matches!(engine.image_info(&s.image).await, Ok(Some(_))) {
                let entry = format!("{} ({})", s.image, p.profile.name);
                if !missing.iter().any(|m| m.starts_with(&format!("{} ", s.image))) {
                    missing.push(entry);
                }
            }
        }
    }
    if missing.is_empty() {
        check("images", Status::Ok, false, format!("every image of every profile is present ({total} services)"), "")
    } else {
        check(
            "images",
            Status::Warn,
            false,
            format!("not on the engine, `up` will pull them: {}", missing.join(", ")),
            "without a registry: `make local-images` (as root) builds every local image (the real DittoFS and LocalStack among them) and points .env's <PLUGIN>_IMAGE settings at them (README \"No image registry\"); kernel-nfs's image has no local recipe and needs a registry",
        )
    }
}

/// fio and the I/O engine the benchmarks use (`FIO_ENGINE`; libaio on Linux, posixaio on macOS).
fn fio_check(settings: &SettingsSource, os: HostOs) -> Check {
    let engine = crate::orchestration::host::fio::engine(settings, os);
    if !crate::orchestration::host::fio::is_engine_name(&engine) {
        return check("fio (FIO_ENGINE)", Status::Warn, false, format!("FIO_ENGINE={engine:?} is not an engine name"), "set FIO_ENGINE to one `fio --enghelp` lists (libaio on Linux, posixaio on macOS)");
    }
    let install = if os == HostOs::Macos { "`brew install fio`" } else { "`sudo apt-get install fio` / `sudo dnf install fio`" };
    let name = format!("fio with {engine} (FIO_ENGINE)");
    let Ok(version) = crate::orchestration::host::fio::version() else {
        return check(&name, Status::Warn, false, "fio not found (the benchmark client)", format!("install it: {install}"));
    };
    let engines = Command::new("fio").arg("--enghelp").output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    if engines.lines().any(|l| l.trim() == engine.as_str()) {
        check(&name, Status::Ok, false, format!("{version}, engine {engine} available"), "")
    } else {
        check(&name, Status::Warn, false, format!("{version} lacks the {engine} engine"), format!("set FIO_ENGINE to one `fio --enghelp` lists (libaio on Linux, posixaio on macOS), or reinstall fio with {engine}"))
    }
}

fn mount_helper_checks(os: HostOs) -> Vec<Check> {
    let helpers: &[(&str, &str, &str)] = match os {
        HostOs::Macos => &[("mount_nfs", "NFS mount helper", "ships with macOS"), ("mount_smbfs", "SMB mount helper", "ships with macOS")],
        _ => &[
            ("mount.nfs", "NFS mount helper", "`sudo apt-get install nfs-common` / `sudo dnf install nfs-utils`"),
            ("mount.cifs", "SMB mount helper", "`sudo apt-get install cifs-utils` / `sudo dnf install cifs-utils`"),
        ],
    };
    helpers
        .iter()
        .map(|(bin, what, hint)| match find_in_path(bin) {
            Some(p) => check(&format!("{what} ({bin})"), Status::Ok, false, p, ""),
            None => check(&format!("{what} ({bin})"), Status::Warn, false, format!("{bin} not found; `benchhost mount` cannot mount this protocol"), *hint),
        })
        .collect()
}

/// `bin` in `PATH` or the sbin directories (mount helpers live in /sbin).
fn find_in_path(bin: &str) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/sbin", "/usr/sbin", "/usr/local/sbin"])
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

/// Every host port of every target profile (with its infrastructure), free on BENCH_BIND_ADDRESS.
async fn ports_check(registry: &Registry, settings: &SettingsSource, os: HostOs) -> Check {
    let bind = settings.get("BENCH_BIND_ADDRESS").unwrap_or("127.0.0.1").to_string();
    let ip: std::net::IpAddr = bind.parse().unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let mut busy = Vec::new();
    let mut checked = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for p in registry.profiles().iter().filter(|p| p.profile.role == Role::Target) {
        let plan = match plan::plan(registry, settings, &p.profile.name, os).await {
            Ok(plan) => plan,
            Err(e) => {
                problems.push(format!("{}: {}", p.profile.name, e.to_string().lines().next().unwrap_or_default()));
                continue;
            }
        };
        for (planned, s) in plan.services() {
            for port in &s.ports {
                if !checked.insert((port.host, port.transport == Transport::Udp)) {
                    continue;
                }
                if !crate::orchestration::host::ports::is_free(ip, port.host, port.transport == Transport::Udp) {
                    busy.push(format!("{} ({} of {})", port.host, s.name, planned.profile));
                }
            }
        }
    }
    let n = checked.len();
    if busy.is_empty() && problems.is_empty() {
        check("free ports", Status::Ok, false, format!("all {n} host ports of every profile are free on {bind}"), "")
    } else {
        let mut detail = Vec::new();
        if !busy.is_empty() {
            detail.push(format!("in use on {bind}: {}", busy.join(", ")));
        }
        if !problems.is_empty() {
            detail.push(format!("not planned: {}", problems.join("; ")));
        }
        check("free ports", Status::Warn, false, detail.join("; "), "a profile whose port is taken cannot start: stop the holder (`ss -ltnp`), or `benchhost status` / `benchhost down` if benchhost holds it")
    }
}

/// Free space where results go (and Docker's data root when it is local).
fn disk_check(results_root: &Path) -> Check {
    let mut probe = results_root.to_path_buf();
    while !probe.exists() {
        match probe.parent() {
            Some(p) => probe = p.to_path_buf(),
            None => break,
        }
    }
    let mut lines = Vec::new();
    let mut worst = Status::Ok;
    if results_root.exists() && !results_root.is_dir() {
        return check("disk space", Status::Fail, true, format!("the results root {} is not a directory", results_root.display()), "point BENCH_RESULTS_DIR (or --results-dir) at a directory");
    }
    for (what, path) in [("results", probe.as_path()), ("docker data", Path::new("/var/lib/docker"))] {
        let Ok(st) = rustix::fs::statvfs(path) else { continue };
        let free = st.f_bavail.saturating_mul(st.f_frsize);
        let status = if free < DISK_FAIL { Status::Fail } else if free < DISK_WARN { Status::Warn } else { Status::Ok };
        if status as u8 > worst as u8 {
            worst = status;
        }
        lines.push(format!("{what} ({}): {:.1} GiB free", path.display(), free as f64 / (1u64 << 30) as f64));
    }
    check("disk space", worst, true, lines.join("; "), "free disk space (`docker system prune`, old results/ runs): benchmarks write large files; doctor fails below 1 GiB and warns below 10 GiB")
}

/// amd64 images on an arm64 host run under emulation: slow, and unfair to compare.
async fn arch_check(registry: &Registry, settings: &SettingsSource, os: HostOs, engine: Option<&DockerEngine>) -> Check {
    let arch = std::env::consts::ARCH;
    let docker_arch = match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let mut foreign = Vec::new();
    if let Some(engine) = engine {
        for p in registry.profiles().iter().filter(|p| p.profile.role == Role::Target) {
            let Ok(plan) = plan::plan(registry, settings, &p.profile.name, os).await else { continue };
            for (_, s) in plan.services() {
                if let Ok(Some(info)) = engine.image_info(&s.image).await
                    && !info.architecture.is_empty() && info.architecture != docker_arch && !foreign.iter().any(|f: &String| f.starts_with(&s.image)) {
                        foreign.push(format!("{} ({})", s.image, info.architecture));
                    }
            }
        }
    }
    if engine.is_none() {
        check("architecture", Status::Warn, false, format!("host is {docker_arch}; the images cannot be checked without the engine"), "start Docker, then run doctor again")
    } else if !foreign.is_empty() {
        check("architecture", Status::Warn, false, format!("host is {docker_arch}; these local images are not: {}", foreign.join(", ")), "they run under emulation (slow and unfair to compare): use images built for this architecture")
    } else if docker_arch != "amd64" {
        check("architecture", Status::Warn, false, format!("host is {docker_arch}; several competitor images are published for amd64 only"), "an amd64-only image runs under emulation and its numbers are not comparable; prefer native images (or build them, e.g. DITTOFS_SRC)")
    } else {
        check("architecture", Status::Ok, false, format!("{docker_arch}; every local image of the profiles matches"), "")
    }
}

/// What to do when no engine answers, decided by what is there rather than by the `docker`
/// client (a machine may ship the CLI with no engine): a remote `DOCKER_HOST` is started where
/// it runs; an installed `dockerd` is started; otherwise an engine is installed first.
fn engine_hint(os: HostOs, docker_host: Option<&str>, dockerd_installed: bool) -> String {
    match (os, docker_host) {
        (HostOs::Macos, _) => "install and start Docker Desktop, OrbStack or colima (`brew install colima && colima start`)".into(),
        (_, Some(host)) if !host.is_empty() && !host.starts_with("unix://") => {
            format!("DOCKER_HOST={host}: start the engine there, or unset DOCKER_HOST to use this machine's engine")
        }
        _ if dockerd_installed => "dockerd is installed but not running: `sudo systemctl start docker`, or where there is no systemd `sudo setsid dockerd >/tmp/dockerd.log 2>&1 &`".into(),
        _ => "no Docker engine is installed here (a `docker` client alone is not one): `sudo apt-get install docker.io` (Debian/Ubuntu) or Docker Engine's packages, then start it (`sudo systemctl start docker`, or `sudo setsid dockerd &`)".into(),
    }
}

/// The first executable called `name` on `PATH`.
fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_hint_follows_what_is_installed_not_the_client() {
        let none = engine_hint(HostOs::Linux, None, false);
        assert!(none.contains("no Docker engine is installed") && none.contains("apt-get install docker.io"), "{none}");
        let stopped = engine_hint(HostOs::Linux, None, true);
        assert!(stopped.contains("dockerd is installed but not running") && !stopped.contains("apt-get install"), "{stopped}");
        let remote = engine_hint(HostOs::Linux, Some("tcp://10.0.0.2:2375"), false);
        assert!(remote.contains("DOCKER_HOST=tcp://10.0.0.2:2375") && !remote.contains("apt-get"), "{remote}");
        assert!(engine_hint(HostOs::Linux, Some("unix:///run/docker.sock"), true).contains("dockerd is installed"));
    }

    #[test]
    fn a_plain_tcp_engine_is_warned_about_and_tls_or_a_socket_is_not() {
        use crate::engine::endpoint::{resolve, DockerEnv};
        let at = |host: &str| resolve(&DockerEnv { docker_host: Some(host.into()), ..Default::default() }).unwrap();
        let c = engine_transport_check(&at("tcp://10.201.0.2:2375")).expect("a warning");
        assert_eq!((c.name.as_str(), c.status, c.required), ("docker engine transport", Status::Warn, false));
        assert_eq!(c.detail, "plain TCP without TLS to tcp://10.201.0.2:2375 (DOCKER_HOST): anyone who can reach that port is root on the engine's host");
        assert!(c.hint.contains("--tlsverify"), "{}", c.hint);
        assert!(engine_transport_check(&at("unix:///var/run/docker.sock")).is_none());
        assert!(engine_transport_check(&at("ssh://me@host")).is_none());
        assert!(engine_hint(HostOs::Macos, None, false).contains("colima"));
    }

    #[test]
    fn api_versions_compare_numerically() {
        assert!(semver_at_least("1.41", 1, 41));
        assert!(semver_at_least("1.47", 1, 41));
        assert!(!semver_at_least("1.40", 1, 41));
        assert!(!semver_at_least("garbage", 1, 41));
    }
}
