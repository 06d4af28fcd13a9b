#!/bin/sh
# The CI performance gate: instructions per packet of our driver on the kpi target, counted
# by callgrind (deterministic, unlike wall-clock time on a shared machine) in the driver's
# own functions (tun*), for the write and read paths at 64 and 1400 bytes, against the
# baseline in harness/bench-baseline/kpi-callgrind.json. Fails beyond +10%. The host's
# malloc is left out: the kpi gives every mbuf its own host allocation, and what glibc's
# allocator costs then depends on how the netisr thread's frees interleave (+-8% run to
# run); a kernel's mbuf allocator is not glibc's anyway.
#   scripts/bench-gate.sh            check (exit 1 on a regression)
#   scripts/bench-gate.sh --update   re-record the baseline (commit it, saying why)
# BENCH_BARE=path measures another build of tunlab-bench-bare-kpi (e.g. a modified driver).
set -eu
cd "$(dirname "$0")/.."
bare=${BENCH_BARE:-build/driver/agent/tunlab-bench-bare-kpi}
[ -n "${BENCH_BARE:-}" ] || make -s -f driver/Makefile.host agent-kpi
HOST_ALLOC='^(malloc|free|cfree|calloc|_int_malloc|_int_free|malloc_consolidate|sysmalloc|unlink_chunk.*|alloc_perturb|tcache_.*|arena_get.*|__libc_(malloc|free|calloc))$'
rc=0
for cell in write:64 write:1400 read:64 read:1400; do
	kind=${cell%:*} size=${cell#*:}
	PYTHONPATH=harness /usr/bin/python3 -m tunlab.bench_gate \
		--baseline harness/bench-baseline/kpi-callgrind.json --name "$kind-$size" \
		--toggle-collect 'tun*' --exclude-fn "$HOST_ALLOC" "$@" -- "$bare" "$kind,$size,600000,count={n},warmup=0" || rc=1
done
exit $rc
