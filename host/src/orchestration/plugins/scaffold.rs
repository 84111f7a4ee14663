//! `benchhost plugin new`: a standalone plugin crate from the templates in `host/templates/plugin`,
//! with a copy of the guest SDK (embedded in the binary by `host/build.rs`) unless `--sdk` names
//! one, so it builds with no benchhost checkout.

use crate::orchestration::error::BenchError;
use crate::runtime::version;
use std::path::{Path, PathBuf};

const TEMPLATE_CARGO: &str = include_str!("../../../templates/plugin/Cargo.toml.tmpl");
const TEMPLATE_LIB: &str = include_str!("../../../templates/plugin/src/lib.rs.tmpl");
const TEMPLATE_README: &str = include_str!("../../../templates/plugin/README.md.tmpl");
const TEMPLATE_GITIGNORE: &str = include_str!("../../../templates/plugin/gitignore.tmpl");

mod guest_sdk {
    include!(concat!(env!("OUT_DIR"), "/guest_sdk.rs"));
}

/// The directory, inside a new plugin crate, of the SDK copy [`scaffold`] writes.
const VENDORED_SDK: &str = "benchhost-plugin-sdk";

/// Writes a standalone plugin crate for `name` into `dir` (which must not exist or be empty).
/// `sdk` is the SDK crate directory the scaffold depends on; without it, the crate gets its own
/// copy of the SDK this benchhost was built with (and the WIT it needs) in
/// `benchhost-plugin-sdk/`, so it builds without a benchhost checkout. `port` is the host port
/// it publishes. Returns the files written (the SDK copy as its directory).
pub fn scaffold(name: &str, dir: &Path, sdk: Option<&Path>, port: u16) -> Result<Vec<PathBuf>, BenchError> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !valid {
        return Err(BenchError::Usage(format!("plugin name {name:?} is invalid: use lowercase letters, digits and '-', starting with a letter (e.g. mynfs)")));
    }
    if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(BenchError::Usage(format!("{} exists and is not empty; choose another --dir", dir.display())));
    }
    let sdk_path = match sdk {
        Some(sdk) => sdk
            .canonicalize()
            .map_err(|_| BenchError::Usage(format!("the plugin SDK is not at {}; pass --sdk PATH to a benchhost checkout's plugins/sdk", sdk.display())))?
            .display()
            .to_string(),
        None => VENDORED_SDK.to_string(),
    };
    let krate = format!("benchhost-plugin-{name}");
    let type_name: String = name
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect();
    let vars = [
        ("{{name}}", name.to_string()),
        ("{{crate}}", krate.clone()),
        ("{{crate_file}}", krate.replace('-', "_")),
        ("{{type}}", type_name),
        ("{{upper}}", name.to_ascii_uppercase().replace('-', "_")),
        ("{{sdk_path}}", sdk_path),
        ("{{api}}", version::CURRENT_API.to_string()),
        ("{{port}}", port.to_string()),
    ];
    let fill = |t: &str| vars.iter().fold(t.to_string(), |acc, (k, v)| acc.replace(k, v));
    let files = [
        (dir.join("Cargo.toml"), fill(TEMPLATE_CARGO)),
        (dir.join("src").join("lib.rs"), fill(TEMPLATE_LIB)),
        (dir.join("README.md"), fill(TEMPLATE_README)),
        (dir.join(".gitignore"), fill(TEMPLATE_GITIGNORE)),
    ];
    let vendored = guest_sdk::GUEST_SDK.iter().map(|(rel, text)| (dir.join(VENDORED_SDK).join(rel), text.to_string()));
    let vendored: Vec<_> = if sdk.is_none() { vendored.collect() } else { vec![] };
    for (path, text) in files.iter().chain(&vendored) {
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(|e| BenchError::Other(format!("creating {}: {e}", parent.display())))?;
        std::fs::write(path, text).map_err(|e| BenchError::Other(format!("writing {}: {e}", path.display())))?;
    }
    let mut written: Vec<PathBuf> = files.into_iter().map(|(p, _)| p).collect();
    if sdk.is_none() {
        written.push(dir.join(VENDORED_SDK));
    }
    Ok(written)
}
