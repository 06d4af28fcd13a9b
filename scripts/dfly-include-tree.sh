#!/bin/sh
#
# dfly-include-tree.sh SRC OUT -- lay out DragonFly's userland headers from a DragonFly
# source tree the way an installed system has them in /usr/include, under OUT/usr/include.
#
#	SRC	the root of a DragonFly source tree (a checkout, or `git archive` of one):
#		include/ and sys/ are required; the math headers come from
#		contrib/openbsd_libm/include (with lib/libm/Makefile naming them), or from
#		lib/msun/src in trees from before libm moved.
#	OUT	a directory; OUT/usr/include is replaced.
#
# What is installed follows DragonFly's include/Makefile ("copies" mode), read from SRC so
# that the layout follows the tree's own version:
#	INCS                 include/X.h            -> X.h (osreldate.h generated from sys/param.h)
#	SUBDIR               include/D/*.h          -> D/ (arpa, protocols, rpc, rpcsvc, xlocale)
#	LDIRS, LSUBDIRS      sys/D/*.h              -> D/ (sys, net, netinet, netinet6, net/tun, ...)
#	cpu, then platform   sys/cpu/x86_64/include/*.h -> cpu/ and machine/, then
#	                     sys/platform/pc64/include/*.h over machine/ (and pc/ -> machine/pc/)
#	LHDRS                X.h -> sys/X.h links (errno.h, fcntl.h, poll.h, sched.h, ...)
#	crypto, acpiio.h, netsmb -> netproto/smb, floatingpoint.h -> ieeefp.h
# and from lib/libm/Makefile: INCS -> /usr/include, MACHINCS -> machine/.
# Not installed: headers of other libraries (libutil, libkvm, ...: not used by the agent),
# rpcsvc headers generated from .x files, the drm compat headers, and the compiler's own
# headers (/usr/libdata/gccNN: stdatomic.h, intrinsics), which the caller supplies.
#
# Exit status: 0 when the tree was laid out, 1 when SRC lacks something an installed
# /usr/include has (the message says what), 2 on bad usage.

set -eu

