//! One `up`, `down` or `clean` at a time per Docker engine: an advisory lock (`flock`) on
//! `/tmp/benchhost-engine-<id>.lock`, where `<id>` is the engine's own id
//! ([`DockerEngine::engine_id`]), held while a command changes what runs. Without it two `up`s
//! started together could both find the engine empty and run two systems at once.
//!
//! The path depends on neither `TMPDIR` nor how `DOCKER_HOST` names the engine, so every
//! benchhost on this machine that drives the same engine takes the same lock, whatever its
//! environment. The file is made writable by every user (a lock, not data), and a file another
//! user made is locked through a read-only descriptor, which `flock` allows. The lock is
//! released when the process ends, however it ends.

use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
use std::path::PathBuf;

/// Where every benchhost on this machine keeps its engine locks (not `TMPDIR`: see the module doc).
const LOCK_DIR: &str = "/tmp";

/// The held lock; released on drop.
pub struct RunLock {
    _file: std::fs::File,
}

/// The lock file of the engine with id `engine_id`: `/tmp/benchhost-engine-<id>.lock`, the id
/// reduced to `[A-Za-z0-9]` (Docker's ids are `XXXX:XXXX:…`).
pub fn lock_path(engine_id: &str) -> PathBuf {
    let id: String = engine_id.chars().filter(char::is_ascii_alphanumeric).take(96).collect();
    PathBuf::from(LOCK_DIR).join(format!("benchhost-engine-{id}.lock"))
}

/// Opens (creating it, writable by all) the lock file, or read-only when another user owns it.
fn open(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o666).open(path) {
        Ok(file) => {
            // The umask may have taken write from the others; give it back (best effort: only
            // the owner may, and a read-only descriptor locks as well).
            let _ = file.set_permissions(std::fs::Permissions::from_mode(0o666));
            Ok(file)
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => std::fs::File::open(path),
        Err(e) => Err(e),
    }
}

/// Takes `engine`'s lock, waiting (and saying so on stderr) while another benchhost holds it.
/// Errors: [`BenchError::Other`] when the lock file cannot be opened or locked.
pub async fn acquire(engine: &DockerEngine) -> Result<RunLock, BenchError> {
    let path = lock_path(&engine.engine_id);
    let file = open(&path).map_err(|e| BenchError::Other(format!("opening the lock file {}: {e}\n  hint: {LOCK_DIR} must be writable", path.display())))?;
    match file.try_lock() {
        Ok(()) => return Ok(RunLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => crate::orchestration::progress::say("waiting for another benchhost up/down/clean on this engine to finish..."),
        Err(std::fs::TryLockError::Error(e)) => return Err(BenchError::Other(format!("locking {}: {e}", path.display()))),
    }
    let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| BenchError::Other(format!("waiting for the lock: {e}")))?
        .map_err(|e| BenchError::Other(format!("locking {}: {e}", path.display())))?;
    Ok(RunLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_path_is_the_engine_id_alone() {
        assert_eq!(lock_path("ABCD:EF12:../x y"), PathBuf::from("/tmp/benchhost-engine-ABCDEF12xy.lock"));
    }
}
