#!/bin/sh
#
# check-agent-dfly.sh [--sysctl-only] [SRC] -- compile the agent's DragonFly half (harness/agent with
# BACKEND=bsd: the core, backend_bsd.c over bsd_sys.h's libc branch, the bare bench loops)
# the way the guest builds it, against DragonFly's own userland headers, with this host's
# compiler standing in for DragonFly's; and check that every sysctl name the DragonFly half
# and the image's panic policy use is declared in DragonFly's kernel sources.
#
#	SRC (argument, or TUNLAB_DFLY_SRC): the root of a DragonFly source tree (include/,
#	    sys/, the libm headers; see scripts/dfly-include-tree.sh). Without one the check
#	    is skipped (exit 0) and says so; with one, anything wrong is a failure.
#	CC (environment): the compiler(s), blank-separated; default: gcc and clang, those
#	    installed.
#	TUNLAB_DFLY_WORK (environment): keep the include tree and objects there (default: a
#	    temporary directory, removed at exit).
#	--sysctl-only: only the sysctl names (SRC then needs only sys/).
#
# Each source is compiled to an object (-c, so that -O2's warnings count) with the flags
# harness/agent/Makefile gives the bsd backend (read from it with the guest's make, bmake,
# when installed), plus:
#	-nostdinc -isystem <tree>/usr/include     DragonFly's /usr/include, as include/Makefile
#	                                          lays it out (scripts/dfly-include-tree.sh)
#	-idirafter <dir holding stdatomic.h>      the compiler's own headers, as DragonFly's gcc
#	                                          has them in /usr/libdata/gcc80 (only this one)
#	-U__linux__ -U__linux -Ulinux -U__gnu_linux__ -D__DragonFly__=1   the target's macros
#
# Exit status: 0 when every source compiles with every compiler and every sysctl name is
# found (or when skipped), 1 otherwise.

set -u

prog=check-agent-dfly
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
agent=$root/harness/agent

only_sysctl=
if [ "${1:-}" = --sysctl-only ]; then
	only_sysctl=1
	shift
fi
src=${1:-${TUNLAB_DFLY_SRC:-}}
if [ -z "$src" ]; then
	echo "$prog: SKIP: no DragonFly source tree: set TUNLAB_DFLY_SRC=<tree root with" \
	    "include/ and sys/> (e.g. git archive of a DragonFly checkout) to compile the" \
	    "agent's DragonFly half"
	exit 0
fi
fail() {
	echo "$prog: FAIL: $*"
	exit 1
}
[ -d "$src" ] || fail "TUNLAB_DFLY_SRC=$src is not a directory"
src=$(cd "$src" && pwd)

compile_all() {
	if [ -n "${TUNLAB_DFLY_WORK:-}" ]; then
		work=$TUNLAB_DFLY_WORK
		rm -rf "$work/agent-obj" "$work/ccinc"
		mkdir -p "$work"
	else
		work=$(mktemp -d "${TMPDIR:-/tmp}/$prog.XXXXXX") || exit 1
		trap 'rm -rf "$work"' EXIT
		trap 'exit 1' INT TERM HUP
	fi

	sh "$here/dfly-include-tree.sh" "$src" "$work/root" || fail "could not lay out the include tree"
	inc=$work/root/usr/include

	# The agent's own lists and flags for BACKEND=bsd, read with the make the guest uses.
	mk="make"
	command -v bmake >/dev/null 2>&1 && mk=bmake
	# shellcheck disable=SC2016
	vars=$(cd "$agent" && printf '%s\n' 'tunlab-print-vars:' \
	    '	@echo "srcs=$(CORE_SRCS) $(BACKEND_SRCS_bsd) $(BARE_SRCS)"' \
	    '	@echo "flags=$(WFLAGS) $(THREADS) $(BACKEND_CFLAGS_bsd)"' |
	    $mk -f Makefile -f - BACKEND=bsd tunlab-print-vars 2>&1) ||
	    fail "$mk could not read harness/agent/Makefile: $vars"
	srcs=$(printf '%s\n' "$vars" | sed -n 's/^srcs=//p' | tr ' ' '\n' | awk 'NF && !seen[$0]++')
	flags=$(printf '%s\n' "$vars" | sed -n 's/^flags=//p')
	[ -n "$srcs" ] || fail "no sources from harness/agent/Makefile (CORE_SRCS, BACKEND_SRCS_bsd)"
	echo "$srcs" | grep -qx backend_bsd.c || fail "BACKEND_SRCS_bsd does not name backend_bsd.c"

	ccs=${CC:-}
	if [ -z "$ccs" ]; then
		for c in gcc clang; do
			command -v "$c" >/dev/null 2>&1 && ccs="$ccs $c"
		done
	fi
	[ -n "$ccs" ] || fail "no compiler: install gcc or clang, or set CC"

	nsrc=$(echo "$srcs" | wc -l)
	srclist=$(echo "$srcs" | tr '\n' ' ')
	for cc in $ccs; do
		ver=$("$cc" --version 2>/dev/null | sed -n 1p)
		# The compiler's stdatomic.h alone, standing in for /usr/libdata/gcc80.
		ccinc=$work/ccinc/$cc
		mkdir -p "$ccinc" "$work/agent-obj/$cc"
		atomic=$(echo '#include <stdatomic.h>' | "$cc" -M -x c - 2>/dev/null |
		    tr -s ' ' '\n' | grep '/stdatomic\.h$' | sed -n 1p)
		[ -n "$atomic" ] && ln -sf "$atomic" "$ccinc/stdatomic.h"
		bad=0
		for f in $srcs; do
			log=$work/agent-obj/$cc/${f%.c}.log
			# shellcheck disable=SC2086
			(cd "$agent" && "$cc" $flags -nostdinc -isystem "$inc" -idirafter "$ccinc" \
			    -U__linux__ -U__linux -Ulinux -U__gnu_linux__ -D__DragonFly__=1 \
			    -c -o "$work/agent-obj/$cc/${f%.c}.o" "$f") >"$log" 2>&1
			rc=$?
			if [ "$rc" -ne 0 ] || [ -s "$log" ]; then
				echo "$prog: FAIL $f with $cc (exit $rc):"
				sed 's/^/  /' "$log"
				bad=$((bad + 1))
			fi
		done
		if [ "$bad" -eq 0 ]; then
			echo "$prog: ok with $cc ($ver): $nsrc sources compile: $srclist"
		else
			echo "$prog: FAIL with $cc ($ver): $bad of $nsrc sources do not compile"
			status=1
		fi
	done
}

