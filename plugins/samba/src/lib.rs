//! Samba (smbd) sharing `/export` (a volume) over SMB3 on host port 22445.
//!
//! The plugin writes its own `smb.conf` and a start script into the container. The script
//! creates the Samba user from `SAMBA_USER` / `SAMBA_PASSWORD` (environment variables, so the
//! password is in no process's argv), then execs smbd in the foreground as PID 1. Readiness is
//! an SMB2 NEGOTIATE answered through the published port, then an authenticated `smbclient ls`
//! of the share inside the container: smbd answers, the user exists and the share works.
//!
//! The image needs smbd, smbpasswd, useradd, smbclient and `sh`; `tests/images/build.sh samba`
//! builds one from Debian bookworm (Samba 4.17).

use benchhost_plugin_sdk::*;

struct Samba;

const SMB_PORT: u16 = 445;
const HOST_PORT: u16 = 22445;
const START_SCRIPT: &str = "/usr/local/sbin/benchhost-samba-start";
const SMB_CONF: &str = "/etc/samba/smb.conf";

/// `smb.conf` for one read-write share `export` of `/export`, for user `user` only.
///
/// Choices (Samba 4.17):
/// - `server min protocol = SMB3_00`: the client pins `vers=3.0`, DittoFS's reference harness
///   serves SMB3 only too, so every SMB run compares the same protocol family. SMB1 and
///   NetBIOS (137-139) are off; smbd listens on 445 only.
/// - Stand-alone server with a tdbsam user database, `map to guest = Never`: only the
///   configured user gets in (a wrong password is refused, never downgraded to guest).
///   Anonymous IPC$ (`smbclient -L -N`, the Docker healthcheck) still lists shares.
/// - Durability, like the NFS servers that honour COMMIT and stable writes:
///   `strict sync = yes` (a client flush becomes an fsync, the Samba default made explicit)
///   and `sync always = no` (no fsync after every write, which no NFS server here does
///   either). Everything else (aio, oplocks/leases, no sendfile) stays at Samba's defaults, so
///   results reflect a stock smbd.
/// - No printers or spoolss; logs go to stdout (smbd's `--debug-stdout`) at level 1.
fn smb_conf(user: &str) -> String {
    format!(
        r#"# Written by the benchhost samba plugin (see plugins/samba/src/lib.rs for the reasons).
[global]
   server role = standalone server
   workgroup = WORKGROUP
   netbios name = BENCHHOST
   security = user
   passdb backend = tdbsam
   map to guest = Never
   server min protocol = SMB3_00
   smb ports = {SMB_PORT}
   disable netbios = yes
   load printers = no
   printing = bsd
   printcap name = /dev/null
   disable spoolss = yes
   log level = 1
   strict sync = yes
   sync always = no

[export]
   path = /export
   read only = no
   browseable = yes
   valid users = {user}
   create mask = 0664
   directory mask = 0775
"#
    )
}

/// The container's entrypoint: creates the Unix account and Samba password of `$SAMBA_USER`
/// (idempotent: a restarted container only resets the password), gives it `/export`, then
/// execs smbd as PID 1 (SIGTERM stops it).
fn start_script() -> String {
    format!(
        r#"#!/bin/sh
# Written by the benchhost samba plugin.
set -eu
: "${{SAMBA_USER:?SAMBA_USER is not set}}"
: "${{SAMBA_PASSWORD:?SAMBA_PASSWORD is not set}}"
if ! id -u "$SAMBA_USER" >/dev/null 2>&1; then
    useradd --no-create-home --home-dir /export --shell /usr/sbin/nologin "$SAMBA_USER"
fi
# smbpasswd -s reads the password twice from stdin; printf is a shell builtin, so the password
# is in no argv.
printf '%s\n%s\n' "$SAMBA_PASSWORD" "$SAMBA_PASSWORD" | smbpasswd -c {SMB_CONF} -s -a "$SAMBA_USER" >/dev/null
chown "$SAMBA_USER:" /export
chmod 0775 /export
echo "benchhost: samba user $SAMBA_USER ready; starting smbd"
exec smbd --foreground --no-process-group --debug-stdout --configfile={SMB_CONF}
"#
    )
}

/// A Unix/Samba user name that useradd accepts and that is safe inside smb.conf.
fn check_user(user: &str) -> Result<(), Error> {
    let mut chars = user.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if !first_ok || user.len() > 32 || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
        return Err(Error::setting(
            "SAMBA_USER",
            format!("SAMBA_USER={user:?} is not a valid user name (1-32 of [a-z0-9_-], starting with a letter or '_')"),
        ));
    }
    Ok(())
}

fn check_password(password: &str) -> Result<(), Error> {
    // smbpasswd -s reads one line per password.
    if password.is_empty() || password.contains(['\n', '\r', '\0']) {
        return Err(Error::setting("SAMBA_PASSWORD", "SAMBA_PASSWORD must be non-empty and on one line"));
    }
    Ok(())
}

