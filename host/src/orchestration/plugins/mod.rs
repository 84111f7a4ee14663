//! The plugins benchhost knows: the registry of loaded plugins, installing third-party ones,
//! and the capabilities a user grants them.

pub mod grants;
pub mod install;
pub mod registry;
