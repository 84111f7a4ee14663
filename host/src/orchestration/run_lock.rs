//! One `up`, `down` or `clean` at a time per Docker engine: an advisory lock (`flock`) on
//! `/tmp/benchhost-engine-<id>.lock`, where `<id>` is the engine's own id
//! ([`DockerEngine::engine_id`]), held while a command changes what runs. Without it two `up`s
//! started together could both find the engine empty and run two systems at once.
//!
//! The path depends on neither `TMPDIR` nor how `DOCKER_HOST` names the engine, so every
//! benchhost on this machine that drives the same engine takes the same lock, whatever its
//! environment. `/tmp` is shared with every user, so the file is opened as [`open`] says: never
//! through a link, never a FIFO, never changed. The lock is released when the process ends,
//! however it ends.

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

/// Opens the lock file without ever following a link or touching a file that is not ours: a
/// new file is made with `O_CREAT|O_EXCL` (made writable by all: it is a lock, not data); an
/// existing one is opened read-only (`flock` needs no more), with `O_NOFOLLOW` (a symlink
/// planted in the shared `/tmp` is refused, not followed) and `O_NONBLOCK` (a FIFO cannot
/// hang the open), and must be a regular file. Nothing existing is ever chmod-ed or written, so
/// a hard link to another file is only read-locked.
fn open(path: &std::path::Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let flags = (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32;
    let refuse = |what: &str| format!("{} is {what}, not benchhost's lock file\n  hint: remove it (`rm {}`), then rerun", path.display(), path.display());
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o666).custom_flags(flags).open(path) {
        Ok(file) => {
            // The umask may have taken write from the others; the file is new and ours.
            let _ = file.set_permissions(std::fs::Permissions::from_mode(0o666));
            return Ok(file);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("creating {}: {e}\n  hint: {LOCK_DIR} must be writable", path.display())),
    }
    let file = match std::fs::OpenOptions::new().read(true).custom_flags(flags).open(path) {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => return Err(refuse("a symbolic link")),
        Err(e) => return Err(format!("opening {}: {e}\n  hint: remove it if no benchhost is running (`rm {}`), then rerun", path.display(), path.display())),
    };
    match file.metadata() {
        Ok(m) if m.is_file() => Ok(file),
        Ok(_) => Err(refuse("not a regular file")),
        Err(e) => Err(format!("inspecting {}: {e}", path.display())),
    }
}

/// Takes `engine`'s lock, waiting (and saying so on stderr) while another benchhost holds it.
/// Errors: [`BenchError::Other`] when the lock file cannot be opened or locked.
pub async fn acquire(engine: &DockerEngine) -> Result<RunLock, BenchError> {
    let path = lock_path(&engine.engine_id);
    let file = open(&path).map_err(|e| BenchError::Other(format!("the run lock: {e}")))?;
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

    #[test]
    fn a_planted_symlink_or_fifo_is_refused_and_its_target_untouched() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "secret").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.lock");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(open(&link).unwrap_err().contains("is a symbolic link"));
        assert_eq!(std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777, 0o600);
        let dangling = dir.path().join("dangling.lock");
        std::os::unix::fs::symlink(dir.path().join("made-by-benchhost"), &dangling).unwrap();
        assert!(open(&dangling).unwrap_err().contains("is a symbolic link"));
        assert!(!dir.path().join("made-by-benchhost").exists());
        let fifo = dir.path().join("fifo.lock");
        rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, rustix::fs::Mode::from_raw_mode(0o600), 0).unwrap();
        assert!(open(&fifo).unwrap_err().contains("not a regular file"));
        // A new lock is made writable by all; an existing one is locked as it is.
        let fresh = dir.path().join("fresh.lock");
        let file = open(&fresh).unwrap();
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o666);
        drop(file);
        std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o644)).unwrap();
        let again = open(&fresh).unwrap();
        again.try_lock().unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o644);
    }
}
