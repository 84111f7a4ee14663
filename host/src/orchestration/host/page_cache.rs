//! `benchhost drop-caches`: flush the host's page cache between benchmark runs, the right way
//! for the OS. Linux: `sync`, then write `3` to `/proc/sys/vm/drop_caches` (page cache,
//! dentries and inodes; `Documentation/admin-guide/sysctl/vm.rst`), through `sudo tee` when
//! not root. macOS: `sync` then `sudo purge`.

use crate::orchestration::error::BenchError;
use crate::runtime::contract::HostOs;
use std::io::Write;
use std::process::{Command, Stdio};

/// The commands `drop-caches` runs on `os` (for `--dry-run` and the docs).
pub fn commands(os: HostOs, as_root: bool) -> Result<Vec<Vec<String>>, BenchError> {
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    match os {
        HostOs::Linux if as_root => Ok(vec![s(&["sync"]), s(&["write 3 to /proc/sys/vm/drop_caches"])]),
        HostOs::Linux => Ok(vec![s(&["sync"]), s(&["sudo", "tee", "/proc/sys/vm/drop_caches"])]),
        HostOs::Macos => Ok(vec![s(&["sync"]), crate::orchestration::host::mounts::privileged(&s(&["purge"]), as_root)]),
        HostOs::Other => Err(BenchError::HostUnsupported("drop-caches knows Linux and macOS only".into())),
    }
}

/// Flushes the page cache. Errors name the command or file and say why (e.g. a container
/// whose /proc/sys is read-only) with a hint.
pub fn drop_caches(os: HostOs) -> Result<String, BenchError> {
    let as_root = crate::orchestration::host::mounts::is_root();
    let cmds = commands(os, as_root)?;
    let fail = |what: &str, why: String| {
        BenchError::HostUnsupported(format!("drop-caches: {what} failed: {why}\n  hint: run it as root on the host itself (a container usually has a read-only /proc/sys)"))
    };
    let status = Command::new("sync").status().map_err(|e| fail("sync", e.to_string()))?;
    if !status.success() {
        return Err(fail("sync", status.to_string()));
    }
    match os {
        HostOs::Linux if as_root => {
            std::fs::OpenOptions::new()
                .write(true)
                .open("/proc/sys/vm/drop_caches")
                .and_then(|mut f| f.write_all(b"3\n"))
                .map_err(|e| fail("writing 3 to /proc/sys/vm/drop_caches", e.to_string()))?;
        }
        _ => {
            let argv = &cmds[1];
            let mut child = Command::new(&argv[0]).args(&argv[1..]).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().map_err(|e| fail(&argv.join(" "), e.to_string()))?;
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(b"3\n");
            }
            let status = child.wait().map_err(|e| fail(&argv.join(" "), e.to_string()))?;
            if !status.success() {
                return Err(fail(&argv.join(" "), status.to_string()));
            }
        }
    }
    Ok(match os {
        HostOs::Macos => "flushed the page cache (sync; purge)".into(),
        _ => "flushed the page cache, dentries and inodes (sync; echo 3 > /proc/sys/vm/drop_caches)".into(),
    })
}
