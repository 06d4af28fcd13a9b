#!/bin/sh
# Installs what tunlab needs on a Debian machine, idempotently (a second run does nothing):
#  1. host packages, with apt (QEMU, pytest, compilers for the agent and the driver's tests);
#  2. the guest's Debian packages (kernel, busybox-static), downloaded and unpacked under
#     build/guest-debs/ rather than installed, so the host's /boot and busybox stay as they are.
# Usage: scripts/setup-deps.sh [host|guest|all]   (default: all)
set -eu
cd "$(dirname "$0")/.."
what=${1:-all}

HOST_PACKAGES="qemu-system-x86 qemu-utils python3 python3-pytest make gcc libc6-dev clang libclang-rt-14-dev
llvm valgrind bmake genisoimage shellcheck libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients python3-libvirt libxml2-utils python3-matplotlib"
GUEST_PACKAGES="linux-image-amd64 busybox-static"
GUEST_DIR=build/guest-debs

say() { printf 'setup: %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo "$@"
	else say "need root to run: $*"; exit 1
	fi
}

apt_updated=no
apt_update() {
	[ $apt_updated = yes ] && return 0
	say "apt-get update"
	as_root apt-get update -q >/dev/null
	apt_updated=yes
}

host() {
	missing=
	for p in $HOST_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing="$missing $p"
	done
	if [ -z "$missing" ]; then
		say "host packages present"
		return 0
	fi
	apt_update
	say "installing:$missing"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		$missing >build/setup-apt.log 2>&1 || { tail -20 build/setup-apt.log; exit 1; }
}

# The newest version apt knows of a package, following a metapackage (linux-image-amd64)
# to the versioned package it depends on.
resolve() {
	dep=$(apt-cache depends "$1" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	echo "${dep:-$1}"
}

guest() {
	mkdir -p "$GUEST_DIR/debs"
	[ -n "$(apt-cache policy busybox-static 2>/dev/null | grep Candidate)" ] || apt_update
	for meta in $GUEST_PACKAGES; do
		pkg=$(resolve "$meta")
		ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
		if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
			apt_update
			pkg=$(resolve "$meta")
			ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
		fi
		stamp="$GUEST_DIR/$pkg.unpacked"
		if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ]; then
			continue
		fi
		say "downloading guest package $pkg $ver"
		(cd "$GUEST_DIR/debs" && rm -f "${pkg}_"*.deb && apt-get download -q "$pkg" >/dev/null 2>&1) || {
			apt_update
			(cd "$GUEST_DIR/debs" && apt-get download -q "$pkg")
		}
		dpkg-deb -x "$GUEST_DIR"/debs/"${pkg}"_*.deb "$GUEST_DIR/root"
		echo "$ver" >"$stamp"
	done
	say "guest packages unpacked in $GUEST_DIR/root"
}

mkdir -p build
case $what in
host) host ;;
guest) guest ;;
all) host; guest ;;
*) echo "usage: $0 [host|guest|all]" >&2; exit 2 ;;
esac
