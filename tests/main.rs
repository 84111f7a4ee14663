//! benchhost's integration tests: one test binary (`cargo test -p benchhost-tests`, which
//! `make test` runs with every other test), one module per file of this directory, and the
//! helpers they share in `support/`.
//!
//! Run one file's tests with `cargo test -p benchhost-tests -- hostile_cli::`, one test by its
//! name. The tests run in parallel threads of this one process: Docker tests take the engine
//! lock (`support::docker::engine_or_skip`), which serialises them here and with other test
//! processes on the machine. With `BENCHHOST_REQUIRE_DOCKER=1` (`make test`, CI) a Docker test
//! fails instead of skipping when the engine or its image is missing.

mod support;

// In-process, no Docker: the plugin runtime and planning, against the hostile fixtures
// (`tests/fixtures/`) and a stand-in DittoFS.
mod dittofs_contract;
mod runtime_cache;
mod runtime_corpus;
mod runtime_sandbox;

// The benchhost binary, without an engine (or with one that is unreachable).
mod cli;
mod env_file;
mod generated;
mod hostile_cli;

// The host's fio, then the benchhost binary without an engine: `report` from real fio results.
mod report;

// The repository itself: registry host names, the CI entry point.
mod repo;

// On the real Docker engine with real servers and clients (local test images, `tests/images/`).
mod bench;
mod clashes;
mod e2e_dittofs;
mod e2e_ganesha;
mod e2e_juicefs;
mod e2e_kernel_nfs;
mod e2e_localstack;
mod e2e_rclone;
mod e2e_remote;
mod e2e_samba_postgres;
mod faults;
mod images;
mod operator;
mod scaffold;
mod secrets;
mod signals;
mod user_errors;

// The client VM (`benchhost vm run`, built by `make vm`, and its sessions): the Linux kernel's own NFS client.
mod vm;
mod vm_session;
mod workloads;
