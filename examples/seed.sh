#!/bin/sh
# seed.sh MIRROR [ARCH_DESC [SUBARCH]]: makes the very first seed of the tiny
# distribution from the host's static busybox, where etc/layout.conf looks
# for it, and writes the control files that name it (SUBARCH: generic, the
# default, or small; run it once per subarch):
#
#   MIRROR/tiny-current/ARCH_DESC/SUBARCH/seed/stage3-SUBARCH-tiny-current-seed.tar.xz
#   MIRROR/tiny-current/ARCH_DESC/SUBARCH/.control/strategy/seed     stage3
#   MIRROR/tiny-current/ARCH_DESC/SUBARCH/.control/strategy/build    remote
#   MIRROR/tiny-current/ARCH_DESC/SUBARCH/.control/version/stage3    seed
#
# BUSYBOX=/path/to/busybox overrides /bin/busybox; it must be statically
# linked (Debian: busybox-static), since nothing else is in the seed.
set -eu
mirror=${1:?usage: seed.sh MIRROR [ARCH_DESC [SUBARCH]]}
subarch=${3:-generic}
case "$subarch" in
	*/*|.*|'') echo "seed.sh: bad subarch name '$subarch'" >&2; exit 2 ;;
esac
case "${2:-$(uname -m)}" in
	x86_64|x86-64bit) arch=x86-64bit ;;
	i?86|x86-32bit) arch=x86-32bit ;;
	aarch64|arm-64bit) arch=arm-64bit ;;
	armv7*|arm-32bit) arch=arm-32bit ;;
	riscv64|riscv-64bit) arch=riscv-64bit ;;
	*) echo "seed.sh: unknown architecture ${2:-$(uname -m)}" >&2; exit 2 ;;
esac
busybox=${BUSYBOX:-/bin/busybox}
if ! "$busybox" true 2>/dev/null; then
	echo "seed.sh: $busybox does not run; install a static busybox (busybox-static)" >&2
	exit 2
fi
if ldd "$busybox" >/dev/null 2>&1; then
	echo "seed.sh: $busybox is dynamically linked; the seed needs a static one" >&2
	exit 2
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
for d in bin sbin etc root proc dev sys var/tmp; do install -d "$root/$d"; done
install -d -m 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"

dir="$mirror/tiny-current/$arch/$subarch"
install -d "$dir/seed" "$dir/.control/strategy" "$dir/.control/version"
tar -cpf - -C "$root" . | xz -c > "$dir/seed/stage3-$subarch-tiny-current-seed.tar.xz"
echo stage3 > "$dir/.control/strategy/seed"
echo remote > "$dir/.control/strategy/build"
echo seed > "$dir/.control/version/stage3"
echo "seed: $dir/seed/stage3-$subarch-tiny-current-seed.tar.xz"
