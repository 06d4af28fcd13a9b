#!/bin/sh
# Phase 2 (kernel): runs on the installed system via PFI. Unpacks the kernel sources
# (/usr/src-sys.tar.bz2, copied from the CD in phase 1) for SYSDIR, builds a kernel without the
# built-in tun ($TUNLAB_KERNCONF, made by mkkernconf.sh) with the installed compiler, and
# installs it with DESTLABEL=alt. Then the two kernel directories swap names, so that:
#   /boot/kernel      $TUNLAB_KERNCONF  default boot: both tun drivers load as modules
#                                       (ours from the session CD, the stock if_tun.ko)
#   /boot/kernel.alt  X86_64_GENERIC    the stock kernel, tun built in (loader menu item `a`)
here=$(dirname "$0")
# shellcheck source=/dev/null
. "$here/phase.conf"
TUNLAB_LOGDIR=/var/log/tunlab
mkdir -p "$TUNLAB_LOGDIR"
# shellcheck source=common.sh
. "$here/common.sh"

conf=/usr/src/sys/config/$TUNLAB_KERNCONF
say "running $(uname -v | cut -c 1-60)"

if [ ! -f /usr/src/sys/config/X86_64_GENERIC ]; then
	step extract-sys sh -c 'cd /usr && make release-sys-extract'
fi
check sys-extracted test -f /usr/src/sys/config/X86_64_GENERIC
step kernconf sh "$here/mkkernconf.sh" /usr/src/sys/config/X86_64_GENERIC "$conf" "$TUNLAB_KERNCONF"
cp "$conf" /boot/tunlab-kernconf.txt

# Only the tun module is built with the tun-less kernel (MODULES_OVERRIDE, make.conf(5)):
# X86_64_GENERIC has everything else the image uses built in (acpi, ahci, hammer2, tmpfs,
# bpf, sio), nothing is loaded from loader.conf, and building every module under TCG is most
# of this phase. installkernel gets the same list, else it would build the others to install
# them. The stock kernel in kernel.alt keeps the CD's full module set.
modules="MODULES_OVERRIDE=net/tun"
step nativekernel sh -c "cd /usr/src && make -j$TUNLAB_JOBS nativekernel KERNCONF=$TUNLAB_KERNCONF $modules"
step installkernel sh -c "cd /usr/src && make installkernel KERNCONF=$TUNLAB_KERNCONF DESTLABEL=alt $modules"
check kernel-installed test -f /boot/kernel.alt/kernel
stock=missing
for f in /boot/kernel.alt/if_tun.ko /boot/kernel.alt/modules/if_tun.ko; do
	[ -f "$f" ] && stock=${f#/boot/kernel.alt/}
done
[ "$stock" = missing ] && say "warning: no stock if_tun.ko was built: driver=stock sessions will fail"

step swap-kernels sh -c 'mv /boot/kernel /boot/kernel.tunlab-swap &&
	mv /boot/kernel.alt /boot/kernel && mv /boot/kernel.tunlab-swap /boot/kernel.alt'
printf 'kernel\t%s\nkernel.alt\tX86_64_GENERIC\nstock_module\t%s\n' "$TUNLAB_KERNCONF" "$stock" \
	>/boot/tunlab-kernels.txt
say "kernels: $(ls -d /boot/kernel*)"
done_phase
