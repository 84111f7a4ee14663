//! FUSE on the host: the shared mount JuiceFS's mount propagates to, and whether it is there.

use super::docker::text;
use std::process::Command;

/// FUSE mounts of type fuse.juicefs on the host at `path`.
pub fn fuse_mounted(path: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(path) && l.contains(" - fuse.juicefs "))
}

/// Makes `path` a shared mount (a bind mount of itself), as the juicefs plugin's hint says;
/// undone on drop.
pub struct SharedMount(&'static str);

impl SharedMount {
    pub fn new(path: &'static str) -> SharedMount {
        assert!(is_root(), "making {path} a shared mount needs root");
        std::fs::create_dir_all(path).unwrap();
        for args in [vec!["--bind", path, path], vec!["--make-shared", path]] {
            let out = Command::new("mount").args(&args).output().expect("mount");
            assert!(out.status.success(), "mount {args:?}: {}", text(&out.stderr));
        }
        SharedMount(path)
    }
}

impl Drop for SharedMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").args(["-l", self.0]).output();
    }
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}
