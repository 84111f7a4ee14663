//! The boundary between the plugin runtime and the world: which services a plugin may reach
//! and how. The orchestration layer implements [`ServiceGateway`] on top of the Docker engine;
//! the runtime never names Docker.

use crate::exec::ExecResult;
use futures_util::future::BoxFuture;
use std::net::SocketAddr;
use std::time::Duration;

/// What a plugin's host imports may touch during one operation.
pub trait ServiceGateway: Send + Sync {
    /// The host address for `service`'s container `port`, or an error saying why the plugin may
    /// not reach it (not its service, port not published, not running).
    fn resolve(&self, service: &str, port: u16) -> Result<SocketAddr, String>;

    /// Runs `argv` (no shell) in `service`'s container, bounded by `timeout`.
    fn exec<'a>(
        &'a self,
        service: &'a str,
        argv: Vec<String>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<ExecResult, String>>;

    /// A line the plugin logged at info level or above during this operation, secrets already
    /// replaced with `***` and control characters escaped (`warning: ` / `error: ` prefixed).
    /// The default drops it; the stack keeps bootstrap's for the run record.
    fn note(&self, _line: &str) {}
}

/// The gateway of operations that must have no effects (`describe`, `compose-service`,
/// `mount-options`): every import that reaches out is refused.
pub struct NoServices;

impl ServiceGateway for NoServices {
    fn resolve(&self, service: &str, _port: u16) -> Result<SocketAddr, String> {
        Err(format!("service {service:?} cannot be reached from this operation (no services are running)"))
    }
    fn exec<'a>(&'a self, service: &'a str, _argv: Vec<String>, _t: Duration) -> BoxFuture<'a, Result<ExecResult, String>> {
        Box::pin(async move { Err(format!("exec in {service:?} is not allowed in this operation")) })
    }
}
