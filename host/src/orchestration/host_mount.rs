//! Mounting on the host: runs a [`MountCommand`] (with `sudo` only when not root), remembers
//! what it mounted per profile, and unmounts it (`benchhost umount`, and first thing in
//! `down` and `clean`).
//!
//! Mounts are remembered in `$BENCHHOST_STATE_DIR` or `$XDG_STATE_HOME/benchhost/mounts`
//! (`~/.local/state/benchhost/mounts`; on macOS `~/Library/Application Support/benchhost/mounts`),
//! one file per profile holding one directory per line.

use super::error::BenchError;
use super::mount::MountCommand;
use crate::runtime::contract::HostOs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether the effective user is root (then mount commands need no `sudo`): the effective uid.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `argv` prefixed with `sudo` unless `as_root`.
pub fn privileged(argv: &[String], as_root: bool) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len() + 1);
    if !as_root {
        out.push("sudo".to_string());
    }
    out.extend(argv.iter().cloned());
    out
}

/// The unmount command for `dir` on `os`: `umount DIR` (Linux and macOS), with `sudo` unless root.
pub fn umount_command(dir: &str, os: HostOs, as_root: bool) -> Vec<String> {
    let argv = match os {
        HostOs::Macos => vec!["diskutil".to_string(), "unmount".to_string(), dir.to_string()],
        _ => vec!["umount".to_string(), dir.to_string()],
    };
    // diskutil unmounts what the user mounted without sudo.
    if os == HostOs::Macos { argv } else { privileged(&argv, as_root) }
}

/// Creates `cmd.dir` and runs the mount command (no shell; `sudo` unless root). Records the
/// directory for `umount`/`down`. A FUSE profile is already mounted by its container and only
/// reported. Errors name the command, its exit status and output, and a hint.
pub fn mount_now(profile: &str, cmd: &MountCommand, os: HostOs) -> Result<String, BenchError> {
    if cmd.argv.first().is_some_and(|a| a == "echo") {
        return Ok(format!("{profile} is a FUSE mount, already mounted by its container at {}", cmd.dir));
    }
    let root = is_root();
    if let Err(e) = std::fs::create_dir_all(&cmd.dir) {
        let mkdir = privileged(&["mkdir".into(), "-p".into(), cmd.dir.clone()], root);
        if root || !run(&mkdir).is_ok_and(|o| o.status.success()) {
            return Err(BenchError::Usage(format!("cannot create the mount directory {}: {e}\n  hint: choose another with --dir DIR", cmd.dir)));
        }
    }
    let argv = privileged(&cmd.argv, root);
    let output = run(&argv).map_err(|e| BenchError::HostUnsupported(format!("cannot run `{}`: {e}\n  hint: {}", display(&argv), client_hint(cmd, os))))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(BenchError::HostUnsupported(format!(
            "`{}` failed ({}): {}\n  hint: {}",
            display(&argv),
            output.status,
            stderr.trim(),
            client_hint(cmd, os)
        )));
    }
    remember(profile, &cmd.dir);
    Ok(format!("mounted {profile} on {}", cmd.dir))
}

/// What a failed mount most often lacks on `os`.
fn client_hint(cmd: &MountCommand, os: HostOs) -> String {
    let nfs = cmd.argv.iter().any(|a| a == "nfs");
    match (os, nfs) {
        (HostOs::Linux, true) => "install the NFS client (`apt-get install nfs-common` / `dnf install nfs-utils`); a container or a kernel without NFS cannot mount: use a user-space client such as libnfs's nfs-cp, or `benchhost mount --print`".into(),
        (HostOs::Linux, false) => "install the SMB client (`apt-get install cifs-utils` / `dnf install cifs-utils`), or use smbclient; `benchhost mount --print` shows the command".into(),
        (HostOs::Macos, _) => "check the server answers (`benchhost status`) and that the directory is not in use; `benchhost mount --print` shows the command".into(),
        _ => "mounting is supported on Linux and macOS; `benchhost mount --print` shows the command".into(),
    }
}

