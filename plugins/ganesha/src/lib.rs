//! NFS-Ganesha with FSAL_VFS exporting `/export` (a volume) over NFSv4.1 on host port 22049.
//!
//! The NFSv4 grace period is disabled (`Graceless = true`) so a write right after `up`
//! succeeds; readiness is an NFSv4 NULL call answered by the server itself. A cold pass
//! restarts it (`empty_cache`): its metadata cache (MDCACHE) lives in the process's memory.

use benchhost_plugin_sdk::*;

struct Ganesha;

const NFS_PORT: u16 = 2049;
const HOST_PORT: u16 = 22049;
/// The one service (and its container's DNS name).
const SERVICE: &str = "ganesha";

/// Ganesha 4.3 configuration: one FSAL_VFS export of `/export` (pseudo path `/export`), NFSv4
/// only (v3 would need rpcbind), no root squash, no grace period, numeric NFSv4 owners: the
/// Linux kernel client shows an owner string it cannot map (`root@localdomain` on a client
/// without nfsidmap, or whose idmapd domain is not `localdomain`) as nobody, and takes numbers
/// as they are (tests/vm.rs). Verified against Debian bookworm's nfs-ganesha 4.3
/// (tests/images/README.md).
const GANESHA_CONF: &str = r#"NFS_CORE_PARAM {
    Protocols = 4;
    NFS_Port = 2049;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
}
NFS_KRB5 {
    Active_krb5 = false;
}
NFSv4 {
    Graceless = true;
    Only_Numeric_Owners = true;
}
LOG {
    Default_Log_Level = INFO;
}
EXPORT {
    Export_Id = 1;
    Path = /export;
    Pseudo = /export;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    FSAL {
        Name = VFS;
    }
}
"#;

impl Plugin for Ganesha {
    fn describe() -> PluginInfo {
        PluginInfo::new("ganesha").version(env!("CARGO_PKG_VERSION")).description("NFS-Ganesha user-space NFS server (FSAL_VFS)")
            .profile(Profile::target("ganesha").description("NFS-Ganesha over NFSv4.1, FSAL_VFS on a volume").protocol(Protocol::Nfs).port(HOST_PORT))
            .setting(Setting::new("GANESHA_IMAGE").default_value("benchhost/ganesha:4.3-2").description("NFS-Ganesha image with ganesha.nfsd and FSAL_VFS (build it with `tests/images/build.sh ganesha`)"))
            .cap_add("DAC_READ_SEARCH")
            .cap_add("SYS_ADMIN")
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, String> {
        Ok(vec![Service::new(SERVICE, ctx.setting("GANESHA_IMAGE"))
            .entrypoint(&["/usr/bin/ganesha.nfsd"])
            .command(&["-F", "-L", "STDERR", "-f", "/etc/ganesha/ganesha.conf"])
            .file("/etc/ganesha/ganesha.conf", GANESHA_CONF)
            .publish(NFS_PORT, HOST_PORT)
            .volume("export", "/export")
            // FSAL_VFS calls name_to_handle_at/open_by_handle_at, which Docker's default seccomp
            // profile allows only with DAC_READ_SEARCH + SYS_ADMIN. /export must not be overlayfs.
            .cap_add("DAC_READ_SEARCH")
            .cap_add("SYS_ADMIN")
            // Mounts and lists the export: proves the export itself works, not just the port.
            .healthcheck(Healthcheck::cmd(&["nfs-ls", "nfs://127.0.0.1/export?version=4"]))
            .stop_signal("SIGTERM").stop_grace_ms(10_000)])
    }

    fn healthcheck(_ctx: &Context, service: &str) -> Result<Health, String> {
        Ok(probe::nfs_null(service, NFS_PORT, 4))
    }

    fn mount_options(ctx: &Context) -> Result<MountSpec, String> {
        Ok(MountSpec::nfs41(ctx.host_os, "127.0.0.1:/export", HOST_PORT).note("this export serves NFSv4 only (NFSv3 would need rpcbind and MOUNT on 20048)"))
    }

    /// Ganesha keeps its own metadata cache in memory (MDCACHE: handles, attributes, directory
    /// entries), which only a restart empties; the file data it serves comes from the
    /// volume through the server's page cache, which the host drops. Nothing is lost: FSAL_VFS
    /// writes through to /export, and NFSv4 state needs no grace period (`Graceless = true`).
    fn empty_cache(_ctx: &Context) -> Result<CacheEmptied, String> {
        Ok(cache_emptied())
    }
}

/// What `empty_cache` answers: MDCACHE emptied by restarting the one service.
fn cache_emptied() -> CacheEmptied {
    CacheEmptied::emptied("ganesha's metadata cache (MDCACHE) emptied by restarting it").restart(SERVICE)
}

register_plugin!(Ganesha);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cold_pass_restarts_ganesha_for_its_mdcache() {
        let c = cache_emptied();
        assert_eq!(c.how, "ganesha's metadata cache (MDCACHE) emptied by restarting it");
        assert_eq!(c.restart, vec!["ganesha".to_string()]);
        // The restart names the service compose_service runs.
        let ctx = Context { profile: "ganesha".into(), settings: vec![("GANESHA_IMAGE".into(), "benchhost/ganesha:4.3-2".into())], host_os: HostOs::Linux };
        let services = <Ganesha as Plugin>::compose_service(&ctx).unwrap();
        assert_eq!(services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), c.restart);
    }
}
