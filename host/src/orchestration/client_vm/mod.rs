//! The client VM: a Debian kernel with its NFS and SMB clients, booted under QEMU to run a
//! shell job as root with the host reachable at 10.0.2.2 (QEMU's user-mode network), so a
//! machine whose own kernel has no NFS/CIFS client still mounts the systems with the Linux
//! kernel's client. `tests/vm/build.sh` builds it; `benchhost vm run` runs jobs in it, and
//! `benchhost bench` sessions of many steps.
//!
//! - [`artifacts`]: where the build is and what its manifest says.
//! - [`accel`]: KVM when a probe boots under it, else TCG.
//! - [`qemu`]: one boot, bounded in time, read from the serial console.
//! - [`session`]: one boot that runs many steps (shell scripts) one after the other.
//! - [`console`]: the console protocol of the guest's `/init`.
//!
//! Depends on [`crate::orchestration::interrupt`] only; the `vm` command and `doctor` use it.

pub mod accel;
pub mod artifacts;
pub mod console;
pub mod qemu;
pub mod session;

pub use accel::{AccelChoice, AccelRequest};
pub use artifacts::Artifacts;
pub use qemu::Accel;
pub use session::{SessionInfo, StepReport, VmSession};

use crate::orchestration::error::BenchError;
use crate::orchestration::interrupt::Guard;
use qemu::{BootSpec, End, Limits};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The host's 127.0.0.1 as the guest reaches it: QEMU user-mode network's gateway.
pub const HOST_ADDRESS: &str = "10.0.2.2";

/// vCPUs and memory of the VM (what was measured to boot in ~5 s under TCG on 2 cores).
pub const CPUS: u32 = 2;
pub const MEMORY_MIB: u32 = 1024;

/// One line the job wrote.
#[derive(Clone, Debug, PartialEq)]
pub enum JobLine {
    Stdout(String),
    Stderr(String),
}

/// A job to run.
#[derive(Clone, Debug)]
pub struct JobSpec {
    /// The shell script (run as `sh JOB` by root in `/root`).
    pub job: PathBuf,
    /// How long the job may run, from the moment it starts.
    pub timeout: Duration,
    /// How long the VM may take to reach the job.
    pub boot_timeout: Duration,
}

/// What a job run did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct JobReport {
    pub accel: AccelChoice,
    /// The guest kernel's release.
    pub kernel: String,
    /// The job's exit status (0–255).
    pub status: i32,
    /// Seconds from QEMU's start to the job's start (measured on the host).
    pub boot_seconds: f64,
    /// The guest's uptime when the job started.
    pub guest_boot_seconds: f64,
    /// Seconds the job ran.
    pub job_seconds: f64,
    /// Seconds from QEMU's start until it was gone.
    pub total_seconds: f64,
}

/// The build at the default place. Errors (`what\n  hint: what to do`, something the host
/// lacks: exit 6 for a command): the missing file and `make vm`; no home directory.
pub fn locate() -> Result<Artifacts, String> {
    let dir = artifacts::default_dir().ok_or_else(|| format!("no cache directory for the client VM (neither XDG_CACHE_HOME nor HOME is set)\n  hint: set HOME, then {}", artifacts::BUILD_HINT))?;
    artifacts::load(&dir)
}

/// `qemu-system-x86_64` on `PATH`. Errors (`what\n  hint: what to do`, exit 6 for a command):
/// not installed, with the install command.
pub fn find_qemu() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(qemu::QEMU))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("{} is not installed (the client VM runs under QEMU)\n  hint: `sudo apt-get install qemu-system-x86` (or `make vm`, which installs it as root)", qemu::QEMU))
}

/// Boots `artifacts` with `accel`, runs `spec`'s job and hands its lines to `on_line` as they
/// come. Errors: the VM did not reach the job or the job did not end in time
/// ([`BenchError::JobTimedOut`], exit 124; QEMU was killed), SIGINT/SIGTERM
/// ([`BenchError::Interrupted`]), QEMU failed to start or exited early, init could not run the
/// job ([`BenchError::Other`], with QEMU's and the console's last lines).
pub async fn run_job(qemu_bin: &Path, artifacts: &Artifacts, accel: &AccelChoice, spec: &JobSpec, guard: &mut Guard, on_line: impl FnMut(JobLine)) -> Result<JobReport, BenchError> {
    let mut on_line = on_line;
    let boot = BootSpec {
        kernel: artifacts.kernel.clone(),
        initramfs: artifacts.initramfs.clone(),
        accel: accel.accel,
        token: console::fresh_token(),
        job: Some(spec.job.clone()),
        probe: false,
        session: false,
        cpus: CPUS,
        memory_mib: MEMORY_MIB,
    };
    let limits = Limits { boot: spec.boot_timeout, job: spec.timeout };
    let run = qemu::run(qemu_bin, &boot, limits, Some(&mut *guard), |l| match l {
        console::ConsoleLine::Stdout(s) => on_line(JobLine::Stdout(s)),
        console::ConsoleLine::Stderr(s) => on_line(JobLine::Stderr(s)),
        _ => {}
    })
    .await
    .map_err(|e| BenchError::HostUnsupported(format!("could not start {}: {e}\n  hint: `sudo apt-get install qemu-system-x86`", qemu_bin.display())))?;
    let a = accel.accel.name();
    let context = || qemu::diagnosis(&run.qemu_stderr_tail, &run.console_tail);
    let secs = |d: Duration| d.as_secs_f64();
    match &run.end {
        End::Status(status) => Ok(JobReport {
            accel: accel.clone(),
            kernel: artifacts.kernel_release().to_string(),
            status: *status,
            boot_seconds: run.boot_seconds.unwrap_or(0.0),
            guest_boot_seconds: run.guest_boot_seconds.unwrap_or(0.0),
            job_seconds: run.job_seconds.unwrap_or(0.0),
            total_seconds: run.total_seconds,
        }),
        _ if guard.was_interrupted() => Err(BenchError::Interrupted),
        End::Interrupted => Err(BenchError::Interrupted),
        End::JobTimeout => Err(BenchError::JobTimedOut(format!(
            "the job did not finish within {} s (--timeout); the client VM was stopped (booted in {:.1} s with {a})",
            secs(spec.timeout),
            run.boot_seconds.unwrap_or(0.0)
        ))),
        End::BootTimeout => Err(BenchError::JobTimedOut(format!(
            "the client VM did not reach the job within {} s (--boot-timeout) with {a}; it was stopped{}\n  hint: a loaded machine boots slower under tcg: raise --boot-timeout; with kvm, try --accel tcg",
            secs(spec.boot_timeout),
            context()
        ))),
        End::GuestError(e) => Err(BenchError::Other(format!(
            "the client VM could not run the job: {e}{}\n  hint: the build in {} may be damaged: rebuild it with `make vm FORCE=1` (tests/vm/build.sh --force)",
            context(),
            artifacts.dir.display()
        ))),
        End::QemuExited(code) => Err(BenchError::Other(format!(
            "QEMU ({a}) exited {} before the job ended{}",
            code.map(|c| format!("with code {c}")).unwrap_or_else(|| "on a signal".into()),
            context()
        ))),
        End::Probed => Err(BenchError::Other("the client VM answered a probe instead of running the job (a benchhost defect)".into())),
    }
}
