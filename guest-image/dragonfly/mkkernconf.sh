#!/bin/sh
# mkkernconf.sh GENERIC OUT IDENT -- write a kernel config: GENERIC without its built-in tun.
#
# config(8) has no `include`, `nodevice` or `nopseudo-device`, so the config is a copy of
# X86_64_GENERIC with the `pseudo-device tun` line dropped, the ident changed, and options
# added so that a panic never waits in ddb or before rebooting (the harness runs QEMU with
# -no-reboot: the reboot ends the VM, and the console shows the panic).
# Fails unless exactly one tun line was dropped (a changed GENERIC must be looked at).
set -eu
if [ $# -ne 3 ]; then
	echo "usage: mkkernconf.sh GENERIC OUT IDENT" >&2
	exit 2
fi
generic=$1
out=$2
ident=$3

awk -v ident="$ident" '
	/^[ \t]*pseudo-device[ \t]+tun([ \t#]|$)/ { dropped++; next }
	/^[ \t]*ident[ \t]/ { print "ident\t\t" ident; idents++; next }
	/^[ \t]*options[ \t]+DDB_UNATTENDED([ \t#]|$)/ { has_unattended = 1 }
	/^[ \t]*options[ \t]+PANIC_REBOOT_WAIT_TIME/ { next }
	{ print }
	END {
		print ""
		print "# tunlab: the tun driver under test is loaded as a module; panics end the VM."
		if (!has_unattended)
			print "options \tDDB_UNATTENDED"
		print "options \tPANIC_REBOOT_WAIT_TIME=0"
		if (dropped != 1 || idents != 1) {
			printf "mkkernconf: expected one tun line and one ident line, found %d and %d\n", \
			    dropped, idents > "/dev/stderr"
			exit 1
		}
	}
' "$generic" >"$out.tmp"
mv "$out.tmp" "$out"
echo "mkkernconf: wrote $out (ident $ident, without pseudo-device tun)"
