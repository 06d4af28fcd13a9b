#!/bin/sh
#
# Signature check of the kpi headers against a real DragonFly sys/ tree:
# every function both declare must have the same prototype.
#
# usage: check-kpi-sigs.sh [SYSDIR]    (or SYSDIR in the environment)
#
# How: gcc -aux-info lists every function prototype a translation unit sees.
# One unit includes the kpi's headers (driver/kpi/include), one the same
# headers from SYSDIR (set up as a module build, like ../check-sysdir.sh);
# the kpi's prototypes of the functions both declare are then redeclared
# after DragonFly's headers, and the compiler reports every "conflicting
# types".  Functions DragonFly defines as macros, and those taking a
# va_list, are left out.  Exit 0 when nothing conflicts, 1 otherwise, 0 with
# a message when no SYSDIR is given.
set -u
prog=check-kpi-sigs
here=$(cd "$(dirname "$0")" && pwd)
sysdir=${1:-${SYSDIR:-}}
if [ -z "$sysdir" ]; then
	echo "$prog: skipped: set SYSDIR=... to a DragonFly sys/ tree"
	exit 0
fi
sysdir=$(cd "$sysdir" && pwd) || exit 2
command -v gcc >/dev/null 2>&1 || { echo "$prog: needs gcc (-aux-info)" >&2; exit 2; }
command -v python3 >/dev/null 2>&1 || { echo "$prog: needs python3" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$prog.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

hdrs="sys/param.h sys/systm.h sys/kernel.h sys/module.h sys/malloc.h sys/mbuf.h
sys/conf.h sys/device.h sys/devfs.h sys/event.h sys/filedesc.h sys/filio.h
sys/proc.h sys/priv.h sys/signalvar.h sys/socket.h sys/sockio.h sys/sysctl.h
sys/thread.h sys/ttycom.h sys/uio.h sys/vnode.h sys/serialize.h sys/lock.h
sys/spinlock2.h sys/thread2.h sys/mplock2.h net/bpf.h net/if.h net/if_var.h
net/if_types.h net/if_clone.h net/ifq_var.h net/netisr.h net/route.h
netinet/in.h"
{
	echo '#include "opt_inet.h"'
	echo '#include "opt_inet6.h"'
	for h in $hdrs; do echo "#include <$h>"; done
	echo 'int kpi_sig_dummy;'
} > "$tmp/tu.c"

gcc -D_KERNEL -DKLD_MODULE -nostdinc -ffreestanding -std=gnu11 \
    -I"$here/include" -c "$tmp/tu.c" -o /dev/null -aux-info "$tmp/kpi.aux" ||
    exit 2

cpudir=$sysdir/cpu/x86_64
[ -d "$cpudir/include" ] || cpudir=$sysdir/arch/x86_64
env=$tmp/env
mkdir -p "$env/fwd/include/machine"
ln -s "$sysdir/platform/pc64/include" "$env/machine"
ln -s "$sysdir/platform/pc64" "$env/machine_base"
ln -s "$cpudir/include" "$env/cpu"
ln -s "$cpudir" "$env/cpu_base"
ln -s "$sysdir" "$env/@"
for h in "$cpudir"/include/*.h; do
	printf '#include <cpu/%s>\n' "${h##*/}" > "$env/fwd/include/machine/${h##*/}"
done
echo "#define INET 1" > "$env/opt_inet.h"
echo "#define INET6 1" > "$env/opt_inet6.h"
cp "$tmp/tu.c" "$env/tu.c"
dflags="-D_KERNEL -D_KERNEL_STRUCTURES -DKLD_MODULE -nostdinc -ffreestanding
    -std=gnu99 -I. -I@ -Ifwd/include"
# shellcheck disable=SC2086
(cd "$env" && gcc $dflags -c tu.c -o /dev/null -aux-info ../dfly.aux &&
    gcc $dflags -E -dM tu.c) > "$tmp/macros.raw" || exit 2
awk '{print $2}' "$tmp/macros.raw" | sed 's/(.*//' | sort -u > "$tmp/macros"

python3 - "$tmp" <<'PY' || exit 2
import re, sys
tmp = sys.argv[1]
def parse(path):
    d = {}
    for l in open(path):
        m = re.match(r'/\* (\S+):(\d+):\S+ \*/ (.*);\s*$', l)
        if not m:
            continue
        nm = re.search(r'(\w+) \(', m.group(3))
        if nm:
            d[nm.group(1)] = (m.group(3), m.group(1) + ':' + m.group(2))
    return d
k = parse(tmp + '/kpi.aux')
f = parse(tmp + '/dfly.aux')
macros = set(open(tmp + '/macros').read().split())
common = sorted(n for n in set(k) & set(f)
                if n not in macros and '__va_list_tag' not in k[n][0])
with open(tmp + '/env/check.c', 'w') as out:
    out.write(open(tmp + '/env/tu.c').read())
    for n in common:
        out.write('#line %s "%s"\n' % (k[n][1].rsplit(':', 1)[1],
                                      k[n][1].rsplit(':', 1)[0]))
        out.write(k[n][0] + ';\n')
print("%s: %d prototypes in both the kpi and DragonFly's headers" %
      ("check-kpi-sigs", len(common)))
PY
# shellcheck disable=SC2086
if (cd "$env" && gcc $dflags -fsyntax-only check.c) > "$tmp/out" 2>&1; then
	echo "$prog: ok: no conflicting prototype ($sysdir)"
	exit 0
fi
grep -E 'error|note: previous' "$tmp/out"
echo "$prog: FAIL: the kpi declares functions differently from $sysdir"
exit 1
