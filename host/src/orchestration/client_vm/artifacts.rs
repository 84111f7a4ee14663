//! Where the client VM's build lives and what it says about itself: the kernel, the initramfs
//! and the manifest `tests/vm/build.sh` writes into
//! `${XDG_CACHE_HOME:-~/.cache}/benchhost/client-vm/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The command that builds the client VM, for hints.
pub const BUILD_HINT: &str = "build it with `make vm` (tests/vm/build.sh in a benchhost checkout; under a minute from Debian packages, cached per user)";

/// A client VM build on disk.
#[derive(Clone, Debug)]
pub struct Artifacts {
    /// The build's directory.
    pub dir: PathBuf,
    /// `vmlinuz`: the Debian cloud kernel.
    pub kernel: PathBuf,
    /// `initramfs.gz`: busybox, fio, the mount helpers, the modules and `/init`.
    pub initramfs: PathBuf,
    /// `manifest`'s `key=value` lines: `recipe`, `kernel` (the release, e.g.
    /// `6.1.0-57-cloud-amd64`), `kernel_package`, `busybox`, `fio`, `initramfs_bytes`, `built`…
    pub manifest: BTreeMap<String, String>,
}

impl Artifacts {
    /// The guest kernel's release (`uname -r` in the guest), or `?`.
    pub fn kernel_release(&self) -> &str {
        self.manifest.get("kernel").map(String::as_str).unwrap_or("?")
    }

    /// The build's recipe hash, or `?`.
    pub fn recipe(&self) -> &str {
        self.manifest.get("recipe").map(String::as_str).unwrap_or("?")
    }
}

/// The default build directory: `$XDG_CACHE_HOME/benchhost/client-vm` (else
/// `~/.cache/benchhost/client-vm`); `None` when there is no home directory.
pub fn default_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("benchhost").join("client-vm"))
}

/// The build in `dir`. Errors (the text of an exit-6 error): the directory, the kernel, the
/// initramfs or the manifest is missing or unreadable; each names the path and the build
/// command.
pub fn load(dir: &Path) -> Result<Artifacts, String> {
    let kernel = dir.join("vmlinuz");
    let initramfs = dir.join("initramfs.gz");
    let manifest_path = dir.join("manifest");
    for p in [&kernel, &initramfs, &manifest_path] {
        match std::fs::metadata(p) {
            Ok(m) if m.is_file() && m.len() > 0 => {}
            Ok(_) => return Err(format!("the client VM in {} is incomplete: {} is empty or not a file\n  hint: {BUILD_HINT}", dir.display(), p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("the client VM is not built: {} does not exist\n  hint: {BUILD_HINT}", p.display()));
            }
            Err(e) => return Err(format!("the client VM in {}: cannot read {}: {e}\n  hint: {BUILD_HINT}", dir.display(), p.display())),
        }
    }
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| format!("cannot read {}: {e}\n  hint: {BUILD_HINT}", manifest_path.display()))?;
    Ok(Artifacts { dir: dir.to_path_buf(), kernel, initramfs, manifest: parse_manifest(&text) })
}

/// `key=value` lines; others are ignored.
fn parse_manifest(text: &str) -> BTreeMap<String, String> {
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_build_names_the_file_and_the_build_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(err.contains("not built") && err.contains("vmlinuz") && err.contains("make vm"), "{err}");
        std::fs::write(dir.path().join("vmlinuz"), b"k").unwrap();
        std::fs::write(dir.path().join("initramfs.gz"), b"").unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(err.contains("incomplete") && err.contains("initramfs.gz"), "{err}");
    }

    #[test]
    fn the_manifest_is_read() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["vmlinuz", "initramfs.gz"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        std::fs::write(dir.path().join("manifest"), "recipe=abc\nkernel=6.1.0-57-cloud-amd64\nnot a pair\n").unwrap();
        let a = load(dir.path()).unwrap();
        assert_eq!(a.kernel_release(), "6.1.0-57-cloud-amd64");
        assert_eq!(a.recipe(), "abc");
        assert_eq!(a.manifest.len(), 2);
    }
}
