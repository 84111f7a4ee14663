//! What a benchmark run measures: the matrix asked for, recorded in `RUN/bench.json` (with a
//! copy of every job file in `RUN/workloads/`) so `--resume` runs the same matrix, and its cells
//! in the order they run: per system, per workload, per size, per pass, per repeat.

use super::cell::{CellId, Pass};
use super::workloads::{Size, Workload};
use crate::orchestration::error::BenchError;
use serde::{Deserialize, Serialize};
use crate::orchestration::results::{write_error, write_whole};
use std::path::Path;

/// The `schema` of `bench.json`.
pub const SCHEMA: &str = "benchhost.bench/1";
/// Most repeats and seconds accepted (a typo such as `--runtime 3000000` is refused).
pub const MAX_REPEATS: u32 = 100;
pub const MAX_RUNTIME: u32 = 86_400;

/// Whether `s` is a name benchhost puts in file names and shell lines unquoted: letters,
/// digits, `-` and `_`, 1 to 64 of them.
pub fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The reference target that has no server: the client's own disk (or tmpfs).
pub const LOCAL: &str = "local";

/// Where fio runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// This machine's kernel and fio: its kernel mounts the system (`benchhost mount`).
    Host,
    /// The client VM's kernel and fio (`benchhost vm run`'s VM, booted once per system).
    Vm,
}

impl ClientKind {
    /// `host` or `vm`.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Host => "host",
            ClientKind::Vm => "vm",
        }
    }
}

/// A workload as the matrix records it (the text is in `RUN/workloads/<name>.fio`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadRef {
    pub name: String,
    /// `workloads/NAME.fio` or the user's path.
    pub file: String,
    pub sha256: String,
}

/// A size as the matrix records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeRef {
    pub name: String,
    pub file_size: String,
    pub nr_files: u32,
    pub seq_block: String,
}

/// The matrix: `RUN/bench.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    pub schema: String,
    /// Systems in the order they run (`local` included where asked).
    pub profiles: Vec<String>,
    pub workloads: Vec<WorkloadRef>,
    pub sizes: Vec<SizeRef>,
    pub passes: Vec<Pass>,
    /// Repeats of every cell (≥ 1).
    pub repeats: u32,
    /// Seconds: the length of time-based workloads, the cap of the others (`RUNTIME`).
    pub runtime: u32,
    pub client: ClientKind,
    /// The profile the report compares against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// fio's I/O engine (`FIO_ENGINE`).
    pub ioengine: String,
    /// RFC 3339: when the run was first started.
    pub created_at: String,
}

impl Matrix {
    /// Every cell, in run order.
    pub fn cells(&self) -> Vec<CellId> {
        let mut out = Vec::new();
        for profile in &self.profiles {
            out.extend(self.cells_of(profile));
        }
        out
    }

    /// The cells of one system, in run order.
    pub fn cells_of(&self, profile: &str) -> Vec<CellId> {
        let mut out = Vec::new();
        for w in &self.workloads {
            for s in &self.sizes {
                for pass in &self.passes {
                    for repeat in 1..=self.repeats {
                        out.push(CellId { profile: profile.to_string(), workload: w.name.clone(), size: s.name.clone(), pass: *pass, repeat });
                    }
                }
            }
        }
        out
    }

    /// Writes `bench.json` and the job files into `run` (each written whole: `.tmp` renamed).
    pub fn save(&self, run: &Path, workloads: &[Workload]) -> Result<(), BenchError> {
        let dir = run.join("workloads");
        std::fs::create_dir_all(&dir).map_err(|e| write_error(&dir, e))?;
        for w in workloads {
            let file = dir.join(format!("{}.fio", w.name));
            write_whole(&file, w.text.as_bytes()).map_err(|e| write_error(&file, e))?;
        }
        let json = serde_json::to_vec_pretty(self).map_err(|e| BenchError::Other(format!("encoding bench.json: {e}")))?;
        let file = run.join("bench.json");
        write_whole(&file, &json).map_err(|e| write_error(&file, e))
    }

