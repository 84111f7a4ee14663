//! The compile cache: compiled plugins kept on disk and mapped on later loads.

use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::Engine;

/// How many compiled plugins the artifact cache keeps (every rebuilt plugin is a new file).
pub const MAX_ARTIFACTS: usize = 256;

/// Compiles `bytes`, through the artifact cache in `dir` when there is one. A compiled plugin is
/// kept uncompressed in `<dir>/<sha256 of the wasm>-<engine settings>.cwasm` and mapped from
/// there on later loads (`Component::deserialize_file`): no recompilation, no decompression, no
/// copy, which makes a warm `benchhost list` about twice as fast as wasmtime's own (zstd)
/// cache. A file is written under a temporary name and renamed, so a reader never sees half of
/// one; a file that does not deserialize (another wasmtime, a damaged file) is compiled again
/// and replaced. Only the newest [`MAX_ARTIFACTS`] files are kept.
pub(super) fn compile(engine: &Engine, dir: Option<&Path>, bytes: &[u8]) -> wasmtime::Result<Component> {
    let Some(dir) = dir else {
        return Component::new(engine, bytes);
    };
    use std::hash::{Hash, Hasher};
    let mut settings = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut settings);
    let digest = crate::text::sha256_hex(bytes);
    let path = dir.join(format!("{digest}-{:016x}.cwasm", settings.finish()));
    if path.is_file() {
        // SAFETY: the file is one this function wrote from `precompile_component` output, in
        // the user's own cache directory (the trust wasmtime's cache asks for as well);
        // deserialize checks that it is an artifact of this wasmtime and these settings.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(e) => tracing::debug!("compiling again: cached {} does not load: {e:#}", path.display()),
        }
    }
    let artifact = engine.precompile_component(bytes)?;
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    let stored = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&tmp, &artifact)).and_then(|()| std::fs::rename(&tmp, &path));
    match stored {
        Ok(()) => prune(dir),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!("not caching the compiled plugin in {}: {e}", dir.display());
        }
    }
    // SAFETY: `artifact` was produced by this engine a moment ago.
    unsafe { Component::deserialize(engine, &artifact) }
}

/// Removes the oldest `*.cwasm` files of `dir` beyond [`MAX_ARTIFACTS`].
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if files.len() > MAX_ARTIFACTS {
        files.sort();
        for (_, path) in &files[..files.len() - MAX_ARTIFACTS] {
            let _ = std::fs::remove_file(path);
        }
    }
}
