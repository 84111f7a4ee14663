//! One boot of the client VM under QEMU (tokio::process): the command line, and the run itself,
//! read line by line from the serial console and bounded in time at every phase.
//!
//! QEMU runs with stdin from /dev/null (so a terminal is never put into raw mode), the serial
//! console on its stdout, `-no-reboot` (a guest panic or power-off ends QEMU), and is killed
//! when the boot or the job outlives its limit, on SIGINT/SIGTERM, when the future is dropped
//! (`kill_on_drop`) and, on Linux, when benchhost itself dies (`PR_SET_PDEATHSIG`). A KVM
//! emulation failure makes QEMU pause rather than exit; the limits are what end it then.

use super::console::{self, ConsoleLine};
use crate::orchestration::interrupt::Guard;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// The QEMU binary the VM runs under.
pub const QEMU: &str = "qemu-system-x86_64";

/// The accelerator QEMU runs the guest with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// Hardware virtualisation (`-accel kvm -cpu host`): near native speed.
    Kvm,
    /// Software emulation (`-accel tcg,thread=multi -cpu max`): works everywhere, several
    /// times slower.
    Tcg,
}

impl Accel {
    /// `kvm` or `tcg`.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// What one boot is.
#[derive(Clone, Debug)]
pub struct BootSpec {
    pub kernel: PathBuf,
    pub initramfs: PathBuf,
    pub accel: Accel,
    /// The console token (see [`console`]).
    pub token: String,
    /// The job file handed to the guest through fw_cfg (`opt/benchhost/job`); `None` for a probe.
    pub job: Option<PathBuf>,
    /// Probe only: init prints `TOKEN|probe|…` and powers off before loading anything.
    pub probe: bool,
    pub cpus: u32,
    pub memory_mib: u32,
}

/// QEMU's arguments for `spec` (without the program name).
pub fn args(spec: &BootSpec) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |s: &str| a.push(s.into());
    push("-name");
    push("benchhost-client-vm");
    for s in ["-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-serial", "stdio"] {
        push(s);
    }
    match spec.accel {
        Accel::Kvm => ["-accel", "kvm", "-cpu", "host"].iter().for_each(|s| push(s)),
        Accel::Tcg => ["-accel", "tcg,thread=multi", "-cpu", "max"].iter().for_each(|s| push(s)),
    }
    push("-smp");
    push(&spec.cpus.to_string());
    push("-m");
    push(&spec.memory_mib.to_string());
    push("-netdev");
    push("user,id=net0");
    push("-device");
    push("virtio-net-pci,netdev=net0");
    let mut cmdline = format!("console=ttyS0 quiet panic=-1 benchhost.token={}", spec.token);
    if spec.probe {
        cmdline.push_str(" benchhost.probe=1");
    }
    push("-append");
    push(&cmdline);
    a.push("-kernel".into());
    a.push(spec.kernel.clone().into_os_string());
    a.push("-initrd".into());
    a.push(spec.initramfs.clone().into_os_string());
    if let Some(job) = &spec.job {
        // QEMU's option syntax: a comma inside a value is written twice.
        let mut v = OsString::from("name=opt/benchhost/job,file=");
        v.push(job.to_string_lossy().replace(',', ",,"));
        a.push("-fw_cfg".into());
        a.push(v);
    }
    a
}

/// How long each phase may take.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// From QEMU's start to init's `ready` (or `probe`) line.
    pub boot: Duration,
    /// From `ready` to the `status` line.
    pub job: Duration,
}

/// How a boot ended.
#[derive(Clone, Debug, PartialEq)]
pub enum End {
    /// The job ended with this status.
    Status(i32),
    /// The probe's guest reached init.
    Probed,
    /// init reported that it could not run the job.
    GuestError(String),
    /// QEMU exited before the end (its code, `None` when a signal ended it).
    QemuExited(Option<i32>),
    /// The guest did not reach the job within [`Limits::boot`]; QEMU was killed.
    BootTimeout,
    /// The job did not end within [`Limits::job`]; QEMU was killed.
    JobTimeout,
    /// SIGINT/SIGTERM; QEMU was killed.
    Interrupted,
}

/// What one boot did.
#[derive(Clone, Debug)]
pub struct Run {
    pub end: End,
    /// Seconds from QEMU's start to init's `ready`/`probe` line (the boot, measured on the host).
    pub boot_seconds: Option<f64>,
    /// The guest's own uptime at that line.
    pub guest_boot_seconds: Option<f64>,
    /// Seconds from `ready` to the end of the job.
    pub job_seconds: Option<f64>,
    /// Seconds from QEMU's start until it was gone.
    pub total_seconds: f64,
    /// The last console lines that were not the job's (kernel and init), for diagnosis.
    pub console_tail: Vec<String>,
    /// The last lines QEMU wrote to its stderr.
    pub qemu_stderr_tail: Vec<String>,
}

const TAIL: usize = 30;

