//! The host imports (`benchhost:plugin/host`), one file each: the only effects a plugin has.
//! Every import is bounded by its own timeout and by what is left of the operation's budget.
//! They take and return the newest contract's types; each version's bindings
//! (`contract::since_v*`) implement its `Host` trait on top of them.

mod exec;
mod http;
mod log;
mod sleep;
mod tcp;

pub use http::MAX_HTTP_BODY;
pub use tcp::MAX_TCP_REPLY;
