//! Checks of the services one plugin returns from `compose-service`: names, images, ports,
//! volumes, files, capabilities, sizes and durations. A failure is the plugin's defect (exit 3).

use crate::runtime::contract::{Capabilities, Service, VolumeSource};
use crate::runtime::LoadedPlugin;
use super::image_ref::image_problem;
use std::collections::HashSet;

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 48
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_abs_path(p: &str) -> bool {
    p.starts_with('/') && !p.split('/').any(|c| c == "..") && !p.contains('\0')
}

/// Most services one profile may have.
pub const MAX_SERVICES: usize = 32;
/// Longest single environment entry (`KEY=VALUE`) or argument, in bytes: Linux refuses to
/// `exec` with a longer one (MAX_ARG_STRLEN), so the container would die at start.
pub const MAX_ARG_BYTES: usize = 128 << 10;
/// Most bytes of environment plus entrypoint plus command of one service (Linux allows about
/// 2 MiB in all, shared with what the image adds).
pub const MAX_EXEC_BYTES: usize = 1 << 20;
/// Largest config file a plugin may have written into a container.
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// Checks one plugin's services: names, images, ports, volumes, files, capabilities, durations.
/// The error names the service and the field; checks run in this order, so the first problem
/// found is the one reported.
pub fn validate_services(plugin: &LoadedPlugin, services: &[Service]) -> Result<(), String> {
    if services.is_empty() {
        return Err("returned no services".into());
    }
    if services.len() > MAX_SERVICES {
        return Err(format!("returned {} services (at most {MAX_SERVICES} per profile)", services.len()));
    }
    let caps = &plugin.info.capabilities;
    let mut names = HashSet::new();
    for s in services {
        let n = &s.name;
        if !valid_name(n) {
            return Err(format!("service name {n:?} is invalid (use 1-48 of [a-z0-9-], starting with a letter or digit)"));
        }
        if !names.insert(n.as_str()) {
            return Err(format!("service name {n:?} appears twice"));
        }
        if let Err(why) = image_problem(&s.image) {
            return Err(format!("service {n:?}: image {:?} {why}", s.image));
        }
        check_exec(n, s)?;
        check_ports_and_targets(n, s)?;
        check_process(n, s)?;
        check_volumes(n, s, caps)?;
        check_files(n, s)?;
        check_grants(n, s, caps)?;
        check_healthcheck(n, s)?;
    }
    Ok(())
}

/// Environment and argv: names, NUL bytes, and the sizes Linux lets `exec` take.
fn check_exec(n: &str, s: &Service) -> Result<(), String> {
    let mut exec_bytes = 0usize;
    for (k, v) in &s.environment {
        let why = if k.is_empty() {
            Some("has an empty name")
        } else if k.contains('=') || k.contains('\0') {
            Some("has '=' or a NUL byte in its name")
        } else if v.contains('\0') {
            Some("has a NUL byte in its value")
        } else if k.len() + 1 + v.len() > MAX_ARG_BYTES {
            Some("is longer than the 128 KiB a process may receive in one variable")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(format!("service {n:?}: environment variable {k:?} {why}"));
        }
        exec_bytes += k.len() + v.len() + 2;
    }
    for (field, argv) in [("entrypoint", &s.entrypoint), ("command", &s.command)] {
        let Some(argv) = argv else { continue };
        if argv.is_empty() {
            return Err(format!("service {n:?}: {field} [] is empty (leave it unset to use the image's)"));
        }
        // The first word is the program, unless an entrypoint comes before the command.
        if argv[0].is_empty() && (field == "entrypoint" || s.entrypoint.is_none()) {
            return Err(format!("service {n:?}: {field}[0] (the program to run) is empty"));
        }
        for (i, a) in argv.iter().enumerate() {
            if a.contains('\0') {
                return Err(format!("service {n:?}: {field}[{i}] {a:?} has a NUL byte"));
            }
            if a.len() >= MAX_ARG_BYTES {
                return Err(format!("service {n:?}: {field}[{i}] is {} bytes, more than the 128 KiB one argument may have", a.len()));
            }
            exec_bytes += a.len() + 1;
        }
    }
    if exec_bytes > MAX_EXEC_BYTES {
        return Err(format!("service {n:?}: environment, entrypoint and command add up to {exec_bytes} bytes (at most {MAX_EXEC_BYTES})"));
    }
    Ok(())
}

/// No port 0; no volume mounted on `/` or twice.
fn check_ports_and_targets(n: &str, s: &Service) -> Result<(), String> {
    for (i, p) in s.ports.iter().enumerate() {
        if p.container == 0 || p.host == 0 {
            return Err(format!("service {n:?}: ports[{i}] maps {} -> {}; port 0 is not allowed", p.container, p.host));
        }
    }
    let mut targets = HashSet::new();
    for (i, v) in s.volumes.iter().enumerate() {
        if v.target == "/" || !targets.insert(v.target.trim_end_matches('/')) {
            return Err(format!("service {n:?}: volumes[{i}].target {:?} is \"/\" or mounted twice", v.target));
        }
    }
    Ok(())
}