/// Boots `spec` with `qemu` and reads its console until the guest powers off or a limit
/// passes, handing each job line to `on_line` ([`ConsoleLine::Stdout`]/[`ConsoleLine::Stderr`])
/// as it arrives. QEMU is gone when this returns. Errors: QEMU could not be started (the I/O
/// error of the spawn).
pub async fn run(qemu: &Path, spec: &BootSpec, limits: Limits, mut guard: Option<&mut Guard>, mut on_line: impl FnMut(ConsoleLine)) -> std::io::Result<Run> {
    let mut cmd = tokio::process::Command::new(qemu);
    cmd.args(args(spec)).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    #[cfg(target_os = "linux")]
    // SAFETY: the closure makes one async-signal-safe system call (prctl) between fork and exec.
    unsafe {
        cmd.pre_exec(|| rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)).map_err(std::io::Error::from));
    }
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    tracing::debug!(qemu = %qemu.display(), args = ?args(spec), "client VM started");
    let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("qemu's stdout was not captured"))?;
    let mut stderr = child.stderr.take().ok_or_else(|| std::io::Error::other("qemu's stderr was not captured"))?;
    let stderr_task = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf).await;
        buf
    });
    let mut reader = BufReader::new(stdout);
    let mut console_tail: Vec<String> = Vec::new();
    let (mut boot_seconds, mut guest_boot_seconds, mut ready_at) = (None, None, None);
    let mut line = Vec::new();
    let mut deadline = tokio::time::Instant::now() + limits.boot;
    let end = loop {
        line.clear();
        let interrupted = async {
            match guard.as_deref_mut() {
                Some(g) => g.interrupted().await,
                None => std::future::pending().await,
            }
        };
        let read = tokio::select! {
            r = reader.read_until(b'\n', &mut line) => r,
            _ = tokio::time::sleep_until(deadline) => break if ready_at.is_some() { End::JobTimeout } else { End::BootTimeout },
            _ = interrupted => break End::Interrupted,
        };
        match read {
            Ok(0) | Err(_) => break End::QemuExited(None),
            Ok(_) => {}
        }
        match console::parse(&spec.token, &line) {
            ConsoleLine::Ready(up) | ConsoleLine::Probe(up) if ready_at.is_none() => {
                boot_seconds = Some(start.elapsed().as_secs_f64());
                guest_boot_seconds = Some(up);
                ready_at = Some(Instant::now());
                if spec.probe {
                    break End::Probed;
                }
                deadline = tokio::time::Instant::now() + limits.job;
            }
            ConsoleLine::Status(n) => break End::Status(n),
            ConsoleLine::Error(e) => break End::GuestError(e),
            out @ (ConsoleLine::Stdout(_) | ConsoleLine::Stderr(_)) => on_line(out),
            ConsoleLine::Noise(n) => {
                tracing::debug!("client VM console: {n}");
                console_tail.push(n);
                if console_tail.len() > TAIL {
                    console_tail.remove(0);
                }
            }
            other => tracing::debug!("client VM console: unexpected {other:?}"),
        }
    };
    let job_seconds = ready_at.map(|r| r.elapsed().as_secs_f64());
    // The guest powers off right after its last line; anything else is killed.
    let exited = match end {
        End::Status(_) | End::GuestError(_) | End::QemuExited(_) => tokio::time::timeout(Duration::from_secs(5), child.wait()).await.ok().and_then(Result::ok),
        _ => None,
    };
    if exited.is_none() {
        let _ = child.kill().await;
    }
    let end = match end {
        End::QemuExited(_) => End::QemuExited(exited.and_then(|s| s.code())),
        e => e,
    };
    let stderr = tokio::time::timeout(Duration::from_secs(2), stderr_task).await.ok().and_then(Result::ok).unwrap_or_default();
    let stderr = String::from_utf8_lossy(&stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let qemu_stderr_tail = lines[lines.len().saturating_sub(10)..].iter().map(|l| l.to_string()).collect();
    Ok(Run { end, boot_seconds, guest_boot_seconds, job_seconds, total_seconds: start.elapsed().as_secs_f64(), console_tail, qemu_stderr_tail })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(accel: Accel, job: Option<&str>) -> BootSpec {
        BootSpec {
            kernel: "/c/vmlinuz".into(),
            initramfs: "/c/initramfs.gz".into(),
            accel,
            token: "bhT".into(),
            job: job.map(PathBuf::from),
            probe: job.is_none(),
            cpus: 2,
            memory_mib: 1024,
        }
    }

    fn joined(a: &[OsString]) -> String {
        a.iter().map(|s| s.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn tcg_and_kvm_command_lines() {
        let tcg = joined(&args(&spec(Accel::Tcg, Some("/tmp/a,b.sh"))));
        assert!(tcg.contains("-accel tcg,thread=multi -cpu max -smp 2 -m 1024"), "{tcg}");
        assert!(tcg.contains("-no-reboot") && tcg.contains("-serial stdio") && tcg.contains("-nodefaults"), "{tcg}");
        assert!(tcg.contains("-netdev user,id=net0 -device virtio-net-pci,netdev=net0"), "{tcg}");
        assert!(tcg.contains("-append console=ttyS0 quiet panic=-1 benchhost.token=bhT -kernel"), "{tcg}");
        assert!(tcg.contains("-fw_cfg name=opt/benchhost/job,file=/tmp/a,,b.sh"), "{tcg}");
        let kvm = joined(&args(&spec(Accel::Kvm, None)));
        assert!(kvm.contains("-accel kvm -cpu host") && kvm.contains("benchhost.probe=1") && !kvm.contains("-fw_cfg"), "{kvm}");
    }
}
