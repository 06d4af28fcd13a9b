#!/bin/sh
#
# Compile-check driver/if_tun.c against a real DragonFly sys/ tree, the way
# bsd.kmod.mk builds a module there, using this host's gcc and/or clang.
#
# usage: check-sysdir.sh [SYSDIR]
#	SYSDIR (argument or environment): a DragonFly sys/ directory, e.g. an
#	    extracted /usr/src-sys.tar.bz2 or `git archive HEAD sys` of a
#	    DragonFly checkout.  Without one the check is skipped (exit 0).
#	CC (environment): the compiler(s) to use, blank-separated; default:
#	    every one of gcc and clang that is installed.
#
# Exit status: 0 when if_tun.c compiles with no error and no warning in the
# driver's own files (warnings inside DragonFly's headers are shown and
# counted, but do not fail the check), 1 otherwise, 2 on bad usage.
#
# What this reproduces from DragonFly's sys/conf/kmod.mk and bsd.kern.mk:
#	-nostdinc, then -I. -I@ and -I<forwarder>/include, where
#	./machine -> SYSDIR/platform/pc64/include, ./cpu -> the cpu headers,
#	./machine_base, ./cpu_base, ./@ -> SYSDIR, and <forwarder>/include/
#	machine/X.h is a one-line "#include <cpu/X.h>" for every cpu header
#	(kern.fwd.mk's forwarding headers);
#	-D_KERNEL -DKLD_MODULE -std=c99 -ffreestanding -fno-common and
#	DragonFly's CWARNFLAGS;
#	opt_inet.h and opt_inet6.h as the driver's Makefile writes them.
# -D_KERNEL_STRUCTURES is added as the brief for this check asks; it only
# widens what headers expose and is implied by _KERNEL anyway.
# Nothing else is needed on a Linux gcc 12 or clang 14: no -include and no
# extra -D.  -fsyntax-only: nothing is generated.

set -u

prog=check-sysdir
here=$(cd "$(dirname "$0")" && pwd)
src=$here/if_tun.c

sysdir=${1:-${SYSDIR:-}}
if [ -z "$sysdir" ]; then
	echo "$prog: skipped: set SYSDIR=... to a DragonFly sys/ tree" \
	    "(or pass it as the argument)"
	exit 0
fi
if [ ! -d "$sysdir/kern" ] || [ ! -f "$sysdir/net/if_var.h" ] ||
    [ ! -f "$sysdir/sys/devfs.h" ]; then
	echo "$prog: $sysdir is not a DragonFly sys/ tree" \
	    "(no kern/, net/if_var.h or sys/devfs.h)" >&2
	exit 2
fi
sysdir=$(cd "$sysdir" && pwd)

if [ -d "$sysdir/cpu/x86_64/include" ]; then
	cpudir=$sysdir/cpu/x86_64
elif [ -d "$sysdir/arch/x86_64/include" ]; then
	cpudir=$sysdir/arch/x86_64
else
	echo "$prog: no cpu/x86_64/include or arch/x86_64/include" \
	    "in $sysdir" >&2
	exit 2
fi
platdir=$sysdir/platform/pc64
if [ ! -d "$platdir/include" ]; then
	echo "$prog: no platform/pc64/include in $sysdir" >&2
	exit 2
fi

ccs=${CC:-}
if [ -z "$ccs" ]; then
	for c in gcc clang; do
		command -v "$c" >/dev/null 2>&1 && ccs="$ccs $c"
	done
fi
if [ -z "$ccs" ]; then
	echo "$prog: no compiler: install gcc or clang, or set CC" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-sysdir.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

# The module build directory: symlinks, forwarding headers, opt headers.
ln -s "$platdir/include" "$tmp/machine"
ln -s "$platdir" "$tmp/machine_base"
ln -s "$cpudir/include" "$tmp/cpu"
ln -s "$cpudir" "$tmp/cpu_base"
ln -s "$sysdir" "$tmp/@"
mkdir -p "$tmp/fwd/include/machine"
for h in "$cpudir"/include/*.h; do
	b=${h##*/}
	printf '#include <cpu/%s>\n' "$b" > "$tmp/fwd/include/machine/$b"
done
echo "#define INET 1" > "$tmp/opt_inet.h"
echo "#define INET6 1" > "$tmp/opt_inet6.h"

# DragonFly's CWARNFLAGS (sys/conf/bsd.kern.mk), minus -Wmissing-include-dirs
# (a bare sys/ tree has no ../include) plus -Wno-unused-but-set-variable as
# bsd.kern.mk adds for newer gcc.
warn="-Wall -Wredundant-decls -Wnested-externs -Wstrict-prototypes
    -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wold-style-definition
    -Wno-pointer-sign -Winit-self -Wundef"

rev=
if command -v git >/dev/null 2>&1; then
	rev=$(git -C "$sysdir" rev-parse --short HEAD 2>/dev/null || true)
fi
echo "$prog: tree $sysdir${rev:+ (git $rev)}"

# A diagnostic located in one of the driver's own files.
drv='(if_tun\.c|if_tun\.h|if_tunvar\.h):[0-9]+'

status=0
for cc in $ccs; do
	out=$tmp/out.$cc
	# shellcheck disable=SC2086
	(cd "$tmp" && "$cc" -fsyntax-only -std=c99 -nostdinc \
	    -D_KERNEL -D_KERNEL_STRUCTURES -DKLD_MODULE \
	    -ffreestanding -fno-common $warn \
	    -I. -I@ -I"$tmp/fwd/include" "$src") > "$out" 2>&1
	rc=$?
	ours=$(grep -cE "$drv"'(:[0-9]+)?: (warning|error)' "$out")
	theirs=$(grep -E ': warning:' "$out" | grep -cvE "$drv")
	ver=$("$cc" --version 2>/dev/null | sed -n 1p)
	if [ "$rc" -ne 0 ] || [ "$ours" -ne 0 ]; then
		echo "$prog: FAIL with $cc ($ver):" \
		    "exit $rc, $ours diagnostics in the driver"
		cat "$out"
		status=1
	else
		echo "$prog: ok with $cc ($ver): 0 driver warnings," \
		    "$theirs in DragonFly headers"
		if [ "$theirs" -ne 0 ]; then
			grep -E ': warning:' "$out" | sed 's/^/  /'
		fi
	fi
done
exit $status
