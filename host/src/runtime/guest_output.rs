//! Guest stdout+stderr of one call, kept in a bounded buffer and shown when the call fails.

use std::sync::Arc;

/// Guest stdout+stderr of one call. Every write is accepted (a chatty plugin must not fail
/// because a buffer is full: Rust's `println!` panics when stdout refuses a write), but only the
/// last `cap` bytes are kept, which is where a panic or allocation-failure message ends up.
#[derive(Clone)]
pub struct GuestOutput {
    cap: usize,
    buf: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl GuestOutput {
    /// An empty buffer keeping the last `cap` bytes.
    pub fn new(cap: usize) -> Self {
        GuestOutput { cap, buf: Default::default() }
    }

    fn push(&self, bytes: &[u8]) {
        let mut buf = self.buf.lock().unwrap();
        buf.extend_from_slice(bytes);
        if buf.len() > 2 * self.cap {
            let cut = buf.len() - self.cap;
            buf.drain(..cut);
        }
    }

    /// The last `cap` bytes written.
    pub fn contents(&self) -> Vec<u8> {
        let buf = self.buf.lock().unwrap();
        buf[buf.len().saturating_sub(self.cap)..].to_vec()
    }
}

impl wasmtime_wasi::cli::IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn wasmtime_wasi::p2::OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl wasmtime_wasi::p2::OutputStream for GuestOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> wasmtime_wasi::p2::StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> wasmtime_wasi::p2::StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> wasmtime_wasi::p2::StreamResult<usize> {
        Ok(self.cap.max(1))
    }
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