    /// Reads `RUN/bench.json` and its job files back (for `--resume`). Errors (usage): not a
    /// benchmark run directory, a damaged file, a job file that changed since (its SHA-256).
    pub fn load(run: &Path) -> Result<(Matrix, Vec<Workload>), BenchError> {
        let file = run.join("bench.json");
        let hint = "  hint: give a directory `benchhost bench` created (RUN_DIR, with bench.json)";
        let text = std::fs::read_to_string(&file).map_err(|e| BenchError::Usage(format!("--resume: cannot read {}: {e}\n{hint}", file.display())))?;
        let m: Matrix = serde_json::from_str(&text).map_err(|e| BenchError::Usage(format!("--resume: {} is damaged: {e}\n{hint}", file.display())))?;
        if m.schema != SCHEMA {
            return Err(BenchError::Usage(format!("--resume: {} is of schema {:?}; this benchhost reads {SCHEMA}\n  hint: resume it with the benchhost that started it", file.display(), m.schema)));
        }
        let mut workloads = Vec::new();
        for w in &m.workloads {
            let path = run.join("workloads").join(format!("{}.fio", w.name));
            let text = std::fs::read_to_string(&path).map_err(|e| BenchError::Usage(format!("--resume: cannot read {}: {e}\n{hint}", path.display())))?;
            let got = crate::text::sha256_hex(text.as_bytes());
            if got != w.sha256 {
                return Err(BenchError::Usage(format!(
                    "--resume: {} changed since the run started (SHA-256 {got}, recorded {})\n  hint: restore it, or start a new run",
                    path.display(),
                    w.sha256
                )));
            }
            workloads.push(Workload { name: w.name.clone(), file: w.file.clone(), text, sha256: w.sha256.clone() });
        }
        Ok((m, workloads))
    }

    /// Checks what a hand-edited `bench.json` could get wrong: names that go into file names
    /// and shell lines ([`super::request::valid_name`]), repeats and runtime in range, nothing
    /// named twice. Errors: what is wrong, naming the value.
    pub fn validate(&self) -> Result<(), String> {
        let names = self.profiles.iter().map(|p| ("profile", p)).chain(self.workloads.iter().map(|w| ("workload", &w.name))).chain(self.sizes.iter().map(|s| ("size", &s.name)));
        for (what, name) in names {
            if !valid_name(name) {
                return Err(format!("{what} {name:?} is not letters, digits, - and _"));
            }
        }
        for s in &self.sizes {
            if ![&s.file_size, &s.seq_block].iter().all(|v| v.chars().all(|c| c.is_ascii_alphanumeric())) || s.nr_files == 0 {
                return Err(format!("size {:?} has odd parameters ({} × {} in {})", s.name, s.nr_files, s.file_size, s.seq_block));
            }
        }
        if !valid_name(&self.ioengine) {
            return Err(format!("ioengine {:?} is not an I/O engine name", self.ioengine));
        }
        if !(1..=MAX_REPEATS).contains(&self.repeats) || !(1..=MAX_RUNTIME).contains(&self.runtime) {
            return Err(format!("repeats {} or runtime {} out of range (1–{MAX_REPEATS}, 1–{MAX_RUNTIME})", self.repeats, self.runtime));
        }
        let twice = |v: Vec<&String>| v.iter().enumerate().find(|(i, a)| v[..*i].contains(a)).map(|(_, a)| a.to_string());
        if let Some(d) = twice(self.profiles.iter().collect()).or(twice(self.workloads.iter().map(|w| &w.name).collect())).or(twice(self.sizes.iter().map(|s| &s.name).collect())) {
            return Err(format!("{d:?} is named twice"));
        }
        if self.passes.is_empty() || (self.passes.len() == 2 && self.passes[0] == self.passes[1]) || self.passes.len() > 2 {
            return Err(format!("passes {:?} are not cold, warm or both once", self.passes));
        }
        Ok(())
    }

