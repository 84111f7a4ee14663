//! Readiness probes that make a server answer in its own protocol, over
//! [`crate::host::tcp_exchange`] and [`crate::host::Http`]: ONC RPC NULL (NFS), the PostgreSQL
//! StartupMessage, SMB2 NEGOTIATE, an HTTP status.
//!
//! A TCP connect to a published port succeeds as soon as Docker's proxy listens, so it proves
//! nothing. A healthcheck of several steps chains them with `?` inside [`ready_when`]:
//!
//! ```ignore
//! fn healthcheck(ctx: &Context, service: &str) -> Result<Health, String> {
//!     Ok(probe::ready_when(|| {
//!         probe::postgres_startup(service, 5432, ctx.setting("POSTGRES_USER"), ctx.setting("POSTGRES_DB"))?;
//!         host::exec(service, &["psql", "-c", "select 1"], 5_000)?.success("psql", 200).map(|_| ())
//!     }))
//! }
//! ```

use crate::host;
use crate::Health;

/// `Ready` when `checks` returns `Ok`, else `Waiting` with its reason: the steps of a probe
/// each return `Err(why)` while the server is not ready yet.
pub fn ready_when(checks: impl FnOnce() -> Result<(), String>) -> Health {
    match checks() {
        Ok(()) => Health::Ready,
        Err(why) => Health::Waiting(why),
    }
}

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
    ready_when(|| {
        host::tcp_exchange(service, port, &rpc_null_call(xid, NFS_PROGRAM, version), 2_000)
            .and_then(|reply| check_rpc_null_reply(&reply, xid))
            .map_err(|e| format!("NFSv{version} NULL call on port {port}: {e}"))
    })
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

