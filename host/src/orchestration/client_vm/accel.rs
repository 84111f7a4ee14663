//! Which accelerator the client VM runs with: KVM when it really boots this kernel, else TCG.
//!
//! `/dev/kvm` existing proves little: on some machines (nested or paravirtual KVM) it opens and
//! creates VMs but cannot run a stock Debian kernel (QEMU aborts on an MSR, or the guest crawls
//! and QEMU pauses on an emulation failure). So KVM is chosen only after a probe: the real
//! kernel and initramfs booted under `-accel kvm` with `benchhost.probe=1`, which init answers
//! before loading anything, within [`PROBE_LIMIT`]. The verdict is kept in
//! `${XDG_CACHE_HOME:-~/.cache}/benchhost/client-vm-accel`, keyed by the host kernel, the QEMU
//! binary and the build's recipe, so the probe runs once per combination.

use super::artifacts::Artifacts;
use super::console::fresh_token;
use super::qemu::{self, Accel, BootSpec, End, Limits};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the KVM probe may take (a working KVM reaches init in about a second).
pub const PROBE_LIMIT: Duration = Duration::from_secs(15);

/// What the user asked for (`vm run --accel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccelRequest {
    /// KVM when the probe boots, else TCG.
    Auto,
    Kvm,
    Tcg,
}

/// The accelerator chosen, and why, for the operator (`tcg (KVM: …)`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AccelChoice {
    pub accel: Accel,
    /// One line: why this one (a probe's result, `--accel`, what failed with KVM).
    pub reason: String,
}

/// Chooses the accelerator for `artifacts` (booting a probe under KVM when needed and not
/// cached). Never fails: every problem with KVM is a reason to use TCG.
pub async fn choose(qemu_bin: &Path, artifacts: &Artifacts, request: AccelRequest) -> AccelChoice {
    match request {
        AccelRequest::Kvm => return AccelChoice { accel: Accel::Kvm, reason: "--accel kvm".into() },
        AccelRequest::Tcg => return AccelChoice { accel: Accel::Tcg, reason: "--accel tcg".into() },
        AccelRequest::Auto => {}
    }
    if let Err(why) = kvm_device() {
        return AccelChoice { accel: Accel::Tcg, reason: format!("software emulation; KVM: {why}") };
    }
    let key = cache_key(qemu_bin, artifacts);
    let cache = cache_file();
    if let Some(choice) = cache.as_deref().and_then(|f| cached(f, &key)) {
        return choice;
    }
    let choice = probe(qemu_bin, artifacts).await;
    if let Some(f) = cache {
        let accel = choice.accel.name();
        let _ = std::fs::create_dir_all(f.parent().unwrap_or(Path::new("."))).and_then(|()| std::fs::write(&f, format!("{key}\n{accel}\n{}\n", choice.reason)));
    }
    choice
}

/// Whether `/dev/kvm` is there and opens read-write; the error says why not.
fn kvm_device() -> Result<(), String> {
    match std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm") {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err("/dev/kvm does not exist (no KVM on this machine, or the kvm module is not loaded)".into()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err("/dev/kvm is not accessible to this user (add yourself to the kvm group)".into()),
        Err(e) => Err(format!("/dev/kvm: {e}")),
    }
}

/// Boots the probe under KVM.
async fn probe(qemu_bin: &Path, artifacts: &Artifacts) -> AccelChoice {
    let spec = BootSpec {
        kernel: artifacts.kernel.clone(),
        initramfs: artifacts.initramfs.clone(),
        accel: Accel::Kvm,
        token: fresh_token(),
        job: None,
        probe: true,
        session: false,
        cpus: 1,
        memory_mib: 512,
    };
    let limits = Limits { boot: PROBE_LIMIT, job: PROBE_LIMIT };
    let run = match qemu::run(qemu_bin, &spec, limits, None, |_| {}).await {
        Ok(run) => run,
        Err(e) => return AccelChoice { accel: Accel::Tcg, reason: format!("software emulation; KVM probe: could not start {}: {e}", qemu_bin.display()) },
    };
    let secs = PROBE_LIMIT.as_secs();
    match run.end {
        End::Probed => AccelChoice { accel: Accel::Kvm, reason: format!("a probe booted under KVM in {:.1} s", run.boot_seconds.unwrap_or(0.0)) },
        End::BootTimeout => AccelChoice { accel: Accel::Tcg, reason: format!("software emulation; KVM: /dev/kvm opens but a probe guest did not reach init within {secs} s") },
        _ => {
            // The first error QEMU printed says most ("failed to set MSR …"); warnings say little.
            let tail = &run.qemu_stderr_tail;
            let why = tail.iter().find(|l| l.contains("error")).or_else(|| tail.iter().rev().find(|l| !l.contains("warning:"))).cloned().unwrap_or_else(|| "QEMU exited".into());
            let why = why.trim().trim_start_matches("qemu-system-x86_64: ");
            AccelChoice { accel: Accel::Tcg, reason: format!("software emulation; KVM: /dev/kvm opens but QEMU could not run the guest with it: {why}") }
        }
    }
}

/// What the verdict depends on: the host kernel, the QEMU binary (path, size, mtime) and the
/// guest build.
fn cache_key(qemu_bin: &Path, artifacts: &Artifacts) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let q = std::fs::metadata(qemu_bin).ok();
    let size = q.as_ref().map(|m| m.len()).unwrap_or(0);
    let mtime = q.and_then(|m| m.modified().ok()).and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs()).unwrap_or(0);
    format!("host={} qemu={}:{size}:{mtime} recipe={}", host.trim(), qemu_bin.display(), artifacts.recipe())
}

fn cache_file() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("benchhost").join("client-vm-accel"))
}

/// The cached verdict for `key`, if any.
fn cached(file: &Path, key: &str) -> Option<AccelChoice> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut lines = text.lines();
    if lines.next()? != key {
        return None;
    }
    let accel = match lines.next()? {
        "kvm" => Accel::Kvm,
        "tcg" => Accel::Tcg,
        _ => return None,
    };
    Some(AccelChoice { accel, reason: format!("{} (probed before; cached in {})", lines.next().unwrap_or_default(), file.display()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_verdict_counts_only_for_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("accel");
        std::fs::write(&f, "host=6.1 qemu=/q:1:2 recipe=r\ntcg\nsoftware emulation; KVM: x\n").unwrap();
        let c = cached(&f, "host=6.1 qemu=/q:1:2 recipe=r").unwrap();
        assert_eq!(c.accel, Accel::Tcg);
        assert!(c.reason.starts_with("software emulation; KVM: x (probed before"), "{}", c.reason);
        assert!(cached(&f, "host=6.2 qemu=/q:1:2 recipe=r").is_none());
        std::fs::write(&f, "k\nfast\n").unwrap();
        assert!(cached(&f, "k").is_none());
    }
}
