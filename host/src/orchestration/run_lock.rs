//! One `up`, `down` or `clean` at a time on a machine: an advisory lock on
//! `$TMPDIR/benchhost.lock`, held while a command changes what runs. Without it two `up`s
//! started together could both find the engine empty and run two systems at once. The lock
//! is released when the process ends, however it ends.

use crate::orchestration::error::BenchError;

/// The held lock; released on drop.
pub struct RunLock {
    _file: std::fs::File,
}

/// Takes the lock, waiting (and saying so on stderr) while another benchhost holds it.
pub async fn acquire() -> Result<RunLock, BenchError> {
    let path = std::env::temp_dir().join("benchhost.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| BenchError::Other(format!("opening the lock file {}: {e}\n  hint: check TMPDIR is writable", path.display())))?;
    match file.try_lock() {
        Ok(()) => return Ok(RunLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => crate::orchestration::progress::say("waiting for another benchhost up/down/clean to finish..."),
        Err(std::fs::TryLockError::Error(e)) => return Err(BenchError::Other(format!("locking {}: {e}", path.display()))),
    }
    let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| BenchError::Other(format!("waiting for the lock: {e}")))?
        .map_err(|e| BenchError::Other(format!("locking {}: {e}", path.display())))?;
    Ok(RunLock { _file: file })
}
