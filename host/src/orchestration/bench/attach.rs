//! Where a system's cells run on the client: the system mounted on it once (before its first
//! cell, unmounted after its last), or, for `local`, a directory on the client's own disk (a
//! tmpfs with `BENCH_TMPFS=1`).

use super::client::{vm::VmClient, Client};
use crate::orchestration::host::mount_command::shell_quote;
use super::system::System;
use crate::orchestration::commands::mount::{mount, umount, MountOutcome};
use crate::orchestration::commands::Session;
use crate::orchestration::error::BenchError;
use crate::orchestration::host::mounts::{display, is_root, mounted_at, privileged};
use std::path::Path;

/// A target attached to the client.
pub struct Attached {
    /// The directory the cells' directories are made in, on the client.
    pub dir: String,
    /// What the record says the mount command was (`None` for `local`).
    pub mount_command: Option<String>,
    /// `local` on a tmpfs benchhost mounted (unmounted by [`detach`]).
    tmpfs: bool,
    /// The files live in RAM (`local` in the VM or on a tmpfs): no page cache to drop.
    pub in_ram: bool,
}

/// Mounts `system` on the client (a FUSE system is mounted already: its directory is used), or
/// prepares `local`'s directory under `scratch`. Errors: the mount fails (with the client's
/// hint), the directory cannot be made, `BENCH_TMPFS=1` without root.
pub async fn attach(session: &Session<'_>, client: &mut Client, system: Option<&System>, scratch: &Path) -> Result<Attached, BenchError> {
    if let Client::Vm(vm) = client {
        return attach_vm(session, vm, system).await;
    }
    let Some(system) = system else {
        let dir = scratch.join("local");
        std::fs::create_dir_all(&dir).map_err(|e| BenchError::Usage(format!("cannot create {}: {e}\n  hint: choose another root with --results-dir DIR", dir.display())))?;
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir).display().to_string();
        let tmpfs = session.settings.flag("BENCH_TMPFS")?.unwrap_or(false);
        if tmpfs {
            run(&privileged(&["mount".into(), "-t".into(), "tmpfs".into(), "-o".into(), "mode=0755".into(), "benchhost-local".into(), dir.clone()], is_root()))?;
        }
        return Ok(Attached { dir, mount_command: None, tmpfs, in_ram: tmpfs });
    };
    if system.protocol == "fuse" {
        return Ok(Attached { dir: system.mount.dir.clone(), mount_command: Some(system.mount.shell_line(true)), tmpfs: false, in_ram: false });
    }
    match mount(session, &system.profile, Some(system.mount.dir.clone()), false, None).await? {
        MountOutcome::Mounted { .. } => {}
        MountOutcome::Printed(_) => return Err(BenchError::Other("mount printed the command instead of mounting (a benchhost defect)".into())),
    }
    let dir = std::fs::canonicalize(&system.mount.dir).map(|p| p.display().to_string()).unwrap_or(system.mount.dir.clone());
    Ok(Attached { dir, mount_command: Some(system.mount.display(true)), tmpfs: false, in_ram: false })
}

/// In the client VM: `local` is a directory of its root file system (in RAM, like a tmpfs);
/// a system is mounted with the command `up` printed (no `sudo`: the VM runs steps as root),
/// with `PASSWD` set for SMB from the secret setting the plugin's mount note names
/// (mount.cifs reads it, so no password is on the command line).
async fn attach_vm(session: &Session<'_>, vm: &mut VmClient, system: Option<&System>) -> Result<Attached, BenchError> {
    let Some(system) = system else {
        vm.must("making local's directory", &format!("mkdir -p {VM_LOCAL_DIR}")).await?;
        return Ok(Attached { dir: VM_LOCAL_DIR.into(), mount_command: None, tmpfs: false, in_ram: true });
    };
    let line = system.mount.shell_line(true);
    let prelude = match smb_password(session, system) {
        Some(p) => format!("export PASSWD={}\n", shell_quote(&p)),
        None => String::new(),
    };
    vm.must(&format!("mounting {} (`{line}`)", system.profile), &format!("{prelude}{line}")).await?;
    Ok(Attached { dir: system.mount.dir.clone(), mount_command: Some(line), tmpfs: false, in_ram: false })
}

/// `local`'s directory in the client VM.
pub const VM_LOCAL_DIR: &str = "/root/benchhost-local";

/// The value of the secret setting an SMB system's mount note names (e.g. `SAMBA_PASSWORD`),
/// as the system was brought up with it (the user's value or the plugin's default).
fn smb_password(session: &Session<'_>, system: &System) -> Option<String> {
    if system.protocol != "smb" {
        return None;
    }
    let found = session.registry.find(&system.profile).ok()?;
    let info = &session.registry.plugin(found.plugin).info;
    let ctx = session.settings.context(info, &system.profile, crate::runtime::contract::HostOs::Linux);
    let secret = info.settings.iter().filter(|s| s.secret && system.mount.note.contains(&s.name)).max_by_key(|s| s.name.len())?;
    ctx.settings.iter().find(|(n, _)| n == &secret.name).map(|(_, v)| v.clone())
}

/// Undoes [`attach`]: unmounts what it mounted. Errors: an unmount that fails.
pub async fn detach(client: &mut Client, system: Option<&System>, attached: &Attached) -> Result<(), BenchError> {
    if let Client::Vm(vm) = client {
        return match system {
            Some(_) => vm.must("unmounting", &format!("umount {}", shell_quote(&attached.dir))).await,
            None => Ok(()),
        };
    }
    match system {
        None if attached.tmpfs && mounted_at(&attached.dir).is_some() => run(&privileged(&["umount".into(), attached.dir.clone()], is_root())),
        None => Ok(()),
        Some(s) if s.protocol == "fuse" => Ok(()),
        Some(s) => umount(&s.profile, None, false).map(|_| ()),
    }
}

fn run(argv: &[String]) -> Result<(), BenchError> {
    let out = std::process::Command::new(&argv[0]).args(&argv[1..]).output().map_err(|e| BenchError::HostUnsupported(format!("cannot run `{}`: {e}", display(argv))))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BenchError::HostUnsupported(format!("`{}` failed: {}\n  hint: BENCH_TMPFS=1 mounts a tmpfs for `local`, which needs root (or sudo)", display(argv), String::from_utf8_lossy(&out.stderr).trim())))
    }
}
