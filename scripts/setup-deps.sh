#!/bin/sh
# Installs what tunlab needs on a Debian machine, idempotently (a second run does nothing), in
# tiers, so each make target installs only what it uses:
#   kpi    host packages of the fast tier, no VM (`make check`): compilers, clang's sanitizer
#          and fuzzer runtime, valgrind, bmake, pytest, PyYAML, genisoimage and qemu-img (the
#          offline DragonFly tests), shellcheck, libvirt's XML schema check, tcpdump (the
#          capture tests), python3-jinja2 (the HTML report)
#   vm     host packages for guests (`make test|run|image|console|bench`): QEMU, libvirt,
#          matplotlib
#   guest  the Linux guest's kernel and busybox: exactly the versions pinned in
#          guest-image/linux/pins.json, downloaded as .debs (apt-get download pkg=version),
#          hash-checked and unpacked in the cache (~/.cache/tunlab; TUNLAB_CACHE moves it),
#          never installed on the host. Update the pins with scripts/update-pins.sh.
#   all    kpi, vm and guest
# TUNLAB_SKIP_DEPS=1 makes it do nothing (for machines whose packages are managed otherwise).
# Usage: scripts/setup-deps.sh [kpi|vm|guest|all]   (default: all)
set -eu
cd "$(dirname "$0")/.."
what=${1:-all}

# `libclang-rt-dev` follows Debian's default clang (14 in Debian 12); -fsanitize=fuzzer needs it.
# (python3-matplotlib: make check's bench tests draw the plot the HTML report embeds)
KPI_PACKAGES="python3 python3-pytest python3-yaml make gcc libc6-dev clang libclang-rt-dev llvm
valgrind bmake genisoimage qemu-utils shellcheck libxml2-utils libvirt-clients tcpdump python3-jinja2
python3-matplotlib"
VM_PACKAGES="qemu-system-x86 libvirt-daemon libvirt-daemon-driver-qemu python3-libvirt"

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

# install TIER PACKAGES...: the missing ones, with apt; the log is build/setup-apt.log.
install() {
	tier=$1; shift
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing="$missing $p"
	done
	if [ -z "$missing" ]; then
		say "$tier packages present"
		return 0
	fi
	apt_update
	say "installing ($tier):$missing"
	mkdir -p build
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		$missing >>build/setup-apt.log 2>&1 || { tail -20 build/setup-apt.log; exit 1; }
}

# The pinned guest packages (harness/tunlab/pins.py does the work: download, verify, unpack).
guest() {
	PYTHONPATH=harness /usr/bin/python3 -m tunlab.pins fetch
}

if [ "${TUNLAB_SKIP_DEPS:-}" = 1 ]; then
	say "skipped (TUNLAB_SKIP_DEPS=1)"
	exit 0
fi
# shellcheck disable=SC2086
case $what in
kpi) install kpi $KPI_PACKAGES ;;
vm) install vm $VM_PACKAGES ;;
guest) guest ;;
all) install kpi $KPI_PACKAGES; install vm $VM_PACKAGES; guest ;;
*) echo "usage: $0 [kpi|vm|guest|all]" >&2; exit 2 ;;
esac
