//! The Linux kernel NFS server (knfsd) in a container (`erichough/nfs-server`),
//! exporting `/export` on host port 32049. knfsd runs in the *host* kernel, so the Docker host
//! needs nfsd: the plugin declares the `nfsd` host-kernel capability and benchhost refuses to
//! start (exit 6, with a hint) where it is missing, before creating anything.
//!
//! No cache of its own (`empty_cache` keeps the SDK's default, none): knfsd serves the volume
//! through the host kernel's page cache, which benchhost drops before a cold pass.

use benchhost_plugin_sdk::*;

struct KernelNfs;

const NFS_PORT: u16 = 2049;
const HOST_PORT: u16 = 32049;

impl Plugin for KernelNfs {
    fn describe() -> PluginInfo {
        PluginInfo::new("kernel-nfs").version(env!("CARGO_PKG_VERSION")).description("Linux kernel NFS server (knfsd) in a container")
            .profile(Profile::target("kernel-nfs").description("Linux kernel NFS server (knfsd) over NFSv4.1; needs nfsd in the host kernel").protocol(Protocol::Nfs).port(HOST_PORT))
            .setting(Setting::new("KERNEL_NFS_IMAGE").default_value("erichough/nfs-server:2.2.1").description("knfsd image (pinned; amd64 only)"))
            .cap_add("SYS_ADMIN")
            .host_kernel("nfsd")
    }

    fn compose_service(ctx: &Context) -> Result<Vec<Service>, String> {
        Ok(vec![Service::new("kernel-nfs", ctx.setting("KERNEL_NFS_IMAGE"))
            // fsid=0 makes /export the NFSv4 pseudo-root, so v4 clients mount `host:/`.
            .env("NFS_EXPORT_0", "/export *(rw,no_subtree_check,no_root_squash,fsid=0,sync)")
            .env("NFS_DISABLE_VERSION_3", "1")
            .publish(NFS_PORT, HOST_PORT)
            .volume("export", "/export")
            // The image mounts nfsd's filesystem and starts the kernel server (its README:
            // SYS_ADMIN, with nfs/nfsd modules loaded on the host).
            .cap_add("SYS_ADMIN")
            .stop_signal("SIGTERM").stop_grace_ms(10_000)])
    }

    fn healthcheck(_ctx: &Context, service: &str) -> Result<Health, String> {
        Ok(probe::nfs_null(service, NFS_PORT, 4))
    }

    fn mount_options(ctx: &Context) -> Result<MountSpec, String> {
        Ok(MountSpec::nfs41(ctx.host_os, "127.0.0.1:/", HOST_PORT).note(
            "/export is the v4 pseudo-root (fsid=0), so the source is `/`; NFSv3 is disabled (its MOUNT daemon would need rpcbind and more published ports)",
        ))
    }
}

register_plugin!(KernelNfs);
