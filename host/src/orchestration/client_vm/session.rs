//! A session of the client VM: one boot that runs many steps (shell scripts) one after the
//! other, each with its own output and exit status, then powers off. What a step mounts stays
//! mounted for the next ones (a system is mounted once for many fio runs); what it leaves
//! running is killed when it ends. The framing on the console is in [`super::console`]; the
//! guest side is `tests/vm/init`'s session mode.
//!
//! QEMU is the one of [`super::qemu`]: killed when a step outlives its limit (the session is
//! over then: later steps return an error saying so), on SIGINT/SIGTERM, when the
//! [`VmSession`] is dropped (`kill_on_drop`) and when benchhost dies (`PR_SET_PDEATHSIG`).

use super::accel::AccelChoice;
use super::artifacts::Artifacts;
use super::console::{self, ConsoleLine, Outgoing};
use super::qemu::{self, BootSpec, Machine, Next};
use super::{JobLine, CPUS, MEMORY_MIB};
use crate::orchestration::error::BenchError;
use crate::orchestration::interrupt::Guard;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// The largest step script, in bytes (8 MiB, as `vm run`'s job): it travels over the serial
/// console and is kept in the guest's RAM (`/root/step.sh`).
pub const MAX_STEP_BYTES: usize = 8 << 20;

/// How long [`VmSession::stop`] waits for the guest to power off before QEMU is killed.
pub const STOP_LIMIT: Duration = Duration::from_secs(10);

/// How long QEMU may take to exit once its console closed (it is on its way out then).
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// What a session runs on, for the record of what it measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SessionInfo {
    pub accel: AccelChoice,
    /// The guest kernel's release (the build's manifest), e.g. `6.1.0-57-cloud-amd64`.
    pub kernel: String,
    /// Seconds from QEMU's start until the session took commands (measured on the host).
    pub boot_seconds: f64,
    /// The guest's uptime then (its own clock).
    pub guest_boot_seconds: f64,
}

/// What one step did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StepReport {
    /// The script's exit status (0–255).
    pub status: i32,
    /// Seconds the script ran: from init's `run` line to its `status` line (host clock).
    pub seconds: f64,
    /// Seconds the whole step took on the host: sending the script, running it, and the
    /// status (`total_seconds - seconds` is the session's overhead for the step).
    pub total_seconds: f64,
}

/// A booted client VM that takes steps; see the module's documentation.
pub struct VmSession {
    /// `None` once QEMU is gone (the session is over).
    machine: Option<Machine>,
    /// Bytes for QEMU's stdin (the guest's console), written in order by a task of their own,
    /// so reading the console never waits for a write.
    input: mpsc::UnboundedSender<Vec<u8>>,
    token: String,
    pid: Option<u32>,
    info: SessionInfo,
    /// Steps taken so far (also those that failed).
    steps: usize,
    /// Why the session is over, once it is.
    over: Option<String>,
    /// Seconds from QEMU's start until it was gone, once it is.
    total_seconds: Option<f64>,
}

impl VmSession {
    /// Boots `artifacts` with `accel` in session mode and waits until init takes commands.
    /// Errors: QEMU could not be started ([`BenchError::HostUnsupported`], with the install
    /// hint); the guest did not get there within `boot_timeout` ([`BenchError::JobTimedOut`]);
    /// SIGINT/SIGTERM ([`BenchError::Interrupted`]); init failed (a module, the network, a build
    /// that predates sessions) or QEMU exited ([`BenchError::Other`], with QEMU's and the
    /// console's last lines). QEMU is gone whenever this fails.
    pub async fn start(qemu_bin: &Path, artifacts: &Artifacts, accel: &AccelChoice, boot_timeout: Duration, guard: &mut Guard) -> Result<VmSession, BenchError> {
        let spec = BootSpec {
            kernel: artifacts.kernel.clone(),
            initramfs: artifacts.initramfs.clone(),
            accel: accel.accel,
            token: console::fresh_token(),
            job: None,
            probe: false,
            session: true,
            cpus: CPUS,
            memory_mib: MEMORY_MIB,
        };
        let mut machine = Machine::spawn(qemu_bin, &spec).map_err(|e| BenchError::HostUnsupported(format!("could not start {}: {e}\n  hint: `sudo apt-get install qemu-system-x86`", qemu_bin.display())))?;
        let stdin = machine.take_stdin().ok_or_else(|| BenchError::Other("QEMU's stdin was not captured for the session (a benchhost defect)".into()))?;
        let (input, pending) = mpsc::unbounded_channel();
        tokio::spawn(feed(stdin, pending));
        let a = accel.accel.name();
        let deadline = tokio::time::Instant::now() + boot_timeout;
        let hint = format!("hint: the build in {} may predate sessions or be damaged: rebuild it with `make vm` (tests/vm/build.sh --force)", artifacts.dir.display());
        let guest_boot_seconds = loop {
            match machine.next_within(deadline, Some(&mut *guard)).await {
                Next::Line(ConsoleLine::Ready(up)) => break up,
                Next::Line(ConsoleLine::Error(e)) => {
                    let gone = machine.finish(Some(EXIT_GRACE)).await;
                    return Err(BenchError::Other(format!("the client VM could not start a session: {e}{}\n  {hint}", qemu::diagnosis(&gone.qemu_stderr_tail, &gone.console_tail))));
                }
                Next::Line(other) => tracing::debug!("client VM console before the session: unexpected {other:?}"),
                Next::Closed => {
                    let gone = machine.finish(Some(EXIT_GRACE)).await;
                    if guard.was_interrupted() {
                        return Err(BenchError::Interrupted);
                    }
                    return Err(BenchError::Other(format!("QEMU ({a}) exited {} before the session was ready{}\n  {hint}", exit_words(gone.code), qemu::diagnosis(&gone.qemu_stderr_tail, &gone.console_tail))));
                }
                Next::Deadline => {
                    let gone = machine.finish(None).await;
                    return Err(BenchError::JobTimedOut(format!(
                        "the client VM did not reach the session within {} s (boot timeout) with {a}; it was stopped{}\n  hint: a loaded machine boots slower under tcg: allow more time; with kvm, try tcg",
                        boot_timeout.as_secs_f64(),
                        qemu::diagnosis(&gone.qemu_stderr_tail, &gone.console_tail)
                    )));
                }
                Next::Interrupted => {
                    machine.finish(None).await;
                    return Err(BenchError::Interrupted);
                }
            }
        };
        let info = SessionInfo { accel: accel.clone(), kernel: artifacts.kernel_release().to_string(), boot_seconds: machine.elapsed().as_secs_f64(), guest_boot_seconds };
        tracing::debug!(boot_seconds = info.boot_seconds, guest_boot_seconds, "client VM session ready");
        Ok(VmSession { pid: machine.pid(), machine: Some(machine), input, token: spec.token, info, steps: 0, over: None, total_seconds: None })
    }

