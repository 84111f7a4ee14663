//! This machine as the client: fio from `PATH`, run with `tokio::process`, its page cache
//! dropped with [`crate::orchestration::host::page_cache`].

use super::{fio_argv, FioCall, FioOutcome};
use crate::orchestration::bench::cell::ClientRef;
use crate::orchestration::error::BenchError;
use crate::orchestration::host::host_os;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The host client; job files and fio's reports go to `scratch` (in the run directory).
pub struct HostClient {
    scratch: PathBuf,
}

impl HostClient {
    /// A client keeping its job files in `scratch` (created). Errors: fio is not installed (exit
    /// 6, with the install command), `scratch` cannot be made.
    pub fn new(scratch: &Path) -> Result<HostClient, BenchError> {
        fio_version()?;
        std::fs::create_dir_all(scratch).map_err(|e| BenchError::Usage(format!("cannot create {}: {e}\n  hint: choose another root with --results-dir DIR", scratch.display())))?;
        Ok(HostClient { scratch: scratch.to_path_buf() })
    }

    /// What the record says of this client: kernel release and fio version.
    pub fn info(&self) -> ClientRef {
        ClientRef { kind: "host".into(), kernel: rustix::system::uname().release().to_string_lossy().into_owned(), fio_version: fio_version().unwrap_or_default(), accel: None }
    }

    /// Runs fio for `call` (see [`FioCall`]). Errors: fio could not be started; a failing or
    /// timed-out fio is an [`FioOutcome`], not an error.
    pub async fn fio(&self, call: &FioCall) -> Result<FioOutcome, BenchError> {
        let job = self.scratch.join(&call.job_name);
        let output = self.scratch.join(format!("{}.json", call.job_name));
        std::fs::write(&job, &call.job_text).map_err(|e| BenchError::Other(format!("cannot write {}: {e}", job.display())))?;
        let _ = std::fs::remove_file(&output);
        let argv = fio_argv(call, &job.display().to_string(), &output.display().to_string());
        let mut cmd = tokio::process::Command::new(&argv[0]);
        // In the cell's directory (a job file without ${BENCH_DIR} works there too), in a
        // process group of its own: fio forks a process per job, and all of them go together.
        cmd.args(&argv[1..])
            .envs(&call.env)
            .current_dir(call.env.get("BENCH_DIR").map(String::as_str).unwrap_or("."))
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let start = Instant::now();
        let child = cmd.spawn().map_err(|e| BenchError::HostUnsupported(format!("cannot run fio: {e}\n  hint: {}", install_hint())))?;
        let mut group = ProcessGroup(child.id());
        let (status, stdout, stderr, timed_out) = match tokio::time::timeout(call.timeout, child.wait_with_output()).await {
            Ok(Ok(out)) => {
                // fio ended on its own and was reaped: its group id may be reused, so no kill.
                group.0 = None;
                (out.status.code(), out.stdout, out.stderr, false)
            }
            Ok(Err(e)) => return Err(BenchError::Other(format!("waiting for fio: {e}"))),
            Err(_) => (None, Vec::new(), format!("fio ran past its timeout of {} s and was killed", call.timeout.as_secs()).into_bytes(), true),
        };
        drop(group);
        let seconds = start.elapsed().as_secs_f64();
        let json = std::fs::read_to_string(&output).ok().and_then(|t| parse_report(&t));
        let mut log = String::from_utf8_lossy(&stderr).into_owned();
        if json.is_none() {
            log.push_str(&String::from_utf8_lossy(&stdout));
        }
        Ok(FioOutcome { status, json, log, seconds, timed_out })
    }

    /// Drops this machine's page cache (see `benchhost drop-caches`).
    pub fn drop_caches(&self) -> Result<(), BenchError> {
        crate::orchestration::host::page_cache::drop_caches(host_os()).map(|_| ())
    }
}

/// fio's process group, killed (SIGKILL) when dropped while armed: on a timeout, or when the
/// cell is cancelled (Ctrl-C), it takes fio's job processes along with fio.
struct ProcessGroup(Option<u32>);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// fio's JSON report out of its output file: fio may print notes before the JSON object (e.g.
/// `fio: file hash not empty on exit`), so the report is read from the first `{`.
pub fn parse_report(text: &str) -> Option<serde_json::Value> {
    let start = text.find('{')?;
    serde_json::from_str(&text[start..]).ok()
}

/// `fio --version` (e.g. `fio-3.33`). Errors: fio is missing (exit 6, install hint).
pub fn fio_version() -> Result<String, BenchError> {
    crate::orchestration::host::fio::version().map_err(|e| BenchError::HostUnsupported(format!("fio cannot be run ({e}): the host client runs fio\n  hint: {}", install_hint())))
}

fn install_hint() -> &'static str {
    "install fio (`sudo apt-get install fio`, `brew install fio`), or run the matrix in the client VM with --client vm"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_read_past_fios_notes() {
        assert_eq!(parse_report("fio: note\n{\"jobs\": []}\n").unwrap()["jobs"], serde_json::json!([]));
        assert!(parse_report("no json").is_none());
        assert!(parse_report("{cut").is_none());
    }
}
