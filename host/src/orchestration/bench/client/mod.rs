//! The client a matrix runs fio on: this machine ([`host`]) or the client VM ([`vm`]). Both do
//! the same few things for a cell: make and remove its directory, run fio on a job file with
//! the cell's environment, and drop their own page cache. The system under test is mounted on
//! the client once per system ([`super::system`]).

pub mod host;
pub mod vm;

use std::collections::BTreeMap;
use std::time::Duration;

/// One fio invocation.
#[derive(Clone, Debug)]
pub struct FioCall {
    /// The job file's text (written to a file on the client).
    pub job_text: String,
    /// The job file's name on the client (`<workload>.fio`).
    pub job_name: String,
    /// What fio reads the job's `${…}` parameters from.
    pub env: BTreeMap<String, String>,
    /// `--create_only=1`: lay the files out and do no measured I/O.
    pub create_only: bool,
    /// How long fio may run before it is killed.
    pub timeout: Duration,
}

/// What fio did.
#[derive(Clone, Debug)]
pub struct FioOutcome {
    /// fio's exit status (`None`: killed, or it timed out).
    pub status: Option<i32>,
    /// fio's JSON report, when it wrote one that parses.
    pub json: Option<serde_json::Value>,
    /// What fio wrote on stderr (and, when the JSON did not parse, on stdout), for the cell's log.
    pub log: String,
    /// Seconds from fio's start to its end, measured by benchhost on the host.
    pub seconds: f64,
    /// It ran past [`FioCall::timeout`] and was killed.
    pub timed_out: bool,
}

/// The fio command line for `call` whose job file is at `job` and report goes to `output`.
pub fn fio_argv(call: &FioCall, job: &str, output: &str) -> Vec<String> {
    let mut argv = vec!["fio".to_string(), "--output-format=json".to_string(), format!("--output={output}")];
    if call.create_only {
        argv.push("--create_only=1".into());
    }
    argv.push(job.to_string());
    argv
}

use crate::orchestration::bench::cell::ClientRef;
use crate::orchestration::error::BenchError;

/// The client of a run.
pub enum Client {
    Host(host::HostClient),
    Vm(Box<vm::VmClient>),
}

impl Client {
    /// What the record says of the client.
    pub fn info(&self) -> ClientRef {
        match self {
            Client::Host(h) => h.info(),
            Client::Vm(v) => v.info(),
        }
    }

    /// Makes `dir` (and its parents) on the client, empty: what a cell left there is removed.
    /// Errors: it cannot be made (the mount is gone, permissions).
    pub async fn fresh_dir(&mut self, dir: &str) -> Result<(), BenchError> {
        match self {
            Client::Host(_) => {
                let _ = std::fs::remove_dir_all(dir);
                std::fs::create_dir_all(dir).map_err(|e| BenchError::Other(format!("cannot create the cell's directory {dir} on the client: {e}")))
            }
            Client::Vm(v) => {
                let q = crate::orchestration::host::mount_command::shell_quote(dir);
                v.must(&format!("creating the cell's directory {dir}"), &format!("rm -rf {q} && mkdir -p {q}")).await
            }
        }
    }

    /// Removes `dir` and everything in it (best effort: the next cell starts with a fresh one).
    pub async fn remove_dir(&mut self, dir: &str) {
        match self {
            Client::Host(_) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Client::Vm(v) => {
                let _ = v.must("removing the cell's files", &format!("rm -rf {}", crate::orchestration::host::mount_command::shell_quote(dir))).await;
            }
        }
    }

    /// Runs fio (see [`FioCall`]).
    pub async fn fio(&mut self, call: &FioCall) -> Result<FioOutcome, BenchError> {
        match self {
            Client::Host(h) => h.fio(call).await,
            Client::Vm(v) => v.fio(call).await,
        }
    }

    /// Powers a client VM off (the host client has nothing to stop).
    pub async fn stop(self) {
        if let Client::Vm(v) = self {
            v.stop().await;
        }
    }

    /// Drops the client kernel's page cache (after a `sync`).
    pub async fn drop_caches(&mut self) -> Result<(), BenchError> {
        match self {
            Client::Host(h) => h.drop_caches(),
            // Documentation/admin-guide/sysctl/vm.rst: 3 frees the page cache, dentries and inodes.
            Client::Vm(v) => v.must("dropping the client VM's page cache", "sync && echo 3 >/proc/sys/vm/drop_caches").await,
        }
    }

    /// Why the client can run nothing more (a client VM whose session ended), if so.
    pub fn gone(&self) -> Option<String> {
        match self {
            Client::Host(_) => None,
            Client::Vm(v) => v.gone(),
        }
    }

    /// Whether the client runs on the kernel the servers run on (then one drop covers both).
    pub fn shares_the_servers_kernel(&self) -> bool {
        matches!(self, Client::Host(_))
    }
}
