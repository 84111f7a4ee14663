//! A new competitor in ten minutes: `plugin new` writes a crate outside the repository (with its
//! own copy of the SDK, so no checkout is needed), cargo builds it for wasm32-wasip2, `plugin
//! check` validates it, `plugin install` installs it, and `up`/`down` run its real container
//! (NFS-Ganesha from the local test image).

use crate::support::docker::{benchhost, engine_or_skip, force_clean, leftovers, text};
use crate::support::repo_root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Scaffolds `name` into a fresh directory outside the repository and builds it. Without
/// `sdk` the crate carries its own SDK copy and nothing in it names the checkout.
fn scaffold_and_build(name: &str, port: u16, sdk: Option<&Path>) -> (tempfile::TempDir, PathBuf) {
    scaffold_edit_and_build(name, port, sdk, |lib| lib)
}

/// [`scaffold_and_build`] with the plugin's `src/lib.rs` passed through `edit` before the build.
fn scaffold_edit_and_build(name: &str, port: u16, sdk: Option<&Path>, edit: impl Fn(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix("benchhost-scaffold-").tempdir_in(std::env::temp_dir()).unwrap();
    assert!(!dir.path().starts_with(repo_root()), "the scaffold must live outside the repository");
    let crate_dir = dir.path().join(name);
    let port = port.to_string();
    let mut args = vec!["plugin", "new", name, "--dir", crate_dir.to_str().unwrap(), "--port", &port];
    if let Some(sdk) = sdk {
        args.extend(["--sdk", sdk.to_str().unwrap()]);
    }
    let out = benchhost(&args, &[]);
    assert!(out.status.success(), "plugin new: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("cargo build --release --target wasm32-wasip2"), "{}", text(&out.stdout));
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    match sdk {
        None => {
            assert!(manifest.contains(r#"benchhost-plugin-sdk = { path = "benchhost-plugin-sdk" }"#), "{manifest}");
            assert!(crate_dir.join(format!("benchhost-plugin-sdk/wit/since_v{}/plugin.wit", benchhost::runtime::version::CURRENT_API)).exists() && crate_dir.join("benchhost-plugin-sdk/src/lib.rs").exists());
            let repo_path = repo_root().canonicalize().unwrap().display().to_string();
            for f in ["Cargo.toml", "src/lib.rs", "README.md", "benchhost-plugin-sdk/Cargo.toml", "benchhost-plugin-sdk/src/lib.rs"] {
                let body = std::fs::read_to_string(crate_dir.join(f)).unwrap();
                assert!(!body.contains(&repo_path) && !body.contains(".workspace = true"), "{f} depends on the checkout:\n{body}");
            }
        }
        Some(sdk) => assert!(manifest.contains(&sdk.canonicalize().unwrap().display().to_string()), "{manifest}"),
    }
    let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
    assert!(lib.lines().count() < 150, "the plugin source is {} lines", lib.lines().count());
    std::fs::write(crate_dir.join("src/lib.rs"), edit(lib)).unwrap();
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
    let warnings = text(&build.stderr).lines().filter(|l| l.starts_with("warning")).count();
    assert_eq!(warnings, 0, "the scaffold builds with warnings:\n{}", text(&build.stderr));
    let wasm = repo_root().join("target/scaffold/wasm32-wasip2/release").join(format!("benchhost_plugin_{}.wasm", name.replace('-', "_")));
    assert!(wasm.exists(), "{} missing", wasm.display());
    (dir, wasm)
}

#[test]
fn scaffold_builds_checks_installs_and_runs_a_real_container() {
    let (_dir, wasm) = scaffold_and_build("mynfs", 52049, None);
    let plugins = tempfile::tempdir().unwrap();
    let env = [("BENCHHOST_PLUGIN_DIR", plugins.path().to_str().unwrap()), ("MYNFS_IMAGE", "benchhost-test/ganesha:latest")];
    let granted = [env[0], env[1], ("BENCHHOST_ALLOW", "mynfs:cap-add:DAC_READ_SEARCH,mynfs:cap-add:SYS_ADMIN")];

    let check = benchhost(&["plugin", "check", wasm.to_str().unwrap()], &env);
    assert!(check.status.success(), "check: {}", text(&check.stderr));
    let out = text(&check.stdout);
    assert!(out.contains(&format!("plugin mynfs 0.1.0 (API {})", benchhost::runtime::version::CURRENT_API)), "{out}");
    assert!(out.contains("mynfs (nfs, target)") && out.contains("MYNFS_IMAGE=benchhost/ganesha:4.3-2") && out.contains("cap-add SYS_ADMIN"), "{out}");
    assert!(out.contains("grant (after reviewing it): --allow mynfs:cap-add:DAC_READ_SEARCH --allow mynfs:cap-add:SYS_ADMIN"), "{out}");

    let inst = benchhost(&["plugin", "install", wasm.to_str().unwrap()], &env);
    assert!(inst.status.success(), "install: {}", text(&inst.stderr));
    let installed = plugins.path().join("mynfs.wasm");
    assert_eq!(std::fs::read(&installed).unwrap(), std::fs::read(&wasm).unwrap());
    let sum = std::fs::read_to_string(plugins.path().join("mynfs.wasm.sha256")).unwrap();
    assert!(sum.ends_with("  mynfs.wasm\n") && sum.len() == 64 + 2 + 10 + 1, "{sum:?}");

    // The same file again: nothing changes. Other contents under the same name and version:
    // refused (runs of the two could not be told apart), unless --force.
    let again = benchhost(&["plugin", "install", wasm.to_str().unwrap()], &env);
    assert!(again.status.success(), "reinstall: {}", text(&again.stderr));
    assert!(text(&again.stderr).contains("this file was installed already; nothing changed"), "{}", text(&again.stderr));
    let other = plugins.path().join("other").join("mynfs.wasm");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    let mut bytes = std::fs::read(&wasm).unwrap();
    bytes.extend_from_slice(&[0x00, 0x05, 0x01, b'x', b'a', b'b', b'c']); // a custom section "x"
    std::fs::write(&other, &bytes).unwrap();
    let refused = benchhost(&["plugin", "install", other.to_str().unwrap()], &env);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let err = text(&refused.stderr);
    assert!(err.contains("plugin mynfs 0.1.0 is already installed as") && err.contains("with other contents") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&installed).unwrap(), std::fs::read(&wasm).unwrap(), "a refused install leaves the installed plugin alone");
    let forced = benchhost(&["plugin", "install", "--force", other.to_str().unwrap()], &env);
    assert!(forced.status.success(), "install --force: {}", text(&forced.stderr));
    assert!(text(&forced.stderr).contains("replaced the installed mynfs 0.1.0"), "{}", text(&forced.stderr));
    assert_eq!(std::fs::read(&installed).unwrap(), bytes);
    std::fs::remove_dir_all(other.parent().unwrap()).unwrap();
    assert!(benchhost(&["plugin", "install", "--force", wasm.to_str().unwrap()], &env).status.success());

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
    // `plugin new` refuses a name or port a loaded plugin claims, before anything is written.
    let refused = benchhost(&["plugin", "new", "ganesha", "--dir", "/tmp/benchhost-never-written"], &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("profile \"ganesha\" is already plugin \"ganesha\" 0.1.0's"), "{}", text(&refused.stderr));
    let refused = benchhost(&["plugin", "new", "porthog", "--dir", "/tmp/benchhost-never-written", "--port", "22049"], &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("host port 22049 is profile ganesha's"), "{}", text(&refused.stderr));
    assert!(!Path::new("/tmp/benchhost-never-written").exists());
    // Made by hand anyway, such a plugin is refused when it loads. Same profile name as the
    // built-in ganesha:
    let (_dir, wasm) = scaffold_edit_and_build("ganeshx", 52050, None, |lib| lib.replace("Profile::target(\"ganeshx\")", "Profile::target(\"ganesha\")"));
    let check = benchhost(&["plugin", "check", wasm.to_str().unwrap()], &[]);
    assert_eq!(check.status.code(), Some(2), "{}", text(&check.stderr));
    let err = text(&check.stderr);
    assert!(err.contains("profile \"ganesha\" is claimed by two plugins: ganesha (built-in plugin ganesha)") && err.contains(wasm.to_str().unwrap()), "{err}");
    // A port another plugin publishes.
    let (_dir2, wasm2) = scaffold_edit_and_build("porthog", 52052, None, |lib| lib.replace("const HOST_PORT: u16 = 52052;", "const HOST_PORT: u16 = 22049;"));
    let err = text(&benchhost(&["plugin", "check", wasm2.to_str().unwrap()], &[]).stderr);
    assert!(err.contains("port 22049 is claimed by two plugins: ganesha") && err.contains("porthog"), "{err}");
}

#[test]
fn api_version_outside_the_range_is_named_before_compiling() {
    // From a checkout's SDK (`--sdk`), the other way to get one.
    let (_dir, wasm) = scaffold_and_build("future", 52051, Some(&repo_root().join("plugins/sdk")));
    let mut bytes = std::fs::read(&wasm).unwrap();
    let section = format!("benchhost:api-version{}", benchhost::runtime::version::CURRENT_API).into_bytes();
    let at = bytes.windows(section.len()).position(|w| w == section).expect("the SDK stamps the API version");
    bytes[at + section.len() - 5..at + section.len()].copy_from_slice(b"0.9.0");
    let patched = tempfile::tempdir().unwrap().keep().join("future.wasm");
    std::fs::write(&patched, &bytes).unwrap();
    let out = benchhost(&["plugin", "check", patched.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("built for benchhost plugin API 0.9.0; this benchhost supports 0.1.0–0.3.x"), "{err}");
}

#[test]
fn the_scaffold_follows_the_house_rules() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("rules");
    let out = benchhost(&["plugin", "new", "rules", "--dir", crate_dir.to_str().unwrap()], &[]);
    assert!(out.status.success(), "plugin new: {}", text(&out.stderr));
    let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
    // The system logs at INFO like every built-in one; the plugin logs no line without a fact.
    assert!(lib.contains("LOG { Default_Log_Level = INFO; }") && !lib.contains("host::info("), "{lib}");
    // Readiness sees a failed export, not only a server that answers NULL.
    assert!(lib.contains("probe::nfs_null") && lib.contains(r#"Healthcheck::cmd(&["nfs-ls", "nfs://127.0.0.1/export?version=4"])"#), "{lib}");
    // Only the capabilities FSAL_VFS needs, declared and used.
    let caps: Vec<&str> = lib.lines().filter_map(|l| l.trim().strip_prefix(".cap_add(")).collect();
    assert_eq!(caps, [r#""DAC_READ_SEARCH")"#, r#""SYS_ADMIN")"#, r#""DAC_READ_SEARCH")"#, r#""SYS_ADMIN")"#], "{lib}");
    assert!(!lib.contains(".privileged()") && !lib.contains(".device(") && !lib.contains(".host_bind("), "{lib}");
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
