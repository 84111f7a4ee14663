//! Helpers for tests that boot the client VM (`benchhost vm run`): whether it is built, a lock
//! so only one VM runs at a time (2 cores; TCG is CPU-bound), and the processes a run may leave.
//!
//! Without a build (`make vm`, which `make test` runs through `tests/setup.sh`) a VM test is
//! skipped with the reason, unless `BENCHHOST_REQUIRE_DOCKER=1` (`make test`, CI): the real
//! clients must run there, so a missing VM fails the test.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

static VM: Mutex<()> = Mutex::new(());

/// One VM at a time: held in-process and across test processes (a lock file in the temp dir).
pub struct VmGuard {
    _thread: MutexGuard<'static, ()>,
    _file: std::fs::File,
}

/// The client VM's build directory the benchhost binary will use (`$XDG_CACHE_HOME` or
/// `~/.cache`, `benchhost/client-vm`).
pub fn build_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"));
    cache.join("benchhost").join("client-vm")
}

/// Holds the VM for one test; `None` means skip (the reason was printed).
pub fn vm_or_skip(test: &str) -> Option<VmGuard> {
    let required = std::env::var("BENCHHOST_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
    let dir = build_dir();
    let qemu = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|d| d.join("qemu-system-x86_64").is_file());
    let missing = if !dir.join("initramfs.gz").is_file() {
        Some(format!("the client VM is not built in {} (run `make vm`)", dir.display()))
    } else if !qemu {
        Some("qemu-system-x86_64 is not installed (`make vm` installs it as root)".to_string())
    } else {
        None
    };
    if let Some(why) = missing {
        if required {
            panic!("{test}: {why}, and BENCHHOST_REQUIRE_DOCKER=1");
        }
        eprintln!("SKIPPED {test}: {why} (set BENCHHOST_REQUIRE_DOCKER=1 to fail instead)");
        return None;
    }
    super::artifacts::benchhost_bin();
    let thread = VM.lock().unwrap_or_else(|e| e.into_inner());
    let path = std::env::temp_dir().join("benchhost-vm-tests.lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    file.lock().unwrap_or_else(|e| panic!("locking {}: {e}", path.display()));
    Some(VmGuard { _thread: thread, _file: file })
}

/// The command lines of running processes that mention `needle` (e.g. a job file's path, which
/// QEMU's `-fw_cfg` carries).
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if !entry.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(format!("{}: {cmdline}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

/// `key=value` lines of a job's output.
pub fn values(stdout: &str) -> std::collections::BTreeMap<String, String> {
    stdout.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect()
}