    /// The size named `name`.
    pub fn size(&self, name: &str) -> Option<Size> {
        self.sizes.iter().find(|s| s.name == name).map(|s| Size { name: s.name.clone(), file_size: s.file_size.clone(), nr_files: s.nr_files, seq_block: s.seq_block.clone() })
    }
}

impl From<&Workload> for WorkloadRef {
    fn from(w: &Workload) -> Self {
        WorkloadRef { name: w.name.clone(), file: w.file.clone(), sha256: w.sha256.clone() }
    }
}

impl From<&Size> for SizeRef {
    fn from(s: &Size) -> Self {
        SizeRef { name: s.name.clone(), file_size: s.file_size.clone(), nr_files: s.nr_files, seq_block: s.seq_block.clone() }
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::orchestration::bench::workloads::{pick_sizes, pick_workloads};

    #[test]
    fn cells_run_per_system_then_workload_size_pass_repeat_and_the_matrix_round_trips() {
        let workloads = pick_workloads(&["seq-read".into(), "metadata".into()]).unwrap();
        let sizes = pick_sizes(&["small".into()]).unwrap();
        let m = Matrix {
            schema: SCHEMA.into(),
            profiles: vec!["ganesha".into(), LOCAL.into()],
            workloads: workloads.iter().map(WorkloadRef::from).collect(),
            sizes: sizes.iter().map(SizeRef::from).collect(),
            passes: vec![Pass::Cold, Pass::Warm],
            repeats: 2,
            runtime: 5,
            client: ClientKind::Vm,
            baseline: Some("ganesha".into()),
            ioengine: "libaio".into(),
            created_at: "2026-12-02T00:00:00+00:00".into(),
        };
        let cells = m.cells();
        assert_eq!(cells.len(), 2 * 2 * 2 * 2);
        assert_eq!(cells[0].label(), "ganesha seq-read/small/cold #1");
        assert_eq!(cells[1].label(), "ganesha seq-read/small/cold #2");
        assert_eq!(cells[2].label(), "ganesha seq-read/small/warm #1");
        assert_eq!(cells[8].profile, LOCAL);
        let run = tempfile::tempdir().unwrap();
        m.save(run.path(), &workloads).unwrap();
        let (back, texts) = Matrix::load(run.path()).unwrap();
        assert_eq!(back, m);
        assert_eq!(texts, workloads);
        std::fs::write(run.path().join("workloads/seq-read.fio"), "changed").unwrap();
        assert!(Matrix::load(run.path()).unwrap_err().to_string().contains("changed since the run started"));
        assert!(Matrix::load(Path::new("/nonexistent")).unwrap_err().to_string().contains("hint"));
        // What a hand-edited bench.json could get wrong is refused by name.
        assert_eq!(m.validate(), Ok(()));
        let bad = |f: &dyn Fn(&mut Matrix)| {
            let mut b = m.clone();
            f(&mut b);
            b.validate().unwrap_err()
        };
        assert!(bad(&|b| b.workloads[0].name = "x; rm -rf /".into()).contains("workload \"x; rm -rf /\" is not letters"));
        assert!(bad(&|b| b.sizes[0].name = "../up".into()).contains("size \"../up\""));
        assert!(bad(&|b| b.repeats = 4_000_000_000).contains("out of range"));
        assert!(bad(&|b| b.runtime = 0).contains("out of range"));
        assert!(bad(&|b| b.profiles.push("ganesha".into())).contains("\"ganesha\" is named twice"));
        assert!(bad(&|b| b.passes = vec![Pass::Cold, Pass::Cold]).contains("passes"));
        assert!(bad(&|b| b.ioengine = "libaio --exec".into()).contains("ioengine"));
    }
}
