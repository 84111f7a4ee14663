//! One cell of the benchmark matrix and its result file.
//!
//! A cell is (profile, workload, size, pass, repeat). Its result is one JSON file,
//! `RUN/raw/<profile>/<workload>__<size>__<pass>__r<repeat>.json` ([`CellId::file_name`]),
//! holding a [`CellResult`]: fio's own JSON report untouched (`fio`), benchhost's record of the
//! cell (`record`), the resource use the engine reported for each container while fio ran
//! (`resources`) and, for S3-backed systems, what the S3 server received (`s3`). A file is
//! written whole (a `.tmp` renamed into place), so a file that exists and parses is a finished
//! cell; `--resume` runs exactly the cells without one whose `status` is `ok`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `schema` value of every result file this benchhost writes.
pub const SCHEMA: &str = "benchhost.cell/1";

/// Whether a cell starts with every cache dropped or after the same cell's files were just read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pass {
    /// The client's and the server's page caches dropped between laying the files out and
    /// measuring (the system's own caches are kept: see `CacheState`).
    Cold,
    /// Measured right after the layout, with whatever the caches kept.
    Warm,
}

impl Pass {
    /// `cold` or `warm`.
    pub fn name(self) -> &'static str {
        match self {
            Pass::Cold => "cold",
            Pass::Warm => "warm",
        }
    }

    /// Parses `cold` or `warm`.
    pub fn parse(s: &str) -> Option<Pass> {
        match s {
            "cold" => Some(Pass::Cold),
            "warm" => Some(Pass::Warm),
            _ => None,
        }
    }
}

/// Which cell: the key of a result file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CellId {
    /// A profile from `benchhost list`, or `local`.
    pub profile: String,
    /// A workload name (a built-in `workloads/NAME.fio`, or the file stem of a user's `.fio`).
    pub workload: String,
    /// A size name from `workloads/sizes.conf`.
    pub size: String,
    pub pass: Pass,
    /// 1-based.
    pub repeat: u32,
}

impl CellId {
    /// `<workload>__<size>__<pass>__r<repeat>.json`.
    pub fn file_name(&self) -> String {
        format!("{}__{}__{}__r{}.json", self.workload, self.size, self.pass.name(), self.repeat)
    }

    /// `profile workload/size/pass #repeat`, for progress lines and errors.
    pub fn label(&self) -> String {
        format!("{} {}/{}/{} #{}", self.profile, self.workload, self.size, self.pass.name(), self.repeat)
    }

    /// fio's `randseed` for this cell: the first 4 bytes of the SHA-256 of
    /// `workload/size/pass/rN`, the profile left out (fio reads the option as a signed 64-bit
    /// number: a seed of 2^63 or more drops the job with `fio: job global dropped`). fio writes
    /// the same bytes in every run of a job with the same seed (the layout too), so each cell of
    /// a system gets its own and no cell's files repeat an earlier cell's content (a
    /// deduplicating system, such as DittoFS, would store them as references: v0.29.0 reads
    /// such files back as zeros once evicted). The same cell of every system gets the same seed,
    /// so they are measured on the same bytes and offsets.
    pub fn seed(&self) -> u64 {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{}/{}/{}/r{}", self.workload, self.size, self.pass.name(), self.repeat).as_bytes());
        let mut first = [0u8; 4];
        first.copy_from_slice(&digest[..4]);
        u64::from(u32::from_be_bytes(first))
    }
}

/// How a cell ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellStatus {
    /// fio ran to its end and its JSON is in `fio`.
    Ok,
    /// The system, the client or fio failed; `error` says how and `logs` where to look.
    Failed,
}

/// One result file (see the module doc). Every field but `fio` is benchhost's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CellResult {
    /// [`SCHEMA`].
    pub schema: String,
    pub cell: CellId,
    pub status: CellStatus,
    /// What failed (secrets as `***`), when `status` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Files with what the failing part said (container logs, fio's stderr), relative to the run
    /// directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
    pub record: CellRecord,
    /// Per container of the system, sampled from the engine while fio ran.
    #[serde(default)]
    pub resources: Vec<ContainerUse>,
    /// What the S3 server received while fio ran, when the system stores in S3 and the S3 server
    /// can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Use>,
    /// fio's `--output-format=json` report, untouched (`null` when fio produced none).
    #[serde(default)]
    pub fio: serde_json::Value,
}

