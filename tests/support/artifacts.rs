//! What the tests run besides the library, each built by cargo on first use, once per test
//! process:
//! - [`benchhost_bin`]: the `benchhost` binary of this checkout, in the profile this test binary
//!   was built with. Cargo builds a package's binary only for that package's own integration
//!   tests (`CARGO_BIN_EXE_<name>`), and this crate is not the benchhost package; a binary left
//!   in `target/` may be older than the library linked here, so it is always built (a no-op
//!   when it is fresh). The build names this test target too, so that cargo resolves features
//!   as for `cargo test --workspace` (with the dev-dependencies) and links the library already
//!   built for the tests instead of compiling a second one with other features.
//! - [`fixtures_dir`]: the hostile plugin corpus (`tests/fixtures/`, a guest workspace of its
//!   own) built for wasm32-wasip2 in release into `<target>/wasm-fixtures`, under a file lock
//!   (`<target>/wasm-fixtures.lock`) so that test processes running at once build it one at a
//!   time. A build of benchhost itself never builds it.
//!
//! The first call may take long (the fixtures from scratch: about a minute): make it before a
//! test starts a clock, never inside a timed step.

use super::repo_root;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `benchhost` executable, built for this test run (see the module's doc). Panics with
/// cargo's output when the build fails.
pub fn benchhost_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let profile = test_profile();
        let mut cmd = cargo(repo_root());
        cmd.args(["build", "--package", "benchhost", "--bin", "benchhost", "--package", "benchhost-tests", "--test", "benchhost-tests"])
            .args(["--message-format=json-render-diagnostics", "--profile", &profile]);
        let stdout = run(cmd, "the benchhost binary");
        stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "benchhost")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo built benchhost but named no executable")
    })
}

/// The directory holding `benchhost_fixture_<name>.wasm` for every crate of `tests/fixtures/`,
/// built for this test run (see the module's doc). Panics when the wasm32-wasip2 target is
/// missing or the build fails.
pub fn fixtures_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_fixtures("tests/fixtures", "wasm-fixtures", "the hostile fixtures (tests/fixtures/)"))
}

/// The same for `tests/fixtures-current/`: fixtures built for the SDK's own contract version
/// (`tests/fixtures/` builds the SDK for contract 0.1.0), into `<target>/wasm-fixtures-current`.
pub fn current_fixtures_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_fixtures("tests/fixtures-current", "wasm-fixtures-current", "the current-contract fixtures (tests/fixtures-current/)"))
}

/// Builds the guest workspace `workspace` (relative to the repository) for wasm32-wasip2 in
/// release into `<target>/<dir>`, under `<target>/<dir>.lock`; returns where the `.wasm` are.
fn build_fixtures(workspace: &str, dir: &str, what: &str) -> PathBuf {
    check_wasm_target();
    let target = target_dir().join(dir);
    let lock_path = target.with_extension("lock");
    std::fs::create_dir_all(&target).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap_or_else(|e| panic!("{}: {e}", lock_path.display()));
    lock.lock().unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
    let mut cmd = cargo(&repo_root().join(workspace));
    cmd.args(["build", "--release", "--target", "wasm32-wasip2", "--workspace"]).env("CARGO_TARGET_DIR", &target);
    for var in HOST_BUILD_ONLY {
        cmd.env_remove(var);
    }
    run(cmd, &format!("{what} for wasm32-wasip2"));
    target.join("wasm32-wasip2/release")
}

/// Settings meant for the host build that a guest build must not inherit (host/build.rs drops
/// the same ones for the built-in plugins).
const HOST_BUILD_ONLY: &[&str] = &["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "CARGO_BUILD_TARGET"];

/// The cargo running these tests (`CARGO`), in `dir`, without an outer `make`'s jobserver (its
/// file descriptors are not this process's).
fn cargo(dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(dir).env_remove("CARGO_MAKEFLAGS").env_remove("MAKEFLAGS").env_remove("MFLAGS");
    cmd
}

/// Runs `cmd` (a cargo command) and returns its stdout; panics with its stderr when it fails.
fn run(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("running cargo to build {what}: {e}"));
    if !out.status.success() {
        panic!("building {what} failed ({cmd:?}):\n{}", String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The workspace's target directory, as cargo resolves it (`CARGO_TARGET_DIR`, config, or
/// `<root>/target`).
fn target_dir() -> PathBuf {
    let mut cmd = cargo(repo_root());
    cmd.args(["metadata", "--format-version", "1", "--no-deps"]);
    let metadata: Value = serde_json::from_str(&run(cmd, "the workspace metadata")).expect("cargo metadata prints JSON");
    PathBuf::from(metadata["target_directory"].as_str().expect("cargo metadata names the target directory"))
}

/// The cargo profile this test binary was built with, read from where cargo put it
/// (`<target>/<profile's directory>/deps/`; the dev profile's directory is `debug`).
fn test_profile() -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    match exe.parent().and_then(Path::parent).and_then(Path::file_name).and_then(|n| n.to_str()) {
        None | Some("debug") => "dev".to_string(),
        Some(dir) => dir.to_string(),
    }
}

fn check_wasm_target() {
    let ok = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", "wasm32-wasip2"])
        .output()
        .map(|o| o.status.success() && Path::new(String::from_utf8_lossy(&o.stdout).trim()).exists())
        .unwrap_or(false);
    if !ok {
        panic!(
            "the wasm32-wasip2 Rust target is missing, so the hostile fixtures (tests/fixtures/) cannot be built; \
             install it with `rustup target add wasm32-wasip2` (`make test` does)"
        );
    }
}
