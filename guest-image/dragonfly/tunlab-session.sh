#!/bin/sh
# tunlab-session.sh -- run at every boot by /etc/rc.d/tunlab (output goes to the console, COM1).
#
# 1. Looks for the session CD (a cd9660 medium holding tunlab-session.conf) that the harness
#    attaches with the current harness/agent and driver sources.
# 2. Builds them here: the agent with `make BACKEND=bsd`, the driver with its bsd.kmod.mk
#    Makefile against SYSDIR=/usr/src/sys. A build is reused across boots of one disk while the
#    sources' hash is unchanged.
# 3. Loads the driver the session asks for: driver=ours (the .ko just built), stock (if_tun.ko
#    of the running kernel) or none.
# 4. Starts the agent on COM2 (/dev/cuaa1, the call-out node: no carrier wait).
# Without a session CD it starts the agent built into the image, with the stock module.
#
# A failing step prints its output between TUNLAB-OUTPUT-BEGIN/END <step>, a summary of its
# error lines, then `TUNLAB-SESSION-FAILED step=<step> rc=<n>` as its last line, and powers the
# guest off: the harness reports that output (dragonfly_console.explain_session_failure).
#
# The TUNLAB_* variables below exist for the harness's offline tests of this script.
PATH=$PATH:/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/pkg/sbin:/usr/pkg/bin
export PATH
: "${TUNLAB_STATE:=/var/tunlab}"
: "${TUNLAB_CDS:=cd0 cd1 cd2 cd3 acd0 acd1}"
: "${TUNLAB_SYSDIR:=/usr/src/sys}"
: "${TUNLAB_PORT:=/dev/cuaa1}"
: "${TUNLAB_AGENT:=/usr/local/sbin/tunlab-agent}"
: "${TUNLAB_SESSION_DIR:=}"
: "${TUNLAB_NO_POWEROFF:=}"

say() {
	echo "tunlab-session: $*"
}

# failed STEP RC LOG
failed() {
	echo "TUNLAB-OUTPUT-BEGIN $1"
	tail -n 150 "$3" 2>/dev/null
	echo "TUNLAB-OUTPUT-END $1"
	grep -i -E 'error|undefined|cannot|can.t|failed|no such' "$3" 2>/dev/null | head -n 15 |
	    while IFS= read -r line; do
		say "| $line"
	done
	echo "TUNLAB-SESSION-FAILED step=$1 rc=$2"
	if [ -z "$TUNLAB_NO_POWEROFF" ]; then
		sync
		shutdown -p now
	fi
	exit 1
}

# run STEP COMMAND...: output to $TUNLAB_STATE/STEP.log; a failure ends the session.
run() {
	_step=$1
	shift
	say "$_step: $*"
	"$@" >"$TUNLAB_STATE/$_step.log" 2>&1 || failed "$_step" $? "$TUNLAB_STATE/$_step.log"
}

find_session_cd() {
	[ -n "$TUNLAB_SESSION_DIR" ] && return 0
	mnt=$TUNLAB_STATE/cd
	mkdir -p "$mnt"
	for dev in $TUNLAB_CDS; do
		[ -e "/dev/$dev" ] || continue
		mount_cd9660 "/dev/$dev" "$mnt" 2>/dev/null || continue
		if [ -f "$mnt/tunlab-session.conf" ]; then
			TUNLAB_SESSION_DIR=$mnt
			say "session CD on /dev/$dev"
			return 0
		fi
		umount "$mnt"
	done
	return 1
}

