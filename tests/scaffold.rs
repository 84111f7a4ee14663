//! A new competitor in ten minutes: `plugin new` writes a crate outside the repository, cargo
//! builds it for wasm32-wasip2, `plugin check` validates it, `plugin install` installs it, and
//! `up`/`down` run its real container (NFS-Ganesha from the local test image).

use crate::support::docker::{benchhost, engine_or_skip, force_clean, leftovers, text};
use crate::support::repo_root;
use std::path::PathBuf;
use std::process::Command;

/// Scaffolds `name` into a fresh directory outside the repository and builds it.
fn scaffold_and_build(name: &str, port: u16) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix("benchhost-scaffold-").tempdir_in(std::env::temp_dir()).unwrap();
    assert!(!dir.path().starts_with(repo_root()), "the scaffold must live outside the repository");
    let crate_dir = dir.path().join(name);
    let out = benchhost(&["plugin", "new", name, "--dir", crate_dir.to_str().unwrap(), "--port", &port.to_string()], &[]);
    assert!(out.status.success(), "plugin new: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("cargo build --release --target wasm32-wasip2"), "{}", text(&out.stdout));
    let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
    assert!(lib.lines().count() < 150, "the plugin source is {} lines", lib.lines().count());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", repo_root().join("target").join("scaffold"))
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(build.status.success(), "cargo build of the scaffold:\n{}", text(&build.stderr));
    let wasm = repo_root().join("target/scaffold/wasm32-wasip2/release").join(format!("benchhost_plugin_{}.wasm", name.replace('-', "_")));
    assert!(wasm.exists(), "{} missing", wasm.display());
    (dir, wasm)
}

#[test]
fn scaffold_builds_checks_installs_and_runs_a_real_container() {
    let (_dir, wasm) = scaffold_and_build("mynfs", 52049);
    let plugins = tempfile::tempdir().unwrap();
    let env = [("BENCHHOST_PLUGIN_DIR", plugins.path().to_str().unwrap()), ("MYNFS_IMAGE", "benchhost-test/ganesha:latest")];
    let granted = [env[0], env[1], ("BENCHHOST_ALLOW", "mynfs:cap-add:DAC_READ_SEARCH,mynfs:cap-add:SYS_ADMIN")];

    let check = benchhost(&["plugin", "check", wasm.to_str().unwrap()], &env);
    assert!(check.status.success(), "check: {}", text(&check.stderr));
    let out = text(&check.stdout);
    assert!(out.contains("plugin mynfs 0.1.0 (API 0.1.0)"), "{out}");
    assert!(out.contains("mynfs (nfs, target)") && out.contains("MYNFS_IMAGE=benchhost/ganesha:4.3-2") && out.contains("cap-add SYS_ADMIN"), "{out}");
    assert!(out.contains("grant (after reviewing it): --allow mynfs:cap-add:DAC_READ_SEARCH --allow mynfs:cap-add:SYS_ADMIN"), "{out}");

    let inst = benchhost(&["plugin", "install", wasm.to_str().unwrap()], &env);
    assert!(inst.status.success(), "install: {}", text(&inst.stderr));
    let installed = plugins.path().join("mynfs.wasm");
    assert_eq!(std::fs::read(&installed).unwrap(), std::fs::read(&wasm).unwrap());
    let sum = std::fs::read_to_string(plugins.path().join("mynfs.wasm.sha256")).unwrap();
    assert!(sum.ends_with("  mynfs.wasm\n") && sum.len() == 64 + 2 + 10 + 1, "{sum:?}");

    let list: Vec<serde_json::Value> = serde_json::from_slice(&benchhost(&["list", "--json"], &env).stdout).unwrap();
    let row = list.iter().find(|r| r["profile"] == "mynfs").expect("mynfs listed");
    assert_eq!(row["source"], installed.display().to_string());
    assert_eq!(row["port"], 52049);
    let help = text(&benchhost(&["--help"], &env).stdout);
    assert!(help.contains("mynfs") && help.contains("[third-party]"), "{help}");
    let pl = text(&benchhost(&["plugin", "list"], &env).stdout);
    assert!(pl.contains("mynfs") && pl.contains(" ok"), "{pl}");

    // A third-party plugin gets no capability it was not granted: nothing starts.
    let denied = benchhost(&["up", "mynfs", "--allow", "mynfs:cap-add:DAC_READ_SEARCH"], &env);
    assert_eq!(denied.status.code(), Some(2), "{}", text(&denied.stderr));
    let err = text(&denied.stderr);
    assert!(err.contains("third-party plugin \"mynfs\" 0.1.0") && err.contains("a capability you have not granted: cap-add:SYS_ADMIN"), "{err}");
    assert!(err.contains("--allow mynfs:cap-add:SYS_ADMIN"), "{err}");

    if let Some(_engine) = engine_or_skip("scaffold up/down", Some("benchhost-test/ganesha:latest")) {
        force_clean("mynfs");
        assert_eq!(leftovers("mynfs"), Vec::<String>::new(), "a denied up must create nothing");
        let up = benchhost(&["up", "mynfs"], &granted);
        assert!(up.status.success(), "up mynfs: {}", text(&up.stderr));
        assert!(text(&up.stdout).contains("port=52049 127.0.0.1:/export"), "{}", text(&up.stdout));
        let ls = Command::new("nfs-ls").arg("nfs://127.0.0.1/export?version=4&nfsport=52049").output().unwrap();
        assert!(ls.status.success(), "nfs-ls through the scaffolded plugin: {}", text(&ls.stderr));
        let down = benchhost(&["down", "mynfs"], &env);
        assert!(down.status.success());
        assert_eq!(leftovers("mynfs"), Vec::<String>::new());
    }

    // A modified file is noticed; remove takes it away.
    std::fs::write(&installed, b"\0asm\x0d\0\x01\0").unwrap();
    let pl = text(&benchhost(&["plugin", "list"], &env).stdout);
    assert!(pl.contains("CHANGED since install"), "{pl}");
    let bad = benchhost(&["list"], &env);
    assert!(bad.status.success(), "a broken third-party plugin must not break the others");
    assert!(text(&bad.stderr).contains("warning: skipped a plugin that failed to load"), "{}", text(&bad.stderr));
    let rm = benchhost(&["plugin", "remove", "mynfs"], &env);
    assert!(rm.status.success(), "{}", text(&rm.stderr));
    assert!(!installed.exists());
    let rm = benchhost(&["plugin", "remove", "mynfs"], &env);
    assert_eq!(rm.status.code(), Some(2));
    assert!(text(&rm.stderr).contains("not installed"));
}

