//! The client VM as the client: booted once per system ([`VmClient::start`]), the system
//! mounted in it once, then one session step per action of a cell (make the directory, fio,
//! drop the guest's page cache, remove the files). fio's JSON report comes back on the step's
//! stdout after a marker line.

use super::{fio_argv, FioCall, FioOutcome};
use crate::orchestration::bench::cell::ClientRef;
use crate::orchestration::client_vm::{self, session::VmSession, AccelRequest, JobLine};
use crate::orchestration::error::BenchError;
use crate::orchestration::host::mount_command::shell_quote;
use crate::orchestration::interrupt::{Guard, Signals};
use std::time::{Duration, Instant};

/// How long the VM may take to boot, and a step that is not fio to run.
const BOOT_TIMEOUT: Duration = Duration::from_secs(180);
const STEP_TIMEOUT: Duration = Duration::from_secs(120);
/// The line after which a step's stdout is fio's report.
const REPORT_MARKER: &str = "benchhost-fio-report-follows";

/// A booted client VM.
pub struct VmClient {
    session: VmSession,
    guard: Guard,
    info: ClientRef,
}

/// What one step wrote and how it ended.
pub struct StepOutput {
    pub status: i32,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
    pub seconds: f64,
}

impl VmClient {
    /// Boots the client VM (KVM when it works, else TCG) and asks it for fio's version. Errors:
    /// no build or no QEMU (exit 6, with the build hint), the boot failing or timing out,
    /// [`BenchError::Interrupted`].
    pub async fn start(signals: &Signals) -> Result<VmClient, BenchError> {
        let artifacts = client_vm::locate().map_err(BenchError::HostUnsupported)?;
        let qemu = client_vm::find_qemu().map_err(BenchError::HostUnsupported)?;
        let mut guard = signals.guard();
        let accel = client_vm::accel::choose(&qemu, &artifacts, AccelRequest::Auto).await;
        let session = VmSession::start(&qemu, &artifacts, &accel, BOOT_TIMEOUT, &mut guard).await?;
        let info = ClientRef { kind: "vm".into(), kernel: artifacts.kernel_release().to_string(), fio_version: String::new(), accel: Some(accel.accel.name().to_string()) };
        let mut client = VmClient { session, guard, info };
        let v = client.step("fio --version", STEP_TIMEOUT).await?;
        client.info.fio_version = v.stdout.first().cloned().unwrap_or_default();
        Ok(client)
    }

    /// What the record says of this client.
    pub fn info(&self) -> ClientRef {
        self.info.clone()
    }

    /// Runs `script` as one step. Errors: the step outlived `timeout` (the VM is stopped), the
    /// VM is gone, a signal.
    pub async fn step(&mut self, script: &str, timeout: Duration) -> Result<StepOutput, BenchError> {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let start = Instant::now();
        let report = self
            .session
            .step(script, timeout, &mut self.guard, |l| match l {
                JobLine::Stdout(s) => stdout.push(s),
                JobLine::Stderr(s) => stderr.push(s),
            })
            .await?;
        Ok(StepOutput { status: report.status, stdout, stderr, seconds: start.elapsed().as_secs_f64() })
    }

    /// Runs `script` and fails unless it exits 0 (`what` names it in the error, with its stderr).
    pub async fn must(&mut self, what: &str, script: &str) -> Result<(), BenchError> {
        let out = self.step(script, STEP_TIMEOUT).await?;
        if out.status == 0 {
            Ok(())
        } else {
            Err(BenchError::Other(format!("{what} failed in the client VM (exit {}): {}", out.status, out.stderr.join("\n  "))))
        }
    }

    /// Runs fio for `call` in the VM (see [`FioCall`]); a failing or timed-out fio is an
    /// [`FioOutcome`]. Errors: the VM is gone, a signal.
    pub async fn fio(&mut self, call: &FioCall) -> Result<FioOutcome, BenchError> {
        let job = format!("/root/{}", call.job_name);
        let output = format!("/root/{}.json", call.job_name);
        let eof = format!("BENCHHOST_JOB_EOF_{}", crate::orchestration::client_vm::console::fresh_token());
        let mut script = format!("cat >{} <<'{eof}'\n{}\n{eof}\nrm -f {}\n", shell_quote(&job), call.job_text.trim_end_matches('\n'), shell_quote(&output));
        for (k, v) in &call.env {
            script.push_str(&format!("export {k}={}\n", shell_quote(v)));
        }
        let argv: Vec<String> = fio_argv(call, &job, &output).iter().map(|a| shell_quote(a)).collect();
        // In the cell's directory (a job file without ${BENCH_DIR} works there too).
        let cd = call.env.get("BENCH_DIR").map(|d| format!("cd {} && ", shell_quote(d))).unwrap_or_default();
        script.push_str(&format!("{cd}{}\nstatus=$?\necho {REPORT_MARKER}\ncat {} 2>/dev/null\nexit $status\n", argv.join(" "), shell_quote(&output)));
        match self.step(&script, call.timeout).await {
            Ok(out) => {
                let report: Vec<&str> = out.stdout.iter().skip_while(|l| *l != REPORT_MARKER).skip(1).map(String::as_str).collect();
                let json = super::host::parse_report(&report.join("\n"));
                let mut log = out.stderr.join("\n");
                if json.is_none() {
                    log.push('\n');
                    log.push_str(&out.stdout.join("\n"));
                }
                Ok(FioOutcome { status: Some(out.status), json, log, seconds: out.seconds, timed_out: false })
            }
            Err(BenchError::JobTimedOut(why)) => Ok(FioOutcome { status: None, json: None, log: why, seconds: call.timeout.as_secs_f64(), timed_out: true }),
            Err(e) => Err(e),
        }
    }

    /// Why the session can run no more steps, once it is over.
    pub fn gone(&self) -> Option<String> {
        self.session.over().map(str::to_string)
    }

    /// Powers the VM off.
    pub async fn stop(self) {
        let _ = self.session.stop().await;
    }
}
