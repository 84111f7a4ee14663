//! Loading a plugin: the file checked (a component, of a contract version this host runs)
//! before compiling, its imports and exports matched against the host, then `describe`.

use super::contract::{self, ContractVersion, Linkers, PluginInfo, Pre};
use super::error::{Operation, PluginError, PluginErrorKind};
use super::gateway::NoServices;
use super::{artifacts, version, PluginRuntime};
use std::sync::Arc;

/// A compiled, pre-instantiated plugin and what it said about itself.
pub struct LoadedPlugin {
    pub info: PluginInfo,
    /// Where it came from, for messages (`built-in` or a file path).
    pub origin: String,
    /// The contract version whose bindings run it.
    contract: ContractVersion,
    pub(super) pre: Pre,
}

impl LoadedPlugin {
    /// The contract version whose bindings run this plugin (the one it was built for).
    pub fn contract_version(&self) -> ContractVersion {
        self.contract
    }
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LoadedPlugin({} {} from {})", self.info.name, self.info.version, self.origin)
    }
}

impl PluginRuntime {
    /// Compiles `bytes` (through the cache), checks its imports against the host, and calls
    /// `describe`. `origin` names the source in messages (file path or `built-in`).
    pub async fn load(&self, origin: &str, bytes: &[u8]) -> Result<LoadedPlugin, PluginError> {
        let label = origin.rsplit('/').next().unwrap_or(origin).to_string();
        let invalid = |msg: String| PluginError {
            plugin: label.clone(),
            version: "?".into(),
            operation: Operation::Load,
            kind: PluginErrorKind::Invalid(msg),
            guest_output: String::new(),
        };
        let (facts, contract) = check_file(origin, bytes).map_err(invalid)?;
        let pre = self.link(origin, bytes, &facts, contract).map_err(invalid)?;
        let mut plugin = LoadedPlugin {
            info: PluginInfo {
                name: label.clone(),
                version: "?".into(),
                description: String::new(),
                profiles: vec![],
                settings: vec![],
                capabilities: contract::Capabilities { privileged: false, cap_add: vec![], devices: vec![], host_binds: vec![], host_kernel: vec![] },
            },
            origin: origin.to_string(),
            contract,
            pre,
        };
        let info = self
            .call_within(&plugin, Operation::Describe, Arc::new(NoServices), None, |p, s| {
                Box::pin(async move { p.call_describe(s).await })
            })
            .await?;
        plugin.info = info;
        Ok(plugin)
    }

    /// Compiles the component and matches its imports and exports against those of `contract`.
    fn link(&self, origin: &str, bytes: &[u8], facts: &version::ComponentFacts, contract: ContractVersion) -> Result<Pre, String> {
        let component = artifacts::compile(&self.engine, self.artifacts.as_deref(), bytes).map_err(|e| format!("{origin} does not compile: {e:#}"))?;
        let own = Linkers::own_imports(contract);
        let pre = self.linkers.instantiate_pre(contract, &component).map_err(|e| {
            let unknown: Vec<&str> = facts.imports.iter().map(String::as_str).filter(|i| !(i.starts_with("wasi:") || own.iter().any(|o| o == i))).collect();
            if unknown.is_empty() {
                format!("{origin} needs imports this benchhost does not provide: {e:#}")
            } else {
                format!(
                    "{origin} needs {} which this benchhost does not provide (it provides benchhost:plugin@{} and WASI 0.2)",
                    unknown.join(", "),
                    contract.min_version()
                )
            }
        })?;
        pre.map_err(|e| {
            format!(
                "{origin} does not export the benchhost:plugin/plugin@{} interface: {e:#}\n  hint: implement every function of the contract (benchhost-plugin-sdk's `register_plugin!` exports all of them)",
                contract.min_version()
            )
        })
    }
}

/// Checks, before compiling, that `bytes` is a component built for a contract version this
/// host runs: a clear message beats a linker error. Returns what the file says about itself and
/// the bindings that run it.
fn check_file(origin: &str, bytes: &[u8]) -> Result<(version::ComponentFacts, ContractVersion), String> {
    if bytes.len() < 8 || &bytes[0..4] != b"\0asm" {
        return Err(format!("{origin} is not a WebAssembly file (bad magic bytes)"));
    }
    // Layer 1 is a component; version 1 is a core module.
    if bytes[6..8] == [0, 0] {
        return Err(format!("{origin} is a core WebAssembly module, not a component; build it with `cargo build --target wasm32-wasip2`"));
    }
    let facts = version::read_facts(bytes).map_err(|e| format!("{origin}: {e}"))?;
    let api = facts.api_version().ok_or_else(|| {
        format!(
            "{origin} is not a benchhost plugin: it neither carries a {} section nor exports benchhost:plugin/plugin",
            version::API_VERSION_SECTION
        )
    })?;
    let contract = version::check_supported(api).map_err(|e| format!("{origin} is {e}; rebuild it with a matching benchhost-plugin-sdk"))?;
    Ok((facts, contract))
}
