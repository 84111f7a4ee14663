//! Builds the built-in plugins (`plugins/*`, a separate guest workspace) for wasm32-wasip2 and
//! embeds them: `OUT_DIR/builtin_plugins.rs` holds one `(name, bytes)` per plugin. (The tests'
//! hostile fixtures, `tests/fixtures/`, are built by the tests themselves when they need them.)
//!
//! It embeds the guest SDK too (`OUT_DIR/guest_sdk.rs`, see [`embed_guest_sdk`]), which
//! `benchhost plugin new` writes next to a new plugin crate.
//!
//! The nested cargo gets its own target directory (`<target>/wasm-plugins`): sharing the outer
//! build's directory would deadlock on its lock (cargo #6412). Flags meant for the host build
//! (`CARGO_ENCODED_RUSTFLAGS`, `RUSTC_WRAPPER`) are not passed on.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let plugins_dir = root.join("plugins");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let outer_target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"));
    let target_dir = outer_target_dir.join("wasm-plugins");

    println!("cargo:rerun-if-changed={}", plugins_dir.display());
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    println!("cargo:rerun-if-env-changed=BENCHHOST_SKIP_PLUGIN_BUILD");

    let plugins = plugin_crates(&plugins_dir);
    let mut entries = String::new();
    if std::env::var_os("BENCHHOST_SKIP_PLUGIN_BUILD").is_none() {
        check_wasm_target();
        build_guest_workspace(&plugins_dir, &target_dir, "the built-in plugins (plugins/)");
        for (name, krate) in &plugins {
            let wasm = target_dir
                .join("wasm32-wasip2/release")
                .join(format!("{}.wasm", krate.replace('-', "_")));
            assert!(wasm.exists(), "expected {} after the plugin build", wasm.display());
            entries.push_str(&format!("    ({name:?}, include_bytes!({:?})),\n", wasm.display().to_string()));
        }
    }
    std::fs::write(
        out_dir.join("builtin_plugins.rs"),
        format!("/// Built-in plugins: (name, component bytes).\npub const BUILTIN_PLUGINS: &[(&str, &[u8])] = &[\n{entries}];\n"),
    )
    .unwrap();
    embed_guest_sdk(&root, &out_dir);
}

/// Writes `OUT_DIR/guest_sdk.rs`: `GUEST_SDK`, every file of a self-contained copy of the guest
/// SDK crate as `(path inside the crate, contents)`: every file of `plugins/sdk`, with
/// `Cargo.toml`'s `*.workspace = true` keys resolved from `plugins/Cargo.toml`, and `wit/**`
/// under `wit/`. The copy's `build.rs` reads the `wit/` inside it.
fn embed_guest_sdk(root: &Path, out_dir: &Path) {
    let sdk = root.join("plugins").join("sdk");
    let mut files = Vec::new();
    collect_files(&sdk, "", &mut files);
    files.retain(|(rel, _)| rel != "Cargo.toml");
    collect_files(&root.join("wit"), "wit", &mut files);
    let workspace = read(&root.join("plugins").join("Cargo.toml"));
    files.push(("Cargo.toml".into(), resolve_workspace_keys(&read(&sdk.join("Cargo.toml")), &workspace)));
    files.sort();
    let mut entries = String::new();
    for (rel, text) in &files {
        entries.push_str(&format!("    ({rel:?}, {text:?}),\n"));
    }
    std::fs::write(
        out_dir.join("guest_sdk.rs"),
        format!("/// The guest SDK crate: (path inside the crate, contents).\npub const GUEST_SDK: &[(&str, &str)] = &[\n{entries}];\n"),
    )
    .unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every file under `dir`, as (`prefix/relative path`, contents), recursively.
fn collect_files(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())).flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        if e.path().is_dir() {
            collect_files(&e.path(), &rel, out);
        } else {
            out.push((rel, read(&e.path())));
        }
    }
}

/// `manifest` with each `key.workspace = true` line replaced by `key = <value>` from the
/// `[workspace.package]` or `[workspace.dependencies]` table of `workspace`.
fn resolve_workspace_keys(manifest: &str, workspace: &str) -> String {
    let mut values = std::collections::HashMap::new();
    let mut table = "";
    for line in workspace.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            table = line;
        } else if line.starts_with('#') {
            continue;
        } else if let (true, Some((k, v))) = (table == "[workspace.package]" || table == "[workspace.dependencies]", line.split_once(" = ")) {
            values.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    let mut out = String::new();
    for line in manifest.lines() {
        match line.trim().strip_suffix(".workspace = true") {
            Some(key) => {
                let value = values.get(key).unwrap_or_else(|| panic!("plugins/Cargo.toml has no workspace value for {key}"));
                out.push_str(&format!("{key} = {value}\n"));
            }
            None => out.push_str(&format!("{line}\n")),
        }
    }
    out
}

/// Builds the guest workspace in `dir` for wasm32-wasip2 (release) into `target_dir`, without
/// the flags meant for the host build. `what` names it in the panic message.
fn build_guest_workspace(dir: &Path, target_dir: &Path, what: &str) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(dir)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--workspace"])
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .status()
        .unwrap_or_else(|e| panic!("running cargo for {what}: {e}"));
    if !status.success() {
        panic!("building {what} for wasm32-wasip2 failed; see the cargo output above");
    }
}

/// `(plugin name, crate name)` of every `plugins/<name>/` crate that builds a cdylib.
fn plugin_crates(plugins_dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(plugins_dir).unwrap().flatten().map(|e| e.path()).collect();
    dirs.sort();
    for dir in dirs {
        let manifest = dir.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        if !text.contains("cdylib") {
            continue;
        }
        let krate = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("name = ").map(|v| v.trim_matches('"').to_string()))
            .expect("plugin crate without a name");
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        out.push((name, krate));
    }
    out
}

fn check_wasm_target() {
    let ok = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", "wasm32-wasip2"])
        .output()
        .map(|o| o.status.success() && Path::new(String::from_utf8_lossy(&o.stdout).trim()).exists())
        .unwrap_or(false);
    if !ok {
        panic!("the wasm32-wasip2 Rust target is missing; install it with `rustup target add wasm32-wasip2` (or run `make build`, which does)");
    }
}
