//! `benchhost vm run JOBFILE`: boot the client VM, run a shell job in it as root, and end with
//! the job's exit status. Always bounded in time (`--boot-timeout`, `--timeout`); QEMU never
//! outlives the command.

use super::Session;
use crate::orchestration::client_vm::{self, AccelRequest, JobLine, JobReport, JobSpec};
use crate::orchestration::error::BenchError;
use crate::orchestration::progress::say;
use std::path::PathBuf;
use std::time::Duration;

/// The largest job file `vm run` takes, in bytes (8 MiB).
pub const MAX_JOB_BYTES: u64 = 8 << 20;

/// What `vm run` is asked to do.
#[derive(Clone, Debug)]
pub struct VmRunRequest {
    /// The job: a shell script.
    pub job: PathBuf,
    /// Seconds the job may run (from its start in the guest).
    pub timeout_seconds: u64,
    /// Seconds the VM may take to reach the job.
    pub boot_timeout_seconds: u64,
    pub accel: AccelRequest,
}

/// Runs the job, handing each line it writes to `show` as it comes; says the accelerator on
/// stderr first. Errors: an unreadable job file or a zero limit (usage, exit 2); no client VM
/// build or no QEMU (exit 6, with the build/install hint); the limits (exit 124); a signal
/// (exit 130); QEMU or the guest failing (exit 1).
pub async fn run(session: &Session<'_>, req: VmRunRequest, show: impl FnMut(JobLine)) -> Result<JobReport, BenchError> {
    if req.timeout_seconds == 0 || req.boot_timeout_seconds == 0 {
        return Err(BenchError::Usage("--timeout and --boot-timeout must be at least 1 second".into()));
    }
    let job = std::path::absolute(&req.job).unwrap_or_else(|_| req.job.clone());
    match std::fs::metadata(&job) {
        Ok(m) if m.is_file() && m.len() > MAX_JOB_BYTES => {
            return Err(BenchError::Usage(format!(
                "the job {} is {} MiB; a job is a shell script of at most {} MiB (it travels in QEMU's fw_cfg and is copied into the guest's RAM)\n  hint: fetch large data from the host inside the job (it is at 10.0.2.2)",
                job.display(),
                m.len() >> 20,
                MAX_JOB_BYTES >> 20
            )))
        }
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(BenchError::Usage(format!("the job {} is not a file\n  hint: give a shell script, e.g. `benchhost vm run job.sh`", job.display()))),
        Err(e) => return Err(BenchError::Usage(format!("cannot read the job {}: {e}\n  hint: give a shell script, e.g. `benchhost vm run job.sh`", job.display()))),
    }
    std::fs::File::open(&job).map_err(|e| BenchError::Usage(format!("cannot read the job {}: {e}", job.display())))?;
    let artifacts = client_vm::locate().map_err(BenchError::HostUnsupported)?;
    let qemu = client_vm::find_qemu().map_err(BenchError::HostUnsupported)?;
    let mut guard = session.signals.guard();
    let accel = client_vm::accel::choose(&qemu, &artifacts, req.accel).await;
    say(&format!("client VM: kernel {}, accelerator {} ({})", artifacts.kernel_release(), accel.accel.name(), accel.reason));
    let spec = JobSpec { job, timeout: Duration::from_secs(req.timeout_seconds), boot_timeout: Duration::from_secs(req.boot_timeout_seconds) };
    client_vm::run_job(&qemu, &artifacts, &accel, &spec, &mut guard, show).await
}
