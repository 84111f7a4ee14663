//! Checks of the Docker host before anything is created: kernel features plugins declare in
//! their `host-kernel` capability (`nfsd`, `fuse`). Only a local engine's kernel can be read;
//! with a remote `DOCKER_HOST` the check is skipped with a warning.

use super::error::BenchError;
use super::plan::Plan;
use super::registry::Registry;
use std::path::Path;

/// Fails with [`BenchError::HostUnsupported`] naming the plugin, the feature and a hint when the
/// host kernel lacks a feature a planned plugin declared.
pub fn check_host_kernel(registry: &Registry, plan: &Plan) -> Result<(), BenchError> {
    check_with(registry, plan, Path::new("/"))
}

/// [`check_host_kernel`] against a root directory (tests use a fake `/proc`).
pub fn check_with(registry: &Registry, plan: &Plan, root: &Path) -> Result<(), BenchError> {
    if std::env::var("DOCKER_HOST").is_ok_and(|h| !h.is_empty() && !h.starts_with("unix://")) {
        tracing::warn!("DOCKER_HOST is remote: host kernel features are not checked");
        return Ok(());
    }
    for p in &plan.profiles {
        let info = &registry.plugin(p.plugin).info;
        for feature in &info.capabilities.host_kernel {
            if let Some(why) = missing(feature, root) {
                return Err(BenchError::HostUnsupported(format!(
                    "profile {} (plugin \"{}\" {}) needs the host kernel's {feature}, which this Docker host lacks: {why}",
                    p.profile, info.name, info.version
                )));
            }
        }
    }
    Ok(())
}

/// `None` when the host kernel has `feature` (`nfsd`, `fuse`, `nfs-client`), else what is
/// missing and how to get it.
pub fn kernel_feature_missing(feature: &str) -> Option<String> {
    missing(feature, Path::new("/"))
}

/// `None` when `feature` is available under `root`, else what is missing and how to get it.
fn missing(feature: &str, root: &Path) -> Option<String> {
    let filesystems = std::fs::read_to_string(root.join("proc/filesystems")).unwrap_or_default();
    let listed = |fs: &str| filesystems.lines().any(|l| l.split_whitespace().last() == Some(fs));
    match feature {
        "nfsd" => {
            // /proc/fs/nfsd exists on every kernel (an empty mount point), so it proves nothing;
            // its `threads` file appears only when nfsd's filesystem is mounted.
            if listed("nfsd") || root.join("proc/fs/nfsd/threads").exists() || module_present(root, "nfsd") {
                None
            } else {
                Some("/proc/filesystems has no nfsd and no nfsd kernel module is installed\n  hint: on Debian/Ubuntu `sudo apt-get install nfs-kernel-server && sudo modprobe nfsd`; Docker Desktop and kernels without CONFIG_NFSD cannot run kernel-nfs (use ganesha for a user-space NFS server)".into())
            }
        }
        "fuse" => {
            if root.join("dev/fuse").exists() {
                None
            } else {
                Some("/dev/fuse does not exist\n  hint: `sudo modprobe fuse`".into())
            }
        }
        "nfs-client" => {
            if listed("nfs") || listed("nfs4") || module_present(root, "nfs") || module_present(root, "nfsv4") {
                None
            } else {
                Some("/proc/filesystems has no nfs and no nfs kernel module is installed, so this machine cannot mount NFS\n  hint: on Debian/Ubuntu `sudo apt-get install nfs-common && sudo modprobe nfs`; in a container or a kernel without NFS, use a user-space client (libnfs-utils: nfs-cp, nfs-ls)".into())
            }
        }
        other => Some(format!("unknown kernel feature {other:?} (benchhost knows nfsd, fuse)")),
    }
}

/// Whether `/lib/modules/<running kernel>/` holds `<name>.ko*`.
fn module_present(root: &Path, name: &str) -> bool {
    let Ok(release) = std::fs::read_to_string(root.join("proc/sys/kernel/osrelease")) else { return false };
    let dir = root.join("lib/modules").join(release.trim());
    find_module(&dir, name, 6)
}

fn find_module(dir: &Path, name: &str, depth: u32) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    for e in entries.flatten() {
        let p = e.path();
        let file = e.file_name().to_string_lossy().into_owned();
        if file == format!("{name}.ko") || file.starts_with(&format!("{name}.ko.")) {
            return true;
        }
        if depth > 0 && p.is_dir() && find_module(&p, name, depth - 1) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::missing;

    #[test]
    fn nfsd_is_found_in_proc_filesystems_or_as_a_module() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("proc/sys/kernel")).unwrap();
        std::fs::create_dir_all(root.path().join("proc/fs/nfsd")).unwrap(); // present on every kernel
        std::fs::write(root.path().join("proc/filesystems"), "nodev\tsysfs\n\text4\n").unwrap();
        std::fs::write(root.path().join("proc/sys/kernel/osrelease"), "6.1.0-test\n").unwrap();
        let why = missing("nfsd", root.path()).expect("nfsd missing");
        assert!(why.contains("/proc/filesystems has no nfsd") && why.contains("hint"), "{why}");
        let mods = root.path().join("lib/modules/6.1.0-test/kernel/fs/nfsd");
        std::fs::create_dir_all(&mods).unwrap();
        std::fs::write(mods.join("nfsd.ko.xz"), "").unwrap();
        assert_eq!(missing("nfsd", root.path()), None);
        std::fs::write(root.path().join("proc/filesystems"), "nodev\tnfsd\n").unwrap();
        assert_eq!(missing("nfsd", root.path()), None);
        assert!(missing("fuse", root.path()).unwrap().contains("/dev/fuse"));
        assert!(missing("zfs", root.path()).unwrap().contains("unknown kernel feature"));
    }
}