prog=dfly-include-tree
usage() {
	echo "usage: $prog SRC OUT  (SRC: a DragonFly source tree root; OUT: where usr/include goes)" >&2
	exit 2
}
[ $# -eq 2 ] || usage
src=$1
out=$2
die() {
	echo "$prog: $*" >&2
	exit 1
}
[ -f "$src/include/Makefile" ] || die "$src has no include/Makefile: not a DragonFly source tree root"
[ -f "$src/sys/sys/param.h" ] || die "$src has no sys/sys/param.h: not a DragonFly source tree root"
src=$(cd "$src" && pwd)
arch=x86_64
platform=pc64
cpuinc=$src/sys/cpu/$arch/include
platinc=$src/sys/platform/$platform/include
[ -d "$cpuinc" ] || die "no sys/cpu/$arch/include in $src"
[ -d "$platinc" ] || die "no sys/platform/$platform/include in $src"

# mkvar MAKEFILE NAME: the words assigned to NAME (= and +=, continuation lines joined)
# outside conditionals (.if blocks hold options such as WANT_HESIOD).
mkvar() {
	awk -v name="$2" '
		{ line = $0 }
		cont { buf = buf " " line } !cont { buf = line }
		/\\$/ { sub(/\\$/, "", buf); cont = 1; next }
		{ cont = 0 }
		buf ~ /^\.[ \t]*if/ { depth++; next }
		buf ~ /^\.[ \t]*endif/ { depth--; next }
		depth > 0 { next }
		{
			if (match(buf, "^" name "[ \t]*\\+?=")) {
				v = substr(buf, RLENGTH + 1)
				sub(/#.*/, "", v)
				words = words " " v
			}
		}
		END { n = split(words, w, /[ \t]+/); s = ""
			for (i = 1; i <= n; i++) if (w[i] != "") s = s w[i] " "
			print s }
	' "$1"
}

mk=$src/include/Makefile
incs=$(mkvar "$mk" INCS)
subdirs=$(mkvar "$mk" SUBDIR)
lhdrs=$(mkvar "$mk" LHDRS)
ldirs=$(mkvar "$mk" LDIRS)
lsubdirs=$(mkvar "$mk" LSUBDIRS)
for v in incs ldirs lhdrs; do
	eval "val=\$$v"
	[ -n "$val" ] || die "could not read $(echo "$v" | tr '[:lower:]' '[:upper:]') from $mk"
done

inc=$out/usr/include
rm -rf "$inc"
mkdir -p "$inc"

# copy_h FROMDIR TODIR: every *.h of FROMDIR (a missing directory is an error).
copy_h() {
	[ -d "$1" ] || die "no directory ${1#"$src"/} in $src (include/Makefile installs it)"
	mkdir -p "$2"
	for h in "$1"/*.h; do
		[ -f "$h" ] && cp "$h" "$2/"
	done
	return 0
}

for f in $incs; do
	case $f in
	osreldate.h)
		ver=$(awk '$1 == "#define" && $2 == "__DragonFly_version" { print $3 }' \
		    "$src/sys/sys/param.h")
		[ -n "$ver" ] || die "no __DragonFly_version in sys/sys/param.h"
		printf '#ifdef _KERNEL\n#error "osreldate.h must not be used in the kernel"\n#else\n#undef __DragonFly_version\n#define __DragonFly_version %s\n#endif\n' \
		    "$ver" >"$inc/osreldate.h"
		;;
	*)
		[ -f "$src/include/$f" ] || die "include/Makefile names include/$f, which is missing"
		cp "$src/include/$f" "$inc/$f"
		;;
	esac
done
for d in $subdirs; do
	copy_h "$src/include/$d" "$inc/$d"
done
for d in $ldirs $lsubdirs; do
	copy_h "$src/sys/$d" "$inc/$d"
done
mkdir -p "$inc/crypto" "$inc/dev/acpica"
[ -f "$src/sys/crypto/rijndael/rijndael.h" ] && cp "$src/sys/crypto/rijndael/rijndael.h" "$inc/crypto/"
[ -d "$src/sys/opencrypto" ] && copy_h "$src/sys/opencrypto" "$inc/crypto"
[ -f "$src/sys/dev/acpica/acpiio.h" ] && cp "$src/sys/dev/acpica/acpiio.h" "$inc/dev/acpica/"

# machine/ is the cpu headers with the platform's over them; cpu/ the cpu headers alone.
copy_h "$cpuinc" "$inc/cpu"
copy_h "$cpuinc" "$inc/machine"
copy_h "$platinc" "$inc/machine"
[ -d "$platinc/pc" ] && copy_h "$platinc/pc" "$inc/machine/pc"

for h in $lhdrs; do
	[ -f "$inc/sys/$h" ] || die "include/Makefile links $h to sys/$h, which is missing"
	ln -s "sys/$h" "$inc/$h"
done
[ -d "$inc/netproto/smb" ] && ln -s netproto/smb "$inc/netsmb"
[ -f "$inc/ieeefp.h" ] && ln -s ieeefp.h "$inc/floatingpoint.h"

# libm: math.h, fenv.h, ... and machine/fenv.h, machine/ieee.h.
libm_mk=$src/lib/libm/Makefile
libm_inc=$src/contrib/openbsd_libm/include
if [ -f "$libm_mk" ] && [ -d "$libm_inc" ]; then
	for f in $(mkvar "$libm_mk" INCS); do
		[ -f "$libm_inc/$f" ] || die "lib/libm/Makefile names $f, missing in contrib/openbsd_libm/include"
		cp "$libm_inc/$f" "$inc/"
	done
	# MACHINCS is set inside `.if x86_64`: the amd64 headers are the ones it names.
	for f in "$libm_inc"/amd64/*.h; do
		cp "$f" "$inc/machine/"
	done
elif [ -f "$src/lib/msun/src/math.h" ]; then
	cp "$src/lib/msun/src/math.h" "$inc/"
	[ -f "$src/lib/msun/src/complex.h" ] && cp "$src/lib/msun/src/complex.h" "$inc/"
	[ -f "$src/lib/msun/x86_64/fenv.h" ] && cp "$src/lib/msun/x86_64/fenv.h" "$inc/"
else
	die "no math headers: $src needs contrib/openbsd_libm/include and lib/libm/Makefile" \
	    "(or lib/msun/src in older trees); e.g. git archive HEAD contrib/openbsd_libm/include" \
	    "lib/libm/Makefile | tar -x -C $src"
fi

n=$(find "$inc" -name '*.h' | wc -l)
echo "$prog: $inc: $n headers from $src"
