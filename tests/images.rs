//! `tests/images/build.sh` for a third party: a recipe outside the repository, built into the
//! image the `--tag` names, on the real engine (root, debootstrap, the cached base rootfs).

use crate::support::docker::{docker, engine_or_skip, text};
use crate::support::repo_root;
use std::process::Command;

fn build_sh(args: &[&str]) -> std::process::Output {
    Command::new(repo_root().join("tests/images/build.sh")).args(args).output().expect("run build.sh")
}

#[test]
fn a_recipe_outside_the_repository_builds_the_image_its_tag_names() {
    let Some(_engine) = engine_or_skip("build.sh with a recipe path", None) else { return };
    if !rustix::process::geteuid().is_root() {
        assert!(std::env::var("BENCHHOST_REQUIRE_DOCKER").as_deref() != Ok("1"), "build.sh needs root (tests/setup.sh runs as root in CI)");
        eprintln!("SKIPPED: build.sh needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let recipe_dir = dir.path().join("tinysys");
    std::fs::create_dir_all(&recipe_dir).unwrap();
    let recipe = recipe_dir.join("recipe.sh");
    std::fs::write(
        &recipe,
        "# shellcheck shell=bash\nPACKAGES=(netcat-openbsd)\nVERSION_PKG=netcat-openbsd\nCHANGES=('CMD [\"/bin/cat\",\"/tinysys-marker\"]')\npost_install_tinysys() { echo built-by-the-recipe >\"$1/tinysys-marker\"; }\n",
    )
    .unwrap();
    let tag = "benchhost-thirdparty/tinysys:1";
    let cleanup = || {
        let out = docker(&["images", "--format", "{{.Repository}}:{{.Tag}}", "benchhost-thirdparty/tinysys"]);
        for t in text(&out.stdout).lines() {
            docker(&["image", "rm", "-f", t]);
        }
    };
    cleanup();
    let out = build_sh(&["--tag", tag, recipe.to_str().unwrap()]);
    assert!(out.status.success(), "build.sh: {}", text(&out.stderr));
    let printed: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(printed.first().map(String::as_str), Some(tag), "{printed:?}");
    // VERSION_PKG tags the same repository with the package's Debian version.
    let version_tag = printed.get(1).cloned().unwrap_or_default();
    let version = version_tag.strip_prefix("benchhost-thirdparty/tinysys:").unwrap_or_else(|| panic!("no version tag in the repository of --tag: {printed:?}"));
    assert!(version.starts_with(|c: char| c.is_ascii_digit()) && version != "1", "{printed:?}");
    let run = docker(&["run", "--rm", tag]);
    assert_eq!(text(&run.stdout).trim(), "built-by-the-recipe", "{}", text(&run.stderr));
    assert!(docker(&["image", "inspect", &version_tag]).status.success(), "{version_tag} missing");
    // A second run finds the image and builds nothing.
    let again = build_sh(&["--tag", tag, recipe.to_str().unwrap()]);
    assert!(again.status.success() && text(&again.stderr).contains("cached:"), "{}", text(&again.stderr));
    cleanup();
    assert!(!docker(&["image", "inspect", tag]).status.success());
}

#[test]
fn build_sh_refuses_a_missing_recipe_and_a_bad_tag_before_building() {
    let missing = build_sh(&["/nonexistent/dir/recipe.sh"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("no recipe at '/nonexistent/dir/recipe.sh'"), "{}", text(&missing.stderr));
    let unknown = build_sh(&["nosuchimage"]);
    assert_eq!(unknown.status.code(), Some(1));
    let err = text(&unknown.stderr);
    assert!(err.contains("unknown image NAME 'nosuchimage'") && err.contains("ganesha") && err.contains("samba"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("x").join("recipe.sh");
    std::fs::create_dir_all(recipe.parent().unwrap()).unwrap();
    std::fs::write(&recipe, "PACKAGES=()\n").unwrap();
    let bad = build_sh(&["--tag", "Bad/Upper:1", recipe.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("--tag 'Bad/Upper:1' is not an image reference"), "{}", text(&bad.stderr));
    let usage = build_sh(&["--tag"]);
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage.stderr));
}
