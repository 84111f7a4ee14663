//! Samba (smbd) sharing `/export` (a volume) over SMB3 on host port 22445.
//!
//! No cache of its own (`empty_cache` keeps the SDK's default, none): smbd reads the volume
//! through the server's page cache, which benchhost drops before a cold pass.
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
fn check_user(user: &str) -> Result<(), String> {
    let mut chars = user.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if !first_ok || user.len() > 32 || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
        return Err(format!(
            "SAMBA_USER={user:?} is not a valid user name (1-32 of [a-z0-9_-], starting with a letter or '_')"
        ));
    }
    Ok(())
}

impl Plugin for Samba {
    fn describe() -> PluginInfo {
        PluginInfo::new("samba").version(env!("CARGO_PKG_VERSION")).description("Samba smbd sharing a volume over SMB3")
            .profile(Profile::target("samba").description("Samba 4 (smbd) over SMB3, one read-write share on a volume").protocol(Protocol::Smb).port(HOST_PORT))
            .setting(Setting::new("SAMBA_IMAGE").default_value("benchhost/samba:2_4.17.12_dfsg-0_deb12u4").description("Samba image with smbd, smbpasswd, useradd and smbclient (build it with `tests/images/build.sh samba`)"))
            .setting(Setting::new("SAMBA_USER").default_value("bench").description("Samba user created at start (the only user of the share)"))
            .setting(Setting::secret("SAMBA_PASSWORD").default_value("bench").description("Password of SAMBA_USER"))
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, String> {
        let user = ctx.setting("SAMBA_USER");
        check_user(user)?;
        let password = ctx.setting_one_line("SAMBA_PASSWORD")?; // smbpasswd -s reads one line per password
        let docker_check = Healthcheck::cmd(&["smbclient", "-L", "//127.0.0.1", "-N", "-m", "SMB3"]).retries(3).start_period_ms(60_000);
        Ok(vec![Service::new("samba", ctx.setting("SAMBA_IMAGE"))
            .entrypoint(&[START_SCRIPT])
            .env("SAMBA_USER", user)
            .env("SAMBA_PASSWORD", password)
            .file(SMB_CONF, smb_conf(user))
            .script(START_SCRIPT, start_script())
            .publish(SMB_PORT, HOST_PORT)
            .volume("export", "/export")
            // Anonymous share listing over SMB3: smbd answers on 445 (needs no password).
            .healthcheck(docker_check)
            .stop_signal("SIGTERM").stop_grace_ms(10_000)])
    }

    fn healthcheck(_ctx: &Context, service: &str) -> Result<Health, String> {
        Ok(probe::ready_when(|| {
            // 1. smbd answers SMB2 NEGOTIATE through the published port.
            probe::smb2_negotiate(service, SMB_PORT)?;
            // 2. The configured user logs in and lists the share. smbclient reads the password
            // from $PASSWD; the shell expands it from the container's environment, so it is in
            // no argv (the literal `$SAMBA_PASSWORD` is).
            let script = r#"PASSWD="$SAMBA_PASSWORD" exec smbclient //127.0.0.1/export -U "$SAMBA_USER" -m SMB3 -c ls"#;
            let out = host::exec(service, &["sh", "-c", script], 5_000).map_err(|e| format!("smbclient //127.0.0.1/export: {e}"))?;
            out.success("smbclient //127.0.0.1/export as $SAMBA_USER", 300).map(|_| ())
        }))
    }

    fn mount_options(ctx: &Context) -> Result<MountSpec, String> {
        let user = ctx.setting("SAMBA_USER");
        // The password is a secret and the mount command is printed, so it is not in the
        // options: mount.cifs / mount_smbfs ask for it.
        let note = match ctx.host_os {
            HostOs::Macos => "SMB3; mount_smbfs asks for SAMBA_PASSWORD (default bench), or store it in the keychain",
            _ => "SMB 3.0 pinned; mount.cifs asks for SAMBA_PASSWORD (default bench). For scripts, add \
                  password=... or credentials=FILE to -o, or set PASSWD in mount's environment",
        };
        Ok(MountSpec::smb3(ctx.host_os, "export", HOST_PORT, user).note(note))
    }
}

register_plugin!(Samba);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_user("bench").is_ok());
        assert!(check_user("_svc-1").is_ok());
        assert!(check_user("Bench").is_err());
        assert!(check_user("a b").is_err());
        assert!(check_user("x\n[evil]").is_err());
        assert!(check_user("").is_err());
    }
}
