//! The benchmark matrix (`benchhost bench`): systems × workloads × sizes × passes × repeats,
//! each cell a fio run on a client against one system brought up alone, its result a JSON file
//! under `RUN/raw/`, and the report built from those files.
//!
//! - [`request`]: the flags made into a [`matrix::Matrix`] (defaults, checks, `--resume`).
//! - [`matrix`]: the matrix as `RUN/bench.json` records it, and its cells in run order.
//! - [`workloads`]: the built-in fio job files, `sizes.conf`, a user's own job file.
//! - [`cell`]: a cell's id and its result file's shape.
//! - [`run`]: the loop over systems, interrupts, resume, the report at the end.
//! - [`system_run`]: one system's part: up, client, mount, its cells, fresh deployments, down.
//! - [`system`]: one system brought up for its cells and taken down after them.
//! - [`bar`]: the progress bar over the matrix.
//! - [`attach`]: the system mounted on the client (or `local`'s directory).
//! - [`redeploy`]: a system deployed afresh for a cold cell it cannot empty in place.
//! - [`cell_run`]: one cell's phases: layout, cold, fio with stats, result.
//! - [`client`]: where fio runs: this machine or the client VM.
//! - [`sampler`]: the engine's stats of the system's containers during a cell.
//! - [`metrics`]: a cell's numbers (MB/s, IOPS, ops/s, latency percentiles) from fio's JSON.
//! - [`report`]: `summary.csv`, `report.md` and `charts/*.svg` rebuilt from `raw/`
//!   (`benchhost report`).
//! - [`dry_run`]: `--dry-run`'s list of actions.

pub mod attach;
pub mod bar;
pub mod cell;
pub mod cell_run;
pub mod client;
pub mod dry_run;
pub mod matrix;
pub mod metrics;
pub mod redeploy;
pub mod report;
pub mod request;
pub mod run;
pub mod sampler;
pub mod system;
pub mod system_run;
pub mod workloads;

pub use request::BenchRequest;
pub use run::{bench, BenchOutcome, BenchReport};