    /// The accelerator, the kernel and the boot time.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// The accelerator the session runs with, and why.
    pub fn accel(&self) -> &AccelChoice {
        &self.info.accel
    }

    /// The guest kernel's release.
    pub fn kernel_release(&self) -> &str {
        &self.info.kernel
    }

    /// The console token of this boot (on QEMU's command line, in `-append`).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// QEMU's process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Why the session is over (`None` while it takes steps).
    pub fn over(&self) -> Option<&str> {
        self.over.as_deref()
    }

    /// Runs `script` (`sh /root/step.sh` as root in `/root`, stdin /dev/null) in the guest and
    /// hands each line of its stdout and stderr to `on_line` as it comes. `timeout` bounds the
    /// whole step, from sending the script to its status. Errors: the script is too large or
    /// holds a NUL byte ([`BenchError::Usage`]; the session goes on); the session is over
    /// already ([`BenchError::Other`], saying why); the step outlived `timeout`
    /// ([`BenchError::JobTimedOut`]) or SIGINT/SIGTERM came ([`BenchError::Interrupted`]): QEMU
    /// was killed and the session is over; init refused the step, the protocol broke or QEMU
    /// exited ([`BenchError::Other`]; the session is over).
    pub async fn step(&mut self, script: &str, timeout: Duration, guard: &mut Guard, mut on_line: impl FnMut(JobLine)) -> Result<StepReport, BenchError> {
        let bytes = script.as_bytes();
        if bytes.len() > MAX_STEP_BYTES {
            return Err(BenchError::Usage(format!(
                "a step of {} bytes is too large: the client VM takes scripts of at most {} MiB (they travel over its serial console)\n  hint: fetch large data from the host inside the step (it is at 10.0.2.2)",
                bytes.len(),
                MAX_STEP_BYTES >> 20
            )));
        }
        if let Some(at) = bytes.iter().position(|b| *b == 0) {
            return Err(BenchError::Usage(format!("a step is a shell script, but this one has a NUL byte at offset {at}\n  hint: pass binary data base64-encoded and decode it in the step (`base64 -d`)")));
        }
        self.steps += 1;
        let n = self.steps;
        let Some(mut machine) = self.machine.take() else {
            return Err(BenchError::Other(format!(
                "the client VM session is over ({}); step {n} was not run\n  hint: start a new session",
                self.over.as_deref().unwrap_or("stopped")
            )));
        };
        // Until the step ends well: a step future dropped half-way drops (kills) QEMU with it.
        self.over = Some(format!("step {n} was cancelled"));
        let sent = Instant::now();
        let _ = self.input.send(console::step_command(&self.token, bytes).into_bytes());
        let mut outgoing = Outgoing::new(bytes);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut started: Option<Instant> = None;
        let failure = loop {
            match machine.next_within(deadline, Some(&mut *guard)).await {
                Next::Line(ConsoleLine::Send(want)) => match outgoing.piece(want) {
                    Ok(piece) => {
                        let _ = self.input.send(piece.to_vec());
                    }
                    Err(e) => break Failure::Broken(e),
                },
                Next::Line(ConsoleLine::Run(_)) => started = Some(Instant::now()),
                Next::Line(ConsoleLine::Stdout(s)) => on_line(JobLine::Stdout(s)),
                Next::Line(ConsoleLine::Stderr(s)) => on_line(JobLine::Stderr(s)),
                Next::Line(ConsoleLine::Status(status)) => match started {
                    Some(t) if outgoing.done() => {
                        self.machine = Some(machine);
                        self.over = None;
                        return Ok(StepReport { status, seconds: t.elapsed().as_secs_f64(), total_seconds: sent.elapsed().as_secs_f64() });
                    }
                    _ => break Failure::Broken(format!("init reported status {status} for a step it had not run")),
                },
                Next::Line(ConsoleLine::Error(e)) => break Failure::Refused(e),
                Next::Line(other) => tracing::debug!("client VM console during step {n}: unexpected {other:?}"),
                Next::Closed => break Failure::Exited,
                Next::Deadline => break Failure::TimedOut { running: started.is_some() },
                Next::Interrupted => break Failure::Interrupted,
            }
        };
        // The session cannot go on: QEMU is stopped (at once, unless it is exiting by itself).
        let grace = matches!(failure, Failure::Exited).then_some(EXIT_GRACE);
        let gone = machine.finish(grace).await;
        self.total_seconds = Some(gone.total_seconds);
        let context = qemu::diagnosis(&gone.qemu_stderr_tail, &gone.console_tail);
        let a = self.info.accel.accel.name();
        let (over, err) = match failure {
            Failure::TimedOut { running } => {
                let phase = if running { "" } else { " (its script was still being sent)" };
                let over = format!("step {n} did not finish within {} s", timeout.as_secs_f64());
                (over.clone(), BenchError::JobTimedOut(format!("{over}{phase}; the client VM ({a}) was stopped and the session is over")))
            }
            Failure::Interrupted => ("interrupted".to_string(), BenchError::Interrupted),
            _ if guard.was_interrupted() => ("interrupted".to_string(), BenchError::Interrupted),
            Failure::Refused(e) => (format!("init refused step {n}"), BenchError::Other(format!("the client VM could not take step {n}: {e}; it was stopped and the session is over{context}"))),
            Failure::Broken(e) => (format!("the console protocol broke in step {n}"), BenchError::Other(format!("the client VM session broke in step {n}: {e}; it was stopped{context}\n  hint: this is a benchhost defect, or the build predates sessions: rebuild it with `make vm`"))),
            Failure::Exited => {
                let over = format!("QEMU exited {} during step {n}", exit_words(gone.code));
                (over.clone(), BenchError::Other(format!("{over} ({a}){context}")))
            }
        };
        self.over = Some(over);
        Err(err)
    }

