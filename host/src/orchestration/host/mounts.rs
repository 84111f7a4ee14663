//! Mounting on the host: runs a [`MountCommand`] (with `sudo` only when not root), remembers
//! what it mounted per profile, and unmounts it (`benchhost umount`, and first thing in
//! `down` and `clean`).
//!
//! Mounts are remembered in `$BENCHHOST_STATE_DIR/mounts` (when absolute) or
//! `$XDG_STATE_HOME/benchhost/mounts` (`~/.local/state/benchhost/mounts`; on macOS
//! `~/Library/Application Support/benchhost/mounts`): one file per profile, one
//! `dir<TAB>source<TAB>fstype` line per mount, as the kernel reported it right after mounting.
//! benchhost unmounts a directory only while exactly that mount is there, and never a system
//! directory, so a stale or forged record cannot unmount anything else.

use crate::orchestration::error::BenchError;
use crate::orchestration::host::mount_command::MountCommand;
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

/// Runs the mount command (no shell; `sudo` unless root) on `cmd.dir`, which the caller
/// created (`created`: remove it again if the mount fails). Records the directory with the
/// source and filesystem type the kernel then reports, so `umount`/`down`/`clean` unmount it
/// only while exactly that mount is there. A FUSE profile is already mounted by its container
/// and only reported. Errors name the command, its exit status and output, and a hint.
pub fn mount_now(profile: &str, cmd: &MountCommand, os: HostOs, created: bool) -> Result<String, BenchError> {
    if cmd.argv.first().is_some_and(|a| a == "echo") {
        return Ok(format!("{profile} is a FUSE mount, already mounted by its container at {}", cmd.dir));
    }
    let root = is_root();
    let argv = privileged(&cmd.argv, root);
    let cleanup = || {
        if created {
            let _ = std::fs::remove_dir(&cmd.dir);
        }
    };
    let output = run(&argv).map_err(|e| {
        cleanup();
        BenchError::HostUnsupported(format!("cannot run `{}`: {e}\n  hint: {}", display(&argv), client_hint(cmd, os)))
    })?;
    if !output.status.success() {
        cleanup();
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(BenchError::HostUnsupported(format!(
            "`{}` failed ({}): {}\n  hint: {}",
            display(&argv),
            output.status,
            stderr.trim(),
            client_hint(cmd, os)
        )));
    }
    match mounted_at(&cmd.dir) {
        Some(m) => remember(profile, &Record { dir: cmd.dir.clone(), source: m.source, fstype: m.fstype }),
        None => tracing::warn!("{} does not show up as a mount point; not recorded", cmd.dir),
    }
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

/// One mount `benchhost mount` made: where, and what the kernel reported right after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub dir: String,
    pub source: String,
    pub fstype: String,
}

/// Directories benchhost never unmounts, whatever a record says.
const PROTECTED: &[&str] = &["/", "/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/usr", "/var", "/home", "/root", "/tmp", "/mnt", "/media", "/srv", "/opt"];

/// Unmounts `rec.dir` if exactly the recorded mount (same source and filesystem type) is
/// there; forgets the record either way. `Ok(None)`: nothing is mounted there any more.
/// `Ok(Some(note))`: what happened, including leaving a different mount alone. Errors: the
/// unmount command failed (e.g. busy); the record is kept.
pub fn unmount_record(profile: &str, rec: &Record, os: HostOs) -> Result<Option<String>, BenchError> {
    let Some(now) = mounted_at(&rec.dir) else {
        forget(profile, &rec.dir);
        return Ok(None);
    };
    let dir = rec.dir.trim_end_matches('/');
    if dir.is_empty() || PROTECTED.contains(&dir) || now.source != rec.source || now.fstype != rec.fstype {
        forget(profile, &rec.dir);
        return Ok(Some(format!("left {} alone: it holds {} ({}), and benchhost only unmounts the {} ({}) it mounted there, never a system directory", rec.dir, now.source, now.fstype, rec.source, rec.fstype)));
    }
    let argv = umount_command(&rec.dir, os, is_root());
    let output = run(&argv).map_err(|e| BenchError::Other(format!("cannot run `{}`: {e}", display(&argv))))?;
    if !output.status.success() {
        return Err(BenchError::Other(format!(
            "`{}` failed ({}): {}\n  hint: close whatever uses {} (`lsof +D {}`), then retry",
            display(&argv),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            rec.dir,
            rec.dir
        )));
    }
    forget(profile, &rec.dir);
    Ok(Some(format!("unmounted {}", rec.dir)))
}

/// Unmounts every mount recorded for `profile` (see [`unmount_record`]). Errors on the first
/// unmount that fails, so `down` does not remove a server under a live mount.
pub fn unmount_recorded(profile: &str) -> Result<Vec<String>, BenchError> {
    let os = crate::orchestration::host::host_os();
    let mut notes = Vec::new();
    for rec in recorded(profile) {
        notes.extend(unmount_record(profile, &rec, os)?);
    }
    Ok(notes)
}

