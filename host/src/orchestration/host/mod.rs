//! Facts about this machine and actions on it: kernel features, mounts (mountinfo, FUSE, the
//! mounts `benchhost mount` makes), ports, the page cache, and the data directories of
//! `BENCH_DATA_DIR`. Nothing here knows plugins or plans.

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
