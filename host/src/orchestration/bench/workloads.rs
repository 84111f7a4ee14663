//! The workloads a matrix runs and the sizes it runs them at.
//!
//! The built-in workloads are the repository's `workloads/*.fio`, compiled into benchhost so an
//! installed binary has them; a user's own job file is named by path (anything ending in `.fio`
//! or containing a `/`). Sizes are the rows of `workloads/sizes.conf`. Every job file reads its
//! parameters from the environment (`workloads/README.md`): `BENCH_DIR`, `FILE_SIZE`,
//! `NR_FILES`, `SEQ_BLOCK`, `RUNTIME`, `IOENGINE`.

use crate::orchestration::error::BenchError;
use std::collections::BTreeMap;
use std::path::Path;

/// The built-in workloads: (name, job file text), in the order a matrix runs them.
pub const BUILT_IN: [(&str, &str); 6] = [
    ("seq-write", include_str!("../../../../workloads/seq-write.fio")),
    ("seq-read", include_str!("../../../../workloads/seq-read.fio")),
    ("rand-read-4k", include_str!("../../../../workloads/rand-read-4k.fio")),
    ("rand-write-4k", include_str!("../../../../workloads/rand-write-4k.fio")),
    ("mixed-rw", include_str!("../../../../workloads/mixed-rw.fio")),
    ("metadata", include_str!("../../../../workloads/metadata.fio")),
];

/// `workloads/sizes.conf`.
const SIZES_CONF: &str = include_str!("../../../../workloads/sizes.conf");

/// A workload: a fio job file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Its name in result files and reports: the built-in name, or the user file's stem.
    pub name: String,
    /// `workloads/NAME.fio`, or the user's path as given.
    pub file: String,
    pub text: String,
    /// SHA-256 of `text`, hex.
    pub sha256: String,
}

impl Workload {
    /// Whether fio should lay the files out (`--create_only=1`) before the measured run, so the
    /// layout is not measured and a cold pass can drop caches in between. Not for jobs that
    /// create their files as the measured operation (fio's `filecreate` engine, `metadata`).
    pub fn lays_out_files(&self) -> bool {
        !self.text.lines().any(|l| {
            let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
            l.starts_with("ioengine=filecreate") || l.starts_with("ioengine=filedelete") || l.starts_with("ioengine=filestat")
        })
    }
}

/// A size: one row of `sizes.conf`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Size {
    pub name: String,
    /// fio sizes (`64k`, `1g`: powers of 1024).
    pub file_size: String,
    pub nr_files: u32,
    pub seq_block: String,
}

/// Every size of `sizes.conf`, in its order.
pub fn sizes() -> Vec<Size> {
    SIZES_CONF
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some(Size { name: f.first()?.to_string(), file_size: f.get(1)?.to_string(), nr_files: f.get(2)?.parse().ok()?, seq_block: f.get(3)?.to_string() })
        })
        .collect()
}

/// The sizes named in `names`, in the order given. Errors (usage): an unknown name, listing
/// the known ones.
pub fn pick_sizes(names: &[String]) -> Result<Vec<Size>, BenchError> {
    let all = sizes();
    names
        .iter()
        .map(|n| {
            all.iter().find(|s| &s.name == n).cloned().ok_or_else(|| {
                let known: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
                BenchError::Usage(format!("--sizes: no size {n:?}\n  hint: one of {} (workloads/sizes.conf)", known.join(", ")))
            })
        })
        .collect()
}

