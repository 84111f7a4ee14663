//! The newest contract (`wit/since_v0.3.0/plugin.wit`): the host's bindings for plugins
//! built for it, their linker, and the host imports. Its plugin functions fail with a
//! `plugin-error` (a setting the user gave, or the plugin's own defect), and it adds
//! `empty-cache` (the cold pass of `benchhost bench`).

/// The first contract version these bindings run; they run every `0.3.x`.
pub const MIN_VERSION: &str = "0.3.0";

wasmtime::component::bindgen!({
    path: "../wit/since_v0.3.0",
    world: "benchhost-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [PartialEq],
});

super::host_imports!(self::benchhost::plugin::host);

impl self::benchhost::plugin::types::Host for super::super::state::State {}
