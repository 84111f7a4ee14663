//! Derives the contract version this SDK stamps into every plugin from the WIT it binds, so the
//! version is written once: the package line of `wit/since_v<version>/plugin.wit`, whose
//! `<version>` is this crate's own version. Sets `BENCHHOST_API_VERSION` for `src/lib.rs`.

use std::path::PathBuf;

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap();
    let wit = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join(format!("../../wit/since_v{version}/plugin.wit"));
    println!("cargo:rerun-if-changed={}", wit.display());
    let text = std::fs::read_to_string(&wit).unwrap_or_else(|e| panic!("reading {}: {e} (the SDK's version names the contract it binds)", wit.display()));
    let package = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("package benchhost:plugin@").map(|v| v.trim_end_matches(';').to_string()))
        .unwrap_or_else(|| panic!("{} has no `package benchhost:plugin@<version>;` line", wit.display()));
    assert_eq!(package, version, "{} is package {package}, but the SDK is version {version}", wit.display());
    println!("cargo:rustc-env=BENCHHOST_API_VERSION={package}");
}
