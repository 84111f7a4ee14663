//! One boot of the client VM under QEMU (tokio::process): the command line, the running
//! machine ([`Machine`]: its console read line by line, its stdin for a session's commands),
//! and a one-shot run ([`run`]) bounded in time at every phase.
//!
//! QEMU runs with the serial console on its stdout and its stdin from /dev/null (a session's:
//! a pipe), so a terminal is never put into raw mode; with `-no-reboot` (a guest panic or
//! power-off ends QEMU). It is killed when a phase outlives its limit, on SIGINT/SIGTERM, when
//! its [`Machine`] is dropped (`kill_on_drop`) and, on Linux, when benchhost itself dies
//! (`PR_SET_PDEATHSIG`). A KVM emulation failure makes QEMU pause rather than exit; the limits
//! are what end it then.

use super::console::{self, ConsoleLine};
use crate::orchestration::interrupt::Guard;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

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
    /// A session (kernel parameter `benchhost.session=1`): init takes steps from the console
    /// (QEMU's stdin, a pipe then) instead of one job; see [`super::session`].
    pub session: bool,
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
    if spec.session {
        cmdline.push_str(" benchhost.session=1");
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

/// How many of the console's noise lines and QEMU's stderr lines a [`Machine`] keeps.
const TAIL: usize = 30;

/// What [`Machine::next_within`] got.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// A line of benchhost's (never [`ConsoleLine::Noise`]: that goes to the console tail).
    Line(ConsoleLine),
    /// QEMU closed its console: it exited (or is exiting).
    Closed,
    /// The deadline passed first.
    Deadline,
    /// SIGINT/SIGTERM came first.
    Interrupted,
}

/// A running QEMU: its console (stdout) read line by line, its stdin when it is a session's,
/// its stderr collected in the background. Dropping it kills QEMU.
pub struct Machine {
    child: Child,
    stdin: Option<ChildStdin>,
    console: BufReader<ChildStdout>,
    stderr: tokio::task::JoinHandle<Vec<u8>>,
    token: String,
    started: Instant,
    /// The line being read (kept across cancelled reads: `read_until` is cancel-safe that way).
    partial: Vec<u8>,
    console_tail: Vec<String>,
}

/// A QEMU that is gone ([`Machine::finish`]).
#[derive(Clone, Debug)]
pub struct Gone {
    /// QEMU's exit code; `None` when a signal ended it (or it was killed).
    pub code: Option<i32>,
    /// Whether it had to be killed.
    pub killed: bool,
    /// Seconds from QEMU's start until it was gone.
    pub total_seconds: f64,
    /// The last console lines that were not benchhost's (kernel and init), for diagnosis.
    pub console_tail: Vec<String>,
    /// The last lines QEMU wrote to its stderr.
    pub qemu_stderr_tail: Vec<String>,
}

impl Machine {
    /// Starts QEMU for `spec` (stdin a pipe when `spec.session`, else /dev/null). Errors: QEMU
    /// could not be started (the I/O error of the spawn).
    pub fn spawn(qemu: &Path, spec: &BootSpec) -> std::io::Result<Machine> {
        let mut cmd = tokio::process::Command::new(qemu);
        let stdin = if spec.session { Stdio::piped() } else { Stdio::null() };
        cmd.args(args(spec)).stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        #[cfg(target_os = "linux")]
        // SAFETY: the closure makes one async-signal-safe system call (prctl) between fork and exec.
        unsafe {
            cmd.pre_exec(|| rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)).map_err(std::io::Error::from));
        }
        let started = Instant::now();
        let mut child = cmd.spawn()?;
        tracing::debug!(qemu = %qemu.display(), args = ?args(spec), pid = ?child.id(), "client VM started");
        let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("qemu's stdout was not captured"))?;
        let mut stderr = child.stderr.take().ok_or_else(|| std::io::Error::other("qemu's stderr was not captured"))?;
        let stdin = child.stdin.take();
        let stderr = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf).await;
            buf
        });
        Ok(Machine { child, stdin, console: BufReader::new(stdout), stderr, token: spec.token.clone(), started, partial: Vec::new(), console_tail: Vec::new() })
    }

    /// QEMU's stdin (a session's; `None` otherwise or once taken).
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.stdin.take()
    }

    /// QEMU's process id (`None` once it has been waited for).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Time since QEMU was started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The last console lines that were not benchhost's (kernel and init).
    pub fn console_tail(&self) -> &[String] {
        &self.console_tail
    }

    /// The next line of benchhost's on the console, unless QEMU closes it, `deadline` passes or
    /// `guard` sees a signal first. Noise lines are kept in the console tail (and logged at
    /// debug level) on the way. Cancel-safe: a line cut by a deadline is completed by the next
    /// call.
    pub async fn next_within(&mut self, deadline: tokio::time::Instant, mut guard: Option<&mut Guard>) -> Next {
        loop {
            let interrupted = async {
                match guard.as_deref_mut() {
                    Some(g) => g.interrupted().await,
                    None => std::future::pending().await,
                }
            };
            let read = tokio::select! {
                r = self.console.read_until(b'\n', &mut self.partial) => r,
                _ = tokio::time::sleep_until(deadline) => return Next::Deadline,
                _ = interrupted => return Next::Interrupted,
            };
            match read {
                Ok(0) | Err(_) => return Next::Closed,
                Ok(_) => {}
            }
            let line = console::parse(&self.token, &self.partial);
            self.partial.clear();
            match line {
                ConsoleLine::Noise(n) => {
                    tracing::debug!("client VM console: {n}");
                    self.console_tail.push(n);
                    if self.console_tail.len() > TAIL {
                        self.console_tail.remove(0);
                    }
                }
                other => return Next::Line(other),
            }
        }
    }

    /// Ends QEMU: waits up to `grace` for it to exit by itself (`None`: kills it at once), kills
    /// it otherwise, and collects what it said on stderr.
    pub async fn finish(mut self, grace: Option<Duration>) -> Gone {
        drop(self.stdin.take());
        let exited = match grace {
            Some(g) => tokio::time::timeout(g, self.child.wait()).await.ok().and_then(Result::ok),
            None => None,
        };
        let killed = exited.is_none();
        if killed {
            let _ = self.child.kill().await;
        }
        let stderr = tokio::time::timeout(Duration::from_secs(2), &mut self.stderr).await.ok().and_then(Result::ok).unwrap_or_default();
        let stderr = String::from_utf8_lossy(&stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let qemu_stderr_tail = lines[lines.len().saturating_sub(10)..].iter().map(|l| l.to_string()).collect();
        Gone {
            code: exited.and_then(|s| s.code()),
            killed,
            total_seconds: self.started.elapsed().as_secs_f64(),
            console_tail: std::mem::take(&mut self.console_tail),
            qemu_stderr_tail,
        }
    }
}

