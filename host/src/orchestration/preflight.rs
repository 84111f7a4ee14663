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

/// `None` when `feature` is available under `root`, else what is missing and how to get it.
fn missing(feature: &str, root: &Path) -> Option<String> {
    let filesystems = std::fs::read_to_string(root.join("proc/filesystems")).unwrap_or_default();
    let listed = |fs: &str| filesystems.lines().any(|l| l.split_whitespace().last() == Some(fs));
    match feature {
        "nfsd" => {
            if listed("nfsd") || root.join("proc/fs/nfsd").exists() || module_present(root, "nfsd") {
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
