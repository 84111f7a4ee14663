//! Validation of what a plugin says about itself in `describe`, before it joins the registry.
//! Third-party plugins are held to one more rule: they may only declare settings under their
//! own prefix (`MYNFS_*`) or the shared benchmark settings, so a plugin cannot read `HOME`,
//! `GITHUB_TOKEN` or another system's secrets by declaring them.

use crate::runtime::contract::PluginInfo;
use std::collections::HashSet;

/// Settings every plugin may declare: the shared cache size and the shared infrastructure.
pub const SHARED_SETTINGS: &[&str] = &[
    "BENCH_CACHE_SIZE",
    "BENCH_WAL_ENABLED",
    "BENCH_PROFILING",
    "S3_ENDPOINT",
    "S3_BUCKET",
    "S3_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
];

fn printable(s: &str, max: usize) -> bool {
    s.chars().count() <= max && !s.chars().any(|c| c.is_control())
}

/// `Err` naming the first offending field and value.
pub fn check_info(info: &PluginInfo, third_party: bool) -> Result<(), String> {
    let name_ok = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !name_ok(&info.name, 32) {
        return Err(format!("plugin name {:?} is invalid (use 1-32 of [a-z0-9-])", info.name));
    }
    if semver::Version::parse(&info.version).is_err() {
        return Err(format!("version {:?} is not semver (e.g. 0.1.0)", info.version));
    }
    if !printable(&info.description, 200) {
        return Err(format!("description {:?} has control characters or is over 200 characters", info.description));
    }
    if info.profiles.is_empty() || info.profiles.len() > 64 {
        return Err(format!("declares {} profiles (1 to 64 allowed)", info.profiles.len()));
    }
    let mut names = HashSet::new();
    for p in &info.profiles {
        if !name_ok(&p.name, 48) {
            return Err(format!("profile name {:?} is invalid (use 1-48 of [a-z0-9-])", p.name));
        }
        if !names.insert(p.name.as_str()) {
            return Err(format!("profile {:?} is declared twice", p.name));
        }
        if !printable(&p.description, 200) || !name_ok(&p.protocol, 16) {
            return Err(format!("profile {:?}: description or protocol {:?} is invalid", p.name, p.protocol));
        }
        if p.port == Some(0) {
            return Err(format!("profile {:?} claims port 0", p.name));
        }
    }
    if info.settings.len() > 128 {
        return Err(format!("declares {} settings (at most 128)", info.settings.len()));
    }
    let prefix = format!("{}_", info.name.to_ascii_uppercase().replace('-', "_"));
    let mut settings = HashSet::new();
    for s in &info.settings {
        let ok = s.name.len() <= 64 && s.name.starts_with(|c: char| c.is_ascii_uppercase()) && s.name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(format!("setting name {:?} is invalid (use [A-Z][A-Z0-9_]*)", s.name));
        }
        if !settings.insert(s.name.as_str()) {
            return Err(format!("setting {:?} is declared twice", s.name));
        }
        if !printable(&s.description, 300) || !printable(&s.default_value, 4096) {
            return Err(format!("setting {:?}: description or default has control characters or is too long", s.name));
        }
        if third_party && !s.name.starts_with(&prefix) && !SHARED_SETTINGS.contains(&s.name.as_str()) {
            return Err(format!(
                "setting {:?} is outside what a third-party plugin may read: its own {prefix}* settings and {}",
                s.name,
                SHARED_SETTINGS.join(", ")
            ));
        }
    }
    let c = &info.capabilities;
    for cap in &c.cap_add {
        if cap.eq_ignore_ascii_case("ALL") || cap.is_empty() || !cap.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_') {
            return Err(format!("capability cap-add {cap:?} is invalid (name one Linux capability, e.g. SYS_ADMIN; ALL is refused)"));
        }
    }
    for (kind, path) in c.devices.iter().map(|d| ("device", d)).chain(c.host_binds.iter().map(|b| ("host-bind", b))) {
        if !path.starts_with('/') || path.split('/').any(|x| x == "..") || !printable(path, 255) {
            return Err(format!("capability {kind} {path:?} must be an absolute path without '..'"));
        }
    }
    if let Some(k) = c.host_kernel.iter().find(|k| !matches!(k.as_str(), "nfsd" | "fuse")) {
        return Err(format!("host-kernel feature {k:?} is unknown (benchhost checks nfsd, fuse)"));
    }
    Ok(())
}

pub use crate::text::printable_text;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::contract::{Capabilities, Profile, Role, Setting};

    fn info() -> PluginInfo {
        PluginInfo {
            name: "mynfs".into(),
            version: "0.1.0".into(),
            description: "d".into(),
            profiles: vec![Profile { name: "mynfs".into(), description: "x".into(), protocol: "nfs".into(), role: Role::Target, port: Some(52049) }],
            settings: vec![Setting { name: "MYNFS_IMAGE".into(), default_value: "a:1".into(), description: "i".into(), secret: false }],
            capabilities: Capabilities { privileged: false, cap_add: vec![], devices: vec![], host_binds: vec![], host_kernel: vec![] },
        }
    }

    #[test]
    fn describe_output_is_validated() {
        assert_eq!(check_info(&info(), true), Ok(()));
        let mut i = info();
        i.name = "Bad Name!".into();
        assert!(check_info(&i, false).unwrap_err().contains("Bad Name!"));
        let mut i = info();
        i.version = "not-semver".into();
        assert!(check_info(&i, false).unwrap_err().contains("semver"));
        let mut i = info();
        i.profiles.push(i.profiles[0].clone());
        assert!(check_info(&i, false).unwrap_err().contains("declared twice"));
        let mut i = info();
        i.settings[0].name = "HOME".into();
        assert_eq!(check_info(&i, false), Ok(()), "built-ins are trusted");
        assert!(check_info(&i, true).unwrap_err().contains("\"HOME\" is outside"));
        i.settings[0].name = "AWS_SECRET_ACCESS_KEY".into();
        assert_eq!(check_info(&i, true), Ok(()));
        let mut i = info();
        i.capabilities.cap_add = vec!["ALL".into()];
        assert!(check_info(&i, true).unwrap_err().contains("ALL is refused"));
        let mut i = info();
        i.description = "fake\u{1b}[2J".into();
        assert!(check_info(&i, true).unwrap_err().contains("control characters"));
        assert_eq!(printable_text("a\u{1b}[31mb\nc\r"), "a\\u{1b}[31mb\nc\\r");
    }
}
