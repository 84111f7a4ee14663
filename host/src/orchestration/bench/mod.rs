//! The benchmark matrix (`benchhost bench`): systems × workloads × sizes × passes × repeats,
//! each cell a fio run on a client against one system brought up alone, its result a JSON file
//! under `RUN/raw/`, and the report built from those files.
//!
//! - [`cell`]: a cell's id and its result file's shape.
//! - [`metrics`]: a cell's numbers (MB/s, IOPS, ops/s, latency percentiles) from fio's JSON.
//! - [`report`]: `summary.csv`, `report.md` and `charts/*.svg` rebuilt from `raw/`
//!   (`benchhost report`).
pub mod cell;
pub mod metrics;
pub mod report;