#[test]
fn a_plugin_claiming_a_builtin_profile_or_port_is_refused_naming_both() {
    // Same profile name as the built-in ganesha.
    let (_dir, wasm) = scaffold_and_build("ganesha", 52050);
    let check = benchhost(&["plugin", "check", wasm.to_str().unwrap()], &[]);
    assert_eq!(check.status.code(), Some(2), "{}", text(&check.stderr));
    let err = text(&check.stderr);
    assert!(err.contains("profile \"ganesha\" is claimed by two plugins: ganesha (built-in plugin ganesha)") && err.contains(wasm.to_str().unwrap()), "{err}");
    // A port another plugin publishes.
    let (_dir2, wasm2) = scaffold_and_build("porthog", 22049);
    let err = text(&benchhost(&["plugin", "check", wasm2.to_str().unwrap()], &[]).stderr);
    assert!(err.contains("port 22049 is claimed by two plugins: ganesha") && err.contains("porthog"), "{err}");
}

#[test]
fn api_version_outside_the_range_is_named_before_compiling() {
    let (_dir, wasm) = scaffold_and_build("future", 52051);
    let mut bytes = std::fs::read(&wasm).unwrap();
    let section = b"benchhost:api-version0.1.0";
    let at = bytes.windows(section.len()).position(|w| w == section).expect("the SDK stamps the API version");
    bytes[at + section.len() - 5..at + section.len()].copy_from_slice(b"0.9.0");
    let patched = tempfile::tempdir().unwrap().keep().join("future.wasm");
    std::fs::write(&patched, &bytes).unwrap();
    let out = benchhost(&["plugin", "check", patched.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("built for benchhost plugin API 0.9.0; this benchhost supports 0.1.0–0.1.x"), "{err}");
}

#[test]
fn scaffold_refuses_bad_names_and_non_empty_directories() {
    let dir = tempfile::tempdir().unwrap();
    let out = benchhost(&["plugin", "new", "Bad_Name", "--dir", dir.path().join("x").to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("\"Bad_Name\" is invalid"));
    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let out = benchhost(&["plugin", "new", "okname", "--dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not empty"));
    assert_eq!(std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(), "mine");
}
