//! Protocol readiness probes that run over [`crate::host::tcp_exchange`].
//!
//! A TCP connect to a published port succeeds as soon as Docker's proxy listens, so it proves
//! nothing; these probes make the server answer in its own protocol.

use crate::host;
use crate::Health;

/// ONC RPC program number of NFS (RFC 1813 / RFC 7530).
pub const NFS_PROGRAM: u32 = 100003;

/// The bytes of an ONC RPC (RFC 5531) NULL call over TCP, with record marking: procedure 0 of
/// `program`/`version`, AUTH_NONE credentials, transaction id `xid`.
pub fn rpc_null_call(xid: u32, program: u32, version: u32) -> Vec<u8> {
    let words = [xid, 0 /* CALL */, 2 /* RPC version */, program, version, 0 /* NULL */, 0, 0, 0, 0];
    let mut out = Vec::with_capacity(4 + words.len() * 4);
    out.extend_from_slice(&(0x8000_0000u32 | (words.len() as u32 * 4)).to_be_bytes());
    for w in words {
        out.extend_from_slice(&w.to_be_bytes());
    }
    out
}

/// Checks an RPC reply (with record mark) to [`rpc_null_call`]: same xid, REPLY, MSG_ACCEPTED,
/// SUCCESS. The error says which field differed.
pub fn check_rpc_null_reply(reply: &[u8], xid: u32) -> Result<(), String> {
    let word = |i: usize| -> Option<u32> { reply.get(4 + i * 4..8 + i * 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])) };
    let (Some(rxid), Some(mtype), Some(stat)) = (word(0), word(1), word(2)) else {
        return Err(format!("short RPC reply ({} bytes)", reply.len()));
    };
    if rxid != xid {
        return Err(format!("RPC reply xid {rxid:#x} does not match call {xid:#x}"));
    }
    if mtype != 1 {
        return Err(format!("RPC message type {mtype} is not REPLY"));
    }
    if stat != 0 {
        return Err(format!("RPC call denied (reply_stat {stat})"));
    }
    // verifier: flavor, length, body (length bytes, padded), then accept_stat.
    let vlen = word(4).ok_or("short RPC reply (no verifier)")? as usize;
    let accept = word(5 + vlen.div_ceil(4)).ok_or("short RPC reply (no accept_stat)")?;
    if accept != 0 {
        return Err(format!("RPC accept_stat {accept} (0 = SUCCESS; 2 = PROG_MISMATCH)"));
    }
    Ok(())
}

/// Probes an NFS server with a NULL call of `version` at `service`'s container `port`.
/// `Waiting` (not an error) while the server does not answer yet.
///
/// ```ignore
/// fn healthcheck(_ctx: &Context, service: &str) -> Result<Health, String> {
///     Ok(probe::nfs_null(service, 2049, 4))
/// }
/// ```
pub fn nfs_null(service: &str, port: u16, version: u32) -> Health {
    let xid = 0x6265_6e63; // "benc"
    match host::tcp_exchange(service, port, &rpc_null_call(xid, NFS_PROGRAM, version), 2_000) {
        Ok(reply) => match check_rpc_null_reply(&reply, xid) {
            Ok(()) => Health::Ready,
            Err(e) => Health::Waiting(format!("NFSv{version} NULL call on port {port}: {e}")),
        },
        Err(e) => Health::Waiting(format!("NFSv{version} NULL call on port {port}: {e}")),
    }
}

/// Probes an HTTP endpoint: `Ready` when `GET path` answers `expect_status`.
///
/// ```ignore
/// Ok(probe::http_status(service, 8080, "/health/ready", 200))
/// ```
pub fn http_status(service: &str, port: u16, path: &str, expect_status: u16) -> Health {
    match host::Http::new("GET", service, port, path).timeout_ms(2_000).send() {
        Ok(r) if r.status == expect_status => Health::Ready,
        Ok(r) => Health::Waiting(format!("GET {path} on port {port} answered {} (want {expect_status})", r.status)),
        Err(e) => Health::Waiting(format!("GET {path} on port {port}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_call_is_40_bytes_plus_record_mark() {
        let c = rpc_null_call(7, NFS_PROGRAM, 4);
        assert_eq!(c.len(), 44);
        assert_eq!(&c[0..4], &[0x80, 0, 0, 40]);
        assert_eq!(&c[4..8], &7u32.to_be_bytes());
        assert_eq!(&c[16..20], &NFS_PROGRAM.to_be_bytes());
    }

    #[test]
    fn reply_checks() {
        let ok: Vec<u8> = [0x8000_0018u32, 7, 1, 0, 0, 0, 0].iter().flat_map(|w| w.to_be_bytes()).collect();
        assert_eq!(check_rpc_null_reply(&ok, 7), Ok(()));
        assert!(check_rpc_null_reply(&ok, 8).unwrap_err().contains("xid"));
        let mismatch: Vec<u8> = [0x8000_0020u32, 7, 1, 0, 0, 0, 2, 3, 4].iter().flat_map(|w| w.to_be_bytes()).collect();
        assert!(check_rpc_null_reply(&mismatch, 7).unwrap_err().contains("accept_stat 2"));
        assert!(check_rpc_null_reply(&[0, 0], 7).unwrap_err().contains("short"));
    }
}
