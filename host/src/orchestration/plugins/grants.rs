//! Capabilities are declared and granted. A plugin declares what its containers need beyond a
//! plain container (`privileged`, added Linux capabilities, devices, host bind mounts). Built-in
//! plugins are granted what they declare; a third-party plugin's needs must be granted by the
//! user, with `--allow PLUGIN:CAPABILITY` (repeatable) or `BENCHHOST_ALLOW` (comma-separated).
//!
//! Capability names: `privileged`, `cap-add:<NAME>`, `device:<PATH>`, `host-bind:<PATH>`, or
//! `all` (everything the plugin declares).

use crate::orchestration::error::BenchError;
use crate::runtime::contract::PluginInfo;

/// Every capability `info` declares, as grant names.
pub fn declared(info: &PluginInfo) -> Vec<String> {
    let c = &info.capabilities;
    let mut out = Vec::new();
    if c.privileged {
        out.push("privileged".to_string());
    }
    out.extend(c.cap_add.iter().map(|x| format!("cap-add:{}", x.to_ascii_uppercase())));
    out.extend(c.devices.iter().map(|d| format!("device:{d}")));
    out.extend(c.host_binds.iter().map(|b| format!("host-bind:{b}")));
    out
}

/// The user's grants: `PLUGIN:CAPABILITY` strings from flags and `BENCHHOST_ALLOW`.
#[derive(Clone, Debug, Default)]
pub struct Grants(Vec<String>);

impl Grants {
    /// From `--allow` values plus the comma-separated `BENCHHOST_ALLOW` value.
    pub fn new(flags: &[String], env: Option<&str>) -> Self {
        let mut all: Vec<String> = flags.to_vec();
        all.extend(env.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string));
        Grants(all)
    }

    fn granted(&self, plugin: &str, capability: &str) -> bool {
        self.0.iter().any(|g| match g.split_once(':') {
            Some((p, c)) => p == plugin && (c == "all" || c.eq_ignore_ascii_case(capability) || normalise(c) == normalise(capability)),
            None => false,
        })
    }

    /// Errors (usage) naming the first declared capability of third-party plugin `info` that is
    /// not granted, and how to grant it.
    pub fn check(&self, info: &PluginInfo, origin: &str) -> Result<(), BenchError> {
        let missing: Vec<String> = declared(info).into_iter().filter(|c| !self.granted(&info.name, c)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let flags: Vec<String> = missing.iter().map(|c| format!("--allow {}:{c}", info.name)).collect();
        Err(BenchError::Usage(format!(
            "third-party plugin \"{}\" {} ({origin}) needs {} you have not granted: {}\n  hint: review the plugin, then grant with {} (or BENCHHOST_ALLOW={})",
            info.name,
            info.version,
            if missing.len() == 1 { "a capability" } else { "capabilities" },
            missing.join(", "),
            flags.join(" "),
            missing.iter().map(|c| format!("{}:{c}", info.name)).collect::<Vec<_>>().join(",")
        )))
    }
}

fn normalise(c: &str) -> String {
    match c.split_once(':') {
        Some(("cap-add", name)) => format!("cap-add:{}", name.trim_start_matches("CAP_").to_ascii_uppercase()),
        _ => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::contract::Capabilities;

    fn info(privileged: bool, caps: &[&str]) -> PluginInfo {
        PluginInfo {
            name: "mynfs".into(),
            version: "0.1.0".into(),
            description: String::new(),
            profiles: vec![],
            settings: vec![],
            capabilities: Capabilities {
                privileged,
                cap_add: caps.iter().map(|s| s.to_string()).collect(),
                devices: vec![],
                host_binds: vec!["/tmp".into()],
                host_kernel: vec![],
            },
        }
    }

    #[test]
    fn every_declared_capability_must_be_granted() {
        let i = info(true, &["SYS_ADMIN"]);
        let err = Grants::new(&[], None).check(&i, "/p/mynfs.wasm").unwrap_err().to_string();
        assert!(err.contains("privileged, cap-add:SYS_ADMIN, host-bind:/tmp"), "{err}");
        assert!(err.contains("--allow mynfs:privileged --allow mynfs:cap-add:SYS_ADMIN --allow mynfs:host-bind:/tmp"), "{err}");
        let partial = Grants::new(&["mynfs:privileged".into()], Some("mynfs:cap-add:CAP_SYS_ADMIN"));
        assert!(partial.check(&i, "x").unwrap_err().to_string().contains("a capability you have not granted: host-bind:/tmp"));
        assert!(Grants::new(&["mynfs:all".into()], None).check(&i, "x").is_ok());
        // A grant for another plugin does not count.
        assert!(Grants::new(&["other:all".into()], None).check(&i, "x").is_err());
        assert!(Grants::new(&[], None).check(&info(false, &[]), "x").is_err(), "host-bind still needs a grant");
    }
}
