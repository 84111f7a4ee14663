//! `tcp-exchange(service, port, request, timeout)`: one request and the first reply segment,
//! for protocol probes such as an ONC RPC NULL call.

use super::super::state::Imports;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Largest reply a `tcp-exchange` returns (64 KiB).
pub const MAX_TCP_REPLY: usize = 64 << 10;

impl Imports {
    /// Connects to the host address of `service`'s `port`, sends `request` and returns the
    /// first read (at most [`MAX_TCP_REPLY`] bytes), within the timeout and the budget.
    pub(in super::super) async fn tcp_exchange(&self, service: &str, port: u16, request: Vec<u8>, timeout_ms: u32) -> Result<Vec<u8>, String> {
        let addr = self.gateway.resolve(service, port)?;
        let timeout = self.bounded(timeout_ms);
        tracing::debug!(plugin = %self.plugin, %service, port, "tcp-exchange of {} bytes", request.len());
        let work = async {
            let mut stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect {service}:{port}: {e}"))?;
            stream.write_all(&request).await.map_err(|e| format!("send to {service}:{port}: {e}"))?;
            let mut buf = vec![0u8; MAX_TCP_REPLY];
            let n = stream.read(&mut buf).await.map_err(|e| format!("receive from {service}:{port}: {e}"))?;
            buf.truncate(n);
            Ok(buf)
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| format!("tcp exchange with {service}:{port} timed out after {timeout:?}"))?
    }
}
