//! The benchmark matrix (`benchhost bench`): systems × workloads × sizes × passes × repeats,
//! each cell a fio run on a client against one system brought up alone, its result a JSON file
//! under `RUN/raw/`, and the report built from those files.
//!
//! - [`cell`]: a cell's id and its result file's shape.
pub mod cell;