/// The workloads named in `names`: a built-in name, or a path to the user's `.fio` file (read
/// now, so the run records what it ran). Errors (usage): an unknown name, a file that cannot be
/// read, two workloads of one name.
pub fn pick_workloads(names: &[String]) -> Result<Vec<Workload>, BenchError> {
    let mut out: Vec<Workload> = Vec::new();
    for n in names {
        let w = if let Some((name, text)) = BUILT_IN.iter().find(|(b, _)| b == n) {
            workload(name, &format!("workloads/{name}.fio"), text)
        } else if n.ends_with(".fio") || n.contains('/') {
            let text = std::fs::read_to_string(n).map_err(|e| BenchError::Usage(format!("--workloads: cannot read the job file {n}: {e}\n  hint: give a readable fio job file, or a built-in workload ({})", built_in_names())))?;
            let stem = Path::new(n).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            if stem.is_empty() || !stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(BenchError::Usage(format!("--workloads: the job file {n} needs a name of letters, digits, - and _ (it names the result files)\n  hint: rename it, e.g. my-job.fio")));
            }
            workload(&stem, n, &text)
        } else {
            return Err(BenchError::Usage(format!("--workloads: no workload {n:?}\n  hint: one of {}, or a path to your own .fio file", built_in_names())));
        };
        if out.iter().any(|o| o.name == w.name) {
            return Err(BenchError::Usage(format!("--workloads: two workloads are named {:?}\n  hint: give each job file its own name", w.name)));
        }
        out.push(w);
    }
    Ok(out)
}

fn workload(name: &str, file: &str, text: &str) -> Workload {
    Workload { name: name.into(), file: file.into(), text: text.into(), sha256: crate::text::sha256_hex(text.as_bytes()) }
}

/// The built-in names, comma-separated.
pub fn built_in_names() -> String {
    BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// The environment fio reads a job file's parameters from, for `size` on `dir`; `RANDSEED` is
/// `seed` (see [`crate::orchestration::bench::cell::CellId::seed`]).
pub fn fio_env(size: &Size, dir: &str, runtime: u32, ioengine: &str, seed: u64) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("BENCH_DIR".to_string(), dir.to_string()),
        ("RANDSEED".to_string(), seed.to_string()),
        ("FILE_SIZE".to_string(), size.file_size.clone()),
        ("NR_FILES".to_string(), size.nr_files.to_string()),
        ("SEQ_BLOCK".to_string(), size.seq_block.clone()),
        ("RUNTIME".to_string(), runtime.to_string()),
        ("IOENGINE".to_string(), ioengine.to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_file_of_the_repository_is_built_in() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../workloads");
        let mut files: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".fio")).map(|n| n.trim_end_matches(".fio").to_string()).collect();
        files.sort();
        let mut built: Vec<String> = BUILT_IN.iter().map(|(n, _)| n.to_string()).collect();
        built.sort();
        assert_eq!(files, built, "workloads/*.fio and BUILT_IN differ: add the new file to BUILT_IN");
    }

    #[test]
    fn built_ins_sizes_and_user_files() {
        assert_eq!(sizes().iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["small", "medium", "large"]);
        assert_eq!(pick_sizes(&["small".into()]).unwrap()[0], Size { name: "small".into(), file_size: "64k".into(), nr_files: 256, seq_block: "64k".into() });
        assert!(pick_sizes(&["huge".into()]).unwrap_err().to_string().contains("small, medium, large"));
        let w = pick_workloads(&["seq-read".into(), "metadata".into()]).unwrap();
        assert!(w[0].lays_out_files() && !w[1].lays_out_files());
        assert_eq!(w[0].file, "workloads/seq-read.fio");
        assert_eq!(w[0].sha256.len(), 64);
        assert!(pick_workloads(&["nope".into()]).unwrap_err().to_string().contains("seq-write"));
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("my-job.fio");
        std::fs::write(&own, "[x]\nrw=read\n").unwrap();
        let w = pick_workloads(&[own.display().to_string()]).unwrap();
        assert_eq!((w[0].name.as_str(), w[0].text.as_str()), ("my-job", "[x]\nrw=read\n"));
        assert!(pick_workloads(&["/nonexistent/x.fio".into()]).unwrap_err().to_string().contains("cannot read"));
        assert!(pick_workloads(&["seq-read".into(), "seq-read".into()]).is_err());
    }
}
