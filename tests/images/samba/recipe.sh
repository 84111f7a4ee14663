# shellcheck shell=bash
# Recipe for tests/images/build.sh samba: Samba 4.17 (Debian bookworm) with smbclient for
# in-container probes. Sourced by build.sh, which then installs PACKAGES in a debootstrap
# minbase rootfs, runs post_install_samba and `docker import`s it with CHANGES.
#
# samba: smbd + smbpasswd (samba-common-bin); smbclient: the SMB client the benchhost probe and
# the Docker HEALTHCHECK run inside the container; passwd: useradd (the start script creates
# the Samba user's Unix account); procps: ps/pgrep for debugging.
# shellcheck disable=SC2034  # PACKAGES, VERSION_PKG and CHANGES are read by build.sh
PACKAGES=(samba smbclient passwd procps)
# shellcheck disable=SC2034
VERSION_PKG=samba
# shellcheck disable=SC2034
CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'EXPOSE 445/tcp'
    'VOLUME /export'
    # Without benchhost (which uploads its own smb.conf and start script and sets the
    # entrypoint): smbd in the foreground, PID 1, logs on stdout, with the image's smb.conf
    # below (a guest-only share of /export).
    'CMD ["/usr/sbin/smbd","--foreground","--no-process-group","--debug-stdout"]'
    # An anonymous share listing over SMB3 proves smbd answers on 445.
    'HEALTHCHECK --interval=1s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/bin/smbclient","-L","//127.0.0.1","-N","-m","SMB3"]'
)

post_install_samba() {
    local r=$1
    mkdir -p "$r/export" "$r/run/samba" "$r/var/lib/samba/private" "$r/var/cache/samba" "$r/var/log/samba"
    chmod 0777 "$r/export"
    # Debian's example smb.conf shares home directories and printers; replace it with a
    # stand-alone guest share so the bare image works. benchhost overwrites this file.
    cat >"$r/etc/samba/smb.conf" <<'CONF'
[global]
   server role = standalone server
   server min protocol = SMB3_00
   smb ports = 445
   disable netbios = yes
   map to guest = Bad User
   load printers = no
   printing = bsd
   printcap name = /dev/null
   disable spoolss = yes
   log level = 1

[export]
   path = /export
   read only = no
   guest ok = yes
CONF
    # No stale state from the package's postinst in the image.
    rm -f "$r"/var/lib/samba/private/*.tdb "$r"/var/lib/samba/*.tdb "$r"/var/cache/samba/*.tdb 2>/dev/null || true
}
