#!/bin/sh
# Phase 3 (configure): runs on the installed system (now booted on the tun-less kernel) via
# PFI. Sets the panic policy, builds the agent from the sources on this CD and installs it,
# installs the rc script that prepares each session and starts the agent on COM2, and checks
# that an out-of-tree kernel module builds against /usr/src/sys (as the driver will).
here=$(dirname "$0")
# shellcheck source=/dev/null
. "$here/phase.conf"
TUNLAB_LOGDIR=/var/log/tunlab
mkdir -p "$TUNLAB_LOGDIR"
# shellcheck source=common.sh
. "$here/common.sh"

say "running $(uname -v | sed 's|.*/||')"
check tunless-kernel-booted sh -c "uname -v | grep -q '/$TUNLAB_KERNCONF'"

# Panics must end the VM, not wait in ddb (the kernel also has DDB_UNATTENDED; this covers
# the stock kernel in kernel.alt).
step panic-policy sh -c 'touch /etc/sysctl.conf &&
	grep -v "^debug.debugger_on_panic" /etc/sysctl.conf >/tmp/sysctl.conf.new &&
	echo "debug.debugger_on_panic=0" >>/tmp/sysctl.conf.new &&
	cat /tmp/sysctl.conf.new >/etc/sysctl.conf'

mkdir -p /usr/local/sbin /usr/local/libexec /usr/local/src
rm -rf /usr/local/src/tunlab-agent
cp -R "$here/agent" /usr/local/src/tunlab-agent
mk="make"
command -v gmake >/dev/null 2>&1 && mk=gmake
step agent-build $mk -C /usr/local/src/tunlab-agent BACKEND=bsd CFLAGS=-pipe BUILD=/usr/local/src/tunlab-agent/out
step agent-install install -m 555 /usr/local/src/tunlab-agent/out/tunlab-agent /usr/local/sbin/tunlab-agent

step session-script install -m 555 "$here/tunlab-session.sh" /usr/local/libexec/tunlab-session.sh
step rc-script install -m 555 "$here/tunlab.rc" /etc/rc.d/tunlab
grep -q '^tunlab_enable=' /etc/rc.conf || echo 'tunlab_enable="YES"' >>/etc/rc.conf

# -- module check (begin) --
# The driver is built at every session like this: prove the route with DragonFly's own tun,
# copied to a fresh directory, one make. Its Makefile lacks driver/Makefile's first-make fix
# (kmod.mk adds -I@/../include while the @ link is missing; /usr/src has no include/, and
# -Wmissing-include-dirs with -Werror fails the build), so make the @ link first, as a first
# make would. scripts/check-kmod-dfly.sh runs these steps against a DragonFly tree.
kmoddir=${TUNLAB_KMODCHECK_DIR:-/tmp/tunlab-kmodcheck}
sysdir=${TUNLAB_SYSDIR:-/usr/src/sys}
rm -rf "$kmoddir"
step kmod-copy cp -R "$sysdir/net/tun" "$kmoddir"
step kmod-link ln -s "$sysdir" "$kmoddir/@"
step kmod-check make -C "$kmoddir" SYSDIR="$sysdir"
check kmod-built sh -c "ls '$kmoddir'/*.ko"
rm -rf "$kmoddir"
# -- module check (end) --
done_phase
