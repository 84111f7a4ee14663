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
    KernelFacts::of_root(root).missing(feature)
}

/// What a machine's kernel features are decided from: its `/proc/filesystems`, whether nfsd's
/// file system is mounted (`/proc/fs/nfsd/threads`), whether `/dev/fuse` exists, and the
/// names of the kernel modules installed for the running kernel (`nfsd`, `nfsv4`, ...). Read
/// from this machine ([`Self::of_root`]) or from the output of [`PROBE_SCRIPT`] run on a
/// remote engine's host ([`Self::from_probe`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelFacts {
    /// `/proc/filesystems` as read.
    pub filesystems: String,
    pub nfsd_mounted: bool,
    pub dev_fuse: bool,
    /// Module names (file names without `.ko*`) under `/lib/modules/<release>/`.
    pub modules: std::collections::BTreeSet<String>,
}

/// A POSIX `sh` script that prints the [`KernelFacts`] of the machine whose root is at `/host`
/// (a container with the engine host's `/` bind-mounted there read-only): `/proc/filesystems`
/// (one kernel, so the container's is the host's), then `@nfsd-mounted`, `@dev-fuse` and
/// `@module <path>` lines (each line of the running kernel's `modules.dep`).
pub const PROBE_SCRIPT: &str = r#"cat /proc/filesystems
release=$(cat /proc/sys/kernel/osrelease)
[ -e /host/proc/fs/nfsd/threads ] && echo @nfsd-mounted
[ -e /host/dev/fuse ] && echo @dev-fuse
deps=/host/lib/modules/$release/modules.dep
if [ -r "$deps" ]; then while IFS=: read -r module rest; do echo "@module $module"; done < "$deps"; fi
exit 0"#;

/// The module name of a path such as `kernel/fs/nfsd/nfsd.ko.xz`, `None` for other files.
fn module_name(path: &str) -> Option<&str> {
    let file = path.rsplit('/').next()?;
    let (name, rest) = file.split_once(".ko")?;
    (rest.is_empty() || rest.starts_with('.')).then_some(name)
}

impl KernelFacts {
    /// The facts of the machine whose root directory is `root` (`/` for this one; tests use a
    /// fake tree).
    pub fn of_root(root: &Path) -> Self {
        let mut modules = std::collections::BTreeSet::new();
        if let Ok(release) = std::fs::read_to_string(root.join("proc/sys/kernel/osrelease")) {
            collect_modules(&root.join("lib/modules").join(release.trim()), 6, &mut modules);
        }
        KernelFacts {
            filesystems: std::fs::read_to_string(root.join("proc/filesystems")).unwrap_or_default(),
            nfsd_mounted: root.join("proc/fs/nfsd/threads").exists(),
            dev_fuse: root.join("dev/fuse").exists(),
            modules,
        }
    }

    /// The facts printed by [`PROBE_SCRIPT`].
    pub fn from_probe(output: &str) -> Self {
        let mut facts = KernelFacts::default();
        for line in output.lines() {
            match line.strip_prefix('@') {
                Some("nfsd-mounted") => facts.nfsd_mounted = true,
                Some("dev-fuse") => facts.dev_fuse = true,
                Some(other) => {
                    if let Some(name) = other.strip_prefix("module ").and_then(module_name) {
                        facts.modules.insert(name.to_string());
                    }
                }
                None => {
                    facts.filesystems.push_str(line);
                    facts.filesystems.push('\n');
                }
            }
        }
        facts
    }

    /// `None` when `feature` (`nfsd`, `fuse`, `nfs-client`, `smb-client`) is available, else
    /// what is missing and how to get it.
    pub fn missing(&self, feature: &str) -> Option<String> {
        let listed = |fs: &str| self.filesystems.lines().any(|l| l.split_whitespace().last() == Some(fs));
        let module = |name: &str| self.modules.contains(name);
        match feature {
            "nfsd" => {
                // /proc/fs/nfsd exists on every kernel (an empty mount point), so it proves nothing;
                // its `threads` file appears only when nfsd's filesystem is mounted.
                if listed("nfsd") || self.nfsd_mounted || module("nfsd") {
                    None
                } else {
                    Some("/proc/filesystems has no nfsd and no nfsd kernel module is installed\n  hint: on Debian/Ubuntu `sudo apt-get install nfs-kernel-server && sudo modprobe nfsd`; Docker Desktop and kernels without CONFIG_NFSD cannot run kernel-nfs (use ganesha for a user-space NFS server)".into())
                }
            }
            "fuse" => {
                if self.dev_fuse {
                    None
                } else {
                    Some("/dev/fuse does not exist\n  hint: `sudo modprobe fuse`".into())
                }
            }
            "nfs-client" => {
                if listed("nfs") || listed("nfs4") || module("nfs") || module("nfsv4") {
                    None
                } else {
                    Some("/proc/filesystems has no nfs and no nfs kernel module is installed, so this machine cannot mount NFS\n  hint: on Debian/Ubuntu `sudo apt-get install nfs-common && sudo modprobe nfs`; in a container or a kernel without NFS, use a user-space client (libnfs-utils: nfs-cp, nfs-ls)".into())
                }
            }
            "smb-client" => {
                if listed("cifs") || listed("smb3") || module("cifs") {
                    None
                } else {
                    Some("/proc/filesystems has no cifs and no cifs kernel module is installed, so this machine cannot mount SMB\n  hint: on Debian/Ubuntu `sudo apt-get install cifs-utils && sudo modprobe cifs`; in a container or a kernel without CIFS, use smbclient".into())
                }
            }
            other => Some(format!("unknown kernel feature {other:?} (benchhost knows nfsd, fuse, nfs-client, smb-client)")),
        }
    }
}

/// Adds the names of the `*.ko*` files under `dir` (at most `depth` levels down) to `into`.
fn collect_modules(dir: &Path, depth: u32, into: &mut std::collections::BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        if let Some(name) = module_name(&file) {
            into.insert(name.to_string());
        } else if depth > 0 && e.path().is_dir() {
            collect_modules(&e.path(), depth - 1, into);
        }
    }
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

    #[test]
    fn the_probe_output_of_an_engine_host_gives_the_same_facts() {
        let probe = "nodev\tsysfs\nnodev\tfuse\n\text4\n@dev-fuse\n@module kernel/fs/nfsd/nfsd.ko.xz\n@module kernel/fs/nfs/nfsv4.ko\n@module kernel/fs/cifs/cifs.kobold\n";
        let facts = super::KernelFacts::from_probe(probe);
        assert_eq!(facts.filesystems, "nodev\tsysfs\nnodev\tfuse\n\text4\n");
        assert!(facts.dev_fuse && !facts.nfsd_mounted);
        assert_eq!(facts.modules.iter().map(String::as_str).collect::<Vec<_>>(), ["nfsd", "nfsv4"], "cifs.kobold is no module");
        assert_eq!(facts.missing("nfsd"), None);
        assert_eq!(facts.missing("fuse"), None);
        assert_eq!(facts.missing("nfs-client"), None);
        assert!(facts.missing("smb-client").unwrap().contains("no cifs"));
        let bare = super::KernelFacts::from_probe("nodev\tsysfs\n");
        assert!(bare.missing("nfsd").unwrap().starts_with("/proc/filesystems has no nfsd"));
        assert!(bare.missing("fuse").unwrap().contains("/dev/fuse does not exist"));
        assert!(super::KernelFacts::from_probe("nodev\tnfsd\n").missing("nfsd").is_none());
        assert!(super::KernelFacts::from_probe("@nfsd-mounted\n").missing("nfsd").is_none());
    }
}