# The guest's own build command (tunlab-session.sh, phase 3: `make BACKEND=bsd CFLAGS=-pipe BUILD=...`)
# under DragonFly's make: bmake with SRC's share/mk (whose sys.mk predefines CFLAGS), the
# compiler standing in with -fsyntax-only (linking needs DragonFly's libc).
make_agent() {
	if ! command -v bmake >/dev/null 2>&1; then
		echo "$prog: FAIL: bmake (DragonFly's make) is not installed: apt-get install bmake"
		status=1
		return
	fi
	[ -f "$src/share/mk/sys.mk" ] || fail "$src has no share/mk/sys.mk"
	cc1=${ccs%% *}
	[ -n "$cc1" ] || cc1=$(echo "$ccs" | awk '{print $1}')
	wrap=$work/cc-dragonfly
	cat >"$wrap" <<WRAP
#!/bin/sh
exec $cc1 "\$@" -nostdinc -isystem "$inc" -idirafter "$work/ccinc/$cc1" \\
    -U__linux__ -U__linux -Ulinux -U__gnu_linux__ -D__DragonFly__=1 -fsyntax-only
WRAP
	chmod +x "$wrap"
	rm -rf "$work/agent-src" "$work/agent-out"
	cp -R "$agent" "$work/agent-src"
	log=$work/agent-make.log
	(cd "$work/agent-src" && env -i PATH="/usr/bin:/bin" HOME="$work" \
	    MAKESYSPATH="$src/share/mk" bmake MACHINE=x86_64 MACHINE_ARCH=x86_64 \
	    MACHINE_PLATFORM=pc64 HOST_BINUTILSVER=host CC="$wrap" BACKEND=bsd CFLAGS=-pipe \
	    BUILD="$work/agent-out") >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && ! grep -q 'warning:\|error:' "$log"; then
		line=$(grep -- '-o [^ ]*/tunlab-agent ' "$log" | head -n 1)
		opt=$(echo "$line" | tr ' ' '\n' | grep '^-O' | tr '\n' ' ')
		echo "$prog: ok: make BACKEND=bsd under DragonFly's make files (bmake, share/mk," \
		    "$cc1 -fsyntax-only): exit 0; optimisation flags in order: $opt"
	else
		echo "$prog: FAIL: make BACKEND=bsd under DragonFly's make files: exit $rc:"
		sed 's/^/  /' "$log" | tail -n 40
		status=1
	fi
}

status=0
if [ -z "$only_sysctl" ]; then
	compile_all
	make_agent
fi

# sysctl names: the agent's DragonFly half (literal sysctlbyname names) and the image's
# panic policy (phase3's sysctl.conf line). A name a.b.c is declared as
# SYSCTL_*(_a_b, <number>, c, ...) in some sys/**/*.c.
names=$( (grep -ho 'sysctlbyname("[a-z0-9_.]*"' "$agent/backend_bsd.c" |
    sed 's/.*("//; s/"$//'
    grep -ho 'echo "[a-z0-9_.]*=' "$root/guest-image/dragonfly/phase3-configure.sh" |
    sed 's/^echo "//; s/=$//') | sort -u)
[ -n "$names" ] || fail "no sysctl names found in backend_bsd.c"
missing=
sp='[[:space:]]*'
for n in $names; do
	parent=_$(echo "${n%.*}" | tr . _)
	leaf=${n##*.}
	if grep -rqE --include='*.c' \
	    "SYSCTL_[A-Z0-9_]+\\(${sp}${parent}${sp},${sp}[A-Za-z0-9_]+${sp},${sp}${leaf}${sp}," \
	    "$src/sys"; then
		:
	else
		missing="$missing $n"
	fi
done
if [ -n "$missing" ]; then
	echo "$prog: FAIL: sysctl names not declared in $src/sys:$missing"
	status=1
else
	echo "$prog: ok: sysctl names declared in $src/sys: $(echo "$names" | tr '\n' ' ')"
fi
exit $status
