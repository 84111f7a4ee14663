//! The end of a run: `down`, `clean`, what removes resources, and what is up (`status`).

pub mod clean;
pub mod down;
pub mod remove;
pub mod retire;
pub mod status;
pub mod unfinished;
