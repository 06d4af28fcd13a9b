#!/bin/sh
# Phase 1 (install): runs on the live CD via PFI. Partitions the disk, copies the CD's system
# onto it (from a second, untouched copy of the CD: the running live system has tmpfs over
# parts of its root), writes the boot and system configuration, and makes the installed
# system's PFI look for a CD at every boot (the next phases come on CDs too).
#
# Virtual hardware (fixed by the builder, stored with the image): the disk is $TUNLAB_DISK,
# the live CD cd0, this phase's CD cd1, the clean copy of the live CD $TUNLAB_CLEAN_CD.
here=$(dirname "$0")
# shellcheck source=/dev/null
. "$here/phase.conf"
# shellcheck source=common.sh
. "$here/common.sh"

disk=$TUNLAB_DISK
target=/tmp/tunlab-target
cdsrc=/tmp/tunlab-cdsrc
say "installing DragonFly $(uname -r) onto $disk"

check disk-present test -c "/dev/$disk"
step fdisk fdisk -IB "/dev/$disk"
step disklabel disklabel -r -w -B "/dev/${disk}s1" auto
step label-read sh -c "disklabel ${disk}s1 >$TUNLAB_LOGDIR/label"
printf '\na: 1G 0 4.2BSD\nd: * * HAMMER2\n' >>"$TUNLAB_LOGDIR/label"
step label-write disklabel -R -r "${disk}s1" "$TUNLAB_LOGDIR/label"
step newfs-boot newfs "/dev/${disk}s1a"
step newfs-root newfs_hammer2 -L ROOT "/dev/${disk}s1d"

mkdir -p "$target" "$cdsrc"
# Mounted exactly as golang/build's phase1.sh does (listed as unverified in README.md).
step mount-root mount "/dev/${disk}s1d" "$target"
mkdir -p "$target/boot"
step mount-boot mount "/dev/${disk}s1a" "$target/boot"
step mount-cd mount_cd9660 "/dev/$TUNLAB_CLEAN_CD" "$cdsrc"
check cd-has-system test -f "$cdsrc/boot/loader"
step copy-boot cpdup "$cdsrc/boot" "$target/boot"
step copy-root cpdup "$cdsrc" "$target"
check kernel-sources test -f "$target/usr/src-sys.tar.bz2"

cat >"$target/boot/loader.conf" <<CONF
vfs.root.mountfrom="hammer2:${disk}s1d"
console="comconsole"
autoboot_delay="1"
CONF

cat >"$target/etc/fstab" <<CONF
${disk}s1a	/boot	ufs	rw	1	1
${disk}s1d	/	hammer2	rw	1	1
CONF

cat >"$target/etc/rc.conf" <<'CONF'
hostname="tunlab-dragonfly"
dumpdev="NO"
sendmail_enable="NONE"
dntpd_enable="NO"
sshd_enable="NO"
CONF

# /etc/rc.d/pfi reads a CD only while /etc/pfi.conf is absent; it copies the CD's pfi.conf
# there. Remove it at every start, so the next phase's CD is read.
pfi=$target/etc/rc.d/pfi
check pfi-present test -f "$pfi"
awk '{ print } /^# REQUIRE/ && !done { print "rm -f /etc/pfi.conf"; done = 1 }' "$pfi" >"$pfi.new"
check pfi-patched grep -q '^rm -f /etc/pfi.conf$' "$pfi.new"
cat "$pfi.new" >"$pfi"
rm -f "$pfi.new"

step umount-cd umount "$cdsrc"
step umount-boot umount "$target/boot"
step umount-root umount "$target"
done_phase
