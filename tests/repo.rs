//! Repository rules that hold for every file: no package registry's host name is written
//! anywhere (scripts reach packages through the machine's configured sources and the ordinary
//! clients), and the GitHub Actions workflow runs the same entry point as CI (`.ci/run`, which
//! runs the README's test command).

use crate::support::repo_root;
use std::path::PathBuf;
use std::process::Command;


/// Every file git tracks or would add (not ignored), relative to the root.
fn repository_files() -> Vec<String> {
    let out = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(repo_root())
        .output()
        .expect("git ls-files");
    assert!(out.status.success(), "git ls-files failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().split('\0').filter(|f| !f.is_empty()).map(str::to_string).collect()
}

/// The host of a URL-ish string (`https://host:port/path`, `host/path`, `host`), lower-cased.
fn host_of(url: &str) -> Option<String> {
    let rest = url.trim().split("://").last()?;
    let host = rest.split(['/', ':', ',', ' ']).next()?.to_ascii_lowercase();
    (host.contains('.') && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')).then_some(host)
}

fn command_text(program: &str, args: &[&str]) -> String {
    Command::new(program).args(args).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
}

/// The package and image registries this machine is configured to use, read from the machine
/// itself (so this file names none): apt's sources, pip's index and file host, Go's proxy and
/// checksum database, npm's registry, cargo's index, the Docker engine's index server.
fn configured_registry_hosts() -> Vec<String> {
    let mut hosts = Vec::new();
    let mut apt_files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        apt_files.extend(dir.flatten().map(|e| e.path()));
    }
    for f in apt_files {
        for line in std::fs::read_to_string(f).unwrap_or_default().lines() {
            let line = line.trim();
            if let Some(uris) = line.strip_prefix("URIs:") {
                hosts.extend(uris.split_whitespace().filter_map(host_of));
            } else if line.starts_with("deb ") || line.starts_with("deb-src ") {
                hosts.extend(line.split_whitespace().filter(|w| w.contains("://")).filter_map(host_of));
            }
        }
    }
    let pip = command_text("python3", &["-c", "from pip._internal.models.index import PyPI; print(PyPI.url); print(PyPI.file_storage_domain)"]);
    hosts.extend(pip.lines().filter_map(host_of));
    hosts.extend(command_text("pip", &["config", "list"]).lines().filter_map(|l| l.split_once('=').and_then(|(_, v)| host_of(v.trim_matches(['\'', '"'])))));
    for var in ["GOPROXY", "GOSUMDB"] {
        hosts.extend(command_text("go", &["env", var]).split(',').filter_map(host_of));
    }
    hosts.extend(host_of(&command_text("npm", &["config", "get", "registry"])));
    let cargo_home = std::env::var("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo"));
    if let Ok(dir) = std::fs::read_dir(cargo_home.join("registry/index")) {
        // one directory per registry: `<host>-<hash>`
        hosts.extend(dir.flatten().filter_map(|e| e.file_name().to_str().and_then(|n| n.rsplit_once('-').map(|(h, _)| h.to_string()))));
    }
    hosts.extend(host_of(&command_text("docker", &["info", "--format", "{{.IndexServerAddress}}"])));
    hosts.retain(|h| h.contains('.') && h != "localhost");
    hosts.sort();
    hosts.dedup();
    hosts
}

/// A download of a GitHub release asset: the host, and (apart) the path that marks one.
const GITHUB: &str = "github.com/";
const RELEASE_DOWNLOAD: &str = "/releases/download/";

#[test]
fn no_file_names_a_package_registry_host() {
    let hosts = configured_registry_hosts();
    assert!(hosts.len() >= 3, "too few registries found on this machine to check against: {hosts:?}");
    eprintln!("checking against {hosts:?}");
    let mut found = Vec::new();
    for f in repository_files() {
        // Lock files record where crates came from; they are cargo's, not ours.
        if f.ends_with("Cargo.lock") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(repo_root().join(&f)) else { continue };
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_ascii_lowercase();
            for host in &hosts {
                if lower.contains(host.as_str()) {
                    found.push(format!("{f}:{}: {host}", n + 1));
                }
            }
            if lower.contains(GITHUB) && lower.contains(RELEASE_DOWNLOAD) {
                found.push(format!("{f}:{}: a GitHub release download", n + 1));
            }
        }
    }
    assert!(found.is_empty(), "registry host names written into the repository:\n{}", found.join("\n"));
}

#[test]
fn the_github_workflow_runs_the_ci_entry_point_which_runs_the_readme_test_command() {
    let workflow = std::fs::read_to_string(repo_root().join(".github/workflows/ci.yml")).expect(".github/workflows/ci.yml");
    let run_lines: Vec<&str> = workflow.lines().filter(|l| l.trim_start().starts_with("run:")).collect();
    assert!(run_lines.iter().any(|l| l.contains(".ci/run")), "the workflow must run .ci/run: {run_lines:?}");
    assert!(workflow.contains("timeout-minutes: 90"), "CI's 90-minute bound");
    let ci = std::fs::read_to_string(repo_root().join(".ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.trim() == "make test"), ".ci/run must run `make test`:\n{ci}");
    assert!(ci.contains("BENCHHOST_REQUIRE_DOCKER=1"), "Docker tests must fail, not skip, in CI");
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(readme.contains("| `make test` |"), "the README's test command is `make test`");
    let makefile = std::fs::read_to_string(repo_root().join("Makefile")).unwrap();
    let test_target: Vec<&str> = makefile.lines().skip_while(|l| !l.starts_with("test:")).skip(1).take_while(|l| l.starts_with('\t')).collect();
    for step in ["tests/setup.sh", "tests/shellcheck.sh", "cargo test --workspace"] {
        assert!(test_target.iter().any(|l| l.contains(step)), "`make test` must run {step}: {test_target:?}");
    }
}
