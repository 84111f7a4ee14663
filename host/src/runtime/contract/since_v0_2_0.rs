//! Contract 0.2.0 (`wit/since_v0.2.0/plugin.wit`, frozen): the host's bindings for plugins
//! built for it, their linker, and the host imports as this version names them, converted to
//! and from the newest version's. Its plugin functions fail with a `plugin-error`; it has no
//! `empty-cache` (a cold pass keeps such a plugin's own cache, and says so).

/// The first contract version these bindings run; they run every `0.2.x`.
pub const MIN_VERSION: &str = "0.2.0";

wasmtime::component::bindgen!({
    path: "../wit/since_v0.2.0",
    world: "benchhost-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [PartialEq],
    // The records are unchanged in `since_v0_3_0` (which only adds `cache-emptied`): share them.
    with: { "benchhost:plugin/types": super::since_v0_3_0::benchhost::plugin::types },
});

super::converted_host_imports!(self::benchhost::plugin::host);
