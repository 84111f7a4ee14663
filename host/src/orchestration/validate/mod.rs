//! Everything a plugin returns is checked here, before any container exists: its description,
//! its services, image references, the whole stack, and and image references.

pub mod describe;
pub mod image_ref;
pub mod services;
pub mod stack;