/// benchhost's record of a cell: everything needed to know what was measured and to repeat it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CellRecord {
    /// The benchmark run's id (the run directory's name).
    pub run: String,
    pub benchhost_version: String,
    /// The plugin that describes the system (`None` for `local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginRef>,
    /// Each container's service and image: `{service, image, id}` (the image's content id).
    #[serde(default)]
    pub images: Vec<ImageRef>,
    /// Every setting the system was brought up with (plugins' and `BENCH_*`), secrets as `***`.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    pub client: ClientRef,
    /// The command the client mounted the system with (`None` for `local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_command: Option<String>,
    /// The directory fio worked in, on the client.
    pub directory: String,
    /// The job file: `workloads/NAME.fio` for a built-in one, else the user's path.
    pub workload_file: String,
    /// SHA-256 of the job file's text, hex.
    pub workload_sha256: String,
    /// The parameters fio read from its environment (`FILE_SIZE`, `NR_FILES`, `SEQ_BLOCK`,
    /// `RUNTIME`, `IOENGINE`, `BENCH_DIR`).
    pub params: BTreeMap<String, String>,
    /// What was done to the caches before fio ran.
    pub cache: CacheState,
    /// RFC 3339, local time: when the cell began (before the layout) and ended.
    pub started_at: String,
    pub ended_at: String,
    /// Seconds each phase took, measured by benchhost: `layout` (fio laying the files out),
    /// `cold` (dropping caches), `fio` (the measured run, from fio's start to its end as
    /// benchhost saw it), `stats` (waiting for the engine's samples around fio, beyond what the
    /// layout and cleanup overlap), `cleanup`
    /// (removing the cell's files), `total` (the whole cell; what is left after the others is
    /// benchhost's own bookkeeping: directories, job files).
    pub seconds: BTreeMap<String, f64>,
}

/// The plugin behind a profile.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PluginRef {
    pub name: String,
    pub version: String,
    /// SHA-256 of the plugin's component file, hex.
    pub sha256: String,
}

/// One container's image.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ImageRef {
    pub service: String,
    pub image: String,
    /// The engine's content id of the image (`sha256:…`).
    pub id: String,
}

/// The client fio ran on.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ClientRef {
    /// `host` (this machine's kernel) or `vm` (the client VM).
    pub kind: String,
    /// The client kernel's release (`uname -r`).
    pub kernel: String,
    /// `fio --version`.
    pub fio_version: String,
    /// With `vm`: the accelerator (`kvm` or `tcg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel: Option<String>,
}

/// What was done to each cache before fio ran. Each is `dropped`, `kept`, `none` (there is no
/// such cache, e.g. no server for `local`) or `none (a RAM file system)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheState {
    /// The client kernel's page cache (dentries and inodes too).
    pub client_page_cache: String,
    /// The page cache of the kernel the servers run on.
    pub server_page_cache: String,
    /// The system's own cache (a local block store, a cache directory, what its processes hold):
    /// on a warm pass `kept`; on a cold pass what the plugin's `empty-cache` did, e.g.
    /// `emptied: <how>; restarted ganesha (3.1 s)`, `none (the system keeps no cache of its
    /// own)`, or `kept (the plugin is built for contract 0.2.0, which has no empty-cache)`
    /// (see `up::cold::OwnCache::record`); `none` for `local`.
    pub system_cache: String,
}

/// One container's resource use while fio ran, from the engine's stats stream (one sample a
/// second, as `docker stats` reads it).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ContainerUse {
    pub container: String,
    pub service: String,
    /// Mean and highest CPU use over the cell, in % of one CPU (200 = two CPUs busy).
    pub cpu_percent_mean: f64,
    pub cpu_percent_max: f64,
    /// Highest working set seen (usage minus inactive page cache), bytes.
    pub memory_peak_bytes: u64,
    /// Bytes received and sent on the container's networks during the cell.
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
    /// Bytes the container read from and wrote to block devices during the cell.
    pub blk_read_bytes: u64,
    pub blk_write_bytes: u64,
    /// How many stats samples the numbers come from.
    pub samples: u32,
}

/// What the S3 server received during the cell.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct S3Use {
    /// Where the numbers come from (e.g. `localstack container network counters`).
    pub source: String,
    /// Requests received, when the source can count them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// Bytes the S3 server received (uploads) and sent (downloads).
    pub bytes_in: u64,
    pub bytes_out: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cell_of_a_system_has_its_own_seed_and_every_system_the_same() {
        let id = |profile: &str, workload: &str, size: &str, pass, repeat| CellId { profile: profile.into(), workload: workload.into(), size: size.into(), pass, repeat };
        let a = id("ganesha", "rand-read-4k", "small", Pass::Cold, 1).seed();
        assert_eq!(a, id("dittofs-badger-s3", "rand-read-4k", "small", Pass::Cold, 1).seed());
        let others = [id("ganesha", "rand-read-4k", "small", Pass::Cold, 2), id("ganesha", "rand-read-4k", "small", Pass::Warm, 1), id("ganesha", "rand-read-4k", "medium", Pass::Cold, 1), id("ganesha", "seq-read", "small", Pass::Cold, 1)].map(|c| c.seed());
        assert!(others.iter().all(|o| *o != a), "{a} {others:?}");
        // The first 4 bytes of the SHA-256 of "rand-read-4k/small/cold/r1" (`sha256sum`).
        assert_eq!(format!("{a:08x}"), "522053cd");
    }

    #[test]
    fn file_names_and_passes() {
        let id = CellId { profile: "ganesha".into(), workload: "seq-read".into(), size: "small".into(), pass: Pass::Cold, repeat: 2 };
        assert_eq!(id.file_name(), "seq-read__small__cold__r2.json");
        assert_eq!(id.label(), "ganesha seq-read/small/cold #2");
        assert_eq!(Pass::parse("warm"), Some(Pass::Warm));
        assert_eq!(Pass::parse("hot"), None);
        assert_eq!(serde_json::to_string(&Pass::Cold).unwrap(), "\"cold\"");
    }
}
