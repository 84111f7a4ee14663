//! `docker-compose.yml` and `.env.example` are generated from the plugins: these tests fail
//! when the committed files are stale, and validate the compose file with a real Compose v2.

use crate::support::docker::{benchhost, compose_v2_or_skip, text};
use crate::support::repo_root;
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn committed_compose_and_env_example_are_in_sync_with_the_plugins() {
    for (cmd, file) in [("compose", "docker-compose.yml"), ("env-example", ".env.example")] {
        let path = repo_root().join(file);
        let out = benchhost(&[cmd, "--check", "--output", path.to_str().unwrap()], &[]);
        assert!(out.status.success(), "{file} is stale; run `benchhost {cmd}` at the repository root:\n{}", text(&out.stderr));
    }
}

#[test]
fn check_fails_on_a_stale_file_and_names_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker-compose.yml");
    std::fs::write(&path, "services: {}\n").unwrap();
    let out = benchhost(&["compose", "--check", "--output", path.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is stale") && text(&out.stderr).contains("benchhost compose"), "{}", text(&out.stderr));
    // Writing then checking agrees.
    assert!(benchhost(&["compose", "--output", path.to_str().unwrap()], &[]).status.success());
    assert!(benchhost(&["compose", "--check", "--output", path.to_str().unwrap()], &[]).status.success());
}

#[test]
fn compose_has_a_profile_per_benchhost_profile_with_shared_infrastructure() {
    let yaml = std::fs::read_to_string(repo_root().join("docker-compose.yml")).unwrap();
    let doc: serde_json::Value = serde_norway::from_str(&yaml).expect("valid YAML");
    let list: Vec<serde_json::Value> = serde_json::from_slice(&benchhost(&["list", "--json"], &[]).stdout).unwrap();
    let services = doc["services"].as_object().unwrap();
    for p in &list {
        let name = p["profile"].as_str().unwrap();
        assert!(
            services.values().any(|s| s["profiles"].as_array().unwrap().iter().any(|x| x == name)),
            "no compose service is in profile {name}"
        );
    }
    // Infrastructure is one service shared by the profiles that depend on it, started healthy.
    let localstack = &services["localstack"];
    for p in ["localstack", "dittofs-badger-s3"] {
        assert!(localstack["profiles"].as_array().unwrap().iter().any(|x| x == p), "{p} missing from {}", localstack["profiles"]);
    }
    assert_eq!(services["dittofs-badger-s3"]["depends_on"]["localstack"]["condition"], "service_healthy");
    // Every service: healthcheck or not, the same resource limits, overridable.
    for (name, s) in services {
        assert_eq!(s["deploy"]["resources"]["limits"]["cpus"], "${BENCH_CPU_LIMIT:-2}", "{name}");
        assert_eq!(s["deploy"]["resources"]["limits"]["memory"], "${BENCH_MEM_LIMIT:-4g}", "{name}");
    }
    // Overridable values stay ${VAR:-default}.
    assert_eq!(services["ganesha"]["image"], "${GANESHA_IMAGE:-benchhost/ganesha:4.3-2}");
    assert_eq!(services["ganesha"]["ports"][0], "${BENCH_BIND_ADDRESS:-127.0.0.1}:22049:2049");
    // Within each profile (one system at a time) host ports are unique.
    for p in &list {
        let name = p["profile"].as_str().unwrap();
        let mut ports: Vec<String> = services
            .values()
            .filter(|s| s["profiles"].as_array().unwrap().iter().any(|x| x == name))
            .flat_map(|s| s["ports"].as_array().cloned().unwrap_or_default())
            .map(|p| p.as_str().unwrap().rsplit(':').nth(1).unwrap().to_string())
            .collect();
        let n = ports.len();
        ports.sort();
        ports.dedup();
        assert_eq!(ports.len(), n, "duplicate host ports in profile {name}");
    }
}

#[test]
fn env_example_declares_every_setting_once_with_its_default() {
    let env = std::fs::read_to_string(repo_root().join(".env.example")).unwrap();
    let keys: Vec<&str> = env.lines().filter(|l| !l.starts_with('#') && l.contains('=')).map(|l| l.split('=').next().unwrap()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), keys.len(), "a setting appears twice");
    for k in ["BENCH_CPU_LIMIT", "BENCH_MEM_LIMIT", "BENCH_CACHE_SIZE", "GANESHA_IMAGE", "DITTOFS_IMAGE", "LOCALSTACK_IMAGE", "S3_BUCKET", "DITTOFS_ADMIN_PASSWORD"] {
        assert!(keys.contains(&k), "{k} missing from .env.example");
    }
    assert!(env.contains("BENCH_CPU_LIMIT=2\n") && env.contains("DITTOFS_IMAGE=marmos91c/dittofs:v0.29.0\n"));
    // benchhost itself reads it: a profile resolves with it as --env-file.
    let out = benchhost(&["--env-file", repo_root().join(".env.example").to_str().unwrap(), "list"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Compose v2 with the committed file and `env` as its `.env`: the resolved model (JSON).
fn compose_config(profile: &str, env: &str) -> serde_json::Value {
    let compose = compose_v2_or_skip("the_compose_file_honours_settings_a_plugin_checks_or_converts").expect("Compose v2 (tests/setup.sh fetches it)");
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("test.env");
    std::fs::write(&env_file, env).unwrap();
    let file = repo_root().join("docker-compose.yml");
    let out = Command::new(&compose[0])
        .args(&compose[1..])
        .args(["-f", file.to_str().unwrap(), "--env-file", env_file.to_str().unwrap(), "--profile", profile, "config", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "compose config: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_compose_file_honours_settings_a_plugin_checks_or_converts() {
    let Some(_) = compose_v2_or_skip("the_compose_file_honours_settings_a_plugin_checks_or_converts") else { return };
    // SAMBA_USER must be a lower-case user name and BENCH_CACHE_SIZE a size: both were written
    // as their defaults (`bench`, `JFS_CACHE_MIB: '1024'`) whatever .env said.
    let samba = compose_config("samba", "SAMBA_USER=alice\n");
    let svc = &samba["services"]["samba"];
    assert_eq!(svc["environment"]["SAMBA_USER"], "alice", "{svc}");
    let conf = samba["configs"]["samba-etc-samba-smb-conf"]["content"].as_str().unwrap();
    assert!(conf.contains("valid users = alice"), "{conf}");
    let defaults = compose_config("samba", "");
    assert_eq!(defaults["services"]["samba"]["environment"]["SAMBA_USER"], "bench");
    let juicefs = compose_config("juicefs", "BENCH_CACHE_SIZE=2g\n");
    assert_eq!(juicefs["services"]["juicefs"]["environment"]["JFS_CACHE_SIZE"], "2g", "{}", juicefs["services"]["juicefs"]);
}

#[test]
fn compose_v2_validates_the_file_for_every_profile() {
    let Some(compose) = compose_v2_or_skip("compose_v2_validates_the_file_for_every_profile") else { return };
    let file = repo_root().join("docker-compose.yml");
    let env = repo_root().join(".env.example");
    let run = |extra: &[&str]| {
        let mut cmd = Command::new(&compose[0]);
        cmd.args(&compose[1..]).args(["-f", file.to_str().unwrap(), "--env-file", env.to_str().unwrap()]).args(extra);
        cmd.output().unwrap()
    };
    let out = run(&["config", "-q"]);
    assert!(out.status.success(), "compose config -q: {}", text(&out.stderr));
    // Each profile resolves on its own (dependencies are in the same profile).
    let list: Vec<serde_json::Value> = serde_json::from_slice(&benchhost(&["list", "--json"], &[]).stdout).unwrap();
    for p in list {
        let name = p["profile"].as_str().unwrap();
        let out = run(&["--profile", name, "config", "--services"]);
        assert!(out.status.success(), "profile {name}: {}", text(&out.stderr));
        assert!(!text(&out.stdout).trim().is_empty(), "profile {name} has no services");
    }
}

/// The package version of `wit/since_v<version>/plugin.wit`.
fn wit_package_version(wit: &Path) -> String {
    std::fs::read_to_string(wit)
        .unwrap_or_else(|e| panic!("{}: {e}", wit.display()))
        .lines()
        .find_map(|l| l.trim().strip_prefix("package benchhost:plugin@").map(|v| v.trim_end_matches(';').to_string()))
        .unwrap_or_else(|| panic!("{} has no package line", wit.display()))
}

/// Every contract version in `wit/`: `(version, path of its plugin.wit)`, oldest first.
fn contract_versions() -> Vec<(semver::Version, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(repo_root().join("wit")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "RELEASED" {
            continue;
        }
        let version = name.strip_prefix("since_v").unwrap_or_else(|| panic!("wit/{name}: wit/ holds only since_v<version>/ folders and RELEASED"));
        let wit = path.join("plugin.wit");
        assert_eq!(wit_package_version(&wit), version, "wit/{name}/plugin.wit must be package benchhost:plugin@{version}");
        out.push((semver::Version::parse(version).unwrap(), wit));
    }
    out.sort();
    out
}

#[test]
fn released_contract_versions_are_frozen() {
    let versions = contract_versions();
    let released = std::fs::read_to_string(repo_root().join("wit/RELEASED")).unwrap();
    for line in released.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (version, hash) = line.split_once(' ').expect("`<version> <sha256>`");
        let wit = repo_root().join(format!("wit/since_v{version}/plugin.wit"));
        assert!(wit.is_file(), "released contract {version} has no wit/since_v{version}/plugin.wit");
        let out = Command::new("sha256sum").arg(&wit).output().unwrap();
        let actual = text(&out.stdout).split_whitespace().next().unwrap_or_default().to_string();
        assert_eq!(actual, hash.trim(), "contract {version} is released and frozen: add a new package version in a folder of its own instead of editing it (wit/RELEASED)");
    }
    // The host's newest supported version is the newest folder.
    let newest = &versions.last().expect("at least one contract version").0;
    assert_eq!(newest.to_string(), benchhost::runtime::version::CURRENT_API);
}

/// The newest contract version is written once per place that must know it: the package line of
/// its frozen WIT (`wit/since_v<version>/`), the host's bindings for it (`MIN_VERSION` in
/// `host/src/runtime/contract/since_v<version>.rs`) and the SDK's crate version (its build.rs
/// stamps that into every plugin). Folder and module names (`since_v0.2.0`, `since_v0_2_0`) are
/// not counted.
#[test]
fn the_contract_version_is_written_once() {
    let version = benchhost::runtime::version::CURRENT_API;
    let module = format!("host/src/runtime/contract/since_v{}.rs", version.replace('.', "_"));
    let mut found: Vec<String> = Vec::new();
    let mut scan = vec![repo_root().join("host/src"), repo_root().join("host/build.rs"), repo_root().join("host/templates"), repo_root().join("plugins/sdk"), repo_root().join("wit/RELEASED")];
    while let Some(path) = scan.pop() {
        if path.is_dir() {
            scan.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let rel = path.strip_prefix(repo_root()).unwrap().display().to_string();
        for (at, _) in text.match_indices(version) {
            if !text[..at].ends_with("since_v") {
                found.push(rel.clone());
            }
        }
    }
    found.sort();
    // wit/RELEASED names every released version; the newest may not be released yet.
    found.retain(|f| f != "wit/RELEASED");
    assert_eq!(found, vec![module.clone(), "plugins/sdk/Cargo.toml".to_string()], "contract {version} must be written only in {module} (MIN_VERSION) and plugins/sdk/Cargo.toml (the SDK's version)");
}

#[test]
fn a_setting_shared_by_plugins_has_one_default() {
    use benchhost::orchestration::plugins::registry::Registry;
    use benchhost::runtime::{PluginRuntime, RuntimeOptions};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let registry = rt.block_on(Registry::load_files(PluginRuntime::new(RuntimeOptions::default()).unwrap(), &[])).unwrap();
    let mut defaults: std::collections::BTreeMap<String, (String, String)> = Default::default();
    for p in &registry.plugins {
        for s in &p.plugin.info.settings {
            let (first, value) = defaults.entry(s.name.clone()).or_insert((p.plugin.info.name.clone(), s.default_value.clone())).clone();
            assert_eq!(value, s.default_value, "{} defaults to {value:?} in {first} but {:?} in {}", s.name, s.default_value, p.plugin.info.name);
        }
    }
    assert!(defaults.contains_key("S3_BUCKET") && defaults.contains_key("POSTGRES_USER"));
}
