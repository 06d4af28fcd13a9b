#!/bin/sh
#
# check-kmod-dfly.sh [SRC] -- build driver/ as a kernel module through DragonFly's own make
# files (share/mk/bsd.kmod.mk -> sys/conf/kmod.mk, bsd.kern.mk) with bmake, from a fresh
# directory and with ONE make, as a DragonFly session does (tunlab-session.sh), with this
# host's gcc standing in for the base compiler. Then the same for the image's module check
# (phase3-configure.sh: a copy of DragonFly's own sys/net/tun, with the `@` link made first).
#
#	SRC (argument, or TUNLAB_DFLY_SRC): the root of a DragonFly source tree (share/mk,
#	    sys/, include/; see scripts/dfly-include-tree.sh). Without one the check is
#	    skipped (exit 0) and says so; with one, anything wrong is a failure.
#	TUNLAB_DFLY_WORK (environment): keep the work tree there (default: a temporary
#	    directory, removed at exit).
#
# The installed system, as the stand-in lays it out under the work directory W:
#	W/usr/src/sys      SYSDIR: a real directory whose entries link to SRC/sys/* (so that
#	                   @/../include is W/usr/src/include, which does not exist: an installed
#	                   system's /usr/src holds only the extracted src-sys tarball)
#	W/usr/include      DragonFly's userland headers (dfly-include-tree.sh), reached through
#	                   DESTDIR=W (kmod.mk's -I${DESTDIR}/usr/include)
#	W/session/driver   driver/Makefile, if_tun.c, if_tun.h, if_tunvar.h: what the session
#	                   CD carries (image_dragonfly.build_session_iso)
# and the command line:
#	MAKESYSPATH=SRC/share/mk bmake SYSDIR=W/usr/src/sys DESTDIR=W MACHINE=x86_64 \
#	    MACHINE_ARCH=x86_64 MACHINE_PLATFORM=pc64 HOST_BINUTILSVER=host CC="gcc -fno-pie -no-pie"
# MACHINE_* are what DragonFly's make defines itself; HOST_BINUTILSVER skips bsd.cpu.mk's
# `find -s` (a DragonFly find option); -fno-pie -no-pie make Debian's gcc (PIE by default)
# behave as DragonFly's (kmod.mk's -mcmodel=kernel refuses PIC). CCVER stays gcc80, so
# -Werror and bsd.kern.mk's -Wmissing-include-dirs are on, as in the guest.
#
# Exit status: 0 when both modules build on the first make (or when skipped), 1 otherwise.

set -u

prog=check-kmod-dfly
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

src=${1:-${TUNLAB_DFLY_SRC:-}}
if [ -z "$src" ]; then
	echo "$prog: SKIP: no DragonFly source tree: set TUNLAB_DFLY_SRC=<tree root with" \
	    "share/mk, sys/ and include/> to build driver/ through DragonFly's make files"
	exit 0
fi
fail() {
	echo "$prog: FAIL: $*"
	exit 1
}
[ -d "$src" ] || fail "TUNLAB_DFLY_SRC=$src is not a directory"
src=$(cd "$src" && pwd)
for f in share/mk/bsd.kmod.mk share/mk/sys.mk sys/conf/kmod.mk sys/net/tun/Makefile; do
	[ -f "$src/$f" ] || fail "$src has no $f"
done
command -v bmake >/dev/null 2>&1 ||
    fail "bmake (DragonFly's make) is not installed: apt-get install bmake"
cc=${KMOD_CC:-gcc}
command -v "$cc" >/dev/null 2>&1 || fail "no $cc: install gcc"

if [ -n "${TUNLAB_DFLY_WORK:-}" ]; then
	work=$TUNLAB_DFLY_WORK
	rm -rf "$work/usr/src" "$work/session" "$work/kmodcheck"
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/$prog.XXXXXX") || exit 1
	trap 'rm -rf "$work"' EXIT
	trap 'exit 1' INT TERM HUP
fi
work=$(cd "$work" && pwd)

mkdir -p "$work/usr/src/sys"
for e in "$src"/sys/*; do
	ln -s "$e" "$work/usr/src/sys/"
done
[ -e "$work/usr/src/include" ] && fail "$work/usr/src/include exists: not the installed layout"
sh "$here/dfly-include-tree.sh" "$src" "$work" || fail "could not lay out the include tree"

# kmod_make NAME DIR: one make in DIR; prints what it saw; 0 when NAME.ko was built.
kmod_make() {
	log=$work/$1.log
	(cd "$2" && env -i PATH="/usr/bin:/bin" HOME="$work" MAKESYSPATH="$src/share/mk" \
	    bmake SYSDIR="$work/usr/src/sys" DESTDIR="$work" MACHINE=x86_64 MACHINE_ARCH=x86_64 \
	    MACHINE_PLATFORM=pc64 HOST_BINUTILSVER=host CC="$cc -fno-pie -no-pie") >"$log" 2>&1
	rc=$?
	ccline=$(grep -E -- "-c [^ ]*if_tun\.c" "$log" | tail -n 1)
	werror=no
	case $ccline in *-Werror*) werror=yes ;; esac
	mid=no
	case $ccline in *-Wmissing-include-dirs*) mid=yes ;; esac
	warnings=$(grep -c 'warning:' "$log")
	ko=$(find "$2" -maxdepth 1 -name "*.ko" | head -n 1)
	if [ "$rc" -eq 0 ] && [ -n "$ko" ]; then
		what=$(file -b "$ko" 2>/dev/null | cut -d, -f1-2)
		echo "$prog: ok: $1: first make in a fresh directory: exit 0, ${ko##*/}" \
		    "(${what:-built}), $warnings warnings; -Werror $werror," \
		    "-Wmissing-include-dirs $mid"
		return 0
	fi
	echo "$prog: FAIL: $1: first make in a fresh directory: exit $rc, no .ko; its output:"
	grep -v 'forwarding header' "$log" | tail -n 30 | sed 's/^/  /'
	# Tell the first-build problem from a build that never works.
	(cd "$2" && env -i PATH="/usr/bin:/bin" HOME="$work" MAKESYSPATH="$src/share/mk" \
	    bmake SYSDIR="$work/usr/src/sys" DESTDIR="$work" MACHINE=x86_64 MACHINE_ARCH=x86_64 \
	    MACHINE_PLATFORM=pc64 HOST_BINUTILSVER=host CC="$cc -fno-pie -no-pie") \
	    >"$log.second" 2>&1 && ls "$2"/*.ko >/dev/null 2>&1 &&
	    echo "$prog: ($1: a second make succeeds: the first-build problem, see driver/Makefile)"
	return 1
}

status=0
echo "$prog: tree $src; host compiler $("$cc" --version | sed -n 1p)"

# 1. Our driver, as a session builds it.
d=$work/session/driver
mkdir -p "$d"
cp "$root/driver/Makefile" "$d/"
for f in if_tun.c if_tun.h if_tunvar.h; do
	[ -f "$root/driver/$f" ] && cp "$root/driver/$f" "$d/"
done
kmod_make driver "$d" || status=1

# 2. The image's module check: DragonFly's own tun, with the @ link made first
#    (phase3-configure.sh's kmod-check).
k=$work/kmodcheck
cp -R "$src/sys/net/tun" "$k"
ln -s "$work/usr/src/sys" "$k/@"
kmod_make stock-tun "$k" || status=1
exit $status
