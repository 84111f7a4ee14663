# shellcheck shell=bash
# Recipe for tests/images/build.sh ganesha: NFS-Ganesha 4.3 (Debian bookworm) with FSAL_VFS.
# Sourced by build.sh, which then installs PACKAGES in a debootstrap minbase rootfs, runs
# post_install_ganesha and `docker import`s it with CHANGES.
#
# nfs-ganesha + FSAL_VFS; rpcbind (+rpcinfo), needed only for NFSv3; procps for ps/pgrep;
# libnfs-utils for the in-container probe (nfs-ls, the HEALTHCHECK).
# shellcheck disable=SC2034  # PACKAGES, VERSION_PKG and CHANGES are read by build.sh
PACKAGES=(nfs-ganesha nfs-ganesha-vfs rpcbind procps libnfs-utils)
# shellcheck disable=SC2034
VERSION_PKG=nfs-ganesha
# shellcheck disable=SC2034
CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'EXPOSE 2049/tcp'
    # FSAL_VFS needs name_to_handle_at, which overlayfs (the container root) refuses: /export
    # must be a volume/tmpfs/bind mount.
    'VOLUME /export'
    # NFSv4 only; for v3 run: sh -c 'rpcbind && exec ganesha.nfsd ...'
    'CMD ["/usr/bin/ganesha.nfsd","-F","-L","STDERR","-f","/etc/ganesha/ganesha.conf"]'
    # Mounts /export over NFSv4 and lists it: proves the export works, needs no rpcbind.
    'HEALTHCHECK --interval=1s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/bin/nfs-ls","nfs://127.0.0.1/export?version=4"]'
)

post_install_ganesha() {
    local r=$1
    mkdir -p "$r/export" "$r/run/ganesha" "$r/var/lib/nfs/ganesha" "$r/etc/ganesha"
    chmod 0777 "$r/export"
    # Debian ships an example config exporting nothing useful; benchhost uploads its own
    # /etc/ganesha/ganesha.conf.
    rm -f "$r/etc/ganesha/ganesha.conf"
}
