//! Chooses the contract this SDK binds and derives the version it stamps from it, so the version
//! is written once, as this crate's version: the bindings come from
//! `wit/since_v<version>/plugin.wit` (the repository's, or the `wit/` inside a copy of this
//! crate), whose package line must name the same version (with the
//! `contract-v0-1` feature, from `wit/since_v0.1.0/`). Writes `OUT_DIR/bindings.rs` (the
//! `wit_bindgen::generate!` call) and sets `BENCHHOST_API_VERSION` for `src/lib.rs`.

use std::path::PathBuf;

fn main() {
    let own = std::env::var("CARGO_PKG_VERSION").unwrap();
    let folder = if std::env::var_os("CARGO_FEATURE_CONTRACT_V0_1").is_some() { "since_v0.1.0".to_string() } else { format!("since_v{own}") };
    // In this repository the WIT is two levels up; the copy `benchhost plugin new` writes into
    // a new crate carries it inside.
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let wit_root = if manifest.join("wit").is_dir() { manifest.join("wit") } else { manifest.join("../../wit") };
    let dir = wit_root.join(&folder);
    let wit = dir.join("plugin.wit");
    println!("cargo:rerun-if-changed={}", wit.display());
    let text = std::fs::read_to_string(&wit).unwrap_or_else(|e| panic!("reading {}: {e} (the SDK's version names the contract it binds)", wit.display()));
    let package = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("package benchhost:plugin@").map(|v| v.trim_end_matches(';').to_string()))
        .unwrap_or_else(|| panic!("{} has no `package benchhost:plugin@<version>;` line", wit.display()));
    assert_eq!(format!("since_v{package}"), folder, "{} is package {package}, not the version of its folder", wit.display());
    let dir = dir.canonicalize().unwrap();
    let bindings = format!(
        "wit_bindgen::generate!({{\n    path: {:?},\n    world: \"benchhost-plugin\",\n    pub_export_macro: true,\n    export_macro_name: \"__export_benchhost_plugin\",\n    default_bindings_module: \"benchhost_plugin_sdk::bindings\",\n}});\n",
        dir.display().to_string()
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("bindings.rs"), bindings).unwrap();
    println!("cargo:rustc-env=BENCHHOST_API_VERSION={package}");
}