/// An SMB2 NEGOTIATE request offering SMB 3.0 and 3.0.2 (no 3.1.1, which would need negotiate
/// contexts), with its NetBIOS session header (MS-SMB2 2.2.1.2, 2.2.3).
fn smb2_negotiate_request() -> Vec<u8> {
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
fn check_smb2_negotiate_reply(reply: &[u8]) -> Result<u16, String> {
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

/// The last `n` characters of a command's output, on one line, for a Waiting reason.
fn tail(text: &str, n: usize) -> String {
    let t = text.trim().replace('\n', " | ");
    let count = t.chars().count();
    if count <= n { t } else { format!("...{}", t.chars().skip(count - n).collect::<String>()) }
}

impl Plugin for Samba {
    fn describe() -> PluginInfo {
        PluginInfo::new("samba", env!("CARGO_PKG_VERSION"), "Samba smbd sharing a volume over SMB3")
            .profile(Profile::target("samba", "Samba 4 (smbd) over SMB3, one read-write share on a volume", "smb", Some(HOST_PORT)))
            .setting(Setting::new(
                "SAMBA_IMAGE",
                "benchhost/samba:2_4.17.12_dfsg-0_deb12u4",
                "Samba image with smbd, smbpasswd, useradd and smbclient (build it with `tests/images/build.sh samba`)",
            ))
            .setting(Setting::new("SAMBA_USER", "bench", "Samba user created at start (the only user of the share)"))
            .setting(Setting::secret("SAMBA_PASSWORD", "bench", "Password of SAMBA_USER"))
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, Error> {
        let user = ctx.setting("SAMBA_USER");
        let password = ctx.setting("SAMBA_PASSWORD");
        check_user(user)?;
        check_password(password)?;
        let mut docker_check = Healthcheck::cmd(&["smbclient", "-L", "//127.0.0.1", "-N", "-m", "SMB3"], 1_000, 5_000, 3);
        docker_check.start_period_ms = 60_000;
        Ok(vec![Service::new("samba", ctx.setting("SAMBA_IMAGE"))
            .entrypoint(&[START_SCRIPT])
            .env("SAMBA_USER", user)
            .env("SAMBA_PASSWORD", password)
            .file(SMB_CONF, smb_conf(user))
            .file_mode(START_SCRIPT, start_script(), 0o755)
            .publish(SMB_PORT, HOST_PORT)
            .volume("export", "/export")
            // Anonymous share listing over SMB3: smbd answers on 445 (needs no password).
            .healthcheck(docker_check)
            .stop_signal("SIGTERM", 10_000)])
    }

    fn healthcheck(_ctx: &Context, service: &str) -> Result<Health, String> {
        // 1. smbd answers SMB2 NEGOTIATE through the published port.
        match host::tcp_exchange(service, SMB_PORT, &smb2_negotiate_request(), 2_000) {
            Ok(reply) => {
                if let Err(e) = check_smb2_negotiate_reply(&reply) {
                    return Ok(Health::Waiting(format!("SMB2 NEGOTIATE on port {SMB_PORT}: {e}")));
                }
            }
            Err(e) => return Ok(Health::Waiting(format!("SMB2 NEGOTIATE on port {SMB_PORT}: {e}"))),
        }
        // 2. The configured user logs in and lists the share. smbclient reads the password
        // from $PASSWD; the shell expands it from the container's environment, so it is in
        // no argv (the literal `$SAMBA_PASSWORD` is).
        let script = r#"PASSWD="$SAMBA_PASSWORD" exec smbclient //127.0.0.1/export -U "$SAMBA_USER" -m SMB3 -c ls"#;
        match host::exec(service, &["sh", "-c", script], 5_000) {
            Ok(out) if out.exit_code == 0 => Ok(Health::Ready),
            Ok(out) => Ok(Health::Waiting(format!(
                "smbclient //127.0.0.1/export as $SAMBA_USER exited {}: {}",
                out.exit_code,
                tail(&format!("{} {}", out.stdout, out.stderr), 300)
            ))),
            Err(e) => Ok(Health::Waiting(format!("smbclient //127.0.0.1/export: {e}"))),
        }
    }

    fn mount_options(ctx: &Context) -> Result<MountSpec, String> {
        let user = ctx.setting("SAMBA_USER");
        // The password is a secret and the mount command is printed, so it is not in the
        // options: mount.cifs / mount_smbfs ask for it.
        Ok(match ctx.host_os {
            HostOs::Macos => MountSpec::new(
                "smb",
                &format!("//{user}@127.0.0.1:{HOST_PORT}/export"),
                &[],
                "SMB3; mount_smbfs asks for SAMBA_PASSWORD (default bench), or store it in the keychain",
            ),
            _ => {
                let port = format!("port={HOST_PORT}");
                let username = format!("username={user}");
                MountSpec::new(
                    "smb",
                    "//127.0.0.1/export",
                    &[&port, "vers=3.0", &username],
                    "SMB 3.0 pinned; mount.cifs asks for SAMBA_PASSWORD (default bench). For scripts, add \
                     password=... or credentials=FILE to -o, or set PASSWD in mount's environment",
                )
            }
        })
    }
}

register_plugin!(Samba);

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn names_are_checked() {
        assert!(check_user("bench").is_ok());
        assert!(check_user("_svc-1").is_ok());
        assert!(check_user("Bench").is_err());
        assert!(check_user("a b").is_err());
        assert!(check_user("x\n[evil]").is_err());
        assert!(check_user("").is_err());
        assert!(check_password("p a$s'").is_ok());
        assert!(check_password("a\nb").is_err());
        assert!(check_password("").is_err());
    }
}