/// One line of `/proc/self/mountinfo`: mount point, propagation tags, filesystem type.
#[derive(Debug, PartialEq, Eq)]
struct MountInfo {
    mount_point: String,
    shared: bool,
    fstype: String,
}

fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let f: Vec<&str> = pre.split(' ').collect();
            let mount_point = f.get(4)?.replace("\\040", " ");
            let shared = f.iter().skip(6).any(|o| o.starts_with("shared:"));
            let fstype = post.split(' ').next()?.to_string();
            Some(MountInfo { mount_point, shared, fstype })
        })
        .collect()
}

/// The mount holding `path` (the longest mount point that is a prefix of it).
fn mount_of<'a>(mounts: &'a [MountInfo], path: &str) -> Option<&'a MountInfo> {
    mounts
        .iter()
        .filter(|m| path == m.mount_point || m.mount_point == "/" || path.starts_with(&format!("{}/", m.mount_point)))
        .max_by_key(|m| m.mount_point.len())
}

/// Host paths the plan bind-mounts with `rshared` propagation must exist (they are created)
/// and sit on a shared mount, or a FUSE mount made in the container never reaches the host.
pub fn check_shared_binds(plan: &Plan) -> Result<(), BenchError> {
    if std::env::var("DOCKER_HOST").is_ok_and(|h| !h.is_empty() && !h.starts_with("unix://")) {
        return Ok(());
    }
    for (p, s) in plan.services() {
        for v in &s.volumes {
            let crate::runtime::contract::VolumeSource::HostShared(path) = &v.source else { continue };
            std::fs::create_dir_all(path)
                .map_err(|e| BenchError::HostUnsupported(format!("cannot create {path} (service {} of profile {}): {e}", s.name, p.profile)))?;
            let mounts = parse_mountinfo(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default());
            let canonical = std::fs::canonicalize(path).map(|c| c.display().to_string()).unwrap_or_else(|_| path.clone());
            if !mount_of(&mounts, &canonical).is_some_and(|m| m.shared) {
                return Err(BenchError::HostUnsupported(format!(
                    "{path} (where profile {} shows its FUSE mount) is not on a shared mount, so the mount made in the container cannot appear there\n  hint: sudo mount --bind {path} {path} && sudo mount --make-shared {path}   (or point the plugin's mount setting elsewhere)",
                    p.profile
                )));
            }
        }
    }
    Ok(())
}

/// After `down`: a FUSE mount left at `path` (its daemon was killed) is detached with
/// `umount -l`. Returns what happened, for the report.
pub fn release_fuse_mount(path: &str) -> Option<String> {
    let mounts = parse_mountinfo(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default());
    let stale = mounts.iter().any(|m| m.mount_point == path && m.fstype.starts_with("fuse"));
    if !stale {
        return None;
    }
    Some(match std::process::Command::new("umount").args(["-l", path]).output() {
        Ok(o) if o.status.success() => format!("detached the stale FUSE mount at {path}"),
        Ok(o) => format!("could not detach the stale FUSE mount at {path}: {} (try `sudo umount -l {path}`)", String::from_utf8_lossy(&o.stderr).trim()),
        Err(e) => format!("could not run umount for {path}: {e} (try `sudo umount -l {path}`)"),
    })
}

#[cfg(test)]
mod mountinfo_tests {
    use super::*;

    #[test]
    fn shared_mounts_are_recognised_by_longest_prefix() {
        let text = "22 1 0:21 / / rw,relatime - overlay overlay rw\n\
                    30 22 0:40 / /srv/jfs rw,relatime shared:5 - ext4 /dev/vda rw\n\
                    31 30 0:41 / /srv/jfs/mnt rw master:5 - fuse.juicefs JuiceFS:x rw\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 3);
        assert!(!mount_of(&m, "/tmp/x").unwrap().shared);
        assert!(mount_of(&m, "/srv/jfs").unwrap().shared);
        assert_eq!(mount_of(&m, "/srv/jfs/mnt").unwrap().fstype, "fuse.juicefs");
        assert_eq!(mount_of(&m, "/srv/jfsother").unwrap().mount_point, "/");
    }
}

/// Who holds host `port` (a listening TCP socket, or a bound UDP one), read from `/proc`:
/// `pid 123 (nginx)`, or for Docker's proxy the hint that a container publishes it. `None` when
/// it cannot be told (another OS, or a process of another user without privileges).
pub fn port_holder(port: u16, udp: bool) -> Option<String> {
    let tables: &[&str] = if udp { &["/proc/net/udp", "/proc/net/udp6"] } else { &["/proc/net/tcp", "/proc/net/tcp6"] };
    let mut inodes = Vec::new();
    for table in tables {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else { continue };
            let local_port = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            // TCP: LISTEN (0A); UDP: any bound socket (07 is "unconnected").
            if local_port == Some(port) && (udp || *state == "0A") && *inode != "0" {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let procs = std::fs::read_dir("/proc").ok()?;
    for p in procs.flatten() {
        let name = p.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else { continue };
        let holds = fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str())));
        if holds {
            let comm = std::fs::read_to_string(p.path().join("comm")).unwrap_or_default().trim().to_string();
            return Some(if comm == "docker-proxy" {
                format!("pid {name} (docker-proxy: a Docker container publishes it; `docker ps --filter publish={port}`)")
            } else {
                format!("pid {name} ({comm})")
            });
        }
    }
    None
}
