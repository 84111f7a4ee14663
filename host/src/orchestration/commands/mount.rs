//! `benchhost mount` and `benchhost umount`: the plugin's mount options made into this machine's
//! mount command, run (with sudo only when not root) or printed; and undoing exactly what
//! `benchhost mount` mounted.

use super::{absolute_dir, refuse_empty_dir, Session};
use crate::engine::DockerEngine;
use crate::orchestration::error::BenchError;
use crate::orchestration::host::mount_command::MountCommand;
use crate::orchestration::up::plugin_mount_command;
use crate::orchestration::host::{host_os, mounts};
use crate::orchestration::labels::LABEL_PROFILE;
use crate::orchestration::plugins::registry::Registry;
use crate::orchestration::progress::say;
use crate::runtime::contract::{HostOs, MountSpec, Role};

/// How `mount` ended.
#[derive(Debug)]
pub enum MountOutcome {
    /// `--print` (or another OS): the command, not run.
    Printed(MountCommand),
    /// Mounted; what `benchhost mount` says about it.
    Mounted { note: String },
}

/// Mounts `profile` on `dir` (default `/mnt/benchhost/<profile>`), or with `print` returns the
/// command for `os` (default: this OS). Errors: infrastructure profiles, an empty `--dir`, a
/// profile that is not up, a directory that cannot be created, the mount failing (with the
/// client hint), an invalid mount spec (the plugin's defect).
pub async fn mount(session: &Session<'_>, profile: &str, dir: Option<String>, print: bool, os: Option<HostOs>) -> Result<MountOutcome, BenchError> {
    let registry = session.registry;
    let found = registry.find(profile)?;
    let plugin = registry.plugin(found.plugin);
    let os = os.unwrap_or_else(host_os);
    if found.profile.role == Role::Infrastructure {
        return Err(BenchError::Usage(format!("{profile} is infrastructure (it serves other systems); nothing to mount")));
    }
    refuse_empty_dir("--dir", dir.as_deref())?;
    // With a remote engine the command names its host, as `up` printed it.
    let mut globals = session.settings.global()?;
    if let Ok(endpoint) = crate::engine::endpoint::resolve(&crate::engine::endpoint::DockerEnv::from_process()) {
        globals.aim_at_engine(&endpoint, session.settings)?;
    }
    let server = globals.server_address;
    let ctx = session.settings.context(&plugin.info, profile, os);
    let spec = registry.runtime.mount_options(plugin, &ctx).await?;
    let dir = absolute_dir(dir, profile);
    let cmd = command_for(registry, found.plugin, &spec, os, &dir, &server)?;
    if print {
        return Ok(MountOutcome::Printed(cmd));
    }
    if os != host_os() {
        return Err(BenchError::Usage("--os names another OS: that only prints; add --print".into()));
    }
    let engine = DockerEngine::connect().await?;
    let up = engine.list_labelled(LABEL_PROFILE, profile).await?;
    if !up.containers.iter().any(|c| c.state == "running") {
        return Err(BenchError::Usage(format!("{profile} is not up\n  hint: `benchhost up {profile}` first (or `benchhost mount {profile} --print` for the command)")));
    }
    // The directory as the kernel will report it (symlinks and `..` resolved), so umount/down
    // find the mount again; created now, and removed again if the mount fails.
    let created = !std::path::Path::new(&dir).exists();
    if cmd.argv.first().is_some_and(|a| a != "echo")
        && let Err(e) = std::fs::create_dir_all(&dir) {
            return Err(BenchError::Usage(format!("cannot create the mount directory {dir}: {e}\n  hint: choose another with --dir DIR")));
        }
    let canonical = std::fs::canonicalize(&dir).map(|p| p.display().to_string()).unwrap_or(dir.clone());
    let cmd = command_for(registry, found.plugin, &spec, os, &canonical, &server)?;
    say(&format!("running: {}", mounts::display(&mounts::privileged(&cmd.argv, mounts::is_root()))));
    let note = mounts::mount_now(profile, &cmd, os, created)?;
    Ok(MountOutcome::Mounted { note })
}

/// The mount command of plugin `index`'s `spec` on `dir`, naming `server` (see [`plugin_mount_command`]).
fn command_for(registry: &Registry, index: usize, spec: &MountSpec, os: HostOs, dir: &str, server: &str) -> Result<MountCommand, BenchError> {
    plugin_mount_command(&registry.plugin(index).info, spec, os, dir, server)
}

/// What `umount` did, in order.
#[derive(Debug, Default)]
pub struct UmountReport {
    /// With `dry_run`: the commands that would run.
    pub commands: Vec<String>,
    /// Nothing was mounted by benchhost for the profile.
    pub nothing: bool,
}

/// Unmounts what `benchhost mount` mounted for `profile` (only `dir` when given), saying each on
/// stderr as it goes; with `dry_run`, returns the commands instead. Errors: `dir` is not a
/// directory benchhost mounted (usage), an unmount that fails.
pub fn umount(profile: &str, dir: Option<String>, dry_run: bool) -> Result<UmountReport, BenchError> {
    let os = host_os();
    let mut records = mounts::recorded(profile);
    if let Some(d) = dir {
        let wanted = std::fs::canonicalize(&d).map(|p| p.display().to_string()).unwrap_or_else(|_| absolute_dir(Some(d.clone()), profile));
        records.retain(|r| r.dir == wanted);
        if records.is_empty() {
            return Err(BenchError::Usage(format!(
                "benchhost did not mount {profile} on {wanted}, so it leaves it alone\n  hint: `umount {wanted}` yourself if you mounted it"
            )));
        }
    }
    let mut report = UmountReport { nothing: records.is_empty(), ..Default::default() };
    for r in records {
        if dry_run {
            report.commands.push(mounts::display(&mounts::umount_command(&r.dir, os, mounts::is_root())));
            continue;
        }
        match mounts::unmount_record(profile, &r, os)? {
            Some(note) => say(&format!("{profile}: {note}")),
            None => say(&format!("{profile}: {} is no longer mounted", r.dir)),
        }
    }
    Ok(report)
}