/// A PostgreSQL protocol 3.0 StartupMessage for `user` on `database`.
pub fn postgres_startup_message(user: &str, database: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608u32.to_be_bytes()); // protocol 3.0
    for (k, v) in [("user", user), ("database", database), ("application_name", "benchhost-probe")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Reads the server's first reply to [`postgres_startup_message`]: `Ok` for an authentication
/// message (`R`: the server accepts connections and asks for credentials, or lets us in),
/// `Err` with the server's code and message for an `E` (e.g. "the database system is starting
/// up").
pub fn check_postgres_startup_reply(reply: &[u8]) -> Result<(), String> {
    match reply.first() {
        Some(b'R') if reply.len() >= 9 => Ok(()),
        Some(b'E') => {
            // Fields: a type byte then a NUL-terminated string, e.g. S(everity), C(ode), M(essage).
            let body = reply.get(5..).unwrap_or(&[]);
            let (mut code, mut message) = (String::new(), String::new());
            for field in body.split(|b| *b == 0).filter(|f| !f.is_empty()) {
                let text = String::from_utf8_lossy(&field[1..]).into_owned();
                match field[0] {
                    b'C' => code = text,
                    b'M' => message = text,
                    _ => {}
                }
            }
            Err(format!("server error {code}: {message}"))
        }
        Some(b) => Err(format!("unexpected reply type {:?} ({} bytes)", *b as char, reply.len())),
        None => Err("empty reply".into()),
    }
}

/// Sends a StartupMessage for `user` on `database` to `service`'s PostgreSQL `port`: `Ok` once
/// the server answers with an authentication request, not "the database system is starting
/// up". The error starts `StartupMessage on port <port>:`.
pub fn postgres_startup(service: &str, port: u16, user: &str, database: &str) -> Result<(), String> {
    host::tcp_exchange(service, port, &postgres_startup_message(user, database), 2_000)
        .and_then(|reply| check_postgres_startup_reply(&reply))
        .map_err(|e| format!("StartupMessage on port {port}: {e}"))
}

/// An SMB2 NEGOTIATE request offering SMB 3.0 and 3.0.2 (no 3.1.1, which would need negotiate
/// contexts), with its NetBIOS session header (MS-SMB2 2.2.1.2, 2.2.3).
pub fn smb2_negotiate_request() -> Vec<u8> {
    let dialects: [u16; 2] = [0x0300, 0x0302];
    let mut msg = Vec::with_capacity(64 + 36 + 4);
    // SMB2 header (64 bytes).
    msg.extend_from_slice(b"\xfeSMB");
    msg.extend_from_slice(&64u16.to_le_bytes()); // StructureSize
    msg.extend_from_slice(&0u16.to_le_bytes()); // CreditCharge
    msg.extend_from_slice(&0u32.to_le_bytes()); // Status / ChannelSequence
    msg.extend_from_slice(&0u16.to_le_bytes()); // Command: NEGOTIATE
    msg.extend_from_slice(&1u16.to_le_bytes()); // CreditRequest
    msg.extend_from_slice(&0u32.to_le_bytes()); // Flags
    msg.extend_from_slice(&0u32.to_le_bytes()); // NextCommand
    msg.extend_from_slice(&0u64.to_le_bytes()); // MessageId
    msg.extend_from_slice(&0u32.to_le_bytes()); // Reserved (ProcessId)
    msg.extend_from_slice(&0u32.to_le_bytes()); // TreeId
    msg.extend_from_slice(&0u64.to_le_bytes()); // SessionId
    msg.extend_from_slice(&[0u8; 16]); // Signature
    // NEGOTIATE request body.
    msg.extend_from_slice(&36u16.to_le_bytes()); // StructureSize
    msg.extend_from_slice(&(dialects.len() as u16).to_le_bytes()); // DialectCount
    msg.extend_from_slice(&1u16.to_le_bytes()); // SecurityMode: signing enabled
    msg.extend_from_slice(&0u16.to_le_bytes()); // Reserved
    msg.extend_from_slice(&0u32.to_le_bytes()); // Capabilities
    msg.extend_from_slice(b"benchhost-probe!"); // ClientGuid
    msg.extend_from_slice(&0u64.to_le_bytes()); // ClientStartTime
    for d in dialects {
        msg.extend_from_slice(&d.to_le_bytes());
    }
    let len = msg.len() as u32;
    let mut out = vec![0u8, (len >> 16) as u8, (len >> 8) as u8, len as u8];
    out.extend_from_slice(&msg);
    out
}

/// Checks the reply to [`smb2_negotiate_request`]: an SMB2 NEGOTIATE response with status
/// SUCCESS and an SMB 3.0.x dialect. Returns the dialect; the error says what differed.
pub fn check_smb2_negotiate_reply(reply: &[u8]) -> Result<u16, String> {
    let u16_at = |i: usize| reply.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |i: usize| reply.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if reply.len() < 4 + 64 + 6 {
        return Err(format!("short SMB2 reply ({} bytes)", reply.len()));
    }
    if &reply[4..8] != b"\xfeSMB" {
        return Err(format!("reply is not SMB2 (starts {:02x?})", &reply[4..8]));
    }
    let status = u32_at(4 + 8).unwrap_or(u32::MAX);
    if status != 0 {
        return Err(format!("NEGOTIATE answered NT status {status:#010x}"));
    }
    let command = u16_at(4 + 12).unwrap_or(u16::MAX);
    if command != 0 {
        return Err(format!("reply command {command} is not NEGOTIATE"));
    }
    if u32_at(4 + 16).unwrap_or(0) & 1 == 0 {
        return Err("reply lacks SMB2_FLAGS_SERVER_TO_REDIR".into());
    }
    let body = 4 + 64;
    if u16_at(body) != Some(65) {
        return Err(format!("NEGOTIATE response StructureSize {:?} (want 65)", u16_at(body)));
    }
    match u16_at(body + 4) {
        Some(d @ (0x0300 | 0x0302)) => Ok(d),
        other => Err(format!("server chose dialect {other:04x?}, not SMB 3.0/3.0.2")),
    }
}

/// Sends SMB2 NEGOTIATE to `service`'s SMB `port`: `Ok` once smbd answers with SMB 3.0.x. The
/// error starts `SMB2 NEGOTIATE on port <port>:`.
pub fn smb2_negotiate(service: &str, port: u16) -> Result<(), String> {
    host::tcp_exchange(service, port, &smb2_negotiate_request(), 2_000)
        .and_then(|reply| check_smb2_negotiate_reply(&reply).map(|_| ()))
        .map_err(|e| format!("SMB2 NEGOTIATE on port {port}: {e}"))
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

    #[test]
    fn startup_message_layout() {
        let m = postgres_startup_message("bench", "db");
        assert_eq!(u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize, m.len());
        assert_eq!(&m[4..8], &[0, 3, 0, 0]);
        assert!(m.windows(11).any(|w| w == b"user\0bench\0"));
        assert_eq!(*m.last().unwrap(), 0);
    }

    #[test]
    fn startup_reply_checks() {
        // AuthenticationSASL (10).
        let sasl = [b'R', 0, 0, 0, 23, 0, 0, 0, 10, b'S', b'C', b'R', b'A', b'M'];
        assert_eq!(check_postgres_startup_reply(&sasl), Ok(()));
        let mut e = vec![b'E', 0, 0, 0, 0];
        e.extend_from_slice(b"SFATAL\0C57P03\0Mthe database system is starting up\0\0");
        let err = check_postgres_startup_reply(&e).unwrap_err();
        assert!(err.contains("57P03") && err.contains("starting up"), "{err}");
        assert!(check_postgres_startup_reply(b"N").unwrap_err().contains("'N'"));
        assert!(check_postgres_startup_reply(b"").unwrap_err().contains("empty"));
    }

    #[test]
    fn negotiate_request_is_well_formed() {
        let r = smb2_negotiate_request();
        assert_eq!(r.len(), 4 + 64 + 36 + 4);
        assert_eq!(&r[0..4], &[0, 0, 0, 104]);
        assert_eq!(&r[4..8], b"\xfeSMB");
        assert_eq!(&r[68..70], &36u16.to_le_bytes());
        assert_eq!(&r[104..108], &[0x00, 0x03, 0x02, 0x03]);
    }

    #[test]
    fn negotiate_reply_checks() {
        let mut ok = vec![0u8; 4 + 64 + 65];
        ok[4..8].copy_from_slice(b"\xfeSMB");
        ok[4 + 16] = 1;
        ok[68..70].copy_from_slice(&65u16.to_le_bytes());
        ok[72..74].copy_from_slice(&0x0302u16.to_le_bytes());
        assert_eq!(check_smb2_negotiate_reply(&ok), Ok(0x0302));
        let mut bad = ok.clone();
        bad[12..16].copy_from_slice(&0xC000_0022u32.to_le_bytes());
        assert!(check_smb2_negotiate_reply(&bad).unwrap_err().contains("0xc0000022"));
        let mut smb1 = ok.clone();
        smb1[4] = 0xff;
        assert!(check_smb2_negotiate_reply(&smb1).unwrap_err().contains("not SMB2"));
        let mut v2 = ok.clone();
        v2[72..74].copy_from_slice(&0x0210u16.to_le_bytes());
        assert!(check_smb2_negotiate_reply(&v2).unwrap_err().contains("0210"));
        assert!(check_smb2_negotiate_reply(&ok[..20]).unwrap_err().contains("short"));
    }
}
