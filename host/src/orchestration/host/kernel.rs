//! Kernel features of this machine (`nfsd`, `fuse`, `nfs-client`, `smb-client`): whether each is there, and
//! how to get it when it is not.

use std::path::Path;

/// `None` when the host kernel has `feature` (`nfsd`, `fuse`, `nfs-client`, `smb-client`), else what is
/// missing and how to get it.
pub fn kernel_feature_missing(feature: &str) -> Option<String> {
    missing(feature, Path::new("/"))
}

/// `None` when `feature` is available under `root`, else what is missing and how to get it.
pub fn missing(feature: &str, root: &Path) -> Option<String> {
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
        "smb-client" => {
            if listed("cifs") || listed("smb3") || module_present(root, "cifs") {
                None
            } else {
                Some("/proc/filesystems has no cifs and no cifs kernel module is installed, so this machine cannot mount SMB\n  hint: on Debian/Ubuntu `sudo apt-get install cifs-utils && sudo modprobe cifs`; in a container or a kernel without CIFS, use smbclient".into())
            }
        }
        other => Some(format!("unknown kernel feature {other:?} (benchhost knows nfsd, fuse, nfs-client, smb-client)")),
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
