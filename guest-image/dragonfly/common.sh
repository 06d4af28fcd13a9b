# common.sh -- shared by the phase scripts (sourced, POSIX sh: DragonFly has no bash).
#
# PFI runs a phase script synchronously as root from rc, with a short PATH and the phase
# ISO still mounted on /mnt. Each step's output goes to a log file, not the console (a
# 115200-baud console under TCG would slow a kernel build to a crawl); a failing step prints
# its log's tail between TUNLAB-OUTPUT-BEGIN/END lines, then TUNLAB-PHASE-FAILED, and powers
# off. The harness (harness/tunlab/dragonfly_console.py) reads these markers.

PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/pkg/sbin:/usr/pkg/bin
export PATH

: "${PHASE:?PHASE must be set before sourcing common.sh}"
: "${TUNLAB_LOGDIR:=/tmp}"
HEARTBEAT=${HEARTBEAT:-60}

say() {
	echo "tunlab-$PHASE: $*"
}

power_off() {
	sync
	shutdown -p now
	# shutdown returns at once; if nothing has powered the VM off in a while, insist.
	sleep 120
	halt -p
	sleep 3600
}

# fail STEP RC LOG: report a failed step with its output and end the VM.
fail() {
	echo "TUNLAB-OUTPUT-BEGIN $1"
	if [ -f "$3" ]; then
		tail -n 80 "$3"
	fi
	echo "TUNLAB-OUTPUT-END $1"
	echo "TUNLAB-PHASE-FAILED $PHASE step=$1 rc=$2"
	power_off
	exit 1
}

# step NAME COMMAND...: run a command, its output in $TUNLAB_LOGDIR/NAME.log; fail on error.
# Long commands print a heartbeat line (elapsed minutes, last log line) every $HEARTBEAT s.
step() {
	_name=$1
	shift
	_log=$TUNLAB_LOGDIR/$_name.log
	say "step $_name: $*"
	"$@" >"$_log" 2>&1 &
	_pid=$!
	_t=0
	while kill -0 "$_pid" 2>/dev/null; do
		sleep 5
		_t=$((_t + 5))
		if [ $((_t % HEARTBEAT)) -eq 0 ]; then
			say "$_name running $((_t / 60))m: $(tail -n 1 "$_log" | cut -c 1-100)"
		fi
	done
	wait "$_pid"
	_rc=$?
	if [ "$_rc" -ne 0 ]; then
		fail "$_name" "$_rc" "$_log"
	fi
	say "step $_name ok"
}

# check NAME TEST...: a condition that must hold (e.g. a file exists after a step).
check() {
	_name=$1
	shift
	if ! "$@"; then
		echo "check failed: $*" >"$TUNLAB_LOGDIR/$_name.log"
		fail "$_name" 1 "$TUNLAB_LOGDIR/$_name.log"
	fi
}

done_phase() {
	sync
	echo "TUNLAB-PHASE-DONE $PHASE"
	power_off
}
