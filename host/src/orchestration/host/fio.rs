//! fio on this machine: the I/O engine the benchmarks use and fio's version, shared by
//! `doctor` and `bench`'s host client.

use crate::orchestration::plan::settings::SettingsSource;
use crate::runtime::contract::HostOs;

/// fio's I/O engine: `FIO_ENGINE`, else `libaio` on Linux and `posixaio` on macOS (the seed's).
pub fn engine(settings: &SettingsSource, os: HostOs) -> String {
    settings.get("FIO_ENGINE").map(str::trim).filter(|e| !e.is_empty()).map(str::to_string).unwrap_or_else(|| if os == HostOs::Macos { "posixaio".into() } else { "libaio".into() })
}

/// Whether `name` can be an engine name (letters, digits, `-`, `_`: what `fio --enghelp` lists).
pub fn is_engine_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `fio --version` (e.g. `fio-3.33`). Errors: fio cannot be run, or it failed (the reason).
pub fn version() -> Result<String, String> {
    match std::process::Command::new("fio").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        Ok(o) => Err(format!("fio --version exited {}", o.status)),
        Err(e) => Err(e.to_string()),
    }
}
