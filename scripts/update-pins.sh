#!/bin/sh
# Moves the Linux guest's pins (guest-image/linux/pins.json) to the kernel and busybox that
# Debian's archive offers now, and says what changed (old -> new version and SHA-256 of the
# .deb and of each file the image uses). Commit the file afterwards; the image's hash changes
# with it. --no-refresh skips apt-get update.
set -eu
cd "$(dirname "$0")/.."
exec env PYTHONPATH=harness /usr/bin/python3 -m tunlab.pins update "$@"
