//! The plugins benchhost knows: the registry of loaded plugins, the capabilities a user grants
//! them, and the scaffold of a new one.

pub mod grants;
pub mod registry;
pub mod scaffold;
