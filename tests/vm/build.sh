#!/usr/bin/env bash
# Builds benchhost's client VM: a Debian kernel and an initramfs that together are a real Linux
# NFS/SMB client, booted by `benchhost vm run` under QEMU. Everything comes from Debian packages
# of SUITE through the mirror this machine's apt sources name (tests/lib/apt-sources.sh):
#   - the kernel of linux-image-cloud-amd64 (apt-get download + dpkg -x; nothing is installed)
#   - busybox-static (the guest's shell and tools)
#   - fio, built statically from Debian's fio source package (apt-get source fio)
#   - dash as /bin/sh, mount/umount (util-linux), mount.nfs (nfs-common) and mount.cifs
#     (cifs-utils) with the shared libraries they need, so `mount -t nfs …` / `mount -t cifs …`
#     run the same shell and helpers as on a user's Debian
#   - the module closure of nfs, nfsv3, nfsv4, sunrpc, lockd, cifs (with its soft
#     dependencies), virtio_net and qemu_fw_cfg, and the kernel's crypto modules (SMB3 signing
#     needs them), with the ones SMB3 asks for first loaded at boot
#   - tests/vm/init as /init
#
# Usage: tests/vm/build.sh [--force]
# Output: DIR/{vmlinuz,initramfs.gz,manifest}; DIR is
#   ${XDG_CACHE_HOME:-$HOME/.cache}/benchhost/client-vm (what `benchhost vm run` reads).
# The manifest's `recipe` is a hash of this script, tests/vm/init and tests/lib/apt-sources.sh:
# a build with the same recipe is reused at once (exit 0), a changed recipe rebuilds; --force
# rebuilds anyway. The static fio is cached on its own (DIR-parts/fio-VERSION-HASH), so a change
# elsewhere does not recompile it. A build is made in a temporary directory beside DIR and
# moved into place whole: a failed or interrupted build leaves the previous one as it was.
#
# Needs: apt-get, dpkg-deb, depmod and modprobe (kmod), cpio, gzip, gcc, make, readelf
# (binutils), the static libaio and zlib (libaio-dev, zlib1g-dev); as root the missing ones are
# installed with apt-get, else the script names the command. `benchhost vm run` also needs
# qemu-system-x86_64 (qemu-system-x86), installed here too.
# Env: DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR override the configured sources.
set -euo pipefail

SUITE=bookworm
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/apt-sources.sh
source "$HERE/../lib/apt-sources.sh"

OUT=${XDG_CACHE_HOME:-$HOME/.cache}/benchhost/client-vm
PARTS=$OUT-parts
# The modules named in the design; cifs's soft dependencies are added from modinfo.
MODULES=(virtio_pci virtio_net qemu_fw_cfg sunrpc lockd nfs nfsv3 nfsv4 cifs)
# Loaded before cifs: SMB3 signing and encryption allocate these (without them a cifs mount
# fails with "Failed alloc encrypt aead ... rc=-2").
CRYPTO_PRELOAD=(ctr ghash_generic aesni_intel ccm gcm cmac)
# Whole module directories carried for what the kernel asks modprobe for at run time.
CRYPTO_DIRS=(kernel/crypto kernel/arch/x86/crypto kernel/lib/crypto)
FIO_CONFIGURE=(--build-static --disable-native --disable-numa --disable-rdma --disable-rados --disable-rbd
               --disable-http --disable-gfapi --disable-libnfs --disable-pmem --disable-xnvme
               --disable-libzbc --disable-tcmalloc --disable-dfs)
# Packages whose binaries the guest runs (their lib* dependencies are added and resolved).
# dash is /bin/sh, as on Debian: busybox's ash would run its own applets (mount, umount) before
# anything on PATH, so a job's `mount -t nfs …` would never reach util-linux and mount.nfs.
# request-key + nfsidmap: the kernel's NFSv4 id mapper asks them to map owner strings
# (`root@localdomain`) to ids, as on a Debian with nfs-common; the nsswitch plugin is dlopen()ed.
HELPER_PACKAGES=(dash mount nfs-common cifs-utils libtirpc-common netbase keyutils libnfsidmap1)
HELPERS=(bin/dash bin/mount bin/umount sbin/mount.nfs sbin/umount.nfs sbin/mount.cifs sbin/request-key usr/sbin/nfsidmap
         usr/lib/x86_64-linux-gnu/libnfsidmap/nsswitch.so)

T0=$(date +%s.%N)
log() { awk -v t0="$T0" -v t1="$(date +%s.%N)" -v m="$*" 'BEGIN { printf "[vm/build.sh %6.1fs] %s\n", t1 - t0, m }' >&2; }
die() { printf 'vm/build.sh: error: %s\n' "$*" >&2; exit 1; }