/// Unmounts `dir` when it is mounted; forgets it either way. Returns a note of what happened.
pub fn unmount_dir(profile: &str, dir: &str, os: HostOs) -> Result<Option<String>, BenchError> {
    if !is_mounted(dir) {
        forget(profile, dir);
        return Ok(None);
    }
    let argv = umount_command(dir, os, is_root());
    let output = run(&argv).map_err(|e| BenchError::Other(format!("cannot run `{}`: {e}", display(&argv))))?;
    if !output.status.success() {
        return Err(BenchError::Other(format!(
            "`{}` failed ({}): {}\n  hint: close whatever uses {dir} (`lsof +D {dir}`), then retry",
            display(&argv),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    forget(profile, dir);
    Ok(Some(format!("unmounted {dir}")))
}

/// Unmounts every directory recorded for `profile`; failures become notes (so `down` still
/// removes the containers).
pub fn unmount_recorded(profile: &str) -> Vec<String> {
    let os = super::settings::host_os();
    recorded(profile)
        .into_iter()
        .filter_map(|dir| match unmount_dir(profile, &dir, os) {
            Ok(note) => note,
            Err(e) => Some(format!("could not unmount {dir}: {e}")),
        })
        .collect()
}

/// Profiles with recorded mounts.
pub fn profiles_with_mounts() -> Vec<String> {
    let Some(dir) = state_dir() else { return vec![] };
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    entries.flatten().filter_map(|e| e.file_name().to_str().map(str::to_string)).collect()
}

/// Directories recorded for `profile`.
pub fn recorded(profile: &str) -> Vec<String> {
    state_dir()
        .and_then(|d| std::fs::read_to_string(d.join(profile)).ok())
        .map(|t| t.lines().filter(|l| !l.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

fn remember(profile: &str, dir: &str) {
    let Some(state) = state_dir() else { return };
    let mut dirs = recorded(profile);
    if !dirs.iter().any(|d| d == dir) {
        dirs.push(dir.to_string());
    }
    let _ = std::fs::create_dir_all(&state);
    let _ = std::fs::write(state.join(profile), dirs.join("\n") + "\n");
}

fn forget(profile: &str, dir: &str) {
    let Some(state) = state_dir() else { return };
    let dirs: Vec<String> = recorded(profile).into_iter().filter(|d| d != dir).collect();
    if dirs.is_empty() {
        let _ = std::fs::remove_file(state.join(profile));
    } else {
        let _ = std::fs::write(state.join(profile), dirs.join("\n") + "\n");
    }
}

fn state_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("BENCHHOST_STATE_DIR") {
        return Some(PathBuf::from(d).join("mounts"));
    }
    dirs::state_dir().or_else(dirs::data_local_dir).map(|d| d.join("benchhost").join("mounts"))
}

/// Whether `dir` is a mount point: `/proc/self/mountinfo` on Linux, `mount` output elsewhere.
pub fn is_mounted(dir: &str) -> bool {
    let dir = Path::new(dir);
    if let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") {
        return info.lines().filter_map(|l| l.split(' ').nth(4)).any(|m| Path::new(&unescape_mountinfo(m)) == dir);
    }
    Command::new("mount").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.contains(&format!(" on {} ", dir.display()))))
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.by_ref().take(3).collect();
            match u8::from_str_radix(&code, 8) {
                Ok(b) => out.push(b as char),
                Err(_) => {
                    out.push('\\');
                    out.push_str(&code);
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn run(argv: &[String]) -> std::io::Result<std::process::Output> {
    Command::new(&argv[0]).args(&argv[1..]).stdin(std::process::Stdio::null()).output()
}

/// A command for messages, every argument shell-quoted.
pub fn display(argv: &[String]) -> String {
    argv.iter().map(|a| super::mount::shell_quote(a)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umount_is_sudo_umount_on_linux_and_diskutil_on_macos() {
        assert_eq!(umount_command("/mnt/x", HostOs::Linux, false), ["sudo", "umount", "/mnt/x"]);
        assert_eq!(umount_command("/mnt/x", HostOs::Linux, true), ["umount", "/mnt/x"]);
        assert_eq!(umount_command("/mnt/x", HostOs::Macos, false), ["diskutil", "unmount", "/mnt/x"]);
    }

    #[test]
    fn mountinfo_paths_are_unescaped() {
        assert_eq!(unescape_mountinfo(r"/mnt/with\040space"), "/mnt/with space");
        assert!(is_mounted("/"), "/ is always a mount point");
        assert!(!is_mounted("/definitely/not/mounted/here"));
    }
}