build_sources() {
	work=$TUNLAB_STATE/build
	if [ -x "$work/agent-out/tunlab-agent" ] &&
	    [ "$(cat "$TUNLAB_STATE/built.hash" 2>/dev/null)" = "$sources_hash" ]; then
		say "sources unchanged ($sources_hash): reusing the last build"
		return 0
	fi
	rm -rf "$work" "$TUNLAB_STATE/built.hash"
	mkdir -p "$work"
	cp -R "$TUNLAB_SESSION_DIR/agent" "$TUNLAB_SESSION_DIR/driver" "$work/" ||
	    failed copy-sources $? /dev/null
	# The agent's Makefile may need GNU make; DragonFly's own make is bmake.
	mk="make"
	command -v gmake >/dev/null 2>&1 && mk=gmake
	# CFLAGS on the command line: sys.mk's own "-O -pipe" would come after the agent's -O2
	run agent-build $mk -C "$work/agent" BACKEND=bsd CFLAGS=-pipe BUILD="$work/agent-out"
	[ -x "$work/agent-out/tunlab-agent" ] || {
		echo "no $work/agent-out/tunlab-agent after the build" >"$TUNLAB_STATE/agent-build.log"
		failed agent-build 1 "$TUNLAB_STATE/agent-build.log"
	}
	# driver=stock: the kernel's own module is loaded; there is no driver to build
	if [ "$driver" = ours ]; then
		run driver-build make -C "$work/driver" SYSDIR="$TUNLAB_SYSDIR"
	fi
	echo "$sources_hash" >"$TUNLAB_STATE/built.hash"
}

load_driver() {
	case $1 in
	ours)
		ko=$(find "$TUNLAB_STATE/build/driver" -name '*.ko' | head -n 1)
		if [ -z "$ko" ]; then
			echo "the driver build made no .ko file" >"$TUNLAB_STATE/kldload.log"
			failed kldload 1 "$TUNLAB_STATE/kldload.log"
		fi
		run kldload kldload "$ko"
		# kldstat shows no path: tell the agent which file to reload after an unload (L7),
		# so that a reload never picks up the stock if_tun.ko from the module path.
		TUNLAB_DRIVER_KO=$ko
		export TUNLAB_DRIVER_KO
		;;
	stock)
		run kldload kldload if_tun
		;;
	none)
		;;
	*)
		echo "unknown driver=$1 in tunlab-session.conf (ours, stock or none)" >"$TUNLAB_STATE/kldload.log"
		failed kldload 2 "$TUNLAB_STATE/kldload.log"
		;;
	esac
	say "tun modules: $(kldstat 2>/dev/null | grep -i tun | tr -s ' \t' ' ')"
}

# driver_id NAME DIR: NAME:<first 12 hex digits of the sha256 of DIR's if_tun.c, if_tun.h and
# if_tunvar.h>, what the agent's hello reports (the harness checks it; targets/base.py).
driver_id() {
	_sum=$( (cd "$2" && for f in if_tun.c if_tun.h if_tunvar.h; do
		[ -f "$f" ] && cat "$f"; done) | { sha256 2>/dev/null || sha256sum; } | cut -c1-12)
	echo "$1:$_sum"
}

mkdir -p "$TUNLAB_STATE"
driver=stock
driver_id=
features=all
sources_hash=
agent=$TUNLAB_AGENT
if find_session_cd; then
	# shellcheck source=/dev/null
	. "$TUNLAB_SESSION_DIR/tunlab-session.conf"
	build_sources
	agent=$TUNLAB_STATE/build/agent-out/tunlab-agent
else
	say "no session CD: the image's agent and the stock tun module"
fi
load_driver "$driver"
# the stock driver's identity is that of the sources the kernel came from
[ "$driver" = stock ] && driver_id=$(driver_id stock "$TUNLAB_SYSDIR/net/tun")
: "${driver_id:=unknown}"
[ -x "$agent" ] || {
	echo "no agent at $agent" >"$TUNLAB_STATE/agent-start.log"
	failed agent-start 1 "$TUNLAB_STATE/agent-start.log"
}
echo "TUNLAB-SESSION-READY driver=$driver driver_id=$driver_id kernel=$(uname -v 2>/dev/null | sed "s|.*/||; s| ||g") sources=$sources_hash"
nohup "$agent" --port "$TUNLAB_PORT" --console /dev/console --driver-id "$driver_id" \
    --features "$features" \
    >>"$TUNLAB_STATE/agent.log" 2>&1 </dev/null &
say "agent started on $TUNLAB_PORT (pid $!)"