FORCE=0
for arg in "$@"; do
    case "$arg" in
        --force|-f) FORCE=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [--force]" >&2; exit 2 ;;
    esac
done

RECIPE=$(cat "$0" "$HERE/init" "$HERE/../lib/apt-sources.sh" | sha256sum | cut -c1-16)
if [[ $FORCE -eq 0 && -s "$OUT/vmlinuz" && -s "$OUT/initramfs.gz" && -f "$OUT/manifest" ]] \
   && grep -qx "recipe=$RECIPE" "$OUT/manifest"; then
    log "client VM is up to date in $OUT ($(grep '^kernel=' "$OUT/manifest" | cut -d= -f2), recipe $RECIPE)"
    exit 0
fi

# --- what the host needs --------------------------------------------------------------------
missing=()
need() { command -v "$1" >/dev/null || missing+=("$2"); }
need apt-get apt; need dpkg-deb dpkg; need dpkg-source dpkg-dev; need depmod kmod; need modprobe kmod
need cpio cpio; need gzip gzip; need gcc gcc; need make make; need readelf binutils
need qemu-system-x86_64 qemu-system-x86
[[ -e /usr/lib/x86_64-linux-gnu/libaio.a ]] || missing+=(libaio-dev)
[[ -e /usr/lib/x86_64-linux-gnu/libz.a ]] || missing+=(zlib1g-dev)
if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
        log "installing ${missing[*]} (apt-get)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } \
            || die "could not install ${missing[*]}: run \`sudo apt-get install -y ${missing[*]}\` and rerun"
    else
        die "missing ${missing[*]}: run \`sudo apt-get install -y --no-install-recommends ${missing[*]}\` and rerun"
    fi
fi
[[ "$(uname -m)" == x86_64 ]] || die "the client VM is x86_64 (Debian amd64 packages); this machine is $(uname -m)"

mkdir -p "$(dirname "$OUT")" "$PARTS"
W=$(mktemp -d "$(dirname "$OUT")/.client-vm-build.XXXXXX")
trap 'rm -rf "$W"' EXIT
log "building the client VM in $W (recipe $RECIPE)"

apt_private_init "$W/apt" "$SUITE" || die "apt-get update of $SUITE from $(debian_mirror 2>/dev/null || echo '?') failed"
apt_get() { apt-get "${APT_PRIVATE_OPTS[@]}" -q "$@"; }
apt_cache() { apt-cache "${APT_PRIVATE_OPTS[@]}" "$@"; }
version_of() { apt_cache show --no-all-versions "$1" | awk '$1 == "Version:" { print $2; exit }'; }

# The lib* packages reachable from the given ones through lib* Depends/Pre-Depends (one
# apt-cache call per level of the graph).
lib_closure() {
    local -A seen=()
    local level=("$@") next dep
    while ((${#level[@]})); do
        next=()
        while read -r dep; do
            dep=${dep%:amd64}
            [[ $dep == lib* && -z ${seen[$dep]:-} ]] || continue
            seen[$dep]=1; next+=("$dep")
        done < <(apt_cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances "${level[@]}" \
                 | awk '$1 ~ /^\|?(Pre)?Depends:$/ && $2 !~ /^</ { print $2 }')
        level=("${next[@]}")
    done
    printf '%s\n' "${!seen[@]}"
}

# --- packages ---------------------------------------------------------------------------------
KPKG=$(apt_cache depends linux-image-cloud-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-cloud-amd64$/ { print $2; exit }')
[[ -n "$KPKG" ]] || die "linux-image-cloud-amd64 of $SUITE names no linux-image-*-cloud-amd64 package"
mapfile -t LIBS < <(lib_closure "${HELPER_PACKAGES[@]}" | sort)
mkdir -p "$W/debs" "$W/pkg" "$W/kernel"
log "downloading $KPKG, busybox-static, ${HELPER_PACKAGES[*]} and ${#LIBS[@]} libraries"
(cd "$W/debs" && apt_get download "$KPKG" busybox-static "${HELPER_PACKAGES[@]}" "${LIBS[@]}" >/dev/null) \
    || die "apt-get download from $SUITE failed (packages: $KPKG busybox-static ${HELPER_PACKAGES[*]} ${LIBS[*]})"
for deb in "$W"/debs/*.deb; do
    case "$(basename "$deb")" in
        linux-image-*) dpkg-deb -x "$deb" "$W/kernel" ;;
        *) dpkg-deb -x "$deb" "$W/pkg" ;;
    esac
done
KVER=$(basename "$(find "$W/kernel/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -1)")
[[ -n "$KVER" && -f "$W/kernel/boot/vmlinuz-$KVER" ]] || die "$KPKG has no /boot/vmlinuz-* with a /lib/modules/* directory"

# --- fio, static ------------------------------------------------------------------------------
FIO_VERSION=$(apt_cache showsrc fio | awk '$1 == "Version:" { print $2 }' | sort -V | tail -1)
[[ -n "$FIO_VERSION" ]] || die "no fio source package in $SUITE (deb-src of $(debian_mirror))"
FIO_KEY=$(printf '%s %s\n' "$FIO_VERSION" "${FIO_CONFIGURE[*]}" | sha256sum | cut -c1-12)
FIO_BIN="$PARTS/fio-$FIO_VERSION-$FIO_KEY/fio"
if [[ ! -x "$FIO_BIN" ]]; then
    log "building fio $FIO_VERSION statically from Debian's source package (make -j2; 15 to 40 s)"
    mkdir -p "$W/fio"
    (cd "$W/fio" && apt_get source "fio=$FIO_VERSION" >"$W/fio/source.log" 2>&1) \
        || { tail -5 "$W/fio/source.log" >&2; die "apt-get source fio=$FIO_VERSION failed (log above)"; }
    src=$(find "$W/fio" -mindepth 1 -maxdepth 1 -type d -name 'fio-*' | head -1)
    (cd "$src" && ./configure "${FIO_CONFIGURE[@]}" >"$W/fio/configure.log" 2>&1) \
        || { tail -20 "$W/fio/configure.log" >&2; die "fio's ./configure ${FIO_CONFIGURE[*]} failed (log above)"; }
    grep -Eq '^Static build +yes' "$W/fio/configure.log" || die "fio's configure did not enable the static build (see its output in $src)"
    grep -Eq '^Linux AIO support +yes' "$W/fio/configure.log" || die "fio's configure found no libaio (install libaio-dev)"
    (cd "$src" && make -j2 fio >"$W/fio/make.log" 2>&1) || { tail -20 "$W/fio/make.log" >&2; die "building fio failed (log above)"; }
    mkdir -p "$(dirname "$FIO_BIN")"
    strip -o "$FIO_BIN.tmp" "$src/fio" && mv "$FIO_BIN.tmp" "$FIO_BIN"
else
    log "fio $FIO_VERSION: reusing $FIO_BIN"
fi

# --- the initramfs tree -----------------------------------------------------------------------
R=$W/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc/benchhost,proc,sys,dev,tmp,run,mnt,root,lib64,var/lib/nfs}
install -m 0755 "$W/pkg/bin/busybox" "$R/bin/busybox"
# Every applet as a symlink, except where the real tool (util-linux, nfs-common) is carried.
while read -r applet; do
    [[ -e "$R/$applet" || -L "$R/$applet" ]] || ln -s /bin/busybox "$R/$applet"
done < <("$R/bin/busybox" --list-full)
install -m 0755 "$FIO_BIN" "$R/usr/bin/fio"
install -m 0755 "$HERE/init" "$R/init"

# The mount helpers and every shared library they need (found in the downloaded packages).
LIBDIRS=(lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64)
find_lib() { local d; for d in "${LIBDIRS[@]}"; do [[ -e "$W/pkg/$d/$1" ]] && { printf '%s\n' "$d/$1"; return 0; }; done; return 1; }
declare -A copied=()
copy_elf() { # copy_elf RELPATH: RELPATH (dereferenced) and, recursively, its NEEDED libraries
    local rel=$1 so lib interp
    [[ -z ${copied[$rel]:-} ]] || return 0
    copied[$rel]=1
    rm -f "$R/$rel"; mkdir -p "$(dirname "$R/$rel")"
    cp -L "$W/pkg/$rel" "$R/$rel"
    interp=$(readelf -l "$W/pkg/$rel" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
    if [[ -n "$interp" ]]; then copy_elf "${interp#/}"; fi
    while read -r so; do
        lib=$(find_lib "$so") || die "$so (needed by /$rel) is in none of the downloaded packages: add its package to HELPER_PACKAGES"
        copy_elf "$lib"
    done < <(readelf -d "$W/pkg/$rel" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
}
for h in "${HELPERS[@]}"; do
    [[ -e "$W/pkg/$h" ]] || die "/$h is not in ${HELPER_PACKAGES[*]} of $SUITE"
    rm -f "$R/$h"
    copy_elf "$h"
done
ln -sf dash "$R/bin/sh"
# nfs-common's aliases: mount.nfs4, umount.nfs4 (and cifs-utils' mount.smb3) are links.
for link in sbin/mount.nfs4 sbin/umount.nfs4 sbin/mount.smb3; do
    [[ -L "$W/pkg/$link" ]] && cp -a "$W/pkg/$link" "$R/$link"
done
# What libtirpc and libc read (transports, protocol and service names), and the id mapper's
# configuration (nfs-common's postinst would install its idmapd.conf).
for f in etc/netconfig etc/protocols etc/services etc/request-key.conf etc/request-key.d/id_resolver.conf; do
    [[ -f "$W/pkg/$f" ]] || die "/$f is not in ${HELPER_PACKAGES[*]}"
    mkdir -p "$(dirname "$R/$f")"
    cp "$W/pkg/$f" "$R/$f"
done
cp "$W/pkg/usr/share/nfs-common/conffiles/idmapd.conf" "$R/etc/idmapd.conf" || die "nfs-common has no conffiles/idmapd.conf"

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
printf '127.0.0.1 localhost\n10.0.2.15 client-vm\n' >"$R/etc/hosts"
printf 'passwd: files\ngroup: files\nhosts: files\n' >"$R/etc/nsswitch.conf"

# --- modules ------------------------------------------------------------------------------------
KD=$W/kernel
depmod -b "$KD" "$KVER"
softdeps=$(modinfo -b "$KD" -k "$KVER" -F softdep cifs) || die "modinfo of cifs in $KPKG failed"
read -ra softdeps <<<"$(echo "$softdeps" | tr '\n' ' ')"
declare -A mods=()
load_order=()
add_module() { # add_module NAME: NAME and what it depends on; fails when the kernel has no NAME
    local deps kind path _
    deps=$(modprobe -d "$KD" -S "$KVER" --show-depends "$1" 2>&1) || return 1
    while read -r kind path _; do
        [[ $kind == insmod ]] || continue
        mods[${path#"$KD"/}]=1
    done <<<"$deps"
    load_order+=("$1")
}
for m in "${MODULES[@]}" "${CRYPTO_PRELOAD[@]}"; do
    add_module "$m" || die "module $m is not in $KPKG: $(modprobe -d "$KD" -S "$KVER" --show-depends "$m" 2>&1)"
done
# A soft dependency may be built in (aead2) or absent: that is not an error.
for m in "${softdeps[@]}"; do
    [[ $m == pre: || $m == post: ]] && continue
    add_module "$m" || log "cifs's soft dependency $m is not a module of $KPKG (built in or absent)"
done
for d in "${CRYPTO_DIRS[@]}"; do
    [[ -d "$KD/lib/modules/$KVER/$d" ]] || continue
    while read -r ko; do mods[${ko#"$KD"/}]=1; done < <(find "$KD/lib/modules/$KVER/$d" -name '*.ko*')
done
for ko in "${!mods[@]}"; do
    mkdir -p "$(dirname "$R/$ko")"
    cp "$KD/$ko" "$R/$ko"
done
cp "$KD/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$R/lib/modules/$KVER/" 2>/dev/null || true
depmod -b "$R" "$KVER"
# Crypto first (cifs takes it at mount time), then the rest in the order named.
printf '%s\n' "${CRYPTO_PRELOAD[@]}" "${load_order[@]}" | awk '!seen[$0]++' >"$R/etc/benchhost/modules"

# --- pack ---------------------------------------------------------------------------------------
mkdir -p "$W/out"
cp "$KD/boot/vmlinuz-$KVER" "$W/out/vmlinuz"
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -9 -n) >"$W/out/initramfs.gz"
{
    echo "recipe=$RECIPE"
    echo "suite=$SUITE"
    echo "kernel=$KVER"
    echo "kernel_package=$KPKG $(version_of "$KPKG")"
    echo "busybox=$(version_of busybox-static)"
    echo "fio=$FIO_VERSION"
    echo "nfs_common=$(version_of nfs-common)"
    echo "cifs_utils=$(version_of cifs-utils)"
    echo "modules=${#mods[@]}"
    echo "initramfs_bytes=$(stat -c %s "$W/out/initramfs.gz")"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$W/out/manifest"

# Swap the new build in whole.
if [[ -e "$OUT" ]]; then mv "$OUT" "$W/previous"; fi
mv "$W/out" "$OUT"
log "client VM ready in $OUT: kernel $KVER, initramfs $(($(stat -c %s "$OUT/initramfs.gz") / 1024)) KiB, ${#mods[@]} modules, fio $FIO_VERSION"
