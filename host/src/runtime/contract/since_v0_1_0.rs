//! Contract 0.1.0 (`wit/since_v0.1.0/plugin.wit`, frozen): the host's bindings for plugins
//! built for it, their linker, and the host imports as this version names them, converted to
//! and from the newest version's. Its plugin functions fail with a plain `string`.

/// The first contract version these bindings run; they run every `0.1.x`.
pub const MIN_VERSION: &str = "0.1.0";

wasmtime::component::bindgen!({
    path: "../wit/since_v0.1.0",
    world: "benchhost-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [PartialEq],
    // The records are unchanged in `since_v0_3_0` (0.2.0 added `plugin-error`, the next
    // `cache-emptied`): share them.
    with: { "benchhost:plugin/types": super::since_v0_3_0::benchhost::plugin::types },
});

/// A 0.1.0 plugin's error: a message that does not say whose mistake it is, so the plugin's
/// own until the caller reads more into it.
impl From<String> for super::PluginError {
    fn from(message: String) -> Self {
        super::PluginError::Defect(message)
    }
}

super::converted_host_imports!(self::benchhost::plugin::host);
