//! Facts about this machine and actions on it: kernel features, mounts (mountinfo, FUSE, the
//! mounts `benchhost mount` makes), ports, the page cache, and the data directories of
//! `BENCH_DATA_DIR`, benchhost's state directory. Nothing here knows plugins or plans.

pub use crate::runtime::contract::HostOs;

pub mod data_dirs;
pub mod fio;
pub mod fuse;
pub mod kernel;
pub mod mount_command;
pub mod mountinfo;
pub mod mounts;
pub mod page_cache;
pub mod ports;

/// benchhost's state directory on this machine: `$BENCHHOST_STATE_DIR` when that is an
/// absolute path, else `benchhost` under the per-user state directory (`$XDG_STATE_HOME`, else
/// `~/.local/state`, on Linux; the local data directory elsewhere); `None` without a home
/// directory. It holds `mounts/` (what `benchhost mount` mounted) and `unfinished/` (runs an
/// engine that stopped answering still holds).
pub fn state_dir() -> Option<std::path::PathBuf> {
    if let Some(d) = std::env::var_os("BENCHHOST_STATE_DIR").map(std::path::PathBuf::from).filter(|d| d.is_absolute()) {
        return Some(d);
    }
    dirs::state_dir().or_else(dirs::data_local_dir).map(|d| d.join("benchhost"))
}

/// The OS this machine runs (and so the OS a mount command is written for).
pub fn host_os() -> crate::runtime::contract::HostOs {
    use crate::runtime::contract::HostOs;
    match std::env::consts::OS {
        "linux" => HostOs::Linux,
        "macos" => HostOs::Macos,
        _ => HostOs::Other,
    }
}

/// This machine's RAM in bytes (Linux: sysinfo(2)); `None` elsewhere.
pub fn total_memory() -> Option<u64> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let info = rustix::system::sysinfo();
        Some(info.totalram as u64 * u64::from(info.mem_unit.max(1)))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        None
    }
}
