//! Orchestration: plugins + settings + Docker engine = a running, provisioned stack.
//! Depends on [`crate::runtime`] and [`crate::engine`]; the CLI depends on it.
//!
//! Grouped by stage, with dependencies pointing down this list:
//! - [`plugins`]: the registry of loaded plugins, installing third-party ones, grants.
//! - [`plan`]: settings, and from a profile name to the validated plan of services.
//! - [`validate`]: every check of what a plugin returns, before anything exists.
//! - [`up`]: images, creations, container specs, readiness, the gateway plugins reach services by.
//! - [`teardown`]: `down`, `clean`, removing resources, what is up.
//! - [`host`]: this machine: kernel features, mounts, ports, page cache, `doctor`'s checks.
//! - [`client_vm`]: the client VM (a Debian kernel's NFS/SMB client under QEMU) and its jobs.
//! - [`commands`]: one function per command, each the whole job, returning a typed report.
//! - [`bench`]: the benchmark matrix (`bench` and `report`, which the CLI calls here): cells,
//!   workloads, clients, results and the report; it drives `up`, mount and `down` of [`commands`].
//! - [`health`]: a service's healthcheck test, carried in labels and run by benchhost on
//!   demand (`up`, `status`): benchhost's containers have no Docker healthcheck.
//! - [`labels`], [`results`], [`run_record`], [`progress`], [`interrupt`], [`run_lock`],
//!   [`log_lines`], [`dry_run`]: what several stages share.

pub mod bench;
pub mod client_vm;
pub mod commands;
pub mod dry_run;
pub mod error;
pub mod health;
pub mod host;
pub mod interrupt;
pub mod labels;
pub mod log_lines;
pub mod plan;
pub mod plugins;
pub mod progress;
pub mod results;
pub mod run_record;
pub mod run_lock;
pub mod teardown;
pub mod up;
pub mod validate;

pub use error::BenchError;

pub use crate::text::redact;