    /// Ends the session: asks the guest to sync and power off, waits up to [`STOP_LIMIT`] for
    /// QEMU to exit, kills it otherwise. Returns the seconds from QEMU's start until it was
    /// gone (also for a session that was over already). Errors: the guest did not power off in
    /// time (it was killed: QEMU is gone all the same) or QEMU exited with an error
    /// ([`BenchError::Other`], with its last lines).
    pub async fn stop(mut self) -> Result<f64, BenchError> {
        let Some(mut machine) = self.machine.take() else {
            return Ok(self.total_seconds.unwrap_or(0.0));
        };
        let _ = self.input.send(console::quit_command(&self.token).into_bytes());
        // Read the console to its end (so QEMU never waits on a full pipe while powering off).
        let deadline = tokio::time::Instant::now() + STOP_LIMIT;
        let closed = loop {
            match machine.next_within(deadline, None).await {
                Next::Closed => break true,
                Next::Deadline | Next::Interrupted => break false,
                Next::Line(l) => tracing::debug!("client VM console while stopping: {l:?}"),
            }
        };
        let gone = machine.finish(closed.then_some(EXIT_GRACE)).await;
        let context = qemu::diagnosis(&gone.qemu_stderr_tail, &gone.console_tail);
        if gone.killed {
            return Err(BenchError::Other(format!(
                "the client VM did not power off within {} s of the end of its session; QEMU was killed{context}\n  hint: a mount whose server is gone can hold up the guest's sync: unmount in the last step",
                STOP_LIMIT.as_secs()
            )));
        }
        match gone.code {
            Some(0) => Ok(gone.total_seconds),
            code => Err(BenchError::Other(format!("QEMU exited {} at the end of the session{context}", exit_words(code)))),
        }
    }
}

/// Why a step failed.
enum Failure {
    TimedOut { running: bool },
    Interrupted,
    /// init said `error|…`.
    Refused(String),
    /// A line that does not fit the protocol.
    Broken(String),
    Exited,
}

/// `with code N` or `on a signal`.
fn exit_words(code: Option<i32>) -> String {
    code.map(|c| format!("with code {c}")).unwrap_or_else(|| "on a signal".into())
}

/// Writes what the session sends to QEMU's stdin, in order, until the session is dropped or
/// QEMU is gone.
async fn feed(mut stdin: tokio::process::ChildStdin, mut pending: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(bytes) = pending.recv().await {
        if stdin.write_all(&bytes).await.is_err() || stdin.flush().await.is_err() {
            break;
        }
    }
}