/// Stop signal, user and environment variable names as the engine accepts them.
fn check_process(n: &str, s: &Service) -> Result<(), String> {
    if let Some(sig) = &s.stop_signal {
        let ok = sig.parse::<u8>().is_ok_and(|n| (1..=64).contains(&n))
            || (sig.starts_with("SIG") && sig.len() <= 12 && sig[3..].chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '+' || c == '-'));
        if !ok {
            return Err(format!("service {n:?}: stop-signal {sig:?} is not a signal name (SIGTERM) or number"));
        }
    }
    if let Some(u) = &s.user
        && (u.is_empty() || !u.chars().all(|c| c.is_ascii_alphanumeric() || "_.-:".contains(c))) {
            return Err(format!("service {n:?}: user {u:?} must be name|uid[:group|gid]"));
        }
    for (k, _) in &s.environment {
        if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-') {
            return Err(format!("service {n:?}: environment variable name {k:?} may only hold letters, digits, '_', '.', '-'"));
        }
    }
    Ok(())
}

/// Volume targets and sources: names valid, host paths absolute and declared in `host-binds`.
fn check_volumes(n: &str, s: &Service, caps: &Capabilities) -> Result<(), String> {
    for (i, v) in s.volumes.iter().enumerate() {
        if !valid_abs_path(&v.target) {
            return Err(format!("service {n:?}: volumes[{i}].target {:?} must be an absolute path without '..'", v.target));
        }
        match &v.source {
            VolumeSource::Named(name) if !valid_name(name) => {
                return Err(format!("service {n:?}: volumes[{i}] name {name:?} is invalid (use [a-z0-9-])"))
            }
            VolumeSource::Host(path) | VolumeSource::HostShared(path) => {
                if !valid_abs_path(path) {
                    return Err(format!("service {n:?}: volumes[{i}] host path {path:?} must be absolute without '..'"));
                }
                if !caps.host_binds.iter().any(|prefix| path == prefix || path.starts_with(&format!("{}/", prefix.trim_end_matches('/')))) {
                    return Err(format!(
                        "service {n:?}: volumes[{i}] binds host path {path:?}, which the plugin did not declare in its host-binds capability"
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Files written into the container: absolute paths, modes, sizes.
fn check_files(n: &str, s: &Service) -> Result<(), String> {
    for (i, f) in s.files.iter().enumerate() {
        if !valid_abs_path(&f.path) || f.path.ends_with('/') {
            return Err(format!("service {n:?}: files[{i}].path {:?} must be an absolute file path without '..'", f.path));
        }
        if f.mode > 0o7777 {
            return Err(format!("service {n:?}: files[{i}].mode {:#o} is not a file mode", f.mode));
        }
        if f.contents.len() > MAX_FILE_BYTES {
            return Err(format!("service {n:?}: files[{i}] {:?} has {} bytes (a config file may have at most {MAX_FILE_BYTES})", f.path, f.contents.len()));
        }
    }
    Ok(())
}

/// Privileged mode, added capabilities and devices: only what the plugin declared.
fn check_grants(n: &str, s: &Service, caps: &Capabilities) -> Result<(), String> {
    if s.privileged && !caps.privileged {
        return Err(format!("service {n:?} asks for privileged mode, which the plugin did not declare"));
    }
    for c in &s.cap_add {
        if !caps.cap_add.iter().any(|d| d.eq_ignore_ascii_case(c)) {
            return Err(format!("service {n:?} adds capability {c:?}, which the plugin did not declare"));
        }
    }
    for d in &s.devices {
        if !caps.devices.contains(d) {
            return Err(format!("service {n:?} needs device {d:?}, which the plugin did not declare"));
        }
    }
    Ok(())
}

/// The healthcheck's shape and durations (Docker refuses or mishandles others).
fn check_healthcheck(n: &str, s: &Service) -> Result<(), String> {
    if let Some(h) = &s.healthcheck {
        let shape_ok = match h.test.first().map(String::as_str) {
            Some("CMD") | Some("CMD-SHELL") => h.test.len() >= 2 && !h.test[1].trim().is_empty(),
            Some("NONE") => h.test.len() == 1,
            _ => false,
        };
        if !shape_ok || h.test.iter().any(|a| a.contains('\0')) {
            return Err(format!(
                "service {n:?}: healthcheck.test {:?} must be [\"CMD\", program, args...], [\"CMD-SHELL\", \"command\"] or [\"NONE\"]",
                h.test
            ));
        }
        // Docker refuses intervals below 1 ms and panics on some degenerate shapes: keep sane.
        if h.interval_ms < 100 || h.timeout_ms < 100 {
            return Err(format!("service {n:?}: healthcheck interval ({} ms) and timeout ({} ms) must be at least 100 ms", h.interval_ms, h.timeout_ms));
        }
    }
    Ok(())
}
