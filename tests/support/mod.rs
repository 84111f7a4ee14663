//! Helpers the test modules share.

use std::path::Path;

pub mod artifacts;
pub mod client_vm;
pub mod corpus;
pub mod dittofs_fake;
pub mod docker;
pub mod fuse;
pub mod remote_engine;

/// The repository's root (the directory above `tests/`).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the repository")
}
