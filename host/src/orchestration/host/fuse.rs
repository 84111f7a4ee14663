//! FUSE mounts made inside containers and shown on the host through `rshared` binds.

use super::mountinfo::this_machine;

/// After `down`: a FUSE mount left at `path` (its daemon was killed) is detached with
/// `umount -l`. Returns what happened, for the report.
pub fn release_fuse_mount(path: &str) -> Option<String> {
    let mounts = this_machine().unwrap_or_default();
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