/// For an error message: what QEMU said on stderr and the last 12 console lines, each part on
/// its own indented lines (empty when there is neither).
pub fn diagnosis(qemu_stderr_tail: &[String], console_tail: &[String]) -> String {
    let mut s = String::new();
    if !qemu_stderr_tail.is_empty() {
        s.push_str(&format!("\n  QEMU said: {}", qemu_stderr_tail.join("\n    ")));
    }
    if !console_tail.is_empty() {
        let tail = &console_tail[console_tail.len().saturating_sub(12)..];
        s.push_str(&format!("\n  last console lines:\n    {}", tail.join("\n    ")));
    }
    s
}

/// Boots `spec` with `qemu` and reads its console until the guest powers off or a limit
/// passes, handing each job line to `on_line` ([`ConsoleLine::Stdout`]/[`ConsoleLine::Stderr`])
/// as it arrives. QEMU is gone when this returns. Errors: QEMU could not be started (the I/O
/// error of the spawn).
pub async fn run(qemu: &Path, spec: &BootSpec, limits: Limits, mut guard: Option<&mut Guard>, mut on_line: impl FnMut(ConsoleLine)) -> std::io::Result<Run> {
    let mut machine = Machine::spawn(qemu, spec)?;
    let (mut boot_seconds, mut guest_boot_seconds, mut ready_at) = (None, None, None);
    let mut deadline = tokio::time::Instant::now() + limits.boot;
    let end = loop {
        match machine.next_within(deadline, guard.as_deref_mut()).await {
            Next::Closed => break End::QemuExited(None),
            Next::Deadline => break if ready_at.is_some() { End::JobTimeout } else { End::BootTimeout },
            Next::Interrupted => break End::Interrupted,
            Next::Line(ConsoleLine::Ready(up) | ConsoleLine::Probe(up)) if ready_at.is_none() => {
                boot_seconds = Some(machine.elapsed().as_secs_f64());
                guest_boot_seconds = Some(up);
                ready_at = Some(Instant::now());
                if spec.probe {
                    break End::Probed;
                }
                deadline = tokio::time::Instant::now() + limits.job;
            }
            Next::Line(ConsoleLine::Status(n)) => break End::Status(n),
            Next::Line(ConsoleLine::Error(e)) => break End::GuestError(e),
            Next::Line(out @ (ConsoleLine::Stdout(_) | ConsoleLine::Stderr(_))) => on_line(out),
            Next::Line(other) => tracing::debug!("client VM console: unexpected {other:?}"),
        }
    };
    let job_seconds = ready_at.map(|r| r.elapsed().as_secs_f64());
    // The guest powers off right after its last line; anything else is killed.
    let grace = match end {
        End::Status(_) | End::GuestError(_) | End::QemuExited(_) => Some(Duration::from_secs(5)),
        _ => None,
    };
    let gone = machine.finish(grace).await;
    let end = match end {
        End::QemuExited(_) => End::QemuExited(gone.code),
        e => e,
    };
    Ok(Run { end, boot_seconds, guest_boot_seconds, job_seconds, total_seconds: gone.total_seconds, console_tail: gone.console_tail, qemu_stderr_tail: gone.qemu_stderr_tail })
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
            session: false,
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
        assert!(!tcg.contains("benchhost.session=1") && !kvm.contains("benchhost.session=1"), "{tcg}");
        let session = joined(&args(&BootSpec { job: None, probe: false, session: true, ..spec(Accel::Tcg, None) }));
        assert!(session.contains("benchhost.token=bhT benchhost.session=1 -kernel") && !session.contains("-fw_cfg") && !session.contains("probe"), "{session}");
    }
}
