//! The compiled-plugin cache of the runtime: a plugin compiled once is kept uncompressed in
//! `<cache>/artifacts/<sha256 of the wasm>-<engine settings>.cwasm` and mapped from there by
//! later runtimes (what keeps a warm `benchhost list` fast); a damaged file is compiled again
//! and replaced; the directory keeps only the newest `MAX_ARTIFACTS` files.

use crate::support::corpus::fixture_component;
use benchhost::runtime::{Limits, PluginRuntime, RuntimeOptions, MAX_ARTIFACTS};
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

fn runtime(cache: &Path) -> PluginRuntime {
    PluginRuntime::new(RuntimeOptions { cache_dir: Some(cache.to_path_buf()), limits: Limits::default() }).expect("runtime starts")
}

/// The `*.cwasm` files of the artifact directory, sorted.
fn artifacts(cache: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cache.join("artifacts"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "cwasm")).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Loads the fixture in a fresh runtime on `cache` and checks that `describe` answered.
async fn load(cache: &Path) {
    let (origin, bytes) = fixture_component("faults");
    let plugin = runtime(cache).load(&origin, &bytes).await.expect("the fixture loads");
    assert_eq!((plugin.info.name.as_str(), plugin.info.version.as_str()), ("faults", "0.4.2"));
}

#[tokio::test]
async fn a_compiled_plugin_is_stored_once_and_mapped_afterwards() {
    let cache = tempfile::tempdir().unwrap();
    load(cache.path()).await;
    let files = artifacts(cache.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let digest: String = sha2::Sha256::digest(fixture_component("faults").1).iter().map(|b| format!("{b:02x}")).collect();
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("{digest}-")), "{name} is not keyed by the wasm's sha256 {digest}");
    let artifact = std::fs::read(&files[0]).unwrap();
    assert_eq!(&artifact[..4], b"\x7fELF", "the artifact is wasmtime's uncompressed ELF image");
    // No temporary file is left behind.
    let all: Vec<_> = std::fs::read_dir(cache.path().join("artifacts")).unwrap().filter_map(Result::ok).collect();
    assert_eq!(all.len(), 1, "{all:?}");

    // A second runtime maps the same file: it is neither rewritten nor duplicated.
    let before = std::fs::metadata(&files[0]).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    load(cache.path()).await;
    assert_eq!(artifacts(cache.path()), files);
    assert_eq!(std::fs::metadata(&files[0]).unwrap().modified().unwrap(), before, "a cache hit rewrote the artifact");
}

#[tokio::test]
async fn a_damaged_artifact_is_compiled_again_and_replaced() {
    let cache = tempfile::tempdir().unwrap();
    load(cache.path()).await;
    let file = artifacts(cache.path()).remove(0);
    let good = std::fs::read(&file).unwrap();
    for (what, damaged) in [("garbage", b"not an artifact".to_vec()), ("truncated", good[..good.len() / 2].to_vec()), ("empty", Vec::new())] {
        std::fs::write(&file, &damaged).unwrap();
        load(cache.path()).await;
        assert_eq!(std::fs::read(&file).unwrap(), good, "the {what} artifact was not replaced by a good one");
    }
}

#[tokio::test]
async fn only_the_newest_artifacts_are_kept() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    // Stale artifacts of earlier plugin builds, each older than the next.
    let old = SystemTime::now() - Duration::from_secs(86_400);
    for i in 0..MAX_ARTIFACTS + 4 {
        let path = dir.join(format!("stale{i:04}-0.cwasm"));
        std::fs::write(&path, b"old").unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(old + Duration::from_secs(i as u64)).unwrap();
    }
    std::fs::write(dir.join("notes.txt"), b"not an artifact").unwrap();
    load(cache.path()).await;
    let files = artifacts(cache.path());
    assert_eq!(files.len(), MAX_ARTIFACTS);
    let names: Vec<String> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    // The five oldest went; the new artifact and the newest stale ones stayed.
    for i in 0..5 {
        assert!(!names.contains(&format!("stale{i:04}-0.cwasm")), "stale{i:04} was kept");
    }
    assert!(names.contains(&format!("stale{:04}-0.cwasm", MAX_ARTIFACTS + 3)));
    assert!(names.iter().any(|n| !n.starts_with("stale")), "the new artifact is missing");
    assert!(dir.join("notes.txt").exists(), "a file that is not an artifact was removed");
}