/// Profiles with recorded mounts.
pub fn profiles_with_mounts() -> Vec<String> {
    let Some(dir) = state_dir() else { return vec![] };
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    entries.flatten().filter_map(|e| e.file_name().to_str().map(str::to_string)).filter(|p| valid_profile(p)).collect()
}

/// Whether `name` can be a profile (and so a state file name): `[a-z0-9][a-z0-9-]*`, at most 64.
fn valid_profile(name: &str) -> bool {
    name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The mounts recorded for `profile` (none for a name that cannot be a profile). Lines that
/// are not `dir<TAB>source<TAB>fstype` with an absolute `dir` are ignored.
pub fn recorded(profile: &str) -> Vec<Record> {
    if !valid_profile(profile) {
        return vec![];
    }
    state_dir()
        .and_then(|d| std::fs::read_to_string(d.join(profile)).ok())
        .map(|t| {
            t.lines()
                .filter_map(|l| {
                    let mut f = l.split('\t');
                    let (dir, source, fstype) = (f.next()?, f.next()?, f.next()?);
                    (dir.starts_with('/') && !source.is_empty() && !fstype.is_empty())
                        .then(|| Record { dir: dir.to_string(), source: source.to_string(), fstype: fstype.to_string() })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn write_records(profile: &str, records: &[Record]) {
    let Some(state) = state_dir().filter(|_| valid_profile(profile)) else { return };
    if records.is_empty() {
        let _ = std::fs::remove_file(state.join(profile));
        return;
    }
    let text: String = records.iter().map(|r| format!("{}\t{}\t{}\n", r.dir, r.source, r.fstype)).collect();
    let _ = std::fs::create_dir_all(&state);
    let _ = std::fs::write(state.join(profile), text);
}

fn remember(profile: &str, rec: &Record) {
    let mut records: Vec<Record> = recorded(profile).into_iter().filter(|r| r.dir != rec.dir).collect();
    records.push(rec.clone());
    write_records(profile, &records);
}

fn forget(profile: &str, dir: &str) {
    let records: Vec<Record> = recorded(profile).into_iter().filter(|r| r.dir != dir).collect();
    write_records(profile, &records);
}

/// `mounts/` in benchhost's state directory ([`super::state_dir`]).
fn state_dir() -> Option<PathBuf> {
    super::state_dir().map(|d| d.join("mounts"))
}

/// What is mounted at a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mounted {
    pub source: String,
    pub fstype: String,
}

/// The topmost mount at exactly `dir` (`/proc/self/mountinfo` on Linux, `mount` output
/// elsewhere), or `None`.
pub fn mounted_at(dir: &str) -> Option<Mounted> {
    let dir = Path::new(dir);
    if let Some(mounts) = super::mountinfo::this_machine() {
        return mounts.into_iter().filter(|m| Path::new(&m.mount_point) == dir).map(|m| Mounted { source: m.source, fstype: m.fstype }).next_back();
    }
    // macOS: "SOURCE on DIR (FSTYPE, options)".
    let out = Command::new("mount").output().ok()?;
    String::from_utf8_lossy(&out.stdout).lines().rev().find_map(|l| {
        let (source, rest) = l.split_once(" on ")?;
        let (point, opts) = rest.rsplit_once(" (")?;
        (Path::new(point) == dir).then(|| Mounted { source: source.to_string(), fstype: opts.split(',').next().unwrap_or("").to_string() })
    })
}

fn run(argv: &[String]) -> std::io::Result<std::process::Output> {
    Command::new(&argv[0]).args(&argv[1..]).stdin(std::process::Stdio::null()).output()
}

/// A command for messages, every argument shell-quoted.
pub fn display(argv: &[String]) -> String {
    argv.iter().map(|a| crate::orchestration::host::mount_command::shell_quote(a)).collect::<Vec<_>>().join(" ")
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
        assert_eq!(super::super::mountinfo::unescape(r"/mnt/with\040space"), "/mnt/with space");
        assert!(mounted_at("/").is_some(), "/ is always a mount point");
        assert!(mounted_at("/definitely/not/mounted/here").is_none());
    }

    #[test]
    fn records_only_for_profile_names() {
        assert!(valid_profile("dittofs-badger-s3"));
        for bad in ["", "../x", "/tmp/x", "a/b", "Ganesha", "-x", ".."] {
            assert!(!valid_profile(bad), "{bad:?}");
            assert!(recorded(bad).is_empty());
        }
    }

    #[test]
    fn a_record_never_unmounts_a_different_mount_or_a_system_directory() {
        let rec = Record { dir: "/".into(), source: "benchhost-test".into(), fstype: "nfs4".into() };
        let note = unmount_record("zz-test", &rec, HostOs::Linux).unwrap().unwrap();
        assert!(note.starts_with("left / alone"), "{note}");
        let root = mounted_at("/").unwrap();
        let exact = Record { dir: "/".into(), source: root.source.clone(), fstype: root.fstype.clone() };
        let note = unmount_record("zz-test", &exact, HostOs::Linux).unwrap().unwrap();
        assert!(note.starts_with("left / alone"), "{note}");
        assert!(mounted_at("/").is_some());
    }
}
