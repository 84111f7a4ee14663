//! The contract version a plugin was built for, read from the file *before* compiling it.
//!
//! The SDK stamps the version it implements into a custom section `benchhost:api-version`
//! (UTF-8 semver, e.g. `0.1.0`). Plugins built without the SDK are recognised by the version in
//! their `benchhost:plugin/plugin@X.Y.Z` export. The whole file is walked, so truncated or
//! garbage bytes give an error, never a panic (Zed PR #10370).

use super::contract::ContractVersion;
use wasmparser::{Parser, Payload};

/// The custom section the SDK writes.
pub const API_VERSION_SECTION: &str = "benchhost:api-version";

/// The newest contract version this host implements (its `contract::latest` bindings); it
/// also runs every older one that has bindings in [`super::contract`].
pub const CURRENT_API: &str = super::contract::latest::MIN_VERSION;

/// What the file says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComponentFacts {
    /// From the custom section, if present.
    pub stamped: Option<String>,
    /// Versions of `benchhost:plugin/...` names the component imports or exports.
    pub contract_versions: Vec<String>,
    /// Every import name (interfaces), e.g. `benchhost:plugin/host@0.1.0`, `wasi:io/streams@0.2.6`.
    pub imports: Vec<String>,
}

impl ComponentFacts {
    /// The version to check: the stamp, else the contract names.
    pub fn api_version(&self) -> Option<&str> {
        self.stamped.as_deref().or(self.contract_versions.first().map(String::as_str))
    }
}

/// Walks the whole component. Errors describe the first malformed spot.
pub fn read_facts(bytes: &[u8]) -> Result<ComponentFacts, String> {
    let mut facts = ComponentFacts::default();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| format!("malformed WebAssembly: {e}"))?;
        match payload {
            Payload::CustomSection(c) if c.name() == API_VERSION_SECTION => {
                let v = std::str::from_utf8(c.data()).map_err(|_| format!("{API_VERSION_SECTION} section is not UTF-8"))?;
                facts.stamped.get_or_insert_with(|| v.trim().to_string());
            }
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(|e| format!("malformed import: {e}"))?;
                    let name = import.name.name.to_string();
                    note_contract(&name, &mut facts);
                    facts.imports.push(name);
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    let export = export.map_err(|e| format!("malformed export: {e}"))?;
                    note_contract(export.name.name, &mut facts);
                }
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(facts)
}

fn note_contract(name: &str, facts: &mut ComponentFacts) {
    if let Some(rest) = name.strip_prefix("benchhost:plugin/")
        && let Some((_, v)) = rest.split_once('@')
            && !facts.contract_versions.iter().any(|x| x == v) {
                facts.contract_versions.push(v.to_string());
            }
}

/// The bindings that run plugins built for `version`: those of the same major.minor while 0.x
/// (semver-compatible from 1.0), never newer than [`CURRENT_API`]. The error names both versions
/// and the supported range.
pub fn check_supported(version: &str) -> Result<ContractVersion, String> {
    let v = semver::Version::parse(version).map_err(|_| format!("API version {version:?} is not semver"))?;
    let cur = semver::Version::parse(CURRENT_API).expect("valid");
    let not_newer = (v.major, v.minor) <= (cur.major, cur.minor);
    match ContractVersion::of(&v) {
        Some(contract) if not_newer => Ok(contract),
        _ => Err(format!("built for benchhost plugin API {version}; this benchhost supports {}", supported_range())),
    }
}

/// The supported range as text, e.g. `0.1.0–0.2.x`: the oldest bindings' first version to the
/// newest's minor.
pub fn supported_range() -> String {
    let oldest = ContractVersion::ALL[0].min_version();
    let cur = semver::Version::parse(CURRENT_API).expect("valid");
    format!("{oldest}–{}.{}.x", cur.major, cur.minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_range() {
        assert_eq!(check_supported("0.1.0"), Ok(ContractVersion::V0_1_0));
        assert_eq!(check_supported("0.1.7"), Ok(ContractVersion::V0_1_0));
        assert_eq!(check_supported("0.2.5"), Ok(ContractVersion::V0_2_0));
        assert_eq!(check_supported(CURRENT_API), Ok(ContractVersion::V0_3_0));
        assert_eq!(check_supported("0.3.2"), Ok(ContractVersion::V0_3_0));
        assert!(check_supported("0.0.9").is_err());
        let e = check_supported("0.4.0").unwrap_err();
        assert_eq!(e, "built for benchhost plugin API 0.4.0; this benchhost supports 0.1.0–0.3.x");
        assert!(check_supported("1.0.0").is_err());
        assert!(check_supported("banana").unwrap_err().contains("banana"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read_facts(b"\0asm\x0d\0\x01\0\xff\xff\xff").is_err());
        assert!(read_facts(&[0u8; 3]).is_err());
    }
}
