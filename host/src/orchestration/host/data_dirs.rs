//! `BENCH_DATA_DIR`: the disk under test chosen by the user. Each named volume of a profile is
//! a bind of `<BENCH_DATA_DIR>/<profile>/<volume>`, a directory `up` creates empty (so the engine
//! fills it from the image, ownership included) and `down`/`clean` remove with the volume.
//!
//! Only directories benchhost made are ever removed: a per-volume directory that already exists
//! (empty or not) is refused before anything is created, and removal takes only a path whose
//! last component is the volume's own name.

use crate::orchestration::error::BenchError;
use crate::engine::DockerEngine;
use std::path::{Component, Path, PathBuf};

/// Creates `<root>/<profile>/<volume>` for each of `volumes` (in order) and returns them; every
/// entry is `None` when `root` is `None`. Errors (exit 2) name the directory: one that already
/// exists (never adopted), or one that cannot be created. On error, the directories
/// this call created are removed again.
pub fn prepare(root: Option<&Path>, profile: &str, volumes: &[&str]) -> Result<Vec<Option<PathBuf>>, BenchError> {
    let Some(root) = root else { return Ok(vec![None; volumes.len()]) };
    let mut made: Vec<PathBuf> = Vec::new();
    let mut out = Vec::new();
    for v in volumes {
        let dir = root.join(profile).join(v);
        // Any directory already there is not one this run made (an empty one included: the
        // engine would change its owner and mode, and `down` would delete it).
        let result = if std::fs::symlink_metadata(&dir).is_ok() {
            Err(format!(
                "BENCH_DATA_DIR: {} already exists; benchhost keeps its data only in directories it creates (and removes)\n  hint: move it away or remove it (`sudo rm -rf {}`), or point BENCH_DATA_DIR elsewhere",
                dir.display(),
                dir.display()
            ))
        } else {
            std::fs::create_dir_all(&dir)
                .map(|()| made.push(dir.clone()))
                .map_err(|e| format!("BENCH_DATA_DIR: cannot create {}: {e}\n  hint: choose a directory you can write, or create it first", dir.display()))
        };
        if let Err(message) = result {
            for d in &made {
                let _ = std::fs::remove_dir(d);
                let _ = d.parent().map(std::fs::remove_dir);
            }
            return Err(BenchError::Usage(message));
        }
        out.push(Some(dir));
    }
    Ok(out)
}

/// Removes a volume's data directory `dir` (the value of its data-dir label) and then its
/// profile directory when that is left empty. Refuses (and keeps) anything that is not
/// `<absolute path without ..>/<volume>`; an absent directory is fine. Errors (exit 1) name the
/// directory and say how to remove it by hand.
pub fn remove(dir: &str, volume: &str) -> Result<(), BenchError> {
    let path = Path::new(dir);
    let ours = path.is_absolute()
        && !path.components().any(|c| c == Component::ParentDir)
        && path.file_name().is_some_and(|n| n == volume)
        && path.parent().is_some_and(|p| p.parent().is_some());
    if !ours {
        return Err(BenchError::Other(format!(
            "volume {volume} names {dir:?} as its data directory, which is not <BENCH_DATA_DIR>/<profile>/{volume}; benchhost leaves it alone\n  hint: remove the volume by hand (`docker volume rm {volume}`)"
        )));
    }
    match std::fs::remove_dir_all(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            let hint = match e.kind() {
                std::io::ErrorKind::PermissionDenied => format!("files written by the container may belong to another user: `sudo rm -rf {dir}`, then run the command again"),
                _ => format!("something may still be mounted or open under it (`grep {dir} /proc/mounts`); free it, then run the command again"),
            };
            return Err(BenchError::Other(format!("cannot remove the data directory {dir} of volume {volume}: {e}\n  hint: {hint}")));
        }
    }
    if let Some(profile_dir) = path.parent() {
        // Only when empty: another volume of the profile may still be there.
        let _ = std::fs::remove_dir(profile_dir);
    }
    Ok(())
}

/// After a failed create: removes each prepared directory whose volume the engine does not have.
pub async fn remove_unused(engine: &DockerEngine, volumes: &[&str], dirs: &[Option<PathBuf>]) {
    for (v, dir) in volumes.iter().zip(dirs) {
        let Some(dir) = dir else { continue };
        if !engine.volume_exists(v).await {
            let _ = remove(&dir.display().to_string(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("benchhost-data-dirs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn prepare_creates_one_empty_directory_per_volume_and_remove_takes_them_away() {
        let root = scratch("roundtrip");
        let dirs = prepare(Some(&root), "ganesha", &["benchhost-ganesha-export", "benchhost-ganesha-state"]).unwrap();
        let export = root.join("ganesha").join("benchhost-ganesha-export");
        assert_eq!(dirs[0].as_deref(), Some(export.as_path()));
        assert!(export.is_dir() && std::fs::read_dir(&export).unwrap().next().is_none());
        std::fs::write(export.join("data"), b"x").unwrap();
        remove(&export.display().to_string(), "benchhost-ganesha-export").unwrap();
        assert!(!export.exists());
        assert!(root.join("ganesha").exists(), "the profile dir stays while another volume is there");
        remove(&dirs[1].as_ref().unwrap().display().to_string(), "benchhost-ganesha-state").unwrap();
        assert!(!root.join("ganesha").exists(), "the empty profile dir goes with the last volume");
        assert_eq!(prepare(None, "ganesha", &["a", "b"]).unwrap(), vec![None, None]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_non_empty_directory_is_refused_and_nothing_is_left_behind() {
        let root = scratch("refuse");
        let users = root.join("samba").join("benchhost-samba-share");
        std::fs::create_dir_all(&users).unwrap();
        std::fs::write(users.join("mine.txt"), b"user data").unwrap();
        let err = prepare(Some(&root), "samba", &["benchhost-samba-aaa", "benchhost-samba-share"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("already exists;") && err.to_string().contains("benchhost-samba-share"), "{err}");
        assert!(!root.join("samba").join("benchhost-samba-aaa").exists(), "the directory made before the refusal is removed");
        assert_eq!(std::fs::read(users.join("mine.txt")).unwrap(), b"user data");
        // An empty one is not adopted either.
        std::fs::remove_file(users.join("mine.txt")).unwrap();
        let err = prepare(Some(&root), "samba", &["benchhost-samba-share"]).unwrap_err();
        assert!(err.to_string().contains("already exists;"), "{err}");
        assert!(users.is_dir());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn remove_refuses_paths_that_are_not_a_volume_directory() {
        for (dir, vol) in [("/etc", "etc"), ("relative/p/v", "v"), ("/srv/x/../v", "v"), ("/srv/p/other", "v"), ("/v", "v")] {
            let e = remove(dir, vol).unwrap_err().to_string();
            assert!(e.contains("leaves it alone"), "{dir}: {e}");
        }
        assert!(Path::new("/etc").exists());
    }
}
