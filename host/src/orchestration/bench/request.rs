//! From `benchhost bench`'s flags to the [`Matrix`] it runs: defaults, checks, and `--resume`.

use super::cell::Pass;
use super::matrix::{ClientKind, Matrix, SizeRef, WorkloadRef, LOCAL, SCHEMA};
use super::workloads::{pick_sizes, pick_workloads, sizes, Workload, BUILT_IN};
use crate::orchestration::error::BenchError;
use crate::orchestration::plugins::registry::Registry;
use crate::runtime::contract::Role;
use std::path::PathBuf;

/// Repeats of each cell unless `--repeats` says otherwise.
pub const DEFAULT_REPEATS: u32 = 3;
/// Seconds per cell unless `--runtime` says otherwise.
pub const DEFAULT_RUNTIME: u32 = 30;
pub use super::matrix::{valid_name, MAX_REPEATS, MAX_RUNTIME};

/// What `benchhost bench` is asked to do. Empty lists and `None` mean the defaults: every
/// built-in workload, every size, `cold,warm`, [`DEFAULT_REPEATS`], [`DEFAULT_RUNTIME`], the host
/// client.
#[derive(Clone, Debug, Default)]
pub struct BenchRequest {
    /// Profiles (and `local`), in the order they run.
    pub profiles: Vec<String>,
    pub workloads: Vec<String>,
    pub sizes: Vec<String>,
    pub passes: Vec<String>,
    pub repeats: Option<u32>,
    pub runtime: Option<u32>,
    pub client: Option<ClientKind>,
    pub baseline: Option<String>,
    /// Root the run directory is made in (default `BENCH_RESULTS_DIR`, else `./results`).
    pub results_dir: Option<PathBuf>,
    /// Run the cells of this earlier run that have no complete result.
    pub resume: Option<PathBuf>,
    /// List every cell and action, and do none.
    pub dry_run: bool,
}

impl BenchRequest {
    /// Whether any flag that shapes the matrix was given (they are recorded by a run, so
    /// `--resume` refuses them).
    fn shapes_the_matrix(&self) -> bool {
        !self.profiles.is_empty() || !self.workloads.is_empty() || !self.sizes.is_empty() || !self.passes.is_empty() || self.repeats.is_some() || self.runtime.is_some() || self.client.is_some() || self.baseline.is_some()
    }
}

/// The matrix `req` asks for, and the job files' texts. Errors (usage, exit 2): no profile, an
/// unknown or infrastructure profile, a profile named twice, an unknown workload/size/pass, a
/// baseline not in the matrix, repeats or runtime out of range; `--resume` with flags that
/// shape the matrix, or a directory that is not a benchmark run.
pub fn matrix_for(registry: &Registry, req: &BenchRequest, ioengine: &str) -> Result<(Matrix, Vec<Workload>), BenchError> {
    if let Some(dir) = &req.resume {
        if req.shapes_the_matrix() || req.results_dir.is_some() {
            return Err(BenchError::Usage(format!(
                "--resume runs the matrix {} recorded; it takes no profiles or matrix flags\n  hint: `benchhost bench --resume {}` alone",
                dir.join("bench.json").display(),
                dir.display()
            )));
        }
        let (matrix, workloads) = Matrix::load(dir)?;
        matrix.validate().map_err(|e| BenchError::Usage(format!("--resume: {} is not a matrix this benchhost runs: {e}\n  hint: start a new run", dir.join("bench.json").display())))?;
        return Ok((matrix, workloads));
    }
    if !crate::orchestration::host::fio::is_engine_name(ioengine) {
        return Err(BenchError::Usage(format!("FIO_ENGINE={ioengine:?} is not an I/O engine name\n  hint: one `fio --enghelp` lists: libaio on Linux, posixaio on macOS")));
    }
    if req.profiles.is_empty() {
        return Err(BenchError::Usage(format!("bench needs at least one profile\n  hint: e.g. `benchhost bench ganesha {LOCAL} --sizes small`; `benchhost list` shows the profiles")));
    }
    let mut profiles: Vec<String> = Vec::new();
    for p in &req.profiles {
        if profiles.contains(p) {
            return Err(BenchError::Usage(format!("{p} is named twice\n  hint: name each profile once; --repeats runs cells again")));
        }
        if p != LOCAL {
            let found = registry.find(p)?;
            if found.profile.role == Role::Infrastructure {
                return Err(BenchError::Usage(format!("{p} is infrastructure (it serves other systems): there is nothing to mount and measure\n  hint: benchmark a system that uses it")));
            }
        }
        profiles.push(p.clone());
    }
    let workload_names: Vec<String> = if req.workloads.is_empty() { BUILT_IN.iter().map(|(n, _)| n.to_string()).collect() } else { req.workloads.clone() };
    let workloads = pick_workloads(&workload_names)?;
    let size_list = if req.sizes.is_empty() { sizes() } else { pick_sizes(&req.sizes)? };
    let mut passes = Vec::new();
    for p in if req.passes.is_empty() { vec!["cold".to_string(), "warm".to_string()] } else { req.passes.clone() } {
        let pass = Pass::parse(&p).ok_or_else(|| BenchError::Usage(format!("--passes: no pass {p:?}\n  hint: cold, warm or cold,warm")))?;
        if !passes.contains(&pass) {
            passes.push(pass);
        }
    }
    let repeats = req.repeats.unwrap_or(DEFAULT_REPEATS);
    if !(1..=MAX_REPEATS).contains(&repeats) {
        return Err(BenchError::Usage(format!("--repeats {repeats} is out of range\n  hint: 1 to {MAX_REPEATS}")));
    }
    let runtime = req.runtime.unwrap_or(DEFAULT_RUNTIME);
    if !(1..=MAX_RUNTIME).contains(&runtime) {
        return Err(BenchError::Usage(format!("--runtime {runtime} is out of range\n  hint: 1 to {MAX_RUNTIME} seconds")));
    }
    if let Some(b) = &req.baseline
        && !profiles.contains(b) {
            return Err(BenchError::Usage(format!("--baseline {b} is not one of the profiles benchmarked ({})\n  hint: add it to the profiles, or compare against one of them", profiles.join(", "))));
        }
    let matrix = Matrix {
        schema: SCHEMA.into(),
        profiles,
        workloads: workloads.iter().map(WorkloadRef::from).collect(),
        sizes: size_list.iter().map(SizeRef::from).collect(),
        passes,
        repeats,
        runtime,
        client: req.client.unwrap_or(ClientKind::Host),
        baseline: req.baseline.clone(),
        ioengine: ioengine.to_string(),
        created_at: chrono::Local::now().to_rfc3339(),
    };
    Ok((matrix, workloads))
}
